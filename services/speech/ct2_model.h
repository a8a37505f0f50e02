/* Reading CTranslate2's model.bin: a u32 version, a u16-length spec name, a
 * u32 spec revision, then a u32 count of variables, each a u16-length name,
 * a u8 rank, that many u32 dimensions, a u8 dtype, a u32 byte count and the
 * data; then a u32 count of aliases, each a u16-length alias and the
 * u16-length name it stands for. Strings carry their NUL in their length.
 * The file is mapped once and never copied; everything is checked before
 * anything is used, so a bad file is refused at load with a message naming
 * the variable. */
#ifndef SPEECH_CT2_MODEL_H
#define SPEECH_CT2_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"

/* The format version this reader knows (CTranslate2's current_binary_version). */
#define CT2_BINARY_VERSION 6
/* Dimensions a variable may have. */
#define CT2_MAX_RANK 8

/* CTranslate2's DataType, in its order. */
enum ct2_dtype {
        CT2_FLOAT32 = 0,
        CT2_INT8 = 1,
        CT2_INT16 = 2,
        CT2_INT32 = 3,
        CT2_FLOAT16 = 4,
        CT2_BFLOAT16 = 5,
        CT2_DTYPE__COUNT
};

struct ct2_variable {
        const char *name; /* NUL-terminated, inside the file */
        unsigned rank;
        uint32_t dims[CT2_MAX_RANK];
        uint64_t nelem; /* product of the dims (1 for a scalar) */
        enum ct2_dtype dtype;
        const void *data; /* inside the file, nelem * ct2_dtype_size(dtype) bytes */
};

struct ct2_alias {
        const char *name, *target; /* inside the file; target names a variable */
};

struct ct2_model {
        const uint8_t *base; /* the whole file */
        size_t size;
        uint32_t version, revision;
        const char *spec; /* "WhisperSpec" */
        struct ct2_variable *vars;
        size_t n_vars;
        struct ct2_alias *aliases;
        size_t n_aliases;
        size_t map_size; /* the mapping to undo, 0 when @p base is borrowed */
};

/* Parses @p buf[0..size) (borrowed: it must outlive @p m, whose variables
 * point into it). Checks: the version is CT2_BINARY_VERSION; every string
 * lies inside the file, ends with its NUL and holds no other; every rank is
 * at most CT2_MAX_RANK, every dtype known, every byte count exactly the
 * dims' product times the dtype's size and inside the file; names are not
 * repeated; every alias names a variable; nothing follows the aliases.
 * Returns CAIRN_OK, CAIRN_ERR_INVALID with @p errstr naming the variable
 * ("variable \"encoder/conv1/weight\": 100 bytes, but [384, 80, 3] of
 * float16 needs 184320"), or CAIRN_ERR_EXHAUSTED. On error @p m holds
 * nothing to clean up. */
cairn_err_t ct2_model_parse(struct ct2_model *m, const void *buf, size_t size, char *errstr,
                            size_t errstr_size);

/* Maps @p path read-only and parses it as ct2_model_parse() does; errors
 * name the file (CAIRN_ERR_NOT_FOUND when it cannot be opened). The mapping
 * lives until ct2_model_cleanup(). */
cairn_err_t ct2_model_open(struct ct2_model *m, const char *path, char *errstr, size_t errstr_size);

/* Frees the tables and undoes the mapping of ct2_model_open(). */
void ct2_model_cleanup(struct ct2_model *m);

/* The variable named @p name, directly or through an alias, or NULL. */
const struct ct2_variable *ct2_model_find(const struct ct2_model *m, const char *name);

/* "float16" for CT2_FLOAT16, and so on. */
const char *ct2_dtype_name(enum ct2_dtype dtype);

/* Bytes per element of @p dtype. */
size_t ct2_dtype_size(enum ct2_dtype dtype);

/* Converts @p n IEEE half-precision values to float (@p in need not be
 * aligned). */
void ct2_half_to_float(const void *in, float *out, size_t n);

#endif

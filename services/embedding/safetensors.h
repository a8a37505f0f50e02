/* Reading a safetensors file (Hugging Face's weights format): an 8-byte
 * little-endian header length, a JSON header naming every tensor with its
 * dtype, shape and byte range, then the tensors' bytes. The file is mapped
 * once and never copied; the header is checked as strictly as the format's
 * own reader checks it, so that a bad file is refused at start with a
 * message naming the tensor, never half-used. */
#ifndef EMBEDDING_SAFETENSORS_H
#define EMBEDDING_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"

/* The largest JSON header accepted, as the format's reference reader. */
#define SAFETENSORS_HEADER_MAX ((size_t)100 * 1000 * 1000)
/* Dimensions a tensor may have. */
#define SAFETENSORS_MAX_DIMS 8

enum safetensors_dtype {
        SAFETENSORS_BOOL = 0,
        SAFETENSORS_U8,
        SAFETENSORS_I8,
        SAFETENSORS_F8_E5M2,
        SAFETENSORS_F8_E4M3,
        SAFETENSORS_I16,
        SAFETENSORS_U16,
        SAFETENSORS_F16,
        SAFETENSORS_BF16,
        SAFETENSORS_I32,
        SAFETENSORS_U32,
        SAFETENSORS_F32,
        SAFETENSORS_F64,
        SAFETENSORS_I64,
        SAFETENSORS_U64,
        SAFETENSORS_DTYPE__COUNT
};

struct safetensors_tensor {
        char *name; /* NUL-terminated, owned by the struct safetensors */
        enum safetensors_dtype dtype;
        size_t ndim;
        uint64_t shape[SAFETENSORS_MAX_DIMS];
        uint64_t nelem;      /* product of the shape (1 for a scalar) */
        const void *data;    /* into the file: end - begin bytes */
        uint64_t begin, end; /* byte offsets from the start of the data */
};

/* A parsed file. Tensors are sorted by name. */
struct safetensors {
        const uint8_t *base; /* the whole file */
        size_t size;
        const uint8_t *data; /* the tensors' bytes, after the header */
        size_t data_size;
        struct safetensors_tensor *tensors;
        size_t n;
        size_t map_size; /* the mapping to undo, 0 when @p base is borrowed */
};

/* Parses the safetensors bytes @p buf[0..size) (borrowed: it must outlive
 * @p st, whose tensors point into it) into @p st. Checks: the header length
 * fits the file and SAFETENSORS_HEADER_MAX; the header is a JSON object
 * (duplicate names refused); "__metadata__", when present, maps strings to
 * strings; every tensor has a known dtype, a shape of at most
 * SAFETENSORS_MAX_DIMS non-negative dimensions, and data_offsets [begin,
 * end) whose length is exactly the shape's size in that dtype; the tensors
 * lie inside the data, do not overlap and cover it without gaps.
 * Returns CAIRN_OK, CAIRN_ERR_INVALID with a message naming the tensor in
 * @p errstr ("tensor \"x\": data_offsets [0, 8) hold 8 bytes, but shape
 * [3] of F32 needs 12"), or CAIRN_ERR_EXHAUSTED when out of memory. On
 * error @p st holds nothing to clean up. */
cairn_err_t safetensors_parse(struct safetensors *st, const void *buf, size_t size, char *errstr,
                              size_t errstr_size);

/* Maps the file @p path read-only, once, and parses it as
 * safetensors_parse() does. Errors name the file: CAIRN_ERR_NOT_FOUND when
 * it cannot be opened, CAIRN_ERR_INVALID when it is not a valid file. The
 * mapping lives until safetensors_cleanup(). */
cairn_err_t safetensors_open(struct safetensors *st, const char *path, char *errstr,
                             size_t errstr_size);

/* Frees the tensor table and undoes the mapping of safetensors_open(). */
void safetensors_cleanup(struct safetensors *st);

/* The tensor named @p name, or NULL. */
const struct safetensors_tensor *safetensors_find(const struct safetensors *st, const char *name);

/* "F32" for SAFETENSORS_F32, and so on. */
const char *safetensors_dtype_name(enum safetensors_dtype dtype);

/* Bytes per element of @p dtype. */
size_t safetensors_dtype_size(enum safetensors_dtype dtype);

#endif

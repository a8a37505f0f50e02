/* What the pbjson_*.c files share: the state of one walk over a message
 * (path so far, depth, error), descriptor helpers, single values both ways
 * (pbjson_scalar.c) and the well-known types (pbjson_wkt.c). Dependencies
 * point one way: parse, render, bind and schema use wkt and scalar; wkt uses
 * scalar; scalar uses the helpers of pbjson_desc.c, which use nothing. */
#ifndef CAIRN_PBJSON_INTERNAL_H
#define CAIRN_PBJSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/pbjson.h"

/* One conversion in progress. The path grows as the walk descends and is
 * cut back on the way up; it lands in err->field when something fails. */
struct pbjson_walk {
        struct cairn_pbjson_error *err; /* may be NULL */
        char path[256];
        size_t len; /* of path */
        int depth;  /* objects and arrays entered */
        int max_depth;
        unsigned flags; /* CAIRN_PBJSON_* when rendering */
};

void pbjson_walk_init(struct pbjson_walk *w, struct cairn_pbjson_error *err, int max_depth,
                      unsigned flags);

/* Path steps, JSON-path style whatever the object is (message, map,
 * Struct); each returns the length to restore with pbjson_path_cut(). */
size_t pbjson_path_key(struct pbjson_walk *w, const char *key); /* .key */
size_t pbjson_path_index(struct pbjson_walk *w, size_t i);      /* [i] */
void pbjson_path_cut(struct pbjson_walk *w, size_t len);

/* Fails the walk: CAIRN_ERR_INVALID, err naming the current path. */
cairn_err_t pbjson_fail(struct pbjson_walk *w, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* CAIRN_ERR_EXHAUSTED, "out of memory". */
cairn_err_t pbjson_oom(struct pbjson_walk *w);
/* Enters one object or array: fails once deeper than w->max_depth. Pair
 * with w->depth-- on the way out. */
cairn_err_t pbjson_enter(struct pbjson_walk *w);

/* The well-known types with a JSON form of their own. */
enum pbjson_wkt {
        PBJSON_WKT_NONE = 0,
        PBJSON_WKT_TIMESTAMP,
        PBJSON_WKT_DURATION,
        PBJSON_WKT_STRUCT,
        PBJSON_WKT_VALUE,
        PBJSON_WKT_LIST_VALUE,
        PBJSON_WKT_FIELD_MASK,
        PBJSON_WKT_WRAPPER, /* DoubleValue ... BytesValue: field 1 "value" */
        PBJSON_WKT_ANY,     /* refused: no type registry for its payload */
};

/* Which well-known type @p desc is, by full name. Empty needs nothing
 * special: it is a message without fields. */
enum pbjson_wkt pbjson_wkt_of(const ProtobufCMessageDescriptor *desc);

/* True for an enum field of type google.protobuf.NullValue. */
bool pbjson_is_null_value(const ProtobufCFieldDescriptor *fd);

/* True when repeated message field @p fd is a map: protoc's implicit entry
 * type (named after the field plus "Entry", fields key = 1 and value = 2). */
bool pbjson_is_map(const ProtobufCFieldDescriptor *fd);

/* lowerCamelCase JSON name of proto field name @p name, as protoc derives
 * it (an underscore upper-cases the next character), into @p buf. */
void pbjson_json_name(const char *name, char *buf, size_t size);

/* The field of @p desc that JSON key @p key names (JSON name or proto name). */
const ProtobufCFieldDescriptor *pbjson_field_by_key(const ProtobufCMessageDescriptor *desc,
                                                    const char *key);

/* Bytes one value of @p type takes in a message or repeated array. */
size_t pbjson_value_size(ProtobufCType type);

/* Where field @p fd lives inside @p msg, and its count or oneof case. */
static inline void *pbjson_member(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd)
{
        return (char *)msg + fd->offset;
}

static inline void *pbjson_quantifier(const ProtobufCMessage *msg,
                                      const ProtobufCFieldDescriptor *fd)
{
        return (char *)msg + fd->quantifier_offset;
}

/* A new message of type @p desc with its defaults, from malloc (protobuf-c's
 * default allocator); NULL when memory runs out. */
ProtobufCMessage *pbjson_message_new(const ProtobufCMessageDescriptor *desc);

/* True when @p src holds the proto3 default of @p fd's scalar type (as
 * protobuf-c decides: 0 == value for numbers, "" and empty bytes). */
bool pbjson_scalar_is_default(const ProtobufCFieldDescriptor *fd, const void *src);

/* True when singular field @p fd of @p msg is set as far as protobuf-c's
 * packer is concerned: the oneof member chosen, a present message, a
 * non-default implicit-presence value. */
bool pbjson_field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd);

/* ---- single values (pbjson_scalar.c) ---- */

/* "int32", "bytes", ...: the proto spelling of @p type, for messages. */
const char *pbjson_type_name(ProtobufCType type);

/* Reads JSON value @p v into @p dst, a value of field @p fd's scalar type
 * (not MESSAGE): int32_t, ..., protobuf_c_boolean, int for enums, a
 * malloc'ed char * for strings, ProtobufCBinaryData with malloc'ed data for
 * bytes. INVALID naming the current path when @p v does not fit. */
cairn_err_t pbjson_scalar_from_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                    const json_t *v, void *dst);

/* Reads map key text @p key into @p dst for key field @p fd (integers in
 * decimal, bools as true/false, strings as they are). */
cairn_err_t pbjson_map_key_from_text(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                     const char *key, void *dst);

/* The JSON of value @p src of field @p fd's scalar type, into *@p out (new
 * reference). INVALID for strings that are not UTF-8. */
cairn_err_t pbjson_scalar_to_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                  const void *src, json_t **out);

/* Map key text of value @p src of key field @p fd: a pointer to the string
 * itself, or to @p buf holding the decimal or true/false. */
const char *pbjson_map_key_text(const ProtobufCFieldDescriptor *fd, const void *src, char *buf,
                                size_t size);

/* Frees what a scalar value owns (strings, bytes data). */
void pbjson_scalar_free(const ProtobufCFieldDescriptor *fd, void *src);

/* The shortest text of finite @p v that reads back (strtod, then to float
 * when @p single) as the same value, %g style, into @p buf (32 bytes will
 * do). */
void pbjson_format_real(double v, bool single, char *buf, size_t size);

/* Parses a whole string in JSON number syntax; false when @p s is not one
 * or overflows a double. */
bool pbjson_parse_real(const char *s, double *v);

/* Parses a whole string "-?[0-9]+" into its sign *@p neg and magnitude
 * *@p mag: 0, -1 when @p s is not one, -2 when the magnitude passes 2^64-1. */
int pbjson_parse_decimal(const char *s, bool *neg, uint64_t *mag);

/* ---- well-known types (pbjson_wkt.c) ---- */

/* Fills @p msg (fresh, of the well-known type @p kind) from @p v. */
cairn_err_t pbjson_wkt_from_json(struct pbjson_walk *w, enum pbjson_wkt kind, ProtobufCMessage *msg,
                                 const json_t *v);

/* The JSON of @p msg, of the well-known type @p kind, into *@p out. */
cairn_err_t pbjson_wkt_to_json(struct pbjson_walk *w, enum pbjson_wkt kind,
                               const ProtobufCMessage *msg, json_t **out);

#endif

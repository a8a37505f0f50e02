/* Single values both ways: the fifteen scalar types and enums as the proto3
 * JSON mapping spells them, and the number syntax they share. */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/base64.h"
#include "cairn/buf.h"
#include "cairn/utf8.h"
#include "pbjson_internal.h"

const char *pbjson_type_name(ProtobufCType type)
{
        switch (type) {
        /* clang-format off */
        case PROTOBUF_C_TYPE_INT32:    return "int32";
        case PROTOBUF_C_TYPE_SINT32:   return "sint32";
        case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
        case PROTOBUF_C_TYPE_INT64:    return "int64";
        case PROTOBUF_C_TYPE_SINT64:   return "sint64";
        case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
        case PROTOBUF_C_TYPE_UINT32:   return "uint32";
        case PROTOBUF_C_TYPE_FIXED32:  return "fixed32";
        case PROTOBUF_C_TYPE_UINT64:   return "uint64";
        case PROTOBUF_C_TYPE_FIXED64:  return "fixed64";
        case PROTOBUF_C_TYPE_FLOAT:    return "float";
        case PROTOBUF_C_TYPE_DOUBLE:   return "double";
        case PROTOBUF_C_TYPE_BOOL:     return "bool";
        case PROTOBUF_C_TYPE_ENUM:     return "enum";
        case PROTOBUF_C_TYPE_STRING:   return "string";
        case PROTOBUF_C_TYPE_BYTES:    return "bytes";
        case PROTOBUF_C_TYPE_MESSAGE:  return "message";
                /* clang-format on */
        }
        return "?";
}

/* A short name for the JSON type of @p v, for messages. */
static const char *json_kind(const json_t *v)
{
        switch (json_typeof(v)) {
        /* clang-format off */
        case JSON_OBJECT:  return "an object";
        case JSON_ARRAY:   return "an array";
        case JSON_STRING:  return "a string";
        case JSON_INTEGER:
        case JSON_REAL:    return "a number";
        case JSON_TRUE:
        case JSON_FALSE:   return "a bool";
        case JSON_NULL:    return "null";
                /* clang-format on */
        }
        return "?";
}

int pbjson_parse_decimal(const char *s, bool *neg, uint64_t *mag)
{
        uint64_t v = 0;
        int rc = 0;

        *neg = *s == '-';
        if (*neg)
                s++;
        if (!*s)
                return -1;
        for (; *s; s++) {
                unsigned d = (unsigned)(*s - '0');

                if (d > 9)
                        return -1;
                if (v > (UINT64_MAX - d) / 10)
                        rc = -2; /* keep going: a later non-digit is still a syntax error */
                else
                        v = v * 10 + d;
        }
        *mag = v;
        return rc;
}

bool pbjson_parse_real(const char *s, double *v)
{
        const char *p = s;
        char *end;

        /* JSON number syntax: strtod alone would take hex, "inf", spaces. */
        if (*p == '-')
                p++;
        if (*p == '0')
                p++;
        else if (*p >= '1' && *p <= '9')
                while (*p >= '0' && *p <= '9')
                        p++;
        else
                return false;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (*p < '0' || *p > '9')
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p)
                return false;
        errno = 0;
        *v = strtod(s, &end);
        return end == p && !isinf(*v);
}

void pbjson_format_real(double v, bool single, char *buf, size_t size)
{
        int last = single ? 9 : 17;

        for (int prec = single ? 6 : 15; prec <= last; prec++) {
                double back;

                snprintf(buf, size, "%.*g", prec, v);
                back = strtod(buf, NULL);
                if (single ? (float)back == (float)v : back == v)
                        return;
        }
}

/* Reads any spelling of an integer the mapping accepts: a JSON integer, an
 * integral real, or a decimal string. 0, -1 not an integer, -2 beyond 64 bits. */
static int int_from_json(const json_t *v, bool strings, bool *neg, uint64_t *mag)
{
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);

                *neg = i < 0;
                *mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
                return 0;
        }
        if (json_is_real(v)) {
                double d = json_real_value(v);

                if (!isfinite(d) || d != floor(d))
                        return -1;
                if (fabs(d) >= 18446744073709551616.0)
                        return -2;
                *neg = d < 0;
                *mag = (uint64_t)fabs(d);
                return 0;
        }
        if (strings && json_is_string(v))
                return pbjson_parse_decimal(json_string_value(v), neg, mag);
        return -1;
}

/* Checks @p neg, @p mag against the range of integer type @p type and
 * stores the value at @p dst. */
static bool int_store(ProtobufCType type, bool neg, uint64_t mag, void *dst)
{
        switch (type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_ENUM:
                if (mag > (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX))
                        return false;
                {
                        int32_t i = neg ? (int32_t)(0 - (uint32_t)mag) : (int32_t)mag;

                        if (type == PROTOBUF_C_TYPE_ENUM)
                                *(int *)dst = i;
                        else
                                *(int32_t *)dst = i;
                }
                return true;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                if ((neg && mag) || mag > UINT32_MAX)
                        return false;
                *(uint32_t *)dst = (uint32_t)mag;
                return true;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                if (mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
                        return false;
                *(int64_t *)dst = neg ? (int64_t)(0 - mag) : (int64_t)mag;
                return true;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                if (neg && mag)
                        return false;
                *(uint64_t *)dst = mag;
                return true;
        default:
                return false;
        }
}

static cairn_err_t real_from_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                  const json_t *v, void *dst)
{
        double d;

        if (json_is_integer(v)) {
                d = (double)json_integer_value(v);
        } else if (json_is_real(v)) {
                d = json_real_value(v);
        } else if (json_is_string(v)) {
                const char *s = json_string_value(v);

                if (strcmp(s, "NaN") == 0)
                        d = NAN;
                else if (strcmp(s, "Infinity") == 0)
                        d = INFINITY;
                else if (strcmp(s, "-Infinity") == 0)
                        d = -INFINITY;
                else if (!pbjson_parse_real(s, &d))
                        return pbjson_fail(w,
                                           "\"%.64s\" is not a number, \"NaN\", \"Infinity\" "
                                           "or \"-Infinity\" (%s)",
                                           s, pbjson_type_name(fd->type));
        } else {
                return pbjson_fail(w, "expected a number (%s), got %s", pbjson_type_name(fd->type),
                                   json_kind(v));
        }
        if (fd->type == PROTOBUF_C_TYPE_DOUBLE) {
                *(double *)dst = d;
                return CAIRN_OK;
        }
        /* A float takes any finite value that does not round to infinity. */
        if (isfinite(d) && isinf((float)d))
                return pbjson_fail(w, "%g out of range for float", d);
        *(float *)dst = (float)d;
        return CAIRN_OK;
}

static cairn_err_t enum_from_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                  const json_t *v, int *dst)
{
        const ProtobufCEnumDescriptor *ed = fd->descriptor;
        bool neg;
        uint64_t mag;

        if (json_is_null(v) && pbjson_is_null_value(fd)) {
                *dst = 0;
                return CAIRN_OK;
        }
        if (json_is_string(v)) {
                const ProtobufCEnumValue *ev =
                        protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));

                if (!ev)
                        return pbjson_fail(w, "\"%s\" is not a value of enum %s",
                                           json_string_value(v), ed->name);
                *dst = ev->value;
                return CAIRN_OK;
        }
        /* proto3 enums are open: any int32 number is kept as it is */
        if (!json_is_number(v) || int_from_json(v, false, &neg, &mag) != 0)
                return pbjson_fail(w, "expected a name or number of enum %s, got %s", ed->name,
                                   json_kind(v));
        if (!int_store(PROTOBUF_C_TYPE_ENUM, neg, mag, dst))
                return pbjson_fail(w, "enum number out of range for %s", ed->name);
        return CAIRN_OK;
}

/* A malloc'ed copy of JSON string @p v after the checks strings need. */
static cairn_err_t string_from_json(struct pbjson_walk *w, const json_t *v, char **dst)
{
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        char *copy;

        if (!cairn_utf8_valid(s, len))
                return pbjson_fail(w, "invalid UTF-8");
        if (memchr(s, '\0', len))
                return pbjson_fail(w, "U+0000 cannot be held in a string");
        copy = malloc(len + 1);
        if (!copy)
                return pbjson_oom(w);
        memcpy(copy, s, len + 1);
        *dst = copy;
        return CAIRN_OK;
}

static cairn_err_t bytes_from_json(struct pbjson_walk *w, const json_t *v, ProtobufCBinaryData *dst)
{
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        size_t cap = len / 4 * 3 + 3;
        uint8_t *data;
        long n;

        data = malloc(cap);
        if (!data)
                return pbjson_oom(w);
        n = cairn_base64_decode(s, len, false, data, cap);
        if (n < 0)
                n = cairn_base64_decode(s, len, true, data, cap);
        if (n < 0) {
                free(data);
                return pbjson_fail(w, "not base64 (standard or URL-safe)");
        }
        if (n == 0) {
                free(data);
                data = NULL;
        }
        dst->len = (size_t)n;
        dst->data = data;
        return CAIRN_OK;
}

cairn_err_t pbjson_scalar_from_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                    const json_t *v, void *dst)
{
        bool neg = false;
        uint64_t mag = 0;
        int rc;

        switch (fd->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                rc = int_from_json(v, true, &neg, &mag);
                if (rc == -1 && json_is_string(v))
                        return pbjson_fail(w, "\"%.64s\" is not an integer (%s)",
                                           json_string_value(v), pbjson_type_name(fd->type));
                if (rc == -1)
                        return pbjson_fail(w, "expected an integer (%s), got %s",
                                           pbjson_type_name(fd->type),
                                           json_is_real(v) ? "a fraction" : json_kind(v));
                if (rc < 0 || !int_store(fd->type, neg, mag, dst))
                        return pbjson_fail(w, "out of range for %s", pbjson_type_name(fd->type));
                return CAIRN_OK;
        case PROTOBUF_C_TYPE_FLOAT:
        case PROTOBUF_C_TYPE_DOUBLE:
                return real_from_json(w, fd, v, dst);
        case PROTOBUF_C_TYPE_BOOL:
                if (!json_is_boolean(v))
                        return pbjson_fail(w, "expected true or false, got %s", json_kind(v));
                *(protobuf_c_boolean *)dst = json_is_true(v);
                return CAIRN_OK;
        case PROTOBUF_C_TYPE_ENUM:
                return enum_from_json(w, fd, v, dst);
        case PROTOBUF_C_TYPE_STRING:
                if (!json_is_string(v))
                        return pbjson_fail(w, "expected a string, got %s", json_kind(v));
                return string_from_json(w, v, dst);
        case PROTOBUF_C_TYPE_BYTES:
                if (!json_is_string(v))
                        return pbjson_fail(w, "expected a base64 string, got %s", json_kind(v));
                return bytes_from_json(w, v, dst);
        case PROTOBUF_C_TYPE_MESSAGE:
                break;
        }
        return pbjson_fail(w, "expected a scalar");
}

cairn_err_t pbjson_map_key_from_text(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                     const char *key, void *dst)
{
        bool neg;
        uint64_t mag;
        int rc;

        switch (fd->type) {
        case PROTOBUF_C_TYPE_STRING: {
                size_t len = strlen(key);
                char *copy;

                if (!cairn_utf8_valid(key, len))
                        return pbjson_fail(w, "invalid UTF-8 in map key");
                copy = malloc(len + 1);
                if (!copy)
                        return pbjson_oom(w);
                memcpy(copy, key, len + 1);
                *(char **)dst = copy;
                return CAIRN_OK;
        }
        case PROTOBUF_C_TYPE_BOOL:
                if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
                        return pbjson_fail(w, "map key must be \"true\" or \"false\"");
                *(protobuf_c_boolean *)dst = key[0] == 't';
                return CAIRN_OK;
        default:
                rc = pbjson_parse_decimal(key, &neg, &mag);
                if (rc == -1)
                        return pbjson_fail(w, "map key must be a decimal integer (%s)",
                                           pbjson_type_name(fd->type));
                if (rc < 0 || !int_store(fd->type, neg, mag, dst))
                        return pbjson_fail(w, "map key out of range for %s",
                                           pbjson_type_name(fd->type));
                return CAIRN_OK;
        }
}

static cairn_err_t real_to_json(struct pbjson_walk *w, double d, bool single, json_t **out)
{
        char buf[40];

        if (isnan(d))
                *out = json_string("NaN");
        else if (isinf(d))
                *out = json_string(d > 0 ? "Infinity" : "-Infinity");
        else if (single) {
                /* The double nearest the float's shortest decimal: what
                 * a reader of the JSON takes the float to be. */
                pbjson_format_real(d, true, buf, sizeof(buf));
                *out = json_real(strtod(buf, NULL));
        } else
                *out = json_real(d);
        return *out ? CAIRN_OK : pbjson_oom(w);
}

cairn_err_t pbjson_scalar_to_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                  const void *src, json_t **out)
{
        char buf[32];

        switch (fd->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                *out = json_integer(*(const int32_t *)src);
                break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                *out = json_integer(*(const uint32_t *)src);
                break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)src);
                *out = json_string(buf);
                break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)src);
                *out = json_string(buf);
                break;
        case PROTOBUF_C_TYPE_FLOAT:
                return real_to_json(w, *(const float *)src, true, out);
        case PROTOBUF_C_TYPE_DOUBLE:
                return real_to_json(w, *(const double *)src, false, out);
        case PROTOBUF_C_TYPE_BOOL:
                *out = json_boolean(*(const protobuf_c_boolean *)src);
                break;
        case PROTOBUF_C_TYPE_ENUM: {
                const ProtobufCEnumValue *ev;

                if (pbjson_is_null_value(fd)) {
                        *out = json_null();
                        break;
                }
                ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, *(const int *)src);
                *out = ev ? json_string(ev->name) : json_integer(*(const int *)src);
                break;
        }
        case PROTOBUF_C_TYPE_STRING: {
                const char *s = *(const char *const *)src;
                size_t len;

                if (!s)
                        s = "";
                len = strlen(s);
                if (!cairn_utf8_valid(s, len))
                        return pbjson_fail(w, "invalid UTF-8 in string");
                *out = json_stringn_nocheck(s, len);
                break;
        }
        case PROTOBUF_C_TYPE_BYTES: {
                const ProtobufCBinaryData *bd = src;
                struct cairn_buf b = { 0 };

                cairn_base64_encode(&b, bd->data, bd->len);
                *out = b.oom ? NULL : json_stringn_nocheck(b.p ? b.p : "", b.len);
                cairn_buf_cleanup(&b);
                break;
        }
        case PROTOBUF_C_TYPE_MESSAGE:
                return pbjson_fail(w, "expected a scalar");
        }
        return *out ? CAIRN_OK : pbjson_oom(w);
}

const char *pbjson_map_key_text(const ProtobufCFieldDescriptor *fd, const void *src, char *buf,
                                size_t size)
{
        switch (fd->type) {
        case PROTOBUF_C_TYPE_STRING: {
                const char *s = *(const char *const *)src;

                return s ? s : "";
        }
        case PROTOBUF_C_TYPE_BOOL:
                return *(const protobuf_c_boolean *)src ? "true" : "false";
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                snprintf(buf, size, "%" PRId32, *(const int32_t *)src);
                return buf;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                snprintf(buf, size, "%" PRIu32, *(const uint32_t *)src);
                return buf;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                snprintf(buf, size, "%" PRId64, *(const int64_t *)src);
                return buf;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                snprintf(buf, size, "%" PRIu64, *(const uint64_t *)src);
                return buf;
        default:
                /* protoc allows no other key types */
                snprintf(buf, size, "?");
                return buf;
        }
}

void pbjson_scalar_free(const ProtobufCFieldDescriptor *fd, void *src)
{
        if (fd->type == PROTOBUF_C_TYPE_STRING) {
                char **s = src;

                if (*s != fd->default_value)
                        free(*s);
                *s = NULL;
        } else if (fd->type == PROTOBUF_C_TYPE_BYTES) {
                ProtobufCBinaryData *bd = src;

                free(bd->data);
                bd->data = NULL;
                bd->len = 0;
        }
}

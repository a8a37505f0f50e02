/* The ground under the JSON mapping: the walk's path and errors, and what
 * protobuf-c descriptors do not say outright (JSON names, maps, well-known
 * types, presence). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/utf8.h"
#include "pbjson_internal.h"

void pbjson_walk_init(struct pbjson_walk *w, struct cairn_pbjson_error *err, int max_depth,
                      unsigned flags)
{
        w->err = err;
        w->path[0] = '\0';
        w->len = 0;
        w->depth = 0;
        w->max_depth = max_depth;
        w->flags = flags;
        if (err) {
                err->field[0] = '\0';
                err->message[0] = '\0';
        }
}

/* Appends printf-formatted text to the path; a path too long for the buffer
 * is cut at its end (the error field is shorter still). */
static size_t path_add(struct pbjson_walk *w, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static size_t path_add(struct pbjson_walk *w, const char *fmt, ...)
{
        size_t old = w->len;
        va_list ap;
        int n;

        if (w->len >= sizeof(w->path) - 1)
                return old;
        va_start(ap, fmt);
        n = vsnprintf(w->path + w->len, sizeof(w->path) - w->len, fmt, ap);
        va_end(ap);
        if (n > 0) {
                size_t room = sizeof(w->path) - 1 - w->len;

                w->len += (size_t)n < room ? (size_t)n : room;
        }
        return old;
}

size_t pbjson_path_key(struct pbjson_walk *w, const char *key)
{
        return w->len ? path_add(w, ".%s", key) : path_add(w, "%s", key);
}

size_t pbjson_path_index(struct pbjson_walk *w, size_t i)
{
        return path_add(w, "[%zu]", i);
}

void pbjson_path_cut(struct pbjson_walk *w, size_t len)
{
        w->len = len;
        w->path[len] = '\0';
}

/* Errors travel on in cairn.v1.Status strings, which must be UTF-8: a
 * sequence cut by truncation, or broken in what the caller sent, becomes '?'. */
static void utf8_mend(char *s)
{
        size_t n = strlen(s);

        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char)s[i];
                size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

                if (i + len > n || !cairn_utf8_valid(s + i, len)) {
                        s[i++] = '?';
                        continue;
                }
                i += len;
        }
}

static void set_field(struct cairn_pbjson_error *err, const char *path)
{
        size_t len = strlen(path);

        if (len >= sizeof(err->field))
                len = sizeof(err->field) - 1;
        memcpy(err->field, path, len);
        err->field[len] = '\0';
        utf8_mend(err->field);
}

cairn_err_t pbjson_fail(struct pbjson_walk *w, const char *fmt, ...)
{
        va_list ap;

        if (!w->err)
                return CAIRN_ERR_INVALID;
        set_field(w->err, w->path);
        va_start(ap, fmt);
        vsnprintf(w->err->message, sizeof(w->err->message), fmt, ap);
        va_end(ap);
        utf8_mend(w->err->message);
        return CAIRN_ERR_INVALID;
}

cairn_err_t pbjson_oom(struct pbjson_walk *w)
{
        if (w->err) {
                set_field(w->err, w->path);
                snprintf(w->err->message, sizeof(w->err->message), "out of memory");
        }
        return CAIRN_ERR_EXHAUSTED;
}

cairn_err_t pbjson_enter(struct pbjson_walk *w)
{
        if (++w->depth > w->max_depth)
                return pbjson_fail(w, "nested deeper than %d levels", w->max_depth);
        return CAIRN_OK;
}

enum pbjson_wkt pbjson_wkt_of(const ProtobufCMessageDescriptor *desc)
{
        static const struct {
                const char *name;
                enum pbjson_wkt kind;
        } wkts[] = {
                { "Timestamp", PBJSON_WKT_TIMESTAMP },  { "Duration", PBJSON_WKT_DURATION },
                { "Struct", PBJSON_WKT_STRUCT },        { "Value", PBJSON_WKT_VALUE },
                { "ListValue", PBJSON_WKT_LIST_VALUE }, { "FieldMask", PBJSON_WKT_FIELD_MASK },
                { "DoubleValue", PBJSON_WKT_WRAPPER },  { "FloatValue", PBJSON_WKT_WRAPPER },
                { "Int64Value", PBJSON_WKT_WRAPPER },   { "UInt64Value", PBJSON_WKT_WRAPPER },
                { "Int32Value", PBJSON_WKT_WRAPPER },   { "UInt32Value", PBJSON_WKT_WRAPPER },
                { "BoolValue", PBJSON_WKT_WRAPPER },    { "StringValue", PBJSON_WKT_WRAPPER },
                { "BytesValue", PBJSON_WKT_WRAPPER },   { "Any", PBJSON_WKT_ANY },
        };
        static const char prefix[] = "google.protobuf.";

        if (strncmp(desc->name, prefix, sizeof(prefix) - 1) != 0)
                return PBJSON_WKT_NONE;
        for (size_t i = 0; i < sizeof(wkts) / sizeof(wkts[0]); i++)
                if (strcmp(desc->name + sizeof(prefix) - 1, wkts[i].name) == 0)
                        return wkts[i].kind;
        return PBJSON_WKT_NONE;
}

bool pbjson_is_null_value(const ProtobufCFieldDescriptor *fd)
{
        const ProtobufCEnumDescriptor *ed = fd->descriptor;

        return fd->type == PROTOBUF_C_TYPE_ENUM && ed &&
               strcmp(ed->name, "google.protobuf.NullValue") == 0;
}

/* protoc's name for the implicit entry type of map field @p name: the
 * field name in UpperCamelCase plus "Entry". Compared in place. */
static bool is_entry_name(const char *field, const char *entry)
{
        bool up = true;

        for (; *field; field++) {
                if (*field == '_') {
                        up = true;
                        continue;
                }
                char c = *field;

                if (up && c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                up = false;
                if (*entry++ != c)
                        return false;
        }
        return strcmp(entry, "Entry") == 0;
}

bool pbjson_is_map(const ProtobufCFieldDescriptor *fd)
{
        const ProtobufCMessageDescriptor *ed = fd->descriptor;

        return fd->label == PROTOBUF_C_LABEL_REPEATED && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
               ed && ed->n_fields == 2 && ed->fields[0].id == 1 && ed->fields[1].id == 2 &&
               strcmp(ed->fields[0].name, "key") == 0 && strcmp(ed->fields[1].name, "value") == 0 &&
               is_entry_name(fd->name, ed->short_name);
}

void pbjson_json_name(const char *name, char *buf, size_t size)
{
        size_t n = 0;
        bool up = false;

        assert(size > 0);
        for (; *name && n + 1 < size; name++) {
                char c = *name;

                if (c == '_') {
                        up = true;
                        continue;
                }
                if (up && c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                up = false;
                buf[n++] = c;
        }
        buf[n] = '\0';
}

/* True when @p key is the JSON name of proto name @p name; no buffer, so
 * names of any length compare. */
static bool is_json_name(const char *name, const char *key)
{
        bool up = false;

        for (; *name; name++) {
                char c = *name;

                if (c == '_') {
                        up = true;
                        continue;
                }
                if (up && c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                up = false;
                if (*key++ != c)
                        return false;
        }
        return *key == '\0';
}

const ProtobufCFieldDescriptor *pbjson_field_by_key(const ProtobufCMessageDescriptor *desc,
                                                    const char *key)
{
        for (unsigned i = 0; i < desc->n_fields; i++)
                if (is_json_name(desc->fields[i].name, key))
                        return &desc->fields[i];
        return protobuf_c_message_descriptor_get_field_by_name(desc, key);
}

size_t pbjson_value_size(ProtobufCType type)
{
        switch (type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                return 4;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                return 8;
        case PROTOBUF_C_TYPE_FLOAT:
                return sizeof(float);
        case PROTOBUF_C_TYPE_DOUBLE:
                return sizeof(double);
        case PROTOBUF_C_TYPE_BOOL:
                return sizeof(protobuf_c_boolean);
        case PROTOBUF_C_TYPE_ENUM:
                return sizeof(int);
        case PROTOBUF_C_TYPE_STRING:
                return sizeof(char *);
        case PROTOBUF_C_TYPE_BYTES:
                return sizeof(ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE:
                return sizeof(ProtobufCMessage *);
        }
        assert(!"unknown protobuf-c type");
        return 0;
}

ProtobufCMessage *pbjson_message_new(const ProtobufCMessageDescriptor *desc)
{
        ProtobufCMessage *msg = malloc(desc->sizeof_message);

        if (msg)
                protobuf_c_message_init(desc, msg);
        return msg;
}

bool pbjson_scalar_is_default(const ProtobufCFieldDescriptor *fd, const void *src)
{
        switch (fd->type) {
        case PROTOBUF_C_TYPE_BOOL:
                return *(const protobuf_c_boolean *)src == 0;
        case PROTOBUF_C_TYPE_ENUM:
                return *(const int *)src == 0;
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                return *(const uint32_t *)src == 0;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                return *(const uint64_t *)src == 0;
        case PROTOBUF_C_TYPE_FLOAT:
                return *(const float *)src == 0; /* -0.0 too, as protobuf-c packs it */
        case PROTOBUF_C_TYPE_DOUBLE:
                return *(const double *)src == 0;
        case PROTOBUF_C_TYPE_STRING:
                return !*(const char *const *)src || !**(const char *const *)src;
        case PROTOBUF_C_TYPE_BYTES:
                return ((const ProtobufCBinaryData *)src)->len == 0;
        case PROTOBUF_C_TYPE_MESSAGE:
                return *(const void *const *)src == NULL;
        }
        return true;
}

bool pbjson_field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd)
{
        const void *member = pbjson_member(msg, fd);
        bool pointer = fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_STRING;

        assert(fd->label != PROTOBUF_C_LABEL_REPEATED);
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                if (*(const uint32_t *)pbjson_quantifier(msg, fd) != fd->id)
                        return false;
                /* protobuf-c packs no NULL or default-pointer member */
                return !pointer || (*(const void *const *)member &&
                                    *(const void *const *)member != fd->default_value);
        }
        switch (fd->label) {
        case PROTOBUF_C_LABEL_REQUIRED:
                return true;
        case PROTOBUF_C_LABEL_OPTIONAL:
                if (pointer)
                        return *(const void *const *)member &&
                               *(const void *const *)member != fd->default_value;
                return *(const protobuf_c_boolean *)pbjson_quantifier(msg, fd);
        default:
                if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
                        return *(const void *const *)member != NULL;
                return !pbjson_scalar_is_default(fd, member);
        }
}

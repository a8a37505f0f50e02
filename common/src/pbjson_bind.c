/* URL path captures and query parameters into a JSON request body: one
 * text value at a dotted field path becomes the JSON its field wants, so
 * that cairn_pbjson_from_json() then checks the whole body at once. The
 * text is checked here too, so that an error names the parameter. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/utf8.h"
#include "pbjson_internal.h"

/* The key under which @p obj already holds field @p fd (JSON name first,
 * then proto name), or NULL. */
static const char *existing_key(const json_t *obj, const ProtobufCFieldDescriptor *fd,
                                const char *json_name)
{
        if (json_object_get(obj, json_name))
                return json_name;
        if (json_object_get(obj, fd->name))
                return fd->name;
        return NULL;
}

/* Checks @p text as a value of well-known type @p desc (Timestamp,
 * Duration, FieldMask) by reading it into a scratch message. */
static cairn_err_t wkt_check(struct pbjson_walk *w, const ProtobufCMessageDescriptor *desc,
                             enum pbjson_wkt kind, const json_t *v)
{
        ProtobufCMessage *scratch = pbjson_message_new(desc);
        cairn_err_t err;

        if (!scratch)
                return pbjson_oom(w);
        err = pbjson_wkt_from_json(w, kind, scratch, v);
        protobuf_c_message_free_unpacked(scratch, NULL);
        return err;
}

/* The JSON of @p text for field @p fd, into *@p out (new reference). */
static cairn_err_t text_to_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                const char *text, json_t **out)
{
        union { /* room for any scalar: b is the largest */
                int32_t i32;
                uint32_t u32;
                float f;
                double d;
                ProtobufCBinaryData b;
        } scratch;
        json_t *str;
        cairn_err_t err;

        if (fd->type == PROTOBUF_C_TYPE_BOOL) {
                if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
                        return pbjson_fail(w, "expected true or false");
                *out = json_boolean(text[0] == 't');
                return CAIRN_OK;
        }
        if (!cairn_utf8_valid(text, strlen(text)))
                return pbjson_fail(w, "invalid UTF-8");
        str = json_string(text);
        if (!str)
                return pbjson_oom(w);
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                const ProtobufCMessageDescriptor *md = fd->descriptor;
                enum pbjson_wkt kind = pbjson_wkt_of(md);

                switch (kind) {
                case PBJSON_WKT_TIMESTAMP:
                case PBJSON_WKT_DURATION:
                case PBJSON_WKT_FIELD_MASK:
                        err = wkt_check(w, md, kind, str);
                        break;
                case PBJSON_WKT_VALUE:
                        err = CAIRN_OK; /* a Value holding the string */
                        break;
                case PBJSON_WKT_WRAPPER:
                        /* the text of the wrapped value, field 1 */
                        json_decref(str);
                        fd = protobuf_c_message_descriptor_get_field(md, 1);
                        return text_to_json(w, fd, text, out);
                default:
                        err = pbjson_fail(w, "a %s cannot be given as text", md->name);
                }
                if (err) {
                        json_decref(str);
                        return err;
                }
                *out = str;
                return CAIRN_OK;
        }
        /* An enum number rather than a name. */
        if (fd->type == PROTOBUF_C_TYPE_ENUM &&
            !protobuf_c_enum_descriptor_get_value_by_name(fd->descriptor, text)) {
                bool neg;
                uint64_t mag;

                if (pbjson_parse_decimal(text, &neg, &mag) == 0 &&
                    mag <= (uint64_t)INT32_MAX + neg) {
                        json_decref(str);
                        str = json_integer(neg ? -(json_int_t)mag : (json_int_t)mag);
                        if (!str)
                                return pbjson_oom(w);
                }
        }
        memset(&scratch, 0, sizeof(scratch));
        err = pbjson_scalar_from_json(w, fd, str, &scratch);
        if (err) {
                json_decref(str);
                return err;
        }
        *out = str;
        switch (fd->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                *out = json_integer(scratch.i32);
                break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                *out = json_integer(scratch.u32);
                break;
        case PROTOBUF_C_TYPE_FLOAT:
                if (isfinite(scratch.f))
                        *out = json_real(strtod(text, NULL));
                break;
        case PROTOBUF_C_TYPE_DOUBLE:
                if (isfinite(scratch.d))
                        *out = json_real(scratch.d);
                break;
        default:
                break; /* 64-bit integers, enums, strings, bytes stay text */
        }
        pbjson_scalar_free(fd, &scratch);
        if (*out != str)
                json_decref(str);
        return *out ? CAIRN_OK : pbjson_oom(w);
}

/* Puts @p value (a new reference, taken) at field @p fd of @p obj:
 * appended for repeated fields, replacing otherwise. */
static cairn_err_t put(struct pbjson_walk *w, json_t *obj, const ProtobufCFieldDescriptor *fd,
                       const char *json_name, json_t *value)
{
        const char *key = existing_key(obj, fd, json_name);
        json_t *arr;

        if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
                if (json_object_set_new(obj, key ? key : json_name, value) != 0)
                        return pbjson_oom(w);
                return CAIRN_OK;
        }
        arr = key ? json_object_get(obj, key) : NULL;
        if (arr && !json_is_array(arr)) {
                json_decref(value);
                return pbjson_fail(w, "the body holds \"%s\" as something other than an array",
                                   key);
        }
        if (!arr) {
                arr = json_array();
                if (!arr || json_object_set_new(obj, json_name, arr) != 0) {
                        json_decref(value);
                        return pbjson_oom(w);
                }
        }
        if (json_array_append_new(arr, value) != 0)
                return pbjson_oom(w);
        return CAIRN_OK;
}

cairn_err_t cairn_pbjson_bind(const ProtobufCMessageDescriptor *desc, json_t *obj, const char *path,
                              const char *text, struct cairn_pbjson_error *err)
{
        struct pbjson_walk w;
        const char *seg = path;

        assert(desc && obj && path && text);
        pbjson_walk_init(&w, err, CAIRN_PBJSON_DEPTH_MAX, 0);
        pbjson_path_key(&w, path);
        if (!json_is_object(obj))
                return pbjson_fail(&w, "the body is not an object");
        for (;;) {
                size_t len = strcspn(seg, ".");
                const ProtobufCFieldDescriptor *fd;
                char name[128], json_name[128];
                const char *key;
                json_t *child, *value;
                cairn_err_t e;

                if (len == 0 || len >= sizeof(name))
                        return pbjson_fail(&w, "not a field path");
                memcpy(name, seg, len);
                name[len] = '\0';
                fd = pbjson_field_by_key(desc, name);
                if (!fd)
                        return pbjson_fail(&w, "unknown field \"%s\" in %s", name, desc->name);
                pbjson_json_name(fd->name, json_name, sizeof(json_name));
                if (!seg[len]) {
                        if (pbjson_is_map(fd))
                                return pbjson_fail(&w, "a map cannot be given as text");
                        e = text_to_json(&w, fd, text, &value);
                        return e ? e : put(&w, obj, fd, json_name, value);
                }
                if (fd->type != PROTOBUF_C_TYPE_MESSAGE || fd->label == PROTOBUF_C_LABEL_REPEATED ||
                    pbjson_wkt_of(fd->descriptor) != PBJSON_WKT_NONE)
                        return pbjson_fail(&w, "\"%s\" is not a message field with fields", name);
                key = existing_key(obj, fd, json_name);
                child = key ? json_object_get(obj, key) : NULL;
                if (child && !json_is_object(child))
                        return pbjson_fail(&w,
                                           "the body holds \"%s\" as something other than "
                                           "an object",
                                           key);
                if (!child) {
                        child = json_object();
                        if (!child || json_object_set_new(obj, json_name, child) != 0)
                                return pbjson_oom(&w);
                }
                obj = child;
                desc = fd->descriptor;
                seg += len + 1;
        }
}

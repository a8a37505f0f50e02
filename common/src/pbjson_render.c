/* protobuf-c messages to JSON: the walk over a message's fields by
 * descriptor, and compact text with the shortest reals that read back. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/utf8.h"
#include "pbjson_internal.h"

static cairn_err_t message_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg,
                                   json_t **out);

/* The JSON of one value of field @p fd at @p src (a singular member, an
 * array element or a map value). An absent message reads as its type's
 * empty instance, as protobuf readers take it. */
static cairn_err_t value_to_json(struct pbjson_walk *w, const ProtobufCFieldDescriptor *fd,
                                 const void *src, json_t **out)
{
        const ProtobufCMessage *sub;
        ProtobufCMessage *empty;
        cairn_err_t err;

        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
                return pbjson_scalar_to_json(w, fd, src, out);
        sub = *(ProtobufCMessage *const *)src;
        if (sub)
                return message_to_json(w, sub, out);
        empty = pbjson_message_new(fd->descriptor);
        if (!empty)
                return pbjson_oom(w);
        err = message_to_json(w, empty, out);
        protobuf_c_message_free_unpacked(empty, NULL);
        return err;
}

static cairn_err_t map_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg,
                               const ProtobufCFieldDescriptor *fd, json_t **out)
{
        const ProtobufCMessageDescriptor *entry_desc = fd->descriptor;
        const ProtobufCFieldDescriptor *fk = &entry_desc->fields[0], *fv = &entry_desc->fields[1];
        size_t n = *(const size_t *)pbjson_quantifier(msg, fd);
        ProtobufCMessage *const *entries = *(ProtobufCMessage * *const *)pbjson_member(msg, fd);
        cairn_err_t err = pbjson_enter(w);
        json_t *obj;

        if (err)
                return err;
        obj = json_object();
        if (!obj)
                return pbjson_oom(w);
        /* Entries in wire order; a repeated key replaces the earlier one, as
         * protobuf parsers do. */
        for (size_t i = 0; i < n && !err; i++) {
                char buf[32];
                const char *key;
                size_t mark;
                json_t *item = NULL;

                if (!entries[i])
                        continue;
                key = pbjson_map_key_text(fk, pbjson_member(entries[i], fk), buf, sizeof(buf));
                mark = pbjson_path_key(w, key);

                if (!cairn_utf8_valid(key, strlen(key)))
                        err = pbjson_fail(w, "invalid UTF-8 in map key");
                else
                        err = value_to_json(w, fv, pbjson_member(entries[i], fv), &item);
                if (!err && json_object_set_new(obj, key, item) != 0)
                        err = pbjson_oom(w);
                pbjson_path_cut(w, mark);
        }
        if (err) {
                json_decref(obj);
                return err;
        }
        w->depth--;
        *out = obj;
        return CAIRN_OK;
}

static cairn_err_t repeated_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg,
                                    const ProtobufCFieldDescriptor *fd, json_t **out)
{
        size_t n = *(const size_t *)pbjson_quantifier(msg, fd), size = pbjson_value_size(fd->type);
        const char *arr = *(const char *const *)pbjson_member(msg, fd);
        cairn_err_t err;
        json_t *list;

        if (pbjson_is_map(fd))
                return map_to_json(w, msg, fd, out);
        err = pbjson_enter(w);
        if (err)
                return err;
        list = json_array();
        if (!list)
                return pbjson_oom(w);
        for (size_t i = 0; i < n && !err; i++) {
                size_t mark = pbjson_path_index(w, i);
                json_t *item = NULL;

                err = value_to_json(w, fd, arr + i * size, &item);
                if (!err && json_array_append_new(list, item) != 0)
                        err = pbjson_oom(w);
                pbjson_path_cut(w, mark);
        }
        if (err) {
                json_decref(list);
                return err;
        }
        w->depth--;
        *out = list;
        return CAIRN_OK;
}

/* Whether field @p fd of @p msg appears in the JSON. */
static bool field_rendered(const struct pbjson_walk *w, const ProtobufCMessage *msg,
                           const ProtobufCFieldDescriptor *fd)
{
        if (fd->label == PROTOBUF_C_LABEL_REPEATED)
                return *(const size_t *)pbjson_quantifier(msg, fd) > 0 ||
                       (w->flags & CAIRN_PBJSON_EMIT_DEFAULTS);
        if (pbjson_field_present(msg, fd))
                return true;
        /* Defaults are shown for plain scalars only: an unset message or
         * oneof has no value to show. */
        return (w->flags & CAIRN_PBJSON_EMIT_DEFAULTS) && fd->label == PROTOBUF_C_LABEL_NONE &&
               fd->type != PROTOBUF_C_TYPE_MESSAGE && !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
}

static cairn_err_t message_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg, json_t **out)
{
        const ProtobufCMessageDescriptor *desc = msg->descriptor;
        enum pbjson_wkt kind = pbjson_wkt_of(desc);
        cairn_err_t err;
        json_t *obj;

        if (kind != PBJSON_WKT_NONE)
                return pbjson_wkt_to_json(w, kind, msg, out);
        err = pbjson_enter(w);
        if (err)
                return err;
        obj = json_object();
        if (!obj)
                return pbjson_oom(w);
        for (unsigned i = 0; i < desc->n_fields && !err; i++) {
                const ProtobufCFieldDescriptor *fd = &desc->fields[i];
                size_t len = strlen(fd->name), mark;
                char name[128], *heap = NULL;
                const char *key = fd->name;
                json_t *item = NULL;

                if (!field_rendered(w, msg, fd))
                        continue;
                if (!(w->flags & CAIRN_PBJSON_PROTO_NAMES)) {
                        if (len >= sizeof(name)) {
                                heap = malloc(len + 1);
                                if (!heap) {
                                        err = pbjson_oom(w);
                                        break;
                                }
                        }
                        pbjson_json_name(fd->name, heap ? heap : name, len + 1);
                        key = heap ? heap : name;
                }
                mark = pbjson_path_key(w, key);
                if (fd->label == PROTOBUF_C_LABEL_REPEATED)
                        err = repeated_to_json(w, msg, fd, &item);
                else
                        err = value_to_json(w, fd, pbjson_member(msg, fd), &item);
                if (!err && json_object_set_new(obj, key, item) != 0)
                        err = pbjson_oom(w);
                pbjson_path_cut(w, mark);
                free(heap);
        }
        if (err) {
                json_decref(obj);
                return err;
        }
        w->depth--;
        *out = obj;
        return CAIRN_OK;
}

cairn_err_t cairn_pbjson_encode(const ProtobufCMessage *msg, unsigned flags, json_t **out,
                                struct cairn_pbjson_error *err)
{
        struct pbjson_walk w;
        cairn_err_t e;

        assert(msg && msg->descriptor && out);
        pbjson_walk_init(&w, err, CAIRN_PBJSON_DEPTH_MAX, flags);
        *out = NULL;
        e = message_to_json(&w, msg, out);
        if (e)
                *out = NULL;
        return e;
}

json_t *cairn_pbjson_to_json(const ProtobufCMessage *msg, unsigned flags)
{
        json_t *json;

        return cairn_pbjson_encode(msg, flags, &json, NULL) == CAIRN_OK ? json : NULL;
}

char *cairn_pbjson_render(const ProtobufCMessage *msg, unsigned flags, size_t *lenp)
{
        json_t *json = cairn_pbjson_to_json(msg, flags);
        char *text;

        if (!json)
                return NULL;
        text = cairn_pbjson_dump(json, lenp);
        json_decref(json);
        return text;
}

/* ---- text ---- */

static void dump_string(struct cairn_buf *b, const char *s, size_t len)
{
        size_t run = 0;

        cairn_buf_add(b, "\"", 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                const char *esc = NULL;
                char hex[8];

                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                switch (c) {
                /* clang-format off */
                case '"':  esc = "\\\""; break;
                case '\\': esc = "\\\\"; break;
                case '\b': esc = "\\b"; break;
                case '\f': esc = "\\f"; break;
                case '\n': esc = "\\n"; break;
                case '\r': esc = "\\r"; break;
                case '\t': esc = "\\t"; break;
                /* clang-format on */
                default:
                        snprintf(hex, sizeof(hex), "\\u%04x", c);
                        esc = hex;
                }
                cairn_buf_add(b, s + run, i - run);
                cairn_buf_adds(b, esc);
                run = i + 1;
        }
        cairn_buf_add(b, s + run, len - run);
        cairn_buf_add(b, "\"", 1);
}

static void dump_real(struct cairn_buf *b, double d)
{
        char buf[40];

        pbjson_format_real(d, false, buf, sizeof(buf));
        cairn_buf_adds(b, buf);
        /* "1" would read back as an integer */
        if (!strpbrk(buf, ".eEn"))
                cairn_buf_add(b, ".0", 2);
}

static void dump(struct cairn_buf *b, const json_t *v)
{
        const char *key;
        json_t *item;
        size_t i = 0;

        switch (json_typeof(v)) {
        case JSON_OBJECT:
                cairn_buf_add(b, "{", 1);
                json_object_foreach((json_t *)v, key, item) {
                        if (i++)
                                cairn_buf_add(b, ",", 1);
                        dump_string(b, key, strlen(key));
                        cairn_buf_add(b, ":", 1);
                        dump(b, item);
                }
                cairn_buf_add(b, "}", 1);
                break;
        case JSON_ARRAY:
                cairn_buf_add(b, "[", 1);
                json_array_foreach(v, i, item) {
                        if (i)
                                cairn_buf_add(b, ",", 1);
                        dump(b, item);
                }
                cairn_buf_add(b, "]", 1);
                break;
        case JSON_STRING:
                dump_string(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                cairn_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                break;
        case JSON_REAL:
                dump_real(b, json_real_value(v));
                break;
        case JSON_TRUE:
                cairn_buf_add(b, "true", 4);
                break;
        case JSON_FALSE:
                cairn_buf_add(b, "false", 5);
                break;
        case JSON_NULL:
                cairn_buf_add(b, "null", 4);
                break;
        }
}

char *cairn_pbjson_dump(const json_t *json, size_t *lenp)
{
        struct cairn_buf b = { 0 };

        assert(json);
        cairn_buf_reserve(&b, 256);
        dump(&b, json);
        if (b.oom) {
                cairn_buf_cleanup(&b);
                return NULL;
        }
        if (lenp)
                *lenp = b.len;
        return b.p;
}

/* JSON to protobuf-c messages: the walk over a message's fields by
 * descriptor (singular, repeated, maps, oneofs), and the entry point from
 * text with its limits and its errors located in the caller's terms. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson_internal.h"

static cairn_err_t message_from_json(struct pbjson_walk *w, ProtobufCMessage *msg, const json_t *v);

/* Fields for which JSON null is a value rather than "the default". */
static bool null_is_value(const ProtobufCFieldDescriptor *fd)
{
        return pbjson_is_null_value(fd) || (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                                            pbjson_wkt_of(fd->descriptor) == PBJSON_WKT_VALUE);
}

/* Records that singular field @p fd of @p msg holds a value. */
static void mark_set(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd)
{
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                *(uint32_t *)pbjson_quantifier(msg, fd) = fd->id;
        else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->type != PROTOBUF_C_TYPE_MESSAGE &&
                 fd->type != PROTOBUF_C_TYPE_STRING)
                *(protobuf_c_boolean *)pbjson_quantifier(msg, fd) = 1;
}

/* Reads @p v into singular field @p fd of @p msg (a map entry's key or
 * value included). */
static cairn_err_t singular_from_json(struct pbjson_walk *w, ProtobufCMessage *msg,
                                      const ProtobufCFieldDescriptor *fd, const json_t *v)
{
        void *member = pbjson_member(msg, fd);
        cairn_err_t err;

        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                ProtobufCMessage *sub = pbjson_message_new(fd->descriptor);

                if (!sub)
                        return pbjson_oom(w);
                /* held by @p msg from here on, so freeing @p msg frees it */
                *(ProtobufCMessage **)member = sub;
                mark_set(msg, fd);
                return message_from_json(w, sub, v);
        }
        err = pbjson_scalar_from_json(w, fd, v, member);
        if (err)
                return err;
        mark_set(msg, fd);
        return CAIRN_OK;
}

static cairn_err_t map_from_json(struct pbjson_walk *w, ProtobufCMessage *msg,
                                 const ProtobufCFieldDescriptor *fd, const json_t *v)
{
        const ProtobufCMessageDescriptor *entry_desc = fd->descriptor;
        const ProtobufCFieldDescriptor *fk = &entry_desc->fields[0], *fv = &entry_desc->fields[1];
        size_t *n = pbjson_quantifier(msg, fd);
        ProtobufCMessage ***entries = pbjson_member(msg, fd);
        json_t *seen = NULL, *item;
        const char *key;
        cairn_err_t err;

        if (!json_is_object(v))
                return pbjson_fail(w, "expected an object (map)");
        err = pbjson_enter(w);
        if (err)
                return err;
        if (!json_object_size(v)) {
                w->depth--;
                return CAIRN_OK;
        }
        *entries = calloc(json_object_size(v), sizeof(ProtobufCMessage *));
        /* "1" and "01" are one integer key: catch such pairs by canonical text */
        if (fk->type != PROTOBUF_C_TYPE_STRING)
                seen = json_object();
        if (!*entries || (fk->type != PROTOBUF_C_TYPE_STRING && !seen)) {
                json_decref(seen);
                return pbjson_oom(w);
        }
        json_object_foreach((json_t *)v, key, item) {
                size_t mark = pbjson_path_key(w, key);
                ProtobufCMessage *entry = pbjson_message_new(entry_desc);
                char buf[32];

                if (!entry) {
                        err = pbjson_oom(w);
                        break;
                }
                (*entries)[(*n)++] = entry;
                err = pbjson_map_key_from_text(w, fk, key, pbjson_member(entry, fk));
                if (err)
                        break;
                mark_set(entry, fk);
                if (seen) {
                        const char *canon = pbjson_map_key_text(fk, pbjson_member(entry, fk), buf,
                                                                sizeof(buf));

                        if (json_object_get(seen, canon)) {
                                err = pbjson_fail(w, "duplicate map key %s", canon);
                                break;
                        }
                        if (json_object_set_new(seen, canon, json_true()) != 0) {
                                err = pbjson_oom(w);
                                break;
                        }
                }
                if (json_is_null(item) && !null_is_value(fv)) {
                        err = pbjson_fail(w, "null is not allowed as a map value");
                        break;
                }
                err = singular_from_json(w, entry, fv, item);
                if (err)
                        break;
                pbjson_path_cut(w, mark);
        }
        json_decref(seen);
        if (err)
                return err;
        w->depth--;
        return CAIRN_OK;
}

static cairn_err_t repeated_from_json(struct pbjson_walk *w, ProtobufCMessage *msg,
                                      const ProtobufCFieldDescriptor *fd, const json_t *v)
{
        size_t *n = pbjson_quantifier(msg, fd), size = pbjson_value_size(fd->type);
        char **arr = pbjson_member(msg, fd);
        cairn_err_t err;

        if (pbjson_is_map(fd))
                return map_from_json(w, msg, fd, v);
        if (!json_is_array(v))
                return pbjson_fail(w, "expected an array");
        err = pbjson_enter(w);
        if (err)
                return err;
        if (json_array_size(v)) {
                /* zeroed: a counted element that failed half way frees cleanly */
                *arr = calloc(json_array_size(v), size);
                if (!*arr)
                        return pbjson_oom(w);
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *item = json_array_get(v, i);
                size_t mark = pbjson_path_index(w, i);
                void *elem = *arr + i * size;

                if (json_is_null(item) && !null_is_value(fd))
                        return pbjson_fail(w, "null is not allowed in a repeated field");
                if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                        ProtobufCMessage *sub = pbjson_message_new(fd->descriptor);

                        if (!sub)
                                return pbjson_oom(w);
                        *(ProtobufCMessage **)elem = sub;
                        (*n)++;
                        err = message_from_json(w, sub, item);
                } else {
                        err = pbjson_scalar_from_json(w, fd, item, elem);
                        if (!err)
                                (*n)++;
                }
                if (err)
                        return err;
                pbjson_path_cut(w, mark);
        }
        w->depth--;
        return CAIRN_OK;
}

/* The key under which @p msg's JSON object @p v set another member of the
 * oneof of @p fd to a value (not a default null), or NULL. */
static const char *oneof_rival(const ProtobufCMessageDescriptor *desc,
                               const ProtobufCFieldDescriptor *fd, const char *const *seen,
                               const json_t *v)
{
        for (unsigned i = 0; i < desc->n_fields; i++) {
                const ProtobufCFieldDescriptor *other = &desc->fields[i];

                if (other == fd || !seen[i] || !(other->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
                    other->quantifier_offset != fd->quantifier_offset)
                        continue;
                if (!json_is_null(json_object_get(v, seen[i])) || null_is_value(other))
                        return seen[i];
        }
        return NULL;
}

static cairn_err_t message_from_json(struct pbjson_walk *w, ProtobufCMessage *msg, const json_t *v)
{
        const ProtobufCMessageDescriptor *desc = msg->descriptor;
        enum pbjson_wkt kind = pbjson_wkt_of(desc);
        const char **seen, *key, *rival;
        json_t *item;
        cairn_err_t err;

        if (kind != PBJSON_WKT_NONE)
                return pbjson_wkt_from_json(w, kind, msg, v);
        if (!json_is_object(v))
                return pbjson_fail(w, "expected an object (%s)", desc->name);
        err = pbjson_enter(w);
        if (err)
                return err;
        /* which JSON key set each field: one name per field, one member per oneof */
        seen = calloc(desc->n_fields + 1, sizeof(*seen));
        if (!seen)
                return pbjson_oom(w);
        json_object_foreach((json_t *)v, key, item) {
                size_t mark = pbjson_path_key(w, key);
                const ProtobufCFieldDescriptor *fd = pbjson_field_by_key(desc, key);
                size_t i;

                if (!fd) {
                        err = pbjson_fail(w, "unknown field \"%s\" in %s", key, desc->name);
                        break;
                }
                i = (size_t)(fd - desc->fields);
                if (seen[i]) {
                        err = pbjson_fail(w, "\"%s\" and \"%s\" name the same field", seen[i], key);
                        break;
                }
                seen[i] = key;
                if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
                    (!json_is_null(item) || null_is_value(fd))) {
                        rival = oneof_rival(desc, fd, seen, v);
                        if (rival) {
                                err = pbjson_fail(w,
                                                  "\"%s\" and \"%s\" belong to one oneof: "
                                                  "set at most one",
                                                  rival, key);
                                break;
                        }
                }
                if (fd->label == PROTOBUF_C_LABEL_REPEATED)
                        err = json_is_null(item) ? CAIRN_OK : repeated_from_json(w, msg, fd, item);
                else if (json_is_null(item) && !null_is_value(fd))
                        err = CAIRN_OK; /* null: the field keeps its default */
                else
                        err = singular_from_json(w, msg, fd, item);
                if (err)
                        break;
                pbjson_path_cut(w, mark);
        }
        free(seen);
        if (err)
                return err;
        w->depth--;
        return CAIRN_OK;
}

static cairn_err_t from_json(struct pbjson_walk *w, const ProtobufCMessageDescriptor *desc,
                             const json_t *json, ProtobufCMessage **out)
{
        ProtobufCMessage *msg = pbjson_message_new(desc);
        cairn_err_t err;

        *out = NULL;
        if (!msg)
                return pbjson_oom(w);
        err = message_from_json(w, msg, json);
        if (err) {
                protobuf_c_message_free_unpacked(msg, NULL);
                return err;
        }
        *out = msg;
        return CAIRN_OK;
}

cairn_err_t cairn_pbjson_from_json(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                   ProtobufCMessage **out, struct cairn_pbjson_error *err)
{
        struct pbjson_walk w;

        assert(desc && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC && json && out);
        pbjson_walk_init(&w, err, CAIRN_PBJSON_DEPTH_MAX, 0);
        return from_json(&w, desc, json, out);
}

/* Puts into the walk's path where in @p text[0..end) the JSON reader
 * stopped: the keys and indexes of the containers open there. The prefix
 * is well-formed JSON as far as it goes (the reader got that far), so a
 * scan of strings and brackets suffices. */
static void locate(struct pbjson_walk *w, const char *text, size_t end)
{
        struct {
                size_t mark;  /* path length before this container's step */
                size_t index; /* arrays: current element */
                bool object;
                bool want_key;
        } st[64];
        size_t depth = 0, i = 0;

        while (i < end) {
                char c = text[i++];

                if (c == '"') {
                        size_t start = i;
                        char key[96];

                        while (i < end && text[i] != '"')
                                i += text[i] == '\\' ? 2 : 1;
                        if (i >= end)
                                break; /* stopped inside this string */
                        if (depth && depth <= 64 && st[depth - 1].object &&
                            st[depth - 1].want_key) {
                                size_t len = i - start < sizeof(key) - 1 ? i - start
                                                                         : sizeof(key) - 1;

                                memcpy(key, text + start, len);
                                key[len] = '\0';
                                pbjson_path_key(w, key);
                                st[depth - 1].want_key = false;
                        }
                        i++;
                } else if (c == '{' || c == '[') {
                        if (depth < 64) {
                                st[depth].mark = w->len;
                                st[depth].index = 0;
                                st[depth].object = c == '{';
                                st[depth].want_key = c == '{';
                                if (c == '[')
                                        pbjson_path_index(w, 0);
                        }
                        depth++;
                } else if (c == '}' || c == ']') {
                        if (depth && depth <= 64)
                                pbjson_path_cut(w, st[depth - 1].mark);
                        if (depth)
                                depth--;
                } else if (c == ',' && depth && depth <= 64) {
                        pbjson_path_cut(w, st[depth - 1].mark);
                        if (st[depth - 1].object)
                                st[depth - 1].want_key = true;
                        else
                                pbjson_path_index(w, ++st[depth - 1].index);
                }
        }
}

static cairn_err_t syntax_fail(struct pbjson_walk *w, const char *text, size_t len,
                               const json_error_t *jerr)
{
        size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;

        if (json_error_code(jerr) == json_error_out_of_memory)
                return pbjson_oom(w);
        locate(w, text, pos < len ? pos : len);
        switch (json_error_code(jerr)) {
        case json_error_duplicate_key:
                return pbjson_fail(w, "duplicate key");
        case json_error_invalid_utf8:
                return pbjson_fail(w, "invalid UTF-8");
        case json_error_null_character:
                return pbjson_fail(w, "U+0000 cannot be held in a string");
        case json_error_stack_overflow:
                return pbjson_fail(w, "nested deeper than %d levels", w->max_depth);
        default:
                return pbjson_fail(w, "invalid JSON at byte %zu: %s", pos, jerr->text);
        }
}

cairn_err_t cairn_pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                               int max_depth, ProtobufCMessage **out,
                               struct cairn_pbjson_error *err)
{
        struct pbjson_walk w;
        json_error_t jerr;
        json_t *json;
        cairn_err_t e;

        assert(desc && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC && out);
        assert(max_depth >= 1);
        pbjson_walk_init(&w, err,
                         max_depth < CAIRN_PBJSON_DEPTH_MAX ? max_depth : CAIRN_PBJSON_DEPTH_MAX,
                         0);
        *out = NULL;
        json = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!json)
                return syntax_fail(&w, text, len, &jerr);
        e = from_json(&w, desc, json, out);
        json_decref(json);
        return e;
}

ProtobufCMessage *cairn_pbjson_parse_arena(const ProtobufCMessageDescriptor *desc, const char *text,
                                           int max_depth, struct cairn_arena *arena)
{
        ProtobufCMessage *parsed = NULL, *copy;
        uint8_t *buf;
        size_t len;

        if (cairn_pbjson_parse(desc, text, strlen(text), max_depth, &parsed, NULL) != CAIRN_OK)
                return NULL;
        /* packed and unpacked again: the copy's every part is in the arena */
        len = protobuf_c_message_get_packed_size(parsed);
        buf = malloc(len ? len : 1);
        if (!buf) {
                protobuf_c_message_free_unpacked(parsed, NULL);
                return NULL;
        }
        protobuf_c_message_pack(parsed, buf);
        protobuf_c_message_free_unpacked(parsed, NULL);
        copy = protobuf_c_message_unpack(desc, cairn_arena_pbc(arena), len, buf);
        free(buf);
        return copy;
}

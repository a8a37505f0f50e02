/* Vault's KV v2 request bodies, read strictly where Vault is strict (a
 * secret's data is an object, versions are integers) and as leniently as
 * Vault where its clients rely on it (numbers given as strings, versions
 * as "1,2", durations as seconds or Go's text). Unknown fields are left
 * alone, as Vault leaves them. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/json.h"
#include "vault_parse.h"
#include "vault_time.h"

static bool bad(struct gw_error *e, const char *field, const char *fmt, const char *arg)
{
        gw_error_set(e, 400, "invalid_argument", field, fmt, arg);
        e->err = CAIRN_ERR_INVALID;
        return false;
}

/* The body's object; an empty one for an empty body. NULL with @p e set. */
static json_t *load(const char *body, size_t len, int max_depth, struct gw_error *e)
{
        json_error_t jerr;
        json_t *root;

        if (!body || len == 0)
                return json_object();
        /* jansson skips NUL bytes where JSON allows none; the text of "data"
         * is copied raw (data_text), so refuse them as Vault does */
        if (memchr(body, '\0', len)) {
                gw_error_set(e, 400, "invalid_argument", NULL,
                             "error parsing JSON: invalid character '\\x00'");
                e->err = CAIRN_ERR_INVALID;
                return NULL;
        }
        if (gw_json_depth(body, len, max_depth) > max_depth) {
                gw_error_set(e, 400, "invalid_argument", NULL,
                             "error parsing JSON: nested deeper than %d levels", max_depth);
                e->err = CAIRN_ERR_INVALID;
                return NULL;
        }
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                gw_error_set(e, 400, "invalid_argument", NULL, "error parsing JSON: %s", jerr.text);
                e->err = CAIRN_ERR_INVALID;
                return NULL;
        }
        if (!json_is_object(root)) {
                bad(e, NULL, "error parsing JSON: the body must be an object, not %s",
                    cairn_json_kind(root));
                json_decref(root);
                return NULL;
        }
        return root;
}

/* An unsigned integer: a JSON integer, or a string of digits (Vault's
 * weakly typed fields take both). */
static bool uint_of(const json_t *v, uint64_t max, uint64_t *out)
{
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);

                if (i < 0 || (uint64_t)i > max)
                        return false;
                *out = (uint64_t)i;
                return true;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                char *end;
                unsigned long long u;

                if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
                        return false;
                errno = 0;
                u = strtoull(s, &end, 10);
                if (u > max || errno == ERANGE) /* 20 digits may be over UINT64_MAX */
                        return false;
                *out = u;
                return true;
        }
        return false;
}

static bool bool_of(const json_t *v, bool *out)
{
        if (json_is_boolean(v)) {
                *out = json_is_true(v);
                return true;
        }
        if (json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 ||
                                  strcmp(json_string_value(v), "false") == 0)) {
                *out = json_string_value(v)[0] == 't';
                return true;
        }
        return false;
}

/* A duration field: seconds as a number, or Vault's text. */
static bool duration_of(const json_t *v, const char *field, struct cairn_arena *arena,
                        Google__Protobuf__Duration **out, struct gw_error *e)
{
        int64_t secs;
        const char *why;

        if (json_is_integer(v)) {
                secs = (int64_t)json_integer_value(v);
        } else if (json_is_string(v)) {
                if (!gw_vault_duration_parse(json_string_value(v), &secs, &why)) {
                        char msg[200];

                        snprintf(msg, sizeof(msg), "%s: %s", field, why);
                        return bad(e, field, "%s", msg);
                }
        } else {
                return bad(e, field, "%s must be a duration such as \"3h25m19s\" or seconds",
                           field);
        }
        if (secs < 0)
                return bad(e, field, "%s must not be negative", field);
        *out = cairn_arena_alloc(arena, sizeof(**out));
        if (!*out)
                abort();
        google__protobuf__duration__init(*out);
        (*out)->seconds = secs;
        return true;
}

/* ---- the raw text of "data" ---- */

static const char *skip_ws(const char *p, const char *end)
{
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                p++;
        return p;
}

/* The end of the string token at @p p (after its closing quote). */
static const char *string_end(const char *p, const char *end)
{
        for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                        p++;
        return p < end ? p + 1 : end;
}

/* The end of the JSON value at @p p, in text jansson has accepted. */
static const char *value_end(const char *p, const char *end)
{
        int depth = 0;

        if (*p == '"')
                return string_end(p, end);
        if (*p != '{' && *p != '[') {
                while (p < end && !strchr(",}] \t\r\n", *p))
                        p++;
                return p;
        }
        while (p < end) {
                if (*p == '"') {
                        p = string_end(p, end);
                        continue;
                }
                if (*p == '{' || *p == '[')
                        depth++;
                else if ((*p == '}' || *p == ']') && --depth == 0)
                        return p + 1;
                p++;
        }
        return end;
}

/* Appends [p, q) without the whitespace between tokens. */
static void compact(struct cairn_buf *b, const char *p, const char *q)
{
        while (p < q) {
                const char *s = p;

                if (*p == '"') {
                        p = string_end(p, q);
                        cairn_buf_add(b, s, (size_t)(p - s));
                        continue;
                }
                while (p < q && *p != '"' && !strchr(" \t\r\n", *p))
                        p++;
                cairn_buf_add(b, s, (size_t)(p - s));
                p = skip_ws(p, q);
        }
}

/* Copies the top-level member "data" of @p body (an object jansson read,
 * duplicates refused) compactly into @p out. */
static bool data_text(const char *body, size_t len, struct cairn_buf *out)
{
        const char *p = body, *end = body + len;

        p = skip_ws(p, end);
        if (p == end || *p != '{')
                return false;
        p++;
        for (;;) {
                const char *key, *kend, *v, *vend;
                json_error_t jerr;
                json_t *name;
                bool is_data;

                p = skip_ws(p, end);
                if (p == end || *p != '"')
                        return false;
                key = p;
                kend = string_end(p, end);
                /* the key decoded, so "d\u0061ta" is data too */
                name = json_loadb(key, (size_t)(kend - key), JSON_DECODE_ANY, &jerr);
                is_data = name && json_is_string(name) &&
                          strcmp(json_string_value(name), "data") == 0;
                json_decref(name);
                p = skip_ws(kend, end);
                if (p == end || *p != ':')
                        return false;
                v = skip_ws(p + 1, end);
                vend = value_end(v, end);
                if (is_data) {
                        /* one allocation, so no copy is left behind to wipe */
                        out->max = 0;
                        cairn_buf_reserve(out, (size_t)(vend - v) + 1);
                        compact(out, v, vend);
                        return !out->oom;
                }
                p = skip_ws(vend, end);
                if (p < end && *p == ',')
                        p++;
                else
                        return false;
        }
}

bool gw_vault_parse_value(const char *body, size_t len, int max_depth, struct cairn_buf *plain,
                          struct cairn_arena *arena, Google__Protobuf__UInt64Value **cas,
                          struct gw_error *e)
{
        json_t *root = load(body, len, max_depth, e), *data, *options, *v;
        uint64_t n;
        bool ok = false;

        *cas = NULL;
        if (!root)
                return false;
        data = json_object_get(root, "data");
        if (!data || json_is_null(data)) {
                bad(e, "data", "%s", "no data provided");
                goto out;
        }
        if (!json_is_object(data)) {
                bad(e, "data", "data must be a JSON object, not %s", cairn_json_kind(data));
                goto out;
        }
        options = json_object_get(root, "options");
        if (options && !json_is_null(options) && !json_is_object(options)) {
                bad(e, "options", "options must be a JSON object, not %s",
                    cairn_json_kind(options));
                goto out;
        }
        v = options ? json_object_get(options, "cas") : NULL;
        if (v && !json_is_null(v)) {
                if (!uint_of(v, UINT64_MAX, &n)) {
                        bad(e, "options.cas", "%s",
                            "options.cas must be a version number (an integer, 0 or more)");
                        goto out;
                }
                *cas = cairn_arena_alloc(arena, sizeof(**cas));
                if (!*cas)
                        abort();
                google__protobuf__uint64_value__init(*cas);
                (*cas)->value = n;
        }
        if (!data_text(body, len, plain)) {
                bad(e, "data", "%s", "data could not be read");
                goto out;
        }
        ok = true;
out:
        json_decref(root);
        return ok;
}

/* One version number of a list. */
static bool version_of(const json_t *v, uint64_t *out)
{
        return json_is_integer(v) && json_integer_value(v) >= 0 &&
               (*out = (uint64_t)json_integer_value(v), true);
}

bool gw_vault_parse_versions(const char *body, size_t len, int max_depth, bool required,
                             struct cairn_arena *arena, uint64_t **versions, size_t *n,
                             struct gw_error *e)
{
        static const char *const msg = "versions must be a list of version numbers, such as [1, 2]";
        json_t *root = load(body, len, max_depth, e), *v;
        bool ok = false;

        *versions = NULL;
        *n = 0;
        if (!root)
                return false;
        v = json_object_get(root, "versions");
        if (json_is_array(v)) {
                size_t i;
                json_t *it;

                *versions = cairn_arena_calloc(arena, json_array_size(v) + 1, sizeof(uint64_t));
                if (!*versions)
                        abort();
                json_array_foreach(v, i, it) {
                        if (!version_of(it, &(*versions)[i])) {
                                bad(e, "versions", "%s", msg);
                                goto out;
                        }
                }
                *n = json_array_size(v);
        } else if (json_is_integer(v)) {
                *versions = cairn_arena_alloc(arena, sizeof(uint64_t));
                if (!*versions)
                        abort();
                if (!version_of(v, *versions)) {
                        bad(e, "versions", "%s", msg);
                        goto out;
                }
                *n = 1;
        } else if (json_is_string(v)) {
                /* "1,2": Vault's comma-separated form */
                const char *s = json_string_value(v);
                size_t cap = 1;

                for (const char *c = s; *c; c++)
                        cap += *c == ',';
                *versions = cairn_arena_calloc(arena, cap, sizeof(uint64_t));
                if (!*versions)
                        abort();
                while (*s) {
                        size_t dl = strspn(s, "0123456789");

                        if (dl == 0 || dl > 19 || (s[dl] && s[dl] != ',')) {
                                bad(e, "versions", "%s", msg);
                                goto out;
                        }
                        (*versions)[(*n)++] = strtoull(s, NULL, 10);
                        s += dl + (s[dl] == ',');
                }
        } else if (v && !json_is_null(v)) {
                bad(e, "versions", "%s", msg);
                goto out;
        }
        if (required && *n == 0) {
                bad(e, "versions", "%s", "no version number provided");
                goto out;
        }
        ok = true;
out:
        json_decref(root);
        return ok;
}

static bool max_versions_of(const json_t *root, struct cairn_arena *arena,
                            Google__Protobuf__UInt32Value **out, struct gw_error *e)
{
        const json_t *v = json_object_get(root, "max_versions");
        uint64_t n;

        if (!v || json_is_null(v))
                return true;
        if (!uint_of(v, UINT32_MAX, &n))
                return bad(e, "max_versions", "%s",
                           "max_versions must be an integer from 0 to 4294967295");
        *out = cairn_arena_alloc(arena, sizeof(**out));
        if (!*out)
                abort();
        google__protobuf__uint32_value__init(*out);
        (*out)->value = (uint32_t)n;
        return true;
}

static bool cas_required_of(const json_t *root, struct cairn_arena *arena,
                            Google__Protobuf__BoolValue **out, struct gw_error *e)
{
        const json_t *v = json_object_get(root, "cas_required");
        bool b;

        if (!v || json_is_null(v))
                return true;
        if (!bool_of(v, &b))
                return bad(e, "cas_required", "cas_required must be true or false, not %s",
                           cairn_json_kind(v));
        *out = cairn_arena_alloc(arena, sizeof(**out));
        if (!*out)
                abort();
        google__protobuf__bool_value__init(*out);
        (*out)->value = b;
        return true;
}

static bool optional_duration(const json_t *root, const char *field, struct cairn_arena *arena,
                              Google__Protobuf__Duration **out, struct gw_error *e)
{
        const json_t *v = json_object_get(root, field);

        if (!v || json_is_null(v))
                return true;
        return duration_of(v, field, arena, out, e);
}

static bool custom_metadata_of(const json_t *root, bool patch, struct cairn_arena *arena,
                               Cairn__Secrets__V1__WriteMetadataRequest *req, struct gw_error *e)
{
        const json_t *cm = json_object_get(root, "custom_metadata");
        size_t size;
        const char *key;
        json_t *v;

        if (!cm || (json_is_null(cm) && !patch))
                return true;
        if (!json_is_object(cm))
                return bad(e, "custom_metadata", "%s",
                           patch ? "custom_metadata must be an object of strings (null removes "
                                   "a key)"
                                 : "custom_metadata must be an object of strings");
        size = json_object_size(cm);
        req->custom_metadata = cairn_arena_calloc(arena, size + 1, sizeof(*req->custom_metadata));
        req->remove_custom_keys = cairn_arena_calloc(arena, size + 1, sizeof(char *));
        if (!req->custom_metadata || !req->remove_custom_keys)
                abort();
        json_object_foreach((json_t *)cm, key, v) {
                Cairn__Secrets__V1__WriteMetadataRequest__CustomMetadataEntry *ent;

                if (patch && json_is_null(v)) {
                        req->remove_custom_keys[req->n_remove_custom_keys++] =
                                cairn_arena_strdup(arena, key);
                        continue;
                }
                if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
                        char field[160];

                        snprintf(field, sizeof(field), "custom_metadata.%.128s", key);
                        return bad(e, field, "%s", "custom_metadata values must be strings");
                }
                ent = cairn_arena_alloc(arena, sizeof(*ent));
                if (!ent)
                        abort();
                cairn__secrets__v1__write_metadata_request__custom_metadata_entry__init(ent);
                ent->key = cairn_arena_strdup(arena, key);
                ent->value = cairn_arena_strdup(arena, json_string_value(v));
                if (!ent->key || !ent->value)
                        abort();
                req->custom_metadata[req->n_custom_metadata++] = ent;
        }
        req->custom_metadata_set = !patch;
        return true;
}

bool gw_vault_parse_metadata(const char *body, size_t len, int max_depth, bool patch,
                             struct cairn_arena *arena,
                             Cairn__Secrets__V1__WriteMetadataRequest *req, struct gw_error *e)
{
        json_t *root = load(body, len, max_depth, e);
        bool ok;

        if (!root)
                return false;
        ok = max_versions_of(root, arena, &req->max_versions, e) &&
             cas_required_of(root, arena, &req->cas_required, e) &&
             optional_duration(root, "delete_version_after", arena, &req->delete_version_after,
                               e) &&
             optional_duration(root, "rotate_after", arena, &req->rotate_after, e) &&
             custom_metadata_of(root, patch, arena, req, e);
        json_decref(root);
        return ok;
}

bool gw_vault_parse_config(const char *body, size_t len, int max_depth, struct cairn_arena *arena,
                           Cairn__Secrets__V1__SetConfigRequest *req, struct gw_error *e)
{
        json_t *root = load(body, len, max_depth, e);
        bool ok;

        if (!root)
                return false;
        ok = max_versions_of(root, arena, &req->max_versions, e) &&
             cas_required_of(root, arena, &req->cas_required, e) &&
             optional_duration(root, "delete_version_after", arena, &req->delete_version_after, e);
        json_decref(root);
        return ok;
}

bool gw_vault_parse_uint(const char *name, const char *value, uint64_t max, uint64_t *out,
                         struct gw_error *e)
{
        size_t n = value ? strlen(value) : 0;

        errno = 0;
        if (n == 0 || n > 20 || strspn(value, "0123456789") != n ||
            strtoull(value, NULL, 10) > max || errno == ERANGE) {
                char field[64];

                snprintf(field, sizeof(field), "%s", name);
                return bad(e, field, "%s must be a whole number", field);
        }
        *out = strtoull(value, NULL, 10);
        return true;
}

/* LibreTranslate's requests read into one struct whichever way they came:
 * the body's fields (a JSON object, or a form) and the query's, each field
 * looked up once, given at most once, and checked for its type, its
 * UTF-8 and its NULs before it is copied into the arena. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/json.h"
#include "cairn/utf8.h"
#include "libretranslate_parse.h"

#define JSON_TYPE       "application/json"
#define URLENCODED_TYPE "application/x-www-form-urlencoded"
#define MULTIPART_TYPE  "multipart/form-data"

/* Where a request's fields are: a JSON body's object (or NULL), and the
 * form's fields with the query's. */
struct fields {
        json_t *root;
        struct gw_form form;
};

static bool media_is(const char *ct, const char *want)
{
        size_t wlen = strlen(want);

        while (*ct == ' ' || *ct == '\t')
                ct++;
        return strcspn(ct, "; \t") == wlen && strncasecmp(ct, want, wlen) == 0;
}

static void invalid(struct gw_error *e, const char *param, const char *msg)
{
        gw_error_set(e, 400, "invalid_argument", param, "%s", msg);
        e->err = CAIRN_ERR_INVALID;
}

static void missing(struct gw_error *e, const char *name)
{
        gw_error_set(e, 400, "missing_parameter", name, "Invalid request: missing %s parameter",
                     name);
        e->err = CAIRN_ERR_INVALID;
}

static char *copy(struct cairn_arena *arena, const char *s, size_t n, struct gw_error *e)
{
        char *p = cairn_arena_alloc(arena, n + 1);

        if (!p) {
                invalid(e, NULL, "the request is too large to read");
                return NULL;
        }
        memcpy(p, s, n);
        p[n] = '\0';
        return p;
}

/* Field @p name: its JSON value (*@p jv; null counts as absent) or its
 * form field (*@p fv); neither when it was not sent. A field sent twice
 * (twice in a form, or in the body and the query) is refused. */
static bool field(const struct fields *f, const char *name, json_t **jv,
                  const struct gw_form_field **fv, struct gw_error *e)
{
        size_t count = 0;

        *jv = f->root ? json_object_get(f->root, name) : NULL;
        if (*jv && json_is_null(*jv))
                *jv = NULL;
        *fv = gw_form_get(&f->form, name, &count);
        if (count > 1 || (count && *jv)) {
                gw_error_set(e, 400, "invalid_argument", name, "%s is given more than once", name);
                e->err = CAIRN_ERR_INVALID;
                return false;
        }
        return true;
}

/* A form value as text: no NUL, valid UTF-8; CRLF read as LF when @p crlf
 * (browsers send a text area's line breaks so). */
static const char *form_text(const struct gw_form_field *fv, const char *name, bool crlf,
                             struct cairn_arena *arena, struct gw_error *e)
{
        char msg[96];
        char *s;
        size_t o = 0;

        if (strlen(fv->value) != fv->value_len) {
                snprintf(msg, sizeof(msg), "%s must not contain NUL characters", name);
                invalid(e, name, msg);
                return NULL;
        }
        if (!cairn_utf8_valid(fv->value, fv->value_len)) {
                snprintf(msg, sizeof(msg), "%s is not valid UTF-8", name);
                invalid(e, name, msg);
                return NULL;
        }
        s = copy(arena, fv->value, fv->value_len, e);
        if (!s || !crlf)
                return s;
        for (size_t i = 0; i < fv->value_len; i++)
                if (!(s[i] == '\r' && s[i + 1] == '\n'))
                        s[o++] = s[i];
        s[o] = '\0';
        return s;
}

/* A JSON string as text (jansson has checked its UTF-8): no NUL. */
static const char *json_text(json_t *v, const char *name, struct cairn_arena *arena,
                             struct gw_error *e)
{
        const char *s = json_string_value(v);
        char msg[96];

        if (strlen(s) != json_string_length(v)) {
                snprintf(msg, sizeof(msg), "%s must not contain NUL characters", name);
                invalid(e, name, msg);
                return NULL;
        }
        return copy(arena, s, json_string_length(v), e);
}

/* A string field: *@p out NULL when not sent. */
static bool string_field(const struct fields *f, const char *name, struct cairn_arena *arena,
                         const char **out, struct gw_error *e)
{
        const struct gw_form_field *fv;
        json_t *jv;
        char msg[96];

        *out = NULL;
        if (!field(f, name, &jv, &fv, e))
                return false;
        if (fv) {
                *out = form_text(fv, name, false, arena, e);
                return *out != NULL;
        }
        if (!jv)
                return true;
        if (!json_is_string(jv)) {
                snprintf(msg, sizeof(msg), "%s must be a string, not %s", name,
                         cairn_json_kind(jv));
                invalid(e, name, msg);
                return false;
        }
        *out = json_text(jv, name, arena, e);
        return *out != NULL;
}

static bool read_key(const struct fields *f, struct cairn_arena *arena, struct gw_lt_request *req,
                     struct gw_error *e)
{
        if (!string_field(f, "api_key", arena, &req->api_key, e))
                return false;
        if (req->api_key && strlen(req->api_key) > GW_LT_KEY_MAX) {
                char msg[64];

                snprintf(msg, sizeof(msg), "api_key is longer than %d bytes", GW_LT_KEY_MAX);
                invalid(e, "api_key", msg);
                return false;
        }
        if (req->api_key && !req->api_key[0])
                req->api_key = NULL; /* as LibreTranslate: an empty key is none */
        return true;
}

/* q as an array of strings. */
static bool read_q_array(json_t *jv, struct cairn_arena *arena, struct gw_lt_request *req,
                         struct gw_error *e)
{
        size_t n = json_array_size(jv), i;
        char msg[128], name[32];
        json_t *it;

        if (n == 0) {
                gw_error_set(e, 400, "missing_parameter", "q",
                             "Invalid request: missing q parameter (q is an empty array)");
                e->err = CAIRN_ERR_INVALID;
                return false;
        }
        if (n > GW_LT_MAX_TEXTS) {
                gw_error_set(e, 400, "invalid_argument", "q",
                             "Invalid request: request (%zu) exceeds text limit (%d): q holds at "
                             "most %d texts",
                             n, GW_LT_MAX_TEXTS, GW_LT_MAX_TEXTS);
                e->err = CAIRN_ERR_INVALID;
                return false;
        }
        req->q = cairn_arena_calloc(arena, n, sizeof(*req->q));
        if (!req->q) {
                invalid(e, NULL, "the request is too large to read");
                return false;
        }
        json_array_foreach(jv, i, it) {
                snprintf(name, sizeof(name), "q[%zu]", i);
                if (!json_is_string(it)) {
                        snprintf(msg, sizeof(msg), "%s must be a string, not %s", name,
                                 cairn_json_kind(it));
                        invalid(e, name, msg);
                        return false;
                }
                if (json_string_length(it) == 0) {
                        snprintf(msg, sizeof(msg), "%s must not be empty", name);
                        invalid(e, name, msg);
                        return false;
                }
                req->q[i] = json_text(it, name, arena, e);
                if (!req->q[i])
                        return false;
        }
        req->nq = n;
        req->q_array = true;
        return true;
}

static bool read_q(const struct fields *f, struct cairn_arena *arena, struct gw_lt_request *req,
                   struct gw_error *e)
{
        const struct gw_form_field *fv;
        const char *text;
        json_t *jv;
        char msg[96];

        if (!field(f, "q", &jv, &fv, e))
                return false;
        if ((!jv && !fv) || (fv && fv->value_len == 0) ||
            (jv && json_is_string(jv) && json_string_length(jv) == 0)) {
                missing(e, "q");
                return false;
        }
        if (jv && json_is_array(jv))
                return read_q_array(jv, arena, req, e);
        if (jv && !json_is_string(jv)) {
                snprintf(msg, sizeof(msg), "q must be a string or an array of strings, not %s",
                         cairn_json_kind(jv));
                invalid(e, "q", msg);
                return false;
        }
        text = fv ? form_text(fv, "q", true, arena, e) : json_text(jv, "q", arena, e);
        if (!text)
                return false;
        req->q = cairn_arena_calloc(arena, 1, sizeof(*req->q));
        if (!req->q) {
                invalid(e, NULL, "the request is too large to read");
                return false;
        }
        req->q[0] = text;
        req->nq = 1;
        return true;
}

static bool code_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > GW_LT_CODE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
                        return false;
        return true;
}

/* source or target: required, a language code (source may be "auto"). */
static bool read_code(const struct fields *f, const char *name, bool auto_ok,
                      struct cairn_arena *arena, const char **out, struct gw_error *e)
{
        char msg[160];

        if (!string_field(f, name, arena, out, e))
                return false;
        if (!*out || !(*out)[0]) {
                missing(e, name);
                return false;
        }
        if (!code_valid(*out) || (!auto_ok && strcmp(*out, "auto") == 0)) {
                snprintf(msg, sizeof(msg),
                         "%s must be a language code (1 to %d letters, digits, '-' or '_', as "
                         "GET /languages lists them)%s",
                         name, GW_LT_CODE_MAX, auto_ok ? ", or auto" : "");
                invalid(e, name, msg);
                return false;
        }
        return true;
}

static bool read_format(const struct fields *f, struct cairn_arena *arena,
                        struct gw_lt_request *req, struct gw_error *e)
{
        const char *format;

        if (!string_field(f, "format", arena, &format, e))
                return false;
        if (!format || !format[0] || strcmp(format, "text") == 0)
                return true;
        if (strcmp(format, "html") == 0) {
                req->html = true;
                return true;
        }
        invalid(e, "format", "format must be \"text\" or \"html\"");
        return false;
}

/* alternatives: an integer (LibreTranslate takes digits in a string too). */
static bool read_alternatives(const struct fields *f, struct gw_lt_request *req, struct gw_error *e)
{
        const struct gw_form_field *fv;
        const char *digits = NULL;
        long long v = -1;
        char msg[96];
        json_t *jv;

        if (!field(f, "alternatives", &jv, &fv, e))
                return false;
        if (!jv && !fv)
                return true;
        if (jv && json_is_integer(jv))
                v = json_integer_value(jv);
        else if (jv && json_is_string(jv))
                digits = json_string_value(jv);
        else if (fv)
                digits = fv->value;
        /* a short run of digits: nothing to overflow */
        if (digits && digits[0] && strlen(digits) <= 2 &&
            strspn(digits, "0123456789") == strlen(digits))
                v = atoll(digits);
        if (v < 0 || v > GW_LT_MAX_ALTERNATIVES) {
                snprintf(msg, sizeof(msg), "alternatives must be an integer from 0 to %d",
                         GW_LT_MAX_ALTERNATIVES);
                invalid(e, "alternatives", msg);
                return false;
        }
        req->alternatives = (uint32_t)v;
        return true;
}

static bool read_fields(enum gw_lt_op op, const struct fields *f, struct cairn_arena *arena,
                        struct gw_lt_request *req, struct gw_error *e)
{
        if (!read_key(f, arena, req, e))
                return false;
        if (op == GW_LT_LANGUAGES)
                return true;
        if (!read_q(f, arena, req, e))
                return false;
        if (op == GW_LT_DETECT)
                return true;
        return read_code(f, "source", true, arena, &req->source, e) &&
               read_code(f, "target", false, arena, &req->target, e) &&
               read_format(f, arena, req, e) && read_alternatives(f, req, e);
}

static void unsupported_media(struct gw_error *e)
{
        gw_error_set(e, 415, "unsupported_media_type", NULL,
                     "send the body as Content-Type: " JSON_TYPE " or " URLENCODED_TYPE
                     " or " MULTIPART_TYPE);
        e->err = CAIRN_ERR_INVALID;
}

/* The body's fields into @p f: a JSON object, or form fields. */
static bool read_body(const char *ct, const char *body, size_t len, int max_depth,
                      struct cairn_arena *arena, struct fields *f, struct gw_error *e)
{
        char why[160], boundary[GW_FORM_BOUNDARY_MAX + 1];
        json_error_t jerr;

        if (!ct) {
                unsupported_media(e);
                return false;
        }
        if (media_is(ct, JSON_TYPE)) {
                /* jansson would skip one between tokens */
                if (memchr(body, '\0', len)) {
                        invalid(e, NULL, "Invalid JSON format: the body holds a NUL byte");
                        return false;
                }
                if (gw_json_depth(body, len, max_depth) > max_depth) {
                        gw_error_set(e, 400, "invalid_json", NULL,
                                     "Invalid JSON format: the body nests deeper than %d levels",
                                     max_depth);
                        e->err = CAIRN_ERR_INVALID;
                        return false;
                }
                f->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
                if (!f->root) {
                        gw_error_set(e, 400, "invalid_json", NULL,
                                     "Invalid JSON format: %s (line %d, column %d)", jerr.text,
                                     jerr.line, jerr.column);
                        e->err = CAIRN_ERR_INVALID;
                        return false;
                }
                if (!json_is_object(f->root)) {
                        gw_error_set(e, 400, "invalid_json", NULL,
                                     "Invalid JSON format: the body must be a JSON object, not %s",
                                     cairn_json_kind(f->root));
                        e->err = CAIRN_ERR_INVALID;
                        return false;
                }
                return true;
        }
        if (media_is(ct, URLENCODED_TYPE)) {
                if (gw_form_urlencoded(body, len, GW_LT_MAX_FIELDS, arena, &f->form, why,
                                       sizeof(why)))
                        return true;
        } else if (media_is(ct, MULTIPART_TYPE)) {
                if (!gw_form_boundary(ct, boundary)) {
                        invalid(e, NULL,
                                "Content-Type multipart/form-data needs a boundary parameter of "
                                "1 to 70 characters");
                        return false;
                }
                if (gw_form_multipart(boundary, body, len, GW_LT_MAX_FIELDS, arena, &f->form, why,
                                      sizeof(why)))
                        return true;
        } else {
                unsupported_media(e);
                return false;
        }
        gw_error_set(e, 400, "invalid_form", NULL, "the form cannot be read: %s", why);
        e->err = CAIRN_ERR_INVALID;
        return false;
}

bool gw_lt_parse(enum gw_lt_op op, const char *content_type, const char *body, size_t len,
                 const struct gw_form *query, int max_depth, struct cairn_arena *arena,
                 struct gw_lt_request *req, struct gw_error *e)
{
        struct fields f = { 0 };
        char why[160];
        bool ok;

        memset(req, 0, sizeof(*req));
        for (size_t i = 0; query && i < query->n; i++)
                if (!gw_form_add(&f.form, query->fields[i].name, query->fields[i].value,
                                 query->fields[i].value_len, GW_LT_MAX_FIELDS, arena, why,
                                 sizeof(why))) {
                        gw_error_set(e, 400, "invalid_form", NULL,
                                     "the query string cannot be read: %s", why);
                        e->err = CAIRN_ERR_INVALID;
                        return false;
                }
        if (len > 0 && !read_body(content_type, body, len, max_depth, arena, &f, e)) {
                json_decref(f.root);
                return false;
        }
        ok = read_fields(op, &f, arena, req, e);
        json_decref(f.root);
        return ok;
}

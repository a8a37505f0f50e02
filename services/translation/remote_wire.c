/* LibreTranslate on the wire: building the request body and taking apart
 * what the server answers, trusting none of it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/json.h"
#include "cairn/utf8.h"
#include "remote_wire.h"

#define BAD "UPSTREAM_BAD_RESPONSE"

bool tr_wire_code_valid(const char *code)
{
        size_t len = strlen(code);

        if (len == 0 || len >= TR_REMOTE_LANG_MAX)
                return false;
        for (const char *p = code; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                        return false;
        return true;
}

char *tr_wire_translate_body(const struct tr_wire_request *wr, size_t *len)
{
        json_t *root = json_object();
        json_t *q = NULL;
        char *body = NULL;

        if (!root)
                return NULL;
        if (wr->n == 1) {
                q = json_string(wr->texts[0]);
        } else {
                q = json_array();
                for (size_t i = 0; q && i < wr->n; i++) {
                        json_t *s = json_string(wr->texts[i]);

                        if (!s || json_array_append_new(q, s) != 0) {
                                json_decref(q);
                                q = NULL;
                        }
                }
        }
        if (!q || json_object_set_new(root, "q", q) != 0 ||
            json_object_set_new(root, "source", json_string(wr->source)) != 0 ||
            json_object_set_new(root, "target", json_string(wr->target)) != 0 ||
            json_object_set_new(root, "format", json_string(wr->html ? "html" : "text")) != 0)
                goto out;
        if (wr->api_key && wr->api_key[0] &&
            json_object_set_new(root, "api_key", json_string(wr->api_key)) != 0)
                goto out;
        body = json_dumps(root, JSON_COMPACT);
        if (body)
                *len = strlen(body);
out:
        /* the tree held the key too */
        cairn_json_wipe(root);
        json_decref(root);
        return body;
}

static void free_out(char **out, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(out[i]);
                out[i] = NULL;
        }
}

/* Copies translation @p v (translatedText, or its element @p i when
 * @p indexed) into *@p dst. */
static cairn_err_t take_text(json_t *v, bool indexed, size_t i, size_t max_bytes, char **dst,
                             struct cairn_status *st)
{
        char where[48];
        const char *s;
        size_t len;

        if (indexed)
                snprintf(where, sizeof(where), "translatedText[%zu]", i);
        else
                snprintf(where, sizeof(where), "translatedText");
        if (!json_is_string(v))
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider response: %s is %s, not a string", where,
                                        cairn_json_kind(v));
        s = json_string_value(v);
        len = json_string_length(v);
        if (memchr(s, '\0', len))
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider response: %s holds a NUL character", where);
        if (max_bytes && len > max_bytes)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider response: %s is %zu bytes, more than the %zu "
                                        "a translation may have",
                                        where, len, max_bytes);
        /* jansson checked the UTF-8 while parsing; this costs little */
        if (!cairn_utf8_valid(s, len))
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider response: %s is not UTF-8", where);
        *dst = strndup(s, len);
        if (!*dst)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory reading a provider response");
        return CAIRN_OK;
}

cairn_err_t tr_wire_translate_parse(const char *body, size_t len, size_t n, size_t max_bytes,
                                    char **out, struct cairn_status *st)
{
        json_error_t jerr;
        json_t *root, *tt;
        cairn_err_t err = CAIRN_OK;

        for (size_t i = 0; i < n; i++)
                out[i] = NULL;
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider response is not JSON: %s (line %d)", jerr.text,
                                        jerr.line);
        if (!json_is_object(root)) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                       "provider response is %s, not an object",
                                       cairn_json_kind(root));
                goto out;
        }
        tt = json_object_get(root, "translatedText");
        if (!tt) {
                json_t *e = json_object_get(root, "error");

                if (json_is_string(e))
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider response has no \"translatedText\", "
                                               "only an error: %.200s",
                                               json_string_value(e));
                else
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider response has no \"translatedText\"");
                goto out;
        }
        if (json_is_array(tt)) {
                if (json_array_size(tt) != n) {
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider answered %zu translations for %zu "
                                               "texts",
                                               json_array_size(tt), n);
                        goto out;
                }
                for (size_t i = 0; i < n && !err; i++)
                        err = take_text(json_array_get(tt, i), true, i, max_bytes, &out[i], st);
        } else if (n == 1) {
                err = take_text(tt, false, 0, max_bytes, &out[0], st);
        } else {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                       "provider response: translatedText is %s, not an array "
                                       "of %zu translations",
                                       cairn_json_kind(tt), n);
        }
out:
        if (err)
                free_out(out, n);
        json_decref(root);
        return err;
}

/* ---- GET /languages ---- */

/* The languages as read, before they become pairs. */
struct lang {
        char code[TR_REMOTE_LANG_MAX];
        json_t *targets; /* borrowed from the parsed tree; NULL: every other language */
};

static int pair_cmp(const void *a, const void *b)
{
        const struct tr_remote_pair *x = a, *y = b;
        int c = strcmp(x->source, y->source);

        return c ? c : strcmp(x->target, y->target);
}

/* Copies the code @p v into @p out, or says what is wrong with it. */
static cairn_err_t read_code(json_t *v, const char *where, char out[TR_REMOTE_LANG_MAX],
                             struct cairn_status *st)
{
        if (!v)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider languages: %s is missing", where);
        if (!json_is_string(v))
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider languages: %s is %s, not a language code", where,
                                        cairn_json_kind(v));
        if (json_string_length(v) >= TR_REMOTE_LANG_MAX ||
            strlen(json_string_value(v)) != json_string_length(v) ||
            !tr_wire_code_valid(json_string_value(v)))
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider languages: %s is not a language code (1 to %d "
                                        "letters, digits, '-' or '_')",
                                        where, TR_REMOTE_LANG_MAX - 1);
        snprintf(out, TR_REMOTE_LANG_MAX, "%s", json_string_value(v));
        return CAIRN_OK;
}

/* Pairs as they are found, growing up to TR_REMOTE_PAIRS_MAX. */
struct pair_list {
        struct tr_remote_pair *p;
        size_t n, cap;
};

static cairn_err_t add_pair(struct pair_list *l, const char *source, const char *target,
                            struct cairn_status *st)
{
        if (strcmp(source, target) == 0)
                return CAIRN_OK;
        if (l->n >= TR_REMOTE_PAIRS_MAX)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider languages: more than %d pairs",
                                        TR_REMOTE_PAIRS_MAX);
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                struct tr_remote_pair *p = realloc(l->p, cap * sizeof(*p));

                if (!p)
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of memory reading provider languages");
                l->p = p;
                l->cap = cap;
        }
        snprintf(l->p[l->n].source, sizeof(l->p[l->n].source), "%s", source);
        snprintf(l->p[l->n].target, sizeof(l->p[l->n].target), "%s", target);
        l->n++;
        return CAIRN_OK;
}

cairn_err_t tr_wire_languages_parse(const char *body, size_t len, struct tr_remote_pair **pairs,
                                    size_t *n, struct cairn_status *st)
{
        struct pair_list out = { 0 };
        struct lang *langs = NULL;
        size_t nlangs;
        json_error_t jerr;
        json_t *root;
        cairn_err_t err = CAIRN_OK;
        char where[64];

        *pairs = NULL;
        *n = 0;
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider languages are not JSON: %s (line %d)", jerr.text,
                                        jerr.line);
        if (!json_is_array(root)) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                       "provider languages are %s, not an array",
                                       cairn_json_kind(root));
                goto out;
        }
        nlangs = json_array_size(root);
        if (nlangs > TR_REMOTE_LANGS_MAX) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                       "provider languages: %zu languages, more than %d", nlangs,
                                       TR_REMOTE_LANGS_MAX);
                goto out;
        }
        langs = calloc(nlangs ? nlangs : 1, sizeof(*langs));
        if (!langs) {
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                       "out of memory reading provider languages");
                goto out;
        }
        for (size_t i = 0; i < nlangs && !err; i++) {
                json_t *l = json_array_get(root, i);

                if (!json_is_object(l)) {
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider languages: languages[%zu] is %s, not "
                                               "an object",
                                               i, cairn_json_kind(l));
                        break;
                }
                snprintf(where, sizeof(where), "languages[%zu].code", i);
                err = read_code(json_object_get(l, "code"), where, langs[i].code, st);
                langs[i].targets = json_object_get(l, "targets");
                if (!err && langs[i].targets && !json_is_array(langs[i].targets))
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider languages: languages[%zu].targets is "
                                               "%s, not an array",
                                               i, cairn_json_kind(langs[i].targets));
        }
        for (size_t i = 0; i < nlangs && !err; i++) {
                if (!langs[i].targets) {
                        for (size_t j = 0; j < nlangs && !err; j++)
                                err = add_pair(&out, langs[i].code, langs[j].code, st);
                        continue;
                }
                for (size_t j = 0; j < json_array_size(langs[i].targets) && !err; j++) {
                        char target[TR_REMOTE_LANG_MAX];

                        snprintf(where, sizeof(where), "languages[%zu].targets[%zu]", i, j);
                        err = read_code(json_array_get(langs[i].targets, j), where, target, st);
                        if (!err)
                                err = add_pair(&out, langs[i].code, target, st);
                }
        }
        if (err)
                goto out;
        if (out.n)
                qsort(out.p, out.n, sizeof(*out.p), pair_cmp);
        for (size_t i = 0; i < out.n; i++)
                if (*n == 0 || pair_cmp(&out.p[*n - 1], &out.p[i]) != 0)
                        out.p[(*n)++] = out.p[i];
        *pairs = out.p;
        out.p = NULL;
out:
        free(out.p);
        free(langs);
        json_decref(root);
        return err;
}

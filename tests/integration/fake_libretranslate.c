/* The fake LibreTranslate server of the tests: its wire format over real
 * HTTP, with faults on command. */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_http.h"
#include "fake_libretranslate.h"

#define BODY_MAX (8 << 20)

struct fake_libretranslate {
        struct fake_http *http;
        pthread_mutex_t lock;
        struct fake_libretranslate_mode mode;
        struct fake_http_faults faults;
        unsigned translate_calls, language_calls, texts, aborted;
        char last_api_key[256], last_format[32], last_source[32], last_target[32];
        bool last_q_array;
};

/* ---- languages and translations ---- */

static const struct {
        const char *code, *name;
} languages[] = {
        { "en", "English" },
        { "de", "German" },
        { "fr", "French" },
        { "es", "Spanish" },
        { "zh-Hans", "Chinese (Simplified)" },
};
#define NLANG (sizeof(languages) / sizeof(languages[0]))

/* Whether the fake translates @p source -> @p target: English and any
 * other (with old_languages: any two). */
static bool pair_offered(const char *source, const char *target, bool any)
{
        if (strcmp(source, target) == 0)
                return false;
        return any || strcmp(source, "en") == 0 || strcmp(target, "en") == 0;
}

static const char *lang_name(const char *code)
{
        for (size_t i = 0; i < NLANG; i++)
                if (strcmp(languages[i].code, code) == 0)
                        return languages[i].name;
        return NULL;
}

/* en -> xx words; xx -> en reads the table backwards. */
static const struct {
        const char *target, *en, *word;
} words[] = {
        { "de", "hello", "hallo" },
        { "de", "world", "Welt" },
        { "de", "the", "die" },
        { "de", "cat", "Katze" },
        { "de", "house", "Haus" },
        { "de", "good", "gut" },
        { "fr", "hello", "bonjour" },
        { "fr", "world", "monde" },
        { "fr", "cat", "chat" },
        { "es", "hello", "hola" },
        { "es", "world", "mundo" },
        { "es", "cat", "gato" },
        { "zh-Hans", "hello", "\xe4\xbd\xa0\xe5\xa5\xbd" },
};

static const char *word_for(const char *source, const char *target, const char *w, size_t len)
{
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                const char *from, *to;

                if (strcmp(source, "en") == 0 && strcmp(target, words[i].target) == 0) {
                        from = words[i].en;
                        to = words[i].word;
                } else if (strcmp(target, "en") == 0 && strcmp(source, words[i].target) == 0) {
                        from = words[i].word;
                        to = words[i].en;
                } else {
                        continue;
                }
                if (strlen(from) == len && strncasecmp(from, w, len) == 0)
                        return to;
        }
        return NULL;
}

char *fake_libretranslate_translation(const char *source, const char *target, const char *text)
{
        size_t cap = strlen(text) * 4 + 16, len = 0;
        char *out = malloc(cap);
        const char *p = text;

        ck_assert_ptr_nonnull(out);
        while (*p) {
                size_t n = strcspn(p, " \t\n.,!?<>");
                const char *w = n ? word_for(source, target, p, n) : NULL;
                size_t wl = w ? strlen(w) : n;

                if (len + wl + 2 > cap) {
                        char *grown;

                        cap = (len + wl + 2) * 2;
                        grown = realloc(out, cap);
                        ck_assert_ptr_nonnull(grown);
                        out = grown;
                }
                memcpy(out + len, w ? w : p, wl);
                len += wl;
                p += n;
                if (*p)
                        out[len++] = *p++;
        }
        out[len] = '\0';
        return out;
}

/* ---- HTTP ---- */

static enum MHD_Result respond(struct MHD_Connection *c, int status, const char *body,
                               const char *retry_after)
{
        return fake_http_respond_json(c, status, body, retry_after);
}

/* {"error": @p msg} with @p status, as LibreTranslate answers its errors. */
static enum MHD_Result respond_error(struct MHD_Connection *c, int status, const char *msg,
                                     const char *retry_after)
{
        json_t *e = json_pack("{s:s}", "error", msg);
        char *body = json_dumps(e, JSON_COMPACT);
        enum MHD_Result ret = respond(c, status, body, retry_after);

        free(body);
        json_decref(e);
        return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, json_t *v)
{
        char *body = json_dumps(v, JSON_COMPACT);
        enum MHD_Result ret = respond(c, 200, body, NULL);

        free(body);
        json_decref(v);
        return ret;
}

static enum MHD_Result languages_answer(struct fake_libretranslate *f, struct MHD_Connection *c)
{
        json_t *list = json_array();
        int status;
        bool old;

        pthread_mutex_lock(&f->lock);
        f->language_calls++;
        status = f->mode.languages_status;
        old = f->mode.old_languages;
        pthread_mutex_unlock(&f->lock);
        if (status && status != 200) {
                json_decref(list);
                return respond_error(c, status, "languages are not available", NULL);
        }
        for (size_t i = 0; i < NLANG; i++) {
                json_t *l = json_pack("{s:s,s:s}", "code", languages[i].code, "name",
                                      languages[i].name);
                json_t *targets = json_array();

                for (size_t j = 0; j < NLANG; j++)
                        if (pair_offered(languages[i].code, languages[j].code, false))
                                json_array_append_new(targets, json_string(languages[j].code));
                if (old)
                        json_decref(targets);
                else
                        json_object_set_new(l, "targets", targets);
                json_array_append_new(list, l);
        }
        return respond_json(c, list);
}

/* The checks LibreTranslate makes, in its order, with its messages. */
static const char *request_error(json_t *root, bool any_pair, char *buf, size_t size)
{
        json_t *q = json_object_get(root, "q");
        const char *source = json_string_value(json_object_get(root, "source"));
        const char *target = json_string_value(json_object_get(root, "target"));
        const char *format = json_string_value(json_object_get(root, "format"));

        if (!q || (json_is_string(q) && !json_string_length(q)) ||
            (json_is_array(q) && !json_array_size(q)))
                return "Invalid request: missing q parameter";
        if (!source || !source[0])
                return "Invalid request: missing source parameter";
        if (!target || !target[0])
                return "Invalid request: missing target parameter";
        if (strcmp(source, "auto") != 0 && !lang_name(source)) {
                snprintf(buf, size, "%s is not supported", source);
                return buf;
        }
        if (!lang_name(target)) {
                snprintf(buf, size, "%s is not supported", target);
                return buf;
        }
        if (format && strcmp(format, "text") != 0 && strcmp(format, "html") != 0) {
                snprintf(buf, size, "%s format is not supported", format);
                return buf;
        }
        if (strcmp(source, "auto") != 0 && !pair_offered(source, target, any_pair)) {
                snprintf(buf, size, "%s (%s) is not available as a target language from %s (%s)",
                         lang_name(target), target, lang_name(source), source);
                return buf;
        }
        if (!json_is_string(q) && !json_is_array(q))
                return "Invalid request: missing q parameter";
        for (size_t i = 0; json_is_array(q) && i < json_array_size(q); i++)
                if (!json_is_string(json_array_get(q, i)))
                        return "Invalid request: q must hold strings";
        return NULL;
}

static enum MHD_Result translate_answer(struct fake_libretranslate *f, struct MHD_Connection *c,
                                        const struct fake_http_request *req)
{
        struct fake_libretranslate_mode mode;
        struct fake_http_fault_copy fc;
        char buf[256];
        const char *why, *source, *target, *given;
        bool fail = false;
        json_t *root, *q, *out;
        size_t n;

        pthread_mutex_lock(&f->lock);
        f->translate_calls++;
        mode = f->mode;
        fake_http_faults_copy(&f->faults, &fc);
        if (mode.fail_status && mode.fail_count != 0) {
                fail = true;
                if (f->mode.fail_count > 0)
                        f->mode.fail_count--;
        }
        pthread_mutex_unlock(&f->lock);

        root = req->too_big ? NULL : json_loadb(req->body, req->len, 0, NULL);
        if (!json_is_object(root)) {
                json_decref(root);
                return respond_error(c, 400, "Invalid JSON format", NULL);
        }
        given = json_string_value(json_object_get(root, "api_key"));
        q = json_object_get(root, "q");
        pthread_mutex_lock(&f->lock);
        snprintf(f->last_api_key, sizeof(f->last_api_key), "%s", given ? given : "");
        snprintf(f->last_format, sizeof(f->last_format), "%s",
                 json_string_value(json_object_get(root, "format")) ?: "");
        snprintf(f->last_source, sizeof(f->last_source), "%s",
                 json_string_value(json_object_get(root, "source")) ?: "");
        snprintf(f->last_target, sizeof(f->last_target), "%s",
                 json_string_value(json_object_get(root, "target")) ?: "");
        f->last_q_array = json_is_array(q);
        pthread_mutex_unlock(&f->lock);

        /* the key first, as LibreTranslate's access check comes first */
        if (fc.key[0] && given && given[0] && strcmp(given, fc.key) != 0) {
                json_decref(root);
                return respond_error(c, 403, "Invalid API key", NULL);
        }
        if (fc.key[0] && (!given || !given[0])) {
                json_decref(root);
                return respond_error(c, 400, "Please contact the server operator to get an API key",
                                     NULL);
        }
        if (!fake_http_wait(c, mode.delay_ms)) {
                pthread_mutex_lock(&f->lock);
                f->aborted++;
                pthread_mutex_unlock(&f->lock);
                json_decref(root);
                return MHD_NO;
        }
        if (fail) {
                json_decref(root);
                if (mode.fail_status == 429) {
                        snprintf(buf, sizeof(buf), "Slowdown: %.199s", fc.error);
                        return respond_error(c, 429, buf,
                                             fc.retry_after[0] ? fc.retry_after : NULL);
                }
                return respond_error(c, mode.fail_status, fc.error,
                                     fc.retry_after[0] ? fc.retry_after : NULL);
        }
        why = request_error(root, mode.old_languages, buf, sizeof(buf));
        if (why) {
                enum MHD_Result ret = respond_error(c, 400, why, NULL);

                json_decref(root);
                return ret;
        }
        if (mode.malformed) {
                json_decref(root);
                return respond(c, 200, "{\"translatedText\": [\"Hallo", NULL);
        }
        source = json_string_value(json_object_get(root, "source"));
        target = json_string_value(json_object_get(root, "target"));
        if (strcmp(source, "auto") == 0)
                source = "en"; /* the fake's detector knows one language */
        n = json_is_array(q) ? json_array_size(q) : 1;
        out = json_object();
        if (json_is_array(q)) {
                json_t *arr = json_array(), *det = json_array();

                for (size_t i = 0; i < n - (mode.short_answer ? 1 : 0); i++) {
                        char *t = fake_libretranslate_translation(source, target,
                                                                  json_string_value(
                                                                          json_array_get(q, i)));

                        json_array_append_new(arr, json_string(t));
                        json_array_append_new(det, json_pack("{s:i,s:s}", "confidence", 90,
                                                             "language", source));
                        free(t);
                }
                json_object_set_new(out, "translatedText", arr);
                if (strcmp(json_string_value(json_object_get(root, "source")), "auto") == 0)
                        json_object_set_new(out, "detectedLanguage", det);
                else
                        json_decref(det);
        } else if (mode.short_answer) {
                json_object_set_new(out, "translatedText", json_array());
        } else {
                char *t = fake_libretranslate_translation(source, target, json_string_value(q));

                json_object_set_new(out, "translatedText", json_string(t));
                if (strcmp(json_string_value(json_object_get(root, "source")), "auto") == 0)
                        json_object_set_new(out, "detectedLanguage",
                                            json_pack("{s:i,s:s}", "confidence", 90, "language",
                                                      source));
                free(t);
        }
        pthread_mutex_lock(&f->lock);
        f->texts += (unsigned)n;
        pthread_mutex_unlock(&f->lock);
        json_decref(root);
        return respond_json(c, out);
}

static enum MHD_Result on_request(void *opaque, const struct fake_http_request *req)
{
        struct fake_libretranslate *f = opaque;

        if (strcmp(req->method, "GET") == 0 && strcmp(req->url, "/languages") == 0)
                return languages_answer(f, req->c);
        if (strcmp(req->method, "POST") == 0 && strcmp(req->url, "/translate") == 0)
                return translate_answer(f, req->c, req);
        return respond_error(req->c, 404, "Not Found", NULL);
}

struct fake_libretranslate *fake_libretranslate_start(void)
{
        return fake_libretranslate_start_on(0);
}

struct fake_libretranslate *fake_libretranslate_start_on(int port)
{
        struct fake_libretranslate *f = calloc(1, sizeof(*f));

        ck_assert_ptr_nonnull(f);
        pthread_mutex_init(&f->lock, NULL);
        f->http = fake_http_start(port, BODY_MAX, on_request, f, "fake LibreTranslate");
        return f;
}

void fake_libretranslate_stop(struct fake_libretranslate *f)
{
        if (!f)
                return;
        fake_http_stop(f->http);
        fake_http_faults_free(&f->faults);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

int fake_libretranslate_port(const struct fake_libretranslate *f)
{
        return fake_http_port(f->http);
}

void fake_libretranslate_set(struct fake_libretranslate *f,
                             const struct fake_libretranslate_mode *mode)
{
        pthread_mutex_lock(&f->lock);
        f->mode = *mode;
        fake_http_faults_set(&f->faults, mode->fail_message, mode->retry_after, mode->api_key);
        f->mode.fail_message = f->mode.retry_after = f->mode.api_key = NULL;
        pthread_mutex_unlock(&f->lock);
}

FAKE_HTTP_COUNTER(fake_libretranslate, translate_calls)
FAKE_HTTP_COUNTER(fake_libretranslate, language_calls)
FAKE_HTTP_COUNTER(fake_libretranslate, texts)
FAKE_HTTP_COUNTER(fake_libretranslate, aborted)

void fake_libretranslate_last(struct fake_libretranslate *f, const char *field, char *buf,
                              size_t size)
{
        const char *v = "";

        pthread_mutex_lock(&f->lock);
        if (strcmp(field, "api_key") == 0)
                v = f->last_api_key;
        else if (strcmp(field, "format") == 0)
                v = f->last_format;
        else if (strcmp(field, "source") == 0)
                v = f->last_source;
        else if (strcmp(field, "target") == 0)
                v = f->last_target;
        snprintf(buf, size, "%s", v);
        pthread_mutex_unlock(&f->lock);
}

bool fake_libretranslate_last_q_array(struct fake_libretranslate *f)
{
        bool v;

        pthread_mutex_lock(&f->lock);
        v = f->last_q_array;
        pthread_mutex_unlock(&f->lock);
        return v;
}

/* TranslateRequest: checked, each text detected when the source is "auto",
 * looked up in the cache, grouped by source language and translated along
 * its route, answered text by text. A bad text fails alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/translation/v1/translation.pb-c.h"
#include "cairn/utf8.h"
#include "cairn/v1/common.pb-c.h"
#include "detect.h"
#include "engine.h"
#include "translation.h"

#define CACHE_PREFIX "cairn:tr:v1:"

typedef Cairn__Translation__V1__Translation Translation;

/* What the handler keeps per text. */
struct text {
        struct tr_job job;
        char source[TR_LANG_MAX];
        struct tr_detection detected; /* language[0] when detected */
        const struct tr_route *route;
        char key[CAIRN_RCACHE_KEY_MAX];
        bool cached, done;
        char cached_route[64];
        struct cairn_status st; /* code set: this text failed */
};

int64_t translation_deadline(const struct translation_service *svc, const struct cairn_request *req)
{
        int64_t d = req->hdrs ? req->hdrs->deadline_ms : 0;

        return d > 0 ? d : cairn_now_ms() + svc->conf.timeout_ms;
}

bool translation_reachable_target(const struct translation_service *svc, const char *lang)
{
        for (size_t m = 0; m < svc->nmodes; m++)
                if (strcmp(svc->modes[m].target, lang) == 0)
                        return true;
        return false;
}

/* Checks what concerns the whole request. */
static cairn_err_t check_request(const struct translation_service *svc,
                                 const Cairn__Translation__V1__TranslateRequest *in,
                                 bool *autodetect, struct cairn_status *st)
{
        const char *src = in->source ? in->source : "", *tgt = in->target ? in->target : "";

        if (in->n_texts == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "texts", "REQUIRED",
                                        "texts: at least one text is needed");
        if (in->n_texts > (size_t)svc->conf.max_batch)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "texts", "TOO_MANY",
                                        "texts: %zu texts, more than the %lld one request may "
                                        "carry (translation.max_batch)",
                                        in->n_texts, svc->conf.max_batch);
        if (in->format != CAIRN__TRANSLATION__V1__FORMAT__FORMAT_TEXT &&
            in->format != CAIRN__TRANSLATION__V1__FORMAT__FORMAT_HTML)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "format", "UNKNOWN_FORMAT",
                                        "format: %d is neither text nor html", (int)in->format);
        if (!tgt[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "REQUIRED",
                                        "target: the language to translate into is required");
        if (!tr_lang_valid(tgt))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "INVALID_LANGUAGE",
                                        "target: \"%.16s\" is not a language code (\"es\")", tgt);
        if (!translation_reachable_target(svc, tgt))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "UNSUPPORTED_LANGUAGE",
                                        "target: nothing can be translated into %s here (the "
                                        "language list names what can)",
                                        tgt);
        *autodetect = !src[0] || strcmp(src, "auto") == 0;
        if (*autodetect)
                return CAIRN_OK;
        if (!tr_lang_valid(src))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "source", "INVALID_LANGUAGE",
                                        "source: \"%.16s\" is not a language code (\"en\") or "
                                        "\"auto\"",
                                        src);
        if (strcmp(src, tgt) == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "SAME_LANGUAGE",
                                        "source and target are both %s", src);
        if (!tr_graph_is_source(&svc->graph, src))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "source", "UNSUPPORTED_LANGUAGE",
                                        "source: nothing can be translated from %s here (the "
                                        "language list names what can)",
                                        src);
        if (!tr_graph_route(&svc->graph, src, tgt))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "UNSUPPORTED_PAIR",
                                        "no route from %s to %s: no language pair joins them, "
                                        "directly or through a pivot",
                                        src, tgt);
        return CAIRN_OK;
}

/* Checks text @p i; the source language too when it is to be detected. */
static void check_text(const struct translation_service *svc, struct text *t, size_t i,
                       bool autodetect, const char *target)
{
        char field[32];

        snprintf(field, sizeof(field), "texts[%zu]", i);
        if (t->job.len == 0) {
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "EMPTY", "%s is empty", field);
                return;
        }
        if (t->job.len > (size_t)svc->conf.max_text_bytes) {
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "TOO_LONG",
                                 "%s is %zu bytes, more than %lld "
                                 "(translation.max_text_bytes)",
                                 field, t->job.len, svc->conf.max_text_bytes);
                return;
        }
        if (!cairn_utf8_valid(t->job.text, t->job.len)) {
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "INVALID_UTF8",
                                 "%s is not valid UTF-8", field);
                return;
        }
        if (!autodetect)
                return;
        if (tr_detect(svc->detector, t->job.text, t->job.len, &t->detected, 1) == 0) {
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "UNDETECTED",
                                 "%s: its language is none the service can recognise; name "
                                 "the source language",
                                 field);
                return;
        }
        snprintf(t->source, sizeof(t->source), "%s", t->detected.language);
        if (strcmp(t->source, target) == 0)
                return; /* already in the target language: answered as it is */
        t->route = tr_graph_route(&svc->graph, t->source, target);
        if (!t->route)
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "UNSUPPORTED_PAIR",
                                 "%s looks like %s, which cannot be translated into %s here", field,
                                 t->source, target);
}

/* ---- the cache: "<route>\n<translation>", route as "en,es,fr" ---- */

static void cache_key(struct text *t, const char *target, bool html, bool show)
{
        const char *fields[5] = { t->source, target, html ? "html" : "text", show ? "1" : "0",
                                  t->job.text };
        size_t lens[5] = { strlen(t->source), strlen(target), strlen(fields[2]), 1, t->job.len };

        cairn_rcache_key(CACHE_PREFIX, fields, lens, 5, t->key);
}

static bool cache_take(void *opaque, size_t i, const char *value, size_t len)
{
        struct text **ts = opaque;
        struct text *t = ts[i];
        const char *nl = memchr(value, '\n', len);

        if (!nl || (size_t)(nl - value) >= sizeof(t->cached_route))
                return false;
        memcpy(t->cached_route, value, (size_t)(nl - value));
        t->cached_route[nl - value] = '\0';
        cairn_buf_add(&t->job.result, nl + 1, len - (size_t)(nl - value) - 1);
        if (t->job.result.oom || !cairn_utf8_valid(t->job.result.p, t->job.result.len)) {
                cairn_buf_cleanup(&t->job.result);
                return false;
        }
        t->cached = t->done = true;
        return true;
}

/* The route of @p t as "en,es,fr". */
static void route_text(const struct translation_service *svc, const struct text *t,
                       const char *target, char *out, size_t size)
{
        size_t off = (size_t)snprintf(out, size, "%s", t->source);

        (void)target;
        if (!t->route)
                return;
        for (size_t h = 0; h < t->route->nhops && off < size; h++)
                off += (size_t)snprintf(out + off, size - off, ",%s",
                                        svc->modes[t->route->mode[h]].target);
}

static void cache_lookup(struct translation_service *svc, struct text **ts, size_t n,
                         const char *target, bool html, bool show)
{
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        struct text **want = calloc(n ? n : 1, sizeof(*want));
        size_t m = 0;

        if (keys && want) {
                for (size_t i = 0; i < n; i++) {
                        if (ts[i]->st.code || ts[i]->done || !ts[i]->route)
                                continue;
                        cache_key(ts[i], target, html, show);
                        keys[m] = ts[i]->key;
                        want[m++] = ts[i];
                }
                cairn_rcache_get(&svc->cache, "apertium", keys, m, cache_take, want);
        }
        free(keys);
        free(want);
}

static void cache_store(struct translation_service *svc, struct text **ts, size_t n,
                        const char *target)
{
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        const char **vals = calloc(n ? n : 1, sizeof(*vals));
        size_t *lens = calloc(n ? n : 1, sizeof(*lens));
        struct cairn_buf *bufs = calloc(n ? n : 1, sizeof(*bufs));
        size_t m = 0;

        if (keys && vals && lens && bufs) {
                for (size_t i = 0; i < n; i++) {
                        struct text *t = ts[i];
                        char route[64];

                        if (t->st.code || t->cached || !t->route || !t->done)
                                continue;
                        route_text(svc, t, target, route, sizeof(route));
                        cairn_buf_printf(&bufs[m], "%s\n", route);
                        cairn_buf_add(&bufs[m], t->job.result.p, t->job.result.len);
                        if (bufs[m].oom)
                                continue;
                        keys[m] = t->key;
                        vals[m] = bufs[m].p;
                        lens[m] = bufs[m].len;
                        m++;
                }
                cairn_rcache_put(&svc->cache, "apertium", keys, vals, lens, m);
        }
        for (size_t i = 0; bufs && i < m; i++)
                cairn_buf_cleanup(&bufs[i]);
        free(keys);
        free(vals);
        free(lens);
        free(bufs);
}

/* ---- translating ---- */

/* Texts with the same route go through it together. */
static void translate_all(struct translation_service *svc, struct text **ts, size_t n, bool html,
                          bool show, int64_t deadline_ms)
{
        struct tr_job **jobs = calloc(n ? n : 1, sizeof(*jobs));
        struct text **group = calloc(n ? n : 1, sizeof(*group));
        bool *taken = calloc(n ? n : 1, sizeof(*taken));

        if (!jobs || !group || !taken) {
                for (size_t i = 0; i < n; i++)
                        if (!ts[i]->st.code && !ts[i]->done)
                                cairn_status_set(&ts[i]->st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                 "out of memory");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                size_t m = 0;

                if (taken[i] || ts[i]->st.code || ts[i]->done || !ts[i]->route)
                        continue;
                for (size_t j = i; j < n; j++) {
                        if (taken[j] || ts[j]->st.code || ts[j]->done ||
                            ts[j]->route != ts[i]->route)
                                continue;
                        taken[j] = true;
                        group[m] = ts[j];
                        jobs[m++] = &ts[j]->job;
                }
                tr_engine_run(svc, ts[i]->route, html, show, jobs, m, deadline_ms);
                for (size_t k = 0; k < m; k++) {
                        if (group[k]->job.err)
                                cairn_status_set(&group[k]->st, group[k]->job.err, NULL,
                                                 "TRANSLATION_FAILED", "%s", group[k]->job.why);
                        else
                                group[k]->done = true;
                }
        }
out:
        free(jobs);
        free(group);
        free(taken);
}

/* ---- the reply ---- */

/* The outcome label of a text: a caller's mistake is not the service's. */
static const char *outcome(const struct text *t)
{
        if (t->st.code == CAIRN_ERR_INVALID)
                return "invalid";
        if (t->st.code)
                return "failed";
        return t->cached ? "cached" : "translated";
}

static char **route_codes(struct cairn_arena *arena, const struct translation_service *svc,
                          const struct text *t, const char *target, size_t *n)
{
        char **codes;

        if (t->cached) {
                /* "en,es,fr" as stored */
                size_t count = 1, k = 0;
                char *copy = cairn_arena_strdup(arena, t->cached_route), *save = NULL, *tok;

                for (const char *p = t->cached_route; *p; p++)
                        count += *p == ',';
                codes = cairn_arena_calloc(arena, count, sizeof(*codes));
                if (!codes || !copy)
                        return NULL;
                for (tok = strtok_r(copy, ",", &save); tok && k < count;
                     tok = strtok_r(NULL, ",", &save))
                        codes[k++] = tok;
                *n = k;
                return codes;
        }
        *n = t->route ? t->route->nhops + 1 : 1;
        codes = cairn_arena_calloc(arena, *n, sizeof(*codes));
        if (!codes)
                return NULL;
        codes[0] = cairn_arena_strdup(arena, t->source);
        for (size_t h = 0; t->route && h < t->route->nhops; h++)
                codes[h + 1] = cairn_arena_strdup(arena, svc->modes[t->route->mode[h]].target);
        (void)target;
        return codes;
}

static Translation *result_of(struct cairn_arena *arena, const struct translation_service *svc,
                              const struct text *t, size_t i, const char *target)
{
        Translation *r = cairn_arena_alloc(arena, sizeof(*r));

        if (!r)
                return NULL;
        cairn__translation__v1__translation__init(r);
        r->index = (uint32_t)i;
        if (t->detected.language[0]) {
                Cairn__Translation__V1__Detection *d = cairn_arena_alloc(arena, sizeof(*d));

                if (!d)
                        return NULL;
                cairn__translation__v1__detection__init(d);
                d->language = cairn_arena_strdup(arena, t->detected.language);
                d->confidence = t->detected.confidence;
                r->detected = d;
        }
        if (t->st.code) {
                r->error = cairn_status_to_pb(arena, &t->st);
                return r->error ? r : NULL;
        }
        r->source = cairn_arena_strdup(arena, t->source);
        r->text = cairn_arena_strdup(arena, t->job.result.p ? t->job.result.p : t->job.text);
        r->route = route_codes(arena, svc, t, target, &r->n_route);
        r->pivoted = r->n_route > 2;
        r->engine = r->n_route > 1 ? "apertium" : "";
        r->cached = t->cached;
        return r->text && r->source && r->route ? r : NULL;
}

cairn_err_t translation_translate_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Translation__V1__TranslateRequest *in =
                (const Cairn__Translation__V1__TranslateRequest *)msg;
        struct translation_service *svc = req->opaque;
        Cairn__Translation__V1__TranslateReply *out;
        int64_t deadline_ms = translation_deadline(svc, req), start = cairn_mono_us();
        bool autodetect = false, html = in->format == CAIRN__TRANSLATION__V1__FORMAT__FORMAT_HTML;
        struct text *texts, **ts;
        cairn_err_t err;
        size_t n = in->n_texts;

        err = check_request(svc, in, &autodetect, st);
        if (err)
                return err;
        texts = calloc(n, sizeof(*texts));
        ts = calloc(n, sizeof(*ts));
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (!texts || !ts || !out) {
                free(texts);
                free(ts);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        cairn__translation__v1__translate_reply__init(out);
        for (size_t i = 0; i < n; i++) {
                struct text *t = &texts[i];

                ts[i] = t;
                t->job.text = in->texts[i] ? in->texts[i] : "";
                t->job.len = strlen(t->job.text);
                if (!autodetect) {
                        snprintf(t->source, sizeof(t->source), "%s", in->source);
                        t->route = tr_graph_route(&svc->graph, t->source, in->target);
                }
                check_text(svc, t, i, autodetect, in->target);
                /* already in the target language: the text is its own translation */
                if (!t->st.code && !t->route)
                        t->done = true;
        }
        cache_lookup(svc, ts, n, in->target, html, in->show_unknown);
        translate_all(svc, ts, n, html, in->show_unknown, deadline_ms);
        cache_store(svc, ts, n, in->target);

        out->translations = cairn_arena_calloc(req->arena, n, sizeof(*out->translations));
        out->n_translations = n;
        err = out->translations ? CAIRN_OK : CAIRN_ERR_EXHAUSTED;
        for (size_t i = 0; !err && i < n; i++) {
                out->translations[i] = result_of(req->arena, svc, &texts[i], i, in->target);
                if (!out->translations[i])
                        err = CAIRN_ERR_EXHAUSTED;
                if (svc->m_texts)
                        cairn_metric_inc_l(svc->m_texts,
                                           (const char *const[]){ outcome(&texts[i]) });
        }
        if (svc->m_seconds)
                cairn_metric_observe_l(svc->m_seconds, (const char *const[]){ "translate" },
                                       (double)(cairn_mono_us() - start) / 1e6);
        for (size_t i = 0; i < n; i++)
                tr_job_cleanup(&texts[i].job);
        free(texts);
        free(ts);
        if (err)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                        "the reply does not fit in this request's memory "
                                        "(bus.max_request_bytes)");
        *reply = &out->base;
        return CAIRN_OK;
}

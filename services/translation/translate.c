/* TranslateRequest: the request and each text checked (each text's source
 * detected when the source is "auto"), translated (translate_run.c) and
 * answered text by text. A bad text fails alone. */
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
#include "remote.h"
#include "translate.h"
#include "translation.h"

typedef Cairn__Translation__V1__Translation Translation;

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
        return tr_remote_knows(svc, NULL, lang);
}

/* Before saying a language or pair is not served: UNAVAILABLE instead when
 * the remote provider's language list is not known yet (it may serve it). */
static cairn_err_t unsupported(const struct translation_service *svc, struct cairn_status *st)
{
        if (svc->remote && tr_remote_languages_status(svc->remote, st) != CAIRN_OK)
                return st->code;
        return CAIRN_OK;
}

/* Checks what concerns the whole request. */
static cairn_err_t check_request(const struct translation_service *svc,
                                 const Cairn__Translation__V1__TranslateRequest *in,
                                 bool *autodetect, struct cairn_status *st)
{
        const char *src = in->source ? in->source : "", *tgt = in->target ? in->target : "";

        if (translation_check_batch(svc, in->n_texts, st) != CAIRN_OK)
                return st->code;
        if (in->format != CAIRN__TRANSLATION__V1__FORMAT__FORMAT_TEXT &&
            in->format != CAIRN__TRANSLATION__V1__FORMAT__FORMAT_HTML)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "format", "UNKNOWN_FORMAT",
                                        "format: %d is neither text nor html", (int)in->format);
        if (!tgt[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "REQUIRED",
                                        "target: the language to translate into is required");
        if (!tr_lang_valid(tgt) && !tr_remote_knows(svc, NULL, tgt))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "INVALID_LANGUAGE",
                                        "target: \"%.16s\" is not a language code (\"es\")", tgt);
        if (!translation_reachable_target(svc, tgt))
                return unsupported(svc, st)
                               ?: cairn_status_set(
                                          st, CAIRN_ERR_INVALID, "target", "UNSUPPORTED_LANGUAGE",
                                          "target: nothing can be translated into %s here (the "
                                          "language list names what can)",
                                          tgt);
        *autodetect = !src[0] || strcmp(src, "auto") == 0;
        if (*autodetect)
                return CAIRN_OK;
        if (!tr_lang_valid(src) && !tr_remote_knows(svc, src, NULL))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "source", "INVALID_LANGUAGE",
                                        "source: \"%.16s\" is not a language code (\"en\") or "
                                        "\"auto\"",
                                        src);
        if (strcmp(src, tgt) == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "SAME_LANGUAGE",
                                        "source and target are both %s", src);
        if (!tr_graph_is_source(&svc->graph, src) && !tr_remote_knows(svc, src, NULL))
                return unsupported(svc, st)
                               ?: cairn_status_set(
                                          st, CAIRN_ERR_INVALID, "source", "UNSUPPORTED_LANGUAGE",
                                          "source: nothing can be translated from %s here (the "
                                          "language list names what can)",
                                          src);
        if (!tr_graph_route(&svc->graph, src, tgt) && !tr_remote_knows(svc, src, tgt))
                return unsupported(svc, st)
                               ?: cairn_status_set(
                                          st, CAIRN_ERR_INVALID, "target", "UNSUPPORTED_PAIR",
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
        if (translation_check_text(svc, t->job.text, t->job.len, i, &t->st) != CAIRN_OK)
                return;
        if (!autodetect)
                return;
        if (tr_detect(svc->detector, t->job.text, t->job.len, &t->detected, 1) == 0) {
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "UNDETECTED",
                                 "%s: its language is none the service can recognise; name "
                                 "the source language",
                                 field);
                return;
        }
        if (t->detected.confidence < svc->conf.detect_min_confidence) {
                /* a text in none of the service's languages still gets a
                 * weak best guess: not one to translate from */
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "UNDETECTED",
                                 "%s: its language is none the service can recognise for sure "
                                 "(%s at most, confidence %.2f); name the source language",
                                 field, t->detected.language, t->detected.confidence);
                return;
        }
        snprintf(t->source, sizeof(t->source), "%s", t->detected.language);
        if (strcmp(t->source, target) == 0)
                return; /* already in the target language: answered as it is */
        t->route = tr_graph_route(&svc->graph, t->source, target);
        if (!t->route && !tr_remote_knows(svc, t->source, target))
                cairn_status_set(&t->st, CAIRN_ERR_INVALID, field, "UNSUPPORTED_PAIR",
                                 "%s looks like %s, which cannot be translated into %s here", field,
                                 t->source, target);
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

/* "en,es,fr" → { "en", "es", "fr" } in @p arena. */
static char **route_codes(struct cairn_arena *arena, const struct text *t, size_t *n)
{
        size_t count = 1, k = 0;
        char *copy = cairn_arena_strdup(arena, t->route_text), *save = NULL, *tok;
        char **codes;

        for (const char *p = t->route_text; *p; p++)
                count += *p == ',';
        codes = cairn_arena_calloc(arena, count, sizeof(*codes));
        if (!codes || !copy)
                return NULL;
        for (tok = strtok_r(copy, ",", &save); tok && k < count; tok = strtok_r(NULL, ",", &save))
                codes[k++] = tok;
        *n = k;
        return codes;
}

static Translation *result_of(struct cairn_arena *arena, const struct text *t, size_t i)
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
        r->route = route_codes(arena, t, &r->n_route);
        r->pivoted = r->n_route > 2;
        r->engine = r->n_route < 2 ? "" : t->remote ? "remote" : "apertium";
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
        struct tr_ask ask = { in->target, html, in->show_unknown, deadline_ms,
                              req->hdrs && req->hdrs->traceparent[0] ? req->hdrs->traceparent
                                                                     : NULL };

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
        }
        tr_translate_texts(svc, ts, n, &ask);

        out->translations = cairn_arena_calloc(req->arena, n, sizeof(*out->translations));
        out->n_translations = n;
        err = out->translations ? CAIRN_OK : CAIRN_ERR_EXHAUSTED;
        for (size_t i = 0; !err && i < n; i++) {
                out->translations[i] = result_of(req->arena, &texts[i], i);
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

/* LibreTranslate's answers written from the translation service's replies,
 * after checking that a reply fits its request: one result per text, each
 * index once, every string UTF-8 (JSON cannot carry anything else). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/utf8.h"
#include "libretranslate_render.h"

static void bad_reply(struct gw_error *e, const char *what)
{
        gw_error_set(e, 502, "bad_gateway", NULL,
                     "the translation service answered something unexpected (%s)", what);
        e->err = CAIRN_ERR_INTERNAL;
}

static bool text_ok(const char *s)
{
        return s && cairn_utf8_valid(s, strlen(s));
}

/* The error a text's status stands for, naming the text as the request
 * did: "q[2]" in an array, "q" for a string. The service's message names
 * it as "texts[2]" where it names it at all: that name becomes the
 * request's, otherwise the request's comes first. */
static void text_failed(struct gw_error *e, const struct gw_lt_request *req, size_t i,
                        const Cairn__V1__Status *st)
{
        cairn_err_t code = cairn_err_from_code(st->code);
        const char *msg = text_ok(st->message) && st->message[0] ? st->message
                                                                 : cairn_err_str(code);
        char field[32], theirs[32];
        size_t tlen;

        if (req->q_array)
                snprintf(field, sizeof(field), "q[%zu]", i);
        else
                snprintf(field, sizeof(field), "q");
        tlen = (size_t)snprintf(theirs, sizeof(theirs), "texts[%zu]", i);
        gw_error_from_status(e, code == CAIRN_OK ? CAIRN_ERR_UNKNOWN : code, NULL, field);
        if (strncmp(msg, theirs, tlen) == 0)
                snprintf(e->message, sizeof(e->message), "%s%s", field, msg + tlen);
        else if (req->q_array)
                snprintf(e->message, sizeof(e->message), "%s: %s", field, msg);
        else
                snprintf(e->message, sizeof(e->message), "%s", msg);
}

/* LibreTranslate's percentage of a 0..1 confidence, one decimal. */
static void add_confidence(struct cairn_buf *b, float c)
{
        double pct = c * 100.0;

        if (!(pct >= 0.0)) /* NaN too */
                pct = 0.0;
        if (pct > 100.0)
                pct = 100.0;
        cairn_buf_printf(b, "%.1f", pct);
}

static void add_detection(struct cairn_buf *b, const char *language, float confidence)
{
        cairn_buf_adds(b, "{\"confidence\":");
        add_confidence(b, confidence);
        cairn_buf_adds(b, ",\"language\":");
        cairn_buf_add_json_string(b, language);
        cairn_buf_adds(b, "}");
}

static char *finish(struct cairn_buf *b, size_t *lenp)
{
        if (b->oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b->len;
        return b->p;
}

/* ---- /translate ---- */

/* The reply's translations in request order into @p by (nq slots), or
 * false with @p e filled when they do not fit the request. */
static bool translations_ordered(const struct gw_lt_request *req,
                                 const Cairn__Translation__V1__TranslateReply *reply,
                                 const Cairn__Translation__V1__Translation **by, struct gw_error *e)
{
        if (reply->n_translations != req->nq) {
                bad_reply(e, "another number of translations than texts");
                return false;
        }
        for (size_t i = 0; i < reply->n_translations; i++) {
                const Cairn__Translation__V1__Translation *t = reply->translations[i];

                if (t->index >= req->nq || by[t->index]) {
                        bad_reply(e, "a translation's index is out of range or repeated");
                        return false;
                }
                by[t->index] = t;
        }
        return true;
}

char *gw_lt_translate_json(const struct gw_lt_request *req,
                           const Cairn__Translation__V1__TranslateReply *reply, size_t *lenp,
                           struct gw_error *e)
{
        const Cairn__Translation__V1__Translation **by = calloc(req->nq, sizeof(*by));
        bool detect = strcmp(req->source, "auto") == 0;
        struct cairn_buf b = { 0 };

        if (!by)
                abort();
        if (!translations_ordered(req, reply, by, e))
                goto fail;
        for (size_t i = 0; i < req->nq; i++) {
                if (by[i]->error && by[i]->error->code != CAIRN_OK) {
                        text_failed(e, req, i, by[i]->error);
                        goto fail;
                }
                if (!text_ok(by[i]->text) || !text_ok(by[i]->source) ||
                    (by[i]->detected && !text_ok(by[i]->detected->language))) {
                        bad_reply(e, "text that is not UTF-8");
                        goto fail;
                }
        }
        cairn_buf_adds(&b, req->q_array ? "{\"translatedText\":[" : "{\"translatedText\":");
        for (size_t i = 0; i < req->nq; i++) {
                if (i)
                        cairn_buf_adds(&b, ",");
                cairn_buf_add_json_string(&b, by[i]->text);
        }
        if (req->q_array)
                cairn_buf_adds(&b, "]");
        if (detect) {
                cairn_buf_adds(&b,
                               req->q_array ? ",\"detectedLanguage\":[" : ",\"detectedLanguage\":");
                for (size_t i = 0; i < req->nq; i++) {
                        const Cairn__Translation__V1__Detection *d = by[i]->detected;

                        if (i)
                                cairn_buf_adds(&b, ",");
                        /* no detection: the source it was translated from */
                        add_detection(&b, d ? d->language : by[i]->source, d ? d->confidence : 0);
                }
                if (req->q_array)
                        cairn_buf_adds(&b, "]");
        }
        if (req->alternatives) {
                /* Apertium gives one translation: never an alternative */
                cairn_buf_adds(&b, ",\"alternatives\":");
                if (req->q_array) {
                        cairn_buf_adds(&b, "[");
                        for (size_t i = 0; i < req->nq; i++)
                                cairn_buf_adds(&b, i ? ",[]" : "[]");
                        cairn_buf_adds(&b, "]");
                } else {
                        cairn_buf_adds(&b, "[]");
                }
        }
        cairn_buf_adds(&b, "}");
        free(by);
        return finish(&b, lenp);
fail:
        free(by);
        cairn_buf_cleanup(&b);
        return NULL;
}

/* ---- /detect ---- */

/* A language of an array's merge. */
struct merged {
        const char *language;
        double sum;    /* of its confidences */
        size_t count;  /* texts it was found in */
        double length; /* bytes of those texts */
};

static int by_weight(const void *a, const void *b)
{
        const struct merged *x = a, *y = b;
        double wx = x->sum / (double)x->count * x->length;
        double wy = y->sum / (double)y->count * y->length;

        return wx < wy ? 1 : wx > wy ? -1 : strcmp(x->language, y->language);
}

/* An array's candidates merged as LibreTranslate merges them. */
static void detect_merged(const struct gw_lt_request *req,
                          const Cairn__Translation__V1__DetectResult **by, struct cairn_buf *b)
{
        struct merged *m = NULL;
        size_t n = 0, cap = 0;

        for (size_t i = 0; i < req->nq; i++)
                for (size_t c = 0; c < by[i]->n_candidates; c++) {
                        const Cairn__Translation__V1__Detection *d = by[i]->candidates[c];
                        size_t k;

                        for (k = 0; k < n && strcmp(m[k].language, d->language) != 0; k++)
                                ;
                        if (k == n) {
                                if (n == cap) {
                                        cap = cap ? cap * 2 : 16;
                                        m = realloc(m, cap * sizeof(*m));
                                        if (!m)
                                                abort();
                                }
                                m[n++] = (struct merged){ d->language, 0, 0, 0 };
                        }
                        m[k].sum += d->confidence >= 0 ? d->confidence : 0;
                        m[k].count++;
                        m[k].length += (double)strlen(req->q[i]);
                }
        if (n)
                qsort(m, n, sizeof(*m), by_weight);
        for (size_t k = 0; k < n; k++) {
                if (k)
                        cairn_buf_adds(b, ",");
                add_detection(b, m[k].language, (float)(m[k].sum / (double)m[k].count));
        }
        free(m);
}

char *gw_lt_detect_json(const struct gw_lt_request *req,
                        const Cairn__Translation__V1__DetectReply *reply, size_t *lenp,
                        struct gw_error *e)
{
        const Cairn__Translation__V1__DetectResult **by = calloc(req->nq, sizeof(*by));
        struct cairn_buf b = { 0 };
        size_t found = 0;

        if (!by)
                abort();
        if (reply->n_results != req->nq) {
                bad_reply(e, "another number of results than texts");
                goto fail;
        }
        for (size_t i = 0; i < reply->n_results; i++) {
                const Cairn__Translation__V1__DetectResult *r = reply->results[i];

                if (r->index >= req->nq || by[r->index]) {
                        bad_reply(e, "a result's index is out of range or repeated");
                        goto fail;
                }
                by[r->index] = r;
        }
        for (size_t i = 0; i < req->nq; i++) {
                if (by[i]->error && by[i]->error->code != CAIRN_OK) {
                        text_failed(e, req, i, by[i]->error);
                        goto fail;
                }
                for (size_t c = 0; c < by[i]->n_candidates; c++)
                        if (!text_ok(by[i]->candidates[c]->language)) {
                                bad_reply(e, "a language code that is not UTF-8");
                                goto fail;
                        }
                found += by[i]->n_candidates;
        }
        cairn_buf_adds(&b, "[");
        if (!found) {
                /* LibreTranslate's answer when it recognises nothing */
                add_detection(&b, "en", 0);
        } else if (!req->q_array) {
                for (size_t c = 0; c < by[0]->n_candidates; c++) {
                        if (c)
                                cairn_buf_adds(&b, ",");
                        add_detection(&b, by[0]->candidates[c]->language,
                                      by[0]->candidates[c]->confidence);
                }
        } else {
                detect_merged(req, by, &b);
        }
        cairn_buf_adds(&b, "]");
        free(by);
        return finish(&b, lenp);
fail:
        free(by);
        return NULL;
}

/* ---- /languages ---- */

char *gw_lt_languages_json(const Cairn__Translation__V1__ListLanguagesReply *reply, size_t *lenp,
                           struct gw_error *e)
{
        struct cairn_buf b = { 0 };

        for (size_t i = 0; i < reply->n_languages; i++) {
                const Cairn__Translation__V1__Language *l = reply->languages[i];

                if (!text_ok(l->code) || !text_ok(l->name)) {
                        bad_reply(e, "a language that is not UTF-8");
                        return NULL;
                }
                for (size_t t = 0; t < l->n_targets; t++)
                        if (!text_ok(l->targets[t]->code)) {
                                bad_reply(e, "a target that is not UTF-8");
                                return NULL;
                        }
        }
        cairn_buf_adds(&b, "[");
        for (size_t i = 0; i < reply->n_languages; i++) {
                const Cairn__Translation__V1__Language *l = reply->languages[i];

                cairn_buf_adds(&b, i ? ",{\"code\":" : "{\"code\":");
                cairn_buf_add_json_string(&b, l->code);
                cairn_buf_adds(&b, ",\"name\":");
                cairn_buf_add_json_string(&b, l->name);
                cairn_buf_adds(&b, ",\"targets\":[");
                for (size_t t = 0; t < l->n_targets; t++) {
                        if (t)
                                cairn_buf_adds(&b, ",");
                        cairn_buf_add_json_string(&b, l->targets[t]->code);
                }
                cairn_buf_adds(&b, "]}");
        }
        cairn_buf_adds(&b, "]");
        return finish(&b, lenp);
}

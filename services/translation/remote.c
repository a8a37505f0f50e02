/* A LibreTranslate-compatible server as a translation provider: the API
 * key, the requests of a call (one per max_batch texts), the judgement of
 * what the server answers in Cairn's error codes, and the language list
 * kept fresh by a background fetch. HTTP, retries and the breaker are
 * libcairn's (cairn/http_client.h). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/http_client.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/periodic.h"
#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "cairn/trace.h"
#include "cairn/utf8.h"
#include "remote.h"

/* Longest API key taken from the secrets service. */
#define API_KEY_MAX 4096
/* The first wait after a failed language fetch; it doubles up to
 * refresh_ms, and to a minute at most. */
#define FETCH_RETRY_MS     500
#define FETCH_RETRY_MAX_MS 60000
/* How often the fetcher looks whether a fetch is due. */
#define FETCH_TICK_MS 250
/* A translation may be this many times longer than the longest text sent. */
#define OUT_GROWTH 8

struct tr_remote {
        char *name; /* host[:port] */
        char *translate_url, *languages_url;
        enum tr_remote_mode mode;
        struct cairn_api_key key;
        size_t max_batch, max_text_bytes, max_out_bytes;
        int64_t timeout_ms, refresh_ms;
        struct cairn_dependency *dep;
        struct cairn_http_client *http;
        struct cairn_periodic *fetcher;
        struct cairn_series *s_pairs;
        struct cairn_metric *m_fetches; /* {provider, outcome} */

        pthread_mutex_t lock; /* guards what follows */
        struct tr_remote_pair *pairs;
        size_t npairs;
        bool known;                    /* a list was fetched once */
        struct cairn_status fetch_err; /* why the last fetch failed */
        int64_t next_fetch_ms, retry_ms;
        bool refresh_asked;
};

static const char *str(const char *s)
{
        return s ? s : "";
}

/* ---- the language list ---- */

struct languages_call {
        const char *name;
        struct tr_remote_pair *pairs;
        size_t n;
};

static cairn_err_t judge_languages(void *opaque, const struct cairn_http_answer *a, bool *transient,
                                   struct cairn_status *st)
{
        struct languages_call *lc = opaque;

        if (a->status < 200 || a->status >= 300)
                return cairn_http_status_error(lc->name, a->status, a->body, a->len, transient, st);
        return tr_wire_languages_parse(a->body, a->len, &lc->pairs, &lc->n, st);
}

static void count_fetch(struct tr_remote *r, const char *outcome)
{
        if (r->m_fetches)
                cairn_metric_inc_l(r->m_fetches, (const char *[]){ r->name, outcome });
}

/* Fetches GET /languages once and keeps the list (or why it failed). */
static void fetch_languages(struct tr_remote *r)
{
        struct cairn_http_request req = { r->languages_url, NULL, 0, NULL };
        struct languages_call lc = { r->name, NULL, 0 };
        struct cairn_http_call call = { 0 };
        struct cairn_status st;
        cairn_err_t err;
        size_t before;

        call.reqs = &req;
        call.n = 1;
        call.deadline_ms = cairn_now_ms() + r->timeout_ms;
        call.judge = judge_languages;
        call.opaque = &lc;
        cairn_status_clear(&st);
        err = cairn_http_call(r->http, &call, &st);
        pthread_mutex_lock(&r->lock);
        if (err) {
                char msg[CAIRN_STATUS_MSG_MAX];

                /* the HTTP layer names the provider; the parser does not */
                if (strncmp(st.message, "provider ", 9) != 0) {
                        snprintf(msg, sizeof(msg), "provider %.100s: %.380s", r->name, st.message);
                        snprintf(st.message, sizeof(st.message), "%s", msg);
                }
                r->fetch_err = st;
                r->next_fetch_ms = cairn_now_ms() + r->retry_ms;
                r->retry_ms *= 2;
                if (r->retry_ms > r->refresh_ms)
                        r->retry_ms = r->refresh_ms;
                if (r->retry_ms > FETCH_RETRY_MAX_MS)
                        r->retry_ms = FETCH_RETRY_MAX_MS;
                pthread_mutex_unlock(&r->lock);
                count_fetch(r, "error");
                cairn_log(WARN, "REMOTE", "language list of %s not fetched%s: %s", r->name,
                          r->known ? " (the last one stays in use)" : "", st.message);
                return;
        }
        before = r->npairs;
        free(r->pairs);
        r->pairs = lc.pairs;
        r->npairs = lc.n;
        r->known = true;
        r->next_fetch_ms = cairn_now_ms() + r->refresh_ms;
        r->retry_ms = FETCH_RETRY_MS;
        cairn_status_clear(&r->fetch_err);
        pthread_mutex_unlock(&r->lock);
        count_fetch(r, "ok");
        if (r->s_pairs)
                cairn_series_set(r->s_pairs, (double)lc.n);
        if (before != lc.n)
                cairn_log(INFO, "REMOTE", "provider %s offers %zu language pairs", r->name, lc.n);
}

static void fetch_tick(void *arg)
{
        struct tr_remote *r = arg;
        bool due;

        pthread_mutex_lock(&r->lock);
        due = r->refresh_asked || cairn_now_ms() >= r->next_fetch_ms;
        r->refresh_asked = false;
        pthread_mutex_unlock(&r->lock);
        if (due)
                fetch_languages(r);
}

void tr_remote_refresh(struct tr_remote *r)
{
        pthread_mutex_lock(&r->lock);
        r->refresh_asked = true;
        pthread_mutex_unlock(&r->lock);
        cairn_periodic_wake(r->fetcher);
}

cairn_err_t tr_remote_languages_status(struct tr_remote *r, struct cairn_status *st)
{
        cairn_err_t err = CAIRN_OK;

        pthread_mutex_lock(&r->lock);
        if (!r->known) {
                if (r->fetch_err.message[0])
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL,
                                               "UPSTREAM_LANGUAGES_UNKNOWN",
                                               "the languages of the remote provider are not "
                                               "known yet: %.400s",
                                               r->fetch_err.message);
                else
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL,
                                               "UPSTREAM_LANGUAGES_UNKNOWN",
                                               "the languages of the remote provider %s are "
                                               "being fetched",
                                               r->name);
        }
        pthread_mutex_unlock(&r->lock);
        return err;
}

size_t tr_remote_pairs(struct tr_remote *r, struct tr_remote_pair *out, size_t max)
{
        size_t n;

        pthread_mutex_lock(&r->lock);
        n = r->npairs;
        if (n && max)
                memcpy(out, r->pairs, sizeof(*out) * (n < max ? n : max));
        pthread_mutex_unlock(&r->lock);
        return n;
}

static int pair_cmp(const void *a, const void *b)
{
        const struct tr_remote_pair *x = a, *y = b;
        int c = strcmp(x->source, y->source);

        return c ? c : strcmp(x->target, y->target);
}

bool tr_remote_has_pair(struct tr_remote *r, const char *source, const char *target)
{
        struct tr_remote_pair key;
        bool found;

        if (!tr_wire_code_valid(source) || !tr_wire_code_valid(target))
                return false;
        snprintf(key.source, sizeof(key.source), "%s", source);
        snprintf(key.target, sizeof(key.target), "%s", target);
        pthread_mutex_lock(&r->lock);
        found = r->npairs && bsearch(&key, r->pairs, r->npairs, sizeof(key), pair_cmp) != NULL;
        pthread_mutex_unlock(&r->lock);
        return found;
}

/* ---- translations ---- */

struct translate_call {
        struct tr_remote *r;
        char **out;
        size_t n, per; /* request i carries texts [i * per, i * per + per) */
};

static cairn_err_t judge_translation(void *opaque, const struct cairn_http_answer *a,
                                     bool *transient, struct cairn_status *st)
{
        struct translate_call *tc = opaque;
        struct tr_remote *r = tc->r;
        size_t off = a->index * tc->per;
        size_t n = tc->n - off < tc->per ? tc->n - off : tc->per;
        cairn_err_t err;

        if (a->status >= 200 && a->status < 300) {
                err = tr_wire_translate_parse(a->body, a->len, n, r->max_out_bytes, tc->out + off,
                                              st);
                if (err) {
                        char inner[CAIRN_STATUS_MSG_MAX];

                        snprintf(inner, sizeof(inner), "%s", st->message);
                        snprintf(st->message, sizeof(st->message), "provider %.100s: %.380s",
                                 r->name, inner);
                }
                return err;
        }
        /* LibreTranslate refuses a key with a 400 */
        return cairn_http_keyed_error(r->name, cairn_api_key_setting(&r->key), "translation.remote",
                                      true, a, transient, st);
}

/* Checks the arguments: codes the provider could know, texts within
 * max_text_bytes and UTF-8. */
static cairn_err_t check_args(struct tr_remote *r, const char *source, const char *target,
                              const char *const *texts, size_t n, struct cairn_status *st)
{
        if (!tr_wire_code_valid(str(source)))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "source", "INVALID_LANGUAGE",
                                        "source: \"%.20s\" is not a language code", str(source));
        if (!tr_wire_code_valid(str(target)))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "target", "INVALID_LANGUAGE",
                                        "target: \"%.20s\" is not a language code", str(target));
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(texts[i]);
                char field[32];

                snprintf(field, sizeof(field), "texts[%zu]", i);
                if (r->max_text_bytes && len > r->max_text_bytes)
                        return cairn_status_set(st, CAIRN_ERR_INVALID, field, "TEXT_TOO_LONG",
                                                "%s: %zu bytes; the remote provider %s takes at "
                                                "most %zu (translation.remote.max_text_bytes)",
                                                field, len, r->name, r->max_text_bytes);
                if (!cairn_utf8_valid(texts[i], len))
                        return cairn_status_set(st, CAIRN_ERR_INVALID, field, "INVALID_UTF8",
                                                "%s: not UTF-8", field);
        }
        return CAIRN_OK;
}

/* One call with @p key ("": none) in each request body. */
static cairn_err_t translate_with(struct tr_remote *r, const char *source, const char *target,
                                  bool html, const char *const *texts, size_t n,
                                  int64_t deadline_ms, const char *traceparent, const char *key,
                                  char **out, struct cairn_status *st)
{
        struct translate_call tc = { r, out, n, r->max_batch };
        size_t nreq = (n + tc.per - 1) / tc.per;
        static const char *const headers[] = { "Content-Type: application/json",
                                               "Accept: application/json", NULL };
        struct cairn_http_call call = { 0 };
        struct cairn_http_request *reqs;
        char tp[CAIRN_TRACEPARENT_LEN + 1];
        struct cairn_span *span;
        cairn_err_t err = CAIRN_OK;

        reqs = calloc(nreq, sizeof(*reqs));
        if (!reqs)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        for (size_t i = 0; i < nreq && !err; i++) {
                size_t off = i * tc.per;
                struct tr_wire_request wr = { source,      target,
                                              html,        key[0] ? key : NULL,
                                              texts + off, n - off < tc.per ? n - off : tc.per };
                size_t len = 0;
                char *body = tr_wire_translate_body(&wr, &len);

                reqs[i].url = r->translate_url;
                reqs[i].body = body;
                reqs[i].body_len = len;
                reqs[i].headers = headers;
                if (!body)
                        err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                               "out of memory building a request to %s", r->name);
        }
        if (err)
                goto out;
        call.traceparent = traceparent;
        /* A CLIENT span for the upstream call when tracing is on; its
         * context is what the provider receives. */
        span = cairn_span_start("POST /translate", CAIRN_SPAN_CLIENT, cairn_trace_current());
        if (span) {
                cairn_span_set_str(span, "http.request.method", "POST");
                cairn_span_set_str(span, "server.address", r->name);
                cairn_span_set_str(span, "cairn.translation.source", source);
                cairn_span_set_str(span, "cairn.translation.target", target);
                cairn_span_set_int(span, "cairn.translation.texts", (int64_t)n);
                call.traceparent = span->traceparent;
        } else if (cairn_trace_inject_http(tp)) {
                call.traceparent = tp;
        }
        call.reqs = reqs;
        call.n = nreq;
        call.deadline_ms = deadline_ms;
        call.judge = judge_translation;
        call.opaque = &tc;
        err = cairn_http_call(r->http, &call, st);
        if (span) {
                cairn_span_set_int(span, "cairn.attempts", call.attempts);
                cairn_span_end_err(span, err, err ? st->message : NULL);
        }
out:
        for (size_t i = 0; i < nreq; i++) {
                /* the body holds the key */
                if (reqs[i].body)
                        explicit_bzero((char *)reqs[i].body, reqs[i].body_len);
                free((char *)reqs[i].body);
        }
        free(reqs);
        return err;
}

cairn_err_t tr_remote_translate(struct tr_remote *r, const char *source, const char *target,
                                bool html, const char *const *texts, size_t n, int64_t deadline_ms,
                                const char *traceparent, char **out, struct cairn_status *st)
{
        char key[API_KEY_MAX];
        cairn_err_t err;

        for (size_t i = 0; i < n; i++)
                out[i] = NULL;
        if (n == 0)
                return CAIRN_OK;
        err = check_args(r, source, target, texts, n, st);
        if (err)
                return err;
        if (deadline_ms <= 0)
                deadline_ms = cairn_now_ms() + r->timeout_ms;
        err = cairn_api_key_get(&r->key, r->name, deadline_ms, key, sizeof(key), st);
        if (err)
                return err;
        err = translate_with(r, source, target, html, texts, n, deadline_ms, traceparent, key, out,
                             st);
        explicit_bzero(key, sizeof(key));
        if (err) {
                for (size_t i = 0; i < n; i++) {
                        free(out[i]);
                        out[i] = NULL;
                }
                return err;
        }
        /* the provider answers: a list it could not give before is due now */
        if (tr_remote_languages_status(r, &(struct cairn_status){ 0 }) != CAIRN_OK)
                tr_remote_refresh(r);
        return CAIRN_OK;
}

/* ---- the provider ---- */

enum tr_remote_mode tr_remote_mode(const struct tr_remote *r)
{
        return r->mode;
}

const char *tr_remote_name(const struct tr_remote *r)
{
        return r->name;
}

static void metrics_init(struct tr_remote *r, struct cairn_metrics *metrics,
                         struct cairn_http_client_conf *hconf)
{
        struct cairn_metric *pairs;

        if (!metrics)
                return;
        hconf->requests = cairn_metrics_counter(
                metrics, "cairn_translation_remote_requests_total",
                "HTTP requests to the remote translation provider (POST /translate, GET "
                "/languages), by HTTP status (or timeout/error)",
                (const char *[]){ "provider", "code", NULL });
        hconf->latency = cairn_metrics_histogram(
                metrics, "cairn_translation_remote_request_seconds",
                "Time of each HTTP request to the remote translation provider, answered or not",
                (const char *[]){ "provider", NULL }, cairn_metrics_latency_buckets,
                cairn_metrics_latency_nbuckets);
        r->m_fetches = cairn_metrics_counter(
                metrics, "cairn_translation_remote_language_fetches_total",
                "Fetches of the remote provider's language list, by outcome (ok, error)",
                (const char *[]){ "provider", "outcome", NULL });
        pairs = cairn_metrics_gauge(metrics, "cairn_translation_remote_pairs",
                                    "Language pairs the remote provider offers (its last list)",
                                    (const char *[]){ "provider", NULL });
        r->s_pairs = cairn_metric_series(pairs, (const char *[]){ r->name });
        cairn_series_set(r->s_pairs, 0);
}

struct tr_remote *tr_remote_new(const struct tr_remote_conf *c,
                                const struct cairn_resilience_conf *res,
                                struct cairn_secret_refs *secrets, struct cairn_metrics *metrics,
                                char *errstr, size_t errstr_size)
{
        struct cairn_http_client_conf hconf = { 0 };
        struct tr_remote *r = calloc(1, sizeof(*r));
        const char *url = str(c->url);

        if (!r)
                goto oom;
        pthread_mutex_init(&r->lock, NULL);
        r->name = cairn_http_url_name(url);
        r->translate_url = cairn_http_url_join(url, "/translate");
        r->languages_url = cairn_http_url_join(url, "/languages");
        if (!r->name || !r->translate_url || !r->languages_url)
                goto oom;
        r->mode = strcmp(str(c->mode), "prefer") == 0     ? TR_REMOTE_PREFER
                  : strcmp(str(c->mode), "fallback") == 0 ? TR_REMOTE_FALLBACK
                                                          : TR_REMOTE_MISSING;
        r->max_batch = c->max_batch > 0 ? (size_t)c->max_batch : 16;
        r->max_text_bytes = c->max_text_bytes > 0 ? (size_t)c->max_text_bytes : 0;
        /* translations grow, but not without bound (0: only the answer's size caps them) */
        r->max_out_bytes = r->max_text_bytes ? r->max_text_bytes * OUT_GROWTH + 1024 : 0;
        r->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
        r->refresh_ms = c->refresh_ms > 0 ? c->refresh_ms : 3600000;
        r->retry_ms = FETCH_RETRY_MS < r->refresh_ms ? FETCH_RETRY_MS : r->refresh_ms;
        r->next_fetch_ms = 0;
        if (cairn_api_key_init(&r->key, "translation.remote", c->api_key_file, c->api_key_secret,
                               secrets, errstr, errstr_size) != 0)
                goto fail;
        r->dep = cairn_dependency_new(res, metrics);
        metrics_init(r, metrics, &hconf);
        hconf.name = r->name;
        hconf.user_agent = "cairn-translation";
        hconf.connect_timeout_ms = c->connect_timeout_ms;
        hconf.max_response_bytes = c->max_response_bytes > 0 ? (size_t)c->max_response_bytes : 0;
        hconf.dep = r->dep;
        hconf.explain_breaker = true;
        r->http = cairn_http_client_new(&hconf, errstr, errstr_size);
        if (!r->http)
                goto fail;
        /* the first fetch at once, on the fetcher's thread: readiness does
         * not wait for the provider */
        r->fetcher = cairn_periodic_start(r->refresh_ms < FETCH_TICK_MS ? r->refresh_ms
                                                                        : FETCH_TICK_MS,
                                          fetch_tick, r, false);
        cairn_periodic_wake(r->fetcher);
        return r;
oom:
        snprintf(errstr, errstr_size, "translation.remote: out of memory setting up the provider");
fail:
        tr_remote_free(r);
        return NULL;
}

void tr_remote_free(struct tr_remote *r)
{
        if (!r)
                return;
        /* the fetcher first: it calls through the client */
        cairn_periodic_stop(r->fetcher);
        cairn_http_client_free(r->http);
        cairn_dependency_free(r->dep);
        cairn_api_key_clear(&r->key);
        free(r->pairs);
        free(r->name);
        free(r->translate_url);
        free(r->languages_url);
        pthread_mutex_destroy(&r->lock);
        free(r);
}

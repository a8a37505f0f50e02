/* Any OpenAI-compatible POST /embeddings server as a provider (OpenAI,
 * text-embeddings-inference, Ollama, vLLM).
 *
 * One I/O thread per provider drives a curl multi handle: callers queue
 * HTTP requests and wait for them; the multi handle keeps connections (and
 * TLS sessions, and HTTP/2 when offered) open between requests, so a
 * request costs no new handshake. A batch larger than the provider's limit
 * goes out as several concurrent requests. Every request's timeout is the
 * caller's remaining deadline, so curl itself aborts (closes) a request
 * that would outlive it. Retries of 429, 5xx and transport failures follow
 * the dependency's retry policy with full jitter, wait at least what
 * Retry-After asks, and never go past the deadline. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "cairn/trace.h"
#include "openai_wire.h"
#include "provider.h"

/* Not worth starting an attempt with less time than this left. */
#define MIN_ATTEMPT_MS 5
/* A request without a deadline is given one this far away. */
#define NO_DEADLINE_TIMEOUT_MS 30000
/* Longest API key taken from the secrets service. */
#define API_KEY_MAX 4096

/* One HTTP request: a chunk of a batch. */
struct job {
        struct job *next;
        CURL *easy;
        struct curl_slist *hdrs;
        char *body;
        char *resp;
        size_t resp_len, resp_cap, resp_max;
        bool too_big;
        int64_t retry_after_ms; /* -1: none given */
        char errbuf[CURL_ERROR_SIZE];
        CURLcode cc;
        long status;
        bool done;
        /* the chunk */
        size_t off, n;
        cairn_err_t err;
        struct cairn_status st;
        struct cairn_breaker_ticket ticket;
        bool pending; /* still to be answered */
        bool sent;    /* this round */
};

struct provider_openai {
        struct provider base;
        char *name, *url, *upstream_model;
        char *auth_header;                /* from a fixed key; NULL: none or key_ref */
        struct cairn_secret_ref *key_ref; /* borrowed; NULL: a fixed key or none */
        size_t dim;
        bool send_dimensions, base64;
        int64_t connect_timeout_ms;
        size_t max_response_bytes;
        struct cairn_dependency *dep;
        struct cairn_metric *m_requests; /* cairn_embedding_upstream_requests_total{model,code} */

        CURLM *multi;
        pthread_t thread;
        pthread_mutex_t lock; /* guards queue, stop, job->done */
        pthread_cond_t done_cond;
        struct job *queue; /* submitted, not yet added to the multi handle */
        bool stop;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the I/O thread ---- */

static void job_finish(struct provider_openai *po, struct job *job, CURLcode cc)
{
        job->cc = cc;
        if (cc == CURLE_OK)
                curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &job->status);
        pthread_mutex_lock(&po->lock);
        job->done = true;
        pthread_cond_broadcast(&po->done_cond);
        pthread_mutex_unlock(&po->lock);
}

static void *io_main(void *arg)
{
        struct provider_openai *po = arg;
        struct job *running = NULL; /* chained through next while in the multi handle */

        for (;;) {
                struct job *queued, *job;
                CURLMsg *msg;
                int nrun = 0, left = 0;
                bool stop;

                pthread_mutex_lock(&po->lock);
                queued = po->queue;
                po->queue = NULL;
                stop = po->stop;
                pthread_mutex_unlock(&po->lock);
                while (queued) {
                        job = queued;
                        queued = job->next;
                        job->next = running;
                        running = job;
                        if (curl_multi_add_handle(po->multi, job->easy) != CURLM_OK) {
                                running = job->next;
                                job_finish(po, job, CURLE_FAILED_INIT);
                        }
                }
                if (stop)
                        break;
                curl_multi_perform(po->multi, &nrun);
                for (;;) {
                        struct job **pp;

                        msg = curl_multi_info_read(po->multi, &left);
                        if (!msg)
                                break;
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&job);
                        curl_multi_remove_handle(po->multi, job->easy);
                        for (pp = &running; *pp; pp = &(*pp)->next)
                                if (*pp == job) {
                                        *pp = job->next;
                                        break;
                                }
                        job_finish(po, job, msg->data.result);
                }
                curl_multi_poll(po->multi, NULL, 0, 1000, NULL);
        }
        /* Stopping: whatever is still in flight is abandoned. */
        while (running) {
                struct job *job = running;

                running = job->next;
                curl_multi_remove_handle(po->multi, job->easy);
                job_finish(po, job, CURLE_ABORTED_BY_CALLBACK);
        }
        return NULL;
}

/* ---- one HTTP request ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
        struct job *job = opaque;
        size_t len = size * nmemb;

        if (job->resp_len + len > job->resp_max) {
                job->too_big = true;
                return 0;
        }
        if (job->resp_len + len + 1 > job->resp_cap) {
                size_t cap = job->resp_cap ? job->resp_cap * 2 : 16384;
                char *p;

                while (cap < job->resp_len + len + 1)
                        cap *= 2;
                p = realloc(job->resp, cap);
                if (!p)
                        return 0;
                job->resp = p;
                job->resp_cap = cap;
        }
        memcpy(job->resp + job->resp_len, data, len);
        job->resp_len += len;
        job->resp[job->resp_len] = '\0';
        return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *opaque)
{
        struct job *job = opaque;
        size_t len = size * nmemb;
        char value[64];
        int64_t ms;

        if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
                size_t vlen = len - 12 < sizeof(value) - 1 ? len - 12 : sizeof(value) - 1;

                memcpy(value, data + 12, vlen);
                value[vlen] = '\0';
                value[strcspn(value, "\r\n")] = '\0';
                ms = wire_retry_after_ms(value);
                if (ms < 0) {
                        time_t t = curl_getdate(value, NULL);

                        if (t > 0)
                                ms = ((int64_t)t * 1000 - cairn_now_ms());
                        if (ms < 0 && t > 0)
                                ms = 0;
                }
                job->retry_after_ms = ms;
        }
        return len;
}

static void job_reset(struct job *job)
{
        if (job->easy)
                curl_easy_cleanup(job->easy);
        /* curl copied the Authorization header into the list: wipe it */
        for (struct curl_slist *h = job->hdrs; h; h = h->next)
                explicit_bzero(h->data, strlen(h->data));
        curl_slist_free_all(job->hdrs);
        free(job->body);
        free(job->resp);
        job->easy = NULL;
        job->hdrs = NULL;
        job->body = NULL;
        job->resp = NULL;
        job->resp_len = job->resp_cap = 0;
        job->too_big = false;
        job->retry_after_ms = -1;
        job->errbuf[0] = '\0';
        job->status = 0;
        job->cc = CURLE_OK;
        job->done = false;
}

/* Sets up @p job's request for texts [off, off + n) of @p b, with the
 * header line @p auth (NULL: none). */
static cairn_err_t job_prepare(struct provider_openai *po, struct job *job,
                               const struct provider_batch *b, int64_t timeout_ms,
                               const char *traceparent, const char *auth, struct cairn_status *st)
{
        struct wire_request wr = { po->upstream_model, po->dim, po->send_dimensions, po->base64 };
        char tp[32 + CAIRN_TRACEPARENT_LEN];
        int64_t connect_ms;

        job_reset(job);
        job->body = wire_request_body(&wr, b->texts + job->off, b->lens + job->off, job->n);
        job->easy = curl_easy_init();
        if (!job->body || !job->easy)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory building a request to %s", po->name);
        job->resp_max = po->max_response_bytes;
        job->hdrs = curl_slist_append(job->hdrs, "Content-Type: application/json");
        job->hdrs = curl_slist_append(job->hdrs, "Accept: application/json");
        if (auth)
                job->hdrs = curl_slist_append(job->hdrs, auth);
        if (traceparent && traceparent[0]) {
                snprintf(tp, sizeof(tp), "traceparent: %s", traceparent);
                job->hdrs = curl_slist_append(job->hdrs, tp);
        }
        connect_ms = po->connect_timeout_ms < timeout_ms ? po->connect_timeout_ms : timeout_ms;
        curl_easy_setopt(job->easy, CURLOPT_URL, po->url);
        curl_easy_setopt(job->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(job->easy, CURLOPT_POSTFIELDS, job->body);
        curl_easy_setopt(job->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(job->body));
        curl_easy_setopt(job->easy, CURLOPT_HTTPHEADER, job->hdrs);
        curl_easy_setopt(job->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(job->easy, CURLOPT_WRITEDATA, job);
        curl_easy_setopt(job->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(job->easy, CURLOPT_HEADERDATA, job);
        curl_easy_setopt(job->easy, CURLOPT_PRIVATE, job);
        curl_easy_setopt(job->easy, CURLOPT_ERRORBUFFER, job->errbuf);
        curl_easy_setopt(job->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(job->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(connect_ms > 0 ? connect_ms : 1));
        curl_easy_setopt(job->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(job->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(job->easy, CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(job->easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(job->easy, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(job->easy, CURLOPT_USERAGENT, "cairn-embedding");
        /* Credentials never follow a redirect to another host: no redirects. */
        curl_easy_setopt(job->easy, CURLOPT_FOLLOWLOCATION, 0L);
        return CAIRN_OK;
}

/* Turns a finished request into an error code and message (and, on 2xx,
 * the vectors in @p b). */
static cairn_err_t job_outcome(struct provider_openai *po, struct job *job,
                               struct provider_batch *b, int64_t deadline_ms, uint64_t *tokens,
                               struct cairn_status *st)
{
        char msg[256];

        if (job->too_big)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "UPSTREAM_BAD_RESPONSE",
                                        "provider %s answered more than %zu bytes", po->name,
                                        po->max_response_bytes);
        if (job->cc == CURLE_OPERATION_TIMEDOUT) {
                if (deadline_ms > 0 && cairn_now_ms() + MIN_ATTEMPT_MS >= deadline_ms)
                        return cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, "UPSTREAM_TIMEOUT",
                                                "provider %s did not answer before the request's "
                                                "deadline",
                                                po->name);
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "UPSTREAM_TIMEOUT",
                                        "provider %s timed out: %s", po->name,
                                        job->errbuf[0] ? job->errbuf : curl_easy_strerror(job->cc));
        }
        if (job->cc != CURLE_OK)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "UPSTREAM_UNREACHABLE",
                                        "provider %s: %s", po->name,
                                        job->errbuf[0] ? job->errbuf : curl_easy_strerror(job->cc));
        if (job->status >= 200 && job->status < 300) {
                uint64_t t = 0;
                cairn_err_t err = wire_response_parse(job->resp ? job->resp : "", job->resp_len,
                                                      job->n, po->dim, b->out + job->off * b->dim,
                                                      &t, st);
                if (err) {
                        char inner[CAIRN_STATUS_MSG_MAX];

                        snprintf(inner, sizeof(inner), "%s", st->message);
                        snprintf(st->message, sizeof(st->message), "provider %.60s: %.400s",
                                 po->name, inner);
                        return err;
                }
                *tokens += t;
                return CAIRN_OK;
        }
        wire_error_message(job->resp, job->resp_len, msg, sizeof(msg));
        if (job->status == 429)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "UPSTREAM_RATE_LIMITED",
                                        "provider %s answered HTTP 429 (rate limited)%s%s",
                                        po->name, msg[0] ? ": " : "", msg);
        if (job->status == 401 || job->status == 403)
                return cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "UPSTREAM_REFUSED",
                                        "provider %s answered HTTP %ld%s%s", po->name, job->status,
                                        msg[0] ? ": " : "", msg);
        if (job->status == 408 || job->status >= 500 || job->status < 200)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "UPSTREAM_ERROR",
                                        "provider %s answered HTTP %ld%s%s", po->name, job->status,
                                        msg[0] ? ": " : "", msg);
        return cairn_status_set(st, CAIRN_ERR_INVALID, NULL, "UPSTREAM_REJECTED",
                                "provider %s answered HTTP %ld%s%s", po->name, job->status,
                                msg[0] ? ": " : "", msg);
}

static void count_request(struct provider_openai *po, const struct job *job)
{
        char code[16];

        if (!po->m_requests)
                return;
        if (job->cc != CURLE_OK)
                snprintf(code, sizeof(code), "%s",
                         job->cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "error");
        else
                snprintf(code, sizeof(code), "%ld", job->status);
        cairn_metric_inc_l(po->m_requests, (const char *[]){ po->name, code });
}

/* Whether an error is worth another attempt at the same provider. A
 * response that does not parse would not parse again; an open breaker is
 * better answered by a fallback than by waiting. */
static bool retry_worth(const struct cairn_status *st)
{
        return strcmp(st->reason, "UPSTREAM_BAD_RESPONSE") != 0 &&
               strcmp(st->reason, "UPSTREAM_WRONG_DIMENSIONS") != 0 &&
               strcmp(st->reason, "BREAKER_OPEN") != 0;
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

        while (ms > 0 && nanosleep(&ts, &ts) != 0)
                ;
}

/* One call with the Authorization header line @p auth (NULL: none). */
static cairn_err_t embed_with(struct provider_openai *po, struct provider_batch *b,
                              const char *auth, struct cairn_status *st)
{
        size_t per = po->base.max_batch ? po->base.max_batch : b->n;
        size_t njobs = (b->n + per - 1) / per;
        char tp[CAIRN_TRACEPARENT_LEN + 1];
        const char *traceparent = b->traceparent;
        struct cairn_span *span;
        struct job *jobs;
        cairn_err_t err = CAIRN_OK;
        int attempts = 0;
        /* Without a deadline the call (retries and Retry-After included) is
         * still bounded. */
        int64_t deadline = b->deadline_ms > 0 ? b->deadline_ms
                                              : cairn_now_ms() + NO_DEADLINE_TIMEOUT_MS;

        /* A CLIENT span for the upstream call when tracing is on; its
         * context is what the provider receives. */
        span = cairn_span_start("POST /embeddings", CAIRN_SPAN_CLIENT, cairn_trace_current());
        if (span) {
                cairn_span_set_str(span, "http.request.method", "POST");
                cairn_span_set_str(span, "url.full", po->url);
                cairn_span_set_str(span, "gen_ai.request.model", po->upstream_model);
                cairn_span_set_int(span, "cairn.embedding.inputs", (int64_t)b->n);
                traceparent = span->traceparent;
        } else if (cairn_trace_inject_http(tp)) {
                traceparent = tp;
        }
        jobs = calloc(njobs, sizeof(*jobs));
        if (!jobs) {
                cairn_span_end_err(span, CAIRN_ERR_EXHAUSTED, "out of memory");
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        for (size_t i = 0; i < njobs; i++) {
                jobs[i].off = i * per;
                jobs[i].n = b->n - jobs[i].off < per ? b->n - jobs[i].off : per;
                jobs[i].pending = true;
                jobs[i].retry_after_ms = -1;
        }
        err = cairn_dependency_enter(po->dep, st);
        if (err) {
                free(jobs);
                cairn_span_end_err(span, err, st->message);
                return err;
        }
        b->tokens = 0;
        for (;;) {
                int64_t now = cairn_now_ms();
                int64_t timeout = cairn_dependency_timeout_ms(po->dep, deadline, now);
                int64_t delay, retry_after = -1;
                struct cairn_status *worst = NULL;
                bool fatal = false;

                attempts++;
                if (timeout < MIN_ATTEMPT_MS) {
                        err = cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, "DEADLINE",
                                               "no time left before the deadline to call %s",
                                               po->name);
                        break;
                }
                if (timeout == INT64_MAX || timeout > LONG_MAX)
                        timeout = NO_DEADLINE_TIMEOUT_MS;
                /* Prepare every pending chunk the breaker lets through. */
                for (size_t i = 0; i < njobs; i++) {
                        struct job *job = &jobs[i];

                        job->sent = false;
                        if (!job->pending)
                                continue;
                        cairn_status_clear(&job->st);
                        job->err = cairn_dependency_attempt(po->dep, &job->ticket, &job->st);
                        if (job->err)
                                continue;
                        job->err = job_prepare(po, job, b, timeout, traceparent, auth, &job->st);
                        if (job->err) {
                                cairn_dependency_attempt_done(po->dep, &job->ticket, CAIRN_OK);
                                continue;
                        }
                        job->sent = true;
                }
                pthread_mutex_lock(&po->lock);
                for (size_t i = 0; i < njobs; i++) {
                        if (!jobs[i].sent)
                                continue;
                        jobs[i].next = po->queue;
                        po->queue = &jobs[i];
                }
                pthread_mutex_unlock(&po->lock);
                curl_multi_wakeup(po->multi);

                /* Wait for them; curl ends each within its timeout. */
                pthread_mutex_lock(&po->lock);
                for (size_t i = 0; i < njobs; i++)
                        while (jobs[i].sent && !jobs[i].done)
                                pthread_cond_wait(&po->done_cond, &po->lock);
                pthread_mutex_unlock(&po->lock);

                for (size_t i = 0; i < njobs; i++) {
                        struct job *job = &jobs[i];

                        if (!job->pending)
                                continue;
                        if (job->sent) {
                                count_request(po, job);
                                job->err = job_outcome(po, job, b, deadline, &b->tokens, &job->st);
                                cairn_dependency_attempt_done(po->dep, &job->ticket, job->err);
                                if (job->retry_after_ms > retry_after)
                                        retry_after = job->retry_after_ms;
                        }
                        if (!job->err) {
                                job->pending = false;
                                continue;
                        }
                        if (!worst || job->err != CAIRN_ERR_UNAVAILABLE || !retry_worth(&job->st))
                                worst = &job->st;
                        if (job->err != CAIRN_ERR_UNAVAILABLE || !retry_worth(&job->st))
                                fatal = true;
                }
                if (!worst) {
                        err = CAIRN_OK;
                        break;
                }
                *st = *worst;
                err = worst->code;
                if (fatal)
                        break;
                now = cairn_now_ms();
                delay = cairn_dependency_retry_delay(po->dep, attempts, err, deadline, now);
                if (delay < 0)
                        break;
                if (retry_after > delay) {
                        if (deadline > 0 && now + retry_after + MIN_ATTEMPT_MS >= deadline) {
                                size_t len = strlen(st->message);

                                snprintf(st->message + len, sizeof(st->message) - len,
                                         "; Retry-After of %lld ms would pass the deadline",
                                         (long long)retry_after);
                                break;
                        }
                        delay = retry_after;
                }
                cairn_log(DEBUG, "EMBED", "retrying %s in %lld ms after: %s", po->name,
                          (long long)delay, st->message);
                sleep_ms(delay);
        }
        cairn_dependency_leave(po->dep);
        if (span) {
                cairn_span_set_int(span, "cairn.attempts", attempts);
                cairn_span_end_err(span, err, err ? st->message : NULL);
        }
        for (size_t i = 0; i < njobs; i++)
                job_reset(&jobs[i]);
        free(jobs);
        return err;
}

static cairn_err_t openai_embed(struct provider *p, struct provider_batch *b,
                                struct cairn_status *st)
{
        struct provider_openai *po = (struct provider_openai *)p;
        char key[API_KEY_MAX], auth[API_KEY_MAX + 32];
        cairn_err_t err;

        if (b->n == 0)
                return CAIRN_OK;
        if (b->dim != po->dim)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "dimensions", "INVALID_DIMENSIONS",
                                        "dimensions: %zu, but %s gives %zu", b->dim, po->name,
                                        po->dim);
        if (!po->key_ref)
                return embed_with(po, b, po->auth_header, st);
        /* The key of the moment: the cached value, refreshed in the
         * background, so a new version goes out without a restart. */
        err = cairn_secret_ref_get(po->key_ref, b->deadline_ms, key, sizeof(key), st);
        if (err) {
                char inner[CAIRN_STATUS_MSG_MAX];

                snprintf(inner, sizeof(inner), "%s", st->message);
                snprintf(st->message, sizeof(st->message), "provider %.60s: %.440s", po->name,
                         inner);
                /* a key too long for a header is as unusable as a missing one */
                st->code = CAIRN_ERR_UNAVAILABLE;
                return CAIRN_ERR_UNAVAILABLE;
        }
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
        explicit_bzero(key, sizeof(key));
        err = embed_with(po, b, auth, st);
        explicit_bzero(auth, sizeof(auth));
        return err;
}

static void openai_free(struct provider *p)
{
        struct provider_openai *po = (struct provider_openai *)p;

        pthread_mutex_lock(&po->lock);
        po->stop = true;
        pthread_mutex_unlock(&po->lock);
        curl_multi_wakeup(po->multi);
        pthread_join(po->thread, NULL);
        curl_multi_cleanup(po->multi);
        cairn_dependency_free(po->dep);
        pthread_cond_destroy(&po->done_cond);
        pthread_mutex_destroy(&po->lock);
        if (po->auth_header) {
                explicit_bzero(po->auth_header, strlen(po->auth_header));
                free(po->auth_header);
        }
        free(po->name);
        free(po->url);
        free(po->upstream_model);
        free(po);
}

static const struct provider_ops openai_ops = {
        .kind = "openai",
        .embed = openai_embed,
        .free = openai_free,
};

struct provider *provider_openai_new(const struct provider_openai_conf *conf,
                                     const struct cairn_resilience_conf *rconf,
                                     struct cairn_metrics *metrics, char *errstr,
                                     size_t errstr_size)
{
        struct provider_openai *po;
        size_t blen;

        pthread_once(&curl_once, curl_init_once);
        po = calloc(1, sizeof(*po));
        if (!po)
                goto oom;
        po->base.ops = &openai_ops;
        po->base.max_batch = conf->max_batch;
        po->name = strdup(conf->name);
        po->key_ref = conf->api_key_ref;
        po->upstream_model = strdup(conf->upstream_model);
        blen = strlen(conf->base_url);
        while (blen > 0 && conf->base_url[blen - 1] == '/')
                blen--;
        if (asprintf(&po->url, "%.*s/embeddings", (int)blen, conf->base_url) < 0)
                po->url = NULL;
        if (conf->api_key && conf->api_key[0] &&
            asprintf(&po->auth_header, "Authorization: Bearer %s", conf->api_key) < 0)
                po->auth_header = NULL;
        if (!po->name || !po->upstream_model || !po->url ||
            (conf->api_key && conf->api_key[0] && !po->auth_header))
                goto oom;
        po->dim = conf->dimensions;
        po->send_dimensions = conf->send_dimensions;
        po->base64 = conf->base64;
        po->connect_timeout_ms = conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : 2000;
        po->max_response_bytes = conf->max_response_bytes ? conf->max_response_bytes : 64 << 20;
        po->dep = cairn_dependency_new(rconf, metrics);
        if (metrics)
                po->m_requests = cairn_metrics_counter(
                        metrics, "cairn_embedding_upstream_requests_total",
                        "HTTP requests to embedding providers, by model and HTTP status "
                        "(or timeout/error)",
                        (const char *[]){ "model", "code", NULL });
        pthread_mutex_init(&po->lock, NULL);
        pthread_cond_init(&po->done_cond, NULL);
        po->multi = curl_multi_init();
        if (!po->multi)
                goto oom_locked;
        curl_multi_setopt(po->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        curl_multi_setopt(po->multi, CURLMOPT_MAXCONNECTS, 64L);
        if (pthread_create(&po->thread, NULL, io_main, po) != 0) {
                curl_multi_cleanup(po->multi);
                goto oom_locked;
        }
        return &po->base;
oom_locked:
        pthread_cond_destroy(&po->done_cond);
        pthread_mutex_destroy(&po->lock);
        cairn_dependency_free(po->dep);
oom:
        snprintf(errstr, errstr_size, "model %s: out of memory setting up its provider",
                 conf->name);
        if (po) {
                free(po->name);
                free(po->url);
                free(po->upstream_model);
                free(po->auth_header);
                free(po);
        }
        return NULL;
}

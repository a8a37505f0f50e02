/* HTTP calls to providers (cairn/http_client.h): one curl multi handle
 * driven by one I/O thread per client, and the loop of attempts that runs a
 * call's requests through the dependency's breaker, retry policy and
 * deadline. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/http_client.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"

/* Not worth starting an attempt with less time than this left. */
#define MIN_ATTEMPT_MS 5
/* A call without a deadline is given one this far away. */
#define NO_DEADLINE_TIMEOUT_MS 30000

/* One request of a call: its HTTP exchange of the current attempt. */
struct job {
        struct job *next;
        const struct cairn_http_request *req;
        const struct cairn_http_form *form; /* NULL: none */
        CURL *easy;
        struct curl_slist *hdrs;
        curl_mime *mime; /* a multipart body, or NULL */
        char *resp;
        size_t resp_len, resp_cap, resp_max;
        bool too_big;
        int64_t retry_after_ms; /* -1: none given */
        int64_t started_us;
        char errbuf[CURL_ERROR_SIZE];
        CURLcode cc;
        long status;
        bool done;
        cairn_err_t err;
        struct cairn_status st;
        bool transient;
        struct cairn_breaker_ticket ticket;
        bool pending; /* still to be answered */
        bool sent;    /* this round */
};

struct cairn_http_client {
        char *name, *user_agent;
        int64_t connect_timeout_ms;
        size_t max_response_bytes;
        struct cairn_dependency *dep;
        struct cairn_metric *m_requests, *m_latency;
        bool explain_breaker;
        pthread_mutex_t failure_lock;            /* guards last_failure */
        char last_failure[CAIRN_STATUS_MSG_MAX]; /* for the message of an open breaker */

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

static void job_finish(struct cairn_http_client *hc, struct job *job, CURLcode cc)
{
        job->cc = cc;
        if (cc == CURLE_OK)
                curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &job->status);
        pthread_mutex_lock(&hc->lock);
        job->done = true;
        pthread_cond_broadcast(&hc->done_cond);
        pthread_mutex_unlock(&hc->lock);
}

static void *io_main(void *arg)
{
        struct cairn_http_client *hc = arg;
        struct job *running = NULL; /* chained through next while in the multi handle */

        for (;;) {
                struct job *queued, *job;
                CURLMsg *msg;
                int nrun = 0, left = 0;
                bool stop;

                pthread_mutex_lock(&hc->lock);
                queued = hc->queue;
                hc->queue = NULL;
                stop = hc->stop;
                pthread_mutex_unlock(&hc->lock);
                while (queued) {
                        job = queued;
                        queued = job->next;
                        job->next = running;
                        running = job;
                        if (curl_multi_add_handle(hc->multi, job->easy) != CURLM_OK) {
                                running = job->next;
                                job_finish(hc, job, CURLE_FAILED_INIT);
                        }
                }
                if (stop)
                        break;
                curl_multi_perform(hc->multi, &nrun);
                for (;;) {
                        struct job **pp;

                        msg = curl_multi_info_read(hc->multi, &left);
                        if (!msg)
                                break;
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&job);
                        curl_multi_remove_handle(hc->multi, job->easy);
                        for (pp = &running; *pp; pp = &(*pp)->next)
                                if (*pp == job) {
                                        *pp = job->next;
                                        break;
                                }
                        job_finish(hc, job, msg->data.result);
                }
                curl_multi_poll(hc->multi, NULL, 0, 1000, NULL);
        }
        /* Stopping: whatever is still in flight is abandoned. */
        while (running) {
                struct job *job = running;

                running = job->next;
                curl_multi_remove_handle(hc->multi, job->easy);
                job_finish(hc, job, CURLE_ABORTED_BY_CALLBACK);
        }
        return NULL;
}

/* ---- one HTTP exchange ---- */

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
                ms = cairn_http_retry_after_ms(value);
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
        curl_mime_free(job->mime);
        job->mime = NULL;
        /* curl copied the Authorization header into the list: wipe it */
        for (struct curl_slist *h = job->hdrs; h; h = h->next)
                explicit_bzero(h->data, strlen(h->data));
        curl_slist_free_all(job->hdrs);
        free(job->resp);
        job->easy = NULL;
        job->hdrs = NULL;
        job->resp = NULL;
        job->resp_len = job->resp_cap = 0;
        job->too_big = false;
        job->retry_after_ms = -1;
        job->errbuf[0] = '\0';
        job->status = 0;
        job->cc = CURLE_OK;
        job->done = false;
}

/* The multipart body of @p job's request, built again for each attempt
 * (curl copies the parts' bytes). */
static int mime_build(struct job *job)
{
        job->mime = curl_mime_init(job->easy);
        if (!job->mime)
                return -1;
        for (size_t i = 0; i < job->form->n; i++) {
                const struct cairn_http_part *p = &job->form->parts[i];
                curl_mimepart *part = curl_mime_addpart(job->mime);

                if (!part || curl_mime_name(part, p->name) != CURLE_OK ||
                    curl_mime_data(part, p->data, p->len) != CURLE_OK ||
                    (p->filename && curl_mime_filename(part, p->filename) != CURLE_OK) ||
                    (p->content_type && curl_mime_type(part, p->content_type) != CURLE_OK))
                        return -1;
        }
        return 0;
}

/* Sets up @p job's exchange with a timeout of @p timeout_ms. */
static cairn_err_t job_prepare(struct cairn_http_client *hc, struct job *job, int64_t timeout_ms,
                               const char *traceparent, struct cairn_status *st)
{
        const struct cairn_http_request *req = job->req;
        char tp[32 + 64];
        int64_t connect_ms;
        bool oom = false;

        job_reset(job);
        job->easy = curl_easy_init();
        if (!job->easy)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory building a request to %s", hc->name);
        job->resp_max = hc->max_response_bytes;
        for (const char *const *h = req->headers; h && *h; h++) {
                struct curl_slist *l = curl_slist_append(job->hdrs, *h);

                oom |= !l;
                job->hdrs = l ? l : job->hdrs;
        }
        if (traceparent && traceparent[0] && strlen(traceparent) < 64) {
                struct curl_slist *l;

                snprintf(tp, sizeof(tp), "traceparent: %s", traceparent);
                l = curl_slist_append(job->hdrs, tp);
                oom |= !l;
                job->hdrs = l ? l : job->hdrs;
        }
        if (oom)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory building a request to %s", hc->name);
        connect_ms = hc->connect_timeout_ms < timeout_ms ? hc->connect_timeout_ms : timeout_ms;
        curl_easy_setopt(job->easy, CURLOPT_URL, req->url);
        if (req->body) {
                curl_easy_setopt(job->easy, CURLOPT_POST, 1L);
                curl_easy_setopt(job->easy, CURLOPT_POSTFIELDS, req->body);
                curl_easy_setopt(job->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        } else if (job->form && job->form->n) {
                if (mime_build(job) != 0)
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of memory building a request to %s", hc->name);
                curl_easy_setopt(job->easy, CURLOPT_MIMEPOST, job->mime);
        } else {
                curl_easy_setopt(job->easy, CURLOPT_HTTPGET, 1L);
        }
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
        curl_easy_setopt(job->easy, CURLOPT_USERAGENT, hc->user_agent);
        /* Credentials never follow a redirect to another host: no redirects. */
        curl_easy_setopt(job->easy, CURLOPT_FOLLOWLOCATION, 0L);
        job->started_us = cairn_mono_us();
        return CAIRN_OK;
}

/* Turns a finished exchange into an error code and message (2xx and other
 * answers: the judge's). */
static cairn_err_t job_outcome(struct cairn_http_client *hc, struct cairn_http_call *call, size_t i,
                               struct job *job, int64_t deadline_ms)
{
        struct cairn_status *st = &job->st;
        struct cairn_http_answer a;

        job->transient = false;
        if (job->too_big)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_BAD_RESPONSE,
                                        "provider %s answered more than %zu bytes", hc->name,
                                        hc->max_response_bytes);
        if (job->cc == CURLE_OPERATION_TIMEDOUT) {
                if (deadline_ms > 0 && cairn_now_ms() + MIN_ATTEMPT_MS >= deadline_ms)
                        return cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, CAIRN_HTTP_TIMEOUT,
                                                "provider %s did not answer before the request's "
                                                "deadline",
                                                hc->name);
                job->transient = true;
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_TIMEOUT,
                                        "provider %s timed out: %s", hc->name,
                                        job->errbuf[0] ? job->errbuf : curl_easy_strerror(job->cc));
        }
        if (job->cc != CURLE_OK) {
                job->transient = true;
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_UNREACHABLE,
                                        "provider %s: %s", hc->name,
                                        job->errbuf[0] ? job->errbuf : curl_easy_strerror(job->cc));
        }
        a.index = i;
        a.status = job->status;
        a.body = job->resp ? job->resp : "";
        a.len = job->resp_len;
        a.content_type = NULL;
        curl_easy_getinfo(job->easy, CURLINFO_CONTENT_TYPE, &a.content_type);
        cairn_status_clear(st);
        return call->judge(call->opaque, &a, &job->transient, st);
}

static void count_exchange(struct cairn_http_client *hc, const struct job *job)
{
        char code[16];

        if (hc->m_latency)
                cairn_metric_observe_l(hc->m_latency, (const char *[]){ hc->name },
                                       (double)(cairn_mono_us() - job->started_us) / 1e6);
        if (!hc->m_requests)
                return;
        if (job->cc != CURLE_OK)
                snprintf(code, sizeof(code), "%s",
                         job->cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "error");
        else
                snprintf(code, sizeof(code), "%ld", job->status);
        cairn_metric_inc_l(hc->m_requests, (const char *[]){ hc->name, code });
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

        while (ms > 0 && nanosleep(&ts, &ts) != 0)
                ;
}

/* Starts every pending request the breaker lets through, each with
 * @p timeout ms, and waits until curl is done with them. */
static void round_send(struct cairn_http_client *hc, struct cairn_http_call *call, struct job *jobs,
                       int64_t timeout)
{
        for (size_t i = 0; i < call->n; i++) {
                struct job *job = &jobs[i];

                job->sent = false;
                if (!job->pending)
                        continue;
                cairn_status_clear(&job->st);
                job->transient = false;
                job->err = cairn_dependency_attempt(hc->dep, &job->ticket, &job->st);
                if (job->err)
                        continue;
                job->err = job_prepare(hc, job, timeout, call->traceparent, &job->st);
                if (job->err) {
                        cairn_dependency_attempt_done(hc->dep, &job->ticket, CAIRN_OK);
                        continue;
                }
                job->sent = true;
        }
        pthread_mutex_lock(&hc->lock);
        for (size_t i = 0; i < call->n; i++) {
                if (!jobs[i].sent)
                        continue;
                jobs[i].next = hc->queue;
                hc->queue = &jobs[i];
        }
        pthread_mutex_unlock(&hc->lock);
        curl_multi_wakeup(hc->multi);

        /* curl ends each within its timeout */
        pthread_mutex_lock(&hc->lock);
        for (size_t i = 0; i < call->n; i++)
                while (jobs[i].sent && !jobs[i].done)
                        pthread_cond_wait(&hc->done_cond, &hc->lock);
        pthread_mutex_unlock(&hc->lock);
}

static cairn_err_t call_attempts(struct cairn_http_client *hc, struct cairn_http_call *call,
                                 struct cairn_status *st)
{
        struct job *jobs;
        cairn_err_t err = CAIRN_OK;
        int64_t deadline = call->deadline_ms > 0 ? call->deadline_ms
                                                 : cairn_now_ms() + NO_DEADLINE_TIMEOUT_MS;

        call->attempts = 0;
        if (call->n == 0)
                return CAIRN_OK;
        jobs = calloc(call->n, sizeof(*jobs));
        if (!jobs)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        for (size_t i = 0; i < call->n; i++) {
                jobs[i].req = &call->reqs[i];
                jobs[i].form = call->forms ? &call->forms[i] : NULL;
                jobs[i].pending = true;
                jobs[i].retry_after_ms = -1;
        }
        err = cairn_dependency_enter(hc->dep, st);
        if (err) {
                free(jobs);
                return err;
        }
        for (;;) {
                int64_t now = cairn_now_ms();
                int64_t timeout = cairn_dependency_timeout_ms(hc->dep, deadline, now);
                int64_t delay, retry_after = -1;
                struct cairn_status *worst = NULL;
                bool fatal = false;

                call->attempts++;
                if (timeout < MIN_ATTEMPT_MS) {
                        err = cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, "DEADLINE",
                                               "no time left before the deadline to call %s",
                                               hc->name);
                        break;
                }
                if (timeout == INT64_MAX || timeout > LONG_MAX)
                        timeout = NO_DEADLINE_TIMEOUT_MS;
                round_send(hc, call, jobs, timeout);
                for (size_t i = 0; i < call->n; i++) {
                        struct job *job = &jobs[i];

                        if (!job->pending)
                                continue;
                        if (job->sent) {
                                count_exchange(hc, job);
                                job->err = job_outcome(hc, call, i, job, deadline);
                                cairn_dependency_attempt_done(hc->dep, &job->ticket, job->err);
                                if (job->retry_after_ms > retry_after)
                                        retry_after = job->retry_after_ms;
                                /* the body is the judge's to read, once */
                                free(job->resp);
                                job->resp = NULL;
                                job->resp_len = job->resp_cap = 0;
                        }
                        if (!job->err) {
                                job->pending = false;
                                continue;
                        }
                        if (!worst || !job->transient)
                                worst = &job->st;
                        if (!job->transient)
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
                delay = cairn_dependency_retry_delay(hc->dep, call->attempts, CAIRN_ERR_UNAVAILABLE,
                                                     deadline, now);
                if (delay < 0)
                        break;
                if (retry_after > delay) {
                        if (now + retry_after + MIN_ATTEMPT_MS >= deadline) {
                                size_t len = strlen(st->message);

                                snprintf(st->message + len, sizeof(st->message) - len,
                                         "; Retry-After of %lld ms would pass the deadline",
                                         (long long)retry_after);
                                break;
                        }
                        delay = retry_after;
                }
                cairn_log(DEBUG, "HTTP", "retrying %s in %lld ms after: %s", hc->name,
                          (long long)delay, st->message);
                sleep_ms(delay);
        }
        cairn_dependency_leave(hc->dep);
        for (size_t i = 0; i < call->n; i++)
                job_reset(&jobs[i]);
        free(jobs);
        return err;
}

/* Keeps what failed last, or adds it to the message of an open breaker,
 * which says only that it is open. */
static void explain_breaker(struct cairn_http_client *hc, cairn_err_t err, struct cairn_status *st)
{
        bool open = err && strcmp(st->reason, "BREAKER_OPEN") == 0;
        size_t len;

        pthread_mutex_lock(&hc->failure_lock);
        if (err && !open && cairn_dependency_failure(err))
                snprintf(hc->last_failure, sizeof(hc->last_failure), "%s", st->message);
        else if (open && hc->last_failure[0]) {
                len = strlen(st->message);
                snprintf(st->message + len, sizeof(st->message) - len, "; last failure: %s",
                         hc->last_failure);
        }
        pthread_mutex_unlock(&hc->failure_lock);
}

cairn_err_t cairn_http_call(struct cairn_http_client *hc, struct cairn_http_call *call,
                            struct cairn_status *st)
{
        cairn_err_t err = call_attempts(hc, call, st);

        if (hc->explain_breaker)
                explain_breaker(hc, err, st);
        return err;
}

/* ---- the client ---- */

struct cairn_http_client *cairn_http_client_new(const struct cairn_http_client_conf *conf,
                                                char *errstr, size_t errstr_size)
{
        struct cairn_http_client *hc;

        pthread_once(&curl_once, curl_init_once);
        hc = calloc(1, sizeof(*hc));
        if (!hc)
                goto oom;
        hc->name = strdup(conf->name);
        hc->user_agent = strdup(conf->user_agent ? conf->user_agent : "cairn");
        if (!hc->name || !hc->user_agent)
                goto oom;
        hc->connect_timeout_ms = conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : 2000;
        hc->max_response_bytes = conf->max_response_bytes ? conf->max_response_bytes : 64 << 20;
        hc->dep = conf->dep;
        hc->m_requests = conf->requests;
        hc->m_latency = conf->latency;
        hc->explain_breaker = conf->explain_breaker;
        pthread_mutex_init(&hc->failure_lock, NULL);
        pthread_mutex_init(&hc->lock, NULL);
        pthread_cond_init(&hc->done_cond, NULL);
        hc->multi = curl_multi_init();
        if (!hc->multi)
                goto oom_locked;
        curl_multi_setopt(hc->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        curl_multi_setopt(hc->multi, CURLMOPT_MAXCONNECTS, 64L);
        if (pthread_create(&hc->thread, NULL, io_main, hc) != 0) {
                curl_multi_cleanup(hc->multi);
                goto oom_locked;
        }
        return hc;
oom_locked:
        pthread_cond_destroy(&hc->done_cond);
        pthread_mutex_destroy(&hc->lock);
        pthread_mutex_destroy(&hc->failure_lock);
oom:
        snprintf(errstr, errstr_size, "%s: out of memory setting up its HTTP client", conf->name);
        if (hc) {
                free(hc->name);
                free(hc->user_agent);
                free(hc);
        }
        return NULL;
}

void cairn_http_client_free(struct cairn_http_client *hc)
{
        if (!hc)
                return;
        pthread_mutex_lock(&hc->lock);
        hc->stop = true;
        pthread_mutex_unlock(&hc->lock);
        curl_multi_wakeup(hc->multi);
        pthread_join(hc->thread, NULL);
        curl_multi_cleanup(hc->multi);
        pthread_cond_destroy(&hc->done_cond);
        pthread_mutex_destroy(&hc->lock);
        pthread_mutex_destroy(&hc->failure_lock);
        free(hc->name);
        free(hc->user_agent);
        free(hc);
}

/* ---- pure helpers ---- */

cairn_err_t cairn_http_status_error(const char *name, long status, const char *body, size_t len,
                                    bool *transient, struct cairn_status *st)
{
        char msg[256];

        cairn_http_error_message(body, len, msg, sizeof(msg));
        *transient = false;
        if (status == 429) {
                *transient = true;
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_RATE_LIMITED,
                                        "provider %s answered HTTP 429 (rate limited)%s%s", name,
                                        msg[0] ? ": " : "", msg);
        }
        if (status == 401 || status == 403)
                return cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, CAIRN_HTTP_REFUSED,
                                        "provider %s answered HTTP %ld%s%s", name, status,
                                        msg[0] ? ": " : "", msg);
        if (status == 408 || status >= 500 || status < 200) {
                *transient = true;
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_ERROR,
                                        "provider %s answered HTTP %ld%s%s", name, status,
                                        msg[0] ? ": " : "", msg);
        }
        return cairn_status_set(st, CAIRN_ERR_INVALID, NULL, CAIRN_HTTP_REJECTED,
                                "provider %s answered HTTP %ld%s%s", name, status,
                                msg[0] ? ": " : "", msg);
}

cairn_err_t cairn_http_keyed_error(const char *name, const char *key_setting, const char *section,
                                   bool refused_400, const struct cairn_http_answer *a,
                                   bool *transient, struct cairn_status *st)
{
        char msg[256];
        const char *sep;

        cairn_http_error_message(a->body, a->len, msg, sizeof(msg));
        sep = msg[0] ? ": " : "";
        if (a->status == 401 || a->status == 403 ||
            (refused_400 && a->status == 400 && strcasestr(msg, "api key"))) {
                if (key_setting)
                        return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_REFUSED,
                                                "provider %s refused our API key (HTTP %ld%s%s): "
                                                "check %s",
                                                name, a->status, sep, msg, key_setting);
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_REFUSED,
                                        "provider %s refused the service (HTTP %ld%s%s): it may "
                                        "want an API key, set %s.api_key_file or "
                                        "%s.api_key_secret",
                                        name, a->status, sep, msg, section, section);
        }
        if (a->status == 429) {
                *transient = true;
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, CAIRN_HTTP_RATE_LIMITED,
                                        "provider %s answered HTTP 429 (rate limited)%s%s", name,
                                        sep, msg);
        }
        return cairn_http_status_error(name, a->status, a->body, a->len, transient, st);
}

char *cairn_http_url_name(const char *url)
{
        const char *p = strstr(url, "://"), *end, *at;

        p = p ? p + 3 : url;
        end = p + strcspn(p, "/?#");
        at = memchr(p, '@', (size_t)(end - p));
        if (at)
                p = at + 1;
        return strndup(p, (size_t)(end - p));
}

char *cairn_http_url_join(const char *base, const char *path)
{
        size_t blen = strlen(base);
        char *url;

        while (blen > 0 && base[blen - 1] == '/')
                blen--;
        if (asprintf(&url, "%.*s%s", (int)blen, base, path) < 0)
                return NULL;
        return url;
}

int cairn_http_url_check(const char *key, const char *url, char *errstr, size_t errstr_size)
{
        if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
            strlen(url) > 1024 || strpbrk(url, " \t\r\n")) {
                snprintf(errstr, errstr_size,
                         "config: %s: \"%.200s\" is not an http:// or https:// URL", key, url);
                return -1;
        }
        return 0;
}

static void copy_printable(const char *s, size_t len, char *msg, size_t size)
{
        size_t j = 0;

        if (size == 0)
                return;
        for (size_t i = 0; i < len && j + 1 < size; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '\n' || c == '\r' || c == '\t')
                        c = ' ';
                msg[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        /* Trailing spaces of a plain-text body say nothing. */
        while (j > 0 && msg[j - 1] == ' ')
                j--;
        msg[j] = '\0';
}

void cairn_http_error_message(const char *body, size_t len, char *msg, size_t size)
{
        json_t *root, *e;

        if (size)
                msg[0] = '\0';
        if (!body || len == 0)
                return;
        root = json_loadb(body, len, 0, NULL);
        if (!root) {
                copy_printable(body, len < 200 ? len : 200, msg, size);
                return;
        }
        e = json_object_get(root, "error");
        if (json_is_object(e))
                e = json_object_get(e, "message");
        if (!json_is_string(e))
                e = json_object_get(root, "message");
        if (json_is_string(e))
                copy_printable(json_string_value(e), json_string_length(e), msg, size);
        json_decref(root);
}

int64_t cairn_http_retry_after_ms(const char *value)
{
        double secs;
        char *end;

        if (!value)
                return -1;
        while (*value == ' ' || *value == '\t')
                value++;
        if (*value < '0' || *value > '9')
                return -1;
        secs = strtod(value, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
                end++;
        if (*end != '\0' || !isfinite(secs) || secs < 0)
                return -1;
        if (secs > 86400)
                secs = 86400;
        return (int64_t)(secs * 1000.0 + 0.5);
}

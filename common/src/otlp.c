/* Span export over OTLP/HTTP with JSON encoding: a bounded queue filled by
 * cairn_span_end() on any thread, drained by one background thread that
 * POSTs batches with libcurl, like OpenTelemetry's BatchSpanProcessor. A
 * slow or dead collector only ever costs dropped spans, never a wait on the
 * request path. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/hex.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/strlist.h"
#include "cairn/utf8.h"
#include "otlp.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif

struct exporter {
        struct cairn_otlp_conf conf;
        pthread_t thread;
        pthread_mutex_t lock; /* guards everything below it */
        pthread_cond_t cond;  /* a full batch, or stop */
        struct cairn_span **ring;
        size_t head, len;
        bool running;
        bool stopping;
        int64_t stop_until_us; /* monotonic end of the shutdown budget */

        struct cairn_series *s_exported, *s_dropped, *s_failures;
        char log_url[256]; /* the URL without credentials */
};

static struct exporter ex = { .lock = PTHREAD_MUTEX_INITIALIZER };
static atomic_int_fast64_t abort_after_us; /* 0, or when an export in flight must give up */
static atomic_uint_fast64_t n_exported, n_dropped, n_failures;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* ---- key=value lists ---- */

void cairn_kv_list_free(struct cairn_kv *list, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(list[i].key);
                free(list[i].value);
        }
        free(list);
}

/* A malloc'ed copy of @p n bytes at @p s, trimmed of spaces and, when
 * @p decode, percent-decoded; NULL on a bad escape. */
static char *dup_text(const char *s, size_t n, bool decode)
{
        char *out, *o;

        while (n > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        out = malloc(n + 1);
        if (!out)
                abort();
        o = out;
        for (size_t i = 0; i < n; i++) {
                if (decode && s[i] == '%') {
                        int hi = i + 2 < n ? cairn_hex_digit(s[i + 1], 0) : -1;
                        int lo = i + 2 < n ? cairn_hex_digit(s[i + 2], 0) : -1;

                        if (hi < 0 || lo < 0) {
                                free(out);
                                return NULL;
                        }
                        *o++ = (char)(hi << 4 | lo);
                        i += 2;
                } else {
                        *o++ = s[i];
                }
        }
        *o = '\0';
        return out;
}

/* Control characters would let a value break out of an HTTP header line. */
static bool has_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

bool cairn_kv_list_parse(const char *s, struct cairn_kv **list, size_t *n, char *why,
                         size_t why_size)
{
        struct cairn_kv *out = NULL;
        struct cairn_strlist it;
        size_t nout = 0, mlen;
        const char *m;

        cairn_strlist_init(&it, s, strlen(s));
        while (cairn_strlist_next(&it, &m, &mlen)) {
                const char *eq = memchr(m, '=', mlen);

                if (mlen == 0)
                        continue;
                if (!eq) {
                        snprintf(why, why_size, "member %zu has no '='", nout + 1);
                        goto fail;
                }
                char *k = dup_text(m, (size_t)(eq - m), false);
                char *v = dup_text(eq + 1, mlen - (size_t)(eq - m) - 1, true);

                if (!k[0] || !v || has_control(k) || has_control(v)) {
                        snprintf(why, why_size, "member %zu has %s", nout + 1,
                                 !k[0] ? "an empty key"
                                 : !v  ? "a bad %-escape"
                                       : "a control character");
                        free(k);
                        free(v);
                        goto fail;
                }
                struct cairn_kv *grown = realloc(out, (nout + 1) * sizeof(*out));

                if (!grown)
                        abort();
                out = grown;
                out[nout].key = k;
                out[nout].value = v;
                nout++;
        }
        if (nout) {
                struct cairn_kv *grown = realloc(*list, (*n + nout) * sizeof(**list));

                if (!grown)
                        abort();
                memcpy(grown + *n, out, nout * sizeof(*out));
                *list = grown;
                *n += nout;
        }
        free(out);
        return true;
fail:
        cairn_kv_list_free(out, nout);
        return false;
}

void cairn_otlp_conf_cleanup(struct cairn_otlp_conf *conf)
{
        free(conf->url);
        cairn_kv_list_free(conf->headers, conf->nheaders);
        cairn_kv_list_free(conf->resource, conf->nresource);
        memset(conf, 0, sizeof(*conf));
}

/* ---- OTLP/JSON ----
 *
 * Written straight into a buffer: building a jansson tree per span cost
 * about 40 us a span, twenty times the rest of tracing together. */

static void jb_i64(struct cairn_buf *b, int64_t v, bool quoted)
{
        char buf[24];
        char *p = buf + sizeof(buf);
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

        /* by hand: snprintf was a tenth of the encoding time */
        if (quoted)
                *--p = '"';
        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                *--p = '-';
        if (quoted)
                *--p = '"';
        cairn_buf_add(b, p, (size_t)(buf + sizeof(buf) - p));
}

/* A JSON string of @p s. OTLP strings must be UTF-8: when @p s is not,
 * every byte above 0x7f becomes '?'. Runs of bytes that need no escape are
 * copied whole. */
static void jb_str(struct cairn_buf *b, const char *s)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0, run = 0;
        int utf8 = -1; /* -1: not checked yet (only needed past ASCII) */

        cairn_buf_add(b, "\"", 1);
        for (;; i++) {
                unsigned char c = u[i];
                char esc[8];

                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
                        continue;
                if (c == '\0')
                        break;
                if (c >= 0x80) {
                        if (utf8 < 0)
                                utf8 = cairn_utf8_valid(s, strlen(s));
                        if (utf8)
                                continue;
                }
                cairn_buf_add(b, s + run, i - run);
                run = i + 1;
                if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        cairn_buf_add(b, esc, 2);
                } else if (c >= 0x80) {
                        cairn_buf_add(b, "?", 1);
                } else {
                        snprintf(esc, sizeof(esc), "\\u%04x", c);
                        cairn_buf_add(b, esc, 6);
                }
        }
        cairn_buf_add(b, s + run, i - run);
        cairn_buf_add(b, "\"", 1);
}

static void jb_kv_string(struct cairn_buf *b, const char *key, const char *value)
{
        cairn_buf_adds(b, "{\"key\":");
        jb_str(b, key);
        cairn_buf_adds(b, ",\"value\":{\"stringValue\":");
        jb_str(b, value);
        cairn_buf_adds(b, "}}");
}

static void jb_attr(struct cairn_buf *b, const struct cairn_span *span, const struct cairn_attr *a)
{
        switch (a->type) {
        case CAIRN_ATTR_STRING:
                jb_kv_string(b, a->key, span->strings + a->v.off);
                return;
        case CAIRN_ATTR_INT:
                /* int64 travels as a string in OTLP/JSON (proto3 JSON mapping) */
                cairn_buf_adds(b, "{\"key\":");
                jb_str(b, a->key);
                cairn_buf_adds(b, ",\"value\":{\"intValue\":");
                jb_i64(b, a->v.i, true);
                cairn_buf_adds(b, "}}");
                return;
        case CAIRN_ATTR_BOOL:
                cairn_buf_adds(b, "{\"key\":");
                jb_str(b, a->key);
                cairn_buf_adds(b, a->v.b ? ",\"value\":{\"boolValue\":true}}"
                                         : ",\"value\":{\"boolValue\":false}}");
                return;
        }
}

static void jb_span(struct cairn_buf *b, const struct cairn_span *span)
{
        char parent[17];

        cairn_buf_adds(b, "{\"traceId\":\"");
        cairn_buf_adds(b, span->trace_id_hex);
        cairn_buf_adds(b, "\",\"spanId\":\"");
        cairn_buf_adds(b, span->span_id_hex);
        cairn_buf_adds(b, "\"");
        if (span->has_parent) {
                cairn_hex_encode(span->parent_span_id, 8, parent);
                cairn_buf_adds(b, ",\"parentSpanId\":\"");
                cairn_buf_adds(b, parent);
                cairn_buf_adds(b, "\"");
        }
        if (span->ctx.tracestate[0]) {
                cairn_buf_adds(b, ",\"traceState\":");
                jb_str(b, span->ctx.tracestate);
        }
        cairn_buf_adds(b, ",\"name\":");
        jb_str(b, span->name);
        cairn_buf_adds(b, ",\"kind\":");
        jb_i64(b, span->kind, false);
        cairn_buf_adds(b, ",\"startTimeUnixNano\":");
        jb_i64(b, span->start_ns, true);
        cairn_buf_adds(b, ",\"endTimeUnixNano\":");
        jb_i64(b, span->end_ns, true);
        cairn_buf_adds(b, ",\"attributes\":[");
        for (size_t i = 0; i < span->nattrs; i++) {
                if (i)
                        cairn_buf_add(b, ",", 1);
                jb_attr(b, span, &span->attrs[i]);
        }
        cairn_buf_adds(b, "]");
        if (span->dropped_attrs) {
                cairn_buf_adds(b, ",\"droppedAttributesCount\":");
                jb_i64(b, (int64_t)span->dropped_attrs, false);
        }
        cairn_buf_adds(b, ",\"status\":{\"code\":");
        jb_i64(b, span->status, false);
        if (span->status_msg[0]) {
                cairn_buf_adds(b, ",\"message\":");
                jb_str(b, span->status_msg);
        }
        cairn_buf_adds(b, "}}");
}

char *cairn_otlp_encode(const struct cairn_kv *resource, size_t nresource,
                        struct cairn_span *const *spans, size_t n, size_t *lenp)
{
        struct cairn_buf b = { 0 };

        b.cap = 1024 + n * 1200; /* about what a runtime span takes */
        b.p = malloc(b.cap);
        if (!b.p)
                return NULL;
        cairn_buf_adds(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
        for (size_t i = 0; i < nresource; i++) {
                if (i)
                        cairn_buf_add(&b, ",", 1);
                jb_kv_string(&b, resource[i].key, resource[i].value);
        }
        cairn_buf_adds(&b, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"cairn\",\"version\":");
        jb_str(&b, CAIRN_VERSION);
        cairn_buf_adds(&b, "},\"spans\":[");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        cairn_buf_add(&b, ",", 1);
                jb_span(&b, spans[i]);
        }
        cairn_buf_adds(&b, "]}]}]}");
        if (b.oom) {
                free(b.p);
                return NULL;
        }
        if (lenp)
                *lenp = b.len;
        return b.p;
}

/* ---- the export thread ---- */

/* Lets cairn_otlp_stop() cut short a request to a collector that hangs.
 * libcurl calls it about once a second even when nothing moves. */
static int progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow)
{
        int64_t until = atomic_load(&abort_after_us);

        (void)opaque;
        (void)dltotal;
        (void)dlnow;
        (void)ultotal;
        (void)ulnow;
        return until && cairn_mono_us() > until;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *opaque)
{
        (void)ptr;
        (void)opaque;
        return size * nmemb;
}

/* POSTs one batch; true when the collector accepted it (2xx). */
static bool post(CURL *curl, struct curl_slist *hdrs, const char *body, size_t len, long timeout_ms,
                 char *why, size_t why_size)
{
        CURLcode rc;
        long code = 0;

        curl_easy_setopt(curl, CURLOPT_URL, ex.conf.url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        rc = curl_easy_perform(curl);
        if (rc != CURLE_OK) {
                snprintf(why, why_size, "%s", curl_easy_strerror(rc));
                return false;
        }
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299) {
                snprintf(why, why_size, "HTTP status %ld", code);
                return false;
        }
        return true;
}

static void count(atomic_uint_fast64_t *n, struct cairn_series *s, size_t k)
{
        atomic_fetch_add(n, k);
        if (s)
                cairn_series_add(s, (double)k);
}

static void *export_main(void *arg)
{
        CURL *curl = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        struct cairn_span **batch = malloc(ex.conf.batch_max * sizeof(*batch));
        bool failing = false;
        int64_t retry_at_us = 0, backoff_ms = 0;

        (void)arg;
        if (!batch)
                abort();
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        for (size_t i = 0; i < ex.conf.nheaders; i++) {
                char *line;

                if (asprintf(&line, "%s: %s", ex.conf.headers[i].key, ex.conf.headers[i].value) < 0)
                        abort();
                hdrs = curl_slist_append(hdrs, line);
                free(line);
        }

        for (;;) {
                struct timespec ts;
                size_t n = 0;
                bool stopping;
                long timeout_ms = ex.conf.timeout_ms;

                ts = cairn_timespec_in(CLOCK_MONOTONIC, (int64_t)ex.conf.delay_ms * 1000);
                pthread_mutex_lock(&ex.lock);
                while (!ex.stopping && ex.len < ex.conf.batch_max)
                        if (pthread_cond_timedwait(&ex.cond, &ex.lock, &ts) == ETIMEDOUT)
                                break;
                stopping = ex.stopping;
                if (stopping) {
                        int64_t left = (ex.stop_until_us - cairn_mono_us()) / 1000;

                        if (left <= 0) {
                                /* Out of time: what is left is dropped. */
                                size_t k = ex.len;

                                while (ex.len > 0) {
                                        free(ex.ring[ex.head]);
                                        ex.head = (ex.head + 1) % ex.conf.queue_max;
                                        ex.len--;
                                }
                                pthread_mutex_unlock(&ex.lock);
                                count(&n_dropped, ex.s_dropped, k);
                                break;
                        }
                        if (left < timeout_ms)
                                timeout_ms = (long)left;
                }
                while (n < ex.conf.batch_max && ex.len > 0) {
                        batch[n++] = ex.ring[ex.head];
                        ex.head = (ex.head + 1) % ex.conf.queue_max;
                        ex.len--;
                }
                pthread_mutex_unlock(&ex.lock);
                if (n == 0) {
                        if (stopping)
                                break;
                        continue;
                }
                if (!stopping && cairn_mono_us() < retry_at_us) {
                        /* The collector failed a moment ago: drop without
                         * encoding, so an outage costs the service nothing. */
                        for (size_t i = 0; i < n; i++)
                                free(batch[i]);
                        count(&n_dropped, ex.s_dropped, n);
                        continue;
                }

                size_t len = 0;
                char *body = cairn_otlp_encode(ex.conf.resource, ex.conf.nresource, batch, n, &len);
                char why[256] = "out of memory";
                bool ok = body && curl && post(curl, hdrs, body, len, timeout_ms, why, sizeof(why));

                free(body);
                for (size_t i = 0; i < n; i++)
                        free(batch[i]);
                if (ok) {
                        count(&n_exported, ex.s_exported, n);
                        if (failing)
                                cairn_log(INFO, "TRACE", "span export to %s works again",
                                          ex.log_url);
                        failing = false;
                        backoff_ms = 0;
                } else {
                        count(&n_failures, ex.s_failures, 1);
                        backoff_ms = backoff_ms ? backoff_ms * 2 : 500;
                        if (backoff_ms > 5000)
                                backoff_ms = 5000;
                        retry_at_us = cairn_mono_us() + backoff_ms * 1000;
                        /* Said once per outage, not once per batch. */
                        if (!failing)
                                cairn_log(WARN, "TRACE",
                                          "span export to %s failed: %s; "
                                          "%zu span(s) lost",
                                          ex.log_url, why, n);
                        failing = true;
                }
        }
        curl_slist_free_all(hdrs);
        if (curl)
                curl_easy_cleanup(curl);
        free(batch);
        return NULL;
}

static void curl_init_once(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cairn_otlp_start(struct cairn_otlp_conf *conf, struct cairn_metrics *metrics, char *errstr,
                     size_t errstr_size)
{
        pthread_condattr_t ca;

        pthread_once(&curl_once, curl_init_once);
        pthread_mutex_lock(&ex.lock);
        if (ex.running) {
                pthread_mutex_unlock(&ex.lock);
                snprintf(errstr, errstr_size, "trace exporter already running");
                return -1;
        }
        ex.ring = calloc(conf->queue_max, sizeof(*ex.ring));
        if (!ex.ring)
                abort();
        ex.conf = *conf;
        cairn_otlp_url_for_log(conf->url, ex.log_url, sizeof(ex.log_url));
        ex.head = ex.len = 0;
        ex.stopping = false;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&ex.cond, &ca);
        pthread_condattr_destroy(&ca);
        ex.s_exported = ex.s_dropped = ex.s_failures = NULL;
        if (metrics) {
                ex.s_exported = cairn_metric_series(
                        cairn_metrics_counter(metrics, "cairn_trace_spans_exported_total",
                                              "Spans the collector accepted", NULL),
                        NULL);
                ex.s_dropped = cairn_metric_series(
                        cairn_metrics_counter(metrics, "cairn_trace_spans_dropped_total",
                                              "Spans dropped because the export queue was full",
                                              NULL),
                        NULL);
                ex.s_failures = cairn_metric_series(
                        cairn_metrics_counter(metrics, "cairn_trace_export_failures_total",
                                              "Export requests that failed (their spans are lost)",
                                              NULL),
                        NULL);
        }
        atomic_store(&n_exported, 0);
        atomic_store(&n_dropped, 0);
        atomic_store(&n_failures, 0);
        if (pthread_create(&ex.thread, NULL, export_main, NULL) != 0) {
                free(ex.ring);
                ex.ring = NULL;
                memset(&ex.conf, 0, sizeof(ex.conf));
                pthread_cond_destroy(&ex.cond);
                pthread_mutex_unlock(&ex.lock);
                snprintf(errstr, errstr_size, "cannot start the trace export thread: %s",
                         strerror(errno));
                return -1;
        }
        ex.running = true;
        pthread_mutex_unlock(&ex.lock);
        memset(conf, 0, sizeof(*conf));
        return 0;
}

void cairn_otlp_enqueue(struct cairn_span *span)
{
        pthread_mutex_lock(&ex.lock);
        if (!ex.running || ex.stopping) {
                pthread_mutex_unlock(&ex.lock);
                free(span);
                return;
        }
        if (ex.len == ex.conf.queue_max) {
                struct cairn_series *s = ex.s_dropped;

                pthread_mutex_unlock(&ex.lock);
                free(span);
                count(&n_dropped, s, 1);
                return;
        }
        ex.ring[(ex.head + ex.len) % ex.conf.queue_max] = span;
        ex.len++;
        if (ex.len == ex.conf.batch_max)
                pthread_cond_signal(&ex.cond);
        pthread_mutex_unlock(&ex.lock);
}

void cairn_otlp_stop(long budget_ms)
{
        pthread_mutex_lock(&ex.lock);
        if (!ex.running) {
                pthread_mutex_unlock(&ex.lock);
                return;
        }
        ex.stopping = true;
        ex.stop_until_us = cairn_mono_us() + (int64_t)budget_ms * 1000;
        atomic_store(&abort_after_us, ex.stop_until_us);
        pthread_cond_signal(&ex.cond);
        pthread_mutex_unlock(&ex.lock);
        pthread_join(ex.thread, NULL);

        pthread_mutex_lock(&ex.lock);
        atomic_store(&abort_after_us, 0);
        ex.running = false;
        free(ex.ring);
        ex.ring = NULL;
        cairn_otlp_conf_cleanup(&ex.conf);
        pthread_cond_destroy(&ex.cond);
        pthread_mutex_unlock(&ex.lock);
}

void cairn_otlp_url_for_log(const char *url, char *out, size_t size)
{
        const char *scheme = strstr(url, "://");
        const char *host = scheme ? scheme + 3 : url;
        const char *at = strchr(host, '@');
        const char *slash = strchr(host, '/');

        if (at && (!slash || at < slash))
                snprintf(out, size, "%.*s***@%s", (int)(host - url), url, at + 1);
        else
                snprintf(out, size, "%s", url);
}

void cairn_otlp_stats(struct cairn_otlp_stats *out)
{
        out->exported = atomic_load(&n_exported);
        out->dropped = atomic_load(&n_dropped);
        out->failures = atomic_load(&n_failures);
}

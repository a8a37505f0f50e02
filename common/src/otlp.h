/* The OTLP/HTTP span exporter behind cairn/trace.h: JSON encoding of
 * ExportTraceServiceRequest and one background thread that batches queued
 * spans and POSTs them. Private to libcairn (and its tests). */
#ifndef CAIRN_OTLP_H
#define CAIRN_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/trace.h"

struct cairn_metrics;

/* A key and a value, both malloc'ed. */
struct cairn_kv {
        char *key;
        char *value;
};

struct cairn_otlp_conf {
        char *url;                /* full URL of the traces endpoint */
        struct cairn_kv *headers; /* extra HTTP headers (OTEL_EXPORTER_OTLP_HEADERS) */
        size_t nheaders;
        struct cairn_kv *resource; /* resource attributes, service.name first */
        size_t nresource;
        long timeout_ms;  /* per export request */
        size_t queue_max; /* spans queued before new ones are dropped */
        size_t batch_max; /* spans per request */
        long delay_ms;    /* longest wait before a partial batch goes */
};

/* Frees what @p conf holds (not @p conf itself). */
void cairn_otlp_conf_cleanup(struct cairn_otlp_conf *conf);

/* Parses a "k=v,k2=v2" list (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS):
 * spaces around keys and values are trimmed, values are percent-decoded,
 * empty members are skipped. Appends to *@p list / *@p n (malloc'ed; free
 * with cairn_kv_list_free). Returns false with @p why on a member without
 * '=' or with an empty key, or a bad %-escape; nothing is appended then. */
bool cairn_kv_list_parse(const char *s, struct cairn_kv **list, size_t *n, char *why,
                         size_t why_size);
void cairn_kv_list_free(struct cairn_kv *list, size_t n);

/* Encodes @p n spans (borrowed) as an OTLP/JSON ExportTraceServiceRequest
 * with one resource (@p resource, borrowed) and one scope ("cairn").
 * Returns a malloc'ed NUL-terminated string (caller frees) and its length in
 * @p lenp, or NULL when out of memory. */
char *cairn_otlp_encode(const struct cairn_kv *resource, size_t nresource,
                        struct cairn_span *const *spans, size_t n, size_t *lenp);

/* Starts the exporter thread with @p conf (taken over on success: do not
 * clean it up; on failure the caller still owns it). Registers
 * cairn_trace_spans_{exported,dropped}_total and
 * cairn_trace_export_failures_total in @p metrics (may be NULL). */
int cairn_otlp_start(struct cairn_otlp_conf *conf, struct cairn_metrics *metrics, char *errstr,
                     size_t errstr_size);

/* Queues @p span for export, taking ownership. O(1), never blocks on the
 * network: when the queue is full or the exporter is not running the span
 * is freed (counted as dropped when the exporter runs). */
void cairn_otlp_enqueue(struct cairn_span *span);

/* Exports what is queued within @p budget_ms, stops the thread and frees
 * everything. No-op when not started. */
void cairn_otlp_stop(long budget_ms);

/* @p url without the user:password@ it may carry, for log lines. */
void cairn_otlp_url_for_log(const char *url, char *out, size_t size);

/* Counters of the running (or last) exporter, for tests. */
struct cairn_otlp_stats {
        uint64_t exported, dropped, failures;
};
void cairn_otlp_stats(struct cairn_otlp_stats *out);

#endif

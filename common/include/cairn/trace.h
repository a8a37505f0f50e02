/* Distributed tracing: W3C trace context (traceparent/tracestate) in and
 * out, spans with OpenTelemetry's model, a sampler configured by
 * OpenTelemetry's environment variables, and export over OTLP/HTTP in a
 * background thread (otlp.c).
 *
 * Tracing is on only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and OTEL_SDK_DISABLED is not
 * "true". When it is off, cairn_span_start() returns NULL without touching
 * the clock or the heap, every cairn_span_*() function accepts NULL and does
 * nothing, and the runtime forwards incoming trace headers unchanged.
 *
 * A span is owned by whoever started it until cairn_span_end(), which hands
 * it to the exporter (sampled) or frees it (not sampled). */
#ifndef CAIRN_TRACE_H
#define CAIRN_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"

struct cairn_metrics;

#define CAIRN_TRACEPARENT_LEN    55  /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define CAIRN_TRACESTATE_MAX     512 /* longest tracestate kept and forwarded */
#define CAIRN_TRACESTATE_MEMBERS 32
#define CAIRN_TRACE_FLAG_SAMPLED 0x01

/* A span context: what travels between processes. */
struct cairn_span_ctx {
        uint8_t trace_id[16];
        uint8_t span_id[8];
        uint8_t flags;                             /* W3C trace-flags; bit 0 is "sampled" */
        bool remote;                               /* parsed from a header, not started here */
        char tracestate[CAIRN_TRACESTATE_MAX + 1]; /* "" when none or invalid */
};

/* ---- W3C trace context ---- */

/* Parses a traceparent header value of @p len bytes (W3C Trace Context
 * level 1): version 00 must be exactly 55 characters; a higher version is
 * read by its version-00 prefix and may continue after a '-'; version ff,
 * upper-case or non-hex digits, wrong lengths and all-zero ids are invalid.
 * Leading and trailing spaces and tabs are ignored. On success fills the
 * ids and flags of @p out (remote = true; tracestate is left alone) and
 * returns true; an invalid value returns false and must be ignored. */
bool cairn_traceparent_parse(const char *s, size_t len, struct cairn_span_ctx *out);

/* Writes @p ctx as a version-00 traceparent: 55 characters and a NUL. */
void cairn_traceparent_format(const struct cairn_span_ctx *ctx,
                              char out[CAIRN_TRACEPARENT_LEN + 1]);

/* Checks a tracestate value of @p len bytes against the W3C list rules: at
 * most 32 list members separated by commas (optional spaces and tabs
 * around them, empty members allowed), each key=value with the key grammar
 * (simple or tenant@system) and value grammar of the spec, no duplicate
 * keys, and at most CAIRN_TRACESTATE_MAX bytes. Returns true when it may be
 * forwarded as is. */
bool cairn_tracestate_valid(const char *s, size_t len);

/* Reads both headers (NUL-terminated, either may be NULL or ""): true with
 * @p out filled when the traceparent is valid; the tracestate is kept only
 * when it is valid too. False when there is no usable parent. */
bool cairn_trace_extract(const char *traceparent, const char *tracestate,
                         struct cairn_span_ctx *out);

/* ---- sampling ---- */

enum cairn_sampler_kind {
        CAIRN_SAMPLER_ALWAYS_ON,
        CAIRN_SAMPLER_ALWAYS_OFF,
        CAIRN_SAMPLER_TRACEIDRATIO,
        CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON,
        CAIRN_SAMPLER_PARENTBASED_ALWAYS_OFF,
        CAIRN_SAMPLER_PARENTBASED_TRACEIDRATIO,
};

struct cairn_sampler {
        enum cairn_sampler_kind kind;
        double ratio; /* for the *traceidratio kinds, in [0, 1] */
};

/* Reads OTEL_TRACES_SAMPLER (@p name, NULL or "" for the default
 * parentbased_always_on) and OTEL_TRACES_SAMPLER_ARG (@p arg, the ratio,
 * default 1.0). Returns false with a reason in @p why for an unknown name or
 * a ratio that is not a number in [0, 1]; @p out then holds the default. */
bool cairn_sampler_parse(const char *name, const char *arg, struct cairn_sampler *out, char *why,
                         size_t why_size);

/* The decision for a new span of trace @p trace_id whose parent is
 * @p parent (NULL for a root span). Ratio sampling is deterministic in the
 * trace id (its last 8 bytes), so every service decides alike. */
bool cairn_sampler_should_sample(const struct cairn_sampler *s, const struct cairn_span_ctx *parent,
                                 const uint8_t trace_id[16]);

/* ---- spans ---- */

enum cairn_span_kind { /* OTLP's numbers */
                       CAIRN_SPAN_INTERNAL = 1,
                       CAIRN_SPAN_SERVER = 2,
                       CAIRN_SPAN_CLIENT = 3,
                       CAIRN_SPAN_PRODUCER = 4,
                       CAIRN_SPAN_CONSUMER = 5,
};

enum cairn_span_status { /* OTLP's numbers */
                         CAIRN_SPAN_UNSET = 0,
                         CAIRN_SPAN_OK = 1,
                         CAIRN_SPAN_ERROR = 2,
};

enum cairn_attr_type {
        CAIRN_ATTR_STRING,
        CAIRN_ATTR_INT,
        CAIRN_ATTR_BOOL,
};

#define CAIRN_SPAN_MAX_ATTRS 16
#define CAIRN_SPAN_STRINGS   1024 /* bytes for string attribute values */
#define CAIRN_SPAN_NAME_MAX  128
#define CAIRN_SPAN_MSG_MAX   256

struct cairn_attr {
        const char *key; /* borrowed: a string literal (or one outliving the span) */
        enum cairn_attr_type type;
        union {
                int64_t i;
                bool b;
                uint16_t off; /* string: offset into the span's strings */
        } v;
};

struct cairn_span {
        struct cairn_span_ctx ctx; /* this span's ids; tracestate inherited from the parent */
        uint8_t parent_span_id[8]; /* all zero for a root span */
        bool has_parent;
        bool sampled;
        char name[CAIRN_SPAN_NAME_MAX];
        enum cairn_span_kind kind;
        int64_t start_ns, end_ns; /* unix nanoseconds */
        enum cairn_span_status status;
        char status_msg[CAIRN_SPAN_MSG_MAX];
        struct cairn_attr attrs[CAIRN_SPAN_MAX_ATTRS];
        size_t nattrs;
        size_t dropped_attrs; /* attributes that did not fit */
        char strings[CAIRN_SPAN_STRINGS];
        size_t strings_len;
        /* Text forms, for headers and log lines. */
        char trace_id_hex[33];
        char span_id_hex[17];
        char traceparent[CAIRN_TRACEPARENT_LEN + 1];
};

/* True when tracing is on (an endpoint is configured and export runs). */
bool cairn_trace_enabled(void);

/* Starts a span named @p name (copied, cut to CAIRN_SPAN_NAME_MAX - 1
 * bytes) of @p kind, a child of @p parent (borrowed; NULL for a new trace),
 * sampled as the configured sampler says. A span that is not sampled still
 * has ids, so its context propagates with the sampled flag clear.
 * Returns NULL when tracing is off. The caller owns the span until
 * cairn_span_end(). */
struct cairn_span *cairn_span_start(const char *name, enum cairn_span_kind kind,
                                    const struct cairn_span_ctx *parent);

/* Attributes. @p key is borrowed (use literals). String values are copied;
 * what does not fit is cut (on a UTF-8 boundary) or dropped and counted.
 * Setting a key again adds a second entry: set each key once. */
void cairn_span_set_str(struct cairn_span *span, const char *key, const char *value);
void cairn_span_set_int(struct cairn_span *span, const char *key, int64_t value);
void cairn_span_set_bool(struct cairn_span *span, const char *key, bool value);

/* Sets the status; @p fmt (may be NULL) describes an error. */
void cairn_span_set_status(struct cairn_span *span, enum cairn_span_status status, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));

/* Ends @p span now and gives it up: to the export queue when sampled (never
 * blocks: a full queue drops it and counts the drop), freed otherwise. */
void cairn_span_end(struct cairn_span *span);

/* Ends @p span with the outcome of a call: CAIRN_OK leaves the status
 * unset; an error sets status ERROR with @p message (may be NULL) and the
 * attribute error.type to the gRPC code name. Takes @p span like
 * cairn_span_end(). */
void cairn_span_end_err(struct cairn_span *span, cairn_err_t err, const char *message);

/* ---- the span this thread works under ---- */

/* Makes @p span (may be NULL) the current span of this thread, returning
 * the previous one; restore it when done. @p span is borrowed. */
struct cairn_span *cairn_trace_set_current(struct cairn_span *span);

/* The context of this thread's current span, or NULL (none, or tracing off).
 * Borrowed: valid until that span ends. */
const struct cairn_span_ctx *cairn_trace_current(void);

/* Writes the traceparent value an outgoing HTTP request should carry
 * ("traceparent: <value>"), from this thread's current span. Returns false
 * (and writes "") when there is none. */
bool cairn_trace_inject_http(char out[CAIRN_TRACEPARENT_LEN + 1]);

/* ---- spans the runtime makes ---- */

/* A SERVER span for an HTTP request, named "<method> <route>" (or
 * "<method>" without a route), a child of the request's traceparent and
 * tracestate when valid (either may be NULL), with the HTTP semantic
 * conventions: http.request.method, url.path, http.route, server.address,
 * user_agent.original (NULL values are left out). NULL when tracing is off. */
struct cairn_span *cairn_trace_http_server_start(const char *method, const char *route,
                                                 const char *path, const char *traceparent,
                                                 const char *tracestate, const char *server_address,
                                                 const char *user_agent);

/* Sets http.response.status_code on an HTTP SERVER span; 5xx sets status
 * ERROR and error.type (4xx is the client's error and leaves the status
 * unset, as the conventions say). */
void cairn_trace_http_server_status(struct cairn_span *span, int status_code);

/* cairn_trace_http_server_status(), then cairn_span_end(). */
void cairn_trace_http_server_end(struct cairn_span *span, int status_code);

/* ---- lifecycle ---- */

/* Reads the OTEL_* environment (docs/observability.md) for the service
 * @p service (OTEL_SERVICE_NAME defaults to cairn-<service>) and, when an
 * endpoint is set, starts the exporter thread and registers its metrics in
 * @p metrics (borrowed; must outlive cairn_trace_shutdown(); may be NULL).
 * Problems with optional variables are logged and their defaults used, as
 * OpenTelemetry SDKs do. Returns 0 (tracing on or off), -1 with @p errstr
 * when the exporter cannot start. Call once before spans are made;
 * callable again after cairn_trace_shutdown(). */
int cairn_trace_init(const char *service, struct cairn_metrics *metrics, char *errstr,
                     size_t errstr_size);

/* Turns tracing off, exports what is queued (waiting at most the export
 * timeout, capped at 5 s) and stops the exporter. Spans ended afterwards are
 * freed. Safe to call when tracing never started. */
void cairn_trace_shutdown(void);

#endif

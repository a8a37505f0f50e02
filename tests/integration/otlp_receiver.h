/* A small OTLP/HTTP trace receiver for tests and benchmarks: libmicrohttpd
 * on 127.0.0.1 (a free port), POST /v1/traces with JSON bodies, parsed with
 * jansson into flat span records kept in memory. */
#ifndef CAIRN_TEST_OTLP_RECEIVER_H
#define CAIRN_TEST_OTLP_RECEIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define OTLP_MAX_ATTRS 24

/* One received span; attribute values are text (ints in decimal, bools as
 * "true"/"false"). */
struct otlp_span {
        char service[64]; /* resource service.name */
        char trace_id[33];
        char span_id[17];
        char parent_span_id[17]; /* "" for a root */
        char name[256];
        int kind;
        int status_code;
        char status_msg[256];
        size_t nattrs;
        char attr_key[OTLP_MAX_ATTRS][64];
        char attr_val[OTLP_MAX_ATTRS][256];
};

struct otlp_receiver {
        struct MHD_Daemon *daemon;
        int port;
        bool keep; /* false: only count spans (benchmarks) */
        pthread_mutex_t lock;
        struct otlp_span *spans;
        size_t nspans, cap;
        size_t counted; /* spans received, kept or not */
        size_t requests, bad_requests;
};

/* Starts listening; @p keep as above. Aborts the test on failure. */
void otlp_receiver_start(struct otlp_receiver *r, bool keep);

/* Stops listening (connections are refused afterwards); the spans stay. */
void otlp_receiver_stop(struct otlp_receiver *r);

/* Frees the spans; after otlp_receiver_stop(). */
void otlp_receiver_free(struct otlp_receiver *r);

/* "http://127.0.0.1:<port>" into @p buf. */
void otlp_receiver_endpoint(const struct otlp_receiver *r, char *buf, size_t size);

/* Waits up to @p timeout_ms for a span of @p service (NULL: any) whose
 * attribute @p key equals @p value, and copies it into @p out. */
bool otlp_receiver_wait(struct otlp_receiver *r, const char *service, const char *key,
                        const char *value, struct otlp_span *out, int timeout_ms);

/* The value of attribute @p key of @p s, or NULL. */
const char *otlp_span_attr(const struct otlp_span *s, const char *key);

size_t otlp_receiver_count(struct otlp_receiver *r);

#endif

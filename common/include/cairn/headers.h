/* The Kafka header contract (docs/topics.md): CloudEvents binary mode plus
 * Cairn's reply and deadline headers, read from and written to librdkafka
 * header lists. Parsing never trusts the bytes: every value is length-checked
 * and numbers are validated. */
#ifndef CAIRN_HEADERS_H
#define CAIRN_HEADERS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#define CAIRN_H_SPECVERSION   "ce_specversion"
#define CAIRN_H_ID            "ce_id"
#define CAIRN_H_SOURCE        "ce_source"
#define CAIRN_H_TYPE          "ce_type"
#define CAIRN_H_TIME          "ce_time"
#define CAIRN_H_CONTENT_TYPE  "content-type"
#define CAIRN_H_TRACEPARENT   "traceparent"
#define CAIRN_H_TRACESTATE    "tracestate"
#define CAIRN_H_AUTHORIZATION "authorization"
#define CAIRN_H_REQUEST_ID    "cairn_request_id"
#define CAIRN_H_PRINCIPAL     "cairn_principal" /* who the caller acts for (trusted producers) */
#define CAIRN_H_ROLE          "cairn_role"
#define CAIRN_H_REPLY_TO      "cairn_reply_to"
#define CAIRN_H_REPLY_PART    "cairn_reply_partition"
#define CAIRN_H_DEADLINE      "cairn_deadline"
#define CAIRN_H_CORRELATION   "cairn_correlation_id"
#define CAIRN_H_DLQ_REASON    "cairn_dlq_reason" /* one of CAIRN_DLQ_* below */
#define CAIRN_H_DLQ_DETAIL    "cairn_dlq_detail" /* the same, for people */
#define CAIRN_H_DLQ_CODE      "cairn_dlq_code"
#define CAIRN_H_DLQ_TOPIC     "cairn_dlq_topic"
#define CAIRN_H_DLQ_PARTITION "cairn_dlq_partition"
#define CAIRN_H_DLQ_OFFSET    "cairn_dlq_offset"

/* The closed set of cairn_dlq_reason tokens (docs/topics.md): machine-readable,
 * stable, and the label of cairn_bus_dlq_total{reason}. */
#define CAIRN_DLQ_BAD_HEADERS  "bad_headers"  /* a header malformed or missing */
#define CAIRN_DLQ_UNKNOWN_TYPE "unknown_type" /* no handler for ce_type */
#define CAIRN_DLQ_UNDECODABLE  "undecodable"  /* value does not decode as ce_type */
#define CAIRN_DLQ_REPLY_FAILED "reply_failed" /* the broker refused the reply */

#define CAIRN_CONTENT_TYPE_PROTOBUF "application/protobuf"
#define CAIRN_STATUS_TYPE           "cairn.v1.Status"

#define CAIRN_HEADER_MAX 256  /* longest value accepted (bytes, excluding NUL) */
#define CAIRN_AUTH_MAX   8192 /* longest authorization value accepted */

/* What the runtime needs from a message's headers, copied out and
 * NUL-terminated. Absent values are empty strings; reply_partition is -1 and
 * deadline_ms 0 when absent. */
struct cairn_msg_headers {
        char id[CAIRN_HEADER_MAX + 1];
        char type[CAIRN_HEADER_MAX + 1];
        char source[CAIRN_HEADER_MAX + 1];
        char specversion[16];
        char content_type[64];
        char reply_to[CAIRN_HEADER_MAX + 1];
        char correlation_id[CAIRN_HEADER_MAX + 1];
        char principal[CAIRN_HEADER_MAX + 1]; /* "" when absent */
        char role[32];                        /* "" when absent */
        char traceparent[64];
        char tracestate[512 + 1]; /* W3C: at least 512 characters are forwarded */
        int32_t reply_partition;
        int64_t deadline_ms;
};

/* Reads the Cairn headers from @p hdrs (may be NULL). Returns false with a
 * reason in @p why when a header is present but malformed (oversize, not
 * UTF-8 text, not a decimal number, a number out of range); absent headers
 * are fine. Headers the struct does not hold (authorization, ce_time,
 * cairn_request_id) are checked all the same, so no service sees a message
 * that breaks the documented limits: CAIRN_AUTH_MAX bytes for
 * authorization, CAIRN_HEADER_MAX for the others (less where a field of
 * the struct is smaller).
 * traceparent and tracestate are never a reason to refuse (W3C Trace
 * Context: what cannot be used is ignored): when oversize or not text they
 * are left empty. Their contents are checked by cairn/trace.h. */
bool cairn_headers_parse(const rd_kafka_headers_t *hdrs, struct cairn_msg_headers *out, char *why,
                         size_t why_size);

/* Copies the value of the last header @p name into @p buf (NUL-terminated).
 * Returns the value length, -1 when absent, -2 when longer than size - 1. */
int cairn_headers_get(const rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t size);

/* Strict decimal parse of a header value: digits only, optional leading '-',
 * no overflow. */
bool cairn_parse_i64(const char *s, int64_t *out);

/* Adds a NUL-terminated string header. */
void cairn_headers_add(rd_kafka_headers_t *hdrs, const char *name, const char *value);
void cairn_headers_add_i64(rd_kafka_headers_t *hdrs, const char *name, int64_t value);

/* Writes a random (version 4) UUID, 36 characters + NUL. */
void cairn_uuid(char out[37]);

/* Writes a time-ordered (version 7, RFC 9562) UUID for @p unix_ms: the
 * milliseconds in the first 48 bits, then random bits; ids made later sort
 * after, so they index like a sequence. 36 characters + NUL. */
void cairn_uuid7(char out[37], int64_t unix_ms);

#endif

/* Reading and writing the Kafka headers of the messaging contract. Header
 * bytes come from anyone who can produce to a topic: nothing here trusts
 * their length, encoding or numbers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "cairn/headers.h"
#include "cairn/random.h"
#include "cairn/utf8.h"

int cairn_headers_get(const rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t size)
{
        const void *val;
        size_t len;

        if (!hdrs || rd_kafka_header_get_last(hdrs, name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return -1;
        if (!val)
                len = 0;
        if (len + 1 > size)
                return -2;
        if (len)
                memcpy(buf, val, len);
        buf[len] = '\0';
        return (int)len;
}

bool cairn_parse_i64(const char *s, int64_t *out)
{
        int64_t v = 0;
        bool neg = false;

        if (*s == '-') {
                neg = true;
                s++;
        }
        if (!*s)
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
                int d = *s - '0';
                if (v > (INT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *out = neg ? -v : v;
        return true;
}

/* Copies a text header; false (with why) when it is too long, has a NUL
 * inside or is not UTF-8. Absent is fine: buf becomes "". */
static bool get_text(const rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t size,
                     char *why, size_t why_size)
{
        int n = cairn_headers_get(hdrs, name, buf, size);

        if (n == -1) {
                buf[0] = '\0';
                return true;
        }
        if (n == -2) {
                snprintf(why, why_size, "header %s is longer than %zu bytes", name, size - 1);
                buf[0] = '\0';
                return false;
        }
        if (strlen(buf) != (size_t)n || !cairn_utf8_valid(buf, (size_t)n)) {
                snprintf(why, why_size, "header %s is not UTF-8 text", name);
                buf[0] = '\0';
                return false;
        }
        return true;
}

/* True for what cairn_parse_i64() reads, whatever the magnitude: tells a
 * number that does not fit from text that is no number at all. */
static bool is_decimal(const char *s)
{
        if (*s == '-')
                s++;
        return *s && strspn(s, "0123456789") == strlen(s);
}

static bool get_number(const rd_kafka_headers_t *hdrs, const char *name, int64_t *out, char *why,
                       size_t why_size)
{
        char buf[CAIRN_HEADER_MAX + 1];

        if (!get_text(hdrs, name, buf, sizeof(buf), why, why_size))
                return false;
        if (!buf[0])
                return true;
        if (!is_decimal(buf)) {
                snprintf(why, why_size, "header %s is not a decimal number", name);
                return false;
        }
        if (!cairn_parse_i64(buf, out)) {
                snprintf(why, why_size, "header %s is out of range", name);
                return false;
        }
        return true;
}

/* Checks a text header the runtime passes on without keeping a copy here,
 * against the same rules as get_text(): at most @p max bytes, no NUL,
 * UTF-8. Absent is fine. */
static bool check_text(const rd_kafka_headers_t *hdrs, const char *name, size_t max, char *why,
                       size_t why_size)
{
        const void *val;
        size_t len;

        if (!hdrs ||
            rd_kafka_header_get_last(hdrs, name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !val)
                return true;
        if (len > max) {
                snprintf(why, why_size, "header %s is longer than %zu bytes", name, max);
                return false;
        }
        if (memchr(val, '\0', len) || !cairn_utf8_valid(val, len)) {
                snprintf(why, why_size, "header %s is not UTF-8 text", name);
                return false;
        }
        return true;
}

bool cairn_headers_parse(const rd_kafka_headers_t *hdrs, struct cairn_msg_headers *out, char *why,
                         size_t why_size)
{
        int64_t part = -1;
        bool ok = true;
        char ignored[128];

        memset(out, 0, sizeof(*out));
        out->reply_partition = -1;
        /* Read everything even after a failure, so a Status reply can still
         * be addressed when only an unrelated header is bad. */
        ok &= get_text(hdrs, CAIRN_H_ID, out->id, sizeof(out->id), why, why_size);
        ok &= get_text(hdrs, CAIRN_H_TYPE, out->type, sizeof(out->type), why, why_size);
        ok &= get_text(hdrs, CAIRN_H_SOURCE, out->source, sizeof(out->source), why, why_size);
        ok &= get_text(hdrs, CAIRN_H_SPECVERSION, out->specversion, sizeof(out->specversion), why,
                       why_size);
        ok &= get_text(hdrs, CAIRN_H_CONTENT_TYPE, out->content_type, sizeof(out->content_type),
                       why, why_size);
        ok &= get_text(hdrs, CAIRN_H_REPLY_TO, out->reply_to, sizeof(out->reply_to), why, why_size);
        ok &= get_text(hdrs, CAIRN_H_CORRELATION, out->correlation_id, sizeof(out->correlation_id),
                       why, why_size);
        ok &= get_text(hdrs, CAIRN_H_PRINCIPAL, out->principal, sizeof(out->principal), why,
                       why_size);
        ok &= get_text(hdrs, CAIRN_H_ROLE, out->role, sizeof(out->role), why, why_size);
        /* Trace context that cannot be used is ignored, not refused. */
        get_text(hdrs, CAIRN_H_TRACEPARENT, out->traceparent, sizeof(out->traceparent), ignored,
                 sizeof(ignored));
        get_text(hdrs, CAIRN_H_TRACESTATE, out->tracestate, sizeof(out->tracestate), ignored,
                 sizeof(ignored));
        /* Not kept here, but under the same limits: a service must never
         * see an authorization the documented contract refuses. */
        ok &= check_text(hdrs, CAIRN_H_AUTHORIZATION, CAIRN_AUTH_MAX, why, why_size);
        ok &= check_text(hdrs, CAIRN_H_TIME, CAIRN_HEADER_MAX, why, why_size);
        ok &= check_text(hdrs, CAIRN_H_REQUEST_ID, CAIRN_HEADER_MAX, why, why_size);
        ok &= get_number(hdrs, CAIRN_H_DEADLINE, &out->deadline_ms, why, why_size);
        if (get_number(hdrs, CAIRN_H_REPLY_PART, &part, why, why_size)) {
                if (part < -1 || part > INT32_MAX) {
                        snprintf(why, why_size, "header %s is out of range", CAIRN_H_REPLY_PART);
                        ok = false;
                } else {
                        out->reply_partition = (int32_t)part;
                }
        } else {
                ok = false;
        }
        if (out->deadline_ms < 0) {
                snprintf(why, why_size, "header %s is negative", CAIRN_H_DEADLINE);
                out->deadline_ms = 0;
                ok = false;
        }
        return ok;
}

void cairn_headers_add(rd_kafka_headers_t *hdrs, const char *name, const char *value)
{
        rd_kafka_header_add(hdrs, name, -1, value, -1);
}

void cairn_headers_add_i64(rd_kafka_headers_t *hdrs, const char *name, int64_t value)
{
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%lld", (long long)value);

        rd_kafka_header_add(hdrs, name, -1, buf, n);
}

/* A version 4 (random) UUID from the buffered random bytes: libuuid's own
 * generator re-seeds its fallback PRNG with five system calls per UUID. */
void cairn_uuid(char out[37])
{
        uuid_t u;

        /* cppcheck-suppress uninitvar ; cairn_random() fills u */
        cairn_random(u, sizeof(u));
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* variant RFC 4122 */
        uuid_unparse_lower(u, out);
}

void cairn_uuid7(char out[37], int64_t unix_ms)
{
        uuid_t u;

        /* cppcheck-suppress uninitvar ; cairn_random() fills u */
        cairn_random(u, sizeof(u));
        for (int i = 0; i < 6; i++)
                u[i] = (uint8_t)((uint64_t)unix_ms >> (40 - 8 * i));
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x70); /* version 7 */
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* variant RFC 4122 */
        uuid_unparse_lower(u, out);
}

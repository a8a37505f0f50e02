/* A service played by the test itself on raw librdkafka clients
 * (fake_service.c): it takes the next request from its topic and answers
 * with whatever headers and bytes the test wants, well-formed or not. */
#ifndef CAIRN_TESTS_FAKE_SERVICE_H
#define CAIRN_TESTS_FAKE_SERVICE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/headers.h"

/* What a request said about itself. */
struct fake_request {
        char id[CAIRN_HEADER_MAX + 1];
        char traceparent[CAIRN_HEADER_MAX + 1]; /* empty when absent */
        char reply_to[CAIRN_HEADER_MAX + 1];
        int32_t partition;
};

/* The next request on @p in (a consumer with its partitions assigned),
 * waiting up to @p timeout_ms; fails the test when none comes. */
void fake_service_receive(rd_kafka_t *in, int timeout_ms, struct fake_request *r);

/* fake_service_receive(), and the request's ce_type into @p type (of
 * @p type_size bytes; may be NULL) and its bytes into *@p payload
 * (malloc'ed, the caller frees it; may be NULL). */
void fake_service_receive_msg(rd_kafka_t *in, int timeout_ms, struct fake_request *r, char *type,
                              size_t type_size, uint8_t **payload, size_t *len);

/* Answers @p r through @p out with @p len bytes of @p payload, typed
 * @p type and correlated to @p corr (each NULL: header left out), and waits
 * until it is delivered. */
void fake_service_answer(rd_kafka_t *out, const struct fake_request *r, const char *corr,
                         const char *type, const void *payload, size_t len);

#endif

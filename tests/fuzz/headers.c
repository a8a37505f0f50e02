/* Fuzz target: Kafka headers as anyone can produce them. The input is split
 * into name/value pairs at 0x00 bytes; the runtime's parser must accept or
 * refuse every combination without reading out of bounds. */
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn/headers.h"

static const char *const names[] = {
        CAIRN_H_ID,           CAIRN_H_TYPE,        CAIRN_H_SOURCE,     CAIRN_H_SPECVERSION,
        CAIRN_H_CONTENT_TYPE, CAIRN_H_REPLY_TO,    CAIRN_H_REPLY_PART, CAIRN_H_DEADLINE,
        CAIRN_H_CORRELATION,  CAIRN_H_TRACEPARENT, CAIRN_H_TRACESTATE, CAIRN_H_AUTHORIZATION,
        CAIRN_H_TIME,         CAIRN_H_REQUEST_ID,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(16);
        struct cairn_msg_headers m;
        char why[256];
        size_t pos = 0;

        /* First byte of each chunk picks the header name, the rest is the
         * value, chunks end at 0x00. Values keep their exact bytes. */
        while (pos < size) {
                const uint8_t *end = memchr(data + pos, 0, size - pos);
                size_t len = end ? (size_t)(end - (data + pos)) : size - pos;

                /* cppcheck-suppress knownConditionTrueFalse ; a chunk may be empty */
                if (len > 0) {
                        const char *name = names[data[pos] % (sizeof(names) / sizeof(names[0]))];
                        rd_kafka_header_add(hdrs, name, -1, data + pos + 1, (ssize_t)(len - 1));
                }
                pos += len + 1;
        }
        cairn_headers_parse(hdrs, &m, why, sizeof(why));
        rd_kafka_headers_destroy(hdrs);
        return 0;
}

/* The test's own service on raw clients (fake_service.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fake_service.h"

void fake_service_receive(rd_kafka_t *in, int timeout_ms, struct fake_request *r)
{
        fake_service_receive_msg(in, timeout_ms, r, NULL, 0, NULL, NULL);
}

void fake_service_receive_msg(rd_kafka_t *in, int timeout_ms, struct fake_request *r, char *type,
                              size_t type_size, uint8_t **payload, size_t *len)
{
        rd_kafka_message_t *rkm = NULL;
        rd_kafka_headers_t *hdrs = NULL;
        char part[32];

        for (int waited = 0; waited < timeout_ms && !rkm; waited += 100) {
                rkm = rd_kafka_consumer_poll(in, 100);
                if (rkm && rkm->err) {
                        rd_kafka_message_destroy(rkm);
                        rkm = NULL;
                }
        }
        ck_assert_msg(rkm != NULL, "no request reached the fake service");
        ck_assert_int_eq(rd_kafka_message_headers(rkm, &hdrs), 0);
        ck_assert_int_gt(cairn_headers_get(hdrs, CAIRN_H_ID, r->id, sizeof(r->id)), 0);
        ck_assert_int_gt(cairn_headers_get(hdrs, CAIRN_H_REPLY_TO, r->reply_to,
                                           sizeof(r->reply_to)),
                         0);
        ck_assert_int_gt(cairn_headers_get(hdrs, CAIRN_H_REPLY_PART, part, sizeof(part)), 0);
        r->partition = atoi(part);
        if (cairn_headers_get(hdrs, CAIRN_H_TRACEPARENT, r->traceparent, sizeof(r->traceparent)) <
            0)
                r->traceparent[0] = '\0';
        if (type)
                ck_assert_int_gt(cairn_headers_get(hdrs, CAIRN_H_TYPE, type, type_size), 0);
        if (payload) {
                *payload = malloc(rkm->len ? rkm->len : 1);
                ck_assert_ptr_nonnull(*payload);
                if (rkm->len)
                        memcpy(*payload, rkm->payload, rkm->len);
                *len = rkm->len;
        }
        rd_kafka_message_destroy(rkm);
}

void fake_service_answer(rd_kafka_t *out, const struct fake_request *r, const char *corr,
                         const char *type, const void *payload, size_t len)
{
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(4);

        if (corr)
                cairn_headers_add(hdrs, CAIRN_H_CORRELATION, corr);
        if (type)
                cairn_headers_add(hdrs, CAIRN_H_TYPE, type);
        ck_assert_int_eq(rd_kafka_producev(out, RD_KAFKA_V_TOPIC(r->reply_to),
                                           RD_KAFKA_V_PARTITION(r->partition),
                                           RD_KAFKA_V_VALUE((void *)payload, len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
                         0);
        ck_assert_int_eq(rd_kafka_flush(out, 10000), 0);
}

/* The embedding service as a separate process on a dev broker: replies to
 * single and batched requests, a raw request sent with kcat, Status replies
 * and DLQ copies for what cannot be handled, and expired deadlines. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/headers.h"
#include "harness.h"

/* The request topic (and DLQ), this test's own in the Apache pass. */
#define REQUESTS "cairn.embedding.v1.requests"
#define TOPIC    harness_topic(REQUESTS)

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;

static void setup(void)
{
        harness_broker_start(&broker, 3);
        harness_service_start(&svc, &broker, "embedding", NULL);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "embedding not ready (see %s)",
                      svc.log_path);
        harness_client_start(&client, &broker, "itest");
}

static void teardown(void)
{
        harness_client_stop(&client);
        harness_service_stop(&svc, 15000);
        harness_broker_stop(&broker);
}

static Cairn__Embedding__V1__EmbedReply *embed(char **inputs, size_t n, struct cairn_status *st,
                                               cairn_err_t *err)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;

        req.inputs = inputs;
        req.n_inputs = n;
        *err = cairn_bus_call(client.cli, TOPIC, "tenant-a", &req.base, NULL,
                              &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, st);
        return (Cairn__Embedding__V1__EmbedReply *)reply;
}

static double norm(const Cairn__Embedding__V1__Embedding *e)
{
        double s = 0;
        for (size_t i = 0; i < e->n_vector; i++)
                s += (double)e->vector[i] * e->vector[i];
        return sqrt(s);
}

START_TEST(test_embed_single)
{
        char *inputs[] = { "the quick brown fox jumps over the lazy dog" };
        struct cairn_status st;
        cairn_err_t err;
        Cairn__Embedding__V1__EmbedReply *r = embed(inputs, 1, &st, &err);

        ck_assert_msg(err == CAIRN_OK, "call failed: %s: %s", cairn_err_str(err), st.message);
        ck_assert_str_eq(r->model, "cairn-lexical-384");
        ck_assert_uint_eq(r->dimensions, 384);
        ck_assert_uint_eq(r->n_embeddings, 1);
        ck_assert_uint_eq(r->embeddings[0]->n_vector, 384);
        ck_assert_double_eq_tol(norm(r->embeddings[0]), 1.0, 1e-4);
        ck_assert_ptr_nonnull(r->usage);
        ck_assert_uint_gt(r->usage->input_tokens, 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_embed_batch)
{
        char *inputs[] = { "alpha beta", "gamma delta", "epsilon", "zeta eta theta", "iota" };
        struct cairn_status st;
        cairn_err_t err;
        Cairn__Embedding__V1__EmbedReply *r = embed(inputs, 5, &st, &err);

        ck_assert_msg(err == CAIRN_OK, "call failed: %s: %s", cairn_err_str(err), st.message);
        ck_assert_uint_eq(r->n_embeddings, 5);
        for (size_t i = 0; i < 5; i++) {
                ck_assert_uint_eq(r->embeddings[i]->index, i);
                ck_assert_double_eq_tol(norm(r->embeddings[i]), 1.0, 1e-4);
        }
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_embed_invalid_input_gets_status)
{
        char *inputs[] = { "fine", "" };
        struct cairn_status st;
        cairn_err_t err;
        Cairn__Embedding__V1__EmbedReply *r = embed(inputs, 2, &st, &err);

        ck_assert_ptr_null(r);
        ck_assert_int_eq(err, CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "inputs[1]");
        ck_assert_ptr_nonnull(strstr(st.message, "inputs[1]"));
}
END_TEST

START_TEST(test_embed_concurrent_keys)
{
        /* Many callers at once, across keys: each gets its own answer. */
        enum { N = 200 };
        struct cairn_status st;
        int ok = 0;

        for (int i = 0; i < N; i++) {
                char text[64], key[16];
                char *inputs[] = { text };
                Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
                ProtobufCMessage *reply = NULL;

                snprintf(text, sizeof(text), "request number %d", i);
                snprintf(key, sizeof(key), "k%d", i % 17);
                req.inputs = inputs;
                req.n_inputs = 1;
                if (cairn_bus_call(client.cli, TOPIC, key, &req.base, NULL,
                                   &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply,
                                   &st) == CAIRN_OK)
                        ok++;
                if (reply)
                        protobuf_c_message_free_unpacked(reply, NULL);
        }
        ck_assert_int_eq(ok, N);
}
END_TEST

/* ---- raw messages ---- */

static rd_kafka_t *raw_producer(void)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        return rk;
}

/* Produces @p payload with the given header pairs (NULL-terminated). */
static void raw_send(const void *payload, size_t len, const char *const *hdr_pairs)
{
        rd_kafka_t *rk = raw_producer();
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);

        for (size_t i = 0; hdr_pairs[i]; i += 2)
                cairn_headers_add(hdrs, hdr_pairs[i], hdr_pairs[i + 1]);
        ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_KEY("raw", 3),
                                           RD_KAFKA_V_VALUE((void *)payload, len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
                         0);
        ck_assert_int_eq(rd_kafka_flush(rk, 10000), 0);
        rd_kafka_destroy(rk);
}

/* A message read back from a topic, copied out of librdkafka. */
struct found {
        void *payload;
        size_t len;
        rd_kafka_headers_t *hdrs;
};

/* Reads the first message of @p topic partition @p partition (-1: any of
 * its partitions) whose header @p hname equals @p hvalue, within
 * @p timeout_ms; NULL if none. */
static struct found *raw_find(const char *topic, int32_t partition, const char *hname,
                              const char *hvalue, int timeout_ms)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        struct found *found = NULL;

        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", "itest-raw", errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        if (partition >= 0) {
                rd_kafka_topic_partition_list_add(parts, topic, partition)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        } else {
                /* every partition the topic has */
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);

                ck_assert(rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
                ck_assert_int_eq(md->topic_cnt, 1);
                for (int p = 0; p < md->topics[0].partition_cnt; p++)
                        rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
                                RD_KAFKA_OFFSET_BEGINNING;
                rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
        }
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);

        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;
        while (!found && cairn_mono_us() < until) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_headers_t *hdrs = NULL;
                char v[CAIRN_HEADER_MAX + 1];

                if (!rkm)
                        continue;
                if (!rkm->err && rd_kafka_message_headers(rkm, &hdrs) == 0 &&
                    cairn_headers_get(hdrs, hname, v, sizeof(v)) >= 0 && strcmp(v, hvalue) == 0) {
                        found = calloc(1, sizeof(*found));
                        found->len = rkm->len;
                        found->payload = malloc(rkm->len + 1);
                        memcpy(found->payload, rkm->payload, rkm->len);
                        found->hdrs = rd_kafka_headers_copy(hdrs);
                }
                rd_kafka_message_destroy(rkm);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return found;
}

static void raw_free(struct found *f)
{
        rd_kafka_headers_destroy(f->hdrs);
        free(f->payload);
        free(f);
}

static void header_eq(struct found *f, const char *name, const char *want)
{
        char v[CAIRN_HEADER_MAX + 1];

        ck_assert_msg(cairn_headers_get(f->hdrs, name, v, sizeof(v)) >= 0, "no header %s", name);
        ck_assert_str_eq(v, want);
}

START_TEST(test_kcat_raw_protobuf_is_answered)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { "sent by kcat" };
        char dir[] = "/tmp/cairn-kcat-XXXXXX", path[256], cmd[2048];
        uint8_t buf[256];
        size_t len;
        char id[37];

        req.inputs = inputs;
        req.n_inputs = 1;
        len = cairn__embedding__v1__embed_request__pack(&req, buf);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/req.bin", dir);
        FILE *fp = fopen(path, "wb");
        ck_assert_ptr_nonnull(fp);
        fwrite(buf, 1, len, fp);
        fclose(fp);
        cairn_uuid(id);
        snprintf(cmd, sizeof(cmd),
                 "kcat -P -b '%s' -t '%s' -k kcat-key -H ce_specversion=1.0 -H ce_id=%s "
                 "-H ce_type=cairn.embedding.v1.EmbedRequest -H ce_source=kcat "
                 "-H cairn_reply_to=cairn.kcat.replies -H cairn_reply_partition=0 "
                 "-H content-type=application/protobuf '%s' 2>&1",
                 broker.bootstrap, TOPIC, id, path);
        ck_assert_msg(system(cmd) == 0, "kcat failed: %s", cmd);
        unlink(path);
        rmdir(dir);

        struct found *reply = raw_find("cairn.kcat.replies", 0, CAIRN_H_CORRELATION, id, 20000);
        ck_assert_msg(reply != NULL, "no reply on cairn.kcat.replies");
        header_eq(reply, CAIRN_H_TYPE, "cairn.embedding.v1.EmbedReply");
        Cairn__Embedding__V1__EmbedReply *r =
                cairn__embedding__v1__embed_reply__unpack(NULL, reply->len, reply->payload);
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(r->n_embeddings, 1);
        ck_assert_uint_eq(r->embeddings[0]->n_vector, 384);
        cairn__embedding__v1__embed_reply__free_unpacked(r, NULL);
        raw_free(reply);
}
END_TEST

static void expect_rejected(const void *payload, size_t len, const char *type, cairn_err_t code,
                            const char *dlq_reason, const char *dlq_detail_part)
{
        char id[37];
        struct cairn_status st;

        cairn_uuid(id);
        /* clang-format off */
        const char *hdrs[] = { CAIRN_H_SPECVERSION, "1.0", CAIRN_H_ID, id, CAIRN_H_TYPE, type,
                               CAIRN_H_REPLY_TO, "cairn.rawtest.replies", CAIRN_H_REPLY_PART, "0",
                               NULL };
        /* clang-format on */
        raw_send(payload, len, hdrs);

        struct found *reply = raw_find("cairn.rawtest.replies", 0, CAIRN_H_CORRELATION, id, 20000);
        ck_assert_msg(reply != NULL, "no Status reply");
        header_eq(reply, CAIRN_H_TYPE, CAIRN_STATUS_TYPE);
        ck_assert(cairn_status_unpack(reply->payload, reply->len, &st));
        ck_assert_int_eq(st.code, code);
        raw_free(reply);

        struct found *dlq = raw_find(harness_topic(REQUESTS ".dlq"), -1, CAIRN_H_ID, id, 20000);
        ck_assert_msg(dlq != NULL, "no DLQ copy");
        ck_assert_uint_eq(dlq->len, len);
        ck_assert(memcmp(dlq->payload, payload, len) == 0);
        header_eq(dlq, CAIRN_H_DLQ_TOPIC, TOPIC);
        header_eq(dlq, CAIRN_H_DLQ_CODE, cairn_err_str(code));
        header_eq(dlq, CAIRN_H_DLQ_REASON, dlq_reason); /* the token, for tools */
        char detail[CAIRN_HEADER_MAX + 1];
        ck_assert_int_ge(cairn_headers_get(dlq->hdrs, CAIRN_H_DLQ_DETAIL, detail, sizeof(detail)),
                         0);
        ck_assert_msg(strstr(detail, dlq_detail_part), "dlq detail \"%s\"", detail);
        raw_free(dlq);
}

START_TEST(test_garbage_gets_status_and_dlq)
{
        static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99 };

        expect_rejected(garbage, sizeof(garbage), "cairn.embedding.v1.EmbedRequest",
                        CAIRN_ERR_INVALID, CAIRN_DLQ_UNDECODABLE, "does not decode");
        /* the service is still alive and answering */
        char *inputs[] = { "still here" };
        struct cairn_status st;
        cairn_err_t err;
        Cairn__Embedding__V1__EmbedReply *r = embed(inputs, 1, &st, &err);
        ck_assert_int_eq(err, CAIRN_OK);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_unknown_type_gets_status_and_dlq)
{
        expect_rejected("x", 1, "cairn.embedding.v1.NoSuchRequest", CAIRN_ERR_UNIMPLEMENTED,
                        CAIRN_DLQ_UNKNOWN_TYPE, "unknown ce_type");
}
END_TEST

START_TEST(test_expired_deadline_is_dropped)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { "too late" };
        uint8_t buf[128];
        char id[37], deadline[24];
        double before = harness_metric(svc.admin_port, "cairn_bus_deadline_dropped_total");

        req.inputs = inputs;
        req.n_inputs = 1;
        size_t len = cairn__embedding__v1__embed_request__pack(&req, buf);
        cairn_uuid(id);
        snprintf(deadline, sizeof(deadline), "%lld", (long long)(cairn_now_ms() - 1000));
        /* clang-format off */
        const char *hdrs[] = { CAIRN_H_ID, id, CAIRN_H_TYPE, "cairn.embedding.v1.EmbedRequest",
                               CAIRN_H_REPLY_TO, "cairn.deadline.replies", CAIRN_H_REPLY_PART, "0",
                               CAIRN_H_DEADLINE, deadline, NULL };
        /* clang-format on */
        raw_send(buf, len, hdrs);

        harness_wait_metric(svc.admin_port, "cairn_bus_deadline_dropped_total", before + 1, 10000);
        ck_assert_double_eq(harness_metric(svc.admin_port, "cairn_bus_deadline_dropped_total"),
                            before + 1);
        /* and nothing was answered */
        struct found *reply = raw_find("cairn.deadline.replies", 0, CAIRN_H_CORRELATION, id, 1500);
        ck_assert_ptr_null(reply);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0001-embed_roundtrip");
        TCase *tc = tcase_create("roundtrip");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_embed_single);
        tcase_add_test(tc, test_embed_batch);
        tcase_add_test(tc, test_embed_invalid_input_gets_status);
        tcase_add_test(tc, test_embed_concurrent_keys);
        tcase_add_test(tc, test_kcat_raw_protobuf_is_answered);
        tcase_add_test(tc, test_garbage_gets_status_and_dlq);
        tcase_add_test(tc, test_unknown_type_gets_status_and_dlq);
        tcase_add_test(tc, test_expired_deadline_is_dropped);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* What only a real broker shows about producing (run only in the Apache
 * pass): idempotent producers across a broker restart (every request is in
 * the request topic exactly once, and answered exactly once to its caller),
 * and requests over the size limits fail quickly with RESOURCE_EXHAUSTED
 * instead of hanging until the deadline. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/headers.h"
#include "harness.h"

#define TOPIC harness_topic("cairn.embedding.v1.requests")
#define N     600

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;

static atomic_int replies_ok;
static atomic_int replies_err;
static atomic_int answered[N];
static char ids[N][37];
static char first_error[CAIRN_STATUS_MSG_MAX + 64];

static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        int i = (int)(intptr_t)opaque;

        atomic_fetch_add(&answered[i], 1);
        if (reply->err == CAIRN_OK)
                atomic_fetch_add(&replies_ok, 1);
        else if (atomic_fetch_add(&replies_err, 1) == 0)
                snprintf(first_error, sizeof(first_error), "%s: %s", cairn_err_str(reply->err),
                         reply->st.message);
}

static void setup(void)
{
        /* Sessions that outlive the restart, as production's 45 s do: the
         * service and the client stay in their groups, keep their
         * partitions, and calls made while the broker is down wait in the
         * producer instead of being refused for want of a reply partition
         * (the tests' 3 s session would end before a slow stop does). */
        const char *extra = getenv("TESTS_KAFKA_SETTINGS");
        char settings[1024];

        snprintf(settings, sizeof(settings), "%s CAIRN_KAFKA_SESSION_TIMEOUT_MS=45000",
                 extra ? extra : "");
        setenv("TESTS_KAFKA_SETTINGS", settings, 1);
        harness_broker_start(&broker, 1);
        harness_service_start(&svc, &broker, "embedding", NULL);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "not ready (see %s)", svc.log_path);
        harness_client_start(&client, &broker, "restarttest");
}

static void teardown(void)
{
        harness_client_stop(&client);
        harness_service_stop(&svc, 15000);
        harness_broker_stop(&broker);
}

/* Counts, over every partition of @p topic, the messages whose ce_id is
 * ids[i], into @p count[i]; returns the number of messages read. */
static int count_ids(const char *topic, int *count)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        const struct rd_kafka_metadata *md = NULL;
        int64_t total = 0, read = 0;

        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", harness_topic("itest-count"), errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
        ck_assert_int_eq(md->topic_cnt, 1);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
        for (int p = 0; p < md->topics[0].partition_cnt; p++) {
                int64_t lo, hi;

                ck_assert_int_eq(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000),
                                 0);
                total += hi - lo;
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);

        int64_t until = cairn_mono_us() + 30 * 1000000LL;
        while (read < total && cairn_mono_us() < until) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 200);
                rd_kafka_headers_t *hdrs = NULL;
                char id[CAIRN_HEADER_MAX + 1];

                if (!rkm)
                        continue;
                if (!rkm->err) {
                        read++;
                        if (rd_kafka_message_headers(rkm, &hdrs) == 0 &&
                            cairn_headers_get(hdrs, CAIRN_H_ID, id, sizeof(id)) >= 0)
                                for (int i = 0; i < N; i++)
                                        if (strcmp(ids[i], id) == 0)
                                                count[i]++;
                }
                rd_kafka_message_destroy(rkm);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        ck_assert_msg(read == total, "read %lld of %lld messages of %s", (long long)read,
                      (long long)total, topic);
        return (int)read;
}

/* Sends request @p i (its text @p text, its ce_id ids[i]) without waiting. */
static cairn_err_t submit(int i, char *text, struct cairn_status *st)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { text };
        /* no_wait: refused at once, not held for the call's whole timeout,
         * while the client has no reply partition (the broker is down) */
        struct cairn_call_opts opts = { .timeout_ms = 120000, .ce_id = ids[i], .no_wait = true };

        req.inputs = inputs;
        req.n_inputs = 1;
        return cairn_bus_call_async(client.cli, TOPIC, text + 8, &req.base, &opts, on_reply,
                                    (void *)(intptr_t)i, st);
}

START_TEST(test_idempotent_producers_across_broker_restart)
{
        static char text[N][48];
        static int in_topic[N];
        struct cairn_status st;

        static int deferred[N];
        int ndeferred = 0;

        for (int i = 0; i < N; i++) {
                cairn_err_t err;

                cairn_uuid(ids[i]);
                snprintf(text[i], sizeof(text[i]), "message %d of the restart test", i);
                err = submit(i, text[i], &st);
                if (err == CAIRN_ERR_UNAVAILABLE && broker.down) {
                        /* The client refuses calls once its reply consumer
                         * has lost its group (a stop slower than the session
                         * timeout): the caller sends them again later, with
                         * the same ce_id. */
                        deferred[ndeferred++] = i;
                } else {
                        ck_assert_msg(err == CAIRN_OK, "request %d: %s", i, st.message);
                }
                /* Spread the requests over the restart. */
                if (i == N / 3) {
                        while (atomic_load(&replies_ok) < 100)
                                usleep(1000);
                        harness_broker_down(&broker);
                        printf("broker stopped after %d replies\n", atomic_load(&replies_ok));
                }
                if (i == N / 2) {
                        harness_broker_up(&broker);
                        printf("broker back after %d replies\n", atomic_load(&replies_ok));
                }
        }

        if (ndeferred)
                printf("%d requests refused while the broker was down, sent again\n", ndeferred);
        for (int k = 0; k < ndeferred; k++) {
                int64_t give_up = cairn_mono_us() + 60 * 1000000LL;
                cairn_err_t err;

                /* until the client has a reply partition and a closed breaker again */
                while ((err = submit(deferred[k], text[deferred[k]], &st)) != CAIRN_OK &&
                       cairn_mono_us() < give_up)
                        usleep(200 * 1000);
                ck_assert_msg(err == CAIRN_OK, "request %d: %s", deferred[k], st.message);
        }

        int64_t until = cairn_mono_us() + 120 * 1000000LL;
        while (atomic_load(&replies_ok) + atomic_load(&replies_err) < N && cairn_mono_us() < until)
                usleep(20000);
        ck_assert_msg(atomic_load(&replies_err) == 0, "%d errors, first: %s",
                      atomic_load(&replies_err), first_error);
        ck_assert_int_eq(atomic_load(&replies_ok), N);
        for (int i = 0; i < N; i++)
                ck_assert_msg(atomic_load(&answered[i]) == 1, "request %d answered %d times", i,
                              atomic_load(&answered[i]));

        /* The producer retried across the restart; idempotence kept every
         * request in the topic once. */
        int read = count_ids(TOPIC, in_topic);
        printf("request topic holds %d messages\n", read);
        for (int i = 0; i < N; i++)
                ck_assert_msg(in_topic[i] == 1, "request %d is in the topic %d times", i,
                              in_topic[i]);
}
END_TEST

/* Lowers the request topic's max.message.bytes to @p bytes. */
static void topic_limit_set(const char *topic, const char *bytes)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                                     topic);
        rd_kafka_ConfigResource_set_config(res, "max.message.bytes", bytes);
        rd_kafka_AlterConfigs(rk, &res, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
        ck_assert_ptr_nonnull(ev);
        ck_assert_msg(!rd_kafka_event_error(ev), "%s", rd_kafka_event_error_string(ev));
        size_t cnt;
        const rd_kafka_ConfigResource_t **rr =
                rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev),
                                                       &cnt);
        ck_assert_uint_eq(cnt, 1);
        ck_assert_msg(!rd_kafka_ConfigResource_error(rr[0]), "%s",
                      rd_kafka_ConfigResource_error_string(rr[0]));
        rd_kafka_event_destroy(ev);
        rd_kafka_ConfigResource_destroy(res);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
}

/* An EmbedRequest of @p n inputs of 30,000 bytes each. */
static cairn_err_t embed_big(size_t n, struct cairn_status *st)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        struct cairn_call_opts opts = { .timeout_ms = 60000 };
        char **inputs = calloc(n, sizeof(*inputs));
        char *text = malloc(30001);
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        memset(text, 'a', 30000);
        text[30000] = '\0';
        for (size_t i = 0; i < n; i++)
                inputs[i] = text;
        req.inputs = inputs;
        req.n_inputs = n;
        err = cairn_bus_call(client.cli, TOPIC, "big", &req.base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, st);
        if (reply)
                protobuf_c_message_free_unpacked(reply, NULL);
        free(inputs);
        free(text);
        return err;
}

START_TEST(test_oversized_requests_fail_fast)
{
        struct cairn_status st;
        cairn_err_t err;

        /* Over the producer's own message.max.bytes (1,000,000): refused
         * before it leaves the process. */
        err = embed_big(40, &st);
        ck_assert_msg(err == CAIRN_ERR_EXHAUSTED, "got %s: %s", cairn_err_str(err), st.message);
        ck_assert_ptr_nonnull(strstr(st.message, "message.max.bytes"));

        /* Under the producer's limit but over the topic's: the broker
         * refuses it, and the call ends with that answer, not a timeout. */
        topic_limit_set(TOPIC, "100000");
        err = embed_big(10, &st);
        ck_assert_msg(err == CAIRN_ERR_EXHAUSTED, "got %s: %s", cairn_err_str(err), st.message);
        ck_assert_ptr_nonnull(strstr(st.message, "max.message.bytes"));

        /* And the client still works for messages that fit. */
        err = embed_big(2, &st);
        ck_assert_msg(err == CAIRN_OK, "got %s: %s", cairn_err_str(err), st.message);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0101-apache_broker_restart");
        TCase *tc = tcase_create("restart");

        if (!harness_apache()) {
                printf("0101-apache_broker_restart: skipped: needs Apache Kafka (the Apache pass)\n");
                return 0;
        }
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_idempotent_producers_across_broker_restart);
        tcase_add_test(tc, test_oversized_requests_fail_fast);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

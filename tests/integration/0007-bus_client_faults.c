/* The bus client against a service that answers badly and a broker that
 * refuses its request, on an in-process mock cluster: the test plays the
 * service with a raw consumer and producer. A reply without a correlation
 * id is counted as an orphan; one without ce_type, of another type, or that
 * does not decode fails the call as INTERNAL; UNAVAILABLE answers are
 * retried with the same ce_id until the attempts run out; a request the
 * broker refuses as too large after it was queued fails at once with
 * MESSAGE_TOO_LARGE. A call whose deadline has passed, or that reuses the
 * ce_id of one still waiting, is refused before anything is sent; a
 * caller's trace context goes along as given. Dev-broker only: faults need
 * the mock API. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"
#include "cairn/status.h"
#include "cairn/v1/common.pb-c.h"
#include "fake_service.h"
#include "harness.h"

#define TOPIC   "cairn.fake.v1.requests"
#define REPLIES "cairn.faultclient.replies"

/* The Kafka protocol's ApiKey of Produce (not in librdkafka's public headers). */
#define API_PRODUCE 0

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mc;
static struct harness_broker broker;
static struct harness_client client;
static rd_kafka_t *svc_in;  /* the fake service's consumer */
static rd_kafka_t *svc_out; /* and producer */

static void setup(void)
{
        char errstr[512];
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        struct cairn_resilience_conf rconf;

        rd_kafka_conf_set(kc, "log_level", "0", NULL, 0);
        mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        ck_assert_msg(mock_rk != NULL, "%s", errstr);
        mc = rd_kafka_mock_cluster_new(mock_rk, 1);
        ck_assert_ptr_nonnull(mc);
        ck_assert_int_eq(rd_kafka_mock_topic_create(mc, TOPIC, 1, 1), 0);
        ck_assert_int_eq(rd_kafka_mock_topic_create(mc, REPLIES, 1, 1), 0);
        snprintf(broker.bootstrap, sizeof(broker.bootstrap), "%s",
                 rd_kafka_mock_cluster_bootstraps(mc));

        harness_client_start(&client, &broker, "faultclient");
        /* Three quick attempts, and a breaker that stays closed. */
        cairn_resilience_conf_init(&rconf, "fake");
        rconf.max_attempts = 3;
        rconf.base_ms = 1;
        rconf.cap_ms = 5;
        rconf.breaker_failures = 0;
        rconf.breaker_failure_rate = 0;
        cairn_bus_client_resilience(client.cli, "fake", &rconf);

        kc = rd_kafka_conf_new();
        rd_kafka_conf_set(kc, "bootstrap.servers", broker.bootstrap, NULL, 0);
        rd_kafka_conf_set(kc, "group.id", "fake", NULL, 0);
        rd_kafka_conf_set(kc, "fetch.wait.max.ms", "1", NULL, 0);
        svc_in = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof(errstr));
        ck_assert_msg(svc_in != NULL, "%s", errstr);
        rd_kafka_poll_set_consumer(svc_in);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, TOPIC, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        ck_assert_int_eq(rd_kafka_assign(svc_in, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);

        kc = rd_kafka_conf_new();
        rd_kafka_conf_set(kc, "bootstrap.servers", broker.bootstrap, NULL, 0);
        rd_kafka_conf_set(kc, "linger.ms", "0", NULL, 0);
        svc_out = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        ck_assert_msg(svc_out != NULL, "%s", errstr);
}

static void teardown(void)
{
        harness_client_stop(&client);
        rd_kafka_consumer_close(svc_in);
        rd_kafka_destroy(svc_in);
        rd_kafka_destroy(svc_out);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(mock_rk);
}

/* A blocking call on a thread of its own, expecting a StatusDetail. */
struct pending {
        pthread_t thread;
        cairn_err_t err;
        struct cairn_status st;
        ProtobufCMessage *reply;
};

static void *call_main(void *arg)
{
        struct pending *p = arg;
        Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;
        struct cairn_call_opts opts = { .timeout_ms = 10000 };

        req.field = "ask";
        p->err = cairn_bus_call(client.cli, TOPIC, "k", &req.base, &opts,
                                &cairn__v1__status_detail__descriptor, NULL, &p->reply, &p->st);
        return NULL;
}

static void call_start(struct pending *p)
{
        memset(p, 0, sizeof(*p));
        pthread_create(&p->thread, NULL, call_main, p);
}

static void call_end(struct pending *p)
{
        pthread_join(p->thread, NULL);
        if (p->reply)
                protobuf_c_message_free_unpacked(p->reply, NULL);
}

static void receive(struct fake_request *r)
{
        fake_service_receive(svc_in, 10000, r);
}

/* Answers @p r with @p payload, typed @p type and correlated to @p corr
 * (each NULL: header left out). */
static void answer(const struct fake_request *r, const char *corr, const char *type,
                   const void *payload, size_t len)
{
        fake_service_answer(svc_out, r, corr, type, payload, len);
}

static double orphans(void)
{
        char *text = cairn_metrics_render(client.metrics, NULL);
        const char *p = strstr(text, "\ncairn_bus_orphan_replies_total ");
        double v = p ? strtod(p + strlen("\ncairn_bus_orphan_replies_total "), NULL) : -1;

        free(text);
        return v;
}

static const uint8_t not_protobuf[] = { 0xff, 0xff, 0xff };

START_TEST(test_cairn_bus_call_reply_without_correlation_is_orphan)
{
        struct pending p;
        struct fake_request r;
        double before = orphans();

        call_start(&p);
        receive(&r);
        answer(&r, NULL, "cairn.v1.StatusDetail", "", 0);
        for (int i = 0; i < 500 && orphans() == before; i++)
                usleep(10000);
        ck_assert_double_eq(orphans(), before + 1);
        /* the call still waits for its own reply */
        answer(&r, r.id, "cairn.v1.StatusDetail", "", 0);
        call_end(&p);
        ck_assert_int_eq(p.err, CAIRN_OK);
}
END_TEST

START_TEST(test_cairn_bus_call_reply_without_type_fails)
{
        struct pending p;
        struct fake_request r;

        call_start(&p);
        receive(&r);
        answer(&r, r.id, NULL, "", 0);
        call_end(&p);
        ck_assert_int_eq(p.err, CAIRN_ERR_INTERNAL);
        ck_assert_msg(strstr(p.st.message, "got ce_type \"\"") != NULL, "%s", p.st.message);
}
END_TEST

START_TEST(test_cairn_bus_call_reply_of_other_type_fails)
{
        struct pending p;
        struct fake_request r;

        call_start(&p);
        receive(&r);
        answer(&r, r.id, "cairn.v1.Other", "", 0);
        call_end(&p);
        ck_assert_int_eq(p.err, CAIRN_ERR_INTERNAL);
        ck_assert_msg(strstr(p.st.message, "cairn.v1.Other") != NULL, "%s", p.st.message);
}
END_TEST

START_TEST(test_cairn_bus_call_undecodable_reply_fails)
{
        struct pending p;
        struct fake_request r;

        call_start(&p);
        receive(&r);
        answer(&r, r.id, "cairn.v1.StatusDetail", not_protobuf, sizeof(not_protobuf));
        call_end(&p);
        ck_assert_int_eq(p.err, CAIRN_ERR_INTERNAL);
        ck_assert_ptr_null(p.reply);
        ck_assert_msg(strstr(p.st.message, "does not decode") != NULL, "%s", p.st.message);
}
END_TEST

START_TEST(test_cairn_bus_call_retries_run_out)
{
        struct pending p;
        struct fake_request r[3];
        struct cairn_status st;
        uint8_t *buf;
        size_t len;

        cairn_status_clear(&st);
        st.code = CAIRN_ERR_UNAVAILABLE;
        snprintf(st.message, sizeof(st.message), "busy");
        buf = cairn_status_pack(&st, &len);
        call_start(&p);
        for (int i = 0; i < 3; i++) {
                receive(&r[i]);
                answer(&r[i], r[i].id, CAIRN_STATUS_TYPE, buf, len);
        }
        free(buf);
        call_end(&p);
        ck_assert_int_eq(p.err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(p.st.message, "busy");
        /* every attempt carried the same ce_id, its idempotency key */
        ck_assert_str_eq(r[1].id, r[0].id);
        ck_assert_str_eq(r[2].id, r[0].id);
}
END_TEST

START_TEST(test_cairn_bus_call_refused_after_queueing_is_too_large)
{
        struct pending p;

        rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
        call_start(&p);
        call_end(&p);
        ck_assert_int_eq(p.err, CAIRN_ERR_EXHAUSTED);
        ck_assert_str_eq(p.st.reason, CAIRN_BUS_MESSAGE_TOO_LARGE);
}
END_TEST

static void count_cb(const struct cairn_reply *reply, void *opaque)
{
        (void)reply;
        __atomic_add_fetch((int *)opaque, 1, __ATOMIC_SEQ_CST);
}

START_TEST(test_cairn_bus_call_refused_before_sending)
{
        static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;
        struct cairn_call_opts opts = { .deadline_ms = cairn_now_ms() - 1000 };
        struct cairn_status st;
        struct fake_request r;
        int done = 0;

        req.field = "ask";
        ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, "k", &req.base, &opts, count_cb,
                                              &done, &st),
                         CAIRN_ERR_DEADLINE);
        /* the same ce_id twice while the first waits */
        opts = (struct cairn_call_opts){ .ce_id = "reused-id-1", .traceparent = tp };
        ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, "k", &req.base, &opts, count_cb,
                                              &done, &st),
                         CAIRN_OK);
        ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, "k", &req.base, &opts, count_cb,
                                              &done, &st),
                         CAIRN_ERR_CONFLICT);
        ck_assert_msg(strstr(st.message, "reused-id-1") != NULL, "%s", st.message);
        /* only the first reached the service, with the caller's trace */
        receive(&r);
        ck_assert_str_eq(r.id, "reused-id-1");
        ck_assert_str_eq(r.traceparent, tp);
        answer(&r, r.id, "cairn.v1.StatusDetail", "", 0);
        for (int i = 0; i < 500 && __atomic_load_n(&done, __ATOMIC_SEQ_CST) == 0; i++)
                usleep(10000);
        ck_assert_int_eq(__atomic_load_n(&done, __ATOMIC_SEQ_CST), 1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0007-bus_client_faults");
        TCase *tc = tcase_create("faults");

        if (harness_apache()) {
                printf("0007-bus_client_faults: needs librdkafka's mock cluster; skipped on "
                       "Apache Kafka\n");
                return 0;
        }
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_cairn_bus_call_reply_without_correlation_is_orphan);
        tcase_add_test(tc, test_cairn_bus_call_reply_without_type_fails);
        tcase_add_test(tc, test_cairn_bus_call_reply_of_other_type_fails);
        tcase_add_test(tc, test_cairn_bus_call_undecodable_reply_fails);
        tcase_add_test(tc, test_cairn_bus_call_retries_run_out);
        tcase_add_test(tc, test_cairn_bus_call_refused_after_queueing_is_too_large);
        tcase_add_test(tc, test_cairn_bus_call_refused_before_sending);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

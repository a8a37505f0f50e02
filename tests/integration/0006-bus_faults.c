/* The service runtime against broker faults and hostile producers, on an
 * in-process mock cluster whose Produce requests the test can make fail: a
 * reply the broker refuses is copied to the DLQ as reply_failed, a DLQ copy
 * the broker refuses too is given up without stalling the partition,
 * requests with missing or malformed headers (and none at all) are refused
 * as bad_headers before any handler runs, a fire-and-forget request whose
 * handler fails is counted, and a bus (or a client) whose kafka.* setting or
 * topic is refused does not start. Dev-broker only: faults need the mock API. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus_kafka.h"
#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/metrics.h"
#include "cairn/v1/common.pb-c.h"
#include "harness.h"

#define TOPIC   "cairn.faults.v1.requests"
#define DLQ     TOPIC ".dlq"
#define REPLIES "faults.replies"

/* The Kafka protocol's ApiKey of Produce (not in librdkafka's public headers). */
#define API_PRODUCE 0

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mc;
static struct harness_broker broker;
static struct cairn_conf *conf;
static struct cairn_bus_conf bconf;
static struct cairn_metrics *metrics;
static struct cairn_bus *bus;
static pthread_t bus_thread;
static rd_kafka_t *raw; /* the test's own producer */

/* A handler that holds a request with field "hold" until released, so the
 * test can arm a fault between consume and reply. */
static atomic_int held, release_held, handled;

static cairn_err_t test_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                               ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__V1__StatusDetail *in = (const Cairn__V1__StatusDetail *)msg;
        Cairn__V1__StatusDetail *out;

        atomic_fetch_add(&handled, 1);
        if (strcmp(in->field, "fail") == 0)
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "thing", "NO_THING", "no thing");
        if (strcmp(in->field, "hold") == 0) {
                atomic_store(&held, 1);
                while (!atomic_load(&release_held))
                        usleep(1000);
        }
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        cairn__v1__status_detail__init(out);
        out->field = in->field;
        *reply = &out->base;
        return CAIRN_OK;
}

static const struct cairn_handler handlers[] = {
        { &cairn__v1__status_detail__descriptor, test_handle },
        { NULL, NULL },
};

static void *bus_main(void *arg)
{
        (void)arg;
        cairn_bus_run(bus);
        return NULL;
}

static void setup(void)
{
        char errstr[512];
        rd_kafka_conf_t *kc = rd_kafka_conf_new();

        rd_kafka_conf_set(kc, "log_level", "0", NULL, 0);
        mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        ck_assert_msg(mock_rk != NULL, "%s", errstr);
        mc = rd_kafka_mock_cluster_new(mock_rk, 1);
        ck_assert_ptr_nonnull(mc);
        ck_assert_int_eq(rd_kafka_mock_topic_create(mc, TOPIC, 1, 1), 0);
        ck_assert_int_eq(rd_kafka_mock_topic_create(mc, DLQ, 1, 1), 0);
        ck_assert_int_eq(rd_kafka_mock_topic_create(mc, REPLIES, 1, 1), 0);
        snprintf(broker.bootstrap, sizeof(broker.bootstrap), "%s",
                 rd_kafka_mock_cluster_bootstraps(mc));

        conf = harness_kafka_conf(&broker, &bconf);
        bconf.workers = 2;
        metrics = cairn_metrics_new();
        bus = cairn_bus_new("faults", &bconf, conf, handlers, NULL, metrics, errstr,
                            sizeof(errstr));
        ck_assert_msg(bus != NULL, "%s", errstr);
        pthread_create(&bus_thread, NULL, bus_main, NULL);

        kc = rd_kafka_conf_new();
        rd_kafka_conf_set(kc, "bootstrap.servers", broker.bootstrap, NULL, 0);
        rd_kafka_conf_set(kc, "linger.ms", "0", NULL, 0);
        raw = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        ck_assert_msg(raw != NULL, "%s", errstr);
}

static void teardown(void)
{
        atomic_store(&release_held, 1);
        cairn_bus_stop(bus);
        pthread_join(bus_thread, NULL);
        cairn_bus_free(bus);
        cairn_metrics_free(metrics);
        cairn_conf_free(conf);
        rd_kafka_destroy(raw);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(mock_rk);
}

/* The value of the metric line starting with @p line_start; 0 without one. */
static double metric_value(const char *line_start)
{
        char *text, *p, needle[256];
        double v;

        snprintf(needle, sizeof(needle), "\n%s", line_start);
        text = cairn_metrics_render(metrics, NULL);
        p = strstr(text, needle);
        v = p ? strtod(p + strlen(needle), NULL) : 0;
        free(text);
        return v;
}

/* Waits up to 10 s for the metric to reach @p want; returns its value. */
static double metric_wait(const char *line_start, double want)
{
        double v = metric_value(line_start);

        for (int i = 0; i < 1000 && v < want; i++) {
                usleep(10000);
                v = metric_value(line_start);
        }
        return v;
}

static int64_t high_watermark(const char *topic)
{
        int64_t lo = -1, hi = -1;

        ck_assert_int_eq(rd_kafka_query_watermark_offsets(raw, topic, 0, &lo, &hi, 5000), 0);
        return hi;
}

/* Produces a StatusDetail{field} to TOPIC with the headers given as
 * name, value pairs (NULL-terminated); @p with_headers false sends none. */
static void send_raw(const char *field, bool with_headers, const char *const *hdr)
{
        Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;
        uint8_t buf[128];
        size_t len;
        rd_kafka_resp_err_t err;

        req.field = (char *)field;
        len = cairn__v1__status_detail__pack(&req, buf);
        if (with_headers) {
                rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);

                for (; hdr[0]; hdr += 2)
                        cairn_headers_add(hdrs, hdr[0], hdr[1]);
                err = rd_kafka_producev(raw, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_KEY("k", 1),
                                        RD_KAFKA_V_VALUE(buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        } else {
                err = rd_kafka_producev(raw, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_KEY("k", 1),
                                        RD_KAFKA_V_VALUE(buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        }
        ck_assert_int_eq(err, 0);
        ck_assert_int_eq(rd_kafka_flush(raw, 10000), 0);
}

/* Sends a request with a reply address that the handler holds, fails the
 * next @p faults Produce requests (the bus's reply, then its DLQ copy), and
 * lets the handler answer. */
static void reply_with_faults(int faults)
{
        char id[37];

        cairn_uuid(id);
        atomic_store(&held, 0);
        atomic_store(&release_held, 0);
        send_raw("hold", true,
                 (const char *[]){ CAIRN_H_ID, id, CAIRN_H_TYPE, "cairn.v1.StatusDetail",
                                   CAIRN_H_REPLY_TO, REPLIES, NULL });
        for (int i = 0; i < 1000 && !atomic_load(&held); i++)
                usleep(10000);
        ck_assert_int_eq(atomic_load(&held), 1);
        for (int i = 0; i < faults; i++)
                rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 1,
                                                  RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
        atomic_store(&release_held, 1);
}

static const char reply_failed[] = "cairn_bus_dlq_total{reason=\"" CAIRN_DLQ_REPLY_FAILED "\"} ";
static const char bad_headers[] = "cairn_bus_dlq_total{reason=\"" CAIRN_DLQ_BAD_HEADERS "\"} ";

START_TEST(test_cairn_bus_run_refused_reply_goes_to_dlq)
{
        double failed = metric_value("cairn_bus_reply_failures_total ");
        int64_t dlq = high_watermark(DLQ), replies = high_watermark(REPLIES);

        reply_with_faults(1);
        ck_assert_double_eq(metric_wait("cairn_bus_reply_failures_total ", failed + 1), failed + 1);
        ck_assert_double_eq(metric_wait(reply_failed, 1), 1);
        for (int i = 0; i < 500 && high_watermark(DLQ) == dlq; i++)
                usleep(10000);
        ck_assert_int_eq(high_watermark(DLQ), dlq + 1);
        ck_assert_int_eq(high_watermark(REPLIES), replies);
}
END_TEST

START_TEST(test_cairn_bus_run_refused_dlq_copy_does_not_stall)
{
        double failed = metric_value("cairn_bus_reply_failures_total ");
        double copies = metric_value(reply_failed);
        int64_t dlq = high_watermark(DLQ);
        char id[37];

        reply_with_faults(2);
        ck_assert_double_eq(metric_wait("cairn_bus_reply_failures_total ", failed + 1), failed + 1);
        ck_assert_double_eq(metric_wait(reply_failed, copies + 1), copies + 1);
        /* the job completes although its DLQ copy is lost */
        for (int i = 0; i < 500 && metric_value("cairn_bus_inflight ") > 0; i++)
                usleep(10000);
        ck_assert_double_eq(metric_value("cairn_bus_inflight "), 0);
        ck_assert_int_eq(high_watermark(DLQ), dlq);
        /* and the partition goes on: the next request is answered */
        cairn_uuid(id);
        int64_t replies = high_watermark(REPLIES);
        send_raw("echo", true,
                 (const char *[]){ CAIRN_H_ID, id, CAIRN_H_TYPE, "cairn.v1.StatusDetail",
                                   CAIRN_H_REPLY_TO, REPLIES, NULL });
        for (int i = 0; i < 500 && high_watermark(REPLIES) == replies; i++)
                usleep(10000);
        ck_assert_int_eq(high_watermark(REPLIES), replies + 1);
}
END_TEST

START_TEST(test_cairn_bus_run_bad_headers_go_to_dlq)
{
        double before = metric_value(bad_headers);
        int handled_before = atomic_load(&handled);
        int64_t dlq = high_watermark(DLQ);
        char id[37];

        cairn_uuid(id);
        /* no ce_id */
        send_raw("echo", true,
                 (const char *[]){ CAIRN_H_TYPE, "cairn.v1.StatusDetail", CAIRN_H_REPLY_TO, REPLIES,
                                   NULL });
        /* a reply topic that is no topic name */
        send_raw("echo", true,
                 (const char *[]){ CAIRN_H_ID, id, CAIRN_H_TYPE, "cairn.v1.StatusDetail",
                                   CAIRN_H_REPLY_TO, "no topic!", NULL });
        /* no ce_type */
        send_raw("echo", true, (const char *[]){ CAIRN_H_ID, id, CAIRN_H_REPLY_TO, REPLIES, NULL });
        /* a reply partition that is not a number */
        send_raw("echo", true,
                 (const char *[]){ CAIRN_H_ID, id, CAIRN_H_TYPE, "cairn.v1.StatusDetail",
                                   CAIRN_H_REPLY_TO, REPLIES, CAIRN_H_REPLY_PART, "one", NULL });
        /* no headers at all */
        send_raw("echo", false, NULL);
        ck_assert_double_eq(metric_wait(bad_headers, before + 5), before + 5);
        for (int i = 0; i < 500 && high_watermark(DLQ) < dlq + 5; i++)
                usleep(10000);
        ck_assert_int_eq(high_watermark(DLQ), dlq + 5);
        ck_assert_int_eq(atomic_load(&handled), handled_before);
}
END_TEST

START_TEST(test_cairn_bus_run_fire_and_forget_failure_is_counted)
{
        static const char line[] =
                "cairn_bus_requests_total{type=\"cairn.v1.StatusDetail\",code=\"NOT_FOUND\"} ";
        double before = metric_value(line);
        int64_t replies = high_watermark(REPLIES);
        char id[37];

        cairn_uuid(id);
        /* with a trace context, which goes to the log while tracing is off */
        send_raw("fail", true,
                 (const char *[]){
                         CAIRN_H_ID, id, CAIRN_H_TYPE, "cairn.v1.StatusDetail", CAIRN_H_TRACEPARENT,
                         "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL });
        ck_assert_double_eq(metric_wait(line, before + 1), before + 1);
        ck_assert_int_eq(high_watermark(REPLIES), replies);
}
END_TEST

START_TEST(test_cairn_bus_new_refuses_bad_settings)
{
        struct cairn_conf_section sec = { "Bus", cairn_bus_conf_items, &bconf, NULL };
        struct cairn_bus_conf bc;
        struct cairn_conf *c;
        struct cairn_metrics *m = cairn_metrics_new();
        char errstr[512];
        char *env[] = { "CAIRN_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1",
                        "CAIRN_KAFKA_NO_SUCH_SETTING=1", NULL };

        sec.target = &bc;
        c = cairn_conf_load(NULL, &sec, 1, env, errstr, sizeof(errstr));
        ck_assert_msg(c != NULL, "%s", errstr);
        errstr[0] = '\0';
        ck_assert_ptr_null(
                cairn_bus_new("faults", &bc, c, handlers, NULL, m, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "no.such.setting") != NULL, "%s", errstr);
        errstr[0] = '\0';
        ck_assert_ptr_null(cairn_bus_client_new("faults", &bc, c, m, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "no.such.setting") != NULL, "%s", errstr);
        cairn_conf_free(c);

        /* request topics that are no topic names */
        char too_long[251];
        memset(too_long, 'a', 250);
        too_long[250] = '\0';
        const char *bad_topics[] = { "no topic!", ".", "..", too_long, "caf\xc3\xa9", NULL };
        for (const char *const *t = bad_topics; *t; t++) {
                bc = bconf;
                bc.request_topic = *t;
                errstr[0] = '\0';
                ck_assert_ptr_null(cairn_bus_new("faults", &bc, conf, handlers, NULL, m, errstr,
                                                 sizeof(errstr)));
                ck_assert_msg(strstr(errstr, "bus.request_topic") != NULL, "%s", errstr);
        }
        too_long[249] = '\0'; /* the longest legal name */
        ck_assert(cairn_kafka_topic_valid(too_long));
        ck_assert(!cairn_kafka_topic_valid(""));
        /* and a reply topic */
        bc = bconf;
        bc.reply_topic = "no topic!";
        errstr[0] = '\0';
        ck_assert_ptr_null(cairn_bus_client_new("faults", &bc, conf, m, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "bus.reply_topic") != NULL, "%s", errstr);
        cairn_metrics_free(m);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0006-bus_faults");
        TCase *tc = tcase_create("faults");

        if (harness_apache()) {
                printf("0006-bus_faults: needs librdkafka's mock cluster; skipped on Apache "
                       "Kafka\n");
                return 0;
        }
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_cairn_bus_run_refused_reply_goes_to_dlq);
        tcase_add_test(tc, test_cairn_bus_run_refused_dlq_copy_does_not_stall);
        tcase_add_test(tc, test_cairn_bus_run_bad_headers_go_to_dlq);
        tcase_add_test(tc, test_cairn_bus_run_fire_and_forget_failure_is_counted);
        tcase_add_test(tc, test_cairn_bus_new_refuses_bad_settings);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

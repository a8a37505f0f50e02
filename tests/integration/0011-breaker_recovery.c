/* Resilience of the bus client against a real service: a stopped embedding
 * service makes calls time out until the dependency's breaker opens; open,
 * calls fail fast with UNAVAILABLE and produce nothing; once the service
 * runs again a half-open probe succeeds and the breaker closes. Retries of
 * a timed-out attempt go out with the same ce_id and succeed within the
 * call's deadline. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/headers.h"
#include "cairn/log.h"
#include "cairn/resilience.h"
#include "harness.h"

#define TOPIC harness_topic("cairn.embedding.v1.requests")

static struct harness_broker broker;
static struct harness_proc svc;

static void setup(void)
{
        harness_broker_start(&broker, 1);
        harness_service_start(&svc, &broker, "embedding", NULL);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "embedding not ready (see %s)",
                      svc.log_path);
}

static void teardown(void)
{
        harness_proc_signal(&svc, SIGCONT);
        harness_service_stop(&svc, 15000);
        harness_broker_stop(&broker);
}

/* The value of series @p series (name and labels, exactly) in @p m; -1 if
 * absent. */
static double series_value(struct cairn_metrics *m, const char *series)
{
        char *text = cairn_metrics_render(m, NULL);
        size_t n = strlen(series);
        double v = -1;

        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, series, n) == 0 && line[n] == ' ') {
                        v = strtod(line + n + 1, NULL);
                        break;
                }
        }
        free(text);
        return v;
}

static double dep_value(struct harness_client *c, const char *family, const char *extra)
{
        char dep[64], series[256];

        cairn_bus_dependency_name(TOPIC, dep, sizeof(dep));
        snprintf(series, sizeof(series), "%s{dependency=\"%s\"%s}", family, dep, extra);
        return series_value(c->metrics, series);
}

static double calls_made(struct harness_client *c)
{
        /* every attempt that was produced ends in exactly one of these */
        char *text = cairn_metrics_render(c->metrics, NULL);
        double sum = 0;

        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                if (strncmp(line, "cairn_bus_calls_total{", 22) == 0)
                        sum += strtod(strchr(line, ' ') + 1, NULL);
        free(text);
        return sum;
}

static cairn_err_t embed(struct harness_client *c, const char *text, int64_t timeout_ms,
                         const char *ce_id, struct cairn_status *st)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { (char *)text };
        struct cairn_call_opts opts = { .timeout_ms = timeout_ms, .ce_id = ce_id };
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        req.inputs = inputs;
        req.n_inputs = 1;
        err = cairn_bus_call(c->cli, TOPIC, "tenant-r", &req.base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, st);
        if (reply)
                protobuf_c_message_free_unpacked(reply, NULL);
        return err;
}

static void dep_conf(struct harness_client *c, struct cairn_resilience_conf *rc)
{
        char dep[64];

        cairn_bus_dependency_name(TOPIC, dep, sizeof(dep));
        cairn_bus_client_resilience(c->cli, dep, rc);
}

START_TEST(test_breaker_opens_fails_fast_and_closes)
{
        struct harness_client client;
        struct cairn_resilience_conf rc;
        struct cairn_status st;
        cairn_err_t err;

        harness_client_start(&client, &broker, "breakertest");
        cairn_resilience_conf_init(&rc, "x");
        rc.max_attempts = 1; /* this test is about the breaker alone */
        rc.breaker_failures = 3;
        rc.breaker_failure_rate = 0;
        rc.breaker_open_ms = 1500;
        rc.breaker_half_open_probes = 1;
        dep_conf(&client, &rc);

        err = embed(&client, "warm up", 20000, NULL, &st);
        ck_assert_msg(err == CAIRN_OK, "%s: %s", cairn_err_str(err), st.message);
        ck_assert_double_eq(dep_value(&client, "cairn_breaker_state", ""), 0);

        /* The dependency stops answering: three timeouts open the breaker. */
        harness_proc_signal(&svc, SIGSTOP);
        for (int i = 0; i < 3; i++) {
                err = embed(&client, "nobody home", 300, NULL, &st);
                ck_assert_int_eq(err, CAIRN_ERR_DEADLINE);
        }
        ck_assert_double_eq(dep_value(&client, "cairn_breaker_state", ""), 2);
        ck_assert_double_eq(dep_value(&client, "cairn_breaker_transitions_total", ",to=\"open\""),
                            1);

        /* Open: the call fails fast and nothing is produced. */
        double before = calls_made(&client);
        err = embed(&client, "fail fast", 20000, NULL, &st);
        ck_assert_int_eq(err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "BREAKER_OPEN");
        ck_assert_double_eq(calls_made(&client), before);
        ck_assert_double_ge(dep_value(&client, "cairn_breaker_rejected_total", ""), 1);

        /* Back again: after the cool-down one probe goes through and closes it. */
        harness_proc_signal(&svc, SIGCONT);
        int64_t until = cairn_mono_us() + 30 * 1000000LL;
        do {
                err = embed(&client, "are you back", 10000, NULL, &st);
                if (err == CAIRN_OK)
                        break;
                ck_assert_msg(err == CAIRN_ERR_UNAVAILABLE || err == CAIRN_ERR_DEADLINE,
                              "unexpected %s: %s", cairn_err_str(err), st.message);
                usleep(100000);
        } while (cairn_mono_us() < until);
        ck_assert_msg(err == CAIRN_OK, "never recovered: %s: %s", cairn_err_str(err), st.message);
        ck_assert_double_eq(dep_value(&client, "cairn_breaker_state", ""), 0);
        ck_assert_double_ge(dep_value(&client, "cairn_breaker_transitions_total",
                                      ",to=\"half_open\""),
                            1);
        ck_assert_double_ge(dep_value(&client, "cairn_breaker_transitions_total", ",to=\"closed\""),
                            1);
        ck_assert_double_eq(dep_value(&client, "cairn_bulkhead_inflight", ""), 0);
        harness_client_stop(&client);
}
END_TEST

/* Counts the messages on every partition of @p topic whose ce_id is @p id. */
static int count_ce_id(const char *topic, const char *id)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        const struct rd_kafka_metadata *md = NULL;
        int found = 0;

        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", "itest-resil-raw", errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 5000), 0);
        ck_assert_int_eq(md->topic_cnt, 1);
        int nparts = md->topics[0].partition_cnt;
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
        int64_t ends = 0;
        for (int p = 0; p < nparts; p++) {
                int64_t lo, hi;

                ck_assert_int_eq(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000), 0);
                ends += hi - lo;
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset = lo;
        }
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);

        int64_t seen = 0, until = cairn_mono_us() + 20 * 1000000LL;
        while (seen < ends && cairn_mono_us() < until) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_headers_t *hdrs = NULL;
                char v[CAIRN_HEADER_MAX + 1];

                if (!rkm)
                        continue;
                if (!rkm->err) {
                        seen++;
                        if (rd_kafka_message_headers(rkm, &hdrs) == 0 &&
                            cairn_headers_get(hdrs, CAIRN_H_ID, v, sizeof(v)) >= 0 &&
                            strcmp(v, id) == 0)
                                found++;
                }
                rd_kafka_message_destroy(rkm);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return found;
}

static void *resume_later(void *arg)
{
        (void)arg;
        usleep(900 * 1000);
        harness_proc_signal(&svc, SIGCONT);
        return NULL;
}

START_TEST(test_retry_same_ce_id_within_deadline)
{
        struct harness_client client;
        struct cairn_resilience_conf rc;
        struct cairn_status st;
        pthread_t th;
        char id[37];
        cairn_err_t err;

        harness_client_start(&client, &broker, "retrytest");
        cairn_resilience_conf_init(&rc, "x");
        rc.max_attempts = 20;
        rc.base_ms = 10;
        rc.cap_ms = 50;
        rc.timeout_ms = 250;     /* each attempt waits at most this */
        rc.breaker_failures = 0; /* this test is about retries alone */
        rc.breaker_failure_rate = 0;
        dep_conf(&client, &rc);
        err = embed(&client, "warm up", 20000, NULL, &st);
        ck_assert_msg(err == CAIRN_OK, "%s: %s", cairn_err_str(err), st.message);
        double retries0 = dep_value(&client, "cairn_retries_total", "");

        /* The service pauses; attempts time out and are retried until it
         * is back, all within the call's 15 s. */
        cairn_uuid(id);
        harness_proc_signal(&svc, SIGSTOP);
        pthread_create(&th, NULL, resume_later, NULL);
        err = embed(&client, "patience", 15000, id, &st);
        pthread_join(th, NULL);
        ck_assert_msg(err == CAIRN_OK, "%s: %s", cairn_err_str(err), st.message);
        ck_assert_double_ge(dep_value(&client, "cairn_retries_total", ""), retries0 + 1);
        /* every attempt carried the one ce_id */
        ck_assert_int_ge(count_ce_id(TOPIC, id), 2);

        /* A call whose deadline leaves no room is not retried past it. */
        harness_proc_signal(&svc, SIGSTOP);
        int64_t t0 = cairn_mono_us();
        err = embed(&client, "too late", 600, NULL, &st);
        int64_t took_ms = (cairn_mono_us() - t0) / 1000;
        harness_proc_signal(&svc, SIGCONT);
        ck_assert_int_eq(err, CAIRN_ERR_DEADLINE);
        printf("a 600 ms call with 250 ms attempts gave up after %lld ms\n", (long long)took_ms);
        harness_client_stop(&client);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0011-breaker_recovery");
        TCase *tc = tcase_create("resilience");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_breaker_opens_fails_fast_and_closes);
        tcase_add_test(tc, test_retry_same_ce_id_within_deadline);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

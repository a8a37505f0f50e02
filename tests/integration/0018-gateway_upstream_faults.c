/* The gateway's request pipeline against a service that answers badly: the
 * gateway runs as a process with a Redis of the test's own, and the test
 * plays the embedding service with a raw consumer and producer on the dev
 * broker. A reply that does not decode as the route's message, or is of
 * another type, is a 502 that names no internals; a second request with the
 * Idempotency-Key of one still running is a 409, and a 5xx answer frees the
 * key, so the next request with it runs again instead of replaying. */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/headers.h"
#include "cairn/status.h"
#include "gw_fixture.h"
#include "fake_service.h"
#include "harness.h"

#define KEY   "ck_it_upstream_0123456789abcdef"
#define REPLY "cairn.embedding.v1.EmbedReply"

static struct harness_broker broker;
static struct harness_proc gateway, redis;
static int http_port;
static rd_kafka_t *svc_in, *svc_out; /* the fake embedding service */

static void fake_service_start(void)
{
        const char *topic = harness_topic("cairn.embedding.v1.requests");
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        char errstr[512];

        rd_kafka_conf_set(kc, "bootstrap.servers", broker.bootstrap, NULL, 0);
        rd_kafka_conf_set(kc, "linger.ms", "0", NULL, 0);
        svc_out = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        ck_assert_msg(svc_out != NULL, "%s", errstr);
        harness_topic_create(&broker, topic, 4);
        /* A producer's metadata request creates the topic on the dev broker. */
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(svc_out, topic, NULL);
        for (int i = 0; i < 50; i++) {
                if (md)
                        rd_kafka_metadata_destroy(md);
                md = NULL;
                if (rd_kafka_metadata(svc_out, 0, rkt, &md, 5000) == 0 && md->topic_cnt == 1 &&
                    !md->topics[0].err && md->topics[0].partition_cnt > 0)
                        break;
                usleep(100000);
        }
        ck_assert_ptr_nonnull(md);
        ck_assert_int_gt(md->topics[0].partition_cnt, 0);

        kc = rd_kafka_conf_new();
        rd_kafka_conf_set(kc, "bootstrap.servers", broker.bootstrap, NULL, 0);
        rd_kafka_conf_set(kc, "group.id", "fake-embedding", NULL, 0);
        rd_kafka_conf_set(kc, "fetch.wait.max.ms", "1", NULL, 0);
        svc_in = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof(errstr));
        ck_assert_msg(svc_in != NULL, "%s", errstr);
        rd_kafka_poll_set_consumer(svc_in);
        parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
                rd_kafka_topic_partition_list_add(parts, topic, i)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        ck_assert_int_eq(rd_kafka_assign(svc_in, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
}

static void setup(void)
{
        static const struct gwf_api_key keys[] = { { KEY, "it-upstream", "acme", "member" } };
        char e[6][700];
        const char *env[7];
        int n = 0, redis_port;

        curl_global_init(CURL_GLOBAL_ALL);
        harness_broker_start(&broker, 1);
        redis_port = harness_free_port();
        harness_redis_start(&redis, broker.dir, redis_port);
        gwf_keys_write(broker.dir, NULL, keys, 1);
        fake_service_start();
        http_port = harness_free_port();
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", http_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_AUTH_KEYS_FILE=%s/keys.yaml", broker.dir);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_UPSTREAM_EMBEDDING_TOPIC=%s",
                 harness_topic("cairn.embedding.v1.requests"));
        snprintf(e[n++], sizeof(e[0]), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.gateway.replies"));
        for (int i = 0; i < n; i++)
                env[i] = e[i];
        env[n] = NULL;
        harness_service_start(&gateway, &broker, "gateway", env);
        ck_assert_msg(harness_wait_ready(&gateway, 30000), "gateway not ready (%s)",
                      gateway.log_path);
}

static void teardown(void)
{
        int st = harness_service_stop(&gateway, 15000);

        rd_kafka_consumer_close(svc_in);
        rd_kafka_destroy(svc_in);
        rd_kafka_destroy(svc_out);
        harness_proc_kill(&redis);
        harness_broker_stop(&broker);
        curl_global_cleanup();
        ck_assert_msg(st == 0, "gateway did not exit cleanly (%d)", st);
}

static void receive(struct fake_request *r)
{
        fake_service_receive(svc_in, 15000, r);
}

/* Answers @p r, correlated, with @p payload typed @p type. */
static void answer(const struct fake_request *r, const char *type, const void *payload, size_t len)
{
        fake_service_answer(svc_out, r, r->id, type, payload, len);
}

static void answer_status(const struct fake_request *r, cairn_err_t code)
{
        struct cairn_status st;
        uint8_t *buf;
        size_t len;

        cairn_status_clear(&st);
        st.code = code;
        snprintf(st.message, sizeof(st.message), "broken inside");
        buf = cairn_status_pack(&st, &len);
        answer(r, CAIRN_STATUS_TYPE, buf, len);
        free(buf);
}

/* POST /v1/embedding/embed on a thread of its own, with an
 * Idempotency-Key when idem_key is set. */
struct http_call {
        pthread_t thread;
        const char *idem_key;
        struct gwf_resp resp;
        long status;
};

static void *http_main(void *arg)
{
        static const char body[] = "{\"inputs\":[\"hello\"]}";
        struct http_call *c = arg;
        char idem[128];
        const char *hs[] = { "Content-Type: application/json", "Authorization: Bearer " KEY,
                             c->idem_key ? idem : NULL, NULL };

        snprintf(idem, sizeof(idem), "Idempotency-Key: %s", c->idem_key ? c->idem_key : "");
        c->status = gwf_http(http_port, "POST", "/v1/embedding/embed", hs, body, strlen(body),
                             &c->resp);
        return NULL;
}

static void http_start(struct http_call *c, const char *idem_key)
{
        memset(c, 0, sizeof(*c));
        c->idem_key = idem_key;
        pthread_create(&c->thread, NULL, http_main, c);
}

static long http_end(struct http_call *c)
{
        pthread_join(c->thread, NULL);
        return c->status;
}

static const uint8_t not_protobuf[] = { 0xff, 0xff, 0xff };

START_TEST(test_gw_upstream_undecodable_reply_is_502)
{
        struct http_call c;
        struct fake_request r;

        http_start(&c, NULL);
        receive(&r);
        answer(&r, REPLY, not_protobuf, sizeof(not_protobuf));
        ck_assert_int_eq(http_end(&c), 502);
        ck_assert_msg(strstr(c.resp.body, "answered something unexpected") != NULL, "%s",
                      c.resp.body);
        ck_assert_msg(strstr(c.resp.body, "cairn.") == NULL, "names internals: %s", c.resp.body);
        gwf_resp_free(&c.resp);
}
END_TEST

START_TEST(test_gw_upstream_reply_of_other_type_is_502)
{
        struct http_call c;
        struct fake_request r;

        http_start(&c, NULL);
        receive(&r);
        answer(&r, "cairn.embedding.v1.ListModelsReply", "", 0);
        ck_assert_int_eq(http_end(&c), 502);
        gwf_resp_free(&c.resp);
}
END_TEST

START_TEST(test_gw_pipeline_idempotency_key_in_progress_is_409)
{
        struct http_call first, second, third;
        struct fake_request r;

        http_start(&first, "in-progress-1");
        receive(&r); /* the first is upstream now, its key claimed */
        http_start(&second, "in-progress-1");
        ck_assert_int_eq(http_end(&second), 409);
        ck_assert_msg(strstr(second.resp.body, "still running") != NULL, "%s", second.resp.body);
        gwf_resp_free(&second.resp);
        /* a 5xx answer is not kept: the key is free again */
        answer_status(&r, CAIRN_ERR_INTERNAL);
        ck_assert_int_eq(http_end(&first), 500);
        gwf_resp_free(&first.resp);
        http_start(&third, "in-progress-1");
        receive(&r);
        answer_status(&r, CAIRN_ERR_NOT_FOUND);
        ck_assert_int_eq(http_end(&third), 404);
        gwf_resp_free(&third.resp);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0018-gateway_upstream_faults");
        TCase *tc = tcase_create("upstream");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_gw_upstream_undecodable_reply_is_502);
        tcase_add_test(tc, test_gw_upstream_reply_of_other_type_is_502);
        tcase_add_test(tc, test_gw_pipeline_idempotency_key_in_progress_is_409);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* The service runtime in this process with a handler table of the test's
 * own, on a dev broker: one key's requests are handled in order although
 * workers run in parallel, handler errors come back as Status with their
 * field, oversize replies are refused with RESOURCE_EXHAUSTED, headers over
 * the documented limits are refused before any handler runs, and
 * fire-and-forget requests are handled without a reply; a service that
 * keeps no per-key state has one key's requests handled concurrently. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/metrics.h"
#include "cairn/v1/common.pb-c.h"
#include "harness.h"

#define TOPIC   "cairn.bustest.v1.requests"
#define KEYS    8
#define PER_KEY 60

static struct harness_broker broker;
static struct harness_client client;
static struct cairn_conf *conf;
static struct cairn_bus_conf bconf;
static struct cairn_metrics *metrics;
static struct cairn_bus *bus;
static pthread_t bus_thread;
static int bus_rc;
static bool bus_running;

/* What the handler saw, per key, in handling order. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int seen[KEYS][PER_KEY];
static int nseen[KEYS];
static atomic_int fire_and_forget;
static atomic_int handled;
/* "hold" requests being handled now, and the most at once */
static atomic_int holding, most_holding;

/* Requests and replies are cairn.v1.StatusDetail: field = what to do,
 * reason = a sequence number, description = payload. */
static cairn_err_t test_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                               ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__V1__StatusDetail *in = (const Cairn__V1__StatusDetail *)msg;

        atomic_fetch_add(&handled, 1);
        if (strcmp(in->field, "order") == 0) {
                int k = atoi(req->key);

                usleep((useconds_t)(rand() % 1500)); /* let other workers overtake */
                pthread_mutex_lock(&seen_lock);
                if (k >= 0 && k < KEYS && nseen[k] < PER_KEY)
                        seen[k][nseen[k]++] = atoi(in->reason);
                pthread_mutex_unlock(&seen_lock);
        } else if (strcmp(in->field, "fail") == 0) {
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "thing", "NO_THING",
                                        "thing %s does not exist", in->reason);
        } else if (strcmp(in->field, "big") == 0) {
                Cairn__V1__StatusDetail *out = cairn_arena_alloc(req->arena, sizeof(*out));
                size_t n = 2 * 1000 * 1000;
                char *text = cairn_arena_alloc(req->arena, n + 1);

                cairn__v1__status_detail__init(out);
                memset(text, 'x', n);
                text[n] = '\0';
                out->description = text;
                *reply = &out->base;
                return CAIRN_OK;
        } else if (strcmp(in->field, "forget") == 0) {
                atomic_fetch_add(&fire_and_forget, 1);
        } else if (strcmp(in->field, "hold") == 0) {
                int now = atomic_fetch_add(&holding, 1) + 1, most = atomic_load(&most_holding);

                while (now > most && !atomic_compare_exchange_weak(&most_holding, &most, now))
                        ;
                usleep(100 * 1000);
                atomic_fetch_sub(&holding, 1);
        }
        Cairn__V1__StatusDetail *out = cairn_arena_alloc(req->arena, sizeof(*out));
        cairn__v1__status_detail__init(out);
        out->field = in->field;
        out->reason = in->reason;
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
        bus_rc = cairn_bus_run(bus);
        return NULL;
}

static void bus_start(void)
{
        char errstr[512];

        bus = cairn_bus_new("bustest", &bconf, conf, handlers, NULL, metrics, errstr,
                            sizeof(errstr));
        ck_assert_msg(bus != NULL, "%s", errstr);
        pthread_create(&bus_thread, NULL, bus_main, NULL);
        bus_running = true;
}

static void setup(void)
{
        harness_broker_start(&broker, 1);
        conf = harness_kafka_conf(&broker, &bconf);
        bconf.workers = 4;
        metrics = cairn_metrics_new();
        bus_start();
        harness_client_start(&client, &broker, "bustestclient");
}

static void teardown(void)
{
        harness_client_stop(&client);
        if (bus_running) {
                cairn_bus_stop(bus);
                pthread_join(bus_thread, NULL);
        }
        cairn_bus_free(bus);
        cairn_metrics_free(metrics);
        cairn_conf_free(conf);
        harness_broker_stop(&broker);
}

static cairn_err_t call(const char *key, const char *field, const char *reason,
                        Cairn__V1__StatusDetail **out, struct cairn_status *st)
{
        Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;

        req.field = (char *)field;
        req.reason = (char *)reason;
        return cairn_bus_call(client.cli, TOPIC, key, &req.base, NULL,
                              &cairn__v1__status_detail__descriptor, NULL, (ProtobufCMessage **)out,
                              st);
}

static atomic_int order_replies;

static void order_cb(const struct cairn_reply *reply, void *opaque)
{
        (void)opaque;
        if (reply->err == CAIRN_OK)
                atomic_fetch_add(&order_replies, 1);
}

START_TEST(test_cairn_bus_run_keeps_order_per_key)
{
        struct cairn_status st;
        char keys[KEYS][12], seqs[PER_KEY][12];

        for (int k = 0; k < KEYS; k++)
                snprintf(keys[k], sizeof(keys[k]), "%d", k);
        for (int i = 0; i < PER_KEY; i++)
                snprintf(seqs[i], sizeof(seqs[i]), "%d", i);
        /* Interleave keys, all in flight at once. */
        for (int i = 0; i < PER_KEY; i++) {
                for (int k = 0; k < KEYS; k++) {
                        Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;

                        req.field = "order";
                        req.reason = seqs[i];
                        ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, keys[k], &req.base,
                                                              NULL, order_cb, NULL, &st),
                                         CAIRN_OK);
                }
        }
        int64_t until = cairn_mono_us() + 60 * 1000000LL;
        while (atomic_load(&order_replies) < KEYS * PER_KEY && cairn_mono_us() < until)
                usleep(10000);
        ck_assert_int_eq(atomic_load(&order_replies), KEYS * PER_KEY);
        for (int k = 0; k < KEYS; k++) {
                ck_assert_int_eq(nseen[k], PER_KEY);
                for (int i = 0; i < PER_KEY; i++)
                        ck_assert_msg(seen[k][i] == i, "key %d: position %d handled seq %d", k, i,
                                      seen[k][i]);
        }
}
END_TEST

START_TEST(test_cairn_bus_run_handler_error_is_status)
{
        Cairn__V1__StatusDetail *out = NULL;
        struct cairn_status st;

        ck_assert_int_eq(call("x", "fail", "42", &out, &st), CAIRN_ERR_NOT_FOUND);
        ck_assert_ptr_null(out);
        ck_assert_str_eq(st.message, "thing 42 does not exist");
        ck_assert_str_eq(st.field, "thing");
        ck_assert_str_eq(st.reason, "NO_THING");
}
END_TEST

START_TEST(test_cairn_bus_run_oversize_reply_is_refused)
{
        Cairn__V1__StatusDetail *out = NULL;
        struct cairn_status st;

        ck_assert_int_eq(call("x", "big", "", &out, &st), CAIRN_ERR_EXHAUSTED);
        ck_assert_str_eq(st.reason, "REPLY_TOO_LARGE");
        /* and the runtime keeps serving */
        ck_assert_int_eq(call("x", "echo", "7", &out, &st), CAIRN_OK);
        ck_assert_str_eq(out->reason, "7");
        cairn__v1__status_detail__free_unpacked(out, NULL);
}
END_TEST

START_TEST(test_cairn_bus_run_fire_and_forget)
{
        Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;
        uint8_t buf[64];
        char errstr[512];
        char id[37];
        rd_kafka_conf_t *kconf = rd_kafka_conf_new();

        req.field = "forget";
        req.reason = "1";
        size_t len = cairn__v1__status_detail__pack(&req, buf);
        rd_kafka_conf_set(kconf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(rk);
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(4);
        cairn_uuid(id);
        cairn_headers_add(hdrs, CAIRN_H_ID, id);
        cairn_headers_add(hdrs, CAIRN_H_TYPE, "cairn.v1.StatusDetail");
        ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_VALUE(buf, len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
                         0);
        rd_kafka_flush(rk, 10000);
        rd_kafka_destroy(rk);
        for (int i = 0; i < 400 && atomic_load(&fire_and_forget) == 0; i++)
                usleep(25000);
        ck_assert_int_eq(atomic_load(&fire_and_forget), 1);
}
END_TEST

/* The value on the line of the bus's metrics that starts with @p line_start; 0 without one. */
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

/* Regression: an authorization header of 9,007 bytes, over the documented
 * 8 KiB, reached the handler. It is refused like any malformed header:
 * INVALID_ARGUMENT naming the header, a DLQ copy, no handler call. */
START_TEST(test_cairn_bus_run_refuses_oversize_authorization)
{
        static const char dlq_line[] = "cairn_bus_dlq_total{reason=\"" CAIRN_DLQ_BAD_HEADERS "\"} ";
        Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;
        Cairn__V1__StatusDetail *out = NULL;
        struct cairn_call_opts opts = { 0 };
        struct cairn_status st;
        char *auth = malloc(9007 + 1);
        double dlq_before = metric_value(dlq_line), dlq_after = dlq_before;
        int handled_before = atomic_load(&handled);

        ck_assert_ptr_nonnull(auth);
        memcpy(auth, "Bearer ", 7);
        memset(auth + 7, 'a', 9007 - 7);
        auth[9007] = '\0';
        opts.authorization = auth;
        req.field = "echo";
        req.reason = "1";
        ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "x", &req.base, &opts,
                                        &cairn__v1__status_detail__descriptor, NULL,
                                        (ProtobufCMessage **)&out, &st),
                         CAIRN_ERR_INVALID);
        free(auth);
        ck_assert_ptr_null(out);
        ck_assert_msg(strstr(st.message, "authorization") && strstr(st.message, "8192"), "%s",
                      st.message);
        ck_assert_int_eq(atomic_load(&handled), handled_before);
        /* counted as it is copied, just after the reply went out */
        for (int i = 0; i < 200 && dlq_after == dlq_before; i++) {
                usleep(10000);
                dlq_after = metric_value(dlq_line);
        }
        ck_assert_double_eq(dlq_after, dlq_before + 1);
        /* exactly the limit is fine */
        auth = malloc(CAIRN_AUTH_MAX + 1);
        ck_assert_ptr_nonnull(auth);
        memset(auth, 'a', CAIRN_AUTH_MAX);
        auth[CAIRN_AUTH_MAX] = '\0';
        opts.authorization = auth;
        ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "x", &req.base, &opts,
                                        &cairn__v1__status_detail__descriptor, NULL,
                                        (ProtobufCMessage **)&out, &st),
                         CAIRN_OK);
        free(auth);
        ck_assert_str_eq(out->reason, "1");
        cairn__v1__status_detail__free_unpacked(out, NULL);
}
END_TEST

/* HOLDS requests of one key at once; returns the most the handler ran at
 * the same time. */
#define HOLDS 8
static int hold_one_key(void)
{
        struct cairn_status st;

        atomic_store(&order_replies, 0);
        atomic_store(&most_holding, 0);
        for (int i = 0; i < HOLDS; i++) {
                Cairn__V1__StatusDetail req = CAIRN__V1__STATUS_DETAIL__INIT;

                req.field = "hold";
                req.reason = "0";
                ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, "h", &req.base, NULL,
                                                      order_cb, NULL, &st),
                                 CAIRN_OK);
        }
        int64_t until = cairn_mono_us() + 60 * 1000000LL;
        while (atomic_load(&order_replies) < HOLDS && cairn_mono_us() < until)
                usleep(10000);
        ck_assert_int_eq(atomic_load(&order_replies), HOLDS);
        return atomic_load(&most_holding);
}

/* A service whose handlers keep no per-key state (any_order) has one key's
 * requests handled by every worker at once; by default, one at a time. */
START_TEST(test_cairn_bus_run_any_order_spreads_one_key)
{
        ck_assert_int_eq(hold_one_key(), 1);
        cairn_bus_stop(bus);
        pthread_join(bus_thread, NULL);
        ck_assert_int_eq(bus_rc, 0);
        cairn_bus_free(bus);
        bconf.any_order = true;
        bus_start();
        ck_assert_int_ge(hold_one_key(), 2);
}
END_TEST

START_TEST(test_cairn_bus_stop_drains_cleanly)
{
        Cairn__V1__StatusDetail *out = NULL;
        struct cairn_status st;

        ck_assert_int_eq(call("y", "echo", "1", &out, &st), CAIRN_OK);
        cairn__v1__status_detail__free_unpacked(out, NULL);
        cairn_bus_stop(bus);
        pthread_join(bus_thread, NULL);
        bus_running = false;
        ck_assert_int_eq(bus_rc, 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0004-bus_runtime");
        TCase *tc = tcase_create("runtime");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_cairn_bus_run_keeps_order_per_key);
        tcase_add_test(tc, test_cairn_bus_run_handler_error_is_status);
        tcase_add_test(tc, test_cairn_bus_run_oversize_reply_is_refused);
        tcase_add_test(tc, test_cairn_bus_run_fire_and_forget);
        tcase_add_test(tc, test_cairn_bus_run_refuses_oversize_authorization);
        tcase_add_test(tc, test_cairn_bus_run_any_order_spreads_one_key);
        tcase_add_test(tc, test_cairn_bus_stop_drains_cleanly);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

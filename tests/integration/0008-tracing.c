/* Tracing across processes: this test's bus client and the embedding
 * service both export to an OTLP/HTTP receiver inside the test. One trace
 * spans the client's PRODUCER span and the service's CONSUMER span, with
 * the right parent, the messaging attributes and error status on failures;
 * replies carry the service's span as parent and the tracestate as is; an
 * invalid traceparent starts a new trace instead of being refused; the
 * service's log lines carry the trace; and when the collector goes away
 * every call is still answered while the export failures are counted. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/headers.h"
#include "cairn/trace.h"
#include "cairn/v1/common.pb-c.h"
#include "harness.h"
#include "otlp.h"
#include "otlp_receiver.h"

#define REQUESTS "cairn.embedding.v1.requests"
#define TOPIC    harness_topic(REQUESTS)
#define WAIT_MS  15000

static struct otlp_receiver rcv;
static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;

static void setup(void)
{
        char endpoint[64], env_endpoint[128], errstr[256];

        otlp_receiver_start(&rcv, true);
        otlp_receiver_endpoint(&rcv, endpoint, sizeof(endpoint));
        snprintf(env_endpoint, sizeof(env_endpoint), "OTEL_EXPORTER_OTLP_ENDPOINT=%s", endpoint);
        const char *env[] = { env_endpoint, "OTEL_BSP_SCHEDULE_DELAY=100",
                              "OTEL_EXPORTER_OTLP_TIMEOUT=2000",
                              "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test", NULL };

        /* nothing from the runner's environment leaks into the processes */
        static const char *const otel[] = { "OTEL_SERVICE_NAME",
                                            "OTEL_SDK_DISABLED",
                                            "OTEL_TRACES_SAMPLER",
                                            "OTEL_TRACES_SAMPLER_ARG",
                                            "OTEL_TRACES_EXPORTER",
                                            "OTEL_RESOURCE_ATTRIBUTES",
                                            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                            "OTEL_EXPORTER_OTLP_HEADERS",
                                            NULL };
        for (size_t i = 0; otel[i]; i++)
                unsetenv(otel[i]);
        harness_broker_start(&broker, 3);
        harness_service_start(&svc, &broker, "embedding", env);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "embedding not ready (see %s)",
                      svc.log_path);
        harness_client_start(&client, &broker, "itest");
        /* This process traces too (set after the service started, so it
         * does not inherit these). */
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, 1);
        setenv("OTEL_BSP_SCHEDULE_DELAY", "100", 1);
        setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2000", 1);
        ck_assert_int_eq(cairn_trace_init("itest", client.metrics, errstr, sizeof(errstr)), 0);
        ck_assert(cairn_trace_enabled());
}

static void teardown(void)
{
        cairn_trace_shutdown();
        harness_client_stop(&client);
        harness_service_stop(&svc, 15000);
        harness_broker_stop(&broker);
        otlp_receiver_free(&rcv);
}

/* One call with ce_id @p id (and the given trace context); returns its
 * outcome. */
static cairn_err_t call(const ProtobufCMessage *msg, const char *key, const char *id,
                        const char *traceparent, const char *tracestate, struct cairn_status *st)
{
        struct cairn_call_opts opts = { .ce_id = id,
                                        .traceparent = traceparent,
                                        .tracestate = tracestate,
                                        .timeout_ms = 10000 };
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        err = cairn_bus_call(client.cli, TOPIC, key, msg, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, st);
        if (reply)
                protobuf_c_message_free_unpacked(reply, NULL);
        return err;
}

static cairn_err_t embed(const char *text, const char *key, const char *id, const char *traceparent,
                         const char *tracestate, struct cairn_status *st)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { (char *)text };

        req.inputs = inputs;
        req.n_inputs = 1;
        return call(&req.base, key, id, traceparent, tracestate, st);
}

static void attr_eq(const struct otlp_span *s, const char *key, const char *want)
{
        const char *v = otlp_span_attr(s, key);

        ck_assert_msg(v != NULL, "span \"%s\" has no attribute %s", s->name, key);
        ck_assert_msg(strcmp(v, want) == 0, "span \"%s\": %s is \"%s\", want \"%s\"", s->name, key,
                      v, want);
}

static void attr_present(const struct otlp_span *s, const char *key)
{
        ck_assert_msg(otlp_span_attr(s, key) != NULL, "span \"%s\" has no attribute %s", s->name,
                      key);
}

/* The client's PRODUCER span and the service's CONSUMER span of call @p id. */
static void spans_of(const char *id, struct otlp_span *prod, struct otlp_span *cons)
{
        ck_assert_msg(otlp_receiver_wait(&rcv, "cairn-itest", "messaging.message.id", id, prod,
                                         WAIT_MS),
                      "no client span for %s", id);
        ck_assert_msg(otlp_receiver_wait(&rcv, "cairn-embedding", "messaging.message.id", id, cons,
                                         WAIT_MS),
                      "no service span for %s (see %s)", id, svc.log_path);
}

START_TEST(test_trace_crosses_client_and_service)
{
        struct otlp_span prod, cons;
        struct cairn_status st;
        char id[37], name[300];

        cairn_uuid(id);
        ck_assert_int_eq(embed("tracing is on", "tenant-trace", id, NULL, NULL, &st), CAIRN_OK);
        spans_of(id, &prod, &cons);

        ck_assert_int_eq(prod.kind, CAIRN_SPAN_PRODUCER);
        ck_assert_int_eq(cons.kind, CAIRN_SPAN_CONSUMER);
        ck_assert_str_eq(prod.trace_id, cons.trace_id);
        ck_assert_str_eq(prod.parent_span_id, "");           /* the root */
        ck_assert_str_eq(cons.parent_span_id, prod.span_id); /* child of the producer */
        snprintf(name, sizeof(name), "%s publish", TOPIC);
        ck_assert_str_eq(prod.name, name);
        ck_assert_str_eq(cons.name, "cairn.embedding.v1.EmbedRequest process");
        ck_assert_int_eq(prod.status_code, CAIRN_SPAN_UNSET);
        ck_assert_int_eq(cons.status_code, CAIRN_SPAN_UNSET);

        attr_eq(&prod, "messaging.system", "kafka");
        attr_eq(&prod, "messaging.operation.type", "publish");
        attr_eq(&prod, "messaging.destination.name", TOPIC);
        attr_eq(&prod, "messaging.kafka.message.key", "tenant-trace");

        attr_eq(&cons, "messaging.system", "kafka");
        attr_eq(&cons, "messaging.operation.type", "process");
        attr_eq(&cons, "messaging.operation", "process");
        attr_eq(&cons, "messaging.destination.name", TOPIC);
        attr_eq(&cons, "messaging.kafka.consumer.group", harness_topic("cairn.embedding"));
        attr_eq(&cons, "messaging.kafka.message.key", "tenant-trace");
        attr_present(&cons, "messaging.kafka.destination.partition");
        attr_present(&cons, "messaging.kafka.message.offset");
        attr_present(&cons, "messaging.message.body.size");
}
END_TEST

START_TEST(test_trace_continues_callers_traceparent)
{
        struct otlp_span prod, cons;
        struct cairn_status st;
        char id[37];

        cairn_uuid(id);
        ck_assert_int_eq(embed("continue my trace", "k", id,
                               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                               "congo=t61rcWkgMzE", &st),
                         CAIRN_OK);
        spans_of(id, &prod, &cons);
        ck_assert_str_eq(prod.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        ck_assert_str_eq(prod.parent_span_id, "00f067aa0ba902b7");
        ck_assert_str_eq(cons.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        ck_assert_str_eq(cons.parent_span_id, prod.span_id);
}
END_TEST

/* Produces a raw EmbedRequest with the given trace headers, answered on
 * partition 0 of @p reply_topic; returns the reply's headers (caller
 * destroys) or NULL. */
static rd_kafka_headers_t *raw_call(const char *id, const char *reply_topic,
                                    const char *traceparent, const char *tracestate)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { "raw" };
        uint8_t buf[64];
        char errstr[512], v[CAIRN_HEADER_MAX + 1];
        rd_kafka_headers_t *found = NULL;
        size_t len;

        req.inputs = inputs;
        req.n_inputs = 1;
        len = cairn__embedding__v1__embed_request__pack(&req, buf);
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        ck_assert_msg(prod != NULL, "%s", errstr);
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);
        cairn_headers_add(hdrs, CAIRN_H_ID, id);
        cairn_headers_add(hdrs, CAIRN_H_TYPE, "cairn.embedding.v1.EmbedRequest");
        cairn_headers_add(hdrs, CAIRN_H_REPLY_TO, reply_topic);
        cairn_headers_add(hdrs, CAIRN_H_REPLY_PART, "0");
        cairn_headers_add(hdrs, CAIRN_H_TRACEPARENT, traceparent);
        cairn_headers_add(hdrs, CAIRN_H_TRACESTATE, tracestate);
        ck_assert_int_eq(rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_KEY("raw", 3),
                                           RD_KAFKA_V_VALUE(buf, len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
                         0);
        ck_assert_int_eq(rd_kafka_flush(prod, 10000), 0);
        rd_kafka_destroy(prod);

        conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", "itest-trace-raw", errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", errstr, sizeof(errstr));
        rd_kafka_t *cons = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        ck_assert_msg(cons != NULL, "%s", errstr);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, reply_topic, 0)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(cons, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        int64_t until = cairn_mono_us() + (int64_t)WAIT_MS * 1000;
        while (!found && cairn_mono_us() < until) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(cons, 100);
                rd_kafka_headers_t *h = NULL;

                if (!rkm)
                        continue;
                if (!rkm->err && rd_kafka_message_headers(rkm, &h) == 0 &&
                    cairn_headers_get(h, CAIRN_H_CORRELATION, v, sizeof(v)) >= 0 &&
                    strcmp(v, id) == 0)
                        found = rd_kafka_headers_copy(h);
                rd_kafka_message_destroy(rkm);
        }
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
        return found;
}

START_TEST(test_trace_reply_carries_service_span)
{
        struct otlp_span cons;
        char id[37], want[64], v[CAIRN_HEADER_MAX + 1];
        rd_kafka_headers_t *reply;

        cairn_uuid(id);
        reply = raw_call(id, harness_topic("cairn.tracetest.replies"),
                         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                         "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        ck_assert_msg(reply != NULL, "no reply");
        ck_assert_msg(otlp_receiver_wait(&rcv, "cairn-embedding", "messaging.message.id", id, &cons,
                                         WAIT_MS),
                      "no service span");
        ck_assert_str_eq(cons.parent_span_id, "00f067aa0ba902b7");
        /* the reply's parent is the service's span, the tracestate goes on as is */
        snprintf(want, sizeof(want), "00-%s-%s-01", cons.trace_id, cons.span_id);
        ck_assert_int_ge(cairn_headers_get(reply, CAIRN_H_TRACEPARENT, v, sizeof(v)), 0);
        ck_assert_str_eq(v, want);
        ck_assert_int_ge(cairn_headers_get(reply, CAIRN_H_TRACESTATE, v, sizeof(v)), 0);
        ck_assert_str_eq(v, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        rd_kafka_headers_destroy(reply);

        /* an invalid traceparent is ignored: a new trace, never a refusal */
        cairn_uuid(id);
        reply = raw_call(id, harness_topic("cairn.tracetest.replies"),
                         "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "congo=1");
        ck_assert_msg(reply != NULL, "no reply");
        ck_assert_int_ge(cairn_headers_get(reply, CAIRN_H_TYPE, v, sizeof(v)), 0);
        ck_assert_str_eq(v, "cairn.embedding.v1.EmbedReply");
        ck_assert_msg(otlp_receiver_wait(&rcv, "cairn-embedding", "messaging.message.id", id, &cons,
                                         WAIT_MS),
                      "no service span");
        ck_assert_str_eq(cons.parent_span_id, "");
        ck_assert_str_ne(cons.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        /* tracestate without a valid traceparent is dropped */
        ck_assert_int_eq(cairn_headers_get(reply, CAIRN_H_TRACESTATE, v, sizeof(v)), -1);
        rd_kafka_headers_destroy(reply);
}
END_TEST

START_TEST(test_trace_unsampled_parent_is_not_exported)
{
        struct otlp_span prod, cons;
        struct cairn_status st;
        char quiet[37], loud[37];

        cairn_uuid(quiet);
        cairn_uuid(loud);
        ck_assert_int_eq(embed("not sampled", "k", quiet,
                               "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", NULL,
                               &st),
                         CAIRN_OK);
        ck_assert_int_eq(embed("sampled", "k", loud, NULL, NULL, &st), CAIRN_OK);
        /* Spans leave each process in order: once the later one arrived,
         * the earlier would have too. */
        spans_of(loud, &prod, &cons);
        ck_assert(!otlp_receiver_wait(&rcv, NULL, "messaging.message.id", quiet, &prod, 300));
}
END_TEST

START_TEST(test_trace_rejected_request_is_error_and_logged)
{
        Cairn__V1__Status bogus = CAIRN__V1__STATUS__INIT;
        struct otlp_span prod, cons;
        struct cairn_status st;
        char id[37], needle[128];

        /* a type the service does not handle: rejected by the runtime */
        cairn_uuid(id);
        ck_assert_int_eq(call(&bogus.base, "k", id, NULL, NULL, &st), CAIRN_ERR_UNIMPLEMENTED);
        spans_of(id, &prod, &cons);
        ck_assert_str_eq(cons.name, "cairn.v1.Status process");
        ck_assert_int_eq(cons.status_code, CAIRN_SPAN_ERROR);
        ck_assert_ptr_nonnull(strstr(cons.status_msg, "unknown ce_type"));
        attr_eq(&cons, "error.type", "UNIMPLEMENTED");
        ck_assert_int_eq(prod.status_code, CAIRN_SPAN_ERROR);
        attr_eq(&prod, "error.type", "UNIMPLEMENTED");
        /* the runtime's warning about it carries the trace */
        snprintf(needle, sizeof(needle), "\"trace_id\":\"%s\",\"span_id\":\"%s\"", cons.trace_id,
                 cons.span_id);
        ck_assert_msg(harness_count_in_file(svc.log_path, needle) >= 1, "no log line with %s in %s",
                      needle, svc.log_path);

        /* a handler that fails: INVALID_ARGUMENT */
        cairn_uuid(id);
        ck_assert_int_eq(embed("", "k", id, NULL, NULL, &st), CAIRN_ERR_INVALID);
        spans_of(id, &prod, &cons);
        ck_assert_int_eq(cons.status_code, CAIRN_SPAN_ERROR);
        attr_eq(&cons, "error.type", "INVALID_ARGUMENT");
        ck_assert_int_eq(prod.status_code, CAIRN_SPAN_ERROR);
}
END_TEST

START_TEST(test_trace_collector_down_changes_nothing_for_clients)
{
        enum { N = 200 };
        struct cairn_otlp_stats stats;
        struct cairn_status st;
        double before, after = -1;
        int ok = 0;

        before = harness_metric(svc.admin_port, "cairn_trace_export_failures_total") +
                 harness_metric(svc.admin_port, "cairn_trace_spans_dropped_total");
        ck_assert_msg(before >= 0, "trace metrics missing from /metrics");
        otlp_receiver_stop(&rcv);
        for (int i = 0; i < N; i++) {
                char id[37], text[64];

                cairn_uuid(id);
                snprintf(text, sizeof(text), "collector gone %d", i);
                if (embed(text, i % 2 ? "a" : "b", id, NULL, NULL, &st) == CAIRN_OK)
                        ok++;
        }
        ck_assert_int_eq(ok, N);
        for (int i = 0; i < 200; i++) {
                after = harness_metric(svc.admin_port, "cairn_trace_export_failures_total") +
                        harness_metric(svc.admin_port, "cairn_trace_spans_dropped_total");
                if (after > before)
                        break;
                usleep(50000);
        }
        ck_assert_msg(after > before, "service counted no export failure (%g, then %g)", before,
                      after);
        cairn_otlp_stats(&stats);
        ck_assert_uint_ge(stats.failures + stats.dropped, 1);
        /* and the service still answers */
        ck_assert_int_eq(harness_http_get(svc.admin_port, "/readyz", NULL, 3000), 200);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0008-tracing");
        TCase *tc = tcase_create("tracing");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_trace_crosses_client_and_service);
        tcase_add_test(tc, test_trace_continues_callers_traceparent);
        tcase_add_test(tc, test_trace_reply_carries_service_span);
        tcase_add_test(tc, test_trace_unsampled_parent_is_not_exported);
        tcase_add_test(tc, test_trace_rejected_request_is_error_and_logged);
        tcase_add_test(tc, test_trace_collector_down_changes_nothing_for_clients);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

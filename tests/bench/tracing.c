/* Tracing overhead benchmark: round-trip throughput of client → embedding
 * service → client with tracing off, with 100% sampling exported to a live
 * OTLP/HTTP receiver, and with 100% sampling while the collector is down,
 * in the same run against the same broker. Three services run side by side
 * (one per mode, each on a request topic of its own) and the modes take
 * turns in short rounds, so a noisy neighbour slows them alike. Prints
 * "name value" lines.
 *
 *   tracing [seconds-per-mode]   (default 5; rounds of 0.5 s)
 *
 * Throughput on a shared machine moves with the neighbours; the service's
 * CPU time per request (from /proc) is printed too, as a steadier view of
 * what tracing costs. */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/log.h"
#include "cairn/trace.h"
#include "harness.h"
#include "otlp.h"
#include "otlp_receiver.h"

#define INFLIGHT   64
#define MAX_ROUNDS 200

static int seconds = 5;
static struct harness_broker broker;
static uint8_t req_buf[256];
static size_t req_len;

enum { OFF, LIVE, DOWN, NMODES };
static const char *const mode_names[NMODES] = { "off", "live", "down" };

struct mode {
        struct harness_proc svc;
        char topic[300];
        char endpoint[64]; /* "" for off */
        double secs;
        long done;
        double cpu_secs; /* the service's CPU time during its rounds */
        double round_rps[MAX_ROUNDS];
        int nrounds;
};

struct load {
        struct harness_client client;
        atomic_long inflight, done, errors;
};

static void cb(const struct cairn_reply *reply, void *opaque)
{
        struct load *l = opaque;

        if (reply->err)
                atomic_fetch_add(&l->errors, 1);
        atomic_fetch_sub(&l->inflight, 1);
        atomic_fetch_add(&l->done, 1);
}

static void send_one(struct load *l, const char *topic, long i)
{
        Cairn__Embedding__V1__EmbedRequest *req =
                cairn__embedding__v1__embed_request__unpack(NULL, req_len, req_buf);
        struct cairn_status st;
        char key[16];

        snprintf(key, sizeof(key), "k%ld", i % 64);
        atomic_fetch_add(&l->inflight, 1);
        if (cairn_bus_call_async(l->client.cli, topic, key, &req->base, NULL, cb, l, &st) !=
            CAIRN_OK) {
                atomic_fetch_sub(&l->inflight, 1);
                atomic_fetch_add(&l->errors, 1);
        }
        cairn__embedding__v1__embed_request__free_unpacked(req, NULL);
}

static void drain(struct load *l)
{
        int64_t until = cairn_mono_us() + 15 * 1000000LL;

        while (atomic_load(&l->inflight) > 0 && cairn_mono_us() < until)
                usleep(1000);
}

/* This process traces like the mode's service (or not at all). */
static void client_tracing(struct load *l, const struct mode *m)
{
        char errstr[256];

        cairn_trace_shutdown();
        if (!m->endpoint[0])
                return;
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", m->endpoint, 1);
        ck_assert_int_eq(cairn_trace_init("bench", l->client.metrics, errstr, sizeof(errstr)), 0);
        ck_assert(cairn_trace_enabled());
}

/* Keeps INFLIGHT calls to @p m outstanding for @p usecs. */
static void round_run(struct load *l, struct mode *m, int64_t usecs)
{
        int64_t start = cairn_mono_us(), end = start + usecs;
        long base = atomic_load(&l->done), i = 0;
        double cpu0 = harness_proc_cpu_us(m->svc.pid) / 1e6, secs;

        while (cairn_mono_us() < end) {
                if (atomic_load(&l->inflight) < INFLIGHT)
                        send_one(l, m->topic, i++);
                else
                        usleep(50);
        }
        secs = (double)(cairn_mono_us() - start) / 1e6;
        m->done += atomic_load(&l->done) - base;
        m->secs += secs;
        if (m->nrounds < MAX_ROUNDS)
                m->round_rps[m->nrounds++] = (double)(atomic_load(&l->done) - base) / secs;
        drain(l);
        m->cpu_secs += harness_proc_cpu_us(m->svc.pid) / 1e6 - cpu0;
}

static double median_ratio(const struct mode *a, const struct mode *b)
{
        double r[MAX_ROUNDS] = { 0 };
        int n = a->nrounds < b->nrounds ? a->nrounds : b->nrounds;

        for (int i = 0; i < n; i++)
                r[i] = b->round_rps[i] > 0 ? a->round_rps[i] / b->round_rps[i] : 0;
        qsort(r, (size_t)n, sizeof(r[0]), harness_cmp_double);
        return n ? (n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2) : 0;
}

/* The consumer span the runtime makes, with its attributes. */
static struct cairn_span *consumer_span(void)
{
        struct cairn_span *s = cairn_span_start("cairn.embedding.v1.EmbedRequest process",
                                                CAIRN_SPAN_CONSUMER, NULL);

        cairn_span_set_str(s, "messaging.system", "kafka");
        cairn_span_set_str(s, "messaging.operation.type", "process");
        cairn_span_set_str(s, "messaging.operation", "process");
        cairn_span_set_str(s, "messaging.destination.name", "cairn.embedding.v1.requests");
        cairn_span_set_int(s, "messaging.kafka.destination.partition", 3);
        cairn_span_set_int(s, "messaging.kafka.message.offset", 123456);
        cairn_span_set_str(s, "messaging.kafka.consumer.group", "cairn.embedding");
        cairn_span_set_str(s, "messaging.message.id", "8c6f1a8e-1b7a-4a53-9a1e-7b0e0f3a2c11");
        cairn_span_set_str(s, "messaging.kafka.message.key", "tenant-42");
        cairn_span_set_int(s, "messaging.message.body.size", 51);
        return s;
}

/* In-process cost of one span: making it (start, ten attributes, end) and
 * encoding it as OTLP/JSON in batches of 512. Tracing must be on. */
static void span_costs(void)
{
        enum { N = 20000, BATCH = 512 };
        struct cairn_span *batch[BATCH];
        struct cairn_kv res[] = { { "service.name", "cairn-bench" } };
        size_t len;
        int64_t t0 = cairn_mono_us();

        for (int i = 0; i < N; i++) {
                struct cairn_span *s = consumer_span();

                s->sampled = false; /* freed at the end instead of queued */
                cairn_span_end(s);
        }
        printf("trace_span_make_us %.2f\n", (double)(cairn_mono_us() - t0) / N);
        for (int i = 0; i < BATCH; i++) {
                batch[i] = consumer_span();
                batch[i]->end_ns = batch[i]->start_ns + 1000000;
        }
        t0 = cairn_mono_us();
        for (int i = 0; i < N / BATCH; i++)
                free(cairn_otlp_encode(res, 1, batch, BATCH, &len));
        printf("trace_span_encode_us %.2f\n", (double)(cairn_mono_us() - t0) / (N / BATCH * BATCH));
        printf("trace_span_json_bytes %zu\n", len / BATCH);
        for (int i = 0; i < BATCH; i++) {
                batch[i]->sampled = false;
                cairn_span_end(batch[i]);
        }
}

static void service_start(struct mode *m, int which)
{
        char topic[128], group[128], ep[128], t[300], g[300];
        const char *env[] = { t, g, ep, "OTEL_TRACES_SAMPLER=always_on", NULL };

        snprintf(topic, sizeof(topic), "bench.trace_%s.requests", mode_names[which]);
        snprintf(group, sizeof(group), "bench.trace_%s", mode_names[which]);
        snprintf(m->topic, sizeof(m->topic), "%s", harness_topic(topic));
        snprintf(t, sizeof(t), "CAIRN_BUS_REQUEST_TOPIC=%s", m->topic);
        snprintf(g, sizeof(g), "CAIRN_BUS_GROUP=%s", harness_topic(group));
        snprintf(ep, sizeof(ep), "OTEL_EXPORTER_OTLP_ENDPOINT=%s", m->endpoint);
        harness_service_start(&m->svc, &broker, "embedding", env);
}

START_TEST(bench_tracing)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { "the quick brown fox jumps over the lazy dog again" };
        struct otlp_receiver live, dead;
        struct mode modes[NMODES];
        struct cairn_otlp_stats stats;
        struct load l;

        req.inputs = inputs;
        req.n_inputs = 1;
        req_len = cairn__embedding__v1__embed_request__pack(&req, req_buf);
        unsetenv("OTEL_SDK_DISABLED");
        unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
        setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
        memset(modes, 0, sizeof(modes));
        otlp_receiver_start(&live, false);
        otlp_receiver_endpoint(&live, modes[LIVE].endpoint, sizeof(modes[LIVE].endpoint));
        /* a port that refuses connections: a receiver that is gone */
        otlp_receiver_start(&dead, false);
        otlp_receiver_endpoint(&dead, modes[DOWN].endpoint, sizeof(modes[DOWN].endpoint));
        otlp_receiver_free(&dead);

        harness_broker_start(&broker, 3);
        for (int m = 0; m < NMODES; m++)
                service_start(&modes[m], m);
        for (int m = 0; m < NMODES; m++)
                ck_assert_msg(harness_wait_ready(&modes[m].svc, 30000),
                              "service not ready (see %s)", modes[m].svc.log_path);
        memset(&l, 0, sizeof(l));
        harness_client_start(&l.client, &broker, "bench");

        /* warm up every service until it answers */
        for (int m = 0; m < NMODES; m++) {
                client_tracing(&l, &modes[m]);
                for (int i = 0; i < 300; i++)
                        send_one(&l, modes[m].topic, i);
                drain(&l);
        }
        atomic_store(&l.errors, 0);

        /* rounds of 0.5 s, the modes in turn; the order rotates each round */
        for (int r = 0; r < 2 * seconds && r < MAX_ROUNDS; r++)
                for (int k = 0; k < NMODES; k++) {
                        struct mode *m = &modes[(r + k) % NMODES];

                        client_tracing(&l, m);
                        round_run(&l, m, 500000);
                }
        client_tracing(&l, &modes[DOWN]);
        span_costs();
        cairn_trace_shutdown();
        cairn_otlp_stats(&stats); /* of the last tracing phase */

        double rps[NMODES];
        for (int m = 0; m < NMODES; m++)
                rps[m] = (double)modes[m].done / modes[m].secs;
        printf("inflight %d\n", INFLIGHT);
        printf("rounds %d\n", 2 * seconds);
        for (int m = 0; m < NMODES; m++)
                printf("trace_%s_service_cpu_us_per_req %.1f\n", mode_names[m],
                       modes[m].cpu_secs * 1e6 / (double)(modes[m].done ? modes[m].done : 1));
        printf("trace_off_rps %.0f\n", rps[OFF]);
        printf("trace_live_rps %.0f\n", rps[LIVE]);
        printf("trace_down_rps %.0f\n", rps[DOWN]);
        printf("trace_live_total_ratio %.3f\n", rps[LIVE] / rps[OFF]);
        printf("trace_down_total_ratio %.3f\n", rps[DOWN] / rps[OFF]);
        /* Each round's modes ran back to back: the median of the per-round
         * ratios shrugs off rounds a neighbour disturbed. */
        printf("trace_live_ratio %.3f\n", median_ratio(&modes[LIVE], &modes[OFF]));
        printf("trace_down_ratio %.3f\n", median_ratio(&modes[DOWN], &modes[OFF]));
        printf("trace_live_spans_received %zu\n", otlp_receiver_count(&live));
        printf("trace_live_service_exported %.0f\n",
               harness_metric(modes[LIVE].svc.admin_port, "cairn_trace_spans_exported_total"));
        printf("trace_live_service_dropped %.0f\n",
               harness_metric(modes[LIVE].svc.admin_port, "cairn_trace_spans_dropped_total"));
        printf("trace_down_service_failures %.0f\n",
               harness_metric(modes[DOWN].svc.admin_port, "cairn_trace_export_failures_total"));
        printf("trace_down_service_dropped %.0f\n",
               harness_metric(modes[DOWN].svc.admin_port, "cairn_trace_spans_dropped_total"));
        printf("trace_errors %ld\n", atomic_load(&l.errors));
        harness_client_stop(&l.client);
        for (int m = 0; m < NMODES; m++)
                harness_service_stop(&modes[m].svc, 15000);
        otlp_receiver_free(&live);
        harness_broker_stop(&broker);
}
END_TEST

int main(int argc, char **argv)
{
        if (argc > 1)
                seconds = atoi(argv[1]);
        if (seconds < 1)
                seconds = 1;
        cairn_log_init("bench", CAIRN_LOG_ERROR);
        return harness_bench_run("tracing", bench_tracing, 240 + 8 * seconds, NULL);
}

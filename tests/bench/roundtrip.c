/* Round-trip benchmark: client → embedding service → client over the dev
 * broker, against a raw librdkafka ping-pong (produce, consume, produce
 * back, consume) with the same client settings and payload sizes, in the
 * same run. Prints "name value" lines.
 *
 *   roundtrip [seconds-per-phase]   (default 5) */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "harness.h"
#include "lib/pingpong.h"

#define TOPIC       harness_topic("cairn.embedding.v1.requests")
#define RATE        1000
#define INFLIGHT    64
#define MAX_SAMPLES 2000000

static int seconds = 5;
static struct harness_broker broker;

/* ---- the request both sides send ---- */

static uint8_t req_buf[256];
static size_t req_len;
static size_t reply_len; /* bytes of a real EmbedReply, used as the pong size */

static void request_init(void)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { "the quick brown fox jumps over the lazy dog again" };

        req.inputs = inputs;
        req.n_inputs = 1;
        req_len = cairn__embedding__v1__embed_request__pack(&req, req_buf);
}

/* ---- Cairn: bus client against the embedding service ---- */

struct cairn_run {
        struct harness_client client;
        struct harness_samples lat;
        atomic_long inflight;
        atomic_long done;
        atomic_long errors;
};

static void cairn_cb(const struct cairn_reply *reply, void *opaque)
{
        struct cairn_run *r = opaque;
        (void)reply;
        if (reply->err)
                atomic_fetch_add(&r->errors, 1);
        atomic_fetch_sub(&r->inflight, 1);
        atomic_fetch_add(&r->done, 1);
        if (reply->err == CAIRN_OK && reply_len == 0)
                reply_len = reply->len;
}

struct timed_call {
        struct cairn_run *run;
        int64_t t0;
};

static void cairn_timed_cb(const struct cairn_reply *reply, void *opaque)
{
        struct timed_call *tc = opaque;

        harness_samples_add(&tc->run->lat, (double)(cairn_mono_us() - tc->t0));
        cairn_cb(reply, tc->run);
        free(tc);
}

static void cairn_send(struct cairn_run *r, int64_t t0)
{
        Cairn__Embedding__V1__EmbedRequest *req =
                cairn__embedding__v1__embed_request__unpack(NULL, req_len, req_buf);
        struct timed_call *tc = malloc(sizeof(*tc));
        struct cairn_status st;
        char key[16];

        tc->run = r;
        tc->t0 = t0;
        snprintf(key, sizeof(key), "k%ld", (long)(t0 % 64));
        atomic_fetch_add(&r->inflight, 1);
        if (cairn_bus_call_async(r->client.cli, TOPIC, key, &req->base, NULL, cairn_timed_cb, tc,
                                 &st) != CAIRN_OK) {
                atomic_fetch_sub(&r->inflight, 1);
                atomic_fetch_add(&r->errors, 1);
                free(tc);
        }
        cairn__embedding__v1__embed_request__free_unpacked(req, NULL);
}

/* ---- load shapes ---- */

typedef void (*send_fn)(void *run, int64_t t0);

/* One side of the comparison: how to send and where its counters are. */
struct side {
        send_fn send;
        void *run;
        atomic_long *inflight, *done;
};

/* Sends at RATE for @p us microseconds, then waits for the answers. */
static void fixed_rate(const struct side *sd, int64_t us)
{
        int64_t start = cairn_mono_us();
        long total = (long)(RATE * us / 1000000), base = atomic_load(sd->done);

        for (long i = 0; i < total; i++) {
                int64_t due = start + i * (1000000 / RATE);
                int64_t now = cairn_mono_us();
                if (due > now)
                        usleep((useconds_t)(due - now));
                sd->send(sd->run, cairn_mono_us());
        }
        int64_t until = cairn_mono_us() + 10 * 1000000LL;
        while (atomic_load(sd->done) - base < total && cairn_mono_us() < until)
                usleep(1000);
}

/* Keeps INFLIGHT requests outstanding for @p us microseconds, then drains;
 * returns the requests answered within the window. */
static long closed_loop(const struct side *sd, int64_t us)
{
        int64_t end = cairn_mono_us() + us;
        long base = atomic_load(sd->done), answered;

        while (cairn_mono_us() < end) {
                if (atomic_load(sd->inflight) < INFLIGHT)
                        sd->send(sd->run, cairn_mono_us());
                else
                        usleep(50);
        }
        answered = atomic_load(sd->done) - base;
        int64_t until = cairn_mono_us() + 10 * 1000000LL;
        while (atomic_load(sd->inflight) > 0 && cairn_mono_us() < until)
                usleep(1000);
        return answered;
}

/* Both sides take turns in ROUNDS short rounds, in alternating order, so
 * the machine's noise (a neighbour, the broker's JIT and garbage
 * collector) falls on both alike; a phase of `seconds` per side in all. */
#define ROUNDS 10

static void latency_rounds(struct side sides[2])
{
        int64_t us = (int64_t)seconds * 1000000 / ROUNDS;

        for (int r = 0; r < ROUNDS; r++)
                for (int k = 0; k < 2; k++)
                        fixed_rate(&sides[(r + k) % 2], us);
}

static void throughput_rounds(struct side sides[2], double rps[2])
{
        int64_t us = (int64_t)seconds * 1000000 / ROUNDS;
        long answered[2] = { 0, 0 };

        for (int r = 0; r < ROUNDS; r++)
                for (int k = 0; k < 2; k++) {
                        int i = (r + k) % 2;
                        answered[i] += closed_loop(&sides[i], us);
                }
        for (int i = 0; i < 2; i++)
                rps[i] = (double)answered[i] / ((double)us * ROUNDS / 1e6);
}

static void cairn_send_v(void *run, int64_t t0)
{
        cairn_send(run, t0);
}

static void raw_send_v(void *run, int64_t t0)
{
        bench_pingpong_send(run, t0);
}

/* Runs as a check test (without fork) because the harness asserts with check. */
START_TEST(bench_roundtrip)
{
        struct harness_proc svc;
        struct cairn_run cr;
        struct bench_pingpong rr;

        request_init();
        harness_broker_start(&broker, 3);
        harness_service_start(&svc, &broker, "embedding", NULL);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "embedding service not ready (see %s)",
                      svc.log_path);

        /* Cairn first: it also learns the reply size the raw pong mimics. */
        memset(&cr, 0, sizeof(cr));
        harness_samples_init(&cr.lat, MAX_SAMPLES);
        harness_client_start(&cr.client, &broker, "bench");
        for (int i = 0; i < 200; i++)
                cairn_send(&cr, cairn_mono_us());
        while (atomic_load(&cr.inflight) > 0)
                usleep(1000);
        harness_samples_reset(&cr.lat);

        bench_pingpong_start(&rr, &broker, "rt", NULL, req_buf, req_len,
                             reply_len ? reply_len : 1600);
        struct side sides[2] = {
                { cairn_send_v, &cr, &cr.inflight, &cr.done },
                { raw_send_v, &rr, &rr.inflight, &rr.done },
        };
        /* Warm both paths (and a real broker's JIT) before measuring. */
        for (int k = 0; k < 2; k++)
                closed_loop(&sides[k], 1000000);
        harness_samples_reset(&cr.lat);
        harness_samples_reset(&rr.lat);

        latency_rounds(sides);
        double c50 = harness_samples_pct(&cr.lat, 0.50), c99 = harness_samples_pct(&cr.lat, 0.99);
        double r50 = harness_samples_pct(&rr.lat, 0.50), r99 = harness_samples_pct(&rr.lat, 0.99);
        double tput[2];
        throughput_rounds(sides, tput);
        double ctput = tput[0], rtput = tput[1];
        bench_pingpong_stop(&rr);

        printf("rate_rps %d\n", RATE);
        printf("inflight %d\n", INFLIGHT);
        printf("rounds %d\n", ROUNDS);
        printf("request_bytes %zu\n", req_len);
        printf("reply_bytes %zu\n", reply_len);
        printf("cairn_p50_ms %.3f\n", c50 / 1000);
        printf("cairn_p99_ms %.3f\n", c99 / 1000);
        printf("raw_p50_ms %.3f\n", r50 / 1000);
        printf("raw_p99_ms %.3f\n", r99 / 1000);
        printf("p50_ratio %.2f\n", c50 / r50);
        printf("p99_ratio %.2f\n", c99 / r99);
        printf("cairn_max_rps %.0f\n", ctput);
        printf("raw_max_rps %.0f\n", rtput);
        printf("throughput_ratio %.2f\n", ctput / rtput);
        printf("cairn_errors %ld\n", atomic_load(&cr.errors));

        /* Resident memory of the idle service, after the load. */
        harness_client_stop(&cr.client);
        sleep(2);
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)svc.pid);
        FILE *fp = fopen(path, "r");
        while (fp && fgets(line, sizeof(line), fp))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        printf("embedding_rss_after_load_kib %ld\n", atol(line + 6));
        if (fp)
                fclose(fp);

        harness_proc_signal(&svc, SIGTERM);
        harness_proc_wait(&svc, 15000);

        /* A fresh service, idle: what it costs to keep one running. */
        harness_service_start(&svc, &broker, "embedding", NULL);
        harness_wait_ready(&svc, 30000);
        sleep(2);
        snprintf(path, sizeof(path), "/proc/%d/status", (int)svc.pid);
        fp = fopen(path, "r");
        while (fp && fgets(line, sizeof(line), fp))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        printf("embedding_idle_rss_kib %ld\n", atol(line + 6));
        if (fp)
                fclose(fp);
        harness_proc_signal(&svc, SIGTERM);
        harness_proc_wait(&svc, 15000);
        harness_broker_stop(&broker);
}
END_TEST

int main(int argc, char **argv)
{
        if (argc > 1)
                seconds = atoi(argv[1]);
        if (seconds < 1)
                seconds = 1;
        return harness_bench_run("roundtrip", bench_roundtrip, 60 + 8 * seconds, NULL);
}

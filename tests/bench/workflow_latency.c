/* Latency of a workflow of three cheap steps, one run at a time: from the
 * StartRunRequest sent to the run's RUN_COMPLETED event received on
 * cairn.workflow.v1.events, against the same three EmbedRequests sent
 * straight to the embedding service one after another (what the steps cost
 * without the engine). The two take turns in rounds, in alternating order,
 * so load from neighbours falls on both alike. Also when each part of a run
 * became visible (its StartRunReply, RUN_STARTED, each step's
 * STEP_COMPLETED), and the CPU time per run of every process.
 *
 * Prints "name value" lines.   workflow_latency [runs]   (default 300) */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "lib/workflow.h"

#define ROUNDS     10
#define WARMUP     20
#define TIMEOUT_US (30 * 1000000LL)

/* What became visible of the run under way, monotonic µs; 0: not yet. */
enum { AT_REPLY, AT_STARTED, AT_A, AT_B, AT_DONE, AT__COUNT };

static const char *const at_names[AT__COUNT] = { "start_reply", "run_started", "step_a", "step_b",
                                                 "run_completed" };

static int runs = 300;
static struct bench_wf w;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long current = -1; /* the run waited for */
static int64_t at[AT__COUNT];
static bool failed;

static void on_event(void *opaque, const bench_wf_event *ev, int64_t at_us)
{
        long n = -1;
        int k = -1;

        (void)opaque;
        if (sscanf(ev->workflow_id, "lat-%ld", &n) != 1)
                return;
        switch (ev->event) {
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_STARTED:
                k = AT_STARTED;
                break;
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_COMPLETED:
                k = strcmp(ev->step, "a") == 0 ? AT_A : strcmp(ev->step, "b") == 0 ? AT_B : -1;
                break;
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_COMPLETED:
                k = AT_DONE;
                break;
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_FAILED:
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_TIMED_OUT:
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_CANCELLED:
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_TERMINATED:
                k = AT_DONE;
                pthread_mutex_lock(&lock);
                if (n == current)
                        failed = true;
                pthread_mutex_unlock(&lock);
                fprintf(stderr, "run %s closed with event %d: %s\n", ev->workflow_id, ev->event,
                        ev->error ? ev->error->message : "");
                break;
        default:
                break;
        }
        if (k < 0)
                return;
        pthread_mutex_lock(&lock);
        if (n == current && !at[k]) {
                at[k] = at_us;
                pthread_cond_broadcast(&cond);
        }
        pthread_mutex_unlock(&lock);
}

static void on_start_reply(const struct cairn_reply *reply, void *opaque)
{
        long n = (long)(intptr_t)opaque;

        pthread_mutex_lock(&lock);
        if (n == current) {
                at[AT_REPLY] = cairn_mono_us();
                if (reply->err) {
                        fprintf(stderr, "start lat-%ld: %s\n", n, reply->st.message);
                        failed = true;
                        at[AT_DONE] = at[AT_REPLY];
                }
                pthread_cond_broadcast(&cond);
        }
        pthread_mutex_unlock(&lock);
}

static void on_chain(void *opaque, int64_t t0, const int64_t *answered, bool ok)
{
        long n = (long)(intptr_t)opaque;

        (void)t0;
        pthread_mutex_lock(&lock);
        if (n == current) {
                for (int i = 0; i < BENCH_WF_STEPS; i++)
                        at[i] = answered[i];
                failed = !ok;
                at[AT_DONE] = ok ? answered[BENCH_WF_STEPS - 1] : cairn_mono_us();
                pthread_cond_broadcast(&cond);
        }
        pthread_mutex_unlock(&lock);
}

/* Waits until the run or chain under way is done (both its reply and its
 * completion for a run); false when it failed or timed out. */
static bool wait_done(int64_t t0, bool run)
{
        bool ok;

        pthread_mutex_lock(&lock);
        while ((!at[AT_DONE] || (run && !at[AT_REPLY])) && cairn_mono_us() - t0 < TIMEOUT_US) {
                struct timespec ts = cairn_timespec_in(CLOCK_REALTIME, 100 * 1000);

                pthread_cond_timedwait(&cond, &lock, &ts);
        }
        ok = at[AT_DONE] && !failed;
        current = -1;
        pthread_mutex_unlock(&lock);
        return ok;
}

static void begin(long n)
{
        pthread_mutex_lock(&lock);
        current = n;
        memset(at, 0, sizeof(at));
        failed = false;
        pthread_mutex_unlock(&lock);
}

/* One side's samples: the whole, and each part. */
struct side {
        struct harness_samples total, part[AT__COUNT];
        struct bench_wf_cpu cpu;
        long errors, done;
};

static void side_init(struct side *s)
{
        memset(s, 0, sizeof(*s));
        harness_samples_init(&s->total, (size_t)runs);
        for (int i = 0; i < AT__COUNT; i++)
                harness_samples_init(&s->part[i], (size_t)runs);
}

static void side_free(struct side *s)
{
        harness_samples_free(&s->total);
        for (int i = 0; i < AT__COUNT; i++)
                harness_samples_free(&s->part[i]);
}

/* One workflow run, start to RUN_COMPLETED; recorded into @p s unless NULL. */
/* Counts a finished run or chain in @p s: its total and the times of its
 * first @p parts moments (those it reached). */
static void record(struct side *s, int64_t t0, int parts)
{
        s->done++;
        harness_samples_add(&s->total, (double)(at[AT_DONE] - t0));
        for (int i = 0; i < parts; i++)
                if (at[i])
                        harness_samples_add(&s->part[i], (double)(at[i] - t0));
}

static void one_run(long n, struct side *s)
{
        char id[32];
        int64_t t0;

        snprintf(id, sizeof(id), "lat-%ld", n);
        begin(n);
        t0 = cairn_mono_us();
        if (!bench_wf_start_run(&w, "bench-three", id, "{\"text\": \"" BENCH_WF_TEXT "\"}",
                                on_start_reply, (void *)(intptr_t)n)) {
                wait_done(t0, false);
                if (s)
                        s->errors++;
                return;
        }
        if (!wait_done(t0, true)) {
                if (s)
                        s->errors++;
                return;
        }
        if (s)
                record(s, t0, AT__COUNT);
}

/* The three calls straight to the embedding service. */
static void one_chain(long n, struct side *s)
{
        int64_t t0;

        begin(n);
        t0 = cairn_mono_us();
        if (!bench_wf_chain_start(&w, t0, on_chain, (void *)(intptr_t)n) || !wait_done(t0, false)) {
                if (s)
                        s->errors++;
                return;
        }
        if (s)
                record(s, t0, BENCH_WF_STEPS);
}

static void side_run(struct side *s, bool workflow, long *next, int n)
{
        struct bench_wf_cpu a, b;

        bench_wf_cpu_now(&w, &a);
        for (int i = 0; i < n; i++) {
                if (workflow)
                        one_run((*next)++, s);
                else
                        one_chain((*next)++, s);
        }
        bench_wf_cpu_now(&w, &b);
        bench_wf_cpu_add(&s->cpu, &a, &b);
}

START_TEST(bench_workflow_latency)
{
        struct side wf, base;
        long next = 0;
        int per_round = (runs + ROUNDS - 1) / ROUNDS;

        bench_wf_print_load("load_start");
        bench_wf_start(&w, "wf-latency", NULL, on_event, NULL);
        bench_wf_register(&w, bench_wf_three_steps);
        side_init(&wf);
        side_init(&base);
        for (int i = 0; i < WARMUP; i++) {
                one_run(next++, NULL);
                one_chain(next++, NULL);
        }
        bench_wf_analyze(&w);
        for (int r = 0; r < ROUNDS; r++) {
                bool wf_first = r % 2 == 0;

                side_run(wf_first ? &wf : &base, wf_first, &next, per_round);
                side_run(wf_first ? &base : &wf, !wf_first, &next, per_round);
        }
        double wf50 = bench_wf_pct_ms(&wf.total, 0.5), wf99 = bench_wf_pct_ms(&wf.total, 0.99);
        double b50 = bench_wf_pct_ms(&base.total, 0.5), b99 = bench_wf_pct_ms(&base.total, 0.99);

        printf("runs %ld\nrounds %d\nwf_errors %ld\nbase_errors %ld\n", wf.done, ROUNDS, wf.errors,
               base.errors);
        printf("wf_p50_ms %.2f\nwf_p99_ms %.2f\nbase_p50_ms %.2f\nbase_p99_ms %.2f\n", wf50, wf99,
               b50, b99);
        printf("p50_ratio %.2f\np99_ratio %.2f\nadded_p50_ms %.2f\nadded_per_step_p50_ms %.2f\n",
               wf50 / b50, wf99 / b99, wf50 - b50, (wf50 - b50) / BENCH_WF_STEPS);
        for (int i = 0; i < AT__COUNT; i++)
                printf("wf_to_%s_p50_ms %.2f\n", at_names[i], bench_wf_pct_ms(&wf.part[i], 0.5));
        for (int i = 0; i < BENCH_WF_STEPS; i++)
                printf("base_to_call%d_p50_ms %.2f\n", i + 1, bench_wf_pct_ms(&base.part[i], 0.5));
        bench_wf_cpu_print("wf", &wf.cpu, (double)(wf.done + wf.errors));
        bench_wf_cpu_print("base", &base.cpu, (double)(base.done + base.errors));
        bench_wf_print_load("load_end");
        side_free(&wf);
        side_free(&base);
        fflush(stdout);
}
END_TEST

static void teardown(void)
{
        bench_wf_stop(&w);
}

int main(int argc, char **argv)
{
        if (argc > 1 && atoi(argv[1]) >= ROUNDS)
                runs = atoi(argv[1]);
        return harness_bench_run("workflow_latency", bench_workflow_latency, 1800, teardown);
}

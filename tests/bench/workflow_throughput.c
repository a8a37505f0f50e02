/* Sustained throughput of the workflow service: runs of "bench-three"
 * (three calls to the embedding service's lexical model, one after
 * another) kept BENCH_WORKFLOW_INFLIGHT (default 1,000) in flight, a new
 * one started as each one's RUN_COMPLETED event arrives, against the same
 * three calls chained straight through the bus as many at once. After an
 * unrecorded warm-up, the two take turns in rounds (baseline, workflow,
 * workflow, baseline); each round starts its load, lets it settle, counts
 * the completions of a window, then stops starting and waits until
 * everything in flight is done. Workflows/s and steps/s are the window's;
 * PostgreSQL commits and CPU time per step are over the whole round (from
 * quiet to quiet, so every step counted was started and finished in it),
 * with pg_stat_statements over the workflow rounds where it loads.
 *
 * Prints "name value" lines.   workflow_throughput [window-seconds] (default 10) */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "lib/workflow.h"

#define SETTLE_US   (3 * 1000000LL) /* load before the window opens */
#define WARMUP_US   (10 * 1000000LL)
#define DRAIN_US    (180 * 1000000LL)
#define STATS_US    (1500 * 1000LL) /* pg_stat_database lags a backend by up to a second */
#define RING        (1 << 16)       /* runs in flight are far fewer */
#define MAX_SAMPLES 2000000
#define TOP_STMTS   10
#define PROFILE_S   8
#define TOP_PROFILE 12
/* StartRun's lookups of a run by workflow id and by start request */
#define LOOKUPS "SELECT % FROM workflow_runs WHERE tenant = $1 AND %"

static int window_s = 10, inflight_max = 1000;
static const char *run_type = "bench-three"; /* what load() starts */
static struct bench_wf w;

/* The load under way. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int64_t t0_of[RING]; /* a run's start, by its number; 0: not in flight */
static long inflight, completed, errors, in_window;
static int64_t window_from, window_to; /* monotonic µs; completions between count */
static struct harness_samples lat;

/* One run or chain done (@p ok) that started at @p t0. */
static void finished(int64_t t0, bool ok)
{
        int64_t now = cairn_mono_us();

        pthread_mutex_lock(&lock);
        inflight--;
        if (!ok) {
                errors++;
        } else {
                completed++;
                if (now >= window_from && now < window_to) {
                        in_window++;
                        harness_samples_add(&lat, (double)(now - t0));
                }
        }
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
}

/* Takes run @p n out of flight; its start time, or 0 when it was not in. */
static int64_t take(long n)
{
        int64_t t0;

        pthread_mutex_lock(&lock);
        t0 = t0_of[n % RING];
        t0_of[n % RING] = 0;
        pthread_mutex_unlock(&lock);
        return t0;
}

static void on_event(void *opaque, const bench_wf_event *ev, int64_t at_us)
{
        long n;
        int64_t t0;
        bool ok;

        (void)opaque;
        (void)at_us;
        if (sscanf(ev->workflow_id, "tp-%ld", &n) != 1)
                return;
        switch (ev->event) {
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_COMPLETED:
                ok = true;
                break;
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_FAILED:
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_TIMED_OUT:
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_CANCELLED:
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_TERMINATED:
                ok = false;
                fprintf(stderr, "run %s closed with event %d: %s\n", ev->workflow_id, ev->event,
                        ev->error ? ev->error->message : "");
                break;
        default:
                return;
        }
        if ((t0 = take(n)))
                finished(t0, ok);
}

static void on_start_reply(const struct cairn_reply *reply, void *opaque)
{
        long n = (long)(intptr_t)opaque;
        int64_t t0;

        if (!reply->err)
                return;
        fprintf(stderr, "start tp-%ld: %s\n", n, reply->st.message);
        if ((t0 = take(n)))
                finished(t0, false);
}

static void on_chain(void *opaque, int64_t t0, const int64_t *answered, bool ok)
{
        (void)answered;
        if (take((long)(intptr_t)opaque))
                finished(t0, ok);
}

/* Starts run (or chain) @p n unless it could not be sent. */
static void start_one(long n, bool workflow)
{
        int64_t t0 = cairn_mono_us();
        char id[32];

        pthread_mutex_lock(&lock);
        inflight++;
        t0_of[n % RING] = t0;
        pthread_mutex_unlock(&lock);
        snprintf(id, sizeof(id), "tp-%ld", n);
        if (workflow ? bench_wf_start_run(&w, run_type, id, "{\"text\": \"" BENCH_WF_TEXT "\"}",
                                          on_start_reply, (void *)(intptr_t)n)
                     : bench_wf_chain_start(&w, t0, on_chain, (void *)(intptr_t)n))
                return;
        if (take(n))
                finished(t0, false);
}

/* Keeps inflight_max in flight until @p until, then waits for the rest. */
static void load(bool workflow, long *next, int64_t until)
{
        while (cairn_mono_us() < until) {
                pthread_mutex_lock(&lock);
                while (inflight >= inflight_max && cairn_mono_us() < until) {
                        struct timespec ts = cairn_timespec_in(CLOCK_REALTIME, 20 * 1000);

                        pthread_cond_timedwait(&cond, &lock, &ts);
                }
                pthread_mutex_unlock(&lock);
                if (cairn_mono_us() < until)
                        start_one((*next)++, workflow);
        }
        int64_t drain_until = cairn_mono_us() + DRAIN_US;

        pthread_mutex_lock(&lock);
        while (inflight > 0 && cairn_mono_us() < drain_until) {
                pthread_mutex_unlock(&lock);
                usleep(10 * 1000);
                pthread_mutex_lock(&lock);
        }
        ck_assert_msg(inflight == 0, "%ld runs still in flight after %lld s", inflight,
                      (long long)(DRAIN_US / 1000000));
        pthread_mutex_unlock(&lock);
}

/* What one side did over its rounds. */
struct side {
        const char *name;
        const char *type; /* the workflow type; NULL: the baseline */
        double window_secs;
        long in_window, completed, errors;
        double commits, rollbacks;
        struct bench_wf_cpu cpu;
        struct harness_samples lat;
};

static void round_run(struct side *s, long *next)
{
        struct bench_wf_cpu a, b;
        double c0, r0, c1, r1;
        int64_t t;

        bench_wf_pg_xacts(&w, &c0, &r0);
        bench_wf_cpu_now(&w, &a);
        pthread_mutex_lock(&lock);
        completed = errors = in_window = 0;
        t = cairn_mono_us();
        window_from = t + SETTLE_US;
        window_to = window_from + (int64_t)window_s * 1000000;
        harness_samples_reset(&lat);
        pthread_mutex_unlock(&lock);
        if (s->type)
                run_type = s->type;
        load(s->type != NULL, next, window_to);
        bench_wf_cpu_now(&w, &b);
        usleep(STATS_US);
        bench_wf_pg_xacts(&w, &c1, &r1);
        bench_wf_cpu_add(&s->cpu, &a, &b);
        s->commits += c1 - c0;
        s->rollbacks += r1 - r0;
        s->window_secs += (double)(window_to - window_from) / 1e6;
        s->in_window += in_window;
        s->completed += completed;
        s->errors += errors;
        /* the latencies of the window, kept with the side's */
        for (size_t i = 0; i < harness_samples_count(&lat) && i < lat.cap; i++)
                harness_samples_add(&s->lat, lat.v[i]);
}

static void side_print(struct side *s)
{
        double wps = (double)s->in_window / s->window_secs;
        double steps = (double)s->completed * BENCH_WF_STEPS;
        char name[64];

        printf("%s_window_s %.1f\n%s_per_s %.1f\n%s_steps_per_s %.1f\n%s_completed %ld\n"
               "%s_errors %ld\n",
               s->name, s->window_secs, s->name, wps, s->name, wps * BENCH_WF_STEPS, s->name,
               s->completed, s->name, s->errors);
        printf("%s_p50_ms %.1f\n%s_p99_ms %.1f\n", s->name, bench_wf_pct_ms(&s->lat, 0.5), s->name,
               bench_wf_pct_ms(&s->lat, 0.99));
        printf("%s_commits_per_step %.2f\n%s_rollbacks_per_step %.3f\n", s->name,
               steps > 0 ? s->commits / steps : 0, s->name, steps > 0 ? s->rollbacks / steps : 0);
        snprintf(name, sizeof(name), "%s_step", s->name);
        bench_wf_cpu_print(name, &s->cpu, steps);
}

/* perf's profiles of the service and PostgreSQL under the same load, in
 * a round of its own (perf's sampling costs CPU too). */
struct profile {
        char dir[512], why[256];
        bool ok;
};

static void *profile_main(void *arg)
{
        struct profile *p = arg;

        usleep(SETTLE_US);
        p->ok = bench_wf_perf_record(&w, p->dir, PROFILE_S, p->why, sizeof(p->why));
        return NULL;
}

static void profile_round(long *next)
{
        struct profile p = { 0 };
        pthread_t thread;
        char file[600];

        snprintf(p.dir, sizeof(p.dir), "%s", w.state);
        run_type = "bench-three";
        pthread_mutex_lock(&lock);
        window_from = window_to = 0;
        pthread_mutex_unlock(&lock);
        ck_assert_int_eq(pthread_create(&thread, NULL, profile_main, &p), 0);
        load(true, next, cairn_mono_us() + SETTLE_US + (PROFILE_S + 1) * 1000000LL);
        pthread_join(thread, NULL);
        if (!p.ok) {
                printf("prof_skipped %s\n", p.why);
                return;
        }
        printf("prof_seconds %d\n", PROFILE_S);
        snprintf(file, sizeof(file), "%s/workflow.data", p.dir);
        bench_wf_perf_print(file, "prof_wf", TOP_PROFILE);
        snprintf(file, sizeof(file), "%s/pg.data", p.dir);
        bench_wf_perf_print(file, "prof_pg", TOP_PROFILE);
}

/* How long StartRun's lookups took since pg_stat_statements was emptied,
 * and how many runs the table holds now. */
static void lookups_print(const char *name)
{
        double calls, ms = bench_wf_statement_ms(&w, LOOKUPS, &calls);
        char runs[64];

        ck_assert(harness_pg_scalar(w.pg.url, "SELECT count(*) FROM workflow_runs", runs,
                                    sizeof(runs)) == 0);
        printf("%s_ms %.4f\n%s_calls %.0f\n%s_table_runs %s\n", name, ms, name, calls, name, runs);
}

/* What the commits per step are made of, besides a reply's change (one a
 * step) and a start (one a run): the outbox's rounds, the definition read
 * before each start, and libcairn's settings of statement_timeout, which
 * outside a transaction are statements, so transactions, of their own. */
static void commits_print(const struct side *s)
{
        static const struct {
                const char *name, *pattern;
        } parts[] = {
                { "outbox_rounds", "SELECT seq, topic, key, ce_id, %" },
                { "definition_reads", "SELECT version, encode(definition, %" },
                { "timeout_settings", "SELECT set_config(%" },
        };
        double steps = (double)s->completed * BENCH_WF_STEPS, calls;

        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                bench_wf_statement_ms(&w, parts[i].pattern, &calls);
                printf("%s_%s_per_step %.2f\n", s->name, parts[i].name,
                       steps > 0 ? calls / steps : 0);
        }
}

START_TEST(bench_workflow_throughput)
{
        struct side wf = { .name = "wf", .type = "bench-three" }, base = { .name = "base" },
                    wf16 = { .name = "wf16", .type = "bench-three-16" };
        long next = 0;

        bench_wf_print_load("load_start");
        harness_samples_init(&lat, MAX_SAMPLES);
        harness_samples_init(&wf.lat, MAX_SAMPLES);
        harness_samples_init(&base.lat, MAX_SAMPLES);
        harness_samples_init(&wf16.lat, MAX_SAMPLES);
        bench_wf_start(&w, "wf-throughput", NULL, on_event, NULL);
        bench_wf_register(&w, bench_wf_three_steps);
        bench_wf_register(&w, bench_wf_three_steps_16);
        printf("inflight %d\nwindow_s %d\n", inflight_max, window_s);
        /* PostgreSQL's caches, the broker's JIT, the services' first batches */
        pthread_mutex_lock(&lock);
        window_from = window_to = 0;
        pthread_mutex_unlock(&lock);
        load(true, &next, cairn_mono_us() + WARMUP_US);
        lookups_print("lookup_before_analyze");
        bench_wf_analyze(&w);
        bench_wf_print_load("load_after_warmup");
        /* symmetric, so a trend in the neighbours' load falls on all alike */
        round_run(&base, &next);
        round_run(&wf16, &next);
        bench_wf_statements_reset(&w);
        round_run(&wf, &next);
        round_run(&wf, &next);
        bench_wf_statements_print(&w, "wf", (double)wf.completed * BENCH_WF_STEPS, TOP_STMTS);
        lookups_print("lookup_after_analyze");
        commits_print(&wf);
        round_run(&wf16, &next);
        round_run(&base, &next);
        side_print(&wf);
        side_print(&wf16);
        side_print(&base);
        profile_round(&next);
        printf("ratio_per_s %.3f\n",
               (wf.in_window / wf.window_secs) / (base.in_window / base.window_secs));
        bench_wf_print_load("load_end");
        harness_samples_free(&lat);
        harness_samples_free(&wf.lat);
        harness_samples_free(&base.lat);
        harness_samples_free(&wf16.lat);
        fflush(stdout);
}
END_TEST

static void teardown(void)
{
        bench_wf_stop(&w);
}

int main(int argc, char **argv)
{
        const char *n = getenv("BENCH_WORKFLOW_INFLIGHT");

        if (argc > 1 && atoi(argv[1]) > 0)
                window_s = atoi(argv[1]);
        if (n && atoi(n) > 0)
                inflight_max = atoi(n);
        return harness_bench_run("workflow_throughput", bench_workflow_throughput, 3600, teardown);
}

/* Recovery of the workflow service: BENCH_WORKFLOW_RECOVERY_RUNS (default
 * 10,000) runs in flight, each asleep on a durable timer ("bench-nap": a
 * sleep until input.until, then one call to the embedding service). The
 * service is killed with SIGKILL once every run is asleep, the timers fall
 * due while it is down, and it is started again: the time from the restart
 * to /readyz answering 200, to every run resumed (its timer's
 * STEP_COMPLETED event received: the service found the run due, moved it
 * past the point the kill caught it at and published that) and to every
 * run completed (its call made and answered too); and, in PostgreSQL, to
 * no run being due any more (every run moved, its events perhaps not yet
 * published).
 *
 * Baselines in the same run: the same number of timers falling due at
 * once on a service that stays up (from the moment they are due), and a
 * restart with nothing due: to ready, then when a run started the moment
 * it is ready, and the one after it, are answered and show their first
 * event.
 *
 * Prints "name value" lines.   workflow_recovery [runs] */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "lib/workflow.h"

#define PILOT      200
#define WINDOW     64 /* StartRunRequests in flight while starting runs */
#define MARGIN_MS  5000
#define SLOWER     1.5 /* the start rate may fall as the tables grow */
#define TIMEOUT_US (600 * 1000000LL)

/* clang-format off */
static const char nap_def[] =
        "{\"type\": \"bench-nap\", \"steps\": ["
        " {\"id\": \"nap\", \"sleep\": {\"until\": \"${input.until}\"}},"
        " {\"id\": \"embed\", \"after\": [\"nap\"], \"call\": {\"service\": \"embedding\","
        "  \"type\": \"cairn.embedding.v1.EmbedRequest\", \"request\": {\"model\": \""
        BENCH_WF_MODEL "\", \"inputs\": [\"${input.text}\"]}}}],"
        " \"output\": {\"model\": \"${steps.embed.output.model}\"}}";
/* clang-format on */

static int runs = 10000;
static struct bench_wf w;

/* One batch of runs ("<prefix>-<n>"): what has been seen of each, once. */
struct batch {
        char prefix;
        int n;
        atomic_char *asleep, *resumed, *done;
        atomic_int n_asleep, n_resumed, n_done, n_failed;
        atomic_llong last_asleep_us, last_resumed_us, first_resumed_us, last_done_us;
        atomic_int replies, start_errors;
        atomic_llong last_reply_us;
};

static struct batch batches[4];
static atomic_int nbatches;

static void batch_init(struct batch *b, char prefix, int n)
{
        memset(b, 0, sizeof(*b));
        b->prefix = prefix;
        b->n = n;
        b->asleep = calloc((size_t)n, 1);
        b->resumed = calloc((size_t)n, 1);
        b->done = calloc((size_t)n, 1);
        ck_assert(b->asleep && b->resumed && b->done);
        atomic_fetch_add(&nbatches, 1);
}

/* Marks flag @p i of @p flags; true the first time. */
static bool mark(atomic_char *flags, int i)
{
        char zero = 0;

        return atomic_compare_exchange_strong(&flags[i], &zero, 1);
}

static void on_event(void *opaque, const bench_wf_event *ev, int64_t at_us)
{
        char prefix;
        int i;
        struct batch *b = NULL;

        (void)opaque;
        if (sscanf(ev->workflow_id, "r%c-%d", &prefix, &i) != 2)
                return;
        for (int k = 0; k < atomic_load(&nbatches); k++)
                if (batches[k].prefix == prefix)
                        b = &batches[k];
        if (!b || i < 0 || i >= b->n)
                return;
        switch (ev->event) {
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_SCHEDULED:
                if (strcmp(ev->step, "nap") == 0 && mark(b->asleep, i)) {
                        atomic_store(&b->last_asleep_us, at_us);
                        atomic_fetch_add(&b->n_asleep, 1);
                }
                break;
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_COMPLETED:
                if (strcmp(ev->step, "nap") == 0 && mark(b->resumed, i)) {
                        long long zero = 0;

                        atomic_compare_exchange_strong(&b->first_resumed_us, &zero, at_us);
                        atomic_store(&b->last_resumed_us, at_us);
                        atomic_fetch_add(&b->n_resumed, 1);
                }
                break;
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_COMPLETED:
                if (mark(b->done, i)) {
                        atomic_store(&b->last_done_us, at_us);
                        atomic_fetch_add(&b->n_done, 1);
                }
                break;
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_FAILED:
        case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_TIMED_OUT:
                if (mark(b->done, i)) {
                        fprintf(stderr, "run %s failed: %s\n", ev->workflow_id,
                                ev->error ? ev->error->message : "");
                        atomic_fetch_add(&b->n_failed, 1);
                        atomic_fetch_add(&b->n_done, 1);
                }
                break;
        default:
                break;
        }
}

static void on_start_reply(const struct cairn_reply *reply, void *opaque)
{
        struct batch *b = opaque;

        if (reply->err) {
                fprintf(stderr, "start: %s\n", reply->st.message);
                atomic_fetch_add(&b->start_errors, 1);
        }
        atomic_store(&b->last_reply_us, cairn_mono_us());
        atomic_fetch_add(&b->replies, 1);
}

/* Waits until @p counter reaches @p want; false after @p timeout_us. */
static bool wait_count(atomic_int *counter, int want, int64_t timeout_us)
{
        int64_t until = cairn_mono_us() + timeout_us;

        while (atomic_load(counter) < want && cairn_mono_us() < until)
                usleep(5 * 1000);
        return atomic_load(counter) >= want;
}

/* Starts the runs of @p b, sleeping until @p until_ms (unix ms), WINDOW
 * requests in flight; returns the seconds it took. */
static double start_all(struct batch *b, int64_t until_ms)
{
        char id[32], input[128], at[32];
        int64_t t0 = cairn_mono_us();

        cairn_rfc3339(until_ms, at);
        snprintf(input, sizeof(input), "{\"text\": \"" BENCH_WF_TEXT "\", \"until\": \"%s\"}", at);
        for (int i = 0; i < b->n; i++) {
                while (i - atomic_load(&b->replies) >= WINDOW)
                        usleep(200);
                snprintf(id, sizeof(id), "r%c-%d", b->prefix, i);
                if (!bench_wf_start_run(&w, "bench-nap", id, input, on_start_reply, b)) {
                        atomic_fetch_add(&b->start_errors, 1);
                        atomic_fetch_add(&b->replies, 1);
                }
        }
        ck_assert(wait_count(&b->replies, b->n, TIMEOUT_US));
        ck_assert_int_eq(atomic_load(&b->start_errors), 0);
        return (double)(cairn_mono_us() - t0) / 1e6;
}

/* The monotonic µs of unix ms @p ms. */
static int64_t mono_of(int64_t ms)
{
        return cairn_mono_us() + (ms - cairn_now_ms()) * 1000;
}

static void sleep_until_mono(int64_t t)
{
        int64_t now = cairn_mono_us();

        if (t > now)
                usleep((useconds_t)(t - now));
}

/* Starts @p b's runs with a timer due after they have all started (at
 * @p rate starts a second, with a margin); waits until every one is
 * asleep. Returns when they fall due, unix ms. */
static int64_t prepare(struct batch *b, double rate, const char *name)
{
        int64_t due = cairn_now_ms() + (int64_t)(b->n / rate * SLOWER * 1000) + MARGIN_MS;
        double secs = start_all(b, due);

        ck_assert_msg(wait_count(&b->n_asleep, b->n, TIMEOUT_US), "%d of %d runs asleep",
                      atomic_load(&b->n_asleep), b->n);
        printf("%s_start_s %.1f\n%s_starts_per_s %.0f\n", name, secs, name, b->n / secs);
        printf("%s_asleep_before_due_s %.1f\n", name, (double)(due - cairn_now_ms()) / 1000.0);
        fflush(stdout);
        return due;
}

/* Prints when @p b's runs resumed and completed, from @p t0 (mono µs). */
static void print_resumed(struct batch *b, const char *name, int64_t t0)
{
        ck_assert_msg(wait_count(&b->n_resumed, b->n, TIMEOUT_US), "%s: %d of %d runs resumed",
                      name, atomic_load(&b->n_resumed), b->n);
        ck_assert_msg(wait_count(&b->n_done, b->n, TIMEOUT_US), "%s: %d of %d runs done", name,
                      atomic_load(&b->n_done), b->n);
        printf("%s_first_resumed_s %.2f\n%s_all_resumed_s %.2f\n%s_all_completed_s %.2f\n", name,
               (double)(atomic_load(&b->first_resumed_us) - t0) / 1e6, name,
               (double)(atomic_load(&b->last_resumed_us) - t0) / 1e6, name,
               (double)(atomic_load(&b->last_done_us) - t0) / 1e6);
        printf("%s_resumed_per_s %.0f\n%s_failed %d\n", name,
               b->n / ((double)(atomic_load(&b->last_resumed_us) - t0) / 1e6), name,
               atomic_load(&b->n_failed));
        fflush(stdout);
}

/* Seconds from @p t0 (mono µs) until no run is due in PostgreSQL any more:
 * the scheduler has moved every one, whether or not its events are out. */
static double wait_moved_s(int64_t t0)
{
        int64_t until = cairn_mono_us() + TIMEOUT_US;
        char out[64];

        for (;;) {
                ck_assert(harness_pg_scalar(w.pg.url,
                                            "SELECT count(*) FROM workflow_runs WHERE wake_at <= "
                                            "now()",
                                            out, sizeof(out)) == 0);
                if (atoi(out) == 0)
                        return (double)(cairn_mono_us() - t0) / 1e6;
                ck_assert_msg(cairn_mono_us() < until, "%s runs still due", out);
                usleep(20 * 1000);
        }
}

/* Starts run @p i of @p b, asleep for an hour (no call follows), and
 * prints as NAME_{reply,event}_ms when its StartRunReply and its first
 * step's STEP_SCHEDULED event arrived. */
static void one_run_timed(struct batch *b, int i, const char *name)
{
        char id[32], input[128], at[32];
        int64_t t0 = cairn_mono_us();

        cairn_rfc3339(cairn_now_ms() + 3600 * 1000, at);
        snprintf(input, sizeof(input), "{\"text\": \"" BENCH_WF_TEXT "\", \"until\": \"%s\"}", at);
        snprintf(id, sizeof(id), "r%c-%d", b->prefix, i);
        ck_assert(bench_wf_start_run(&w, "bench-nap", id, input, on_start_reply, b));
        ck_assert(wait_count(&b->replies, i + 1, TIMEOUT_US));
        ck_assert(wait_count(&b->n_asleep, i + 1, TIMEOUT_US));
        printf("%s_reply_ms %.1f\n%s_event_ms %.1f\n", name,
               (double)(atomic_load(&b->last_reply_us) - t0) / 1000.0, name,
               (double)(atomic_load(&b->last_asleep_us) - t0) / 1000.0);
}

static void kill_workflow(void)
{
        harness_proc_signal(&w.workflow, SIGKILL);
        ck_assert_int_ge(harness_proc_wait(&w.workflow, 10000), 0);
}

static void print_pg(const char *name)
{
        char out[256];

        ck_assert(harness_pg_scalar(w.pg.url,
                                    "SELECT count(*) || ' ' || pg_total_relation_size("
                                    "'workflow_runs') / 1048576 || ' ' || "
                                    "pg_total_relation_size('workflow_history') / 1048576 "
                                    "FROM workflow_runs",
                                    out, sizeof(out)) == 0);
        printf("%s_pg_runs_runs_mib_history_mib %s\n", name, out);
}

START_TEST(bench_workflow_recovery)
{
        struct batch *pilot = &batches[0], *up = &batches[1], *crash = &batches[2],
                     *idle = &batches[3];
        int64_t due, t0;
        double rate, ms;

        bench_wf_print_load("load_start");
        bench_wf_start(&w, "wf-recovery", NULL, on_event, NULL);
        bench_wf_register(&w, nap_def);
        printf("runs %d\n", runs);

        /* the pilot: due at once; its start rate sets the others' timers */
        batch_init(pilot, 'p', PILOT);
        rate = PILOT / start_all(pilot, cairn_now_ms());
        ck_assert(wait_count(&pilot->n_done, PILOT, TIMEOUT_US));
        printf("pilot_starts_per_s %.0f\n", rate);
        bench_wf_analyze(&w);

        /* baseline: the timers fall due on a service that stays up */
        batch_init(up, 'u', runs);
        due = prepare(up, rate, "up");
        ck_assert_int_eq(atomic_load(&up->n_resumed), 0);
        sleep_until_mono(mono_of(due));
        printf("up_all_moved_in_pg_s %.2f\n", wait_moved_s(mono_of(due)));
        print_resumed(up, "up", mono_of(due));

        /* the crash: killed while every run sleeps, started once all are due */
        batch_init(crash, 'c', runs);
        due = prepare(crash, rate, "crash");
        print_pg("crash");
        kill_workflow();
        printf("crash_resumed_before_kill %d\n", atomic_load(&crash->n_resumed));
        sleep_until_mono(mono_of(due + 1000));
        bench_wf_print_load("crash_load_at_restart");
        t0 = cairn_mono_us();
        bench_wf_workflow_restart(&w);
        ms = bench_wf_wait_ready_ms(&w, 120000);
        ck_assert_msg(ms >= 0, "workflow not ready after the restart (%s)", w.workflow.log_path);
        printf("crash_ready_ms %.0f\n", (double)(cairn_mono_us() - t0) / 1000.0);
        printf("crash_all_moved_in_pg_s %.2f\n", wait_moved_s(t0));
        print_resumed(crash, "crash", t0);

        /* baseline: a restart with nothing due */
        kill_workflow();
        t0 = cairn_mono_us();
        bench_wf_workflow_restart(&w);
        ck_assert(bench_wf_wait_ready_ms(&w, 120000) >= 0);
        printf("idle_ready_ms %.0f\n", (double)(cairn_mono_us() - t0) / 1000.0);
        /* the first run started once it is ready, and the next */
        batch_init(idle, 'i', 2);
        one_run_timed(idle, 0, "idle_first_run");
        one_run_timed(idle, 1, "idle_second_run");
        bench_wf_print_load("load_end");
        fflush(stdout);
}
END_TEST

static void teardown(void)
{
        bench_wf_stop(&w);
}

int main(int argc, char **argv)
{
        const char *n = getenv("BENCH_WORKFLOW_RECOVERY_RUNS");

        if (n && atoi(n) > 0)
                runs = atoi(n);
        if (argc > 1 && atoi(argv[1]) > 0)
                runs = atoi(argv[1]);
        return harness_bench_run("workflow_recovery", bench_workflow_recovery, 7200, teardown);
}

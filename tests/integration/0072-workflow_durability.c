/* The workflow service's durability: a timer that fires on time although
 * the service was killed (SIGKILL) right after the run started; many runs
 * of three calls each through a kill -9 in their middle, every one
 * completing with each step executed once per attempt (the target, played
 * by the test on fake_target.h, counts the ce_ids it receives: the same one
 * may come twice, a new one only with a new attempt in the history); and
 * two replicas on one database and the same consumer groups sharing runs
 * without dispatching a step twice; and a restarted service (its cache of
 * definitions cold) moving a run on a single database connection. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "fake_target.h"
#include "harness.h"
#include "workflow_client.h"

#define TENANT "acme"
#define CALL   "\"service\": \"translation\", \"type\": \"cairn.translation.v1.TranslateRequest\""
/* A call step answered in time unless the service dies: a lost reply
 * would be retried after 10 s. */
#define STEP(text)                                                                               \
        "\"call\": {" CALL ", \"request\": {\"texts\": [\"${input.tag}" text "\"], \"source\": " \
        "\"en\", \"target\": \"es\"}, \"startToCloseTimeout\": \"10s\", \"retry\": "             \
        "{\"initialInterval\": \"0.2s\"}}"

#define KILL_RUNS    200
#define REPLICA_RUNS 100
#define TENANTS      16
#define SOLO_RUNS    24 /* one tenant's: all on one replica were a 2^-24 chance */
#define MAX_SEEN     32

static struct harness_broker broker;
static struct harness_proc workflow, replica;
static struct harness_client client;
static struct fake_target *target;
static char pg_url[512];

static const char *const wf_env[] = { "CAIRN_WORKFLOW_POLL_MS=20", NULL };

/* "hold:..." is answered 300 ms after it came, the rest at once. */
static void policy(void *opaque, const struct fake_target_req *req, struct fake_target_decision *d)
{
        (void)opaque;
        if (strncmp(req->text, "hold:", 5) == 0)
                d->hold_ms = 300;
}

static void workflow_start(struct harness_proc *p, const char *name)
{
        harness_workflow_start_as(p, &broker, name, pg_url, wf_env);
        ck_assert_msg(harness_wait_ready(p, 30000), "%s not ready (%s)", name, p->log_path);
}

static void setup(void)
{
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        target = fake_target_start(&broker, harness_topic("cairn.translation.v1.requests"), policy,
                                   NULL);
        workflow_start(&workflow, "workflow");
        harness_client_start(&client, &broker, "itest-wf-durability");
        harness_client_direct(&client, harness_topic("cairn.workflow.v1.requests"), 0);
        wfc_init(&client, harness_topic("cairn.workflow.v1.requests"), TENANT);
}

static void teardown(void)
{
        harness_client_stop(&client);
        if (replica.pid > 0)
                ck_assert_int_eq(harness_service_stop(&replica, 15000), 0);
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        fake_target_stop(target);
        harness_broker_stop(&broker);
}

/* kill -9, and the service again on the same database */
static void workflow_crash_restart(void)
{
        harness_proc_kill(&workflow);
        workflow_start(&workflow, "workflow");
}

static int64_t event_ms(const json_t *events, const char *event, const char *step)
{
        const json_t *e = wfc_find_event(events, event, step);

        ck_assert_msg(e, "no %s of %s in %s", event, step, wfc_dump(events));
        return wfc_time_ms(json_object_get(e, "time"));
}

/* ---- a durable timer ---- */

START_TEST(test_timer_fires_across_a_crash)
{
        json_t *run, *h;

        wfc_register("{\"type\": \"nap\", \"steps\": [{\"id\": \"nap\", \"sleep\": "
                     "{\"duration\": \"3s\"}}]}");
        free(wfc_start("nap", "nap-1", "{}"));
        workflow_crash_restart();
        run = wfc_wait_closed("nap-1", 20000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", wfc_dump(run));
        h = wfc_history("nap-1");
        int64_t slept = event_ms(h, "EVENT_TYPE_STEP_COMPLETED", "nap") -
                        event_ms(h, "EVENT_TYPE_STEP_SCHEDULED", "nap");

        printf("timer across a crash: fired after %lld ms (due 3000)\n", (long long)slept);
        ck_assert_msg(slept >= 3000 && slept <= 5000, "the 3 s timer fired after %lld ms",
                      (long long)slept);
        json_decref(h);
        json_decref(run);
}
END_TEST

/* ---- runs through a kill -9 ---- */

/* clang-format off */
static const char three[] =
        "{\"type\": \"three\", \"steps\": ["
        " {\"id\": \"a\", " STEP("a") "},"
        " {\"id\": \"b\", \"after\": [\"a\"], " STEP("b") "},"
        " {\"id\": \"c\", \"after\": [\"b\"], " STEP("c") "}]}";
/* clang-format on */

/* Deliveries, distinct ce_ids and attempts over the runs checked. */
struct tally {
        size_t deliveries, distinct, attempts, retried;
};

/* Checks run @p workflow_id (@p run_id) against what the fake received:
 * completed; each step completed once in the history, scheduled once per
 * attempt; the fake got exactly the ce_ids <run>/<step>/1..attempt, each
 * at least once. */
static void check_run(const char *workflow_id, const char *run_id, struct tally *tl)
{
        static const char *const steps[] = { "a", "b", "c" };
        struct fake_target_req r[MAX_SEEN];
        char prefix[64];
        json_t *run = wfc_get_run(workflow_id), *h;
        size_t n;

        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", wfc_dump(run));
        h = wfc_history(workflow_id);
        snprintf(prefix, sizeof(prefix), "%s/", run_id);
        n = fake_target_find(target, prefix, r, MAX_SEEN);
        ck_assert_int_le(n, MAX_SEEN);
        tl->deliveries += n;
        for (size_t k = 0; k < 3; k++) {
                const json_t *s = wfc_step(run, steps[k]);
                unsigned attempts = (unsigned)json_integer_value(json_object_get(s, "attempt"));

                ck_assert_int_ge(attempts, 1);
                tl->attempts += attempts;
                tl->retried += attempts - 1;
                ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_COMPLETED", steps[k]), 1);
                ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_SCHEDULED", steps[k]),
                                 (int)attempts);
                for (unsigned a = 1; a <= attempts; a++) {
                        char id[128];
                        size_t got = 0;

                        snprintf(id, sizeof(id), "%s/%s/%u", run_id, steps[k], a);
                        for (size_t i = 0; i < n; i++)
                                got += strcmp(r[i].ce_id, id) == 0;
                        ck_assert_msg(got >= 1, "%s never reached the service", id);
                        tl->distinct++;
                }
        }
        /* nothing but those */
        for (size_t i = 0; i < n; i++) {
                char step[16];
                unsigned a;

                ck_assert_msg(sscanf(r[i].ce_id + strlen(prefix), "%15[^/]/%u", step, &a) == 2,
                              "%s", r[i].ce_id);
                const json_t *s = wfc_step(run, step);

                ck_assert_msg(s && a <= json_integer_value(json_object_get(s, "attempt")),
                              "%s was dispatched, not in the run's attempts", r[i].ce_id);
        }
        json_decref(h);
        json_decref(run);
}

START_TEST(test_runs_survive_kill_9)
{
        char *run_ids[KILL_RUNS];
        struct tally tl = { 0 };
        int64_t t0;

        wfc_register(three);
        for (int i = 0; i < KILL_RUNS; i++) {
                char id[32], input[64];

                snprintf(id, sizeof(id), "kill-%d", i);
                snprintf(input, sizeof(input), "{\"tag\": \"hold:%d-\"}", i);
                run_ids[i] = wfc_start("three", id, input);
        }
        /* about half way: then kill -9 */
        ck_assert(fake_target_wait(target, KILL_RUNS * 3 / 2, 30000));
        size_t at_kill = fake_target_count(target);

        ck_assert_msg(at_kill < KILL_RUNS * 3, "every step was dispatched before the kill");
        harness_proc_kill(&workflow);
        t0 = cairn_mono_us();
        workflow_start(&workflow, "workflow");
        for (int i = 0; i < KILL_RUNS; i++) {
                char id[32];

                snprintf(id, sizeof(id), "kill-%d", i);
                json_decref(wfc_wait_closed(id, 60000));
        }
        double recovered_s = (double)(cairn_mono_us() - t0) / 1e6;

        for (int i = 0; i < KILL_RUNS; i++) {
                char id[32];

                snprintf(id, sizeof(id), "kill-%d", i);
                check_run(id, run_ids[i], &tl);
                free(run_ids[i]);
        }
        printf("kill -9 after %zu of %d dispatches: all %d runs completed %.1f s after; "
               "%zu deliveries of %zu distinct ce_ids (%zu attempts, %zu retried)\n",
               at_kill, KILL_RUNS * 3, KILL_RUNS, recovered_s, tl.deliveries, tl.distinct,
               tl.attempts, tl.retried);
        ck_assert_int_eq(tl.distinct, tl.attempts);
}
END_TEST

/* ---- two replicas ---- */

/* The last "assigned N partition(s) of @p topic" of @p log has N > 0. */
static bool assigned(const char *log, const char *topic)
{
        char line[2048], needle[300];
        FILE *fp = fopen(log, "r");
        int last = 0;

        if (!fp)
                return false;
        snprintf(needle, sizeof(needle), " partition(s) of %s\"", topic);
        while (fgets(line, sizeof(line), fp)) {
                const char *at = strstr(line, "\"assigned ");

                if (at && strstr(line, needle))
                        last = atoi(at + strlen("\"assigned "));
                else if (strstr(line, "\"revoked ") && strstr(line, needle))
                        last = 0;
        }
        fclose(fp);
        return last > 0;
}

static void wait_assigned(const struct harness_proc *p, const char *topic)
{
        int64_t until = cairn_mono_us() + 30 * 1000000LL;

        while (!assigned(p->log_path, topic)) {
                ck_assert_msg(cairn_mono_us() < until, "%s has no partition of %s (%s)", p->name,
                              topic, p->log_path);
                usleep(50 * 1000);
        }
}

static double metric(const struct harness_proc *p, const char *series)
{
        double v = harness_metric(p->admin_port, series);

        return v < 0 ? 0 : v;
}

START_TEST(test_two_replicas_share_runs)
{
        static const char *const topics[] = { "cairn.workflow.v1.requests",
                                              "cairn.workflow.replies" };
        char *run_ids[REPLICA_RUNS], tenants[TENANTS][16];
        struct tally tl = { 0 };

        wfc_register(three);
        workflow_start(&replica, "workflow-2");
        /* both in both groups before the runs start */
        for (size_t i = 0; i < 2; i++) {
                wait_assigned(&workflow, harness_topic(topics[i]));
                wait_assigned(&replica, harness_topic(topics[i]));
        }
        const char *started = "cairn_workflow_runs_started_total{type=\"three\"}";
        const char *recorded = "cairn_workflow_replies_total{outcome=\"recorded\"}";
        double started0 = metric(&workflow, started), recorded0 = metric(&workflow, recorded);
        double b_recorded0 = metric(&replica, recorded);

        /* tenants are message keys: spread over the partitions */
        for (int i = 0; i < REPLICA_RUNS; i++) {
                char id[32], input[64];

                snprintf(tenants[i % TENANTS], sizeof(tenants[0]), "t%d", i % TENANTS);
                wfc_tenant(tenants[i % TENANTS]);
                snprintf(id, sizeof(id), "two-%d", i);
                snprintf(input, sizeof(input), "{\"tag\": \"%d-\"}", i);
                run_ids[i] = wfc_start("three", id, input);
        }
        for (int i = 0; i < REPLICA_RUNS; i++) {
                char id[32];

                snprintf(id, sizeof(id), "two-%d", i);
                wfc_tenant(tenants[i % TENANTS]);
                json_decref(wfc_wait_closed(id, 30000));
                check_run(id, run_ids[i], &tl);
                free(run_ids[i]);
        }
        wfc_tenant(TENANT);
        /* nothing crashed: one attempt per step, each dispatched once */
        ck_assert_int_eq(tl.attempts, REPLICA_RUNS * 3);
        ck_assert_int_eq(tl.distinct, REPLICA_RUNS * 3);
        ck_assert_int_eq(tl.deliveries, REPLICA_RUNS * 3);

        /* both did work: started runs and recorded replies */
        double started_a = metric(&workflow, started) - started0,
               recorded_a = metric(&workflow, recorded) - recorded0;

        double started_b = metric(&replica, started),
               recorded_b = metric(&replica, recorded) - b_recorded0;

        printf("two replicas: runs started %.0f + %.0f, replies recorded %.0f + %.0f (of %d: "
               "more when a rebalance hands over replies read but not committed)\n",
               started_a, started_b, recorded_a, recorded_b, REPLICA_RUNS * 3);
        ck_assert_double_eq(started_a + started_b, REPLICA_RUNS);
        ck_assert_double_gt(started_a, 0);
        ck_assert_double_gt(started_b, 0);
        ck_assert_double_gt(recorded_a, 0);
        ck_assert_double_gt(recorded_b, 0);

        /* One tenant's runs, all started by one replica (their requests share
         * a key): their replies go by run id, so both record some. */
        recorded0 = metric(&workflow, recorded);
        b_recorded0 = metric(&replica, recorded);
        wfc_tenant("solo");
        for (int i = 0; i < SOLO_RUNS; i++) {
                char id[32];

                snprintf(id, sizeof(id), "solo-%d", i);
                free(wfc_start("three", id, "{\"tag\": \"s-\"}"));
        }
        for (int i = 0; i < SOLO_RUNS; i++) {
                char id[32];

                snprintf(id, sizeof(id), "solo-%d", i);
                json_decref(wfc_wait_closed(id, 30000));
        }
        wfc_tenant(TENANT);
        recorded_a = metric(&workflow, recorded) - recorded0;
        recorded_b = metric(&replica, recorded) - b_recorded0;
        printf("one tenant: replies recorded %.0f + %.0f\n", recorded_a, recorded_b);
        ck_assert_double_gt(recorded_a, 0);
        ck_assert_double_gt(recorded_b, 0);
}
END_TEST

/* ---- a change on a cold definition cache ---- */

/* A change to a run reads the run's definition inside its transaction:
 * after a restart that is a database read, which must not need a second
 * connection from the pool the transactions hold (with one connection it
 * waited for itself until the pool's deadline, and under load the
 * transactions of the reply workers waited for each other that way). */
START_TEST(test_cold_restart_on_one_connection)
{
        static const char *const one[] = { "CAIRN_WORKFLOW_POLL_MS=20", "CAIRN_PG_POOL_SIZE=1",
                                           NULL };
        struct cairn_status st;
        json_t *j, *run;

        wfc_register("{\"type\": \"held\", \"steps\": [{\"id\": \"w\", \"waitSignal\": "
                     "{\"name\": \"go\"}}]}");
        free(wfc_start("held", "cold-1", "{}"));
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        harness_workflow_start_as(&workflow, &broker, "workflow", pg_url, one);
        ck_assert_msg(harness_wait_ready(&workflow, 30000), "not ready (%s)", workflow.log_path);
        j = wfc_call(WF(signal_run_request), WF(signal_run_reply),
                     "{\"workflowId\": \"cold-1\", \"name\": \"go\"}", NULL, &st);
        ck_assert_msg(j, "signal: %s: %s", cairn_err_str(st.code), st.message);
        json_decref(j);
        run = wfc_wait_closed("cold-1", 10000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", wfc_dump(run));
        json_decref(run);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_durability");
        TCase *tc = tcase_create("durability");

        tcase_set_timeout(tc, 180);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_timer_fires_across_a_crash);
        /* hundreds of runs through crashes and replicas: what they prove
         * is in the other passes; the coverage pass reaches their code with
         * the other tests */
        if (!harness_coverage()) {
                tcase_add_test(tc, test_runs_survive_kill_9);
                tcase_add_test(tc, test_two_replicas_share_runs);
        }
        tcase_add_test(tc, test_cold_restart_on_one_connection);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

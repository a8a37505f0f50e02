/* The workflow service's policies, with the real translation service: runs
 * that wait while the service they call is down (attempts time out and
 * back off) and complete once it is back; Temporal's workflow id conflict
 * and reuse policies and a redelivered start; and the limits — input,
 * signal payload and step output over workflow.max_payload_bytes, a
 * history over workflow.max_history_events, a reference that does not
 * resolve at run time — each refused or failed naming what it is about. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "workflow_client.h"

#define TENANT "acme"
#define CALL   "\"service\": \"translation\", \"type\": \"cairn.translation.v1.TranslateRequest\""
#define REQUEST(text) \
        "\"request\": {\"texts\": [\"" text "\"], \"source\": \"en\", \"target\": \"es\"}"
/* A workflow type @p type of one step tr translating @p text. */
#define ONE_CALL(type, text)                                                     \
        "{\"type\": \"" type "\", \"steps\": [{\"id\": \"tr\", \"call\": {" CALL \
        ", " REQUEST(text) "}}]}"

static struct harness_broker broker;
static struct harness_proc workflow, translation;
static struct harness_client client;
static char pg_url[512];

static void translation_start(void)
{
        harness_service_start(&translation, &broker, "translation",
                              (const char *const[]){ "CAIRN_TRANSLATION_CACHE_ENABLED=false",
                                                     NULL });
        ck_assert_msg(harness_wait_ready(&translation, 60000), "translation not ready (%s)",
                      translation.log_path);
}

/* The broker, the translation service and the workflow service with
 * @p env on a database of its own. */
static void start_all(const char *const *env)
{
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        translation_start();
        harness_workflow_start(&workflow, &broker, pg_url, env);
        ck_assert_msg(harness_wait_ready(&workflow, 30000), "workflow not ready (%s)",
                      workflow.log_path);
        harness_client_start(&client, &broker, "itest-wf-policies");
        harness_client_direct(&client, harness_topic("cairn.workflow.v1.requests"), 0);
        wfc_init(&client, harness_topic("cairn.workflow.v1.requests"), TENANT);
}

static void setup(void)
{
        start_all((const char *const[]){ "CAIRN_WORKFLOW_POLL_MS=20", NULL });
}

static void setup_limits(void)
{
        start_all((const char *const[]){ "CAIRN_WORKFLOW_POLL_MS=20",
                                         "CAIRN_WORKFLOW_MAX_PAYLOAD_BYTES=1024",
                                         "CAIRN_WORKFLOW_MAX_HISTORY_EVENTS=10", NULL });
}

static void teardown(void)
{
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        if (translation.pid > 0)
                harness_service_stop(&translation, 15000);
        harness_broker_stop(&broker);
}

static long long code_of(const json_t *obj)
{
        return json_integer_value(json_object_get(json_object_get(obj, "error"), "code"));
}

static unsigned attempt_of(const json_t *run, const char *step)
{
        return (unsigned)json_integer_value(json_object_get(wfc_step(run, step), "attempt"));
}

/* ---- a target service down for a while ---- */

#define DOWN_RUNS 4

/* clang-format off */
static const char patient[] =
        "{\"type\": \"patient\", \"steps\": [{\"id\": \"tr\", \"call\": {"
        CALL ", " REQUEST("${input.text}") ","
        " \"startToCloseTimeout\": \"2s\","
        " \"retry\": {\"initialInterval\": \"0.5s\", \"backoffCoefficient\": 1}}}]}";
/* clang-format on */

START_TEST(test_runs_wait_for_a_service_down)
{
        char id[32];

        wfc_register(patient);
        ck_assert_int_eq(harness_service_stop(&translation, 15000), 0);
        for (int i = 0; i < DOWN_RUNS; i++) {
                snprintf(id, sizeof(id), "patient-%d", i);
                free(wfc_start("patient", id, "{\"text\": \"the house\"}"));
        }
        /* two attempts' time: each timed out, backed off and went again */
        usleep(3500 * 1000);
        for (int i = 0; i < DOWN_RUNS; i++) {
                snprintf(id, sizeof(id), "patient-%d", i);
                json_t *run = wfc_get_run(id), *h = wfc_history(id);

                ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_RUNNING") == 0, "%s",
                              wfc_dump(run));
                ck_assert_int_ge(attempt_of(run, "tr"), 2);
                ck_assert_int_ge(wfc_count_events(h, "EVENT_TYPE_STEP_RETRIED", "tr"), 1);
                ck_assert_int_eq(code_of(wfc_find_event(h, "EVENT_TYPE_STEP_RETRIED", "tr")),
                                 CAIRN_ERR_DEADLINE);
                json_decref(h);
                json_decref(run);
        }

        /* back: every run completes, its step once */
        translation_start();
        for (int i = 0; i < DOWN_RUNS; i++) {
                snprintf(id, sizeof(id), "patient-%d", i);
                json_t *run = wfc_wait_closed(id, 60000), *h = wfc_history(id);
                const json_t *tr = json_object_get(json_object_get(run, "output"), "tr");

                ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s",
                              wfc_dump(run));
                ck_assert_msg(strstr(wfc_dump(tr), "casa"), "%s", wfc_dump(run));
                ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_COMPLETED", "tr"), 1);
                ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_SCHEDULED", "tr"),
                                 (int)attempt_of(run, "tr"));
                json_decref(h);
                json_decref(run);
        }
}
END_TEST

/* ---- workflow id policies ---- */

static const char held[] = "{\"type\": \"held\", \"steps\": [{\"id\": \"w\", \"waitSignal\": "
                           "{\"name\": \"go\"}}]}";
static const char quick_fail[] = "{\"type\": \"quick-fail\", \"steps\": [{\"id\": \"w\", "
                                 "\"waitSignal\": {\"name\": \"go\", \"timeout\": \"0.1s\"}}]}";

/* StartRun of @p type as @p workflow_id with @p policies (JSON members,
 * "" for none) and ce_id @p ce_id (or NULL): the reply, or NULL with @p st. */
static json_t *start_with(const char *type, const char *workflow_id, const char *policies,
                          const char *ce_id, struct cairn_status *st)
{
        char req[512];

        snprintf(req, sizeof(req), "{\"type\": \"%s\", \"workflowId\": \"%s\"%s%s}", type,
                 workflow_id, policies[0] ? ", " : "", policies);
        return wfc_call(WF(start_run_request), WF(start_run_reply), req, ce_id, st);
}

static json_t *must_start(const char *type, const char *workflow_id, const char *policies)
{
        struct cairn_status st;
        json_t *j = start_with(type, workflow_id, policies, NULL, &st);

        ck_assert_msg(j, "start %s: %s: %s", workflow_id, cairn_err_str(st.code), st.message);
        return j;
}

static void refused(const char *type, const char *workflow_id, const char *policies,
                    const char *says, const char *names)
{
        struct cairn_status st;
        json_t *j = start_with(type, workflow_id, policies, NULL, &st);

        ck_assert_msg(!j, "%s started: %s", workflow_id, wfc_dump(j));
        ck_assert_int_eq(st.code, CAIRN_ERR_CONFLICT);
        ck_assert_msg(strstr(st.message, says), "%s", st.message);
        ck_assert_msg(strstr(st.message, names), "%s", st.message);
}

static bool started(const json_t *reply)
{
        return json_is_true(json_object_get(reply, "started"));
}

static json_t *get_run_id(const char *workflow_id, const char *run_id)
{
        char req[300];
        json_t *j, *run;

        snprintf(req, sizeof(req), "{\"workflowId\": \"%s\", \"runId\": \"%s\"}", workflow_id,
                 run_id);
        j = wfc_must(WF(get_run_request), WF(get_run_reply), req);
        run = json_incref(json_object_get(j, "run"));
        json_decref(j);
        return run;
}

START_TEST(test_id_conflict_policies)
{
        json_t *first, *again, *second, *run;

        wfc_register(held);
        first = must_start("held", "conflict", "");
        const char *run1 = wfc_str(first, "runId");

        ck_assert(started(first));
        /* FAIL (the default): ALREADY_EXISTS naming the running run */
        refused("held", "conflict", "", "id_conflict_policy is FAIL", run1);
        refused("held", "conflict", "\"idConflictPolicy\": \"ID_CONFLICT_FAIL\"", "running run",
                run1);

        /* USE_EXISTING: the running run */
        again = must_start("held", "conflict",
                           "\"idConflictPolicy\": \"ID_CONFLICT_USE_EXISTING\"");
        ck_assert_str_eq(wfc_str(again, "runId"), run1);
        ck_assert(!started(again));

        /* TERMINATE_EXISTING: it ends TERMINATED, a new one runs */
        second = must_start("held", "conflict",
                            "\"idConflictPolicy\": \"ID_CONFLICT_TERMINATE_EXISTING\"");
        ck_assert(started(second));
        ck_assert_str_ne(wfc_str(second, "runId"), run1);
        run = get_run_id("conflict", run1);
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_TERMINATED");
        ck_assert_msg(strstr(wfc_error(run), "terminated"), "%s", wfc_dump(run));
        json_decref(run);
        run = wfc_get_run("conflict");
        ck_assert_str_eq(wfc_str(run, "runId"), wfc_str(second, "runId"));
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_RUNNING");
        json_decref(run);
        json_decref(second);
        json_decref(again);
        json_decref(first);
}
END_TEST

/* Runs @p workflow_id of type held to COMPLETED. */
static void complete_held(const char *workflow_id)
{
        char req[200];
        json_t *run;

        json_decref(must_start("held", workflow_id, ""));
        snprintf(req, sizeof(req), "{\"workflowId\": \"%s\", \"name\": \"go\"}", workflow_id);
        json_decref(wfc_must(WF(signal_run_request), WF(signal_run_reply), req));
        run = wfc_wait_closed(workflow_id, 10000);
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_COMPLETED");
        json_decref(run);
}

START_TEST(test_id_reuse_policies)
{
        json_t *run, *j;

        wfc_register(held);
        wfc_register(quick_fail);
        /* after COMPLETED: REJECT_DUPLICATE and ALLOW_DUPLICATE_FAILED_ONLY
         * refuse, naming the closed run; ALLOW_DUPLICATE starts */
        complete_held("reuse-done");
        run = wfc_get_run("reuse-done");
        refused("held", "reuse-done", "\"idReusePolicy\": \"ID_REUSE_REJECT_DUPLICATE\"",
                "REJECT_DUPLICATE", wfc_str(run, "runId"));
        refused("held", "reuse-done", "\"idReusePolicy\": \"ID_REUSE_ALLOW_DUPLICATE_FAILED_ONLY\"",
                "ALLOW_DUPLICATE_FAILED_ONLY", wfc_str(run, "runId"));
        json_decref(run);
        j = must_start("held", "reuse-done", "\"idReusePolicy\": \"ID_REUSE_ALLOW_DUPLICATE\"");
        ck_assert(started(j));
        json_decref(j);

        /* after FAILED: ALLOW_DUPLICATE_FAILED_ONLY starts; REJECT_DUPLICATE not */
        json_decref(must_start("quick-fail", "reuse-failed", ""));
        run = wfc_wait_closed("reuse-failed", 10000);
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_FAILED");
        json_decref(run);
        refused("held", "reuse-failed", "\"idReusePolicy\": \"ID_REUSE_REJECT_DUPLICATE\"",
                "REJECT_DUPLICATE", "reuse-failed");
        j = must_start("held", "reuse-failed",
                       "\"idReusePolicy\": \"ID_REUSE_ALLOW_DUPLICATE_FAILED_ONLY\"");
        ck_assert(started(j));
        json_decref(j);

        /* after CANCELLED: the same */
        json_decref(must_start("held", "reuse-cancelled", ""));
        json_decref(wfc_must(WF(cancel_run_request), WF(cancel_run_reply),
                             "{\"workflowId\": \"reuse-cancelled\"}"));
        run = wfc_wait_closed("reuse-cancelled", 10000);
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_CANCELLED");
        json_decref(run);
        j = must_start("held", "reuse-cancelled",
                       "\"idReusePolicy\": \"ID_REUSE_ALLOW_DUPLICATE_FAILED_ONLY\"");
        ck_assert(started(j));
        json_decref(j);
}
END_TEST

START_TEST(test_redelivered_start_returns_its_run)
{
        struct cairn_status st;
        json_t *first, *again;

        wfc_register(held);
        first = start_with("held", "redelivered", "", "start-request-1", &st);
        ck_assert_msg(first, "%s: %s", cairn_err_str(st.code), st.message);
        ck_assert(started(first));
        /* the same request again (its ce_id): the run it started, no conflict */
        again = start_with("held", "redelivered", "", "start-request-1", &st);
        ck_assert_msg(again, "%s: %s", cairn_err_str(st.code), st.message);
        ck_assert_str_eq(wfc_str(again, "runId"), wfc_str(first, "runId"));
        ck_assert(!started(again));
        /* another request: the conflict policy decides */
        refused("held", "redelivered", "", "id_conflict_policy is FAIL", wfc_str(first, "runId"));
        json_decref(again);
        json_decref(first);
}
END_TEST

/* ---- limits (workflow.max_payload_bytes 1024, max_history_events 10) ---- */

/* A JSON string of @p n characters "ab...": malloc'ed. */
static char *long_text(size_t n, const char *unit)
{
        size_t ulen = strlen(unit);
        char *s = malloc(n + 1);

        ck_assert_ptr_nonnull(s);
        for (size_t i = 0; i < n; i++)
                s[i] = unit[i % ulen];
        s[n] = '\0';
        return s;
}

START_TEST(test_payloads_over_the_limit)
{
        struct cairn_status st;
        char *text = long_text(1100, "x"), *req;
        json_t *j;

        wfc_register(held);
        ck_assert_int_ge(asprintf(&req,
                                  "{\"type\": \"held\", \"workflowId\": \"big\", "
                                  "\"input\": {\"text\": \"%s\"}}",
                                  text),
                         0);
        j = wfc_call(WF(start_run_request), WF(start_run_reply), req, NULL, &st);
        free(req);
        ck_assert_ptr_null(j);
        ck_assert_int_eq(st.code, CAIRN_ERR_EXHAUSTED);
        ck_assert_str_eq(st.field, "input");
        ck_assert_msg(strstr(st.message, "input") &&
                              strstr(st.message, "workflow.max_payload_bytes (1024)"),
                      "%s", st.message);

        /* a signal's payload */
        json_decref(must_start("held", "big-signal", ""));
        ck_assert_int_ge(asprintf(&req,
                                  "{\"workflowId\": \"big-signal\", \"name\": \"go\", "
                                  "\"payload\": \"%s\"}",
                                  text),
                         0);
        j = wfc_call(WF(signal_run_request), WF(signal_run_reply), req, NULL, &st);
        free(req);
        ck_assert_ptr_null(j);
        ck_assert_int_eq(st.code, CAIRN_ERR_EXHAUSTED);
        ck_assert_str_eq(st.field, "payload");
        free(text);
}
END_TEST

START_TEST(test_step_output_over_the_limit)
{
        /* under the limit going in, over it in the reply's JSON form */
        char *text = long_text(900, "the house is big. "), *input;
        json_t *run;

        wfc_register(ONE_CALL("wordy", "${input.text}"));
        ck_assert_int_ge(asprintf(&input, "{\"text\": \"%s\"}", text), 0);
        free(wfc_start("wordy", "wordy-1", input));
        run = wfc_wait_closed("wordy-1", 30000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_FAILED") == 0, "%s", wfc_dump(run));
        ck_assert_int_eq(code_of(run), CAIRN_ERR_EXHAUSTED);
        ck_assert_msg(strstr(wfc_error(run), "step tr failed") &&
                              strstr(wfc_error(run), "workflow.max_payload_bytes"),
                      "%s", wfc_error(run));
        json_decref(run);
        free(input);
        free(text);
}
END_TEST

START_TEST(test_history_limit_fails_the_run)
{
        json_t *steps = json_array(), *def, *run;
        char *text;

        /* six naps in a row: 13 events, over the 10 allowed */
        for (int i = 1; i <= 6; i++) {
                char id[16], prev[16];
                json_t *step;

                snprintf(id, sizeof(id), "s%d", i);
                snprintf(prev, sizeof(prev), "s%d", i - 1);
                step = json_pack("{s:s,s:{s:s}}", "id", id, "sleep", "duration", "0.01s");
                if (i > 1)
                        json_object_set_new(step, "after", json_pack("[s]", prev));
                json_array_append_new(steps, step);
        }
        def = json_pack("{s:s,s:o}", "type", "long", "steps", steps);
        text = json_dumps(def, JSON_COMPACT);
        ck_assert_ptr_nonnull(text);
        wfc_register(text);
        free(text);
        json_decref(def);
        free(wfc_start("long", "long-1", "{}"));
        run = wfc_wait_closed("long-1", 10000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_FAILED") == 0, "%s", wfc_dump(run));
        ck_assert_int_eq(code_of(run), CAIRN_ERR_EXHAUSTED);
        ck_assert_msg(strstr(wfc_error(run), "workflow.max_history_events (10 events)"), "%s",
                      wfc_error(run));
        ck_assert_int_le(json_integer_value(json_object_get(run, "historyLength")), 11);
        ck_assert_str_ne(wfc_str(wfc_step(run, "s6"), "status"), "STEP_STATUS_COMPLETED");
        json_decref(run);
}
END_TEST

START_TEST(test_missing_reference_fails_the_step)
{
        json_t *run;

        wfc_register(ONE_CALL("missing", "${input.nope}"));
        free(wfc_start("missing", "missing-1", "{\"text\": \"here\"}"));
        run = wfc_wait_closed("missing-1", 10000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_FAILED") == 0, "%s", wfc_dump(run));
        ck_assert_msg(strstr(wfc_error(run), "step tr failed") &&
                              strstr(wfc_error(run), "${input.nope}") &&
                              strstr(wfc_error(run), "\"nope\""),
                      "%s", wfc_error(run));
        ck_assert_int_eq(code_of(run), CAIRN_ERR_INVALID);
        ck_assert_str_eq(wfc_str(wfc_step(run, "tr"), "status"), "STEP_STATUS_FAILED");
        ck_assert_int_eq(attempt_of(run, "tr"), 0);
        json_decref(run);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_policies");
        TCase *tc = tcase_create("policies");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_runs_wait_for_a_service_down);
        tcase_add_test(tc, test_id_conflict_policies);
        tcase_add_test(tc, test_id_reuse_policies);
        tcase_add_test(tc, test_redelivered_start_returns_its_run);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup_limits, teardown);
        tcase_add_test(tc, test_payloads_over_the_limit);
        tcase_add_test(tc, test_step_output_over_the_limit);
        tcase_add_test(tc, test_history_limit_fails_the_run);
        tcase_add_test(tc, test_missing_reference_fails_the_step);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

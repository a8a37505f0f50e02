/* The workflow service end to end on real PostgreSQL, the broker and the
 * real translation service: definitions registered and refused, a run of
 * two steps whose second reads the first's output, timers, signals sent
 * before and after the wait begins, cancel and terminate, and the run's
 * history. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "workflow_client.h"

#define TENANT "acme"

static struct harness_broker broker;
static struct harness_proc workflow, translation;
static struct harness_client client;
static char pg_url[512];
static const char *topic;

static void setup(void)
{
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        topic = harness_topic("cairn.workflow.v1.requests");
        harness_service_start(&translation, &broker, "translation",
                              (const char *const[]){ "CAIRN_TRANSLATION_CACHE_ENABLED=false",
                                                     NULL });
        harness_workflow_start(&workflow, &broker, pg_url,
                               (const char *const[]){ "CAIRN_WORKFLOW_POLL_MS=50", NULL });
        ck_assert_msg(harness_wait_ready(&translation, 60000), "translation not ready (%s)",
                      translation.log_path);
        ck_assert_msg(harness_wait_ready(&workflow, 30000), "workflow not ready (%s)",
                      workflow.log_path);
        harness_client_start(&client, &broker, "itest-wf");
        harness_client_direct(&client, topic, 0);
        wfc_init(&client, topic, TENANT);
}

static void teardown(void)
{
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        harness_service_stop(&translation, 15000);
        harness_broker_stop(&broker);
}

/* ---- tests ---- */

static const char two_steps[] =
        "{\"type\": \"tr-twice\", \"steps\": ["
        " {\"id\": \"first\", \"call\": {\"service\": \"translation\","
        "  \"type\": \"cairn.translation.v1.TranslateRequest\","
        "  \"request\": {\"texts\": [\"${input.text}\"], \"source\": \"en\", \"target\": \"es\"}}},"
        " {\"id\": \"back\", \"after\": [\"first\"], \"call\": {\"service\": \"translation\","
        "  \"type\": \"cairn.translation.v1.TranslateRequest\","
        "  \"request\": {\"texts\": [\"${steps.first.output.translations[0].text}\"],"
        "   \"source\": \"es\", \"target\": \"en\"}}}],"
        " \"output\": {\"es\": \"${steps.first.output.translations[0].text}\","
        "  \"en\": \"${steps.back.output.translations[0].text}\"}}";

START_TEST(test_two_steps_complete)
{
        wfc_register(two_steps);
        free(wfc_start("tr-twice", "hello-1", "{\"text\": \"the house\"}"));
        json_t *run = wfc_wait_closed("hello-1", 30000);
        char *dump = json_dumps(run, JSON_COMPACT);

        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", dump);
        const json_t *out = json_object_get(run, "output");

        ck_assert_msg(strstr(json_string_value(json_object_get(out, "es")), "casa"), "%s", dump);
        ck_assert_msg(strstr(json_string_value(json_object_get(out, "en")), "house"), "%s", dump);
        free(dump);
        json_decref(run);

        /* its history, in order */
        json_t *h = wfc_must(WF(get_history_request), WF(get_history_reply),
                             "{\"workflowId\": \"hello-1\"}");
        const json_t *evs = json_object_get(h, "events");
        static const char *const want[] = {
                "EVENT_TYPE_RUN_STARTED",    "EVENT_TYPE_STEP_SCHEDULED",
                "EVENT_TYPE_STEP_COMPLETED", "EVENT_TYPE_STEP_SCHEDULED",
                "EVENT_TYPE_STEP_COMPLETED", "EVENT_TYPE_RUN_COMPLETED",
        };

        ck_assert_int_eq(json_array_size(evs), 6);
        for (size_t i = 0; i < 6; i++) {
                const json_t *e = json_array_get(evs, i);

                ck_assert_str_eq(json_string_value(json_object_get(e, "event")), want[i]);
                ck_assert_int_eq(json_integer_value(json_object_get(e, "sequence")), (int)i + 1);
        }
        json_decref(h);
}
END_TEST

START_TEST(test_bad_definitions_refused)
{
        struct cairn_status st;
        json_t *j = wfc_call(WF(register_definition_request), WF(register_definition_reply),
                             "{\"definition\": {\"type\": \"bad\", \"steps\": ["
                             "{\"id\": \"a\", \"call\": {\"service\": \"nowhere\", \"type\": "
                             "\"cairn.nowhere.v1.XRequest\"}}]}}",
                             NULL, &st);

        ck_assert_ptr_null(j);
        ck_assert_int_eq(st.code, CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(st.message, "\"a\""), "%s", st.message);
        j = wfc_call(WF(start_run_request), WF(start_run_reply), "{\"type\": \"no-such-type\"}",
                     NULL, &st);
        ck_assert_ptr_null(j);
        ck_assert_int_eq(st.code, CAIRN_ERR_NOT_FOUND);
}
END_TEST

static const char waits[] =
        "{\"type\": \"waits\", \"steps\": ["
        " {\"id\": \"nap\", \"sleep\": {\"duration\": \"0.3s\"}},"
        " {\"id\": \"go\", \"after\": [\"nap\"], \"waitSignal\": {\"name\": \"go\"}}],"
        " \"output\": {\"got\": \"${steps.go.output}\"}}";

START_TEST(test_timer_and_signals)
{
        struct cairn_status st;
        json_t *j, *run;

        wfc_register(waits);
        /* sent before the wait began: buffered */
        free(wfc_start("waits", "early", "{}"));
        j = wfc_must(WF(signal_run_request), WF(signal_run_reply),
                     "{\"workflowId\": \"early\", \"name\": \"go\", \"payload\": {\"n\": 1}}");
        json_decref(j);
        run = wfc_wait_closed("early", 10000);
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_COMPLETED");
        /* a signal's payload is a google.protobuf.Value: numbers are doubles */
        ck_assert_double_eq(json_number_value(json_object_get(
                                    json_object_get(json_object_get(run, "output"), "got"), "n")),
                            1.0);
        json_decref(run);

        /* sent once the wait began */
        free(wfc_start("waits", "late", "{}"));
        usleep(600 * 1000);
        run = wfc_get_run("late");
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_RUNNING");
        json_decref(run);
        json_decref(wfc_must(WF(signal_run_request), WF(signal_run_reply),
                             "{\"workflowId\": \"late\", \"name\": \"go\", \"payload\": \"ok\"}"));
        run = wfc_wait_closed("late", 10000);
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_COMPLETED");
        json_decref(run);

        /* a signal to a closed run */
        j = wfc_call(WF(signal_run_request), WF(signal_run_reply),
                     "{\"workflowId\": \"late\", \"name\": \"go\"}", NULL, &st);
        ck_assert_ptr_null(j);
        ck_assert_int_eq(st.code, CAIRN_ERR_PRECONDITION);
}
END_TEST

START_TEST(test_cancel_and_terminate)
{
        json_t *run;

        wfc_register(waits);
        free(wfc_start("waits", "to-cancel", "{}"));
        json_decref(wfc_must(WF(cancel_run_request), WF(cancel_run_reply),
                             "{\"workflowId\": \"to-cancel\", \"reason\": \"not needed\"}"));
        run = wfc_wait_closed("to-cancel", 10000);
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_CANCELLED");
        json_decref(run);

        free(wfc_start("waits", "to-terminate", "{}"));
        json_decref(wfc_must(WF(terminate_run_request), WF(terminate_run_reply),
                             "{\"workflowId\": \"to-terminate\"}"));
        run = wfc_get_run("to-terminate");
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_TERMINATED");
        json_decref(run);
}
END_TEST

/* cairn-admin's workflow commands against the service: a YAML file
 * checked locally, refused naming its step, registered over Kafka (once:
 * the same file again registers nothing) and listed. */
START_TEST(test_admin_validate_register_list)
{
        char dir[300], good[400], bad[400], cmd[4000], out[4096], env[2000];
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/wf-admin-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(good, sizeof(good), "%s/nap.yaml", dir);
        snprintf(bad, sizeof(bad), "%s/bad.yaml", dir);
        harness_write_file(good, "type: admin-nap\n"
                                 "description: a short nap\n"
                                 "steps:\n"
                                 "  - id: nap\n"
                                 "    sleep: {duration: 0.1s}\n");
        harness_write_file(bad, "type: admin-bad\n"
                                "steps:\n"
                                "  - id: a\n"
                                "    after: [ghost]\n"
                                "    sleep: {duration: 1s}\n");
        /* the broker settings every process of the test uses */
        snprintf(env, sizeof(env),
                 "env $(grep -v '^#' %s/%s | xargs) CAIRN_KAFKA_BOOTSTRAP_SERVERS=%s "
                 "CAIRN_WORKFLOW_TOPIC=%s CAIRN_WORKFLOW_REPLY_TOPIC=%s %s/bin/cairn-admin",
                 harness_root(),
                 harness_apache() ? "deploy/kafka/apache.env" : "deploy/dev/devbroker.env",
                 broker.bootstrap, topic, harness_topic("cairn.admin.replies"),
                 harness_build_dir());

        snprintf(cmd, sizeof(cmd), "%s workflow validate %s", env, good);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s", out);
        ck_assert_msg(strstr(out, "valid"), "%s", out);
        snprintf(cmd, sizeof(cmd), "%s workflow validate %s", env, bad);
        ck_assert_int_eq(harness_sh(out, sizeof(out), cmd), 1);
        ck_assert_msg(strstr(out, "ghost") && strstr(out, "\"a\""), "%s", out);

        snprintf(cmd, sizeof(cmd), "%s workflow register %s 2>/dev/null", env, good);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s", out);
        ck_assert_msg(strstr(out, "registered admin-nap version 1"), "%s", out);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s", out);
        ck_assert_msg(strstr(out, "nothing registered"), "%s", out);
        snprintf(cmd, sizeof(cmd), "%s workflow list 2>/dev/null", env);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s", out);
        ck_assert_msg(strstr(out, "admin-nap") && strstr(out, "translate-batch"), "%s", out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_service");
        TCase *tc = tcase_create("runs");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bad_definitions_refused);
        tcase_add_test(tc, test_two_steps_complete);
        tcase_add_test(tc, test_timer_and_signals);
        tcase_add_test(tc, test_cancel_and_terminate);
        tcase_add_test(tc, test_admin_validate_register_list);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

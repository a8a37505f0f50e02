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

#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/pbjson.h"
#include "cairn/workflow/v1/workflow.pb-c.h"
#include "harness.h"

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
}

static void teardown(void)
{
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        harness_service_stop(&translation, 15000);
        harness_broker_stop(&broker);
}

/* ---- calls ---- */

/* Sends @p json as a @p desc to the service; the reply as JSON, or NULL
 * with the error in @p st. */
static json_t *call_json(const ProtobufCMessageDescriptor *desc,
                         const ProtobufCMessageDescriptor *reply_desc, const char *json,
                         const char *ce_id, struct cairn_status *st)
{
        ProtobufCMessage *in = NULL, *out = NULL;
        struct cairn_pbjson_error jerr = { 0 };
        struct cairn_call_opts opts = { .timeout_ms = 20000, .ce_id = ce_id, .role = "admin" };
        json_t *j = NULL;

        ck_assert_msg(cairn_pbjson_parse(desc, json, strlen(json), 64, &in, &jerr) == CAIRN_OK,
                      "%s: %s", jerr.field, jerr.message);
        cairn_status_clear(st);
        if (cairn_bus_call(client.cli, topic, TENANT, in, &opts, reply_desc, NULL, &out, st) ==
            CAIRN_OK) {
                j = cairn_pbjson_to_json(out, 0);
                protobuf_c_message_free_unpacked(out, NULL);
        }
        protobuf_c_message_free_unpacked(in, NULL);
        return j;
}

#define WF(name) &cairn__workflow__v1__##name##__descriptor

static json_t *must(const ProtobufCMessageDescriptor *desc,
                    const ProtobufCMessageDescriptor *reply_desc, const char *json)
{
        struct cairn_status st;
        json_t *j = call_json(desc, reply_desc, json, NULL, &st);

        ck_assert_msg(j, "%s failed: %s: %s", desc->name, cairn_err_str(st.code), st.message);
        return j;
}

static void register_def(const char *def)
{
        char *req;

        ck_assert_int_ge(asprintf(&req, "{\"definition\": %s}", def), 0);
        json_decref(must(WF(register_definition_request), WF(register_definition_reply), req));
        free(req);
}

static char *start(const char *type, const char *workflow_id, const char *input)
{
        char *req;
        json_t *j;

        ck_assert_int_ge(asprintf(&req, "{\"type\": \"%s\", \"workflowId\": \"%s\", \"input\": %s}",
                                  type, workflow_id, input),
                         0);
        j = must(WF(start_run_request), WF(start_run_reply), req);
        free(req);
        char *run_id = strdup(json_string_value(json_object_get(j, "runId")));

        json_decref(j);
        return run_id;
}

static json_t *get_run(const char *workflow_id)
{
        char req[300];
        json_t *j;

        snprintf(req, sizeof(req), "{\"workflowId\": \"%s\"}", workflow_id);
        j = must(WF(get_run_request), WF(get_run_reply), req);
        json_t *run = json_incref(json_object_get(j, "run"));

        json_decref(j);
        return run;
}

/* Waits until the run of @p workflow_id leaves RUNNING; returns it. */
static json_t *wait_closed(const char *workflow_id, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;

        for (;;) {
                json_t *run = get_run(workflow_id);
                const char *status = json_string_value(json_object_get(run, "status"));

                if (strcmp(status, "RUN_STATUS_RUNNING") != 0)
                        return run;
                if (cairn_mono_us() > until) {
                        static char dump[4096];

                        json_dumpb(run, dump, sizeof(dump) - 1, JSON_COMPACT);
                        ck_abort_msg("run %s still running: %s", workflow_id, dump);
                }
                json_decref(run);
                usleep(50 * 1000);
        }
}

static const char *status_of(const json_t *run)
{
        return json_string_value(json_object_get(run, "status"));
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
        register_def(two_steps);
        free(start("tr-twice", "hello-1", "{\"text\": \"the house\"}"));
        json_t *run = wait_closed("hello-1", 30000);
        char *dump = json_dumps(run, JSON_COMPACT);

        ck_assert_msg(strcmp(status_of(run), "RUN_STATUS_COMPLETED") == 0, "%s", dump);
        const json_t *out = json_object_get(run, "output");

        ck_assert_msg(strstr(json_string_value(json_object_get(out, "es")), "casa"), "%s", dump);
        ck_assert_msg(strstr(json_string_value(json_object_get(out, "en")), "house"), "%s", dump);
        free(dump);
        json_decref(run);

        /* its history, in order */
        json_t *h = must(WF(get_history_request), WF(get_history_reply),
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
        json_t *j = call_json(WF(register_definition_request), WF(register_definition_reply),
                              "{\"definition\": {\"type\": \"bad\", \"steps\": ["
                              "{\"id\": \"a\", \"call\": {\"service\": \"nowhere\", \"type\": "
                              "\"cairn.nowhere.v1.XRequest\"}}]}}",
                              NULL, &st);

        ck_assert_ptr_null(j);
        ck_assert_int_eq(st.code, CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(st.message, "\"a\""), "%s", st.message);
        j = call_json(WF(start_run_request), WF(start_run_reply), "{\"type\": \"no-such-type\"}",
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

        register_def(waits);
        /* sent before the wait began: buffered */
        free(start("waits", "early", "{}"));
        j = must(WF(signal_run_request), WF(signal_run_reply),
                 "{\"workflowId\": \"early\", \"name\": \"go\", \"payload\": {\"n\": 1}}");
        json_decref(j);
        run = wait_closed("early", 10000);
        ck_assert_str_eq(status_of(run), "RUN_STATUS_COMPLETED");
        /* a signal's payload is a google.protobuf.Value: numbers are doubles */
        ck_assert_double_eq(json_number_value(json_object_get(
                                    json_object_get(json_object_get(run, "output"), "got"), "n")),
                            1.0);
        json_decref(run);

        /* sent once the wait began */
        free(start("waits", "late", "{}"));
        usleep(600 * 1000);
        run = get_run("late");
        ck_assert_str_eq(status_of(run), "RUN_STATUS_RUNNING");
        json_decref(run);
        json_decref(must(WF(signal_run_request), WF(signal_run_reply),
                         "{\"workflowId\": \"late\", \"name\": \"go\", \"payload\": \"ok\"}"));
        run = wait_closed("late", 10000);
        ck_assert_str_eq(status_of(run), "RUN_STATUS_COMPLETED");
        json_decref(run);

        /* a signal to a closed run */
        j = call_json(WF(signal_run_request), WF(signal_run_reply),
                      "{\"workflowId\": \"late\", \"name\": \"go\"}", NULL, &st);
        ck_assert_ptr_null(j);
        ck_assert_int_eq(st.code, CAIRN_ERR_PRECONDITION);
}
END_TEST

START_TEST(test_cancel_and_terminate)
{
        json_t *run;

        register_def(waits);
        free(start("waits", "to-cancel", "{}"));
        json_decref(must(WF(cancel_run_request), WF(cancel_run_reply),
                         "{\"workflowId\": \"to-cancel\", \"reason\": \"not needed\"}"));
        run = wait_closed("to-cancel", 10000);
        ck_assert_str_eq(status_of(run), "RUN_STATUS_CANCELLED");
        json_decref(run);

        free(start("waits", "to-terminate", "{}"));
        json_decref(must(WF(terminate_run_request), WF(terminate_run_reply),
                         "{\"workflowId\": \"to-terminate\"}"));
        run = get_run("to-terminate");
        ck_assert_str_eq(status_of(run), "RUN_STATUS_TERMINATED");
        json_decref(run);
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
        suite_add_tcase(s, tc);
        return harness_run(s);
}

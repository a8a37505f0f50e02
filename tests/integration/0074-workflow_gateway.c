/* Workflows over HTTP end to end: the real gateway, the workflow service
 * and the translation service its steps call, driven with libcurl as an
 * HTTP client would: register a definition (admins only), start a run
 * under a workflow id holding a '/', read it until it completes, page its
 * history as NDJSON, list runs, signal a waiting run, refuse a signal to a
 * closed one, terminate (admins only), and refuse a bad definition naming
 * its step. */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "gw_fixture.h"
#include "harness.h"

#define KEY_ADMIN  "ck_wfgw_admin_0123456789abcdef01"
#define KEY_MEMBER "ck_wfgw_member_0123456789abcdef0"
#define KEY_VIEWER "ck_wfgw_viewer_0123456789abcdef0"

static struct harness_broker broker;
static struct harness_proc workflow, translation;
static struct gwf_gateway gateway;
static char pg_url[512];

static void setup(void)
{
        static const struct gwf_api_key keys[] = {
                { KEY_ADMIN, "it-admin", "t1", "admin" },
                { KEY_MEMBER, "it-member", "t1", "member" },
                { KEY_VIEWER, "it-viewer", "t1", "viewer" },
        };
        char wf_topic[300];

        curl_global_init(CURL_GLOBAL_ALL);
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        harness_service_start(&translation, &broker, "translation",
                              (const char *const[]){ "CAIRN_TRANSLATION_CACHE_ENABLED=false",
                                                     NULL });
        harness_workflow_start(&workflow, &broker, pg_url,
                               (const char *const[]){ "CAIRN_WORKFLOW_POLL_MS=50", NULL });
        snprintf(wf_topic, sizeof(wf_topic), "CAIRN_UPSTREAM_WORKFLOW_TOPIC=%s",
                 harness_topic("cairn.workflow.v1.requests"));
        gwf_gateway_start(&gateway, &broker, keys, sizeof(keys) / sizeof(keys[0]),
                          (const char *const[]){ wf_topic, NULL });
        ck_assert_msg(harness_wait_ready(&translation, 60000), "translation not ready (%s)",
                      translation.log_path);
        ck_assert_msg(harness_wait_ready(&workflow, 30000), "workflow not ready (%s)",
                      workflow.log_path);
        ck_assert_msg(harness_wait_ready(&gateway.proc, 30000), "gateway not ready (%s)",
                      gateway.proc.log_path);
}

static void teardown(void)
{
        ck_assert_int_eq(gwf_gateway_stop(&gateway), 0);
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        harness_service_stop(&translation, 15000);
        harness_broker_stop(&broker);
}

/* @p method @p path as the holder of @p key, with a JSON @p body or none. */
static long http(const char *key, const char *method, const char *path, const char *body,
                 struct gwf_resp *r)
{
        char auth[128];
        const char *h[3] = { auth, "Content-Type: application/json", NULL };

        snprintf(auth, sizeof(auth), "X-API-Key: %s", key);
        return gwf_http(gateway.http_port, method, path, h, body, body ? strlen(body) : 0, r);
}

static json_t *body_json(const struct gwf_resp *r)
{
        json_error_t jerr;
        json_t *doc = json_loadb(r->body ? r->body : "", r->len, 0, &jerr);

        ck_assert_msg(doc, "not JSON (%s): %.300s", jerr.text, r->body ? r->body : "");
        return doc;
}

/* GETs the run at @p path until it leaves RUNNING; returns it. */
static json_t *wait_closed(const char *path)
{
        int64_t until = cairn_mono_us() + 30 * 1000000LL;

        for (;;) {
                struct gwf_resp r;

                ck_assert_int_eq(http(KEY_VIEWER, "GET", path, NULL, &r), 200);
                json_t *doc = body_json(&r);
                json_t *run = json_incref(json_object_get(doc, "run"));
                const char *status = json_string_value(json_object_get(run, "status"));

                json_decref(doc);
                gwf_resp_free(&r);
                if (strcmp(status, "RUN_STATUS_RUNNING") != 0)
                        return run;
                ck_assert_msg(cairn_mono_us() < until, "%s still running", path);
                json_decref(run);
                usleep(100 * 1000);
        }
}

static const char hello[] =
        "{\"type\": \"tr-hello\", \"steps\": [{\"id\": \"tr\", \"call\": {\"service\": "
        "\"translation\", \"type\": \"cairn.translation.v1.TranslateRequest\", \"request\": "
        "{\"texts\": [\"${input.text}\"], \"source\": \"en\", \"target\": \"es\"}}}],"
        " \"output\": {\"es\": \"${steps.tr.output.translations[0].text}\"}}";

static const char waits[] =
        "{\"type\": \"waits-go\", \"steps\": [{\"id\": \"go\", \"waitSignal\": {\"name\": "
        "\"go\"}}], \"output\": {\"got\": \"${steps.go.output}\"}}";

START_TEST(test_register_start_read)
{
        struct gwf_resp r;
        json_t *doc, *run;

        /* members may not register; admins may */
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows", hello, &r), 403);
        gwf_resp_free(&r);
        ck_assert_int_eq(http(KEY_ADMIN, "POST", "/v1/workflows", hello, &r), 200);
        doc = body_json(&r);
        ck_assert_int_eq(json_integer_value(
                                 json_object_get(json_object_get(doc, "definition"), "version")),
                         1);
        json_decref(doc);
        gwf_resp_free(&r);

        /* a member starts a run whose id holds a '/' */
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows/tr-hello/runs",
                              "{\"workflowId\": \"orders/42\", \"input\": {\"text\": \"the "
                              "house\"}}",
                              &r),
                         200);
        doc = body_json(&r);
        ck_assert_str_eq(json_string_value(json_object_get(doc, "workflowId")), "orders/42");
        json_decref(doc);
        gwf_resp_free(&r);
        run = wait_closed("/v1/workflows/tr-hello/runs/orders%2F42");
        ck_assert_str_eq(json_string_value(json_object_get(run, "status")), "RUN_STATUS_COMPLETED");
        ck_assert_ptr_nonnull(
                strstr(json_string_value(json_object_get(json_object_get(run, "output"), "es")),
                       "casa"));
        json_decref(run);

        /* its history, a line per event */
        ck_assert_int_eq(http(KEY_VIEWER, "GET",
                              "/v1/workflows/tr-hello/runs/orders%2F42/history?page_size=2", NULL,
                              &r),
                         200);
        int lines = 0, last = 0;

        for (char *save = NULL, *line = strtok_r(r.body, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                json_error_t jerr;
                json_t *ev = json_loads(line, 0, &jerr);

                ck_assert_msg(ev, "history line not JSON: %s", line);
                int seq = (int)json_integer_value(json_object_get(ev, "sequence"));

                ck_assert_int_eq(seq, last + 1);
                last = seq;
                lines++;
                json_decref(ev);
        }
        ck_assert_int_eq(lines, 4); /* started, scheduled, completed, run completed */
        gwf_resp_free(&r);

        /* listed among the completed runs of every type */
        ck_assert_int_eq(http(KEY_VIEWER, "GET", "/v1/workflows/-/runs?status=RUN_STATUS_COMPLETED",
                              NULL, &r),
                         200);
        ck_assert_ptr_nonnull(strstr(r.body, "orders/42"));
        gwf_resp_free(&r);
        /* and the built-in workflows among the definitions */
        ck_assert_int_eq(http(KEY_VIEWER, "GET", "/v1/workflows", NULL, &r), 200);
        ck_assert_ptr_nonnull(strstr(r.body, "translate-batch"));
        ck_assert_ptr_nonnull(strstr(r.body, "tr-hello"));
        gwf_resp_free(&r);
}
END_TEST

START_TEST(test_signal_and_terminate)
{
        struct gwf_resp r;
        json_t *run;

        ck_assert_int_eq(http(KEY_ADMIN, "POST", "/v1/workflows", waits, &r), 200);
        gwf_resp_free(&r);
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows/waits-go/runs",
                              "{\"workflowId\": \"sig-1\"}", &r),
                         200);
        gwf_resp_free(&r);
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows/waits-go/runs/sig-1/signals/go",
                              "{\"approved\": true}", &r),
                         200);
        gwf_resp_free(&r);
        run = wait_closed("/v1/workflows/waits-go/runs/sig-1");
        ck_assert_str_eq(json_string_value(json_object_get(run, "status")), "RUN_STATUS_COMPLETED");
        ck_assert(
                json_is_true(json_object_get(json_object_get(json_object_get(run, "output"), "got"),
                                             "approved")));
        json_decref(run);
        /* a closed run takes no signal */
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows/waits-go/runs/sig-1/signals/go",
                              "1", &r),
                         400);
        ck_assert_ptr_nonnull(strstr(r.body, "only reach running runs"));
        gwf_resp_free(&r);

        /* terminate: admins only */
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows/waits-go/runs",
                              "{\"workflowId\": \"sig-2\"}", &r),
                         200);
        gwf_resp_free(&r);
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows/waits-go/runs/sig-2/terminate",
                              "{}", &r),
                         403);
        gwf_resp_free(&r);
        ck_assert_int_eq(http(KEY_ADMIN, "POST", "/v1/workflows/waits-go/runs/sig-2/terminate",
                              "{\"reason\": \"test\"}", &r),
                         200);
        gwf_resp_free(&r);
        run = wait_closed("/v1/workflows/waits-go/runs/sig-2");
        ck_assert_str_eq(json_string_value(json_object_get(run, "status")),
                         "RUN_STATUS_TERMINATED");
        json_decref(run);
}
END_TEST

START_TEST(test_bad_input_refused)
{
        struct gwf_resp r;

        ck_assert_int_eq(http(KEY_ADMIN, "POST", "/v1/workflows",
                              "{\"type\": \"bad\", \"steps\": [{\"id\": \"a\", \"after\": "
                              "[\"nope\"], \"sleep\": {\"duration\": \"1s\"}}]}",
                              &r),
                         400);
        ck_assert_msg(strstr(r.body, "nope") && strstr(r.body, "\\\"a\\\""), "%s", r.body);
        gwf_resp_free(&r);
        ck_assert_int_eq(http(KEY_MEMBER, "POST", "/v1/workflows/no-such/runs", "{}", &r), 404);
        gwf_resp_free(&r);
        ck_assert_int_eq(http(KEY_VIEWER, "GET", "/v1/workflows/tr-hello/runs/never-started", NULL,
                              &r),
                         404);
        gwf_resp_free(&r);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_gateway");
        TCase *tc = tcase_create("http");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_register_start_read);
        tcase_add_test(tc, test_signal_and_terminate);
        tcase_add_test(tc, test_bad_input_refused);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

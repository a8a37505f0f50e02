/* The gateway's workflow routes end to end: the gateway runs as a process
 * over its own route table, and the test plays the workflow service on the
 * bus (answers made up from the requests; the service itself is tested
 * elsewhere). What each route sends (the request the service receives, in
 * its JSON form, and its Kafka key: the tenant), a workflow id holding '/'
 * sent as %2F and decoded into the id alone, a run's history streamed as
 * NDJSON page after page, a signal's body of any JSON value as its payload,
 * who may call which route, and %2F anywhere but in a workflow id refused
 * before any route is looked at. */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/bus.h"
#include "cairn/metrics.h"
#include "cairn/pbjson.h"
#include "cairn/status.h"
#include "cairn/workflow/v1/workflow.pb-c.h"
#include "gw_fixture.h"
#include "harness.h"

#define KEY_OWNER  "ck_it_wf_owner_0123456789abcdef"
#define KEY_MEMBER "ck_it_wf_member_0123456789abcdef"
#define KEY_VIEWER "ck_it_wf_viewer_0123456789abcdef"
#define JSON_CT    "Content-Type: application/json"
#define HISTORY    7 /* events in every run's history */

#define WF(type) Cairn__Workflow__V1__##type

static struct harness_broker broker;
static struct gwf_gateway gateway;
static struct cairn_conf *svc_conf;
static struct cairn_bus_conf svc_bconf;
static struct cairn_metrics *svc_metrics;
static struct cairn_bus *svc;
static pthread_t svc_thread;

/* What the service saw last, and the page tokens of history calls. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_type[128], seen_key[128], seen_json[4096];
static char tokens_seen[16][32];
static atomic_int history_calls;

static void seen_note(const struct cairn_request *req, const ProtobufCMessage *msg)
{
        char *json = cairn_pbjson_render(msg, 0, NULL);

        pthread_mutex_lock(&seen_lock);
        snprintf(seen_type, sizeof(seen_type), "%s", msg->descriptor->name);
        snprintf(seen_key, sizeof(seen_key), "%s", req->key);
        snprintf(seen_json, sizeof(seen_json), "%s", json ? json : "");
        pthread_mutex_unlock(&seen_lock);
        free(json);
}

static WF(Run) * run_of(struct cairn_arena *a, const char *workflow_id, const char *type)
{
        WF(Run) *run = cairn_arena_alloc(a, sizeof(*run));

        cairn__workflow__v1__run__init(run);
        run->workflow_id = cairn_arena_strdup(a, workflow_id);
        run->run_id = "r-1";
        run->type = cairn_arena_strdup(a, strcmp(type, "-") == 0 ? "etl" : type);
        run->version = 1;
        run->status = CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_RUNNING;
        return run;
}

/* ---- the workflow service, played: one answer per request type ---- */

static cairn_err_t on_register(struct cairn_request *req, const ProtobufCMessage *msg,
                               ProtobufCMessage **reply, struct cairn_status *st)
{
        const WF(RegisterDefinitionRequest) *in = (const WF(RegisterDefinitionRequest) *)msg;
        WF(RegisterDefinitionReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));
        WF(DefinitionInfo) *info = cairn_arena_alloc(req->arena, sizeof(*info));

        seen_note(req, msg);
        if (!in->definition)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "definition", "REQUIRED",
                                        "definition: required");
        cairn__workflow__v1__register_definition_reply__init(out);
        cairn__workflow__v1__definition_info__init(info);
        info->type = in->definition->type;
        info->version = 1;
        out->definition = info;
        out->created = true;
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t on_list_runs(struct cairn_request *req, const ProtobufCMessage *msg,
                                ProtobufCMessage **reply, struct cairn_status *st)
{
        const WF(ListRunsRequest) *in = (const WF(ListRunsRequest) *)msg;
        WF(ListRunsReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));

        (void)st;
        seen_note(req, msg);
        cairn__workflow__v1__list_runs_reply__init(out);
        out->runs = cairn_arena_alloc(req->arena, sizeof(*out->runs));
        out->runs[0] = run_of(req->arena, "orders/42", in->type);
        out->n_runs = 1;
        out->next_page_token = "p-2";
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t on_start(struct cairn_request *req, const ProtobufCMessage *msg,
                            ProtobufCMessage **reply, struct cairn_status *st)
{
        const WF(StartRunRequest) *in = (const WF(StartRunRequest) *)msg;
        WF(StartRunReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));

        (void)st;
        seen_note(req, msg);
        cairn__workflow__v1__start_run_reply__init(out);
        out->workflow_id = in->workflow_id[0] ? in->workflow_id : "0b9e-new";
        out->run_id = "r-1";
        out->started = true;
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t on_get_run(struct cairn_request *req, const ProtobufCMessage *msg,
                              ProtobufCMessage **reply, struct cairn_status *st)
{
        const WF(GetRunRequest) *in = (const WF(GetRunRequest) *)msg;
        WF(GetRunReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));

        seen_note(req, msg);
        if (strcmp(in->type, "-") != 0 && strcmp(in->type, "etl") != 0)
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "type", "NOT_FOUND",
                                        "%s has no run of type %s", in->workflow_id, in->type);
        cairn__workflow__v1__get_run_reply__init(out);
        out->run = run_of(req->arena, in->workflow_id, in->type);
        *reply = &out->base;
        return CAIRN_OK;
}

/* HISTORY events, page_size (default 3) at a time; the token is the offset
 * of the next page. */
static cairn_err_t on_history(struct cairn_request *req, const ProtobufCMessage *msg,
                              ProtobufCMessage **reply, struct cairn_status *st)
{
        const WF(GetHistoryRequest) *in = (const WF(GetHistoryRequest) *)msg;
        WF(GetHistoryReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));
        int nth = atomic_fetch_add(&history_calls, 1);
        int from = in->page_token[0] ? atoi(in->page_token) : 0;
        int size = in->page_size ? (int)in->page_size : 3;
        int n = from + size <= HISTORY ? size : HISTORY - from;

        (void)st;
        seen_note(req, msg);
        if (nth < 16)
                snprintf(tokens_seen[nth], sizeof(tokens_seen[nth]), "%s", in->page_token);
        cairn__workflow__v1__get_history_reply__init(out);
        out->events = cairn_arena_alloc(req->arena, (size_t)size * sizeof(*out->events));
        for (int i = 0; i < n; i++) {
                WF(WorkflowEvent) *ev = cairn_arena_alloc(req->arena, sizeof(*ev));

                cairn__workflow__v1__workflow_event__init(ev);
                ev->workflow_id = cairn_arena_strdup(req->arena, in->workflow_id);
                ev->run_id = "r-1";
                ev->type = "etl";
                ev->sequence = (uint32_t)(from + i + 1);
                ev->event = from + i == 0
                                    ? CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_STARTED
                                    : CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_COMPLETED;
                out->events[i] = ev;
        }
        out->n_events = (size_t)n;
        if (from + n < HISTORY)
                out->next_page_token = cairn_arena_sprintf(req->arena, "%d", from + n);
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t on_signal(struct cairn_request *req, const ProtobufCMessage *msg,
                             ProtobufCMessage **reply, struct cairn_status *st)
{
        WF(SignalRunReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));

        (void)st;
        seen_note(req, msg);
        cairn__workflow__v1__signal_run_reply__init(out);
        out->run_id = "r-1";
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t on_cancel(struct cairn_request *req, const ProtobufCMessage *msg,
                             ProtobufCMessage **reply, struct cairn_status *st)
{
        WF(CancelRunReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));

        (void)st;
        seen_note(req, msg);
        cairn__workflow__v1__cancel_run_reply__init(out);
        out->run_id = "r-1";
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t on_terminate(struct cairn_request *req, const ProtobufCMessage *msg,
                                ProtobufCMessage **reply, struct cairn_status *st)
{
        WF(TerminateRunReply) *out = cairn_arena_alloc(req->arena, sizeof(*out));

        (void)st;
        seen_note(req, msg);
        cairn__workflow__v1__terminate_run_reply__init(out);
        out->run_id = "r-1";
        *reply = &out->base;
        return CAIRN_OK;
}

static const struct cairn_handler handlers[] = {
        { &cairn__workflow__v1__register_definition_request__descriptor, on_register },
        { &cairn__workflow__v1__list_runs_request__descriptor, on_list_runs },
        { &cairn__workflow__v1__start_run_request__descriptor, on_start },
        { &cairn__workflow__v1__get_run_request__descriptor, on_get_run },
        { &cairn__workflow__v1__get_history_request__descriptor, on_history },
        { &cairn__workflow__v1__signal_run_request__descriptor, on_signal },
        { &cairn__workflow__v1__cancel_run_request__descriptor, on_cancel },
        { &cairn__workflow__v1__terminate_run_request__descriptor, on_terminate },
        { NULL, NULL },
};

static void *svc_main(void *arg)
{
        (void)arg;
        cairn_bus_run(svc);
        return NULL;
}

static void setup(void)
{
        static const struct gwf_api_key keys[] = {
                { KEY_OWNER, "it-owner", "acme", "owner" },
                { KEY_MEMBER, "it-member", "acme", "member" },
                { KEY_VIEWER, "it-viewer", "acme", "viewer" },
        };
        const char *topic;
        char errstr[512], e[700];

        curl_global_init(CURL_GLOBAL_ALL);
        harness_broker_start(&broker, 1);
        topic = harness_topic("cairn.workflow.v1.requests");
        harness_topic_create(&broker, topic, 4);
        svc_conf = harness_kafka_conf(&broker, &svc_bconf);
        svc_bconf.request_topic = topic;
        svc_bconf.group = harness_topic("cairn.workflow");
        svc_metrics = cairn_metrics_new();
        svc = cairn_bus_new("workflow", &svc_bconf, svc_conf, handlers, NULL, svc_metrics, errstr,
                            sizeof(errstr));
        ck_assert_msg(svc != NULL, "%s", errstr);
        pthread_create(&svc_thread, NULL, svc_main, NULL);
        snprintf(e, sizeof(e), "CAIRN_UPSTREAM_WORKFLOW_TOPIC=%s", topic);
        gwf_gateway_start(&gateway, &broker, keys, sizeof(keys) / sizeof(keys[0]),
                          (const char *const[]){ e, NULL });
        ck_assert_msg(harness_wait_ready(&gateway.proc, 30000), "gateway not ready (%s)",
                      gateway.proc.log_path);
}

/* The fake service's count of history pages, per test. */
static void reset_counts(void)
{
        atomic_store(&history_calls, 0);
}

static void teardown(void)
{
        int status = gwf_gateway_stop(&gateway);

        cairn_bus_stop(svc);
        pthread_join(svc_thread, NULL);
        cairn_bus_free(svc);
        cairn_metrics_free(svc_metrics);
        cairn_conf_free(svc_conf);
        harness_broker_stop(&broker);
        curl_global_cleanup();
        ck_assert_msg(status == 0, "the gateway did not exit cleanly (%d)", status);
}

/* ---- requests ---- */

/* @p method @p path with @p key's credential and @p body (may be NULL);
 * the status. */
static long call(const char *key, const char *method, const char *path, const char *body,
                 struct gwf_resp *r)
{
        char auth[128];
        const char *hs[] = { auth, JSON_CT, NULL };

        snprintf(auth, sizeof(auth), "X-API-Key: %s", key);
        return gwf_http(gateway.http_port, method, path, hs, body, body ? strlen(body) : 0, r);
}

/* The request the service saw last: its type, key, and JSON form (the
 * caller json_decref()s it). */
static json_t *seen(const char *type)
{
        json_t *doc;

        pthread_mutex_lock(&seen_lock);
        ck_assert_str_eq(seen_type, type);
        /* the caller's tenant: no workflow route is keyed by another field */
        ck_assert_str_eq(seen_key, "acme");
        doc = json_loads(seen_json, 0, NULL);
        ck_assert_msg(doc != NULL, "%s", seen_json);
        pthread_mutex_unlock(&seen_lock);
        return doc;
}

static const char *str(const json_t *obj, const char *name)
{
        const char *s = json_string_value(json_object_get(obj, name));

        return s ? s : "(none)";
}

static json_t *answer(const struct gwf_resp *r, long status)
{
        json_t *doc;

        ck_assert_msg(r->status == status, "status %ld, not %ld: %s", r->status, status,
                      r->body ? r->body : "");
        doc = json_loadb(r->body, r->len, 0, NULL);
        ck_assert_msg(doc != NULL, "not JSON: %s", r->body);
        return doc;
}

/* Registering takes the definition as the body; starting a run takes the
 * request, the type from the path. */
START_TEST(test_workflow_register_and_start)
{
        struct gwf_resp r;
        json_t *got, *req;

        call(KEY_OWNER, "POST", "/v1/workflows",
             "{\"type\":\"etl\",\"steps\":[{\"id\":\"wait\",\"sleep\":{\"duration\":\"5s\"}}]}",
             &r);
        got = answer(&r, 200);
        ck_assert_str_eq(str(json_object_get(got, "definition"), "type"), "etl");
        ck_assert(json_is_true(json_object_get(got, "created")));
        json_decref(got);
        gwf_resp_free(&r);
        req = seen("cairn.workflow.v1.RegisterDefinitionRequest");
        ck_assert_str_eq(str(json_object_get(req, "definition"), "type"), "etl");
        ck_assert_str_eq(str(json_array_get(json_object_get(json_object_get(req, "definition"),
                                                            "steps"),
                                            0),
                             "id"),
                         "wait");
        json_decref(req);

        call(KEY_MEMBER, "POST", "/v1/workflows/etl/runs",
             "{\"workflowId\":\"orders/42\",\"input\":{\"text\":\"hi\"},"
             "\"idConflictPolicy\":\"ID_CONFLICT_USE_EXISTING\",\"runTimeout\":\"90s\"}",
             &r);
        got = answer(&r, 200);
        ck_assert_str_eq(str(got, "workflowId"), "orders/42");
        ck_assert_str_eq(str(got, "runId"), "r-1");
        json_decref(got);
        gwf_resp_free(&r);
        req = seen("cairn.workflow.v1.StartRunRequest");
        ck_assert_str_eq(str(req, "type"), "etl");
        ck_assert_str_eq(str(req, "workflowId"), "orders/42");
        ck_assert_str_eq(str(json_object_get(req, "input"), "text"), "hi");
        ck_assert_str_eq(str(req, "idConflictPolicy"), "ID_CONFLICT_USE_EXISTING");
        ck_assert_str_eq(str(req, "runTimeout"), "90s");
        json_decref(req);

        /* the type is the path's */
        call(KEY_MEMBER, "POST", "/v1/workflows/etl/runs", "{\"type\":\"other\"}", &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_msg(strstr(r.body, "given by the path"), "%s", r.body);
        gwf_resp_free(&r);
}
END_TEST

/* A workflow id with '/' travels as %2F and arrives whole; the list of runs
 * is one page of JSON, its filters from the query. */
START_TEST(test_workflow_run_by_escaped_id)
{
        struct gwf_resp r;
        json_t *got, *req;

        call(KEY_VIEWER, "GET", "/v1/workflows/etl/runs/orders%2F42?run_id=r-1", NULL, &r);
        got = answer(&r, 200);
        ck_assert_str_eq(str(json_object_get(got, "run"), "workflowId"), "orders/42");
        ck_assert_str_eq(str(json_object_get(got, "run"), "status"), "RUN_STATUS_RUNNING");
        json_decref(got);
        gwf_resp_free(&r);
        req = seen("cairn.workflow.v1.GetRunRequest");
        ck_assert_str_eq(str(req, "workflowId"), "orders/42");
        ck_assert_str_eq(str(req, "runId"), "r-1");
        ck_assert_str_eq(str(req, "type"), "etl");
        json_decref(req);

        /* lower-case escapes too; a run of another type is the service's 404 */
        call(KEY_VIEWER, "GET", "/v1/workflows/-/runs/a%2fb%2Fc", NULL, &r);
        got = answer(&r, 200);
        ck_assert_str_eq(str(json_object_get(got, "run"), "workflowId"), "a/b/c");
        json_decref(got);
        gwf_resp_free(&r);
        call(KEY_VIEWER, "GET", "/v1/workflows/billing/runs/orders%2F42", NULL, &r);
        ck_assert_int_eq(r.status, 404);
        gwf_resp_free(&r);

        call(KEY_VIEWER, "GET",
             "/v1/workflows/-/runs?status=RUN_STATUS_RUNNING&started_after=2026-01-02T03:04:05Z"
             "&page_size=20",
             NULL, &r);
        got = answer(&r, 200);
        ck_assert_str_eq(gwf_resp_header(&r, "Content-Type"), "application/json");
        ck_assert_int_eq(json_array_size(json_object_get(got, "runs")), 1);
        ck_assert_str_eq(str(got, "nextPageToken"), "p-2");
        json_decref(got);
        gwf_resp_free(&r);
        req = seen("cairn.workflow.v1.ListRunsRequest");
        ck_assert_str_eq(str(req, "type"), "-");
        ck_assert_str_eq(str(req, "status"), "RUN_STATUS_RUNNING");
        ck_assert_str_eq(str(req, "startedAfter"), "2026-01-02T03:04:05Z");
        ck_assert_int_eq(json_integer_value(json_object_get(req, "pageSize")), 20);
        json_decref(req);
}
END_TEST

/* The history: every page followed, one event per line, in order. */
START_TEST(test_workflow_history_ndjson)
{
        struct gwf_resp r;
        const char *line;
        json_t *req;

        call(KEY_VIEWER, "GET", "/v1/workflows/-/runs/orders%2F42/history?page_size=3", NULL, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gwf_resp_header(&r, "Content-Type"), "application/x-ndjson");
        line = r.body;
        for (int i = 1; i <= HISTORY; i++) {
                const char *nl = strchr(line, '\n');
                json_t *ev;

                ck_assert_msg(nl != NULL, "event %d missing: %s", i, r.body);
                ev = json_loadb(line, (size_t)(nl - line), 0, NULL);
                ck_assert_msg(ev != NULL, "line %d is not JSON: %.*s", i, (int)(nl - line), line);
                ck_assert_int_eq(json_integer_value(json_object_get(ev, "sequence")), i);
                ck_assert_str_eq(str(ev, "workflowId"), "orders/42");
                ck_assert_str_eq(str(ev, "event"),
                                 i == 1 ? "EVENT_TYPE_RUN_STARTED" : "EVENT_TYPE_STEP_COMPLETED");
                json_decref(ev);
                line = nl + 1;
        }
        ck_assert_str_eq(line, "");
        gwf_resp_free(&r);
        /* three pages, each asked for with the token of the one before */
        ck_assert_int_eq(atomic_load(&history_calls), 3);
        ck_assert_str_eq(tokens_seen[0], "");
        ck_assert_str_eq(tokens_seen[1], "3");
        ck_assert_str_eq(tokens_seen[2], "6");
        req = seen("cairn.workflow.v1.GetHistoryRequest");
        ck_assert_str_eq(str(req, "workflowId"), "orders/42");
        json_decref(req);
}
END_TEST

/* A signal's body is its payload, whatever JSON value it is. */
START_TEST(test_workflow_signal_payload)
{
        static const char *const path = "/v1/workflows/etl/runs/orders%2F42/signals/approve";
        static const char *const bodies[] = { "{\"approved\":true}", "\"yes\"", "42",
                                              "[\"a\",true,null]" };
        struct gwf_resp r;
        json_t *req, *want;

        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
                call(KEY_MEMBER, "POST", path, bodies[i], &r);
                ck_assert_msg(r.status == 200, "%s: %ld %s", bodies[i], r.status, r.body);
                gwf_resp_free(&r);
                req = seen("cairn.workflow.v1.SignalRunRequest");
                want = json_loads(bodies[i], JSON_DECODE_ANY, NULL);
                /* a number is a double in a Value: 42 reads back as 42.0 */
                if (json_is_number(want))
                        ck_assert(json_number_value(json_object_get(req, "payload")) ==
                                  json_number_value(want));
                else
                        ck_assert_msg(json_equal(json_object_get(req, "payload"), want),
                                      "payload of %s", bodies[i]);
                ck_assert_str_eq(str(req, "name"), "approve");
                ck_assert_str_eq(str(req, "workflowId"), "orders/42");
                json_decref(want);
                json_decref(req);
        }
        /* no body: no payload; the run from the query */
        call(KEY_MEMBER, "POST", "/v1/workflows/etl/runs/o-1/signals/go?run_id=r-9", NULL, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        gwf_resp_free(&r);
        req = seen("cairn.workflow.v1.SignalRunRequest");
        ck_assert_ptr_null(json_object_get(req, "payload"));
        ck_assert_str_eq(str(req, "runId"), "r-9");
        json_decref(req);

        call(KEY_MEMBER, "POST", "/v1/workflows/etl/runs/o-1/cancel",
             "{\"reason\":\"withdrawn\",\"runId\":\"r-1\"}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        gwf_resp_free(&r);
        req = seen("cairn.workflow.v1.CancelRunRequest");
        ck_assert_str_eq(str(req, "reason"), "withdrawn");
        ck_assert_str_eq(str(req, "workflowId"), "o-1");
        json_decref(req);
}
END_TEST

/* Viewers read; members run; owners and admins register and terminate. */
START_TEST(test_workflow_roles)
{
        static const struct {
                const char *key, *method, *path, *body;
                long status;
        } rows[] = {
                { KEY_VIEWER, "POST", "/v1/workflows/etl/runs", "{}", 403 },
                { KEY_VIEWER, "POST", "/v1/workflows/etl/runs/o-1/signals/go", "1", 403 },
                { KEY_VIEWER, "POST", "/v1/workflows/etl/runs/o-1/cancel", "{}", 403 },
                { KEY_MEMBER, "POST", "/v1/workflows", "{\"type\":\"x\"}", 403 },
                { KEY_MEMBER, "POST", "/v1/workflows/etl/runs/o-1/terminate", "{}", 403 },
                { KEY_OWNER, "POST", "/v1/workflows/etl/runs/o%2F1/terminate",
                  "{\"reason\":\"stuck\"}", 200 },
                { KEY_VIEWER, "GET", "/v1/workflows/-/runs", NULL, 200 },
        };
        struct gwf_resp r;

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                call(rows[i].key, rows[i].method, rows[i].path, rows[i].body, &r);
                ck_assert_msg(r.status == rows[i].status, "%s %s as %s: %ld %s", rows[i].method,
                              rows[i].path, rows[i].key, r.status, r.body);
                gwf_resp_free(&r);
        }
        /* the refused never reached the service: the last it saw is the list */
        json_decref(seen("cairn.workflow.v1.ListRunsRequest"));
}
END_TEST

/* %2F anywhere but in a workflow id: 400 before any route is looked at,
 * the connection closed, as on every other route. */
START_TEST(test_workflow_escaped_slash_elsewhere_refused)
{
        static const char *const paths[] = {
                "/v1/workflows/a%2Fb",
                "/v1/workflows/a%2Fb/runs",
                "/v1/workflows/etl/runs/o-1/signals/a%2Fb",
                "/v1/workflows/etl/runs%2Fo-1",
                "/v1%2Fworkflows",
        };
        struct gwf_resp r;

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                call(KEY_OWNER, "GET", paths[i], NULL, &r);
                ck_assert_msg(r.status == 400 && strstr(r.body, "invalid_path"), "%s: %ld %s",
                              paths[i], r.status, r.body);
                ck_assert_str_eq(gwf_resp_header(&r, "Connection"), "close");
                gwf_resp_free(&r);
        }
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0019-gateway_workflow_routes");
        TCase *tc = tcase_create("workflow_routes");

        /* one broker, service and gateway for every test: each brings
         * only requests */
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_checked_fixture(tc, reset_counts, NULL);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_workflow_register_and_start);
        tcase_add_test(tc, test_workflow_run_by_escaped_id);
        tcase_add_test(tc, test_workflow_history_ndjson);
        tcase_add_test(tc, test_workflow_signal_payload);
        tcase_add_test(tc, test_workflow_roles);
        tcase_add_test(tc, test_workflow_escaped_slash_elsewhere_refused);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* The workflow service as the integration tests call it (workflow_client.h). */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/pbjson.h"
#include "workflow_client.h"

#define CALL_TIMEOUT_MS 20000
#define POLL_MS         50

static struct harness_client *wfc_client;
static const char *wfc_topic, *wfc_tenant_name;

void wfc_init(struct harness_client *client, const char *topic, const char *tenant)
{
        wfc_client = client;
        wfc_topic = topic;
        wfc_tenant_name = tenant;
}

void wfc_tenant(const char *tenant)
{
        wfc_tenant_name = tenant;
}

json_t *wfc_call(const ProtobufCMessageDescriptor *desc,
                 const ProtobufCMessageDescriptor *reply_desc, const char *json, const char *ce_id,
                 struct cairn_status *st)
{
        ProtobufCMessage *in = NULL, *out = NULL;
        struct cairn_pbjson_error jerr = { 0 };
        struct cairn_call_opts opts = { .timeout_ms = CALL_TIMEOUT_MS,
                                        .ce_id = ce_id,
                                        .role = "admin" };
        json_t *j = NULL;

        ck_assert_msg(wfc_client, "wfc_init() first");
        ck_assert_msg(cairn_pbjson_parse(desc, json, strlen(json), 64, &in, &jerr) == CAIRN_OK,
                      "%s: %s: %s", desc->name, jerr.field, jerr.message);
        cairn_status_clear(st);
        if (cairn_bus_call(wfc_client->cli, wfc_topic, wfc_tenant_name, in, &opts, reply_desc, NULL,
                           &out, st) == CAIRN_OK) {
                j = cairn_pbjson_to_json(out, 0);
                protobuf_c_message_free_unpacked(out, NULL);
        }
        protobuf_c_message_free_unpacked(in, NULL);
        return j;
}

json_t *wfc_must(const ProtobufCMessageDescriptor *desc,
                 const ProtobufCMessageDescriptor *reply_desc, const char *json)
{
        struct cairn_status st;
        json_t *j = wfc_call(desc, reply_desc, json, NULL, &st);

        ck_assert_msg(j, "%s failed: %s: %s", desc->name, cairn_err_str(st.code), st.message);
        return j;
}

void wfc_register(const char *def)
{
        char *req;

        ck_assert_int_ge(asprintf(&req, "{\"definition\": %s}", def), 0);
        json_decref(wfc_must(WF(register_definition_request), WF(register_definition_reply), req));
        free(req);
}

char *wfc_start(const char *type, const char *workflow_id, const char *input)
{
        char *req, *run_id;
        json_t *j;

        ck_assert_int_ge(asprintf(&req, "{\"type\": \"%s\", \"workflowId\": \"%s\", \"input\": %s}",
                                  type, workflow_id, input),
                         0);
        j = wfc_must(WF(start_run_request), WF(start_run_reply), req);
        free(req);
        run_id = strdup(wfc_str(j, "runId"));
        ck_assert_ptr_nonnull(run_id);
        json_decref(j);
        return run_id;
}

json_t *wfc_get_run(const char *workflow_id)
{
        char req[300];
        json_t *j, *run;

        snprintf(req, sizeof(req), "{\"workflowId\": \"%s\"}", workflow_id);
        j = wfc_must(WF(get_run_request), WF(get_run_reply), req);
        run = json_incref(json_object_get(j, "run"));
        json_decref(j);
        ck_assert_ptr_nonnull(run);
        return run;
}

json_t *wfc_wait_closed(const char *workflow_id, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;

        for (;;) {
                json_t *run = wfc_get_run(workflow_id);

                if (strcmp(wfc_status(run), "RUN_STATUS_RUNNING") != 0)
                        return run;
                if (cairn_mono_us() > until)
                        ck_abort_msg("run %s still running after %d ms: %s", workflow_id,
                                     timeout_ms, wfc_dump(run));
                json_decref(run);
                usleep(POLL_MS * 1000);
        }
}

json_t *wfc_wait_step(const char *workflow_id, const char *step, const char *status, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;

        for (;;) {
                json_t *run = wfc_get_run(workflow_id);
                const json_t *s = wfc_step(run, step);
                /* proto3 JSON leaves the zero enum (PENDING) out */
                const char *now = s ? wfc_str(s, "status") : "";

                if (strcmp(now[0] ? now : "STEP_STATUS_PENDING", status) == 0)
                        return run;
                if (cairn_mono_us() > until)
                        ck_abort_msg("step %s of %s not %s after %d ms: %s", step, workflow_id,
                                     status, timeout_ms, wfc_dump(run));
                json_decref(run);
                usleep(POLL_MS * 1000);
        }
}

const char *wfc_str(const json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));

        return s ? s : "";
}

const char *wfc_status(const json_t *run)
{
        return wfc_str(run, "status");
}

const char *wfc_error(const json_t *run)
{
        return wfc_str(json_object_get(run, "error"), "message");
}

const json_t *wfc_step(const json_t *run, const char *id)
{
        const json_t *steps = json_object_get(run, "steps"), *s;
        size_t i;

        json_array_foreach(steps, i, s)
                if (strcmp(wfc_str(s, "id"), id) == 0)
                        return s;
        return NULL;
}

json_t *wfc_history(const char *workflow_id)
{
        json_t *all = json_array();
        char token[32] = "";

        for (;;) {
                char req[400];
                json_t *page;

                snprintf(req, sizeof(req),
                         "{\"workflowId\": \"%s\", \"pageSize\": 1000, \"pageToken\": \"%s\"}",
                         workflow_id, token);
                page = wfc_must(WF(get_history_request), WF(get_history_reply), req);
                json_array_extend(all, json_object_get(page, "events"));
                snprintf(token, sizeof(token), "%s", wfc_str(page, "nextPageToken"));
                json_decref(page);
                if (!token[0])
                        return all;
        }
}

static bool event_is(const json_t *e, const char *event, const char *step)
{
        return strcmp(wfc_str(e, "event"), event) == 0 &&
               (!step || strcmp(wfc_str(e, "step"), step) == 0);
}

int wfc_count_events(const json_t *events, const char *event, const char *step)
{
        const json_t *e;
        size_t i;
        int n = 0;

        json_array_foreach(events, i, e)
                n += event_is(e, event, step);
        return n;
}

const json_t *wfc_find_event(const json_t *events, const char *event, const char *step)
{
        const json_t *e;
        size_t i;

        json_array_foreach(events, i, e)
                if (event_is(e, event, step))
                        return e;
        return NULL;
}

int64_t wfc_time_ms(const json_t *timestamp)
{
        ProtobufCMessage *m = NULL;
        int64_t ms;

        ck_assert_msg(json_is_string(timestamp) &&
                              cairn_pbjson_from_json(&google__protobuf__timestamp__descriptor,
                                                     timestamp, &m, NULL) == CAIRN_OK,
                      "not a timestamp: %s", wfc_dump(timestamp));
        const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;

        ms = ts->seconds * 1000 + ts->nanos / 1000000;
        protobuf_c_message_free_unpacked(m, NULL);
        return ms;
}

const char *wfc_dump(const json_t *j)
{
        static char text[8192];
        size_t n = j ? json_dumpb(j, text, sizeof(text) - 1, JSON_COMPACT | JSON_ENCODE_ANY) : 0;

        /* json_dumpb() neither terminates nor stops short: cut it here */
        text[n < sizeof(text) - 1 ? n : sizeof(text) - 1] = '\0';
        return text;
}

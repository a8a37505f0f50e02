/* The engine's form of a run and its proto3 JSON form (run.h). */
#define _GNU_SOURCE /* vasprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/pbjson.h"
#include "run.h"

static char *xstrdup(const char *s)
{
        char *d = strdup(s ? s : "");

        if (!d)
                abort();
        return d;
}

struct wf_step_state *wf_run_step(struct wf_run *run, const char *id)
{
        for (size_t i = 0; i < run->nsteps; i++)
                if (strcmp(run->steps[i].id, id) == 0)
                        return &run->steps[i];
        return NULL;
}

struct wf_step_state *wf_run_step_add(struct wf_run *run, const char *id)
{
        if (run->nsteps == run->cap) {
                run->cap = run->cap ? run->cap * 2 : 8;
                run->steps = realloc(run->steps, run->cap * sizeof(*run->steps));
                if (!run->steps)
                        abort();
        }
        struct wf_step_state *s = &run->steps[run->nsteps++];

        memset(s, 0, sizeof(*s));
        s->id = xstrdup(id);
        s->status = WS_PENDING;
        return s;
}

static void set_msg(char **dst, const char *fmt, va_list ap)
{
        char *m;

        if (vasprintf(&m, fmt, ap) < 0)
                abort();
        free(*dst);
        *dst = m;
}

void wf_step_fail_msg(struct wf_step_state *s, cairn_err_t err, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        set_msg(&s->error, fmt, ap);
        va_end(ap);
        s->err = err;
}

void wf_run_fail_msg(struct wf_run *run, cairn_err_t err, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        set_msg(&run->error, fmt, ap);
        va_end(ap);
        run->err = err;
}

bool wf_step_finished(wf_step_status s)
{
        return s == WS_COMPLETED || s == WS_FAILED || s == WS_SKIPPED || s == WS_CANCELLED;
}

/* ---- names ---- */

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value, size_t skip)
{
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);

        return v && strlen(v->name) > skip ? v->name + skip : "";
}

static int enum_value(const ProtobufCEnumDescriptor *d, const char *name)
{
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(d, name);

        return v ? v->value : -1;
}

const char *wf_run_status_name(wf_run_status s)
{
        return enum_name(&cairn__workflow__v1__run_status__descriptor, (int)s,
                         strlen("RUN_STATUS_"));
}

wf_run_status wf_run_status_parse(const char *name)
{
        char full[64];

        snprintf(full, sizeof(full), "RUN_STATUS_%s", name);
        int v = enum_value(&cairn__workflow__v1__run_status__descriptor, full);

        return v > 0 ? (wf_run_status)v : 0;
}

/* ---- to JSON ---- */

static void put_str(json_t *o, const char *k, const char *v)
{
        if (v && v[0])
                json_object_set_new(o, k, json_string(v));
}

static void put_time(json_t *o, const char *k, int64_t ms)
{
        char t[32];

        if (!ms)
                return;
        cairn_rfc3339(ms, t);
        json_object_set_new(o, k, json_string(t));
}

static void put_error(json_t *o, cairn_err_t err, const char *msg)
{
        if (!err && !msg)
                return;
        json_object_set_new(o, "error",
                            json_pack("{s:i,s:s}", "code", (int)err, "message", msg ? msg : ""));
}

json_t *wf_run_to_json(const struct wf_run *run)
{
        json_t *o = json_object(), *steps = json_array();

        put_str(o, "workflowId", run->workflow_id);
        put_str(o, "runId", run->run_id);
        put_str(o, "type", run->type);
        json_object_set_new(o, "version", json_integer(run->version));
        json_object_set_new(o, "status",
                            json_string(enum_name(&cairn__workflow__v1__run_status__descriptor,
                                                  (int)run->status, 0)));
        if (run->input)
                json_object_set(o, "input", run->input);
        else
                json_object_set_new(o, "input", json_object());
        if (run->output)
                json_object_set(o, "output", run->output);
        put_error(o, run->err, run->error);
        put_time(o, "startedAt", run->started_ms);
        put_time(o, "closedAt", run->closed_ms);
        if (run->cancel_requested)
                json_object_set_new(o, "cancelRequested", json_true());
        json_object_set_new(o, "historyLength", json_integer(run->history_length));
        for (size_t i = 0; i < run->nsteps; i++) {
                const struct wf_step_state *s = &run->steps[i];
                json_t *j = json_object();

                put_str(j, "id", s->id);
                json_object_set_new(j, "status",
                                    json_string(
                                            enum_name(&cairn__workflow__v1__step_status__descriptor,
                                                      (int)s->status, 0)));
                if (s->attempt)
                        json_object_set_new(j, "attempt", json_integer(s->attempt));
                put_time(j, "startedAt", s->started_ms);
                put_time(j, "closedAt", s->closed_ms);
                put_time(j, "dueAt", s->due_ms);
                if (s->output)
                        json_object_set(j, "output", s->output);
                put_error(j, s->err, s->error);
                json_array_append_new(steps, j);
        }
        json_object_set_new(o, "steps", steps);
        /* not a Run field: kept in the state only, dropped before rendering */
        if (run->deadline_ms)
                json_object_set_new(o, "x-deadline", json_integer(run->deadline_ms));
        if (run->tenant)
                json_object_set_new(o, "x-tenant", json_string(run->tenant));
        return o;
}

/* ---- from JSON ---- */

static char *get_str(const json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));

        return v ? xstrdup(v) : NULL;
}

/* Unix ms of an RFC 3339 member, through the JSON mapping's own reader. */
static int64_t get_time(const json_t *o, const char *k)
{
        const json_t *v = json_object_get(o, k);
        ProtobufCMessage *m = NULL;
        int64_t ms = 0;

        if (!v)
                return 0;
        if (cairn_pbjson_from_json(&google__protobuf__timestamp__descriptor, v, &m, NULL) ==
            CAIRN_OK) {
                const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;

                ms = ts->seconds * 1000 + ts->nanos / 1000000;
                protobuf_c_message_free_unpacked(m, NULL);
        }
        return ms;
}

static void get_error(const json_t *o, cairn_err_t *err, char **msg)
{
        const json_t *e = json_object_get(o, "error");

        if (!json_is_object(e))
                return;
        *err = (cairn_err_t)json_integer_value(json_object_get(e, "code"));
        *msg = get_str(e, "message");
}

static json_t *get_json(const json_t *o, const char *k)
{
        json_t *v = json_object_get(o, k);

        return v ? json_deep_copy(v) : NULL;
}

int wf_run_from_json(struct wf_run *run, const json_t *st)
{
        const json_t *steps = json_object_get(st, "steps");
        const char *status = json_string_value(json_object_get(st, "status"));
        size_t i;
        json_t *j;

        int s = status ? enum_value(&cairn__workflow__v1__run_status__descriptor, status) : -1;

        /* an unknown status (or UNSPECIFIED) was never written by a run */
        if (!json_is_object(st) || s <= 0 || !json_is_array(steps))
                return -1;
        run->workflow_id = get_str(st, "workflowId");
        run->run_id = get_str(st, "runId");
        run->type = get_str(st, "type");
        run->tenant = get_str(st, "x-tenant");
        run->version = (uint32_t)json_integer_value(json_object_get(st, "version"));
        run->status = (wf_run_status)s;
        run->input = get_json(st, "input");
        if (!run->input) /* as wf_run_to_json writes a run without one; the engine needs one */
                run->input = json_object();
        run->output = get_json(st, "output");
        get_error(st, &run->err, &run->error);
        run->started_ms = get_time(st, "startedAt");
        run->closed_ms = get_time(st, "closedAt");
        run->deadline_ms = json_integer_value(json_object_get(st, "x-deadline"));
        run->cancel_requested = json_is_true(json_object_get(st, "cancelRequested"));
        run->history_length = (uint32_t)json_integer_value(json_object_get(st, "historyLength"));
        json_array_foreach(steps, i, j) {
                const char *id = json_string_value(json_object_get(j, "id"));
                const char *ss = json_string_value(json_object_get(j, "status"));
                struct wf_step_state *x;
                int v;

                if (!id || !ss ||
                    (v = enum_value(&cairn__workflow__v1__step_status__descriptor, ss)) < 0)
                        goto damaged;
                x = wf_run_step_add(run, id);
                x->status = (wf_step_status)v;
                x->attempt = (uint32_t)json_integer_value(json_object_get(j, "attempt"));
                x->started_ms = get_time(j, "startedAt");
                x->closed_ms = get_time(j, "closedAt");
                x->due_ms = get_time(j, "dueAt");
                x->output = get_json(j, "output");
                get_error(j, &x->err, &x->error);
        }
        if (run->run_id && run->workflow_id && run->type)
                return 0;
damaged:
        wf_run_free(run); /* the caller has nothing to free after a failure */
        return -1;
}

void wf_run_free(struct wf_run *run)
{
        if (!run)
                return;
        for (size_t i = 0; i < run->nsteps; i++) {
                free(run->steps[i].id);
                free(run->steps[i].error);
                json_decref(run->steps[i].output);
        }
        free(run->steps);
        free(run->workflow_id);
        free(run->run_id);
        free(run->type);
        free(run->tenant);
        free(run->error);
        json_decref(run->input);
        json_decref(run->output);
        memset(run, 0, sizeof(*run));
}

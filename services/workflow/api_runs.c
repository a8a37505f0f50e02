/* Starting runs and reading them: start (with Temporal's id reuse and
 * conflict policies), get, list, history. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/pbjson.h"
#include "db.h"
#include "store.h"

#define MAX_ID 200

static bool workflow_id_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > MAX_ID)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("._:/-", *s))
                        return false;
        return true;
}

/* ---- start ---- */

struct start {
        struct wf_service *svc;
        const Cairn__Workflow__V1__StartRunRequest *in;
        const struct wf_def *def;
        const char *tenant, *workflow_id, *start_request, *principal, *role;
        json_t *input;
        int64_t run_timeout_ms;
        /* out */
        char run_id[40];
        bool started;
        struct cairn_status refusal;
        struct wf_run_summary summary;
        struct wf_change terminated;
        bool published;
};

static cairn_err_t refuse(struct start *s, cairn_err_t code, const char *reason, const char *fmt,
                          const char *a, const char *b)
{
        return cairn_status_set(&s->refusal, code, "workflow_id", reason, fmt, a, b);
}

static cairn_err_t terminate_fn(struct wf_tick *t, void *opaque, struct cairn_status *st)
{
        (void)st;
        wf_engine_terminate(t, opaque);
        return CAIRN_OK;
}

static cairn_err_t start_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct start *s = opaque;
        const char *key[2] = { s->tenant, s->workflow_id };
        const char *byreq[2] = { s->tenant, s->start_request };
        PGresult *res = NULL;
        cairn_err_t err;

        s->started = s->published = false;
        cairn_status_clear(&s->refusal);
        memset(&s->terminated, 0, sizeof(s->terminated));
        if ((err = cairn_pg_conn_exec(conn, &wf_sql[WQ_ID_LOCK], key, 2, NULL, errstr,
                                      errstr_size)) ||
            (err = cairn_pg_conn_exec(conn, &wf_sql[WQ_RUN_BY_START], byreq, 2, &res, errstr,
                                      errstr_size)))
                return err;
        if (PQntuples(res)) { /* this very request, redelivered */
                snprintf(s->run_id, sizeof(s->run_id), "%s", PQgetvalue(res, 0, 1));
                PQclear(res);
                return CAIRN_OK;
        }
        PQclear(res);
        if ((err = cairn_pg_conn_exec(conn, &wf_sql[WQ_RUN_LATEST], key, 2, &res, errstr,
                                      errstr_size)))
                return err;
        if (PQntuples(res)) {
                char prev[40];
                wf_run_status status = wf_run_status_parse(PQgetvalue(res, 0, 1));

                snprintf(prev, sizeof(prev), "%s", PQgetvalue(res, 0, 0));
                PQclear(res);
                if (status == WF_RUNNING) {
                        switch (s->in->id_conflict_policy) {
                        case CAIRN__WORKFLOW__V1__ID_CONFLICT_POLICY__ID_CONFLICT_USE_EXISTING:
                                snprintf(s->run_id, sizeof(s->run_id), "%s", prev);
                                return CAIRN_OK;
                        case CAIRN__WORKFLOW__V1__ID_CONFLICT_POLICY__ID_CONFLICT_TERMINATE_EXISTING:
                                err = wf_run_change(conn, s->svc, prev, false, terminate_fn,
                                                    "a new run of its workflow id started",
                                                    &s->terminated, errstr, errstr_size);
                                if (err)
                                        return err;
                                break;
                        default:
                                return refuse(s, CAIRN_ERR_CONFLICT, "RUNNING",
                                              "workflow id \"%s\" has a running run (%s); "
                                              "id_conflict_policy is FAIL",
                                              s->workflow_id, prev);
                        }
                } else if (s->in->id_reuse_policy ==
                           CAIRN__WORKFLOW__V1__ID_REUSE_POLICY__ID_REUSE_REJECT_DUPLICATE) {
                        return refuse(s, CAIRN_ERR_CONFLICT, "DUPLICATE",
                                      "workflow id \"%s\" was used already (run %s); "
                                      "id_reuse_policy is REJECT_DUPLICATE",
                                      s->workflow_id, prev);
                } else if (
                        s->in->id_reuse_policy ==
                                CAIRN__WORKFLOW__V1__ID_REUSE_POLICY__ID_REUSE_ALLOW_DUPLICATE_FAILED_ONLY &&
                        status == WF_COMPLETED) {
                        return refuse(s, CAIRN_ERR_CONFLICT, "DUPLICATE",
                                      "workflow id \"%s\" has a completed run (%s); "
                                      "id_reuse_policy is ALLOW_DUPLICATE_FAILED_ONLY",
                                      s->workflow_id, prev);
                }
        } else {
                PQclear(res);
        }

        struct wf_run run = { 0 };
        struct wf_tick t = { 0 };
        struct wf_store_who who = { .principal = s->principal,
                                    .role = s->role,
                                    .start_request = s->start_request,
                                    .events_topic = s->svc->conf->events_topic };
        int64_t now = cairn_now_ms();

        cairn_uuid7(s->run_id, now);
        run.workflow_id = strdup(s->workflow_id);
        run.run_id = strdup(s->run_id);
        run.type = strdup(s->def->type);
        run.tenant = strdup(s->tenant);
        run.version = s->def->version;
        run.status = WF_RUNNING;
        run.input = json_incref(s->input);
        run.started_ms = now;
        run.deadline_ms = s->run_timeout_ms ? now + s->run_timeout_ms : 0;
        t.env = &s->svc->env;
        t.def = s->def->def;
        t.graph = &s->def->graph;
        t.run = &run;
        t.now_ms = now;
        wf_engine_start(&t);
        err = wf_tick_save(conn, &t, &who, true, errstr, errstr_size);
        wf_run_summarize(&s->summary, &t);
        s->started = true;
        s->published = true;
        wf_tick_free(&t);
        wf_run_free(&run);
        return err;
}

static int64_t duration_ms(const Google__Protobuf__Duration *d)
{
        return d ? d->seconds * 1000 + d->nanos / 1000000 : 0;
}

cairn_err_t wf_api_start(struct cairn_request *req, const ProtobufCMessage *msg,
                         ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__StartRunRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        const char *tenant = wf_api_tenant(req, st);
        struct start s = { .svc = svc, .in = in, .tenant = tenant };
        char generated[40], errstr[512];
        cairn_err_t err;

        if (!tenant)
                return st->code;
        if (!in->type[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "type", NULL, "type is required");
        if (in->workflow_id[0] && !workflow_id_valid(in->workflow_id))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "workflow_id", NULL,
                                        "workflow_id must be 1 to %d of A-Z a-z 0-9 . _ : / -",
                                        MAX_ID);
        if (duration_ms(in->run_timeout) < 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "run_timeout", NULL,
                                        "run_timeout must not be negative");
        if ((err = wf_def_get(svc, NULL, in->type, in->version, &s.def, st)))
                return err;
        s.input = in->input ? cairn_pbjson_to_json(&in->input->base, 0) : json_object();
        if (!s.input)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "input", NULL,
                                        "input has no JSON form");
        char *text = json_dumps(s.input, JSON_COMPACT);
        size_t len = text ? strlen(text) : 0;

        free(text);
        if (len > (size_t)svc->conf->max_payload_bytes) {
                json_decref(s.input);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, "input", "PAYLOAD_TOO_LARGE",
                                        "input has %zu bytes of JSON, over "
                                        "workflow.max_payload_bytes (%lld); pass large data "
                                        "by reference (docs/workflow.md)",
                                        len, svc->conf->max_payload_bytes);
        }
        if (!in->workflow_id[0])
                cairn_uuid(generated);
        s.workflow_id = in->workflow_id[0] ? in->workflow_id : generated;
        s.start_request = req->hdrs->id;
        s.principal = req->hdrs->principal;
        s.role = req->hdrs->role;
        s.run_timeout_ms = duration_ms(in->run_timeout);
        if (!s.run_timeout_ms)
                s.run_timeout_ms = duration_ms(s.def->def->run_timeout);
        if (!s.run_timeout_ms)
                s.run_timeout_ms = svc->conf->default_run_timeout_ms;
        err = cairn_pg_tx(svc->pg, WF_PG_DEADLINE, start_tx, &s, errstr, sizeof(errstr));
        json_decref(s.input);
        if (err) {
                if (s.refusal.code)
                        *st = s.refusal;
                else if (err == CAIRN_ERR_CONFLICT)
                        cairn_status_set(st, err, "workflow_id", "RUNNING",
                                         "workflow id \"%s\" has a running run", s.workflow_id);
                else
                        cairn_status_set(st, err, NULL, NULL, "starting the run: %s", errstr);
                return st->code;
        }
        if (s.published)
                wf_outbox_wake(svc->outbox);
        if (s.started)
                wf_metrics_observe(svc, &s.summary);
        if (s.terminated.summary.closed)
                wf_metrics_observe(svc, &s.terminated.summary);

        Cairn__Workflow__V1__StartRunReply *out = cairn_arena_calloc(req->arena, 1, sizeof(*out));

        if (!out)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        cairn__workflow__v1__start_run_reply__init(out);
        out->workflow_id = cairn_arena_strdup(req->arena, s.workflow_id);
        out->run_id = cairn_arena_strdup(req->arena, s.run_id);
        out->started = s.started;
        *reply = &out->base;
        return CAIRN_OK;
}

/* ---- reading ---- */

void wf_found_free(struct wf_found *f)
{
        json_decref(f->state);
        free(f->principal);
        free(f->role);
        memset(f, 0, sizeof(*f));
}

cairn_err_t wf_api_find(struct wf_service *svc, const char *tenant, const char *workflow_id,
                        const char *run_id, const char *type, struct wf_found *f,
                        struct cairn_status *st)
{
        const char *p[3] = { tenant, workflow_id, run_id ? run_id : "" };
        char errstr[256];
        PGresult *res = NULL;
        json_error_t jerr;
        cairn_err_t err;

        memset(f, 0, sizeof(*f));
        if (!workflow_id[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "workflow_id", NULL,
                                        "workflow_id is required");
        err = cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_RUN_GET], p, 3, &res, errstr,
                            sizeof(errstr));
        if (err)
                return cairn_status_set(st, err, NULL, NULL, "runs: %s", errstr);
        if (PQntuples(res) == 0 ||
            (type && type[0] && strcmp(type, "-") != 0 && strcmp(type, PQgetvalue(res, 0, 1)))) {
                PQclear(res);
                return run_id && run_id[0]
                               ? cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "run_id", NULL,
                                                  "workflow id \"%s\" has no run %s%s%s",
                                                  workflow_id, run_id,
                                                  type && type[0] ? " of type " : "",
                                                  type ? type : "")
                               : cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "workflow_id", NULL,
                                                  "no run with workflow id \"%s\"%s%s", workflow_id,
                                                  type && type[0] && strcmp(type, "-") ? " of type "
                                                                                       : "",
                                                  type && strcmp(type, "-") ? type : "");
        }
        snprintf(f->run_id, sizeof(f->run_id), "%s", PQgetvalue(res, 0, 0));
        f->principal = strdup(PQgetvalue(res, 0, 3));
        f->role = strdup(PQgetvalue(res, 0, 4));
        f->status = wf_run_status_parse(PQgetvalue(res, 0, 5));
        f->state = json_loads(PQgetvalue(res, 0, 6), 0, &jerr);
        PQclear(res);
        if (!f->state) {
                wf_found_free(f);
                return cairn_status_set(st, CAIRN_ERR_DATA_LOSS, NULL, NULL,
                                        "the run's state does not read back");
        }
        return CAIRN_OK;
}

Cairn__Workflow__V1__Run *wf_api_run(json_t *state, bool steps, struct cairn_arena *arena)
{
        const char *k;
        json_t *v;
        void *tmp;

        json_object_foreach_safe(state, tmp, k, v)
                if (strncmp(k, "x-", 2) == 0)
                        json_object_del(state, k);
        if (!steps)
                json_object_del(state, "steps");
        return wf_api_from_json(&cairn__workflow__v1__run__descriptor, state, arena);
}

cairn_err_t wf_api_get_run(struct cairn_request *req, const ProtobufCMessage *msg,
                           ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__GetRunRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        const char *tenant = wf_api_tenant(req, st);
        struct wf_found f;
        cairn_err_t err;

        if (!tenant)
                return st->code;
        if ((err = wf_api_find(svc, tenant, in->workflow_id, in->run_id, in->type, &f, st)))
                return err;

        /* the names of the signals waiting to be taken */
        const char *p[1] = { f.run_id };
        PGresult *res = NULL;
        char errstr[256];
        json_t *names = json_array();

        if (cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_SIGNALS_OPEN], p, 1, &res, errstr,
                          sizeof(errstr)) == CAIRN_OK) {
                for (int i = 0; i < PQntuples(res); i++)
                        json_array_append_new(names, json_string(PQgetvalue(res, i, 1)));
                PQclear(res);
        }
        json_object_set_new(f.state, "pendingSignals", names);

        Cairn__Workflow__V1__GetRunReply *out = cairn_arena_calloc(req->arena, 1, sizeof(*out));

        if (out) {
                cairn__workflow__v1__get_run_reply__init(out);
                out->run = wf_api_run(f.state, true, req->arena);
        }
        wf_found_free(&f);
        if (!out || !out->run)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "the run does not fit the reply's memory");
        *reply = &out->base;
        return CAIRN_OK;
}

cairn_err_t wf_api_list_runs(struct cairn_request *req, const ProtobufCMessage *msg,
                             ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__ListRunsRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        const char *tenant = wf_api_tenant(req, st);
        unsigned size = in->page_size ? in->page_size : 50;
        char after[24] = "0", before[24] = "0", cur_ms[24] = "0", cur_id[40] = "", limit[16],
             errstr[256];
        const char *status = in->status ? wf_run_status_name(in->status) : "";
        const char *type = strcmp(in->type, "-") == 0 ? "" : in->type;
        PGresult *res = NULL;
        cairn_err_t err;

        if (!tenant)
                return st->code;
        if (size > 500)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_size", NULL,
                                        "page_size is at most 500");
        if (in->status && !status[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "status", NULL,
                                        "status %d is no run status", (int)in->status);
        if (in->page_token[0] &&
            sscanf(in->page_token, "%23[0-9]:%39[0-9a-f-]", cur_ms, cur_id) != 2)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_token", NULL,
                                        "page_token is not one this service gave");
        if (in->started_after)
                snprintf(after, sizeof(after), "%lld",
                         (long long)(in->started_after->seconds * 1000 +
                                     in->started_after->nanos / 1000000));
        if (in->started_before)
                snprintf(before, sizeof(before), "%lld",
                         (long long)(in->started_before->seconds * 1000 +
                                     in->started_before->nanos / 1000000));
        snprintf(limit, sizeof(limit), "%u", size + 1);
        const char *p[8] = { tenant,
                             type,
                             status,
                             after,
                             before,
                             cur_ms,
                             cur_id[0] ? cur_id : "00000000-0000-0000-0000-000000000000",
                             limit };

        err = cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_RUN_LIST], p, 8, &res, errstr,
                            sizeof(errstr));
        if (err)
                return cairn_status_set(st, err, NULL, NULL, "runs: %s", errstr);
        int n = PQntuples(res), shown = n > (int)size ? (int)size : n;
        Cairn__Workflow__V1__ListRunsReply *out = cairn_arena_calloc(req->arena, 1, sizeof(*out));
        Cairn__Workflow__V1__Run **runs = cairn_arena_calloc(req->arena, (size_t)shown + 1,
                                                             sizeof(*runs));

        if (!out || !runs) {
                PQclear(res);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        cairn__workflow__v1__list_runs_reply__init(out);
        out->runs = runs;
        for (int i = 0; i < shown; i++) {
                json_error_t jerr;
                json_t *state = json_loads(PQgetvalue(res, i, 6), 0, &jerr);
                Cairn__Workflow__V1__Run *r = state ? wf_api_run(state, false, req->arena) : NULL;

                json_decref(state);
                if (r)
                        runs[out->n_runs++] = r;
        }
        if (n > (int)size && shown > 0)
                out->next_page_token = cairn_arena_sprintf(req->arena, "%s:%s",
                                                           PQgetvalue(res, shown - 1, 7),
                                                           PQgetvalue(res, shown - 1, 0));
        PQclear(res);
        *reply = &out->base;
        return CAIRN_OK;
}

cairn_err_t wf_api_history(struct cairn_request *req, const ProtobufCMessage *msg,
                           ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__GetHistoryRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        const char *tenant = wf_api_tenant(req, st);
        unsigned size = in->page_size ? in->page_size : 100;
        char after[16] = "0", limit[16], errstr[256];
        struct wf_found f;
        PGresult *res = NULL;
        cairn_err_t err;

        if (!tenant)
                return st->code;
        if (size > 1000)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_size", NULL,
                                        "page_size is at most 1000");
        if (in->page_token[0] && sscanf(in->page_token, "%15[0-9]", after) != 1)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_token", NULL,
                                        "page_token is not one this service gave");
        if ((err = wf_api_find(svc, tenant, in->workflow_id, in->run_id, in->type, &f, st)))
                return err;
        snprintf(limit, sizeof(limit), "%u", size + 1);
        const char *p[3] = { f.run_id, after, limit };

        err = cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_HISTORY_PAGE], p, 3, &res, errstr,
                            sizeof(errstr));
        wf_found_free(&f);
        if (err)
                return cairn_status_set(st, err, NULL, NULL, "history: %s", errstr);
        int n = PQntuples(res), shown = n > (int)size ? (int)size : n;
        Cairn__Workflow__V1__GetHistoryReply *out = cairn_arena_calloc(req->arena, 1, sizeof(*out));
        Cairn__Workflow__V1__WorkflowEvent **evs = cairn_arena_calloc(req->arena, (size_t)shown + 1,
                                                                      sizeof(*evs));

        if (!out || !evs) {
                PQclear(res);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        cairn__workflow__v1__get_history_reply__init(out);
        out->events = evs;
        for (int i = 0; i < shown; i++) {
                uint8_t *bytes = NULL;
                size_t len = 0;

                if (!cairn_pg_bytea_decode(PQgetvalue(res, i, 1), &bytes, &len))
                        continue;
                Cairn__Workflow__V1__WorkflowEvent *e =
                        cairn__workflow__v1__workflow_event__unpack(cairn_arena_pbc(req->arena),
                                                                    len, bytes);

                free(bytes);
                if (e)
                        evs[out->n_events++] = e;
        }
        if (n > (int)size && shown > 0)
                out->next_page_token = cairn_arena_strdup(req->arena,
                                                          PQgetvalue(res, shown - 1, 0));
        PQclear(res);
        *reply = &out->base;
        return CAIRN_OK;
}

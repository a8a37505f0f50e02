/* Acting on a running run: signal, cancel, terminate. Each is one change
 * through the engine (store.c); a run already closed refuses with
 * FAILED_PRECONDITION naming its status. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cairn/clock.h"
#include "cairn/pbjson.h"
#include "db.h"

static cairn_err_t closed(const struct wf_found *f, const char *workflow_id, const char *what,
                          struct cairn_status *st)
{
        return cairn_status_set(st, CAIRN_ERR_PRECONDITION, NULL, "RUN_CLOSED",
                                "run %s of workflow id \"%s\" is %s: %s only reach running runs",
                                f->run_id, workflow_id, wf_run_status_name(f->status), what);
}

static cairn_err_t running_only(struct wf_tick *t, struct cairn_status *st, const char *what)
{
        if (t->run->status == WF_RUNNING)
                return CAIRN_OK;
        return cairn_status_set(st, CAIRN_ERR_PRECONDITION, NULL, "RUN_CLOSED",
                                "run %s is %s: %s only reach running runs", t->run->run_id,
                                wf_run_status_name(t->run->status), what);
}

static cairn_err_t advance_fn(struct wf_tick *t, void *opaque, struct cairn_status *st)
{
        (void)opaque;
        (void)st;
        wf_engine_advance(t);
        return CAIRN_OK;
}

static cairn_err_t cancel_fn(struct wf_tick *t, void *opaque, struct cairn_status *st)
{
        cairn_err_t err = running_only(t, st, "cancels");

        if (!err)
                wf_engine_cancel(t, opaque);
        return err;
}

static cairn_err_t terminate_fn(struct wf_tick *t, void *opaque, struct cairn_status *st)
{
        cairn_err_t err = running_only(t, st, "terminations");

        if (!err)
                wf_engine_terminate(t, opaque);
        return err;
}

static bool signal_name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
                        return false;
        return true;
}

static void *run_reply(struct cairn_request *req, const ProtobufCMessageDescriptor *desc,
                       const char *run_id)
{
        /* the three replies are { string run_id = 1; } */
        ProtobufCMessage *m = cairn_arena_calloc(req->arena, 1, desc->sizeof_message);

        if (!m)
                return NULL;
        protobuf_c_message_init(desc, m);
        *(char **)((char *)m + desc->fields[0].offset) = cairn_arena_strdup(req->arena, run_id);
        return m;
}

cairn_err_t wf_api_signal(struct cairn_request *req, const ProtobufCMessage *msg,
                          ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__SignalRunRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        const char *tenant = wf_api_tenant(req, st);
        struct wf_found f;
        char errstr[256];
        cairn_err_t err;

        if (!tenant)
                return st->code;
        if (!signal_name_valid(in->name))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "name", NULL,
                                        "name must be 1 to 64 of A-Z a-z 0-9 _ . -");
        json_t *payload = in->payload ? cairn_pbjson_to_json(&in->payload->base, 0) : json_null();
        char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

        json_decref(payload);
        if (!text)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "payload", NULL,
                                        "payload has no JSON form");
        if (strlen(text) > (size_t)svc->conf->max_payload_bytes) {
                size_t len = strlen(text);

                free(text);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, "payload", "PAYLOAD_TOO_LARGE",
                                        "payload has %zu bytes of JSON, over "
                                        "workflow.max_payload_bytes (%lld)",
                                        len, svc->conf->max_payload_bytes);
        }
        if ((err = wf_api_find(svc, tenant, in->workflow_id, in->run_id, in->type, &f, st))) {
                free(text);
                return err;
        }
        if (f.status != WF_RUNNING) {
                free(text);
                err = closed(&f, in->workflow_id, "signals", st);
                wf_found_free(&f);
                return err;
        }
        const char *p[4] = { f.run_id, in->name, text, req->hdrs->id };

        PGresult *res = NULL;

        err = cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_SIGNAL_ADD], p, 4, &res, errstr,
                            sizeof(errstr));
        PQclear(res);
        free(text);
        /* buffered; a step waiting for it takes it now */
        if (!err)
                err = wf_run_update(svc, f.run_id, advance_fn, NULL, st);
        else
                cairn_status_set(st, err, NULL, NULL, "signal: %s", errstr);
        if (!err && !(*reply = run_reply(req, &cairn__workflow__v1__signal_run_reply__descriptor,
                                         f.run_id)))
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        wf_found_free(&f);
        return err;
}

static cairn_err_t control(struct cairn_request *req, const char *workflow_id, const char *run_id,
                           const char *type, const char *reason, wf_run_fn fn, const char *what,
                           const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                           struct cairn_status *st)
{
        struct wf_service *svc = req->opaque;
        const char *tenant = wf_api_tenant(req, st);
        struct wf_found f;
        cairn_err_t err;

        if (!tenant)
                return st->code;
        if ((err = wf_api_find(svc, tenant, workflow_id, run_id, type, &f, st)))
                return err;
        if (f.status != WF_RUNNING)
                err = closed(&f, workflow_id, what, st);
        else
                err = wf_run_update(svc, f.run_id, fn, (void *)reason, st);
        if (!err && !(*reply = run_reply(req, reply_desc, f.run_id)))
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        wf_found_free(&f);
        return err;
}

cairn_err_t wf_api_cancel(struct cairn_request *req, const ProtobufCMessage *msg,
                          ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__CancelRunRequest *in = (const void *)msg;

        return control(req, in->workflow_id, in->run_id, in->type, in->reason, cancel_fn, "cancels",
                       &cairn__workflow__v1__cancel_run_reply__descriptor, reply, st);
}

cairn_err_t wf_api_terminate(struct cairn_request *req, const ProtobufCMessage *msg,
                             ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__TerminateRunRequest *in = (const void *)msg;
        cairn_err_t err = wf_api_admin(req, "terminating a run", st);

        if (err)
                return err;
        return control(req, in->workflow_id, in->run_id, in->type, in->reason, terminate_fn,
                       "terminations", &cairn__workflow__v1__terminate_run_reply__descriptor, reply,
                       st);
}

/* Runs in PostgreSQL (workflow.h, store.h): a change to a run is one
 * transaction — lock the row, load the state and the buffered signals, let
 * the engine move it, then write the state, the history events, the
 * signals taken and the outbox rows (the steps' dispatches, the events to
 * publish) before COMMIT. Nothing is sent before it commits; the outbox
 * publishes afterwards, so a crash at any point loses nothing and a
 * dispatch sent twice carries the same ce_id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/pbjson.h"
#include "db.h"
#include "store.h"

/* ---- events ---- */

static char *event_hex(const struct wf_run *run, const struct wf_event_out *e, size_t *lenp)
{
        Cairn__Workflow__V1__WorkflowEvent ev = CAIRN__WORKFLOW__V1__WORKFLOW_EVENT__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        Cairn__V1__Status status = CAIRN__V1__STATUS__INIT;
        ProtobufCMessage *detail = NULL;

        ev.workflow_id = run->workflow_id;
        ev.run_id = run->run_id;
        ev.type = run->type;
        ev.tenant = run->tenant ? run->tenant : "";
        ev.sequence = e->seq;
        ev.event = e->type;
        cairn_timestamp_set_us(&ts, e->time_ms * 1000);
        ev.time = &ts;
        ev.step = e->step ? e->step : "";
        ev.attempt = e->attempt;
        if (e->detail && cairn_pbjson_from_json(&google__protobuf__value__descriptor, e->detail,
                                                &detail, NULL) == CAIRN_OK)
                ev.detail = (Google__Protobuf__Value *)detail;
        if (e->err || e->error) {
                status.code = (int32_t)e->err;
                status.message = e->error ? e->error : "";
                ev.error = &status;
        }
        size_t len = cairn__workflow__v1__workflow_event__get_packed_size(&ev);
        uint8_t *bytes = malloc(len ? len : 1);
        char *hex;

        if (!bytes)
                abort();
        cairn__workflow__v1__workflow_event__pack(&ev, bytes);
        hex = cairn_pg_bytea_encode(bytes, len);
        free(bytes);
        if (detail)
                protobuf_c_message_free_unpacked(detail, NULL);
        if (!hex)
                abort();
        *lenp = len;
        return hex;
}

/* ---- saving a tick ---- */

struct arrays {
        struct cairn_buf b[8];
};

static void arrays_begin(struct arrays *a, int n)
{
        memset(a, 0, sizeof(*a));
        for (int i = 0; i < n; i++)
                cairn_pg_array_begin(&a->b[i]);
}

static void arrays_end(struct arrays *a, int n)
{
        for (int i = 0; i < n; i++)
                cairn_pg_array_end(&a->b[i]);
}

static void arrays_cleanup(struct arrays *a, int n)
{
        for (int i = 0; i < n; i++)
                cairn_buf_cleanup(&a->b[i]);
}

static bool arrays_oom(const struct arrays *a, int n)
{
        for (int i = 0; i < n; i++)
                if (a->b[i].oom)
                        return true;
        return false;
}

static cairn_err_t save_history(struct cairn_pg_conn *conn, const struct wf_tick *t,
                                const struct wf_store_who *who, char *errstr, size_t errstr_size)
{
        struct arrays h, o;
        cairn_err_t err = CAIRN_OK;
        char num[32], id[80];

        if (!t->nevents && !t->ndispatches)
                return CAIRN_OK;
        arrays_begin(&h, 2);
        arrays_begin(&o, 8);
        for (size_t i = 0; i < t->nevents; i++) {
                size_t len;
                char *hex = event_hex(t->run, &t->events[i], &len);

                snprintf(num, sizeof(num), "%u", t->events[i].seq);
                cairn_pg_array_add(&h.b[0], num);
                cairn_pg_array_add(&h.b[1], hex);
                if (who->events_topic && who->events_topic[0]) {
                        snprintf(id, sizeof(id), "%s#%u", t->run->run_id, t->events[i].seq);
                        cairn_pg_array_add(&o.b[0], who->events_topic);
                        cairn_pg_array_add(&o.b[1], t->run->workflow_id);
                        cairn_pg_array_add(&o.b[2], id);
                        cairn_pg_array_add(&o.b[3], "cairn.workflow.v1.WorkflowEvent");
                        cairn_pg_array_add(&o.b[4], hex);
                        cairn_pg_array_add(&o.b[5], "0");
                        cairn_pg_array_add(&o.b[6], "");
                        cairn_pg_array_add(&o.b[7], "");
                }
                free(hex);
        }
        for (size_t i = 0; i < t->ndispatches; i++) {
                const struct wf_dispatch *d = &t->dispatches[i];
                char *hex = cairn_pg_bytea_encode(d->payload, d->len);

                if (!hex)
                        abort();
                snprintf(num, sizeof(num), "%lld", (long long)d->deadline_ms);
                cairn_pg_array_add(&o.b[0], d->topic);
                cairn_pg_array_add(&o.b[1], d->key);
                cairn_pg_array_add(&o.b[2], d->ce_id);
                cairn_pg_array_add(&o.b[3], d->ce_type);
                cairn_pg_array_add(&o.b[4], hex);
                cairn_pg_array_add(&o.b[5], num);
                cairn_pg_array_add(&o.b[6], who->principal ? who->principal : "");
                cairn_pg_array_add(&o.b[7], who->role ? who->role : "");
                free(hex);
        }
        arrays_end(&h, 2);
        arrays_end(&o, 8);
        if (arrays_oom(&h, 2) || arrays_oom(&o, 8)) {
                snprintf(errstr, errstr_size, "out of memory for the history");
                err = CAIRN_ERR_EXHAUSTED;
        }
        if (!err && t->nevents) {
                const char *p[3] = { t->run->run_id, h.b[0].p, h.b[1].p };

                err = cairn_pg_conn_exec(conn, &wf_sql[WQ_HISTORY_ADD], p, 3, NULL, errstr,
                                         errstr_size);
        }
        if (!err && o.b[0].len > 2) {
                const char *p[8] = { o.b[0].p, o.b[1].p, o.b[2].p, o.b[3].p,
                                     o.b[4].p, o.b[5].p, o.b[6].p, o.b[7].p };

                err = cairn_pg_conn_exec(conn, &wf_sql[WQ_OUTBOX_ADD], p, 8, NULL, errstr,
                                         errstr_size);
        }
        arrays_cleanup(&h, 2);
        arrays_cleanup(&o, 8);
        return err;
}

static cairn_err_t save_signals(struct cairn_pg_conn *conn, const struct wf_tick *t, char *errstr,
                                size_t errstr_size)
{
        struct arrays a;
        char num[32];
        size_t n = 0;
        cairn_err_t err = CAIRN_OK;

        arrays_begin(&a, 2);
        for (size_t i = 0; i < t->nsignals; i++)
                if (t->signals[i].taken_by) {
                        snprintf(num, sizeof(num), "%lld", (long long)t->signals[i].seq);
                        cairn_pg_array_add(&a.b[0], num);
                        cairn_pg_array_add(&a.b[1], t->signals[i].taken_by);
                        n++;
                }
        arrays_end(&a, 2);
        if (n) {
                const char *p[3] = { t->run->run_id, a.b[0].p, a.b[1].p };

                err = cairn_pg_conn_exec(conn, &wf_sql[WQ_SIGNALS_TAKE], p, 3, NULL, errstr,
                                         errstr_size);
        }
        arrays_cleanup(&a, 2);
        return err;
}

cairn_err_t wf_tick_save(struct cairn_pg_conn *conn, const struct wf_tick *t,
                         const struct wf_store_who *who, bool insert, char *errstr,
                         size_t errstr_size)
{
        const struct wf_run *run = t->run;
        json_t *state = wf_run_to_json(run);
        char *text = json_dumps(state, JSON_COMPACT);
        char closed[24], wake[24], started[24], version[16];
        cairn_err_t err;

        json_decref(state);
        if (!text)
                abort();
        snprintf(closed, sizeof(closed), "%lld", (long long)run->closed_ms);
        snprintf(wake, sizeof(wake), "%lld", (long long)t->wake_ms);
        if (insert) {
                snprintf(started, sizeof(started), "%lld", (long long)run->started_ms);
                snprintf(version, sizeof(version), "%u", run->version);
                const char *p[11] = { run->run_id,    run->tenant, run->workflow_id,
                                      run->type,      version,     who->start_request,
                                      who->principal, who->role,   started,
                                      wake,           text };

                err = cairn_pg_conn_exec(conn, &wf_sql[WQ_RUN_INSERT], p, 11, NULL, errstr,
                                         errstr_size);
                /* a run closed at once (a failed first step) */
                if (!err && run->status != WF_RUNNING) {
                        const char *q[5] = { run->run_id, wf_run_status_name(run->status), closed,
                                             wake, text };

                        err = cairn_pg_conn_exec(conn, &wf_sql[WQ_RUN_SAVE], q, 5, NULL, errstr,
                                                 errstr_size);
                }
        } else {
                const char *p[5] = { run->run_id, wf_run_status_name(run->status), closed, wake,
                                     text };

                err = cairn_pg_conn_exec(conn, &wf_sql[WQ_RUN_SAVE], p, 5, NULL, errstr,
                                         errstr_size);
        }
        free(text);
        if (!err)
                err = save_history(conn, t, who, errstr, errstr_size);
        if (!err)
                err = save_signals(conn, t, errstr, errstr_size);
        return err;
}

/* ---- loading ---- */

/* Fills @p run from a WQ_RUN_LOCK-shaped row: run_id, type, version,
 * principal, role, status, state, started. */
int wf_run_from_row(struct wf_run *run, const PGresult *res, int row)
{
        json_error_t jerr;
        json_t *state = json_loads(PQgetvalue(res, row, 6), 0, &jerr);
        int rc = state ? wf_run_from_json(run, state) : -1;

        json_decref(state);
        return rc;
}

static void signals_free(struct wf_tick *t, json_t **payloads, char **names)
{
        for (size_t i = 0; i < t->nsignals; i++) {
                json_decref(payloads[i]);
                free(names[i]);
        }
        free(payloads);
        free(names);
        free(t->signals);
        t->signals = NULL;
        t->nsignals = 0;
}

struct update {
        struct wf_service *svc;
        const char *run_id;
        bool due_only;
        wf_run_fn fn;
        void *opaque;
        struct wf_change change;
};

static cairn_err_t update_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct update *u = opaque;

        return wf_run_change(conn, u->svc, u->run_id, u->due_only, u->fn, u->opaque, &u->change,
                             errstr, errstr_size);
}

cairn_err_t wf_run_change(struct cairn_pg_conn *conn, struct wf_service *svc, const char *run_id,
                          bool due_only, wf_run_fn fn, void *fn_opaque, struct wf_change *u,
                          char *errstr, size_t errstr_size)
{
        const char *p[1] = { run_id };
        PGresult *res = NULL, *sres = NULL;
        struct wf_run run = { 0 };
        struct wf_tick t = { 0 };
        const struct wf_def *def = NULL;
        json_t **payloads = NULL;
        char **names = NULL;
        cairn_err_t err;

        u->skipped = u->published = false;
        cairn_status_clear(&u->st);
        err = cairn_pg_conn_exec(conn, &wf_sql[due_only ? WQ_RUN_LOCK_DUE : WQ_RUN_LOCK], p, 1,
                                 &res, errstr, errstr_size);
        if (err)
                return err;
        if (PQntuples(res) == 0) {
                PQclear(res);
                if (due_only) {
                        u->skipped = true;
                        return CAIRN_OK;
                }
                snprintf(errstr, errstr_size, "no run %s", run_id);
                return CAIRN_ERR_NOT_FOUND;
        }
        struct wf_store_who who = {
                .principal = PQgetvalue(res, 0, 3),
                .role = PQgetvalue(res, 0, 4),
                .events_topic = svc->conf->events_topic,
        };
        if (wf_run_from_row(&run, res, 0) != 0) {
                snprintf(errstr, errstr_size, "run %s: its stored state does not read back",
                         run_id);
                PQclear(res);
                return CAIRN_ERR_DATA_LOSS;
        }
        struct cairn_status dst;

        if ((err = wf_def_get(svc, conn, run.type, run.version, &def, &dst))) {
                snprintf(errstr, errstr_size, "%s", dst.message);
                goto out;
        }
        err = cairn_pg_conn_exec(conn, &wf_sql[WQ_SIGNALS_OPEN], p, 1, &sres, errstr, errstr_size);
        if (err)
                goto out;
        t.nsignals = (size_t)PQntuples(sres);
        t.signals = calloc(t.nsignals + 1, sizeof(*t.signals));
        payloads = calloc(t.nsignals + 1, sizeof(*payloads));
        names = calloc(t.nsignals + 1, sizeof(*names));
        if (!t.signals || !payloads || !names)
                abort();
        for (size_t i = 0; i < t.nsignals; i++) {
                json_error_t jerr;

                t.signals[i].seq = strtoll(PQgetvalue(sres, (int)i, 0), NULL, 10);
                names[i] = strdup(PQgetvalue(sres, (int)i, 1));
                payloads[i] = json_loads(PQgetvalue(sres, (int)i, 2), JSON_DECODE_ANY, &jerr);
                t.signals[i].name = names[i];
                t.signals[i].payload = payloads[i] ? payloads[i] : json_null();
        }
        t.env = &svc->env;
        t.def = def->def;
        t.graph = &def->graph;
        t.run = &run;
        t.now_ms = cairn_now_ms();
        err = fn(&t, fn_opaque, &u->st);
        if (err) {
                /* the request is refused; nothing to write */
                snprintf(errstr, errstr_size, "%s", u->st.message);
                goto out;
        }
        if (t.changed || due_only) {
                err = wf_tick_save(conn, &t, &who, false, errstr, errstr_size);
                u->published = t.nevents || t.ndispatches;
        }
        wf_run_summarize(&u->summary, &t);
out:
        if (payloads)
                signals_free(&t, payloads, names);
        wf_tick_free(&t);
        wf_run_free(&run);
        PQclear(sres);
        PQclear(res);
        return err;
}

void wf_run_summarize(struct wf_run_summary *s, const struct wf_tick *t)
{
        memset(s, 0, sizeof(*s));
        snprintf(s->type, sizeof(s->type), "%s", t->run->type);
        s->status = t->run->status;
        for (size_t i = 0; i < t->nevents; i++) {
                const struct wf_event_out *e = &t->events[i];
                const struct wf_step_state *st;

                switch (e->type) {
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_STARTED:
                        s->started = true;
                        break;
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_COMPLETED:
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_FAILED:
                        st = e->step ? wf_run_step(t->run, e->step) : NULL;
                        if (e->type == CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_COMPLETED)
                                s->completed++;
                        else
                                s->failed++;
                        if (st && st->attempt && st->started_ms && s->nseconds < WF_SUMMARY_STEPS)
                                s->seconds[s->nseconds++] = (double)(t->now_ms - st->started_ms) /
                                                            1000.0;
                        break;
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_STEP_RETRIED:
                        s->retried++;
                        break;
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_COMPLETED:
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_FAILED:
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_CANCELLED:
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_TERMINATED:
                case CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_RUN_TIMED_OUT:
                        s->closed = true;
                        break;
                default:
                        break;
                }
        }
}

cairn_err_t wf_run_tx(struct wf_service *svc, const char *run_id, bool due_only, wf_run_fn fn,
                      void *opaque, bool *skipped, struct wf_run_summary *summary,
                      struct cairn_status *st)
{
        struct update u = {
                .svc = svc, .run_id = run_id, .due_only = due_only, .fn = fn, .opaque = opaque
        };
        char errstr[512];
        cairn_err_t err = cairn_pg_tx(svc->pg, WF_PG_DEADLINE, update_tx, &u, errstr,
                                      sizeof(errstr));

        if (skipped)
                *skipped = u.change.skipped;
        if (summary)
                *summary = u.change.summary;
        if (err) {
                if (u.change.st.code)
                        *st = u.change.st;
                else
                        cairn_status_set(st, err, NULL, NULL, "%s", errstr);
                return err;
        }
        if (u.change.published)
                wf_outbox_wake(svc->outbox);
        return CAIRN_OK;
}

cairn_err_t wf_run_update(struct wf_service *svc, const char *run_id, wf_run_fn fn, void *opaque,
                          struct cairn_status *st)
{
        struct wf_run_summary sum;
        cairn_err_t err = wf_run_tx(svc, run_id, false, fn, opaque, NULL, &sum, st);

        if (!err)
                wf_metrics_observe(svc, &sum);
        return err;
}

/* The workflow engine (engine.h). Steps move PENDING → RUNNING (a call) /
 * SLEEPING / WAITING → COMPLETED, FAILED, SKIPPED or CANCELLED; a call that
 * fails waits in BACKOFF for its next attempt while its retry policy
 * allows. A fan-out's elements are steps "id[N]", a compensation is
 * "id.compensate". */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/json.h"
#include "cairn/pb_registry.h"
#include "cairn/pbjson.h"
#include "engine.h"
#include "template.h"

#define COMPENSATE ".compensate"

typedef Cairn__Workflow__V1__EventType wf_event_type;
#define EV(x) CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_##x

static int64_t duration_ms(const Google__Protobuf__Duration *d)
{
        return d ? d->seconds * 1000 + d->nanos / 1000000 : 0;
}

/* ---- what the tick writes ---- */

static struct wf_event_out *event(struct wf_tick *t, wf_event_type type, const char *step,
                                  uint32_t attempt)
{
        if (t->nevents == t->events_cap) {
                t->events_cap = t->events_cap ? t->events_cap * 2 : 8;
                t->events = realloc(t->events, t->events_cap * sizeof(*t->events));
                if (!t->events)
                        abort();
        }
        struct wf_event_out *e = &t->events[t->nevents++];

        memset(e, 0, sizeof(*e));
        e->type = type;
        e->seq = ++t->run->history_length;
        e->time_ms = t->now_ms;
        e->step = step ? strdup(step) : NULL;
        e->attempt = attempt;
        t->changed = true;
        return e;
}

static void event_error(struct wf_event_out *e, cairn_err_t err, const char *msg)
{
        e->err = err;
        e->error = strdup(msg ? msg : "");
}

/* ---- the definition behind a step of the run ---- */

struct step_ref {
        long index;          /* in def->steps */
        long element;        /* a fan-out's element, or -1 */
        bool compensation;   /* "id.compensate" */
        const wf_call *call; /* what it calls, or NULL */
};

static bool step_ref(const struct wf_tick *t, const char *id, struct step_ref *r)
{
        char base[80];
        size_t n = strcspn(id, "[.");

        if (n >= sizeof(base))
                return false;
        memcpy(base, id, n);
        base[n] = '\0';
        r->index = wf_graph_find(t->graph, base);
        r->element = -1;
        r->compensation = false;
        r->call = NULL;
        if (r->index < 0)
                return false;
        const wf_step *st = t->def->steps[r->index];

        if (id[n] == '[') {
                const char *close = strchr(id + n, ']');

                r->element = strtol(id + n + 1, NULL, 10);
                r->call = st->fan_out ? st->fan_out->call : NULL;
                /* an element's compensation: "id[3].compensate" */
                if (close && strcmp(close + 1, COMPENSATE) == 0) {
                        r->compensation = true;
                        r->call = r->call ? r->call->compensation : NULL;
                } else if (!close || close[1]) {
                        return false;
                }
        } else if (strcmp(id + n, COMPENSATE) == 0) {
                r->compensation = true;
                r->call = st->call ? st->call->compensation : NULL;
        } else if (id[n] == '\0') {
                r->call = st->kind_case == CAIRN__WORKFLOW__V1__STEP__KIND_CALL ? st->call : NULL;
        } else {
                return false;
        }
        return true;
}

/* ---- the data references read ---- */

/* The value a template string (a reference, or text with references)
 * gives: a new reference, or NULL with @p err. */
static json_t *eval_string(const char *text, const json_t *data, char *err, size_t err_size)
{
        json_t *k = json_string(text ? text : ""), *v;

        if (!k)
                abort();
        v = wf_template_eval(k, data, err, err_size);
        json_decref(k);
        return v;
}

static json_t *data_of(const struct wf_tick *t, const struct step_ref *r)
{
        const struct wf_run *run = t->run;
        json_t *steps = json_object();
        json_t *d = json_pack("{s:O,s:o,s:{s:s,s:s,s:s,s:s}}", "input", run->input, "steps", steps,
                              "run", "workflow_id", run->workflow_id, "run_id", run->run_id,
                              "tenant", run->tenant ? run->tenant : "", "type", run->type);

        if (!d)
                abort();
        for (size_t i = 0; i < run->nsteps; i++) {
                const struct wf_step_state *s = &run->steps[i];

                if (s->status == WS_COMPLETED && !strchr(s->id, '[') && !strchr(s->id, '.'))
                        json_object_set_new(steps, s->id,
                                            json_pack("{s:O}", "output",
                                                      s->output ? s->output : json_null()));
        }
        if (r && r->element >= 0) {
                const wf_step *st = t->def->steps[r->index];
                char err[256];
                json_t *items = eval_string(st->fan_out->items, d, err, sizeof(err));
                json_t *item = items ? json_array_get(items, (size_t)r->element) : NULL;
                json_t *prev = items && r->element > 0
                                       ? json_array_get(items, (size_t)r->element - 1)
                                       : NULL;

                json_object_set(d, "item", item ? item : json_null());
                json_object_set(d, "previous", prev ? prev : json_null());
                json_object_set_new(d, "index", json_integer(r->element));
                json_decref(items);
        }
        return d;
}

/* ---- closing steps ---- */

static void step_close(struct wf_tick *t, struct wf_step_state *s, wf_step_status status)
{
        s->status = status;
        s->closed_ms = t->now_ms;
        s->due_ms = 0;
        t->changed = true;
}

static void step_complete(struct wf_tick *t, struct wf_step_state *s, json_t *output)
{
        json_decref(s->output);
        s->output = output;
        step_close(t, s, WS_COMPLETED);
        struct wf_event_out *e = event(t, EV(STEP_COMPLETED), s->id, s->attempt);

        e->detail = output ? json_incref(output) : NULL;
}

/* A step failed for good: so does the run (docs/workflow.md), unless it is
 * a compensation, which only records it. */
static void run_close(struct wf_tick *t, wf_run_status status, wf_event_type type, cairn_err_t err,
                      const char *msg);

static void step_fail(struct wf_tick *t, struct wf_step_state *s, cairn_err_t err, const char *msg)
{
        wf_step_fail_msg(s, err, "%s", msg);
        step_close(t, s, WS_FAILED);
        event_error(event(t, EV(STEP_FAILED), s->id, s->attempt), err, msg);
        if (strstr(s->id, COMPENSATE))
                return;
        char *why;

        if (asprintf(&why, "step %s failed: %s", s->id, msg) < 0)
                abort();
        run_close(t, WF_FAILED, EV(RUN_FAILED), err, why);
        free(why);
}

static void step_skip(struct wf_tick *t, struct wf_step_state *s)
{
        step_close(t, s, WS_SKIPPED);
        event(t, EV(STEP_SKIPPED), s->id, 0);
}

static void run_close(struct wf_tick *t, wf_run_status status, wf_event_type type, cairn_err_t err,
                      const char *msg)
{
        struct wf_run *run = t->run;

        if (run->status != WF_RUNNING)
                return;
        for (size_t i = 0; i < run->nsteps; i++)
                if (!wf_step_finished(run->steps[i].status))
                        step_close(t, &run->steps[i], WS_CANCELLED);
        /* what this tick was about to send belongs to steps just cancelled:
         * a closed run asks no service for work */
        for (size_t i = 0; i < t->ndispatches; i++) {
                free(t->dispatches[i].key);
                free(t->dispatches[i].ce_id);
                free(t->dispatches[i].payload);
        }
        t->ndispatches = 0;
        run->status = status;
        run->closed_ms = t->now_ms;
        if (msg)
                wf_run_fail_msg(run, err, "%s", msg);
        struct wf_event_out *e = event(t, type, NULL, 0);

        /* run->error, not msg: msg may have been the old run->error, just freed */
        if (msg)
                event_error(e, err, run->error);
        if (status == WF_COMPLETED && run->output)
                e->detail = json_incref(run->output);
}

/* ---- calls ---- */

static int64_t start_to_close(const struct wf_tick *t, const wf_call *c)
{
        int64_t ms = duration_ms(c->start_to_close_timeout);

        return ms > 0 ? ms : t->env->default_start_to_close_ms;
}

/* The attempt's deadline: its own timeout, within schedule-to-close. */
static int64_t attempt_due(const struct wf_tick *t, const struct wf_step_state *s, const wf_call *c)
{
        int64_t due = t->now_ms + start_to_close(t, c);
        int64_t s2c = duration_ms(c->schedule_to_close_timeout);

        if (s2c > 0 && s->started_ms + s2c < due)
                due = s->started_ms + s2c;
        /* no attempt outlives its run */
        if (t->run->deadline_ms && t->run->deadline_ms < due)
                due = t->run->deadline_ms;
        return due;
}

/* The step's schedule-to-close timeout (if it has one) has passed. */
static bool schedule_to_close_passed(const struct wf_tick *t, const struct wf_step_state *s,
                                     const wf_call *c)
{
        int64_t s2c = duration_ms(c->schedule_to_close_timeout);

        return s2c > 0 && t->now_ms >= s->started_ms + s2c;
}

/* Builds and queues attempt s->attempt + 1 of @p s. */
static void dispatch(struct wf_tick *t, struct wf_step_state *s, const struct step_ref *r)
{
        const wf_call *c = r->call;
        const struct wf_target *target = wf_target_find(t->env->defs, c->service);
        const ProtobufCMessageDescriptor *desc = cairn_pb_message_find(c->type);
        json_t *data = data_of(t, r), *tmpl = NULL, *req = NULL;
        ProtobufCMessage *msg = NULL;
        struct cairn_pbjson_error jerr = { 0 };
        char err[512], *key = NULL;

        if (!target || !desc) {
                snprintf(err, sizeof(err), "service %s or type %s is no longer known", c->service,
                         c->type);
                goto fail;
        }
        tmpl = c->request ? cairn_pbjson_to_json(&c->request->base, 0) : json_object();
        if (!tmpl || !(req = wf_template_eval(tmpl, data, err, sizeof(err))))
                goto fail;
        if (cairn_pbjson_from_json(desc, req, &msg, &jerr) != CAIRN_OK) {
                snprintf(err, sizeof(err), "request is not a valid %s: %s%s%s", c->type,
                         jerr.field[0] ? jerr.field : "", jerr.field[0] ? ": " : "", jerr.message);
                goto fail;
        }
        if (c->key && c->key[0]) {
                json_t *kv = eval_string(c->key, data, err, sizeof(err));

                if (!kv)
                        goto fail;
                key = strdup(json_is_string(kv) ? json_string_value(kv) : "");
                json_decref(kv);
        } else {
                key = strdup(t->run->tenant ? t->run->tenant : "");
        }

        if (t->ndispatches == t->dispatches_cap) {
                t->dispatches_cap = t->dispatches_cap ? t->dispatches_cap * 2 : 4;
                t->dispatches = realloc(t->dispatches, t->dispatches_cap * sizeof(*t->dispatches));
                if (!t->dispatches)
                        abort();
        }
        struct wf_dispatch *d = &t->dispatches[t->ndispatches++];

        s->attempt++;
        if (!s->started_ms)
                s->started_ms = t->now_ms;
        s->status = WS_RUNNING;
        s->due_ms = attempt_due(t, s, c);
        d->topic = target->topic;
        d->key = key;
        if (asprintf(&d->ce_id, "%s/%s/%u", t->run->run_id, s->id, s->attempt) < 0)
                abort();
        d->ce_type = desc->name;
        d->len = protobuf_c_message_get_packed_size(msg);
        d->payload = malloc(d->len ? d->len : 1);
        if (!d->payload)
                abort();
        protobuf_c_message_pack(msg, d->payload);
        d->deadline_ms = s->due_ms;
        event(t, EV(STEP_SCHEDULED), s->id, s->attempt);
        protobuf_c_message_free_unpacked(msg, NULL);
        json_decref(tmpl);
        json_decref(req);
        json_decref(data);
        return;
fail:
        if (msg) /* built, then the key failed */
                protobuf_c_message_free_unpacked(msg, NULL);
        free(key);
        json_decref(tmpl);
        json_decref(req);
        json_decref(data);
        /* the run's data cannot make this request: retrying would not help */
        step_fail(t, s, CAIRN_ERR_INVALID, err);
}

/* Attempt s->attempt failed with @p err: another one later, or the end. */
static void attempt_failed(struct wf_tick *t, struct wf_step_state *s, const struct step_ref *r,
                           cairn_err_t err, const char *msg)
{
        struct wf_retry_rules rules;
        int64_t delay;

        wf_retry_rules(r->call->retry, &rules);
        wf_step_fail_msg(s, err, "%s", msg);
        if (t->run->cancel_requested && !r->compensation) {
                step_close(t, s, WS_CANCELLED);
                event_error(event(t, EV(STEP_FAILED), s->id, s->attempt), err, msg);
                return;
        }
        if (wf_retry_next(&rules, s->attempt, err, &delay)) {
                int64_t s2c = duration_ms(r->call->schedule_to_close_timeout);

                if (!(s2c > 0 && t->now_ms + delay >= s->started_ms + s2c)) {
                        s->status = WS_BACKOFF;
                        s->due_ms = t->now_ms + delay;
                        struct wf_event_out *e = event(t, EV(STEP_RETRIED), s->id, s->attempt);
                        Google__Protobuf__Duration backoff = GOOGLE__PROTOBUF__DURATION__INIT;

                        /* the backoff chosen, in a Duration's JSON form */
                        /* cppcheck-suppress unreadVariable ; encoded through &backoff.base */
                        backoff.seconds = delay / 1000;
                        /* cppcheck-suppress unreadVariable ; encoded through &backoff.base */
                        backoff.nanos = (int32_t)(delay % 1000) * 1000000;
                        e->detail = json_pack("{s:o}", "delay",
                                              cairn_pbjson_to_json(&backoff.base, 0));
                        event_error(e, err, msg);
                        return;
                }
        }
        step_fail(t, s, err, msg);
}

void wf_engine_reply(struct wf_tick *t, const char *step, uint32_t attempt, cairn_err_t err,
                     const char *message, const json_t *output)
{
        struct wf_step_state *s = wf_run_step(t->run, step);
        struct step_ref r;

        if (t->run->status != WF_RUNNING || !s || s->status != WS_RUNNING ||
            s->attempt != attempt || !step_ref(t, step, &r) || !r.call)
                return; /* late: timed out, cancelled, or a duplicate */
        if (err == CAIRN_OK) {
                char *text = json_dumps(output, JSON_COMPACT);
                size_t len = text ? strlen(text) : 0;

                free(text);
                if (len > t->env->max_payload_bytes) {
                        char msg[160];

                        snprintf(msg, sizeof(msg),
                                 "the reply's JSON form has %zu bytes, over "
                                 "workflow.max_payload_bytes (%zu)",
                                 len, t->env->max_payload_bytes);
                        step_fail(t, s, CAIRN_ERR_EXHAUSTED, msg);
                } else {
                        step_complete(t, s, json_deep_copy(output));
                }
        } else {
                attempt_failed(t, s, &r, err, message ? message : cairn_err_str(err));
        }
        wf_engine_advance(t);
}

/* ---- starting steps ---- */

static bool preds_state(const struct wf_tick *t, long i, bool *all_skipped)
{
        *all_skipped = t->graph->npreds[i] > 0;
        for (size_t k = 0; k < t->graph->npreds[i]; k++) {
                const wf_step *p = t->def->steps[t->graph->preds[i][k]];
                const struct wf_step_state *ps = wf_run_step(t->run, p->id);

                if (!ps || (ps->status != WS_COMPLETED && ps->status != WS_SKIPPED))
                        return false;
                if (ps->status != WS_SKIPPED)
                        *all_skipped = false;
        }
        return true;
}

static int64_t parse_until(const json_t *v)
{
        ProtobufCMessage *m = NULL;
        int64_t ms = -1;

        if (json_is_string(v) && cairn_pbjson_from_json(&google__protobuf__timestamp__descriptor, v,
                                                        &m, NULL) == CAIRN_OK) {
                const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;

                ms = ts->seconds * 1000 + ts->nanos / 1000000;
                protobuf_c_message_free_unpacked(m, NULL);
        }
        return ms;
}

static bool take_signal(struct wf_tick *t, struct wf_step_state *s, const char *name)
{
        for (size_t i = 0; i < t->nsignals; i++) {
                struct wf_signal *sig = &t->signals[i];

                if (sig->taken_by || strcmp(sig->name, name) != 0)
                        continue;
                sig->taken_by = s->id;
                struct wf_event_out *e = event(t, EV(SIGNAL_RECEIVED), s->id, 0);

                e->detail = json_pack("{s:s,s:O}", "name", name, "payload", sig->payload);
                step_complete(t, s, json_deep_copy(sig->payload));
                return true;
        }
        return false;
}

static void fan_out_start(struct wf_tick *t, struct wf_step_state *s, long index)
{
        const wf_step *st = t->def->steps[index];
        json_t *data = data_of(t, NULL);
        char err[512];
        json_t *items = eval_string(st->fan_out->items, data, err, sizeof(err));

        json_decref(data);
        if (!items) {
                step_fail(t, s, CAIRN_ERR_INVALID, err);
                return;
        }
        if (!json_is_array(items) || json_array_size(items) > t->env->max_fan_out) {
                snprintf(err, sizeof(err), "%s is %s%s, not a list of at most %u elements",
                         st->fan_out->items, json_is_array(items) ? "a list of " : "",
                         json_is_array(items) ? "too many elements" : cairn_json_kind(items),
                         t->env->max_fan_out);
                json_decref(items);
                step_fail(t, s, CAIRN_ERR_INVALID, err);
                return;
        }
        size_t n = json_array_size(items);

        json_decref(items);
        s->status = WS_RUNNING;
        s->started_ms = t->now_ms;
        event(t, EV(STEP_SCHEDULED), s->id, 0);
        /* adding may move the run's steps: s is not used past here */
        for (size_t k = 0; k < n; k++) {
                char id[96];

                snprintf(id, sizeof(id), "%s[%zu]", st->id, k);
                if (!wf_run_step(t->run, id))
                        wf_run_step_add(t->run, id);
        }
        if (n == 0)
                step_complete(t, wf_run_step(t->run, st->id), json_array());
}

/* Starts step @p index if it can: its predecessors finished, its condition. */
static void step_try_start(struct wf_tick *t, long index)
{
        const wf_step *st = t->def->steps[index];
        struct wf_step_state *s = wf_run_step(t->run, st->id);
        bool all_skipped;

        if (!s || s->status != WS_PENDING || !preds_state(t, index, &all_skipped))
                return;
        if (all_skipped) {
                step_skip(t, s);
                return;
        }
        if (st->when) {
                json_t *data = data_of(t, NULL);
                char err[512];
                int ok = wf_condition_eval(st->when, data, err, sizeof(err));

                json_decref(data);
                if (ok < 0) {
                        step_fail(t, s, CAIRN_ERR_INVALID, err);
                        return;
                }
                if (!ok) {
                        step_skip(t, s);
                        return;
                }
        }
        switch (st->kind_case) {
        case CAIRN__WORKFLOW__V1__STEP__KIND_CALL: {
                struct step_ref r = { index, -1, false, st->call };

                dispatch(t, s, &r);
                break;
        }
        case CAIRN__WORKFLOW__V1__STEP__KIND_SLEEP: {
                int64_t due = t->now_ms + duration_ms(st->sleep->duration);

                if (st->sleep->until && st->sleep->until[0]) {
                        json_t *data = data_of(t, NULL);
                        char err[512];
                        json_t *v = eval_string(st->sleep->until, data, err, sizeof(err));

                        json_decref(data);
                        due = v ? parse_until(v) : -1;
                        if (v && due < 0)
                                snprintf(err, sizeof(err), "until: %s is not an RFC 3339 time",
                                         st->sleep->until);
                        json_decref(v);
                        if (due < 0) {
                                step_fail(t, s, CAIRN_ERR_INVALID, err);
                                return;
                        }
                }
                s->status = WS_SLEEPING;
                s->started_ms = t->now_ms;
                s->due_ms = due > t->now_ms ? due : t->now_ms;
                event(t, EV(STEP_SCHEDULED), s->id, 0);
                break;
        }
        case CAIRN__WORKFLOW__V1__STEP__KIND_WAIT_SIGNAL: {
                int64_t timeout = duration_ms(st->wait_signal->timeout);

                s->status = WS_WAITING;
                s->started_ms = t->now_ms;
                s->due_ms = timeout > 0 ? t->now_ms + timeout : 0;
                event(t, EV(STEP_SCHEDULED), s->id, 0);
                take_signal(t, s, st->wait_signal->name);
                break;
        }
        case CAIRN__WORKFLOW__V1__STEP__KIND_FAN_OUT:
                fan_out_start(t, s, index);
                break;
        default:
                step_fail(t, s, CAIRN_ERR_INTERNAL, "step of no kind");
        }
}

/* A fan-out's elements: start what max_parallel allows, close the step
 * once all are done. */
static void fan_out_progress(struct wf_tick *t, long index)
{
        const wf_step *st = t->def->steps[index];
        struct wf_step_state *s = wf_run_step(t->run, st->id);
        uint32_t limit = st->fan_out->max_parallel ? st->fan_out->max_parallel
                                                   : t->env->fan_out_parallel;
        size_t plen = strlen(st->id), total = 0, done = 0, busy = 0;

        if (!s || s->status != WS_RUNNING)
                return;
        for (size_t i = 0; i < t->run->nsteps; i++) {
                const struct wf_step_state *e = &t->run->steps[i];

                if (strncmp(e->id, st->id, plen) != 0 || e->id[plen] != '[')
                        continue;
                total++;
                done += e->status == WS_COMPLETED || e->status == WS_SKIPPED;
                busy += e->status == WS_RUNNING || e->status == WS_BACKOFF;
        }
        for (size_t i = 0; i < t->run->nsteps && busy < limit; i++) {
                struct wf_step_state *e = &t->run->steps[i];
                struct step_ref r;

                if (strncmp(e->id, st->id, plen) != 0 || e->id[plen] != '[' ||
                    e->status != WS_PENDING || !step_ref(t, e->id, &r))
                        continue;
                if (st->fan_out->when) {
                        json_t *data = data_of(t, &r);
                        char err[512];
                        int ok = wf_condition_eval(st->fan_out->when, data, err, sizeof(err));

                        json_decref(data);
                        if (ok < 0) {
                                step_fail(t, e, CAIRN_ERR_INVALID, err);
                                return;
                        }
                        if (!ok) {
                                step_skip(t, e);
                                done++;
                                continue;
                        }
                }
                dispatch(t, e, &r);
                if (t->run->status != WF_RUNNING)
                        return;
                busy++;
        }
        if (total && done == total) {
                json_t *out = json_array();

                for (size_t k = 0; k < total; k++) {
                        char id[96];

                        snprintf(id, sizeof(id), "%s[%zu]", st->id, k);
                        const struct wf_step_state *e = wf_run_step(t->run, id);

                        json_array_append(out, e && e->output ? e->output : json_null());
                }
                step_complete(t, wf_run_step(t->run, st->id), out);
        }
}

/* ---- time ---- */

static void timers(struct wf_tick *t)
{
        for (size_t i = 0; i < t->run->nsteps && t->run->status == WF_RUNNING; i++) {
                struct wf_step_state *s = &t->run->steps[i];
                struct step_ref r;
                char msg[200];

                if (!s->due_ms || s->due_ms > t->now_ms || !step_ref(t, s->id, &r))
                        continue;
                switch (s->status) {
                case WS_RUNNING:
                        if (!r.call)
                                break;
                        snprintf(msg, sizeof(msg),
                                 "attempt %u got no reply within its timeout "
                                 "(start-to-close or schedule-to-close)",
                                 s->attempt);
                        attempt_failed(t, s, &r, CAIRN_ERR_DEADLINE, msg);
                        break;
                case WS_BACKOFF:
                        if (t->run->cancel_requested && !r.compensation) {
                                step_close(t, s, WS_CANCELLED);
                        } else if (r.call && schedule_to_close_passed(t, s, r.call)) {
                                /* looked at late: an attempt now would start expired */
                                snprintf(msg, sizeof(msg),
                                         "the schedule-to-close timeout passed before attempt %u",
                                         s->attempt + 1);
                                step_fail(t, s, CAIRN_ERR_DEADLINE, msg);
                        } else {
                                dispatch(t, s, &r);
                        }
                        break;
                case WS_SLEEPING:
                        step_complete(t, s, NULL);
                        break;
                case WS_WAITING:
                        snprintf(msg, sizeof(msg), "no signal \"%s\" within its timeout",
                                 t->def->steps[r.index]->wait_signal->name);
                        step_fail(t, s, CAIRN_ERR_DEADLINE, msg);
                        break;
                default:
                        break;
                }
                /* a dispatch or a failure may have grown or closed the run */
        }
}

/* ---- cancelling ---- */

/* A call of the run's own steps still waits for its reply. */
static bool normal_step_busy(const struct wf_run *run)
{
        for (size_t i = 0; i < run->nsteps; i++)
                if (run->steps[i].status == WS_RUNNING && run->steps[i].attempt &&
                    !strstr(run->steps[i].id, COMPENSATE))
                        return true;
        return false;
}

/* The compensations, newest completed step first, one at a time. */
static void compensate(struct wf_tick *t)
{
        struct wf_run *run = t->run;

        for (;;) {
                struct wf_step_state *best = NULL;
                char id[96];

                for (size_t i = 0; i < run->nsteps; i++) {
                        struct wf_step_state *s = &run->steps[i];
                        struct step_ref r;
                        struct wf_step_state *c;

                        /* steps and a fan-out's elements, each with its own */
                        if (s->status != WS_COMPLETED || strstr(s->id, COMPENSATE) ||
                            !step_ref(t, s->id, &r) || !r.call || !r.call->compensation)
                                continue;
                        snprintf(id, sizeof(id), "%s" COMPENSATE, s->id);
                        c = wf_run_step(run, id);
                        if (c && !wf_step_finished(c->status))
                                return; /* one in flight */
                        if (c)
                                continue;
                        if (!best || s->closed_ms > best->closed_ms ||
                            (s->closed_ms == best->closed_ms && s > best))
                                best = s;
                }
                if (!best)
                        break;
                snprintf(id, sizeof(id), "%s" COMPENSATE, best->id);
                struct wf_step_state *c = wf_run_step_add(run, id);
                struct step_ref r;

                if (step_ref(t, c->id, &r))
                        dispatch(t, c, &r);
                if (c->status == WS_RUNNING || c->status == WS_BACKOFF)
                        return;
        }
        run_close(t, WF_CANCELLED, EV(RUN_CANCELLED), CAIRN_ERR_CANCELLED, run->error);
}

void wf_engine_cancel(struct wf_tick *t, const char *reason)
{
        struct wf_run *run = t->run;

        if (run->status != WF_RUNNING || run->cancel_requested)
                return;
        run->cancel_requested = true;
        wf_run_fail_msg(run, CAIRN_ERR_CANCELLED, "cancelled%s%s", reason && reason[0] ? ": " : "",
                        reason && reason[0] ? reason : "");
        struct wf_event_out *e = event(t, EV(CANCEL_REQUESTED), NULL, 0);

        event_error(e, CAIRN_ERR_CANCELLED, run->error);
        for (size_t i = 0; i < run->nsteps; i++) {
                struct wf_step_state *s = &run->steps[i];

                if (s->status == WS_PENDING || s->status == WS_SLEEPING ||
                    s->status == WS_WAITING || s->status == WS_BACKOFF ||
                    (s->status == WS_RUNNING && !s->attempt))
                        step_close(t, s, WS_CANCELLED);
        }
        wf_engine_advance(t);
}

void wf_engine_terminate(struct wf_tick *t, const char *reason)
{
        char msg[600];

        snprintf(msg, sizeof(msg), "terminated%s%s", reason && reason[0] ? ": " : "",
                 reason && reason[0] ? reason : "");
        run_close(t, WF_TERMINATED, EV(RUN_TERMINATED), CAIRN_ERR_ABORTED, msg);
}

/* ---- the loop ---- */

static void finish_if_done(struct wf_tick *t)
{
        struct wf_run *run = t->run;

        for (size_t i = 0; i < run->nsteps; i++)
                if (run->steps[i].status != WS_COMPLETED && run->steps[i].status != WS_SKIPPED)
                        return;
        json_t *out;

        if (t->def->output) {
                json_t *tmpl = cairn_pbjson_to_json(&t->def->output->base, 0);
                json_t *data = data_of(t, NULL);
                char err[512];

                out = tmpl ? wf_template_eval(tmpl, data, err, sizeof(err)) : NULL;
                json_decref(tmpl);
                json_decref(data);
                if (!out) {
                        char *why;

                        if (asprintf(&why, "output: %s", err) < 0)
                                abort();
                        run_close(t, WF_FAILED, EV(RUN_FAILED), CAIRN_ERR_INVALID, why);
                        free(why);
                        return;
                }
        } else {
                out = json_object();
                for (size_t i = 0; i < run->nsteps; i++) {
                        const struct wf_step_state *s = &run->steps[i];

                        if (s->status == WS_COMPLETED && !strchr(s->id, '['))
                                json_object_set(out, s->id, s->output ? s->output : json_null());
                }
        }
        run->output = out;
        run_close(t, WF_COMPLETED, EV(RUN_COMPLETED), CAIRN_OK, NULL);
}

static void history_limit(struct wf_tick *t)
{
        char msg[160];

        if (t->run->status != WF_RUNNING || t->run->history_length < t->env->max_history)
                return;
        snprintf(msg, sizeof(msg),
                 "the history reached workflow.max_history_events (%u events); split the "
                 "work into smaller runs",
                 t->env->max_history);
        run_close(t, WF_FAILED, EV(RUN_FAILED), CAIRN_ERR_EXHAUSTED, msg);
}

static void wake(struct wf_tick *t)
{
        const struct wf_run *run = t->run;
        int64_t w = run->status == WF_RUNNING ? run->deadline_ms : 0;

        if (run->status == WF_RUNNING)
                for (size_t i = 0; i < run->nsteps; i++) {
                        int64_t d = run->steps[i].due_ms;

                        if (!wf_step_finished(run->steps[i].status) && d && (!w || d < w))
                                w = d;
                }
        t->wake_ms = w;
}

void wf_engine_advance(struct wf_tick *t)
{
        struct wf_run *run = t->run;
        size_t before;

        if (run->status == WF_RUNNING && run->deadline_ms && run->deadline_ms <= t->now_ms)
                run_close(t, WF_TIMED_OUT, EV(RUN_TIMED_OUT), CAIRN_ERR_DEADLINE,
                          "the run timeout passed");
        if (run->status == WF_RUNNING)
                timers(t);
        do {
                before = t->nevents;
                if (run->status != WF_RUNNING)
                        break;
                history_limit(t);
                if (run->status != WF_RUNNING)
                        break;
                if (run->cancel_requested) {
                        if (!normal_step_busy(run))
                                compensate(t);
                        break;
                }
                for (size_t k = 0; k < t->graph->n && run->status == WF_RUNNING; k++) {
                        long i = (long)t->graph->order[k];
                        const wf_step *st = t->def->steps[i];
                        struct wf_step_state *s = wf_run_step(run, st->id);

                        if (!s)
                                continue;
                        if (s->status == WS_PENDING)
                                step_try_start(t, i);
                        else if (s->status == WS_WAITING)
                                take_signal(t, s, st->wait_signal->name);
                        if (st->kind_case == CAIRN__WORKFLOW__V1__STEP__KIND_FAN_OUT)
                                fan_out_progress(t, i);
                }
                if (run->status == WF_RUNNING)
                        finish_if_done(t);
        } while (t->nevents != before);
        wake(t);
}

void wf_engine_start(struct wf_tick *t)
{
        struct wf_run *run = t->run;
        struct wf_event_out *e;

        for (size_t i = 0; i < t->def->n_steps; i++)
                if (!wf_run_step(run, t->def->steps[i]->id))
                        wf_run_step_add(run, t->def->steps[i]->id);
        e = event(t, EV(RUN_STARTED), NULL, 0);
        e->detail = json_incref(run->input);
        wf_engine_advance(t);
}

int wf_ce_id_parse(const char *ce_id, char *run_id, size_t run_id_size, char *step,
                   size_t step_size, uint32_t *attempt)
{
        const char *a = strchr(ce_id, '/'), *b = strrchr(ce_id, '/');
        char *end;

        /* digits only: strtoul alone takes " 1", "+1" and "-18446744073709551615" */
        if (!a || a == ce_id || a == b || (size_t)(a - ce_id) >= run_id_size ||
            (size_t)(b - a - 1) >= step_size || b == a + 1 || b[1] < '0' || b[1] > '9')
                return -1;
        unsigned long n = strtoul(b + 1, &end, 10);

        if (*end || n == 0 || n > UINT32_MAX)
                return -1;
        memcpy(run_id, ce_id, (size_t)(a - ce_id));
        run_id[a - ce_id] = '\0';
        memcpy(step, a + 1, (size_t)(b - a - 1));
        step[b - a - 1] = '\0';
        *attempt = (uint32_t)n;
        return 0;
}

void wf_tick_free(struct wf_tick *t)
{
        for (size_t i = 0; i < t->nevents; i++) {
                free(t->events[i].step);
                free(t->events[i].error);
                json_decref(t->events[i].detail);
        }
        free(t->events);
        for (size_t i = 0; i < t->ndispatches; i++) {
                free(t->dispatches[i].key);
                free(t->dispatches[i].ce_id);
                free(t->dispatches[i].payload);
        }
        free(t->dispatches);
        t->events = NULL;
        t->dispatches = NULL;
        t->nevents = t->ndispatches = t->events_cap = t->dispatches_cap = 0;
}

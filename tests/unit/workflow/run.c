/* Unit tests for a run's state (services/workflow/run.h): the JSON form
 * kept in workflow_runs.state word for word, its round trip back to the
 * same run, that it is cairn.workflow.v1.Run's proto3 JSON form once the
 * "x-" keys are dropped (and that this form, rendered again by libcairn,
 * still reads back), the damaged states refused, and the small helpers:
 * steps found and added, failure messages, status names. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pbjson.h"
#include "workflow/run.h"
#include "../unit.h"
#include "quoted_json.h"

#define T0 1700000000000LL /* 2023-11-14T22:13:20Z */

static struct wf_step_state *add(struct wf_run *run, const char *id, wf_step_status status,
                                 uint32_t attempt, int64_t started, int64_t closed, int64_t due)
{
        struct wf_step_state *s = wf_run_step_add(run, id);

        s->status = status;
        s->attempt = attempt;
        s->started_ms = started;
        s->closed_ms = closed;
        s->due_ms = due;
        return s;
}

/* A run with every field set and a step in every status. Its JSON values
 * hold no numbers, so it also survives google.protobuf.Value, whose
 * numbers are doubles. */
static void full_run(struct wf_run *run)
{
        struct wf_step_state *s;

        memset(run, 0, sizeof(*run));
        run->workflow_id = strdup("order-42");
        run->run_id = strdup("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        run->type = strdup("saga");
        run->tenant = strdup("acme");
        run->version = 3;
        run->status = WF_FAILED;
        run->input = J("{'text': 'hi', 'tags': ['a', 'b'], 'ok': true, 'none': null,"
                       " 'deep': {'x': {'y': 'z'}}}");
        run->output = J("{'partial': ['x']}");
        wf_run_fail_msg(run, CAIRN_ERR_UNAVAILABLE, "step %s failed: %s", "x", "down");
        run->started_ms = T0 + 123;
        run->closed_ms = T0 + 45678;
        run->deadline_ms = T0 + 3600000;
        run->cancel_requested = true;
        run->history_length = 17;
        s = add(run, "a", WS_COMPLETED, 2, T0 + 200, T0 + 3200, 0);
        s->output = J("{'translations': [{'text': 'hola'}]}");
        wf_step_fail_msg(s, CAIRN_ERR_UNAVAILABLE, "attempt %u: down", 1u); /* the last failure */
        add(run, "b", WS_PENDING, 0, 0, 0, 0);
        add(run, "fo", WS_RUNNING, 0, T0 + 300, 0, 0);
        s = add(run, "fo[0]", WS_BACKOFF, 1, T0 + 300, 0, T0 + 1300);
        wf_step_fail_msg(s, CAIRN_ERR_DEADLINE, "no reply");
        add(run, "fo[1]", WS_RUNNING, 4, T0 + 301, 0, T0 + 60301);
        add(run, "s", WS_SLEEPING, 0, T0 + 400, 0, T0 + 86400000);
        add(run, "w", WS_WAITING, 0, T0 + 500, 0, 0);
        s = add(run, "x", WS_FAILED, 1, T0 + 600, T0 + 700, 0);
        wf_step_fail_msg(s, CAIRN_ERR_INVALID, "${input.q}: input has no field \"q\"");
        add(run, "k", WS_SKIPPED, 0, 0, T0 + 800, 0);
        add(run, "a.compensate", WS_CANCELLED, 1, T0 + 900, T0 + 950, 0);
        s = add(run, "sig", WS_COMPLETED, 0, T0 + 1000, T0 + 1001, 0);
        s->output = json_null();
        s = add(run, "txt", WS_COMPLETED, 1, T0 + 1000, T0 + 1002, 0);
        s->output = json_string("just text");
}

/* The two runs are the same, field by field. */
static void ck_run_eq(const struct wf_run *a, const struct wf_run *b)
{
#define STR_EQ(x, y)                                                                       \
        ck_assert_msg((!(x) && !(y)) || ((x) && (y) && strcmp((x), (y)) == 0), "%s != %s", \
                      (x) ? (x) : "(null)", (y) ? (y) : "(null)")
#define JSON_EQ(x, y)                                                                     \
        ck_assert_msg((!(x) && !(y)) || ((x) && (y) && json_equal((x), (y))), "%s != %s", \
                      (x) ? text_of(x) : "(null)", (y) ? text_of(y) : "(null)")
        STR_EQ(a->workflow_id, b->workflow_id);
        STR_EQ(a->run_id, b->run_id);
        STR_EQ(a->type, b->type);
        STR_EQ(a->tenant, b->tenant);
        ck_assert_uint_eq(a->version, b->version);
        ck_assert_int_eq(a->status, b->status);
        JSON_EQ(a->input, b->input);
        JSON_EQ(a->output, b->output);
        ck_assert_int_eq(a->err, b->err);
        STR_EQ(a->error, b->error);
        ck_assert_int_eq(a->started_ms, b->started_ms);
        ck_assert_int_eq(a->closed_ms, b->closed_ms);
        ck_assert_int_eq(a->deadline_ms, b->deadline_ms);
        ck_assert_int_eq(a->cancel_requested, b->cancel_requested);
        ck_assert_uint_eq(a->history_length, b->history_length);
        ck_assert_uint_eq(a->nsteps, b->nsteps);
        for (size_t i = 0; i < a->nsteps; i++) {
                const struct wf_step_state *x = &a->steps[i], *y = &b->steps[i];

                STR_EQ(x->id, y->id);
                ck_assert_msg(x->status == y->status, "%s: status %d != %d", x->id, x->status,
                              y->status);
                ck_assert_uint_eq(x->attempt, y->attempt);
                ck_assert_int_eq(x->started_ms, y->started_ms);
                ck_assert_int_eq(x->closed_ms, y->closed_ms);
                ck_assert_int_eq(x->due_ms, y->due_ms);
                JSON_EQ(x->output, y->output);
                ck_assert_int_eq(x->err, y->err);
                STR_EQ(x->error, y->error);
        }
#undef STR_EQ
#undef JSON_EQ
}

/* @p state without its "x-" keys (a new reference). */
static json_t *without_x(const json_t *state)
{
        json_t *o = json_deep_copy(state);
        const char *k;
        json_t *v;
        void *tmp;

        json_object_foreach_safe(o, tmp, k, v) {
                if (strncmp(k, "x-", 2) == 0)
                        json_object_del(o, k);
        }
        return o;
}

/* ---- the JSON form ---- */

START_TEST(test_wf_run_to_json_form)
{
        struct wf_run run = { 0 };
        struct wf_step_state *s;
        json_t *j;

        run.workflow_id = strdup("wf");
        run.run_id = strdup("r");
        run.type = strdup("t");
        run.tenant = strdup("acme");
        run.version = 1;
        run.status = WF_RUNNING;
        run.input = J("{'n': 1}");
        run.started_ms = T0;
        run.deadline_ms = T0 + 60000;
        run.history_length = 2;
        add(&run, "a", WS_RUNNING, 1, T0, 0, T0 + 60000);
        add(&run, "b", WS_PENDING, 0, 0, 0, 0);
        j = wf_run_to_json(&run);
        ck_assert_str_eq(text_of(j),
                         norm("{'workflowId': 'wf', 'runId': 'r', 'type': 't', 'version': 1,"
                              " 'status': 'RUN_STATUS_RUNNING', 'input': {'n': 1},"
                              " 'startedAt': '2023-11-14T22:13:20.000Z', 'historyLength': 2,"
                              " 'steps': [{'id': 'a', 'status': 'STEP_STATUS_RUNNING',"
                              "  'attempt': 1, 'startedAt': '2023-11-14T22:13:20.000Z',"
                              "  'dueAt': '2023-11-14T22:14:20.000Z'},"
                              " {'id': 'b', 'status': 'STEP_STATUS_PENDING'}],"
                              " 'x-deadline': 1700000060000, 'x-tenant': 'acme'}"));
        json_decref(j);

        /* closed, with its output and error, a step with its own */
        run.status = WF_COMPLETED;
        run.output = J("[1, 'two']");
        run.closed_ms = T0 + 1500;
        run.cancel_requested = true;
        wf_run_fail_msg(&run, CAIRN_OK, "with a message but no code");
        run.deadline_ms = 0;
        free(run.tenant);
        run.tenant = NULL;
        s = &run.steps[0];
        s->status = WS_COMPLETED;
        s->closed_ms = T0 + 1500;
        s->due_ms = 0;
        s->output = J("{'ok': true}");
        wf_step_fail_msg(s, CAIRN_ERR_UNAVAILABLE, "earlier attempt");
        j = wf_run_to_json(&run);
        ck_assert_str_eq(text_of(j),
                         norm("{'workflowId': 'wf', 'runId': 'r', 'type': 't', 'version': 1,"
                              " 'status': 'RUN_STATUS_COMPLETED', 'input': {'n': 1},"
                              " 'output': [1, 'two'],"
                              " 'error': {'code': 0, 'message': 'with a message but no code'},"
                              " 'startedAt': '2023-11-14T22:13:20.000Z',"
                              " 'closedAt': '2023-11-14T22:13:21.500Z', 'cancelRequested': true,"
                              " 'historyLength': 2,"
                              " 'steps': [{'id': 'a', 'status': 'STEP_STATUS_COMPLETED',"
                              "  'attempt': 1, 'startedAt': '2023-11-14T22:13:20.000Z',"
                              "  'closedAt': '2023-11-14T22:13:21.500Z', 'output': {'ok': true},"
                              "  'error': {'code': 14, 'message': 'earlier attempt'}},"
                              " {'id': 'b', 'status': 'STEP_STATUS_PENDING'}]}"));
        json_decref(j);

        /* no input yet: an empty object, as the Struct it stands for */
        json_decref(run.input);
        run.input = NULL;
        j = wf_run_to_json(&run);
        ck_assert_str_eq(text_of(json_object_get(j, "input")), "{}");
        json_decref(j);
        wf_run_free(&run);
}
END_TEST

START_TEST(test_wf_run_json_round_trip)
{
        struct wf_run run, back = { 0 }, again = { 0 };
        json_t *j, *j2;

        full_run(&run);
        j = wf_run_to_json(&run);
        ck_assert_int_eq(wf_run_from_json(&back, j), 0);
        ck_run_eq(&run, &back);
        /* and its JSON again is the same text */
        j2 = wf_run_to_json(&back);
        ck_assert_str_eq(text_of(j2), text_of(j));
        /* loaded from text, as the store reads the row */
        char *text = json_dumps(j, JSON_COMPACT);
        json_t *parsed = json_loads(text, 0, NULL);

        ck_assert_int_eq(wf_run_from_json(&again, parsed), 0);
        ck_run_eq(&run, &again);
        free(text);
        json_decref(parsed);
        json_decref(j);
        json_decref(j2);
        wf_run_free(&run);
        wf_run_free(&back);
        wf_run_free(&again);
}
END_TEST

START_TEST(test_wf_run_json_round_trip_keeps_numbers_and_edges)
{
        struct wf_run run = { 0 }, back = { 0 };
        json_t *j;

        run.workflow_id = strdup("w");
        run.run_id = strdup("r");
        run.type = strdup("t");
        run.status = WF_TIMED_OUT;
        run.input = J("{'int': 9007199254740993, 'real': 1.5, 'neg': -3, 'zero': 0.0}");
        run.output = J("null");
        run.err = CAIRN_ERR_DEADLINE; /* a code without a message */
        run.history_length = UINT32_MAX;
        run.version = UINT32_MAX;
        run.started_ms = 1;                /* 1 ms after the epoch */
        run.closed_ms = 253402300799999LL; /* 9999-12-31T23:59:59.999Z */
        add(&run, "n", WS_COMPLETED, UINT32_MAX, 0, 0, 0)->output = J("[1, 2.25, -0.5]");
        j = wf_run_to_json(&run);
        ck_assert_ptr_null(json_object_get(j, "x-tenant"));
        ck_assert_ptr_null(json_object_get(j, "x-deadline"));
        ck_assert_str_eq(json_string_value(json_object_get(j, "closedAt")),
                         "9999-12-31T23:59:59.999Z");
        ck_assert_int_eq(wf_run_from_json(&back, j), 0);
        /* an error code without a message reads back with an empty one */
        ck_assert_int_eq(back.err, CAIRN_ERR_DEADLINE);
        ck_assert_str_eq(back.error, "");
        free(back.error);
        back.error = NULL;
        ck_run_eq(&run, &back);
        ck_assert(json_is_integer(json_object_get(back.input, "int")));
        ck_assert_int_eq(json_integer_value(json_object_get(back.input, "int")),
                         9007199254740993LL);
        json_decref(j);
        wf_run_free(&run);
        wf_run_free(&back);
}
END_TEST

START_TEST(test_wf_run_json_is_a_run_message)
{
        struct wf_run run, back = { 0 };
        struct cairn_pbjson_error perr = { 0 };
        ProtobufCMessage *m = NULL;
        const Cairn__Workflow__V1__Run *msg;
        json_t *state, *plain, *rendered;

        full_run(&run);
        state = wf_run_to_json(&run);
        plain = without_x(state);
        ck_assert_msg(cairn_pbjson_from_json(&cairn__workflow__v1__run__descriptor, plain, &m,
                                             &perr) == CAIRN_OK,
                      "%s: %s", perr.field, perr.message);
        msg = (const Cairn__Workflow__V1__Run *)m;
        ck_assert_str_eq(msg->workflow_id, "order-42");
        ck_assert_str_eq(msg->run_id, run.run_id);
        ck_assert_str_eq(msg->type, "saga");
        ck_assert_uint_eq(msg->version, 3);
        ck_assert_int_eq(msg->status, CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_FAILED);
        ck_assert_ptr_nonnull(msg->input);
        ck_assert_uint_eq(msg->input->n_fields, 5);
        ck_assert_ptr_nonnull(msg->output);
        ck_assert_int_eq(msg->error->code, CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(msg->error->message, "step x failed: down");
        ck_assert_int_eq(msg->started_at->seconds, T0 / 1000);
        ck_assert_int_eq(msg->started_at->nanos, 123000000);
        ck_assert_int_eq(msg->closed_at->seconds, (T0 + 45678) / 1000);
        ck_assert(msg->cancel_requested);
        ck_assert_uint_eq(msg->history_length, 17);
        ck_assert_uint_eq(msg->n_steps, run.nsteps);
        for (size_t i = 0; i < run.nsteps; i++) {
                const Cairn__Workflow__V1__StepState *s = msg->steps[i];

                ck_assert_str_eq(s->id, run.steps[i].id);
                ck_assert_int_eq((int)s->status, (int)run.steps[i].status);
                ck_assert_uint_eq(s->attempt, run.steps[i].attempt);
                ck_assert_int_eq(s->due_at ? s->due_at->seconds * 1000 + s->due_at->nanos / 1000000
                                           : 0,
                                 run.steps[i].due_ms);
                ck_assert_int_eq(s->error ? s->error->code : 0, run.steps[i].err);
        }
        ck_assert_int_eq(msg->steps[3]->due_at->seconds, (T0 + 1300) / 1000);
        ck_assert_str_eq(msg->steps[7]->error->message, "${input.q}: input has no field \"q\"");

        /* the message rendered by libcairn with its defaults (a PENDING
         * step's status; timestamps without their .000), with the x- keys
         * put back, reads back as the same run */
        rendered = cairn_pbjson_to_json(m, CAIRN_PBJSON_EMIT_DEFAULTS);
        ck_assert_ptr_nonnull(rendered);
        json_object_set(rendered, "x-deadline", json_object_get(state, "x-deadline"));
        json_object_set(rendered, "x-tenant", json_object_get(state, "x-tenant"));
        ck_assert_int_eq(wf_run_from_json(&back, rendered), 0);
        ck_run_eq(&run, &back);

        protobuf_c_message_free_unpacked(m, NULL);
        json_decref(rendered);
        json_decref(plain);
        json_decref(state);
        wf_run_free(&run);
        wf_run_free(&back);
}
END_TEST

/* ---- damaged states ---- */

START_TEST(test_wf_run_from_json_refuses_damaged_states)
{
        static const char *const bad[] = {
                "[]",
                "'RUN_STATUS_RUNNING'",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'steps': []}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 1, 'steps': []}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING'}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING',"
                " 'steps': {}}",
                "{'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING', 'steps': []}",
                "{'workflowId': 'w', 'type': 't', 'status': 'RUN_STATUS_RUNNING', 'steps': []}",
                "{'workflowId': 'w', 'runId': 'r', 'status': 'RUN_STATUS_RUNNING', 'steps': []}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUNNING', 'steps': []}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_UNSPECIFIED',"
                " 'steps': []}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING',"
                " 'steps': [{'id': 'a', 'status': 'STEP_STATUS_PENDING'}, 'b']}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING',"
                " 'steps': [{'id': 'a', 'status': 'STEP_STATUS_PENDING', 'output': [1]},"
                " {'status': 'STEP_STATUS_PENDING'}]}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING',"
                " 'steps': [{'id': 'a'}]}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING',"
                " 'steps': [{'id': 'a', 'status': 'STEP_STATUS_LOST'}]}",
                "{'workflowId': 'w', 'runId': 'r', 'type': 't', 'status': 'RUN_STATUS_RUNNING',"
                " 'input': {'x': 1}, 'error': {'code': 3, 'message': 'm'},"
                " 'steps': [{'id': 'a', 'status': 'STEP_STATUS_PENDING'}, {'id': 'b', 'status': 5}]}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct wf_run run = { 0 };
                json_t *j = J(bad[i]);

                ck_assert_msg(wf_run_from_json(&run, j) == -1, "accepted: %s", bad[i]);
                /* nothing left to free: the run is empty again */
                ck_assert_msg(!run.workflow_id && !run.run_id && !run.type && !run.input &&
                                      !run.error && !run.steps && run.nsteps == 0,
                              "left filled: %s", bad[i]);
                json_decref(j);
        }

        /* the least a state can be */
        struct wf_run run = { 0 };
        json_t *j = J("{'workflowId': 'w', 'runId': 'r', 'type': 't',"
                      " 'status': 'RUN_STATUS_CANCELLED', 'steps': []}");

        ck_assert_int_eq(wf_run_from_json(&run, j), 0);
        ck_assert_int_eq(run.status, WF_CANCELLED);
        /* no input: an empty one, as wf_run_to_json writes it */
        ck_assert_str_eq(text_of(run.input), "{}");
        ck_assert_ptr_null(run.tenant);
        ck_assert_uint_eq(run.nsteps, 0);
        json_decref(j);
        wf_run_free(&run);
}
END_TEST

/* ---- helpers ---- */

START_TEST(test_wf_run_step_add_and_find)
{
        struct wf_run run = { 0 };
        char id[16];

        for (int i = 0; i < 40; i++) {
                snprintf(id, sizeof(id), "s%d", i);
                struct wf_step_state *s = wf_run_step_add(&run, id);

                ck_assert_str_eq(s->id, id);
                ck_assert_ptr_ne(s->id, id); /* copied */
                ck_assert_int_eq(s->status, WS_PENDING);
                ck_assert_uint_eq(s->attempt, 0);
                ck_assert_ptr_null(s->output);
                ck_assert_ptr_null(s->error);
                s->attempt = (uint32_t)i;
        }
        ck_assert_uint_eq(run.nsteps, 40);
        for (int i = 0; i < 40; i++) {
                snprintf(id, sizeof(id), "s%d", i);
                ck_assert_ptr_eq(wf_run_step(&run, id), &run.steps[i]);
                ck_assert_uint_eq(wf_run_step(&run, id)->attempt, (uint32_t)i);
        }
        ck_assert_ptr_null(wf_run_step(&run, "s40"));
        ck_assert_ptr_null(wf_run_step(&run, "s"));
        ck_assert_ptr_null(wf_run_step(&run, ""));
        wf_run_free(&run);
        ck_assert_uint_eq(run.nsteps, 0);
        ck_assert_ptr_null(run.steps);
        wf_run_free(&run); /* twice: nothing left */
        wf_run_free(NULL);
}
END_TEST

START_TEST(test_wf_fail_msg_replaces_the_message)
{
        struct wf_run run = { 0 };
        struct wf_step_state *s = wf_run_step_add(&run, "a");

        wf_step_fail_msg(s, CAIRN_ERR_UNAVAILABLE, "attempt %u: %s", 1u, "down");
        ck_assert_int_eq(s->err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(s->error, "attempt 1: down");
        wf_step_fail_msg(s, CAIRN_ERR_DEADLINE, "%s", "late");
        ck_assert_int_eq(s->err, CAIRN_ERR_DEADLINE);
        ck_assert_str_eq(s->error, "late");
        wf_run_fail_msg(&run, CAIRN_ERR_CANCELLED, "cancelled: %s", "why");
        ck_assert_str_eq(run.error, "cancelled: why");
        /* its own message as the argument */
        wf_run_fail_msg(&run, CAIRN_ERR_CANCELLED, "%s", run.error);
        ck_assert_str_eq(run.error, "cancelled: why");
        wf_run_fail_msg(&run, CAIRN_ERR_ABORTED, "terminated");
        ck_assert_int_eq(run.err, CAIRN_ERR_ABORTED);
        ck_assert_str_eq(run.error, "terminated");
        wf_run_free(&run);
}
END_TEST

START_TEST(test_wf_run_status_names)
{
        static const struct {
                wf_run_status status;
                const char *name;
        } names[] = {
                { WF_RUNNING, "RUNNING" },       { WF_COMPLETED, "COMPLETED" },
                { WF_FAILED, "FAILED" },         { WF_CANCELLED, "CANCELLED" },
                { WF_TERMINATED, "TERMINATED" }, { WF_TIMED_OUT, "TIMED_OUT" },
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                ck_assert_str_eq(wf_run_status_name(names[i].status), names[i].name);
                ck_assert_int_eq(wf_run_status_parse(names[i].name), names[i].status);
        }
        ck_assert_str_eq(wf_run_status_name((wf_run_status)0), "UNSPECIFIED");
        ck_assert_str_eq(wf_run_status_name((wf_run_status)99), "");
        ck_assert_int_eq(wf_run_status_parse("UNSPECIFIED"), 0);
        ck_assert_int_eq(wf_run_status_parse("running"), 0);
        ck_assert_int_eq(wf_run_status_parse("RUN_STATUS_RUNNING"), 0);
        ck_assert_int_eq(wf_run_status_parse(""), 0);
}
END_TEST

START_TEST(test_wf_step_finished)
{
        ck_assert(!wf_step_finished(WS_PENDING));
        ck_assert(!wf_step_finished(WS_RUNNING));
        ck_assert(!wf_step_finished(WS_BACKOFF));
        ck_assert(!wf_step_finished(WS_SLEEPING));
        ck_assert(!wf_step_finished(WS_WAITING));
        ck_assert(wf_step_finished(WS_COMPLETED));
        ck_assert(wf_step_finished(WS_FAILED));
        ck_assert(wf_step_finished(WS_SKIPPED));
        ck_assert(wf_step_finished(WS_CANCELLED));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_run");
        TCase *tc;

        tc = tcase_create("json");
        tcase_add_test(tc, test_wf_run_to_json_form);
        tcase_add_test(tc, test_wf_run_json_round_trip);
        tcase_add_test(tc, test_wf_run_json_round_trip_keeps_numbers_and_edges);
        tcase_add_test(tc, test_wf_run_json_is_a_run_message);
        tcase_add_test(tc, test_wf_run_from_json_refuses_damaged_states);
        suite_add_tcase(s, tc);
        tc = tcase_create("helpers");
        tcase_add_test(tc, test_wf_run_step_add_and_find);
        tcase_add_test(tc, test_wf_fail_msg_replaces_the_message);
        tcase_add_test(tc, test_wf_run_status_names);
        tcase_add_test(tc, test_wf_step_finished);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

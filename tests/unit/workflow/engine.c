/* Unit tests for the workflow engine (services/workflow/engine.h), driven
 * as the service drives it but with a clock of the test's own: a
 * definition parsed from its JSON form and checked, a run made by hand,
 * then start, replies, advances at chosen times, signals, cancel and
 * terminate. Each move is checked by what it wrote: the history events
 * (type, sequence, step, attempt, error), the dispatches (topic, key,
 * ce_id, deadline, and the request decoded back with its templated
 * values), the steps' statuses, the wake time and the run's end. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pb_registry.h"
#include "cairn/pbjson.h"
#include "workflow/engine.h"
#include "../unit.h"
#include "quoted_json.h"

#define T0 1700000000000LL /* 2023-11-14T22:13:20Z */

static const struct wf_target targets[] = {
        { "translation", "t.tr" },
        { "memory", "t.mem" },
};

static const struct wf_def_env defs = {
        .targets = targets,
        .ntargets = 2,
        .max_steps = 20,
        .max_duration_ms = 30LL * 86400000,
};

static const struct wf_def_env no_targets = { .max_steps = 20 };

static const struct wf_engine_env default_env = {
        .defs = &defs,
        .default_start_to_close_ms = 60000,
        .max_history = 1000,
        .max_payload_bytes = 1024,
        .max_fan_out = 5,
        .fan_out_parallel = 3,
};

/* The fixture: one definition, its graph, one run, the current tick. */
static struct wf_engine_env env;
static wf_definition *def;
static struct wf_graph graph;
static struct wf_run run;
static struct wf_tick t;
static int64_t now;
static struct wf_signal signals[4];
static json_t *payloads[4];
static size_t nsignals;

/* ---- the fixture ---- */

/* Frees the fixture's run, definition, tick and signals (the environment
 * stays as the test set it). */
static void reset(void)
{
        wf_tick_free(&t);
        memset(&t, 0, sizeof(t));
        wf_run_free(&run);
        if (def) {
                wf_graph_free(&graph);
                protobuf_c_message_free_unpacked(&def->base, NULL);
                def = NULL;
        }
        for (size_t i = 0; i < nsignals; i++)
                json_decref(payloads[i]);
        memset(signals, 0, sizeof(signals));
        nsignals = 0;
        now = T0;
}

static void setup(void)
{
        env = default_env;
        memset(&run, 0, sizeof(run));
        memset(&t, 0, sizeof(t));
        def = NULL;
        nsignals = 0;
        now = T0;
}

static void teardown(void)
{
        reset();
}

/* Parses @p def_json, builds its graph and a RUNNING run of it over
 * @p input; @p checked: wf_definition_check must accept it first. */
static void load_def(const char *def_json, const char *input, bool checked)
{
        char *copy = dq(def_json);
        struct cairn_pbjson_error perr = { 0 };
        ProtobufCMessage *m = NULL;
        struct cairn_status st = { 0 };

        reset();
        ck_assert_msg(cairn_pbjson_parse(&cairn__workflow__v1__workflow_definition__descriptor,
                                         copy, strlen(copy), 64, &m, &perr) == CAIRN_OK,
                      "%s: %s: %s", copy, perr.field, perr.message);
        free(copy);
        def = (wf_definition *)m;
        if (checked)
                ck_assert_msg(wf_definition_check(def, &defs, &st) == CAIRN_OK, "%s: %s", st.field,
                              st.message);
        ck_assert_int_eq(wf_graph_build(&graph, def), 0);
        run.workflow_id = strdup("wf-1");
        run.run_id = strdup("r1");
        run.type = strdup(def->type);
        run.tenant = strdup("acme");
        run.version = 1;
        run.status = WF_RUNNING;
        run.input = J(input);
        run.started_ms = T0;
}

static void load(const char *def_json, const char *input)
{
        load_def(def_json, input, true);
}

/* A fresh tick at the current time. */
static void tick(void)
{
        wf_tick_free(&t);
        memset(&t, 0, sizeof(t));
        t.env = &env;
        t.def = def;
        t.graph = &graph;
        t.run = &run;
        t.now_ms = now;
        t.signals = signals;
        t.nsignals = nsignals;
}

static void start(void)
{
        tick();
        wf_engine_start(&t);
}

/* At T0 + @p ms: whatever is due. */
static void at(int64_t ms)
{
        now = T0 + ms;
        tick();
        wf_engine_advance(&t);
}

static void reply_at(int64_t ms, const char *step, uint32_t attempt, const char *output)
{
        json_t *o = output ? J(output) : NULL;

        now = T0 + ms;
        tick();
        wf_engine_reply(&t, step, attempt, CAIRN_OK, NULL, o);
        json_decref(o);
}

static void fail_at(int64_t ms, const char *step, uint32_t attempt, cairn_err_t err,
                    const char *message)
{
        now = T0 + ms;
        tick();
        wf_engine_reply(&t, step, attempt, err, message, NULL);
}

/* Buffers a signal for the run (the next ticks see it). */
static void signal_add(const char *name, const char *payload)
{
        ck_assert_uint_lt(nsignals, 4);
        payloads[nsignals] = J(payload);
        signals[nsignals] = (struct wf_signal){ .seq = (int64_t)nsignals + 1,
                                                .name = name,
                                                .payload = payloads[nsignals] };
        nsignals++;
}

/* The run saved to its JSON form and loaded back, as the store does
 * between two ticks. */
static void reload(void)
{
        json_t *state = wf_run_to_json(&run);

        wf_run_free(&run);
        ck_assert_int_eq(wf_run_from_json(&run, state), 0);
        json_decref(state);
}

/* ---- what a tick wrote, as text ---- */

static const char *event_name(Cairn__Workflow__V1__EventType type)
{
        const ProtobufCEnumValue *v =
                protobuf_c_enum_descriptor_get_value(&cairn__workflow__v1__event_type__descriptor,
                                                     (int)type);

        return v ? v->name + strlen("EVENT_TYPE_") : "?";
}

/* The tick's events: "RUN_STARTED, STEP_SCHEDULED a 1"; checks on the way
 * that they follow the run's history one by one, at the tick's time. */
static const char *events(void)
{
        static char buf[4096];
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < t.nevents; i++) {
                const struct wf_event_out *e = &t.events[i];

                ck_assert_uint_eq(e->seq, run.history_length - t.nevents + i + 1);
                ck_assert_int_eq(e->time_ms, t.now_ms);
                if (e->step)
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s %s %u",
                                                i ? ", " : "", event_name(e->type), e->step,
                                                e->attempt);
                else
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ", " : "",
                                                event_name(e->type));
                ck_assert_uint_lt(len, sizeof(buf));
        }
        return buf;
}

/* The last event of type @p type in this tick. */
static const struct wf_event_out *event_of(Cairn__Workflow__V1__EventType type)
{
        for (size_t i = t.nevents; i-- > 0;)
                if (t.events[i].type == type)
                        return &t.events[i];
        ck_abort_msg("no %s event in: %s", event_name(type), events());
        return NULL;
}

#define EV(x) CAIRN__WORKFLOW__V1__EVENT_TYPE__EVENT_TYPE_##x

/* The run's steps: "a=COMPLETED b=RUNNING". */
static const char *steps(void)
{
        static char buf[2048];
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < run.nsteps; i++) {
                const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
                        &cairn__workflow__v1__step_status__descriptor, (int)run.steps[i].status);

                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s=%s", i ? " " : "",
                                        run.steps[i].id,
                                        v ? v->name + strlen("STEP_STATUS_") : "?");
                ck_assert_uint_lt(len, sizeof(buf));
        }
        return buf;
}

/* The tick's dispatches: "t.tr acme r1/a/1 +60000" (topic, key, ce_id, the
 * deadline from now). */
static const char *dispatches(void)
{
        static char buf[2048];
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < t.ndispatches; i++) {
                const struct wf_dispatch *d = &t.dispatches[i];

                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s %s %s %+lld",
                                        i ? ", " : "", d->topic, d->key, d->ce_id,
                                        (long long)(d->deadline_ms - t.now_ms));
                ck_assert_uint_lt(len, sizeof(buf));
        }
        return buf;
}

/* Dispatch @p i's payload decoded as its ce_type, in JSON form. */
static const char *request(size_t i)
{
        ck_assert_uint_lt(i, t.ndispatches);
        const struct wf_dispatch *d = &t.dispatches[i];
        const ProtobufCMessageDescriptor *desc = cairn_pb_message_find(d->ce_type);

        ck_assert_msg(desc != NULL, "ce_type %s", d->ce_type);
        ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, d->len, d->payload);

        ck_assert_msg(m != NULL, "%s does not decode as %s", d->ce_id, d->ce_type);
        json_t *j = cairn_pbjson_to_json(m, 0);
        const char *s = text_of(j);

        json_decref(j);
        protobuf_c_message_free_unpacked(m, NULL);
        return s;
}

#define ck_request_eq(i, expected) ck_assert_str_eq(request(i), norm(expected))

static struct wf_step_state *step(const char *id)
{
        struct wf_step_state *s = wf_run_step(&run, id);

        ck_assert_msg(s != NULL, "no step %s in %s", id, steps());
        return s;
}

/* Nothing happened in this tick. */
static void ck_unchanged(void)
{
        ck_assert_msg(!t.changed && t.nevents == 0 && t.ndispatches == 0,
                      "changed %d, events: %s, dispatches: %s", t.changed, events(), dispatches());
}

/* ---- definitions ---- */

#define TR(extra, text, target)                                                                    \
        "'call': {'service': 'translation', 'type': 'cairn.translation.v1.TranslateRequest'" extra \
        ", 'request': {'texts': ['" text "'], 'target': '" target "'}}"

/* A one-step definition whose call has @p extra (", 'retry': {...}"). */
#define ONE(extra) "{'type': 'one', 'steps': [{'id': 'a', " TR(extra, "${input.text}", "es") "}]}"

#define HOLA  "{'translations': [{'text': 'hola'}]}"
#define INPUT "{'text': 'hello', 'user': 'u1', 'n': 3}"

/* ---- a chain ---- */

#define CHAIN                                                                                             \
        "{'type': 'chain', 'steps': ["                                                                    \
        " {'id': 'a', " TR(                                                                               \
                "", "${input.text}",                                                                      \
                "es") "},"                                                                                \
                      " {'id': 'b', 'after': ['a'], 'call': {'service': 'translation',"                   \
                      "  'type': 'cairn.translation.v1.TranslateRequest', 'startToCloseTimeout': '5s',"   \
                      "  'request': {'texts': ['${steps.a.output.translations[0].text}'],"                \
                      "   'source': 'es', 'target': 'fr'}}},"                                             \
                      " {'id': 'c', 'after': ['b'], 'call': {'service': 'memory',"                        \
                      "  'type': 'cairn.memory.v1.StoreRequest', 'key': '${run.tenant}/${input.user}',"   \
                      "  'request': {'userId': '${input.user}',"                                          \
                      "   'content': '${steps.b.output.translations[0].text} (${run.workflow_id})',"      \
                      "   'metadata': {'run': '${run.run_id}', 'n': '${input.n}', 'type': '${run.type}'," \
                      "    'all': '${input}'}}}}],"                                                       \
                      " 'output': {'text': '${steps.b.output.translations[0].text}',"                     \
                      "  'id': '${steps.c.output.results[0].memory.id}', 'literal': '$${input.text}'}}"

START_TEST(test_engine_runs_a_chain)
{
        load(CHAIN, INPUT);
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED a 1");
        ck_json_eq(t.events[0].detail, INPUT);
        ck_assert_str_eq(steps(), "a=RUNNING b=PENDING c=PENDING");
        ck_assert_str_eq(dispatches(), "t.tr acme r1/a/1 +60000");
        ck_assert_str_eq(t.dispatches[0].ce_type, "cairn.translation.v1.TranslateRequest");
        ck_request_eq(0, "{'texts': ['hello'], 'target': 'es'}");
        ck_assert_int_eq(t.wake_ms, T0 + 60000);
        ck_assert(t.changed);
        ck_assert_int_eq(step("a")->attempt, 1);
        ck_assert_int_eq(step("a")->started_ms, T0);
        ck_assert_int_eq(step("a")->due_ms, T0 + 60000);

        /* nothing is due before the reply */
        at(30000);
        ck_unchanged();
        ck_assert_int_eq(t.wake_ms, T0 + 60000);

        reply_at(40000, "a", 1, "{'translations': [{'index': 0, 'text': 'hola'}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED a 1, STEP_SCHEDULED b 1");
        ck_json_eq(t.events[0].detail, "{'translations': [{'index': 0, 'text': 'hola'}]}");
        ck_json_eq(step("a")->output, "{'translations': [{'index': 0, 'text': 'hola'}]}");
        ck_assert_int_eq(step("a")->closed_ms, T0 + 40000);
        ck_assert_int_eq(step("a")->due_ms, 0);
        ck_assert_str_eq(dispatches(), "t.tr acme r1/b/1 +5000");
        ck_request_eq(0, "{'texts': ['hola'], 'source': 'es', 'target': 'fr'}");
        ck_assert_int_eq(t.wake_ms, T0 + 45000);

        reply_at(41000, "b", 1, "{'translations': [{'text': 'salut'}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED b 1, STEP_SCHEDULED c 1");
        ck_assert_str_eq(dispatches(), "t.mem acme/u1 r1/c/1 +60000");
        ck_assert_str_eq(t.dispatches[0].ce_type, "cairn.memory.v1.StoreRequest");
        /* a whole reference keeps its type (a Struct's numbers are doubles),
         * text around references makes text */
        ck_request_eq(0, "{'userId': 'u1', 'content': 'salut (wf-1)', 'metadata': {'run': 'r1',"
                         " 'n': 3.0, 'type': 'chain', 'all': {'text': 'hello', 'user': 'u1',"
                         " 'n': 3.0}}}");

        reply_at(42000, "c", 1, "{'results': [{'memory': {'id': 'm1'}}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED c 1, RUN_COMPLETED");
        ck_assert_str_eq(steps(), "a=COMPLETED b=COMPLETED c=COMPLETED");
        ck_assert_int_eq(run.status, WF_COMPLETED);
        ck_json_eq(run.output, "{'text': 'salut', 'id': 'm1', 'literal': '${input.text}'}");
        ck_json_eq(t.events[1].detail, "{'text': 'salut', 'id': 'm1', 'literal': '${input.text}'}");
        ck_assert_int_eq(run.closed_ms, T0 + 42000);
        ck_assert_int_eq(run.err, CAIRN_OK);
        ck_assert_ptr_null(run.error);
        ck_assert_int_eq(t.wake_ms, 0);
        ck_assert_uint_eq(run.history_length, 8);

        /* a closed run stays closed */
        at(100000);
        ck_unchanged();
        ck_assert_int_eq(t.wake_ms, 0);
        reply_at(100000, "c", 1, "{}");
        ck_unchanged();
}
END_TEST

/* ---- branches and joins ---- */

START_TEST(test_engine_runs_parallel_branches_and_joins_them)
{
        load("{'type': 'par', 'steps': ["
             " {'id': 'a', " TR(
                     "", "${input.text}",
                     "es") "},"
                           " {'id': 'b', " TR(
                                   "", "${input.text}",
                                   "fr") "},"
                                         " {'id': 'j', 'after': ['a', 'b'], " TR(
                                                 "",
                                                 "${steps.a.output.translations[0].text}"
                                                 " / ${steps.b.output.translations[0].text}",
                                                 "de") "}]}",
             INPUT);
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED a 1, STEP_SCHEDULED b 1");
        ck_assert_str_eq(dispatches(), "t.tr acme r1/a/1 +60000, t.tr acme r1/b/1 +60000");
        ck_request_eq(1, "{'texts': ['hello'], 'target': 'fr'}");

        /* the join waits for both */
        reply_at(1000, "b", 1, "{'translations': [{'text': 'bonjour'}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED b 1");
        ck_assert_str_eq(steps(), "a=RUNNING b=COMPLETED j=PENDING");
        ck_assert_int_eq(t.ndispatches, 0);
        ck_assert_int_eq(t.wake_ms, T0 + 60000);

        reply_at(2000, "a", 1, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 1, STEP_SCHEDULED j 1");
        ck_request_eq(0, "{'texts': ['hola / bonjour'], 'target': 'de'}");

        /* no output template: each completed step's output under its id */
        reply_at(3000, "j", 1, "{'translations': []}");
        ck_assert_str_eq(events(), "STEP_COMPLETED j 1, RUN_COMPLETED");
        ck_json_eq(run.output, "{'a': " HOLA ", 'b': {'translations': [{'text': 'bonjour'}]},"
                               " 'j': {'translations': []}}");
}
END_TEST

#define LANG "'ref': 'steps.d.output.results[0].candidates[0].language'"

#define BRANCHES                                                                                     \
        "{'type': 'branches', 'steps': ["                                                            \
        " {'id': 'd', 'call': {'service': 'translation',"                                            \
        "  'type': 'cairn.translation.v1.DetectRequest', 'request': {'texts': ['${input.text}']}}}," \
        " {'id': 'tr', 'after': ['d'], 'when': {" LANG ", 'op': 'OP_NOT_EQUALS', 'value': 'es'},"    \
        "  " TR("", "${input.text}",                                                                 \
                "es") "},"                                                                           \
                      " {'id': 'keep', 'after': ['d'], 'when': {" LANG                               \
                      ", 'op': 'OP_EQUALS', 'value': 'es'},"                                         \
                      "  'sleep': {'duration': '0s'}},"                                              \
                      " {'id': 'keep2', 'after': ['keep'], " TR(                                     \
                              "", "${input.text}",                                                   \
                              "fr") "},"                                                             \
                                    " {'id': 'join', 'after': ['tr', 'keep2'], " TR(                 \
                                            "", "${input.text}", "de") "}]}"

#define DETECTED(lang) "{'results': [{'candidates': [{'language': '" lang "'}]}]}"

START_TEST(test_engine_skips_steps_whose_condition_does_not_hold)
{
        load(BRANCHES, INPUT);
        start();
        ck_assert_str_eq(dispatches(), "t.tr acme r1/d/1 +60000");
        ck_assert_str_eq(t.dispatches[0].ce_type, "cairn.translation.v1.DetectRequest");
        ck_request_eq(0, "{'texts': ['hello']}");

        /* English: tr runs, keep is skipped and so is keep2, all of whose
         * predecessors were; join runs after tr and the skipped keep2 */
        reply_at(1000, "d", 1, DETECTED("en"));
        ck_assert_str_eq(events(), "STEP_COMPLETED d 1, STEP_SCHEDULED tr 1, STEP_SKIPPED keep 0, "
                                   "STEP_SKIPPED keep2 0");
        ck_assert_str_eq(steps(), "d=COMPLETED tr=RUNNING keep=SKIPPED keep2=SKIPPED join=PENDING");
        ck_assert_int_eq(step("keep")->closed_ms, T0 + 1000);
        reply_at(2000, "tr", 1, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED tr 1, STEP_SCHEDULED join 1");
        reply_at(3000, "join", 1, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED join 1, RUN_COMPLETED");
        /* skipped steps are not in the default output */
        ck_json_eq(run.output, "{'d': " DETECTED("en") ", 'tr': " HOLA ", 'join': {}}");

        /* Spanish: the other branch */
        load(BRANCHES, INPUT);
        start();
        reply_at(1000, "d", 1, DETECTED("es"));
        ck_assert_str_eq(events(), "STEP_COMPLETED d 1, STEP_SKIPPED tr 0, STEP_SCHEDULED keep 0");
        ck_assert_int_eq(t.wake_ms, T0 + 1000);
        at(1000);
        ck_assert_str_eq(events(), "STEP_COMPLETED keep 0, STEP_SCHEDULED keep2 1");
        reply_at(2000, "keep2", 1, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED keep2 1, STEP_SCHEDULED join 1");
}
END_TEST

START_TEST(test_engine_completes_a_run_whose_steps_were_all_skipped)
{
        load("{'type': 'skip', 'steps': ["
             " {'id': 'a', 'when': {'ref': 'input.go', 'op': 'OP_TRUTHY'}, " TR(
                     "", "x",
                     "es") "},"
                           " {'id': 'b', 'after': ['a'], 'sleep': {'duration': '10s'}},"
                           " {'id': 'c', 'after': ['b'], 'waitSignal': {'name': 'never'}}]}",
             "{'go': false}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SKIPPED a 0, STEP_SKIPPED b 0, "
                                   "STEP_SKIPPED c 0, RUN_COMPLETED");
        ck_assert_int_eq(run.status, WF_COMPLETED);
        ck_json_eq(run.output, "{}");
        ck_assert_int_eq(t.ndispatches, 0);
        ck_assert_int_eq(t.wake_ms, 0);
}
END_TEST

START_TEST(test_engine_fails_a_step_whose_condition_cannot_be_evaluated)
{
        load("{'type': 'cond', 'steps': ["
             " {'id': 'a', " TR(
                     "", "x",
                     "es") "},"
                           " {'id': 'b', 'after': ['a'], 'when': {'ref': 'steps.a.output.lang', 'op': "
                           "'OP_EQUALS', 'value': 'es'}, " TR("", "x", "es") "}]}",
             INPUT);
        start();
        reply_at(1000, "a", 1, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 1, STEP_FAILED b 0, RUN_FAILED");
        ck_assert_int_eq(run.status, WF_FAILED);
        ck_assert_int_eq(run.err, CAIRN_ERR_INVALID);
        ck_assert_str_eq(step("b")->error,
                         "${steps.a.output.lang}: steps.a.output has no field \"lang\"");
        ck_assert_str_eq(run.error, "step b failed: ${steps.a.output.lang}: steps.a.output has "
                                    "no field \"lang\"");
        ck_assert_int_eq(event_of(EV(RUN_FAILED))->err, CAIRN_ERR_INVALID);
        ck_assert_str_eq(event_of(EV(RUN_FAILED))->error, run.error);
}
END_TEST

START_TEST(test_engine_runs_from_its_stored_state)
{
        json_t *state;

        /* every tick on a run loaded from the state the last one saved */
        load(CHAIN, INPUT);
        run.deadline_ms = T0 + 3600000;
        start();
        reload();
        fail_at(1000, "a", 1, CAIRN_ERR_UNAVAILABLE, "down");
        ck_assert_int_eq(t.wake_ms, T0 + 2000);
        reload();
        at(2000);
        ck_assert_str_eq(events(), "STEP_SCHEDULED a 2");
        reload();
        reply_at(2500, "a", 2, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 2, STEP_SCHEDULED b 1");
        reload();
        at(7500); /* b's 5 s */
        ck_assert_str_eq(events(), "STEP_RETRIED b 1");
        reload();
        at(8500);
        reload();
        reply_at(9000, "b", 2, "{'translations': [{'text': 'salut'}]}");
        reload();
        reply_at(9500, "c", 1, "{'results': [{'memory': {'id': 'm1'}}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED c 1, RUN_COMPLETED");
        ck_assert_uint_eq(t.events[1].seq, 12);
        reload();
        ck_assert_int_eq(run.status, WF_COMPLETED);
        ck_assert_str_eq(run.tenant, "acme");
        ck_assert_int_eq(run.deadline_ms, T0 + 3600000);
        ck_assert_str_eq(text_of(run.output),
                         norm("{'text': 'salut', 'id': 'm1', 'literal': '${input.text}'}"));

        /* a state without its input (not one wf_run_to_json writes) still
         * runs, with an empty one */
        load(ONE(""), "{}");
        state = wf_run_to_json(&run);
        json_object_del(state, "input");
        wf_run_free(&run);
        ck_assert_int_eq(wf_run_from_json(&run, state), 0);
        json_decref(state);
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED a 0, RUN_FAILED");
        ck_assert_str_eq(step("a")->error, "${input.text}: input has no field \"text\"");
}
END_TEST

/* ---- requests that cannot be made ---- */

START_TEST(test_engine_fails_a_call_whose_request_cannot_be_built)
{
        /* a reference that does not resolve: failed at once, never retried */
        load(ONE(""), "{'txt': 'hello'}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED a 0, RUN_FAILED");
        ck_assert_int_eq(t.ndispatches, 0);
        ck_assert_int_eq(step("a")->err, CAIRN_ERR_INVALID);
        ck_assert_str_eq(step("a")->error, "${input.text}: input has no field \"text\"");
        ck_assert_int_eq(run.status, WF_FAILED);
        ck_assert_int_eq(t.wake_ms, 0);

        /* a value of the wrong type for the request's field */
        load(ONE(""), "{'text': {'not': 'a string'}}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED a 0, RUN_FAILED");
        ck_assert_str_eq(
                step("a")->error,
                "request is not a valid "
                "cairn.translation.v1.TranslateRequest: texts[0]: expected a string, got an object");

        /* a key that does not resolve */
        load("{'type': 'k', 'steps': [{'id': 'a', 'call': {'service': 'memory',"
             " 'type': 'cairn.memory.v1.GetRequest', 'key': '${input.user}/x',"
             " 'request': {'userId': 'u'}}}]}",
             "{}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED a 0, RUN_FAILED");
        ck_assert_str_eq(step("a")->error, "${input.user}: input has no field \"user\"");

        /* a service no longer configured since the definition was checked */
        load(ONE(""), INPUT);
        env.defs = &no_targets;
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED a 0, RUN_FAILED");
        ck_assert_str_eq(step("a")->error, "service translation or type "
                                           "cairn.translation.v1.TranslateRequest is no longer "
                                           "known");

        /* a step of no kind (a definition never checked) */
        load_def("{'type': 'x', 'steps': [{'id': 'a'}]}", "{}", false);
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED a 0, RUN_FAILED");
        ck_assert_int_eq(run.err, CAIRN_ERR_INTERNAL);
}
END_TEST

/* ---- retries ---- */

START_TEST(test_engine_retries_with_temporal_default_delays)
{
        int64_t clock = 0;

        load(ONE(""), INPUT);
        start();
        for (uint32_t n = 1; n <= 10; n++) {
                int64_t delay = n <= 7 ? 1000LL << (n - 1) : 100000; /* 1 s ... 64 s, 100 s */

                clock += 500;
                fail_at(clock, "a", n, CAIRN_ERR_UNAVAILABLE, "provider down");
                ck_assert_str_eq(steps(), "a=BACKOFF");
                ck_assert_int_eq(t.nevents, 1);
                ck_assert_int_eq(t.events[0].type, EV(STEP_RETRIED));
                ck_assert_uint_eq(t.events[0].attempt, n);
                ck_assert_int_eq(t.events[0].err, CAIRN_ERR_UNAVAILABLE);
                ck_assert_str_eq(t.events[0].error, "provider down");
                ck_assert_int_eq(t.ndispatches, 0);
                ck_assert_int_eq(step("a")->due_ms, T0 + clock + delay);
                ck_assert_int_eq(t.wake_ms, T0 + clock + delay);
                ck_assert_int_eq(step("a")->err, CAIRN_ERR_UNAVAILABLE);
                ck_assert_str_eq(step("a")->error, "provider down");
                /* not a moment early */
                at(clock + delay - 1);
                ck_unchanged();
                clock += delay;
                at(clock);
                ck_assert_uint_eq(step("a")->attempt, n + 1);
                ck_assert_int_eq(t.nevents, 1);
                ck_assert_int_eq(t.events[0].type, EV(STEP_SCHEDULED));
                ck_assert_uint_eq(t.events[0].attempt, n + 1);
                ck_assert_int_eq(t.ndispatches, 1);
                ck_assert_int_eq(t.dispatches[0].deadline_ms, T0 + clock + 60000);
                ck_request_eq(0, "{'texts': ['hello'], 'target': 'es'}");
        }
        ck_assert_str_eq(dispatches(), "t.tr acme r1/a/11 +60000");
        /* the first attempt's start stays the step's start */
        ck_assert_int_eq(step("a")->started_ms, T0);
        reply_at(clock + 1, "a", 11, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 11, RUN_COMPLETED");
        ck_assert_int_eq(run.status, WF_COMPLETED);
}
END_TEST

START_TEST(test_engine_retries_by_a_custom_policy)
{
#define POLICY                                                                  \
        ", 'retry': {'initialInterval': '0.5s', 'backoffCoefficient': 3,"       \
        " 'maximumInterval': '5s', 'maximumAttempts': 4, 'nonRetryableCodes': " \
        "['NOT_FOUND']}"
        static const int64_t delays[] = { 500, 1500, 4500 };
        int64_t clock = 0;

        load(ONE(POLICY), INPUT);
        start();
        for (uint32_t n = 1; n <= 3; n++) {
                /* INVALID_ARGUMENT is retried: the policy's list replaces the default */
                fail_at(clock, "a", n, CAIRN_ERR_INVALID, "bad");
                ck_assert_str_eq(events(), n == 1   ? "STEP_RETRIED a 1"
                                           : n == 2 ? "STEP_RETRIED a 2"
                                                    : "STEP_RETRIED a 3");
                ck_assert_int_eq(t.wake_ms, T0 + clock + delays[n - 1]);
                clock += delays[n - 1];
                at(clock);
                ck_assert_uint_eq(step("a")->attempt, n + 1);
        }
        /* the fourth attempt is the last */
        fail_at(clock + 10, "a", 4, CAIRN_ERR_UNAVAILABLE, "still down");
        ck_assert_str_eq(events(), "STEP_FAILED a 4, RUN_FAILED");
        ck_assert_str_eq(steps(), "a=FAILED");
        ck_assert_int_eq(run.status, WF_FAILED);
        ck_assert_int_eq(run.err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(run.error, "step a failed: still down");
        ck_assert_int_eq(event_of(EV(STEP_FAILED))->err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(event_of(EV(STEP_FAILED))->error, "still down");
        ck_assert_int_eq(run.closed_ms, T0 + clock + 10);
        ck_assert_int_eq(t.wake_ms, 0);

        /* a code of the policy's list is not retried */
        load(ONE(POLICY), INPUT);
        start();
        fail_at(10, "a", 1, CAIRN_ERR_NOT_FOUND, "no such model");
        ck_assert_str_eq(events(), "STEP_FAILED a 1, RUN_FAILED");
        ck_assert_int_eq(run.err, CAIRN_ERR_NOT_FOUND);

        /* maximumAttempts 1: no retry at all */
        load(ONE(", 'retry': {'maximumAttempts': 1}"), INPUT);
        start();
        fail_at(10, "a", 1, CAIRN_ERR_UNAVAILABLE, "down");
        ck_assert_str_eq(events(), "STEP_FAILED a 1, RUN_FAILED");
#undef POLICY
}
END_TEST

START_TEST(test_engine_never_retries_the_default_non_retryable_codes)
{
        static const cairn_err_t never[] = { CAIRN_ERR_INVALID,      CAIRN_ERR_PERMISSION,
                                             CAIRN_ERR_NOT_FOUND,    CAIRN_ERR_UNIMPLEMENTED,
                                             CAIRN_ERR_PRECONDITION, CAIRN_ERR_UNAUTHENTICATED };
        static const cairn_err_t again[] = { CAIRN_ERR_UNKNOWN,   CAIRN_ERR_DEADLINE,
                                             CAIRN_ERR_EXHAUSTED, CAIRN_ERR_ABORTED,
                                             CAIRN_ERR_INTERNAL,  CAIRN_ERR_UNAVAILABLE,
                                             (cairn_err_t)99 };

        for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
                load(ONE(""), INPUT);
                start();
                fail_at(1, "a", 1, never[i], NULL);
                ck_assert_msg(strcmp(events(), "STEP_FAILED a 1, RUN_FAILED") == 0, "%s: %s",
                              cairn_err_str(never[i]), events());
                /* no message: the code's name */
                ck_assert_str_eq(step("a")->error, cairn_err_str(never[i]));
        }
        for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
                load(ONE(""), INPUT);
                start();
                fail_at(1, "a", 1, again[i], "x");
                ck_assert_msg(strcmp(events(), "STEP_RETRIED a 1") == 0, "%d: %s", again[i],
                              events());
                ck_assert_int_eq(step("a")->due_ms, T0 + 1001);
        }
}
END_TEST

START_TEST(test_engine_retries_an_attempt_that_timed_out)
{
        load(ONE(", 'startToCloseTimeout': '5s'"), INPUT);
        start();
        ck_assert_str_eq(dispatches(), "t.tr acme r1/a/1 +5000");
        ck_assert_int_eq(t.wake_ms, T0 + 5000);
        at(4999);
        ck_unchanged();
        at(5000);
        ck_assert_str_eq(events(), "STEP_RETRIED a 1");
        ck_assert_int_eq(t.events[0].err, CAIRN_ERR_DEADLINE);
        ck_assert_str_eq(t.events[0].error, "attempt 1 got no reply within its timeout "
                                            "(start-to-close or schedule-to-close)");
        ck_assert_str_eq(steps(), "a=BACKOFF");
        ck_assert_int_eq(t.wake_ms, T0 + 6000);
        /* the late reply to attempt 1 changes nothing */
        reply_at(5500, "a", 1, HOLA);
        ck_unchanged();
        ck_assert_str_eq(steps(), "a=BACKOFF");
        at(6000);
        ck_assert_str_eq(events(), "STEP_SCHEDULED a 2");
        ck_assert_str_eq(dispatches(), "t.tr acme r1/a/2 +5000");
        reply_at(6001, "a", 1, HOLA);
        ck_unchanged();
        reply_at(7000, "a", 2, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 2, RUN_COMPLETED");
}
END_TEST

START_TEST(test_engine_stops_retrying_at_schedule_to_close)
{
#define S2C ", 'startToCloseTimeout': '10s', 'scheduleToCloseTimeout': '15s'"
        load(ONE(S2C), INPUT);
        start();
        ck_assert_str_eq(dispatches(), "t.tr acme r1/a/1 +10000");
        at(10000);
        ck_assert_str_eq(events(), "STEP_RETRIED a 1");
        at(11000);
        /* the second attempt gets what is left of the 15 s */
        ck_assert_str_eq(dispatches(), "t.tr acme r1/a/2 +4000");
        ck_assert_int_eq(step("a")->due_ms, T0 + 15000);
        at(15000);
        ck_assert_str_eq(events(), "STEP_FAILED a 2, RUN_FAILED");
        ck_assert_int_eq(run.err, CAIRN_ERR_DEADLINE);

        /* a failure whose retry would come after the limit ends it too */
        load(ONE(S2C), INPUT);
        start();
        fail_at(9000, "a", 1, CAIRN_ERR_UNAVAILABLE, "down");
        ck_assert_str_eq(events(), "STEP_RETRIED a 1"); /* at 10 s < 15 s */
        at(10000);
        fail_at(13001, "a", 2, CAIRN_ERR_UNAVAILABLE, "down");
        ck_assert_str_eq(events(), "STEP_FAILED a 2, RUN_FAILED"); /* 15.001 s */
        ck_assert_str_eq(run.error, "step a failed: down");

        /* a retry due before the limit but looked at after it (the
         * scheduler was late): no attempt with a deadline already past */
        load(ONE(S2C), INPUT);
        start();
        fail_at(9000, "a", 1, CAIRN_ERR_UNAVAILABLE, "down");
        at(15000);
        ck_assert_str_eq(events(), "STEP_FAILED a 1, RUN_FAILED");
        ck_assert_int_eq(t.ndispatches, 0);
        ck_assert_int_eq(step("a")->err, CAIRN_ERR_DEADLINE);
        ck_assert_str_eq(step("a")->error, "the schedule-to-close timeout passed before attempt 2");
#undef S2C
}
END_TEST

START_TEST(test_engine_ignores_stale_and_duplicate_replies)
{
        json_t *before, *after;

        load(CHAIN, INPUT);
        start();
        reply_at(1000, "a", 1, HOLA);
        before = wf_run_to_json(&run);
        reply_at(2000, "a", 1, HOLA); /* a duplicate */
        ck_unchanged();
        fail_at(2000, "a", 1, CAIRN_ERR_UNAVAILABLE, "late");
        ck_unchanged();
        reply_at(2000, "b", 2, HOLA); /* an attempt not made */
        ck_unchanged();
        reply_at(2000, "b", 0, HOLA);
        ck_unchanged();
        reply_at(2000, "c", 1, HOLA); /* a step not started */
        ck_unchanged();
        reply_at(2000, "zz", 1, HOLA); /* no such step */
        ck_unchanged();
        reply_at(2000, "b[0]", 1, HOLA);
        ck_unchanged();
        reply_at(2000, "b.compensate", 1, HOLA);
        ck_unchanged();
        after = wf_run_to_json(&run);
        ck_assert_str_eq(text_of(after), text_of(before));
        json_decref(before);
        json_decref(after);
        ck_assert_uint_eq(run.history_length, 4);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_engine_fails_a_step_whose_reply_is_too_large)
{
        char text[1100], out[1200];
        const char *shape = "{\"translations\":[{\"text\":\"%s\"}]}";
        size_t room = env.max_payload_bytes - (strlen(shape) - 2);

        /* exactly at the limit: accepted */
        load(ONE(""), INPUT);
        start();
        memset(text, 'x', room);
        text[room] = '\0';
        snprintf(out, sizeof(out), shape, text);
        ck_assert_uint_eq(strlen(out), 1024);
        reply_at(10, "a", 1, out);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 1, RUN_COMPLETED");

        /* one byte over */
        load(ONE(""), INPUT);
        start();
        text[room] = 'x';
        text[room + 1] = '\0';
        snprintf(out, sizeof(out), shape, text);
        reply_at(10, "a", 1, out);
        ck_assert_str_eq(events(), "STEP_FAILED a 1, RUN_FAILED");
        ck_assert_int_eq(step("a")->err, CAIRN_ERR_EXHAUSTED);
        ck_assert_str_eq(step("a")->error, "the reply's JSON form has 1025 bytes, over "
                                           "workflow.max_payload_bytes (1024)");
        ck_assert_ptr_null(step("a")->output);
        ck_assert_int_eq(run.err, CAIRN_ERR_EXHAUSTED);
}
END_TEST

START_TEST(test_engine_fails_the_run_at_the_history_limit)
{
        env.max_history = 6;
        load(ONE(""), INPUT);
        start();                                           /* 1, 2 */
        fail_at(10, "a", 1, CAIRN_ERR_UNAVAILABLE, "x");   /* 3 */
        at(1010);                                          /* 4 */
        fail_at(1020, "a", 2, CAIRN_ERR_UNAVAILABLE, "x"); /* 5 */
        ck_assert_int_eq(run.status, WF_RUNNING);
        at(3020); /* 6, and the limit */
        ck_assert_str_eq(events(), "STEP_SCHEDULED a 3, RUN_FAILED");
        ck_assert_int_eq(run.status, WF_FAILED);
        ck_assert_int_eq(run.err, CAIRN_ERR_EXHAUSTED);
        ck_assert_str_eq(run.error, "the history reached workflow.max_history_events (6 events); "
                                    "split the work into smaller runs");
        ck_assert_str_eq(steps(), "a=CANCELLED");
        ck_assert_int_eq(t.wake_ms, 0);
        ck_assert_uint_eq(run.history_length, 7);
}
END_TEST

START_TEST(test_engine_fails_the_run_when_its_output_cannot_be_made)
{
        load("{'type': 'out', 'steps': [{'id': 'a', " TR(
                     "", "x", "es") "}],"
                                    " 'output': {'first': '${steps.a.output.translations[0].text}',"
                                    "  'lang': 'is ${steps.a.output.language}'}}",
             INPUT);
        start();
        reply_at(10, "a", 1, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 1, RUN_FAILED");
        ck_assert_str_eq(steps(), "a=COMPLETED");
        ck_assert_int_eq(run.status, WF_FAILED);
        ck_assert_int_eq(run.err, CAIRN_ERR_INVALID);
        ck_assert_str_eq(run.error, "output: ${steps.a.output.language}: steps.a.output has no "
                                    "field \"language\"");
        ck_assert_ptr_null(run.output);
}
END_TEST

START_TEST(test_engine_times_the_run_out)
{
        load(CHAIN, INPUT);
        run.deadline_ms = T0 + 10000;
        start();
        ck_assert_int_eq(t.wake_ms, T0 + 10000); /* before the attempt's 60 s */
        reply_at(5000, "a", 1, HOLA);
        ck_assert_int_eq(t.wake_ms, T0 + 10000);
        at(9999);
        ck_unchanged();
        at(10000);
        ck_assert_str_eq(events(), "RUN_TIMED_OUT");
        ck_assert_int_eq(run.status, WF_TIMED_OUT);
        ck_assert_int_eq(run.err, CAIRN_ERR_DEADLINE);
        ck_assert_str_eq(run.error, "the run timeout passed");
        ck_assert_str_eq(steps(), "a=COMPLETED b=CANCELLED c=CANCELLED");
        ck_assert_int_eq(run.closed_ms, T0 + 10000);
        ck_assert_int_eq(t.wake_ms, 0);
        reply_at(10001, "b", 1, HOLA);
        ck_unchanged();

        /* a reply recorded after the deadline, before the scheduler looked:
         * the step completes, nothing more starts */
        load(CHAIN, INPUT);
        run.deadline_ms = T0 + 10000;
        start();
        reply_at(10500, "a", 1, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED a 1, RUN_TIMED_OUT");
        ck_assert_int_eq(t.ndispatches, 0);
        ck_assert_str_eq(steps(), "a=COMPLETED b=CANCELLED c=CANCELLED");
}
END_TEST

/* ---- timers and signals ---- */

START_TEST(test_engine_sleeps_for_a_duration)
{
        load("{'type': 'nap', 'steps': [{'id': 's', 'sleep': {'duration': '30s'}},"
             " {'id': 'b', 'after': ['s'], " TR("", "${input.text}", "es") "}]}",
             INPUT);
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED s 0");
        ck_assert_str_eq(steps(), "s=SLEEPING b=PENDING");
        ck_assert_int_eq(step("s")->due_ms, T0 + 30000);
        ck_assert_int_eq(t.wake_ms, T0 + 30000);
        at(29999);
        ck_unchanged();
        at(30000);
        ck_assert_str_eq(events(), "STEP_COMPLETED s 0, STEP_SCHEDULED b 1");
        ck_assert_ptr_null(step("s")->output);
        ck_assert_str_eq(dispatches(), "t.tr acme r1/b/1 +60000");
}
END_TEST

START_TEST(test_engine_sleeps_until_a_time)
{
#define UNTIL "{'type': 'nap', 'steps': [{'id': 's', 'sleep': {'until': '${input.at}'}}]}"
        load(UNTIL, "{'at': '2023-11-14T22:13:50.250Z'}");
        start();
        ck_assert_str_eq(steps(), "s=SLEEPING");
        ck_assert_int_eq(t.wake_ms, T0 + 30250);
        at(30249);
        ck_unchanged();
        at(30250);
        ck_assert_str_eq(events(), "STEP_COMPLETED s 0, RUN_COMPLETED");

        /* a time already past: due at once */
        load(UNTIL, "{'at': '2020-01-01T00:00:00Z'}");
        start();
        ck_assert_str_eq(steps(), "s=SLEEPING");
        ck_assert_int_eq(t.wake_ms, T0);
        at(0);
        ck_assert_str_eq(events(), "STEP_COMPLETED s 0, RUN_COMPLETED");

        /* not a time */
        load(UNTIL, "{'at': 'tomorrow'}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED s 0, RUN_FAILED");
        ck_assert_str_eq(step("s")->error, "until: ${input.at} is not an RFC 3339 time");
        load(UNTIL, "{'at': 12}");
        start();
        ck_assert_str_eq(step("s")->error, "until: ${input.at} is not an RFC 3339 time");

        /* no such field */
        load(UNTIL, "{}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED s 0, RUN_FAILED");
        ck_assert_str_eq(step("s")->error, "${input.at}: input has no field \"at\"");
#undef UNTIL
}
END_TEST

#define WAIT(timeout)                                                                          \
        "{'type': 'ask', 'steps': [{'id': 'w', 'waitSignal': {'name': 'approve'" timeout "}}," \
        " {'id': 'b', 'after': ['w'], " TR("", "${steps.w.output.note}", "es") "}]}"

START_TEST(test_engine_takes_a_signal_sent_before_the_wait)
{
        load(WAIT(", 'timeout': '60s'"), INPUT);
        signal_add("other", "1");
        signal_add("approve", "{'note': 'ok'}");
        signal_add("approve", "{'note': 'second'}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED w 0, SIGNAL_RECEIVED w 0, "
                                   "STEP_COMPLETED w 0, STEP_SCHEDULED b 1");
        ck_json_eq(event_of(EV(SIGNAL_RECEIVED))->detail,
                   "{'name': 'approve', 'payload': {'note': 'ok'}}");
        ck_json_eq(step("w")->output, "{'note': 'ok'}");
        /* the oldest of its name is taken, the others stay buffered */
        ck_assert_ptr_null(signals[0].taken_by);
        ck_assert_str_eq(signals[1].taken_by, "w");
        ck_assert_ptr_null(signals[2].taken_by);
        ck_request_eq(0, "{'texts': ['ok'], 'target': 'es'}");
}
END_TEST

START_TEST(test_engine_takes_a_signal_sent_during_the_wait)
{
        load(WAIT(", 'timeout': '60s'"), INPUT);
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED w 0");
        ck_assert_str_eq(steps(), "w=WAITING b=PENDING");
        ck_assert_int_eq(t.wake_ms, T0 + 60000);
        signal_add("nope", "{}");
        at(1000);
        ck_unchanged();
        signal_add("approve", "{'note': 'yes'}");
        at(2000);
        ck_assert_str_eq(events(), "SIGNAL_RECEIVED w 0, STEP_COMPLETED w 0, STEP_SCHEDULED b 1");
        ck_assert_str_eq(signals[1].taken_by, "w");
        ck_assert_ptr_null(signals[0].taken_by);
        ck_request_eq(0, "{'texts': ['yes'], 'target': 'es'}");
}
END_TEST

START_TEST(test_engine_gives_a_signal_to_one_waiting_step)
{
        load("{'type': 'two', 'steps': [{'id': 'w1', 'waitSignal': {'name': 'go'}},"
             " {'id': 'w2', 'waitSignal': {'name': 'go'}}]}",
             INPUT);
        start();
        ck_assert_str_eq(steps(), "w1=WAITING w2=WAITING");
        signal_add("go", "1");
        at(10);
        ck_assert_str_eq(events(), "SIGNAL_RECEIVED w1 0, STEP_COMPLETED w1 0");
        ck_assert_str_eq(steps(), "w1=COMPLETED w2=WAITING");
        /* taken once: the next tick does not give it again */
        at(20);
        ck_unchanged();
        signal_add("go", "2");
        at(30);
        ck_assert_str_eq(events(), "SIGNAL_RECEIVED w2 0, STEP_COMPLETED w2 0, RUN_COMPLETED");
        ck_assert_str_eq(signals[1].taken_by, "w2");
        ck_json_eq(run.output, "{'w1': 1, 'w2': 2}");
}
END_TEST

START_TEST(test_engine_fails_a_wait_that_times_out)
{
        load(WAIT(", 'timeout': '60s'"), INPUT);
        start();
        at(59999);
        ck_unchanged();
        at(60000);
        ck_assert_str_eq(events(), "STEP_FAILED w 0, RUN_FAILED");
        ck_assert_int_eq(step("w")->err, CAIRN_ERR_DEADLINE);
        ck_assert_str_eq(step("w")->error, "no signal \"approve\" within its timeout");
        ck_assert_str_eq(steps(), "w=FAILED b=CANCELLED");
        /* a signal after the end is not taken */
        signal_add("approve", "{}");
        at(61000);
        ck_unchanged();
        ck_assert_ptr_null(signals[0].taken_by);

        /* without a timeout it waits as long as the run lasts */
        load(WAIT(""), INPUT);
        start();
        ck_assert_int_eq(step("w")->due_ms, 0);
        ck_assert_int_eq(t.wake_ms, 0);
        at(86400000);
        ck_unchanged();
}
END_TEST

/* ---- fan-out ---- */

#define FAN(parallel, when, items)                                                              \
        "{'type': 'fan', 'steps': [{'id': 'fo', 'fanOut': {'items': '" items "'" parallel when  \
        ", 'call': {'service': 'translation', 'type': 'cairn.translation.v1.TranslateRequest'," \
        " 'key': '${run.tenant}-${index}',"                                                     \
        " 'request': {'texts': ['${item}', '#${index}'], 'target': 'es'}}}}]}"

#define SKIP_WHEN ", 'when': {'ref': 'item', 'op': 'OP_NOT_EQUALS', 'value': 'skip'}"

START_TEST(test_engine_fans_out_over_a_list)
{
        load(FAN(", 'maxParallel': 2", SKIP_WHEN, "${input.docs}"),
             "{'docs': ['one', 'skip', 'three', 'four']}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED fo 0, STEP_SCHEDULED fo[0] 1, "
                                   "STEP_SKIPPED fo[1] 0, STEP_SCHEDULED fo[2] 1");
        ck_assert_str_eq(steps(), "fo=RUNNING fo[0]=RUNNING fo[1]=SKIPPED fo[2]=RUNNING "
                                  "fo[3]=PENDING");
        ck_assert_str_eq(dispatches(), "t.tr acme-0 r1/fo[0]/1 +60000, "
                                       "t.tr acme-2 r1/fo[2]/1 +60000");
        ck_request_eq(0, "{'texts': ['one', '#0'], 'target': 'es'}");
        ck_request_eq(1, "{'texts': ['three', '#2'], 'target': 'es'}");
        ck_assert_int_eq(t.wake_ms, T0 + 60000);

        /* one finishes: the next starts, at most two at a time */
        reply_at(1000, "fo[2]", 1, "{'translations': [{'text': 'tres'}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[2] 1, STEP_SCHEDULED fo[3] 1");
        ck_request_eq(0, "{'texts': ['four', '#3'], 'target': 'es'}");
        reply_at(2000, "fo[3]", 1, "{'translations': [{'text': 'cuatro'}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[3] 1");
        ck_assert_str_eq(steps(), "fo=RUNNING fo[0]=RUNNING fo[1]=SKIPPED fo[2]=COMPLETED "
                                  "fo[3]=COMPLETED");

        /* a retried element is still one of the two */
        fail_at(3000, "fo[0]", 1, CAIRN_ERR_UNAVAILABLE, "x");
        ck_assert_str_eq(events(), "STEP_RETRIED fo[0] 1");
        at(4000);
        ck_assert_str_eq(dispatches(), "t.tr acme-0 r1/fo[0]/2 +60000");
        ck_request_eq(0, "{'texts': ['one', '#0'], 'target': 'es'}");

        /* the last one: the output lists every element's, in order, null
         * for the skipped */
        reply_at(5000, "fo[0]", 2, "{'translations': [{'text': 'uno'}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[0] 2, STEP_COMPLETED fo 0, RUN_COMPLETED");
        ck_json_eq(step("fo")->output, "[{'translations': [{'text': 'uno'}]}, null,"
                                       " {'translations': [{'text': 'tres'}]},"
                                       " {'translations': [{'text': 'cuatro'}]}]");
        ck_json_eq(run.output, "{'fo': [{'translations': [{'text': 'uno'}]}, null,"
                               " {'translations': [{'text': 'tres'}]},"
                               " {'translations': [{'text': 'cuatro'}]}]}");
}
END_TEST

START_TEST(test_engine_fans_out_by_the_default_parallelism)
{
        load(FAN("", "", "${input.docs}"), "{'docs': ['a', 'b', 'c', 'd', 'e']}");
        start();
        ck_assert_str_eq(dispatches(), "t.tr acme-0 r1/fo[0]/1 +60000, "
                                       "t.tr acme-1 r1/fo[1]/1 +60000, "
                                       "t.tr acme-2 r1/fo[2]/1 +60000");
        ck_assert_str_eq(steps(), "fo=RUNNING fo[0]=RUNNING fo[1]=RUNNING fo[2]=RUNNING "
                                  "fo[3]=PENDING fo[4]=PENDING");
}
END_TEST

START_TEST(test_engine_fans_out_over_more_elements_than_steps_fit)
{
        char want[64];

        /* twelve elements grow the run's steps past their first allocation
         * while the fan-out starts */
        env.max_fan_out = 12;
        load(FAN(", 'maxParallel': 12", "", "${input.docs}"),
             "{'docs': ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']}");
        start();
        ck_assert_uint_eq(run.nsteps, 13);
        ck_assert_uint_eq(t.ndispatches, 12);
        for (size_t k = 0; k < 12; k++) {
                snprintf(want, sizeof(want), "r1/fo[%zu]/1", k);
                ck_assert_str_eq(t.dispatches[k].ce_id, want);
        }
        for (int k = 11; k >= 0; k--) {
                char id[16], out[64];

                snprintf(id, sizeof(id), "fo[%d]", k);
                snprintf(out, sizeof(out), "{'n': %d}", k);
                reply_at(100 - k, id, 1, out);
        }
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[0] 1, STEP_COMPLETED fo 0, RUN_COMPLETED");
        ck_json_eq(step("fo")->output, "[{'n': 0}, {'n': 1}, {'n': 2}, {'n': 3}, {'n': 4}, "
                                       "{'n': 5}, {'n': 6}, {'n': 7}, {'n': 8}, {'n': 9}, "
                                       "{'n': 10}, {'n': 11}]");
}
END_TEST

START_TEST(test_engine_fan_out_edges)
{
        /* an empty list: completes at once with [] */
        load(FAN("", "", "${input.docs}"), "{'docs': []}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED fo 0, STEP_COMPLETED fo 0, "
                                   "RUN_COMPLETED");
        ck_json_eq(run.output, "{'fo': []}");

        /* more elements than workflow.max_fan_out */
        load(FAN("", "", "${input.docs}"), "{'docs': ['1', '2', '3', '4', '5', '6']}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED fo 0, RUN_FAILED");
        ck_assert_str_eq(step("fo")->error, "${input.docs} is a list of too many elements, not "
                                            "a list of at most 5 elements");
        ck_assert_int_eq(run.nsteps, 1);

        /* not a list */
        load(FAN("", "", "${input.docs}"), "{'docs': {'a': 1}}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_FAILED fo 0, RUN_FAILED");
        ck_assert_str_eq(step("fo")->error,
                         "${input.docs} is an object, not a list of at most 5 elements");
        ck_assert_int_eq(step("fo")->err, CAIRN_ERR_INVALID);

        /* nothing there */
        load(FAN("", "", "${input.docs}"), "{}");
        start();
        ck_assert_str_eq(step("fo")->error, "${input.docs}: input has no field \"docs\"");

        /* an element whose condition or request cannot be evaluated */
        load(FAN("", ", 'when': {'ref': 'item.x', 'op': 'OP_EQUALS', 'value': 1}", "${input.docs}"),
             "{'docs': ['a', 'b']}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED fo 0, STEP_FAILED fo[0] 0, "
                                   "RUN_FAILED");
        ck_assert_str_eq(step("fo[0]")->error, "${item.x}: item is a string, not an object");
        load(FAN("", "", "${input.docs}"), "{'docs': ['a', {'x': 1}]}");
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED fo 0, STEP_SCHEDULED fo[0] 1, "
                                   "STEP_FAILED fo[1] 0, RUN_FAILED");
        ck_assert_str_eq(step("fo[1]")->error, "request is not a valid "
                                               "cairn.translation.v1.TranslateRequest: "
                                               "texts[0]: expected a string, got an object");
        ck_assert_str_eq(steps(), "fo=CANCELLED fo[0]=CANCELLED fo[1]=FAILED");

        /* an element fails for good: the fan-out and the run fail, the
         * elements in flight are cancelled */
        load(FAN("", "", "${input.docs}"), "{'docs': ['a', 'b', 'c', 'd']}");
        start();
        fail_at(10, "fo[1]", 1, CAIRN_ERR_INVALID, "empty text");
        ck_assert_str_eq(events(), "STEP_FAILED fo[1] 1, RUN_FAILED");
        ck_assert_str_eq(steps(), "fo=CANCELLED fo[0]=CANCELLED fo[1]=FAILED fo[2]=CANCELLED "
                                  "fo[3]=CANCELLED");
        ck_assert_str_eq(run.error, "step fo[1] failed: empty text");
        reply_at(20, "fo[0]", 1, HOLA);
        ck_unchanged();
}
END_TEST

START_TEST(test_engine_fan_out_sees_the_previous_element)
{
        /* ${previous} in the call and in the condition */
        load_def("{'type': 'fan', 'steps': [{'id': 'fo', 'fanOut': {'items': '${input.turns}',"
                 " 'maxParallel': 5,"
                 " 'when': {'ref': 'previous', 'op': 'OP_NOT_EQUALS', 'value': 'stop'},"
                 " 'call': {'service': 'translation', 'type': "
                 "'cairn.translation.v1.TranslateRequest',"
                 " 'request': {'texts': ['${item}', 'after ${previous}'], 'target': 'es'}}}}]}",
                 "{'turns': ['hi', 'there', 'stop', 'skipped', 'last']}", true);
        start();
        ck_assert_str_eq(events(), "RUN_STARTED, STEP_SCHEDULED fo 0, STEP_SCHEDULED fo[0] 1, "
                                   "STEP_SCHEDULED fo[1] 1, STEP_SCHEDULED fo[2] 1, "
                                   "STEP_SKIPPED fo[3] 0, STEP_SCHEDULED fo[4] 1");
        ck_request_eq(0, "{'texts': ['hi', 'after null'], 'target': 'es'}");
        ck_request_eq(1, "{'texts': ['there', 'after hi'], 'target': 'es'}");
        ck_request_eq(3, "{'texts': ['last', 'after skipped'], 'target': 'es'}");
}
END_TEST

/* ---- cancel and terminate ---- */

#define UNDO(what)                                                                         \
        ", 'compensation': {'service': 'memory', 'type': 'cairn.memory.v1.DeleteRequest'," \
        " 'key': '${run.tenant}/${input.user}',"                                           \
        " 'request': {'userId': '${input.user}', 'id': '" what "'}}"

#define SAGA                                                                                                    \
        "{'type': 'saga', 'steps': ["                                                                           \
        " {'id': 'a', " TR(                                                                                     \
                UNDO("${steps.a.output.translations[0].text}"), "1",                                            \
                "es") "},"                                                                                      \
                      " {'id': 'b', " TR(                                                                       \
                              UNDO("b-${steps.b.output.translations[0].text}"), "2",                            \
                              "es") "},"                                                                        \
                                    " {'id': 'd', " TR(                                                         \
                                            UNDO("d"), "3",                                                     \
                                            "es") "},"                                                          \
                                                  " {'id': 'e', " TR(                                           \
                                                          "", "4",                                              \
                                                          "es") "},"                                            \
                                                                " {'id': 's', 'sleep': {'duration': '3600s'}}," \
                                                                " {'id': 'w', 'waitSignal': {'name': 'go'}},"   \
                                                                " {'id': 'c', 'after': ['a', 'b'], " TR(        \
                                                                        "", "5", "es") "}]}"

START_TEST(test_engine_cancels_and_compensates_newest_first)
{
        load(SAGA, INPUT);
        start();
        ck_assert_str_eq(steps(), "a=RUNNING b=RUNNING d=RUNNING e=RUNNING s=SLEEPING "
                                  "w=WAITING c=PENDING");
        reply_at(1000, "a", 1, "{'translations': [{'text': 'A'}]}");
        reply_at(2000, "b", 1, "{'translations': [{'text': 'B'}]}");
        ck_assert_str_eq(events(), "STEP_COMPLETED b 1, STEP_SCHEDULED c 1");
        fail_at(2500, "e", 1, CAIRN_ERR_UNAVAILABLE, "x");
        ck_assert_str_eq(steps(), "a=COMPLETED b=COMPLETED d=RUNNING e=BACKOFF s=SLEEPING "
                                  "w=WAITING c=RUNNING");

        /* what waits is cancelled, what is in flight (d, c) finishes */
        now = T0 + 3000;
        tick();
        wf_engine_cancel(&t, "user asked");
        ck_assert_str_eq(events(), "CANCEL_REQUESTED");
        ck_assert_int_eq(t.events[0].err, CAIRN_ERR_CANCELLED);
        ck_assert_str_eq(t.events[0].error, "cancelled: user asked");
        ck_assert_str_eq(steps(), "a=COMPLETED b=COMPLETED d=RUNNING e=CANCELLED s=CANCELLED "
                                  "w=CANCELLED c=RUNNING");
        ck_assert_int_eq(t.ndispatches, 0);
        ck_assert_int_eq(run.status, WF_RUNNING);
        ck_assert(run.cancel_requested);
        ck_assert_int_eq(t.wake_ms, T0 + 60000);
        /* a second cancel is nothing new */
        tick();
        wf_engine_cancel(&t, "again");
        ck_unchanged();
        ck_assert_str_eq(run.error, "cancelled: user asked");
        /* nor is a signal */
        signal_add("go", "{}");
        at(50000);
        ck_unchanged();
        ck_assert_ptr_null(signals[0].taken_by);

        /* c fails after the cancel: cancelled, not retried, the run goes on */
        fail_at(50000, "c", 1, CAIRN_ERR_UNAVAILABLE, "down");
        ck_assert_str_eq(events(), "STEP_FAILED c 1");
        ck_assert_str_eq(steps(), "a=COMPLETED b=COMPLETED d=RUNNING e=CANCELLED s=CANCELLED "
                                  "w=CANCELLED c=CANCELLED");
        ck_assert_int_eq(t.ndispatches, 0);

        /* d completes: the compensations start, newest completed first */
        reply_at(51000, "d", 1, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED d 1, STEP_SCHEDULED d.compensate 1");
        ck_assert_str_eq(dispatches(), "t.mem acme/u1 r1/d.compensate/1 +60000");
        ck_assert_str_eq(t.dispatches[0].ce_type, "cairn.memory.v1.DeleteRequest");
        ck_request_eq(0, "{'userId': 'u1', 'id': 'd'}");
        ck_assert_int_eq(t.wake_ms, T0 + 111000);

        /* one at a time: b's after d's, which is retried */
        fail_at(52000, "d.compensate", 1, CAIRN_ERR_UNAVAILABLE, "x");
        ck_assert_str_eq(events(), "STEP_RETRIED d.compensate 1");
        ck_assert_int_eq(t.ndispatches, 0);
        at(53000);
        ck_assert_str_eq(dispatches(), "t.mem acme/u1 r1/d.compensate/2 +60000");
        reply_at(54000, "d.compensate", 2, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED d.compensate 2, STEP_SCHEDULED b.compensate 1");
        ck_request_eq(0, "{'userId': 'u1', 'id': 'b-B'}");

        /* a compensation failing for good is recorded; the next one runs */
        fail_at(55000, "b.compensate", 1, CAIRN_ERR_NOT_FOUND, "gone");
        ck_assert_str_eq(events(), "STEP_FAILED b.compensate 1, STEP_SCHEDULED a.compensate 1");
        ck_request_eq(0, "{'userId': 'u1', 'id': 'A'}");
        ck_assert_int_eq(run.status, WF_RUNNING);

        reply_at(56000, "a.compensate", 1, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED a.compensate 1, RUN_CANCELLED");
        ck_assert_int_eq(run.status, WF_CANCELLED);
        ck_assert_int_eq(run.err, CAIRN_ERR_CANCELLED);
        ck_assert_str_eq(run.error, "cancelled: user asked");
        ck_assert_int_eq(event_of(EV(RUN_CANCELLED))->err, CAIRN_ERR_CANCELLED);
        ck_assert_str_eq(event_of(EV(RUN_CANCELLED))->error, "cancelled: user asked");
        ck_assert_int_eq(run.closed_ms, T0 + 56000);
        ck_assert_str_eq(steps(), "a=COMPLETED b=COMPLETED d=COMPLETED e=CANCELLED s=CANCELLED "
                                  "w=CANCELLED c=CANCELLED d.compensate=COMPLETED "
                                  "b.compensate=FAILED a.compensate=COMPLETED");
        ck_assert_int_eq(t.wake_ms, 0);
}
END_TEST

/* A fan-out's elements have their own compensations, "fo[N].compensate",
 * each reading its element's item. */
#define FAN_UNDO                                                                            \
        "{'type': 'fan-undo', 'steps': ["                                                   \
        " {'id': 'fo', 'fanOut': {'items': '${input.docs}', 'maxParallel': 3,"              \
        "  'call': {'service': 'memory', 'type': 'cairn.memory.v1.StoreRequest',"           \
        "   'request': {'userId': 'u1', 'content': '${item}'},"                             \
        "   'compensation': {'service': 'memory', 'type': 'cairn.memory.v1.DeleteRequest'," \
        "    'request': {'userId': 'u1', 'id': '${item}'}}}}},"                             \
        " {'id': 'w', 'after': ['fo'], 'waitSignal': {'name': 'go'}}]}"

START_TEST(test_engine_compensates_fan_out_elements)
{
        load(FAN_UNDO, "{'docs': ['x', 'y', 'z']}");
        start();
        reply_at(1000, "fo[1]", 1, "{}");
        reply_at(2000, "fo[0]", 1, "{}");
        now = T0 + 3000;
        tick();
        wf_engine_cancel(&t, NULL);
        ck_assert_str_eq(events(), "CANCEL_REQUESTED");
        /* fo[2] is in flight: it finishes first, then the newest completed
         * element is undone first */
        reply_at(4000, "fo[2]", 1, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[2] 1, STEP_SCHEDULED fo[2].compensate 1");
        ck_request_eq(0, "{'userId': 'u1', 'id': 'z'}");
        reply_at(5000, "fo[2].compensate", 1, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[2].compensate 1, "
                                   "STEP_SCHEDULED fo[0].compensate 1");
        ck_request_eq(0, "{'userId': 'u1', 'id': 'x'}");
        reply_at(6000, "fo[0].compensate", 1, "{}");
        ck_request_eq(0, "{'userId': 'u1', 'id': 'y'}");
        reply_at(7000, "fo[1].compensate", 1, "{}");
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[1].compensate 1, RUN_CANCELLED");
        ck_assert_int_eq(run.status, WF_CANCELLED);
}
END_TEST

/* A tick that both dispatches and closes the run (the history limit met
 * while it starts steps) sends nothing. */
START_TEST(test_engine_sends_nothing_for_a_run_it_closes)
{
        env.max_history = 4;
        load(FAN_UNDO, "{'docs': ['x', 'y', 'z']}");
        start();
        ck_assert_int_eq(run.status, WF_FAILED);
        ck_assert_int_eq(t.ndispatches, 0);
}
END_TEST

START_TEST(test_engine_cancel_edges)
{
        /* nothing completed, nothing in flight: cancelled at once */
        load(WAIT(""), INPUT);
        start();
        now = T0 + 10;
        tick();
        wf_engine_cancel(&t, NULL);
        ck_assert_str_eq(events(), "CANCEL_REQUESTED, RUN_CANCELLED");
        ck_assert_str_eq(steps(), "w=CANCELLED b=CANCELLED");
        ck_assert_int_eq(run.status, WF_CANCELLED);
        ck_assert_str_eq(run.error, "cancelled");

        /* an in-flight step timing out after the cancel: cancelled */
        load(CHAIN, INPUT);
        start();
        now = T0 + 10;
        tick();
        wf_engine_cancel(&t, "");
        ck_assert_str_eq(events(), "CANCEL_REQUESTED");
        at(60000);
        ck_assert_str_eq(events(), "STEP_FAILED a 1, RUN_CANCELLED");
        ck_assert_int_eq(t.events[0].err, CAIRN_ERR_DEADLINE);
        ck_assert_str_eq(steps(), "a=CANCELLED b=CANCELLED c=CANCELLED");

        /* during a fan-out: the elements in flight finish, the others and
         * the fan-out itself are cancelled */
        load(FAN("", "", "${input.docs}"), "{'docs': ['a', 'b', 'c', 'd', 'e']}");
        start();
        fail_at(10, "fo[1]", 1, CAIRN_ERR_UNAVAILABLE, "x");
        tick();
        wf_engine_cancel(&t, "enough");
        ck_assert_str_eq(events(), "CANCEL_REQUESTED");
        ck_assert_str_eq(steps(), "fo=CANCELLED fo[0]=RUNNING fo[1]=CANCELLED fo[2]=RUNNING "
                                  "fo[3]=CANCELLED fo[4]=CANCELLED");
        reply_at(20, "fo[0]", 1, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[0] 1");
        ck_assert_int_eq(t.ndispatches, 0);
        reply_at(30, "fo[2]", 1, HOLA);
        ck_assert_str_eq(events(), "STEP_COMPLETED fo[2] 1, RUN_CANCELLED");
        ck_assert_str_eq(run.error, "cancelled: enough");

        /* a compensation that cannot be built fails; the cancel still ends */
        load("{'type': 'saga', 'steps': [{'id': 'a', " TR(UNDO("${input.nope}"), "1", "es") "}]}",
             INPUT);
        start();
        reply_at(10, "a", 1, HOLA);
        /* closed: cancel does nothing */
        ck_assert_int_eq(run.status, WF_COMPLETED);
        tick();
        wf_engine_cancel(&t, "late");
        ck_unchanged();
        load("{'type': 'saga', 'steps': [{'id': 'a', " TR(
                     UNDO("${input.nope}"), "1",
                     "es") "},"
                           " {'id': 'b', 'after': ['a'], 'sleep': {'duration': '1s'}}]}",
             INPUT);
        start();
        reply_at(10, "a", 1, HOLA);
        tick();
        wf_engine_cancel(&t, "x");
        ck_assert_str_eq(events(), "CANCEL_REQUESTED, STEP_FAILED a.compensate 0, RUN_CANCELLED");
        ck_assert_str_eq(step("a.compensate")->error, "${input.nope}: input has no field \"nope\"");
}
END_TEST

START_TEST(test_engine_terminates)
{
        load(SAGA, INPUT);
        start();
        reply_at(1000, "a", 1, HOLA);
        now = T0 + 2000;
        tick();
        wf_engine_terminate(&t, "ops: stuck");
        ck_assert_str_eq(events(), "RUN_TERMINATED");
        ck_assert_int_eq(t.events[0].err, CAIRN_ERR_ABORTED);
        ck_assert_str_eq(t.events[0].error, "terminated: ops: stuck");
        ck_assert_int_eq(run.status, WF_TERMINATED);
        ck_assert_int_eq(run.err, CAIRN_ERR_ABORTED);
        ck_assert_str_eq(run.error, "terminated: ops: stuck");
        ck_assert_int_eq(run.closed_ms, T0 + 2000);
        /* no compensation, everything unfinished cancelled */
        ck_assert_int_eq(t.ndispatches, 0);
        ck_assert_str_eq(steps(), "a=COMPLETED b=CANCELLED d=CANCELLED e=CANCELLED s=CANCELLED "
                                  "w=CANCELLED c=CANCELLED");
        ck_assert_int_eq(t.wake_ms, 0);
        reply_at(3000, "b", 1, HOLA);
        ck_unchanged();
        tick();
        wf_engine_terminate(&t, "again");
        ck_unchanged();
        at(3600000);
        ck_unchanged();

        /* during a cancel, without a reason */
        load(SAGA, INPUT);
        start();
        reply_at(1000, "a", 1, HOLA);
        tick();
        wf_engine_cancel(&t, "x");
        tick();
        wf_engine_terminate(&t, NULL);
        ck_assert_str_eq(events(), "RUN_TERMINATED");
        ck_assert_str_eq(run.error, "terminated");
}
END_TEST

/* ---- ce_id ---- */

START_TEST(test_wf_ce_id_parse)
{
        char run_id[8], st[16];
        uint32_t attempt = 0;
        static const char *const bad[] = {
                "",
                "r1",
                "r1/a",
                "r1/a/",
                "r1//1",
                "/a/1",
                "r1/a/0",
                "r1/a/x",
                "r1/a/1x",
                "r1/a/ 1",
                "r1/a/+1",
                "r1/a/-1",
                "r1/a/0x1",
                "r1/a/4294967296",
                "r1/a/-18446744073709551615",
                "r1234567/a/1",
                "r1/0123456789abcdef/1",
        };

        ck_assert_int_eq(wf_ce_id_parse("r1/a/1", run_id, sizeof(run_id), st, sizeof(st), &attempt),
                         0);
        ck_assert_str_eq(run_id, "r1");
        ck_assert_str_eq(st, "a");
        ck_assert_uint_eq(attempt, 1);
        ck_assert_int_eq(wf_ce_id_parse("r123456/fo[12]/4294967295", run_id, sizeof(run_id), st,
                                        sizeof(st), &attempt),
                         0);
        ck_assert_str_eq(run_id, "r123456");
        ck_assert_str_eq(st, "fo[12]");
        ck_assert_uint_eq(attempt, 4294967295u);
        ck_assert_int_eq(wf_ce_id_parse("r/d.compensate/07", run_id, sizeof(run_id), st, sizeof(st),
                                        &attempt),
                         0);
        ck_assert_str_eq(st, "d.compensate");
        ck_assert_uint_eq(attempt, 7);
        /* what the engine makes, it reads back */
        load(FAN("", "", "${input.docs}"), "{'docs': ['x']}");
        start();
        ck_assert_int_eq(wf_ce_id_parse(t.dispatches[0].ce_id, run_id, sizeof(run_id), st,
                                        sizeof(st), &attempt),
                         0);
        ck_assert_str_eq(run_id, "r1");
        ck_assert_str_eq(st, "fo[0]");
        ck_assert_uint_eq(attempt, 1);

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(wf_ce_id_parse(bad[i], run_id, sizeof(run_id), st, sizeof(st),
                                             &attempt) == -1,
                              "\"%s\" accepted", bad[i]);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_engine");
        TCase *tc;

        tc = tcase_create("steps");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_engine_runs_a_chain);
        tcase_add_test(tc, test_engine_runs_parallel_branches_and_joins_them);
        tcase_add_test(tc, test_engine_skips_steps_whose_condition_does_not_hold);
        tcase_add_test(tc, test_engine_completes_a_run_whose_steps_were_all_skipped);
        tcase_add_test(tc, test_engine_fails_a_step_whose_condition_cannot_be_evaluated);
        tcase_add_test(tc, test_engine_runs_from_its_stored_state);
        tcase_add_test(tc, test_engine_fails_a_call_whose_request_cannot_be_built);
        suite_add_tcase(s, tc);

        tc = tcase_create("retries");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_engine_retries_with_temporal_default_delays);
        tcase_add_test(tc, test_engine_retries_by_a_custom_policy);
        tcase_add_test(tc, test_engine_never_retries_the_default_non_retryable_codes);
        tcase_add_test(tc, test_engine_retries_an_attempt_that_timed_out);
        tcase_add_test(tc, test_engine_stops_retrying_at_schedule_to_close);
        tcase_add_test(tc, test_engine_ignores_stale_and_duplicate_replies);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_engine_fails_a_step_whose_reply_is_too_large);
        tcase_add_test(tc, test_engine_fails_the_run_at_the_history_limit);
        tcase_add_test(tc, test_engine_fails_the_run_when_its_output_cannot_be_made);
        tcase_add_test(tc, test_engine_times_the_run_out);
        suite_add_tcase(s, tc);

        tc = tcase_create("timers_and_signals");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_engine_sleeps_for_a_duration);
        tcase_add_test(tc, test_engine_sleeps_until_a_time);
        tcase_add_test(tc, test_engine_takes_a_signal_sent_before_the_wait);
        tcase_add_test(tc, test_engine_takes_a_signal_sent_during_the_wait);
        tcase_add_test(tc, test_engine_gives_a_signal_to_one_waiting_step);
        tcase_add_test(tc, test_engine_fails_a_wait_that_times_out);
        suite_add_tcase(s, tc);

        tc = tcase_create("fan_out");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_engine_fans_out_over_a_list);
        tcase_add_test(tc, test_engine_fans_out_by_the_default_parallelism);
        tcase_add_test(tc, test_engine_fans_out_over_more_elements_than_steps_fit);
        tcase_add_test(tc, test_engine_fan_out_edges);
        tcase_add_test(tc, test_engine_fan_out_sees_the_previous_element);
        suite_add_tcase(s, tc);

        tc = tcase_create("cancel_terminate");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_engine_cancels_and_compensates_newest_first);
        tcase_add_test(tc, test_engine_compensates_fan_out_elements);
        tcase_add_test(tc, test_engine_sends_nothing_for_a_run_it_closes);
        tcase_add_test(tc, test_engine_cancel_edges);
        tcase_add_test(tc, test_engine_terminates);
        suite_add_tcase(s, tc);

        tc = tcase_create("wf_ce_id_parse");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_wf_ce_id_parse);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

/* Unit tests for workflow definitions (services/workflow/definition.h):
 * every refusal of wf_definition_check with its field and message, word for
 * word; a definition using every kind of step, branches, a fan-out and a
 * compensation accepted; the graph's predecessors, successors and order;
 * and the retry arithmetic against Temporal's defaults. Definitions are
 * written as JSON and parsed with libcairn's proto3 JSON mapping, as the
 * service and cairn-admin receive them. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pbjson.h"
#include "workflow/definition.h"
#include "../unit.h"

static const struct wf_target targets[] = {
        { "translation", "cairn.translation.v1.requests" },
        { "memory", "cairn.memory.v1.requests" },
        { "speech", "cairn.speech.v1.requests" },
        { "embedding", "cairn.embedding.v1.requests" },
};

static const struct wf_def_env env = {
        .targets = targets,
        .ntargets = 4,
        .max_steps = 10,
        .max_duration_ms = 86400000,
};

static struct cairn_status st;

/* Steps' calls, in JSON with ' for ". */
#define TR_CALL                                                                                \
        "'call': {'service': 'translation', 'type': 'cairn.translation.v1.TranslateRequest', " \
        "'request': {'texts': ['${input.text}'], 'target': 'es'}}"
#define STEP(id, after) "{'id': '" id "', 'after': [" after "], " TR_CALL "}"

/* A definition of type "t" with @p steps (a JSON list's inside). */
#define DEF(steps) "{'type': 't', 'steps': [" steps "]}"

/* clang-format off */
#define TEN_STEPS                                                                \
        STEP("s0", "") "," STEP("s1", "") "," STEP("s2", "") "," STEP("s3", "") "," \
        STEP("s4", "") "," STEP("s5", "") "," STEP("s6", "") "," STEP("s7", "") "," \
        STEP("s8", "") "," STEP("s9", "")
/* clang-format on */

static wf_definition *parse(const char *json)
{
        struct cairn_pbjson_error perr;
        ProtobufCMessage *m = NULL;
        char *copy = strdup(json);

        for (char *p = copy; *p; p++)
                if (*p == '\'')
                        *p = '"';
        ck_assert_msg(cairn_pbjson_parse(&cairn__workflow__v1__workflow_definition__descriptor,
                                         copy, strlen(copy), 64, &m, &perr) == CAIRN_OK,
                      "%s: %s: %s", copy, perr.field, perr.message);
        free(copy);
        return (wf_definition *)m;
}

static void def_free(wf_definition *def)
{
        protobuf_c_message_free_unpacked(&def->base, NULL);
}

static cairn_err_t check_def(wf_definition *def)
{
        return wf_definition_check(def, &env, &st);
}

static void accepted(const char *json)
{
        wf_definition *def = parse(json);

        ck_assert_msg(check_def(def) == CAIRN_OK, "%s: %s", st.field, st.message);
        def_free(def);
}

/* @p def (freed) must be refused with exactly this field and message. */
static void refused_def(wf_definition *def, const char *field, const char *message)
{
        cairn_err_t err = check_def(def);

        def_free(def);
        ck_assert_msg(err == CAIRN_ERR_INVALID, "accepted; wanted %s", message);
        ck_assert_str_eq(st.message, message);
        ck_assert_str_eq(st.field, field);
        ck_assert_str_ne(st.reason, "");
}

static void refused(const char *json, const char *field, const char *message)
{
        refused_def(parse(json), field, message);
}

/* ---- a valid definition ---- */

#define COMPLEX                                                                                  \
        "{'type': 'transcribe-translate-remember', 'description': 'every kind of step',"         \
        " 'steps': ["                                                                            \
        "  {'id': 'detect', 'call': {'service': 'translation',"                                  \
        "    'type': 'cairn.translation.v1.DetectRequest',"                                      \
        "    'request': {'texts': ['${input.text}']},"                                           \
        "    'retry': {'initialInterval': '0.5s', 'backoffCoefficient': 1.5,"                    \
        "              'maximumInterval': '30s', 'maximumAttempts': 5,"                          \
        "              'nonRetryableCodes': ['INVALID_ARGUMENT', 'NOT_FOUND']},"                 \
        "    'startToCloseTimeout': '10s', 'scheduleToCloseTimeout': '60s'}},"                   \
        "  {'id': 'to-es', 'after': ['detect'],"                                                 \
        "   'when': {'ref': 'steps.detect.output.results[0].detections[0].language',"            \
        "            'op': 'OP_NOT_EQUALS', 'value': 'es'},"                                     \
        "   'call': {'service': 'translation', 'type': 'cairn.translation.v1.TranslateRequest'," \
        "    'request': {'texts': ['${input.text}'], 'target': 'es',"                            \
        "                'source': '${steps.detect.output.results.0.detections.0.language}'}}}," \
        "  {'id': 'as-is', 'after': ['detect'],"                                                 \
        "   'when': {'ref': 'steps.detect.output.results[0].detections[0].language',"            \
        "            'op': 'OP_EQUALS', 'value': 'es'},"                                         \
        "   'sleep': {'duration': '0s'}},"                                                       \
        "  {'id': 'approve', 'after': ['to-es', 'as-is'],"                                       \
        "   'when': {'ref': 'input.needs_approval', 'op': 'OP_TRUTHY'},"                         \
        "   'waitSignal': {'name': 'approved.v1', 'timeout': '3600s'}},"                         \
        "  {'id': 'embed-all', 'after': ['approve'],"                                            \
        "   'when': {'ref': 'input.documents', 'op': 'OP_EXISTS'},"                              \
        "   'fanOut': {'items': '${input.documents}', 'maxParallel': 4,"                         \
        "    'call': {'service': 'embedding', 'type': 'cairn.embedding.v1.EmbedRequest',"        \
        "     'request': {'inputs': ['${item.text}'], 'model': 'm', 'user': 'doc ${index}'},"    \
        "     'key': '${run.tenant}',"                                                           \
        "     'compensation': {'service': 'memory', 'type': 'cairn.memory.v1.DeleteRequest',"    \
        "      'request': {'userId': '${input.user_id}', 'id': '${item.id}'}}}}},"               \
        "  {'id': 'store', 'after': ['embed-all'],"                                              \
        "   'when': {'ref': 'input.priority', 'op': 'OP_IN', 'value': [1, 2, 'high']},"          \
        "   'call': {'service': 'memory', 'type': 'cairn.memory.v1.StoreRequest',"               \
        "    'key': '${run.tenant}/${input.user_id}',"                                           \
        "    'request': {'userId': '${input.user_id}',"                                          \
        "     'content': 'translated: ${steps.to-es.output.translations[0].text}',"              \
        "     'metadata': {'signal': '${steps.approve.output}',"                                 \
        "                  'first': '${steps.embed-all.output[0]}', 'cost': '$${not.a.ref}'}},"  \
        "    'compensation': {'service': 'memory', 'type': 'cairn.memory.v1.DeleteRequest',"     \
        "     'request': {'userId': '${input.user_id}',"                                         \
        "                 'id': '${steps.store.output.results[0].id}'},"                         \
        "     'retry': {'maximumAttempts': 3}}}},"                                               \
        "  {'id': 'later', 'after': ['store'],"                                                  \
        "   'when': {'ref': 'steps.store.output.results', 'op': 'OP_GREATER', 'value': 'a'},"    \
        "   'sleep': {'until': '${input.deadline}'}},"                                           \
        "  {'id': 'speak', 'after': ['later'],"                                                  \
        "   'when': {'ref': 'run.type', 'op': 'OP_LESS', 'value': 3},"                           \
        "   'call': {'service': 'speech', 'type': 'cairn.speech.v1.SynthesizeRequest',"          \
        "    'request': {'text': '${steps.to-es.output.translations[0].text}'}}}"                \
        " ],"                                                                                    \
        " 'output': {'memory': '${steps.store.output}', 'id': '${run.workflow_id}',"             \
        "            'all': ['${steps.speak.output}', '${run.run_id}', '${input}']},"            \
        " 'runTimeout': '86400s'}"

START_TEST(test_wf_definition_check_accepts_every_kind_of_step)
{
        char type[130], id[80], json[512];

        accepted(COMPLEX);
        /* the smallest */
        accepted(DEF(STEP("a", "")));
        /* the most steps */
        accepted(DEF(TEN_STEPS));
        /* ids and type at their longest */
        memset(type, '7', 128);
        memcpy(type, "a.b_c-", 6);
        type[128] = '\0';
        memset(id, 'z', 64);
        memcpy(id, "a_-0", 4);
        id[64] = '\0';
        snprintf(json, sizeof(json), "{'type': '%s', 'steps': [{'id': '%s', " TR_CALL "}]}", type,
                 id);
        accepted(json);
        /* references a step may make: input, run, its ancestors through others */
        accepted(DEF(STEP("a", "") ",{'id': 'b', 'after': ['a'], 'sleep': {'duration': '1s'}},"
                                   "{'id': 'c', 'after': ['b'], 'call': {'service': 'memory',"
                                   " 'type': 'cairn.memory.v1.SearchRequest', 'request': {"
                                   " 'query': '${steps.a.output.translations[0].text}',"
                                   " 'userId': '${run.tenant}${run.run_id}${run.type}'}}}"));
        /* a request left out, a Duration of zero, a coefficient of exactly 1 */
        accepted(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                     "'cairn.memory.v1.ListRequest', 'startToCloseTimeout': '0s', "
                     "'retry': {'backoffCoefficient': 1, 'initialInterval': '0s'}}}"));
}
END_TEST

/* ---- the definition as a whole ---- */

START_TEST(test_wf_definition_check_type_and_step_count)
{
        char type[130], json[512], want[256];
        wf_definition empty = CAIRN__WORKFLOW__V1__WORKFLOW_DEFINITION__INIT;

        refused("{'steps': [" STEP("a", "") "]}", "type", "type is required");
        refused("{'type': 'Bad', 'steps': [" STEP("a", "") "]}", "type",
                "type \"Bad\" must match [a-z0-9][a-z0-9_.-]{0,127}");
        refused("{'type': '-x', 'steps': [" STEP("a", "") "]}", "type",
                "type \"-x\" must match [a-z0-9][a-z0-9_.-]{0,127}");
        refused("{'type': 'a/b', 'steps': [" STEP("a", "") "]}", "type",
                "type \"a/b\" must match [a-z0-9][a-z0-9_.-]{0,127}");
        memset(type, 'a', 129);
        type[129] = '\0';
        snprintf(json, sizeof(json), "{'type': '%s', 'steps': [" STEP("a", "") "]}", type);
        snprintf(want, sizeof(want), "type \"%.100s...\" must match [a-z0-9][a-z0-9_.-]{0,127}",
                 type);
        refused(json, "type", want);
        refused("{'type': 't'}", "steps", "steps: at least one is required");
        refused("{'type': 't', 'steps': []}", "steps", "steps: at least one is required");
        refused(DEF(TEN_STEPS "," STEP("s10", "")), "steps",
                "steps: 11 of them, more than the 10 allowed (workflow.max_steps)");
        ck_assert_int_eq(wf_definition_check(NULL, &env, &st), CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.message, "definition is required");
        empty.type = "t";
        ck_assert_int_eq(wf_definition_check(&empty, &env, &st), CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "steps");
}
END_TEST

START_TEST(test_wf_definition_check_ids)
{
        refused(DEF("{'after': [], " TR_CALL "}"), "steps[0].id", "steps[0]: id is required");
        refused(DEF(STEP("a", "") "," STEP("B", "")), "steps[1].id",
                "steps[1] (\"B\"): id \"B\" must match [a-z0-9_-]{1,64}");
        refused(DEF(STEP("a b", "")), "steps[0].id",
                "steps[0] (\"a b\"): id \"a b\" must match [a-z0-9_-]{1,64}");
        refused(DEF(STEP("a.b", "")), "steps[0].id",
                "steps[0] (\"a.b\"): id \"a.b\" must match [a-z0-9_-]{1,64}");
        refused(DEF(STEP("abcdefghijklmnopqrstuvwxyz_-0123456789abcdefghijklmnopqrstuvwxyz_-012",
                         "")),
                "steps[0].id",
                "steps[0] (\"abcdefghijklmnopqrstuvwxyz_-0123456789abcdefghijklmnopqrstuvwxyz...\"): "
                "id \"abcdefghijklmnopqrstuvwxyz_-0123456789abcdefghijklmnopqrstuvwxyz_-012\" must "
                "match [a-z0-9_-]{1,64}");
        refused(DEF(STEP("a", "") "," STEP("b", "") "," STEP("a", "")), "steps[2].id",
                "steps[2] (\"a\"): id \"a\" is steps[0]'s too");
}
END_TEST

START_TEST(test_wf_definition_check_kind_is_required)
{
        wf_definition *def;

        refused(DEF("{'id': 'a'}"), "steps[0]",
                "steps[0] (\"a\"): one of call, sleep, wait_signal and fan_out is required");
        refused(DEF(STEP("a", "") ",{'id': 'b', 'after': ['a'], 'when': {'ref': 'input.x'}}"),
                "steps[1]",
                "steps[1] (\"b\"): one of call, sleep, wait_signal and fan_out is required");
        /* a kind whose message is missing (built by hand) */
        def = parse(DEF(STEP("a", "")));
        protobuf_c_message_free_unpacked(&def->steps[0]->call->base, NULL);
        def->steps[0]->call = NULL;
        refused_def(def, "steps[0]",
                    "steps[0] (\"a\"): one of call, sleep, wait_signal and fan_out is required");
}
END_TEST

START_TEST(test_wf_definition_check_after)
{
        refused(DEF(STEP("a", "") "," STEP("b", "'zzz'")), "steps[1].after[0]",
                "steps[1] (\"b\"): after names \"zzz\", which is not a step");
        refused(DEF(STEP("a", "") "," STEP("b", "'a', ''")), "steps[1].after[1]",
                "steps[1] (\"b\"): after names \"\", which is not a step");
        refused(DEF(STEP("a", "") "," STEP("b", "'a', 'a'")), "steps[1].after[1]",
                "steps[1] (\"b\"): after names \"a\" twice");
}
END_TEST

START_TEST(test_wf_definition_check_cycles)
{
        refused(DEF(STEP("a", "'a'")), "steps[0].after", "steps[0] (\"a\"): on a cycle a -> a");
        refused(DEF(STEP("a", "'b'") "," STEP("b", "'a'")), "steps[0].after",
                "steps[0] (\"a\"): on a cycle a -> b -> a");
        /* arrows point the way the steps would run */
        refused(DEF(STEP("a", "'c'") "," STEP("b", "'a'") "," STEP("c", "'b'")), "steps[0].after",
                "steps[0] (\"a\"): on a cycle a -> b -> c -> a");
        /* steps before it, after it and beside it are not on it */
        refused(DEF(STEP("x", "") "," STEP("y", "'x', 'c'") "," STEP("c", "'b'") "," STEP(
                        "b", "'y'") "," STEP("z", "'y'") "," STEP("w", "")),
                "steps[1].after", "steps[1] (\"y\"): on a cycle y -> b -> c -> y");
        /* a long one is cut short */
        refused(DEF(STEP("a", "'i'") "," STEP("b", "'a'") "," STEP("c", "'b'") "," STEP("d", "'c'") "," STEP(
                        "e",
                        "'d'") "," STEP("f",
                                        "'e'") "," STEP("g",
                                                        "'f'") "," STEP("h",
                                                                        "'g'") "," STEP("i",
                                                                                        "'h'")),
                "steps[0].after",
                "steps[0] (\"a\"): on a cycle a -> b -> c -> d -> e -> f -> g -> h -> ...");
}
END_TEST

START_TEST(test_wf_definition_check_call_targets)
{
        refused(DEF("{'id': 'a', 'call': {'service': 'nope', 'type': 'cairn.nope.v1.XRequest'}}"),
                "steps[0].call.service",
                "steps[0] (\"a\"): call.service \"nope\" is not a known service (known: "
                "translation, memory, speech, embedding)");
        refused(DEF("{'id': 'a', 'call': {'type': 'cairn.memory.v1.StoreRequest'}}"),
                "steps[0].call.service", "steps[0] (\"a\"): call.service is required");
        refused(DEF("{'id': 'a', 'call': {'service': 'secrets', 'type': "
                    "'cairn.secrets.v1.GetRequest'}}"),
                "steps[0].call.service",
                "steps[0] (\"a\"): call.service \"secrets\" is not a known service (known: "
                "translation, memory, speech, embedding)");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory'}}"), "steps[0].call.type",
                "steps[0] (\"a\"): call.type is required");
        refused(DEF("{'id': 'a', 'call': {'service': 'translation', 'type': "
                    "'cairn.memory.v1.StoreRequest'}}"),
                "steps[0].call.type",
                "steps[0] (\"a\"): call.type \"cairn.memory.v1.StoreRequest\" is not in package "
                "cairn.translation.v1");
        refused(DEF("{'id': 'a', 'call': {'service': 'translation', 'type': "
                    "'cairn.translation.v1.'}}"),
                "steps[0].call.type",
                "steps[0] (\"a\"): call.type \"cairn.translation.v1.\" is not in package "
                "cairn.translation.v1");
        refused(DEF("{'id': 'a', 'call': {'service': 'translation', 'type': "
                    "'cairn.translation.v1.x.TranslateRequest'}}"),
                "steps[0].call.type",
                "steps[0] (\"a\"): call.type \"cairn.translation.v1.x.TranslateRequest\" is not "
                "in package cairn.translation.v1");
        refused(DEF(STEP("a", "") "," STEP("b", "") ",{'id': 'translate', 'call': {'service': "
                                                    "'translation', 'type': "
                                                    "'cairn.translation.v1.Nope'}}"),
                "steps[2].call.type",
                "steps[2] (\"translate\"): call.type \"cairn.translation.v1.Nope\" is not a "
                "message type");
        refused(DEF("{'id': 'a', 'call': {'service': 'translation', 'type': "
                    "'cairn.translation.v1.TranslateReply'}}"),
                "steps[0].call.type",
                "steps[0] (\"a\"): call.type \"cairn.translation.v1.TranslateReply\" is not a "
                "request: its name must end in Request");
        refused(DEF("{'id': 'a', 'call': {'service': 'translation', 'type': "
                    "'cairn.translation.v1.Translation'}}"),
                "steps[0].call.type",
                "steps[0] (\"a\"): call.type \"cairn.translation.v1.Translation\" is not a "
                "request: its name must end in Request");
}
END_TEST

START_TEST(test_wf_definition_check_references_to_steps)
{
        /* the message of the brief: a step that does not run before */
        refused(DEF(STEP("a", "") "," STEP("x", "") "," STEP(
                        "b",
                        "'a'") ","
                               "{'id': 'store', 'after': ['b'], 'call': {'service': 'memory', 'type': "
                               "'cairn.memory.v1.StoreRequest', 'request': {'content': "
                               "'${steps.a.output} ${steps.x.output.y}'}}}"),
                "steps[3].call.request",
                "steps[3] (\"store\"): call.request refers to steps.x, which does not run before "
                "it");
        /* itself, a step after it, a step that is not */
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': "
                    "'${steps.a.output}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to steps.a, which does not run before it");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'key': '${steps.b.output.k}'}}," STEP("b",
                                                                                           "'a'")),
                "steps[0].call.key",
                "steps[0] (\"a\"): call.key refers to steps.b, which does not run before it");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'metadata': {'x': "
                    "['${steps.zzz.output}']}}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to steps.zzz, which is not a step");
        /* a step's data is its output */
        refused(DEF(STEP("a", "") ",{'id': 'b', 'after': ['a'], 'sleep': {'until': "
                                  "'${steps.a}'}}"),
                "steps[1].sleep.until",
                "steps[1] (\"b\"): sleep.until refers to steps.a; a step's output is "
                "steps.<id>.output");
        refused(DEF(STEP("a", "") ",{'id': 'b', 'after': ['a'], 'sleep': {'until': "
                                  "'${steps.a.outputs}'}}"),
                "steps[1].sleep.until",
                "steps[1] (\"b\"): sleep.until refers to steps.a.outputs; a step's output is "
                "steps.<id>.output");
        refused(DEF(STEP("a", "") ",{'id': 'b', 'after': ['a'], 'sleep': {'until': "
                                  "'${steps[0].output}'}}"),
                "steps[1].sleep.until",
                "steps[1] (\"b\"): sleep.until refers to steps[0].output; a step's output is "
                "steps.<id>.output");
        refused(DEF(STEP("a", "") ",{'id': 'b', 'after': ['a'], 'sleep': {'until': "
                                  "'${steps}'}}"),
                "steps[1].sleep.until",
                "steps[1] (\"b\"): sleep.until refers to steps; a step's output is "
                "steps.<id>.output");
        /* conditions see the same */
        refused(DEF(STEP("a", "") ",{'id': 'b', 'when': {'ref': 'steps.a.output.x'}, 'sleep': "
                                  "{'duration': '1s'}}"),
                "steps[1].when.ref",
                "steps[1] (\"b\"): when.ref refers to steps.a, which does not run before it");
}
END_TEST

START_TEST(test_wf_definition_check_reference_roots)
{
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': '${foo.bar}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to \"foo\", which is none of input, steps, "
                "run");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': '${inputs}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to \"inputs\", which is none of input, "
                "steps, run");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': '${run.user}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to run.user; run has workflow_id, run_id, "
                "tenant and type");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': '${run}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to run; run has workflow_id, run_id, "
                "tenant and type");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': "
                    "'${run.tenant.x}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to run.tenant.x; run has workflow_id, "
                "run_id, tenant and type");
        /* item and index only inside a fan_out's call */
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': '${item.text}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to item, which exists only in a fan_out's "
                "call");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'key': '${index}'}}"),
                "steps[0].call.key",
                "steps[0] (\"a\"): call.key refers to index, which exists only in a fan_out's "
                "call");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${item}', 'call': {'service': 'memory', "
                    "'type': 'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.items",
                "steps[0] (\"a\"): fan_out.items refers to item, which exists only in a fan_out's "
                "call");
        refused(DEF("{'id': 'a', 'when': {'ref': 'index', 'op': 'OP_TRUTHY'}, 'fanOut': {'items': "
                    "'${input.x}', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].when.ref",
                "steps[0] (\"a\"): when.ref refers to index, which exists only in a fan_out's "
                "call");
        refused("{'type': 't', 'steps': [" STEP("a", "") "], 'output': {'x': '${item}'}}", "output",
                "output refers to item, which exists only in a fan_out's call");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.x}', 'call': {'service': 'memory', "
                    "'type': 'cairn.memory.v1.StoreRequest', 'request': {'content': "
                    "'${items}'}}}}"),
                "steps[0].fan_out.call.request",
                "steps[0] (\"a\"): fan_out.call.request refers to \"items\", which is none of "
                "input, steps, run, item, index, previous");
}
END_TEST

START_TEST(test_wf_definition_check_malformed_templates)
{
        char deep[512] = "";

        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': '${input.x'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request: unterminated ${ in \"${input.x\"");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'key': '${input..x}'}}"),
                "steps[0].call.key",
                "steps[0] (\"a\"): call.key: ${input..x}: empty name at byte 6");
        refused(DEF("{'id': 'a', 'sleep': {'until': '${}'}}"), "steps[0].sleep.until",
                "steps[0] (\"a\"): sleep.until: ${}: empty reference");
        refused("{'type': 't', 'steps': [" STEP("a", "") "], 'output': {'x': 'a ${b'}}", "output",
                "output: unterminated ${ in \"a ${b\"");
        refused(DEF("{'id': 'a', 'when': {'ref': 'inputs[0]'}, " TR_CALL "}"), "steps[0].when.ref",
                "steps[0] (\"a\"): when.ref refers to \"inputs\", which is none of input, steps, "
                "run");
        /* 33 levels of lists in a request: too deep (a Struct is one level itself) */
        strcat(deep, "{'type': 't', 'steps': [{'id': 'a', 'call': {'service': 'memory', 'type': "
                     "'cairn.memory.v1.StoreRequest', 'request': {'x': ");
        for (int i = 0; i < 32; i++)
                strcat(deep, "[");
        for (int i = 0; i < 32; i++)
                strcat(deep, "]");
        strcat(deep, "}}}]}");
        refused(deep, "steps[0].call.request",
                "steps[0] (\"a\"): call.request: template nested deeper than 32 levels");
}
END_TEST

START_TEST(test_wf_definition_check_conditions)
{
        wf_definition *def;

        refused(DEF("{'id': 'a', 'when': {'op': 'OP_EXISTS'}, " TR_CALL "}"), "steps[0].when.ref",
                "steps[0] (\"a\"): when.ref is required");
        refused(DEF("{'id': 'a', 'when': {'ref': 'input..x'}, " TR_CALL "}"), "steps[0].when.ref",
                "steps[0] (\"a\"): when.ref: ${input..x}: empty name at byte 6");
        refused(DEF("{'id': 'a', 'when': {'ref': '${input.x}'}, " TR_CALL "}"), "steps[0].when.ref",
                "steps[0] (\"a\"): when.ref: ${${input.x}}: \"$\" at byte 0 is not allowed in a "
                "name");
        refused(DEF("{'id': 'a', 'when': {'ref': 'input.x', 'op': 42}, " TR_CALL "}"),
                "steps[0].when.op", "steps[0] (\"a\"): when.op 42 is not an op");
        refused(DEF("{'id': 'a', 'when': {'ref': 'input.x', 'op': 'OP_IN', 'value': 'x'}, " TR_CALL
                    "}"),
                "steps[0].when.value", "steps[0] (\"a\"): when.value must be a list for OP_IN");
        refused(DEF("{'id': 'a', 'when': {'ref': 'input.x', 'op': 'OP_IN'}, " TR_CALL "}"),
                "steps[0].when.value", "steps[0] (\"a\"): when.value must be a list for OP_IN");
        refused(DEF("{'id': 'a', 'when': {'ref': 'input.x', 'op': 'OP_GREATER', 'value': {}}, " TR_CALL
                    "}"),
                "steps[0].when.value",
                "steps[0] (\"a\"): when.value must be a number or a string for OP_GREATER");
        refused(DEF("{'id': 'a', 'when': {'ref': 'input.x', 'op': 'OP_LESS', 'value': true}, " TR_CALL
                    "}"),
                "steps[0].when.value",
                "steps[0] (\"a\"): when.value must be a number or a string for OP_LESS");
        def = parse(DEF("{'id': 'a', 'when': {'ref': 'input.x', 'value': 1}, " TR_CALL "}"));
        def->steps[0]->when->value->number_value = NAN;
        refused_def(def, "steps[0].when.value",
                    "steps[0] (\"a\"): when.value has no JSON form (NaN or invalid UTF-8)");
}
END_TEST

START_TEST(test_wf_definition_check_durations)
{
        wf_definition *def;

        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'startToCloseTimeout': '-1s'}}"),
                "steps[0].call.start_to_close_timeout",
                "steps[0] (\"a\"): call.start_to_close_timeout -1s is negative");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'scheduleToCloseTimeout': '-0.000000001s'}}"),
                "steps[0].call.schedule_to_close_timeout",
                "steps[0] (\"a\"): call.schedule_to_close_timeout -0.000000001s is negative");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'startToCloseTimeout': '86401s'}}"),
                "steps[0].call.start_to_close_timeout",
                "steps[0] (\"a\"): call.start_to_close_timeout 86401s is longer than the 86400s "
                "allowed");
        refused(DEF("{'id': 'a', 'sleep': {'duration': '86400.0001s'}}"), "steps[0].sleep.duration",
                "steps[0] (\"a\"): sleep.duration 86400.0001s is longer than the 86400s allowed");
        refused(DEF("{'id': 'a', 'sleep': {'duration': '315576000000s'}}"),
                "steps[0].sleep.duration",
                "steps[0] (\"a\"): sleep.duration 315576000000s is longer than the 86400s allowed");
        refused(DEF("{'id': 'a', 'waitSignal': {'name': 'go', 'timeout': '-5s'}}"),
                "steps[0].wait_signal.timeout",
                "steps[0] (\"a\"): wait_signal.timeout -5s is negative");
        refused("{'type': 't', 'runTimeout': '100000s', 'steps': [" STEP("a", "") "]}",
                "run_timeout", "run_timeout 100000s is longer than the 86400s allowed");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'initialInterval': '-1s'}}}"),
                "steps[0].call.retry.initial_interval",
                "steps[0] (\"a\"): call.retry.initial_interval -1s is negative");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'maximumInterval': '90000s'}}}"),
                "steps[0].call.retry.maximum_interval",
                "steps[0] (\"a\"): call.retry.maximum_interval 90000s is longer than the 86400s "
                "allowed");
        /* built by hand: signs that disagree, nanos out of range */
        def = parse(DEF("{'id': 'a', 'sleep': {'duration': '1s'}}"));
        def->steps[0]->sleep->duration->nanos = -1;
        refused_def(def, "steps[0].sleep.duration",
                    "steps[0] (\"a\"): sleep.duration is not a valid duration (seconds 1, nanos "
                    "-1)");
        def = parse(DEF("{'id': 'a', 'sleep': {'duration': '1s'}}"));
        def->steps[0]->sleep->duration->nanos = 1000000000;
        refused_def(def, "steps[0].sleep.duration",
                    "steps[0] (\"a\"): sleep.duration is not a valid duration (seconds 1, nanos "
                    "1000000000)");
        def = parse(DEF("{'id': 'a', 'sleep': {'duration': '1s'}}"));
        def->steps[0]->sleep->duration->seconds = INT64_MAX;
        refused_def(def, "steps[0].sleep.duration",
                    "steps[0] (\"a\"): sleep.duration 9223372036854775807s is longer than the "
                    "86400s allowed");
        def = parse(DEF("{'id': 'a', 'sleep': {'duration': '1s'}}"));
        def->steps[0]->sleep->duration->seconds = INT64_MIN;
        refused_def(def, "steps[0].sleep.duration",
                    "steps[0] (\"a\"): sleep.duration -9223372036854775808s is negative");
}
END_TEST

START_TEST(test_wf_definition_check_retry_policies)
{
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'nonRetryableCodes': "
                    "['NOT_FOUND', 'NOPE']}}}"),
                "steps[0].call.retry.non_retryable_codes[1]",
                "steps[0] (\"a\"): call.retry.non_retryable_codes[1] \"NOPE\" is not the name of "
                "a gRPC error code (INVALID_ARGUMENT, UNAVAILABLE, ...)");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'nonRetryableCodes': "
                    "['not_found']}}}"),
                "steps[0].call.retry.non_retryable_codes[0]",
                "steps[0] (\"a\"): call.retry.non_retryable_codes[0] \"not_found\" is not the name "
                "of a gRPC error code (INVALID_ARGUMENT, UNAVAILABLE, ...)");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'nonRetryableCodes': ['OK']}}}"),
                "steps[0].call.retry.non_retryable_codes[0]",
                "steps[0] (\"a\"): call.retry.non_retryable_codes[0] \"OK\" is not the name of a "
                "gRPC error code (INVALID_ARGUMENT, UNAVAILABLE, ...)");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'backoffCoefficient': 0.5}}}"),
                "steps[0].call.retry.backoff_coefficient",
                "steps[0] (\"a\"): call.retry.backoff_coefficient 0.5 must be 0 (the default, 2) "
                "or at least 1");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'backoffCoefficient': -2}}}"),
                "steps[0].call.retry.backoff_coefficient",
                "steps[0] (\"a\"): call.retry.backoff_coefficient -2 must be 0 (the default, 2) "
                "or at least 1");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'backoffCoefficient': 'NaN'}}}"),
                "steps[0].call.retry.backoff_coefficient",
                "steps[0] (\"a\"): call.retry.backoff_coefficient nan must be 0 (the default, 2) "
                "or at least 1");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'backoffCoefficient': "
                    "'Infinity'}}}"),
                "steps[0].call.retry.backoff_coefficient",
                "steps[0] (\"a\"): call.retry.backoff_coefficient inf must be 0 (the default, 2) "
                "or at least 1");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'initialInterval': '5s', "
                    "'maximumInterval': '2.5s'}}}"),
                "steps[0].call.retry.maximum_interval",
                "steps[0] (\"a\"): call.retry.maximum_interval 2.5s is shorter than the initial "
                "interval 5s");
        /* against the default initial interval, 1 s */
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'retry': {'maximumInterval': '0.5s'}}}"),
                "steps[0].call.retry.maximum_interval",
                "steps[0] (\"a\"): call.retry.maximum_interval 0.5s is shorter than the initial "
                "interval 1s");
        /* a fan-out's call and a compensation are checked the same way */
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.x}', 'call': {'service': 'memory', "
                    "'type': 'cairn.memory.v1.StoreRequest', 'retry': {'nonRetryableCodes': "
                    "['X']}}}}"),
                "steps[0].fan_out.call.retry.non_retryable_codes[0]",
                "steps[0] (\"a\"): fan_out.call.retry.non_retryable_codes[0] \"X\" is not the name "
                "of a gRPC error code (INVALID_ARGUMENT, UNAVAILABLE, ...)");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'compensation': {'service': 'memory', "
                    "'type': 'cairn.memory.v1.DeleteRequest', 'retry': {'backoffCoefficient': "
                    "0.1}}}}"),
                "steps[0].call.compensation.retry.backoff_coefficient",
                "steps[0] (\"a\"): call.compensation.retry.backoff_coefficient 0.1 must be 0 (the "
                "default, 2) or at least 1");
}
END_TEST

START_TEST(test_wf_definition_check_compensations)
{
        /* its own step's output: yes; item outside a fan-out: no */
        accepted(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                     "'cairn.memory.v1.StoreRequest', 'compensation': {'service': 'memory', "
                     "'type': 'cairn.memory.v1.DeleteRequest', 'request': {'id': "
                     "'${steps.a.output.results[0].id}'}}}}"));
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'compensation': {'service': 'memory', "
                    "'type': 'cairn.memory.v1.DeleteRequest', 'request': {'id': "
                    "'${item}'}}}}"),
                "steps[0].call.compensation.request",
                "steps[0] (\"a\"): call.compensation.request refers to item, which exists only in "
                "a fan_out's call");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'compensation': {'service': 'speech', "
                    "'type': 'cairn.memory.v1.DeleteRequest'}}}"),
                "steps[0].call.compensation.type",
                "steps[0] (\"a\"): call.compensation.type \"cairn.memory.v1.DeleteRequest\" is not "
                "in package cairn.speech.v1");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'compensation': {'service': 'memory', "
                    "'type': 'cairn.memory.v1.DeleteRequest', 'compensation': {'service': "
                    "'memory', 'type': 'cairn.memory.v1.StoreRequest'}}}}"),
                "steps[0].call.compensation.compensation",
                "steps[0] (\"a\"): call.compensation.compensation: a compensation has no "
                "compensation of its own");
        refused(DEF(STEP("a", "") ",{'id': 'b', 'call': {'service': 'memory', 'type': "
                                  "'cairn.memory.v1.StoreRequest', 'compensation': {'service': "
                                  "'memory', 'type': 'cairn.memory.v1.DeleteRequest', 'key': "
                                  "'${steps.a.output}'}}}"),
                "steps[1].call.compensation.key",
                "steps[1] (\"b\"): call.compensation.key refers to steps.a, which does not run "
                "before it");
}
END_TEST

START_TEST(test_wf_definition_check_sleep_signal_fan_out)
{
        refused(DEF("{'id': 'a', 'sleep': {}}"), "steps[0].sleep",
                "steps[0] (\"a\"): sleep needs duration or until");
        refused(DEF("{'id': 'a', 'sleep': {'duration': '1s', 'until': '${input.t}'}}"),
                "steps[0].sleep", "steps[0] (\"a\"): sleep takes duration or until, not both");
        accepted(DEF("{'id': 'a', 'sleep': {'until': '2027-01-01T00:00:00Z'}}"));
        refused(DEF("{'id': 'a', 'waitSignal': {}}"), "steps[0].wait_signal.name",
                "steps[0] (\"a\"): wait_signal.name \"\" must match [A-Za-z0-9_.-]{1,64}");
        refused(DEF("{'id': 'a', 'waitSignal': {'name': 'go now'}}"), "steps[0].wait_signal.name",
                "steps[0] (\"a\"): wait_signal.name \"go now\" must match [A-Za-z0-9_.-]{1,64}");
        refused(DEF("{'id': 'a', 'waitSignal': {'name': "
                    "'a12345678901234567890123456789012345678901234567890123456789012345'}}"),
                "steps[0].wait_signal.name",
                "steps[0] (\"a\"): wait_signal.name "
                "\"a12345678901234567890123456789012345678901234567890123456789012345\" must match "
                "[A-Za-z0-9_.-]{1,64}");
        accepted(DEF("{'id': 'a', 'waitSignal': {'name': "
                     "'A-Z.a_z01234567890123456789012345678901234567890123456789012345'}}"));
        refused(DEF("{'id': 'a', 'fanOut': {'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.items", "steps[0] (\"a\"): fan_out.items is required");
        refused(DEF("{'id': 'a', 'fanOut': {'items': 'input.documents', 'call': {'service': "
                    "'memory', 'type': 'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.items",
                "steps[0] (\"a\"): fan_out.items \"input.documents\" must be one reference to a "
                "list, such as \"${input.documents}\"");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.a}${input.b}', 'call': {'service': "
                    "'memory', 'type': 'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.items",
                "steps[0] (\"a\"): fan_out.items \"${input.a}${input.b}\" must be one reference to "
                "a list, such as \"${input.documents}\"");
        refused(DEF("{'id': 'a', 'fanOut': {'items': 'x${input.a}', 'call': {'service': "
                    "'memory', 'type': 'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.items",
                "steps[0] (\"a\"): fan_out.items \"x${input.a}\" must be one reference to a list, "
                "such as \"${input.documents}\"");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '$${input.a}', 'call': {'service': "
                    "'memory', 'type': 'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.items",
                "steps[0] (\"a\"): fan_out.items \"$${input.a}\" must be one reference to a list, "
                "such as \"${input.documents}\"");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.a'}}"), "steps[0].fan_out.items",
                "steps[0] (\"a\"): fan_out.items: unterminated ${ in \"${input.a\"");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.a}'}}"), "steps[0].fan_out.call",
                "steps[0] (\"a\"): fan_out.call is required");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.a}', 'call': {'service': 'memory', "
                    "'type': 'cairn.memory.v1.StoreRequest', 'request': {'x': "
                    "'${steps.a.output}'}}}}"),
                "steps[0].fan_out.call.request",
                "steps[0] (\"a\"): fan_out.call.request refers to steps.a, which does not run "
                "before it");
}
END_TEST

START_TEST(test_wf_definition_check_fan_out_when_and_previous)
{
        /* a per-element condition and the element before: both inside the fan-out only */
        accepted(DEF("{'id': 'a', 'fanOut': {'items': '${input.turns}', 'when': {'ref': "
                     "'item.text', 'op': 'OP_TRUTHY'}, 'call': {'service': 'memory', 'type': "
                     "'cairn.memory.v1.StoreRequest', 'request': {'content': '${item.text}', "
                     "'metadata': {'previous': '${previous.text}', 'n': '${index}'}}}}}"));
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.turns}', 'when': {'ref': "
                    "'items.text', 'op': 'OP_TRUTHY'}, 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.when.ref",
                "steps[0] (\"a\"): fan_out.when.ref refers to \"items\", which is none of input, "
                "steps, run, item, index, previous");
        refused(DEF("{'id': 'a', 'fanOut': {'items': '${input.turns}', 'when': {'ref': "
                    "'item', 'op': 'OP_IN', 'value': 3}, 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest'}}}"),
                "steps[0].fan_out.when.value",
                "steps[0] (\"a\"): fan_out.when.value must be a list for OP_IN");
        refused(DEF(STEP("a", "") ",{'id': 'b', 'fanOut': {'items': '${input.turns}', 'when': "
                                  "{'ref': 'steps.a.output'}, 'call': {'service': 'memory', "
                                  "'type': 'cairn.memory.v1.StoreRequest'}}}"),
                "steps[1].fan_out.when.ref",
                "steps[1] (\"b\"): fan_out.when.ref refers to steps.a, which does not run before "
                "it");
        refused(DEF("{'id': 'a', 'call': {'service': 'memory', 'type': "
                    "'cairn.memory.v1.StoreRequest', 'request': {'content': '${previous}'}}}"),
                "steps[0].call.request",
                "steps[0] (\"a\"): call.request refers to previous, which exists only in a "
                "fan_out's call");
        refused(DEF("{'id': 'a', 'when': {'ref': 'previous'}, 'sleep': {'duration': '1s'}}"),
                "steps[0].when.ref",
                "steps[0] (\"a\"): when.ref refers to previous, which exists only in a fan_out's "
                "call");
}
END_TEST

START_TEST(test_wf_definition_check_output)
{
        accepted("{'type': 't', 'steps': [" STEP("a", "") "," STEP(
                "b",
                "") "], 'output': {'a': "
                    "'${steps.a.output}', 'b': '${steps.b.output.translations}', 'i': '${input}'}}");
        refused("{'type': 't', 'steps': [" STEP("a", "") "], 'output': {'a': "
                                                         "'${steps.zzz.output}'}}",
                "output", "output refers to steps.zzz, which is not a step");
}
END_TEST

/* ---- the graph ---- */

START_TEST(test_wf_graph_build_preds_succs_order)
{
        wf_definition *def = parse(COMPLEX);
        struct wf_graph g;

        ck_assert_int_eq(wf_graph_build(&g, def), 0);
        ck_assert_uint_eq(g.n, 8);
        ck_assert_ptr_eq(g.def, def);
        for (size_t i = 0; i < g.n; i++)
                ck_assert_uint_eq(g.order[i], i); /* already in an order that runs */
        ck_assert_uint_eq(g.npreds[0], 0);
        ck_assert_uint_eq(g.nsuccs[0], 2);
        ck_assert_uint_eq(g.succs[0][0], 1);
        ck_assert_uint_eq(g.succs[0][1], 2);
        ck_assert_uint_eq(g.npreds[3], 2);
        ck_assert_uint_eq(g.preds[3][0], 1);
        ck_assert_uint_eq(g.preds[3][1], 2);
        ck_assert_uint_eq(g.nsuccs[7], 0);
        ck_assert_int_eq(wf_graph_find(&g, "approve"), 3);
        ck_assert_int_eq(wf_graph_find(&g, "speak"), 7);
        ck_assert_int_eq(wf_graph_find(&g, "nope"), -1);
        ck_assert_int_eq(wf_graph_find(&g, ""), -1);
        wf_graph_free(&g);
        wf_graph_free(&g); /* twice is harmless */
        def_free(def);
}
END_TEST

START_TEST(test_wf_graph_build_orders_by_after)
{
        /* written backwards: d after c after b after a; e on its own */
        wf_definition *def = parse(DEF(STEP("d", "'c', 'a'") "," STEP("e", "") "," STEP(
                "c", "'b'") "," STEP("b", "'a'") "," STEP("a", "")));
        static const char *const want[] = { "e", "a", "b", "c", "d" };
        struct wf_graph g;

        ck_assert_int_eq(wf_definition_check(def, &env, &st), CAIRN_OK);
        ck_assert_int_eq(wf_graph_build(&g, def), 0);
        for (size_t i = 0; i < g.n; i++)
                ck_assert_str_eq(def->steps[g.order[i]]->id, want[i]);
        ck_assert_uint_eq(g.npreds[0], 2);
        ck_assert_uint_eq(g.preds[0][0], 2);
        ck_assert_uint_eq(g.preds[0][1], 4);
        ck_assert_uint_eq(g.nsuccs[4], 2);
        ck_assert_uint_eq(g.succs[4][0], 0); /* successors in definition order */
        ck_assert_uint_eq(g.succs[4][1], 3);
        ck_assert_uint_eq(g.nsuccs[1], 0);
        ck_assert_uint_eq(g.npreds[1], 0);
        wf_graph_free(&g);
        def_free(def);
}
END_TEST

START_TEST(test_wf_graph_build_refuses_unchecked_graphs)
{
        static const char *const bad[] = {
                DEF(STEP("a", "'b'") "," STEP("b", "'a'")),
                DEF(STEP("a", "'a'")),
                DEF(STEP("a", "'zzz'")),
                DEF(STEP("a", "") "," STEP("a", "")),
                DEF(STEP("a", "") "," STEP("b", "'a', 'a'")),
        };
        struct wf_graph g;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                wf_definition *def = parse(bad[i]);

                ck_assert_msg(wf_graph_build(&g, def) == -1, "%s", bad[i]);
                ck_assert_uint_eq(g.n, 0);
                ck_assert_ptr_null(g.order);
                def_free(def);
        }
}
END_TEST

START_TEST(test_wf_target_find_by_service)
{
        ck_assert_str_eq(wf_target_find(&env, "memory")->topic, "cairn.memory.v1.requests");
        ck_assert_ptr_null(wf_target_find(&env, "mem"));
        ck_assert_ptr_null(wf_target_find(&env, ""));
        ck_assert_ptr_null(wf_target_find(&env, NULL));
}
END_TEST

/* ---- retries ---- */

static int64_t delay(const struct wf_retry_rules *r, uint32_t attempt)
{
        int64_t d = -1;

        ck_assert_msg(wf_retry_next(r, attempt, CAIRN_ERR_UNAVAILABLE, &d),
                      "no retry after attempt %u", attempt);
        return d;
}

START_TEST(test_wf_retry_rules_temporal_defaults)
{
        struct wf_retry_rules r;
        int64_t d;

        wf_retry_rules(NULL, &r);
        ck_assert_int_eq(r.initial_ms, 1000);
        ck_assert(r.coefficient == 2.0);
        ck_assert_int_eq(r.maximum_ms, 100000);
        ck_assert_uint_eq(r.maximum_attempts, 0);
        /* 1 s, 2 s, 4 s ... 64 s, then 100 s for ever */
        ck_assert_int_eq(delay(&r, 1), 1000);
        ck_assert_int_eq(delay(&r, 2), 2000);
        ck_assert_int_eq(delay(&r, 3), 4000);
        ck_assert_int_eq(delay(&r, 7), 64000);
        ck_assert_int_eq(delay(&r, 8), 100000);
        ck_assert_int_eq(delay(&r, 1000), 100000);
        ck_assert_int_eq(delay(&r, UINT32_MAX), 100000);
        ck_assert_int_eq(delay(&r, 0), 1000);
        /* never retried by default */
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_INVALID, &d));
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_PERMISSION, &d));
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_NOT_FOUND, &d));
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_UNIMPLEMENTED, &d));
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_PRECONDITION, &d));
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_UNAUTHENTICATED, &d));
        ck_assert(!wf_retry_next(&r, 1, CAIRN_OK, &d));
        /* retried */
        ck_assert(wf_retry_next(&r, 1, CAIRN_ERR_DEADLINE, &d));
        ck_assert(wf_retry_next(&r, 1, CAIRN_ERR_EXHAUSTED, &d));
        ck_assert(wf_retry_next(&r, 1, CAIRN_ERR_INTERNAL, &d));
        ck_assert(wf_retry_next(&r, 1, CAIRN_ERR_CONFLICT, NULL));
        ck_assert(wf_retry_next(&r, 1, (cairn_err_t)99, &d));
}
END_TEST

START_TEST(test_wf_retry_rules_from_a_policy)
{
        wf_definition *def = parse(DEF(
                "{'id': 'a', 'call': {'service': 'memory', 'type': 'cairn.memory.v1.StoreRequest', "
                "'retry': {'initialInterval': '0.25s', 'backoffCoefficient': 3, 'maximumInterval': "
                "'5s', 'maximumAttempts': 4, 'nonRetryableCodes': ['UNAVAILABLE']}}}"));
        struct wf_retry_rules r;
        int64_t d;

        wf_retry_rules(def->steps[0]->call->retry, &r);
        ck_assert_int_eq(r.initial_ms, 250);
        ck_assert_int_eq(r.maximum_ms, 5000);
        ck_assert_uint_eq(r.maximum_attempts, 4);
        /* the list replaces the defaults */
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_UNAVAILABLE, &d));
        ck_assert(wf_retry_next(&r, 1, CAIRN_ERR_INVALID, &d));
        ck_assert_int_eq(d, 250);
        ck_assert(wf_retry_next(&r, 2, CAIRN_ERR_INVALID, &d));
        ck_assert_int_eq(d, 750);
        ck_assert(wf_retry_next(&r, 3, CAIRN_ERR_INVALID, &d));
        ck_assert_int_eq(d, 2250);
        /* attempt 4 was the last */
        ck_assert(!wf_retry_next(&r, 4, CAIRN_ERR_INVALID, &d));
        ck_assert(!wf_retry_next(&r, 5, CAIRN_ERR_INVALID, &d));
        def_free(def);
}
END_TEST

START_TEST(test_wf_retry_rules_edges)
{
        Cairn__Workflow__V1__RetryPolicy p = CAIRN__WORKFLOW__V1__RETRY_POLICY__INIT;
        Google__Protobuf__Duration initial = GOOGLE__PROTOBUF__DURATION__INIT;
        Google__Protobuf__Duration max = GOOGLE__PROTOBUF__DURATION__INIT;
        Google__Protobuf__Duration zero = GOOGLE__PROTOBUF__DURATION__INIT;
        char *codes[] = { "NOPE", "OK", "DEADLINE_EXCEEDED" };
        struct wf_retry_rules r;
        int64_t d;

        /* one attempt: no retry at all */
        p.maximum_attempts = 1;
        wf_retry_rules(&p, &r);
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_UNAVAILABLE, &d));
        /* coefficient 1: the same delay every time; the maximum follows the initial */
        p.maximum_attempts = 0;
        p.backoff_coefficient = 1;
        initial.seconds = 3;
        p.initial_interval = &initial;
        wf_retry_rules(&p, &r);
        ck_assert_int_eq(r.maximum_ms, 300000);
        ck_assert_int_eq(delay(&r, 1), 3000);
        ck_assert_int_eq(delay(&r, 50), 3000);
        /* a sub-millisecond interval is rounded up, not down to no wait */
        initial.seconds = 0;
        initial.nanos = 1;
        wf_retry_rules(&p, &r);
        ck_assert_int_eq(r.initial_ms, 1);
        /* 0 is the default, as in Temporal */
        zero.nanos = 0;
        p.initial_interval = &zero;
        wf_retry_rules(&p, &r);
        ck_assert_int_eq(r.initial_ms, 1000);
        p.initial_interval = &initial;
        /* unchecked nonsense does not break the arithmetic */
        p.backoff_coefficient = NAN;
        initial.seconds = INT64_MAX;
        max.seconds = 1;
        p.maximum_interval = &max;
        p.n_non_retryable_codes = 3;
        p.non_retryable_codes = codes;
        wf_retry_rules(&p, &r);
        ck_assert(r.coefficient == 2.0);
        ck_assert_int_eq(r.initial_ms, INT64_MAX);
        ck_assert_int_eq(r.maximum_ms, INT64_MAX);
        ck_assert_uint_eq(r.non_retryable, 1u << CAIRN_ERR_DEADLINE);
        ck_assert_int_eq(delay(&r, 40), INT64_MAX);
        ck_assert(!wf_retry_next(&r, 1, CAIRN_ERR_DEADLINE, &d));
        /* durations */
        ck_assert_int_eq(wf_duration_ms(NULL, 42), 42);
        max.seconds = -1;
        ck_assert_int_eq(wf_duration_ms(&max, 42), 0);
        max.seconds = 1;
        max.nanos = 500000001;
        ck_assert_int_eq(wf_duration_ms(&max, 42), 1501);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_definition");
        TCase *tc;

        tc = tcase_create("wf_definition_check");
        tcase_add_test(tc, test_wf_definition_check_accepts_every_kind_of_step);
        tcase_add_test(tc, test_wf_definition_check_type_and_step_count);
        tcase_add_test(tc, test_wf_definition_check_ids);
        tcase_add_test(tc, test_wf_definition_check_kind_is_required);
        tcase_add_test(tc, test_wf_definition_check_after);
        tcase_add_test(tc, test_wf_definition_check_cycles);
        tcase_add_test(tc, test_wf_definition_check_call_targets);
        tcase_add_test(tc, test_wf_definition_check_references_to_steps);
        tcase_add_test(tc, test_wf_definition_check_reference_roots);
        tcase_add_test(tc, test_wf_definition_check_malformed_templates);
        tcase_add_test(tc, test_wf_definition_check_conditions);
        tcase_add_test(tc, test_wf_definition_check_durations);
        tcase_add_test(tc, test_wf_definition_check_retry_policies);
        tcase_add_test(tc, test_wf_definition_check_compensations);
        tcase_add_test(tc, test_wf_definition_check_sleep_signal_fan_out);
        tcase_add_test(tc, test_wf_definition_check_fan_out_when_and_previous);
        tcase_add_test(tc, test_wf_definition_check_output);
        suite_add_tcase(s, tc);
        tc = tcase_create("wf_graph_build");
        tcase_add_test(tc, test_wf_graph_build_preds_succs_order);
        tcase_add_test(tc, test_wf_graph_build_orders_by_after);
        tcase_add_test(tc, test_wf_graph_build_refuses_unchecked_graphs);
        suite_add_tcase(s, tc);
        tc = tcase_create("wf_target_find");
        tcase_add_test(tc, test_wf_target_find_by_service);
        suite_add_tcase(s, tc);
        tc = tcase_create("wf_retry_rules");
        tcase_add_test(tc, test_wf_retry_rules_temporal_defaults);
        tcase_add_test(tc, test_wf_retry_rules_from_a_policy);
        tcase_add_test(tc, test_wf_retry_rules_edges);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

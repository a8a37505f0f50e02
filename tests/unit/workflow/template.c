/* Unit tests for the workflow service's references and templates
 * (services/workflow/template.h): paths and their errors, word for word;
 * templates whose strings are one reference (the value keeps its JSON
 * type) or hold several (interpolated as text), the $${ escape, nesting and
 * its limit, the size limit of a string built; the references a template
 * makes; and every condition op, type mismatches included. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pbjson.h"
#include "cairn/utf8.h"
#include "workflow/template.h"
#include "../unit.h"
#include "quoted_json.h"

static json_t *data;
static char err[512];

static void setup(void)
{
        data = J("{'input': {'text': 'hello', 'n': 3, 'r': 2.5, 'whole': 4.0, 'flag': true,"
                 "           'nothing': null, 'list': [10, 20, {'k': 'v'}],"
                 "           'obj': {'a': 1, '0': 'zero', 'q': 'say \\'hi\\''},"
                 "           'empty': '', 'zero': 0, 'nested': [[1, 2], [3]]},"
                 " 'steps': {'tr': {'output': {'translations': [{'text': 'hola'}]}}},"
                 " 'run': {'workflow_id': 'w1', 'run_id': 'r1', 'tenant': 'acme', 'type': 't'}}");
        err[0] = '\0';
}

static void teardown(void)
{
        json_decref(data);
}

/* The value at @p path must equal the JSON @p want. */
static void get_is(const char *path, const char *want)
{
        const json_t *v = wf_ref_get(data, path, err, sizeof(err));
        json_t *w = J(want);

        ck_assert_msg(v != NULL, "%s: %s", path, err);
        ck_assert_msg(json_equal(v, w), "%s: not %s", path, want);
        json_decref(w);
}

/* @p path must fail with exactly @p want. */
static void get_fails(const char *path, const char *want)
{
        err[0] = '\0';
        ck_assert_msg(wf_ref_get(data, path, err, sizeof(err)) == NULL, "%s resolved", path);
        ck_assert_str_eq(err, want);
}

START_TEST(test_wf_ref_get_fields_and_indices)
{
        get_is("input.text", "'hello'");
        get_is("input", "{'text': 'hello', 'n': 3, 'r': 2.5, 'whole': 4.0, 'flag': true,"
                        " 'nothing': null, 'list': [10, 20, {'k': 'v'}],"
                        " 'obj': {'a': 1, '0': 'zero', 'q': 'say \\'hi\\''},"
                        " 'empty': '', 'zero': 0, 'nested': [[1, 2], [3]]}");
        get_is("input.nothing", "null");
        get_is("input.list[0]", "10");
        get_is("input.list.1", "20");
        get_is("input.list[2].k", "'v'");
        get_is("input.list.2.k", "'v'");
        get_is("input.nested[0][1]", "2");
        get_is("input.nested.1.0", "3");
        get_is("input.nested[1].0", "3");
        /* .0 on an object is the key "0" */
        get_is("input.obj.0", "'zero'");
        get_is("steps.tr.output.translations[0].text", "'hola'");
        get_is("run.tenant", "'acme'");
}
END_TEST

START_TEST(test_wf_ref_get_missing_parts_name_themselves)
{
        get_fails("steps.tr.output.lang",
                  "${steps.tr.output.lang}: steps.tr.output has no field \"lang\"");
        get_fails("steps.detect.output.lang",
                  "${steps.detect.output.lang}: steps has no field \"detect\"");
        get_fails("item", "${item}: the run's data has no field \"item\"");
        get_fails("input.list[3]", "${input.list[3]}: input.list has no element 3 (it has 3)");
        get_fails("input.list.7", "${input.list.7}: input.list has no element 7 (it has 3)");
        get_fails("input.nested[0][2]",
                  "${input.nested[0][2]}: input.nested[0] has no element 2 (it has 2)");
        get_fails("input.list[99999999999999999999999]",
                  "${input.list[99999999999999999999999]}: input.list has no element "
                  "99999999999999999999999 (it has 3)");
        get_fails("input.obj[0]", "${input.obj[0]}: input.obj is an object, not an array");
        get_fails("input.text[0]", "${input.text[0]}: input.text is a string, not an array");
        get_fails("input.text.x", "${input.text.x}: input.text is a string, not an object");
        get_fails("input.n.x", "${input.n.x}: input.n is an integer, not an object");
        get_fails("input.list.x", "${input.list.x}: input.list is an array, not an object");
        get_fails("input.nothing.x", "${input.nothing.x}: input.nothing is null, not an object");
        ck_assert_ptr_null(wf_ref_get(NULL, "input", err, sizeof(err)));
        ck_assert_str_eq(err, "${input}: no data to look in");
        ck_assert_ptr_null(wf_ref_get(data, NULL, err, sizeof(err)));
        /* no error buffer: still no crash */
        ck_assert_ptr_null(wf_ref_get(data, "input.zzz", NULL, 0));
}
END_TEST

START_TEST(test_wf_ref_get_malformed_paths)
{
        char long_path[400], want[128];

        get_fails("", "${}: empty reference");
        get_fails("input..text", "${input..text}: empty name at byte 6");
        get_fails(".input", "${.input}: empty name at byte 0");
        get_fails("input.", "${input.}: empty name at byte 6");
        get_fails("[0]", "${[0]}: empty name at byte 0");
        get_fails("input.list[",
                  "${input.list[}: \"[\" at byte 10 is not followed by digits and \"]\"");
        get_fails("input.list[x]",
                  "${input.list[x]}: \"[\" at byte 10 is not followed by digits and \"]\"");
        get_fails("input.list[]",
                  "${input.list[]}: \"[\" at byte 10 is not followed by digits and \"]\"");
        get_fails("input.list[-1]",
                  "${input.list[-1]}: \"[\" at byte 10 is not followed by digits and \"]\"");
        get_fails("input.list[0]x", "${input.list[0]x}: \".\" or \"[\" expected at byte 13");
        get_fails("input]", "${input]}: \"]\" at byte 5 is not allowed in a name");
        get_fails("in{put", "${in{put}: \"{\" at byte 2 is not allowed in a name");
        get_fails("in}put", "${in}put}: \"}\" at byte 2 is not allowed in a name");
        get_fails("in$put", "${in$put}: \"$\" at byte 2 is not allowed in a name");
        memset(long_path, 'a', 257);
        long_path[257] = '\0';
        snprintf(want, sizeof(want), "${%.60s...}: reference longer than 256 bytes", long_path);
        get_fails(long_path, want);
        /* 256 bytes is fine (and missing) */
        long_path[256] = '\0';
        ck_assert_ptr_null(wf_ref_get(data, long_path, err, sizeof(err)));
        ck_assert_ptr_nonnull(strstr(err, "has no field"));
        /* names may hold anything else: spaces, quotes, non-ASCII */
        ck_assert_int_eq(wf_ref_check("input.a b.\"c\".é-ü", err, sizeof(err)), 0);
        ck_assert_int_eq(wf_ref_check("in{put", err, sizeof(err)), -1);
        ck_assert_int_eq(wf_ref_check(NULL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_wf_ref_get_error_is_truncated_safely)
{
        char small[12];

        ck_assert_ptr_null(wf_ref_get(data, "input.zzz", small, sizeof(small)));
        ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
        /* a cut never leaves half a UTF-8 character: "${input.é" is 10
         * bytes, the 11th would be half of the next é */
        ck_assert_ptr_null(wf_ref_get(data, "input.ééééé", small, 12));
        ck_assert_str_eq(small, "${input.é");
        ck_assert(cairn_utf8_valid(small, strlen(small)));
}
END_TEST

/* wf_template_eval of @p tmpl must give the JSON @p want. */
static void eval_is(const char *tmpl, const char *want)
{
        json_t *t = J(tmpl), *w = J(want), *v;

        err[0] = '\0';
        v = wf_template_eval(t, data, err, sizeof(err));
        ck_assert_msg(v != NULL, "%s: %s", tmpl, err);
        if (!json_equal(v, w)) {
                char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

                ck_abort_msg("%s gave %s, not %s", tmpl, got, want);
        }
        /* equal in type too: 4 is not 4.0 */
        ck_assert_int_eq(json_typeof(v), json_typeof(w));
        json_decref(t);
        json_decref(w);
        json_decref(v);
}

static void eval_fails(const char *tmpl, const char *want)
{
        json_t *t = J(tmpl);

        err[0] = '\0';
        ck_assert_msg(wf_template_eval(t, data, err, sizeof(err)) == NULL, "%s evaluated", tmpl);
        ck_assert_str_eq(err, want);
        json_decref(t);
}

START_TEST(test_wf_template_eval_whole_reference_keeps_the_type)
{
        eval_is("'${input.n}'", "3");
        eval_is("'${input.r}'", "2.5");
        eval_is("'${input.whole}'", "4.0");
        eval_is("'${input.flag}'", "true");
        eval_is("'${input.nothing}'", "null");
        eval_is("'${input.text}'", "'hello'");
        eval_is("'${input.list}'", "[10, 20, {'k': 'v'}]");
        eval_is("'${input.list[2]}'", "{'k': 'v'}");
        eval_is("{'texts': ['${input.text}'], 'target': 'es', 'n': '${input.n}'}",
                "{'texts': ['hello'], 'target': 'es', 'n': 3}");
}
END_TEST

START_TEST(test_wf_template_eval_interpolates_text)
{
        eval_is("'say ${input.text}!'", "'say hello!'");
        eval_is("'${input.text}${input.text}'", "'hellohello'");
        eval_is("'${run.tenant}/${input.n}'", "'acme/3'");
        eval_is("'r=${input.r} w=${input.whole} z=${input.zero}'", "'r=2.5 w=4 z=0'");
        eval_is("'${input.flag},${input.nothing},${input.empty}.'", "'true,null,.'");
        eval_is("'l=${input.list}'", "'l=[10,20,{\\'k\\':\\'v\\'}]'");
        eval_is("'o=${input.obj}'",
                "'o={\\'a\\':1,\\'0\\':\\'zero\\',\\'q\\':\\'say \\\\\\'hi\\\\\\'\\'}'");
        eval_is("'q=${input.obj.q}'", "'q=say \\'hi\\''");
        eval_is("'${steps.tr.output.translations[0].text} (${input.text})'", "'hola (hello)'");
        /* reals in objects print as JSON does, whole ones without .0 */
        json_object_set_new(json_object_get(data, "input"), "reals",
                            json_pack("[f, f, f]", 1.0, 0.1, -0.0));
        eval_is("'${input.reals}.'", "'[1,0.1,0].'");
}
END_TEST

START_TEST(test_wf_template_eval_escapes_and_plain_dollars)
{
        eval_is("'$${input.text}'", "'${input.text}'");
        eval_is("'a $${b} ${input.text}'", "'a ${b} hello'");
        eval_is("'$$${input.text}'", "'$${input.text}'");
        eval_is("'cost: $5, $$'", "'cost: $5, $$'");
        eval_is("'$'", "'$'");
        eval_is("'${input.text}}'", "'hello}'");
        eval_is("'{${input.n}}'", "'{3}'");
        eval_is("'no refs'", "'no refs'");
        eval_is("''", "''");
}
END_TEST

START_TEST(test_wf_template_eval_copies_structure)
{
        eval_is("{'a': [1, 2.5, true, null, {'b': '${input.list[0]}'}], '${input.text}': 'k'}",
                "{'a': [1, 2.5, true, null, {'b': 10}], '${input.text}': 'k'}");
        eval_is("[[['${input.nested[0]}']]]", "[[[[1, 2]]]]");
        eval_is("7", "7");
        eval_is("null", "null");
}
END_TEST

START_TEST(test_wf_template_eval_errors)
{
        char lots[80];
        json_t *t;

        eval_fails("{'a': ['${input.zzz}']}", "${input.zzz}: input has no field \"zzz\"");
        eval_fails("'x ${input.list[5]} y'",
                   "${input.list[5]}: input.list has no element 5 (it has 3)");
        eval_fails("'x ${input.text'", "unterminated ${ in \"x ${input.text\"");
        eval_fails("'${'", "unterminated ${ in \"${\"");
        eval_fails("'a ${}'", "${}: empty reference");
        eval_fails("'${}'", "${}: empty reference");
        eval_fails("'${a{b}'", "${a{b}: \"{\" at byte 1 is not allowed in a name");
        eval_fails("'${a..b} c'", "${a..b}: empty name at byte 2");
        memset(lots, 'x', 70);
        strcpy(lots + 70, "${a");
        t = json_string(lots);
        ck_assert_ptr_null(wf_template_eval(t, data, err, sizeof(err)));
        ck_assert_str_eq(err,
                         "unterminated ${ in \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "xxxxxxxxxx...\"");
        json_decref(t);
        ck_assert_ptr_null(wf_template_eval(NULL, data, err, sizeof(err)));
        ck_assert_str_eq(err, "no template");
}
END_TEST

static void count_refs(const char *path, void *opaque)
{
        (void)path;
        ++*(size_t *)opaque;
}

/* [[...[x]...]] with @p levels arrays. */
static json_t *nested(int levels, json_t *inner)
{
        json_t *v = inner;

        for (int i = 0; i < levels; i++) {
                json_t *a = json_array();

                json_array_append_new(a, v);
                v = a;
        }
        return v;
}

START_TEST(test_wf_template_eval_depth_limit)
{
        json_t *ok = nested(WF_TEMPLATE_DEPTH_MAX, json_string("${input.n}"));
        json_t *deep = nested(WF_TEMPLATE_DEPTH_MAX + 1, json_string("${input.n}"));
        json_t *v = wf_template_eval(ok, data, err, sizeof(err));
        size_t nrefs = 0;

        ck_assert_msg(v != NULL, "%s", err);
        json_decref(v);
        ck_assert_int_eq(wf_template_refs(ok, count_refs, &nrefs, err, sizeof(err)), 0);
        ck_assert_uint_eq(nrefs, 1);
        ck_assert_ptr_null(wf_template_eval(deep, data, err, sizeof(err)));
        ck_assert_str_eq(err, "template nested deeper than 32 levels");
        ck_assert_int_eq(wf_template_refs(deep, count_refs, &nrefs, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "template nested deeper than 32 levels");
        json_decref(ok);
        json_decref(deep);
        /* objects count the same */
        deep = json_string("x");
        for (int i = 0; i <= WF_TEMPLATE_DEPTH_MAX; i++)
                deep = json_pack("{s:o}", "k", deep);
        ck_assert_ptr_null(wf_template_eval(deep, data, err, sizeof(err)));
        ck_assert_str_eq(err, "template nested deeper than 32 levels");
        json_decref(deep);
        /* a deep value referenced is no template: copied whole */
        json_object_set_new(json_object_get(data, "input"), "deep", nested(100, json_integer(1)));
        deep = json_string("${input.deep}");
        v = wf_template_eval(deep, data, err, sizeof(err));
        ck_assert_msg(v != NULL, "%s", err);
        json_decref(v);
        json_decref(deep);
}
END_TEST

START_TEST(test_wf_template_eval_string_limit)
{
        /* a 64 KiB string, 16 times: exactly 1 MiB; a byte more fails */
        size_t piece = 64 * 1024;
        char *big = malloc(piece + 1), tmpl[256] = "";
        json_t *t, *v;

        memset(big, 'b', piece);
        big[piece] = '\0';
        json_object_set_new(json_object_get(data, "input"), "big", json_string(big));
        for (int i = 0; i < 16; i++)
                strcat(tmpl, "${input.big}");
        t = json_string(tmpl);
        v = wf_template_eval(t, data, err, sizeof(err));
        ck_assert_msg(v != NULL, "%s", err);
        ck_assert_uint_eq(json_string_length(v), WF_TEMPLATE_STRING_MAX);
        json_decref(v);
        json_decref(t);
        strcat(tmpl, "!");
        t = json_string(tmpl);
        ck_assert_ptr_null(wf_template_eval(t, data, err, sizeof(err)));
        ck_assert_str_eq(err, "\"${input.big}${input.big}${input.big}${input.big}${input.big}"
                              "...\": the result is longer than 1048576 bytes");
        json_decref(t);
        /* the whole value of a reference is not a built string: no limit */
        free(big);
        big = malloc(2 * WF_TEMPLATE_STRING_MAX + 1);
        ck_assert_ptr_nonnull(big);
        memset(big, 'c', 2 * WF_TEMPLATE_STRING_MAX);
        big[2 * WF_TEMPLATE_STRING_MAX] = '\0';
        json_object_set_new(json_object_get(data, "input"), "big", json_string(big));
        t = json_string("${input.big}");
        v = wf_template_eval(t, data, err, sizeof(err));
        ck_assert_msg(v != NULL, "%s", err);
        ck_assert_uint_eq(json_string_length(v), 2 * WF_TEMPLATE_STRING_MAX);
        json_decref(v);
        json_decref(t);
        /* but a result holding it more times than WF_TEMPLATE_RESULT_MAX has
         * room for is refused */
        t = json_array();
        for (int i = 0; i < WF_TEMPLATE_RESULT_MAX / (2 * WF_TEMPLATE_STRING_MAX) + 1; i++)
                json_array_append_new(t, json_string("${input.big}"));
        ck_assert_ptr_null(wf_template_eval(t, data, err, sizeof(err)));
        ck_assert_msg(strstr(err, "exceed 8388608 bytes"), "%s", err);
        json_decref(t);
        free(big);
}
END_TEST

START_TEST(test_wf_template_eval_keeps_nul_bytes)
{
        json_t *t = json_stringn("a\0${input.text}", 15), *v;

        v = wf_template_eval(t, data, err, sizeof(err));
        ck_assert_msg(v != NULL, "%s", err);
        ck_assert_uint_eq(json_string_length(v), 7);
        ck_assert_int_eq(memcmp(json_string_value(v), "a\0hello", 7), 0);
        json_decref(v);
        json_decref(t);
}
END_TEST

struct seen {
        char paths[8][WF_REF_MAX + 1];
        size_t n;
};

static void collect(const char *path, void *opaque)
{
        struct seen *s = opaque;

        if (s->n < 8)
                strcpy(s->paths[s->n], path);
        s->n++;
}

START_TEST(test_wf_template_refs_lists_every_reference)
{
        json_t *t = J("{'a': 'x ${input.text} $${not.one} ${steps.tr.output.translations[0].text}',"
                      " 'b': ['${run.tenant}', 3, {'c': '${item.id}'}], '${key.is.no.ref}': 1}");
        struct seen s = { 0 };

        ck_assert_int_eq(wf_template_refs(t, collect, &s, err, sizeof(err)), 0);
        ck_assert_uint_eq(s.n, 4);
        ck_assert_str_eq(s.paths[0], "input.text");
        ck_assert_str_eq(s.paths[1], "steps.tr.output.translations[0].text");
        ck_assert_str_eq(s.paths[2], "run.tenant");
        ck_assert_str_eq(s.paths[3], "item.id");
        json_decref(t);
        t = J("['${ok}', 'bad ${x']");
        memset(&s, 0, sizeof(s));
        ck_assert_int_eq(wf_template_refs(t, collect, &s, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "unterminated ${ in \"bad ${x\"");
        json_decref(t);
        t = J("'${a[b]}'");
        ck_assert_int_eq(wf_template_refs(t, collect, &s, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "${a[b]}: \"[\" at byte 1 is not followed by digits and \"]\"");
        json_decref(t);
        ck_assert_int_eq(wf_template_refs(NULL, collect, &s, err, sizeof(err)), -1);
}
END_TEST

/* ---- conditions ---- */

static Cairn__Workflow__V1__Condition *cond(const char *json)
{
        struct cairn_pbjson_error perr;
        ProtobufCMessage *m = NULL;
        char *copy = strdup(json);

        for (char *p = copy; *p; p++)
                if (*p == '\'')
                        *p = '"';
        ck_assert_msg(cairn_pbjson_parse(&cairn__workflow__v1__condition__descriptor, copy,
                                         strlen(copy), 32, &m, &perr) == CAIRN_OK,
                      "%s: %s: %s", copy, perr.field, perr.message);
        free(copy);
        return (Cairn__Workflow__V1__Condition *)m;
}

static int holds(const char *json)
{
        Cairn__Workflow__V1__Condition *c = cond(json);
        int rc;

        err[0] = '\0';
        rc = wf_condition_eval(c, data, err, sizeof(err));
        protobuf_c_message_free_unpacked(&c->base, NULL);
        return rc;
}

START_TEST(test_wf_condition_eval_equals)
{
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_EQUALS', 'value': 'hello'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'value': 'hello'}"), 1); /* the default op */
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_EQUALS', 'value': 'Hello'}"), 0);
        /* 3 (an integer in the data) equals 3.0 (a Value's double) */
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_EQUALS', 'value': 3}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_EQUALS', 'value': '3'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.r', 'op': 'OP_EQUALS', 'value': 2.5}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.list', 'value': [10, 20, {'k': 'v'}]}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.list', 'value': [10, 20]}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.obj', 'value': {'a': 1, '0': 'zero', 'q': "
                               "'say \\'hi\\''}}"),
                         1);
        ck_assert_int_eq(holds("{'ref': 'input.obj', 'value': {'a': 1, '0': 'zero', 'r': 1}}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.nothing', 'value': null}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.nothing'}"), 1); /* no value: null */
        ck_assert_int_eq(holds("{'ref': 'input.flag', 'value': true}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.flag', 'value': 1}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_NOT_EQUALS', 'value': 'x'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_NOT_EQUALS', 'value': 3}"), 0);
        /* a reference that does not resolve is an error for these */
        ck_assert_int_eq(holds("{'ref': 'input.zzz', 'value': 1}"), -1);
        ck_assert_str_eq(err, "${input.zzz}: input has no field \"zzz\"");
        ck_assert_int_eq(holds("{'ref': 'input.zzz', 'op': 'OP_NOT_EQUALS', 'value': 1}"), -1);
}
END_TEST

START_TEST(test_wf_condition_eval_exists)
{
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_EXISTS'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.nothing', 'op': 'OP_EXISTS'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.zzz', 'op': 'OP_EXISTS'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'steps.nope.output', 'op': 'OP_EXISTS'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.text.x', 'op': 'OP_EXISTS'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.list[9]', 'op': 'OP_EXISTS'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.zzz', 'op': 'OP_NOT_EXISTS'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.list[2].k', 'op': 'OP_NOT_EXISTS'}"), 0);
        /* a malformed path is still an error */
        ck_assert_int_eq(holds("{'ref': 'input..x', 'op': 'OP_EXISTS'}"), -1);
        ck_assert_str_eq(err, "${input..x}: empty name at byte 6");
        ck_assert_int_eq(holds("{'ref': '', 'op': 'OP_NOT_EXISTS'}"), -1);
}
END_TEST

START_TEST(test_wf_condition_eval_in)
{
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_IN', 'value': ['x', 'hello']}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_IN', 'value': ['x']}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_IN', 'value': []}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_IN', 'value': [1, 2, 3]}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.list[2]', 'op': 'OP_IN', 'value': [{'k': 'v'}]}"),
                         1);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_IN', 'value': 'hello'}"), -1);
        ck_assert_str_eq(err, "${input.text}: OP_IN needs a list as its value, not a string");
        ck_assert_int_eq(holds("{'ref': 'input.zzz', 'op': 'OP_IN', 'value': ['x']}"), -1);
}
END_TEST

START_TEST(test_wf_condition_eval_order)
{
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_GREATER', 'value': 2}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_GREATER', 'value': 3}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_GREATER', 'value': 2.99}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.r', 'op': 'OP_LESS', 'value': 3}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.r', 'op': 'OP_LESS', 'value': 2.5}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_LESS', 'value': -1}"), 0);
        /* strings bytewise: "hello" > "help"? no: 'l' < 'p' */
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_GREATER', 'value': 'hell'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_GREATER', 'value': 'help'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_LESS', 'value': 'help'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_LESS', 'value': 'hello'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_LESS', 'value': 'hello!'}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_GREATER', 'value': 'Zebra'}"), 1);
        /* type mismatches are errors, not false */
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_GREATER', 'value': 3}"), -1);
        ck_assert_str_eq(err, "${input.text}: OP_GREATER compares two numbers or two strings, "
                              "not a string with a number");
        ck_assert_int_eq(holds("{'ref': 'input.n', 'op': 'OP_LESS', 'value': '3'}"), -1);
        ck_assert_str_eq(err, "${input.n}: OP_LESS compares two numbers or two strings, "
                              "not an integer with a string");
        ck_assert_int_eq(holds("{'ref': 'input.flag', 'op': 'OP_LESS', 'value': 1}"), -1);
        ck_assert_int_eq(holds("{'ref': 'input.nothing', 'op': 'OP_GREATER'}"), -1);
        ck_assert_str_eq(err, "${input.nothing}: OP_GREATER compares two numbers or two strings, "
                              "not null with null");
        ck_assert_int_eq(holds("{'ref': 'input.list', 'op': 'OP_GREATER', 'value': [1]}"), -1);
}
END_TEST

START_TEST(test_wf_condition_eval_truthy)
{
        static const char *const yes[] = { "text", "n", "r", "flag", "list", "obj", "whole" };
        static const char *const no[] = { "nothing", "empty", "zero" };
        char json[128];

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                snprintf(json, sizeof(json), "{'ref': 'input.%s', 'op': 'OP_TRUTHY'}", yes[i]);
                ck_assert_msg(holds(json) == 1, "%s", yes[i]);
        }
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
                snprintf(json, sizeof(json), "{'ref': 'input.%s', 'op': 'OP_TRUTHY'}", no[i]);
                ck_assert_msg(holds(json) == 0, "%s", no[i]);
        }
        json_object_set_new(json_object_get(data, "input"), "f", json_false());
        json_object_set_new(json_object_get(data, "input"), "ea", json_array());
        json_object_set_new(json_object_get(data, "input"), "eo", json_object());
        json_object_set_new(json_object_get(data, "input"), "zr", json_real(0.0));
        ck_assert_int_eq(holds("{'ref': 'input.f', 'op': 'OP_TRUTHY'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.ea', 'op': 'OP_TRUTHY'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.eo', 'op': 'OP_TRUTHY'}"), 0);
        ck_assert_int_eq(holds("{'ref': 'input.zr', 'op': 'OP_TRUTHY'}"), 0);
        /* the value is unused */
        ck_assert_int_eq(holds("{'ref': 'input.text', 'op': 'OP_TRUTHY', 'value': false}"), 1);
        ck_assert_int_eq(holds("{'ref': 'input.zzz', 'op': 'OP_TRUTHY'}"), -1);
}
END_TEST

START_TEST(test_wf_condition_eval_odd_conditions)
{
        Cairn__Workflow__V1__Condition c = CAIRN__WORKFLOW__V1__CONDITION__INIT;
        Google__Protobuf__Value nan = GOOGLE__PROTOBUF__VALUE__INIT;

        /* unset: always */
        ck_assert_int_eq(wf_condition_eval(NULL, data, err, sizeof(err)), 1);
        c.ref = "input.n";
        c.op = (Cairn__Workflow__V1__Condition__Op)42;
        ck_assert_int_eq(wf_condition_eval(&c, data, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "${input.n}: unknown op 42");
        c.op = CAIRN__WORKFLOW__V1__CONDITION__OP__OP_EQUALS;
        nan.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        nan.number_value = NAN;
        c.value = &nan;
        ck_assert_int_eq(wf_condition_eval(&c, data, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "${input.n}: the condition's value has no JSON form");
        c.ref = NULL;
        ck_assert_int_eq(wf_condition_eval(&c, data, err, sizeof(err)), -1);
        ck_assert_int_eq(wf_condition_eval(&c, NULL, NULL, 0), -1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_template");
        TCase *tc;

        tc = tcase_create("wf_ref_get");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_wf_ref_get_fields_and_indices);
        tcase_add_test(tc, test_wf_ref_get_missing_parts_name_themselves);
        tcase_add_test(tc, test_wf_ref_get_malformed_paths);
        tcase_add_test(tc, test_wf_ref_get_error_is_truncated_safely);
        suite_add_tcase(s, tc);
        tc = tcase_create("wf_template_eval");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_wf_template_eval_whole_reference_keeps_the_type);
        tcase_add_test(tc, test_wf_template_eval_interpolates_text);
        tcase_add_test(tc, test_wf_template_eval_escapes_and_plain_dollars);
        tcase_add_test(tc, test_wf_template_eval_copies_structure);
        tcase_add_test(tc, test_wf_template_eval_errors);
        tcase_add_test(tc, test_wf_template_eval_depth_limit);
        tcase_add_test(tc, test_wf_template_eval_string_limit);
        tcase_add_test(tc, test_wf_template_eval_keeps_nul_bytes);
        suite_add_tcase(s, tc);
        tc = tcase_create("wf_template_refs");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_wf_template_refs_lists_every_reference);
        suite_add_tcase(s, tc);
        tc = tcase_create("wf_condition_eval");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_wf_condition_eval_equals);
        tcase_add_test(tc, test_wf_condition_eval_exists);
        tcase_add_test(tc, test_wf_condition_eval_in);
        tcase_add_test(tc, test_wf_condition_eval_order);
        tcase_add_test(tc, test_wf_condition_eval_truthy);
        tcase_add_test(tc, test_wf_condition_eval_odd_conditions);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

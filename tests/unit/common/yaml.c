/* Unit tests for the YAML tree: shapes, lines, aliases, the checks done at
 * parse time, the helpers readers walk it with, and its conversion to JSON
 * (YAML 1.2's core schema, aliases resolved, what has no JSON form
 * refused). */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/yaml.h"
#include "../unit.h"

static char errstr[512];

static struct cairn_yaml *parse(const char *text)
{
        struct cairn_yaml *y = cairn_yaml_parse(text, strlen(text), "t.yaml", errstr,
                                                sizeof(errstr));

        ck_assert_msg(y != NULL, "%s", errstr);
        return y;
}

START_TEST(test_cairn_yaml_parse_builds_the_tree)
{
        struct cairn_yaml *y = parse("# keys\n"
                                     "jwt_keys:\n"
                                     "  - {kid: a, alg: HS256}\n"
                                     "  - kid: \"b\"\n"
                                     "api_keys: []\n");
        const struct cairn_yaml_node *root = cairn_yaml_root(y), *jwt, *b;

        ck_assert_int_eq(root->type, CAIRN_YAML_MAPPING);
        ck_assert_uint_eq(root->n, 2);
        ck_assert_str_eq(root->pairs[0].key->value, "jwt_keys");
        ck_assert_int_eq(root->pairs[0].key->line, 2);
        jwt = root->pairs[0].value;
        ck_assert_int_eq(jwt->type, CAIRN_YAML_SEQUENCE);
        ck_assert_uint_eq(jwt->n, 2);
        ck_assert_int_eq(jwt->items[0]->type, CAIRN_YAML_MAPPING);
        ck_assert_int_eq(jwt->items[0]->line, 3);
        ck_assert_str_eq(jwt->items[0]->pairs[1].value->value, "HS256");
        b = jwt->items[1]->pairs[0].value;
        ck_assert_str_eq(b->value, "b");
        ck_assert_uint_eq(b->len, 1);
        ck_assert(!b->plain);
        ck_assert(jwt->items[0]->pairs[0].value->plain);
        ck_assert_int_eq(b->line, 4);
        ck_assert_int_eq(root->pairs[1].value->type, CAIRN_YAML_SEQUENCE);
        ck_assert_uint_eq(root->pairs[1].value->n, 0);
        /* ids number the nodes */
        for (size_t i = 0; i < root->n; i++)
                ck_assert_uint_lt(root->pairs[i].value->id, cairn_yaml_count(y));
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_parse_alias_is_the_same_node)
{
        struct cairn_yaml *y = parse("a: &x {k: v}\nb: *x\n");
        const struct cairn_yaml_node *root = cairn_yaml_root(y);

        ck_assert_ptr_eq(root->pairs[0].value, root->pairs[1].value);
        ck_assert_uint_eq(root->pairs[0].value->id, root->pairs[1].value->id);
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_parse_keeps_nul_bytes_counted)
{
        struct cairn_yaml *y = parse("a: \"x\\0y\"\n");
        const struct cairn_yaml_node *v = cairn_yaml_root(y)->pairs[0].value;

        ck_assert_uint_eq(v->len, 3);
        ck_assert_ptr_nonnull(memchr(v->value, '\0', v->len));
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_parse_reports_syntax_errors)
{
        const char *bad = "a: [1\nb: 2\n";

        ck_assert_ptr_null(cairn_yaml_parse(bad, strlen(bad), "t.yaml", errstr, sizeof(errstr)));
        ck_assert_msg(strncmp(errstr, "t.yaml: not valid YAML: ", 24) == 0, "%s", errstr);
        ck_assert_msg(strstr(errstr, "(line "), "%s", errstr);

        bad = "a: \"unterminated\n";
        ck_assert_ptr_null(cairn_yaml_parse(bad, strlen(bad), "t.yaml", errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "found unexpected end of stream") &&
                              strstr(errstr, "(line 2)"),
                      "%s", errstr);
}
END_TEST

START_TEST(test_cairn_yaml_parse_refuses_a_second_document)
{
        const char *two = "a: 1\n---\nb: 2\n";

        ck_assert_ptr_null(cairn_yaml_parse(two, strlen(two), "t.yaml", errstr, sizeof(errstr)));
        ck_assert_str_eq(errstr, "t.yaml: more than one YAML document");
}
END_TEST

START_TEST(test_cairn_yaml_load_reads_the_file)
{
        char path[] = "/tmp/cairn-yaml-XXXXXX", want[600];
        int fd = mkstemp(path);
        struct cairn_yaml *y;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "k: v\n", 5), 5);
        close(fd);
        y = cairn_yaml_load(path, 5, errstr, sizeof(errstr));
        ck_assert_msg(y != NULL, "%s", errstr);
        ck_assert_str_eq(cairn_yaml_str(cairn_yaml_get(cairn_yaml_root(y), "k")), "v");
        cairn_yaml_free(y);

        ck_assert_ptr_null(cairn_yaml_load(path, 4, errstr, sizeof(errstr)));
        snprintf(want, sizeof(want), "%s: larger than 4 bytes", path);
        ck_assert_str_eq(errstr, want);
        unlink(path);
        ck_assert_ptr_null(cairn_yaml_load(path, 4, errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "cannot open"));
}
END_TEST

START_TEST(test_cairn_yaml_root_null_without_content)
{
        static const char *const texts[] = { "", "# only a comment\n" };
        struct cairn_yaml *y;

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                y = parse(texts[i]);
                ck_assert_ptr_null(cairn_yaml_root(y));
                ck_assert_uint_eq(cairn_yaml_count(y), 0);
                cairn_yaml_free(y);
        }
        /* a document marker alone holds one null scalar */
        y = parse("---\n");
        ck_assert(cairn_yaml_is_null(cairn_yaml_root(y)));
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_count_counts_every_node)
{
        struct cairn_yaml *y = parse("a: [1, 2]\n");

        /* the mapping, "a", the sequence and its two items */
        ck_assert_uint_eq(cairn_yaml_count(y), 5);
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_str_only_scalars)
{
        struct cairn_yaml *y = parse("a: 1\nb: [x]\n");
        const struct cairn_yaml_node *root = cairn_yaml_root(y);

        ck_assert_str_eq(cairn_yaml_str(root->pairs[0].value), "1");
        ck_assert_ptr_null(cairn_yaml_str(root->pairs[1].value));
        ck_assert_ptr_null(cairn_yaml_str(root));
        ck_assert_ptr_null(cairn_yaml_str(NULL));
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_is_null_plain_only)
{
        struct cairn_yaml *y = parse("a:\nb: ~\nc: null\nd: NULL\ne: \"\"\nf: 'null'\ng: x\n"
                                     "h: []\n");
        const struct cairn_yaml_node *root = cairn_yaml_root(y);
        const bool want[] = { true, true, true, true, false, false, false, false };

        for (size_t i = 0; i < root->n; i++)
                ck_assert_msg(cairn_yaml_is_null(root->pairs[i].value) == want[i], "key %s",
                              root->pairs[i].key->value);
        ck_assert(!cairn_yaml_is_null(NULL));
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_get_first_match)
{
        struct cairn_yaml *y = parse("a: 1\nb: 2\n? [k]\n: 3\na: 4\n");
        const struct cairn_yaml_node *root = cairn_yaml_root(y);

        ck_assert_str_eq(cairn_yaml_str(cairn_yaml_get(root, "a")), "1");
        ck_assert_str_eq(cairn_yaml_str(cairn_yaml_get(root, "b")), "2");
        ck_assert_ptr_null(cairn_yaml_get(root, "c"));
        ck_assert_ptr_null(cairn_yaml_get(cairn_yaml_get(root, "a"), "a"));
        ck_assert_ptr_null(cairn_yaml_get(NULL, "a"));
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_key_unknown_names_the_key)
{
        static const char *const known[] = { "kid", "alg", NULL };
        struct cairn_yaml *y = parse("- {kid: a, alg: b}\n- {kid: a, colour: red}\n- {[x]: 1}\n");
        const struct cairn_yaml_node *root = cairn_yaml_root(y), *bad;

        ck_assert_ptr_null(cairn_yaml_key_unknown(root->items[0], known));
        bad = cairn_yaml_key_unknown(root->items[1], known);
        ck_assert_ptr_nonnull(bad);
        ck_assert_str_eq(bad->value, "colour");
        ck_assert_int_eq(bad->line, 2);
        bad = cairn_yaml_key_unknown(root->items[2], known);
        ck_assert_ptr_nonnull(bad);
        ck_assert_int_eq(bad->type, CAIRN_YAML_SEQUENCE);
        ck_assert_ptr_null(cairn_yaml_key_unknown(root, known));
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_free_accepts_null)
{
        cairn_yaml_free(NULL);
}
END_TEST

/* @p text as JSON must equal @p want (JSON text); types count: 1 is not
 * 1.0. */
static void json_is(const char *text, const char *want)
{
        struct cairn_yaml *y = parse(text);
        json_t *v = cairn_yaml_to_json(y, "t.yaml", errstr, sizeof(errstr));
        json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
        char *got;

        ck_assert_msg(v != NULL, "%s: %s", text, errstr);
        ck_assert_ptr_nonnull(w);
        got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_msg(json_equal(v, w), "%s gave %s, not %s", text, got, want);
        free(got);
        json_decref(v);
        json_decref(w);
        cairn_yaml_free(y);
}

static void json_fails(const char *text, const char *want)
{
        struct cairn_yaml *y = parse(text);

        errstr[0] = '\0';
        ck_assert_msg(cairn_yaml_to_json(y, "t.yaml", errstr, sizeof(errstr)) == NULL,
                      "%s converted", text);
        ck_assert_str_eq(errstr, want);
        cairn_yaml_free(y);
}

START_TEST(test_cairn_yaml_to_json_plain_scalars_by_the_core_schema)
{
        json_is("[12, -7, +3, 0, 007, 0o17, 0x1F, 9223372036854775807, -9223372036854775808]",
                "[12, -7, 3, 0, 7, 15, 31, 9223372036854775807, -9223372036854775808]");
        json_is("[1.5, .5, -.5, 1., 1e3, 2.5E-1, +1.0]",
                "[1.5, 0.5, -0.5, 1.0, 1000.0, 0.25, 1.0]");
        json_is("[true, True, TRUE, false, False, FALSE]",
                "[true, true, true, false, false, false]");
        json_is("[null, Null, NULL, ~]", "[null, null, null, null]");
        json_is("a:\nb: ~\n", "{\"a\": null, \"b\": null}");
        /* not the core schema's: strings (YAML 1.1's booleans, underscores, 0X) */
        json_is("[yes, no, on, off, y, n, tRUE, nul, 1_000, 0X1F, 0o8, 0xG, 1.0.2, 1e, .e3, -, ., "
                "12abc, 10s, 2027-01-01]",
                "[\"yes\", \"no\", \"on\", \"off\", \"y\", \"n\", \"tRUE\", \"nul\", \"1_000\", "
                "\"0X1F\", \"0o8\", \"0xG\", \"1.0.2\", \"1e\", \".e3\", \"-\", \".\", \"12abc\", "
                "\"10s\", \"2027-01-01\"]");
}
END_TEST

START_TEST(test_cairn_yaml_to_json_quoted_scalars_stay_strings)
{
        json_is("[\"12\", '1.5', \"true\", 'null', \"~\", '', \"\", \".inf\", \"<<\"]",
                "[\"12\", \"1.5\", \"true\", \"null\", \"~\", \"\", \"\", \".inf\", \"<<\"]");
        json_is("{\"<<\": 1, '12': x}", "{\"<<\": 1, \"12\": \"x\"}");
        json_is("a: |\n  two\n  lines\nb: >\n  folded\n  text\n",
                "{\"a\": \"two\\nlines\\n\", \"b\": \"folded text\\n\"}");
}
END_TEST

START_TEST(test_cairn_yaml_to_json_keeps_nul_bytes)
{
        struct cairn_yaml *y = parse("a: \"x\\0y\"\n");
        json_t *v = cairn_yaml_to_json(y, "t.yaml", errstr, sizeof(errstr));

        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(json_string_length(json_object_get(v, "a")), 3);
        json_decref(v);
        cairn_yaml_free(y);
}
END_TEST

START_TEST(test_cairn_yaml_to_json_nests_maps_and_lists)
{
        json_is("type: t\n"
                "steps:\n"
                "  - id: a\n"
                "    after: []\n"
                "    call:\n"
                "      service: memory\n"
                "      request: {userId: \"${input.user}\", n: 3, tags: [x, 'y', 2.5]}\n"
                "  - id: b\n"
                "    after: [a]\n"
                "    sleep: {duration: 10s}\n",
                "{\"type\": \"t\", \"steps\": [{\"id\": \"a\", \"after\": [], \"call\": "
                "{\"service\": \"memory\", \"request\": {\"userId\": \"${input.user}\", \"n\": 3, "
                "\"tags\": [\"x\", \"y\", 2.5]}}}, {\"id\": \"b\", \"after\": [\"a\"], \"sleep\": "
                "{\"duration\": \"10s\"}}]}");
        json_is("[[[]], {}, [{}]]", "[[[]], {}, [{}]]");
        json_is("just a string", "\"just a string\"");
        json_is("42", "42");
}
END_TEST

START_TEST(test_cairn_yaml_to_json_resolves_aliases)
{
        struct cairn_yaml *y = parse("retry: &r {maximumAttempts: 3, codes: [A, B]}\n"
                                     "a: {retry: *r}\n"
                                     "b: {retry: *r}\n"
                                     "n: &n 7\n"
                                     "m: *n\n");
        json_t *v = cairn_yaml_to_json(y, "t.yaml", errstr, sizeof(errstr)), *a, *b;

        ck_assert_msg(v != NULL, "%s", errstr);
        a = json_object_get(json_object_get(v, "a"), "retry");
        b = json_object_get(json_object_get(v, "b"), "retry");
        ck_assert(json_equal(a, json_object_get(v, "retry")));
        ck_assert(json_equal(a, b));
        /* copies, not one value three times */
        ck_assert_ptr_ne(a, b);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "m")), 7);
        json_decref(v);
        cairn_yaml_free(y);
        /* an empty document is null */
        json_is("# nothing\n", "null");
}
END_TEST

START_TEST(test_cairn_yaml_to_json_refusals)
{
        char *deep;

        json_fails("a: 1\nb: 2\na: 3\n", "t.yaml: line 3: key \"a\" given twice");
        json_fails("? [a]\n: 1\n", "t.yaml: line 1: a key must be a scalar, not a sequence");
        json_fails("? {a: 1}\n: 1\n", "t.yaml: line 1: a key must be a scalar, not a mapping");
        json_fails("base: &b {x: 1}\nc:\n  <<: *b\n",
                   "t.yaml: line 3: merge keys (<<) are not supported");
        json_fails("x: .inf\n", "t.yaml: line 1: .inf has no JSON form (quote it for a string)");
        json_fails("x: [-.Inf]\n",
                   "t.yaml: line 1: -.Inf has no JSON form (quote it for a string)");
        json_fails("x: .NaN\n", "t.yaml: line 1: .NaN has no JSON form (quote it for a string)");
        json_fails("x: 9223372036854775808\n",
                   "t.yaml: line 1: integer 9223372036854775808 is out of range (quote it for a "
                   "string)");
        json_fails("x: 0x8000000000000000\n",
                   "t.yaml: line 1: integer 0x8000000000000000 is out of range (quote it for a "
                   "string)");
        json_fails("x: 1e999\n",
                   "t.yaml: line 1: number 1e999 is out of range (quote it for a string)");
        /* an alias inside the node it names */
        json_fails("a: &x [1, *x]\n", "t.yaml: line 1: an alias refers to a node that holds it");
        json_fails("a: &x {b: {c: *x}}\n",
                   "t.yaml: line 1: an alias refers to a node that holds it");
        /* 10^9 nodes from a few lines */
        json_fails("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                   "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                   "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
                   "t.yaml: line 1: aliases expand the document by more than 100000 nodes");
        /* 100 levels are fine, 101 are not */
        deep = calloc(1, 512);
        ck_assert_ptr_nonnull(deep);
        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        json_is(deep, deep); /* the same text as JSON */
        memset(deep, '[', 101);
        memset(deep + 101, ']', 101);
        json_fails(deep, "t.yaml: line 1: nested deeper than 100 levels");
        free(deep);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("yaml");
        TCase *tc = tcase_create("cairn_yaml_parse");

        tcase_add_test(tc, test_cairn_yaml_parse_builds_the_tree);
        tcase_add_test(tc, test_cairn_yaml_parse_alias_is_the_same_node);
        tcase_add_test(tc, test_cairn_yaml_parse_keeps_nul_bytes_counted);
        tcase_add_test(tc, test_cairn_yaml_parse_reports_syntax_errors);
        tcase_add_test(tc, test_cairn_yaml_parse_refuses_a_second_document);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_load");
        tcase_add_test(tc, test_cairn_yaml_load_reads_the_file);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_root");
        tcase_add_test(tc, test_cairn_yaml_root_null_without_content);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_count");
        tcase_add_test(tc, test_cairn_yaml_count_counts_every_node);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_str");
        tcase_add_test(tc, test_cairn_yaml_str_only_scalars);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_is_null");
        tcase_add_test(tc, test_cairn_yaml_is_null_plain_only);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_get");
        tcase_add_test(tc, test_cairn_yaml_get_first_match);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_key_unknown");
        tcase_add_test(tc, test_cairn_yaml_key_unknown_names_the_key);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_free");
        tcase_add_test(tc, test_cairn_yaml_free_accepts_null);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_yaml_to_json");
        tcase_add_test(tc, test_cairn_yaml_to_json_plain_scalars_by_the_core_schema);
        tcase_add_test(tc, test_cairn_yaml_to_json_quoted_scalars_stay_strings);
        tcase_add_test(tc, test_cairn_yaml_to_json_keeps_nul_bytes);
        tcase_add_test(tc, test_cairn_yaml_to_json_nests_maps_and_lists);
        tcase_add_test(tc, test_cairn_yaml_to_json_resolves_aliases);
        tcase_add_test(tc, test_cairn_yaml_to_json_refusals);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

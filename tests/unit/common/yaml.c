/* Unit tests for the YAML tree: shapes, lines, aliases, the checks done at
 * parse time, and the helpers readers walk it with. */
#include <check.h>
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
        return unit_run(s);
}

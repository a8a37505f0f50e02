/* Unit tests for cairn-admin's topics file: defaults and overrides, errors
 * that name the line and the key, and the plan that compares a declared
 * topic with what a cluster has. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topics.h"
#include "../unit.h"

static int parse(const char *yaml, struct topics_file *tf, char *errstr, size_t size)
{
        return topics_file_parse(yaml, strlen(yaml), "t.yaml", tf, errstr, size);
}

static const char *spec_config(const struct topic_spec *s, const char *name)
{
        for (size_t i = 0; i < s->nconfigs; i++)
                if (strcmp(s->configs[i].name, name) == 0)
                        return s->configs[i].value;
        return NULL;
}

START_TEST(test_topics_file_parse_defaults_and_overrides)
{
        struct topics_file tf;
        char err[512];
        const char *yaml = "defaults:\n"
                           "  partitions: 12\n"
                           "  replication_factor: 3\n"
                           "  configs: {min.insync.replicas: 2, retention.ms: 604800000}\n"
                           "topics:\n"
                           "  cairn.a.v1.requests: {configs: {retention.ms: 86400000}}\n"
                           "  cairn.a.v1.requests.dlq:\n"
                           "    partitions: 3\n"
                           "    replication_factor: 2\n"
                           "  cairn.b:\n";

        ck_assert_msg(parse(yaml, &tf, err, sizeof(err)) == 0, "%s", err);
        ck_assert_uint_eq(tf.ntopics, 3);
        ck_assert_str_eq(tf.topics[0].name, "cairn.a.v1.requests");
        ck_assert_int_eq(tf.topics[0].line, 6);
        ck_assert_int_eq(tf.topics[0].partitions, 12);
        ck_assert_int_eq(tf.topics[0].replication_factor, 3);
        ck_assert_str_eq(spec_config(&tf.topics[0], "retention.ms"), "86400000");
        ck_assert_str_eq(spec_config(&tf.topics[0], "min.insync.replicas"), "2");
        ck_assert_uint_eq(tf.topics[0].nconfigs, 2);
        ck_assert_int_eq(tf.topics[1].partitions, 3);
        ck_assert_int_eq(tf.topics[1].replication_factor, 2);
        ck_assert_str_eq(spec_config(&tf.topics[1], "retention.ms"), "604800000");
        ck_assert_int_eq(tf.topics[2].partitions, 12);
        topics_file_cleanup(&tf);
}
END_TEST

START_TEST(test_topics_file_parse_repo_file)
{
        struct topics_file tf;
        char err[512], path[512];
        const char *root = getenv("TESTS_ROOT");

        snprintf(path, sizeof(path), "%s/deploy/kafka/topics.yaml", root ? root : ".");
        ck_assert_msg(topics_file_load(path, &tf, err, sizeof(err)) == 0, "%s", err);
        ck_assert_uint_ge(tf.ntopics, 20);
        for (size_t i = 0; i < tf.ntopics; i++) {
                ck_assert_int_ge(tf.topics[i].replication_factor, 3);
                ck_assert_ptr_nonnull(spec_config(&tf.topics[i], "min.insync.replicas"));
                ck_assert_ptr_nonnull(spec_config(&tf.topics[i], "retention.ms"));
                ck_assert_ptr_nonnull(spec_config(&tf.topics[i], "max.message.bytes"));
                ck_assert_ptr_nonnull(spec_config(&tf.topics[i], "cleanup.policy"));
        }
        topics_file_cleanup(&tf);
}
END_TEST

START_TEST(test_topics_file_set_replicas_caps_min_insync)
{
        static const char yaml[] =
                "defaults: {partitions: 2, replication_factor: 3, configs: {min.insync.replicas: 2}}\n"
                "topics:\n  a: {}\n  b: {configs: {retention.ms: 5}}\n";
        struct topics_file tf;
        char err[512];

        ck_assert_msg(topics_file_parse(yaml, strlen(yaml), "t.yaml", &tf, err, sizeof(err)) == 0,
                      "%s", err);
        topics_file_set_replicas(&tf, 1);
        for (size_t i = 0; i < tf.ntopics; i++) {
                ck_assert_int_eq(tf.topics[i].replication_factor, 1);
                ck_assert_str_eq(spec_config(&tf.topics[i], "min.insync.replicas"), "1");
        }
        ck_assert_str_eq(spec_config(&tf.topics[1], "retention.ms"), "5");
        /* a cap above what is asked changes the replicas only */
        topics_file_set_replicas(&tf, 5);
        ck_assert_int_eq(tf.topics[0].replication_factor, 5);
        ck_assert_str_eq(spec_config(&tf.topics[0], "min.insync.replicas"), "1");
        topics_file_cleanup(&tf);
}
END_TEST

/* Each bad file and the words its message must hold. */
static const struct {
        /* cppcheck-suppress unusedStructMember ; read through bad[i] */
        const char *yaml;
        /* cppcheck-suppress unusedStructMember ; read through bad[i] */
        const char *want1, *want2;
} bad[] = {
        { "topics:\n  a:\n    partitions: many\n", "t.yaml:3:", "topics.a.partitions" },
        { "topics:\n  a: {partitions: 0, replication_factor: 1}\n", "t.yaml:2:", "1 to 100000" },
        { "topics:\n  a: {partitions: 1}\n", "t.yaml:2:", "replication_factor missing" },
        { "topics:\n  a: {partitions: 1, replication_factor: 1, color: red}\n", "topics.a.color",
          "unknown key" },
        { "topics:\n  \"bad name!\": {}\n", "t.yaml:2:", "not a valid topic name" },
        { "defaults: {partitions: 1, replication_factor: 1}\ntopics:\n  a:\n  a:\n",
          "t.yaml:4:", "declared twice" },
        { "topics:\n  a: {partitions: 1, replication_factor: 1, configs: {retention.ms: }}\n",
          "topics.a.configs.retention.ms", "must be a value" },
        { "topics:\n  a: {partitions: 1, replication_factor: 1, configs: [1, 2]}\n",
          "topics.a.configs", "mapping" },
        { "topic:\n  a: {}\n", "t.yaml:1:", "unknown key" },
        { "defaults: {partitions: 2}\n", "topics", "missing" },
        { "topics:\n  a: {partitions: [1\n", "t.yaml:", "not valid YAML" },
        { "", "empty file", "topics" },
        { "- a\n- b\n", "(top level)", "mapping" },
        { "topics: {}\n---\ntopics: {}\n", "t.yaml", "more than one YAML document" },
};

START_TEST(test_topics_file_parse_errors_name_line_and_key)
{
        struct topics_file tf;
        char err[512];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                ck_assert_msg(parse(bad[i].yaml, &tf, err, sizeof(err)) == -1, "case %zu parsed",
                              i);
                ck_assert_msg(strstr(err, bad[i].want1) && strstr(err, bad[i].want2),
                              "case %zu: \"%s\" lacks \"%s\" or \"%s\"", i, err, bad[i].want1,
                              bad[i].want2);
                ck_assert_ptr_null(tf.topics);
        }
}
END_TEST

static struct topic_spec spec_new(void)
{
        static struct topic_config cfg[] = { { "retention.ms", "1000" },
                                             { "cleanup.policy", "delete" } };
        struct topic_spec s = { "t", 1, 6, 3, cfg, 2 };

        return s;
}

START_TEST(test_topic_plan_make_missing_creates)
{
        struct topic_spec s = spec_new();
        struct topic_state st = { 0 };
        struct topic_plan plan;

        ck_assert_int_eq(topic_plan_make(&s, &st, &plan, NULL), 1);
        ck_assert(plan.create);
}
END_TEST

START_TEST(test_topic_plan_make_same_is_quiet)
{
        struct topic_spec s = spec_new();
        struct topic_config cur[] = { { "retention.ms", "1000" },
                                      { "cleanup.policy", "delete" },
                                      { "segment.ms", "5" } };
        struct topic_state st = { true, 6, 3, cur, 3 };
        struct topic_plan plan;

        ck_assert_int_eq(topic_plan_make(&s, &st, &plan, NULL), 0);
        ck_assert(!plan.create && !plan.partitions_to && !plan.configs_drift);
}
END_TEST

START_TEST(test_topic_plan_make_grows_never_shrinks)
{
        struct topic_spec s = spec_new();
        struct topic_config cur[] = { { "retention.ms", "1000" }, { "cleanup.policy", "delete" } };
        struct topic_state st = { true, 4, 3, cur, 2 };
        struct topic_plan plan;

        ck_assert_int_eq(topic_plan_make(&s, &st, &plan, NULL), 1);
        ck_assert_int_eq(plan.partitions_to, 6);
        st.partitions = 8;
        ck_assert_int_eq(topic_plan_make(&s, &st, &plan, NULL), 1);
        ck_assert_int_eq(plan.partitions_to, 0);
        ck_assert(plan.fewer_partitions);
}
END_TEST

START_TEST(test_topic_plan_make_config_and_rf_drift)
{
        struct topic_spec s = spec_new();
        struct topic_config cur[] = { { "retention.ms", "2000" } };
        struct topic_state st = { true, 6, 1, cur, 1 };
        struct topic_plan plan;
        char *out = NULL;
        size_t outlen = 0;
        FILE *fp = open_memstream(&out, &outlen);

        /* retention differs, cleanup.policy unset, replication factor differs */
        ck_assert_int_eq(topic_plan_make(&s, &st, &plan, fp), 3);
        fclose(fp);
        ck_assert(plan.configs_drift);
        ck_assert(plan.rf_differs);
        ck_assert_ptr_nonnull(strstr(out, "retention.ms is 2000, file asks 1000"));
        ck_assert_ptr_nonnull(strstr(out, "cleanup.policy is (unset)"));
        free(out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("admin_topics");
        TCase *tc = tcase_create("topics_file_parse");

        tcase_add_test(tc, test_topics_file_parse_defaults_and_overrides);
        tcase_add_test(tc, test_topics_file_parse_repo_file);
        tcase_add_test(tc, test_topics_file_set_replicas_caps_min_insync);
        tcase_add_test(tc, test_topics_file_parse_errors_name_line_and_key);
        suite_add_tcase(s, tc);
        tc = tcase_create("topic_plan_make");
        tcase_add_test(tc, test_topic_plan_make_missing_creates);
        tcase_add_test(tc, test_topic_plan_make_same_is_quiet);
        tcase_add_test(tc, test_topic_plan_make_grows_never_shrinks);
        tcase_add_test(tc, test_topic_plan_make_config_and_rf_drift);
        suite_add_tcase(s, tc);

        return unit_run(s);
}

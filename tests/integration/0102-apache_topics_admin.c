/* cairn-admin topics apply|diff against Apache Kafka (run only in the
 * Apache pass; the dev broker has no CreateTopics): creates what is missing,
 * is idempotent, grows partitions and sets drifted configs without
 * reverting configs set outside the file, never lowers partitions, and
 * names the line of a bad file. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct harness_broker broker;
static char yaml_path[512];

/* Runs cairn-admin topics @p verb on the test's file; returns its exit
 * code and its output (stdout and stderr) in @p out. */
static int admin_run(const char *verb, char *out, size_t size)
{
        char cmd[2048];
        size_t len = 0;
        FILE *fp;

        snprintf(
                cmd, sizeof(cmd),
                "env -i CAIRN_KAFKA_BOOTSTRAP_SERVERS='%s' '%s/bin/cairn-admin' topics %s '%s' 2>&1",
                broker.bootstrap, harness_build_dir(), verb, yaml_path);
        fp = popen(cmd, "r");
        ck_assert_ptr_nonnull(fp);
        len = fread(out, 1, size - 1, fp);
        out[len] = '\0';
        int status = pclose(fp);
        printf("$ cairn-admin topics %s\n%s", verb, out);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* Writes the test's topics file: topics a and b (this test's names) with
 * @p b_parts partitions for b and @p a_retention for a, plus @p extra. */
static void yaml_write(int b_parts, const char *a_retention, const char *extra)
{
        FILE *fp = fopen(yaml_path, "w");

        ck_assert_ptr_nonnull(fp);
        fprintf(fp,
                "defaults:\n"
                "  partitions: 2\n"
                "  replication_factor: 1\n"
                "  configs: {min.insync.replicas: 1, cleanup.policy: delete}\n"
                "topics:\n"
                "  %s:\n"
                "    configs:\n"
                "      retention.ms: %s\n"
                "%s"
                "  %s: {partitions: %d}\n",
                harness_topic("adm.a"), a_retention, extra ? extra : "", harness_topic("adm.b"),
                b_parts);
        fclose(fp);
}

/* Sets segment.ms on topic a behind the tool's back (AlterConfigs replaces
 * the topic's dynamic configs, so the declared ones go along). */
static void set_out_of_band(void)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                                     harness_topic("adm.a"));
        rd_kafka_ConfigResource_set_config(res, "min.insync.replicas", "1");
        rd_kafka_ConfigResource_set_config(res, "cleanup.policy", "delete");
        rd_kafka_ConfigResource_set_config(res, "retention.ms", "3600000");
        rd_kafka_ConfigResource_set_config(res, "segment.ms", "7200000");
        rd_kafka_AlterConfigs(rk, &res, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
        ck_assert_ptr_nonnull(ev);
        ck_assert_msg(!rd_kafka_event_error(ev), "%s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        rd_kafka_ConfigResource_destroy(res);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
}

START_TEST(test_topics_apply_and_diff)
{
        static char out[16384];

        harness_broker_start(&broker, 1);
        snprintf(yaml_path, sizeof(yaml_path), "%s/topics.yaml", broker.dir);

        yaml_write(3, "3600000", NULL);
        ck_assert_int_eq(admin_run("diff", out, sizeof(out)), 1);
        ck_assert_ptr_nonnull(strstr(out, "missing"));
        ck_assert_int_eq(admin_run("apply", out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "apply: 2 created, 0 grown, 0 with configs set"));
        /* idempotent */
        ck_assert_int_eq(admin_run("apply", out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "nothing to change"));
        ck_assert_int_eq(admin_run("diff", out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "no drift"));

        /* More partitions and a new retention; a config the file does not
         * name, set by someone else, survives. */
        set_out_of_band();
        yaml_write(5, "7200000", NULL);
        ck_assert_int_eq(admin_run("diff", out, sizeof(out)), 1);
        ck_assert_ptr_nonnull(strstr(out, "retention.ms is 3600000, file asks 7200000"));
        ck_assert_int_eq(admin_run("apply", out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "apply: 0 created, 1 grown, 1 with configs set"));
        yaml_write(5, "7200000", "      segment.ms: 7200000\n");
        ck_assert_int_eq(admin_run("diff", out, sizeof(out)), 0);

        /* Partitions are never lowered: reported, exit 1, nothing changed. */
        yaml_write(2, "7200000", NULL);
        ck_assert_int_eq(admin_run("apply", out, sizeof(out)), 1);
        ck_assert_ptr_nonnull(strstr(out, "never lowered"));
        yaml_write(5, "7200000", NULL);
        ck_assert_int_eq(admin_run("diff", out, sizeof(out)), 0);

        /* A bad file names its line and key, and touches nothing. */
        FILE *fp = fopen(yaml_path, "w");
        ck_assert_ptr_nonnull(fp);
        fprintf(fp, "topics:\n  %s:\n    partitions: lots\n    replication_factor: 1\n",
                harness_topic("adm.c"));
        fclose(fp);
        ck_assert_int_eq(admin_run("apply", out, sizeof(out)), 2);
        ck_assert_ptr_nonnull(strstr(out, "topics.yaml:3:"));
        ck_assert_ptr_nonnull(strstr(out, "partitions"));

        harness_broker_stop(&broker);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0102-apache_topics_admin");
        TCase *tc = tcase_create("topics");

        if (!harness_apache()) {
                printf("0102-apache_topics_admin: skipped: needs Apache Kafka (the Apache pass)\n");
                return 0;
        }
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_topics_apply_and_diff);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

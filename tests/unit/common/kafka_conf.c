/* Unit tests for applying the "kafka." keys to a librdkafka configuration:
 * order of defaults, keys and overrides, and errors that name the key. */
#include <check.h>
#include <string.h>

#include "cairn/kafka_conf.h"
#include "../unit.h"

static struct cairn_conf *conf;
static rd_kafka_conf_t *kconf;
static char errstr[512];

/* Loads a configuration from the environment @p env alone. */
static void load(char **env)
{
        conf = cairn_conf_load(NULL, NULL, 0, env, errstr, sizeof(errstr));
        ck_assert_msg(conf != NULL, "%s", errstr);
        kconf = rd_kafka_conf_new();
}

static void teardown(void)
{
        rd_kafka_conf_destroy(kconf);
        kconf = NULL;
        cairn_conf_free(conf);
        conf = NULL;
}

static const char *get(const char *name)
{
        static char value[256];
        size_t size = sizeof(value);

        ck_assert_int_eq(rd_kafka_conf_get(kconf, name, value, &size), RD_KAFKA_CONF_OK);
        return value;
}

START_TEST(test_cairn_kafka_conf_apply_sets_keys)
{
        load((char *[]){ "CAIRN_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092", "CAIRN_KAFKA_LINGER_MS=7",
                         NULL });
        ck_assert_int_eq(cairn_kafka_conf_apply(kconf, conf, NULL, NULL, errstr, sizeof(errstr)),
                         0);
        ck_assert_str_eq(get("bootstrap.servers"), "127.0.0.1:9092");
        ck_assert_str_eq(get("linger.ms"), "7");
}
END_TEST

START_TEST(test_cairn_kafka_conf_apply_keys_beat_defaults_overrides_beat_keys)
{
        const char *defaults[] = { "linger.ms", "50", "statistics.interval.ms", "5000", NULL };
        const char *overrides[] = { "client.id", "cairn/test", NULL };

        load((char *[]){ "CAIRN_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092", "CAIRN_KAFKA_LINGER_MS=7",
                         "CAIRN_KAFKA_CLIENT_ID=mine", NULL });
        ck_assert_int_eq(cairn_kafka_conf_apply(kconf, conf, defaults, overrides, errstr,
                                                sizeof(errstr)),
                         0);
        ck_assert_str_eq(get("linger.ms"), "7");
        ck_assert_str_eq(get("statistics.interval.ms"), "5000");
        ck_assert_str_eq(get("client.id"), "cairn/test");
}
END_TEST

START_TEST(test_cairn_kafka_conf_apply_names_bad_key)
{
        load((char *[]){ "CAIRN_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092",
                         "CAIRN_KAFKA_NO_SUCH_SETTING=1", NULL });
        ck_assert_int_eq(cairn_kafka_conf_apply(kconf, conf, NULL, NULL, errstr, sizeof(errstr)),
                         -1);
        ck_assert_msg(strncmp(errstr, "config: kafka.no.such.setting: ", 31) == 0, "%s", errstr);

        /* a bad value of the caller's own is named the same way */
        teardown();
        load((char *[]){ "CAIRN_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092", NULL });
        ck_assert_int_eq(cairn_kafka_conf_apply(kconf, conf, NULL,
                                                (const char *[]){ "acks", "some", NULL }, errstr,
                                                sizeof(errstr)),
                         -1);
        ck_assert_msg(strncmp(errstr, "config: kafka.acks: ", 20) == 0, "%s", errstr);
}
END_TEST

START_TEST(test_cairn_kafka_conf_apply_requires_bootstrap_servers)
{
        load((char *[]){ "CAIRN_KAFKA_LINGER_MS=7", NULL });
        ck_assert_int_eq(cairn_kafka_conf_apply(kconf, conf, NULL, NULL, errstr, sizeof(errstr)),
                         -1);
        ck_assert_ptr_nonnull(strstr(errstr, "kafka.bootstrap.servers is required"));
        ck_assert_ptr_nonnull(strstr(errstr, "CAIRN_KAFKA_BOOTSTRAP_SERVERS"));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("kafka_conf");
        TCase *tc = tcase_create("cairn_kafka_conf_apply");

        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test_cairn_kafka_conf_apply_sets_keys);
        tcase_add_test(tc, test_cairn_kafka_conf_apply_keys_beat_defaults_overrides_beat_keys);
        tcase_add_test(tc, test_cairn_kafka_conf_apply_names_bad_key);
        tcase_add_test(tc, test_cairn_kafka_conf_apply_requires_bootstrap_servers);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

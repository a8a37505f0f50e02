/* Unit tests for reading consumer lag out of librdkafka's statistics JSON:
 * a realistic report, skipped partitions, and malformed documents. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_stats.h"
#include "../unit.h"

struct seen {
        char line[16][96];
        int n;
};

static void collect(const char *topic, int32_t partition, int64_t lag, void *opaque)
{
        struct seen *s = opaque;

        if (s->n < 16)
                snprintf(s->line[s->n++], sizeof(s->line[0]), "%s/%d=%lld", topic, (int)partition,
                         (long long)lag);
}

static int lag_of(const char *json, struct seen *s)
{
        memset(s, 0, sizeof(*s));
        return cairn_kafka_stats_lag(json, strlen(json), collect, s);
}

START_TEST(test_cairn_kafka_stats_lag_reads_partitions)
{
        static const char *json =
                "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"ts\":1,"
                "\"brokers\":{\"b1\":{\"toppars\":{}}},"
                "\"topics\":{\"cairn.embedding.v1.requests\":{\"topic\":\"cairn.embedding.v1."
                "requests\",\"partitions\":{"
                "\"0\":{\"partition\":0,\"consumer_lag\":12,\"hi_offset\":40},"
                "\"1\":{\"partition\":1,\"consumer_lag\":0},"
                "\"2\":{\"partition\":2,\"consumer_lag\":-1},"
                "\"-1\":{\"partition\":-1,\"consumer_lag\":-1}}},"
                "\"other\":{\"partitions\":{\"3\":{\"consumer_lag\":7}}}}}";
        struct seen s;

        ck_assert_int_eq(lag_of(json, &s), 3);
        ck_assert_str_eq(s.line[0], "cairn.embedding.v1.requests/0=12");
        ck_assert_str_eq(s.line[1], "cairn.embedding.v1.requests/1=0");
        ck_assert_str_eq(s.line[2], "other/3=7");
}
END_TEST

START_TEST(test_cairn_kafka_stats_lag_no_topics)
{
        struct seen s;

        ck_assert_int_eq(lag_of("{\"name\":\"x\"}", &s), 0);
        ck_assert_int_eq(lag_of("{\"topics\":{}}", &s), 0);
        ck_assert_int_eq(lag_of("{\"topics\":{\"t\":{}}}", &s), 0);
        ck_assert_int_eq(lag_of("{\"topics\":{\"t\":{\"partitions\":[]}}}", &s), 0);
}
END_TEST

START_TEST(test_cairn_kafka_stats_lag_rejects_malformed)
{
        struct seen s;

        ck_assert_int_eq(lag_of("", &s), -1);
        ck_assert_int_eq(lag_of("[1,2]", &s), -1);
        ck_assert_int_eq(lag_of("{\"topics\":3}", &s), -1);
        ck_assert_int_eq(lag_of("{\"topics\":{", &s), -1);
        ck_assert_int_eq(lag_of("{\"a\":1,\"a\":2}", &s), -1);
        /* wrong types inside are skipped, not trusted */
        ck_assert_int_eq(lag_of("{\"topics\":{\"t\":{\"partitions\":{"
                                "\"0\":{\"consumer_lag\":\"12\"},"
                                "\"x\":{\"consumer_lag\":1},"
                                "\"99999999999\":{\"consumer_lag\":1},"
                                "\"1\":{\"consumer_lag\":1.5},"
                                "\"2\":3}}}}",
                                &s),
                         0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("kafka_stats");
        TCase *tc = tcase_create("cairn_kafka_stats_lag");

        tcase_add_test(tc, test_cairn_kafka_stats_lag_reads_partitions);
        tcase_add_test(tc, test_cairn_kafka_stats_lag_no_topics);
        tcase_add_test(tc, test_cairn_kafka_stats_lag_rejects_malformed);
        suite_add_tcase(s, tc);

        return unit_run(s);
}

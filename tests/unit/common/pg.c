/* Unit tests for the PostgreSQL pool's pure parts: the statement_timeout a
 * deadline gives, the "pg" configuration table, and creating a pool (which
 * connects to nothing). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/conf.h"
#include "cairn/pg.h"
#include "../unit.h"

START_TEST(test_cairn_pg_statement_timeout_ms_no_deadline_is_cap)
{
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(0, 123456789, 5000), 5000);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(0, 0, 1), 1);
}
END_TEST

START_TEST(test_cairn_pg_statement_timeout_ms_time_left_two_digits)
{
        int64_t now = 1000000000;

        /* exact below 100 ms, then rounded down to two significant digits */
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 1000, now, 5000), 1);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 99999, now, 5000), 99);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 150000, now, 5000), 150);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 4870000, now, 5000), 4800);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 4830500, now, 5000), 4800);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 1999999, now, 5000), 1900);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 123456789, now, 5000), 120000);
}
END_TEST

START_TEST(test_cairn_pg_statement_timeout_ms_never_past_the_deadline)
{
        int64_t now = 5000000;

        for (int64_t left = 1000; left < 100000000; left = left * 3 / 2 + 7) {
                int64_t t = cairn_pg_statement_timeout_ms(now + left, now, 5000);

                ck_assert_int_ge(t, 1);
                ck_assert_int_le(t * 1000, left);
                /* at most 10% shorter than the time left */
                ck_assert_int_gt(t * 1000, left - left / 10 - 1000);
        }
}
END_TEST

START_TEST(test_cairn_pg_statement_timeout_ms_passed_is_zero)
{
        int64_t now = 5000000;

        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now, now, 5000), 0);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now + 999, now, 5000), 0);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(now - 1, now, 5000), 0);
        ck_assert_int_eq(cairn_pg_statement_timeout_ms(1, now, 5000), 0);
}
END_TEST

START_TEST(test_cairn_pg_conf_items_defaults_and_environment)
{
        struct cairn_pg_conf pconf;
        struct cairn_conf_section sec = { "PostgreSQL", cairn_pg_conf_items, &pconf, NULL };
        char *env[] = { "CAIRN_PG_URL=postgresql://app:pw@db.example:5433/cairn",
                        "CAIRN_PG_POOL_SIZE=9", NULL };
        char *none[] = { NULL };
        char errstr[256];
        struct cairn_conf *conf;

        memset(&pconf, 0, sizeof(pconf));
        conf = cairn_conf_load(NULL, &sec, 1, none, errstr, sizeof(errstr));
        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_str_eq(pconf.url, "");
        ck_assert_int_eq(pconf.pool_size, 4);
        ck_assert_int_eq(pconf.connect_timeout_ms, 10000);
        ck_assert_int_eq(pconf.startup_wait_ms, 60000);
        ck_assert_int_eq(pconf.statement_timeout_ms, 5000);
        ck_assert_int_eq(pconf.retry_interval_ms, 1000);
        cairn_conf_free(conf);

        conf = cairn_conf_load(NULL, &sec, 1, env, errstr, sizeof(errstr));
        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_str_eq(pconf.url, "postgresql://app:pw@db.example:5433/cairn");
        ck_assert_int_eq(pconf.pool_size, 9);
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_pg_conf_items_url_is_secret)
{
        const struct cairn_conf_item *it;

        for (it = cairn_pg_conf_items; it->name; it++)
                if (strcmp(it->name, "pg.url") == 0)
                        break;
        ck_assert_ptr_nonnull(it->name);
        ck_assert(it->flags & CAIRN_CONF_SECRET);
        for (it = cairn_pg_conf_items; it->name; it++)
                ck_assert_msg(strncmp(it->name, "pg.", 3) == 0, "%s outside pg.", it->name);
}
END_TEST

static struct cairn_pg_conf conf_of(const char *url)
{
        return (struct cairn_pg_conf){ .url = url,
                                       .pool_size = 2,
                                       .connect_timeout_ms = 100,
                                       .statement_timeout_ms = 1000,
                                       .retry_interval_ms = 100 };
}

START_TEST(test_cairn_pg_new_needs_a_url)
{
        struct cairn_pg_conf pconf = conf_of("");
        char errstr[256];

        ck_assert_ptr_null(cairn_pg_new(&pconf, NULL, errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "pg.url"));
        ck_assert_ptr_nonnull(strstr(errstr, "CAIRN_PG_URL"));
}
END_TEST

START_TEST(test_cairn_pg_new_refuses_unparsable_url_without_quoting_it)
{
        struct cairn_pg_conf pconf = conf_of("postgresql://app:s3cret%zz@db/cairn");
        char errstr[256];

        ck_assert_ptr_null(cairn_pg_new(&pconf, NULL, errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "pg.url"));
        ck_assert_ptr_null(strstr(errstr, "s3cret"));
}
END_TEST

START_TEST(test_cairn_pg_new_connects_lazily)
{
        struct cairn_pg_conf pconf = conf_of("postgresql://app:pw@127.0.0.1:1/cairn");
        struct cairn_pg *pg;
        char errstr[256];

        pg = cairn_pg_new(&pconf, NULL, errstr, sizeof(errstr));
        ck_assert_msg(pg != NULL, "%s", errstr);
        ck_assert(!cairn_pg_down(pg));
        cairn_pg_free(pg);
        cairn_pg_free(NULL);
}
END_TEST

START_TEST(test_cairn_pg_array_quotes_every_element)
{
        struct cairn_buf b = { 0 };

        cairn_pg_array_begin(&b);
        cairn_pg_array_end(&b);
        ck_assert_str_eq(b.p, "{}");
        cairn_buf_cleanup(&b);
        cairn_pg_array_begin(&b);
        cairn_pg_array_add(&b, "a");
        cairn_pg_array_add(&b, "");
        cairn_pg_array_add(&b, "NULL");
        cairn_pg_array_add(&b, "q\"{x},\\y");
        cairn_pg_array_add(&b, "\\x00ff");
        cairn_pg_array_end(&b);
        ck_assert_str_eq(b.p, "{\"a\",\"\",\"NULL\",\"q\\\"{x},\\\\y\",\"\\\\x00ff\"}");
        cairn_buf_cleanup(&b);
}
END_TEST

START_TEST(test_cairn_pg_bytea_both_ways)
{
        const uint8_t bytes[] = { 0x00, 0x7f, 0xff };
        char *text = cairn_pg_bytea_encode(bytes, sizeof(bytes));
        uint8_t *back = NULL;
        size_t len = 0;

        ck_assert_str_eq(text, "\\x007fff");
        ck_assert(cairn_pg_bytea_decode(text, &back, &len));
        ck_assert_uint_eq(len, 3);
        ck_assert_mem_eq(back, bytes, 3);
        free(back);
        ck_assert(!cairn_pg_bytea_decode("\\x0", &back, &len));
        ck_assert(!cairn_pg_bytea_decode("\\xzz", &back, &len));
        free(text);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg");
        TCase *tc;

        tc = tcase_create("cairn_pg_statement_timeout_ms");
        tcase_add_test(tc, test_cairn_pg_statement_timeout_ms_no_deadline_is_cap);
        tcase_add_test(tc, test_cairn_pg_statement_timeout_ms_time_left_two_digits);
        tcase_add_test(tc, test_cairn_pg_statement_timeout_ms_never_past_the_deadline);
        tcase_add_test(tc, test_cairn_pg_statement_timeout_ms_passed_is_zero);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_text_values");
        tcase_add_test(tc, test_cairn_pg_array_quotes_every_element);
        tcase_add_test(tc, test_cairn_pg_bytea_both_ways);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_conf_items");
        tcase_add_test(tc, test_cairn_pg_conf_items_defaults_and_environment);
        tcase_add_test(tc, test_cairn_pg_conf_items_url_is_secret);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_new");
        tcase_add_test(tc, test_cairn_pg_new_needs_a_url);
        tcase_add_test(tc, test_cairn_pg_new_refuses_unparsable_url_without_quoting_it);
        tcase_add_test(tc, test_cairn_pg_new_connects_lazily);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

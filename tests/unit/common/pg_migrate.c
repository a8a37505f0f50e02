/* Unit tests for the migration runner's pure parts: file names, checksums,
 * checking a set, comparing it with what a database has applied, and the
 * advisory lock key. */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "cairn/pg_migrate.h"
#include "../unit.h"

static const struct cairn_pg_migration set[] = {
        { 1, "0001_init.sql", "CREATE TABLE a (id int);" },
        { 2, "0002_more.sql", "ALTER TABLE a ADD b text;" },
        { 5, "0005_index.sql", "CREATE INDEX a_b ON a (b);" },
};

START_TEST(test_cairn_pg_migration_name_parse_accepts_numbered_names)
{
        int v = -1;

        ck_assert_int_eq(cairn_pg_migration_name_parse("0001_init.sql", &v), 0);
        ck_assert_int_eq(v, 1);
        ck_assert_int_eq(cairn_pg_migration_name_parse("0042_add_index_2.sql", &v), 0);
        ck_assert_int_eq(v, 42);
        ck_assert_int_eq(cairn_pg_migration_name_parse("9999_x.sql", &v), 0);
        ck_assert_int_eq(v, 9999);
}
END_TEST

START_TEST(test_cairn_pg_migration_name_parse_refuses_malformed_names)
{
        static const char *const bad[] = {
                "0000_zero.sql",  "1_short.sql",
                "00001_five.sql", "0001-dash.sql",
                "0001_.sql",      "0001_Upper.sql",
                "0001_a b.sql",   "0001_init.SQL",
                "0001_init.sql~", "0001_init",
                "init.sql",       "abcd_init.sql",
                "0001_in.it.sql", "",
        };
        int v = 7;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_msg(cairn_pg_migration_name_parse(bad[i], &v) == -1, "%s accepted",
                              bad[i]);
                ck_assert_int_eq(v, 7);
        }
}
END_TEST

START_TEST(test_cairn_pg_migration_checksum_is_sha256_hex)
{
        char sum[65];

        cairn_pg_migration_checksum("", sum);
        ck_assert_str_eq(sum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        cairn_pg_migration_checksum("abc", sum);
        ck_assert_str_eq(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_cairn_pg_migration_checksum_sees_one_byte)
{
        char a[65], b[65];

        cairn_pg_migration_checksum("CREATE TABLE a (id int);", a);
        cairn_pg_migration_checksum("CREATE TABLE a (id int); ", b);
        ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_cairn_pg_migrations_check_accepts_ascending_set)
{
        char errstr[256];

        ck_assert_int_eq(cairn_pg_migrations_check(set, 3, errstr, sizeof(errstr)), 0);
        ck_assert_int_eq(cairn_pg_migrations_check(set, 0, errstr, sizeof(errstr)), 0);
}
END_TEST

START_TEST(test_cairn_pg_migrations_check_names_the_file)
{
        struct cairn_pg_migration m[3];
        char errstr[256];

        memcpy(m, set, sizeof(m));
        m[1].version = 1;
        m[1].name = "0001_again.sql";
        ck_assert_int_eq(cairn_pg_migrations_check(m, 3, errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "0001_again.sql"));

        memcpy(m, set, sizeof(m));
        m[2].name = "5_index.sql";
        ck_assert_int_eq(cairn_pg_migrations_check(m, 3, errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "5_index.sql"));

        memcpy(m, set, sizeof(m));
        m[2].version = 6;
        ck_assert_int_eq(cairn_pg_migrations_check(m, 3, errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "0005_index.sql"));

        memcpy(m, set, sizeof(m));
        m[0] = set[2];
        m[2] = set[0];
        ck_assert_int_eq(cairn_pg_migrations_check(m, 3, errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "0002_more.sql: comes after 0005_index.sql"));
}
END_TEST

/* Applied rows carrying the binary's own checksums. */
static void applied_of(struct cairn_pg_applied *a, char sums[][65], size_t n)
{
        for (size_t i = 0; i < n; i++) {
                cairn_pg_migration_checksum(set[i].sql, sums[i]);
                a[i] = (struct cairn_pg_applied){ set[i].version, set[i].name, sums[i] };
        }
}

START_TEST(test_cairn_pg_migrate_plan_pending_after_applied)
{
        struct cairn_pg_applied a[3];
        char sums[3][65], errstr[256];
        bool pending[3];

        ck_assert_int_eq(cairn_pg_migrate_plan(set, 3, NULL, 0, pending, errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert(pending[0] && pending[1] && pending[2]);
        applied_of(a, sums, 2);
        ck_assert_int_eq(cairn_pg_migrate_plan(set, 3, a, 2, pending, errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert(!pending[0] && !pending[1] && pending[2]);
        applied_of(a, sums, 3);
        ck_assert_int_eq(cairn_pg_migrate_plan(set, 3, a, 3, pending, errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert(!pending[0] && !pending[1] && !pending[2]);
}
END_TEST

START_TEST(test_cairn_pg_migrate_plan_refuses_changed_file)
{
        struct cairn_pg_applied a[3];
        char sums[3][65], errstr[512];
        bool pending[3];

        applied_of(a, sums, 3);
        sums[1][0] = sums[1][0] == '0' ? '1' : '0';
        ck_assert_int_eq(cairn_pg_migrate_plan(set, 3, a, 3, pending, errstr, sizeof(errstr)),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_ptr_nonnull(strstr(errstr, "0002_more.sql"));
        ck_assert_ptr_nonnull(strstr(errstr, "changed"));
}
END_TEST

START_TEST(test_cairn_pg_migrate_plan_refuses_database_ahead)
{
        struct cairn_pg_applied a[3];
        char sums[3][65], errstr[512];
        bool pending[3];

        applied_of(a, sums, 3);
        ck_assert_int_eq(cairn_pg_migrate_plan(set, 2, a, 3, pending, errstr, sizeof(errstr)),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_str_eq(errstr, "database is ahead: version 5 (0005_index.sql) applied, this "
                                 "binary knows up to 2");
        ck_assert_int_eq(cairn_pg_migrate_plan(set, 0, a, 1, pending, errstr, sizeof(errstr)),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_ptr_nonnull(strstr(errstr, "knows up to 0"));
}
END_TEST

START_TEST(test_cairn_pg_migrate_plan_refuses_unknown_version)
{
        struct cairn_pg_applied a[2] = { { 1, "0001_init.sql", NULL },
                                         { 3, "0003_gone.sql", "00" } };
        char sum[65], errstr[512];
        bool pending[3];

        cairn_pg_migration_checksum(set[0].sql, sum);
        a[0].checksum = sum;
        ck_assert_int_eq(cairn_pg_migrate_plan(set, 3, a, 2, pending, errstr, sizeof(errstr)),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_ptr_nonnull(strstr(errstr, "0003_gone.sql"));
}
END_TEST

START_TEST(test_cairn_pg_migrate_lock_key_stable_per_service)
{
        int64_t a = cairn_pg_migrate_lock_key("memory");

        ck_assert_int_eq(a, cairn_pg_migrate_lock_key("memory"));
        ck_assert_int_ne(a, cairn_pg_migrate_lock_key("memorz"));
        ck_assert_int_ne(a, cairn_pg_migrate_lock_key(""));
        /* FNV-1a 64 of "cairn_migrate:memory": the same in every release */
        ck_assert_int_eq((uint64_t)a, 0xa979a0501213b73fULL);
}
END_TEST

START_TEST(test_cairn_pg_migration_state_str_names)
{
        ck_assert_str_eq(cairn_pg_migration_state_str(CAIRN_PG_MIGRATION_APPLIED), "applied");
        ck_assert_str_eq(cairn_pg_migration_state_str(CAIRN_PG_MIGRATION_PENDING), "pending");
        ck_assert_str_eq(cairn_pg_migration_state_str(CAIRN_PG_MIGRATION_CHANGED), "changed");
        ck_assert_str_eq(cairn_pg_migration_state_str(CAIRN_PG_MIGRATION_UNKNOWN), "unknown");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg_migrate");
        TCase *tc;

        tc = tcase_create("cairn_pg_migration_name_parse");
        tcase_add_test(tc, test_cairn_pg_migration_name_parse_accepts_numbered_names);
        tcase_add_test(tc, test_cairn_pg_migration_name_parse_refuses_malformed_names);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_migration_checksum");
        tcase_add_test(tc, test_cairn_pg_migration_checksum_is_sha256_hex);
        tcase_add_test(tc, test_cairn_pg_migration_checksum_sees_one_byte);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_migrations_check");
        tcase_add_test(tc, test_cairn_pg_migrations_check_accepts_ascending_set);
        tcase_add_test(tc, test_cairn_pg_migrations_check_names_the_file);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_migrate_plan");
        tcase_add_test(tc, test_cairn_pg_migrate_plan_pending_after_applied);
        tcase_add_test(tc, test_cairn_pg_migrate_plan_refuses_changed_file);
        tcase_add_test(tc, test_cairn_pg_migrate_plan_refuses_database_ahead);
        tcase_add_test(tc, test_cairn_pg_migrate_plan_refuses_unknown_version);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_migrate_lock_key");
        tcase_add_test(tc, test_cairn_pg_migrate_lock_key_stable_per_service);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_migration_state_str");
        tcase_add_test(tc, test_cairn_pg_migration_state_str_names);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

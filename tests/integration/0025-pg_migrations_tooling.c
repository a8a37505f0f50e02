/* The tools around migrations: deploy/gen-migrations.sh, which the build
 * runs on each migrations/ folder (a malformed file name or a version used
 * twice fails the build, naming the file; files go in by version), and
 * `cairn-admin migrate`, which says plainly when a service has no
 * migrations. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char dir[600];

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");
        static int n;

        snprintf(dir, sizeof(dir), "%s/migrations-%d-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid(), ++n);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
}

static void teardown(void)
{
        char cmd[700];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        harness_sh(NULL, 0, cmd);
}

static void file_put(const char *name, const char *text)
{
        char path[800];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(text, fp);
        fclose(fp);
}

/* Runs the generator on dir; its exit status, its output in @p out. */
static int gen(char *out, size_t size)
{
        char cmd[1600];

        snprintf(cmd, sizeof(cmd), "'%s/deploy/gen-migrations.sh' set demo '%s'", harness_root(),
                 dir);
        return harness_sh(out, size, cmd);
}

START_TEST(test_gen_migrations_orders_by_version)
{
        static char out[65536];
        char *one, *two, *ten;

        file_put("0010_c.sql", "SELECT 10;");
        file_put("0002_b.sql", "SELECT 2;");
        file_put("0001_a.sql", "SELECT 1;");
        file_put(".0003_hidden.sql", "ignored");
        ck_assert_msg(gen(out, sizeof(out)) == 0, "%s", out);
        one = strstr(out, "{ 1, \"0001_a.sql\", sql_0 }");
        two = strstr(out, "{ 2, \"0002_b.sql\", sql_1 }");
        ten = strstr(out, "{ 10, \"0010_c.sql\", sql_2 }");
        ck_assert_msg(one && two && ten && one < two && two < ten, "%s", out);
        ck_assert_ptr_nonnull(strstr(out, "demo_migrations = { \"demo\", list, 3 }"));
        ck_assert_ptr_null(strstr(out, "hidden"));
}
END_TEST

START_TEST(test_gen_migrations_empty_folder)
{
        char out[4096];

        ck_assert_msg(gen(out, sizeof(out)) == 0, "%s", out);
        ck_assert_ptr_nonnull(strstr(out, "demo_migrations = { \"demo\", NULL, 0 }"));
}
END_TEST

START_TEST(test_gen_migrations_refuses_malformed_name)
{
        static const char *const bad[] = { "2_short.sql", "0003-dash.sql", "0004_Upper.sql",
                                           "0000_zero.sql", "README.md" };
        char out[4096];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char cmd[1400];

                file_put("0001_fine.sql", "SELECT 1;");
                file_put(bad[i], "SELECT 2;");
                ck_assert_int_ne(gen(out, sizeof(out)), 0);
                ck_assert_msg(strstr(out, bad[i]) != NULL, "%s: %s", bad[i], out);
                snprintf(cmd, sizeof(cmd), "rm -f '%s/%s'", dir, bad[i]);
                harness_sh(NULL, 0, cmd);
        }
}
END_TEST

START_TEST(test_gen_migrations_refuses_duplicate_version)
{
        char out[4096];

        file_put("0001_first.sql", "SELECT 1;");
        file_put("0001_second.sql", "SELECT 2;");
        ck_assert_int_ne(gen(out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, "0001_second.sql") != NULL, "%s", out);
        ck_assert_msg(strstr(out, "0001_first.sql") != NULL, "%s", out);
}
END_TEST

/* Runs build/bin/cairn-admin with @p args, without PostgreSQL settings. */
static int admin(const char *args, char *out, size_t size)
{
        char cmd[1400];

        snprintf(cmd, sizeof(cmd), "env -u CAIRN_CONFIG -u CAIRN_PG_URL '%s/bin/cairn-admin' %s",
                 harness_build_dir(), args);
        return harness_sh(out, size, cmd);
}

START_TEST(test_cairn_admin_migrate_unknown_service)
{
        char out[4096];

        ck_assert_int_eq(admin("migrate status nosuch", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "no migrations for service nosuch") != NULL, "%s", out);
        ck_assert_int_eq(admin("migrate up nosuch", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "no migrations for service nosuch") != NULL, "%s", out);
}
END_TEST

START_TEST(test_cairn_admin_migrate_usage)
{
        char out[4096];

        ck_assert_int_eq(admin("migrate sideways memory", out, sizeof(out)), 2);
        ck_assert_ptr_nonnull(strstr(out, "migrate status|up SERVICE"));
        ck_assert_int_eq(admin("migrate status", out, sizeof(out)), 2);
        ck_assert_int_eq(admin("--config-doc", out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "`CAIRN_PG_URL`"));
        ck_assert_int_eq(admin("-V", out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "cairn-admin " CAIRN_VERSION));
        ck_assert_int_eq(admin("--check-config", out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "is valid"));
        ck_assert_int_eq(admin("--check-config -c /nonexistent.yaml", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "/nonexistent.yaml") != NULL, "%s", out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg_migrations_tooling");
        TCase *tc;

        tc = tcase_create("gen_migrations");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gen_migrations_orders_by_version);
        tcase_add_test(tc, test_gen_migrations_empty_folder);
        tcase_add_test(tc, test_gen_migrations_refuses_malformed_name);
        tcase_add_test(tc, test_gen_migrations_refuses_duplicate_version);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_admin_migrate");
        tcase_add_test(tc, test_cairn_admin_migrate_unknown_service);
        tcase_add_test(tc, test_cairn_admin_migrate_usage);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* cairn-admin migrate status|up (deploy/admin/migrate.c) against a real
 * database, with the test migration set standing in for a service's:
 * status lists pending migrations (exit 1), up applies them and says which,
 * a second up changes nothing, and a database ahead of the binary is
 * refused (exit 2) with the version named. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../deploy/admin/migrate.h"
#include "cairn/log.h"
#include "harness.h"

extern const struct cairn_pg_migrations testsvc_migrations;

/* What the build generates for cairn-admin from services/<name>/migrations. */
const struct cairn_pg_migrations *const migration_sets[] = { &testsvc_migrations, NULL };

static char url[512];
static struct cairn_pg_conf pconf;

static void setup(void)
{
        harness_pg_database(url, sizeof(url));
        pconf = (struct cairn_pg_conf){ .url = url,
                                        .pool_size = 4,
                                        .connect_timeout_ms = 10000,
                                        .statement_timeout_ms = 5000,
                                        .retry_interval_ms = 1000 };
}

/* Runs the command with stdout and stderr into @p out; returns its exit code. */
static int migrate(bool up, const char *service, char *out, size_t size)
{
        char path[600];
        const char *tmp = getenv("TMPDIR");
        int saved[2], fd, rc;
        ssize_t n;

        snprintf(path, sizeof(path), "%s/admin-migrate-%d.out", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        fflush(stdout);
        fflush(stderr);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        ck_assert_int_ge(fd, 0);
        saved[0] = dup(1);
        saved[1] = dup(2);
        dup2(fd, 1);
        dup2(fd, 2);
        rc = migrate_cmd(&pconf, up, service);
        fflush(stdout);
        fflush(stderr);
        dup2(saved[0], 1);
        dup2(saved[1], 2);
        close(saved[0]);
        close(saved[1]);
        n = pread(fd, out, size - 1, 0);
        out[n > 0 ? n : 0] = '\0';
        close(fd);
        unlink(path);
        return rc;
}

START_TEST(test_migrate_cmd_status_up_status)
{
        char out[8192];

        ck_assert_int_eq(migrate(false, "testsvc", out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "pending   0001_side_table.sql\n") != NULL, "%s", out);
        ck_assert_msg(strstr(out, "status: testsvc at version 0 of 3; 0 applied, 3 pending\n"),
                      "%s", out);

        ck_assert_msg(migrate(true, "testsvc", out, sizeof(out)) == 0, "%s", out);
        ck_assert_msg(strstr(out, "applied   0001_side_table.sql\napplied   0002_items.sql\n"
                                  "applied   0003_items_name_index.sql\n"),
                      "%s", out);
        ck_assert_msg(strstr(out, "up: testsvc at version 3; 3 applied now\n"), "%s", out);

        ck_assert_msg(migrate(true, "testsvc", out, sizeof(out)) == 0, "%s", out);
        ck_assert_msg(strstr(out, "up: testsvc at version 3; 0 applied now\n"), "%s", out);

        ck_assert_msg(migrate(false, "testsvc", out, sizeof(out)) == 0, "%s", out);
        ck_assert_msg(strstr(out, "applied   0002_items.sql  "), "%s", out);
        ck_assert_msg(strstr(out, "status: testsvc at version 3 of 3; 3 applied, 0 pending\n"),
                      "%s", out);
}
END_TEST

START_TEST(test_migrate_cmd_refuses_database_ahead)
{
        char out[8192];

        ck_assert_msg(migrate(true, "testsvc", out, sizeof(out)) == 0, "%s", out);
        ck_assert_int_eq(harness_pg_scalar(url,
                                           "INSERT INTO cairn_schema_migrations "
                                           "(service, version, name, checksum) "
                                           "VALUES ('testsvc', 4, '0004_future.sql', 'x')",
                                           out, sizeof(out)),
                         0);
        ck_assert_int_eq(migrate(false, "testsvc", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "unknown   0004_future.sql  "), "%s", out);
        ck_assert_int_eq(migrate(true, "testsvc", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "database is ahead: version 4 (0004_future.sql) applied, this "
                                  "binary knows up to 3"),
                      "%s", out);
}
END_TEST

START_TEST(test_migrate_cmd_needs_url_and_known_service)
{
        char out[8192];

        ck_assert_int_eq(migrate(false, "nosuch", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "no migrations for service nosuch (services with migrations: "
                                  "testsvc)"),
                      "%s", out);
        pconf.url = "";
        ck_assert_int_eq(migrate(true, "testsvc", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "pg.url is not set"), "%s", out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("admin_migrate");
        TCase *tc = tcase_create("migrate_cmd");

        cairn_log_set_level(CAIRN_LOG_ERROR);
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_migrate_cmd_status_up_status);
        tcase_add_test(tc, test_migrate_cmd_refuses_database_ahead);
        tcase_add_test(tc, test_migrate_cmd_needs_url_and_known_service);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

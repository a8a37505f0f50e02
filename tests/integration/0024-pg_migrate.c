/* Schema migrations against a real server, with the test set compiled from
 * tests/integration/migrations (each migration writes a row into a side
 * table, so one applied twice would show): applied once and recorded with
 * their checksums; status before and after; a file changed after it was
 * applied, or a database ahead of the binary, refused with the file named
 * and nothing applied; a failing migration rolled back; and several
 * processes migrating one database at once applying each migration exactly
 * once. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/pg.h"
#include "cairn/pg_migrate.h"
#include "harness.h"

extern const struct cairn_pg_migrations testsvc_migrations;

/* tests/integration/migrations, compiled in by the Makefile */
#define test_set (testsvc_migrations.list)

struct db {
        char url[512];
        struct cairn_pg_conf pconf;
        struct cairn_pg *pg;
};

static void db_open(struct db *db)
{
        char errstr[256];

        harness_pg_database(db->url, sizeof(db->url));
        db->pconf = (struct cairn_pg_conf){ .url = db->url,
                                            .pool_size = 2,
                                            .connect_timeout_ms = 10000,
                                            .statement_timeout_ms = 5000,
                                            .retry_interval_ms = 100 };
        db->pg = cairn_pg_new(&db->pconf, NULL, errstr, sizeof(errstr));
        ck_assert_msg(db->pg != NULL, "%s", errstr);
}

static void db_close(struct db *db)
{
        cairn_pg_free(db->pg);
        db->pg = NULL;
}

static const char *scalar(const struct db *db, const char *sql)
{
        static char out[512];

        ck_assert_msg(harness_pg_scalar(db->url, sql, out, sizeof(out)) == 0, "%s: %s", sql, out);
        return out;
}

static void migrate_ok(struct db *db, const struct cairn_pg_migration *m, size_t n)
{
        char errstr[512];

        ck_assert_msg(cairn_pg_migrate(db->pg, "testsvc", m, n, errstr, sizeof(errstr)) == CAIRN_OK,
                      "%s", errstr);
}

START_TEST(test_cairn_pg_migrate_applies_each_once)
{
        char sum[65], sql[256];
        struct db db;

        ck_assert_uint_eq(testsvc_migrations.n, 3);
        ck_assert_str_eq(testsvc_migrations.service, "testsvc");
        db_open(&db);
        migrate_ok(&db, test_set, 3);
        migrate_ok(&db, test_set, 3);
        ck_assert_str_eq(scalar(&db, "SELECT string_agg(migration, ',' ORDER BY id) "
                                     "FROM migrate_side"),
                         "0001_side_table.sql,0002_items.sql,0003_items_name_index.sql");
        ck_assert_str_eq(scalar(&db, "SELECT string_agg(version || ':' || name, ',' "
                                     "ORDER BY version) FROM cairn_schema_migrations "
                                     "WHERE service = 'testsvc'"),
                         "1:0001_side_table.sql,2:0002_items.sql,3:0003_items_name_index.sql");
        cairn_pg_migration_checksum(test_set[1].sql, sum);
        snprintf(sql, sizeof(sql),
                 "SELECT checksum = '%s' FROM cairn_schema_migrations WHERE version = 2", sum);
        ck_assert_str_eq(scalar(&db, sql), "t");
        ck_assert_str_eq(scalar(&db, "SELECT count(*) FROM cairn_schema_migrations "
                                     "WHERE applied_at > now() - interval '1 minute'"),
                         "3");
        /* what the migrations made is there */
        ck_assert_str_eq(scalar(&db, "SELECT to_regclass('items_name') IS NOT NULL"), "t");
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_pg_migrate_status_lists_applied_and_pending)
{
        struct cairn_pg_migration_status *rows;
        size_t nrows;
        char errstr[512];
        struct db db;

        db_open(&db);
        /* a database never migrated: all pending, and nothing created */
        ck_assert_int_eq(cairn_pg_migrate_status(db.pg, "testsvc", test_set, 3, &rows, &nrows,
                                                 errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_uint_eq(nrows, 3);
        for (size_t i = 0; i < 3; i++)
                ck_assert_int_eq(rows[i].state, CAIRN_PG_MIGRATION_PENDING);
        free(rows);
        ck_assert_str_eq(scalar(&db, "SELECT to_regclass('cairn_schema_migrations') IS NULL"), "t");

        migrate_ok(&db, test_set, 1);
        ck_assert_int_eq(cairn_pg_migrate_status(db.pg, "testsvc", test_set, 3, &rows, &nrows,
                                                 errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_uint_eq(nrows, 3);
        ck_assert_int_eq(rows[0].state, CAIRN_PG_MIGRATION_APPLIED);
        ck_assert_str_eq(rows[0].name, "0001_side_table.sql");
        ck_assert(rows[0].applied_at[0] != '\0');
        ck_assert_int_eq(rows[1].state, CAIRN_PG_MIGRATION_PENDING);
        ck_assert_int_eq(rows[2].state, CAIRN_PG_MIGRATION_PENDING);
        ck_assert_int_eq(rows[2].version, 3);
        ck_assert(rows[2].applied_at[0] == '\0');
        free(rows);

        /* another service's migrations in the same table are not this one's */
        ck_assert_int_eq(cairn_pg_migrate_status(db.pg, "othersvc", test_set, 3, &rows, &nrows,
                                                 errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_int_eq(rows[0].state, CAIRN_PG_MIGRATION_PENDING);
        free(rows);

        migrate_ok(&db, test_set, 3);
        ck_assert_int_eq(cairn_pg_migrate_status(db.pg, "testsvc", test_set, 3, &rows, &nrows,
                                                 errstr, sizeof(errstr)),
                         CAIRN_OK);
        for (size_t i = 0; i < 3; i++)
                ck_assert_int_eq(rows[i].state, CAIRN_PG_MIGRATION_APPLIED);
        free(rows);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_pg_migrate_refuses_changed_file)
{
        struct cairn_pg_migration changed[3];
        struct cairn_pg_migration_status *rows;
        size_t nrows;
        char errstr[512];
        struct db db;

        db_open(&db);
        migrate_ok(&db, test_set, 2);
        memcpy(changed, test_set, sizeof(changed));
        changed[1].sql = "CREATE TABLE items (id bigint PRIMARY KEY);";
        ck_assert_int_eq(cairn_pg_migrate(db.pg, "testsvc", changed, 3, errstr, sizeof(errstr)),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_msg(strstr(errstr, "0002_items.sql") != NULL, "%s", errstr);
        ck_assert_msg(strstr(errstr, "changed") != NULL, "%s", errstr);
        /* nothing applied: 0003 is still pending */
        ck_assert_str_eq(scalar(&db, "SELECT count(*) FROM cairn_schema_migrations"), "2");
        ck_assert_int_eq(cairn_pg_migrate_status(db.pg, "testsvc", changed, 3, &rows, &nrows,
                                                 errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_int_eq(rows[1].state, CAIRN_PG_MIGRATION_CHANGED);
        ck_assert_int_eq(rows[2].state, CAIRN_PG_MIGRATION_PENDING);
        free(rows);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_pg_migrate_refuses_database_ahead)
{
        struct cairn_pg_migration_status *rows;
        size_t nrows;
        char errstr[512];
        struct db db;

        db_open(&db);
        migrate_ok(&db, test_set, 3);
        ck_assert_int_eq(cairn_pg_migrate(db.pg, "testsvc", test_set, 2, errstr, sizeof(errstr)),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_str_eq(errstr, "database is ahead: version 3 (0003_items_name_index.sql) "
                                 "applied, this binary knows up to 2");
        ck_assert_int_eq(cairn_pg_migrate_status(db.pg, "testsvc", test_set, 2, &rows, &nrows,
                                                 errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_uint_eq(nrows, 3);
        ck_assert_int_eq(rows[2].state, CAIRN_PG_MIGRATION_UNKNOWN);
        ck_assert_str_eq(rows[2].name, "0003_items_name_index.sql");
        free(rows);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_pg_migrate_failure_rolls_back_that_migration)
{
        struct cairn_pg_migration broken[3];
        char errstr[512];
        struct db db;

        db_open(&db);
        memcpy(broken, test_set, sizeof(broken));
        broken[2] = (struct cairn_pg_migration){
                3, "0003_broken.sql",
                "INSERT INTO migrate_side (migration) VALUES ('0003_broken.sql');\n"
                "SELECT no_such_column FROM items;\n"
        };
        ck_assert_int_eq(cairn_pg_migrate(db.pg, "testsvc", broken, 3, errstr, sizeof(errstr)),
                         CAIRN_ERR_INTERNAL);
        ck_assert_msg(strstr(errstr, "0003_broken.sql") != NULL, "%s", errstr);
        ck_assert_msg(strstr(errstr, "42703") != NULL, "%s", errstr);
        /* the two before it stay applied; its own insert is gone */
        ck_assert_str_eq(scalar(&db, "SELECT string_agg(migration, ',' ORDER BY id) "
                                     "FROM migrate_side"),
                         "0001_side_table.sql,0002_items.sql");
        ck_assert_str_eq(scalar(&db, "SELECT max(version) FROM cairn_schema_migrations"), "2");
        /* a fixed release goes on from there */
        migrate_ok(&db, test_set, 3);
        ck_assert_str_eq(scalar(&db, "SELECT count(*) FROM migrate_side"), "3");
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_pg_migrate_concurrent_processes_apply_once)
{
        enum { N = 6 };
        pid_t pids[N];
        int go[2];
        struct db db;

        harness_pg_database(db.url, sizeof(db.url));
        ck_assert_int_eq(pipe(go), 0);
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                ck_assert_int_ge(pids[i], 0);
                if (pids[i] == 0) {
                        struct cairn_pg_conf pconf = { .url = db.url,
                                                       .pool_size = 1,
                                                       .connect_timeout_ms = 10000,
                                                       .statement_timeout_ms = 10000,
                                                       .retry_interval_ms = 100 };
                        char errstr[512], c;
                        struct cairn_pg *pg;
                        cairn_err_t err;

                        /* everyone starts when the parent closes its end */
                        close(go[1]);
                        if (read(go[0], &c, 1) < 0)
                                _exit(100);
                        pg = cairn_pg_new(&pconf, NULL, errstr, sizeof(errstr));
                        if (!pg)
                                _exit(101);
                        err = cairn_pg_migrate(pg, "testsvc", test_set, 3, errstr, sizeof(errstr));
                        if (err)
                                fprintf(stderr, "child %d: %s\n", i, errstr);
                        cairn_pg_free(pg);
                        /* not exit(): the parent's atexit handlers are not ours */
                        _exit(err);
                }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < N; i++) {
                int status;

                ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "migrating process %d ended with status %#x", i, status);
        }
        ck_assert_str_eq(scalar(&db, "SELECT count(*) FROM migrate_side"), "3");
        ck_assert_str_eq(scalar(&db, "SELECT count(DISTINCT migration) FROM migrate_side"), "3");
        ck_assert_str_eq(scalar(&db, "SELECT count(*) FROM cairn_schema_migrations"), "3");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg_migrate");
        TCase *tc = tcase_create("cairn_pg_migrate");

        /* the runner's progress lines would bury check's report */
        cairn_log_set_level(CAIRN_LOG_WARN);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_cairn_pg_migrate_applies_each_once);
        tcase_add_test(tc, test_cairn_pg_migrate_status_lists_applied_and_pending);
        tcase_add_test(tc, test_cairn_pg_migrate_refuses_changed_file);
        tcase_add_test(tc, test_cairn_pg_migrate_refuses_database_ahead);
        tcase_add_test(tc, test_cairn_pg_migrate_failure_rolls_back_that_migration);
        tcase_add_test(tc, test_cairn_pg_migrate_concurrent_processes_apply_once);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* cairn-admin audit verify (deploy/admin/audit.c) against the audit chain a
 * running cairn-secrets wrote in a real PostgreSQL:
 *   - an intact chain: exit 0, the rows checked and "ok";
 *   - an edited row: exit 1 naming its seq; restored: exit 0 again;
 *   - a deleted middle row: exit 1 naming it;
 *   - a deleted last row: exit 1, found by the head check;
 *   - rows appended while it walks are no break: exit 0 under writes;
 *   - no database, or one without the secrets tables: exit 2 with why. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "secrets_fixture.h"

static struct harness_broker broker;
static struct sfx f;

static void setup(void)
{
        harness_broker_start(&broker, 1);
        sfx_start(&f, &broker, NULL);
}

static void teardown(void)
{
        sfx_stop(&f);
        harness_broker_stop(&broker);
}

/* Runs cairn-admin audit verify on @p url, its output into @p out;
 * returns its exit status. */
static int verify_on(const char *url, char *out, size_t size)
{
        char cmd[1600];

        snprintf(cmd, sizeof(cmd),
                 "env -u CAIRN_CONFIG CAIRN_PG_URL='%s' CAIRN_PG_CONNECT_TIMEOUT_MS=3000 "
                 "timeout 60 %s/bin/cairn-admin audit verify 2>&1",
                 url, harness_build_dir());
        return harness_sh(out, size, cmd);
}

static int verify(char *out, size_t size)
{
        return verify_on(f.pg_url, out, size);
}

/* A few requests of each outcome: every one leaves an audit row. */
static void traffic(void)
{
        struct cairn_status st;
        char json[128];

        ck_assert_int_eq(sfx_write(&f, "t1", "owner", "app/db", "{\"pw\":\"a\"}", -1, NULL, NULL,
                                   &st),
                         CAIRN_OK);
        ck_assert_int_eq(sfx_write(&f, "t1", "owner", "app/db", "{\"pw\":\"b\"}", -1, NULL, NULL,
                                   &st),
                         CAIRN_OK);
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "app/db", 0, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        ck_assert_int_eq(sfx_read(&f, "t1", "viewer", "app/db", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_PERMISSION);
        ck_assert_int_eq(sfx_write(&f, "t2", "member", "svc/key", "{\"k\":1}", -1, NULL, NULL, &st),
                         CAIRN_OK);
}

START_TEST(test_audit_verify_names_the_break)
{
        char out[2048], rows[32], want[160];
        long n;

        traffic();
        sfx_sql(&f, "SELECT count(*) FROM secrets_audit", rows, sizeof(rows));
        n = atol(rows);
        ck_assert_int_ge(n, 5);
        ck_assert_int_eq(verify(out, sizeof(out)), 0);
        snprintf(want, sizeof(want), "audit verify: %ld rows checked: ok\n", n);
        ck_assert_msg(strstr(out, want), "%s", out);
        /* a copy to restore from (the generated column becomes a plain one) */
        sfx_sql(&f, "CREATE TABLE audit_copy AS SELECT * FROM secrets_audit", out, sizeof(out));

        /* an edited row */
        sfx_sql(&f, "UPDATE secrets_audit SET principal = 'x' WHERE seq = 2 RETURNING seq", out,
                sizeof(out));
        ck_assert_int_eq(verify(out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "audit verify: 1 rows checked: broken at seq 2: its fields do "
                                  "not hash to its hash (the row was edited)"),
                      "%s", out);
        sfx_sql(&f,
                "UPDATE secrets_audit a SET principal = c.principal FROM audit_copy c "
                "WHERE a.seq = c.seq AND a.seq = 2 RETURNING a.seq",
                out, sizeof(out));
        ck_assert_msg(verify(out, sizeof(out)) == 0, "%s", out);

        /* a deleted middle row */
        sfx_sql(&f, "DELETE FROM secrets_audit WHERE seq = 3 RETURNING seq", out, sizeof(out));
        ck_assert_int_eq(verify(out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "broken at seq 3: row 3 is missing (the next row is 4)"), "%s",
                      out);
        sfx_sql(&f,
                "INSERT INTO secrets_audit (seq, at_us, tenant, principal, role, operation, path, "
                "version, outcome, code, ce_id, request_id, prev_hash, hash) "
                "SELECT seq, at_us, tenant, principal, role, operation, path, version, outcome, "
                "code, ce_id, request_id, prev_hash, hash FROM audit_copy WHERE seq = 3 "
                "RETURNING seq",
                out, sizeof(out));
        ck_assert_msg(verify(out, sizeof(out)) == 0, "%s", out);

        /* a deleted last row: only the head still knows it */
        snprintf(want, sizeof(want), "DELETE FROM secrets_audit WHERE seq = %ld RETURNING seq", n);
        sfx_sql(&f, want, out, sizeof(out));
        ck_assert_int_eq(verify(out, sizeof(out)), 1);
        snprintf(want, sizeof(want),
                 "broken at seq %ld: the chain ends at row %ld but its head is "
                 "row %ld",
                 n, n - 1, n);
        ck_assert_msg(strstr(out, want), "%s", out);
}
END_TEST

/* Writes while verify runs; checks nothing itself (a failed check off the
 * test's thread would end the run), the test checks what it counted. */
static void *writer(void *arg)
{
        int *failed = arg;
        struct cairn_status st;
        char path[32];

        for (int i = 0; i < 40; i++) {
                snprintf(path, sizeof(path), "live/%d", i % 4);
                if (sfx_write(&f, "t1", "owner", path, "{\"n\":1}", -1, NULL, NULL, &st) !=
                    CAIRN_OK)
                        (*failed)++;
        }
        return NULL;
}

START_TEST(test_audit_verify_while_appending)
{
        char out[8][2048];
        int rc[8], failed = 0;
        pthread_t t;

        traffic();
        pthread_create(&t, NULL, writer, &failed);
        for (int i = 0; i < 8; i++)
                rc[i] = verify(out[i], sizeof(out[i]));
        pthread_join(t, NULL);
        ck_assert_int_eq(failed, 0);
        for (int i = 0; i < 8; i++)
                ck_assert_msg(rc[i] == 0, "run %d: %s", i, out[i]);
        ck_assert_msg(verify(out[0], sizeof(out[0])) == 0, "%s", out[0]);
}
END_TEST

START_TEST(test_audit_verify_errors_exit_2)
{
        char out[2048], url[512];

        /* nothing listens on port 1 */
        ck_assert_int_eq(verify_on("postgresql://cairn@127.0.0.1:1/none", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "cairn-admin: audit verify: "), "%s", out);
        /* a database the secrets service never used */
        harness_pg_database(url, sizeof(url));
        ck_assert_int_eq(verify_on(url, out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "secrets_audit"), "%s", out);
        /* no database named at all */
        ck_assert_int_eq(verify_on("", out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "pg.url"), "%s", out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("admin_audit_verify");
        TCase *tc = tcase_create("audit_verify");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_audit_verify_names_the_break);
        tcase_add_test(tc, test_audit_verify_while_appending);
        tcase_add_test(tc, test_audit_verify_errors_exit_2);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

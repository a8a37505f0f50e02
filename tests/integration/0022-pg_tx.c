/* libcairn's transaction helper against a real server: commit, roll back on
 * any error (a statement's, the function's own, the deadline's), run again
 * after a serialization failure between two SERIALIZABLE transactions and
 * after a deadlock, and a statement_timeout set inside a transaction that
 * ends with it. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "harness.h"

static const struct cairn_pg_stmt stmts[] = {
        { "tx_add", "INSERT INTO t (who) VALUES ($1)", false },
        { "tx_count", "SELECT count(*) FROM t", false },
        { "tx_move", "UPDATE acct SET balance = balance + $2 WHERE id = $1", false },
        { "tx_sleep", "SELECT pg_sleep($1::float8)", false },
        { "tx_timeout", "SELECT current_setting('statement_timeout')", false },
        { "tx_isolation", "SELECT current_setting('transaction_isolation')", false },
        { "tx_fast_deadlocks", "SELECT set_config('deadlock_timeout', '50ms', true)", false },
};
enum { ADD, COUNT, MOVE, SLEEP, TIMEOUT, ISOLATION, FAST_DEADLOCKS };

static char url[512];
static struct cairn_pg_conf pconf;
static struct cairn_metrics *metrics;
static struct cairn_pg *pg;

static void setup(void)
{
        char errstr[256], out[256];

        harness_pg_database(url, sizeof(url));
        ck_assert_msg(harness_pg_scalar(url,
                                        "CREATE TABLE t (id serial PRIMARY KEY, who text UNIQUE);"
                                        "CREATE TABLE acct (id int PRIMARY KEY, balance int);"
                                        "INSERT INTO acct VALUES (1, 100), (2, 100)",
                                        out, sizeof(out)) == 0,
                      "%s", out);
        pconf = (struct cairn_pg_conf){ .url = url,
                                        .pool_size = 4,
                                        .connect_timeout_ms = 10000,
                                        .statement_timeout_ms = 5000,
                                        .retry_interval_ms = 100 };
        metrics = cairn_metrics_new();
        pg = cairn_pg_new(&pconf, metrics, errstr, sizeof(errstr));
        ck_assert_msg(pg != NULL, "%s", errstr);
}

static void teardown(void)
{
        cairn_pg_free(pg);
        cairn_metrics_free(metrics);
}

static cairn_err_t conn_run(struct cairn_pg_conn *conn, int i, const char *const *params,
                            int nparams, char *out, size_t size, char *errstr, size_t errstr_size)
{
        PGresult *r = NULL;
        cairn_err_t err = cairn_pg_conn_exec(conn, &stmts[i], params, nparams, &r, errstr,
                                             errstr_size);

        if (out)
                out[0] = '\0';
        if (!err && out && PQntuples(r) > 0)
                snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return err;
}

static long rows(const char *where)
{
        char sql[256], out[64];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM t %s", where);
        ck_assert_int_eq(harness_pg_scalar(url, sql, out, sizeof(out)), 0);
        return atol(out);
}

/* ---- commit and roll back ---- */

struct adds {
        const char *who[3];
        int n;
        cairn_err_t own;    /* returned after the inserts when not OK */
        bool ignore_errors; /* goes on after a failed statement (a bug) */
};

static cairn_err_t adds_fn(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                           size_t errstr_size)
{
        struct adds *a = opaque;
        cairn_err_t err;

        for (int i = 0; i < a->n; i++) {
                err = conn_run(conn, ADD, &a->who[i], 1, NULL, 0, errstr, errstr_size);
                if (err && !a->ignore_errors)
                        return err;
        }
        if (a->own)
                snprintf(errstr, errstr_size, "the function said no");
        return a->own;
}

START_TEST(test_cairn_pg_tx_commits)
{
        struct adds a = { { "ann", "bob" }, 2, CAIRN_OK, false };
        char errstr[512];

        ck_assert_msg(cairn_pg_tx(pg, 0, adds_fn, &a, errstr, sizeof(errstr)) == CAIRN_OK, "%s",
                      errstr);
        ck_assert_int_eq(rows("WHERE who IN ('ann', 'bob')"), 2);
}
END_TEST

START_TEST(test_cairn_pg_tx_statement_error_rolls_back)
{
        struct adds a = { { "cid", "ann" }, 2, CAIRN_OK, false };
        char errstr[512];

        ck_assert_int_eq(cairn_pg_tx(pg, 0, adds_fn, &a, errstr, sizeof(errstr)),
                         CAIRN_ERR_CONFLICT);
        ck_assert_ptr_nonnull(strstr(errstr, "23505"));
        ck_assert_int_eq(rows("WHERE who = 'cid'"), 0);
}
END_TEST

START_TEST(test_cairn_pg_tx_function_error_rolls_back)
{
        struct adds a = { { "dan" }, 1, CAIRN_ERR_INVALID, false };
        char errstr[512];

        ck_assert_int_eq(cairn_pg_tx(pg, 0, adds_fn, &a, errstr, sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_str_eq(errstr, "the function said no");
        ck_assert_int_eq(rows("WHERE who = 'dan'"), 0);
}
END_TEST

START_TEST(test_cairn_pg_tx_ignored_error_is_not_committed)
{
        struct adds a = { { "eve", "ann", "fay" }, 3, CAIRN_OK, true };
        char errstr[512];

        ck_assert_int_eq(cairn_pg_tx(pg, 0, adds_fn, &a, errstr, sizeof(errstr)),
                         CAIRN_ERR_INTERNAL);
        ck_assert_ptr_nonnull(strstr(errstr, "failed earlier"));
        ck_assert_int_eq(rows("WHERE who IN ('eve', 'fay')"), 0);
        /* the connection went back clean: the next transaction works */
        struct adds b = { { "eve" }, 1, CAIRN_OK, false };
        ck_assert_msg(cairn_pg_tx(pg, 0, adds_fn, &b, errstr, sizeof(errstr)) == CAIRN_OK, "%s",
                      errstr);
}
END_TEST

static cairn_err_t slow_fn(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                           size_t errstr_size)
{
        const char *who[] = { "gus" }, *one[] = { "1" };
        cairn_err_t err;

        (void)opaque;
        err = conn_run(conn, ADD, who, 1, NULL, 0, errstr, errstr_size);
        if (!err)
                err = conn_run(conn, SLEEP, one, 1, NULL, 0, errstr, errstr_size);
        return err;
}

START_TEST(test_cairn_pg_tx_deadline_rolls_back)
{
        int64_t start = cairn_mono_us();
        char errstr[512];

        ck_assert_int_eq(cairn_pg_tx(pg, start + 300000, slow_fn, NULL, errstr, sizeof(errstr)),
                         CAIRN_ERR_DEADLINE);
        ck_assert_int_lt((cairn_mono_us() - start) / 1000, 900);
        ck_assert_int_eq(rows("WHERE who = 'gus'"), 0);
        ck_assert_int_eq(cairn_pg_tx(pg, cairn_mono_us() - 1, slow_fn, NULL, errstr,
                                     sizeof(errstr)),
                         CAIRN_ERR_DEADLINE);
}
END_TEST

/* ---- statement_timeout inside a transaction ---- */

struct seen {
        char isolation[64];
        char timeout[64];
};

static cairn_err_t look_fn(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                           size_t errstr_size)
{
        struct seen *s = opaque;
        const char *pause[] = { "0.6" };
        cairn_err_t err;

        err = conn_run(conn, ISOLATION, NULL, 0, s->isolation, sizeof(s->isolation), errstr,
                       errstr_size);
        if (!err)
                err = conn_run(conn, SLEEP, pause, 1, NULL, 0, errstr, errstr_size);
        if (!err)
                err = conn_run(conn, TIMEOUT, NULL, 0, s->timeout, sizeof(s->timeout), errstr,
                               errstr_size);
        return err;
}

START_TEST(test_cairn_pg_tx_local_timeout_ends_with_transaction)
{
        struct seen s;
        PGresult *r = NULL;
        char errstr[512];

        /* BEGIN runs with 20.5 s left (20 s, for the session); 0.6 s later
         * the statements have 19.9 s (19 s, set for the transaction only) */
        ck_assert_msg(cairn_pg_tx_isolation(pg, cairn_mono_us() + 20500000, CAIRN_PG_SERIALIZABLE,
                                            look_fn, &s, errstr, sizeof(errstr)) == CAIRN_OK,
                      "%s", errstr);
        ck_assert_str_eq(s.isolation, "serializable");
        ck_assert_str_eq(s.timeout, "19s");
        /* after it the session has 20 s again, so 19 s must be set anew */
        ck_assert_int_eq(cairn_pg_exec(pg, cairn_mono_us() + 19500000, &stmts[TIMEOUT], NULL, 0, &r,
                                       errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_str_eq(PQgetvalue(r, 0, 0), "19s");
        PQclear(r);
}
END_TEST

/* ---- races that a second attempt wins ---- */

struct racer {
        const char *who;
        enum cairn_pg_isolation iso;
        int first, second; /* accounts, in the order this racer updates them */
        pthread_barrier_t *barrier;
        atomic_int *attempts;
        int mine;
        cairn_err_t err;
        char errstr[512];
};

/* Write skew: both read the table, meet, then both insert. SERIALIZABLE
 * cannot commit both as they ran: one fails with 40001. */
static cairn_err_t skew_fn(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                           size_t errstr_size)
{
        struct racer *rc = opaque;
        cairn_err_t err;

        atomic_fetch_add(rc->attempts, 1);
        err = conn_run(conn, COUNT, NULL, 0, NULL, 0, errstr, errstr_size);
        if (err)
                return err;
        if (rc->mine++ == 0)
                pthread_barrier_wait(rc->barrier);
        return conn_run(conn, ADD, &rc->who, 1, NULL, 0, errstr, errstr_size);
}

/* Opposite lock order: each holds one row and waits for the other's. */
static cairn_err_t deadlock_fn(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                               size_t errstr_size)
{
        struct racer *rc = opaque;
        char a[16], b[16];
        const char *first[] = { a, "-1" }, *second[] = { b, "1" };
        cairn_err_t err;

        atomic_fetch_add(rc->attempts, 1);
        snprintf(a, sizeof(a), "%d", rc->first);
        snprintf(b, sizeof(b), "%d", rc->second);
        err = conn_run(conn, FAST_DEADLOCKS, NULL, 0, NULL, 0, errstr, errstr_size);
        if (!err)
                err = conn_run(conn, MOVE, first, 2, NULL, 0, errstr, errstr_size);
        if (err)
                return err;
        if (rc->mine++ == 0)
                pthread_barrier_wait(rc->barrier);
        return conn_run(conn, MOVE, second, 2, NULL, 0, errstr, errstr_size);
}

static cairn_pg_tx_fn race_fn;

static void *racer_main(void *arg)
{
        struct racer *rc = arg;

        rc->err = cairn_pg_tx_isolation(pg, cairn_mono_us() + 10000000, rc->iso, race_fn, rc,
                                        rc->errstr, sizeof(rc->errstr));
        return NULL;
}

static void race(struct racer *r)
{
        pthread_barrier_t barrier;
        pthread_t t[2];

        pthread_barrier_init(&barrier, NULL, 2);
        for (int i = 0; i < 2; i++) {
                r[i].barrier = &barrier;
                pthread_create(&t[i], NULL, racer_main, &r[i]);
        }
        for (int i = 0; i < 2; i++) {
                pthread_join(t[i], NULL);
                ck_assert_msg(r[i].err == CAIRN_OK, "racer %d: %s", i, r[i].errstr);
        }
        pthread_barrier_destroy(&barrier);
}

static double retries(void)
{
        static const char line[] = "\ncairn_retries_total{dependency=\"pg\"} ";
        size_t len;
        char *text = cairn_metrics_render(metrics, &len), *p = strstr(text, line);
        double v = p ? strtod(p + strlen(line), NULL) : -1;

        free(text);
        return v;
}

START_TEST(test_cairn_pg_tx_retries_serialization_failure)
{
        atomic_int attempts = 0;
        struct racer r[2] = {
                { .who = "skew-1", .iso = CAIRN_PG_SERIALIZABLE, .attempts = &attempts },
                { .who = "skew-2", .iso = CAIRN_PG_SERIALIZABLE, .attempts = &attempts },
        };
        double before = retries();

        race_fn = skew_fn;
        race(r);
        ck_assert_int_eq(rows("WHERE who LIKE 'skew-%'"), 2);
        ck_assert_int_ge(atomic_load(&attempts), 3);
        ck_assert_double_ge(retries() - before, 1);
}
END_TEST

START_TEST(test_cairn_pg_tx_retries_deadlock)
{
        atomic_int attempts = 0;
        struct racer r[2] = {
                { .iso = CAIRN_PG_READ_COMMITTED, .first = 1, .second = 2, .attempts = &attempts },
                { .iso = CAIRN_PG_READ_COMMITTED, .first = 2, .second = 1, .attempts = &attempts },
        };
        double before = retries();
        char out[64];

        race_fn = deadlock_fn;
        race(r);
        ck_assert_int_ge(atomic_load(&attempts), 3);
        ck_assert_double_ge(retries() - before, 1);
        /* each moved one unit each way, once */
        ck_assert_int_eq(harness_pg_scalar(url,
                                           "SELECT string_agg(balance::text, ',' ORDER BY id) "
                                           "FROM acct",
                                           out, sizeof(out)),
                         0);
        ck_assert_str_eq(out, "100,100");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg_tx");
        TCase *tc = tcase_create("cairn_pg_tx");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_cairn_pg_tx_commits);
        tcase_add_test(tc, test_cairn_pg_tx_statement_error_rolls_back);
        tcase_add_test(tc, test_cairn_pg_tx_function_error_rolls_back);
        tcase_add_test(tc, test_cairn_pg_tx_ignored_error_is_not_committed);
        tcase_add_test(tc, test_cairn_pg_tx_deadline_rolls_back);
        tcase_add_test(tc, test_cairn_pg_tx_local_timeout_ends_with_transaction);
        tcase_add_test(tc, test_cairn_pg_tx_retries_serialization_failure);
        tcase_add_test(tc, test_cairn_pg_tx_retries_deadlock);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

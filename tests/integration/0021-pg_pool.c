/* libcairn's PostgreSQL pool against a real server (a database of this
 * test's own): prepared statements round trip, constraint errors come back
 * as CONFLICT, INVALID and PRECONDITION, a short deadline becomes the
 * statement_timeout and ends as DEADLINE, connections killed by the server
 * are replaced and their statements prepared again, a pool whose
 * connections are all busy makes calls wait and then time out, and the
 * metrics say so. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "harness.h"

static const struct cairn_pg_stmt stmts[] = {
        { "it_create",
          "CREATE TABLE kv (k text PRIMARY KEY, v int NOT NULL CHECK (v >= 0), "
          "parent text REFERENCES kv (k))",
          false },
        { "it_put", "INSERT INTO kv (k, v, parent) VALUES ($1, $2, $3)", false },
        { "it_get", "SELECT v, parent FROM kv WHERE k = $1", false },
        { "it_sleep", "SELECT pg_sleep($1::float8)", false },
        { "it_timeout", "SELECT current_setting('statement_timeout')", false },
        { "it_backend", "SELECT pg_backend_pid()", false },
};
enum { CREATE, PUT, GET, SLEEP, TIMEOUT, BACKEND };

static char url[512];
static struct cairn_pg_conf pconf;
static struct cairn_metrics *metrics;
static struct cairn_pg *pg;

static void setup(void)
{
        char errstr[256];

        harness_pg_database(url, sizeof(url));
        pconf = (struct cairn_pg_conf){ .url = url,
                                        .pool_size = 2,
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

static int64_t ms_since(int64_t start_us)
{
        return (cairn_mono_us() - start_us) / 1000;
}

/* Runs stmts[@p i]; the first column of the first row into @p out (if any). */
static cairn_err_t run(int64_t deadline_us, int i, const char *const *params, int nparams,
                       char *out, size_t size, char *errstr, size_t errstr_size)
{
        PGresult *r = NULL;
        cairn_err_t err;

        err = cairn_pg_exec(pg, deadline_us, &stmts[i], params, nparams, &r, errstr, errstr_size);
        if (out && size)
                out[0] = '\0';
        if (!err && out && PQntuples(r) > 0)
                snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
        if (err)
                ck_assert_ptr_null(r);
        PQclear(r);
        return err;
}

START_TEST(test_cairn_pg_exec_prepared_roundtrip)
{
        const char *a[] = { "a", "1", NULL }, *b[] = { "b", "2", "a" }, *get[] = { "b" };
        char errstr[512], out[64];
        PGresult *r = NULL;

        ck_assert_int_eq(run(0, CREATE, NULL, 0, NULL, 0, errstr, sizeof(errstr)), CAIRN_OK);
        ck_assert_msg(run(0, PUT, a, 3, NULL, 0, errstr, sizeof(errstr)) == CAIRN_OK, "%s", errstr);
        ck_assert_msg(run(0, PUT, b, 3, NULL, 0, errstr, sizeof(errstr)) == CAIRN_OK, "%s", errstr);
        ck_assert_int_eq(cairn_pg_exec(pg, 0, &stmts[GET], get, 1, &r, errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
        ck_assert_int_eq(PQntuples(r), 1);
        ck_assert_str_eq(PQgetvalue(r, 0, 0), "2");
        ck_assert_str_eq(PQgetvalue(r, 0, 1), "a");
        PQclear(r);
        /* SQL NULL goes in as a NULL parameter */
        get[0] = "a";
        ck_assert_int_eq(cairn_pg_exec(pg, 0, &stmts[GET], get, 1, &r, errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert(PQgetisnull(r, 0, 1));
        PQclear(r);
        /* the same statements from many calls: prepared once per connection */
        for (int i = 0; i < 50; i++) {
                ck_assert_int_eq(run(cairn_mono_us() + 2000000, GET, get, 1, out, sizeof(out),
                                     errstr, sizeof(errstr)),
                                 CAIRN_OK);
                ck_assert_str_eq(out, "1");
        }
}
END_TEST

START_TEST(test_cairn_pg_exec_unique_violation_is_conflict)
{
        const char *a[] = { "a", "5", NULL };
        char errstr[512];

        ck_assert_int_eq(run(0, PUT, a, 3, NULL, 0, errstr, sizeof(errstr)), CAIRN_ERR_CONFLICT);
        ck_assert_ptr_nonnull(strstr(errstr, "it_put"));
        ck_assert_ptr_nonnull(strstr(errstr, "23505"));
        ck_assert_ptr_nonnull(strstr(errstr, "kv_pkey"));
}
END_TEST

START_TEST(test_cairn_pg_exec_constraint_errors)
{
        const char *negative[] = { "n", "-1", NULL }, *text[] = { "t", "abc", NULL },
                   *orphan[] = { "o", "1", "nobody" }, *null[] = { "z", NULL, NULL };
        char errstr[512];

        ck_assert_int_eq(run(0, PUT, negative, 3, NULL, 0, errstr, sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, "23514"));
        ck_assert_int_eq(run(0, PUT, text, 3, NULL, 0, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, "22P02"));
        ck_assert_int_eq(run(0, PUT, null, 3, NULL, 0, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, "23502"));
        ck_assert_int_eq(run(0, PUT, orphan, 3, NULL, 0, errstr, sizeof(errstr)),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_ptr_nonnull(strstr(errstr, "23503"));
        /* a caller's bad values never make the server look unwell */
        ck_assert(!cairn_pg_down(pg));
}
END_TEST

START_TEST(test_cairn_pg_exec_short_deadline_is_deadline)
{
        const char *two[] = { "2" }, *short_sleep[] = { "0.05" };
        char errstr[512];
        int64_t start = cairn_mono_us();

        ck_assert_int_eq(run(start + 300000, SLEEP, two, 1, NULL, 0, errstr, sizeof(errstr)),
                         CAIRN_ERR_DEADLINE);
        ck_assert_int_ge(ms_since(start), 250);
        ck_assert_int_lt(ms_since(start), 1500);
        ck_assert_ptr_nonnull(strstr(errstr, "57014"));
        /* the connection is fine and the next call gets its own timeout */
        ck_assert_msg(run(0, SLEEP, short_sleep, 1, NULL, 0, errstr, sizeof(errstr)) == CAIRN_OK,
                      "%s", errstr);
}
END_TEST

START_TEST(test_cairn_pg_exec_statement_timeout_follows_deadline)
{
        char errstr[512], out[64];

        /* 3049 ms left, rounded down to two significant digits */
        ck_assert_int_eq(run(cairn_mono_us() + 3049000, TIMEOUT, NULL, 0, out, sizeof(out), errstr,
                             sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_str_eq(out, "3s");
        ck_assert_int_eq(run(0, TIMEOUT, NULL, 0, out, sizeof(out), errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_str_eq(out, "5s");
        ck_assert_int_eq(run(cairn_mono_us() + 650500, TIMEOUT, NULL, 0, out, sizeof(out), errstr,
                             sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_str_eq(out, "650ms");
}
END_TEST

START_TEST(test_cairn_pg_exec_deadline_passed_never_sent)
{
        char errstr[512];
        const char *get[] = { "a" };

        ck_assert_int_eq(run(cairn_mono_us() - 1, GET, get, 1, NULL, 0, errstr, sizeof(errstr)),
                         CAIRN_ERR_DEADLINE);
        ck_assert_ptr_nonnull(strstr(errstr, "deadline passed"));
        ck_assert_int_eq(run(cairn_mono_us() + 500, GET, get, 1, NULL, 0, errstr, sizeof(errstr)),
                         CAIRN_ERR_DEADLINE);
}
END_TEST

static void *sleeper_main(void *arg)
{
        cairn_err_t *err = arg;
        const char *three[] = { "3" };
        char errstr[512];

        *err = run(0, SLEEP, three, 1, NULL, 0, errstr, sizeof(errstr));
        return NULL;
}

static const char kill_others[] = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()";

START_TEST(test_cairn_pg_exec_replaces_killed_connections)
{
        const char *get[] = { "a" };
        char errstr[512], out[64], before[64], after[64];
        cairn_err_t sleeper_err = CAIRN_OK;
        pthread_t t;

        ck_assert_int_eq(run(0, BACKEND, NULL, 0, before, sizeof(before), errstr, sizeof(errstr)),
                         CAIRN_OK);
        /* idle connections killed: the next call finds them dead before
         * sending anything, connects again and prepares its statement again */
        ck_assert_int_eq(harness_pg_scalar(url, kill_others, out, sizeof(out)), 0);
        ck_assert_int_ge(atoi(out), 1);
        usleep(100 * 1000);
        ck_assert_msg(run(0, GET, get, 1, out, sizeof(out), errstr, sizeof(errstr)) == CAIRN_OK,
                      "%s", errstr);
        ck_assert_str_eq(out, "1");
        ck_assert_int_eq(run(0, BACKEND, NULL, 0, after, sizeof(after), errstr, sizeof(errstr)),
                         CAIRN_OK);
        ck_assert_str_ne(before, after);

        /* killed in the middle of a statement: that call fails UNAVAILABLE */
        pthread_create(&t, NULL, sleeper_main, &sleeper_err);
        usleep(300 * 1000);
        ck_assert_int_eq(harness_pg_scalar(url, kill_others, out, sizeof(out)), 0);
        pthread_join(t, NULL);
        ck_assert_int_eq(sleeper_err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(run(0, GET, get, 1, out, sizeof(out), errstr, sizeof(errstr)) == CAIRN_OK,
                      "%s", errstr);
}
END_TEST

START_TEST(test_cairn_pg_ready_answers)
{
        char why[256] = "";

        ck_assert_msg(cairn_pg_ready(pg, why, sizeof(why)), "%s", why);
}
END_TEST

START_TEST(test_cairn_pg_metrics_exported)
{
        static const char *const want[] = {
                "cairn_pg_pool_connections_in_use 0\n",
                "# TYPE cairn_pg_pool_waits_total counter\n",
                "cairn_pg_query_duration_seconds_count{statement=\"it_get\"} ",
                "cairn_pg_query_duration_seconds_count{statement=\"cairn_ping\"} ",
                "cairn_pg_errors_total{class=\"23\"} ",
                "cairn_pg_errors_total{class=\"22\"} ",
                "cairn_pg_errors_total{class=\"57\"} ",
                "cairn_pg_errors_total{class=\"connection\"} ",
                "cairn_breaker_state{dependency=\"pg\"} 0\n",
                "cairn_bulkhead_inflight{dependency=\"pg\"} 0\n",
        };
        size_t len;
        char *text = cairn_metrics_render(metrics, &len);

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                ck_assert_msg(strstr(text, want[i]) != NULL, "no %s in\n%s", want[i], text);
        free(text);
}
END_TEST

/* ---- a pool whose every connection is busy ---- */

static struct cairn_pg_conf busy_conf;
static struct cairn_pg *busy;
static sem_t held, let_go;

static void busy_setup(void)
{
        char errstr[256];

        busy_conf = (struct cairn_pg_conf){ .url = url,
                                            .pool_size = 2,
                                            .connect_timeout_ms = 10000,
                                            .statement_timeout_ms = 300,
                                            .retry_interval_ms = 100 };
        metrics = cairn_metrics_new();
        busy = cairn_pg_new(&busy_conf, metrics, errstr, sizeof(errstr));
        ck_assert_msg(busy != NULL, "%s", errstr);
        sem_init(&held, 0, 0);
        sem_init(&let_go, 0, 0);
}

static void busy_teardown(void)
{
        cairn_pg_free(busy);
        cairn_metrics_free(metrics);
        sem_destroy(&held);
        sem_destroy(&let_go);
}

/* Holds its transaction's connection until let_go is posted. */
static cairn_err_t hold_fn(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                           size_t errstr_size)
{
        (void)conn;
        (void)opaque;
        (void)errstr;
        (void)errstr_size;
        sem_post(&held);
        sem_wait(&let_go);
        return CAIRN_OK;
}

static void *holder_main(void *arg)
{
        cairn_err_t *err = arg;
        char errstr[256];

        *err = cairn_pg_tx(busy, 0, hold_fn, NULL, errstr, sizeof(errstr));
        return NULL;
}

struct waiter {
        cairn_err_t err;
        int64_t waited_ms;
};

static void *waiter_main(void *arg)
{
        struct waiter *w = arg;
        int64_t start = cairn_mono_us();
        PGresult *r = NULL;
        char errstr[256];

        w->err = cairn_pg_exec(busy, start + 3000000, &stmts[BACKEND], NULL, 0, &r, errstr,
                               sizeof(errstr));
        w->waited_ms = ms_since(start);
        PQclear(r);
        return NULL;
}

/* The value on the line of /metrics that starts with @p line_start; -1 without one. */
static double metric_value(const char *line_start)
{
        char *text, *p, needle[256];
        size_t len;
        double v;

        snprintf(needle, sizeof(needle), "\n%s", line_start);
        text = cairn_metrics_render(metrics, &len);
        p = strstr(text, needle);
        v = p ? strtod(p + strlen(needle), NULL) : -1;
        free(text);
        return v;
}

START_TEST(test_cairn_pg_exec_waits_for_busy_pool_then_times_out)
{
        cairn_err_t herr[2] = { -1, -1 };
        struct waiter w = { -1, 0 };
        pthread_t holders[2], waiter;
        PGresult *r = NULL;
        char errstr[256];
        int64_t start;
        cairn_err_t err;

        for (int i = 0; i < 2; i++)
                pthread_create(&holders[i], NULL, holder_main, &herr[i]);
        sem_wait(&held);
        sem_wait(&held);
        ck_assert_double_eq(metric_value("cairn_pg_pool_connections_in_use "), 2);

        /* with a deadline: waits for it, then DEADLINE */
        start = cairn_mono_us();
        err = cairn_pg_exec(busy, start + 200000, &stmts[BACKEND], NULL, 0, &r, errstr,
                            sizeof(errstr));
        ck_assert_int_eq(err, CAIRN_ERR_DEADLINE);
        ck_assert_int_ge(ms_since(start), 190);
        ck_assert_int_lt(ms_since(start), 1000);
        ck_assert_ptr_nonnull(strstr(errstr, "busy"));

        /* without one: waits pg.statement_timeout_ms, then EXHAUSTED */
        start = cairn_mono_us();
        err = cairn_pg_exec(busy, 0, &stmts[BACKEND], NULL, 0, &r, errstr, sizeof(errstr));
        ck_assert_int_eq(err, CAIRN_ERR_EXHAUSTED);
        ck_assert_int_ge(ms_since(start), 290);
        ck_assert_int_lt(ms_since(start), 1100);

        /* a waiter gets the first connection that comes back */
        pthread_create(&waiter, NULL, waiter_main, &w);
        usleep(300 * 1000);
        sem_post(&let_go);
        pthread_join(waiter, NULL);
        ck_assert_int_eq(w.err, CAIRN_OK);
        ck_assert_int_ge(w.waited_ms, 250);
        sem_post(&let_go);
        for (int i = 0; i < 2; i++) {
                pthread_join(holders[i], NULL);
                ck_assert_int_eq(herr[i], CAIRN_OK);
        }
        ck_assert_double_ge(metric_value("cairn_pg_pool_waits_total "), 3);
        ck_assert_double_eq(metric_value("cairn_pg_pool_connections_in_use "), 0);
        /* waiting for a busy pool is not the server's fault */
        ck_assert_double_eq(metric_value("cairn_breaker_state{dependency=\"pg\"} "), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg_pool");
        TCase *tc;

        tc = tcase_create("cairn_pg_exec");
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_cairn_pg_exec_prepared_roundtrip);
        tcase_add_test(tc, test_cairn_pg_exec_unique_violation_is_conflict);
        tcase_add_test(tc, test_cairn_pg_exec_constraint_errors);
        tcase_add_test(tc, test_cairn_pg_exec_short_deadline_is_deadline);
        tcase_add_test(tc, test_cairn_pg_exec_statement_timeout_follows_deadline);
        tcase_add_test(tc, test_cairn_pg_exec_deadline_passed_never_sent);
        tcase_add_test(tc, test_cairn_pg_exec_replaces_killed_connections);
        tcase_add_test(tc, test_cairn_pg_ready_answers);
        tcase_add_test(tc, test_cairn_pg_metrics_exported);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_exec_busy_pool");
        tcase_add_unchecked_fixture(tc, busy_setup, busy_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_cairn_pg_exec_waits_for_busy_pool_then_times_out);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

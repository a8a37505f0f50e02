/* libcairn's PostgreSQL pool across server restarts, on a server of the
 * test's own (stopped and started again on the same port; each start is a
 * fresh cluster): idle connections that died with the server are replaced
 * without a failed call; while the server is down calls fail with
 * UNAVAILABLE, fast after the first, the readiness check says why and the
 * "pg" breaker opens; once the server is back calls succeed again, with
 * their statements prepared on the new connections; a statement running
 * when the server stops fails UNAVAILABLE. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "cairn/resilience.h"
#include "harness.h"

static const struct cairn_pg_stmt stmt_add = { "rs_add", "SELECT $1::int + 1", false };
static const struct cairn_pg_stmt stmt_sleep = { "rs_sleep", "SELECT pg_sleep($1::float8)", false };

static char state[512];
static struct harness_pg srv;
static struct cairn_resilience_conf rconf;
static struct cairn_pg_conf pconf;
static struct cairn_metrics *metrics;
static struct cairn_pg *pg;

static void pg_sh(const char *verb)
{
        char cmd[1400], out[1024];

        if (strcmp(verb, "start") == 0)
                snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' start '%s' %d fast",
                         harness_root(), state, srv.port);
        else
                snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' %s '%s'", harness_root(), verb,
                         state);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s: %s", cmd, out);
}

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");
        char errstr[256];

        snprintf(state, sizeof(state), "%s/pg-restart-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        harness_pg_start(&srv, state);
        cairn_resilience_conf_init(&rconf, "pg");
        rconf.breaker_failures = 3;
        rconf.breaker_open_ms = 400;
        pconf = (struct cairn_pg_conf){ .url = srv.url,
                                        .pool_size = 2,
                                        .connect_timeout_ms = 1000,
                                        .statement_timeout_ms = 5000,
                                        .retry_interval_ms = 200,
                                        .resilience = &rconf };
        metrics = cairn_metrics_new();
        pg = cairn_pg_new(&pconf, metrics, errstr, sizeof(errstr));
        ck_assert_msg(pg != NULL, "%s", errstr);
}

static void teardown(void)
{
        cairn_pg_free(pg);
        cairn_metrics_free(metrics);
        harness_pg_stop(&srv);
}

static cairn_err_t add(const char *n, char *errstr, size_t errstr_size)
{
        PGresult *r = NULL;
        cairn_err_t err = cairn_pg_exec(pg, cairn_mono_us() + 2000000, &stmt_add,
                                        (const char *[]){ n }, 1, &r, errstr, errstr_size);

        if (!err)
                ck_assert_int_eq(atoi(PQgetvalue(r, 0, 0)), atoi(n) + 1);
        PQclear(r);
        return err;
}

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

static void *sleeper_main(void *arg)
{
        cairn_err_t *err = arg;
        PGresult *r = NULL;
        char errstr[512];

        *err = cairn_pg_exec(pg, 0, &stmt_sleep, (const char *[]){ "4" }, 1, &r, errstr,
                             sizeof(errstr));
        PQclear(r);
        return NULL;
}

static void *short_sleeper_main(void *arg)
{
        cairn_err_t *err = arg;
        PGresult *r = NULL;
        char errstr[512];

        *err = cairn_pg_exec(pg, 0, &stmt_sleep, (const char *[]){ "0.2" }, 1, &r, errstr,
                             sizeof(errstr));
        PQclear(r);
        return NULL;
}

START_TEST(test_cairn_pg_exec_survives_restart_while_idle)
{
        cairn_err_t err = -1;
        char errstr[512];
        pthread_t t;

        /* two connections in the pool, both idle */
        pthread_create(&t, NULL, short_sleeper_main, &err);
        usleep(50 * 1000);
        ck_assert_int_eq(add("1", errstr, sizeof(errstr)), CAIRN_OK);
        pthread_join(t, NULL);
        ck_assert_int_eq(err, CAIRN_OK);
        ck_assert_double_eq(metric_value("cairn_pg_pool_connections_in_use "), 0);
        pg_sh("stop");
        pg_sh("start");
        /* the first call after the restart already works */
        ck_assert_msg(add("41", errstr, sizeof(errstr)) == CAIRN_OK, "%s", errstr);
        ck_assert_msg(add("1", errstr, sizeof(errstr)) == CAIRN_OK, "%s", errstr);
        ck_assert(!cairn_pg_down(pg));
}
END_TEST

START_TEST(test_cairn_pg_exec_down_then_back)
{
        char errstr[512], why[512];
        int64_t start;
        bool back = false;
        cairn_err_t err;

        pg_sh("stop");
        err = add("1", errstr, sizeof(errstr));
        ck_assert_int_eq(err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_ptr_nonnull(strstr(errstr, "connect"));
        ck_assert(cairn_pg_down(pg));
        /* within the retry interval: no connect, an immediate answer */
        start = cairn_mono_us();
        ck_assert_int_eq(add("1", errstr, sizeof(errstr)), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_lt(cairn_mono_us() - start, 50000);
        ck_assert_ptr_nonnull(strstr(errstr, "down"));
        ck_assert(!cairn_pg_ready(pg, why, sizeof(why)));
        ck_assert(why[0] != '\0');
        /* three failures in a row open the breaker */
        for (int i = 0; i < 5 && metric_value("cairn_breaker_state{dependency=\"pg\"} ") != 2; i++)
                add("1", errstr, sizeof(errstr));
        ck_assert_double_eq(metric_value("cairn_breaker_state{dependency=\"pg\"} "), 2);
        ck_assert_int_eq(add("1", errstr, sizeof(errstr)), CAIRN_ERR_UNAVAILABLE);
        ck_assert_ptr_nonnull(strstr(errstr, "breaker"));
        ck_assert_double_ge(metric_value("cairn_pg_errors_total{class=\"connection\"} "), 1);

        pg_sh("start");
        for (int i = 0; i < 100 && !back; i++) {
                back = add("2", errstr, sizeof(errstr)) == CAIRN_OK;
                if (!back)
                        usleep(50 * 1000);
        }
        ck_assert_msg(back, "no answer after the server came back: %s", errstr);
        ck_assert(!cairn_pg_down(pg));
        ck_assert_msg(cairn_pg_ready(pg, why, sizeof(why)), "%s", why);
        ck_assert_double_eq(metric_value("cairn_breaker_state{dependency=\"pg\"} "), 0);
}
END_TEST

START_TEST(test_cairn_pg_exec_statement_running_at_shutdown)
{
        cairn_err_t err = CAIRN_OK;
        char errstr[512];
        int64_t start = cairn_mono_us();
        bool back = false;
        pthread_t t;

        ck_assert_msg(add("1", errstr, sizeof(errstr)) == CAIRN_OK, "%s", errstr);
        pthread_create(&t, NULL, sleeper_main, &err);
        usleep(300 * 1000);
        pg_sh("stop");
        pthread_join(t, NULL);
        ck_assert_int_eq(err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_lt(cairn_mono_us() - start, 3500000);
        pg_sh("start");
        for (int i = 0; i < 100 && !back; i++) {
                back = add("2", errstr, sizeof(errstr)) == CAIRN_OK;
                if (!back)
                        usleep(50 * 1000);
        }
        ck_assert_msg(back, "no answer after the server came back: %s", errstr);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg_restart");
        TCase *tc = tcase_create("cairn_pg_exec");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_cairn_pg_exec_survives_restart_while_idle);
        tcase_add_test(tc, test_cairn_pg_exec_down_then_back);
        tcase_add_test(tc, test_cairn_pg_exec_statement_running_at_shutdown);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

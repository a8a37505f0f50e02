/* The one entry point, cairn_service_main(), for a service that needs
 * PostgreSQL: started in a child process over a database of the test's own,
 * it applies the service's migrations before init, hands init the pool,
 * reports postgres in /readyz, and exits 0 on SIGTERM after cleanup; a
 * database whose applied migration differs from the binary's stops it at
 * start with a message naming the file; a server that is not up yet is
 * waited for, up to pg.startup_wait_ms. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/service.h"
#include "harness.h"

extern const struct cairn_pg_migrations testsvc_migrations;

static char url[512];
static pid_t child;          /* the service, while it may run */
static char marker[600];     /* cleanup() writes it: the child's proof of an orderly end */
static struct harness_pg pg; /* a server of the test's own, when it needs one */

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        static int state;

        if (!ctx->pg) {
                snprintf(errstr, errstr_size, "no PostgreSQL pool");
                return NULL;
        }
        return &state;
}

static int run(struct cairn_service_ctx *ctx, void *state)
{
        (void)ctx;
        (void)state;
        cairn_service_wait_stop();
        return 0;
}

static void cleanup(void *state)
{
        FILE *fp = fopen(marker, "w");

        (void)state;
        if (fp)
                fclose(fp);
}

static const struct cairn_service testsvc = {
        .name = "testsvc",
        .needs = CAIRN_NEEDS_PG,
        .migrations = &testsvc_migrations,
        .init = init,
        .run = run,
        .cleanup = cleanup,
};

/* Runs testsvc in a child with its admin on @p admin_port; its stderr goes
 * to @p errlog and its log (stdout) to @p errlog.out. */
static pid_t service_fork(int admin_port, const char *errlog)
{
        pid_t pid;

        fflush(NULL); /* nothing buffered here is written twice */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        child = pid;
        if (pid == 0) {
                char port[16], outlog[700];
                char *argv[] = { "cairn-testsvc", NULL };

                /* the test framework's own SIGTERM handler is not the service's */
                signal(SIGTERM, SIG_DFL);
                snprintf(port, sizeof(port), "%d", admin_port);
                snprintf(outlog, sizeof(outlog), "%s.out", errlog);
                setenv("CAIRN_PG_URL", url, 1);
                setenv("CAIRN_ADMIN_PORT", port, 1);
                setenv("CAIRN_ADMIN_ADDRESS", "127.0.0.1", 1);
                if (!freopen(errlog, "w", stderr) || !freopen(outlog, "w", stdout))
                        _exit(99);
                /* unbuffered, as a process's stderr is; a coverage build
                 * writes the service's counts at exit */
                setvbuf(stderr, NULL, _IONBF, 0);
                exit(cairn_service_main(&testsvc, 1, argv));
        }
        return pid;
}

/* Polls /readyz until it answers 200 or @p tries polls passed; its status,
 * and its last body in @p body (NULL: not kept; free() it). */
static int readyz_wait(int port, int tries, char **body)
{
        int status = -1;

        for (int i = 0; i < tries && status != 200; i++) {
                if (body) {
                        free(*body);
                        *body = NULL;
                }
                status = harness_http_get(port, "/readyz", body, 1000);
                if (status != 200)
                        usleep(100 * 1000);
        }
        return status;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
        int status;

        for (int i = 0; i < timeout_ms / 50; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        child = 0;
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                }
                usleep(50 * 1000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        child = 0;
        return -1;
}

static void teardown(void)
{
        if (child > 0) {
                kill(child, SIGKILL);
                waitpid(child, NULL, 0);
                child = 0;
        }
        harness_pg_stop(&pg);
}

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");

        harness_pg_database(url, sizeof(url));
        snprintf(marker, sizeof(marker), "%s/0027-cleanup-%d", tmp ? tmp : "/tmp", (int)getpid());
        unlink(marker);
}

START_TEST(test_service_main_migrates_serves_and_stops)
{
        int port = harness_free_port();
        char log[640], out[256], *body = NULL;
        int status = -1;
        pid_t pid;

        snprintf(log, sizeof(log), "%s.stderr", marker);
        pid = service_fork(port, log);
        status = readyz_wait(port, 200, &body);
        ck_assert_msg(status == 200, "not ready: %d %s (see %s)", status, body ? body : "", log);
        ck_assert_msg(body && strstr(body, "postgres: ok"), "readyz answered %d: %s", status,
                      body ? body : "(no body)");
        free(body);

        /* every migration of the set, applied before init ran */
        ck_assert_int_eq(harness_pg_scalar(url,
                                           "SELECT count(*) FROM cairn_schema_migrations "
                                           "WHERE service = 'testsvc'",
                                           out, sizeof(out)),
                         0);
        ck_assert_str_eq(out, "3");

        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 15000), 0);
        ck_assert_msg(access(marker, F_OK) == 0, "cleanup did not run");
}
END_TEST

START_TEST(test_service_main_refuses_a_changed_migration)
{
        int port = harness_free_port();
        char log[640], out[256];
        pid_t pid;

        snprintf(log, sizeof(log), "%s.stderr", marker);
        /* once as it should be, then the record of 0002 no longer matches */
        pid = service_fork(port, log);
        readyz_wait(port, 200, NULL);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 15000), 0);
        ck_assert_int_eq(harness_pg_scalar(url,
                                           "UPDATE cairn_schema_migrations SET checksum = "
                                           "repeat('0', 64) WHERE service = 'testsvc' AND "
                                           "version = 2",
                                           out, sizeof(out)),
                         0);

        unlink(marker);
        pid = service_fork(port, log);
        ck_assert_int_eq(wait_exit(pid, 30000), 1);
        ck_assert_msg(harness_count_in_file(log, "0002_items.sql") > 0,
                      "the refusal does not name the file (see %s)", log);
        /* refused before init: nothing of the service ran */
        ck_assert_msg(access(marker, F_OK) != 0, "cleanup ran for a service that never started");
}
END_TEST

/* A server that answers only after the service started: the service waits
 * (not ready, "starting"), applies its migrations once the server is up,
 * and a stop while it waits ends it at once, in order. */
START_TEST(test_service_main_waits_for_postgres)
{
        const char *tmp = getenv("TMPDIR");
        int port = harness_free_port();
        char log[640], outlog[700], state[400], *body = NULL;
        int status = -1;
        pid_t pid;

        snprintf(log, sizeof(log), "%s.stderr", marker);
        snprintf(state, sizeof(state), "%s/0027-pg-%d", tmp ? tmp : "/tmp", (int)getpid());
        harness_pg_start(&pg, state);
        harness_pg_stop(&pg);
        snprintf(url, sizeof(url), "%s", pg.url);

        pid = service_fork(port, log);
        sleep(2);
        status = harness_http_get(port, "/readyz", &body, 1000);
        ck_assert_msg(status == 503 && body && strstr(body, "starting"), "readyz: %d %s", status,
                      body ? body : "(none)");
        free(body);
        body = NULL;
        snprintf(outlog, sizeof(outlog), "%s.out", log);
        ck_assert_msg(harness_count_in_file(outlog, "waiting up to 60000 ms for postgresql") > 0,
                      "the wait is not logged (see %s)", outlog);

        harness_pg_restart(&pg, state);
        status = readyz_wait(port, 300, &body);
        ck_assert_msg(status == 200, "not ready once the server is up: %d %s", status,
                      body ? body : "");
        free(body);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 15000), 0);

        /* down again: a stop while the service waits ends the wait */
        harness_pg_stop(&pg);
        unlink(marker);
        pid = service_fork(port, log);
        sleep(1);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 5000), 0);
        ck_assert_msg(access(marker, F_OK) != 0, "cleanup ran for a service that never started");
}
END_TEST

/* pg.startup_wait_ms bounds the wait: then the service exits, naming why. */
START_TEST(test_service_main_gives_up_on_postgres)
{
        int port = harness_free_port();
        char log[640];
        pid_t pid;

        snprintf(log, sizeof(log), "%s.stderr", marker);
        /* nothing listens there */
        snprintf(url, sizeof(url), "postgresql://postgres@127.0.0.1:%d/postgres",
                 harness_free_port());
        setenv("CAIRN_PG_STARTUP_WAIT_MS", "1500", 1);
        pid = service_fork(port, log);
        unsetenv("CAIRN_PG_STARTUP_WAIT_MS");
        ck_assert_int_eq(wait_exit(pid, 10000), 1);
        ck_assert_msg(harness_count_in_file(log, "Connection refused") > 0,
                      "the exit does not say why (see %s)", log);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0027-service_main");
        TCase *tc = tcase_create("service_main");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_service_main_migrates_serves_and_stops);
        tcase_add_test(tc, test_service_main_refuses_a_changed_migration);
        tcase_add_test(tc, test_service_main_waits_for_postgres);
        tcase_add_test(tc, test_service_main_gives_up_on_postgres);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

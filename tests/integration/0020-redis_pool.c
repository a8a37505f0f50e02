/* libcairn's Redis pool against a redis-server of the test's own: commands
 * from many threads over a small pool, EVALSHA with NOSCRIPT after SCRIPT
 * FLUSH, the server stopped (calls fail, the pool says it is down, the
 * readiness check says why) and started again (calls succeed after the
 * retry interval), and the server frozen by SIGSTOP (down until it answers
 * again, never "reachable" in between). */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/redis.h"
#include "harness.h"

static char dir[] = "/tmp/cairn-redis-XXXXXX";
static int port;
static struct harness_proc server;
static struct cairn_redis_conf rconf;
static struct cairn_metrics *metrics;
static struct cairn_redis *redis;

static void setup(void)
{
        ck_assert_ptr_nonnull(mkdtemp(dir));
        port = harness_free_port();
        harness_redis_start(&server, dir, port);
        rconf = (struct cairn_redis_conf){ .host = "127.0.0.1",
                                           .port = port,
                                           .password = "",
                                           .db = 0,
                                           .pool_size = 3,
                                           .connect_timeout_ms = 200,
                                           .command_timeout_ms = 500,
                                           .retry_interval_ms = 100 };
        metrics = cairn_metrics_new();
        redis = cairn_redis_new(&rconf, metrics);
}

static void teardown(void)
{
        cairn_redis_free(redis);
        cairn_metrics_free(metrics);
        harness_proc_kill(&server);
        rmdir(dir);
}

static void *incr_main(void *arg)
{
        int *failures = arg;
        char errstr[256];

        for (int i = 0; i < 200; i++) {
                redisReply *r = cairn_redis_command(redis, errstr, sizeof(errstr), "INCR counter");

                if (!r || r->type != REDIS_REPLY_INTEGER)
                        (*failures)++;
                if (r)
                        freeReplyObject(r);
        }
        return NULL;
}

START_TEST(test_cairn_redis_command_many_threads_small_pool)
{
        enum { N = 8 };
        pthread_t t[N];
        int failures[N] = { 0 };
        char errstr[256];
        redisReply *r;

        for (int i = 0; i < N; i++)
                pthread_create(&t[i], NULL, incr_main, &failures[i]);
        for (int i = 0; i < N; i++) {
                pthread_join(t[i], NULL);
                ck_assert_int_eq(failures[i], 0);
        }
        r = cairn_redis_command(redis, errstr, sizeof(errstr), "GET counter");
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->str, "1600");
        freeReplyObject(r);
        /* binary-safe arguments */
        const char *argv[] = { "SET", "bin", "a\0b" };
        const size_t lens[] = { 3, 3, 3 };
        r = cairn_redis_commandargv(redis, 3, argv, lens, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(r);
        freeReplyObject(r);
        r = cairn_redis_command(redis, errstr, sizeof(errstr), "STRLEN bin");
        ck_assert_int_eq(r->integer, 3);
        freeReplyObject(r);
}
END_TEST

START_TEST(test_cairn_redis_eval_reloads_after_noscript)
{
        struct cairn_redis_script script;
        const char *args[] = { "k", "41" };
        char errstr[256];
        redisReply *r;

        cairn_redis_script_init(&script, "return redis.call('INCRBY', KEYS[1], ARGV[1])");
        ck_assert_uint_eq(strlen(script.sha1), 40);
        r = cairn_redis_eval(redis, &script, 1, 2, args, errstr, sizeof(errstr));
        ck_assert_msg(r && r->type == REDIS_REPLY_INTEGER, "%s", r ? r->str : errstr);
        ck_assert_int_eq(r->integer, 41);
        freeReplyObject(r);
        r = cairn_redis_command(redis, errstr, sizeof(errstr), "SCRIPT FLUSH");
        freeReplyObject(r);
        r = cairn_redis_eval(redis, &script, 1, 2, args, errstr, sizeof(errstr));
        ck_assert_msg(r && r->type == REDIS_REPLY_INTEGER, "%s", r ? r->str : errstr);
        ck_assert_int_eq(r->integer, 82);
        freeReplyObject(r);
        /* a script error is a reply, not a failure of the connection */
        struct cairn_redis_script bad;
        cairn_redis_script_init(&bad, "return redis.call('NOPE')");
        r = cairn_redis_eval(redis, &bad, 0, 0, NULL, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
        ck_assert(!cairn_redis_down(redis));
}
END_TEST

START_TEST(test_cairn_redis_down_and_back)
{
        char errstr[256], why[256];
        redisReply *r;
        bool back = false;

        ck_assert(cairn_redis_ready(redis, why, sizeof(why)));
        harness_proc_kill(&server);
        r = cairn_redis_command(redis, errstr, sizeof(errstr), "PING");
        ck_assert_ptr_null(r);
        ck_assert(errstr[0] != '\0');
        ck_assert(cairn_redis_down(redis));
        /* while down, calls fail at once without a connect */
        r = cairn_redis_command(redis, errstr, sizeof(errstr), "PING");
        ck_assert_ptr_null(r);
        ck_assert_ptr_nonnull(strstr(errstr, "down"));
        ck_assert(!cairn_redis_ready(redis, why, sizeof(why)));
        ck_assert(why[0] != '\0');

        harness_redis_start(&server, dir, port);
        for (int i = 0; i < 100 && !back; i++) {
                r = cairn_redis_command(redis, errstr, sizeof(errstr), "PING");
                back = r != NULL;
                if (r)
                        freeReplyObject(r);
                else
                        usleep(50 * 1000);
        }
        ck_assert_msg(back, "no answer after the server came back: %s", errstr);
        ck_assert(!cairn_redis_down(redis));
        ck_assert(cairn_redis_ready(redis, why, sizeof(why)));
}
END_TEST

/* cairn_redis_up in @p m; -1 when it is not there. */
static double redis_up(struct cairn_metrics *m)
{
        static const char needle[] = "\ncairn_redis_up ";
        char *text = cairn_metrics_render(m, NULL);
        char *p = strstr(text, needle);
        double v = p ? strtod(p + strlen(needle), NULL) : -1;

        free(text);
        return v;
}

/* Samples the gauge every 2 ms: a flap lasts one command timeout, far less
 * than the time between the test's own calls. */
struct watch {
        struct cairn_metrics *metrics;
        atomic_bool stop;
        atomic_int samples, ups;
};

static void *watch_main(void *arg)
{
        struct watch *w = arg;

        while (!atomic_load(&w->stop)) {
                atomic_fetch_add(&w->samples, 1);
                if (redis_up(w->metrics) != 0)
                        atomic_fetch_add(&w->ups, 1);
                usleep(2000);
        }
        return NULL;
}

/* Regression: with the server frozen by SIGSTOP, each reconnect completed at
 * TCP level (the kernel accepts into the listen backlog of a stopped
 * process) and counted as up: "reachable again" and cairn_redis_up 1 every
 * retry interval, "unreachable" a command timeout later. Only an answer
 * counts, so the pool stays down, quietly, until SIGCONT. */
START_TEST(test_cairn_redis_frozen_server_stays_down)
{
        struct cairn_redis_conf fconf = rconf;
        struct cairn_metrics *fm = cairn_metrics_new();
        struct watch w = { .metrics = fm };
        char errstr[256], log_path[256];
        int answered_frozen = 0, back_after = -1;
        pthread_t watcher;
        redisReply *r;
        FILE *log;

        fconf.pool_size = 2;
        fconf.connect_timeout_ms = 100;
        fconf.command_timeout_ms = 100;
        fconf.retry_interval_ms = 100; /* many reconnects in the window */
        struct cairn_redis *fr = cairn_redis_new(&fconf, fm);
        r = cairn_redis_command(fr, errstr, sizeof(errstr), "PING"); /* an idle connection */
        ck_assert_msg(r != NULL, "%s", errstr);
        freeReplyObject(r);
        snprintf(log_path, sizeof(log_path), "%s/frozen.log", dir);
        log = fopen(log_path, "w");
        ck_assert_ptr_nonnull(log);
        cairn_log_set_stream(log);

        /* Only the redis-server this test started, by its PID. */
        ck_assert_int_eq(kill(server.pid, SIGSTOP), 0);
        r = cairn_redis_command(fr, errstr, sizeof(errstr), "PING"); /* the outage begins */
        answered_frozen += r != NULL;
        double up_first = redis_up(fm);
        pthread_create(&watcher, NULL, watch_main, &w);
        int64_t until = cairn_mono_us() + 3000 * 1000LL;
        while (cairn_mono_us() < until) {
                r = cairn_redis_command(fr, errstr, sizeof(errstr), "PING");
                if (r) {
                        answered_frozen++;
                        freeReplyObject(r);
                }
                usleep(10 * 1000);
        }
        atomic_store(&w.stop, true);
        pthread_join(watcher, NULL);
        double up_frozen = redis_up(fm);

        ck_assert_int_eq(kill(server.pid, SIGCONT), 0);
        for (int i = 0; i < 100 && back_after < 0; i++) {
                r = cairn_redis_command(fr, errstr, sizeof(errstr), "PING");
                if (r) {
                        back_after = i;
                        freeReplyObject(r);
                } else {
                        usleep(50 * 1000);
                }
        }
        double up_back = redis_up(fm);
        cairn_log_set_stream(NULL);
        fclose(log);
        int unreachable = harness_count_in_file(log_path, "unreachable");
        int reachable = harness_count_in_file(log_path, "reachable again");
        unlink(log_path);
        cairn_redis_free(fr);
        cairn_metrics_free(fm);

        ck_assert_int_eq(answered_frozen, 0);
        ck_assert_double_eq(up_first, 0);
        ck_assert_int_gt(atomic_load(&w.samples), 100);
        ck_assert_msg(atomic_load(&w.ups) == 0, "cairn_redis_up was 1 in %d of %d samples",
                      atomic_load(&w.ups), atomic_load(&w.samples));
        ck_assert_double_eq(up_frozen, 0);
        ck_assert_int_eq(unreachable, 1); /* one warn line per outage */
        ck_assert_msg(back_after >= 0, "no answer after SIGCONT: %s", errstr);
        ck_assert_double_eq(up_back, 1);
        ck_assert_int_eq(reachable, 1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("redis_pool");
        TCase *tc = tcase_create("cairn_redis");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_cairn_redis_command_many_threads_small_pool);
        tcase_add_test(tc, test_cairn_redis_eval_reloads_after_noscript);
        tcase_add_test(tc, test_cairn_redis_down_and_back);
        tcase_add_test(tc, test_cairn_redis_frozen_server_stays_down);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* libcairn's Redis pool against a redis-server of the test's own: commands
 * from many threads over a small pool, EVALSHA with NOSCRIPT after SCRIPT
 * FLUSH, the server stopped (calls fail, the pool says it is down, the
 * readiness check says why) and started again (calls succeed after the
 * retry interval). */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(void)
{
        Suite *s = suite_create("redis_pool");
        TCase *tc = tcase_create("cairn_redis");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_cairn_redis_command_many_threads_small_pool);
        tcase_add_test(tc, test_cairn_redis_eval_reloads_after_noscript);
        tcase_add_test(tc, test_cairn_redis_down_and_back);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

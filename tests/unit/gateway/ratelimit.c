/* Unit tests for rate limiting: the token bucket, the per-route limits, and
 * the fallbacks when Redis cannot be reached (fail-open to the in-process
 * limiter, fail-closed). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/metrics.h"
#include "gateway/ratelimit.h"
#include "../unit.h"

START_TEST(test_gw_bucket_take_drains_and_refills)
{
        double tokens = 0, rem;
        int64_t stamp = 0, retry, full;
        int64_t now = 1000000;

        for (int i = 0; i < 3; i++)
                ck_assert(gw_bucket_take(&tokens, &stamp, 3, 60000, now, &rem, &retry, &full));
        ck_assert(rem == 0);
        ck_assert(!gw_bucket_take(&tokens, &stamp, 3, 60000, now, &rem, &retry, &full));
        ck_assert_int_eq(retry, 20000); /* one token per 20 s */
        ck_assert_int_eq(full, 60000);
        ck_assert(!gw_bucket_take(&tokens, &stamp, 3, 60000, now + 19999, &rem, &retry, &full));
        ck_assert(gw_bucket_take(&tokens, &stamp, 3, 60000, now + 20000 + 19999 + 2, &rem, &retry,
                                 &full));
        /* Time running backwards refills nothing. */
        tokens = 0.5;
        ck_assert(!gw_bucket_take(&tokens, &stamp, 3, 60000, now, &rem, &retry, &full));
}
END_TEST

static struct gateway_ratelimit_conf conf_default(void)
{
        struct gateway_ratelimit_conf c = {
                .enabled = true,
                .fail_mode = "open",
                .default_per_minute = 5,
                .default_per_hour = 0,
                .local_max_keys = 16,
        };
        return c;
}

/* A class with its own hourly limit, and one that lifts the minute's. */
static const struct gw_limits embeddings = { -1, 100 };
static const struct gw_limits models = { 0, -1 };

/* Redis on a port nobody listens on: every call fails at once. */
static struct cairn_redis_conf dead_redis = {
        .host = "127.0.0.1",
        .port = 1,
        .password = "",
        .db = 0,
        .pool_size = 2,
        .connect_timeout_ms = 50,
        .command_timeout_ms = 50,
        .retry_interval_ms = 60000,
};

START_TEST(test_gw_ratelimit_limits_per_route)
{
        struct gateway_ratelimit_conf c = conf_default();
        struct cairn_metrics *reg = cairn_metrics_new();
        struct gw_ratelimit *rl = gw_ratelimit_new(&c, NULL, reg);
        struct gw_limits l;

        l = gw_ratelimit_limits(rl, &embeddings);
        ck_assert_int_eq(l.per_minute, 5);
        ck_assert_int_eq(l.per_hour, 100);
        l = gw_ratelimit_limits(rl, &models);
        ck_assert_int_eq(l.per_minute, 0);
        ck_assert_int_eq(l.per_hour, 0);
        gw_ratelimit_free(rl);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_gw_ratelimit_take_fail_open_limits_locally)
{
        struct gateway_ratelimit_conf c = conf_default();
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_redis *redis = cairn_redis_new(&dead_redis, reg);
        struct gw_ratelimit *rl = gw_ratelimit_new(&c, redis, reg);
        struct gw_rl_result res;
        int allowed = 0;

        for (int i = 0; i < 8; i++) {
                gw_ratelimit_take(rl, "t", "alice", "embeddings.create", &embeddings, &res);
                ck_assert(res.degraded);
                ck_assert(res.limited);
                allowed += res.allowed;
        }
        ck_assert_int_eq(allowed, 5);
        ck_assert_int_eq(res.limit, 5);
        ck_assert_int_eq(res.remaining, 0);
        ck_assert_int_ge(res.retry_after_s, 1);
        /* Another principal has a bucket of its own. */
        gw_ratelimit_take(rl, "t", "bob", "embeddings.create", &embeddings, &res);
        ck_assert(res.allowed);
        /* Unlimited classes are not limited at all. */
        gw_ratelimit_take(rl, "t", "alice", "models.read", &models, &res);
        ck_assert(res.allowed);
        ck_assert(!res.limited);
        gw_ratelimit_free(rl);
        cairn_redis_free(redis);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_gw_ratelimit_take_fail_closed_refuses)
{
        struct gateway_ratelimit_conf c = conf_default();
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_redis *redis = cairn_redis_new(&dead_redis, reg);
        struct gw_ratelimit *rl;
        struct gw_rl_result res;

        c.fail_mode = "closed";
        rl = gw_ratelimit_new(&c, redis, reg);
        gw_ratelimit_take(rl, "t", "alice", "embeddings.create", &embeddings, &res);
        ck_assert(!res.allowed);
        ck_assert(res.degraded);
        ck_assert_int_eq(res.retry_after_s, 1);
        gw_ratelimit_free(rl);
        cairn_redis_free(redis);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_gw_ratelimit_take_local_table_bounded)
{
        struct gateway_ratelimit_conf c = conf_default();
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_redis *redis = cairn_redis_new(&dead_redis, reg);
        struct gw_ratelimit *rl = gw_ratelimit_new(&c, redis, reg);
        struct gw_rl_result res;
        char who[32];

        /* More principals than local_max_keys: the table starts afresh. */
        for (int i = 0; i < 100; i++) {
                snprintf(who, sizeof(who), "p%d", i);
                gw_ratelimit_take(rl, "t", who, "embeddings.create", &embeddings, &res);
                ck_assert(res.allowed);
        }
        gw_ratelimit_free(rl);
        cairn_redis_free(redis);
        cairn_metrics_free(reg);
}
END_TEST

static Suite *ratelimit_suite(void)
{
        Suite *s = suite_create("gateway_ratelimit");
        TCase *tc = tcase_create("gw_bucket_take");

        tcase_add_test(tc, test_gw_bucket_take_drains_and_refills);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_ratelimit_take");
        tcase_add_test(tc, test_gw_ratelimit_limits_per_route);
        tcase_add_test(tc, test_gw_ratelimit_take_fail_open_limits_locally);
        tcase_add_test(tc, test_gw_ratelimit_take_fail_closed_refuses);
        tcase_add_test(tc, test_gw_ratelimit_take_local_table_bounded);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(ratelimit_suite());
}

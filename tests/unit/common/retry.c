/* Unit tests for the retry policy: full-jitter bounds, the doubling ceiling
 * and its cap, retryable codes, attempts and the deadline budget. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/retry.h"
#include "../unit.h"

static const struct cairn_retry_policy policy = {
        .max_attempts = 4,
        .base_ms = 100,
        .cap_ms = 1000,
        .retry_on = CAIRN_RETRY_BIT(CAIRN_ERR_UNAVAILABLE) | CAIRN_RETRY_BIT(CAIRN_ERR_DEADLINE),
};

/* A scripted random source: returns *opaque. */
static uint64_t fixed_rand(void *opaque)
{
        return *(uint64_t *)opaque;
}

START_TEST(test_cairn_retry_ceiling_ms_doubles_then_caps)
{
        ck_assert_int_eq(cairn_retry_ceiling_ms(&policy, 1), 100);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&policy, 2), 200);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&policy, 3), 400);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&policy, 4), 800);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&policy, 5), 1000);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&policy, 1000000), 1000);
}
END_TEST

START_TEST(test_cairn_retry_ceiling_ms_never_overflows)
{
        struct cairn_retry_policy p = { 10, INT64_MAX / 3, INT64_MAX, 0 };

        ck_assert_int_eq(cairn_retry_ceiling_ms(&p, 1), INT64_MAX / 3);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&p, 2), (INT64_MAX / 3) * 2);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&p, 3), INT64_MAX);
        ck_assert_int_eq(cairn_retry_ceiling_ms(&p, 400), INT64_MAX);
}
END_TEST

START_TEST(test_cairn_retry_ceiling_ms_base_above_cap)
{
        struct cairn_retry_policy p = { 3, 500, 200, 0 };

        ck_assert_int_eq(cairn_retry_ceiling_ms(&p, 1), 200);
}
END_TEST

START_TEST(test_cairn_retry_backoff_ms_full_jitter_bounds)
{
        /* Every draw lies in [0, min(cap, base * 2^(n-1))], and both ends are reachable. */
        for (int retry = 1; retry <= 8; retry++) {
                int64_t ceiling = cairn_retry_ceiling_ms(&policy, retry);
                bool saw_zero = false, saw_top = false;

                for (uint64_t r = 0; r < 5000; r++) {
                        uint64_t rnd = cairn_retry_rand(NULL);
                        int64_t d = cairn_retry_backoff_ms(&policy, retry, rnd);

                        ck_assert_int_ge(d, 0);
                        ck_assert_int_le(d, ceiling);
                }
                saw_zero = cairn_retry_backoff_ms(&policy, retry, 0) == 0;
                saw_top = cairn_retry_backoff_ms(&policy, retry, (uint64_t)ceiling) == ceiling;
                ck_assert(saw_zero);
                ck_assert(saw_top);
                ck_assert_int_le(cairn_retry_backoff_ms(&policy, retry, UINT64_MAX), ceiling);
        }
}
END_TEST

START_TEST(test_cairn_retry_backoff_ms_spreads)
{
        /* Full jitter spreads retries: the mean of many draws is near half
         * the ceiling (a loose bound: this is not a statistics test). */
        double sum = 0;
        int n = 20000;

        for (int i = 0; i < n; i++)
                sum += (double)cairn_retry_backoff_ms(&policy, 4, cairn_retry_rand(NULL));
        ck_assert_double_gt(sum / n, 800 * 0.4);
        ck_assert_double_lt(sum / n, 800 * 0.6);
}
END_TEST

START_TEST(test_cairn_retry_backoff_ms_zero_base)
{
        struct cairn_retry_policy p = { 3, 0, 0, 0 };

        ck_assert_int_eq(cairn_retry_backoff_ms(&p, 1, 12345), 0);
        ck_assert_int_eq(cairn_retry_backoff_ms(&p, 7, UINT64_MAX), 0);
}
END_TEST

START_TEST(test_cairn_retry_retryable_only_listed_codes)
{
        ck_assert(cairn_retry_retryable(&policy, CAIRN_ERR_UNAVAILABLE));
        ck_assert(cairn_retry_retryable(&policy, CAIRN_ERR_DEADLINE));
        ck_assert(!cairn_retry_retryable(&policy, CAIRN_OK));
        ck_assert(!cairn_retry_retryable(&policy, CAIRN_ERR_INVALID));
        ck_assert(!cairn_retry_retryable(&policy, CAIRN_ERR_EXHAUSTED));
        ck_assert(!cairn_retry_retryable(&policy, (cairn_err_t)40));
        ck_assert(!cairn_retry_retryable(&policy, (cairn_err_t)-3));
}
END_TEST

START_TEST(test_cairn_retry_next_stops_after_max_attempts)
{
        uint64_t r = 0;

        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_UNAVAILABLE, INT64_MAX, 10,
                                          fixed_rand, &r),
                         0);
        ck_assert_int_eq(cairn_retry_next(&policy, 3, CAIRN_ERR_UNAVAILABLE, INT64_MAX, 10,
                                          fixed_rand, &r),
                         0);
        ck_assert_int_eq(cairn_retry_next(&policy, 4, CAIRN_ERR_UNAVAILABLE, INT64_MAX, 10,
                                          fixed_rand, &r),
                         -1);
        ck_assert_int_eq(cairn_retry_next(&policy, 9, CAIRN_ERR_UNAVAILABLE, INT64_MAX, 10,
                                          fixed_rand, &r),
                         -1);
}
END_TEST

START_TEST(test_cairn_retry_next_not_retryable)
{
        uint64_t r = 0;

        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_INVALID, INT64_MAX, 10, fixed_rand,
                                          &r),
                         -1);
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_NOT_FOUND, INT64_MAX, 10,
                                          fixed_rand, &r),
                         -1);
}
END_TEST

START_TEST(test_cairn_retry_next_never_past_deadline)
{
        uint64_t r = 90; /* draws a delay of 90 ms for the first retry */

        /* 90 ms wait + 10 ms attempt fit in exactly 100 ms ... */
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_UNAVAILABLE, 100, 10, fixed_rand,
                                          &r),
                         90);
        /* ... not in 99 */
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_UNAVAILABLE, 99, 10, fixed_rand,
                                          &r),
                         -1);
        /* expired or exhausted budgets never retry, even with no wait */
        r = 0;
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_DEADLINE, 0, 10, fixed_rand, &r),
                         -1);
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_DEADLINE, -50, 10, fixed_rand, &r),
                         -1);
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_DEADLINE, 5, 10, fixed_rand, &r),
                         -1);
        /* need_ms below 1 still needs 1 ms */
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_DEADLINE, 0, 0, fixed_rand, &r),
                         -1);
        ck_assert_int_eq(cairn_retry_next(&policy, 1, CAIRN_ERR_DEADLINE, 1, 0, fixed_rand, &r), 0);
}
END_TEST

START_TEST(test_cairn_retry_next_random_never_past_deadline)
{
        /* Whatever is drawn, delay + need_ms never exceeds the budget. */
        for (int i = 0; i < 20000; i++) {
                int64_t remaining = (int64_t)(cairn_retry_rand(NULL) % 1200);
                int attempts = 1 + (int)(cairn_retry_rand(NULL) % 3);
                int64_t d = cairn_retry_next(&policy, attempts, CAIRN_ERR_UNAVAILABLE, remaining,
                                             10, cairn_retry_rand, NULL);

                if (d >= 0) {
                        ck_assert_int_le(d + 10, remaining);
                        ck_assert_int_le(d, cairn_retry_ceiling_ms(&policy, attempts));
                }
        }
}
END_TEST

START_TEST(test_cairn_retry_parse_codes_list)
{
        uint32_t mask = 123;
        char err[128];

        ck_assert_int_eq(cairn_retry_parse_codes("UNAVAILABLE, DEADLINE_EXCEEDED", &mask, err,
                                                 sizeof(err)),
                         0);
        ck_assert_uint_eq(mask, CAIRN_RETRY_BIT(CAIRN_ERR_UNAVAILABLE) |
                                        CAIRN_RETRY_BIT(CAIRN_ERR_DEADLINE));
        ck_assert_int_eq(cairn_retry_parse_codes("", &mask, err, sizeof(err)), 0);
        ck_assert_uint_eq(mask, 0);
        ck_assert_int_eq(cairn_retry_parse_codes(NULL, &mask, err, sizeof(err)), 0);
        ck_assert_uint_eq(mask, 0);
        ck_assert_int_eq(cairn_retry_parse_codes(",,ABORTED,", &mask, err, sizeof(err)), 0);
        ck_assert_uint_eq(mask, CAIRN_RETRY_BIT(CAIRN_ERR_ABORTED));
}
END_TEST

START_TEST(test_cairn_retry_parse_codes_rejects_unknown)
{
        uint32_t mask = 7;
        char err[128];

        ck_assert_int_eq(cairn_retry_parse_codes("UNAVAILABLE,NOPE", &mask, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "NOPE"));
        ck_assert_uint_eq(mask, 7);
        ck_assert_int_eq(cairn_retry_parse_codes("OK", &mask, err, sizeof(err)), -1);
        ck_assert_int_eq(cairn_retry_parse_codes("unavailable", &mask, err, sizeof(err)), -1);
        ck_assert_int_eq(cairn_retry_parse_codes("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                                 &mask, err, sizeof(err)),
                         -1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("retry");
        TCase *tc;

        tc = tcase_create("cairn_retry_ceiling_ms");
        tcase_add_test(tc, test_cairn_retry_ceiling_ms_doubles_then_caps);
        tcase_add_test(tc, test_cairn_retry_ceiling_ms_never_overflows);
        tcase_add_test(tc, test_cairn_retry_ceiling_ms_base_above_cap);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_retry_backoff_ms");
        tcase_add_test(tc, test_cairn_retry_backoff_ms_full_jitter_bounds);
        tcase_add_test(tc, test_cairn_retry_backoff_ms_spreads);
        tcase_add_test(tc, test_cairn_retry_backoff_ms_zero_base);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_retry_retryable");
        tcase_add_test(tc, test_cairn_retry_retryable_only_listed_codes);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_retry_next");
        tcase_add_test(tc, test_cairn_retry_next_stops_after_max_attempts);
        tcase_add_test(tc, test_cairn_retry_next_not_retryable);
        tcase_add_test(tc, test_cairn_retry_next_never_past_deadline);
        tcase_add_test(tc, test_cairn_retry_next_random_never_past_deadline);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_retry_parse_codes");
        tcase_add_test(tc, test_cairn_retry_parse_codes_list);
        tcase_add_test(tc, test_cairn_retry_parse_codes_rejects_unknown);
        suite_add_tcase(s, tc);

        return unit_run(s);
}

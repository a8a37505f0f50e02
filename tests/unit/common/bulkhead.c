/* Unit tests for the bulkhead: the limit, release, unlimited, metrics, and
 * many threads never exceeding the limit. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/bulkhead.h"
#include "cairn/metrics.h"
#include "../unit.h"

START_TEST(test_cairn_bulkhead_acquire_limits)
{
        struct cairn_bulkhead *bh = cairn_bulkhead_new("dep", 2, NULL);

        ck_assert(cairn_bulkhead_acquire(bh));
        ck_assert(cairn_bulkhead_acquire(bh));
        ck_assert(!cairn_bulkhead_acquire(bh));
        ck_assert_int_eq(cairn_bulkhead_inflight(bh), 2);
        cairn_bulkhead_release(bh);
        ck_assert(cairn_bulkhead_acquire(bh));
        ck_assert(!cairn_bulkhead_acquire(bh));
        cairn_bulkhead_release(bh);
        cairn_bulkhead_release(bh);
        ck_assert_int_eq(cairn_bulkhead_inflight(bh), 0);
        cairn_bulkhead_free(bh);
}
END_TEST

START_TEST(test_cairn_bulkhead_acquire_zero_is_unlimited)
{
        struct cairn_bulkhead *bh = cairn_bulkhead_new("dep", 0, NULL);

        for (int i = 0; i < 10000; i++)
                ck_assert(cairn_bulkhead_acquire(bh));
        ck_assert_int_eq(cairn_bulkhead_inflight(bh), 10000);
        cairn_bulkhead_free(bh);
}
END_TEST

static double metric_value(struct cairn_metrics *m, const char *series)
{
        char *text = cairn_metrics_render(m, NULL);
        char *p = strstr(text, series);
        double v = -1;

        if (p)
                v = strtod(p + strlen(series), NULL);
        free(text);
        return v;
}

START_TEST(test_cairn_bulkhead_new_exports_metrics)
{
        struct cairn_metrics *m = cairn_metrics_new();
        struct cairn_bulkhead *bh = cairn_bulkhead_new("db", 1, m);

        ck_assert(cairn_bulkhead_acquire(bh));
        ck_assert(!cairn_bulkhead_acquire(bh));
        ck_assert(!cairn_bulkhead_acquire(bh));
        ck_assert_double_eq(metric_value(m, "cairn_bulkhead_inflight{dependency=\"db\"} "), 1);
        ck_assert_double_eq(metric_value(m, "cairn_bulkhead_rejected_total{dependency=\"db\"} "),
                            2);
        cairn_bulkhead_release(bh);
        ck_assert_double_eq(metric_value(m, "cairn_bulkhead_inflight{dependency=\"db\"} "), 0);
        cairn_bulkhead_free(bh);
        cairn_metrics_free(m);
}
END_TEST

struct worker {
        struct cairn_bulkhead *bh;
        atomic_int *inside;
        atomic_int *max_seen;
        int got, refused;
};

static void *worker_main(void *arg)
{
        struct worker *w = arg;

        for (int i = 0; i < 50000; i++) {
                if (!cairn_bulkhead_acquire(w->bh)) {
                        w->refused++;
                        continue;
                }
                w->got++;
                int now = atomic_fetch_add(w->inside, 1) + 1;
                int seen = atomic_load(w->max_seen);

                while (now > seen && !atomic_compare_exchange_weak(w->max_seen, &seen, now))
                        ;
                atomic_fetch_sub(w->inside, 1);
                cairn_bulkhead_release(w->bh);
        }
        return NULL;
}

START_TEST(test_cairn_bulkhead_acquire_concurrent_never_exceeds)
{
        struct cairn_bulkhead *bh = cairn_bulkhead_new("dep", 3, NULL);
        atomic_int inside = 0, max_seen = 0;
        struct worker w[6];
        pthread_t th[6];

        for (int i = 0; i < 6; i++) {
                w[i] = (struct worker){ bh, &inside, &max_seen, 0, 0 };
                pthread_create(&th[i], NULL, worker_main, &w[i]);
        }
        for (int i = 0; i < 6; i++)
                pthread_join(th[i], NULL);
        ck_assert_int_le(atomic_load(&max_seen), 3);
        ck_assert_int_eq(cairn_bulkhead_inflight(bh), 0);
        int got = 0, refused = 0;
        for (int i = 0; i < 6; i++) {
                got += w[i].got;
                refused += w[i].refused;
        }
        ck_assert_int_eq(got + refused, 6 * 50000);
        ck_assert_int_gt(got, 0);
        cairn_bulkhead_free(bh);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("bulkhead");
        TCase *tc;

        tc = tcase_create("cairn_bulkhead_acquire");
        tcase_add_test(tc, test_cairn_bulkhead_acquire_limits);
        tcase_add_test(tc, test_cairn_bulkhead_acquire_zero_is_unlimited);
        tcase_add_test(tc, test_cairn_bulkhead_acquire_concurrent_never_exceeds);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_bulkhead_new");
        tcase_add_test(tc, test_cairn_bulkhead_new_exports_metrics);
        suite_add_tcase(s, tc);

        return unit_run(s);
}

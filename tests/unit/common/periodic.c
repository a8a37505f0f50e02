/* Unit tests for cairn/periodic.h: runs every interval, a wake runs it at
 * once, a stop ends the wait at once and makes the last run when asked. */
#include <check.h>
#include <stdatomic.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/periodic.h"
#include "../unit.h"

static atomic_int runs;

static void count(void *arg)
{
        (void)arg;
        atomic_fetch_add(&runs, 1);
}

static bool wait_runs(int want, int ms)
{
        int64_t until = cairn_mono_us() + ms * 1000LL;

        while (atomic_load(&runs) < want && cairn_mono_us() < until)
                usleep(1000);
        return atomic_load(&runs) >= want;
}

START_TEST(test_runs_every_interval)
{
        struct cairn_periodic *p;

        atomic_store(&runs, 0);
        p = cairn_periodic_start(20, count, NULL, false);
        ck_assert(wait_runs(3, 5000));
        cairn_periodic_stop(p);
}
END_TEST

START_TEST(test_wake_and_stop_are_prompt)
{
        struct cairn_periodic *p;
        int64_t t0;
        int before;

        atomic_store(&runs, 0);
        p = cairn_periodic_start(3600 * 1000, count, NULL, true);
        usleep(20 * 1000);
        ck_assert_int_eq(atomic_load(&runs), 0); /* an hour to go */
        cairn_periodic_wake(p);
        ck_assert(wait_runs(1, 5000));
        before = atomic_load(&runs);
        t0 = cairn_mono_us();
        cairn_periodic_stop(p);
        ck_assert_int_lt(cairn_mono_us() - t0, 2 * 1000000LL);
        ck_assert_int_eq(atomic_load(&runs), before + 1); /* the last run */
        cairn_periodic_wake(NULL);
        cairn_periodic_stop(NULL);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("periodic");
        TCase *tc = tcase_create("periodic");

        tcase_add_test(tc, test_runs_every_interval);
        tcase_add_test(tc, test_wake_and_stop_are_prompt);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

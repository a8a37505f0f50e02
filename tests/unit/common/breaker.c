/* Unit tests for the circuit breaker: every transition, the consecutive and
 * rate rules, the half-open probe limit, stale outcomes, the metrics, and
 * many threads at once. Time is a fake clock: nothing sleeps. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/breaker.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "../unit.h"

static int64_t fake_now;

static int64_t fake_clock(void *opaque)
{
        (void)opaque;
        return fake_now;
}

static struct cairn_breaker_conf conf_consecutive(void)
{
        return (struct cairn_breaker_conf){ .failures = 3,
                                            .failure_rate = 0,
                                            .window = 10,
                                            .min_calls = 5,
                                            .open_ms = 1000,
                                            .half_open_probes = 2 };
}

static struct cairn_breaker *mk(const struct cairn_breaker_conf *c, struct cairn_metrics *m)
{
        fake_now = 1000000;
        return cairn_breaker_new("dep", c, m, fake_clock, NULL);
}

/* One call with outcome @p failure; false when the breaker refused it. */
static bool call(struct cairn_breaker *b, bool failure)
{
        struct cairn_breaker_ticket t;

        if (!cairn_breaker_acquire(b, &t))
                return false;
        cairn_breaker_record(b, &t, failure);
        return true;
}

static void setup(void)
{
        /* Transitions log: keep the test output to check's lines. */
        cairn_log_set_stream(fopen("/dev/null", "w"));
}

START_TEST(test_cairn_breaker_acquire_closed_lets_calls_through)
{
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_breaker *b = mk(&c, NULL);

        for (int i = 0; i < 100; i++)
                ck_assert(call(b, false));
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_record_consecutive_failures_open)
{
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_breaker *b = mk(&c, NULL);

        ck_assert(call(b, true));
        ck_assert(call(b, true));
        ck_assert(call(b, false)); /* a success resets the run */
        ck_assert(call(b, true));
        ck_assert(call(b, true));
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        ck_assert(call(b, true));
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_OPEN);
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_acquire_open_fails_fast_until_cooldown)
{
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_breaker *b = mk(&c, NULL);
        struct cairn_breaker_ticket t;

        for (int i = 0; i < 3; i++)
                call(b, true);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_OPEN);
        ck_assert(!cairn_breaker_acquire(b, &t));
        fake_now += 999;
        ck_assert(!cairn_breaker_acquire(b, &t));
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_OPEN);
        fake_now += 1;
        ck_assert(cairn_breaker_acquire(b, &t));
        ck_assert(t.probe);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_HALF_OPEN);
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_acquire_half_open_limits_probes)
{
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_breaker *b = mk(&c, NULL);
        struct cairn_breaker_ticket t1, t2, t3;

        for (int i = 0; i < 3; i++)
                call(b, true);
        fake_now += 1000;
        ck_assert(cairn_breaker_acquire(b, &t1));
        ck_assert(cairn_breaker_acquire(b, &t2));
        ck_assert(!cairn_breaker_acquire(b, &t3)); /* two probes out: no third */
        cairn_breaker_record(b, &t1, false);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_HALF_OPEN);
        ck_assert(!cairn_breaker_acquire(b, &t3)); /* still two taken in this half-open */
        cairn_breaker_record(b, &t2, false);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        ck_assert(call(b, false));
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_record_probe_failure_reopens)
{
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_breaker *b = mk(&c, NULL);
        struct cairn_breaker_ticket t1, t2;

        for (int i = 0; i < 3; i++)
                call(b, true);
        fake_now += 1000;
        ck_assert(cairn_breaker_acquire(b, &t1));
        ck_assert(cairn_breaker_acquire(b, &t2));
        cairn_breaker_record(b, &t1, false);
        cairn_breaker_record(b, &t2, true);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_OPEN);
        /* a fresh cool-down starts from the re-opening */
        ck_assert(!cairn_breaker_acquire(b, &t1));
        fake_now += 999;
        ck_assert(!cairn_breaker_acquire(b, &t1));
        fake_now += 1;
        ck_assert(cairn_breaker_acquire(b, &t1));
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_record_stale_ticket_ignored)
{
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_breaker *b = mk(&c, NULL);
        struct cairn_breaker_ticket old, probe;

        ck_assert(cairn_breaker_acquire(b, &old)); /* a slow call from the closed era */
        for (int i = 0; i < 3; i++)
                call(b, true);
        fake_now += 1000;
        ck_assert(cairn_breaker_acquire(b, &probe));
        /* Its failure says nothing about the dependency now: no re-open. */
        cairn_breaker_record(b, &old, true);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_HALF_OPEN);
        cairn_breaker_record(b, &probe, false);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_HALF_OPEN); /* 1 of 2 probes */
        ck_assert(call(b, false));
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_record_failure_rate_opens)
{
        struct cairn_breaker_conf c = { .failures = 0,
                                        .failure_rate = 0.5,
                                        .window = 10,
                                        .min_calls = 6,
                                        .open_ms = 100,
                                        .half_open_probes = 1 };
        struct cairn_breaker *b = mk(&c, NULL);

        /* alternate: never 2 failures in a row, but half of them fail */
        ck_assert(call(b, true));
        ck_assert(call(b, false));
        ck_assert(call(b, true));
        ck_assert(call(b, false));
        ck_assert(call(b, true)); /* 3 of 5: below min_calls */
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        ck_assert(call(b, false)); /* 3 of 6 = 0.5 */
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_OPEN);
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_record_failure_rate_window_slides)
{
        struct cairn_breaker_conf c = { .failures = 0,
                                        .failure_rate = 0.5,
                                        .window = 4,
                                        .min_calls = 4,
                                        .open_ms = 100,
                                        .half_open_probes = 1 };
        struct cairn_breaker *b = mk(&c, NULL);

        /* F S S S: 1/4 */
        call(b, true);
        call(b, false);
        call(b, false);
        call(b, false);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        /* window S S S F: the first failure slid out, 1/4 */
        call(b, true);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        /* S S F S, S F S S ... long runs of one failure in four never open */
        for (int i = 0; i < 40; i++)
                call(b, i % 4 == 3);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        /* two in the last four do */
        call(b, true);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_OPEN);
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_record_closing_resets_window)
{
        struct cairn_breaker_conf c = { .failures = 0,
                                        .failure_rate = 0.5,
                                        .window = 4,
                                        .min_calls = 2,
                                        .open_ms = 100,
                                        .half_open_probes = 1 };
        struct cairn_breaker *b = mk(&c, NULL);

        call(b, true);
        call(b, true);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_OPEN);
        fake_now += 100;
        ck_assert(call(b, false));
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        /* the failures before opening do not count again: with them the
         * window would be F F S S F (2 of the last 4); without, S S F */
        call(b, false);
        call(b, false);
        call(b, true);
        ck_assert_int_eq(cairn_breaker_state(b), CAIRN_BREAKER_CLOSED);
        cairn_breaker_free(b);
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

START_TEST(test_cairn_breaker_new_exports_state_and_transitions)
{
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_metrics *m = cairn_metrics_new();
        struct cairn_breaker *b = mk(&c, m);
        struct cairn_breaker_ticket t;

        ck_assert_double_eq(metric_value(m, "cairn_breaker_state{dependency=\"dep\"} "), 0);
        for (int i = 0; i < 3; i++)
                call(b, true);
        ck_assert_double_eq(metric_value(m, "cairn_breaker_state{dependency=\"dep\"} "), 2);
        ck_assert(!cairn_breaker_acquire(b, &t));
        ck_assert_double_eq(metric_value(m, "cairn_breaker_rejected_total{dependency=\"dep\"} "),
                            1);
        fake_now += 1000;
        ck_assert(call(b, false));
        ck_assert_double_eq(metric_value(m, "cairn_breaker_state{dependency=\"dep\"} "), 1);
        ck_assert(call(b, false));
        ck_assert_double_eq(metric_value(m, "cairn_breaker_state{dependency=\"dep\"} "), 0);
        ck_assert_double_eq(
                metric_value(m, "cairn_breaker_transitions_total{dependency=\"dep\",to=\"open\"} "),
                1);
        ck_assert_double_eq(
                metric_value(
                        m, "cairn_breaker_transitions_total{dependency=\"dep\",to=\"half_open\"} "),
                1);
        ck_assert_double_eq(
                metric_value(m,
                             "cairn_breaker_transitions_total{dependency=\"dep\",to=\"closed\"} "),
                1);
        cairn_breaker_free(b);
        cairn_metrics_free(m);
}
END_TEST

START_TEST(test_cairn_breaker_state_str_names)
{
        ck_assert_str_eq(cairn_breaker_state_str(CAIRN_BREAKER_CLOSED), "closed");
        ck_assert_str_eq(cairn_breaker_state_str(CAIRN_BREAKER_HALF_OPEN), "half_open");
        ck_assert_str_eq(cairn_breaker_state_str(CAIRN_BREAKER_OPEN), "open");
        ck_assert_str_eq(cairn_breaker_state_str((enum cairn_breaker_state)9), "unknown");
}
END_TEST

/* ---- many threads ---- */

struct hammer {
        struct cairn_breaker *b;
        int let_through;
        int probes;
};

static void *hammer_main(void *arg)
{
        struct hammer *h = arg;

        for (int i = 0; i < 20000; i++) {
                struct cairn_breaker_ticket t;

                if (!cairn_breaker_acquire(h->b, &t))
                        continue;
                h->let_through++;
                if (t.probe)
                        h->probes++;
                /* runs of three failures, then three successes: the
                 * breaker keeps cycling */
                cairn_breaker_record(h->b, &t, (i / 3) % 2 == 0);
        }
        return NULL;
}

START_TEST(test_cairn_breaker_acquire_concurrent_half_open_probe_limit)
{
        /* While half-open, no more than half_open_probes calls are out at
         * once, whatever the threads do; the clock stands still, so the
         * breaker reaches half-open exactly once and can never leave open
         * again. */
        struct cairn_breaker_conf c = conf_consecutive();
        struct cairn_breaker *b = mk(&c, NULL);
        struct hammer h[4];
        pthread_t th[4];
        int probes = 0;

        for (int i = 0; i < 3; i++)
                call(b, true);
        fake_now += 1000;
        for (int i = 0; i < 4; i++) {
                h[i] = (struct hammer){ b, 0, 0 };
                pthread_create(&th[i], NULL, hammer_main, &h[i]);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                probes += h[i].probes;
        }
        ck_assert_int_le(probes, c.half_open_probes);
        ck_assert_int_ge(probes, 1);
        cairn_breaker_free(b);
}
END_TEST

START_TEST(test_cairn_breaker_record_concurrent_consistent)
{
        /* Many threads, a breaker that opens and closes; afterwards its
         * gauge agrees with its state and every counter adds up. */
        struct cairn_breaker_conf c = { .failures = 2,
                                        .failure_rate = 0,
                                        .window = 8,
                                        .min_calls = 1,
                                        .open_ms = 0,
                                        .half_open_probes = 1 };
        struct cairn_metrics *m = cairn_metrics_new();
        struct cairn_breaker *b = mk(&c, m);
        struct hammer h[4];
        pthread_t th[4];

        for (int i = 0; i < 4; i++) {
                h[i] = (struct hammer){ b, 0, 0 };
                pthread_create(&th[i], NULL, hammer_main, &h[i]);
        }
        for (int i = 0; i < 4; i++)
                pthread_join(th[i], NULL);
        double state = metric_value(m, "cairn_breaker_state{dependency=\"dep\"} ");
        ck_assert_double_eq(state, (double)cairn_breaker_state(b));
        double to_open =
                metric_value(m, "cairn_breaker_transitions_total{dependency=\"dep\",to=\"open\"} ");
        double to_half = metric_value(
                m, "cairn_breaker_transitions_total{dependency=\"dep\",to=\"half_open\"} ");
        double to_closed =
                metric_value(m,
                             "cairn_breaker_transitions_total{dependency=\"dep\",to=\"closed\"} ");
        ck_assert_double_gt(to_open, 0);
        /* every half-open came from open; every open from closed or half-open */
        ck_assert_double_le(to_half, to_open);
        ck_assert_double_le(to_closed, to_half);
        cairn_breaker_free(b);
        cairn_metrics_free(m);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("breaker");
        TCase *tc;

        tc = tcase_create("cairn_breaker_acquire");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_cairn_breaker_acquire_closed_lets_calls_through);
        tcase_add_test(tc, test_cairn_breaker_acquire_open_fails_fast_until_cooldown);
        tcase_add_test(tc, test_cairn_breaker_acquire_half_open_limits_probes);
        tcase_add_test(tc, test_cairn_breaker_acquire_concurrent_half_open_probe_limit);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_breaker_record");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_cairn_breaker_record_consecutive_failures_open);
        tcase_add_test(tc, test_cairn_breaker_record_probe_failure_reopens);
        tcase_add_test(tc, test_cairn_breaker_record_stale_ticket_ignored);
        tcase_add_test(tc, test_cairn_breaker_record_failure_rate_opens);
        tcase_add_test(tc, test_cairn_breaker_record_failure_rate_window_slides);
        tcase_add_test(tc, test_cairn_breaker_record_closing_resets_window);
        tcase_add_test(tc, test_cairn_breaker_record_concurrent_consistent);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_breaker_new");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_cairn_breaker_new_exports_state_and_transitions);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_breaker_state_str");
        tcase_add_test(tc, test_cairn_breaker_state_str_names);
        suite_add_tcase(s, tc);

        return unit_run(s);
}

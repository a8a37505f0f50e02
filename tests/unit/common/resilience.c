/* Unit tests for per-dependency resilience: deadline arithmetic, the
 * generated configuration table (loading, environment names, checks), the
 * dependency-name rule of the bus, and the blocking call loop (retries,
 * breaker, bulkhead) with a scripted attempt. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"
#include "../unit.h"

START_TEST(test_cairn_call_timeout_ms_remaining_and_cap)
{
        /* no deadline, no cap */
        ck_assert_int_eq(cairn_call_timeout_ms(0, 1000, 0), INT64_MAX);
        /* no deadline, a cap */
        ck_assert_int_eq(cairn_call_timeout_ms(0, 1000, 250), 250);
        /* a deadline, no cap: all that is left */
        ck_assert_int_eq(cairn_call_timeout_ms(5000, 1000, 0), 4000);
        /* the cap wins when smaller, the remaining budget when smaller */
        ck_assert_int_eq(cairn_call_timeout_ms(5000, 1000, 300), 300);
        ck_assert_int_eq(cairn_call_timeout_ms(1200, 1000, 300), 200);
        /* expired or exactly due: nothing to call with */
        ck_assert_int_le(cairn_call_timeout_ms(1000, 1000, 300), 0);
        ck_assert_int_le(cairn_call_timeout_ms(900, 1000, 300), 0);
}
END_TEST

START_TEST(test_cairn_deadline_min_zero_is_none)
{
        ck_assert_int_eq(cairn_deadline_min(0, 0), 0);
        ck_assert_int_eq(cairn_deadline_min(0, 7), 7);
        ck_assert_int_eq(cairn_deadline_min(7, 0), 7);
        ck_assert_int_eq(cairn_deadline_min(7, 9), 7);
        ck_assert_int_eq(cairn_deadline_min(9, 7), 7);
        ck_assert_int_eq(cairn_deadline_min(-5, 7), 7);
}
END_TEST

static char *const empty_env[] = { NULL };

START_TEST(test_cairn_resilience_conf_items_defaults_match_init)
{
        struct cairn_conf_item *items = cairn_resilience_conf_items("bus");
        struct cairn_resilience_conf loaded, init;
        struct cairn_conf_section sec;
        char err[256];

        ck_assert_ptr_nonnull(items);
        ck_assert_str_eq(items[0].name, "resilience.bus.max_attempts");
        cairn_resilience_conf_init(&loaded, "bus");
        sec = cairn_resilience_conf_section(items, &loaded);
        struct cairn_conf *conf = cairn_conf_load(NULL, &sec, 1, empty_env, err, sizeof(err));
        ck_assert_msg(conf != NULL, "%s", err);
        cairn_resilience_conf_init(&init, "bus");
        ck_assert_int_eq(loaded.max_attempts, init.max_attempts);
        ck_assert_int_eq(loaded.base_ms, init.base_ms);
        ck_assert_int_eq(loaded.cap_ms, init.cap_ms);
        ck_assert_str_eq(loaded.retry_on, init.retry_on);
        ck_assert_uint_eq(loaded.retry_mask, init.retry_mask);
        ck_assert_int_eq(loaded.breaker_failures, init.breaker_failures);
        ck_assert_double_eq(loaded.breaker_failure_rate, init.breaker_failure_rate);
        ck_assert_int_eq(loaded.breaker_window, init.breaker_window);
        ck_assert_int_eq(loaded.breaker_min_calls, init.breaker_min_calls);
        ck_assert_int_eq(loaded.breaker_open_ms, init.breaker_open_ms);
        ck_assert_int_eq(loaded.breaker_half_open_probes, init.breaker_half_open_probes);
        ck_assert_int_eq(loaded.max_concurrent, init.max_concurrent);
        ck_assert_int_eq(loaded.timeout_ms, init.timeout_ms);
        ck_assert_str_eq(loaded.dependency, "bus");
        cairn_conf_free(conf);
        cairn_resilience_conf_items_free(items);
}
END_TEST

START_TEST(test_cairn_resilience_conf_items_env_and_file)
{
        struct cairn_conf_item *items = cairn_resilience_conf_items("embedding");
        struct cairn_resilience_conf rc;
        struct cairn_conf_section sec;
        char err[256], path[] = "/tmp/cairn-resil-XXXXXX";
        int fd = mkstemp(path);
        char *env[] = { "CAIRN_RESILIENCE_EMBEDDING_MAX_ATTEMPTS=5", NULL };

        ck_assert_int_ge(fd, 0);
        dprintf(fd, "resilience:\n  embedding:\n    retry_on: UNAVAILABLE\n"
                    "    breaker_open_ms: 250\n    max_attempts: 2\n");
        close(fd);
        cairn_resilience_conf_init(&rc, "embedding");
        sec = cairn_resilience_conf_section(items, &rc);
        struct cairn_conf *conf = cairn_conf_load(path, &sec, 1, env, err, sizeof(err));
        unlink(path);
        ck_assert_msg(conf != NULL, "%s", err);
        ck_assert_int_eq(rc.max_attempts, 5); /* the environment wins */
        ck_assert_int_eq(rc.breaker_open_ms, 250);
        ck_assert_uint_eq(rc.retry_mask, CAIRN_RETRY_BIT(CAIRN_ERR_UNAVAILABLE));
        cairn_conf_free(conf);
        cairn_resilience_conf_items_free(items);
}
END_TEST

static void load_fails(const char *envline, const char *want)
{
        struct cairn_conf_item *items = cairn_resilience_conf_items("db");
        struct cairn_resilience_conf rc;
        struct cairn_conf_section sec;
        char err[256], *env[] = { (char *)envline, NULL };

        cairn_resilience_conf_init(&rc, "db");
        sec = cairn_resilience_conf_section(items, &rc);
        struct cairn_conf *conf = cairn_conf_load(NULL, &sec, 1, env, err, sizeof(err));
        ck_assert_ptr_null(conf);
        ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
        cairn_resilience_conf_items_free(items);
}

START_TEST(test_cairn_resilience_conf_section_check_names_key)
{
        load_fails("CAIRN_RESILIENCE_DB_RETRY_ON=UNAVAILABLE,SOMETIMES",
                   "resilience.db.retry_on: \"SOMETIMES\"");
        load_fails("CAIRN_RESILIENCE_DB_CAP_MS=10", "resilience.db.cap_ms");
        load_fails("CAIRN_RESILIENCE_DB_BREAKER_MIN_CALLS=500", "resilience.db.breaker_min_calls");
        load_fails("CAIRN_RESILIENCE_DB_BREAKER_FAILURE_RATE=1.5",
                   "resilience.db.breaker_failure_rate");
        load_fails("CAIRN_RESILIENCE_DB_MAX_ATTEMPTS=0", "resilience.db.max_attempts");
}
END_TEST

START_TEST(test_cairn_resilience_conf_items_rejects_bad_names)
{
        ck_assert_ptr_null(cairn_resilience_conf_items(""));
        ck_assert_ptr_null(cairn_resilience_conf_items("has.dot"));
        ck_assert_ptr_null(cairn_resilience_conf_items("Upper"));
        ck_assert_ptr_null(cairn_resilience_conf_items(
                "a_very_long_dependency_name_that_goes_on_and_on_and_on"));
        struct cairn_conf_item *ok = cairn_resilience_conf_items("redis_cache_2");
        ck_assert_ptr_nonnull(ok);
        cairn_resilience_conf_items_free(ok);
}
END_TEST

START_TEST(test_cairn_bus_dependency_name_rule)
{
        char buf[64];

        cairn_bus_dependency_name("cairn.embedding.v1.requests", buf, sizeof(buf));
        ck_assert_str_eq(buf, "embedding");
        cairn_bus_dependency_name("cairn.memory.v1.requests", buf, sizeof(buf));
        ck_assert_str_eq(buf, "memory");
        cairn_bus_dependency_name("my.Topic-1", buf, sizeof(buf));
        ck_assert_str_eq(buf, "my_topic_1");
        cairn_bus_dependency_name("cairn..v1.requests", buf, sizeof(buf));
        ck_assert_str_eq(buf, "cairn__v1_requests");
        cairn_bus_dependency_name("cairn.x.v2.requests", buf, sizeof(buf));
        ck_assert_str_eq(buf, "cairn_x_v2_requests");
        cairn_bus_dependency_name("cairn.embedding.v1.requests.dlq", buf, sizeof(buf));
        ck_assert_str_eq(buf, "cairn_embedding_v1_requests_dlq");
        cairn_bus_dependency_name("cairn.a.b.v1.requests", buf, sizeof(buf));
        ck_assert_str_eq(buf, "cairn_a_b_v1_requests");
        char small[4];
        cairn_bus_dependency_name("abcdefgh", small, sizeof(small));
        ck_assert_str_eq(small, "abc");
}
END_TEST

/* ---- the blocking call loop ---- */

struct script {
        const cairn_err_t *results; /* one per attempt; the last repeats */
        int n;
        int calls;
        int64_t last_timeout;
};

static cairn_err_t scripted(void *opaque, int64_t timeout_ms, struct cairn_status *st)
{
        struct script *s = opaque;
        cairn_err_t err = s->results[s->calls < s->n ? s->calls : s->n - 1];

        s->calls++;
        s->last_timeout = timeout_ms;
        if (err)
                return cairn_status_set(st, err, NULL, NULL, "scripted failure");
        return CAIRN_OK;
}

static struct cairn_dependency *dep_new(struct cairn_metrics *m, int attempts, int failures)
{
        struct cairn_resilience_conf rc;

        cairn_resilience_conf_init(&rc, "dep");
        rc.max_attempts = attempts;
        rc.base_ms = 0; /* no waiting in unit tests */
        rc.cap_ms = 0;
        rc.breaker_failures = failures;
        rc.breaker_failure_rate = 0;
        rc.breaker_open_ms = 3600000;
        rc.timeout_ms = 500;
        return cairn_dependency_new(&rc, m);
}

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

START_TEST(test_cairn_dependency_call_retries_then_succeeds)
{
        static const cairn_err_t r[] = { CAIRN_ERR_UNAVAILABLE, CAIRN_ERR_DEADLINE, CAIRN_OK };
        struct cairn_metrics *m = cairn_metrics_new();
        struct cairn_dependency *dep = dep_new(m, 3, 0);
        struct script s = { r, 3, 0, 0 };
        struct cairn_status st;

        ck_assert_int_eq(cairn_dependency_call(dep, cairn_now_ms() + 60000, scripted, &s, &st),
                         CAIRN_OK);
        ck_assert_int_eq(s.calls, 3);
        ck_assert_int_eq(s.last_timeout, 500); /* capped by timeout_ms */
        ck_assert_double_eq(metric_value(m, "cairn_retries_total{dependency=\"dep\"} "), 2);
        ck_assert_double_eq(metric_value(m, "cairn_bulkhead_inflight{dependency=\"dep\"} "), 0);
        cairn_dependency_free(dep);
        cairn_metrics_free(m);
}
END_TEST

START_TEST(test_cairn_dependency_call_gives_up_after_max_attempts)
{
        static const cairn_err_t r[] = { CAIRN_ERR_UNAVAILABLE };
        struct cairn_dependency *dep = dep_new(NULL, 3, 0);
        struct script s = { r, 1, 0, 0 };
        struct cairn_status st;

        ck_assert_int_eq(cairn_dependency_call(dep, 0, scripted, &s, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(s.calls, 3);
        cairn_dependency_free(dep);
}
END_TEST

START_TEST(test_cairn_dependency_call_no_retry_for_invalid)
{
        static const cairn_err_t r[] = { CAIRN_ERR_INVALID };
        struct cairn_dependency *dep = dep_new(NULL, 5, 1);
        struct script s = { r, 1, 0, 0 };
        struct cairn_status st;

        ck_assert_int_eq(cairn_dependency_call(dep, 0, scripted, &s, &st), CAIRN_ERR_INVALID);
        ck_assert_int_eq(s.calls, 1);
        /* a caller's mistake is no sign of an unwell dependency */
        ck_assert_int_eq(cairn_breaker_state(cairn_dependency_breaker(dep)), CAIRN_BREAKER_CLOSED);
        cairn_dependency_free(dep);
}
END_TEST

START_TEST(test_cairn_dependency_call_expired_deadline_never_calls)
{
        static const cairn_err_t r[] = { CAIRN_OK };
        struct cairn_dependency *dep = dep_new(NULL, 3, 0);
        struct script s = { r, 1, 0, 0 };
        struct cairn_status st;

        ck_assert_int_eq(cairn_dependency_call(dep, cairn_now_ms() - 1, scripted, &s, &st),
                         CAIRN_ERR_DEADLINE);
        ck_assert_int_eq(s.calls, 0);
        cairn_dependency_free(dep);
}
END_TEST

START_TEST(test_cairn_dependency_call_breaker_opens_and_fails_fast)
{
        static const cairn_err_t r[] = { CAIRN_ERR_UNAVAILABLE };
        struct cairn_metrics *m = cairn_metrics_new();
        struct cairn_dependency *dep = dep_new(m, 1, 2);
        struct script s = { r, 1, 0, 0 };
        struct cairn_status st;

        ck_assert_int_eq(cairn_dependency_call(dep, 0, scripted, &s, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(cairn_dependency_call(dep, 0, scripted, &s, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(s.calls, 2);
        ck_assert_int_eq(cairn_dependency_call(dep, 0, scripted, &s, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(s.calls, 2); /* failed fast: no attempt */
        ck_assert_str_eq(st.reason, "BREAKER_OPEN");
        ck_assert_double_eq(metric_value(m, "cairn_breaker_state{dependency=\"dep\"} "), 2);
        cairn_dependency_free(dep);
        cairn_metrics_free(m);
}
END_TEST

START_TEST(test_cairn_dependency_enter_bulkhead_full)
{
        struct cairn_resilience_conf rc;
        struct cairn_status st;

        cairn_resilience_conf_init(&rc, "dep");
        rc.max_concurrent = 1;
        struct cairn_dependency *dep = cairn_dependency_new(&rc, NULL);
        ck_assert_int_eq(cairn_dependency_enter(dep, &st), CAIRN_OK);
        ck_assert_int_eq(cairn_dependency_enter(dep, &st), CAIRN_ERR_EXHAUSTED);
        ck_assert_str_eq(st.reason, "BULKHEAD_FULL");
        cairn_dependency_leave(dep);
        ck_assert_int_eq(cairn_dependency_enter(dep, &st), CAIRN_OK);
        cairn_dependency_leave(dep);
        cairn_dependency_free(dep);
}
END_TEST

START_TEST(test_cairn_dependency_failure_codes)
{
        ck_assert(cairn_dependency_failure(CAIRN_ERR_UNAVAILABLE));
        ck_assert(cairn_dependency_failure(CAIRN_ERR_DEADLINE));
        ck_assert(!cairn_dependency_failure(CAIRN_OK));
        ck_assert(!cairn_dependency_failure(CAIRN_ERR_INVALID));
        ck_assert(!cairn_dependency_failure(CAIRN_ERR_NOT_FOUND));
        ck_assert(!cairn_dependency_failure(CAIRN_ERR_EXHAUSTED));
}
END_TEST

static void setup(void)
{
        cairn_log_set_stream(fopen("/dev/null", "w"));
}

int main(void)
{
        Suite *s = suite_create("resilience");
        TCase *tc;

        tc = tcase_create("cairn_call_timeout_ms");
        tcase_add_test(tc, test_cairn_call_timeout_ms_remaining_and_cap);
        tcase_add_test(tc, test_cairn_deadline_min_zero_is_none);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_resilience_conf_items");
        tcase_add_test(tc, test_cairn_resilience_conf_items_defaults_match_init);
        tcase_add_test(tc, test_cairn_resilience_conf_items_env_and_file);
        tcase_add_test(tc, test_cairn_resilience_conf_section_check_names_key);
        tcase_add_test(tc, test_cairn_resilience_conf_items_rejects_bad_names);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_bus_dependency_name");
        tcase_add_test(tc, test_cairn_bus_dependency_name_rule);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_dependency_call");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_cairn_dependency_call_retries_then_succeeds);
        tcase_add_test(tc, test_cairn_dependency_call_gives_up_after_max_attempts);
        tcase_add_test(tc, test_cairn_dependency_call_no_retry_for_invalid);
        tcase_add_test(tc, test_cairn_dependency_call_expired_deadline_never_calls);
        tcase_add_test(tc, test_cairn_dependency_call_breaker_opens_and_fails_fast);
        tcase_add_test(tc, test_cairn_dependency_enter_bulkhead_full);
        tcase_add_test(tc, test_cairn_dependency_failure_codes);
        suite_add_tcase(s, tc);

        return unit_run(s);
}

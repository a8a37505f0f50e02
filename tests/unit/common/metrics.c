/* Unit tests for the metrics registry: exposition text, escaping, histogram
 * buckets, concurrent updates, and promtool's opinion of what we render. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/metrics.h"
#include "../unit.h"

static const char *const no_labels[] = { NULL };

/* Renders @p reg and compares it with @p want, printing both on mismatch. */
static void assert_render(struct cairn_metrics *reg, const char *want)
{
        size_t len = 0;
        char *got = cairn_metrics_render(reg, &len);

        ck_assert_ptr_nonnull(got);
        ck_assert_uint_eq(len, strlen(got));
        if (strcmp(got, want) != 0)
                fprintf(stderr, "--- want\n%s--- got\n%s---\n", want, got);
        ck_assert_str_eq(got, want);
        free(got);
}

/* ---- cairn_metrics_new / cairn_metrics_free ---- */

START_TEST(test_cairn_metrics_new_renders_empty)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        assert_render(reg, "");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_free_null)
{
        cairn_metrics_free(NULL);
}
END_TEST

/* ---- cairn_metrics_counter ---- */

START_TEST(test_cairn_metrics_counter_unlabelled_renders_zero)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_counter(reg, "jobs_total", "Jobs done", NULL);
        assert_render(reg, "# HELP jobs_total Jobs done\n"
                           "# TYPE jobs_total counter\n"
                           "jobs_total 0\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_counter_labelled_renders_no_series)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_counter(reg, "jobs_total", "Jobs done", (const char *[]){ "kind", NULL });
        assert_render(reg, "# HELP jobs_total Jobs done\n"
                           "# TYPE jobs_total counter\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_counter_same_name_same_family)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        const char *labels[] = { "kind", NULL };
        struct cairn_metric *a = cairn_metrics_counter(reg, "jobs_total", "Jobs done", labels);
        struct cairn_metric *b = cairn_metrics_counter(reg, "jobs_total", "Other help", labels);

        ck_assert_ptr_eq(a, b);
        cairn_metric_inc_l(a, (const char *[]){ "x" });
        cairn_metric_inc_l(b, (const char *[]){ "x" });
        assert_render(reg, "# HELP jobs_total Jobs done\n"
                           "# TYPE jobs_total counter\n"
                           "jobs_total{kind=\"x\"} 2\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_counter_empty_label_list)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_counter(reg, "jobs_total", "Jobs", no_labels);

        /* An empty list is the same as NULL: one unlabelled series. */
        ck_assert_ptr_eq(cairn_metric_series(m, NULL), cairn_metric_series(m, no_labels));
        cairn_metrics_free(reg);
}
END_TEST

#ifndef NDEBUG
START_TEST(test_cairn_metrics_counter_invalid_name_asserts)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_counter(reg, "9lives_total", "Bad", NULL);
}
END_TEST

START_TEST(test_cairn_metrics_counter_invalid_label_asserts)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_counter(reg, "jobs_total", "Bad", (const char *[]){ "a:b", NULL });
}
END_TEST

START_TEST(test_cairn_metrics_counter_type_mismatch_asserts)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_counter(reg, "jobs", "Jobs", NULL);
        cairn_metrics_gauge(reg, "jobs", "Jobs", NULL);
}
END_TEST
#endif

/* ---- cairn_metrics_gauge ---- */

START_TEST(test_cairn_metrics_gauge_unlabelled_renders_zero)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_gauge(reg, "up", "Whether it runs", NULL);
        assert_render(reg, "# HELP up Whether it runs\n"
                           "# TYPE up gauge\n"
                           "up 0\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_gauge_colon_in_name)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_gauge(reg, "job:rate:5m", "Recorded", NULL);
        assert_render(reg, "# HELP job:rate:5m Recorded\n"
                           "# TYPE job:rate:5m gauge\n"
                           "job:rate:5m 0\n");
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_metrics_histogram ---- */

START_TEST(test_cairn_metrics_histogram_unlabelled_renders_zero)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_histogram(reg, "size_bytes", "Sizes", NULL, (const double[]){ 1, 10 }, 2);
        assert_render(reg, "# HELP size_bytes Sizes\n"
                           "# TYPE size_bytes histogram\n"
                           "size_bytes_bucket{le=\"1\"} 0\n"
                           "size_bytes_bucket{le=\"10\"} 0\n"
                           "size_bytes_bucket{le=\"+Inf\"} 0\n"
                           "size_bytes_sum 0\n"
                           "size_bytes_count 0\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_histogram_latency_bucket_bounds)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_histogram(reg, "wait_seconds", "Waits", NULL,
                                                         cairn_metrics_latency_buckets,
                                                         cairn_metrics_latency_nbuckets);

        cairn_series_observe(cairn_metric_series(m, NULL), 0.0005);
        assert_render(reg, "# HELP wait_seconds Waits\n"
                           "# TYPE wait_seconds histogram\n"
                           "wait_seconds_bucket{le=\"0.0005\"} 1\n"
                           "wait_seconds_bucket{le=\"0.001\"} 1\n"
                           "wait_seconds_bucket{le=\"0.0025\"} 1\n"
                           "wait_seconds_bucket{le=\"0.005\"} 1\n"
                           "wait_seconds_bucket{le=\"0.01\"} 1\n"
                           "wait_seconds_bucket{le=\"0.025\"} 1\n"
                           "wait_seconds_bucket{le=\"0.05\"} 1\n"
                           "wait_seconds_bucket{le=\"0.1\"} 1\n"
                           "wait_seconds_bucket{le=\"0.25\"} 1\n"
                           "wait_seconds_bucket{le=\"0.5\"} 1\n"
                           "wait_seconds_bucket{le=\"1\"} 1\n"
                           "wait_seconds_bucket{le=\"2.5\"} 1\n"
                           "wait_seconds_bucket{le=\"5\"} 1\n"
                           "wait_seconds_bucket{le=\"10\"} 1\n"
                           "wait_seconds_bucket{le=\"+Inf\"} 1\n"
                           "wait_seconds_sum 0.0005\n"
                           "wait_seconds_count 1\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_histogram_no_buckets)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_histogram(reg, "h", "Only +Inf", NULL, NULL, 0);

        cairn_metric_observe_l(m, NULL, 7);
        assert_render(reg, "# HELP h Only +Inf\n"
                           "# TYPE h histogram\n"
                           "h_bucket{le=\"+Inf\"} 1\n"
                           "h_sum 7\n"
                           "h_count 1\n");
        cairn_metrics_free(reg);
}
END_TEST

#ifndef NDEBUG
START_TEST(test_cairn_metrics_histogram_le_label_asserts)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_histogram(reg, "h", "Bad", (const char *[]){ "le", NULL },
                                (const double[]){ 1 }, 1);
}
END_TEST

START_TEST(test_cairn_metrics_histogram_unsorted_buckets_assert)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_histogram(reg, "h", "Bad", NULL, (const double[]){ 2, 1 }, 2);
}
END_TEST
#endif

/* ---- cairn_metrics_latency_buckets ---- */

START_TEST(test_cairn_metrics_latency_buckets_values)
{
        const double want[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10 };

        ck_assert_uint_eq(cairn_metrics_latency_nbuckets, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < cairn_metrics_latency_nbuckets; i++)
                ck_assert(cairn_metrics_latency_buckets[i] == want[i]);
}
END_TEST

/* ---- cairn_metric_series ---- */

START_TEST(test_cairn_metric_series_identity)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_counter(reg, "req_total", "Requests",
                                                       (const char *[]){ "a", "b", NULL });
        struct cairn_series *s1 = cairn_metric_series(m, (const char *[]){ "x", "y" });
        struct cairn_series *s2 = cairn_metric_series(m, (const char *[]){ "x", "y" });
        struct cairn_series *s3 = cairn_metric_series(m, (const char *[]){ "y", "x" });
        struct cairn_series *s4 = cairn_metric_series(m, (const char *[]){ "xy", "" });
        struct cairn_series *s5 = cairn_metric_series(m, (const char *[]){ "x", "y" });

        ck_assert_ptr_eq(s1, s2);
        ck_assert_ptr_eq(s1, s5);
        ck_assert_ptr_ne(s1, s3);
        ck_assert_ptr_ne(s1, s4);
        ck_assert_ptr_ne(s3, s4);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metric_series_values_copied)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_counter(reg, "req_total", "Requests",
                                                       (const char *[]){ "path", NULL });
        char value[16] = "first";
        struct cairn_series *s = cairn_metric_series(m, (const char *[]){ value });

        strcpy(value, "second");
        ck_assert_ptr_ne(s, cairn_metric_series(m, (const char *[]){ value }));
        ck_assert_ptr_eq(s, cairn_metric_series(m, (const char *[]){ "first" }));
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metric_series_many)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_counter(reg, "req_total", "Requests",
                                                       (const char *[]){ "n", NULL });
        struct cairn_series *s[500];
        char v[16];

        /* More series than hash chains: every one still found again. */
        for (int i = 0; i < 500; i++) {
                snprintf(v, sizeof(v), "%d", i);
                s[i] = cairn_metric_series(m, (const char *[]){ v });
                cairn_series_add(s[i], i);
        }
        for (int i = 0; i < 500; i++) {
                snprintf(v, sizeof(v), "%d", i);
                ck_assert_ptr_eq(s[i], cairn_metric_series(m, (const char *[]){ v }));
        }
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_series_inc / cairn_series_add ---- */

struct hammer {
        struct cairn_metric *counter;
        struct cairn_series *shared;
        struct cairn_metric *hist;
        int id;
};

#define HAMMER_ROUNDS 100000

static void *hammer_run(void *arg)
{
        struct hammer *h = arg;
        const char *kind[] = { (h->id % 2) ? "odd" : "even" };

        for (int i = 0; i < HAMMER_ROUNDS; i++) {
                cairn_series_inc(h->shared);
                /* Both threads of a parity race to create the same series. */
                cairn_metric_inc_l(h->counter, kind);
                cairn_metric_observe_l(h->hist, NULL, 0.5);
        }
        return NULL;
}

START_TEST(test_cairn_series_inc_concurrent_exact)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *total = cairn_metrics_counter(reg, "hits_total", "Hits", NULL);
        struct hammer h[4];
        pthread_t th[4];

        for (int i = 0; i < 4; i++) {
                h[i].shared = cairn_metric_series(total, NULL);
                h[i].counter = cairn_metrics_counter(reg, "kind_total", "By kind",
                                                     (const char *[]){ "kind", NULL });
                h[i].hist = cairn_metrics_histogram(reg, "obs", "Observations", NULL,
                                                    (const double[]){ 1 }, 1);
                h[i].id = i;
        }
        /* Series render in creation order: fix "even" first so the text is
         * stable; threads 1 and 3 still race to create "odd". */
        cairn_metric_series(h[0].counter, (const char *[]){ "even" });
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
        for (int i = 0; i < 4; i++)
                pthread_join(th[i], NULL);

        assert_render(reg, "# HELP hits_total Hits\n"
                           "# TYPE hits_total counter\n"
                           "hits_total 400000\n"
                           "# HELP kind_total By kind\n"
                           "# TYPE kind_total counter\n"
                           "kind_total{kind=\"even\"} 200000\n"
                           "kind_total{kind=\"odd\"} 200000\n"
                           "# HELP obs Observations\n"
                           "# TYPE obs histogram\n"
                           "obs_bucket{le=\"1\"} 400000\n"
                           "obs_bucket{le=\"+Inf\"} 400000\n"
                           "obs_sum 200000\n"
                           "obs_count 400000\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_series_add_fractions)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_series *s = cairn_metric_series(cairn_metrics_counter(reg, "cpu_seconds_total",
                                                                           "CPU", NULL),
                                                     NULL);

        cairn_series_inc(s);
        cairn_series_add(s, 2.5);
        cairn_series_add(s, 0);
        assert_render(reg, "# HELP cpu_seconds_total CPU\n"
                           "# TYPE cpu_seconds_total counter\n"
                           "cpu_seconds_total 3.5\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_series_add_gauge_negative)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_series *s =
                cairn_metric_series(cairn_metrics_gauge(reg, "inflight", "In flight", NULL), NULL);

        cairn_series_add(s, 1);
        cairn_series_add(s, 1);
        cairn_series_add(s, -1);
        cairn_series_add(s, -1.25);
        assert_render(reg, "# HELP inflight In flight\n"
                           "# TYPE inflight gauge\n"
                           "inflight -0.25\n");
        cairn_metrics_free(reg);
}
END_TEST

#ifndef NDEBUG
START_TEST(test_cairn_series_add_counter_negative_asserts)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_series_add(cairn_metric_series(cairn_metrics_counter(reg, "c_total", "C", NULL),
                                             NULL),
                         -1);
}
END_TEST
#endif

/* ---- cairn_series_set ---- */

START_TEST(test_cairn_series_set_overwrites)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_series *s =
                cairn_metric_series(cairn_metrics_gauge(reg, "queue_depth", "Depth", NULL), NULL);

        cairn_series_set(s, 10);
        cairn_series_add(s, 5);
        cairn_series_set(s, 2);
        assert_render(reg, "# HELP queue_depth Depth\n"
                           "# TYPE queue_depth gauge\n"
                           "queue_depth 2\n");
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_metric_set_l ---- */

START_TEST(test_cairn_metric_set_l_value_formats)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_gauge(reg, "g", "Values",
                                                     (const char *[]){ "v", NULL });

        cairn_metric_set_l(m, (const char *[]){ "int" }, 42);
        cairn_metric_set_l(m, (const char *[]){ "neg" }, -7);
        cairn_metric_set_l(m, (const char *[]){ "frac" }, 0.1);
        cairn_metric_set_l(m, (const char *[]){ "third" }, 1.0 / 3);
        cairn_metric_set_l(m, (const char *[]){ "big" }, 1e20);
        cairn_metric_set_l(m, (const char *[]){ "wide" }, 123456789012345.0);
        cairn_metric_set_l(m, (const char *[]){ "tiny" }, 1e-9);
        cairn_metric_set_l(m, (const char *[]){ "negzero" }, -0.0);
        cairn_metric_set_l(m, (const char *[]){ "pinf" }, INFINITY);
        cairn_metric_set_l(m, (const char *[]){ "ninf" }, -INFINITY);
        cairn_metric_set_l(m, (const char *[]){ "nan" }, NAN);
        cairn_metric_set_l(m, (const char *[]){ "int" }, 43);
        assert_render(reg, "# HELP g Values\n"
                           "# TYPE g gauge\n"
                           "g{v=\"int\"} 43\n"
                           "g{v=\"neg\"} -7\n"
                           "g{v=\"frac\"} 0.1\n"
                           "g{v=\"third\"} 0.3333333333333333\n"
                           "g{v=\"big\"} 1e+20\n"
                           "g{v=\"wide\"} 123456789012345\n"
                           "g{v=\"tiny\"} 1e-09\n"
                           "g{v=\"negzero\"} 0\n"
                           "g{v=\"pinf\"} +Inf\n"
                           "g{v=\"ninf\"} -Inf\n"
                           "g{v=\"nan\"} NaN\n");
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_series_observe ---- */

START_TEST(test_cairn_series_observe_cumulative_buckets)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_histogram(reg, "latency_seconds", "Latency", NULL,
                                                         (const double[]){ 0.25, 0.5, 1 }, 3);
        struct cairn_series *s = cairn_metric_series(m, NULL);

        cairn_series_observe(s, 0.125);
        cairn_series_observe(s, 0.25); /* on a bound: counts in that bucket */
        cairn_series_observe(s, 0.375);
        cairn_series_observe(s, 3);  /* above every bound: +Inf only */
        cairn_series_observe(s, -1); /* below every bound: first bucket */
        assert_render(reg, "# HELP latency_seconds Latency\n"
                           "# TYPE latency_seconds histogram\n"
                           "latency_seconds_bucket{le=\"0.25\"} 3\n"
                           "latency_seconds_bucket{le=\"0.5\"} 4\n"
                           "latency_seconds_bucket{le=\"1\"} 4\n"
                           "latency_seconds_bucket{le=\"+Inf\"} 5\n"
                           "latency_seconds_sum 2.75\n"
                           "latency_seconds_count 5\n");
        cairn_metrics_free(reg);
}
END_TEST

#ifndef NDEBUG
START_TEST(test_cairn_series_observe_on_counter_asserts)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_series_observe(cairn_metric_series(cairn_metrics_counter(reg, "c_total", "C", NULL),
                                                 NULL),
                             1);
}
END_TEST
#endif

/* ---- cairn_metric_observe_l ---- */

START_TEST(test_cairn_metric_observe_l_labelled)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_histogram(reg, "dur_seconds", "Durations",
                                                         (const char *[]){ "type", "code", NULL },
                                                         (const double[]){ 0.5 }, 1);

        assert_render(reg, "# HELP dur_seconds Durations\n"
                           "# TYPE dur_seconds histogram\n");
        cairn_metric_observe_l(m, (const char *[]){ "a.B", "OK" }, 0.25);
        cairn_metric_observe_l(m, (const char *[]){ "a.B", "OK" }, 1.5);
        cairn_metric_observe_l(m, (const char *[]){ "c", "INVALID" }, 0.5);
        assert_render(reg, "# HELP dur_seconds Durations\n"
                           "# TYPE dur_seconds histogram\n"
                           "dur_seconds_bucket{type=\"a.B\",code=\"OK\",le=\"0.5\"} 1\n"
                           "dur_seconds_bucket{type=\"a.B\",code=\"OK\",le=\"+Inf\"} 2\n"
                           "dur_seconds_sum{type=\"a.B\",code=\"OK\"} 1.75\n"
                           "dur_seconds_count{type=\"a.B\",code=\"OK\"} 2\n"
                           "dur_seconds_bucket{type=\"c\",code=\"INVALID\",le=\"0.5\"} 1\n"
                           "dur_seconds_bucket{type=\"c\",code=\"INVALID\",le=\"+Inf\"} 1\n"
                           "dur_seconds_sum{type=\"c\",code=\"INVALID\"} 0.5\n"
                           "dur_seconds_count{type=\"c\",code=\"INVALID\"} 1\n");
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_metric_inc_l / add_l ---- */

START_TEST(test_cairn_metric_inc_l_labelled_golden)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_counter(reg, "req_total", "Requests by code",
                                                       (const char *[]){ "type", "code", NULL });

        cairn_metric_inc_l(m, (const char *[]){ "Store", "OK" });
        cairn_metric_inc_l(m, (const char *[]){ "Store", "OK" });
        cairn_metric_inc_l(m, (const char *[]){ "Search", "NOT_FOUND" });
        cairn_metric_add_l(m, (const char *[]){ "Store", "OK" }, 3);
        assert_render(reg, "# HELP req_total Requests by code\n"
                           "# TYPE req_total counter\n"
                           "req_total{type=\"Store\",code=\"OK\"} 5\n"
                           "req_total{type=\"Search\",code=\"NOT_FOUND\"} 1\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metric_add_l_unlabelled)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_counter(reg, "bytes_total", "Bytes", NULL);

        cairn_metric_add_l(m, NULL, 1024);
        cairn_metric_add_l(m, no_labels, 1);
        assert_render(reg, "# HELP bytes_total Bytes\n"
                           "# TYPE bytes_total counter\n"
                           "bytes_total 1025\n");
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_metrics_render ---- */

START_TEST(test_cairn_metrics_render_registration_order)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_gauge(reg, "zeta", "Z", NULL);
        cairn_metrics_counter(reg, "alpha_total", "A", NULL);
        cairn_metrics_gauge(reg, "mid", "M", NULL);
        cairn_metrics_gauge(reg, "zeta", "Z again", NULL);
        assert_render(reg, "# HELP zeta Z\n"
                           "# TYPE zeta gauge\n"
                           "zeta 0\n"
                           "# HELP alpha_total A\n"
                           "# TYPE alpha_total counter\n"
                           "alpha_total 0\n"
                           "# HELP mid M\n"
                           "# TYPE mid gauge\n"
                           "mid 0\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_render_escapes_label_values)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_counter(reg, "odd_total", "Odd values",
                                                       (const char *[]){ "v", NULL });

        cairn_metric_inc_l(m, (const char *[]){ "a\"b\\c\nd" });
        cairn_metric_inc_l(m, (const char *[]){ "" });
        cairn_metric_inc_l(m, (const char *[]){ "caf\xc3\xa9 {x=1}" });
        assert_render(reg, "# HELP odd_total Odd values\n"
                           "# TYPE odd_total counter\n"
                           "odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"
                           "odd_total{v=\"\"} 1\n"
                           "odd_total{v=\"caf\xc3\xa9 {x=1}\"} 1\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_render_escapes_help)
{
        struct cairn_metrics *reg = cairn_metrics_new();

        cairn_metrics_gauge(reg, "g", "Path C:\\tmp\nsecond \"line\"", NULL);
        assert_render(reg, "# HELP g Path C:\\\\tmp\\nsecond \"line\"\n"
                           "# TYPE g gauge\n"
                           "g 0\n");
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_render_null_lenp)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        char *text;

        cairn_metrics_gauge(reg, "g", "G", NULL);
        text = cairn_metrics_render(reg, NULL);
        ck_assert_str_eq(text, "# HELP g G\n# TYPE g gauge\ng 0\n");
        free(text);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_metrics_render_large)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_metric *m = cairn_metrics_histogram(reg, "h_seconds", "H",
                                                         (const char *[]){ "n", NULL },
                                                         cairn_metrics_latency_buckets,
                                                         cairn_metrics_latency_nbuckets);
        size_t len = 0;
        char v[16], *text;

        /* Well past the first buffer size. */
        for (int i = 0; i < 200; i++) {
                snprintf(v, sizeof(v), "%d", i);
                cairn_metric_observe_l(m, (const char *[]){ v }, i / 100.0);
        }
        text = cairn_metrics_render(reg, &len);
        ck_assert_uint_gt(len, 100000);
        ck_assert_uint_eq(len, strlen(text));
        ck_assert_ptr_nonnull(strstr(text, "h_seconds_count{n=\"199\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(text, "h_seconds_bucket{n=\"199\",le=\"2.5\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(text, "h_seconds_bucket{n=\"199\",le=\"1\"} 0\n"));
        free(text);
        cairn_metrics_free(reg);
}
END_TEST

static bool have_promtool(void)
{
        return system("command -v promtool >/dev/null 2>&1") == 0;
}

START_TEST(test_cairn_metrics_render_promtool_accepts)
{
        struct cairn_metrics *reg;
        struct cairn_metric *m;
        char path[] = "/tmp/cairn-metrics-XXXXXX";
        char cmd[128];
        size_t len = 0;
        char *text;
        FILE *fp;
        int fd, status;

        if (!have_promtool()) {
                printf("note: promtool not on PATH; exposition lint skipped\n");
                return;
        }

        reg = cairn_metrics_new();
        cairn_metrics_gauge(reg, "cairn_up", "Whether the service runs", NULL);
        cairn_metrics_counter(reg, "cairn_idle_total", "Never touched", NULL);
        cairn_metrics_counter(reg, "cairn_unused_total", "Labelled, no series yet",
                              (const char *[]){ "kind", NULL });
        m = cairn_metrics_counter(reg, "cairn_requests_total",
                                  "Requests \"handled\", by type\\code\nand more",
                                  (const char *[]){ "type", "code", NULL });
        cairn_metric_inc_l(m, (const char *[]){ "cairn.memory.v1.StoreRequest", "OK" });
        cairn_metric_add_l(m, (const char *[]){ "we\"ird\\one\nhere", "INVALID" }, 2.5);
        m = cairn_metrics_gauge(reg, "cairn_temperature_celsius", "Gauge values",
                                (const char *[]){ "v", NULL });
        cairn_metric_set_l(m, (const char *[]){ "neg" }, -0.125);
        cairn_metric_set_l(m, (const char *[]){ "big" }, 1e20);
        cairn_metric_set_l(m, (const char *[]){ "third" }, 1.0 / 3);
        cairn_metric_set_l(m, (const char *[]){ "pinf" }, INFINITY);
        cairn_metric_set_l(m, (const char *[]){ "ninf" }, -INFINITY);
        cairn_metric_set_l(m, (const char *[]){ "nan" }, NAN);
        m = cairn_metrics_histogram(reg, "cairn_request_duration_seconds", "Durations",
                                    (const char *[]){ "type", NULL }, cairn_metrics_latency_buckets,
                                    cairn_metrics_latency_nbuckets);
        cairn_metric_observe_l(m, (const char *[]){ "a" }, 0.003);
        cairn_metric_observe_l(m, (const char *[]){ "a" }, 42);
        cairn_metric_observe_l(m, (const char *[]){ "b" }, 0.0005);
        cairn_metrics_histogram(reg, "cairn_payload_bytes", "Unlabelled, empty", NULL,
                                (const double[]){ 64, 1024, 65536 }, 3);

        text = cairn_metrics_render(reg, &len);
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        fp = fdopen(fd, "w");
        ck_assert_ptr_nonnull(fp);
        ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
        fclose(fp);

        snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
        status = system(cmd);
        unlink(path);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                fprintf(stderr, "promtool rejected:\n%s", text);
        free(text);
        cairn_metrics_free(reg);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *metrics_suite(void)
{
        Suite *s = suite_create("metrics");
        TCase *tc;

        tc = tcase_create("cairn_metrics_new");
        tcase_add_test(tc, test_cairn_metrics_new_renders_empty);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metrics_free");
        tcase_add_test(tc, test_cairn_metrics_free_null);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metrics_counter");
        tcase_add_test(tc, test_cairn_metrics_counter_unlabelled_renders_zero);
        tcase_add_test(tc, test_cairn_metrics_counter_labelled_renders_no_series);
        tcase_add_test(tc, test_cairn_metrics_counter_same_name_same_family);
        tcase_add_test(tc, test_cairn_metrics_counter_empty_label_list);
#ifndef NDEBUG
        tcase_add_test_raise_signal(tc, test_cairn_metrics_counter_invalid_name_asserts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_cairn_metrics_counter_invalid_label_asserts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_cairn_metrics_counter_type_mismatch_asserts, SIGABRT);
#endif
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metrics_gauge");
        tcase_add_test(tc, test_cairn_metrics_gauge_unlabelled_renders_zero);
        tcase_add_test(tc, test_cairn_metrics_gauge_colon_in_name);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metrics_histogram");
        tcase_add_test(tc, test_cairn_metrics_histogram_unlabelled_renders_zero);
        tcase_add_test(tc, test_cairn_metrics_histogram_latency_bucket_bounds);
        tcase_add_test(tc, test_cairn_metrics_histogram_no_buckets);
#ifndef NDEBUG
        tcase_add_test_raise_signal(tc, test_cairn_metrics_histogram_le_label_asserts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_cairn_metrics_histogram_unsorted_buckets_assert,
                                    SIGABRT);
#endif
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metrics_latency_buckets");
        tcase_add_test(tc, test_cairn_metrics_latency_buckets_values);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metric_series");
        tcase_add_test(tc, test_cairn_metric_series_identity);
        tcase_add_test(tc, test_cairn_metric_series_values_copied);
        tcase_add_test(tc, test_cairn_metric_series_many);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_series_inc");
        tcase_add_test(tc, test_cairn_series_inc_concurrent_exact);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_series_add");
        tcase_add_test(tc, test_cairn_series_add_fractions);
        tcase_add_test(tc, test_cairn_series_add_gauge_negative);
#ifndef NDEBUG
        tcase_add_test_raise_signal(tc, test_cairn_series_add_counter_negative_asserts, SIGABRT);
#endif
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_series_set");
        tcase_add_test(tc, test_cairn_series_set_overwrites);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metric_set_l");
        tcase_add_test(tc, test_cairn_metric_set_l_value_formats);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_series_observe");
        tcase_add_test(tc, test_cairn_series_observe_cumulative_buckets);
#ifndef NDEBUG
        tcase_add_test_raise_signal(tc, test_cairn_series_observe_on_counter_asserts, SIGABRT);
#endif
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metric_observe_l");
        tcase_add_test(tc, test_cairn_metric_observe_l_labelled);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metric_inc_l");
        tcase_add_test(tc, test_cairn_metric_inc_l_labelled_golden);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metric_add_l");
        tcase_add_test(tc, test_cairn_metric_add_l_unlabelled);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_metrics_render");
        tcase_add_test(tc, test_cairn_metrics_render_registration_order);
        tcase_add_test(tc, test_cairn_metrics_render_escapes_label_values);
        tcase_add_test(tc, test_cairn_metrics_render_escapes_help);
        tcase_add_test(tc, test_cairn_metrics_render_null_lenp);
        tcase_add_test(tc, test_cairn_metrics_render_large);
        tcase_add_test(tc, test_cairn_metrics_render_promtool_accepts);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        return unit_run(metrics_suite());
}

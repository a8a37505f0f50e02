/* Unit tests for pipelines and the driver that feeds them, over small
 * programs standing in for Apertium's stages: cat (answers), sleep (hangs),
 * true (dies), yes (floods). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "cairn/clock.h"
#include "translation/pipeline.h"

/* A mode of the given stages (NULL-terminated argument lists). */
static void mode_of(struct tr_mode *m, char *const *const *stages, size_t n)
{
        memset(m, 0, sizeof(*m));
        snprintf(m->name, sizeof(m->name), "test");
        for (size_t i = 0; i < n; i++) {
                size_t j = 0;

                for (; stages[i][j]; j++)
                        m->stages[i][j] = strdup(stages[i][j]);
                m->stages[i][j] = NULL;
        }
        m->nstages = n;
}

static struct tr_run_limits limits(int64_t stall_ms)
{
        return (struct tr_run_limits){ .deadline_ms = cairn_now_ms() + 20000,
                                       .stall_ms = stall_ms,
                                       .max_out = 1 << 20,
                                       .depth = 4 };
}

static char *const cat[] = { "cat", NULL };

START_TEST(test_texts_in_order_over_pipelines)
{
        char *const *stages[] = { cat, cat, cat };
        struct tr_mode m;
        struct tr_pipeline p[3], *ps[3] = { &p[0], &p[1], &p[2] };
        enum { N = 500 };
        static struct tr_item items[N];
        static char text[N][32];
        struct tr_run_limits lim = limits(5000);

        mode_of(&m, stages, 3);
        for (int k = 0; k < 3; k++)
                ck_assert_int_eq(tr_pipeline_start(&p[k], &m, text[0], sizeof(text[0])), 0);
        for (int i = 0; i < N; i++) {
                snprintf(text[i], sizeof(text[i]), "text number %d", i);
                items[i].in = text[i];
                items[i].in_len = strlen(text[i]);
        }
        tr_pipelines_run(ps, 3, items, N, &lim);
        for (int i = 0; i < N; i++) {
                ck_assert_int_eq(items[i].err, CAIRN_OK);
                ck_assert_str_eq(items[i].out.p, text[i]);
                cairn_buf_cleanup(&items[i].out);
        }
        for (int k = 0; k < 3; k++) {
                ck_assert(tr_pipeline_alive(&p[k]));
                tr_pipeline_stop(&p[k]);
                ck_assert(!p[k].running);
        }
        tr_mode_cleanup(&m);
}
END_TEST

/* One text through a pipeline of @p stage; its item. */
static struct tr_item run_one(char *const *stage, int64_t stall_ms, struct tr_pipeline *p)
{
        char *const *stages[] = { cat, stage };
        struct tr_pipeline *ps[1] = { p };
        struct tr_run_limits lim = limits(stall_ms);
        struct tr_item item = { .in = "hello", .in_len = 5 };
        struct tr_mode m;
        char err[200];

        mode_of(&m, stages, 2);
        ck_assert_int_eq(tr_pipeline_start(p, &m, err, sizeof(err)), 0);
        lim.max_out = 4096;
        tr_pipelines_run(ps, 1, &item, 1, &lim);
        tr_mode_cleanup(&m);
        return item;
}

START_TEST(test_hung_stage_killed)
{
        char *const sleeper[] = { "sleep", "60", NULL };
        struct tr_pipeline p;
        int64_t t0 = cairn_mono_us();
        pid_t pid;
        struct tr_item item = run_one(sleeper, 300, &p);

        ck_assert_int_eq(item.err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_ptr_nonnull(strstr(item.why, "stopped answering"));
        ck_assert_int_lt(cairn_mono_us() - t0, 5000000);
        ck_assert(!p.running);
        /* killed and reaped: its PID is gone */
        pid = p.pids[1];
        ck_assert(pid == 0 || kill(pid, 0) != 0);
}
END_TEST

START_TEST(test_dead_stage_noticed)
{
        char *const dies[] = { "true", NULL };
        struct tr_pipeline p;
        struct tr_item item = run_one(dies, 5000, &p);

        ck_assert_int_eq(item.err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_ptr_nonnull(strstr(item.why, "ended"));
        ck_assert(!p.running);
}
END_TEST

START_TEST(test_flood_stopped)
{
        char *const floods[] = { "yes", NULL };
        struct tr_pipeline p;
        struct tr_item item = run_one(floods, 5000, &p);

        ck_assert_int_eq(item.err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_ptr_nonnull(strstr(item.why, "more than the limit"));
        ck_assert(!p.running);
}
END_TEST

START_TEST(test_deadline)
{
        char *const sleeper[] = { "sleep", "60", NULL };
        char *const *stages[] = { sleeper };
        struct tr_pipeline p, *ps[1] = { &p };
        struct tr_item items[2] = { { .in = "a", .in_len = 1 }, { .in = "b", .in_len = 1 } };
        struct tr_run_limits lim = limits(60000);
        struct tr_mode m;
        char err[200];

        mode_of(&m, stages, 1);
        ck_assert_int_eq(tr_pipeline_start(&p, &m, err, sizeof(err)), 0);
        lim.deadline_ms = cairn_now_ms() + 200;
        tr_pipelines_run(ps, 1, items, 2, &lim);
        ck_assert_int_eq(items[0].err, CAIRN_ERR_DEADLINE);
        ck_assert_int_eq(items[1].err, CAIRN_ERR_DEADLINE);
        ck_assert(!p.running);
        tr_mode_cleanup(&m);
}
END_TEST

START_TEST(test_program_missing)
{
        char *const nothing[] = { "cairn-no-such-program", NULL };
        char *const *stages[] = { nothing };
        struct tr_pipeline p;
        struct tr_mode m;
        char err[200];

        mode_of(&m, stages, 1);
        ck_assert_int_eq(tr_pipeline_start(&p, &m, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "cairn-no-such-program"));
        tr_mode_cleanup(&m);
}
END_TEST

START_TEST(test_filter)
{
        char *const upper[] = { "tr", "a-z", "A-Z", NULL };
        char *const sleeper[] = { "sleep", "60", NULL };
        char *const fails[] = { "false", NULL };
        struct tr_run_limits lim = limits(5000);
        struct cairn_buf out = { 0 };
        char why[200];

        ck_assert_int_eq(tr_filter_run(upper, "hello", 5, &lim, &out, why, sizeof(why)), CAIRN_OK);
        ck_assert_str_eq(out.p, "HELLO");
        cairn_buf_cleanup(&out);
        lim.deadline_ms = cairn_now_ms() + 200;
        ck_assert_int_eq(tr_filter_run(sleeper, "x", 1, &lim, &out, why, sizeof(why)),
                         CAIRN_ERR_DEADLINE);
        cairn_buf_cleanup(&out);
        lim = limits(5000);
        ck_assert_int_eq(tr_filter_run(fails, "x", 1, &lim, &out, why, sizeof(why)),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_ptr_nonnull(strstr(why, "status 1"));
        cairn_buf_cleanup(&out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pipeline");
        TCase *tc = tcase_create("pipeline");

        /* as in a service (cairn_service_main): a stage that exits makes
         * writes fail with EPIPE, not kill the process */
        signal(SIGPIPE, SIG_IGN);

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_texts_in_order_over_pipelines);
        tcase_add_test(tc, test_hung_stage_killed);
        tcase_add_test(tc, test_dead_stage_noticed);
        tcase_add_test(tc, test_flood_stopped);
        tcase_add_test(tc, test_deadline);
        tcase_add_test(tc, test_program_missing);
        tcase_add_test(tc, test_filter);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

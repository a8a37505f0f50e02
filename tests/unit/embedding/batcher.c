/* Unit tests for micro-batching, over an in-process provider
 * that counts its calls (no I/O). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "embedding/batcher.h"
#include "../unit.h"

#define DIM 4

/* A provider whose vector for a text is (len, first byte, call number, 0). */
struct counting {
        struct provider base;
        pthread_mutex_t lock;
        int calls;
        size_t largest;
        int delay_ms;
        cairn_err_t fail;
        bool per_text; /* count each text's tokens: its length */
};

static cairn_err_t counting_embed(struct provider *p, struct provider_batch *b,
                                  struct cairn_status *st)
{
        struct counting *c = (struct counting *)p;
        int call;

        pthread_mutex_lock(&c->lock);
        call = ++c->calls;
        if (b->n > c->largest)
                c->largest = b->n;
        pthread_mutex_unlock(&c->lock);
        if (c->delay_ms) {
                struct timespec ts = { c->delay_ms / 1000, (c->delay_ms % 1000) * 1000000L };
                nanosleep(&ts, NULL);
        }
        if (c->fail)
                return cairn_status_set(st, c->fail, NULL, "FAKE", "fake failure");
        for (size_t i = 0; i < b->n; i++) {
                b->out[i * b->dim + 0] = (float)b->lens[i];
                b->out[i * b->dim + 1] = (float)(unsigned char)b->texts[i][0];
                b->out[i * b->dim + 2] = (float)call;
                b->out[i * b->dim + 3] = 0;
        }
        b->tokens = b->n * 10;
        if (c->per_text && b->text_tokens) {
                b->tokens = 0;
                for (size_t i = 0; i < b->n; i++) {
                        b->text_tokens[i] = (uint32_t)b->lens[i];
                        b->tokens += b->lens[i];
                }
                b->text_tokens_set = true;
        }
        return CAIRN_OK;
}

static void counting_free(struct provider *p)
{
        (void)p;
}

static const struct provider_ops counting_ops = {
        .kind = "counting",
        .embed = counting_embed,
        .free = counting_free,
};

static struct counting prov;

static void setup(void)
{
        memset(&prov, 0, sizeof(prov));
        prov.base.ops = &counting_ops;
        pthread_mutex_init(&prov.lock, NULL);
}

static void teardown(void)
{
        pthread_mutex_destroy(&prov.lock);
}

/* ---- batcher_embed ---- */

struct caller {
        struct batcher *bt;
        char text[16];
        float out[DIM];
        uint64_t tokens;
        cairn_err_t err;
        struct cairn_status st;
        int64_t deadline_ms;
};

static void *caller_main(void *arg)
{
        struct caller *c = arg;
        const char *texts[] = { c->text };
        size_t lens[] = { strlen(c->text) };

        c->err = batcher_embed(c->bt, texts, lens, 1, c->deadline_ms, c->out, &c->tokens, &c->st);
        return NULL;
}

START_TEST(test_batcher_embed_coalesces_concurrent_callers)
{
        enum { N = 8 };
        struct batcher *bt = batcher_new(&prov.base, "m", DIM, 64, 300000, NULL);
        struct caller callers[N];
        pthread_t th[N];

        for (int i = 0; i < N; i++) {
                memset(&callers[i], 0, sizeof(callers[i]));
                callers[i].bt = bt;
                /* texts of different lengths and first letters: each slice is checkable */
                memset(callers[i].text, 'a' + i, (size_t)i + 1);
                pthread_create(&th[i], NULL, caller_main, &callers[i]);
        }
        for (int i = 0; i < N; i++)
                pthread_join(th[i], NULL);
        /* a 300 ms window: all eight share one upstream call */
        ck_assert_int_eq(prov.calls, 1);
        ck_assert_uint_eq(prov.largest, N);
        for (int i = 0; i < N; i++) {
                ck_assert_int_eq(callers[i].err, CAIRN_OK);
                ck_assert_float_eq(callers[i].out[0], (float)(i + 1));
                ck_assert_float_eq(callers[i].out[1], (float)('a' + i));
                ck_assert_uint_eq(callers[i].tokens, 10);
        }
        batcher_free(bt);
}
END_TEST

START_TEST(test_batcher_embed_gives_each_caller_its_own_tokens)
{
        enum { N = 6 };
        struct batcher *bt = batcher_new(&prov.base, "m", DIM, 64, 300000, NULL);
        struct caller callers[N];
        pthread_t th[N];

        prov.per_text = true;
        for (int i = 0; i < N; i++) {
                memset(&callers[i], 0, sizeof(callers[i]));
                callers[i].bt = bt;
                memset(callers[i].text, 'a' + i, (size_t)(2 * i + 1));
                pthread_create(&th[i], NULL, caller_main, &callers[i]);
        }
        for (int i = 0; i < N; i++)
                pthread_join(th[i], NULL);
        ck_assert_int_eq(prov.calls, 1);
        /* texts of 1, 3, 5 ... tokens: a share by texts would give each 6 */
        for (int i = 0; i < N; i++) {
                ck_assert_int_eq(callers[i].err, CAIRN_OK);
                ck_assert_uint_eq(callers[i].tokens, (uint64_t)(2 * i + 1));
        }
        batcher_free(bt);
}
END_TEST

START_TEST(test_batcher_embed_full_batch_goes_at_once)
{
        enum { N = 6 };
        /* max_batch 3, a window far longer than the test may take: batches
         * leave because they are full, not because the window ends */
        struct batcher *bt = batcher_new(&prov.base, "m", DIM, 3, 60000000, NULL);
        struct caller callers[N];
        pthread_t th[N];
        int64_t start = cairn_mono_us();

        for (int i = 0; i < N; i++) {
                memset(&callers[i], 0, sizeof(callers[i]));
                callers[i].bt = bt;
                snprintf(callers[i].text, sizeof(callers[i].text), "t%d", i);
                pthread_create(&th[i], NULL, caller_main, &callers[i]);
        }
        for (int i = 0; i < N; i++)
                pthread_join(th[i], NULL);
        ck_assert_int_eq(prov.calls, 2);
        ck_assert_uint_eq(prov.largest, 3);
        ck_assert_int_lt(cairn_mono_us() - start, 30000000);
        for (int i = 0; i < N; i++)
                ck_assert_int_eq(callers[i].err, CAIRN_OK);
        batcher_free(bt);
}
END_TEST

START_TEST(test_batcher_embed_error_reaches_every_member)
{
        enum { N = 4 };
        struct batcher *bt = batcher_new(&prov.base, "m", DIM, 64, 200000, NULL);
        struct caller callers[N];
        pthread_t th[N];

        prov.fail = CAIRN_ERR_UNAVAILABLE;
        for (int i = 0; i < N; i++) {
                memset(&callers[i], 0, sizeof(callers[i]));
                callers[i].bt = bt;
                snprintf(callers[i].text, sizeof(callers[i].text), "e%d", i);
                pthread_create(&th[i], NULL, caller_main, &callers[i]);
        }
        for (int i = 0; i < N; i++)
                pthread_join(th[i], NULL);
        for (int i = 0; i < N; i++) {
                ck_assert_int_eq(callers[i].err, CAIRN_ERR_UNAVAILABLE);
                ck_assert_str_eq(callers[i].st.message, "fake failure");
        }
        batcher_free(bt);
}
END_TEST

START_TEST(test_batcher_embed_member_leaves_at_its_deadline)
{
        struct batcher *bt = batcher_new(&prov.base, "m", DIM, 64, 100000, NULL);
        struct caller slow, hurried;
        pthread_t a, b;
        struct timespec ts = { 0, 20 * 1000000L };

        prov.delay_ms = 1500;
        memset(&slow, 0, sizeof(slow));
        memset(&hurried, 0, sizeof(hurried));
        slow.bt = hurried.bt = bt;
        snprintf(slow.text, sizeof(slow.text), "leader");
        snprintf(hurried.text, sizeof(hurried.text), "member");
        pthread_create(&a, NULL, caller_main, &slow);
        nanosleep(&ts, NULL);
        hurried.deadline_ms = cairn_now_ms() + 300;
        pthread_create(&b, NULL, caller_main, &hurried);
        pthread_join(b, NULL);
        ck_assert_int_eq(hurried.err, CAIRN_ERR_DEADLINE);
        pthread_join(a, NULL);
        ck_assert_int_eq(slow.err, CAIRN_OK);
        ck_assert_int_eq(prov.calls, 1);
        batcher_free(bt);
}
END_TEST

START_TEST(test_batcher_embed_large_request_goes_straight)
{
        struct batcher *bt = batcher_new(&prov.base, "m", DIM, 2, 60000000, NULL);
        const char *texts[] = { "a", "bb", "ccc" };
        size_t lens[] = { 1, 2, 3 };
        float out[3 * DIM];
        uint64_t tokens;
        struct cairn_status st;

        ck_assert_int_eq(batcher_embed(bt, texts, lens, 3, 0, out, &tokens, &st), CAIRN_OK);
        ck_assert_int_eq(prov.calls, 1);
        ck_assert_float_eq(out[2 * DIM], 3.0f);
        batcher_free(bt);
}
END_TEST

static Suite *batcher_suite(void)
{
        Suite *s = suite_create("batcher");
        TCase *tc;

        tc = tcase_create("batcher_embed");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_batcher_embed_coalesces_concurrent_callers);
        tcase_add_test(tc, test_batcher_embed_gives_each_caller_its_own_tokens);
        tcase_add_test(tc, test_batcher_embed_full_batch_goes_at_once);
        tcase_add_test(tc, test_batcher_embed_error_reaches_every_member);
        tcase_add_test(tc, test_batcher_embed_member_leaves_at_its_deadline);
        tcase_add_test(tc, test_batcher_embed_large_request_goes_straight);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(batcher_suite());
}

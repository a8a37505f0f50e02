/* Coalescing concurrent embedding requests into shared upstream calls:
 * the batch being filled, its leader, and the hand-back of slices. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batcher.h"
#include "cairn/clock.h"
#include "cairn/metrics.h"

/* A batch: texts copied in from every member, vectors out. Freed by the
 * last member to let go of it (refs). Guarded by the batcher's lock. */
struct mb_batch {
        pthread_cond_t cond; /* full (for the leader), done (for members) */
        size_t n;
        char **texts;
        size_t *lens;
        float *out;
        int64_t deadline_ms; /* the latest of the members'; 0: one has none */
        bool closed;         /* no more members */
        bool done;
        cairn_err_t err;
        struct cairn_status st;
        uint64_t tokens;
        uint32_t *text_tokens; /* each text's tokens, when the provider knows them */
        bool text_tokens_set;
        int refs;
};

struct batcher {
        struct provider *p;
        size_t dim, max_batch;
        int64_t wait_us;
        pthread_mutex_t lock;
        struct mb_batch *open; /* the batch taking members, or NULL */
        struct cairn_series *s_size;
};

static const double batch_buckets[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };

struct batcher *batcher_new(struct provider *p, const char *model, size_t dim, size_t max_batch,
                            int64_t wait_us, struct cairn_metrics *metrics)
{
        struct batcher *bt = calloc(1, sizeof(*bt));

        if (!bt)
                return NULL;
        bt->p = p;
        bt->dim = dim;
        bt->max_batch = max_batch ? max_batch : 1;
        bt->wait_us = wait_us;
        pthread_mutex_init(&bt->lock, NULL);
        if (metrics)
                bt->s_size = cairn_metric_series(
                        cairn_metrics_histogram(metrics, "cairn_embedding_batch_size",
                                                "Texts per coalesced upstream call",
                                                (const char *[]){ "model", NULL }, batch_buckets,
                                                sizeof(batch_buckets) / sizeof(batch_buckets[0])),
                        (const char *[]){ model });
        return bt;
}

void batcher_free(struct batcher *bt)
{
        if (!bt)
                return;
        pthread_mutex_destroy(&bt->lock);
        free(bt);
}

static void batch_free(struct mb_batch *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->texts[i]);
        free(b->texts);
        free(b->lens);
        free(b->out);
        free(b->text_tokens);
        pthread_cond_destroy(&b->cond);
        free(b);
}

static struct mb_batch *batch_new(const struct batcher *bt)
{
        struct mb_batch *b = calloc(1, sizeof(*b));
        pthread_condattr_t ca;

        if (!b)
                return NULL;
        b->texts = calloc(bt->max_batch, sizeof(*b->texts));
        b->lens = calloc(bt->max_batch, sizeof(*b->lens));
        b->out = malloc(bt->max_batch * bt->dim * sizeof(float));
        b->text_tokens = calloc(bt->max_batch, sizeof(*b->text_tokens));
        if (!b->texts || !b->lens || !b->out || !b->text_tokens) {
                free(b->texts);
                free(b->lens);
                free(b->out);
                free(b->text_tokens);
                free(b);
                return NULL;
        }
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&b->cond, &ca);
        pthread_condattr_destroy(&ca);
        return b;
}

static cairn_err_t direct(struct batcher *bt, const char *const *texts, const size_t *lens,
                          size_t n, int64_t deadline_ms, float *out, uint64_t *tokens,
                          struct cairn_status *st)
{
        struct provider_batch pb = {
                .texts = texts,
                .lens = lens,
                .n = n,
                .dim = bt->dim,
                .deadline_ms = deadline_ms,
                .out = out,
        };
        cairn_err_t err = provider_embed(bt->p, &pb, st);

        if (bt->s_size)
                cairn_series_observe(bt->s_size, (double)n);
        *tokens = pb.tokens;
        return err;
}

cairn_err_t batcher_embed(struct batcher *bt, const char *const *texts, const size_t *lens,
                          size_t n, int64_t deadline_ms, float *out, uint64_t *tokens,
                          struct cairn_status *st)
{
        struct mb_batch *b;
        bool leader = false;
        size_t off;
        cairn_err_t err;

        *tokens = 0;
        if (n >= bt->max_batch || bt->wait_us <= 0)
                return direct(bt, texts, lens, n, deadline_ms, out, tokens, st);

        pthread_mutex_lock(&bt->lock);
        b = bt->open;
        if (b && b->n + n > bt->max_batch) {
                /* This one is full enough: its leader sends it now. */
                b->closed = true;
                bt->open = NULL;
                pthread_cond_broadcast(&b->cond);
                b = NULL;
        }
        if (!b) {
                b = batch_new(bt);
                if (!b) {
                        pthread_mutex_unlock(&bt->lock);
                        return direct(bt, texts, lens, n, deadline_ms, out, tokens, st);
                }
                b->deadline_ms = deadline_ms;
                bt->open = b;
                leader = true;
        }
        off = b->n;
        for (size_t i = 0; i < n; i++) {
                b->texts[off + i] = strndup(texts[i], lens[i]);
                b->lens[off + i] = lens[i];
                if (!b->texts[off + i]) {
                        /* Out of memory: keep the batch consistent, go alone. */
                        for (size_t j = 0; j < i; j++)
                                free(b->texts[off + j]);
                        if (leader) {
                                bt->open = NULL;
                                batch_free(b);
                        }
                        pthread_mutex_unlock(&bt->lock);
                        return direct(bt, texts, lens, n, deadline_ms, out, tokens, st);
                }
        }
        b->n += n;
        b->refs++;
        if (b->deadline_ms != 0 && (deadline_ms == 0 || deadline_ms > b->deadline_ms))
                b->deadline_ms = deadline_ms;
        if (b->n == bt->max_batch) {
                b->closed = true;
                if (bt->open == b)
                        bt->open = NULL;
                pthread_cond_broadcast(&b->cond);
        }

        if (leader) {
                struct timespec until = cairn_timespec_in(CLOCK_MONOTONIC, bt->wait_us);

                while (!b->closed) {
                        if (pthread_cond_timedwait(&b->cond, &bt->lock, &until) == ETIMEDOUT)
                                break;
                }
                b->closed = true;
                if (bt->open == b)
                        bt->open = NULL;
                pthread_mutex_unlock(&bt->lock);

                /* b->texts, lens, n and deadline no longer change: closed. */
                struct provider_batch pb = {
                        .texts = (const char *const *)b->texts,
                        .lens = b->lens,
                        .n = b->n,
                        .dim = bt->dim,
                        .deadline_ms = b->deadline_ms,
                        .out = b->out,
                        .text_tokens = b->text_tokens,
                };
                struct cairn_status bst;

                cairn_status_clear(&bst);
                err = provider_embed(bt->p, &pb, &bst);
                if (bt->s_size)
                        cairn_series_observe(bt->s_size, (double)b->n);

                pthread_mutex_lock(&bt->lock);
                b->err = err;
                b->st = bst;
                b->tokens = pb.tokens;
                b->text_tokens_set = pb.text_tokens_set;
                b->done = true;
                pthread_cond_broadcast(&b->cond);
        } else {
                int64_t left_ms = cairn_deadline_remaining_ms(deadline_ms, cairn_now_ms());
                struct timespec until = cairn_timespec_in(CLOCK_MONOTONIC,
                                                          left_ms == INT64_MAX
                                                                  ? (int64_t)3600 * 1000000
                                                                  : (left_ms > 0 ? left_ms : 0) *
                                                                            1000);

                while (!b->done) {
                        if (pthread_cond_timedwait(&b->cond, &bt->lock, &until) == ETIMEDOUT)
                                break;
                }
        }

        if (b->done) {
                err = b->err;
                if (err)
                        *st = b->st;
                else
                        memcpy(out, b->out + off * bt->dim, n * bt->dim * sizeof(float));
                if (b->text_tokens_set) {
                        for (size_t i = 0; i < n; i++)
                                *tokens += b->text_tokens[off + i];
                } else if (b->n) {
                        /* the provider gave a total only: a share by texts */
                        *tokens = b->tokens * n / b->n;
                }
        } else {
                err = cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, "DEADLINE",
                                       "the request's deadline passed while its batch was "
                                       "being answered upstream");
        }
        if (--b->refs == 0)
                batch_free(b);
        pthread_mutex_unlock(&bt->lock);
        return err;
}

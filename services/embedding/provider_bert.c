/* A BERT sentence-transformers model served from the service's own
 * process: the model loaded once at start, and a fixed pool of working
 * memories, one per text batch computed at once, so the CPU the model takes
 * is bounded by its threads setting whatever the number of bus workers.
 *
 * Threads. OpenBLAS is set to one thread for the whole process, and
 * parallelism comes from the pool instead: each call computes its batch
 * on the calling bus worker, and at most `threads` calls compute at once
 * (the others wait for a free working memory). With OpenBLAS's own threads
 * on as well, every worker's sgemm would fan out to one thread per core,
 * so W busy workers would ask for W x cores threads on cores cores, and
 * small sgemms (a sentence is a few dozen rows) gain little from BLAS
 * threads. The setting is process-wide (openblas_set_num_threads), which is
 * why it is not per model: with one BLAS thread, two BERT models of 2
 * threads each use at most 4 cores. A single large request does not use
 * more than one core; many requests, or micro-batches of them, use up to
 * `threads`. */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bert_encode.h"
#include "bert_gemm.h"
#include "bert_model.h"
#include "bert_tokenizer.h"
#include "cairn/blas.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "provider.h"

/* Texts one bert_embed() call takes: between calls the deadline is checked,
 * so an abandoned request stops within one chunk (at most 16 x 256 tokens
 * of all-MiniLM-L6-v2: about 3 s on one core of a small machine, a few
 * milliseconds for 16 sentences). */
#define CHUNK_TEXTS 16

struct provider_bert {
        struct provider base;
        char name[128];
        struct bert_model *model;
        size_t dim;
        pthread_mutex_t lock;
        pthread_cond_t freed;     /* a working memory went back to idle */
        struct bert_work **works; /* threads of them */
        size_t nworks;
        struct bert_work **idle; /* a stack of the works not in use */
        size_t nidle;
};

/* A working memory, waiting for one until @p deadline_ms (unix ms; 0: no
 * deadline); NULL when the deadline passed first. */
static struct bert_work *work_get(struct provider_bert *pb, int64_t deadline_ms)
{
        struct bert_work *w = NULL;

        pthread_mutex_lock(&pb->lock);
        while (pb->nidle == 0) {
                int64_t left = cairn_deadline_remaining_ms(deadline_ms, cairn_now_ms());
                struct timespec until;

                if (left <= 0)
                        break;
                if (left == INT64_MAX) {
                        pthread_cond_wait(&pb->freed, &pb->lock);
                        continue;
                }
                until = cairn_timespec_in(CLOCK_MONOTONIC, left * 1000);
                pthread_cond_timedwait(&pb->freed, &pb->lock, &until);
        }
        if (pb->nidle > 0)
                w = pb->idle[--pb->nidle];
        pthread_mutex_unlock(&pb->lock);
        return w;
}

static void work_put(struct provider_bert *pb, struct bert_work *w)
{
        pthread_mutex_lock(&pb->lock);
        pb->idle[pb->nidle++] = w;
        pthread_cond_signal(&pb->freed);
        pthread_mutex_unlock(&pb->lock);
}

static cairn_err_t bert_provider_embed(struct provider *p, struct provider_batch *b,
                                       struct cairn_status *st)
{
        struct provider_bert *pb = (struct provider_bert *)p;
        struct bert_work *w;
        uint64_t tokens = 0;
        int rc;

        /* The service asks a non-lexical model for its own size only. */
        if (b->dim != pb->dim)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "dimensions", "INVALID_DIMENSIONS",
                                        "dimensions: %zu is not %zu, the only size of model %s",
                                        b->dim, pb->dim, pb->name);
        b->tokens = 0;
        w = work_get(pb, b->deadline_ms);
        if (!w)
                return cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, "DEADLINE",
                                        "the request's deadline passed while it waited for "
                                        "model %s (all its threads busy)",
                                        pb->name);
        for (size_t at = 0; at < b->n; at += CHUNK_TEXTS) {
                size_t n = b->n - at < CHUNK_TEXTS ? b->n - at : CHUNK_TEXTS;
                uint64_t chunk_tokens = 0;

                if (at > 0 && cairn_deadline_remaining_ms(b->deadline_ms, cairn_now_ms()) <= 0) {
                        work_put(pb, w);
                        return cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, "DEADLINE",
                                                "the request's deadline passed after %zu of its "
                                                "%zu texts (model %s)",
                                                at, b->n, pb->name);
                }
                rc = bert_embed(pb->model, w, b->texts + at, b->lens + at, n, b->out + at * pb->dim,
                                &chunk_tokens);
                if (rc != 0) {
                        work_put(pb, w);
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of memory embedding %zu texts with model %s",
                                                b->n, pb->name);
                }
                for (size_t i = 0; b->text_tokens && i < n; i++)
                        b->text_tokens[at + i] = (uint32_t)bert_work_text_tokens(w, i);
                tokens += chunk_tokens;
        }
        work_put(pb, w);
        b->text_tokens_set = b->text_tokens != NULL;
        b->tokens = tokens;
        return CAIRN_OK;
}

static uint64_t bert_provider_count_tokens(struct provider *p, const char *const *texts,
                                           const size_t *lens, size_t n)
{
        struct provider_bert *pb = (struct provider_bert *)p;
        size_t max = pb->model->conf.max_seq_length, got;
        struct bert_tokenizer_scratch *scr = bert_tokenizer_scratch_new();
        int32_t *ids = malloc(max * sizeof(*ids));
        uint64_t total = 0;

        for (size_t i = 0; scr && ids && i < n; i++) {
                if (bert_tokenize(pb->model->tok, scr, texts[i], lens[i], ids, max, &got, NULL) !=
                    0)
                        break;
                total += got;
        }
        free(ids);
        bert_tokenizer_scratch_free(scr);
        return total;
}

static void bert_provider_free(struct provider *p)
{
        struct provider_bert *pb = (struct provider_bert *)p;

        for (size_t i = 0; i < pb->nworks; i++)
                bert_work_free(pb->works[i]);
        free(pb->works);
        free(pb->idle);
        bert_model_free(pb->model);
        pthread_cond_destroy(&pb->freed);
        pthread_mutex_destroy(&pb->lock);
        free(pb);
}

static const struct provider_ops bert_ops = {
        .kind = "bert",
        .embed = bert_provider_embed,
        .free = bert_provider_free,
        .count_tokens = bert_provider_count_tokens,
};

struct provider *provider_bert_new(const struct provider_bert_conf *conf, size_t *dim, char *errstr,
                                   size_t errstr_size)
{
        struct provider_bert *pb;
        char why[1024];
        pthread_condattr_t ca;

        if (!conf->dir || !conf->dir[0]) {
                snprintf(errstr, errstr_size,
                         "config: %s: empty; model %s needs its sentence-transformers directory",
                         conf->key, conf->name);
                return NULL;
        }
        pb = calloc(1, sizeof(*pb));
        if (!pb) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        pb->base.ops = &bert_ops;
        snprintf(pb->base.kind, sizeof(pb->base.kind), "bert");
        snprintf(pb->name, sizeof(pb->name), "%s", conf->name);
        pthread_mutex_init(&pb->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&pb->freed, &ca);
        pthread_condattr_destroy(&ca);
        pb->model = bert_model_load(conf->dir, why, sizeof(why));
        if (!pb->model) {
                snprintf(errstr, errstr_size, "config: %s: model %s cannot be loaded: %s",
                         conf->key, conf->name, why);
                bert_provider_free(&pb->base);
                return NULL;
        }
        pb->dim = pb->model->conf.hidden_size;
        /* See the head of this file: parallelism is the pool's, not BLAS's. */
        openblas_set_num_threads(1);
        pb->works = calloc(conf->threads, sizeof(*pb->works));
        pb->idle = calloc(conf->threads, sizeof(*pb->idle));
        if (!pb->works || !pb->idle) {
                snprintf(errstr, errstr_size, "out of memory");
                bert_provider_free(&pb->base);
                return NULL;
        }
        for (size_t i = 0; i < conf->threads; i++) {
                pb->works[i] = bert_work_new(pb->model);
                if (!pb->works[i]) {
                        snprintf(errstr, errstr_size, "out of memory");
                        bert_provider_free(&pb->base);
                        return NULL;
                }
                pb->nworks++;
                pb->idle[pb->nidle++] = pb->works[i];
        }
        cairn_log(INFO, "BERT",
                  "%s loaded from %s: projections on the %s kernel, attention on OpenBLAS's %s "
                  "kernels, threads: %zu",
                  conf->name, conf->dir, bert_gemm_kernel(), cairn_blas_corename(), conf->threads);
        *dim = pb->dim;
        return &pb->base;
}

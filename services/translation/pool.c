/* Lending pipelines of one language pair (pool.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "pool.h"

static struct cairn_series *series(struct cairn_metric *m, const char *pair)
{
        return m ? cairn_metric_series(m, (const char *const[]){ pair }) : NULL;
}

int tr_pool_init(struct tr_pool *pool, const struct tr_mode *mode, size_t size,
                 struct cairn_metrics *metrics)
{
        const char *const labels[] = { "pair", NULL };

        memset(pool, 0, sizeof(*pool));
        pool->mode = mode;
        pool->size = size;
        pool->slots = calloc(size, sizeof(*pool->slots));
        pool->lent = calloc(size, sizeof(*pool->lent));
        if (!pool->slots || !pool->lent) {
                free(pool->slots);
                free(pool->lent);
                return -1;
        }
        for (size_t i = 0; i < size; i++)
                pool->slots[i].in_fd = pool->slots[i].out_fd = -1;
        pthread_mutex_init(&pool->mu, NULL);
        pthread_cond_init(&pool->freed, NULL);
        if (metrics) {
                pool->m_starts =
                        series(cairn_metrics_counter(metrics,
                                                     "cairn_translation_pipeline_starts_total",
                                                     "Apertium pipelines started, by language pair",
                                                     labels),
                               mode->name);
                pool->m_failures = series(
                        cairn_metrics_counter(
                                metrics, "cairn_translation_pipeline_failures_total",
                                "Apertium pipelines that crashed, hung or flooded their output "
                                "and were stopped, by language pair",
                                labels),
                        mode->name);
                pool->m_running =
                        series(cairn_metrics_gauge(metrics, "cairn_translation_pipelines_running",
                                                   "Apertium pipelines running, by language pair",
                                                   labels),
                               mode->name);
                pool->m_busy = series(
                        cairn_metrics_gauge(metrics, "cairn_translation_pipelines_busy",
                                            "Apertium pipelines translating now, by language pair",
                                            labels),
                        mode->name);
        }
        return 0;
}

static size_t count_running(const struct tr_pool *pool)
{
        size_t n = 0;

        for (size_t i = 0; i < pool->size; i++)
                n += pool->slots[i].running;
        return n;
}

static size_t count_lent(const struct tr_pool *pool)
{
        size_t n = 0;

        for (size_t i = 0; i < pool->size; i++)
                n += pool->lent[i];
        return n;
}

/* Gauges from the slots; under the lock. */
static void gauges(struct tr_pool *pool)
{
        if (pool->m_running)
                cairn_series_set(pool->m_running, (double)count_running(pool));
        if (pool->m_busy)
                cairn_series_set(pool->m_busy, (double)count_lent(pool));
}

void tr_pool_cleanup(struct tr_pool *pool)
{
        if (!pool->slots)
                return;
        for (size_t i = 0; i < pool->size; i++)
                tr_pipeline_stop(&pool->slots[i]);
        pthread_mutex_destroy(&pool->mu);
        pthread_cond_destroy(&pool->freed);
        free(pool->slots);
        free(pool->lent);
        pool->slots = NULL;
}

/* Starts slot @p i's pipeline; the slot is lent to the caller, so the lock
 * is not held. */
static int start_slot(struct tr_pool *pool, size_t i, char *errstr, size_t errstr_size)
{
        char why[200];

        if (tr_pipeline_start(&pool->slots[i], pool->mode, why, sizeof(why)) < 0) {
                snprintf(errstr, errstr_size, "the %s pipeline does not start: %s",
                         pool->mode->name, why);
                return -1;
        }
        if (pool->m_starts)
                cairn_series_inc(pool->m_starts);
        return 0;
}

int tr_pool_warm(struct tr_pool *pool, char *errstr, size_t errstr_size)
{
        int rc = 0;

        pthread_mutex_lock(&pool->mu);
        pool->warm = true;
        pthread_mutex_unlock(&pool->mu);
        for (size_t i = 0; i < pool->size && rc == 0; i++) {
                pthread_mutex_lock(&pool->mu);
                if (pool->lent[i] || pool->slots[i].running) {
                        pthread_mutex_unlock(&pool->mu);
                        continue;
                }
                pool->lent[i] = true;
                pthread_mutex_unlock(&pool->mu);
                rc = start_slot(pool, i, errstr, errstr_size);
                pthread_mutex_lock(&pool->mu);
                pool->lent[i] = false;
                gauges(pool);
                pthread_cond_broadcast(&pool->freed);
                pthread_mutex_unlock(&pool->mu);
        }
        return rc;
}

/* A stopped pipeline that was lent: counted and logged. */
static void count_failure(struct tr_pool *pool, struct tr_pipeline *p)
{
        cairn_log(WARN, "POOL", "%s pipeline stopped: %s", pool->mode->name,
                  p->why[0] ? p->why : "unknown reason");
        if (pool->m_failures)
                cairn_series_inc(pool->m_failures);
        p->why[0] = '\0';
}

static void abs_deadline(int64_t deadline_ms, struct timespec *ts)
{
        ts->tv_sec = (time_t)(deadline_ms / 1000);
        ts->tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
}

size_t tr_pool_acquire(struct tr_pool *pool, size_t want, int64_t deadline_ms,
                       struct tr_pipeline **out, cairn_err_t *err, char *why, size_t why_size)
{
        size_t got = 0, idx[64];
        struct timespec ts;

        if (want > sizeof(idx) / sizeof(idx[0]))
                want = sizeof(idx) / sizeof(idx[0]);
        if (want == 0)
                want = 1;
        abs_deadline(deadline_ms, &ts);
        pthread_mutex_lock(&pool->mu);
        for (;;) {
                /* running idle pipelines first, then slots to start */
                for (int pass = 0; pass < 2 && got < want; pass++)
                        for (size_t i = 0; i < pool->size && got < want; i++)
                                if (!pool->lent[i] && pool->slots[i].running == (pass == 0)) {
                                        pool->lent[i] = true;
                                        idx[got++] = i;
                                }
                if (got > 0)
                        break;
                if (deadline_ms && cairn_now_ms() >= deadline_ms) {
                        pthread_mutex_unlock(&pool->mu);
                        *err = CAIRN_ERR_DEADLINE;
                        snprintf(why, why_size,
                                 "every %s pipeline stayed busy until the request's deadline",
                                 pool->mode->name);
                        return 0;
                }
                if (deadline_ms)
                        pthread_cond_timedwait(&pool->freed, &pool->mu, &ts);
                else
                        pthread_cond_wait(&pool->freed, &pool->mu);
        }
        gauges(pool);
        pthread_mutex_unlock(&pool->mu);

        /* start what is not running, outside the lock */
        size_t kept = 0;

        for (size_t k = 0; k < got; k++) {
                size_t i = idx[k];

                /* a stage may have ended since the last use */
                if (pool->slots[i].running && !tr_pipeline_alive(&pool->slots[i]))
                        count_failure(pool, &pool->slots[i]);
                if (!pool->slots[i].running && start_slot(pool, i, why, why_size) < 0) {
                        pthread_mutex_lock(&pool->mu);
                        pool->lent[i] = false;
                        pthread_cond_broadcast(&pool->freed);
                        pthread_mutex_unlock(&pool->mu);
                        continue;
                }
                out[kept++] = &pool->slots[i];
        }
        if (kept == 0)
                *err = CAIRN_ERR_UNAVAILABLE;
        pthread_mutex_lock(&pool->mu);
        gauges(pool);
        pthread_mutex_unlock(&pool->mu);
        return kept;
}

/* Slot @p i, lent to the caller, back to the pool: started again first
 * when the pool is warm. */
static void give_back(struct tr_pool *pool, size_t i)
{
        bool warm;

        pthread_mutex_lock(&pool->mu);
        warm = pool->warm;
        pthread_mutex_unlock(&pool->mu);
        if (warm && !pool->slots[i].running) {
                char why[256];

                if (start_slot(pool, i, why, sizeof(why)) < 0)
                        cairn_log(ERROR, "POOL", "%s", why);
        }
        pthread_mutex_lock(&pool->mu);
        pool->lent[i] = false;
        gauges(pool);
        pthread_cond_broadcast(&pool->freed);
        pthread_mutex_unlock(&pool->mu);
}

void tr_pool_release(struct tr_pool *pool, struct tr_pipeline *const *ps, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                if (!ps[k]->running)
                        count_failure(pool, ps[k]);
                give_back(pool, (size_t)(ps[k] - pool->slots));
        }
}

/* Whether running pipeline @p p answers a probe (stopped when not). */
static bool probe(struct tr_pipeline *p, const struct tr_run_limits *lim)
{
        struct tr_pipeline *ps[1] = { p };
        struct tr_item item = { .in = "ok", .in_len = 2 };

        tr_pipelines_run(ps, 1, &item, 1, lim);
        cairn_buf_cleanup(&item.out);
        if (item.err && p->running) {
                snprintf(p->why, sizeof(p->why), "%.150s", item.why);
                tr_pipeline_stop(p);
        }
        return item.err == CAIRN_OK;
}

void tr_pool_check(struct tr_pool *pool, const struct tr_run_limits *lim)
{
        for (size_t i = 0; i < pool->size; i++) {
                struct tr_pipeline *p = &pool->slots[i];

                pthread_mutex_lock(&pool->mu);
                if (pool->lent[i]) {
                        pthread_mutex_unlock(&pool->mu);
                        continue;
                }
                pool->lent[i] = true;
                pthread_mutex_unlock(&pool->mu);
                if (p->running && (!tr_pipeline_alive(p) || !probe(p, lim)))
                        count_failure(pool, p);
                give_back(pool, i);
        }
}

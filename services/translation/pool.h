/* The pipelines of one language pair: a fixed number of slots, each a
 * pipeline started on first use (or at start when preloaded), lent to one
 * request at a time and started again after it stopped (a crash, a hang, a
 * flood). */
#ifndef TRANSLATION_POOL_H
#define TRANSLATION_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "modes.h"
#include "pipeline.h"

struct cairn_metrics;
struct cairn_series;

struct tr_pool {
        const struct tr_mode *mode; /* borrowed */
        pthread_mutex_t mu;
        pthread_cond_t freed;
        size_t size;
        struct tr_pipeline *slots;
        bool *lent;
        bool warm; /* restart dead pipelines without waiting for a request */
        struct cairn_series *m_starts, *m_failures, *m_running, *m_busy;
};

/* Sets up @p size slots for @p mode (borrowed), none started yet. Series
 * cairn_translation_pipeline_*{pair} go to @p metrics (may be NULL).
 * Returns 0, or -1 out of memory. */
int tr_pool_init(struct tr_pool *pool, const struct tr_mode *mode, size_t size,
                 struct cairn_metrics *metrics);

/* Stops every pipeline (none may be lent) and frees the slots. */
void tr_pool_cleanup(struct tr_pool *pool);

/* Starts every slot's pipeline now and keeps them running (the health
 * check restarts dead ones). Returns 0, or -1 with @p errstr when one does
 * not start. */
int tr_pool_warm(struct tr_pool *pool, char *errstr, size_t errstr_size);

/* Lends between 1 and @p want running pipelines into @p out: waits for the
 * first until @p deadline_ms (realtime; 0: no bound), takes more only when
 * idle. Returns how many; 0 with @p err and @p why set when none could be
 * had (deadline, or the pipeline does not start). */
size_t tr_pool_acquire(struct tr_pool *pool, size_t want, int64_t deadline_ms,
                       struct tr_pipeline **out, cairn_err_t *err, char *why, size_t why_size);

/* Gives back what tr_pool_acquire lent. A pipeline that stopped while lent
 * is counted as a failure, with its reason logged, and starts again on
 * next use (at once when the pool is warm). */
void tr_pool_release(struct tr_pool *pool, struct tr_pipeline *const *ps, size_t n);

/* The health check: each idle pipeline translates a probe within @p lim;
 * one whose processes ended or that does not answer (a stage stopped or
 * stuck) is stopped and counted, and started again when the pool is warm. */
void tr_pool_check(struct tr_pool *pool, const struct tr_run_limits *lim);

#endif

/* Counting semaphores that never wait; see cairn/bulkhead.h. */
#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cairn/bulkhead.h"
#include "cairn/metrics.h"

struct cairn_bulkhead {
        char name[128];
        int max;
        atomic_int inflight;
        struct cairn_series *s_inflight;
        struct cairn_series *s_rejected;
};

static struct cairn_metric *family_inflight(struct cairn_metrics *reg)
{
        return cairn_metrics_gauge(reg, "cairn_bulkhead_inflight",
                                   "Calls in flight per dependency (bulkhead slots taken)",
                                   (const char *[]){ "dependency", NULL });
}

static struct cairn_metric *family_rejected(struct cairn_metrics *reg)
{
        return cairn_metrics_counter(reg, "cairn_bulkhead_rejected_total",
                                     "Calls failed fast because the bulkhead was full",
                                     (const char *[]){ "dependency", NULL });
}

void cairn_bulkhead_metrics_register(struct cairn_metrics *metrics)
{
        family_inflight(metrics);
        family_rejected(metrics);
}

struct cairn_bulkhead *cairn_bulkhead_new(const char *name, int max_concurrent,
                                          struct cairn_metrics *metrics)
{
        struct cairn_bulkhead *bh = calloc(1, sizeof(*bh));

        if (!bh)
                abort();
        snprintf(bh->name, sizeof(bh->name), "%s", name);
        bh->max = max_concurrent > 0 ? max_concurrent : 0;
        atomic_init(&bh->inflight, 0);
        if (metrics) {
                bh->s_inflight = cairn_metric_series(family_inflight(metrics),
                                                     (const char *[]){ name });
                bh->s_rejected = cairn_metric_series(family_rejected(metrics),
                                                     (const char *[]){ name });
        }
        return bh;
}

void cairn_bulkhead_free(struct cairn_bulkhead *bh)
{
        free(bh);
}

bool cairn_bulkhead_acquire(struct cairn_bulkhead *bh)
{
        int cur = atomic_load(&bh->inflight);

        do {
                if (bh->max > 0 && cur >= bh->max) {
                        if (bh->s_rejected)
                                cairn_series_inc(bh->s_rejected);
                        return false;
                }
        } while (!atomic_compare_exchange_weak(&bh->inflight, &cur, cur + 1));
        if (bh->s_inflight)
                cairn_series_add(bh->s_inflight, 1);
        return true;
}

void cairn_bulkhead_release(struct cairn_bulkhead *bh)
{
        int prev = atomic_fetch_sub(&bh->inflight, 1);

        /* Releasing a slot never taken is a bug. */
        assert(prev > 0);
        (void)prev;
        if (bh->s_inflight)
                cairn_series_add(bh->s_inflight, -1);
}

int cairn_bulkhead_inflight(const struct cairn_bulkhead *bh)
{
        return atomic_load(&((struct cairn_bulkhead *)bh)->inflight);
}

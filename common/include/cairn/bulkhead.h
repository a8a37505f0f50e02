/* A bulkhead per dependency: at most `max_concurrent` calls in flight; the
 * next one fails fast with CAIRN_ERR_EXHAUSTED (RESOURCE_EXHAUSTED: this
 * process's own limit is reached, the dependency itself may be fine), so a
 * slow dependency cannot take every thread and connection with it.
 *
 * Exported as the gauge cairn_bulkhead_inflight{dependency} and the counter
 * cairn_bulkhead_rejected_total{dependency}. Lock-free and thread-safe. */
#ifndef CAIRN_BULKHEAD_H
#define CAIRN_BULKHEAD_H

#include <stdbool.h>

struct cairn_metrics;
struct cairn_bulkhead;

/* @p max_concurrent 0 means no limit. @p name is copied; @p metrics may be
 * NULL, else it must outlive the bulkhead. */
struct cairn_bulkhead *cairn_bulkhead_new(const char *name, int max_concurrent,
                                          struct cairn_metrics *metrics);
void cairn_bulkhead_free(struct cairn_bulkhead *bh);

/* Takes a slot: true, and release it exactly once when the call ends;
 * false when every slot is taken (counted as a rejection). */
bool cairn_bulkhead_acquire(struct cairn_bulkhead *bh);
void cairn_bulkhead_release(struct cairn_bulkhead *bh);

int cairn_bulkhead_inflight(const struct cairn_bulkhead *bh);

/* Registers the bulkhead metric families in @p metrics without a series. */
void cairn_bulkhead_metrics_register(struct cairn_metrics *metrics);

#endif

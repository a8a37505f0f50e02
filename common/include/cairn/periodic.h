/* A job run on a thread of its own every interval, or sooner when woken
 * (after a change that gives it work), until stopped; the stop waits for a
 * run in progress and makes one last run. For a service's background work:
 * sweeps, publishing an outbox. */
#ifndef CAIRN_PERIODIC_H
#define CAIRN_PERIODIC_H

#include <stdbool.h>

struct cairn_periodic;

/* Starts running @p fn(@p arg) every @p interval_ms (from the end of one
 * run to the start of the next); with @p final_run, once more when
 * stopped. Aborts when no thread can be made. */
struct cairn_periodic *cairn_periodic_start(long long interval_ms, void (*fn)(void *arg), void *arg,
                                            bool final_run);

/* Runs it as soon as the current wait or run ends. Any thread; NULL is fine. */
void cairn_periodic_wake(struct cairn_periodic *p);

/* Stops it and joins its thread. NULL is fine. */
void cairn_periodic_stop(struct cairn_periodic *p);

#endif

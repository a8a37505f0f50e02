/* Time as Cairn uses it: unix milliseconds for deadlines that cross
 * processes (cairn_deadline), a monotonic clock for durations. */
#ifndef CAIRN_CLOCK_H
#define CAIRN_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t cairn_now_ms(void);  /* realtime, unix milliseconds */
int64_t cairn_now_us(void);  /* realtime, unix microseconds */
int64_t cairn_mono_us(void); /* monotonic microseconds */

/* The time @p us microseconds from now on @p clock: the deadline of a
 * pthread_cond_timedwait() on a condition variable of that clock (a
 * negative @p us: now). */
struct timespec cairn_timespec_in(clockid_t clock, int64_t us);

/* RFC 3339 UTC time with milliseconds, e.g. 2026-11-23T16:30:07.123Z. */
void cairn_rfc3339(int64_t unix_ms, char out[32]);

/* Milliseconds left until @p deadline_ms (unix ms) at @p now_ms; 0 means no
 * deadline, so the result is INT64_MAX; an expired deadline gives <= 0. */
int64_t cairn_deadline_remaining_ms(int64_t deadline_ms, int64_t now_ms);

#endif

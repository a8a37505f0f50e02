/* Wall-clock and monotonic time, and deadline arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cairn/clock.h"

int64_t cairn_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cairn_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct timespec cairn_timespec_in(clockid_t clock, int64_t us)
{
        struct timespec ts;
        int64_t ns;

        if (us < 0) /* already past: now */
                us = 0;
        clock_gettime(clock, &ts);
        ns = ts.tv_nsec + us % 1000000 * 1000;
        ts.tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        return ts;
}

int64_t cairn_mono_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void cairn_rfc3339(int64_t unix_ms, char out[32])
{
        time_t secs = (time_t)(unix_ms / 1000);
        struct tm tm;

        unsigned ms = (unsigned)(unix_ms % 1000) % 1000u;
        size_t n;

        gmtime_r(&secs, &tm);
        n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out + n, 32 - n, ".%03uZ", ms);
}

int64_t cairn_deadline_remaining_ms(int64_t deadline_ms, int64_t now_ms)
{
        if (deadline_ms == 0)
                return INT64_MAX;
        return deadline_ms - now_ms;
}

/* Retries with exponential backoff and full jitter, bounded by a maximum
 * number of attempts and by the request's deadline, for the error codes a
 * dependency names as retryable.
 *
 * The decisions are pure functions of their arguments (attempt number,
 * error, remaining budget, a random number), so they are tested without
 * clocks or sleeping; the caller owns the waiting. */
#ifndef CAIRN_RETRY_H
#define CAIRN_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"

struct cairn_retry_policy {
        int max_attempts;  /* attempts in all, the first included; 1 = never retry */
        int64_t base_ms;   /* backoff ceiling of the first retry */
        int64_t cap_ms;    /* the ceiling never grows past this */
        uint32_t retry_on; /* bit (1u << code) per retryable cairn_err_t */
};

/* A source of uniformly distributed 64-bit numbers. */
typedef uint64_t (*cairn_rand_fn)(void *opaque);

/* The process's default source: a per-thread generator seeded from the
 * clock and the thread; not for cryptography. @p opaque is unused. */
uint64_t cairn_retry_rand(void *opaque);

/* The bit of @p err in a retry_on mask. */
#define CAIRN_RETRY_BIT(err) (1u << (unsigned)(err))

/* True when @p err is in @p p's retryable set (CAIRN_OK never is). */
bool cairn_retry_retryable(const struct cairn_retry_policy *p, cairn_err_t err);

/* The backoff ceiling before retry number @p retry (1 for the first retry):
 * min(cap_ms, base_ms * 2^(retry - 1)), without overflow. */
int64_t cairn_retry_ceiling_ms(const struct cairn_retry_policy *p, int retry);

/* Full jitter: a delay uniformly drawn from [0, ceiling] using @p rnd. */
int64_t cairn_retry_backoff_ms(const struct cairn_retry_policy *p, int retry, uint64_t rnd);

/* Decides what follows attempt number @p attempts (1 = the first) that
 * failed with @p err, when @p remaining_ms of the request's budget is left
 * (INT64_MAX: no deadline) and an attempt needs at least @p need_ms to be
 * worth starting. Returns the delay in ms before the next attempt, or -1:
 * do not retry (not retryable, attempts used up, or the budget left after
 * the delay cannot cover another attempt). Draws one number from @p rand. */
int64_t cairn_retry_next(const struct cairn_retry_policy *p, int attempts, cairn_err_t err,
                         int64_t remaining_ms, int64_t need_ms, cairn_rand_fn rand, void *opaque);

/* Parses a comma-separated list of gRPC code names ("UNAVAILABLE,
 * DEADLINE_EXCEEDED"; cairn/strlist.h, empty means none) into a retry_on
 * mask. Returns 0, or -1 with the offending name in @p errstr. */
int cairn_retry_parse_codes(const char *list, uint32_t *mask, char *errstr, size_t errstr_size);

#endif

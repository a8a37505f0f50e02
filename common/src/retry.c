/* Backoff arithmetic and retry decisions; see cairn/retry.h. Nothing here
 * sleeps or reads a clock. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/retry.h"
#include "cairn/strlist.h"

/* splitmix64: small, fast and good enough to spread retries apart. */
static uint64_t splitmix64(uint64_t *state)
{
        uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
}

uint64_t cairn_retry_rand(void *opaque)
{
        static __thread uint64_t state;
        static __thread int seeded;

        (void)opaque;
        if (!seeded) {
                state = (uint64_t)cairn_mono_us() ^ ((uint64_t)(uintptr_t)&state << 16) ^
                        (uint64_t)pthread_self();
                seeded = 1;
        }
        return splitmix64(&state);
}

bool cairn_retry_retryable(const struct cairn_retry_policy *p, cairn_err_t err)
{
        int code = (int)err;

        if (code <= CAIRN_OK || code >= CAIRN_ERR__COUNT)
                return false;
        return (p->retry_on & CAIRN_RETRY_BIT(err)) != 0;
}

int64_t cairn_retry_ceiling_ms(const struct cairn_retry_policy *p, int retry)
{
        int64_t c = p->base_ms > 0 ? p->base_ms : 0;
        int64_t cap = p->cap_ms > 0 ? p->cap_ms : 0;

        if (c > cap)
                c = cap;
        /* Doubling stops at the cap, so it never overflows. */
        for (int i = 1; i < retry && c < cap; i++)
                c = c > cap / 2 ? cap : c * 2;
        return c;
}

int64_t cairn_retry_backoff_ms(const struct cairn_retry_policy *p, int retry, uint64_t rnd)
{
        int64_t ceiling = cairn_retry_ceiling_ms(p, retry);

        /* Inclusive of the ceiling: ceiling + 1 outcomes. */
        return (int64_t)(rnd % ((uint64_t)ceiling + 1));
}

int64_t cairn_retry_next(const struct cairn_retry_policy *p, int attempts, cairn_err_t err,
                         int64_t remaining_ms, int64_t need_ms, cairn_rand_fn rand, void *opaque)
{
        int64_t delay;

        if (!cairn_retry_retryable(p, err) || attempts >= p->max_attempts)
                return -1;
        if (need_ms < 1)
                need_ms = 1;
        delay = cairn_retry_backoff_ms(p, attempts, rand(opaque));
        /* The next attempt must start with at least need_ms left. */
        if (remaining_ms - need_ms < delay)
                return -1;
        return delay;
}

int cairn_retry_parse_codes(const char *list, uint32_t *mask, char *errstr, size_t errstr_size)
{
        struct cairn_strlist it;
        const char *p;
        size_t n;
        uint32_t m = 0;

        cairn_strlist_init(&it, list, list ? strlen(list) : 0);
        while (cairn_strlist_next(&it, &p, &n)) {
                char name[32];
                int code;

                if (n == 0)
                        continue;
                if (n >= sizeof(name)) {
                        snprintf(errstr, errstr_size, "\"%.*s\" is not a gRPC code name",
                                 (int)(n > 40 ? 40 : n), p);
                        return -1;
                }
                memcpy(name, p, n);
                name[n] = '\0';
                code = cairn_err_from_str(name);
                if (code <= 0) {
                        snprintf(errstr, errstr_size,
                                 "\"%s\" is not a retryable gRPC code name (e.g. UNAVAILABLE, "
                                 "DEADLINE_EXCEEDED)",
                                 name);
                        return -1;
                }
                m |= CAIRN_RETRY_BIT(code);
        }
        *mask = m;
        return 0;
}

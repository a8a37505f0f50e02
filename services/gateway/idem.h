/* Idempotency keys over Redis: a replayed request gets the stored answer
 * (idem.c). */
#ifndef CAIRN_GATEWAY_IDEM_H
#define CAIRN_GATEWAY_IDEM_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/redis.h"

enum gw_idem_state {
        GW_IDEM_NEW,         /* first time: go ahead, then gw_idem_store() */
        GW_IDEM_REPLAY,      /* same key and body: send the stored response */
        GW_IDEM_MISMATCH,    /* same key, other body: 422 */
        GW_IDEM_IN_PROGRESS, /* the first request still runs: 409 */
        GW_IDEM_UNAVAILABLE, /* Redis unreachable: go ahead without */
};

struct gw_idem_hit {
        int status;
        char *body; /* malloc'ed; caller frees */
        size_t len;
};

/* Claims @p key for this tenant and body hash. */
enum gw_idem_state gw_idem_begin(struct cairn_redis *redis, const char *tenant, const char *key,
                                 const char *body_hash, long long ttl_s, struct gw_idem_hit *hit);
/* Stores the response of a claimed key (or, for @p status >= 500, releases
 * the claim so a retry runs again). */
void gw_idem_finish(struct cairn_redis *redis, const char *tenant, const char *key,
                    const char *body_hash, long long ttl_s, int status, const char *body,
                    size_t len);
/* True when @p key is usable: 1..255 printable ASCII bytes. */
bool gw_idem_key_valid(const char *key);

#endif

/* Verified JWTs kept by their full text, so a repeated token skips parsing
 * and the signature check; exp and nbf are checked on every use
 * (jwt_cache.c). */
#ifndef CAIRN_GATEWAY_JWT_CACHE_H
#define CAIRN_GATEWAY_JWT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

struct cairn_metrics;

/* A token's time claims (unix seconds). */
struct gw_jwt_times {
        bool has_exp, has_nbf;
        double exp, nbf;
};

/* NULL when @p t holds at @p now, with @p skew_s of leeway either way; else
 * why not ("token expired", ...). */
const char *gw_jwt_times_refuse(const struct gw_jwt_times *t, int64_t now, long long skew_s);

struct gw_jwt_cache;

/* A cache of @p entries verified tokens (rounded up to a power of two);
 * NULL (every call a no-op) for 0. Thread-safe. */
struct gw_jwt_cache *gw_jwt_cache_new(size_t entries);
void gw_jwt_cache_metrics(struct gw_jwt_cache *c, struct cairn_metrics *reg);
void gw_jwt_cache_free(struct gw_jwt_cache *c);
/* True, with @p who, when @p token was verified before and its time claims
 * hold at @p now; a cached token whose time claims no longer hold is
 * dropped. */
bool gw_jwt_cache_get(struct gw_jwt_cache *c, const char *token, size_t len, int64_t now,
                      long long skew_s, struct gw_principal *who);
/* Keeps @p token, which passed every check, granting @p who. */
void gw_jwt_cache_put(struct gw_jwt_cache *c, const char *token, size_t len,
                      const struct gw_principal *who, const struct gw_jwt_times *t);

#endif

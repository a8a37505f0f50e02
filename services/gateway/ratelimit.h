/* Rate limits per principal and route class: token buckets in Redis (a Lua
 * script), with a per-process fallback when Redis is down (ratelimit.c). */
#ifndef CAIRN_GATEWAY_RATELIMIT_H
#define CAIRN_GATEWAY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "cairn/redis.h"
#include "conf.h"

struct cairn_metrics;

/* The outcome of one check, for the RateLimit-* headers. */
struct gw_rl_result {
        bool allowed;
        bool limited;    /* some limit applies (headers are sent) */
        bool degraded;   /* Redis was unreachable; decided locally or refused */
        long long limit; /* of the tightest window */
        long long remaining;
        long long reset_s;       /* until that window's bucket is full again */
        long long retry_after_s; /* when refused: until one request fits */
};

struct gw_ratelimit;

struct gw_ratelimit *gw_ratelimit_new(const struct gateway_ratelimit_conf *rlconf,
                                      struct cairn_redis *redis, struct cairn_metrics *metrics);
void gw_ratelimit_free(struct gw_ratelimit *rl);
/* The limits of a class: its own settings where given (>= 0), else the defaults. */
struct gw_limits gw_ratelimit_limits(const struct gw_ratelimit *rl, const struct gw_limits *own);
/* Takes one token for @p principal on the class @p cls_name with @p own
 * limits (-1: the default). Thread-safe; blocks at most the Redis timeouts. */
void gw_ratelimit_take(struct gw_ratelimit *rl, const char *tenant, const char *principal,
                       const char *cls_name, const struct gw_limits *own, struct gw_rl_result *out);

/* The in-process token bucket (also the fallback when Redis is down):
 * @p tokens and @p stamp_ms are the bucket's state, updated in place. */
bool gw_bucket_take(double *tokens, int64_t *stamp_ms, long long limit, int64_t window_ms,
                    int64_t now_ms, double *remaining, int64_t *retry_ms, int64_t *full_ms);

#endif

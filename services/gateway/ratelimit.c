/* Rate limits: a token bucket per principal, route class and window (a
 * minute and an hour), kept in Redis and updated by one Lua script so that
 * every gateway replica draws from the same buckets. When Redis cannot be
 * reached the limiter fails open to the same buckets kept in this process
 * (each replica then allows the full rate), or fails closed; either way a
 * metric and a log line say so, and Redis is used again once it answers. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "ratelimit.h"

#define MINUTE_MS 60000LL
#define HOUR_MS   3600000LL
#define NBUCKETS  4096

/* KEYS[1], KEYS[2]: the minute and hour buckets; ARGV[1], ARGV[2]: their
 * limits (0: none). Refills by elapsed time (Redis's clock, so replicas
 * agree), takes one token from every limited bucket only when all have one.
 * Returns {allowed, limit, remaining, reset_ms, retry_ms} of the tightest. */
static const char bucket_lua[] =
        "local t = redis.call('TIME')\n"
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "local windows = {60000, 3600000}\n"
        "local allowed, retry = 1, 0\n"
        "local st = {}\n"
        "for i = 1, 2 do\n"
        "  local limit = tonumber(ARGV[i])\n"
        "  if limit > 0 then\n"
        "    local h = redis.call('HMGET', KEYS[i], 'tokens', 'ts')\n"
        "    local tokens, ts = tonumber(h[1]), tonumber(h[2])\n"
        "    if tokens == nil or ts == nil then tokens = limit; ts = now end\n"
        "    local rate = limit / windows[i]\n"
        "    tokens = math.min(limit, tokens + math.max(0, now - ts) * rate)\n"
        "    if tokens < 1 then\n"
        "      allowed = 0\n"
        "      local wait = math.ceil((1 - tokens) / rate)\n"
        "      if wait > retry then retry = wait end\n"
        "    end\n"
        "    st[i] = {tokens, rate, limit}\n"
        "  end\n"
        "end\n"
        "local best_rem, best_lim, best_reset = -1, 0, 0\n"
        "for i = 1, 2 do\n"
        "  local s = st[i]\n"
        "  if s then\n"
        "    local tokens = s[1]\n"
        "    if allowed == 1 then tokens = tokens - 1 end\n"
        "    redis.call('HSET', KEYS[i], 'tokens', string.format('%.6f', tokens), 'ts', now)\n"
        "    redis.call('PEXPIRE', KEYS[i], windows[i])\n"
        "    local rem = math.floor(tokens)\n"
        "    if best_rem < 0 or rem < best_rem then\n"
        "      best_rem = rem; best_lim = s[3]; best_reset = math.ceil((s[3] - tokens) / s[2])\n"
        "    end\n"
        "  end\n"
        "end\n"
        "return {allowed, best_lim, best_rem, best_reset, retry}\n";

struct local_bucket {
        char *key;
        double tokens[2];
        int64_t stamp_ms[2];
        struct local_bucket *next;
};

struct gw_ratelimit {
        const struct gateway_ratelimit_conf *conf;
        struct cairn_redis *redis;
        struct cairn_redis_script script;
        bool fail_closed;

        pthread_mutex_t lock; /* the local buckets */
        struct local_bucket *buckets[NBUCKETS];
        size_t nlocal;

        struct cairn_metric *m_decisions; /* by class, outcome */
        struct cairn_series *s_degraded;  /* decisions made without Redis */
};

/* Adds what @p limit per @p window_ms earned since the last stamp. */
static void refill(double *tokens, int64_t *stamp_ms, long long limit, int64_t window_ms,
                   int64_t now_ms)
{
        double rate = (double)limit / (double)window_ms;
        int64_t elapsed = now_ms - *stamp_ms;

        if (*stamp_ms == 0) {
                *tokens = (double)limit;
                elapsed = 0;
        }
        if (elapsed < 0)
                elapsed = 0;
        *tokens = fmin((double)limit, *tokens + (double)elapsed * rate);
        *stamp_ms = now_ms;
}

bool gw_bucket_take(double *tokens, int64_t *stamp_ms, long long limit, int64_t window_ms,
                    int64_t now_ms, double *remaining, int64_t *retry_ms, int64_t *full_ms)
{
        double rate = (double)limit / (double)window_ms;
        bool ok;

        refill(tokens, stamp_ms, limit, window_ms, now_ms);
        ok = *tokens >= 1;
        if (ok)
                *tokens -= 1;
        *retry_ms = ok ? 0 : (int64_t)ceil((1 - *tokens) / rate);
        *remaining = floor(*tokens);
        *full_ms = (int64_t)ceil(((double)limit - *tokens) / rate);
        return ok;
}

struct gw_ratelimit *gw_ratelimit_new(const struct gateway_ratelimit_conf *rlconf,
                                      struct cairn_redis *redis, struct cairn_metrics *metrics)
{
        struct gw_ratelimit *rl = calloc(1, sizeof(*rl));

        if (!rl)
                abort();
        rl->conf = rlconf;
        rl->redis = redis;
        rl->fail_closed = strcmp(rlconf->fail_mode, "closed") == 0;
        cairn_redis_script_init(&rl->script, bucket_lua);
        pthread_mutex_init(&rl->lock, NULL);
        rl->m_decisions = cairn_metrics_counter(metrics, "cairn_gateway_ratelimit_total",
                                                "Rate limit decisions, by route class and outcome",
                                                (const char *[]){ "class", "outcome", NULL });
        rl->s_degraded = cairn_metric_series(
                cairn_metrics_counter(metrics, "cairn_gateway_ratelimit_degraded_total",
                                      "Rate limit decisions made without Redis (fail-open "
                                      "locally or fail-closed)",
                                      NULL),
                NULL);
        return rl;
}

static void local_clear(struct gw_ratelimit *rl)
{
        for (size_t i = 0; i < NBUCKETS; i++) {
                struct local_bucket *b = rl->buckets[i], *next;
                for (; b; b = next) {
                        next = b->next;
                        free(b->key);
                        free(b);
                }
                rl->buckets[i] = NULL;
        }
        rl->nlocal = 0;
}

void gw_ratelimit_free(struct gw_ratelimit *rl)
{
        if (!rl)
                return;
        local_clear(rl);
        pthread_mutex_destroy(&rl->lock);
        free(rl);
}

struct gw_limits gw_ratelimit_limits(const struct gw_ratelimit *rl, const struct gw_limits *own)
{
        const struct gateway_ratelimit_conf *c = rl->conf;
        struct gw_limits l = { c->default_per_minute, c->default_per_hour };

        if (own && own->per_minute >= 0)
                l.per_minute = own->per_minute;
        if (own && own->per_hour >= 0)
                l.per_hour = own->per_hour;
        return l;
}

/* The in-process buckets: the same algorithm on this replica alone. */
static void take_local(struct gw_ratelimit *rl, const char *key, struct gw_limits lim,
                       struct gw_rl_result *out)
{
        const long long limits[2] = { lim.per_minute, lim.per_hour };
        const int64_t windows[2] = { MINUTE_MS, HOUR_MS };
        int64_t now = cairn_now_ms();
        size_t h = XXH3_64bits(key, strlen(key)) % NBUCKETS;
        struct local_bucket *b;
        bool allowed = true;
        double rem[2] = { 0, 0 };
        int64_t retry[2] = { 0, 0 }, full[2] = { 0, 0 };

        pthread_mutex_lock(&rl->lock);
        for (b = rl->buckets[h]; b; b = b->next)
                if (strcmp(b->key, key) == 0)
                        break;
        if (!b) {
                if (rl->nlocal >= (size_t)rl->conf->local_max_keys)
                        local_clear(rl);
                b = calloc(1, sizeof(*b));
                if (!b)
                        abort();
                b->key = strdup(key);
                b->next = rl->buckets[h];
                rl->buckets[h] = b;
                rl->nlocal++;
        }
        /* Refill every window, then take from all only when all allow. */
        for (int i = 0; i < 2; i++) {
                if (limits[i] <= 0)
                        continue;
                refill(&b->tokens[i], &b->stamp_ms[i], limits[i], windows[i], now);
                if (b->tokens[i] < 1) {
                        allowed = false;
                        retry[i] = (int64_t)ceil((1 - b->tokens[i]) * (double)windows[i] /
                                                 (double)limits[i]);
                }
        }
        for (int i = 0; i < 2; i++) {
                if (limits[i] <= 0)
                        continue;
                if (allowed)
                        b->tokens[i] -= 1;
                rem[i] = floor(b->tokens[i]);
                full[i] = (int64_t)ceil(((double)limits[i] - b->tokens[i]) * (double)windows[i] /
                                        (double)limits[i]);
        }
        pthread_mutex_unlock(&rl->lock);

        out->allowed = allowed;
        out->remaining = -1;
        for (int i = 0; i < 2; i++) {
                if (limits[i] <= 0)
                        continue;
                if (out->remaining < 0 || (long long)rem[i] < out->remaining) {
                        out->remaining = rem[i] < 0 ? 0 : (long long)rem[i];
                        out->limit = limits[i];
                        out->reset_s = (full[i] + 999) / 1000;
                }
                if ((retry[i] + 999) / 1000 > out->retry_after_s)
                        out->retry_after_s = (retry[i] + 999) / 1000;
        }
        if (!allowed && out->retry_after_s < 1)
                out->retry_after_s = 1;
}

void gw_ratelimit_take(struct gw_ratelimit *rl, const char *tenant, const char *principal,
                       const char *cls_name, const struct gw_limits *own, struct gw_rl_result *out)
{
        struct gw_limits lim = gw_ratelimit_limits(rl, own);
        char base[2 * GW_ID_MAX + 64], kmin[sizeof(base) + 4], khour[sizeof(base) + 4];
        char amin[24], ahour[24], errstr[256];
        const char *outcome;
        redisReply *r;

        memset(out, 0, sizeof(*out));
        out->allowed = true;
        if (!rl->conf->enabled || (lim.per_minute <= 0 && lim.per_hour <= 0))
                return;
        out->limited = true;
        /* The hash tag keeps one principal's buckets in one cluster slot. */
        snprintf(base, sizeof(base), "cairn:rl:{%s/%s}:%s", tenant, principal, cls_name);
        snprintf(kmin, sizeof(kmin), "%s:m", base);
        snprintf(khour, sizeof(khour), "%s:h", base);
        snprintf(amin, sizeof(amin), "%lld", lim.per_minute);
        snprintf(ahour, sizeof(ahour), "%lld", lim.per_hour);

        const char *argv[] = { kmin, khour, amin, ahour };
        r = cairn_redis_eval(rl->redis, &rl->script, 2, 4, argv, errstr, sizeof(errstr));
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 5) {
                long long v[5];
                for (int i = 0; i < 5; i++)
                        v[i] = r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer
                                                                          : 0;
                out->allowed = v[0] == 1;
                out->limit = v[1];
                out->remaining = v[2] < 0 ? 0 : v[2];
                out->reset_s = (v[3] + 999) / 1000;
                out->retry_after_s = out->allowed ? 0 : (v[4] + 999) / 1000;
                if (!out->allowed && out->retry_after_s < 1)
                        out->retry_after_s = 1;
                freeReplyObject(r);
                outcome = out->allowed ? "allowed" : "limited";
        } else {
                if (r) {
                        snprintf(errstr, sizeof(errstr), "unexpected script reply%s%s",
                                 r->type == REDIS_REPLY_ERROR ? ": " : "",
                                 r->type == REDIS_REPLY_ERROR ? r->str : "");
                        freeReplyObject(r);
                }
                out->degraded = true;
                cairn_series_inc(rl->s_degraded);
                cairn_log(DEBUG, "RATE", "rate limit without redis (%s): %s", errstr,
                          rl->fail_closed ? "refusing" : "limiting locally");
                if (rl->fail_closed) {
                        out->allowed = false;
                        out->retry_after_s = 1;
                        outcome = "refused_no_redis";
                } else {
                        take_local(rl, base, lim, out);
                        outcome = out->allowed ? "allowed_local" : "limited_local";
                }
        }
        cairn_metric_inc_l(rl->m_decisions, (const char *[]){ cls_name, outcome });
}

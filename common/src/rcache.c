/* A Redis cache of byte strings (rcache.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/rcache.h"
#include "cairn/redis.h"

static struct cairn_metric *counter(struct cairn_metrics *metrics, const char *prefix,
                                    const char *suffix, const char *help, const char *label)
{
        char name[128];

        snprintf(name, sizeof(name), "%s_%s_total", prefix, suffix);
        return cairn_metrics_counter(metrics, name, help, (const char *const[]){ label, NULL });
}

void cairn_rcache_init(struct cairn_rcache *c, struct cairn_redis *redis, int64_t ttl_s,
                       size_t max_value_bytes, struct cairn_metrics *metrics,
                       const struct cairn_rcache_names *names)
{
        char help[256];

        memset(c, 0, sizeof(*c));
        c->redis = redis;
        c->ttl_s = ttl_s;
        c->max_value_bytes = max_value_bytes;
        if (!metrics)
                return;
        snprintf(help, sizeof(help), "%s whose %s came from the Redis cache", names->items,
                 names->value);
        c->m_hits = counter(metrics, names->metric, "hits", help, names->label);
        snprintf(help, sizeof(help), "%s looked up in the Redis cache and not found", names->items);
        c->m_misses = counter(metrics, names->metric, "misses", help, names->label);
        c->m_errors = counter(metrics, names->metric, "errors",
                              "Cache look-ups or stores skipped because Redis failed or was down "
                              "(the request went on without the cache)",
                              names->label);
}

void cairn_rcache_key(const char *prefix, const char *const *fields, const size_t *lens, size_t n,
                      char out[CAIRN_RCACHE_KEY_MAX])
{
        XXH3_state_t state;
        XXH128_hash_t h;

        XXH3_128bits_reset(&state);
        for (size_t i = 0; i < n; i++) {
                uint64_t len = lens[i];
                uint8_t le[8];

                for (int b = 0; b < 8; b++)
                        le[b] = (uint8_t)(len >> (8 * b));
                XXH3_128bits_update(&state, le, sizeof(le));
                XXH3_128bits_update(&state, fields[i], lens[i]);
        }
        h = XXH3_128bits_digest(&state);
        snprintf(out, CAIRN_RCACHE_KEY_MAX, "%.32s%016llx%016llx", prefix,
                 (unsigned long long)h.high64, (unsigned long long)h.low64);
}

static void count(struct cairn_metric *m, const char *label_value, double v)
{
        if (m && v > 0)
                cairn_metric_add_l(m, (const char *const[]){ label_value }, v);
}

size_t cairn_rcache_get(struct cairn_rcache *c, const char *label_value, const char *const *keys,
                        size_t n,
                        bool (*take)(void *opaque, size_t i, const char *value, size_t len),
                        void *opaque)
{
        const char **argv;
        char errstr[256];
        redisReply *r;
        size_t hits = 0, bad = 0;

        if (!c->redis || n == 0)
                return 0;
        if (cairn_redis_down(c->redis)) {
                count(c->m_errors, label_value, 1);
                return 0;
        }
        argv = malloc((n + 1) * sizeof(*argv));
        if (!argv)
                return 0;
        argv[0] = "MGET";
        for (size_t i = 0; i < n; i++)
                argv[i + 1] = keys[i];
        r = cairn_redis_commandargv(c->redis, (int)(n + 1), argv, NULL, errstr, sizeof(errstr));
        free(argv);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
                count(c->m_errors, label_value, 1);
                cairn_log(DEBUG, "CACHE", "cache look-up skipped: %s",
                          r ? "unexpected MGET reply" : errstr);
                if (r)
                        freeReplyObject(r);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                redisReply *e = r->element[i];

                if (e->type != REDIS_REPLY_STRING)
                        continue;
                if (!take(opaque, i, e->str, e->len)) {
                        bad++;
                        continue;
                }
                hits++;
        }
        freeReplyObject(r);
        count(c->m_hits, label_value, (double)hits);
        count(c->m_misses, label_value, (double)(n - hits));
        count(c->m_errors, label_value, (double)bad);
        return hits;
}

void cairn_rcache_put(struct cairn_rcache *c, const char *label_value, const char *const *keys,
                      const char *const *values, const size_t *lens, size_t n)
{
        size_t m = 0;
        char ttl[24], errstr[256];
        int *argc;
        const char *(*argv)[5];
        size_t(*argvlen)[5];
        const char *const **pargv;
        const size_t **plen;
        redisReply **replies;

        if (!c->redis || n == 0)
                return;
        if (cairn_redis_down(c->redis)) {
                count(c->m_errors, label_value, 1);
                return;
        }
        snprintf(ttl, sizeof(ttl), "%lld", (long long)c->ttl_s);
        argc = calloc(n, sizeof(*argc));
        argv = calloc(n, sizeof(*argv));
        argvlen = calloc(n, sizeof(*argvlen));
        pargv = calloc(n, sizeof(*pargv));
        plen = calloc(n, sizeof(*plen));
        replies = calloc(n, sizeof(*replies));
        if (!argc || !argv || !argvlen || !pargv || !plen || !replies)
                goto out;
        for (size_t i = 0; i < n; i++) {
                if (!values[i] || lens[i] > c->max_value_bytes)
                        continue;
                argc[m] = 5;
                argv[m][0] = "SET";
                argv[m][1] = keys[i];
                argv[m][2] = values[i];
                argv[m][3] = "EX";
                argv[m][4] = ttl;
                argvlen[m][0] = 3;
                argvlen[m][1] = strlen(keys[i]);
                argvlen[m][2] = lens[i];
                argvlen[m][3] = 2;
                argvlen[m][4] = strlen(ttl);
                pargv[m] = argv[m];
                plen[m] = argvlen[m];
                m++;
        }
        if (m == 0)
                goto out;
        if (cairn_redis_pipeline(c->redis, m, argc, pargv, plen, replies, errstr, sizeof(errstr)) !=
            0) {
                count(c->m_errors, label_value, 1);
                cairn_log(DEBUG, "CACHE", "cache store skipped: %s", errstr);
                goto out;
        }
        for (size_t i = 0; i < m; i++) {
                if (replies[i]->type == REDIS_REPLY_ERROR)
                        count(c->m_errors, label_value, 1);
                freeReplyObject(replies[i]);
        }
out:
        free(argc);
        free(argv);
        free(argvlen);
        free(pargv);
        free(plen);
        free(replies);
}

/* Cached vectors in Redis: key derivation, MGET of a batch, pipelined SET
 * EX of the misses, and the counters that say how well it works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "cache.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/redis.h"

#define KEY_PREFIX "cairn:emb:v1:"

void embed_cache_init(struct embed_cache *c, struct cairn_redis *redis, int64_t ttl_s,
                      size_t max_entry_bytes, struct cairn_metrics *metrics)
{
        static const char *const labels[] = { "model", NULL };

        memset(c, 0, sizeof(*c));
        c->redis = redis;
        c->ttl_s = ttl_s;
        c->max_entry_bytes = max_entry_bytes;
        if (!metrics)
                return;
        c->m_hits = cairn_metrics_counter(metrics, "cairn_embedding_cache_hits_total",
                                          "Texts whose vector came from the Redis cache", labels);
        c->m_misses = cairn_metrics_counter(metrics, "cairn_embedding_cache_misses_total",
                                            "Texts looked up in the Redis cache and not found",
                                            labels);
        c->m_errors = cairn_metrics_counter(
                metrics, "cairn_embedding_cache_errors_total",
                "Cache look-ups or stores skipped because Redis failed or was down (the "
                "request went on without the cache)",
                labels);
}

static void update(XXH3_state_t *s, const void *data, size_t len)
{
        uint64_t n = len;
        uint8_t le[8];

        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t)(n >> (8 * i));
        XXH3_128bits_update(s, le, sizeof(le));
        XXH3_128bits_update(s, data, len);
}

void embed_cache_key(const char *provider, const char *upstream_model, size_t dim, const char *text,
                     size_t len, char out[EMBED_CACHE_KEY_LEN])
{
        XXH3_state_t state;
        XXH128_hash_t h;
        char d[24];

        snprintf(d, sizeof(d), "%zu", dim);
        XXH3_128bits_reset(&state);
        update(&state, provider, strlen(provider));
        update(&state, upstream_model, strlen(upstream_model));
        update(&state, d, strlen(d));
        update(&state, text, len);
        h = XXH3_128bits_digest(&state);
        snprintf(out, EMBED_CACHE_KEY_LEN, KEY_PREFIX "%016llx%016llx",
                 (unsigned long long)h.high64, (unsigned long long)h.low64);
}

static void count(struct cairn_metric *m, const char *model, double v)
{
        if (m && v > 0)
                cairn_metric_add_l(m, (const char *const[]){ model }, v);
}

size_t embed_cache_get(struct embed_cache *c, const char *model, char (*keys)[EMBED_CACHE_KEY_LEN],
                       size_t n, size_t dim, float *out, bool *found)
{
        const char **argv;
        char errstr[256];
        redisReply *r;
        size_t hits = 0, bad = 0;

        for (size_t i = 0; i < n; i++)
                found[i] = false;
        if (!c->redis || n == 0)
                return 0;
        if (cairn_redis_down(c->redis)) {
                count(c->m_errors, model, 1);
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
                count(c->m_errors, model, 1);
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
                if (e->len != dim * sizeof(float)) {
                        bad++;
                        continue;
                }
                /* Stored little-endian; this is a little-endian build. */
                memcpy(out + i * dim, e->str, e->len);
                found[i] = true;
                hits++;
        }
        freeReplyObject(r);
        count(c->m_hits, model, (double)hits);
        count(c->m_misses, model, (double)(n - hits));
        count(c->m_errors, model, (double)bad);
        return hits;
}

void embed_cache_put(struct embed_cache *c, const char *model, char (*keys)[EMBED_CACHE_KEY_LEN],
                     size_t n, size_t dim, const float *vecs, const bool *store)
{
        size_t m = 0, bytes = dim * sizeof(float);
        char ttl[24], errstr[256];
        int *argc;
        const char *(*argv)[5];
        size_t(*argvlen)[5];
        const char *const **pargv;
        const size_t **plen;
        redisReply **replies;

        if (!c->redis || n == 0 || bytes > c->max_entry_bytes)
                return;
        if (cairn_redis_down(c->redis)) {
                count(c->m_errors, model, 1);
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
                if (!store[i])
                        continue;
                argc[m] = 5;
                argv[m][0] = "SET";
                argv[m][1] = keys[i];
                argv[m][2] = (const char *)(vecs + i * dim);
                argv[m][3] = "EX";
                argv[m][4] = ttl;
                argvlen[m][0] = 3;
                argvlen[m][1] = strlen(keys[i]);
                argvlen[m][2] = bytes;
                argvlen[m][3] = 2;
                argvlen[m][4] = strlen(ttl);
                pargv[m] = argv[m];
                plen[m] = argvlen[m];
                m++;
        }
        if (cairn_redis_pipeline(c->redis, m, argc, pargv, plen, replies, errstr, sizeof(errstr)) !=
            0) {
                count(c->m_errors, model, 1);
                cairn_log(DEBUG, "CACHE", "cache store skipped: %s", errstr);
                goto out;
        }
        for (size_t i = 0; i < m; i++) {
                if (replies[i]->type == REDIS_REPLY_ERROR)
                        count(c->m_errors, model, 1);
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

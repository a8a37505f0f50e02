/* Cached vectors in Redis (libcairn's rcache): the key of a text, and
 * vectors as the cache's byte strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define KEY_PREFIX "cairn:emb:v1:"

static const struct cairn_rcache_names names = { "cairn_embedding_cache", "model", "Texts",
                                                 "vector" };

void embed_cache_init(struct embed_cache *c, struct cairn_redis *redis, int64_t ttl_s,
                      size_t max_entry_bytes, struct cairn_metrics *metrics)
{
        cairn_rcache_init(&c->rc, redis, ttl_s, max_entry_bytes, metrics, &names);
}

void embed_cache_key(const char *provider, const char *upstream_model, size_t dim, const char *text,
                     size_t len, char out[EMBED_CACHE_KEY_LEN])
{
        char d[24];
        const char *fields[4] = { provider, upstream_model, d, text };
        size_t lens[4];
        char key[CAIRN_RCACHE_KEY_MAX];

        snprintf(d, sizeof(d), "%zu", dim);
        lens[0] = strlen(provider);
        lens[1] = strlen(upstream_model);
        lens[2] = strlen(d);
        lens[3] = len;
        cairn_rcache_key(KEY_PREFIX, fields, lens, 4, key);
        /* the prefix and 32 hex digits: EMBED_CACHE_KEY_LEN - 1 bytes */
        memcpy(out, key, EMBED_CACHE_KEY_LEN - 1);
        out[EMBED_CACHE_KEY_LEN - 1] = '\0';
}

/* Where cache hits go: vectors of dim floats into out[i * dim ..]. */
struct vectors {
        size_t dim;
        float *out;
        bool *found;
};

static bool take_vector(void *opaque, size_t i, const char *value, size_t len)
{
        struct vectors *v = opaque;

        if (len != v->dim * sizeof(float))
                return false;
        /* Stored little-endian; this is a little-endian build. */
        memcpy(v->out + i * v->dim, value, len);
        v->found[i] = true;
        return true;
}

size_t embed_cache_get(struct embed_cache *c, const char *model, char (*keys)[EMBED_CACHE_KEY_LEN],
                       size_t n, size_t dim, float *out, bool *found)
{
        struct vectors v = { dim, out, found };
        const char **k = malloc((n ? n : 1) * sizeof(*k));
        size_t hits;

        for (size_t i = 0; i < n; i++)
                found[i] = false;
        if (!k)
                return 0;
        for (size_t i = 0; i < n; i++)
                k[i] = keys[i];
        hits = cairn_rcache_get(&c->rc, model, k, n, take_vector, &v);
        free(k);
        return hits;
}

void embed_cache_put(struct embed_cache *c, const char *model, char (*keys)[EMBED_CACHE_KEY_LEN],
                     size_t n, size_t dim, const float *vecs, const bool *store)
{
        const char **k = malloc((n ? n : 1) * sizeof(*k));
        const char **vals = malloc((n ? n : 1) * sizeof(*vals));
        size_t *lens = malloc((n ? n : 1) * sizeof(*lens));

        if (k && vals && lens) {
                for (size_t i = 0; i < n; i++) {
                        k[i] = keys[i];
                        vals[i] = store[i] ? (const char *)(vecs + i * dim) : NULL;
                        lens[i] = dim * sizeof(float);
                }
                cairn_rcache_put(&c->rc, model, k, vals, lens, n);
        }
        free(k);
        free(vals);
        free(lens);
}

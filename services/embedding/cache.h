/* The Redis cache of embedding vectors: keys are a hash of (provider,
 * upstream model, dimensions, text as sent upstream); values are the raw
 * little-endian float32 vector. A batch is looked up with one MGET and
 * stored with one pipeline of SET EX; when Redis is down or slow the cache
 * is skipped (and counted), never an error for the caller. */
#ifndef EMBEDDING_CACHE_H
#define EMBEDDING_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/rcache.h"

struct cairn_redis;
struct cairn_metrics;

/* "cairn:emb:v1:" and 32 hex digits of XXH3-128, and a NUL. */
#define EMBED_CACHE_KEY_LEN 46

struct embed_cache {
        struct cairn_rcache rc; /* values: vectors; larger than its max are not stored */
};

/* Sets up @p c over @p redis (borrowed; may be NULL for no cache) and
 * registers cairn_embedding_cache_{hits,misses,errors}_total{model} in
 * @p metrics (may be NULL). */
void embed_cache_init(struct embed_cache *c, struct cairn_redis *redis, int64_t ttl_s,
                      size_t max_entry_bytes, struct cairn_metrics *metrics);

/* The key of one text: XXH3-128 over the length-prefixed fields, so no two
 * different tuples share their bytes. */
void embed_cache_key(const char *provider, const char *upstream_model, size_t dim, const char *text,
                     size_t len, char out[EMBED_CACHE_KEY_LEN]);

/* Looks up @p n keys with one MGET. For each hit sets found[i] and copies
 * the vector to out[i * dim ..]; an entry of the wrong size counts as a
 * miss (and an error). Returns the number of hits; 0 with every found[i]
 * false when Redis cannot answer (counted in errors). @p model labels the
 * metrics. @locality any thread. */
size_t embed_cache_get(struct embed_cache *c, const char *model, char (*keys)[EMBED_CACHE_KEY_LEN],
                       size_t n, size_t dim, float *out, bool *found);

/* Stores the vectors i with store[i] true (out[i * dim ..]) with the TTL,
 * in one pipeline. Failures are counted and otherwise ignored. */
void embed_cache_put(struct embed_cache *c, const char *model, char (*keys)[EMBED_CACHE_KEY_LEN],
                     size_t n, size_t dim, const float *vecs, const bool *store);

#endif

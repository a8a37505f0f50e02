/* A cache of byte strings in Redis for a service's costly answers (an
 * embedding vector, a translation): keys are a prefix and a hash of the
 * fields that decide the answer; a batch is looked up with one MGET and
 * stored with one pipeline of SET EX. When Redis is down or slow the cache
 * is skipped and counted, never an error for the caller. */
#ifndef CAIRN_RCACHE_H
#define CAIRN_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_redis;
struct cairn_metrics;
struct cairn_metric;

/* A prefix of at most 32 bytes, 32 hex digits of XXH3-128, and a NUL. */
#define CAIRN_RCACHE_KEY_MAX 66

struct cairn_rcache {
        struct cairn_redis *redis; /* borrowed; NULL: the cache is off */
        int64_t ttl_s;
        size_t max_value_bytes; /* larger values are not stored */
        struct cairn_metric *m_hits, *m_misses, *m_errors;
};

/* What the metrics are called and say: <name>_{hits,misses,errors}_total
 * with one label, e.g. { "cairn_embedding_cache", "model", "Texts",
 * "vector" }. */
struct cairn_rcache_names {
        const char *metric; /* prefix of the three counters */
        const char *label;  /* their one label */
        const char *items;  /* what is looked up, for the help text ("Texts") */
        const char *value;  /* what is cached of each ("vector") */
};

/* Sets up @p c over @p redis (borrowed; may be NULL for no cache) and
 * registers its counters in @p metrics (may be NULL). */
void cairn_rcache_init(struct cairn_rcache *c, struct cairn_redis *redis, int64_t ttl_s,
                       size_t max_value_bytes, struct cairn_metrics *metrics,
                       const struct cairn_rcache_names *names);

/* @p prefix (at most 32 bytes) followed by XXH3-128 over the @p n fields,
 * each preceded by its length, so that no two different tuples share their
 * bytes. */
void cairn_rcache_key(const char *prefix, const char *const *fields, const size_t *lens, size_t n,
                      char out[CAIRN_RCACHE_KEY_MAX]);

/* Looks up @p n keys with one MGET and calls @p take for each value found,
 * which returns false when the value is malformed (then counted as a miss
 * and an error). Returns the number taken; 0 without calling @p take when
 * Redis cannot answer (counted as an error). @p label_value labels the
 * counters. @locality any thread. */
size_t cairn_rcache_get(struct cairn_rcache *c, const char *label_value, const char *const *keys,
                        size_t n,
                        bool (*take)(void *opaque, size_t i, const char *value, size_t len),
                        void *opaque);

/* Stores values[i] (lens[i] bytes) under keys[i] with the TTL, in one
 * pipeline; a NULL value is skipped. Failures are counted and otherwise
 * ignored. */
void cairn_rcache_put(struct cairn_rcache *c, const char *label_value, const char *const *keys,
                      const char *const *values, const size_t *lens, size_t n);

#endif

/* An approximate nearest-neighbour graph (HNSW, hnswlib) over unit-length
 * vectors, scored by cosine similarity. Entries are named by a label the
 * caller chooses (vindex.c uses its slot numbers); a removed label stays in
 * the graph as a tombstone, skipped by searches, and putting that label
 * again brings it back with the new vector, so tombstones are reused rather
 * than piling up.
 *
 * Not thread-safe for writers: searches may run together, a put or remove
 * needs the caller's exclusive lock (vindex.h's user lock, or a graph
 * only the builder sees). */
#ifndef MEMORY_HNSW_H
#define MEMORY_HNSW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct memory_hnsw;

/* Build parameters: each node keeps m links (2m on the bottom layer);
 * ef_construction candidates are considered per insert; searches consider
 * ef_search. */
struct memory_hnsw_params {
        size_t m, ef_construction, ef_search;
};

/* An empty graph of vectors of @p dim floats with room for @p capacity
 * labels before it grows; NULL when out of memory. */
struct memory_hnsw *memory_hnsw_new(size_t dim, size_t capacity,
                                    const struct memory_hnsw_params *p);
void memory_hnsw_free(struct memory_hnsw *h);

/* Adds @p label with @p vec (unit length), or gives an existing or removed
 * label the new vector. Returns 0, or -1 when out of memory. */
int memory_hnsw_put(struct memory_hnsw *h, uint64_t label, const float *vec);
/* Makes @p label a tombstone; nothing when it is absent or removed already. */
void memory_hnsw_remove(struct memory_hnsw *h, uint64_t label);

/* The labels of at most @p k live vectors nearest to @p q, best first, with
 * their cosine similarity; returns how many. */
size_t memory_hnsw_search(const struct memory_hnsw *h, const float *q, size_t k, uint64_t *labels,
                          float *scores);

/* The vector held for @p label into @p out: 1 when live, 0 when a
 * tombstone, -1 (out untouched) when absent. */
int memory_hnsw_vector(const struct memory_hnsw *h, uint64_t label, float *out);

/* Labels held (tombstones included) and tombstones. */
void memory_hnsw_counts(const struct memory_hnsw *h, size_t *labels, size_t *removed);

/* Writes the graph to @p path; 0, or -1 with errno set. */
int memory_hnsw_save(const struct memory_hnsw *h, const char *path);
/* Reads a graph of vectors of @p dim floats written by memory_hnsw_save()
 * (whose bytes the caller has checked); NULL when it cannot. */
struct memory_hnsw *memory_hnsw_load(const char *path, size_t dim,
                                     const struct memory_hnsw_params *p);

#ifdef __cplusplus
}
#endif

#endif

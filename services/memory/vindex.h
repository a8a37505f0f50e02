/* The in-process vector index: for each user (tenant and user id) the
 * unit-length vectors of their current memories, with each memory's
 * version and scope. A user is searched exactly (every vector scored) until
 * they have ann_min vectors; then a thread of the index builds an HNSW graph
 * (hnsw.h) of theirs in the background, exact search serving meanwhile, and
 * searches of their whole scope go through the graph. It is a cache of
 * PostgreSQL, never the truth: a user's entries are loaded from there (or
 * from a snapshot checked against it, vsnap.c) on first use, changed after
 * each commit, and every hit is read back from PostgreSQL, which drops what
 * is no longer current.
 *
 * Thread safety: the index's map has its own lock; each user's entries a
 * read-write lock, taken by the caller around the memory_vuser_* calls. */
#ifndef MEMORY_VINDEX_H
#define MEMORY_VINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hnsw.h"

struct memory_vindex;
struct memory_vuser;

struct memory_hit {
        char id[37];
        uint32_t version;
        float score; /* cosine similarity to the query */
};

struct memory_vindex_conf {
        size_t dim;     /* floats per vector */
        size_t ann_min; /* vectors from which a user gets a graph; 0: never */
        struct memory_hnsw_params hnsw;
        const char *snapshot_dir; /* where graphs are kept across restarts; NULL: nowhere */
};

/* An index following @p conf (copied; snapshot_dir borrowed); NULL when out
 * of memory or its graph builder does not start. */
struct memory_vindex *memory_vindex_new(const struct memory_vindex_conf *conf);
void memory_vindex_free(struct memory_vindex *ix);

/* The entries of @p user of @p tenant (created empty and not loaded the
 * first time); they live as long as the index. */
struct memory_vuser *memory_vindex_user(struct memory_vindex *ix, const char *tenant,
                                        const char *user);

/* Drops every user's entries of @p tenant and @p user (erasure); they are
 * loaded again on next use. */
void memory_vindex_forget(struct memory_vindex *ix, const char *tenant, const char *user);

struct memory_vindex_stats {
        size_t users;   /* loaded */
        size_t vectors; /* live entries */
        size_t graphs;  /* users searched through a graph */
        size_t tombstones;
};
void memory_vindex_stats(struct memory_vindex *ix, struct memory_vindex_stats *out);

/* Drops the entries of every user last used from one of @p parts (Kafka
 * partitions this replica no longer owns), after writing the snapshots
 * they need; they are loaded again if they come back. */
void memory_vindex_drop_partitions(struct memory_vindex *ix, const int32_t *parts, size_t n);

/* Writes the snapshot of every user with a graph changed since theirs;
 * returns how many were written, or -1 when one failed (logged). */
int memory_vindex_snapshot_all(struct memory_vindex *ix);

/* Waits until no graph is being built or queued (tests, benchmarks). */
void memory_vindex_settle(struct memory_vindex *ix);

void memory_vuser_rdlock(struct memory_vuser *u);
void memory_vuser_wrlock(struct memory_vuser *u);
void memory_vuser_unlock(struct memory_vuser *u);

/* Whether the entries reflect PostgreSQL (loaded once, and not marked
 * stale since); under either lock. */
bool memory_vuser_loaded(const struct memory_vuser *u);
/* Under either lock: records the partition of the request using the
 * entries (memory_vindex_drop_partitions). */
void memory_vuser_set_partition(struct memory_vuser *u, int32_t partition);
/* Under the write lock: empties the entries and marks them (not) loaded. */
void memory_vuser_reset(struct memory_vuser *u, bool loaded);
/* Under the write lock: marks the entries (not) loaded, keeping them; not
 * loaded, they are read again from PostgreSQL on next use. */
void memory_vuser_set_loaded(struct memory_vuser *u, bool loaded);

/* Under the write lock: adds the memory @p id (or replaces its entry) with
 * @p vec (dim floats, normalised here; a zero vector is stored as zeros and
 * never matches). Returns 0, or -1 when out of memory. */
int memory_vuser_put(struct memory_vuser *u, const char *id, uint32_t version, const char *agent,
                     const char *run, const float *vec);
/* Under the write lock: removes @p id's entry, if any. */
void memory_vuser_remove(struct memory_vuser *u, const char *id);

/* Under the write lock: the entries from @p u's snapshot, if it has one
 * that reads back whole; false otherwise (entries untouched). The caller
 * then checks them against PostgreSQL (memory_vuser_each, put, remove). */
bool memory_vuser_snapshot_load(struct memory_vuser *u);
/* Deletes @p tenant's @p user's snapshot, if any (erasure). */
void memory_vindex_snapshot_delete(struct memory_vindex *ix, const char *tenant, const char *user);

/* Under either lock: calls @p fn with each live entry's id and version. */
void memory_vuser_each(const struct memory_vuser *u,
                       void (*fn)(const char *id, uint32_t version, void *arg), void *arg);
/* Under either lock: @p id's version into *@p version; false when it has
 * no entry. */
bool memory_vuser_version(const struct memory_vuser *u, const char *id, uint32_t *version);
/* Under either lock: whether the user has a graph holding every live entry
 * with its vector, and no other live node (a consistency check). */
bool memory_vuser_graph_check(const struct memory_vuser *u);
/* Under either lock: live entries. */
size_t memory_vuser_count(const struct memory_vuser *u);

/* Under either lock: the entries of the scope (@p agent and @p run: ""
 * matches any) most similar to @p q (unit length), best first, at most
 * @p max of them into @p out; returns how many. */
size_t memory_vuser_rank(const struct memory_vuser *u, const float *q, const char *agent,
                         const char *run, struct memory_hit *out, size_t max);

/* Under either lock: the one entry of exactly this scope (agent and run as
 * given, "" meaning none) most similar to @p q; false when the scope is
 * empty. */
bool memory_vuser_nearest(const struct memory_vuser *u, const float *q, const char *agent,
                          const char *run, struct memory_hit *out);

/* Under either lock: the cosine of @p id's vector to @p q into *@p score;
 * false when @p id has no entry. */
bool memory_vuser_score(const struct memory_vuser *u, const char *id, const float *q, float *score);

/* Scales @p v (n floats) to unit length; false (v unchanged) when it is
 * zero or not finite. */
bool memory_normalize(float *v, size_t n);

/* The dot product of @p a and @p b, @p n floats each. */
float memory_dot(const float *a, const float *b, size_t n);

#endif

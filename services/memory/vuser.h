/* Inside the vector index (vindex.h): one user's entries, shared by the
 * files that keep them (vuser.c), build their graph (vbuild.c) and write or
 * read their snapshot (vsnap.c). */
#ifndef MEMORY_VUSER_H
#define MEMORY_VUSER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hnsw.h"
#include "vindex.h"

/* Entries live in slots that keep their number until removed: a slot is a
 * graph label, so a removed memory's slot is reused by the next one put and
 * the graph's tombstone with it. A free slot has an empty id. */
struct memory_vuser {
        struct memory_vuser *next; /* in its bucket */
        struct memory_vindex *ix;
        char *key; /* "tenant/user" */
        pthread_rwlock_t lock;
        bool loaded;
        int32_t partition; /* of the requests that use it; -1: none seen */
        size_t dim;
        size_t n;     /* live entries */
        size_t slots; /* slots in use or free below this */
        size_t cap;
        char (*ids)[37];
        uint32_t *versions;
        const char **agents, **runs; /* memory_vuser_empty or owned */
        float *vecs;                 /* slots x dim, unit length */
        uint32_t *free, nfree, free_cap;
        uint32_t *map; /* open addressing, id -> slot + 1; 0 empty */
        size_t map_cap, map_used;
        /* the approximate graph of a large user; NULL: searched exactly */
        struct memory_hnsw *graph;
        uint64_t epoch;    /* bumped when the entries are dropped */
        bool building;     /* vbuild.c has it queued or in hand */
        bool loading;      /* from a snapshot, graph and all: no build */
        size_t frontier;   /* slots below it are copied into the build in hand (all: SIZE_MAX) */
        uint32_t *touched; /* slots below the frontier changed while building */
        size_t ntouched, touched_cap;
        uint64_t changes; /* puts and removes since the last snapshot */
        bool snapshot_ok; /* the snapshot on disk matches the graph's slots */
};

/* Shared, never freed: an unset agent or run. */
extern const char memory_vuser_empty[];

/* vindex.c: the settings every user's entries follow, and the builder. */
const struct memory_vindex_conf *memory_vindex_conf_of(const struct memory_vindex *ix);
struct memory_vbuild *memory_vindex_builder(const struct memory_vindex *ix);

/* vbuild.c: the thread that builds graphs, one user at a time. */
struct memory_vbuild;
struct memory_vbuild *memory_vbuild_start(void);
/* Lets the build in hand stop between batches and joins the thread. */
void memory_vbuild_stop(struct memory_vbuild *b);
void memory_vbuild_settle(struct memory_vbuild *b);
/* Queues @p u (write-locked) for a graph when it is large enough. */
void memory_vbuild_consider(struct memory_vuser *u);

/* vuser.c: frees every entry (write-locked). */
void memory_vuser_clear(struct memory_vuser *u);
/* vuser.c: the entry in @p slot to the graph, or its tombstone (write-locked). */
int memory_vuser_graph_sync(struct memory_vuser *u, struct memory_hnsw *g, uint32_t slot);

/* vsnap.c: writes @p u's snapshot (read-locked; graph users only). 0, or -1
 * when it could not (logged). */
int memory_vsnap_write(struct memory_vuser *u);
/* vsnap.c: deletes the snapshot of @p key in @p dir, if any. */
void memory_vsnap_delete(const char *dir, const char *key);

#endif

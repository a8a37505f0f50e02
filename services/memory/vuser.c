/* One user's entries (vuser.h): slots of parallel arrays, a map from id to
 * slot, and the graph once vbuild.c has made one. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "vuser.h"

#define MAP_GONE      UINT32_MAX /* a removed id's cell: probing goes on past it */
#define NEAREST_PROBE 16         /* graph hits looked through for one scope's nearest */

const char memory_vuser_empty[] = "";

void memory_vuser_rdlock(struct memory_vuser *u)
{
        pthread_rwlock_rdlock(&u->lock);
}

void memory_vuser_wrlock(struct memory_vuser *u)
{
        pthread_rwlock_wrlock(&u->lock);
}

void memory_vuser_unlock(struct memory_vuser *u)
{
        pthread_rwlock_unlock(&u->lock);
}

bool memory_vuser_loaded(const struct memory_vuser *u)
{
        return u->loaded;
}

void memory_vuser_set_loaded(struct memory_vuser *u, bool loaded)
{
        u->loaded = loaded;
}

void memory_vuser_set_partition(struct memory_vuser *u, int32_t partition)
{
        __atomic_store_n(&u->partition, partition, __ATOMIC_RELAXED);
}

static void scope_free(const char *s)
{
        if (s != memory_vuser_empty)
                free((char *)s);
}

void memory_vuser_clear(struct memory_vuser *u)
{
        for (size_t i = 0; i < u->slots; i++) {
                if (!u->ids[i][0])
                        continue;
                scope_free(u->agents[i]);
                scope_free(u->runs[i]);
        }
        free(u->ids);
        free(u->versions);
        free(u->agents);
        free(u->runs);
        free(u->vecs);
        free(u->free);
        free(u->map);
        free(u->touched);
        memory_hnsw_free(u->graph);
        u->ids = NULL;
        u->versions = NULL;
        u->agents = u->runs = NULL;
        u->vecs = NULL;
        u->free = u->map = u->touched = NULL;
        u->graph = NULL;
        u->n = u->slots = u->cap = 0;
        u->nfree = u->free_cap = 0;
        u->map_cap = u->map_used = 0;
        u->ntouched = u->touched_cap = 0;
        u->changes = 0;
        u->snapshot_ok = false;
        u->epoch++; /* a build in hand is of what is gone */
}

void memory_vuser_reset(struct memory_vuser *u, bool loaded)
{
        memory_vuser_clear(u);
        u->loaded = loaded;
}

/* ---- id -> slot ---- */

static size_t id_hash(const char *id)
{
        return (size_t)XXH3_64bits(id, 36);
}

/* The cell of @p id, or NULL. */
static uint32_t *map_find(const struct memory_vuser *u, const char *id)
{
        if (!u->map_cap)
                return NULL;
        for (size_t i = id_hash(id) & (u->map_cap - 1);; i = (i + 1) & (u->map_cap - 1)) {
                uint32_t c = u->map[i];

                if (c == 0)
                        return NULL;
                if (c != MAP_GONE && memcmp(u->ids[c - 1], id, 36) == 0)
                        return &u->map[i];
        }
}

static void map_place(uint32_t *map, size_t cap, const char *id, uint32_t slot)
{
        size_t i = id_hash(id) & (cap - 1);

        while (map[i] != 0 && map[i] != MAP_GONE)
                i = (i + 1) & (cap - 1);
        map[i] = slot + 1;
}

/* Room for one more id at most half full (removed cells counted). */
static int map_reserve(struct memory_vuser *u)
{
        size_t cap = u->map_cap ? u->map_cap : 64;
        uint32_t *map;

        if ((u->map_used + 1) * 2 <= u->map_cap)
                return 0;
        while ((u->n + 1) * 2 > cap / 2)
                cap *= 2;
        map = calloc(cap, sizeof(*map));
        if (!map)
                return -1;
        for (size_t s = 0; s < u->slots; s++)
                if (u->ids[s][0])
                        map_place(map, cap, u->ids[s], (uint32_t)s);
        free(u->map);
        u->map = map;
        u->map_cap = cap;
        u->map_used = u->n;
        return 0;
}

/* ---- slots ---- */

static int grow(struct memory_vuser *u)
{
        size_t cap = u->cap ? u->cap * 2 : 16;
        void *ids = realloc(u->ids, cap * sizeof(*u->ids));
        void *versions = ids ? realloc(u->versions, cap * sizeof(*u->versions)) : NULL;
        void *agents = versions ? realloc(u->agents, cap * sizeof(*u->agents)) : NULL;
        void *runs = agents ? realloc(u->runs, cap * sizeof(*u->runs)) : NULL;
        void *vecs = runs ? realloc(u->vecs, cap * u->dim * sizeof(float)) : NULL;

        /* each realloc that worked is kept, so nothing leaks on failure */
        if (ids)
                u->ids = ids;
        if (versions)
                u->versions = versions;
        if (agents)
                u->agents = agents;
        if (runs)
                u->runs = runs;
        if (!vecs)
                return -1;
        u->vecs = vecs;
        u->cap = cap;
        return 0;
}

/* A slot for a new entry: a freed one first, so its tombstone is reused. */
static int slot_take(struct memory_vuser *u, uint32_t *slot)
{
        if (u->nfree) {
                *slot = u->free[--u->nfree];
                return 0;
        }
        if (u->slots == u->cap && grow(u) != 0)
                return -1;
        if (u->slots >= MAP_GONE - 1)
                return -1;
        *slot = (uint32_t)u->slots++;
        return 0;
}

static int slot_give(struct memory_vuser *u, uint32_t slot)
{
        if (u->nfree == u->free_cap) {
                uint32_t cap = u->free_cap ? u->free_cap * 2 : 16;
                uint32_t *f = realloc(u->free, cap * sizeof(*f));

                if (!f)
                        return -1;
                u->free = f;
                u->free_cap = cap;
        }
        u->free[u->nfree++] = slot;
        return 0;
}

/* Remembers @p slot for the build in hand, which replays it at the end. */
static int touch(struct memory_vuser *u, uint32_t slot)
{
        /* slots above the frontier are copied later as they are then */
        if (!u->building || slot >= u->frontier)
                return 0;
        if (u->ntouched == u->touched_cap) {
                size_t cap = u->touched_cap ? u->touched_cap * 2 : 64;
                uint32_t *t = realloc(u->touched, cap * sizeof(*t));

                if (!t)
                        return -1;
                u->touched = t;
                u->touched_cap = cap;
        }
        u->touched[u->ntouched++] = slot;
        return 0;
}

static const char *scope_dup(const char *s)
{
        return s[0] ? strdup(s) : memory_vuser_empty;
}

int memory_vuser_graph_sync(struct memory_vuser *u, struct memory_hnsw *g, uint32_t slot)
{
        if (slot < u->slots && u->ids[slot][0])
                return memory_hnsw_put(g, slot, u->vecs + (size_t)slot * u->dim);
        memory_hnsw_remove(g, slot);
        return 0;
}

/* After an entry changed: the graph, the build in hand, the snapshot. */
static int changed(struct memory_vuser *u, uint32_t slot)
{
        __atomic_add_fetch(&u->changes, 1, __ATOMIC_RELAXED);
        if (touch(u, slot) != 0)
                return -1;
        if (u->graph && memory_vuser_graph_sync(u, u->graph, slot) != 0)
                return -1;
        memory_vbuild_consider(u);
        return 0;
}

int memory_vuser_put(struct memory_vuser *u, const char *id, uint32_t version, const char *agent,
                     const char *run, const float *vec)
{
        uint32_t *cell = map_find(u, id), slot;
        const char *a = scope_dup(agent), *r = scope_dup(run);
        float *v;

        if (!a || !r)
                goto oom;
        if (cell) {
                slot = *cell - 1;
                scope_free(u->agents[slot]);
                scope_free(u->runs[slot]);
        } else {
                if (map_reserve(u) != 0 || slot_take(u, &slot) != 0)
                        goto oom;
                memcpy(u->ids[slot], id, 36);
                u->ids[slot][36] = '\0';
                map_place(u->map, u->map_cap, id, slot);
                u->map_used++;
                u->n++;
        }
        u->versions[slot] = version;
        u->agents[slot] = a;
        u->runs[slot] = r;
        v = u->vecs + (size_t)slot * u->dim;
        memcpy(v, vec, u->dim * sizeof(float));
        if (!memory_normalize(v, u->dim))
                memset(v, 0, u->dim * sizeof(float));
        return changed(u, slot);
oom:
        if (a)
                scope_free(a);
        if (r)
                scope_free(r);
        return -1;
}

void memory_vuser_remove(struct memory_vuser *u, const char *id)
{
        uint32_t *cell = map_find(u, id), slot;

        if (!cell)
                return;
        slot = *cell - 1;
        *cell = MAP_GONE;
        scope_free(u->agents[slot]);
        scope_free(u->runs[slot]);
        u->ids[slot][0] = '\0';
        u->n--;
        /* out of memory: the slot is lost, the entry gone all the same */
        slot_give(u, slot);
        if (changed(u, slot) != 0)
                u->loaded = false; /* read it all again */
}

/* ---- reads ---- */

static bool in_scope(const struct memory_vuser *u, size_t i, const char *agent, const char *run)
{
        return (!agent[0] || strcmp(u->agents[i], agent) == 0) &&
               (!run[0] || strcmp(u->runs[i], run) == 0);
}

static void hit_of(const struct memory_vuser *u, size_t slot, float score, struct memory_hit *h)
{
        memcpy(h->id, u->ids[slot], sizeof(h->id));
        h->version = u->versions[slot];
        h->score = score;
}

/* A min-heap on score of at most max hits: the root is the worst kept. */
static void sift_down(struct memory_hit *h, size_t n, size_t i)
{
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                struct memory_hit t;

                if (l < n && h[l].score < h[m].score)
                        m = l;
                if (r < n && h[r].score < h[m].score)
                        m = r;
                if (m == i)
                        return;
                t = h[i], h[i] = h[m], h[m] = t;
                i = m;
        }
}

static int by_score_desc(const void *a, const void *b)
{
        const struct memory_hit *x = a, *y = b;

        if (x->score != y->score)
                return x->score < y->score ? 1 : -1;
        return strcmp(x->id, y->id);
}

static size_t rank_exact(const struct memory_vuser *u, const float *q, const char *agent,
                         const char *run, struct memory_hit *out, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < u->slots; i++) {
                float s;

                if (!u->ids[i][0] || !in_scope(u, i, agent, run))
                        continue;
                s = memory_dot(q, u->vecs + i * u->dim, u->dim);
                if (n < max) {
                        hit_of(u, i, s, &out[n++]);
                        /* keep the heap property once full */
                        if (n == max)
                                for (size_t k = max / 2; k-- > 0;)
                                        sift_down(out, max, k);
                } else if (s > out[0].score) {
                        hit_of(u, i, s, &out[0]);
                        sift_down(out, max, 0);
                }
        }
        qsort(out, n, sizeof(*out), by_score_desc);
        return n;
}

size_t memory_vuser_rank(const struct memory_vuser *u, const float *q, const char *agent,
                         const char *run, struct memory_hit *out, size_t max)
{
        uint64_t *slots;
        float *scores;
        size_t n = 0;

        if (max == 0)
                return 0;
        /* the graph holds every scope: a scoped search is exact */
        if (!u->graph || agent[0] || run[0])
                return rank_exact(u, q, agent, run, out, max);
        slots = malloc(max * sizeof(*slots));
        scores = malloc(max * sizeof(*scores));
        if (slots && scores) {
                size_t got = memory_hnsw_search(u->graph, q, max, slots, scores);

                for (size_t i = 0; i < got; i++)
                        if (slots[i] < u->slots && u->ids[slots[i]][0])
                                hit_of(u, slots[i], scores[i], &out[n++]);
        } else {
                n = rank_exact(u, q, agent, run, out, max);
        }
        free(slots);
        free(scores);
        return n;
}

bool memory_vuser_nearest(const struct memory_vuser *u, const float *q, const char *agent,
                          const char *run, struct memory_hit *out)
{
        bool found = false;

        if (u->graph) {
                uint64_t slots[NEAREST_PROBE];
                float scores[NEAREST_PROBE];
                size_t got = memory_hnsw_search(u->graph, q, NEAREST_PROBE, slots, scores);

                for (size_t i = 0; i < got; i++) {
                        size_t s = slots[i];

                        if (s < u->slots && u->ids[s][0] && strcmp(u->agents[s], agent) == 0 &&
                            strcmp(u->runs[s], run) == 0) {
                                hit_of(u, s, scores[i], out);
                                return true;
                        }
                }
                /* none of this scope among the closest: look at all of it */
        }
        for (size_t i = 0; i < u->slots; i++) {
                float s;

                if (!u->ids[i][0] || strcmp(u->agents[i], agent) != 0 ||
                    strcmp(u->runs[i], run) != 0)
                        continue;
                s = memory_dot(q, u->vecs + i * u->dim, u->dim);
                if (!found || s > out->score) {
                        hit_of(u, i, s, out);
                        found = true;
                }
        }
        return found;
}

bool memory_vuser_score(const struct memory_vuser *u, const char *id, const float *q, float *score)
{
        const uint32_t *cell = map_find(u, id);

        if (!cell)
                return false;
        *score = memory_dot(q, u->vecs + (size_t)(*cell - 1) * u->dim, u->dim);
        return true;
}

bool memory_vuser_version(const struct memory_vuser *u, const char *id, uint32_t *version)
{
        const uint32_t *cell = map_find(u, id);

        if (!cell)
                return false;
        *version = u->versions[*cell - 1];
        return true;
}

void memory_vuser_each(const struct memory_vuser *u,
                       void (*fn)(const char *id, uint32_t version, void *arg), void *arg)
{
        for (size_t i = 0; i < u->slots; i++)
                if (u->ids[i][0])
                        fn(u->ids[i], u->versions[i], arg);
}

bool memory_vuser_graph_check(const struct memory_vuser *u)
{
        float *v = u->graph ? malloc(u->dim * sizeof(float)) : NULL;
        bool ok = v != NULL;

        for (size_t s = 0; ok && s < u->slots; s++) {
                int held = memory_hnsw_vector(u->graph, s, v);

                if (u->ids[s][0])
                        ok = held == 1 &&
                             memcmp(v, u->vecs + s * u->dim, u->dim * sizeof(float)) == 0;
                else
                        ok = held != 1;
        }
        free(v);
        return ok;
}

size_t memory_vuser_count(const struct memory_vuser *u)
{
        return u->n;
}

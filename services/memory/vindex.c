/* The in-process vector index (vindex.h): a chained hash map from
 * "tenant/user" to that user's entries (vuser.c), the graph builder
 * (vbuild.c) and what spans every user: stats, partitions, snapshots. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "vuser.h"

#define BUCKETS 4096 /* users spread over this many chains */

struct memory_vindex {
        struct memory_vindex_conf conf;
        struct memory_vbuild *builder;
        pthread_mutex_t lock; /* the buckets */
        struct memory_vuser *buckets[BUCKETS];
};

typedef float v8 __attribute__((vector_size(32), aligned(4)));

#if defined(__x86_64__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

CLONES
float memory_dot(const float *a, const float *b, size_t n)
{
        v8 acc = { 0 };
        float sum = 0;
        size_t i = 0;

        for (; i + 8 <= n; i += 8)
                acc += *(const v8 *)(a + i) * *(const v8 *)(b + i);
        for (; i < n; i++)
                sum += a[i] * b[i];
        for (int j = 0; j < 8; j++)
                sum += acc[j];
        return sum;
}

bool memory_normalize(float *v, size_t n)
{
        double norm = 0;

        for (size_t i = 0; i < n; i++)
                norm += (double)v[i] * v[i];
        if (!(norm > 0) || !isfinite(norm))
                return false;
        norm = sqrt(norm);
        for (size_t i = 0; i < n; i++)
                v[i] = (float)(v[i] / norm);
        return true;
}

struct memory_vindex *memory_vindex_new(const struct memory_vindex_conf *conf)
{
        struct memory_vindex *ix = calloc(1, sizeof(*ix));

        if (!ix)
                return NULL;
        ix->conf = *conf;
        if (ix->conf.snapshot_dir && !ix->conf.snapshot_dir[0])
                ix->conf.snapshot_dir = NULL;
        pthread_mutex_init(&ix->lock, NULL);
        if (conf->ann_min > 0 && !(ix->builder = memory_vbuild_start())) {
                pthread_mutex_destroy(&ix->lock);
                free(ix);
                return NULL;
        }
        return ix;
}

const struct memory_vindex_conf *memory_vindex_conf_of(const struct memory_vindex *ix)
{
        return &ix->conf;
}

struct memory_vbuild *memory_vindex_builder(const struct memory_vindex *ix)
{
        return ix->builder;
}

void memory_vindex_free(struct memory_vindex *ix)
{
        if (!ix)
                return;
        /* first: the builder holds users */
        memory_vbuild_stop(ix->builder);
        for (size_t b = 0; b < BUCKETS; b++) {
                struct memory_vuser *u = ix->buckets[b], *next;

                for (; u; u = next) {
                        next = u->next;
                        memory_vuser_clear(u);
                        pthread_rwlock_destroy(&u->lock);
                        free(u->key);
                        free(u);
                }
        }
        pthread_mutex_destroy(&ix->lock);
        free(ix);
}

static char *user_key(const char *tenant, const char *user)
{
        size_t t = strlen(tenant), n = strlen(user);
        char *key = malloc(t + n + 2);

        if (!key)
                abort();
        memcpy(key, tenant, t);
        key[t] = '/';
        memcpy(key + t + 1, user, n + 1);
        return key;
}

struct memory_vuser *memory_vindex_user(struct memory_vindex *ix, const char *tenant,
                                        const char *user)
{
        char *key = user_key(tenant, user);
        size_t b = XXH3_64bits(key, strlen(key)) % BUCKETS;
        struct memory_vuser *u;

        pthread_mutex_lock(&ix->lock);
        for (u = ix->buckets[b]; u; u = u->next)
                if (strcmp(u->key, key) == 0)
                        break;
        if (!u) {
                u = calloc(1, sizeof(*u));
                if (!u)
                        abort();
                u->ix = ix;
                u->key = key;
                key = NULL;
                u->dim = ix->conf.dim;
                u->partition = -1;
                pthread_rwlock_init(&u->lock, NULL);
                u->next = ix->buckets[b];
                ix->buckets[b] = u;
        }
        pthread_mutex_unlock(&ix->lock);
        free(key);
        return u;
}

void memory_vindex_forget(struct memory_vindex *ix, const char *tenant, const char *user)
{
        struct memory_vuser *u = memory_vindex_user(ix, tenant, user);

        memory_vuser_wrlock(u);
        memory_vuser_reset(u, false);
        memory_vuser_unlock(u);
}

/* Calls @p fn on every user; users are never freed before the index, so
 * the map's lock need not be held while @p fn runs. */
static void each_user(struct memory_vindex *ix, void (*fn)(struct memory_vuser *u, void *arg),
                      void *arg)
{
        for (size_t b = 0; b < BUCKETS; b++) {
                struct memory_vuser *u;

                pthread_mutex_lock(&ix->lock);
                u = ix->buckets[b];
                pthread_mutex_unlock(&ix->lock);
                /* new users go to the head: the chain from here is stable */
                for (; u; u = u->next)
                        fn(u, arg);
        }
}

static void add_stats(struct memory_vuser *u, void *arg)
{
        struct memory_vindex_stats *s = arg;

        pthread_rwlock_rdlock(&u->lock);
        s->users += u->loaded;
        s->vectors += u->n;
        if (u->graph) {
                size_t labels, removed;

                memory_hnsw_counts(u->graph, &labels, &removed);
                s->graphs++;
                s->tombstones += removed;
        }
        pthread_rwlock_unlock(&u->lock);
}

void memory_vindex_stats(struct memory_vindex *ix, struct memory_vindex_stats *out)
{
        memset(out, 0, sizeof(*out));
        each_user(ix, add_stats, out);
}

struct parts {
        const int32_t *p;
        size_t n;
};

static void drop_if_revoked(struct memory_vuser *u, void *arg)
{
        const struct parts *parts = arg;
        bool revoked = false;

        pthread_rwlock_rdlock(&u->lock);
        for (size_t i = 0; i < parts->n && u->loaded; i++)
                revoked |= u->partition == parts->p[i];
        if (revoked && u->graph && __atomic_load_n(&u->changes, __ATOMIC_RELAXED) > 0)
                memory_vsnap_write(u);
        pthread_rwlock_unlock(&u->lock);
        if (!revoked)
                return;
        pthread_rwlock_wrlock(&u->lock);
        memory_vuser_reset(u, false);
        pthread_rwlock_unlock(&u->lock);
}

void memory_vindex_drop_partitions(struct memory_vindex *ix, const int32_t *parts, size_t n)
{
        struct parts p = { parts, n };

        each_user(ix, drop_if_revoked, &p);
}

struct snap_all {
        int written;
        bool failed;
};

static void snapshot_if_changed(struct memory_vuser *u, void *arg)
{
        struct snap_all *s = arg;

        pthread_rwlock_rdlock(&u->lock);
        if (u->loaded && u->graph && __atomic_load_n(&u->changes, __ATOMIC_RELAXED) > 0) {
                if (memory_vsnap_write(u) == 0)
                        s->written++;
                else
                        s->failed = true;
        }
        pthread_rwlock_unlock(&u->lock);
}

int memory_vindex_snapshot_all(struct memory_vindex *ix)
{
        struct snap_all s = { 0, false };

        if (!ix->conf.snapshot_dir)
                return 0;
        each_user(ix, snapshot_if_changed, &s);
        return s.failed ? -1 : s.written;
}

void memory_vindex_snapshot_delete(struct memory_vindex *ix, const char *tenant, const char *user)
{
        char *key;

        if (!ix->conf.snapshot_dir)
                return;
        key = user_key(tenant, user);
        memory_vsnap_delete(ix->conf.snapshot_dir, key);
        free(key);
}

void memory_vindex_settle(struct memory_vindex *ix)
{
        memory_vbuild_settle(ix->builder);
}

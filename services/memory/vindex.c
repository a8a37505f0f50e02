/* The in-process vector index (vindex.h): a chained hash map from
 * "tenant/user" to that user's entries, each a row of parallel arrays. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "vindex.h"

#define BUCKETS 4096 /* users spread over this many chains */

struct memory_vuser {
        struct memory_vuser *next; /* in its bucket */
        char *key;                 /* "tenant/user" */
        pthread_rwlock_t lock;
        bool loaded;
        size_t dim, n, cap;
        char (*ids)[37];
        uint32_t *versions;
        char **agents, **runs;
        float *vecs; /* n x dim, unit length */
};

struct memory_vindex {
        size_t dim;
        pthread_mutex_t lock; /* the buckets and the counts */
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

struct memory_vindex *memory_vindex_new(size_t dim)
{
        struct memory_vindex *ix = calloc(1, sizeof(*ix));

        if (!ix)
                return NULL;
        ix->dim = dim;
        pthread_mutex_init(&ix->lock, NULL);
        return ix;
}

static void entries_free(struct memory_vuser *u)
{
        for (size_t i = 0; i < u->n; i++) {
                free(u->agents[i]);
                free(u->runs[i]);
        }
        free(u->ids);
        free(u->versions);
        free(u->agents);
        free(u->runs);
        free(u->vecs);
        u->ids = NULL;
        u->versions = NULL;
        u->agents = u->runs = NULL;
        u->vecs = NULL;
        u->n = u->cap = 0;
}

void memory_vindex_free(struct memory_vindex *ix)
{
        if (!ix)
                return;
        for (size_t b = 0; b < BUCKETS; b++) {
                struct memory_vuser *u = ix->buckets[b], *next;

                for (; u; u = next) {
                        next = u->next;
                        entries_free(u);
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
                u->key = key;
                key = NULL;
                u->dim = ix->dim;
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

void memory_vindex_stats(struct memory_vindex *ix, size_t *users, size_t *vectors)
{
        *users = *vectors = 0;
        pthread_mutex_lock(&ix->lock);
        for (size_t b = 0; b < BUCKETS; b++) {
                for (struct memory_vuser *u = ix->buckets[b]; u; u = u->next) {
                        pthread_rwlock_rdlock(&u->lock);
                        *users += u->loaded;
                        *vectors += u->n;
                        pthread_rwlock_unlock(&u->lock);
                }
        }
        pthread_mutex_unlock(&ix->lock);
}

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

void memory_vuser_reset(struct memory_vuser *u, bool loaded)
{
        entries_free(u);
        u->loaded = loaded;
}

void memory_vuser_set_loaded(struct memory_vuser *u, bool loaded)
{
        u->loaded = loaded;
}

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

static ptrdiff_t find(const struct memory_vuser *u, const char *id)
{
        for (size_t i = 0; i < u->n; i++)
                if (strcmp(u->ids[i], id) == 0)
                        return (ptrdiff_t)i;
        return -1;
}

int memory_vuser_put(struct memory_vuser *u, const char *id, uint32_t version, const char *agent,
                     const char *run, const float *vec)
{
        ptrdiff_t at = find(u, id);
        char *a = strdup(agent), *r = strdup(run);
        size_t i;

        if (!a || !r) {
                free(a);
                free(r);
                return -1;
        }
        if (at >= 0) {
                i = (size_t)at;
                free(u->agents[i]);
                free(u->runs[i]);
        } else {
                if (u->n == u->cap && grow(u) != 0) {
                        free(a);
                        free(r);
                        return -1;
                }
                i = u->n++;
                memcpy(u->ids[i], id, 36);
                u->ids[i][36] = '\0';
        }
        u->versions[i] = version;
        u->agents[i] = a;
        u->runs[i] = r;
        memcpy(u->vecs + i * u->dim, vec, u->dim * sizeof(float));
        if (!memory_normalize(u->vecs + i * u->dim, u->dim))
                memset(u->vecs + i * u->dim, 0, u->dim * sizeof(float));
        return 0;
}

void memory_vuser_remove(struct memory_vuser *u, const char *id)
{
        ptrdiff_t at = find(u, id);
        size_t i, last;

        if (at < 0)
                return;
        i = (size_t)at;
        last = u->n - 1;
        free(u->agents[i]);
        free(u->runs[i]);
        /* the last entry takes its place: order means nothing here */
        if (i != last) {
                memcpy(u->ids[i], u->ids[last], sizeof(u->ids[i]));
                u->versions[i] = u->versions[last];
                u->agents[i] = u->agents[last];
                u->runs[i] = u->runs[last];
                memcpy(u->vecs + i * u->dim, u->vecs + last * u->dim, u->dim * sizeof(float));
        }
        u->n--;
}

static bool in_scope(const struct memory_vuser *u, size_t i, const char *agent, const char *run)
{
        return (!agent[0] || strcmp(u->agents[i], agent) == 0) &&
               (!run[0] || strcmp(u->runs[i], run) == 0);
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

size_t memory_vuser_rank(const struct memory_vuser *u, const float *q, const char *agent,
                         const char *run, struct memory_hit *out, size_t max)
{
        size_t n = 0;

        if (max == 0)
                return 0;
        for (size_t i = 0; i < u->n; i++) {
                float s;

                if (!in_scope(u, i, agent, run))
                        continue;
                s = memory_dot(q, u->vecs + i * u->dim, u->dim);
                if (n < max) {
                        struct memory_hit *h = &out[n++];

                        memcpy(h->id, u->ids[i], sizeof(h->id));
                        h->version = u->versions[i];
                        h->score = s;
                        /* keep the heap property once full */
                        if (n == max)
                                for (size_t k = max / 2; k-- > 0;)
                                        sift_down(out, max, k);
                } else if (s > out[0].score) {
                        memcpy(out[0].id, u->ids[i], sizeof(out[0].id));
                        out[0].version = u->versions[i];
                        out[0].score = s;
                        sift_down(out, max, 0);
                }
        }
        qsort(out, n, sizeof(*out), by_score_desc);
        return n;
}

bool memory_vuser_nearest(const struct memory_vuser *u, const float *q, const char *agent,
                          const char *run, struct memory_hit *out)
{
        bool found = false;

        for (size_t i = 0; i < u->n; i++) {
                float s;

                if (strcmp(u->agents[i], agent) != 0 || strcmp(u->runs[i], run) != 0)
                        continue;
                s = memory_dot(q, u->vecs + i * u->dim, u->dim);
                if (!found || s > out->score) {
                        memcpy(out->id, u->ids[i], sizeof(out->id));
                        out->version = u->versions[i];
                        out->score = s;
                        found = true;
                }
        }
        return found;
}

bool memory_vuser_score(const struct memory_vuser *u, const char *id, const float *q, float *score)
{
        ptrdiff_t at = find(u, id);

        if (at < 0)
                return false;
        *score = memory_dot(q, u->vecs + (size_t)at * u->dim, u->dim);
        return true;
}

/* The graph builder (vuser.h): one thread that gives each user who reaches
 * ann_min vectors an HNSW graph. It copies the user's vectors a batch at a
 * time under the read lock and inserts them with no lock held, so searches
 * and writes go on, exactly, while it works; what writes change meanwhile
 * is noted (vuser.c's touch) and replayed under the write lock before the
 * graph is attached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "vuser.h"

#define BATCH 1024 /* vectors copied per read lock */

struct memory_vbuild {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* work queued, stop asked, or the queue emptied */
        struct memory_vuser **queue;
        size_t n, cap;
        bool busy, stop;
};

void memory_vbuild_consider(struct memory_vuser *u)
{
        const struct memory_vindex_conf *conf = memory_vindex_conf_of(u->ix);
        struct memory_vbuild *b = memory_vindex_builder(u->ix);

        if (!b || u->graph || u->building || u->loading || u->n < conf->ann_min)
                return;
        pthread_mutex_lock(&b->lock);
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 8;
                struct memory_vuser **q = realloc(b->queue, cap * sizeof(*q));

                if (!q) {
                        /* searched exactly until the next change asks again */
                        pthread_mutex_unlock(&b->lock);
                        return;
                }
                b->queue = q;
                b->cap = cap;
        }
        b->queue[b->n++] = u;
        u->building = true;
        u->frontier = 0;
        u->ntouched = 0;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
}

static bool stopping(struct memory_vbuild *b)
{
        bool stop;

        pthread_mutex_lock(&b->lock);
        stop = b->stop;
        pthread_mutex_unlock(&b->lock);
        return stop;
}

/* Inserts @p u's slots from the first on, a batch per read lock; false when
 * the entries were dropped meanwhile, the builder stops, or out of memory. */
static bool insert_all(struct memory_vbuild *b, struct memory_vuser *u, uint64_t epoch,
                       struct memory_hnsw *g)
{
        size_t dim = memory_vindex_conf_of(u->ix)->dim;
        float *vecs = malloc(BATCH * dim * sizeof(float));
        uint32_t slots[BATCH];
        bool ok = vecs != NULL, done = false;

        for (size_t from = 0; ok && !done;) {
                size_t n = 0;

                pthread_rwlock_rdlock(&u->lock);
                if (u->epoch != epoch) {
                        ok = false;
                } else {
                        for (; from < u->slots && n < BATCH; from++) {
                                if (!u->ids[from][0])
                                        continue;
                                slots[n] = (uint32_t)from;
                                memcpy(vecs + n * dim, u->vecs + from * dim, dim * sizeof(float));
                                n++;
                        }
                        done = from >= u->slots;
                        /* the one writer of it; puts and removes read it under
                         * the write lock. Once every slot is copied, a slot
                         * added later is past the end of the copy: it is
                         * replayed too. */
                        u->frontier = done ? SIZE_MAX : from;
                }
                pthread_rwlock_unlock(&u->lock);
                for (size_t i = 0; ok && i < n; i++)
                        ok = memory_hnsw_put(g, slots[i], vecs + i * dim) == 0;
                ok = ok && !stopping(b);
        }
        free(vecs);
        return ok;
}

static void build(struct memory_vbuild *b, struct memory_vuser *u)
{
        const struct memory_vindex_conf *conf = memory_vindex_conf_of(u->ix);
        int64_t t0 = cairn_mono_us();
        struct memory_hnsw *g;
        uint64_t epoch;
        size_t size;
        bool ok;

        pthread_rwlock_rdlock(&u->lock);
        epoch = u->epoch;
        size = u->slots;
        pthread_rwlock_unlock(&u->lock);
        g = memory_hnsw_new(conf->dim, size + size / 8, &conf->hnsw);
        ok = g && insert_all(b, u, epoch, g);
        pthread_rwlock_wrlock(&u->lock);
        ok = ok && u->epoch == epoch;
        /* what changed while the batches were inserted */
        for (size_t i = 0; ok && i < u->ntouched; i++)
                ok = memory_vuser_graph_sync(u, g, u->touched[i]) == 0;
        u->building = false;
        u->ntouched = 0;
        if (ok) {
                u->graph = g;
                __atomic_add_fetch(&u->changes, 1, __ATOMIC_RELAXED); /* a snapshot is due */
                cairn_log(INFO, "MEMORY", "graph of %zu vectors built in %.1f s", u->n,
                          (double)(cairn_mono_us() - t0) / 1e6);
        } else {
                memory_hnsw_free(g);
                if (!stopping(b))
                        memory_vbuild_consider(u); /* again, if still large */
        }
        pthread_rwlock_unlock(&u->lock);
        if (!ok || !conf->snapshot_dir)
                return;
        /* a restart loads the graph rather than building it again */
        pthread_rwlock_rdlock(&u->lock);
        if (u->graph == g)
                memory_vsnap_write(u);
        pthread_rwlock_unlock(&u->lock);
}

static void *run(void *arg)
{
        struct memory_vbuild *b = arg;

        pthread_mutex_lock(&b->lock);
        for (;;) {
                struct memory_vuser *u;

                while (!b->n && !b->stop)
                        pthread_cond_wait(&b->cond, &b->lock);
                if (b->stop)
                        break;
                u = b->queue[0];
                memmove(b->queue, b->queue + 1, --b->n * sizeof(*b->queue));
                b->busy = true;
                pthread_mutex_unlock(&b->lock);
                build(b, u);
                pthread_mutex_lock(&b->lock);
                b->busy = false;
                pthread_cond_broadcast(&b->cond);
        }
        pthread_mutex_unlock(&b->lock);
        return NULL;
}

struct memory_vbuild *memory_vbuild_start(void)
{
        struct memory_vbuild *b = calloc(1, sizeof(*b));

        if (!b)
                return NULL;
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->cond, NULL);
        if (pthread_create(&b->thread, NULL, run, b) != 0) {
                pthread_cond_destroy(&b->cond);
                pthread_mutex_destroy(&b->lock);
                free(b);
                return NULL;
        }
        return b;
}

void memory_vbuild_stop(struct memory_vbuild *b)
{
        if (!b)
                return;
        pthread_mutex_lock(&b->lock);
        b->stop = true;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        free(b->queue);
        free(b);
}

void memory_vbuild_settle(struct memory_vbuild *b)
{
        if (!b)
                return;
        pthread_mutex_lock(&b->lock);
        while ((b->n || b->busy) && !b->stop)
                pthread_cond_wait(&b->cond, &b->lock);
        pthread_mutex_unlock(&b->lock);
}

/* In-flight offset tracking: per partition, a ring of offsets in arrival
 * order with a done flag; the commit point is the first offset not done. */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "offsets.h"

struct slot {
        int64_t offset;
        bool done;
};

struct track {
        struct slot *ring;
        size_t cap, head, count;
        uint32_t gen;
};

struct cairn_offsets {
        pthread_mutex_t lock;
        struct track *parts;
        size_t nparts;
        size_t pending;
};

struct cairn_offsets *cairn_offsets_new(void)
{
        struct cairn_offsets *tr = calloc(1, sizeof(*tr));

        if (!tr)
                abort();
        pthread_mutex_init(&tr->lock, NULL);
        return tr;
}

void cairn_offsets_free(struct cairn_offsets *tr)
{
        if (!tr)
                return;
        for (size_t i = 0; i < tr->nparts; i++)
                free(tr->parts[i].ring);
        free(tr->parts);
        pthread_mutex_destroy(&tr->lock);
        free(tr);
}

static struct track *track_get(struct cairn_offsets *tr, int32_t partition)
{
        assert(partition >= 0);
        if ((size_t)partition >= tr->nparts) {
                size_t n = (size_t)partition + 1;
                struct track *p = realloc(tr->parts, n * sizeof(*p));

                if (!p)
                        abort();
                memset(p + tr->nparts, 0, (n - tr->nparts) * sizeof(*p));
                tr->parts = p;
                tr->nparts = n;
        }
        return &tr->parts[partition];
}

static struct slot *slot_at(struct track *t, size_t i)
{
        return &t->ring[(t->head + i) % t->cap];
}

uint32_t cairn_offsets_add(struct cairn_offsets *tr, int32_t partition, int64_t offset)
{
        pthread_mutex_lock(&tr->lock);
        struct track *t = track_get(tr, partition);

        if (t->count == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                struct slot *ring = malloc(cap * sizeof(*ring));

                if (!ring)
                        abort();
                for (size_t i = 0; i < t->count; i++)
                        ring[i] = *slot_at(t, i);
                free(t->ring);
                t->ring = ring;
                t->cap = cap;
                t->head = 0;
        }
        assert(t->count == 0 || slot_at(t, t->count - 1)->offset < offset);
        *slot_at(t, t->count) = (struct slot){ offset, false };
        t->count++;
        tr->pending++;
        uint32_t gen = t->gen;
        pthread_mutex_unlock(&tr->lock);
        return gen;
}

int64_t cairn_offsets_done(struct cairn_offsets *tr, int32_t partition, int64_t offset,
                           uint32_t gen)
{
        int64_t commit = -1;

        pthread_mutex_lock(&tr->lock);
        struct track *t = track_get(tr, partition);

        if (t->gen != gen || t->count == 0)
                goto out;
        /* Offsets are ascending in the ring: binary search. */
        size_t lo = 0, hi = t->count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (slot_at(t, mid)->offset < offset)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == t->count || slot_at(t, lo)->offset != offset || slot_at(t, lo)->done)
                goto out;
        slot_at(t, lo)->done = true;
        tr->pending--;
        while (t->count > 0 && slot_at(t, 0)->done) {
                commit = slot_at(t, 0)->offset + 1;
                t->head = (t->head + 1) % t->cap;
                t->count--;
        }
out:
        pthread_mutex_unlock(&tr->lock);
        return commit;
}

void cairn_offsets_reset(struct cairn_offsets *tr, int32_t partition)
{
        pthread_mutex_lock(&tr->lock);
        struct track *t = track_get(tr, partition);

        for (size_t i = 0; i < t->count; i++)
                if (!slot_at(t, i)->done)
                        tr->pending--;
        t->count = 0;
        t->head = 0;
        t->gen++;
        pthread_mutex_unlock(&tr->lock);
}

size_t cairn_offsets_pending(struct cairn_offsets *tr, int32_t partition)
{
        size_t n = 0;

        pthread_mutex_lock(&tr->lock);
        if (partition < 0) {
                n = tr->pending;
        } else if ((size_t)partition < tr->nparts) {
                struct track *t = &tr->parts[partition];

                for (size_t i = 0; i < t->count; i++)
                        n += !slot_at(t, i)->done;
        }
        pthread_mutex_unlock(&tr->lock);
        return n;
}

/* Verified JWTs, so that a token seen again costs a hash and a compare
 * instead of three JSON parses and a signature check. Only tokens that passed
 * every check are kept, with the principal they granted. Keys and the claim
 * rules do not change while the process runs, so a verdict holds as long as
 * the token's time claims do: exp and nbf are checked again on every use,
 * and a token that fails them leaves the cache and takes the full path, which
 * names the failure. Direct-mapped: a new token takes its slot from whatever
 * held it, so the memory stays bounded by the slot count. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cairn/metrics.h"
#include "jwt_cache.h"

#define NLOCKS 16

struct jwt_entry {
        uint64_t hash;
        char *token; /* NULL: empty slot */
        size_t len;
        struct gw_principal who;
        struct gw_jwt_times t;
};

struct gw_jwt_cache {
        size_t mask;
        struct jwt_entry *slots;
        pthread_mutex_t locks[NLOCKS];
        struct cairn_series *s_hit, *s_miss;
};

struct gw_jwt_cache *gw_jwt_cache_new(size_t entries)
{
        struct gw_jwt_cache *c;
        size_t n = 1;

        if (entries == 0)
                return NULL;
        while (n < entries)
                n <<= 1;
        c = calloc(1, sizeof(*c));
        if (!c || !(c->slots = calloc(n, sizeof(*c->slots))))
                abort();
        c->mask = n - 1;
        for (int i = 0; i < NLOCKS; i++)
                pthread_mutex_init(&c->locks[i], NULL);
        return c;
}

void gw_jwt_cache_metrics(struct gw_jwt_cache *c, struct cairn_metrics *reg)
{
        struct cairn_metric *m;

        if (!c)
                return;
        m = cairn_metrics_counter(reg, "cairn_gateway_jwt_cache_total",
                                  "JWT verifications answered from the cache of verified "
                                  "tokens (hit) or done in full (miss)",
                                  (const char *[]){ "result", NULL });
        c->s_hit = cairn_metric_series(m, (const char *[]){ "hit" });
        c->s_miss = cairn_metric_series(m, (const char *[]){ "miss" });
}

void gw_jwt_cache_free(struct gw_jwt_cache *c)
{
        if (!c)
                return;
        for (size_t i = 0; i <= c->mask; i++)
                free(c->slots[i].token);
        for (int i = 0; i < NLOCKS; i++)
                pthread_mutex_destroy(&c->locks[i]);
        free(c->slots);
        free(c);
}

const char *gw_jwt_times_refuse(const struct gw_jwt_times *t, int64_t now, long long skew_s)
{
        if (t->has_exp && (double)now > t->exp + (double)skew_s)
                return "token expired";
        if (t->has_nbf && (double)now + (double)skew_s < t->nbf)
                return "token not valid yet (nbf)";
        return NULL;
}

bool gw_jwt_cache_get(struct gw_jwt_cache *c, const char *token, size_t len, int64_t now,
                      long long skew_s, struct gw_principal *who)
{
        uint64_t h;
        struct jwt_entry *e;
        pthread_mutex_t *lock;
        bool hit = false;

        if (!c)
                return false;
        h = XXH3_64bits(token, len);
        e = &c->slots[h & c->mask];
        lock = &c->locks[(h & c->mask) % NLOCKS]; /* by slot: one slot, one lock */
        pthread_mutex_lock(lock);
        if (e->token && e->hash == h && e->len == len && memcmp(e->token, token, len) == 0) {
                if (!gw_jwt_times_refuse(&e->t, now, skew_s)) {
                        *who = e->who;
                        hit = true;
                } else {
                        free(e->token);
                        e->token = NULL;
                }
        }
        pthread_mutex_unlock(lock);
        if (c->s_hit) /* metrics registered */
                cairn_series_inc(hit ? c->s_hit : c->s_miss);
        return hit;
}

void gw_jwt_cache_put(struct gw_jwt_cache *c, const char *token, size_t len,
                      const struct gw_principal *who, const struct gw_jwt_times *t)
{
        uint64_t h;
        struct jwt_entry *e;
        pthread_mutex_t *lock;
        char *copy;

        if (!c)
                return;
        h = XXH3_64bits(token, len);
        e = &c->slots[h & c->mask];
        lock = &c->locks[(h & c->mask) % NLOCKS]; /* by slot: one slot, one lock */
        copy = malloc(len);
        if (!copy)
                abort();
        memcpy(copy, token, len);
        pthread_mutex_lock(lock);
        free(e->token);
        e->token = copy;
        e->hash = h;
        e->len = len;
        e->who = *who;
        e->t = *t;
        pthread_mutex_unlock(lock);
}

/* The expiry sweeper: every memory.expiry_interval_ms, closes the memories
 * past their expires_at (valid_to = expires_at, a DELETE in the history,
 * one statement a batch; replicas share the work with SKIP LOCKED) and
 * drops their vectors. Reads skip expired memories at once: the sweeper
 * only makes it permanent. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "db.h"
#include "memory.h"
#include "vindex.h"

#define SWEEP_BUDGET_US (30 * 1000000LL)

struct memory_expiry {
        struct memory_service *svc;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
};

long memory_expiry_sweep(struct memory_service *svc)
{
        char limit[24], errstr[512];
        const char *p[2] = { limit, svc->outbox ? "true" : "false" };
        long total = 0;
        int n;

        snprintf(limit, sizeof(limit), "%lld", svc->conf->expiry_batch);
        do {
                PGresult *res = NULL;
                cairn_err_t err = cairn_pg_exec(svc->pg, cairn_mono_us() + SWEEP_BUDGET_US,
                                                &memory_sql[MS_EXPIRE], p, 2, &res, errstr,
                                                sizeof(errstr));

                if (err != CAIRN_OK) {
                        cairn_log(WARN, "EXPIRY", "sweep: %s", errstr);
                        return -1;
                }
                n = PQntuples(res);
                for (int i = 0; i < n; i++) {
                        struct memory_vuser *u = memory_vindex_user(svc->index,
                                                                    PQgetvalue(res, i, 0),
                                                                    PQgetvalue(res, i, 1));

                        memory_vuser_wrlock(u);
                        memory_vuser_remove(u, PQgetvalue(res, i, 2));
                        memory_vuser_unlock(u);
                }
                PQclear(res);
                total += n;
                if (n)
                        memory_outbox_wake(svc->outbox);
                cairn_metric_add_l(svc->expired, NULL, n);
        } while (n == svc->conf->expiry_batch);
        if (total)
                cairn_log(INFO, "EXPIRY", "%ld memories expired", total);
        return total;
}

static void *expiry_main(void *arg)
{
        struct memory_expiry *e = arg;

        pthread_mutex_lock(&e->lock);
        while (!e->stop) {
                struct timespec until;
                long long ms = e->svc->conf->expiry_interval_ms;

                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += ms / 1000;
                until.tv_nsec += (ms % 1000) * 1000000;
                if (until.tv_nsec >= 1000000000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&e->cond, &e->lock, &until);
                if (e->stop)
                        break;
                pthread_mutex_unlock(&e->lock);
                memory_expiry_sweep(e->svc);
                pthread_mutex_lock(&e->lock);
        }
        pthread_mutex_unlock(&e->lock);
        return NULL;
}

struct memory_expiry *memory_expiry_start(struct memory_service *svc)
{
        struct memory_expiry *e;

        if (svc->conf->expiry_interval_ms == 0)
                return NULL;
        e = calloc(1, sizeof(*e));
        if (!e)
                abort();
        e->svc = svc;
        pthread_mutex_init(&e->lock, NULL);
        pthread_cond_init(&e->cond, NULL);
        if (pthread_create(&e->thread, NULL, expiry_main, e) != 0)
                abort();
        return e;
}

void memory_expiry_stop(struct memory_expiry *e)
{
        if (!e)
                return;
        pthread_mutex_lock(&e->lock);
        e->stop = true;
        pthread_cond_signal(&e->cond);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->thread, NULL);
        pthread_cond_destroy(&e->cond);
        pthread_mutex_destroy(&e->lock);
        free(e);
}

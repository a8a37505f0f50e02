/* A periodic job (cairn/periodic.h): a condition variable waited on with a
 * deadline, so that a wake or a stop ends the wait at once. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/periodic.h"

struct cairn_periodic {
        long long interval_ms;
        void (*fn)(void *arg);
        void *arg;
        bool final_run;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop, woken;
};

static void *periodic_main(void *opaque)
{
        struct cairn_periodic *p = opaque;

        pthread_mutex_lock(&p->lock);
        while (!p->stop) {
                if (!p->woken) {
                        struct timespec until = cairn_timespec_in(CLOCK_MONOTONIC,
                                                                  (int64_t)p->interval_ms * 1000);

                        pthread_cond_timedwait(&p->cond, &p->lock, &until);
                }
                if (p->stop)
                        break;
                p->woken = false;
                pthread_mutex_unlock(&p->lock);
                p->fn(p->arg);
                pthread_mutex_lock(&p->lock);
        }
        pthread_mutex_unlock(&p->lock);
        if (p->final_run)
                p->fn(p->arg);
        return NULL;
}

struct cairn_periodic *cairn_periodic_start(long long interval_ms, void (*fn)(void *arg), void *arg,
                                            bool final_run)
{
        struct cairn_periodic *p = calloc(1, sizeof(*p));
        pthread_condattr_t attr;

        if (!p)
                abort();
        p->interval_ms = interval_ms;
        p->fn = fn;
        p->arg = arg;
        p->final_run = final_run;
        pthread_mutex_init(&p->lock, NULL);
        /* waits on the monotonic clock: a clock step does not stretch them */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cond, &attr);
        pthread_condattr_destroy(&attr);
        if (pthread_create(&p->thread, NULL, periodic_main, p) != 0)
                abort();
        return p;
}

void cairn_periodic_wake(struct cairn_periodic *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->woken = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

void cairn_periodic_stop(struct cairn_periodic *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

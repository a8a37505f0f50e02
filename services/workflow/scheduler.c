/* The scheduler: threads that move runs whose time has come (a timer, a
 * retry's backoff, an attempt's or the run's timeout), found by
 * workflow_runs.wake_at. Each run is taken with FOR UPDATE SKIP LOCKED, so
 * threads and replicas share the work without waiting on each other, and
 * moved in one transaction like any other change (store.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "db.h"
#include "store.h"
#include "workflow.h"

#define BATCH 64

struct wf_scheduler {
        struct wf_service *svc;
        pthread_t *threads;
        size_t n;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
};

static cairn_err_t advance(struct wf_tick *t, void *opaque, struct cairn_status *st)
{
        (void)opaque;
        (void)st;
        wf_engine_advance(t);
        return CAIRN_OK;
}

/* Moves the runs due now; returns how many were found due. */
static int round_once(struct wf_service *svc)
{
        char limit[16], errstr[256];
        const char *p[1] = { limit };
        PGresult *res = NULL;
        int n;

        snprintf(limit, sizeof(limit), "%d", BATCH);
        if (cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_DUE], p, 1, &res, errstr,
                          sizeof(errstr)) != CAIRN_OK) {
                cairn_log(WARN, "SCHED", "looking for due runs: %s", errstr);
                return 0;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
                struct wf_run_summary sum;
                struct cairn_status st;
                bool skipped = false;
                int64_t due = strtoll(PQgetvalue(res, i, 1), NULL, 10);
                cairn_err_t err = wf_run_tx(svc, PQgetvalue(res, i, 0), true, advance, NULL,
                                            &skipped, &sum, &st);

                if (err) {
                        cairn_log(WARN, "SCHED", "run %s: %s: %s", PQgetvalue(res, i, 0),
                                  cairn_err_str(err), st.message);
                        continue;
                }
                if (skipped)
                        continue;
                wf_metrics_observe(svc, &sum);
                cairn_series_inc(cairn_metric_series(svc->m.timers_fired, NULL));
                cairn_metric_observe_l(svc->m.timer_late, NULL,
                                       (double)(cairn_now_ms() - due) / 1000.0);
        }
        PQclear(res);
        return n;
}

static void *sched_main(void *arg)
{
        struct wf_scheduler *s = arg;

        for (;;) {
                int found = round_once(s->svc);

                pthread_mutex_lock(&s->lock);
                if (!s->stop && found < BATCH) {
                        struct timespec ts = cairn_timespec_in(CLOCK_REALTIME,
                                                               s->svc->conf->poll_ms * 1000);

                        pthread_cond_timedwait(&s->cond, &s->lock, &ts);
                }
                bool stop = s->stop;

                pthread_mutex_unlock(&s->lock);
                if (stop)
                        break;
        }
        return NULL;
}

struct wf_scheduler *wf_scheduler_start(struct wf_service *svc)
{
        struct wf_scheduler *s = calloc(1, sizeof(*s));

        if (!s)
                abort();
        s->svc = svc;
        s->n = (size_t)svc->conf->scheduler_threads;
        s->threads = calloc(s->n, sizeof(*s->threads));
        if (!s->threads)
                abort();
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        for (size_t i = 0; i < s->n; i++)
                if (pthread_create(&s->threads[i], NULL, sched_main, s) != 0)
                        abort();
        return s;
}

void wf_scheduler_stop(struct wf_scheduler *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        for (size_t i = 0; i < s->n; i++)
                pthread_join(s->threads[i], NULL);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s->threads);
        free(s);
}

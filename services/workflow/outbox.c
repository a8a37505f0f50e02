/* The outbox relay: one thread publishes what committed changes wrote to
 * workflow_outbox (the steps' requests, with the service's reply topic and
 * the attempt's deadline, and the history events) and deletes the rows once
 * the broker has every one. Woken at each commit, and every poll interval
 * for rows left by a crash or a failed publish. Replicas take rows with
 * SKIP LOCKED, so each row is published by one of them at a time; a row
 * published but not yet deleted when a replica dies is published again,
 * with the same ce_id, which the services it calls deduplicate.
 *
 * A step's reply goes to the partition of the reply topic its run id
 * hashes to (cairn_reply_partition), not to its key's (the tenant's): one
 * tenant's runs have their replies recorded by every replica, and one run's
 * replies stay in order on one partition. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/events.h"
#include "cairn/log.h"
#include "db.h"
#include "workflow.h"

#define BATCH           500
#define PUBLISH_TIMEOUT 10000 /* ms a batch may take to be acknowledged */
#define FAIL_PAUSE_MS   1000
#define METADATA_MS     1000 /* the wait for the reply topic's partition count */

struct wf_outbox {
        struct wf_service *svc;
        struct cairn_events *events;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop, woken;
        int reply_partitions;           /* of the reply topic; <= 0: not known yet (by key) */
        struct cairn_metric *published; /* {outcome} */
};

/* The reply partition of a dispatch, from the run id that begins its ce_id
 * (<run_id>/<step>/<attempt>). */
static int32_t reply_partition(const char *ce_id, int partitions)
{
        size_t len = strcspn(ce_id, "/");

        return (int32_t)(XXH64(ce_id, len, 0) % (uint64_t)partitions);
}

struct round {
        struct wf_outbox *o;
        int taken;
        size_t sent;
};

static cairn_err_t round_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct round *r = opaque;
        struct wf_outbox *o = r->o;
        char limit[16];
        const char *p[1] = { limit };
        PGresult *res = NULL;
        cairn_err_t err;

        r->taken = 0;
        r->sent = 0;
        snprintf(limit, sizeof(limit), "%d", BATCH);
        if ((err = cairn_pg_conn_exec(conn, &wf_sql[WQ_OUTBOX_TAKE], p, 1, &res, errstr,
                                      errstr_size)))
                return err;
        int n = PQntuples(res);

        if (n == 0) {
                PQclear(res);
                return CAIRN_OK;
        }
        struct cairn_event *ev = calloc((size_t)n, sizeof(*ev));
        struct cairn_event_call *calls = calloc((size_t)n, sizeof(*calls));
        uint8_t **bufs = calloc((size_t)n, sizeof(*bufs));
        struct cairn_buf seqs = { 0 };
        struct cairn_status st;

        if (!ev || !calls || !bufs)
                abort();
        cairn_pg_array_begin(&seqs);
        for (int i = 0; i < n; i++) {
                size_t len = 0;

                if (!cairn_pg_bytea_decode(PQgetvalue(res, i, 5), &bufs[i], &len))
                        abort(); /* the server's own encoding */
                ev[i].id = PQgetvalue(res, i, 3);
                ev[i].type = PQgetvalue(res, i, 4);
                ev[i].key = PQgetvalue(res, i, 2);
                ev[i].time_ms = strtoll(PQgetvalue(res, i, 9), NULL, 10);
                ev[i].data = bufs[i];
                ev[i].len = len;
                calls[i].topic = PQgetvalue(res, i, 1);
                calls[i].deadline_ms = strtoll(PQgetvalue(res, i, 6), NULL, 10);
                /* a dispatch (it has a deadline) is answered to us */
                calls[i].reply_to = calls[i].deadline_ms ? o->svc->reply_topic : NULL;
                if (calls[i].reply_to && o->reply_partitions > 0) {
                        calls[i].has_reply_partition = true;
                        calls[i].reply_partition = reply_partition(ev[i].id, o->reply_partitions);
                }
                calls[i].principal = PQgetvalue(res, i, 7);
                calls[i].role = PQgetvalue(res, i, 8);
                cairn_pg_array_add(&seqs, PQgetvalue(res, i, 0));
        }
        cairn_pg_array_end(&seqs);
        err = cairn_events_send(o->events, calls[0].topic, ev, calls, (size_t)n, PUBLISH_TIMEOUT,
                                &st);
        if (err) {
                snprintf(errstr, errstr_size, "%s", st.message);
        } else {
                const char *d[1] = { seqs.p };

                err = cairn_pg_conn_exec(conn, &wf_sql[WQ_OUTBOX_DELETE], d, 1, NULL, errstr,
                                         errstr_size);
                r->sent = (size_t)n;
        }
        r->taken = n;
        for (int i = 0; i < n; i++)
                free(bufs[i]);
        free(bufs);
        free(calls);
        free(ev);
        cairn_buf_cleanup(&seqs);
        PQclear(res);
        return err;
}

static void *relay_main(void *arg)
{
        struct wf_outbox *o = arg;

        for (;;) {
                pthread_mutex_lock(&o->lock);
                if (!o->woken && !o->stop) {
                        struct timespec ts = cairn_timespec_in(CLOCK_REALTIME,
                                                               o->svc->conf->poll_ms * 1000);

                        pthread_cond_timedwait(&o->cond, &o->lock, &ts);
                }
                bool stop = o->stop;

                o->woken = false;
                pthread_mutex_unlock(&o->lock);

                struct round r = { .o = o };
                char errstr[512];
                cairn_err_t err;

                /* once, outside any transaction; until then replies go by key */
                if (o->reply_partitions <= 0)
                        o->reply_partitions = cairn_events_partitions(o->events,
                                                                      o->svc->reply_topic,
                                                                      METADATA_MS);

                do {
                        err = cairn_pg_tx(o->svc->pg, WF_PG_DEADLINE, round_tx, &r, errstr,
                                          sizeof(errstr));
                        if (err) {
                                cairn_log(WARN, "OUTBOX", "publishing failed, retried: %s: %s",
                                          cairn_err_str(err), errstr);
                                cairn_series_inc(cairn_metric_series(o->published,
                                                                     (const char *const[]){
                                                                             "failed", NULL }));
                        } else if (r.sent) {
                                cairn_series_add(cairn_metric_series(o->published,
                                                                     (const char *const[]){
                                                                             "published", NULL }),
                                                 (double)r.sent);
                        }
                } while (!err && r.taken == BATCH);
                if (stop)
                        break;
                if (err)
                        usleep(FAIL_PAUSE_MS * 1000);
        }
        return NULL;
}

struct wf_outbox *wf_outbox_start(struct wf_service *svc, const struct cairn_conf *conf,
                                  char *errstr, size_t errstr_size)
{
        struct wf_outbox *o = calloc(1, sizeof(*o));

        if (!o)
                abort();
        o->svc = svc;
        o->events = cairn_events_new("workflow", conf, NULL, errstr, errstr_size);
        if (!o->events) {
                free(o);
                return NULL;
        }
        o->published = svc->m.published;
        pthread_mutex_init(&o->lock, NULL);
        pthread_cond_init(&o->cond, NULL);
        if (pthread_create(&o->thread, NULL, relay_main, o) != 0)
                abort();
        return o;
}

void wf_outbox_wake(struct wf_outbox *o)
{
        if (!o)
                return;
        pthread_mutex_lock(&o->lock);
        o->woken = true;
        pthread_cond_signal(&o->cond);
        pthread_mutex_unlock(&o->lock);
}

void wf_outbox_stop(struct wf_outbox *o)
{
        if (!o)
                return;
        pthread_mutex_lock(&o->lock);
        o->stop = true;
        pthread_cond_signal(&o->cond);
        pthread_mutex_unlock(&o->lock);
        pthread_join(o->thread, NULL);
        cairn_events_free(o->events);
        pthread_cond_destroy(&o->cond);
        pthread_mutex_destroy(&o->lock);
        free(o);
}

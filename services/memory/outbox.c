/* The outbox publisher: events are written in the transaction of the change
 * they describe (memory_outbox); this thread publishes them on
 * memory.events_topic, oldest first, and deletes them once the broker has
 * acknowledged every one. One replica publishes at a time (an advisory
 * lock), so events leave in the order they were written; a publish that
 * fails leaves them for the next round, so an event may arrive twice
 * (consumers dedupe on event_id, its ce_id), never not at all. */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/events.h"
#include "cairn/log.h"
#include "cairn/periodic.h"
#include "db.h"
#include "memory.h"

#define BATCH           200
#define PUBLISH_TIMEOUT 10000 /* ms a batch may take to be acknowledged */
#define ROUND_BUDGET_US (30 * 1000000LL)

struct memory_outbox {
        struct memory_service *svc;
        struct cairn_events *events;
        struct cairn_periodic *job;
};

static Cairn__Memory__V1__MemoryEventType event_type(const char *s)
{
        static const struct {
                const char *name;
                Cairn__Memory__V1__MemoryEventType type;
        } types[] = {
                { "STORED", CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_STORED },
                { "UPDATED", CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_UPDATED },
                { "DELETED", CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_DELETED },
                { "ERASED", CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_ERASED },
                { "EXPIRED", CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_EXPIRED },
        };

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
                if (strcmp(s, types[i].name) == 0)
                        return types[i].type;
        return CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_UNSPECIFIED;
}

struct round {
        struct memory_outbox *o;
        int published;
};

/* Packs row @p i of an MS_OUTBOX_TAKE result as an event; the caller frees
 * e->data and e->key. */
static int event_of(const PGresult *res, int i, struct cairn_event *e)
{
        Cairn__Memory__V1__MemoryEvent msg = CAIRN__MEMORY__V1__MEMORY_EVENT__INIT, *m = &msg;
        Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        int64_t ms = strtoll(PQgetvalue(res, i, 9), NULL, 10);
        uint8_t *buf;
        char *key;

        m->event_id = PQgetvalue(res, i, 1);
        m->type = event_type(PQgetvalue(res, i, 2));
        m->user_id = PQgetvalue(res, i, 4);
        m->memory_id = PQgetvalue(res, i, 5);
        m->version = (uint32_t)strtoul(PQgetvalue(res, i, 6), NULL, 10);
        m->memories = strtoull(PQgetvalue(res, i, 7), NULL, 10);
        m->request_id = PQgetvalue(res, i, 8);
        at.seconds = ms / 1000;
        at.nanos = (int32_t)(ms % 1000) * 1000000;
        m->at = &at;
        buf = malloc(protobuf_c_message_get_packed_size(&m->base) + 1);
        if (!buf || asprintf(&key, "%s/%s", PQgetvalue(res, i, 3), m->user_id) < 0) {
                free(buf);
                return -1;
        }
        e->len = protobuf_c_message_pack(&m->base, buf);
        e->data = buf;
        e->key = key;
        e->id = PQgetvalue(res, i, 1);
        e->type = "cairn.memory.v1.MemoryEvent";
        e->time_ms = ms;
        return 0;
}

/* One round in one transaction, under the advisory lock: take the oldest
 * events, publish them, delete them. Publishing is the one thing here
 * outside the database: a retried round publishes again, which consumers
 * see as a duplicate. */
static cairn_err_t round_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct round *r = opaque;
        struct memory_service *svc = r->o->svc;
        char limit[16], *seqs = NULL;
        const char *p[1] = { limit };
        struct cairn_event *ev = NULL;
        struct cairn_status st;
        PGresult *res = NULL;
        cairn_err_t err;
        size_t o = 0;
        int n = 0;

        r->published = 0;
        err = cairn_pg_conn_exec(conn, &memory_sql[MS_OUTBOX_LOCK], NULL, 0, &res, errstr,
                                 errstr_size);
        if (err != CAIRN_OK || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
                PQclear(res);
                return err; /* another replica publishes now */
        }
        PQclear(res);
        snprintf(limit, sizeof(limit), "%d", BATCH);
        err = cairn_pg_conn_exec(conn, &memory_sql[MS_OUTBOX_TAKE], p, 1, &res, errstr,
                                 errstr_size);
        if (err != CAIRN_OK)
                return err;
        n = PQntuples(res);
        ev = calloc((size_t)n + 1, sizeof(*ev));
        seqs = malloc((size_t)n * 21 + 3);
        if (!ev || !seqs) {
                snprintf(errstr, errstr_size, "out of memory");
                err = CAIRN_ERR_EXHAUSTED;
        }
        for (int i = 0; err == CAIRN_OK && i < n; i++) {
                if (event_of(res, i, &ev[i]) != 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        err = CAIRN_ERR_EXHAUSTED;
                }
                o += (size_t)snprintf(seqs + o, 22, "%s%s", i ? "," : "{", PQgetvalue(res, i, 0));
        }
        if (err == CAIRN_OK && n > 0 &&
            cairn_events_publish(r->o->events, svc->conf->events_topic, ev, (size_t)n,
                                 PUBLISH_TIMEOUT, &st) != CAIRN_OK) {
                snprintf(errstr, errstr_size, "%s", st.message);
                err = CAIRN_ERR_UNAVAILABLE;
        }
        if (err == CAIRN_OK && n > 0) {
                const char *q[1] = { seqs };
                PGresult *done = NULL;

                snprintf(seqs + o, 2, "}");
                err = cairn_pg_conn_exec(conn, &memory_sql[MS_OUTBOX_DONE], q, 1, &done, errstr,
                                         errstr_size);
                PQclear(done);
                if (err == CAIRN_OK)
                        r->published = n;
        }
        for (int i = 0; ev && i < n; i++) {
                free((void *)ev[i].data);
                free((void *)ev[i].key);
        }
        free(ev);
        free(seqs);
        PQclear(res);
        return err;
}

/* Publishes until the outbox is empty (or a round fails). */
static void drain(void *opaque)
{
        struct memory_outbox *o = opaque;
        struct round r = { o, 0 };
        char errstr[512];

        do {
                if (cairn_pg_tx(o->svc->pg, cairn_mono_us() + ROUND_BUDGET_US, round_tx, &r, errstr,
                                sizeof(errstr)) != CAIRN_OK) {
                        cairn_log(WARN, "EVENTS", "publishing events: %s", errstr);
                        return;
                }
        } while (r.published == BATCH);
}

struct memory_outbox *memory_outbox_start(struct memory_service *svc, struct cairn_events *events)
{
        struct memory_outbox *o = calloc(1, sizeof(*o));

        if (!o)
                abort();
        o->svc = svc;
        o->events = events;
        /* the last run publishes what the last changes wrote */
        o->job = cairn_periodic_start(svc->conf->events_interval_ms, drain, o, true);
        return o;
}

void memory_outbox_wake(struct memory_outbox *o)
{
        if (o)
                cairn_periodic_wake(o->job);
}

void memory_outbox_stop(struct memory_outbox *o)
{
        if (!o)
                return;
        cairn_periodic_stop(o->job);
        free(o);
}

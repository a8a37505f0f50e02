/* Appending to the audit log and publishing it (audit.h). */
#include "audit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/hex.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/pbjson.h"
#include "cairn/periodic.h"
#include "cairn/secrets/v1/secrets.pb-c.h"

#define PUBLISH_BATCH      256
#define PUBLISH_TIMEOUT_MS 10000

static const struct cairn_pg_stmt sql_lock_timeout = {
        .name = "secrets_audit_lock_timeout",
        .sql = "SELECT set_config('lock_timeout', $1, true)",
};
static const struct cairn_pg_stmt sql_head = {
        .name = "secrets_audit_head",
        .sql = "SELECT seq, hash FROM secrets_audit_head FOR UPDATE",
};
/* Every row of a batch in one statement (arrays, one per column), and the
 * head moved past them. */
static const struct cairn_pg_stmt sql_insert = {
        .name = "secrets_audit_insert",
        .sql = "WITH rows AS (INSERT INTO secrets_audit (seq, at_us, tenant, principal, role, "
               "operation, path, version, outcome, code, ce_id, request_id, prev_hash, hash) "
               "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], "
               "$5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::int[], "
               "$11::text[], $12::text[], $13::bytea[], $14::bytea[]) RETURNING 1) "
               "UPDATE secrets_audit_head SET seq = $15, hash = $16 "
               "WHERE (SELECT count(*) FROM rows) > 0",
};
static const struct cairn_pg_stmt sql_published = {
        .name = "secrets_audit_published",
        .sql = "SELECT seq FROM secrets_audit_published FOR UPDATE SKIP LOCKED",
};
static const struct cairn_pg_stmt sql_unpublished = {
        .name = "secrets_audit_unpublished",
        .sql = "SELECT seq, at_us, tenant, principal, role, operation, path, version, outcome, code, "
               "ce_id, request_id, prev_hash, hash FROM secrets_audit WHERE seq > $1 ORDER BY seq "
               "LIMIT 256",
};
static const struct cairn_pg_stmt sql_published_set = {
        .name = "secrets_audit_published_set",
        .sql = "UPDATE secrets_audit_published SET seq = $1",
};

/* A row waiting for the appender, with copies of its strings. */
struct item {
        struct secrets_audit_row row;
        bool done, abandoned; /* abandoned: its waiter gave up; the appender frees it */
        cairn_err_t err;
        char why[200];
        struct item *next;
        char text[]; /* the strings */
};

struct secrets_audit {
        struct cairn_pg *pg;
        const struct secrets_conf *conf;
        struct cairn_events *events;
        pthread_mutex_t lock;
        pthread_cond_t wake, done; /* done: monotonic clock */
        struct item *head, *tail;
        size_t queued;
        bool stopping;
        pthread_t thread;
        struct cairn_periodic *publisher;
        struct cairn_series *rows, *failures;
};

static void element_u64(struct cairn_buf *b, unsigned long long v)
{
        char t[24];

        snprintf(t, sizeof(t), "%llu", v);
        cairn_pg_array_add(b, t);
}

static void element_hash(struct cairn_buf *b, const uint8_t *h)
{
        char t[2 * SECRETS_AUDIT_HASH_BYTES + 3] = "\\x";

        cairn_hex_encode(h, SECRETS_AUDIT_HASH_BYTES, t + 2);
        cairn_pg_array_add(b, t);
}

enum {
        C_SEQ,
        C_AT,
        C_TENANT,
        C_PRINCIPAL,
        C_ROLE,
        C_OP,
        C_PATH,
        C_VERSION,
        C_OUTCOME,
        C_CODE,
        C_CE_ID,
        C_REQUEST_ID,
        C_PREV,
        C_HASH,
        C__COUNT
};

/* Appends @p rows (n) after the head, in the transaction on @p conn: one
 * statement for the head's lock, one for every row and the head's move. */
static cairn_err_t append(struct secrets_audit *a, struct cairn_pg_conn *conn,
                          struct secrets_audit_row **rows, size_t n, char *errstr,
                          size_t errstr_size)
{
        char lt[32], last_seq[24], last_hash[2 * SECRETS_AUDIT_HASH_BYTES + 3] = "\\x";
        uint8_t prev[SECRETS_AUDIT_HASH_BYTES], hash[SECRETS_AUDIT_HASH_BYTES], *h = NULL;
        struct cairn_buf cols[C__COUNT] = { 0 };
        const char *lp[1] = { lt }, *p[C__COUNT + 2];
        PGresult *res = NULL;
        size_t hl = 0;
        uint64_t s;
        cairn_err_t err;

        snprintf(lt, sizeof(lt), "%lldms", a->conf->audit_timeout_ms);
        if ((err = cairn_pg_conn_exec(conn, &sql_lock_timeout, lp, 1, NULL, errstr, errstr_size)) !=
                    CAIRN_OK ||
            (err = cairn_pg_conn_exec(conn, &sql_head, NULL, 0, &res, errstr, errstr_size)) !=
                    CAIRN_OK)
                return err;
        if (PQntuples(res) != 1 || !cairn_pg_bytea_decode(PQgetvalue(res, 0, 1), &h, &hl) ||
            hl != sizeof(prev)) {
                PQclear(res);
                free(h);
                snprintf(errstr, errstr_size, "the audit head row is missing or malformed");
                return CAIRN_ERR_INTERNAL;
        }
        s = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        memcpy(prev, h, sizeof(prev));
        free(h);
        PQclear(res);
        for (int c = 0; c < C__COUNT; c++)
                cairn_pg_array_begin(&cols[c]);
        for (size_t i = 0; i < n; i++) {
                struct secrets_audit_row *r = rows[i];

                r->seq = ++s;
                r->at_us = cairn_now_us();
                secrets_audit_hash(prev, r, hash);
                element_u64(&cols[C_SEQ], r->seq);
                element_u64(&cols[C_AT], (unsigned long long)r->at_us);
                cairn_pg_array_add(&cols[C_TENANT], r->tenant);
                cairn_pg_array_add(&cols[C_PRINCIPAL], r->principal);
                cairn_pg_array_add(&cols[C_ROLE], r->role);
                cairn_pg_array_add(&cols[C_OP], r->operation);
                cairn_pg_array_add(&cols[C_PATH], r->path);
                element_u64(&cols[C_VERSION], r->version);
                cairn_pg_array_add(&cols[C_OUTCOME], r->outcome);
                element_u64(&cols[C_CODE], (unsigned long long)r->code);
                cairn_pg_array_add(&cols[C_CE_ID], r->ce_id);
                cairn_pg_array_add(&cols[C_REQUEST_ID], r->request_id);
                element_hash(&cols[C_PREV], prev);
                element_hash(&cols[C_HASH], hash);
                memcpy(prev, hash, sizeof(prev));
        }
        bool oom = false;
        for (int c = 0; c < C__COUNT; c++) {
                cairn_pg_array_end(&cols[c]);
                oom |= cols[c].oom;
                p[c] = cols[c].p;
        }
        snprintf(last_seq, sizeof(last_seq), "%llu", (unsigned long long)s);
        cairn_hex_encode(prev, sizeof(prev), last_hash + 2);
        p[C__COUNT] = last_seq;
        p[C__COUNT + 1] = last_hash;
        err = oom ? CAIRN_ERR_EXHAUSTED
                  : cairn_pg_conn_exec(conn, &sql_insert, p, C__COUNT + 2, NULL, errstr,
                                       errstr_size);
        for (int c = 0; c < C__COUNT; c++)
                cairn_buf_cleanup(&cols[c]);
        return err;
}

cairn_err_t secrets_audit_append_tx(struct secrets_audit *a, struct cairn_pg_conn *conn,
                                    const struct secrets_audit_row *row, char *errstr,
                                    size_t errstr_size)
{
        struct secrets_audit_row copy = *row, *rows[1] = { &copy };

        return append(a, conn, rows, 1, errstr, errstr_size);
}

/* ---- the appender ---- */

struct batch {
        struct secrets_audit *a;
        struct secrets_audit_row *rows[256];
        size_t n;
};

static cairn_err_t batch_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct batch *b = opaque;

        return append(b->a, conn, b->rows, b->n, errstr, errstr_size);
}

static void *appender(void *arg)
{
        struct secrets_audit *a = arg;
        size_t max = (size_t)a->conf->audit_batch;

        if (max > 256)
                max = 256;
        pthread_mutex_lock(&a->lock);
        for (;;) {
                struct item *taken = NULL, **tail = &taken;
                struct batch b = { .a = a };
                char errstr[200] = "";
                cairn_err_t err;

                while (!a->head && !a->stopping)
                        pthread_cond_wait(&a->wake, &a->lock);
                if (!a->head)
                        break;
                while (a->head && b.n < max) {
                        struct item *it = a->head;

                        a->head = it->next;
                        it->next = NULL;
                        *tail = it;
                        tail = &it->next;
                        b.rows[b.n++] = &it->row;
                        a->queued--;
                }
                if (!a->head)
                        a->tail = NULL;
                pthread_mutex_unlock(&a->lock);
                err = cairn_pg_tx(a->pg, cairn_mono_us() + a->conf->audit_timeout_ms * 1000,
                                  batch_tx, &b, errstr, sizeof(errstr));
                if (err == CAIRN_OK) {
                        cairn_series_add(a->rows, (double)b.n);
                        if (a->publisher)
                                cairn_periodic_wake(a->publisher);
                }
                pthread_mutex_lock(&a->lock);
                for (struct item *it = taken, *next; it; it = next) {
                        next = it->next;
                        it->done = true;
                        it->err = err;
                        snprintf(it->why, sizeof(it->why), "%s", errstr);
                        if (it->abandoned)
                                free(it);
                }
                pthread_cond_broadcast(&a->done);
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

static struct item *item_new(const struct secrets_audit_row *row)
{
        const char *s[7] = { row->tenant, row->principal, row->role,      row->operation,
                             row->path,   row->outcome,   row->request_id };
        size_t len = strlen(row->ce_id) + 1;
        struct item *it;
        char *p;

        for (int i = 0; i < 7; i++)
                len += strlen(s[i]) + 1;
        if (!(it = calloc(1, sizeof(*it) + len)))
                return NULL;
        it->row = *row;
        p = it->text;
#define COPY(field)                                \
        do {                                       \
                size_t n = strlen(row->field) + 1; \
                memcpy(p, row->field, n);          \
                it->row.field = p;                 \
                p += n;                            \
        } while (0)
        COPY(tenant);
        COPY(principal);
        COPY(role);
        COPY(operation);
        COPY(path);
        COPY(outcome);
        COPY(ce_id);
        COPY(request_id);
#undef COPY
        return it;
}

cairn_err_t secrets_audit_record(struct secrets_audit *a, const struct secrets_audit_row *row,
                                 char *why, size_t why_size)
{
        struct item *it;
        struct timespec until;
        cairn_err_t err;

        pthread_mutex_lock(&a->lock);
        if (a->queued >= (size_t)a->conf->audit_queue || a->stopping) {
                pthread_mutex_unlock(&a->lock);
                snprintf(why, why_size, "the audit queue is full (%lld rows wait)",
                         a->conf->audit_queue);
                return CAIRN_ERR_UNAVAILABLE;
        }
        if (!(it = item_new(row))) {
                pthread_mutex_unlock(&a->lock);
                snprintf(why, why_size, "out of memory for the audit row");
                return CAIRN_ERR_UNAVAILABLE;
        }
        if (a->tail)
                a->tail->next = it;
        else
                a->head = it;
        a->tail = it;
        a->queued++;
        pthread_cond_signal(&a->wake);
        until = cairn_timespec_in(CLOCK_MONOTONIC, (int64_t)a->conf->audit_timeout_ms * 1000);
        while (!it->done)
                if (pthread_cond_timedwait(&a->done, &a->lock, &until) != 0)
                        break;
        if (!it->done) {
                it->abandoned = true; /* the appender frees it */
                pthread_mutex_unlock(&a->lock);
                snprintf(why, why_size, "the audit log did not answer within %lld ms",
                         a->conf->audit_timeout_ms);
                return CAIRN_ERR_UNAVAILABLE;
        }
        err = it->err;
        if (err != CAIRN_OK)
                snprintf(why, why_size, "%s", it->why);
        pthread_mutex_unlock(&a->lock);
        free(it);
        return err == CAIRN_OK ? CAIRN_OK : CAIRN_ERR_UNAVAILABLE;
}

void secrets_audit_failed(struct secrets_audit *a)
{
        cairn_series_inc(a->failures);
}

void secrets_audit_wake(struct secrets_audit *a)
{
        cairn_series_inc(a->rows);
        if (a->publisher)
                cairn_periodic_wake(a->publisher);
}

/* ---- the publisher ---- */

struct pub {
        struct secrets_audit *a;
        size_t published;
};

static cairn_err_t publish_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                              size_t errstr_size)
{
        struct pub *pb = opaque;
        struct secrets_audit *a = pb->a;
        Cairn__Secrets__V1__AuditEvent ev[PUBLISH_BATCH];
        Google__Protobuf__Timestamp ts[PUBLISH_BATCH];
        struct cairn_event out[PUBLISH_BATCH];
        uint8_t *bufs[PUBLISH_BATCH] = { 0 }, *hashes[2 * PUBLISH_BATCH] = { 0 };
        char ids[PUBLISH_BATCH][48];
        PGresult *res = NULL, *rows = NULL;
        struct cairn_status st;
        cairn_err_t err;
        int n;

        pb->published = 0;
        if ((err = cairn_pg_conn_exec(conn, &sql_published, NULL, 0, &res, errstr, errstr_size)) !=
            CAIRN_OK)
                return err;
        if (PQntuples(res) == 0) { /* another replica publishes */
                PQclear(res);
                return CAIRN_OK;
        }
        const char *p[1] = { PQgetvalue(res, 0, 0) };
        err = cairn_pg_conn_exec(conn, &sql_unpublished, p, 1, &rows, errstr, errstr_size);
        PQclear(res);
        if (err != CAIRN_OK)
                return err;
        n = PQntuples(rows);
        for (int i = 0; i < n; i++) {
                size_t l1 = 0, l2 = 0;
                int64_t us = strtoll(PQgetvalue(rows, i, 1), NULL, 10);

                cairn__secrets__v1__audit_event__init(&ev[i]);
                cairn_timestamp_set_us(&ts[i], us);
                ev[i].seq = strtoull(PQgetvalue(rows, i, 0), NULL, 10);
                ev[i].time = &ts[i];
                ev[i].tenant = PQgetvalue(rows, i, 2);
                ev[i].principal = PQgetvalue(rows, i, 3);
                ev[i].role = PQgetvalue(rows, i, 4);
                ev[i].operation = PQgetvalue(rows, i, 5);
                ev[i].path = PQgetvalue(rows, i, 6);
                ev[i].version = strtoull(PQgetvalue(rows, i, 7), NULL, 10);
                ev[i].outcome = PQgetvalue(rows, i, 8);
                ev[i].code = (int32_t)strtol(PQgetvalue(rows, i, 9), NULL, 10);
                ev[i].ce_id = PQgetvalue(rows, i, 10);
                ev[i].request_id = PQgetvalue(rows, i, 11);
                cairn_pg_bytea_decode(PQgetvalue(rows, i, 12), &hashes[2 * i], &l1);
                cairn_pg_bytea_decode(PQgetvalue(rows, i, 13), &hashes[2 * i + 1], &l2);
                ev[i].prev_hash.data = hashes[2 * i], ev[i].prev_hash.len = l1;
                ev[i].hash.data = hashes[2 * i + 1], ev[i].hash.len = l2;
                out[i].len = cairn__secrets__v1__audit_event__get_packed_size(&ev[i]);
                if (!(bufs[i] = malloc(out[i].len ? out[i].len : 1)))
                        abort();
                cairn__secrets__v1__audit_event__pack(&ev[i], bufs[i]);
                /* the same id each time a row is published: consumers dedupe */
                snprintf(ids[i], sizeof(ids[i]), "cairn.secrets.audit.%llu",
                         (unsigned long long)ev[i].seq);
                out[i].id = ids[i];
                out[i].type = ev[i].base.descriptor->name;
                out[i].key = ev[i].tenant;
                out[i].time_ms = us / 1000;
                out[i].data = bufs[i];
        }
        if (n > 0) {
                err = cairn_events_publish(a->events, a->conf->audit_topic, out, (size_t)n,
                                           PUBLISH_TIMEOUT_MS, &st);
                if (err != CAIRN_OK)
                        snprintf(errstr, errstr_size, "publishing to %s: %s", a->conf->audit_topic,
                                 st.message);
                else {
                        const char *q[1] = { PQgetvalue(rows, n - 1, 0) };

                        err = cairn_pg_conn_exec(conn, &sql_published_set, q, 1, NULL, errstr,
                                                 errstr_size);
                        pb->published = (size_t)n;
                }
        }
        for (int i = 0; i < n; i++) {
                free(bufs[i]);
                free(hashes[2 * i]);
                free(hashes[2 * i + 1]);
        }
        PQclear(rows);
        return err;
}

static void publish(void *arg)
{
        struct secrets_audit *a = arg;
        struct pub pb = { a, 0 };
        char errstr[300];

        do {
                if (cairn_pg_tx(a->pg, cairn_mono_us() + 2 * PUBLISH_TIMEOUT_MS * 1000LL,
                                publish_tx, &pb, errstr, sizeof(errstr)) != CAIRN_OK) {
                        cairn_log(WARN, "SECRETS", "audit publishing: %s", errstr);
                        return;
                }
        } while (pb.published == PUBLISH_BATCH);
}

struct secrets_audit *secrets_audit_start(struct cairn_pg *pg, const struct secrets_conf *conf,
                                          struct cairn_events *events,
                                          struct cairn_metrics *metrics)
{
        struct secrets_audit *a = calloc(1, sizeof(*a));
        pthread_condattr_t ca;

        if (!a)
                abort();
        a->pg = pg;
        a->conf = conf;
        a->events = events;
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->wake, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&a->done, &ca);
        pthread_condattr_destroy(&ca);
        a->rows = cairn_metric_series(cairn_metrics_counter(metrics,
                                                            "cairn_secrets_audit_rows_total",
                                                            "rows appended to the audit log", NULL),
                                      NULL);
        a->failures = cairn_metric_series(
                cairn_metrics_counter(metrics, "cairn_secrets_audit_failures_total",
                                      "requests whose audit row could not be appended (refused "
                                      "under secrets.audit_failure closed, served under open: "
                                      "an alarm either way)",
                                      NULL),
                NULL);
        if (pthread_create(&a->thread, NULL, appender, a) != 0)
                abort();
        if (events)
                a->publisher = cairn_periodic_start(conf->audit_publish_interval_ms, publish, a,
                                                    true);
        return a;
}

void secrets_audit_stop(struct secrets_audit *a)
{
        if (!a)
                return;
        pthread_mutex_lock(&a->lock);
        a->stopping = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
        cairn_periodic_stop(a->publisher); /* with a last run */
        pthread_cond_destroy(&a->wake);
        pthread_cond_destroy(&a->done);
        pthread_mutex_destroy(&a->lock);
        free(a);
}

/* Rotation reminders (reminders.h). */
#include "reminders.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/pbjson.h"
#include "cairn/periodic.h"
#include "cairn/secrets/v1/secrets.pb-c.h"
#include "store.h"

#define BATCH      256
#define TIMEOUT_MS 10000
#define OVERDUE_COND                                                                      \
        "m.rotate_after_s > 0 AND v.created_at + m.rotate_after_s * interval '1 second' " \
        "<= now()"

static const struct cairn_pg_stmt sql_count = {
        .name = "secrets_overdue_count",
        .sql = "SELECT count(*) FROM secrets_meta m JOIN secrets_versions v ON v.tenant = m.tenant "
               "AND v.path = m.path AND v.version = m.current_version WHERE " OVERDUE_COND,
};
static const struct cairn_pg_stmt sql_due = {
        .name = "secrets_overdue_new",
        .sql = "SELECT m.tenant, m.path, m.current_version, " SECRETS_SQL_US(
                "v.created_at + m.rotate_after_s * interval '1 second'") " FROM secrets_meta m "
                                                                         "JOIN secrets_versions "
                                                                         "v ON v.tenant = "
                                                                         "m.tenant AND v.path = "
                                                                         "m.path AND v.version "
                                                                         "= m.current_version "
                                                                         "WHERE " OVERDUE_COND
                                                                         " AND m.overdue_version < m.current_version LIMIT 256 FOR UPDATE OF m SKIP LOCKED",
};
static const struct cairn_pg_stmt sql_told = {
        .name = "secrets_overdue_told",
        .sql = "UPDATE secrets_meta SET overdue_version = $3 WHERE tenant = $1 AND path = $2",
};

/* A short digest of a secret's name, for event ids of bounded length. */
static unsigned long long name_digest(const char *tenant, const char *path)
{
        crypto_generichash_state st;
        uint8_t h[8];
        unsigned long long v = 0;

        crypto_generichash_init(&st, NULL, 0, sizeof(h));
        crypto_generichash_update(&st, (const uint8_t *)tenant, strlen(tenant) + 1);
        crypto_generichash_update(&st, (const uint8_t *)path, strlen(path));
        crypto_generichash_final(&st, h, sizeof(h));
        for (int i = 0; i < 8; i++)
                v = v << 8 | h[i];
        return v;
}

struct secrets_reminders {
        struct secrets_service *svc;
        struct cairn_events *events;
        struct cairn_periodic *periodic;
        struct cairn_series *overdue, *sent;
        int told; /* events published by the last transaction */
};

static cairn_err_t remind_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct secrets_reminders *r = opaque;
        Cairn__Secrets__V1__RotationOverdue ev[BATCH];
        Google__Protobuf__Timestamp ts[BATCH];
        struct cairn_event out[BATCH];
        uint8_t *bufs[BATCH] = { 0 };
        char ids[BATCH][96];
        struct cairn_status st;
        PGresult *res = NULL;
        cairn_err_t err;
        int n;

        r->told = 0;
        if ((err = cairn_pg_conn_exec(conn, &sql_due, NULL, 0, &res, errstr, errstr_size)) !=
            CAIRN_OK) {
                PQclear(res);
                return err;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
                int64_t us = strtoll(PQgetvalue(res, i, 3), NULL, 10);

                cairn__secrets__v1__rotation_overdue__init(&ev[i]);
                cairn_timestamp_set_us(&ts[i], us);
                ev[i].tenant = PQgetvalue(res, i, 0);
                ev[i].path = PQgetvalue(res, i, 1);
                ev[i].current_version = strtoull(PQgetvalue(res, i, 2), NULL, 10);
                ev[i].due_time = &ts[i];
                out[i].len = cairn__secrets__v1__rotation_overdue__get_packed_size(&ev[i]);
                if (!(bufs[i] = malloc(out[i].len ? out[i].len : 1)))
                        abort();
                cairn__secrets__v1__rotation_overdue__pack(&ev[i], bufs[i]);
                /* one id per secret and version: a republished event dedupes */
                snprintf(ids[i], sizeof(ids[i]), "cairn.secrets.overdue.%016llx.%llu",
                         name_digest(ev[i].tenant, ev[i].path),
                         (unsigned long long)ev[i].current_version);
                out[i].id = ids[i];
                out[i].type = ev[i].base.descriptor->name;
                out[i].key = ev[i].tenant;
                out[i].time_ms = cairn_now_ms();
                out[i].data = bufs[i];
        }
        if (n > 0 && (err = cairn_events_publish(r->events, r->svc->conf->events_topic, out,
                                                 (size_t)n, TIMEOUT_MS, &st)) != CAIRN_OK)
                snprintf(errstr, errstr_size, "publishing to %s: %s", r->svc->conf->events_topic,
                         st.message);
        for (int i = 0; i < n && err == CAIRN_OK; i++) {
                const char *p[3] = { PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                     PQgetvalue(res, i, 2) };
                PGresult *u = NULL;

                err = cairn_pg_conn_exec(conn, &sql_told, p, 3, &u, errstr, errstr_size);
                PQclear(u);
        }
        for (int i = 0; i < n; i++)
                free(bufs[i]);
        PQclear(res);
        r->told = err == CAIRN_OK ? n : 0;
        return err;
}

static void remind(void *arg)
{
        struct secrets_reminders *r = arg;
        PGresult *res = NULL;
        char errstr[300];

        if (cairn_pg_exec(r->svc->pg, cairn_mono_us() + TIMEOUT_MS * 1000LL, &sql_count, NULL, 0,
                          &res, errstr, sizeof(errstr)) == CAIRN_OK)
                cairn_series_set(r->overdue, strtod(PQgetvalue(res, 0, 0), NULL));
        PQclear(res);
        do {
                if (cairn_pg_tx(r->svc->pg, cairn_mono_us() + 2 * TIMEOUT_MS * 1000LL, remind_tx, r,
                                errstr, sizeof(errstr)) != CAIRN_OK) {
                        cairn_log(WARN, "SECRETS", "rotation reminders: %s", errstr);
                        return;
                }
                cairn_series_add(r->sent, r->told);
        } while (r->told == BATCH);
}

struct secrets_reminders *secrets_reminders_start(struct secrets_service *svc,
                                                  struct cairn_events *events,
                                                  struct cairn_metrics *metrics)
{
        struct secrets_reminders *r;

        if (svc->conf->reminder_interval_ms == 0 || !events)
                return NULL;
        if (!(r = calloc(1, sizeof(*r))))
                abort();
        r->svc = svc;
        r->events = events;
        r->overdue = cairn_metric_series(
                cairn_metrics_gauge(metrics, "cairn_secrets_rotation_overdue",
                                    "secrets whose current version is older than their "
                                    "rotate_after",
                                    NULL),
                NULL);
        r->sent =
                cairn_metric_series(cairn_metrics_counter(metrics,
                                                          "cairn_secrets_rotation_reminders_total",
                                                          "RotationOverdue events published", NULL),
                                    NULL);
        r->periodic = cairn_periodic_start(svc->conf->reminder_interval_ms, remind, r, false);
        return r;
}

void secrets_reminders_stop(struct secrets_reminders *r)
{
        if (!r)
                return;
        cairn_periodic_stop(r->periodic);
        free(r);
}

/* Rewrapping data keys after a rotation (rewrap.h). */
#include "rewrap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/periodic.h"
#include "envelope.h"
#include "keyring.h"

#define PASS_TIMEOUT_US (30 * 1000000LL)

static const struct cairn_pg_stmt sql_state = {
        .name = "secrets_rewrap_state",
        .sql = "SELECT rewrap_target, rewrap_total - rewrap_done FROM secrets_keyring "
               "WHERE rewrap_target > 0 AND rewrap_finished_at IS NULL",
};
static const struct cairn_pg_stmt sql_claim = {
        .name = "secrets_rewrap_claim",
        .sql = "SELECT tenant, path, version, kek_version, wrapped_key FROM secrets_versions "
               "WHERE kek_version < $1 AND NOT destroyed LIMIT $2 FOR UPDATE SKIP LOCKED",
};
/* a batch's new wrapped keys in one statement (one array per column) */
static const struct cairn_pg_stmt sql_rewrapped = {
        .name = "secrets_rewrap_put",
        .sql = "UPDATE secrets_versions v SET kek_version = $1, wrapped_key = u.w "
               "FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bytea[]) AS u(t, p, n, w) "
               "WHERE v.tenant = u.t AND v.path = u.p AND v.version = u.n",
};
static const struct cairn_pg_stmt sql_progress = {
        .name = "secrets_rewrap_progress",
        .sql = "UPDATE secrets_keyring SET rewrap_done = LEAST(rewrap_total, rewrap_done + $1)",
};
static const struct cairn_pg_stmt sql_left = {
        .name = "secrets_rewrap_left",
        .sql = "SELECT 1 FROM secrets_versions WHERE kek_version < $1 AND NOT destroyed LIMIT 1",
};
static const struct cairn_pg_stmt sql_finish = {
        .name = "secrets_rewrap_finish",
        .sql = "UPDATE secrets_keyring SET min_decryption_version = $1, rewrap_finished_at = now(), "
               "rewrap_done = rewrap_total WHERE rewrap_target = $1 AND rewrap_finished_at IS NULL",
};
static const struct cairn_pg_stmt sql_retire = {
        .name = "secrets_rewrap_retire",
        .sql = "UPDATE secrets_keks SET wrapped = NULL WHERE version < $1",
};

struct secrets_rewrap {
        struct secrets_service *svc;
        struct cairn_periodic *periodic;
        struct cairn_series *done, *remaining;
};

struct pass {
        struct secrets_rewrap *rw;
        uint32_t target;
        int batch;
        int n; /* rewrapped in this transaction */
};

static cairn_err_t batch_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct pass *ps = opaque;
        struct secrets_keyring *kr = ps->rw->svc->keyring;
        struct cairn_buf cols[4] = { 0 }; /* tenant, path, version, wrapped key */
        char t[16], lim[16], n[16];
        const char *p[2] = { t, lim };
        PGresult *res = NULL;
        bool oom = false;
        cairn_err_t err;

        ps->n = 0;
        snprintf(t, sizeof(t), "%u", ps->target);
        snprintf(lim, sizeof(lim), "%d", ps->batch);
        if ((err = cairn_pg_conn_exec(conn, &sql_claim, p, 2, &res, errstr, errstr_size)) !=
            CAIRN_OK) {
                PQclear(res);
                return err;
        }
        for (int c = 0; c < 4; c++)
                cairn_pg_array_begin(&cols[c]);
        for (int i = 0; i < PQntuples(res) && err == CAIRN_OK; i++) {
                const char *tenant = PQgetvalue(res, i, 0), *path = PQgetvalue(res, i, 1);
                uint64_t version = strtoull(PQgetvalue(res, i, 2), NULL, 10);
                uint32_t from = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
                uint8_t ad[SECRETS_AD_MAX], out[SECRETS_WRAPPED_BYTES], *wrapped = NULL;
                size_t wl = 0, ad_len = secrets_version_ad(tenant, path, version, ad);
                enum secrets_key_result kr_r = SECRETS_KEY_MISMATCH;
                char *wh;

                if (ad_len && cairn_pg_bytea_decode(PQgetvalue(res, i, 4), &wrapped, &wl))
                        kr_r = secrets_envelope_rewrap(kr, from, ps->target, ad, ad_len, wrapped,
                                                       wl, out);
                free(wrapped);
                if (kr_r != SECRETS_KEY_OK) {
                        /* never retire a KEK a data key still needs */
                        snprintf(errstr, errstr_size,
                                 "the data key of %s/%s version %llu (KEK version %u) does not "
                                 "unwrap: rewrap stopped",
                                 tenant, path, (unsigned long long)version, from);
                        err = CAIRN_ERR_DATA_LOSS;
                        break;
                }
                if (!(wh = cairn_pg_bytea_encode(out, sizeof(out)))) {
                        err = CAIRN_ERR_EXHAUSTED;
                        break;
                }
                cairn_pg_array_add(&cols[0], tenant);
                cairn_pg_array_add(&cols[1], path);
                cairn_pg_array_add(&cols[2], PQgetvalue(res, i, 2));
                cairn_pg_array_add(&cols[3], wh);
                free(wh);
                ps->n++;
        }
        PQclear(res);
        for (int c = 0; c < 4; c++) {
                cairn_pg_array_end(&cols[c]);
                oom |= cols[c].oom;
        }
        if (err == CAIRN_OK && ps->n > 0) {
                const char *q[5] = { t, cols[0].p, cols[1].p, cols[2].p, cols[3].p };

                err = oom ? CAIRN_ERR_EXHAUSTED
                          : cairn_pg_conn_exec(conn, &sql_rewrapped, q, 5, NULL, errstr,
                                               errstr_size);
        }
        for (int c = 0; c < 4; c++)
                cairn_buf_cleanup(&cols[c]);
        if (err == CAIRN_OK && ps->n > 0) {
                snprintf(n, sizeof(n), "%d", ps->n);
                const char *q[1] = { n };
                err = cairn_pg_conn_exec(conn, &sql_progress, q, 1, NULL, errstr, errstr_size);
        }
        return err;
}

/* Retires the older KEKs once no data key needs them. */
static cairn_err_t finish_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct pass *ps = opaque;
        char t[16];
        const char *p[1] = { t };
        PGresult *res = NULL;
        cairn_err_t err;

        snprintf(t, sizeof(t), "%u", ps->target);
        err = cairn_pg_conn_exec(conn, &sql_left, p, 1, &res, errstr, errstr_size);
        ps->n = err == CAIRN_OK ? PQntuples(res) : 0;
        PQclear(res);
        if (err != CAIRN_OK || ps->n > 0) /* some are still being rewrapped elsewhere */
                return err;
        err = cairn_pg_conn_exec(conn, &sql_finish, p, 1, NULL, errstr, errstr_size);
        return err == CAIRN_OK
                       ? cairn_pg_conn_exec(conn, &sql_retire, p, 1, NULL, errstr, errstr_size)
                       : err;
}

static void pass(void *arg)
{
        struct secrets_rewrap *rw = arg;
        struct secrets_service *svc = rw->svc;
        struct pass ps = { rw, 0, (int)svc->conf->rewrap_batch, 0 };
        int64_t deadline = cairn_mono_us() + PASS_TIMEOUT_US;
        PGresult *res = NULL;
        char errstr[300];
        cairn_err_t err;

        if (secrets_keyring_reload(svc->keyring, deadline, errstr, sizeof(errstr)) != CAIRN_OK)
                cairn_log(WARN, "SECRETS", "keyring reload: %s", errstr);
        err = cairn_pg_exec(svc->pg, deadline, &sql_state, NULL, 0, &res, errstr, sizeof(errstr));
        if (err != CAIRN_OK || PQntuples(res) == 0) {
                if (err != CAIRN_OK)
                        cairn_log(WARN, "SECRETS", "rewrap: %s", errstr);
                cairn_series_set(rw->remaining, 0);
                PQclear(res);
                return;
        }
        ps.target = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        cairn_series_set(rw->remaining, strtod(PQgetvalue(res, 0, 1), NULL));
        PQclear(res);
        do {
                err = cairn_pg_tx(svc->pg, cairn_mono_us() + PASS_TIMEOUT_US, batch_tx, &ps, errstr,
                                  sizeof(errstr));
                if (err != CAIRN_OK) {
                        cairn_log(ERROR, "SECRETS", "rewrap to KEK version %u: %s", ps.target,
                                  errstr);
                        return;
                }
                cairn_series_add(rw->done, ps.n);
        } while (ps.n == ps.batch);
        err = cairn_pg_tx(svc->pg, cairn_mono_us() + PASS_TIMEOUT_US, finish_tx, &ps, errstr,
                          sizeof(errstr));
        if (err != CAIRN_OK) {
                cairn_log(ERROR, "SECRETS", "rewrap: %s", errstr);
                return;
        }
        if (ps.n == 0) {
                cairn_series_set(rw->remaining, 0);
                cairn_log(INFO, "SECRETS",
                          "rewrap to KEK version %u finished: older versions retired", ps.target);
                if (secrets_keyring_reload(svc->keyring, deadline, errstr, sizeof(errstr)) !=
                    CAIRN_OK)
                        cairn_log(WARN, "SECRETS", "keyring reload: %s", errstr);
        }
}

struct secrets_rewrap *secrets_rewrap_start(struct secrets_service *svc,
                                            struct cairn_metrics *metrics)
{
        struct secrets_rewrap *rw = calloc(1, sizeof(*rw));

        if (!rw)
                abort();
        rw->svc = svc;
        rw->done = cairn_metric_series(
                cairn_metrics_counter(metrics, "cairn_secrets_rewrapped_total",
                                      "data keys rewrapped to a new KEK version", NULL),
                NULL);
        rw->remaining = cairn_metric_series(
                cairn_metrics_gauge(metrics, "cairn_secrets_rewrap_remaining",
                                    "data keys left to rewrap after the last rotation", NULL),
                NULL);
        rw->periodic = cairn_periodic_start(svc->conf->keyring_refresh_ms, pass, rw, false);
        return rw;
}

void secrets_rewrap_wake(struct secrets_rewrap *rw)
{
        if (rw)
                cairn_periodic_wake(rw->periodic);
}

void secrets_rewrap_stop(struct secrets_rewrap *rw)
{
        if (!rw)
                return;
        cairn_periodic_stop(rw->periodic);
        free(rw);
}

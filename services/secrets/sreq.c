/* One request of the secrets service from start to end (handlers.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/pbjson.h"
#include "cairn/pg_reply.h"
#include "cairn/utf8.h"
#include "handlers.h"
#include "paths.h"
#include "policies.h"
#include "policy.h"

#define MAX_DURATION_S (100LL * 366 * 86400)

static const struct cairn_pg_stmt sql_reply_get = {
        .name = "secrets_reply_get",
        .sql = "SELECT reply FROM secrets_requests WHERE tenant = $1 AND request_id = $2",
};
static const struct cairn_pg_stmt sql_reply_put = {
        .name = "secrets_reply_put",
        .sql = "INSERT INTO secrets_requests (tenant, request_id, reply) VALUES ($1, $2, $3)",
};
static const struct cairn_pg_stmt sql_savepoint = {
        .name = "secrets_savepoint",
        .sql = "SAVEPOINT audit",
};
static const struct cairn_pg_stmt sql_rollback_to = {
        .name = "secrets_rollback_to",
        .sql = "ROLLBACK TO SAVEPOINT audit",
};

cairn_err_t sreq_init(struct sreq *c, struct cairn_request *req, const char *operation,
                      const char *path, struct cairn_status *st)
{
        const char *slash = strchr(req->key, '/');
        size_t tl = slash ? (size_t)(slash - req->key) : strlen(req->key);
        const struct cairn_msg_headers *h = req->hdrs;

        memset(c, 0, sizeof(*c));
        c->svc = req->opaque;
        c->req = req;
        c->principal = h->principal;
        c->role = h->role;
        if (h->deadline_ms) {
                int64_t left = cairn_deadline_remaining_ms(h->deadline_ms, cairn_now_ms());
                c->deadline_us = cairn_mono_us() + (left > 0 ? left : 1) * 1000;
        }
        if (tl <= SECRETS_TENANT_MAX)
                memcpy(c->tenant, req->key, tl);
        /* a path that is not text yet is audited as empty: never a broken row */
        c->audit = (struct secrets_audit_row){
                .tenant = c->tenant,
                .principal = c->principal,
                .role = c->role,
                .operation = operation,
                .path = cairn_utf8_valid(path, strlen(path)) ? path : "",
                .outcome = "ok",
                .ce_id = h->id,
                .request_id = "",
        };
        if (tl == 0 || tl > SECRETS_TENANT_MAX)
                return cairn_status_set(st, CAIRN_ERR_INVALID, NULL, "BAD_KEY",
                                        "the message key must name the tenant (1 to %d bytes "
                                        "before any '/')",
                                        SECRETS_TENANT_MAX);
        if (!c->principal[0])
                return cairn_status_set(st, CAIRN_ERR_UNAUTHENTICATED, NULL, "NO_PRINCIPAL",
                                        "no caller: header cairn_principal is missing");
        if (!secrets_role_known(c->role))
                return cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "UNKNOWN_ROLE",
                                        "header cairn_role \"%.32s\" is not a role (owner, admin, "
                                        "member, viewer, service)",
                                        c->role);
        return CAIRN_OK;
}

cairn_err_t sreq_path(const struct sreq *c, const char *path, struct cairn_status *st)
{
        char why[160];

        if (!secrets_path_check(path, (size_t)c->svc->conf->max_path_bytes, why, sizeof(why)))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "path", "BAD_PATH", "%s", why);
        return CAIRN_OK;
}

cairn_err_t sreq_caps(struct sreq *c, const char *path, unsigned *caps, struct cairn_status *st)
{
        char errstr[256];
        cairn_err_t err = secrets_policies_caps(c->svc->policies, c->tenant, c->role, c->principal,
                                                path, c->deadline_us, caps, errstr, sizeof(errstr));

        return err == CAIRN_OK ? CAIRN_OK : sreq_pg_status(err, errstr, st);
}

cairn_err_t sreq_allow(struct sreq *c, const char *path, unsigned need, struct cairn_status *st)
{
        unsigned caps = 0;
        cairn_err_t err = sreq_caps(c, path, &caps, st);

        if (err != CAIRN_OK)
                return err;
        if (!(caps & need))
                return cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "DENIED",
                                        "permission denied");
        return CAIRN_OK;
}

cairn_err_t sreq_admin(const struct sreq *c, struct cairn_status *st)
{
        if (strcmp(c->role, "owner") != 0 && strcmp(c->role, "admin") != 0)
                return cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "DENIED",
                                        "permission denied: roles owner and admin only");
        return CAIRN_OK;
}

cairn_err_t sreq_audit_tx(struct sreq *c, struct cairn_pg_conn *conn, uint64_t version,
                          char *errstr, size_t errstr_size)
{
        cairn_err_t err;

        c->audit.version = version;
        c->audit.outcome = "ok";
        c->audit.code = 0;
        c->audited = true;
        c->audit_failed = false;
        if (!c->svc->fail_open)
                return secrets_audit_append_tx(c->svc->audit, conn, &c->audit, errstr, errstr_size);
        /* open: a failed append must not take the write with it */
        if ((err = cairn_pg_conn_exec(conn, &sql_savepoint, NULL, 0, NULL, errstr, errstr_size)) !=
            CAIRN_OK)
                return err;
        if (secrets_audit_append_tx(c->svc->audit, conn, &c->audit, errstr, errstr_size) ==
            CAIRN_OK)
                return CAIRN_OK;
        c->audit_failed = true;
        return cairn_pg_conn_exec(conn, &sql_rollback_to, NULL, 0, NULL, errstr, errstr_size);
}

static const char *outcome_of(cairn_err_t err)
{
        return err == CAIRN_OK ? "ok" : err == CAIRN_ERR_PERMISSION ? "denied" : "error";
}

cairn_err_t sreq_finish(struct sreq *c, cairn_err_t err, struct cairn_status *st)
{
        struct secrets_service *svc = c->svc;
        char why[256];

        if (c->audited && err == CAIRN_OK) {
                if (c->audit_failed) {
                        secrets_audit_failed(svc->audit);
                        cairn_log(ERROR, "SECRETS",
                                  "audit row of %s %s not appended "
                                  "(secrets.audit_failure open: served anyway)",
                                  c->audit.operation, c->audit.path);
                } else {
                        secrets_audit_wake(svc->audit);
                }
        } else {
                c->audit.outcome = outcome_of(err);
                c->audit.code = (int32_t)err;
                if (secrets_audit_record(svc->audit, &c->audit, why, sizeof(why)) != CAIRN_OK) {
                        secrets_audit_failed(svc->audit);
                        if (svc->fail_open) {
                                cairn_log(ERROR, "SECRETS",
                                          "audit row of %s %s not appended "
                                          "(secrets.audit_failure open: served anyway): %s",
                                          c->audit.operation, c->audit.path, why);
                        } else {
                                cairn_log(ERROR, "SECRETS",
                                          "audit row of %s %s not appended: "
                                          "refused: %s",
                                          c->audit.operation, c->audit.path, why);
                                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL,
                                                       "AUDIT_UNAVAILABLE",
                                                       "the audit log is unavailable, so the "
                                                       "request is refused: %s",
                                                       why);
                        }
                }
        }
        const char *labels[3] = { c->audit.operation, outcome_of(err), NULL };
        cairn_metric_inc_l(svc->ops, labels);
        return err;
}

cairn_err_t sreq_pg_status(cairn_err_t err, const char *errstr, struct cairn_status *st)
{
        switch (err) {
        case CAIRN_ERR_UNAVAILABLE:
        case CAIRN_ERR_EXHAUSTED:
        case CAIRN_ERR_ABORTED:
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "DATABASE",
                                        "the secrets database is unavailable: %s", errstr);
        case CAIRN_ERR_DEADLINE:
                return cairn_status_set(st, err, NULL, NULL, "deadline exceeded in the database");
        default:
                return cairn_status_set(st, CAIRN_ERR_INTERNAL, NULL, NULL, "database: %s", errstr);
        }
}

cairn_err_t sreq_replay(const struct sreq *c, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **reply, struct cairn_status *st)
{
        const char *params[2] = { c->tenant, c->req->hdrs->id };
        char errstr[256];
        cairn_err_t err;

        if (!params[1][0])
                return CAIRN_ERR_NOT_FOUND;
        err = cairn_pg_reply_find(c->svc->pg, c->deadline_us, &sql_reply_get, params, 2, desc,
                                  c->req->arena, reply, errstr, sizeof(errstr));
        if (err == CAIRN_ERR_INTERNAL)
                return cairn_status_set(st, err, NULL, NULL, "%s of %s", errstr, params[1]);
        return err == CAIRN_OK || err == CAIRN_ERR_NOT_FOUND ? err
                                                             : sreq_pg_status(err, errstr, st);
}

cairn_err_t sreq_reply_keep(struct cairn_pg_conn *conn, const struct sreq *c,
                            const ProtobufCMessage *reply, char *errstr, size_t errstr_size)
{
        const char *params[2] = { c->tenant, c->req->hdrs->id };

        if (!params[1][0])
                return CAIRN_OK;
        return cairn_pg_reply_keep(conn, &sql_reply_put, params, 2, reply, errstr, errstr_size);
}

void *sreq_alloc(struct cairn_request *req, size_t size)
{
        void *p = cairn_arena_alloc(req->arena, size);

        if (!p)
                abort();
        return p;
}

Google__Protobuf__Timestamp *sreq_ts(const struct sreq *c, int64_t unix_us)
{
        Google__Protobuf__Timestamp *ts = sreq_alloc(c->req, sizeof(*ts));

        cairn_timestamp_set_us(ts, unix_us);
        return ts;
}

Google__Protobuf__Duration *sreq_duration(const struct sreq *c, int64_t seconds)
{
        Google__Protobuf__Duration *d = sreq_alloc(c->req, sizeof(*d));

        google__protobuf__duration__init(d);
        d->seconds = seconds;
        return d;
}

cairn_err_t sreq_seconds(const Google__Protobuf__Duration *d, const char *field, int64_t *out,
                         struct cairn_status *st)
{
        if (d->seconds < 0 || d->nanos != 0 || d->seconds > MAX_DURATION_S)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "BAD_DURATION",
                                        "%s must be whole seconds from 0 to 100 years", field);
        *out = d->seconds;
        return CAIRN_OK;
}

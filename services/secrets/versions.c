/* Versions of a secret: soft delete, undelete, destroy. Versions that do
 * not exist are passed over, as Vault does; each request runs in one
 * transaction with its reply kept for redeliveries and its audit row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "handlers.h"
#include "policy.h"
#include "store.h"

#define VERSIONS_MAX 100

static const struct cairn_pg_stmt sql_delete = {
        .name = "secrets_versions_delete",
        .sql = "UPDATE secrets_versions SET deletion_time = now() WHERE tenant = $1 AND path = $2 "
               "AND version = ANY ($3::bigint[]) AND NOT destroyed "
               "AND (deletion_time IS NULL OR deletion_time > now())",
};
static const struct cairn_pg_stmt sql_undelete = {
        .name = "secrets_versions_undelete",
        .sql = "UPDATE secrets_versions SET deletion_time = NULL WHERE tenant = $1 AND path = $2 "
               "AND version = ANY ($3::bigint[]) AND NOT destroyed",
};
/* PostgreSQL keeps no copy it can reach once the row's new version is
 * written; the old one goes with VACUUM (docs/secrets.md). */
static const struct cairn_pg_stmt sql_destroy = {
        .name = "secrets_versions_destroy",
        .sql = "UPDATE secrets_versions SET destroyed = true, ciphertext = NULL, wrapped_key = NULL "
               "WHERE tenant = $1 AND path = $2 AND version = ANY ($3::bigint[]) AND NOT destroyed",
};
static const struct cairn_pg_stmt sql_touch = {
        .name = "secrets_meta_touch",
        .sql = "UPDATE secrets_meta SET updated_at = now() WHERE tenant = $1 AND path = $2",
};

struct change {
        struct sreq *c;
        const char *path;
        const uint64_t *versions;
        size_t n;
        const struct cairn_pg_stmt *stmt;
        ProtobufCMessage *reply;
        struct cairn_status *st;
};

static cairn_err_t change_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct change *ch = opaque;
        struct secrets_settings set;
        struct cairn_buf list = { 0 };
        uint64_t only = 0;
        cairn_err_t err;

        err = secrets_settings_lock(conn, ch->c, ch->path, &set, errstr, errstr_size);
        if (err == CAIRN_ERR_NOT_FOUND) {
                cairn_status_set(ch->st, err, "path", NULL, "no secret at %s", ch->path);
                return err;
        }
        if (err != CAIRN_OK)
                return err;
        if (ch->n == 0) { /* the current version */
                if (!set.current_version) {
                        cairn_status_set(ch->st, CAIRN_ERR_NOT_FOUND, "path", NULL,
                                         "%s has no version", ch->path);
                        return CAIRN_ERR_NOT_FOUND;
                }
                only = set.current_version;
        }
        cairn_pg_array_begin(&list);
        for (size_t i = 0; i < (ch->n ? ch->n : 1); i++) {
                char v[24];

                snprintf(v, sizeof(v), "%llu",
                         (unsigned long long)(ch->n ? ch->versions[i] : only));
                cairn_pg_array_add(&list, v);
        }
        cairn_pg_array_end(&list);
        const char *p[3] = { ch->c->tenant, ch->path, list.p };
        err = list.oom ? CAIRN_ERR_EXHAUSTED
                       : cairn_pg_conn_exec(conn, ch->stmt, p, 3, NULL, errstr, errstr_size);
        cairn_buf_cleanup(&list);
        if (err == CAIRN_OK)
                err = cairn_pg_conn_exec(conn, &sql_touch, p, 2, NULL, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = sreq_reply_keep(conn, ch->c, ch->reply, errstr, errstr_size);
        return err == CAIRN_OK ? sreq_audit_tx(ch->c, conn, ch->n == 1 ? ch->versions[0] : only,
                                               errstr, errstr_size)
                               : err;
}

static cairn_err_t change(struct cairn_request *req, const char *op, const char *path,
                          const uint64_t *versions, size_t n, bool need_versions, unsigned cap,
                          const struct cairn_pg_stmt *stmt, ProtobufCMessage *empty,
                          ProtobufCMessage **reply, struct cairn_status *st)
{
        struct sreq c;
        struct change ch = { &c, path, versions, n, stmt, empty, st };
        char errstr[300];
        cairn_err_t err;

        if ((err = sreq_init(&c, req, op, path, st)) != CAIRN_OK ||
            (err = sreq_path(&c, path, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if ((need_versions && n == 0) || n > VERSIONS_MAX)
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_INVALID, "versions", NULL,
                                                    "versions must name 1 to %d versions",
                                                    VERSIONS_MAX),
                                   st);
        for (size_t i = 0; i < n; i++)
                if (versions[i] == 0 || versions[i] > INT64_MAX)
                        return sreq_finish(&c,
                                           cairn_status_set(st, CAIRN_ERR_INVALID, "versions", NULL,
                                                            "versions[%zu] is not a version "
                                                            "number",
                                                            i),
                                           st);
        if ((err = sreq_allow(&c, path, cap, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (sreq_replay(&c, empty->descriptor, reply, st) == CAIRN_OK) {
                c.audit.outcome = "replayed";
                return sreq_finish(&c, CAIRN_OK, st);
        }
        err = cairn_pg_tx(c.svc->pg, c.deadline_us, change_tx, &ch, errstr, sizeof(errstr));
        if (err == CAIRN_ERR_CONFLICT && sreq_replay(&c, empty->descriptor, reply, st) == CAIRN_OK)
                return sreq_finish(&c, CAIRN_OK, st);
        if (err != CAIRN_OK && st->code != err)
                err = sreq_pg_status(err, errstr, st);
        if (err == CAIRN_OK)
                *reply = empty;
        return sreq_finish(&c, err, st);
}

/* An empty reply in the request's arena. */
static ProtobufCMessage *empty_reply(struct cairn_request *req,
                                     const ProtobufCMessageDescriptor *desc)
{
        ProtobufCMessage *m = sreq_alloc(req, desc->sizeof_message);

        protobuf_c_message_init(desc, m);
        return m;
}

SECRETS_HANDLER(secrets_delete_handle)
{
        const Cairn__Secrets__V1__DeleteRequest *in = (const void *)msg;

        return change(req, "delete", in->path, in->versions, in->n_versions, false,
                      SECRETS_CAP_DELETE, &sql_delete,
                      empty_reply(req, &cairn__secrets__v1__delete_reply__descriptor), reply, st);
}

SECRETS_HANDLER(secrets_undelete_handle)
{
        const Cairn__Secrets__V1__UndeleteRequest *in = (const void *)msg;

        return change(req, "undelete", in->path, in->versions, in->n_versions, true,
                      SECRETS_CAP_DELETE, &sql_undelete,
                      empty_reply(req, &cairn__secrets__v1__undelete_reply__descriptor), reply, st);
}

SECRETS_HANDLER(secrets_destroy_handle)
{
        const Cairn__Secrets__V1__DestroyRequest *in = (const void *)msg;

        return change(req, "destroy", in->path, in->versions, in->n_versions, true,
                      SECRETS_CAP_DESTROY, &sql_destroy,
                      empty_reply(req, &cairn__secrets__v1__destroy_reply__descriptor), reply, st);
}

/* Key management, policies and audit verification: the service key any
 * caller seals writes to, and what only a tenant's owners and admins may
 * do (rotate the KEK, read its status, manage policies, verify the audit
 * chain). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/seal.h"
#include "handlers.h"
#include "keyring.h"
#include "policies.h"
#include "policy.h"
#include "rewrap.h"
#include "store.h"

static const struct cairn_pg_stmt sql_keyring = {
        .name = "secrets_key_status",
        .sql = "SELECT current_version, min_decryption_version, rewrap_target, rewrap_total, "
               "rewrap_done, rewrap_finished_at IS NOT NULL, " SECRETS_SQL_US(
                       "rewrap_started_at") ", " SECRETS_SQL_US("rewrap_finished_at") " FROM "
                                                                                      "secrets_keyring",
};
static const struct cairn_pg_stmt sql_keks = {
        .name = "secrets_key_versions",
        .sql = "SELECT k.version, " SECRETS_SQL_US(
                "k.created_at") ", (SELECT count(*) FROM "
                                "secrets_versions v WHERE "
                                "v.kek_version = k.version AND NOT "
                                "v.destroyed) FROM secrets_keks k "
                                "WHERE k.wrapped IS NOT NULL ORDER "
                                "BY k.version",
};

SECRETS_HANDLER(secrets_service_key_handle)
{
        Cairn__Secrets__V1__ServiceKeyReply *out;
        struct sreq c;
        cairn_err_t err;

        (void)msg;
        if ((err = sreq_init(&c, req, "service_key", "", st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__service_key_reply__init(out);
        out->public_key.data = sreq_alloc(req, CAIRN_SEAL_KEY_BYTES);
        out->public_key.len = CAIRN_SEAL_KEY_BYTES;
        secrets_keyring_service_key(c.svc->keyring, &out->key_version, out->public_key.data);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

/* The keyring's state as a reply. */
static cairn_err_t key_status(struct sreq *c, Cairn__Secrets__V1__KeyStatusReply **out,
                              struct cairn_status *st)
{
        PGresult *res = NULL, *keks = NULL;
        char errstr[256];
        cairn_err_t err;
        Cairn__Secrets__V1__RewrapStatus *rw;

        err = cairn_pg_exec(c->svc->pg, c->deadline_us, &sql_keyring, NULL, 0, &res, errstr,
                            sizeof(errstr));
        if (err == CAIRN_OK)
                err = cairn_pg_exec(c->svc->pg, c->deadline_us, &sql_keks, NULL, 0, &keks, errstr,
                                    sizeof(errstr));
        if (err != CAIRN_OK) {
                PQclear(res);
                return sreq_pg_status(err, errstr, st);
        }
        *out = sreq_alloc(c->req, sizeof(**out));
        cairn__secrets__v1__key_status_reply__init(*out);
        (*out)->current_version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        (*out)->min_decryption_version = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
        rw = sreq_alloc(c->req, sizeof(*rw));
        cairn__secrets__v1__rewrap_status__init(rw);
        rw->target_version = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
        rw->total = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
        rw->done = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
        rw->finished = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
        if (!PQgetisnull(res, 0, 6))
                rw->started_time = sreq_ts(c, strtoll(PQgetvalue(res, 0, 6), NULL, 10));
        if (!PQgetisnull(res, 0, 7))
                rw->finished_time = sreq_ts(c, strtoll(PQgetvalue(res, 0, 7), NULL, 10));
        if (rw->target_version)
                (*out)->rewrap = rw;
        (*out)->n_versions = (size_t)PQntuples(keks);
        (*out)->versions = sreq_alloc(c->req, ((*out)->n_versions + 1) * sizeof(void *));
        for (int i = 0; i < PQntuples(keks); i++) {
                Cairn__Secrets__V1__KeyVersion *kv = sreq_alloc(c->req, sizeof(*kv));

                cairn__secrets__v1__key_version__init(kv);
                kv->version = (uint32_t)strtoul(PQgetvalue(keks, i, 0), NULL, 10);
                kv->created_time = sreq_ts(c, strtoll(PQgetvalue(keks, i, 1), NULL, 10));
                kv->data_keys = strtoull(PQgetvalue(keks, i, 2), NULL, 10);
                (*out)->versions[i] = kv;
        }
        PQclear(res);
        PQclear(keks);
        return CAIRN_OK;
}

SECRETS_HANDLER(secrets_key_status_handle)
{
        Cairn__Secrets__V1__KeyStatusReply *out = NULL;
        struct sreq c;
        cairn_err_t err;

        (void)msg;
        if ((err = sreq_init(&c, req, "keys.read", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK || (err = key_status(&c, &out, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

/* In the rotation's transaction: the reply kept for a redelivery (the new
 * version; a redelivered rotation answers with the status then, and never
 * rotates again), the audit row. */
static cairn_err_t rotate_hook(struct cairn_pg_conn *conn, void *opaque, uint32_t version,
                               char *errstr, size_t errstr_size)
{
        struct sreq *c = opaque;
        Cairn__Secrets__V1__KeyStatusReply kept = CAIRN__SECRETS__V1__KEY_STATUS_REPLY__INIT;
        cairn_err_t err;

        /* cppcheck-suppress unreadVariable ; packed by sreq_reply_keep() */
        kept.current_version = version;
        err = sreq_reply_keep(conn, c, &kept.base, errstr, errstr_size);
        return err == CAIRN_OK ? sreq_audit_tx(c, conn, version, errstr, errstr_size) : err;
}

SECRETS_HANDLER(secrets_rotate_handle)
{
        Cairn__Secrets__V1__KeyStatusReply *out = NULL;
        ProtobufCMessage *kept = NULL;
        struct sreq c;
        char errstr[256];
        uint32_t version = 0;
        cairn_err_t err;

        (void)msg;
        if ((err = sreq_init(&c, req, "keys.rotate", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (sreq_replay(&c, &cairn__secrets__v1__key_status_reply__descriptor, &kept, st) ==
            CAIRN_OK) {
                c.audit.outcome = "replayed";
        } else {
                err = secrets_keyring_rotate(c.svc->keyring, c.deadline_us, rotate_hook, &c,
                                             &version, errstr, sizeof(errstr));
                if (err != CAIRN_OK)
                        return sreq_finish(&c, sreq_pg_status(err, errstr, st), st);
                secrets_rewrap_wake(c.svc->rewrap);
        }
        if ((err = key_status(&c, &out, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

/* ---- policies ---- */

struct policy_change {
        struct sreq *c;
        const Cairn__Secrets__V1__Policy *put; /* NULL: delete name */
        const char *name;
        struct cairn_status *st;
};

static cairn_err_t policy_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct policy_change *pc = opaque;
        struct secrets_policies *p = pc->c->svc->policies;
        cairn_err_t err = pc->put ? secrets_policies_put(p, conn, pc->c->tenant, pc->put, errstr,
                                                         errstr_size)
                                  : secrets_policies_delete(p, conn, pc->c->tenant, pc->name,
                                                            errstr, errstr_size);

        if (err == CAIRN_ERR_NOT_FOUND) {
                cairn_status_set(pc->st, err, "name", NULL, "no policy named %s", pc->name);
                return err;
        }
        return err == CAIRN_OK ? sreq_audit_tx(pc->c, conn, 0, errstr, errstr_size) : err;
}

static cairn_err_t policy_change(struct sreq *c, struct policy_change *pc, struct cairn_status *st)
{
        char errstr[256];
        cairn_err_t err = cairn_pg_tx(c->svc->pg, c->deadline_us, policy_tx, pc, errstr,
                                      sizeof(errstr));

        secrets_policies_forget(c->svc->policies, c->tenant);
        if (err != CAIRN_OK && st->code != err)
                err = sreq_pg_status(err, errstr, st);
        return err;
}

SECRETS_HANDLER(secrets_put_policy_handle)
{
        const Cairn__Secrets__V1__PutPolicyRequest *in = (const void *)msg;
        Cairn__Secrets__V1__PolicyReply *out;
        Cairn__Secrets__V1__Policy *copy;
        struct sreq c;
        char field[64], why[256];
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "policy.put", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (!in->policy)
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_INVALID, "policy", NULL,
                                                    "policy is required"),
                                   st);
        if (!secrets_policy_check(in->policy, (size_t)c.svc->conf->max_path_bytes, field,
                                  sizeof(field), why, sizeof(why)))
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_INVALID, field, NULL, "%s", why),
                                   st);
        c.audit.path = in->policy->name;
        /* in the arena: the reply is packed after this returns */
        copy = sreq_alloc(req, sizeof(*copy));
        *copy = *in->policy;
        copy->builtin = false;
        struct policy_change pc = { &c, copy, copy->name, st };
        if ((err = policy_change(&c, &pc, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__policy_reply__init(out);
        out->policy = copy;
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

SECRETS_HANDLER(secrets_delete_policy_handle)
{
        const Cairn__Secrets__V1__DeletePolicyRequest *in = (const void *)msg;
        struct sreq c;
        struct policy_change pc = { &c, NULL, in->name, st };
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "policy.delete", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        c.audit.path = in->name;
        if (strncmp(in->name, "default-", 8) == 0)
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_INVALID, "name", NULL,
                                                    "%s is a built-in policy", in->name),
                                   st);
        if ((err = policy_change(&c, &pc, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        Cairn__Secrets__V1__DeletePolicyReply *out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__delete_policy_reply__init(out);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

/* The defaults and the tenant's, in the request's arena. */
static cairn_err_t all_policies(struct sreq *c, Cairn__Secrets__V1__Policy ***out, size_t *n,
                                struct cairn_status *st)
{
        const Cairn__Secrets__V1__Policy *const *defs;
        Cairn__Secrets__V1__Policy **stored;
        size_t ndefs, nstored;
        char errstr[256];
        cairn_err_t err;

        defs = secrets_policy_defaults(&ndefs);
        err = secrets_policies_list(c->svc->policies, c->tenant, c->deadline_us,
                                    cairn_arena_pbc(c->req->arena), &stored, &nstored, errstr,
                                    sizeof(errstr));
        if (err != CAIRN_OK)
                return sreq_pg_status(err, errstr, st);
        *out = sreq_alloc(c->req, (ndefs + nstored + 1) * sizeof(**out));
        *n = 0;
        for (size_t i = 0; i < ndefs; i++)
                (*out)[(*n)++] = (Cairn__Secrets__V1__Policy *)defs[i];
        for (size_t i = 0; i < nstored; i++)
                (*out)[(*n)++] = stored[i];
        return CAIRN_OK;
}

SECRETS_HANDLER(secrets_list_policies_handle)
{
        Cairn__Secrets__V1__ListPoliciesReply *out;
        struct sreq c;
        cairn_err_t err;

        (void)msg;
        if ((err = sreq_init(&c, req, "policy.list", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__list_policies_reply__init(out);
        if ((err = all_policies(&c, &out->policies, &out->n_policies, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

SECRETS_HANDLER(secrets_get_policy_handle)
{
        const Cairn__Secrets__V1__GetPolicyRequest *in = (const void *)msg;
        Cairn__Secrets__V1__PolicyReply *out;
        Cairn__Secrets__V1__Policy **all;
        struct sreq c;
        size_t n;
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "policy.read", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK ||
            (err = all_policies(&c, &all, &n, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        c.audit.path = in->name;
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__policy_reply__init(out);
        for (size_t i = 0; i < n && !out->policy; i++)
                if (strcmp(all[i]->name, in->name) == 0)
                        out->policy = all[i];
        if (!out->policy)
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "name", NULL,
                                                    "no policy named %s", in->name),
                                   st);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

/* ---- audit ---- */

SECRETS_HANDLER(secrets_verify_audit_handle)
{
        Cairn__Secrets__V1__VerifyAuditReply *out;
        struct secrets_audit_verdict v;
        struct sreq c;
        char errstr[256];
        cairn_err_t err;

        (void)msg;
        if ((err = sreq_init(&c, req, "audit.verify", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        err = secrets_audit_verify(c.svc->pg, c.deadline_us, &v, errstr, sizeof(errstr));
        if (err != CAIRN_OK)
                return sreq_finish(&c, sreq_pg_status(err, errstr, st), st);
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__verify_audit_reply__init(out);
        out->rows = v.rows;
        out->ok = v.ok;
        out->first_broken_seq = v.first_broken_seq;
        out->reason = cairn_arena_strdup(req->arena, v.reason);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

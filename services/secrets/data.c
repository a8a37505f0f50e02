/* A secret's data: write (and patch) a new version, read a version, and
 * its subkeys. Writes run in one transaction that checks the
 * check-and-set, encrypts under the current KEK (held shared so a rotation
 * waits for them), trims versions past max_versions, keeps the reply for
 * redeliveries and appends the audit row. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/json.h"
#include "cairn/seal.h"
#include "envelope.h"
#include "handlers.h"
#include "policy.h"
#include "store.h"
#include "vjson.h"

static const struct cairn_pg_stmt sql_keyring_share = {
        .name = "secrets_keyring_share",
        .sql = "SELECT current_version FROM secrets_keyring FOR SHARE",
};
static const struct cairn_pg_stmt sql_version_put = {
        .name = "secrets_version_put",
        .sql = "INSERT INTO secrets_versions (tenant, path, version, created_at, deletion_time, "
               "kek_version, wrapped_key, ciphertext) VALUES ($1, $2, $3, " SECRETS_SQL_FROM_US(
                       "$4") ", CASE WHEN $5::bigint > 0 THEN " SECRETS_SQL_FROM_US("$4") " + $5 * interval '1 "
                                                                                          "second' END, $6, $7, $8)",
};
static const struct cairn_pg_stmt sql_meta_bump = {
        .name = "secrets_meta_bump",
        .sql = "UPDATE secrets_meta SET current_version = $3, updated_at = " SECRETS_SQL_FROM_US(
                "$4") ", oldest_version = GREATEST(CASE WHEN oldest_version = 0 THEN $3 ELSE oldest_version "
                      "END, $3::bigint - $5::bigint + 1) WHERE tenant = $1 AND path = $2",
};
static const struct cairn_pg_stmt sql_trim = {
        .name = "secrets_versions_trim",
        .sql = "DELETE FROM secrets_versions WHERE tenant = $1 AND path = $2 AND version <= $3::bigint - $4::bigint",
};
static const struct cairn_pg_stmt sql_data = {
        .name = "secrets_data",
        .sql = "SELECT v.version, " SECRETS_SQL_US("v.created_at") ", " SECRETS_SQL_US(
                "v.deletion_time") ", v.destroyed, v.kek_version, v.wrapped_key, v.ciphertext, "
                                   "m.custom_metadata::text FROM secrets_meta m JOIN "
                                   "secrets_versions v ON v.tenant = m.tenant AND v.path = m.path "
                                   "AND v.version = CASE WHEN $3::bigint = 0 THEN "
                                   "m.current_version ELSE $3 END WHERE m.tenant = $1 AND m.path "
                                   "= $2",
};

/* ---- write and patch ---- */

struct write {
        struct sreq *c;
        const char *path;
        const Google__Protobuf__UInt64Value *cas;
        unsigned caps;
        json_t *value; /* write: the value; patch: the merge patch */
        bool patch;
        Cairn__Secrets__V1__WriteReply *reply;
        struct cairn_status *st; /* a refusal decided in the transaction */
        uint64_t version;
        int64_t now_us;
};

/* Reads and decrypts @p version of the row in @p res (sql_data's columns)
 * into a JSON object. */
static cairn_err_t decrypt_row(struct sreq *c, const char *path, PGresult *res, json_t **out,
                               struct cairn_status *st);

/* The patch's base: the current version's value (NOT_FOUND when there is
 * none readable, as Vault). */
static cairn_err_t patch_base(struct cairn_pg_conn *conn, struct write *w, json_t **base,
                              char *errstr, size_t errstr_size)
{
        const char *p[3] = { w->c->tenant, w->path, "0" };
        PGresult *res = NULL;
        cairn_err_t err = cairn_pg_conn_exec(conn, &sql_data, p, 3, &res, errstr, errstr_size);

        if (err != CAIRN_OK)
                return err;
        if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 3), "t") == 0 ||
            (!PQgetisnull(res, 0, 2) && strtoll(PQgetvalue(res, 0, 2), NULL, 10) <= w->now_us)) {
                PQclear(res);
                cairn_status_set(w->st, CAIRN_ERR_NOT_FOUND, "path", NULL,
                                 "no current version of %s to patch", w->path);
                return CAIRN_ERR_NOT_FOUND;
        }
        err = decrypt_row(w->c, w->path, res, base, w->st);
        PQclear(res);
        return err;
}

static cairn_err_t write_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct write *w = opaque;
        struct sreq *c = w->c;
        const struct secrets_conf *conf = c->svc->conf;
        struct secrets_settings set;
        PGresult *res = NULL;
        json_t *value = NULL;
        uint8_t ad[SECRETS_AD_MAX], wrapped[SECRETS_WRAPPED_BYTES], *ct = NULL;
        char v[24], now[24], dva[24], kek[16], maxv[16], *text = NULL, *wh = NULL, *ch = NULL;
        size_t len = 0, ad_len;
        uint32_t kek_version;
        cairn_err_t err;

        w->now_us = cairn_now_us();
        if ((err = cairn_pg_conn_exec(conn, &sql_keyring_share, NULL, 0, &res, errstr,
                                      errstr_size)) != CAIRN_OK)
                return err;
        kek_version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if ((err = secrets_meta_claim(conn, c, w->path, w->caps, w->st, errstr, errstr_size)) !=
                    CAIRN_OK ||
            (err = secrets_settings_lock(conn, c, w->path, &set, errstr, errstr_size)) != CAIRN_OK)
                return err;
        if (set.cas_required && !w->cas) {
                cairn_status_set(w->st, CAIRN_ERR_INVALID, "cas", "CAS_REQUIRED",
                                 "check-and-set parameter required for this call");
                return CAIRN_ERR_INVALID;
        }
        if (w->cas && w->cas->value != set.current_version) {
                cairn_status_set(w->st, CAIRN_ERR_PRECONDITION, "cas", "CAS_MISMATCH",
                                 "check-and-set parameter did not match the current version");
                return CAIRN_ERR_PRECONDITION;
        }
        if (w->patch) {
                if ((err = patch_base(conn, w, &value, errstr, errstr_size)) != CAIRN_OK)
                        return err;
                secrets_vjson_merge(value, w->value);
                text = secrets_vjson_text(value, &len);
                cairn_json_wipe(value);
                json_decref(value);
        } else {
                text = secrets_vjson_text(w->value, &len);
        }
        if (!text)
                return CAIRN_ERR_EXHAUSTED;
        if (len > (size_t)conf->max_value_bytes) {
                sodium_memzero(text, len);
                free(text);
                cairn_status_set(w->st, CAIRN_ERR_INVALID, "data", "TOO_LARGE",
                                 "the value is %zu bytes, over secrets.max_value_bytes (%lld)", len,
                                 conf->max_value_bytes);
                return CAIRN_ERR_INVALID;
        }
        w->version = set.current_version + 1;
        ad_len = secrets_version_ad(c->tenant, w->path, w->version, ad);
        ct = malloc(len + SECRETS_CT_OVERHEAD);
        if (!ct || !ad_len ||
            secrets_envelope_seal(c->svc->keyring, kek_version, ad, ad_len, (uint8_t *)text, len,
                                  wrapped, ct) != SECRETS_KEY_OK) {
                sodium_memzero(text, len);
                free(text);
                free(ct);
                snprintf(errstr, errstr_size, "KEK version %u is not usable here", kek_version);
                return CAIRN_ERR_INTERNAL;
        }
        sodium_memzero(text, len);
        free(text);
        wh = cairn_pg_bytea_encode(wrapped, sizeof(wrapped));
        ch = cairn_pg_bytea_encode(ct, len + SECRETS_CT_OVERHEAD);
        free(ct);
        snprintf(v, sizeof(v), "%llu", (unsigned long long)w->version);
        snprintf(now, sizeof(now), "%lld", (long long)w->now_us);
        snprintf(dva, sizeof(dva), "%lld", (long long)set.delete_version_after_s);
        snprintf(kek, sizeof(kek), "%u", kek_version);
        snprintf(maxv, sizeof(maxv), "%u", set.max_versions);
        const char *vp[8] = { c->tenant, w->path, v, now, dva, kek, wh, ch };
        const char *bp[5] = { c->tenant, w->path, v, now, maxv };
        err = wh && ch
                      ? cairn_pg_conn_exec(conn, &sql_version_put, vp, 8, NULL, errstr, errstr_size)
                      : CAIRN_ERR_EXHAUSTED;
        free(wh);
        free(ch);
        if (err == CAIRN_OK)
                err = cairn_pg_conn_exec(conn, &sql_meta_bump, bp, 5, NULL, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = cairn_pg_conn_exec(conn, &sql_trim,
                                         (const char *[]){ c->tenant, w->path, v, maxv }, 4, NULL,
                                         errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        w->reply = sreq_alloc(c->req, sizeof(*w->reply));
        cairn__secrets__v1__write_reply__init(w->reply);
        w->reply->version = secrets_version_meta(c, w->version, w->now_us,
                                                 set.delete_version_after_s
                                                         ? w->now_us + set.delete_version_after_s *
                                                                               1000000
                                                         : 0,
                                                 false);
        SECRETS_CUSTOM_METADATA(c, set.custom_metadata, w->reply, cairn__secrets__v1__write_reply);
        if ((err = sreq_reply_keep(conn, c, &w->reply->base, errstr, errstr_size)) != CAIRN_OK)
                return err;
        return sreq_audit_tx(c, conn, w->version, errstr, errstr_size);
}

/* Opens a sealed value into a JSON object. */
static cairn_err_t unseal(struct sreq *c, const Cairn__Secrets__V1__SealedValue *sv,
                          const char *field, json_t **out, struct cairn_status *st)
{
        uint8_t *plain;
        size_t n;
        char why[160];
        enum secrets_key_result r;

        if (!sv || sv->box.len < CAIRN_SEAL_OVERHEAD)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "NOT_SEALED",
                                        "%s must be a value sealed to the service key", field);
        n = sv->box.len - CAIRN_SEAL_OVERHEAD;
        if (n > (size_t)c->svc->conf->max_value_bytes)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "TOO_LARGE",
                                        "the value is %zu bytes, over secrets.max_value_bytes "
                                        "(%lld)",
                                        n, c->svc->conf->max_value_bytes);
        if (!(plain = sodium_malloc(n ? n : 1)))
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of locked memory");
        r = secrets_keyring_unseal(c->svc->keyring, sv->key_version, sv->box.data, sv->box.len,
                                   plain);
        if (r == SECRETS_KEY_UNKNOWN || r == SECRETS_KEY_RETIRED) {
                sodium_free(plain);
                return cairn_status_set(st, CAIRN_ERR_PRECONDITION, field, "SEAL_KEY_UNKNOWN",
                                        "%s is sealed to service key version %u, which is %s: "
                                        "seal to the current one (GetServiceKeyRequest)",
                                        field, sv->key_version,
                                        r == SECRETS_KEY_RETIRED ? "retired" : "unknown");
        }
        if (r != SECRETS_KEY_OK) {
                sodium_free(plain);
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "NOT_SEALED",
                                        "%s does not open with service key version %u (altered, "
                                        "or sealed to another key)",
                                        field, sv->key_version);
        }
        *out = secrets_vjson_object((const char *)plain, n, why, sizeof(why));
        sodium_free(plain);
        if (!*out)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "BAD_VALUE", "%s: %s", field,
                                        why);
        return CAIRN_OK;
}

static cairn_err_t write_run(struct cairn_request *req, const char *op, const char *path,
                             const Cairn__Secrets__V1__SealedValue *sv,
                             const Google__Protobuf__UInt64Value *cas, bool patch,
                             ProtobufCMessage **reply, struct cairn_status *st)
{
        struct sreq c;
        struct write w = { .c = &c, .path = path, .cas = cas, .patch = patch, .st = st };
        char errstr[300];
        cairn_err_t err;

        if ((err = sreq_init(&c, req, op, path, st)) != CAIRN_OK ||
            (err = sreq_path(&c, path, st)) != CAIRN_OK ||
            (err = sreq_caps(&c, path, &w.caps, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (!(w.caps & (SECRETS_CAP_CREATE | SECRETS_CAP_UPDATE)))
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "DENIED",
                                                    "permission denied"),
                                   st);
        if (sreq_replay(&c, &cairn__secrets__v1__write_reply__descriptor, reply, st) == CAIRN_OK) {
                c.audit.outcome = "replayed";
                return sreq_finish(&c, CAIRN_OK, st);
        }
        if ((err = unseal(&c, sv, patch ? "patch" : "data", &w.value, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        err = cairn_pg_tx(c.svc->pg, c.deadline_us, write_tx, &w, errstr, sizeof(errstr));
        cairn_json_wipe(w.value);
        json_decref(w.value);
        if (err == CAIRN_ERR_CONFLICT &&
            sreq_replay(&c, &cairn__secrets__v1__write_reply__descriptor, reply, st) == CAIRN_OK)
                return sreq_finish(&c, CAIRN_OK, st); /* another delivery committed first */
        if (err != CAIRN_OK && st->code != err)
                err = sreq_pg_status(err, errstr, st);
        if (err == CAIRN_OK)
                *reply = &w.reply->base;
        c.audit.version = w.version;
        return sreq_finish(&c, err, st);
}

SECRETS_HANDLER(secrets_write_handle)
{
        const Cairn__Secrets__V1__WriteRequest *in = (const void *)msg;

        return write_run(req, "write", in->path, in->data, in->cas, false, reply, st);
}

SECRETS_HANDLER(secrets_patch_handle)
{
        const Cairn__Secrets__V1__PatchRequest *in = (const void *)msg;

        return write_run(req, "patch", in->path, in->patch, in->cas, true, reply, st);
}

/* ---- read ---- */

static cairn_err_t decrypt_row(struct sreq *c, const char *path, PGresult *res, json_t **out,
                               struct cairn_status *st)
{
        uint64_t version = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        uint32_t kek = (uint32_t)strtoul(PQgetvalue(res, 0, 4), NULL, 10);
        uint8_t ad[SECRETS_AD_MAX], *wrapped = NULL, *ct = NULL, *plain = NULL;
        size_t wl = 0, cl = 0, ad_len = secrets_version_ad(c->tenant, path, version, ad);
        enum secrets_key_result r = SECRETS_KEY_MISMATCH;
        char why[160];

        if (ad_len && cairn_pg_bytea_decode(PQgetvalue(res, 0, 5), &wrapped, &wl) &&
            cairn_pg_bytea_decode(PQgetvalue(res, 0, 6), &ct, &cl) && cl >= SECRETS_CT_OVERHEAD &&
            (plain = sodium_malloc(cl - SECRETS_CT_OVERHEAD + 1)))
                r = secrets_envelope_open(c->svc->keyring, kek, ad, ad_len, wrapped, wl, ct, cl,
                                          plain);
        free(wrapped);
        free(ct);
        if (r != SECRETS_KEY_OK) {
                sodium_free(plain);
                cairn_series_inc(c->svc->decrypt_failures);
                return cairn_status_set(st,
                                        r == SECRETS_KEY_RETIRED ? CAIRN_ERR_UNAVAILABLE
                                                                 : CAIRN_ERR_DATA_LOSS,
                                        NULL, r == SECRETS_KEY_RETIRED ? "KEY_RETIRED" : "DECRYPT",
                                        "version %llu of %s does not decrypt (%s)",
                                        (unsigned long long)version, path,
                                        r == SECRETS_KEY_RETIRED ? "its KEK version was retired"
                                        : r == SECRETS_KEY_UNKNOWN
                                                ? "its KEK version is not in the keyring"
                                                : "its ciphertext or wrapped key was altered or "
                                                  "moved");
        }
        *out = secrets_vjson_object((const char *)plain, cl - SECRETS_CT_OVERHEAD, why,
                                    sizeof(why));
        sodium_free(plain);
        if (!*out)
                return cairn_status_set(st, CAIRN_ERR_DATA_LOSS, NULL, "DECRYPT",
                                        "version %llu of %s: %s", (unsigned long long)version, path,
                                        why);
        return CAIRN_OK;
}

/* The version row of a read (sql_data), re-read once when a rewrap moved it
 * under a KEK retired since it was read. */
struct version_read {
        PGresult *res;
        uint64_t version;
        int64_t created_us, deletion_us;
        bool destroyed, deleted;
        const char *custom; /* custom_metadata as JSON text */
};

static cairn_err_t version_get(struct sreq *c, const char *path, uint64_t version,
                               struct version_read *vr, struct cairn_status *st)
{
        char v[24], errstr[256];
        const char *p[3] = { c->tenant, path, v };
        cairn_err_t err;

        snprintf(v, sizeof(v), "%llu", (unsigned long long)version);
        err = cairn_pg_exec(c->svc->pg, c->deadline_us, &sql_data, p, 3, &vr->res, errstr,
                            sizeof(errstr));
        if (err != CAIRN_OK)
                return sreq_pg_status(err, errstr, st);
        if (PQntuples(vr->res) == 0) {
                PQclear(vr->res);
                vr->res = NULL;
                if (version)
                        return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "version", NULL,
                                                "%s has no version %llu", path,
                                                (unsigned long long)version);
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "path", NULL, "no secret at %s",
                                        path);
        }
        vr->version = strtoull(PQgetvalue(vr->res, 0, 0), NULL, 10);
        vr->created_us = strtoll(PQgetvalue(vr->res, 0, 1), NULL, 10);
        vr->deletion_us = PQgetisnull(vr->res, 0, 2) ? 0
                                                     : strtoll(PQgetvalue(vr->res, 0, 2), NULL, 10);
        vr->destroyed = strcmp(PQgetvalue(vr->res, 0, 3), "t") == 0;
        vr->deleted = vr->deletion_us && vr->deletion_us <= cairn_now_us();
        vr->custom = PQgetvalue(vr->res, 0, 7);
        return CAIRN_OK;
}

SECRETS_HANDLER(secrets_read_handle)
{
        const Cairn__Secrets__V1__ReadRequest *in = (const void *)msg;
        Cairn__Secrets__V1__ReadReply *out;
        struct version_read vr = { 0 };
        struct sreq c;
        json_t *value = NULL;
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "read", in->path, st)) != CAIRN_OK ||
            (err = sreq_path(&c, in->path, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (in->reply_key.len != CAIRN_SEAL_KEY_BYTES)
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_INVALID, "reply_key",
                                                    "BAD_REPLY_KEY",
                                                    "reply_key must be the caller's X25519 "
                                                    "public key, %d bytes (got %zu)",
                                                    CAIRN_SEAL_KEY_BYTES, in->reply_key.len),
                                   st);
        if ((err = sreq_allow(&c, in->path, SECRETS_CAP_READ, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        for (int attempt = 0; attempt < 2; attempt++) {
                if ((err = version_get(&c, in->path, in->version, &vr, st)) != CAIRN_OK)
                        return sreq_finish(&c, err, st);
                if (vr.destroyed || vr.deleted)
                        break;
                err = decrypt_row(&c, in->path, vr.res, &value, st);
                if (err == CAIRN_OK || strcmp(st->reason, "KEY_RETIRED") != 0)
                        break;
                PQclear(vr.res); /* rewrapped since: read it again */
                vr.res = NULL;
        }
        if (err != CAIRN_OK) {
                PQclear(vr.res);
                return sreq_finish(&c, err, st);
        }
        c.audit.version = vr.version;
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__read_reply__init(out);
        out->version = secrets_version_meta(&c, vr.version, vr.created_us, vr.deletion_us,
                                            vr.destroyed);
        SECRETS_CUSTOM_METADATA(&c, vr.custom, out, cairn__secrets__v1__read_reply);
        PQclear(vr.res);
        if (value) {
                size_t len = 0;
                char *text = secrets_vjson_text(value, &len);
                uint8_t *box = text ? cairn_arena_alloc(req->arena, len + CAIRN_SEAL_OVERHEAD)
                                    : NULL;

                cairn_json_wipe(value);
                json_decref(value);
                if (!box || cairn_seal(in->reply_key.data, text, len, box) != 0) {
                        if (text)
                                sodium_memzero(text, len);
                        free(text);
                        return sreq_finish(&c,
                                           cairn_status_set(st, CAIRN_ERR_INVALID, "reply_key",
                                                            "BAD_REPLY_KEY",
                                                            "nothing can be sealed to reply_key"),
                                           st);
                }
                sodium_memzero(text, len);
                free(text);
                out->data.data = box;
                out->data.len = len + CAIRN_SEAL_OVERHEAD;
        }
        /* audited before the value leaves: under closed, no row means no reply */
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

SECRETS_HANDLER(secrets_subkeys_handle)
{
        const Cairn__Secrets__V1__SubkeysRequest *in = (const void *)msg;
        Cairn__Secrets__V1__SubkeysReply *out;
        struct version_read vr = { 0 };
        struct sreq c;
        json_t *value = NULL, *keys;
        char *text;
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "subkeys", in->path, st)) != CAIRN_OK ||
            (err = sreq_path(&c, in->path, st)) != CAIRN_OK ||
            (err = sreq_allow(&c, in->path, SECRETS_CAP_READ, st)) != CAIRN_OK ||
            (err = version_get(&c, in->path, in->version, &vr, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        c.audit.version = vr.version;
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__subkeys_reply__init(out);
        out->version = secrets_version_meta(&c, vr.version, vr.created_us, vr.deletion_us,
                                            vr.destroyed);
        if (!vr.destroyed && !vr.deleted) {
                err = decrypt_row(&c, in->path, vr.res, &value, st);
                if (err != CAIRN_OK) {
                        PQclear(vr.res);
                        return sreq_finish(&c, err, st);
                }
                keys = secrets_vjson_subkeys(value, in->depth);
                cairn_json_wipe(value);
                json_decref(value);
                text = json_dumps(keys, JSON_COMPACT);
                json_decref(keys);
                out->subkeys = text ? secrets_struct_from_json(&c, text) : NULL;
                free(text);
        }
        PQclear(vr.res);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

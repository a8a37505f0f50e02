/* A secret's metadata (read, write, delete), the list of a folder, and a
 * tenant's defaults. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/utf8.h"
#include "handlers.h"
#include "paths.h"
#include "policy.h"
#include "store.h"

/* Vault's limits on custom_metadata */
#define CUSTOM_KEYS_MAX  64
#define CUSTOM_KEY_MAX   128
#define CUSTOM_VALUE_MAX 512

static const struct cairn_pg_stmt sql_meta = {
        .name = "secrets_meta_read",
        .sql = "SELECT current_version, oldest_version, max_versions, cas_required, "
               "delete_version_after_s, rotate_after_s, custom_metadata::text, " SECRETS_SQL_US(
                       "created_at") ", " SECRETS_SQL_US("updated_at") " FROM secrets_meta WHERE "
                                                                       "tenant = $1 AND path = $2",
};
static const struct cairn_pg_stmt sql_meta_versions = {
        .name = "secrets_meta_versions",
        .sql = "SELECT version, " SECRETS_SQL_US("created_at") ", " SECRETS_SQL_US(
                "deletion_time") ", destroyed FROM secrets_versions WHERE tenant = $1 AND path = "
                                 "$2 ORDER BY version",
};
/* NULL parameters keep what is there; $7: replace custom_metadata with $8,
 * else merge $8 in and remove the keys of $9 */
static const struct cairn_pg_stmt sql_meta_set = {
        .name = "secrets_meta_set",
        .sql = "UPDATE secrets_meta SET max_versions = COALESCE($3::int, max_versions), "
               "cas_required = COALESCE($4::boolean, cas_required), "
               "delete_version_after_s = COALESCE($5::bigint, delete_version_after_s), "
               "rotate_after_s = COALESCE($6::bigint, rotate_after_s), "
               "custom_metadata = CASE WHEN $7::boolean THEN $8::jsonb "
               "ELSE (custom_metadata || $8::jsonb) - $9::text[] END, updated_at = now() "
               "WHERE tenant = $1 AND path = $2",
};
static const struct cairn_pg_stmt sql_meta_delete = {
        .name = "secrets_meta_delete",
        .sql = "DELETE FROM secrets_meta WHERE tenant = $1 AND path = $2",
};
/* paths under a folder ($2) after $3 and before $4 (NULL: no bound), in
 * byte order */
static const struct cairn_pg_stmt sql_list = {
        .name = "secrets_list",
        .sql = "SELECT path FROM secrets_meta WHERE tenant = $1 AND path COLLATE \"C\" > $3 "
               "AND ($4::text IS NULL OR path COLLATE \"C\" < $4) AND starts_with(path, $2) "
               "ORDER BY path COLLATE \"C\" LIMIT $5",
};
static const struct cairn_pg_stmt sql_config = {
        .name = "secrets_config_read",
        .sql = "SELECT max_versions, cas_required, delete_version_after_s FROM secrets_config "
               "WHERE tenant = $1",
};
static const struct cairn_pg_stmt sql_config_set = {
        .name = "secrets_config_set",
        .sql = "INSERT INTO secrets_config AS c (tenant, max_versions, cas_required, "
               "delete_version_after_s) VALUES ($1, COALESCE($2::int, 0), COALESCE($3::boolean, false), "
               "COALESCE($4::bigint, 0)) ON CONFLICT (tenant) DO UPDATE SET "
               "max_versions = COALESCE($2::int, c.max_versions), "
               "cas_required = COALESCE($3::boolean, c.cas_required), "
               "delete_version_after_s = COALESCE($4::bigint, c.delete_version_after_s)",
};

/* ---- read ---- */

SECRETS_HANDLER(secrets_read_metadata_handle)
{
        const Cairn__Secrets__V1__ReadMetadataRequest *in = (const void *)msg;
        Cairn__Secrets__V1__MetadataReply *out;
        Cairn__Secrets__V1__Metadata *m;
        PGresult *res = NULL, *vres = NULL;
        struct sreq c;
        char errstr[256];
        const char *p[2] = { in->path, in->path };
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "metadata.read", in->path, st)) != CAIRN_OK ||
            (err = sreq_path(&c, in->path, st)) != CAIRN_OK ||
            (err = sreq_allow(&c, in->path, SECRETS_CAP_READ, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        p[0] = c.tenant;
        err = cairn_pg_exec(c.svc->pg, c.deadline_us, &sql_meta, p, 2, &res, errstr,
                            sizeof(errstr));
        if (err == CAIRN_OK && PQntuples(res) == 1)
                err = cairn_pg_exec(c.svc->pg, c.deadline_us, &sql_meta_versions, p, 2, &vres,
                                    errstr, sizeof(errstr));
        if (err != CAIRN_OK) {
                PQclear(res);
                return sreq_finish(&c, sreq_pg_status(err, errstr, st), st);
        }
        if (PQntuples(res) == 0) {
                PQclear(res);
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "path", NULL,
                                                    "no secret at %s", in->path),
                                   st);
        }
        out = sreq_alloc(req, sizeof(*out));
        m = sreq_alloc(req, sizeof(*m));
        cairn__secrets__v1__metadata_reply__init(out);
        cairn__secrets__v1__metadata__init(m);
        out->metadata = m;
        m->path = in->path;
        m->current_version = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        m->oldest_version = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        m->max_versions = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
        m->cas_required = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        m->delete_version_after = sreq_duration(&c, strtoll(PQgetvalue(res, 0, 4), NULL, 10));
        int64_t rotate_after = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        m->rotate_after = sreq_duration(&c, rotate_after);
        SECRETS_CUSTOM_METADATA(&c, PQgetvalue(res, 0, 6), m, cairn__secrets__v1__metadata);
        m->created_time = sreq_ts(&c, strtoll(PQgetvalue(res, 0, 7), NULL, 10));
        m->updated_time = sreq_ts(&c, strtoll(PQgetvalue(res, 0, 8), NULL, 10));
        m->n_versions = (size_t)PQntuples(vres);
        m->versions = sreq_alloc(req, (m->n_versions + 1) * sizeof(*m->versions));
        for (int i = 0; i < PQntuples(vres); i++) {
                uint64_t v = strtoull(PQgetvalue(vres, i, 0), NULL, 10);
                int64_t created = strtoll(PQgetvalue(vres, i, 1), NULL, 10);

                m->versions[i] = secrets_version_meta(&c, v, created,
                                                      PQgetisnull(vres, i, 2)
                                                              ? 0
                                                              : strtoll(PQgetvalue(vres, i, 2),
                                                                        NULL, 10),
                                                      strcmp(PQgetvalue(vres, i, 3), "t") == 0);
                if (v == m->current_version && rotate_after > 0)
                        m->rotate_due = sreq_ts(&c, created + rotate_after * 1000000);
        }
        PQclear(res);
        PQclear(vres);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

/* The settings a metadata write and a config write share, as SQL
 * parameters (NULL: keep what is there), in @p sp's buffers. */
struct settings_params {
        char maxv[16], cas[8], dva[24];
        const char *p[3]; /* max_versions, cas_required, delete_version_after_s */
};

static cairn_err_t settings_params(const Google__Protobuf__UInt32Value *max_versions,
                                   const Google__Protobuf__BoolValue *cas_required,
                                   const Google__Protobuf__Duration *delete_version_after,
                                   struct settings_params *sp, struct cairn_status *st)
{
        int64_t secs;
        cairn_err_t err;

        memset(sp->p, 0, sizeof(sp->p));
        if (max_versions) {
                if (max_versions->value > 1000000)
                        return cairn_status_set(st, CAIRN_ERR_INVALID, "max_versions", NULL,
                                                "max_versions is at most 1000000");
                snprintf(sp->maxv, sizeof(sp->maxv), "%u", max_versions->value);
                sp->p[0] = sp->maxv;
        }
        if (cas_required) {
                snprintf(sp->cas, sizeof(sp->cas), "%s", cas_required->value ? "true" : "false");
                sp->p[1] = sp->cas;
        }
        if (delete_version_after) {
                if ((err = sreq_seconds(delete_version_after, "delete_version_after", &secs, st)) !=
                    CAIRN_OK)
                        return err;
                snprintf(sp->dva, sizeof(sp->dva), "%lld", (long long)secs);
                sp->p[2] = sp->dva;
        }
        return CAIRN_OK;
}

/* ---- write ---- */

/* custom_metadata as a JSON object's text (malloc'ed), checked against
 * Vault's limits. */
static cairn_err_t custom_json(const Cairn__Secrets__V1__WriteMetadataRequest *in, char **out,
                               struct cairn_status *st)
{
        json_t *obj = json_object();

        if (in->n_custom_metadata > CUSTOM_KEYS_MAX) {
                json_decref(obj);
                return cairn_status_set(st, CAIRN_ERR_INVALID, "custom_metadata", NULL,
                                        "custom_metadata holds %zu keys, over the limit of %d",
                                        in->n_custom_metadata, CUSTOM_KEYS_MAX);
        }
        for (size_t i = 0; i < in->n_custom_metadata; i++) {
                const char *k = in->custom_metadata[i]->key, *v = in->custom_metadata[i]->value;

                if (!k[0] || strlen(k) > CUSTOM_KEY_MAX || strlen(v) > CUSTOM_VALUE_MAX) {
                        json_decref(obj);
                        return cairn_status_set(st, CAIRN_ERR_INVALID, "custom_metadata", NULL,
                                                "custom_metadata keys must be 1 to %d bytes and "
                                                "values at most %d",
                                                CUSTOM_KEY_MAX, CUSTOM_VALUE_MAX);
                }
                json_object_set_new(obj, k, json_string(v));
        }
        *out = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
        return *out ? CAIRN_OK
                    : cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
}

/* remove_custom_keys as a text[] literal (malloc'ed). */
static char *text_array(char *const *items, size_t n)
{
        json_t *arr = json_array();
        char *s, *out;
        size_t len;

        /* a JSON array of strings escapes as PostgreSQL's array literal wants,
         * once its brackets are braces */
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_string(items[i]));
        s = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(arr);
        if (!s)
                return NULL;
        len = strlen(s);
        out = s;
        out[0] = '{';
        out[len - 1] = '}';
        return out;
}

struct meta_write {
        struct sreq *c;
        unsigned caps;
        const char *params[9];
        ProtobufCMessage *reply;
        struct cairn_status *st;
};

static cairn_err_t meta_write_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                                 size_t errstr_size)
{
        struct meta_write *mw = opaque;
        cairn_err_t err;

        err = secrets_meta_claim(conn, mw->c, mw->params[1], mw->caps, mw->st, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = cairn_pg_conn_exec(conn, &sql_meta_set, mw->params, 9, NULL, errstr,
                                         errstr_size);
        if (err == CAIRN_OK)
                err = sreq_reply_keep(conn, mw->c, mw->reply, errstr, errstr_size);
        return err == CAIRN_OK ? sreq_audit_tx(mw->c, conn, 0, errstr, errstr_size) : err;
}

SECRETS_HANDLER(secrets_write_metadata_handle)
{
        const Cairn__Secrets__V1__WriteMetadataRequest *in = (const void *)msg;
        struct sreq c;
        struct meta_write mw = { .c = &c, .st = st };
        struct settings_params sp;
        char rot[24], errstr[300];
        char *custom = NULL, *remove = NULL;
        int64_t secs;
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "metadata.write", in->path, st)) != CAIRN_OK ||
            (err = sreq_path(&c, in->path, st)) != CAIRN_OK ||
            (err = sreq_caps(&c, in->path, &mw.caps, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (!(mw.caps & (SECRETS_CAP_CREATE | SECRETS_CAP_UPDATE)))
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "DENIED",
                                                    "permission denied"),
                                   st);
        mw.params[0] = c.tenant;
        mw.params[1] = in->path;
        if ((err = settings_params(in->max_versions, in->cas_required, in->delete_version_after,
                                   &sp, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        mw.params[2] = sp.p[0];
        mw.params[3] = sp.p[1];
        mw.params[4] = sp.p[2];
        if (in->rotate_after) {
                if ((err = sreq_seconds(in->rotate_after, "rotate_after", &secs, st)) != CAIRN_OK)
                        return sreq_finish(&c, err, st);
                snprintf(rot, sizeof(rot), "%lld", (long long)secs);
                mw.params[5] = rot;
        }
        /* without patch an absent custom_metadata keeps what is there */
        bool replace = !in->patch && (in->custom_metadata_set || in->n_custom_metadata > 0);
        mw.params[6] = replace ? "true" : "false";
        if ((err = custom_json(in, &custom, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (!(remove = text_array(in->remove_custom_keys, in->n_remove_custom_keys))) {
                free(custom);
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                    "out of memory"),
                                   st);
        }
        mw.params[7] = custom;
        mw.params[8] = remove;
        mw.reply = sreq_alloc(req, sizeof(Cairn__Secrets__V1__WriteMetadataReply));
        cairn__secrets__v1__write_metadata_reply__init((void *)mw.reply);
        err = cairn_pg_tx(c.svc->pg, c.deadline_us, meta_write_tx, &mw, errstr, sizeof(errstr));
        free(custom);
        free(remove);
        if (err != CAIRN_OK && st->code != err)
                err = sreq_pg_status(err, errstr, st);
        if (err == CAIRN_OK)
                *reply = mw.reply;
        return sreq_finish(&c, err, st);
}

/* ---- delete ---- */

struct meta_delete {
        struct sreq *c;
        const char *path;
        ProtobufCMessage *reply;
};

static cairn_err_t meta_delete_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                                  size_t errstr_size)
{
        struct meta_delete *md = opaque;
        const char *p[2] = { md->c->tenant, md->path };
        cairn_err_t err = cairn_pg_conn_exec(conn, &sql_meta_delete, p, 2, NULL, errstr,
                                             errstr_size);

        if (err == CAIRN_OK)
                err = sreq_reply_keep(conn, md->c, md->reply, errstr, errstr_size);
        return err == CAIRN_OK ? sreq_audit_tx(md->c, conn, 0, errstr, errstr_size) : err;
}

SECRETS_HANDLER(secrets_delete_metadata_handle)
{
        const Cairn__Secrets__V1__DeleteMetadataRequest *in = (const void *)msg;
        struct sreq c;
        struct meta_delete md = { &c, in->path, NULL };
        char errstr[300];
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "metadata.delete", in->path, st)) != CAIRN_OK ||
            (err = sreq_path(&c, in->path, st)) != CAIRN_OK ||
            (err = sreq_allow(&c, in->path, SECRETS_CAP_DESTROY, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        md.reply = sreq_alloc(req, sizeof(Cairn__Secrets__V1__DeleteMetadataReply));
        cairn__secrets__v1__delete_metadata_reply__init((void *)md.reply);
        err = cairn_pg_tx(c.svc->pg, c.deadline_us, meta_delete_tx, &md, errstr, sizeof(errstr));
        if (err == CAIRN_ERR_CONFLICT) /* another delivery of it committed first */
                err = CAIRN_OK;
        if (err != CAIRN_OK)
                err = sreq_pg_status(err, errstr, st);
        if (err == CAIRN_OK)
                *reply = md.reply;
        return sreq_finish(&c, err, st);
}

/* ---- list ---- */

/* Collects the keys under @p folder into @p keys, one page. */
static cairn_err_t list_page(struct sreq *c, const char *folder, bool recursive, size_t want,
                             const char *after, char ***keys, size_t *n, char **next,
                             struct cairn_status *st)
{
        size_t fl = strlen(folder), cap = want + 1;
        char *lower = cairn_arena_strdup(c->req->arena, after[0] ? after : folder);
        char *upper = NULL, limit[16], errstr[256];

        *keys = sreq_alloc(c->req, cap * sizeof(char *));
        *n = 0;
        *next = "";
        if (fl) { /* just past the folder: its last '/' as '0' */
                upper = cairn_arena_strdup(c->req->arena, folder);
                upper[fl - 1] = '0';
        }
        snprintf(limit, sizeof(limit), "%zu", want + 1);
        while (*n <= want) {
                const char *p[5] = { c->tenant, folder, lower, upper, limit };
                PGresult *res = NULL;
                cairn_err_t err = cairn_pg_exec(c->svc->pg, c->deadline_us, &sql_list, p, 5, &res,
                                                errstr, sizeof(errstr));
                int rows;

                if (err != CAIRN_OK)
                        return sreq_pg_status(err, errstr, st);
                rows = PQntuples(res);
                for (int i = 0; i < rows && *n <= want; i++) {
                        const char *rel = PQgetvalue(res, i, 0) + fl;
                        const char *slash = recursive ? NULL : strchr(rel, '/');
                        size_t kl = slash ? (size_t)(slash - rel) + 1 : strlen(rel);
                        char *key = sreq_alloc(c->req, kl + 1);

                        memcpy(key, rel, kl);
                        key[kl] = '\0';
                        (*keys)[(*n)++] = key;
                        /* a folder once: go on past everything in it */
                        lower = sreq_alloc(c->req, fl + kl + 1);
                        memcpy(lower, folder, fl);
                        memcpy(lower + fl, key, kl + 1);
                        if (slash) {
                                lower[fl + kl - 1] = '0';
                                break; /* the next query starts past it */
                        }
                }
                PQclear(res);
                if (rows == 0)
                        break;
        }
        if (*n > want) { /* one more than the page: there is a next one */
                *n = want;
                *next = sreq_alloc(c->req, strlen(folder) + strlen((*keys)[want - 1]) + 1);
                sprintf(*next, "%s%s", folder, (*keys)[want - 1]);
                if ((*next)[strlen(*next) - 1] == '/')
                        (*next)[strlen(*next) - 1] = '0';
        }
        return CAIRN_OK;
}

SECRETS_HANDLER(secrets_list_handle)
{
        const Cairn__Secrets__V1__ListRequest *in = (const void *)msg;
        const struct secrets_conf *conf = ((struct secrets_service *)req->opaque)->conf;
        Cairn__Secrets__V1__ListReply *out;
        struct sreq c;
        char *folder = sreq_alloc(req, (size_t)conf->max_path_bytes + 2), why[160];
        size_t want = in->page_size ? in->page_size : (size_t)conf->list_page_size;
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "list", in->prefix, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if (!secrets_folder(in->prefix, (size_t)conf->max_path_bytes, folder, why, sizeof(why)))
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_INVALID, "prefix", "BAD_PATH",
                                                    "prefix: %s", why),
                                   st);
        if (want > (size_t)conf->max_list_page_size)
                want = (size_t)conf->max_list_page_size;
        if (in->page_token[0] && (strncmp(in->page_token, folder, strlen(folder)) != 0 ||
                                  !cairn_utf8_valid(in->page_token, strlen(in->page_token))))
                return sreq_finish(&c,
                                   cairn_status_set(st, CAIRN_ERR_INVALID, "page_token", NULL,
                                                    "page_token is not one of this folder's"),
                                   st);
        if ((err = sreq_allow(&c, folder, SECRETS_CAP_LIST, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        out = sreq_alloc(req, sizeof(*out));
        cairn__secrets__v1__list_reply__init(out);
        err = list_page(&c, folder, in->recursive, want, in->page_token, &out->keys, &out->n_keys,
                        &out->next_page_token, st);
        if (err == CAIRN_OK && (err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err == CAIRN_OK ? CAIRN_OK : sreq_finish(&c, err, st);
}

/* ---- the tenant's defaults ---- */

static cairn_err_t config_reply(struct sreq *c, Cairn__Secrets__V1__ConfigReply **out,
                                struct cairn_status *st)
{
        const char *p[1] = { c->tenant };
        PGresult *res = NULL;
        char errstr[256];
        cairn_err_t err = cairn_pg_exec(c->svc->pg, c->deadline_us, &sql_config, p, 1, &res, errstr,
                                        sizeof(errstr));

        if (err != CAIRN_OK)
                return sreq_pg_status(err, errstr, st);
        *out = sreq_alloc(c->req, sizeof(**out));
        cairn__secrets__v1__config_reply__init(*out);
        (*out)->max_versions = (uint32_t)c->svc->conf->max_versions;
        (*out)->delete_version_after = sreq_duration(c, 0);
        if (PQntuples(res) == 1) {
                uint32_t mv = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);

                (*out)->max_versions = mv ? mv : (*out)->max_versions;
                (*out)->cas_required = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
                (*out)->delete_version_after = sreq_duration(c, strtoll(PQgetvalue(res, 0, 2), NULL,
                                                                        10));
        }
        PQclear(res);
        return CAIRN_OK;
}

SECRETS_HANDLER(secrets_get_config_handle)
{
        Cairn__Secrets__V1__ConfigReply *out = NULL;
        struct sreq c;
        cairn_err_t err;

        (void)msg;
        if ((err = sreq_init(&c, req, "config.read", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK ||
            (err = config_reply(&c, &out, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

SECRETS_HANDLER(secrets_set_config_handle)
{
        const Cairn__Secrets__V1__SetConfigRequest *in = (const void *)msg;
        Cairn__Secrets__V1__ConfigReply *out = NULL;
        struct sreq c;
        struct settings_params sp;
        char errstr[256];
        const char *p[4] = { NULL };
        PGresult *res = NULL;
        cairn_err_t err;

        if ((err = sreq_init(&c, req, "config.write", "", st)) != CAIRN_OK ||
            (err = sreq_admin(&c, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        p[0] = c.tenant;
        if ((err = settings_params(in->max_versions, in->cas_required, in->delete_version_after,
                                   &sp, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        p[1] = sp.p[0];
        p[2] = sp.p[1];
        p[3] = sp.p[2];
        err = cairn_pg_exec(c.svc->pg, c.deadline_us, &sql_config_set, p, 4, &res, errstr,
                            sizeof(errstr));
        PQclear(res);
        if (err != CAIRN_OK)
                return sreq_finish(&c, sreq_pg_status(err, errstr, st), st);
        if ((err = config_reply(&c, &out, st)) != CAIRN_OK)
                return sreq_finish(&c, err, st);
        if ((err = sreq_finish(&c, CAIRN_OK, st)) == CAIRN_OK)
                *reply = &out->base;
        return err;
}

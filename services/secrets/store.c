/* Stored secrets into replies (store.h). */
#include "store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/pbjson.h"
#include "policy.h"

static const struct cairn_pg_stmt sql_meta_create = {
        .name = "secrets_meta_create",
        .sql = "INSERT INTO secrets_meta (tenant, path, created_at, updated_at) "
               "VALUES ($1, $2, now(), now()) ON CONFLICT DO NOTHING",
};

static const struct cairn_pg_stmt sql_settings = {
        .name = "secrets_settings",
        .sql = "SELECT m.current_version, m.oldest_version, m.max_versions, m.cas_required, "
               "m.delete_version_after_s, m.custom_metadata::text, c.max_versions, c.cas_required, "
               "c.delete_version_after_s FROM secrets_meta m LEFT JOIN secrets_config c ON c.tenant = "
               "m.tenant WHERE m.tenant = $1 AND m.path = $2 FOR UPDATE OF m",
};

cairn_err_t secrets_meta_claim(struct cairn_pg_conn *conn, const struct sreq *c, const char *path,
                               unsigned caps, struct cairn_status *st, char *errstr,
                               size_t errstr_size)
{
        const char *p[2] = { c->tenant, path };
        PGresult *res = NULL;
        bool created;
        cairn_err_t err;

        err = cairn_pg_conn_exec(conn, &sql_meta_create, p, 2, &res, errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        created = strcmp(PQcmdTuples(res), "1") == 0;
        PQclear(res);
        if (!(caps & (created ? SECRETS_CAP_CREATE : SECRETS_CAP_UPDATE)))
                return cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "DENIED",
                                        "permission denied");
        return CAIRN_OK;
}

cairn_err_t secrets_settings_lock(struct cairn_pg_conn *conn, struct sreq *c, const char *path,
                                  struct secrets_settings *set, char *errstr, size_t errstr_size)
{
        const char *p[2] = { c->tenant, path };
        PGresult *res = NULL;
        cairn_err_t err = cairn_pg_conn_exec(conn, &sql_settings, p, 2, &res, errstr, errstr_size);
        bool tenant_set;
        long long own_max, tenant_max;

        if (err != CAIRN_OK) {
                PQclear(res);
                return err;
        }
        if (PQntuples(res) == 0) {
                PQclear(res);
                snprintf(errstr, errstr_size, "no secret at %s", path);
                return CAIRN_ERR_NOT_FOUND;
        }
        tenant_set = !PQgetisnull(res, 0, 6);
        set->current_version = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        set->oldest_version = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        own_max = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        tenant_max = tenant_set ? strtoll(PQgetvalue(res, 0, 6), NULL, 10) : 0;
        set->max_versions = (uint32_t)(own_max      ? own_max
                                       : tenant_max ? tenant_max
                                                    : c->svc->conf->max_versions);
        set->cas_required = strcmp(PQgetvalue(res, 0, 3), "t") == 0 ||
                            (tenant_set && strcmp(PQgetvalue(res, 0, 7), "t") == 0);
        set->delete_version_after_s = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        if (!set->delete_version_after_s && tenant_set)
                set->delete_version_after_s = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
        set->custom_metadata = cairn_arena_strdup(c->req->arena, PQgetvalue(res, 0, 5));
        PQclear(res);
        if (!set->custom_metadata)
                abort();
        return CAIRN_OK;
}

Cairn__Secrets__V1__VersionMetadata *secrets_version_meta(const struct sreq *c, uint64_t version,
                                                          int64_t created_us, int64_t deletion_us,
                                                          bool destroyed)
{
        Cairn__Secrets__V1__VersionMetadata *v = sreq_alloc(c->req, sizeof(*v));
        cairn__secrets__v1__version_metadata__init(v);
        v->version = version;
        v->created_time = sreq_ts(c, created_us);
        if (deletion_us) {
                v->deletion_time = sreq_ts(c, deletion_us);
                v->deleted = deletion_us <= cairn_now_us();
        }
        v->destroyed = destroyed;
        return v;
}

/* What every map<string, string> entry is. */
struct map_entry {
        ProtobufCMessage base;
        char *key;
        char *value;
};

void secrets_custom_metadata(const struct sreq *c, const char *json,
                             const ProtobufCMessageDescriptor *entry, void *out, size_t *n)
{
        json_t *obj = json_loads(json, 0, NULL);
        struct map_entry ***entries = out;
        const char *key;
        json_t *value;

        *n = 0;
        *entries = NULL;
        if (!json_is_object(obj) || json_object_size(obj) == 0) {
                json_decref(obj);
                return;
        }
        *entries = sreq_alloc(c->req, json_object_size(obj) * sizeof(**entries));
        json_object_foreach(obj, key, value) {
                struct map_entry *e = sreq_alloc(c->req, sizeof(*e));
                protobuf_c_message_init(entry, e);
                e->key = cairn_arena_strdup(c->req->arena, key);
                e->value = cairn_arena_strdup(c->req->arena, json_is_string(value)
                                                                     ? json_string_value(value)
                                                                     : "");
                if (!e->key || !e->value)
                        abort();
                (*entries)[(*n)++] = e;
        }
        json_decref(obj);
}

Google__Protobuf__Struct *secrets_struct_from_json(const struct sreq *c, const char *json)
{
        return (Google__Protobuf__Struct *)
                cairn_pbjson_parse_arena(&google__protobuf__struct__descriptor, json, 128,
                                         c->req->arena);
}

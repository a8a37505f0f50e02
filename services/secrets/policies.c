/* A tenant's stored policies and their cache (policies.h). */
#include "policies.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "policy.h"

#define CACHE_TENANTS 256

static const struct cairn_pg_stmt sql_list = {
        .name = "secrets_policies_list",
        .sql = "SELECT policy FROM secrets_policies WHERE tenant = $1 ORDER BY name",
};
static const struct cairn_pg_stmt sql_put = {
        .name = "secrets_policies_put",
        .sql = "INSERT INTO secrets_policies (tenant, name, policy, updated_at) "
               "VALUES ($1, $2, $3, now()) ON CONFLICT (tenant, name) "
               "DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()",
};
static const struct cairn_pg_stmt sql_delete = {
        .name = "secrets_policies_delete",
        .sql = "DELETE FROM secrets_policies WHERE tenant = $1 AND name = $2",
};

struct entry {
        char *tenant;
        int64_t loaded_us;
        Cairn__Secrets__V1__Policy **list;
        size_t n;
};

struct secrets_policies {
        struct cairn_pg *pg;
        int64_t cache_us;
        pthread_mutex_t lock;
        struct entry cache[CACHE_TENANTS];
        size_t next; /* the slot replaced next when all are taken */
};

static void list_free(Cairn__Secrets__V1__Policy **list, size_t n, ProtobufCAllocator *alloc)
{
        for (size_t i = 0; i < n; i++)
                protobuf_c_message_free_unpacked(&list[i]->base, alloc);
        if (alloc)
                alloc->free(alloc->allocator_data, list);
        else
                free(list);
}

static void entry_clear(struct entry *e)
{
        free(e->tenant);
        list_free(e->list, e->n, NULL);
        memset(e, 0, sizeof(*e));
}

struct secrets_policies *secrets_policies_new(struct cairn_pg *pg, long long cache_ms)
{
        struct secrets_policies *p = calloc(1, sizeof(*p));

        if (!p)
                abort();
        p->pg = pg;
        p->cache_us = cache_ms * 1000;
        pthread_mutex_init(&p->lock, NULL);
        return p;
}

void secrets_policies_free(struct secrets_policies *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < CACHE_TENANTS; i++)
                entry_clear(&p->cache[i]);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

cairn_err_t secrets_policies_list(struct secrets_policies *p, const char *tenant,
                                  int64_t deadline_us, ProtobufCAllocator *alloc,
                                  Cairn__Secrets__V1__Policy ***out, size_t *n, char *errstr,
                                  size_t errstr_size)
{
        const char *params[1] = { tenant };
        PGresult *res = NULL;
        cairn_err_t err;
        size_t rows;

        err = cairn_pg_exec(p->pg, deadline_us, &sql_list, params, 1, &res, errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        rows = (size_t)PQntuples(res);
        *n = 0;
        *out = alloc ? alloc->alloc(alloc->allocator_data, (rows + 1) * sizeof(**out))
                     : malloc((rows + 1) * sizeof(**out));
        if (!*out) {
                PQclear(res);
                return CAIRN_ERR_EXHAUSTED;
        }
        for (size_t i = 0; i < rows; i++) {
                uint8_t *bytes = NULL;
                size_t len = 0;
                Cairn__Secrets__V1__Policy *pol = NULL;

                if (cairn_pg_bytea_decode(PQgetvalue(res, (int)i, 0), &bytes, &len))
                        pol = cairn__secrets__v1__policy__unpack(alloc, len, bytes);
                free(bytes);
                if (!pol) {
                        snprintf(errstr, errstr_size, "a stored policy of %s does not unpack",
                                 tenant);
                        list_free(*out, *n, alloc);
                        PQclear(res);
                        return CAIRN_ERR_INTERNAL;
                }
                (*out)[(*n)++] = pol;
        }
        PQclear(res);
        return CAIRN_OK;
}

static struct entry *cached(struct secrets_policies *p, const char *tenant, int64_t now)
{
        for (size_t i = 0; i < CACHE_TENANTS; i++)
                if (p->cache[i].tenant && strcmp(p->cache[i].tenant, tenant) == 0)
                        return now - p->cache[i].loaded_us <= p->cache_us ? &p->cache[i] : NULL;
        return NULL;
}

static void cache_put(struct secrets_policies *p, const char *tenant, int64_t now,
                      Cairn__Secrets__V1__Policy **list, size_t n)
{
        struct entry *slot = NULL;

        for (size_t i = 0; i < CACHE_TENANTS && !slot; i++)
                if (!p->cache[i].tenant || strcmp(p->cache[i].tenant, tenant) == 0)
                        slot = &p->cache[i];
        if (!slot) {
                slot = &p->cache[p->next];
                p->next = (p->next + 1) % CACHE_TENANTS;
        }
        entry_clear(slot);
        if (!(slot->tenant = strdup(tenant)))
                abort();
        slot->loaded_us = now;
        slot->list = list;
        slot->n = n;
}

cairn_err_t secrets_policies_caps(struct secrets_policies *p, const char *tenant, const char *role,
                                  const char *principal, const char *path, int64_t deadline_us,
                                  unsigned *caps, char *errstr, size_t errstr_size)
{
        int64_t now = cairn_mono_us();
        Cairn__Secrets__V1__Policy **list;
        struct entry *e;
        size_t n;
        cairn_err_t err;

        pthread_mutex_lock(&p->lock);
        if ((e = cached(p, tenant, now))) {
                *caps = secrets_policy_caps((const Cairn__Secrets__V1__Policy *const *)e->list,
                                            e->n, role, principal, path);
                pthread_mutex_unlock(&p->lock);
                return CAIRN_OK;
        }
        pthread_mutex_unlock(&p->lock);
        err = secrets_policies_list(p, tenant, deadline_us, NULL, &list, &n, errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        *caps = secrets_policy_caps((const Cairn__Secrets__V1__Policy *const *)list, n, role,
                                    principal, path);
        pthread_mutex_lock(&p->lock);
        cache_put(p, tenant, now, list, n);
        pthread_mutex_unlock(&p->lock);
        return CAIRN_OK;
}

cairn_err_t secrets_policies_put(struct secrets_policies *p, struct cairn_pg_conn *conn,
                                 const char *tenant, const Cairn__Secrets__V1__Policy *policy,
                                 char *errstr, size_t errstr_size)
{
        size_t len = cairn__secrets__v1__policy__get_packed_size(policy);
        uint8_t *buf = malloc(len ? len : 1);
        char *hex;
        PGresult *res = NULL;
        cairn_err_t err;

        (void)p;
        if (!buf)
                return CAIRN_ERR_EXHAUSTED;
        cairn__secrets__v1__policy__pack(policy, buf);
        hex = cairn_pg_bytea_encode(buf, len);
        free(buf);
        if (!hex)
                return CAIRN_ERR_EXHAUSTED;
        const char *params[3] = { tenant, policy->name, hex };
        err = cairn_pg_conn_exec(conn, &sql_put, params, 3, &res, errstr, errstr_size);
        PQclear(res);
        free(hex);
        return err;
}

cairn_err_t secrets_policies_delete(struct secrets_policies *p, struct cairn_pg_conn *conn,
                                    const char *tenant, const char *name, char *errstr,
                                    size_t errstr_size)
{
        const char *params[2] = { tenant, name };
        PGresult *res = NULL;
        cairn_err_t err;

        (void)p;
        err = cairn_pg_conn_exec(conn, &sql_delete, params, 2, &res, errstr, errstr_size);
        if (err == CAIRN_OK && strcmp(PQcmdTuples(res), "0") == 0)
                err = CAIRN_ERR_NOT_FOUND;
        PQclear(res);
        return err;
}

void secrets_policies_forget(struct secrets_policies *p, const char *tenant)
{
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < CACHE_TENANTS; i++)
                if (p->cache[i].tenant && strcmp(p->cache[i].tenant, tenant) == 0)
                        entry_clear(&p->cache[i]);
        pthread_mutex_unlock(&p->lock);
}

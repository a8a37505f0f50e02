/* Registered definitions (workflow.h): checked and stored once per
 * version, kept unpacked with their graphs in a cache shared by every
 * thread. Versions never change, so the cache is never invalidated; a
 * lookup of the latest version asks PostgreSQL which one that is. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/hex.h"
#include "cairn/pg.h"
#include "db.h"
#include "workflow.h"

struct wf_defcache {
        pthread_mutex_t lock;
        struct wf_def **defs;
        size_t n, cap;
};

struct wf_defcache *wf_defcache_new(void)
{
        struct wf_defcache *c = calloc(1, sizeof(*c));

        if (!c)
                abort();
        pthread_mutex_init(&c->lock, NULL);
        return c;
}

static void def_free(struct wf_def *d)
{
        wf_graph_free(&d->graph);
        protobuf_c_message_free_unpacked(&d->def->base, NULL);
        free(d->type);
        free(d);
}

void wf_defcache_free(struct wf_defcache *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                def_free(c->defs[i]);
        free(c->defs);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

static const struct wf_def *cache_find(struct wf_defcache *c, const char *type, uint32_t version)
{
        const struct wf_def *found = NULL;

        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n && !found; i++)
                if (c->defs[i]->version == version && strcmp(c->defs[i]->type, type) == 0)
                        found = c->defs[i];
        pthread_mutex_unlock(&c->lock);
        return found;
}

/* Adds @p d unless another thread did first; returns the one kept. */
static const struct wf_def *cache_add(struct wf_defcache *c, struct wf_def *d)
{
        const struct wf_def *had = cache_find(c, d->type, d->version);

        if (had) {
                def_free(d);
                return had;
        }
        pthread_mutex_lock(&c->lock);
        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->defs = realloc(c->defs, c->cap * sizeof(*c->defs));
                if (!c->defs)
                        abort();
        }
        c->defs[c->n++] = d;
        pthread_mutex_unlock(&c->lock);
        return d;
}

/* A cache entry from a row's columns: version, hex of the packed
 * definition, builtin, created (ms). NULL when the stored bytes do not
 * decode or no longer form a graph. */
static struct wf_def *def_from_row(const char *type, const PGresult *res, int row)
{
        uint8_t *bytes = NULL;
        size_t len = 0;
        struct wf_def *d = calloc(1, sizeof(*d));

        if (!d)
                abort();
        if (!cairn_pg_bytea_decode(PQgetvalue(res, row, 1), &bytes, &len)) {
                free(d);
                return NULL;
        }
        d->def = cairn__workflow__v1__workflow_definition__unpack(NULL, len, bytes);
        free(bytes);
        if (!d->def || wf_graph_build(&d->graph, d->def) != 0) {
                if (d->def)
                        protobuf_c_message_free_unpacked(&d->def->base, NULL);
                free(d);
                return NULL;
        }
        d->type = strdup(type);
        d->version = (uint32_t)strtoul(PQgetvalue(res, row, 0), NULL, 10);
        d->builtin = PQgetvalue(res, row, 2)[0] == 't';
        d->created_ms = strtoll(PQgetvalue(res, row, 3), NULL, 10);
        return d;
}

cairn_err_t wf_def_get(struct wf_service *svc, struct cairn_pg_conn *conn, const char *type,
                       uint32_t version, const struct wf_def **out, struct cairn_status *st)
{
        char v[16], errstr[256];
        const char *p[2] = { type, v };
        PGresult *res = NULL;
        cairn_err_t err;

        if (version && (*out = cache_find(svc->cache, type, version)))
                return CAIRN_OK;
        snprintf(v, sizeof(v), "%u", version);
        if (conn)
                err = cairn_pg_conn_exec(conn, &wf_sql[WQ_DEF_GET], p, 2, &res, errstr,
                                         sizeof(errstr));
        else
                err = cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_DEF_GET], p, 2, &res,
                                    errstr, sizeof(errstr));
        if (err)
                return cairn_status_set(st, err, NULL, NULL, "definitions: %s", errstr);
        if (PQntuples(res) == 0) {
                PQclear(res);
                return version ? cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "version", NULL,
                                                  "workflow type \"%s\" has no version %u", type,
                                                  version)
                               : cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "type", NULL,
                                                  "no workflow type \"%s\" is registered", type);
        }
        uint32_t got = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);

        if ((*out = cache_find(svc->cache, type, got))) {
                PQclear(res);
                return CAIRN_OK;
        }
        struct wf_def *d = def_from_row(type, res, 0);

        PQclear(res);
        if (!d)
                return cairn_status_set(st, CAIRN_ERR_DATA_LOSS, NULL, NULL,
                                        "workflow type \"%s\" version %u is damaged in the "
                                        "database",
                                        type, got);
        *out = cache_add(svc->cache, d);
        return CAIRN_OK;
}

/* ---- registration ---- */

struct reg {
        const wf_definition *def;
        const char *hex; /* packed */
        bool builtin;
        uint32_t version;
        int64_t created_ms;
        bool created;
};

static cairn_err_t reg_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                          size_t errstr_size)
{
        struct reg *r = opaque;
        const char *p[4] = { r->def->type, r->def->description ? r->def->description : "", r->hex,
                             r->builtin ? "true" : "false" };
        PGresult *res = NULL;
        cairn_err_t err;

        r->created = false;
        if ((err = cairn_pg_conn_exec(conn, &wf_sql[WQ_DEF_LOCK], p, 1, NULL, errstr,
                                      errstr_size)) ||
            (err = cairn_pg_conn_exec(conn, &wf_sql[WQ_DEF_LATEST], p, 1, &res, errstr,
                                      errstr_size)))
                return err;
        if (PQntuples(res) && strcmp(PQgetvalue(res, 0, 1), r->hex) == 0) {
                r->version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
                r->created_ms = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
                PQclear(res);
                return CAIRN_OK;
        }
        PQclear(res);
        if ((err = cairn_pg_conn_exec(conn, &wf_sql[WQ_DEF_INSERT], p, 4, &res, errstr,
                                      errstr_size)))
                return err;
        r->version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        r->created_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        r->created = true;
        PQclear(res);
        return CAIRN_OK;
}

cairn_err_t wf_def_register(struct wf_service *svc, const wf_definition *def, bool builtin,
                            const struct wf_def **out, bool *created, struct cairn_status *st)
{
        size_t len = protobuf_c_message_get_packed_size(&def->base);
        uint8_t *bytes = malloc(len ? len : 1);
        char *hex = malloc(2 * len + 1), errstr[256];
        struct reg r = { .def = def, .builtin = builtin };
        cairn_err_t err;

        if (!bytes || !hex)
                abort();
        if ((err = wf_definition_check(def, &svc->defs, st))) {
                free(bytes);
                free(hex);
                return err;
        }
        protobuf_c_message_pack(&def->base, bytes);
        cairn_hex_encode(bytes, len, hex);
        free(bytes);
        r.hex = hex;
        err = cairn_pg_tx(svc->pg, WF_PG_DEADLINE, reg_tx, &r, errstr, sizeof(errstr));
        free(hex);
        if (err)
                return cairn_status_set(st, err, NULL, NULL, "registering \"%s\": %s", def->type,
                                        errstr);
        *created = r.created;
        return wf_def_get(svc, NULL, def->type, r.version, out, st);
}

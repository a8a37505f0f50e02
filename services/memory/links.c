/* Links between two memories of one user: made by Link (any kind) and by
 * Store (kind "similar", to the closest memories of the scope), removed by
 * Unlink or with the user, and followed one hop by a search that asks for
 * them. A link is undirected for reading; it survives its memories' updates
 * and shows only while both are current. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/clock.h"
#include "db.h"
#include "handlers.h"

#define KIND_DEFAULT "related"
#define KIND_SIMILAR "similar"

static bool kind_valid(const char *k)
{
        size_t n = strlen(k);

        return n >= 1 && n <= 64 && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_-.") == n;
}

cairn_err_t memory_links_similar(struct cairn_pg_conn *conn, const struct mctx *c,
                                 struct memory_vuser *u, const char *user, const char *id,
                                 const char *agent, const char *run, const float *vec,
                                 const char *now, char *errstr, size_t errstr_size)
{
        const struct memory_conf *conf = c->svc->conf;
        const size_t k = (size_t)conf->link_top_k;
        struct memory_hit *hits;
        size_t n;
        cairn_err_t err = CAIRN_OK;

        if (k == 0)
                return CAIRN_OK;
        hits = calloc(k + 1, sizeof(*hits));
        if (!hits) {
                snprintf(errstr, errstr_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        memory_vuser_rdlock(u);
        n = memory_vuser_rank(u, vec, agent, run, hits, k + 1);
        memory_vuser_unlock(u);
        for (size_t i = 0; i < n && err == CAIRN_OK; i++) {
                char strength[32];
                const char *p[7] = { c->tenant, user, id, hits[i].id, KIND_SIMILAR, strength, now };
                PGresult *res = NULL;

                if (strcmp(hits[i].id, id) == 0 || hits[i].score < (float)conf->link_threshold)
                        continue;
                snprintf(strength, sizeof(strength), "%.6f",
                         hits[i].score > 1.0f ? 1.0f : (double)hits[i].score);
                err = cairn_pg_conn_exec(conn, &memory_sql[MS_LINK_PUT], p, 7, &res, errstr,
                                         errstr_size);
                PQclear(res);
        }
        free(hits);
        return err;
}

static cairn_err_t ids_check(const struct mctx *c, const char *user, const char *from,
                             const char *to, struct cairn_status *st)
{
        cairn_err_t err;

        if ((err = mctx_user(c, user, true, st)) != CAIRN_OK)
                return err;
        if (!memory_id_valid(from))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "from_id", "BAD_ID",
                                        "from_id is not a UUID");
        if (!memory_id_valid(to))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "to_id", "BAD_ID",
                                        "to_id is not a UUID");
        if (strcasecmp(from, to) == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "to_id", "SELF_LINK",
                                        "a memory is not linked to itself");
        return CAIRN_OK;
}

cairn_err_t memory_link_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                               ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__LinkRequest *in = (const Cairn__Memory__V1__LinkRequest *)msg;
        const char *kind = in->kind && in->kind[0] ? in->kind : KIND_DEFAULT;
        float strength = in->strength == 0 ? 1.0f : in->strength;
        Cairn__Memory__V1__LinkReply *out;
        char errstr[512], s[32], now[32];
        struct mctx c;
        PGresult *res = NULL;
        cairn_err_t err;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = ids_check(&c, in->user_id, in->from_id, in->to_id, st)) != CAIRN_OK)
                return err;
        if (!kind_valid(kind))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "kind", "BAD_KIND",
                                        "kind is 1 to 64 of a-z 0-9 _ - .");
        if (!(strength >= 0.0f && strength <= 1.0f))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "strength", "OUT_OF_RANGE",
                                        "strength is from 0 to 1");
        {
                const char *p[4] = { c.tenant, in->user_id, in->from_id, in->to_id };

                err = cairn_pg_exec(c.svc->pg, c.deadline_us, &memory_sql[MS_LINK_CHECK], p, 4,
                                    &res, errstr, sizeof(errstr));
                if (err != CAIRN_OK)
                        return memory_pg_status(err, errstr, st);
                if (strcmp(PQgetvalue(res, 0, 0), "2") != 0) {
                        PQclear(res);
                        return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "to_id", "NO_MEMORY",
                                                "both memories must be current memories of the "
                                                "user");
                }
                PQclear(res);
        }
        snprintf(s, sizeof(s), "%.6f", (double)strength);
        cairn_rfc3339(cairn_now_ms(), now);
        {
                const char *p[7] = { c.tenant, in->user_id, in->from_id, in->to_id, kind, s, now };

                err = cairn_pg_exec(c.svc->pg, c.deadline_us, &memory_sql[MS_LINK_PUT], p, 7, &res,
                                    errstr, sizeof(errstr));
        }
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (out) {
                cairn__memory__v1__link_reply__init(out);
                out->link = memory_link_from_row(req->arena, res, 0);
        }
        PQclear(res);
        if (!out || !out->link)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory");
        *reply = &out->base;
        return CAIRN_OK;
}

cairn_err_t memory_unlink_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__UnlinkRequest *in = (const Cairn__Memory__V1__UnlinkRequest *)msg;
        Cairn__Memory__V1__UnlinkReply *out;
        char errstr[512];
        struct mctx c;
        PGresult *res = NULL;
        cairn_err_t err;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = ids_check(&c, in->user_id, in->from_id, in->to_id, st)) != CAIRN_OK)
                return err;
        {
                const char *p[5] = { c.tenant, in->user_id, in->from_id, in->to_id,
                                     in->kind ? in->kind : "" };

                err = cairn_pg_exec(c.svc->pg, c.deadline_us, &memory_sql[MS_UNLINK], p, 5, &res,
                                    errstr, sizeof(errstr));
        }
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (!out) {
                PQclear(res);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory");
        }
        cairn__memory__v1__unlink_reply__init(out);
        out->removed = (uint32_t)strtoul(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        *reply = &out->base;
        return CAIRN_OK;
}

cairn_err_t memory_links_attach(const struct mctx *c, Cairn__Memory__V1__SearchResult **results,
                                size_t n, struct cairn_status *st)
{
        struct cairn_arena *a = c->req->arena;
        char *ids = malloc(n * 38 + 3), errstr[512];
        const char *p[2];
        PGresult *res = NULL;
        size_t o = 0;
        cairn_err_t err;
        int rows;

        if (n == 0) {
                free(ids);
                return CAIRN_OK;
        }
        if (!ids)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        for (size_t i = 0; i < n; i++)
                o += (size_t)snprintf(ids + o, 39, "%s%s", i ? "," : "{", results[i]->memory->id);
        snprintf(ids + o, 2, "}");
        p[0] = c->tenant;
        p[1] = ids;
        err = cairn_pg_exec(c->svc->pg, c->deadline_us, &memory_sql[MS_LINKED], p, 2, &res, errstr,
                            sizeof(errstr));
        free(ids);
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        rows = PQntuples(res);
        for (size_t i = 0; i < n; i++) {
                Cairn__Memory__V1__SearchResult *r = results[i];

                r->linked = cairn_arena_calloc(a, (size_t)rows + 1, sizeof(*r->linked));
                if (!r->linked)
                        break;
                for (int j = 0; j < rows; j++) {
                        Cairn__Memory__V1__LinkedMemory *l;

                        if (strcmp(PQgetvalue(res, j, MEMORY_NCOLS), r->memory->id) != 0)
                                continue;
                        l = cairn_arena_alloc(a, sizeof(*l));
                        if (!l)
                                break;
                        cairn__memory__v1__linked_memory__init(l);
                        l->memory = memory_from_row(a, res, j, 0);
                        l->kind = cairn_arena_strdup(a, PQgetvalue(res, j, MEMORY_NCOLS + 1));
                        l->strength = strtof(PQgetvalue(res, j, MEMORY_NCOLS + 2), NULL);
                        if (l->memory && l->kind)
                                r->linked[r->n_linked++] = l;
                }
        }
        PQclear(res);
        return CAIRN_OK;
}

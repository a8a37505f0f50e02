/* The memory service's handler table, what every handler shares
 * (handlers.h), and the reads: Get, History, List. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/hex.h"
#include "cairn/log.h"
#include "cairn/pg_reply.h"
#include "db.h"
#include "handlers.h"
#include "tokens.h"

#define LIST_DEFAULT 50
#define LIST_MAX     500

cairn_err_t mctx_init(struct mctx *c, struct cairn_request *req, struct cairn_status *st)
{
        const char *key = req->key ? req->key : "", *slash = strchr(key, '/');
        size_t tlen = slash ? (size_t)(slash - key) : strlen(key);

        memset(c, 0, sizeof(*c));
        c->svc = req->opaque;
        c->req = req;
        if (tlen == 0 || tlen >= sizeof(c->tenant))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "key", "BAD_KEY",
                                        "the message key must be <tenant>/<user_id> or "
                                        "<tenant> (a tenant of 1 to %zu bytes)",
                                        sizeof(c->tenant) - 1);
        memcpy(c->tenant, key, tlen);
        c->tenant[tlen] = '\0';
        c->key_user = slash ? slash + 1 : NULL;
        c->deadline_ms = req->hdrs ? req->hdrs->deadline_ms : 0;
        if (c->deadline_ms) {
                int64_t left = cairn_deadline_remaining_ms(c->deadline_ms, cairn_now_ms());

                c->deadline_us = cairn_mono_us() + (left > 0 ? left : 0) * 1000;
        }
        return CAIRN_OK;
}

cairn_err_t mctx_user(const struct mctx *c, const char *user_id, bool required,
                      struct cairn_status *st)
{
        const char *u = user_id ? user_id : "";

        if (required && !u[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "user_id", "REQUIRED",
                                        "user_id is required");
        if (strlen(u) > 256)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "user_id", "TOO_LONG",
                                        "user_id has more than 256 bytes");
        if (u[0] && c->key_user && c->key_user[0] && strcmp(u, c->key_user) != 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "user_id", "KEY_MISMATCH",
                                        "user_id is not the user the message key names");
        return CAIRN_OK;
}

bool mctx_owns(const struct mctx *c, const char *request_user, const char *row_user)
{
        return !((request_user && request_user[0] && strcmp(request_user, row_user) != 0) ||
                 (c->key_user && c->key_user[0] && strcmp(c->key_user, row_user) != 0));
}

cairn_err_t mctx_owner(const struct mctx *c, const char *request_user, const char *row_user,
                       const char *id, struct cairn_status *st)
{
        if (!mctx_owns(c, request_user, row_user))
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "id", "NO_MEMORY", "no memory %s",
                                        id);
        return CAIRN_OK;
}

bool memory_id_valid(const char *id)
{
        if (!id || strlen(id) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (id[i] != '-')
                                return false;
                } else if (cairn_hex_digit(id[i], 0) < 0) {
                        return false;
                }
        }
        return true;
}

cairn_err_t memory_id_check(const char *id, struct cairn_status *st)
{
        if (!id || !id[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "id", "REQUIRED", "id is required");
        if (!memory_id_valid(id))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "id", "BAD_ID",
                                        "id is not a UUID (8-4-4-4-12 hex digits)");
        return CAIRN_OK;
}

cairn_err_t memory_pg_status(cairn_err_t err, const char *errstr, struct cairn_status *st)
{
        switch (err) {
        case CAIRN_ERR_UNAVAILABLE:
        case CAIRN_ERR_EXHAUSTED:
        case CAIRN_ERR_ABORTED:
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "DATABASE",
                                        "the memory database is unavailable: %s", errstr);
        case CAIRN_ERR_DEADLINE:
                return cairn_status_set(st, err, NULL, NULL, "deadline exceeded in the database");
        default:
                return cairn_status_set(st, err == CAIRN_ERR_CONFLICT ? err : CAIRN_ERR_INTERNAL,
                                        NULL, NULL, "database: %s", errstr);
        }
}

cairn_err_t memory_replay(const struct mctx *c, const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **reply, struct cairn_status *st)
{
        const char *params[2] = { c->tenant, c->req->hdrs ? c->req->hdrs->id : "" };
        char errstr[512];
        cairn_err_t err;

        if (!params[1][0])
                return CAIRN_ERR_NOT_FOUND; /* no ce_id: nothing to replay */
        err = cairn_pg_reply_find(c->svc->pg, c->deadline_us, &memory_sql[MS_REQUEST_GET], params,
                                  2, desc, c->req->arena, reply, errstr, sizeof(errstr));
        if (err == CAIRN_ERR_INTERNAL)
                return cairn_status_set(st, err, NULL, NULL, "%s of %s", errstr, params[1]);
        return err == CAIRN_OK || err == CAIRN_ERR_NOT_FOUND ? err
                                                             : memory_pg_status(err, errstr, st);
}

/* Puts the rows of an MS_LOAD or MS_LOAD_IDS result into @p u
 * (write-locked). */
static cairn_err_t put_rows(const struct mctx *c, PGresult *res, struct memory_vuser *u,
                            struct cairn_status *st)
{
        const size_t dim = (size_t)c->svc->conf->dimensions;
        float *vec = malloc(dim * sizeof(float));

        for (int i = 0; vec && i < PQntuples(res); i++) {
                /* a vector of another size (memory.dimensions changed) never matches */
                if (!memory_vec_unhex(PQgetvalue(res, i, 4), vec, dim))
                        memset(vec, 0, dim * sizeof(float));
                if (memory_vuser_put(u, PQgetvalue(res, i, 0),
                                     (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10),
                                     PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), vec) != 0) {
                        free(vec);
                        vec = NULL;
                }
        }
        if (!vec)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory loading the user's vectors");
        free(vec);
        return CAIRN_OK;
}

static int by_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What a snapshot holds that PostgreSQL no longer has. */
struct extras {
        const char **ids; /* PostgreSQL's current ids, sorted */
        size_t n;
        struct cairn_buf gone; /* ids of 36 bytes, each with its NUL */
        size_t ngone;
};

static void note_gone(const char *id, uint32_t version, void *arg)
{
        struct extras *x = arg;

        (void)version;
        if (!bsearch(&id, x->ids, x->n, sizeof(*x->ids), by_str)) {
                cairn_buf_add(&x->gone, id, 37);
                x->ngone++;
        }
}

/* Brings @p u, just read from a snapshot (since @p t0), in line with
 * PostgreSQL: entries whose version differs or that it lacks are read
 * again, entries of memories no longer current removed. */
static cairn_err_t user_reconcile(const struct mctx *c, const char *user, struct memory_vuser *u,
                                  int64_t t0, struct cairn_status *st)
{
        const char *params[3] = { c->tenant, user, NULL };
        struct extras x = { 0 };
        struct cairn_buf stale = { 0 };
        PGresult *res = NULL, *rows = NULL;
        size_t nstale = 0;
        char errstr[512];
        cairn_err_t err;
        int n;

        err = cairn_pg_exec(c->svc->pg, c->deadline_us, &memory_sql[MS_LOAD_VERSIONS], params, 2,
                            &res, errstr, sizeof(errstr));
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        n = PQntuples(res);
        x.ids = malloc(((size_t)n + 1) * sizeof(*x.ids));
        if (!x.ids) {
                PQclear(res);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        cairn_buf_adds(&stale, "{");
        for (int i = 0; i < n; i++) {
                uint32_t have, want = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);

                x.ids[x.n++] = PQgetvalue(res, i, 0);
                if (memory_vuser_version(u, x.ids[i], &have) && have == want)
                        continue;
                cairn_buf_printf(&stale, "%s%s", nstale++ ? "," : "", x.ids[i]);
        }
        cairn_buf_adds(&stale, "}");
        qsort(x.ids, x.n, sizeof(*x.ids), by_str);
        memory_vuser_each(u, note_gone, &x);
        for (size_t i = 0; !x.gone.oom && i < x.ngone; i++)
                memory_vuser_remove(u, x.gone.p + i * 37);
        if (stale.oom || x.gone.oom)
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        else if (nstale) {
                params[2] = stale.p;
                err = cairn_pg_exec(c->svc->pg, c->deadline_us, &memory_sql[MS_LOAD_IDS], params, 3,
                                    &rows, errstr, sizeof(errstr));
                err = err == CAIRN_OK ? put_rows(c, rows, u, st)
                                      : memory_pg_status(err, errstr, st);
        }
        if (err == CAIRN_OK)
                cairn_log(INFO, "MEMORY",
                          "%zu vectors from a snapshot, %zu read again, %zu gone, in %.2f s",
                          memory_vuser_count(u), nstale, x.ngone,
                          (double)(cairn_mono_us() - t0) / 1e6);
        cairn_buf_cleanup(&x.gone);
        cairn_buf_cleanup(&stale);
        free(x.ids);
        PQclear(rows);
        PQclear(res);
        return err;
}

/* Reads @p user's current vectors into @p u (write-locked): from their
 * snapshot checked against PostgreSQL, or else from PostgreSQL. */
static cairn_err_t user_load(const struct mctx *c, const char *user, struct memory_vuser *u,
                             struct cairn_status *st)
{
        const char *params[2] = { c->tenant, user };
        char errstr[512];
        PGresult *res = NULL;
        cairn_err_t err;

        int64_t t0 = cairn_mono_us();

        if (memory_vuser_snapshot_load(u)) {
                err = user_reconcile(c, user, u, t0, st);
        } else {
                err = cairn_pg_exec(c->svc->pg, c->deadline_us, &memory_sql[MS_LOAD], params, 2,
                                    &res, errstr, sizeof(errstr));
                if (err != CAIRN_OK)
                        return memory_pg_status(err, errstr, st);
                memory_vuser_reset(u, false);
                err = put_rows(c, res, u, st);
                PQclear(res);
        }
        if (err == CAIRN_OK)
                memory_vuser_set_loaded(u, true);
        else
                memory_vuser_reset(u, false);
        return err;
}

cairn_err_t memory_user_index(const struct mctx *c, const char *user, struct memory_vuser **out,
                              struct cairn_status *st)
{
        struct memory_vuser *u = memory_vindex_user(c->svc->index, c->tenant, user);
        cairn_err_t err = CAIRN_OK;

        if (c->req)
                memory_vuser_set_partition(u, c->req->partition);
        memory_vuser_rdlock(u);
        if (memory_vuser_loaded(u)) {
                memory_vuser_unlock(u);
                *out = u;
                return CAIRN_OK;
        }
        memory_vuser_unlock(u);
        memory_vuser_wrlock(u);
        if (!memory_vuser_loaded(u))
                err = user_load(c, user, u, st);
        memory_vuser_unlock(u);
        *out = u;
        return err;
}

/* ---- reads ---- */

/* The current row of memory @p id of the tenant into *@p res. */
static cairn_err_t get_row(const struct mctx *c, const char *id, PGresult **res,
                           struct cairn_status *st)
{
        const char *params[2] = { c->tenant, id };
        char errstr[512];
        cairn_err_t err = cairn_pg_exec(c->svc->pg, c->deadline_us, &memory_sql[MS_GET], params, 2,
                                        res, errstr, sizeof(errstr));

        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        if (PQntuples(*res) == 0) {
                PQclear(*res);
                *res = NULL;
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "id", "NO_MEMORY", "no memory %s",
                                        id);
        }
        return CAIRN_OK;
}

static cairn_err_t get_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                              ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__GetRequest *in = (const Cairn__Memory__V1__GetRequest *)msg;
        Cairn__Memory__V1__GetReply *out;
        struct mctx c;
        PGresult *res = NULL;
        cairn_err_t err;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = mctx_user(&c, in->user_id, false, st)) != CAIRN_OK ||
            (err = memory_id_check(in->id, st)) != CAIRN_OK ||
            (err = get_row(&c, in->id, &res, st)))
                return err;
        err = mctx_owner(&c, in->user_id, PQgetvalue(res, 0, 2), in->id, st);
        if (err == CAIRN_OK) {
                out = cairn_arena_alloc(req->arena, sizeof(*out));
                if (out) {
                        cairn__memory__v1__get_reply__init(out);
                        out->memory = memory_from_row(req->arena, res, 0, 0);
                }
                if (!out || !out->memory)
                        err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                               "out of request memory for the reply");
                else
                        *reply = &out->base;
        }
        PQclear(res);
        return err;
}

static cairn_err_t history_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                  ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__HistoryRequest *in =
                (const Cairn__Memory__V1__HistoryRequest *)msg;
        Cairn__Memory__V1__HistoryReply *out;
        const char *params[2];
        struct mctx c;
        char errstr[512];
        PGresult *res = NULL;
        cairn_err_t err;
        int n;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = mctx_user(&c, in->user_id, false, st)) != CAIRN_OK ||
            (err = memory_id_check(in->id, st)) != CAIRN_OK)
                return err;
        params[0] = c.tenant;
        params[1] = in->id;
        err = cairn_pg_exec(c.svc->pg, c.deadline_us, &memory_sql[MS_HISTORY], params, 2, &res,
                            errstr, sizeof(errstr));
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        n = PQntuples(res);
        if (n == 0 || (err = mctx_owner(&c, in->user_id, PQgetvalue(res, 0, 9), in->id, st))) {
                PQclear(res);
                return n == 0 ? cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "id", "NO_MEMORY",
                                                 "no memory %s", in->id)
                              : err;
        }
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (out) {
                cairn__memory__v1__history_reply__init(out);
                out->entries = cairn_arena_calloc(req->arena, (size_t)n, sizeof(*out->entries));
        }
        for (int i = 0; out && out->entries && i < n; i++) {
                Cairn__Memory__V1__HistoryEntry *e = memory_history_from_row(req->arena, res, i);

                if (!e) {
                        out->entries = NULL;
                        break;
                }
                out->entries[out->n_entries++] = e;
        }
        PQclear(res);
        if (!out || !out->entries)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory for the reply");
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t list_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                               ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__ListRequest *in = (const Cairn__Memory__V1__ListRequest *)msg;
        Cairn__Memory__V1__ListReply *out;
        const char *params[10];
        char errstr[512], when[32], id[37], limit[16], *meta = NULL;
        struct mctx c;
        PGresult *res = NULL;
        size_t size = in->page_size ? in->page_size : LIST_DEFAULT;
        cairn_err_t err;
        int n;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = mctx_user(&c, in->user_id, true, st)) != CAIRN_OK)
                return err;
        if (size > LIST_MAX)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_size", "OUT_OF_RANGE",
                                        "page_size is at most %d", LIST_MAX);
        if (in->page_token && in->page_token[0] &&
            !memory_list_token_parse(in->page_token, when, id))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_token", "BAD_TOKEN",
                                        "page_token is not one this service gave");
        if (in->metadata && !(meta = memory_struct_json(in->metadata)))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "metadata", NULL,
                                        "metadata has no JSON form");
        snprintf(limit, sizeof(limit), "%zu", size + 1);
        params[0] = c.tenant;
        params[1] = in->user_id;
        params[2] = in->agent_id ? in->agent_id : "";
        params[3] = in->run_id ? in->run_id : "";
        params[4] = meta;
        params[5] = NULL;
        params[6] = NULL;
        params[7] = in->page_token && in->page_token[0] ? when : NULL;
        params[8] = in->page_token && in->page_token[0] ? id : NULL;
        params[9] = limit;
        err = cairn_pg_exec(c.svc->pg, c.deadline_us, &memory_sql[MS_LIST], params, 10, &res,
                            errstr, sizeof(errstr));
        free(meta);
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        n = PQntuples(res);
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (out) {
                cairn__memory__v1__list_reply__init(out);
                out->memories = cairn_arena_calloc(req->arena, (size_t)n + 1,
                                                   sizeof(*out->memories));
        }
        for (int i = 0; out && out->memories && i < n && (size_t)i < size; i++) {
                Cairn__Memory__V1__Memory *m = memory_from_row(req->arena, res, i, 0);

                if (!m) {
                        out->memories = NULL;
                        break;
                }
                out->memories[out->n_memories++] = m;
        }
        if (out && out->memories && (size_t)n > size) {
                const Cairn__Memory__V1__Memory *last = out->memories[out->n_memories - 1];

                out->next_page_token =
                        cairn_arena_sprintf(req->arena, "%lld_%s",
                                            (long long)memory_ts_ms(last->created_at), last->id);
        }
        PQclear(res);
        if (!out || !out->memories)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory for the reply");
        *reply = &out->base;
        return CAIRN_OK;
}

const struct cairn_handler memory_handlers[] = {
        { &cairn__memory__v1__store_request__descriptor, memory_store_handle },
        { &cairn__memory__v1__get_request__descriptor, get_handle },
        { &cairn__memory__v1__update_request__descriptor, memory_update_handle },
        { &cairn__memory__v1__delete_request__descriptor, memory_delete_handle },
        { &cairn__memory__v1__history_request__descriptor, history_handle },
        { &cairn__memory__v1__list_request__descriptor, list_handle },
        { &cairn__memory__v1__search_request__descriptor, memory_search_handle },
        { &cairn__memory__v1__erase_user_request__descriptor, memory_erase_handle },
        { &cairn__memory__v1__export_user_request__descriptor, memory_export_handle },
        { &cairn__memory__v1__link_request__descriptor, memory_link_handle },
        { &cairn__memory__v1__unlink_request__descriptor, memory_unlink_handle },
        { NULL, NULL },
};

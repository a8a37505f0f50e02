/* All of one user: EraseUser removes it (every version, the history, the
 * stored replies of their requests, the in-process vectors) in one
 * transaction and records the erasure without its content; ExportUser
 * returns it a page at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "db.h"
#include "handlers.h"
#include "tokens.h"

#define EXPORT_DEFAULT 200
#define EXPORT_MAX     1000

struct erase {
        struct mctx *c;
        const char *user;
        Cairn__Memory__V1__EraseUserReply *reply;
};

static cairn_err_t erase_exec(struct cairn_pg_conn *conn, enum memory_sql s, const char *const *p,
                              int n, uint64_t *affected, char *errstr, size_t errstr_size)
{
        PGresult *res = NULL;
        cairn_err_t err = cairn_pg_conn_exec(conn, &memory_sql[s], p, n, &res, errstr, errstr_size);

        if (err == CAIRN_OK && affected)
                *affected = strtoull(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        return err;
}

static cairn_err_t erase_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct erase *e = opaque;
        Cairn__Memory__V1__EraseUserReply *r = e->reply;
        const struct cairn_msg_headers *h = e->c->req->hdrs;
        const char *p[9] = { e->c->tenant, e->user };
        char n[4][24], now[32];
        PGresult *res = NULL;
        cairn_err_t err;

        cairn__memory__v1__erase_user_reply__init(r);
        err = cairn_pg_conn_exec(conn, &memory_sql[MS_ERASE_COUNT], p, 2, &res, errstr,
                                 errstr_size);
        if (err != CAIRN_OK)
                return err;
        r->memories = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if ((err = erase_exec(conn, MS_ERASE_MEMORIES, p, 2, &r->versions, errstr, errstr_size)) !=
                    CAIRN_OK ||
            (err = erase_exec(conn, MS_ERASE_LINKS, p, 2, NULL, errstr, errstr_size)) != CAIRN_OK ||
            (err = erase_exec(conn, MS_ERASE_HISTORY, p, 2, &r->history_entries, errstr,
                              errstr_size)) != CAIRN_OK ||
            (err = erase_exec(conn, MS_ERASE_REQUESTS, p, 2, &r->requests, errstr, errstr_size)) !=
                    CAIRN_OK)
                return err;
        snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)r->memories);
        snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)r->versions);
        snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)r->history_entries);
        snprintf(n[3], sizeof(n[3]), "%llu", (unsigned long long)r->requests);
        cairn_rfc3339(cairn_now_ms(), now);
        p[2] = h ? h->id : "";
        /* who: the sender; the gateway's request id in the log names the caller */
        p[3] = h && h->source[0] ? h->source : "unknown";
        p[4] = n[0], p[5] = n[1], p[6] = n[2], p[7] = n[3], p[8] = now;
        if ((err = erase_exec(conn, MS_ERASE_RECORD, p, 9, NULL, errstr, errstr_size)) != CAIRN_OK)
                return err;
        if ((err = memory_event_add(conn, e->c, "ERASED", e->user, NULL, 0, r->memories, now,
                                    errstr, errstr_size)) != CAIRN_OK)
                return err;
        /* the reply holds counts only: kept as no user's, it outlives the erasure */
        return memory_reply_keep(conn, e->c, &r->base, "", errstr, errstr_size);
}

cairn_err_t memory_erase_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__EraseUserRequest *in =
                (const Cairn__Memory__V1__EraseUserRequest *)msg;
        struct erase e = { 0 };
        struct mctx c;
        char errstr[512];
        cairn_err_t err;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = mctx_user(&c, in->user_id, true, st)) != CAIRN_OK)
                return err;
        err = memory_replay(&c, &cairn__memory__v1__erase_user_reply__descriptor, reply, st);
        if (err != CAIRN_ERR_NOT_FOUND)
                return err;
        e.c = &c;
        e.user = in->user_id;
        e.reply = cairn_arena_alloc(req->arena, sizeof(*e.reply));
        if (!e.reply)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory");
        err = cairn_pg_tx(c.svc->pg, c.deadline_us, erase_tx, &e, errstr, sizeof(errstr));
        if (err == CAIRN_ERR_CONFLICT &&
            memory_replay(&c, &cairn__memory__v1__erase_user_reply__descriptor, reply, st) ==
                    CAIRN_OK)
                return CAIRN_OK; /* another delivery erased first */
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        memory_vindex_forget(c.svc->index, c.tenant, in->user_id);
        memory_vindex_snapshot_delete(c.svc->index, c.tenant, in->user_id);
        memory_outbox_wake(c.svc->outbox);
        cairn_metric_inc_l(c.svc->changes, (const char *const[]){ "erase" });
        *reply = &e.reply->base;
        return CAIRN_OK;
}

/* One export item from row @p row of an export statement's result. */
typedef Cairn__Memory__V1__ExportItem *(*item_fn)(struct cairn_arena *a, const PGresult *res,
                                                  int row);

static Cairn__Memory__V1__ExportItem *item_new(struct cairn_arena *a)
{
        Cairn__Memory__V1__ExportItem *it = cairn_arena_alloc(a, sizeof(*it));

        if (it)
                cairn__memory__v1__export_item__init(it);
        return it;
}

static Cairn__Memory__V1__ExportItem *memory_item(struct cairn_arena *a, const PGresult *res,
                                                  int row)
{
        Cairn__Memory__V1__ExportItem *it = item_new(a);

        if (!it || !(it->memory = memory_from_row(a, res, row, 0)))
                return NULL;
        it->item_case = CAIRN__MEMORY__V1__EXPORT_ITEM__ITEM_MEMORY;
        return it;
}

static Cairn__Memory__V1__ExportItem *history_item(struct cairn_arena *a, const PGresult *res,
                                                   int row)
{
        Cairn__Memory__V1__ExportItem *it = item_new(a);

        if (!it || !(it->history = memory_history_from_row(a, res, row)))
                return NULL;
        it->item_case = CAIRN__MEMORY__V1__EXPORT_ITEM__ITEM_HISTORY;
        return it;
}

static Cairn__Memory__V1__ExportItem *link_item(struct cairn_arena *a, const PGresult *res, int row)
{
        Cairn__Memory__V1__ExportItem *it = item_new(a);

        if (!it || !(it->link = memory_link_from_row(a, res, row)))
                return NULL;
        it->item_case = CAIRN__MEMORY__V1__EXPORT_ITEM__ITEM_LINK;
        return it;
}

/* Runs export statement @p s (@p p, @p n parameters, the last its limit,
 * @p room) and adds an item per row to @p out; *@p full when the page may
 * go on. With @p seq_col >= 0, that column of the last row into @p last. */
static cairn_err_t export_rows(const struct mctx *c, enum memory_sql s, const char **p, int n,
                               size_t room, item_fn make, int seq_col, char *last, size_t last_size,
                               Cairn__Memory__V1__ExportUserReply *out, bool *full,
                               struct cairn_status *st)
{
        char limit[24], errstr[512];
        PGresult *res = NULL;
        cairn_err_t err;
        int rows;

        snprintf(limit, sizeof(limit), "%zu", room);
        p[n - 1] = limit;
        err = cairn_pg_exec(c->svc->pg, c->deadline_us, &memory_sql[s], p, n, &res, errstr,
                            sizeof(errstr));
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        rows = PQntuples(res);
        for (int i = 0; i < rows; i++) {
                Cairn__Memory__V1__ExportItem *it = make(c->req->arena, res, i);

                if (!it) {
                        PQclear(res);
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of request memory: ask for smaller pages");
                }
                out->items[out->n_items++] = it;
                if (seq_col >= 0)
                        snprintf(last, last_size, "%s", PQgetvalue(res, i, seq_col));
        }
        *full = (size_t)rows == room;
        PQclear(res);
        return CAIRN_OK;
}

cairn_err_t memory_export_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__ExportUserRequest *in =
                (const Cairn__Memory__V1__ExportUserRequest *)msg;
        const size_t size = in->page_size ? in->page_size : EXPORT_DEFAULT;
        Cairn__Memory__V1__ExportUserReply *out;
        struct memory_export_pos pos;
        struct mctx c;
        char last_seq[24] = "";
        size_t links_before;
        bool full = false;
        cairn_err_t err;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = mctx_user(&c, in->user_id, true, st)) != CAIRN_OK)
                return err;
        if (size > EXPORT_MAX)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_size", "OUT_OF_RANGE",
                                        "page_size is at most %d", EXPORT_MAX);
        if (!memory_export_token_parse(in->page_token, &pos))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_token", "BAD_TOKEN",
                                        "page_token is not one this service gave");
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (out) {
                cairn__memory__v1__export_user_reply__init(out);
                out->items = cairn_arena_calloc(req->arena, size, sizeof(*out->items));
        }
        if (!out || !out->items)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory");
        if (!pos.history) {
                const char *p[5] = { c.tenant, in->user_id, pos.id[0] ? pos.id : NULL,
                                     pos.id[0] ? pos.version : NULL };

                err = export_rows(&c, MS_EXPORT_MEMORIES, p, 5, size, memory_item, -1, NULL, 0, out,
                                  &full, st);
        }
        if (err == CAIRN_OK && !full && !pos.links) {
                const char *p[4] = { c.tenant, in->user_id, pos.seq };

                err = export_rows(&c, MS_EXPORT_HISTORY, p, 4, size - out->n_items, history_item, 9,
                                  last_seq, sizeof(last_seq), out, &full, st);
        }
        links_before = out->n_items;
        if (err == CAIRN_OK && !full) {
                const char *p[4] = { c.tenant, in->user_id, pos.offset };

                err = export_rows(&c, MS_EXPORT_LINKS, p, 4, size - out->n_items, link_item, -1,
                                  NULL, 0, out, &full, st);
        }
        if (err != CAIRN_OK)
                return err;
        if (full && out->n_items) {
                const Cairn__Memory__V1__ExportItem *last = out->items[out->n_items - 1];

                if (last->item_case == CAIRN__MEMORY__V1__EXPORT_ITEM__ITEM_MEMORY)
                        out->next_page_token = cairn_arena_sprintf(req->arena, "m%s.%u",
                                                                   last->memory->id,
                                                                   last->memory->version);
                else if (last->item_case == CAIRN__MEMORY__V1__EXPORT_ITEM__ITEM_HISTORY)
                        out->next_page_token = cairn_arena_sprintf(req->arena, "h%s", last_seq);
                else
                        out->next_page_token =
                                cairn_arena_sprintf(req->arena, "l%lld",
                                                    atoll(pos.offset) + (long long)(out->n_items -
                                                                                    links_before));
        }
        *reply = &out->base;
        return CAIRN_OK;
}

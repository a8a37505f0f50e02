/* The writes: Store (one memory or a batch, exact and near duplicates
 * found), Update and Delete. Each runs in one transaction that also keeps
 * its reply under the request's ce_id, so a redelivered request gets the
 * same reply and changes nothing; the in-process index follows after the
 * commit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/hex.h"
#include "cairn/pg_reply.h"
#include "db.h"
#include "handlers.h"

/* The model recorded for a vector the caller sent. */
#define CALLER_MODEL "caller"

/* One memory of a write, checked, with what the transaction made of it. */
struct item {
        const char *agent, *run, *content;
        char *meta;          /* JSON object text (malloc'ed) */
        const char *expires; /* RFC 3339, or NULL */
        char expires_buf[32];
        char hash[65];
        float *vec; /* dimensions floats, unit length (into the write's block) */
        const char *model;
        /* set by the transaction */
        Cairn__Memory__V1__StoreResult *result;
        char id[37];
        uint32_t version;
        bool index_put;
};

struct write {
        struct mctx *c;
        const char *user;
        struct item *items;
        size_t n;
        struct memory_vuser *u; /* the user's index entries (Store) */
        int64_t now_ms;
        char now[32];
        char *vec_hex; /* scratch: 8 x dimensions + 1 */
        ProtobufCMessage *reply;
        /* Update and Delete */
        const char *id;
        const char *req_user; /* the user_id the request names, or "" */
        const Cairn__Memory__V1__UpdateRequest *update;
        char row_user[257];
        char row_agent[257], row_run[257];
        bool no_change;
        bool replayed; /* another delivery of the request committed first */
};

static bool vector_valid(const float *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isfinite(v[i]))
                        return false;
        return true;
}

/* Checks a caller's vector and copies it, normalised, into @p out. */
static cairn_err_t caller_vector(const struct mctx *c, const float *v, size_t n, float *out,
                                 const char *field, struct cairn_status *st)
{
        const size_t dim = (size_t)c->svc->conf->dimensions;

        if (n != dim)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "WRONG_DIMENSIONS",
                                        "%s has %zu floats, memory.dimensions is %zu", field, n,
                                        dim);
        memcpy(out, v, dim * sizeof(float));
        if (!vector_valid(out, dim) || !memory_normalize(out, dim))
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "BAD_VECTOR",
                                        "%s is zero or not finite", field);
        return CAIRN_OK;
}

static void items_free(struct item *items, size_t n)
{
        for (size_t i = 0; items && i < n; i++)
                free(items[i].meta);
        free(items);
}

/* Whatever the write collected, for a fresh start of its transaction. */
static void write_reset(struct write *w)
{
        for (size_t i = 0; i < w->n; i++) {
                w->items[i].result = NULL;
                w->items[i].index_put = false;
                w->items[i].id[0] = '\0';
        }
        w->reply = NULL;
        w->no_change = false;
        w->replayed = false;
}

static cairn_err_t exec(struct cairn_pg_conn *conn, enum memory_sql s, const char *const *params,
                        int n, PGresult **res, char *errstr, size_t errstr_size)
{
        PGresult *r = NULL;
        cairn_err_t err = cairn_pg_conn_exec(conn, &memory_sql[s], params, n, &r, errstr,
                                             errstr_size);

        if (res)
                *res = r;
        else
                PQclear(r);
        return err;
}

static cairn_err_t history_add(struct cairn_pg_conn *conn, const struct write *w, const char *user,
                               const char *id, const char *event, uint32_t version,
                               const char *old_content, const char *new_content,
                               const char *old_meta, const char *new_meta, char *errstr,
                               size_t errstr_size)
{
        char v[16];
        const char *p[11];

        snprintf(v, sizeof(v), "%u", version);
        p[0] = w->c->tenant, p[1] = user, p[2] = id, p[3] = event, p[4] = v;
        p[5] = old_content, p[6] = new_content, p[7] = old_meta, p[8] = new_meta;
        p[9] = w->c->req->hdrs ? w->c->req->hdrs->id : "";
        p[10] = w->now;
        return exec(conn, MS_HISTORY_ADD, p, 11, NULL, errstr, errstr_size);
}

/* Inserts version @p version of memory @p id; @p vec_hex is its vector. */
static cairn_err_t insert(struct cairn_pg_conn *conn, struct write *w, const char *user,
                          const char *id, uint32_t version, const char *agent, const char *run,
                          const char *content, const char *meta, const char *model,
                          const char *vec_hex, const char *hash, const char *created,
                          const char *expires, char *errstr, size_t errstr_size)
{
        char v[16];
        const char *p[15];

        snprintf(v, sizeof(v), "%u", version);
        p[0] = id, p[1] = v, p[2] = w->c->tenant, p[3] = user, p[4] = agent, p[5] = run;
        p[6] = content, p[7] = meta, p[8] = model, p[9] = vec_hex, p[10] = hash;
        p[11] = w->c->svc->conf->fts_language, p[12] = created, p[13] = w->now, p[14] = expires;
        return exec(conn, MS_INSERT, p, 15, NULL, errstr, errstr_size);
}

cairn_err_t memory_reply_keep(struct cairn_pg_conn *conn, const struct mctx *c,
                              const ProtobufCMessage *reply, const char *user, char *errstr,
                              size_t errstr_size)
{
        const char *ce_id = c->req->hdrs ? c->req->hdrs->id : "";
        const char *p[3] = { c->tenant, ce_id, user };

        if (!ce_id[0])
                return CAIRN_OK;
        return cairn_pg_reply_keep(conn, &memory_sql[MS_REQUEST_PUT], p, 3, reply, errstr,
                                   errstr_size);
}

cairn_err_t memory_event_add(struct cairn_pg_conn *conn, const struct mctx *c, const char *type,
                             const char *user, const char *memory_id, uint32_t version,
                             uint64_t memories, const char *at, char *errstr, size_t errstr_size)
{
        char v[16], m[24];
        const char *p[8];
        PGresult *res = NULL;
        cairn_err_t err;

        if (!c->svc->outbox)
                return CAIRN_OK;
        snprintf(v, sizeof(v), "%u", version);
        snprintf(m, sizeof(m), "%llu", (unsigned long long)memories);
        p[0] = type, p[1] = c->tenant, p[2] = user, p[3] = memory_id;
        p[4] = version ? v : NULL, p[5] = memories ? m : NULL;
        p[6] = c->req->hdrs ? c->req->hdrs->id : "", p[7] = at;
        err = cairn_pg_conn_exec(conn, &memory_sql[MS_OUTBOX_ADD], p, 8, &res, errstr, errstr_size);
        PQclear(res);
        return err;
}

static cairn_err_t keep_reply(struct cairn_pg_conn *conn, struct write *w, const char *user,
                              char *errstr, size_t errstr_size)
{
        return memory_reply_keep(conn, w->c, w->reply, user, errstr, errstr_size);
}

/* The milliseconds column @p col of @p res as RFC 3339 into @p out, or
 * NULL for SQL NULL. */
static const char *ms_text(const PGresult *res, int col, char out[32])
{
        if (PQgetisnull(res, 0, col))
                return NULL;
        cairn_rfc3339(strtoll(PQgetvalue(res, 0, col), NULL, 10), out);
        return out;
}

/* ---- Store ---- */

/* The closest memory to item @p i in its scope: in the index, or an item
 * of this batch stored before it. */
static bool nearest(struct write *w, size_t i, struct memory_hit *best)
{
        const size_t dim = (size_t)w->c->svc->conf->dimensions;
        const struct item *it = &w->items[i];
        bool found;

        memory_vuser_rdlock(w->u);
        found = memory_vuser_nearest(w->u, it->vec, it->agent, it->run, best);
        memory_vuser_unlock(w->u);
        for (size_t j = 0; j < i; j++) {
                const struct item *o = &w->items[j];
                float s;

                if (!o->index_put || strcmp(o->agent, it->agent) != 0 ||
                    strcmp(o->run, it->run) != 0)
                        continue;
                s = memory_dot(it->vec, o->vec, dim);
                if (!found || s > best->score) {
                        memcpy(best->id, o->id, sizeof(best->id));
                        best->version = o->version;
                        best->score = s;
                        found = true;
                }
        }
        return found;
}

static Cairn__Memory__V1__StoreResult *result_new(struct cairn_arena *a,
                                                  Cairn__Memory__V1__StoreOutcome outcome,
                                                  Cairn__Memory__V1__Memory *m)
{
        Cairn__Memory__V1__StoreResult *r = cairn_arena_alloc(a, sizeof(*r));

        if (!r || !m)
                return NULL;
        cairn__memory__v1__store_result__init(r);
        r->outcome = outcome;
        r->memory = m;
        return r;
}

/* Reads back the current row of @p id into the item's result. */
static cairn_err_t result_row(struct cairn_pg_conn *conn, struct write *w, struct item *it,
                              Cairn__Memory__V1__StoreOutcome outcome, char *errstr,
                              size_t errstr_size)
{
        const char *p[2] = { w->c->tenant, it->id };
        PGresult *res;
        cairn_err_t err = exec(conn, MS_GET, p, 2, &res, errstr, errstr_size);

        if (err != CAIRN_OK)
                return err;
        it->result = PQntuples(res) ? result_new(w->c->req->arena, outcome,
                                                 memory_from_row(w->c->req->arena, res, 0, 0))
                                    : NULL;
        PQclear(res);
        if (!it->result) {
                snprintf(errstr, errstr_size, "memory %s vanished or the arena is full", it->id);
                return CAIRN_ERR_INTERNAL;
        }
        return CAIRN_OK;
}

/* Item @p i is near memory @p near: that memory takes its content. Returns
 * CAIRN_ERR_NOT_FOUND when it is no longer current or holds other codes
 * (then insert). */
static cairn_err_t merge(struct cairn_pg_conn *conn, struct write *w, size_t i,
                         const struct memory_hit *near, char *errstr, size_t errstr_size)
{
        struct item *it = &w->items[i];
        const char *p[3] = { w->c->tenant, near->id, w->now };
        char created[32], expires[32], *old_meta;
        const char *meta;
        PGresult *res;
        uint32_t version;
        cairn_err_t err = exec(conn, MS_LOCK, p, 2, &res, errstr, errstr_size);

        if (err != CAIRN_OK)
                return err;
        /* gone meanwhile, or a different fact (another number or code):
         * stored beside it instead */
        if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 2), w->user) != 0 ||
            !memory_same_codes(PQgetvalue(res, 0, 5), it->content)) {
                PQclear(res);
                return CAIRN_ERR_NOT_FOUND;
        }
        version = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10) + 1;
        old_meta = strdup(PQgetvalue(res, 0, 6));
        /* the new metadata if any was sent, else the old one stays */
        meta = strcmp(it->meta, "{}") != 0 ? it->meta : old_meta;
        memcpy(it->id, near->id, sizeof(it->id));
        it->version = version;
        err = exec(conn, MS_CLOSE, p, 3, NULL, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = insert(conn, w, w->user, it->id, version, it->agent, it->run, it->content,
                             meta, it->model, w->vec_hex, it->hash, ms_text(res, 8, created),
                             it->expires ? it->expires : ms_text(res, 12, expires), errstr,
                             errstr_size);
        if (err == CAIRN_OK)
                err = history_add(conn, w, w->user, it->id, "UPDATE", version,
                                  PQgetvalue(res, 0, 5), it->content, old_meta, meta, errstr,
                                  errstr_size);
        if (err == CAIRN_OK)
                err = memory_event_add(conn, w->c, "UPDATED", w->user, it->id, version, 0, w->now,
                                       errstr, errstr_size);
        PQclear(res);
        free(old_meta);
        if (err == CAIRN_OK)
                err = result_row(conn, w, it,
                                 CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_MERGED, errstr,
                                 errstr_size);
        if (err == CAIRN_OK) {
                it->result->similarity = near->score;
                it->index_put = true;
        }
        return err;
}

static cairn_err_t store_one(struct cairn_pg_conn *conn, struct write *w, size_t i, char *errstr,
                             size_t errstr_size)
{
        const struct memory_conf *conf = w->c->svc->conf;
        struct item *it = &w->items[i];
        const char *p[6] = { w->c->tenant, w->user,  it->agent,
                             it->run,      it->hash, w->c->svc->outbox ? "true" : "false" };
        struct memory_hit near;
        PGresult *res;
        /* the same content past its expiry is closed first, not returned */
        cairn_err_t err = exec(conn, MS_EXPIRE_CONTENT, p, 6, NULL, errstr, errstr_size);

        if (err == CAIRN_OK)
                err = exec(conn, MS_FIND_HASH, p, 5, &res, errstr, errstr_size);

        if (err != CAIRN_OK)
                return err;
        if (PQntuples(res) > 0) {
                /* the same content in the same scope: returned as it is */
                it->result = result_new(w->c->req->arena,
                                        CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_DUPLICATE,
                                        memory_from_row(w->c->req->arena, res, 0, 0));
                PQclear(res);
                if (!it->result) {
                        snprintf(errstr, errstr_size, "out of request memory");
                        return CAIRN_ERR_EXHAUSTED;
                }
                return CAIRN_OK;
        }
        PQclear(res);
        memory_vec_hex(it->vec, (size_t)conf->dimensions, w->vec_hex);
        if (nearest(w, i, &near) && near.score >= (float)conf->dedupe_threshold) {
                err = merge(conn, w, i, &near, errstr, errstr_size);
                if (err != CAIRN_ERR_NOT_FOUND)
                        return err;
        }
        cairn_uuid7(it->id, w->now_ms);
        it->version = 1;
        err = insert(conn, w, w->user, it->id, 1, it->agent, it->run, it->content, it->meta,
                     it->model, w->vec_hex, it->hash, w->now, it->expires, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = history_add(conn, w, w->user, it->id, "ADD", 1, NULL, it->content, NULL,
                                  it->meta, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = memory_event_add(conn, w->c, "STORED", w->user, it->id, 1, 0, w->now, errstr,
                                       errstr_size);
        if (err == CAIRN_OK)
                err = memory_links_similar(conn, w->c, w->u, w->user, it->id, it->agent, it->run,
                                           it->vec, w->now, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = result_row(conn, w, it,
                                 CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED, errstr,
                                 errstr_size);
        if (err == CAIRN_OK)
                it->index_put = true;
        return err;
}

static cairn_err_t store_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                            size_t errstr_size)
{
        struct write *w = opaque;
        struct cairn_arena *a = w->c->req->arena;
        Cairn__Memory__V1__StoreReply *out;
        cairn_err_t err;

        write_reset(w);
        out = cairn_arena_alloc(a, sizeof(*out));
        if (!out) {
                snprintf(errstr, errstr_size, "out of request memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        cairn__memory__v1__store_reply__init(out);
        out->results = cairn_arena_calloc(a, w->n, sizeof(*out->results));
        if (!out->results) {
                snprintf(errstr, errstr_size, "out of request memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        for (size_t i = 0; i < w->n; i++) {
                if ((err = store_one(conn, w, i, errstr, errstr_size)) != CAIRN_OK)
                        return err;
                out->results[out->n_results++] = w->items[i].result;
        }
        w->reply = &out->base;
        return keep_reply(conn, w, w->user, errstr, errstr_size);
}

/* Checks a store request's memories into @p w->items. */
static cairn_err_t items_read(struct write *w, const Cairn__Memory__V1__StoreRequest *in,
                              float *vecs, struct cairn_status *st)
{
        const struct memory_conf *conf = w->c->svc->conf;
        const size_t dim = (size_t)conf->dimensions;
        const bool batch = in->n_items > 0;
        char field[64];
        cairn_err_t err;

        if (batch && in->content && in->content[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "content", "CONTENT_AND_ITEMS",
                                        "give content (one memory) or items (a batch), not both");
        if (in->n_items > (size_t)conf->max_batch)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "items", "TOO_MANY_ITEMS",
                                        "%zu items, more than memory.max_batch (%lld)", in->n_items,
                                        conf->max_batch);
        w->n = batch ? in->n_items : 1;
        w->items = calloc(w->n, sizeof(*w->items));
        if (!w->items)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        for (size_t i = 0; i < w->n; i++) {
                const Cairn__Memory__V1__MemoryInput *m = batch ? in->items[i] : NULL;
                struct item *it = &w->items[i];
                const Google__Protobuf__Struct *meta = batch ? m->metadata : in->metadata;
                const Google__Protobuf__Timestamp *exp = batch ? m->expires_at : in->expires_at;
                const float *v = batch ? m->embedding : in->embedding;
                size_t nv = batch ? m->n_embedding : in->n_embedding;

                it->agent = batch ? m->agent_id : in->agent_id;
                it->run = batch ? m->run_id : in->run_id;
                it->content = batch ? m->content : in->content;
                it->agent = it->agent ? it->agent : "";
                it->run = it->run ? it->run : "";
                snprintf(field, sizeof(field), batch ? "items[%zu].content" : "content", i);
                if ((err = memory_content_check(w->c, it->content, field, st)) != CAIRN_OK)
                        return err;
                if (strlen(it->agent) > 256 || strlen(it->run) > 256)
                        return cairn_status_set(st, CAIRN_ERR_INVALID,
                                                strlen(it->agent) > 256 ? "agent_id" : "run_id",
                                                "TOO_LONG",
                                                "agent_id and run_id have at most "
                                                "256 bytes");
                it->meta = memory_struct_json(meta);
                if (!it->meta)
                        return cairn_status_set(st, CAIRN_ERR_INVALID,
                                                batch ? "items.metadata" : "metadata", NULL,
                                                "metadata has no JSON form");
                if (exp) {
                        cairn_rfc3339(memory_ts_ms(exp), it->expires_buf);
                        it->expires = it->expires_buf;
                }
                if (memory_content_hash(it->content, it->hash) != 0)
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of memory");
                it->vec = vecs + i * dim;
                it->model = conf->embedding_model;
                if (nv) {
                        snprintf(field, sizeof(field), batch ? "items[%zu].embedding" : "embedding",
                                 i);
                        if ((err = caller_vector(w->c, v, nv, it->vec, field, st)) != CAIRN_OK)
                                return err;
                        it->model = CALLER_MODEL;
                }
        }
        return CAIRN_OK;
}

/* Embeds the items that came without a vector, in one call. */
static cairn_err_t items_embed(struct write *w, struct cairn_status *st)
{
        const size_t dim = (size_t)w->c->svc->conf->dimensions;
        const char **texts = calloc(w->n, sizeof(*texts));
        size_t *which = calloc(w->n, sizeof(*which)), n = 0;
        float *vecs = NULL;
        cairn_err_t err = CAIRN_OK;

        if (!texts || !which)
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        for (size_t i = 0; err == CAIRN_OK && i < w->n; i++)
                if (strcmp(w->items[i].model, CALLER_MODEL) != 0) {
                        texts[n] = w->items[i].content;
                        which[n++] = i;
                }
        if (err == CAIRN_OK && n) {
                vecs = malloc(n * dim * sizeof(float));
                err = vecs ? memory_embed(w->c, texts, n, vecs, st)
                           : cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
                for (size_t k = 0; err == CAIRN_OK && k < n; k++)
                        memcpy(w->items[which[k]].vec, vecs + k * dim, dim * sizeof(float));
        }
        free(vecs);
        free(texts);
        free(which);
        return err;
}

/* Runs @p fn as the write's transaction: a concurrent write of the same
 * content or of the same ce_id (a conflict) is met by running it again,
 * which then sees the other's result. */
static cairn_err_t write_run(struct write *w, cairn_pg_tx_fn fn,
                             const ProtobufCMessageDescriptor *reply_desc, struct cairn_status *st)
{
        char errstr[512];
        cairn_err_t err = CAIRN_ERR_CONFLICT;

        for (int attempt = 0; attempt < 3 && err == CAIRN_ERR_CONFLICT; attempt++) {
                w->now_ms = cairn_now_ms();
                cairn_rfc3339(w->now_ms, w->now);
                err = cairn_pg_tx(w->c->svc->pg, w->c->deadline_us, fn, w, errstr, sizeof(errstr));
                if (err == CAIRN_ERR_CONFLICT &&
                    memory_replay(w->c, reply_desc, &w->reply, st) == CAIRN_OK) {
                        w->replayed = true;
                        return CAIRN_OK;
                }
        }
        if (err == CAIRN_ERR_NOT_FOUND)
                return err; /* the caller names what was not found */
        return err == CAIRN_OK ? CAIRN_OK : memory_pg_status(err, errstr, st);
}

static const char *const outcome_names[] = { "unspecified", "created", "duplicate", "merged" };

cairn_err_t memory_store_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__StoreRequest *in = (const Cairn__Memory__V1__StoreRequest *)msg;
        const size_t dim = (size_t)((struct memory_service *)req->opaque)->conf->dimensions;
        struct mctx c;
        struct write w = { 0 };
        float *vecs = NULL;
        cairn_err_t err;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = mctx_user(&c, in->user_id, true, st)) != CAIRN_OK)
                return err;
        err = memory_replay(&c, &cairn__memory__v1__store_reply__descriptor, reply, st);
        if (err != CAIRN_ERR_NOT_FOUND)
                return err;
        w.c = &c;
        w.user = in->user_id;
        vecs = malloc((in->n_items ? in->n_items : 1) * dim * sizeof(float));
        w.vec_hex = malloc(8 * dim + 1);
        if (!vecs || !w.vec_hex)
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        if (err == CAIRN_ERR_NOT_FOUND)
                err = items_read(&w, in, vecs, st);
        if (err == CAIRN_OK)
                err = items_embed(&w, st);
        if (err == CAIRN_OK)
                err = memory_user_index(&c, w.user, &w.u, st);
        if (err == CAIRN_OK)
                err = write_run(&w, store_tx, &cairn__memory__v1__store_reply__descriptor, st);
        if (err == CAIRN_OK && !w.replayed) {
                /* committed (not replayed): the index follows */
                memory_vuser_wrlock(w.u);
                for (size_t i = 0; i < w.n; i++) {
                        const struct item *it = &w.items[i];

                        if (it->index_put && memory_vuser_put(w.u, it->id, it->version, it->agent,
                                                              it->run, it->vec) != 0)
                                memory_vuser_set_loaded(w.u, false); /* read it all again */
                        cairn_metric_inc_l(c.svc->stores,
                                           (const char *const[]){
                                                   outcome_names[it->result->outcome] });
                }
                memory_vuser_unlock(w.u);
        }
        if (err == CAIRN_OK) {
                *reply = w.reply;
                memory_outbox_wake(c.svc->outbox);
        }
        items_free(w.items, w.n);
        free(vecs);
        free(w.vec_hex);
        return err;
}

/* ---- Update and Delete ---- */

/* Locks the current row of w->id, checks its owner; *@p res holds it. */
static cairn_err_t lock_row(struct cairn_pg_conn *conn, struct write *w, PGresult **res,
                            char *errstr, size_t errstr_size)
{
        const char *p[2] = { w->c->tenant, w->id };
        cairn_err_t err = exec(conn, MS_LOCK, p, 2, res, errstr, errstr_size);

        if (err != CAIRN_OK)
                return err;
        if (PQntuples(*res) == 0 || !mctx_owns(w->c, w->req_user, PQgetvalue(*res, 0, 2))) {
                PQclear(*res);
                *res = NULL;
                snprintf(errstr, errstr_size, "no memory %s", w->id);
                return CAIRN_ERR_NOT_FOUND;
        }
        snprintf(w->row_user, sizeof(w->row_user), "%s", PQgetvalue(*res, 0, 2));
        snprintf(w->row_agent, sizeof(w->row_agent), "%s", PQgetvalue(*res, 0, 3));
        snprintf(w->row_run, sizeof(w->row_run), "%s", PQgetvalue(*res, 0, 4));
        return CAIRN_OK;
}

static cairn_err_t update_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct write *w = opaque;
        const Cairn__Memory__V1__UpdateRequest *in = w->update;
        struct item *it = &w->items[0];
        struct cairn_arena *a = w->c->req->arena;
        Cairn__Memory__V1__UpdateReply *out;
        PGresult *res = NULL, *now = NULL;
        const char *p[3] = { w->c->tenant, w->id, w->now };
        const char *content, *meta, *model, *vec_hex, *hash, *expires;
        char created[32], exp_buf[32], old_hash[65];
        uint32_t version;
        cairn_err_t err;

        write_reset(w);
        if ((err = lock_row(conn, w, &res, errstr, errstr_size)) != CAIRN_OK)
                return err;
        content = in->content ? it->content : PQgetvalue(res, 0, 5);
        meta = in->metadata ? it->meta : PQgetvalue(res, 0, 6);
        expires = in->expires_at ? it->expires : ms_text(res, 12, exp_buf);
        model = in->content ? it->model : PQgetvalue(res, 0, 7);
        vec_hex = in->content ? w->vec_hex : PQgetvalue(res, 0, 13);
        if (memory_content_hash(PQgetvalue(res, 0, 5), old_hash) != 0) {
                PQclear(res);
                return CAIRN_ERR_EXHAUSTED;
        }
        hash = in->content ? it->hash : old_hash;
        version = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10) + 1;
        w->no_change = strcmp(hash, old_hash) == 0 && strcmp(content, PQgetvalue(res, 0, 5)) == 0 &&
                       (!in->metadata || strcmp(meta, PQgetvalue(res, 0, 6)) == 0) &&
                       !in->expires_at;
        if (!w->no_change) {
                err = exec(conn, MS_CLOSE, p, 3, NULL, errstr, errstr_size);
                if (err == CAIRN_OK)
                        err = insert(conn, w, w->row_user, w->id, version, w->row_agent, w->row_run,
                                     content, meta, model, vec_hex, hash, ms_text(res, 8, created),
                                     expires, errstr, errstr_size);
                if (err == CAIRN_OK)
                        err = history_add(conn, w, w->row_user, w->id, "UPDATE", version,
                                          PQgetvalue(res, 0, 5), content, PQgetvalue(res, 0, 6),
                                          meta, errstr, errstr_size);
                if (err == CAIRN_OK)
                        err = memory_event_add(conn, w->c, "UPDATED", w->row_user, w->id, version,
                                               0, w->now, errstr, errstr_size);
        }
        PQclear(res);
        if (err == CAIRN_OK)
                err = exec(conn, MS_GET, p, 2, &now, errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        out = cairn_arena_alloc(a, sizeof(*out));
        if (out) {
                cairn__memory__v1__update_reply__init(out);
                out->memory = PQntuples(now) ? memory_from_row(a, now, 0, 0) : NULL;
        }
        PQclear(now);
        if (!out || !out->memory) {
                snprintf(errstr, errstr_size, "out of request memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        it->version = out->memory->version;
        w->reply = &out->base;
        return keep_reply(conn, w, w->row_user, errstr, errstr_size);
}

/* After a committed change of memory w->id: its index entry follows, when
 * its user's entries are loaded here (else they load fresh on use). */
static void index_follow(struct write *w, const float *vec, uint32_t version, bool removed)
{
        struct memory_vuser *u = memory_vindex_user(w->c->svc->index, w->c->tenant, w->row_user);

        memory_vuser_wrlock(u);
        if (memory_vuser_loaded(u)) {
                if (removed)
                        memory_vuser_remove(u, w->id);
                else if (memory_vuser_put(u, w->id, version, w->row_agent, w->row_run, vec) != 0)
                        memory_vuser_set_loaded(u, false);
        }
        memory_vuser_unlock(u);
}

static cairn_err_t id_and_user(struct mctx *c, struct cairn_request *req, const char *id,
                               const char *user, struct cairn_status *st)
{
        cairn_err_t err;

        if ((err = mctx_init(c, req, st)) != CAIRN_OK ||
            (err = mctx_user(c, user, false, st)) != CAIRN_OK)
                return err;
        return memory_id_check(id, st);
}

/* NOT_FOUND from a transaction carries its message in st. */
static cairn_err_t not_found(cairn_err_t err, const char *id, struct cairn_status *st)
{
        if (err == CAIRN_ERR_NOT_FOUND)
                return cairn_status_set(st, err, "id", "NO_MEMORY", "no memory %s", id);
        return err;
}

cairn_err_t memory_update_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__UpdateRequest *in = (const Cairn__Memory__V1__UpdateRequest *)msg;
        const size_t dim = (size_t)((struct memory_service *)req->opaque)->conf->dimensions;
        struct mctx c;
        struct write w = { 0 };
        struct item it = { 0 };
        float *vec = NULL;
        cairn_err_t err;

        if ((err = id_and_user(&c, req, in->id, in->user_id, st)) != CAIRN_OK)
                return err;
        if (!in->content && !in->metadata && !in->expires_at)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "content", "NOTHING_TO_UPDATE",
                                        "give content, metadata or expires_at");
        if (in->n_embedding && !in->content)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "embedding", "NO_CONTENT",
                                        "an embedding goes with a new content");
        err = memory_replay(&c, &cairn__memory__v1__update_reply__descriptor, reply, st);
        if (err != CAIRN_ERR_NOT_FOUND)
                return err;
        w.c = &c;
        w.id = in->id;
        w.update = in;
        w.req_user = in->user_id;
        w.items = &it;
        w.n = 1;
        vec = malloc(dim * sizeof(float));
        w.vec_hex = malloc(8 * dim + 1);
        it.vec = vec;
        it.model = c.svc->conf->embedding_model;
        err = vec && w.vec_hex
                      ? CAIRN_OK
                      : cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        if (err == CAIRN_OK && in->content) {
                it.content = in->content->value;
                err = memory_content_check(&c, it.content, "content", st);
                if (err == CAIRN_OK && memory_content_hash(it.content, it.hash) != 0)
                        err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                               "out of memory");
                if (err == CAIRN_OK && in->n_embedding) {
                        err = caller_vector(&c, in->embedding, in->n_embedding, vec, "embedding",
                                            st);
                        it.model = CALLER_MODEL;
                } else if (err == CAIRN_OK) {
                        err = memory_embed(&c, &it.content, 1, vec, st);
                }
                if (err == CAIRN_OK)
                        memory_vec_hex(vec, dim, w.vec_hex);
        }
        if (err == CAIRN_OK && in->metadata && !(it.meta = memory_struct_json(in->metadata)))
                err = cairn_status_set(st, CAIRN_ERR_INVALID, "metadata", NULL,
                                       "metadata has no JSON form");
        if (err == CAIRN_OK && in->expires_at) {
                cairn_rfc3339(memory_ts_ms(in->expires_at), it.expires_buf);
                it.expires = it.expires_buf;
        }
        if (err == CAIRN_OK)
                err = not_found(write_run(&w, update_tx,
                                          &cairn__memory__v1__update_reply__descriptor, st),
                                in->id, st);
        if (err == CAIRN_OK && !w.replayed && !w.no_change) {
                if (in->content) {
                        index_follow(&w, vec, it.version, false);
                } else {
                        /* the vector is unchanged: only the version moves */
                        struct memory_vuser *u = memory_vindex_user(c.svc->index, c.tenant,
                                                                    w.row_user);

                        memory_vuser_wrlock(u);
                        memory_vuser_set_loaded(u, false);
                        memory_vuser_unlock(u);
                }
                cairn_metric_inc_l(c.svc->changes, (const char *const[]){ "update" });
        }
        if (err == CAIRN_OK) {
                *reply = w.reply;
                memory_outbox_wake(c.svc->outbox);
        }
        free(it.meta);
        free(vec);
        free(w.vec_hex);
        return err;
}

static cairn_err_t delete_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct write *w = opaque;
        struct cairn_arena *a = w->c->req->arena;
        const char *p[3] = { w->c->tenant, w->id, w->now };
        Cairn__Memory__V1__DeleteReply *out;
        PGresult *res = NULL;
        cairn_err_t err;

        write_reset(w);
        if ((err = lock_row(conn, w, &res, errstr, errstr_size)) != CAIRN_OK)
                return err;
        err = exec(conn, MS_CLOSE, p, 3, NULL, errstr, errstr_size);
        if (err == CAIRN_OK)
                err = history_add(conn, w, w->row_user, w->id, "DELETE",
                                  (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10),
                                  PQgetvalue(res, 0, 5), NULL, PQgetvalue(res, 0, 6), NULL, errstr,
                                  errstr_size);
        if (err == CAIRN_OK)
                err = memory_event_add(conn, w->c, "DELETED", w->row_user, w->id,
                                       (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10), 0,
                                       w->now, errstr, errstr_size);
        out = err == CAIRN_OK ? cairn_arena_alloc(a, sizeof(*out)) : NULL;
        if (out) {
                cairn__memory__v1__delete_reply__init(out);
                out->memory = memory_from_row(a, res, 0, 0);
                if (out->memory)
                        out->memory->valid_to = memory_ts(a, w->now_ms);
        }
        PQclear(res);
        if (err != CAIRN_OK)
                return err;
        if (!out || !out->memory || !out->memory->valid_to) {
                snprintf(errstr, errstr_size, "out of request memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        w->reply = &out->base;
        return keep_reply(conn, w, w->row_user, errstr, errstr_size);
}

cairn_err_t memory_delete_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__DeleteRequest *in = (const Cairn__Memory__V1__DeleteRequest *)msg;
        struct mctx c;
        struct write w = { 0 };
        cairn_err_t err;

        if ((err = id_and_user(&c, req, in->id, in->user_id, st)) != CAIRN_OK)
                return err;
        err = memory_replay(&c, &cairn__memory__v1__delete_reply__descriptor, reply, st);
        if (err != CAIRN_ERR_NOT_FOUND)
                return err;
        w.c = &c;
        w.id = in->id;
        w.req_user = in->user_id;
        err = not_found(write_run(&w, delete_tx, &cairn__memory__v1__delete_reply__descriptor, st),
                        in->id, st);
        if (err == CAIRN_OK && !w.replayed) {
                index_follow(&w, NULL, 0, true);
                cairn_metric_inc_l(c.svc->changes, (const char *const[]){ "delete" });
        }
        if (err == CAIRN_OK) {
                *reply = w.reply;
                memory_outbox_wake(c.svc->outbox);
        }
        return err;
}

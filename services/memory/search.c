/* Search: the user's memories ranked by meaning (the in-process index),
 * by keywords (PostgreSQL full-text search, websearch syntax, ts_rank_cd),
 * or both fused by Reciprocal Rank Fusion before the cut, so that a hit
 * only one ranking finds (a product code, a name) still competes. Every
 * candidate is read back from PostgreSQL with the filters applied, so only
 * current memories that pass them are returned, whatever the index holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/utf8.h"
#include "db.h"
#include "handlers.h"

#define TOP_K_DEFAULT 10

struct cand {
        char id[37];
        uint32_t version;
        float vscore, kscore;
        uint32_t vrank, krank; /* 1-based; 0: not in that ranking */
        bool kmatch;           /* as of a past time: the keyword query matched */
        double fused;
        Cairn__Memory__V1__Memory *memory;
};

struct search {
        struct mctx *c;
        const Cairn__Memory__V1__SearchRequest *in;
        const char *filters[7]; /* tenant, user, agent, run, metadata, after, before */
        char after[32], before[32];
        char *meta;
        float *q; /* the query vector, or NULL */
        struct memory_vuser *u;
        struct cand *cands;
        size_t n, cap;
};

static struct cand *cand_find(struct search *s, const char *id)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->cands[i].id, id) == 0)
                        return &s->cands[i];
        return NULL;
}

static struct cand *cand_add(struct search *s, const char *id)
{
        struct cand *c = cand_find(s, id);

        if (c)
                return c;
        if (s->n == s->cap) {
                size_t cap = s->cap ? 2 * s->cap : 64;
                struct cand *grown = realloc(s->cands, cap * sizeof(*grown));

                if (!grown)
                        return NULL;
                s->cands = grown;
                s->cap = cap;
        }
        c = &s->cands[s->n++];
        memset(c, 0, sizeof(*c));
        memcpy(c->id, id, sizeof(c->id) - 1);
        return c;
}

/* Reads the rows of @p ids (n of them) that pass the filters into their
 * candidates; *@p passed counts them. */
static cairn_err_t rows_read(struct search *s, const char *const *ids, size_t n, size_t *passed,
                             struct cairn_status *st)
{
        const char *p[8];
        char errstr[512], *list = malloc(n * 38 + 3);
        PGresult *res = NULL;
        size_t o = 0;
        cairn_err_t err;

        if (!list)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        list[o++] = '{';
        for (size_t i = 0; i < n; i++) {
                if (i)
                        list[o++] = ',';
                memcpy(list + o, ids[i], 36);
                o += 36;
        }
        list[o++] = '}';
        list[o] = '\0';
        memcpy(p, s->filters, sizeof(s->filters));
        p[7] = list;
        err = cairn_pg_exec(s->c->svc->pg, s->c->deadline_us, &memory_sql[MS_ROWS], p, 8, &res,
                            errstr, sizeof(errstr));
        free(list);
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        for (int i = 0; i < PQntuples(res); i++) {
                struct cand *c = cand_find(s, PQgetvalue(res, i, 0));

                if (!c)
                        continue;
                c->memory = memory_from_row(s->c->req->arena, res, i, 0);
                if (!c->memory) {
                        PQclear(res);
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of request memory");
                }
                (*passed)++;
        }
        PQclear(res);
        return CAIRN_OK;
}

/* The vector ranking: the index's best @p want of the scope, read back
 * with the filters; with filters that drop some, more are ranked until
 * @p want pass or none are left. */
static cairn_err_t vector_candidates(struct search *s, size_t want, struct cairn_status *st)
{
        const char *agent = s->in->agent_id ? s->in->agent_id : "";
        const char *run = s->in->run_id ? s->in->run_id : "";
        size_t ask = want, got = 0, passed = 0, from = 0;
        struct memory_hit *hits = NULL;
        const char **ids = NULL;
        cairn_err_t err = CAIRN_OK;

        for (;;) {
                struct memory_hit *grown = realloc(hits, ask * sizeof(*hits));
                const char **grown_ids = grown ? realloc(ids, ask * sizeof(*ids)) : NULL;

                if (grown)
                        hits = grown;
                if (!grown_ids) {
                        err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                               "out of memory");
                        break;
                }
                ids = grown_ids;
                memory_vuser_rdlock(s->u);
                got = memory_vuser_rank(s->u, s->q, agent, run, hits, ask);
                memory_vuser_unlock(s->u);
                for (size_t i = from; i < got; i++) {
                        struct cand *c = cand_add(s, hits[i].id);

                        if (!c) {
                                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                       "out of memory");
                                break;
                        }
                        c->version = hits[i].version;
                        c->vscore = hits[i].score;
                        /* the hit's own copy: adding candidates moves s->cands */
                        ids[i - from] = hits[i].id;
                }
                if (err == CAIRN_OK && got > from)
                        err = rows_read(s, ids, got - from, &passed, st);
                if (err != CAIRN_OK || passed >= want || got < ask)
                        break;
                from = got;
                ask *= 4;
        }
        /* ranks among the candidates that passed, best first */
        for (size_t i = 0, r = 0; err == CAIRN_OK && i < got; i++) {
                struct cand *c = cand_find(s, hits[i].id);

                if (c && c->memory && r < want)
                        c->vrank = (uint32_t)++r;
        }
        free(hits);
        free(ids);
        return err;
}

static int by_vscore(const void *a, const void *b)
{
        const struct cand *x = *(const struct cand *const *)a, *y = *(const struct cand *const *)b;

        return x->vscore < y->vscore ? 1 : x->vscore > y->vscore ? -1 : strcmp(x->id, y->id);
}

static int by_kscore(const void *a, const void *b)
{
        const struct cand *x = *(const struct cand *const *)a, *y = *(const struct cand *const *)b;

        return x->kscore < y->kscore ? 1 : x->kscore > y->kscore ? -1 : strcmp(x->id, y->id);
}

/* Ranks the best @p want candidates by @p cmp: their vector ranks, or with
 * @p keyword their keyword ranks among those the query matched. */
static cairn_err_t rank_by(struct search *s, size_t want, int (*cmp)(const void *, const void *),
                           bool keyword, struct cairn_status *st)
{
        struct cand **order = malloc((s->n + 1) * sizeof(*order));
        size_t n = 0;

        if (!order)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        for (size_t i = 0; i < s->n; i++)
                if (!keyword || s->cands[i].kmatch)
                        order[n++] = &s->cands[i];
        qsort(order, n, sizeof(*order), cmp);
        for (size_t i = 0; i < n && i < want; i++) {
                if (keyword)
                        order[i]->krank = (uint32_t)i + 1;
                else
                        order[i]->vrank = (uint32_t)i + 1;
        }
        free(order);
        return CAIRN_OK;
}

/* As of a past time: the versions current then, read from PostgreSQL with
 * their vectors (the index holds only today's), scored here; the keyword
 * score comes with them. Costs a read of every such version of the user. */
static cairn_err_t as_of_candidates(struct search *s, size_t want, bool vector, bool keyword,
                                    struct cairn_status *st)
{
        const size_t dim = (size_t)s->c->svc->conf->dimensions;
        const char *p[10];
        char errstr[512], when[32];
        float *v = malloc(dim * sizeof(float));
        PGresult *res = NULL;
        cairn_err_t err;

        if (!v)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        cairn_rfc3339(memory_ts_ms(s->in->as_of), when);
        memcpy(p, s->filters, sizeof(s->filters));
        p[7] = when;
        p[8] = s->c->svc->conf->fts_language;
        p[9] = keyword ? s->in->query : "";
        err = cairn_pg_exec(s->c->svc->pg, s->c->deadline_us, &memory_sql[MS_AS_OF], p, 10, &res,
                            errstr, sizeof(errstr));
        if (err != CAIRN_OK) {
                free(v);
                return memory_pg_status(err, errstr, st);
        }
        for (int i = 0; i < PQntuples(res) && err == CAIRN_OK; i++) {
                struct cand *c = cand_add(s, PQgetvalue(res, i, 0));

                if (!c || !(c->memory = memory_from_row(s->c->req->arena, res, i, 0))) {
                        err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                               "out of memory");
                        break;
                }
                if (vector && memory_vec_unhex(PQgetvalue(res, i, MEMORY_NCOLS), v, dim) &&
                    memory_normalize(v, dim))
                        c->vscore = memory_dot(s->q, v, dim);
                if (!PQgetisnull(res, i, MEMORY_NCOLS + 1)) {
                        c->kmatch = true;
                        c->kscore = strtof(PQgetvalue(res, i, MEMORY_NCOLS + 1), NULL);
                }
        }
        PQclear(res);
        free(v);
        if (err == CAIRN_OK && vector)
                err = rank_by(s, want, by_vscore, false, st);
        if (err == CAIRN_OK && keyword)
                err = rank_by(s, want, by_kscore, true, st);
        return err;
}

static cairn_err_t keyword_candidates(struct search *s, size_t want, struct cairn_status *st)
{
        const char *p[10];
        char errstr[512], limit[24];
        const char **missing = NULL;
        size_t *which = NULL, nmissing = 0, passed = 0;
        PGresult *res = NULL;
        cairn_err_t err;
        int n;

        snprintf(limit, sizeof(limit), "%zu", want);
        memcpy(p, s->filters, sizeof(s->filters));
        p[7] = s->c->svc->conf->fts_language;
        p[8] = s->in->query;
        p[9] = limit;
        err = cairn_pg_exec(s->c->svc->pg, s->c->deadline_us, &memory_sql[MS_KEYWORD], p, 10, &res,
                            errstr, sizeof(errstr));
        if (err != CAIRN_OK)
                return memory_pg_status(err, errstr, st);
        n = PQntuples(res);
        missing = calloc((size_t)n + 1, sizeof(*missing));
        which = calloc((size_t)n + 1, sizeof(*which));
        for (int i = 0; missing && which && i < n; i++) {
                struct cand *c = cand_add(s, PQgetvalue(res, i, 0));

                if (!c) {
                        free(missing);
                        missing = NULL;
                        break;
                }
                c->krank = (uint32_t)i + 1;
                c->kscore = strtof(PQgetvalue(res, i, 1), NULL);
                if (!c->memory)
                        which[nmissing++] = (size_t)(c - s->cands);
        }
        PQclear(res);
        if (!missing || !which) {
                free(missing);
                free(which);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        /* pointers only now: adding candidates moves s->cands */
        for (size_t i = 0; i < nmissing; i++)
                missing[i] = s->cands[which[i]].id;
        free(which);
        err = nmissing ? rows_read(s, missing, nmissing, &passed, st) : CAIRN_OK;
        free(missing);
        return err;
}

/* A vector candidate whose row has moved to another version than the
 * index holds (changed through another replica): the index reads the
 * user's vectors again on next use. */
static void stale_check(struct search *s)
{
        for (size_t i = 0; s->u && i < s->n; i++) {
                const struct cand *c = &s->cands[i];

                if (c->memory && c->version && c->memory->version != c->version) {
                        memory_vuser_wrlock(s->u);
                        memory_vuser_set_loaded(s->u, false);
                        memory_vuser_unlock(s->u);
                        return;
                }
        }
}

static int by_score(const void *a, const void *b)
{
        const struct cand *x = a, *y = b;

        if (x->fused != y->fused)
                return x->fused < y->fused ? 1 : -1;
        return strcmp(x->id, y->id);
}

static cairn_err_t request_check(struct search *s, struct cairn_status *st)
{
        const Cairn__Memory__V1__SearchRequest *in = s->in;
        const struct memory_conf *conf = s->c->svc->conf;
        const char *q = in->query ? in->query : "";
        const bool keyword = in->mode != CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR;
        const bool vector = in->mode != CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_KEYWORD;

        if (in->mode > CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_KEYWORD)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "mode", "BAD_MODE",
                                        "mode is hybrid, vector or keyword");
        if (in->top_k > (uint32_t)conf->max_top_k)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "top_k", "OUT_OF_RANGE",
                                        "top_k is at most memory.max_top_k (%lld)",
                                        conf->max_top_k);
        if (strlen(q) > (size_t)conf->max_content_bytes || !cairn_utf8_valid(q, strlen(q)))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "query", "BAD_QUERY",
                                        "query is not UTF-8 of at most memory.max_content_bytes");
        if (keyword && !q[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "query", "REQUIRED",
                                        "query is required for %s search",
                                        vector ? "hybrid" : "keyword");
        if (vector && !q[0] && !in->n_vector)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "query", "REQUIRED",
                                        "query or vector is required");
        if (in->n_vector && in->n_vector != (size_t)conf->dimensions)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "vector", "WRONG_DIMENSIONS",
                                        "vector has %zu floats, memory.dimensions is %lld",
                                        in->n_vector, conf->dimensions);
        return CAIRN_OK;
}

static cairn_err_t search_run(struct search *s, Cairn__Memory__V1__SearchReply *out,
                              struct cairn_status *st)
{
        const Cairn__Memory__V1__SearchRequest *in = s->in;
        const struct memory_conf *conf = s->c->svc->conf;
        const size_t dim = (size_t)conf->dimensions;
        const size_t top_k = in->top_k ? in->top_k : TOP_K_DEFAULT;
        const size_t want = (size_t)conf->candidates > top_k ? (size_t)conf->candidates : top_k;
        const Cairn__Memory__V1__SearchMode mode =
                in->mode ? in->mode : CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID;
        struct cairn_arena *a = s->c->req->arena;
        cairn_err_t err = CAIRN_OK;
        size_t kept = 0;

        if (mode != CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_KEYWORD) {
                s->q = malloc(dim * sizeof(float));
                if (!s->q)
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of memory");
                if (in->n_vector) {
                        memcpy(s->q, in->vector, dim * sizeof(float));
                        if (!memory_normalize(s->q, dim))
                                return cairn_status_set(st, CAIRN_ERR_INVALID, "vector",
                                                        "BAD_VECTOR",
                                                        "vector is zero or not finite");
                } else {
                        const char *text = in->query;

                        if ((err = memory_embed(s->c, &text, 1, s->q, st)) != CAIRN_OK)
                                return err;
                        out->model = (char *)conf->embedding_model;
                }
                if (!in->as_of &&
                    ((err = memory_user_index(s->c, in->user_id, &s->u, st)) != CAIRN_OK ||
                     (err = vector_candidates(s, want, st)) != CAIRN_OK))
                        return err;
        }
        if (in->as_of)
                err = as_of_candidates(s, want,
                                       mode != CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_KEYWORD,
                                       mode != CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR,
                                       st);
        else if (mode != CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR)
                err = keyword_candidates(s, want, st);
        if (err != CAIRN_OK)
                return err;
        stale_check(s);
        for (size_t i = 0; i < s->n; i++) {
                struct cand *c = &s->cands[i];

                /* the cosine of keyword-only candidates too, for the reply */
                if (s->u && !c->vrank && c->memory) {
                        memory_vuser_rdlock(s->u);
                        memory_vuser_score(s->u, c->id, s->q, &c->vscore);
                        memory_vuser_unlock(s->u);
                }
                if (mode == CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR)
                        c->fused = c->vrank ? c->vscore : -2;
                else if (mode == CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_KEYWORD)
                        c->fused = c->krank ? c->kscore : -2;
                else
                        c->fused = (c->vrank ? 1.0 / (double)(conf->rrf_k + c->vrank) : 0) +
                                   (c->krank ? 1.0 / (double)(conf->rrf_k + c->krank) : 0);
                if (!c->memory || (!c->vrank && !c->krank))
                        c->fused = -2; /* filtered out, or ranked by neither */
        }
        if (s->n) /* no candidates: s->cands is NULL, which qsort may not get */
                qsort(s->cands, s->n, sizeof(*s->cands), by_score);
        out->results = cairn_arena_calloc(a, top_k, sizeof(*out->results));
        if (!out->results)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory");
        for (size_t i = 0; i < s->n && kept < top_k; i++) {
                const struct cand *c = &s->cands[i];
                Cairn__Memory__V1__SearchResult *r;

                if (c->fused <= -2 || c->fused < in->min_score)
                        continue;
                r = cairn_arena_alloc(a, sizeof(*r));
                if (!r)
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of request memory");
                cairn__memory__v1__search_result__init(r);
                r->memory = c->memory;
                r->score = (float)c->fused;
                r->vector_score = c->vscore;
                r->vector_rank = c->vrank;
                r->keyword_score = c->kscore;
                r->keyword_rank = c->krank;
                out->results[kept++] = r;
        }
        out->n_results = kept;
        if (in->include_linked)
                return memory_links_attach(s->c, out->results, kept, st);
        return CAIRN_OK;
}

static const char *const mode_names[] = { "hybrid", "hybrid", "vector", "keyword" };

cairn_err_t memory_search_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Memory__V1__SearchRequest *in = (const Cairn__Memory__V1__SearchRequest *)msg;
        Cairn__Memory__V1__SearchReply *out;
        struct search s = { 0 };
        struct mctx c;
        cairn_err_t err;

        if ((err = mctx_init(&c, req, st)) != CAIRN_OK ||
            (err = mctx_user(&c, in->user_id, true, st)) != CAIRN_OK)
                return err;
        s.c = &c;
        s.in = in;
        if ((err = request_check(&s, st)) != CAIRN_OK)
                return err;
        if (in->metadata && !(s.meta = memory_struct_json(in->metadata)))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "metadata", NULL,
                                        "metadata has no JSON form");
        if (in->created_after)
                cairn_rfc3339(memory_ts_ms(in->created_after), s.after);
        if (in->created_before)
                cairn_rfc3339(memory_ts_ms(in->created_before), s.before);
        s.filters[0] = c.tenant;
        s.filters[1] = in->user_id;
        s.filters[2] = in->agent_id ? in->agent_id : "";
        s.filters[3] = in->run_id ? in->run_id : "";
        s.filters[4] = s.meta;
        s.filters[5] = in->created_after ? s.after : NULL;
        s.filters[6] = in->created_before ? s.before : NULL;
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (!out)
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                       "out of request memory");
        else {
                cairn__memory__v1__search_reply__init(out);
                err = search_run(&s, out, st);
        }
        if (err == CAIRN_OK) {
                *reply = &out->base;
                cairn_metric_inc_l(c.svc->searches,
                                   (const char *const[]){
                                           mode_names[in->mode <= 3 ? in->mode : 0] });
        }
        free(s.meta);
        free(s.q);
        free(s.cands);
        return err;
}

/* The memory service's statements and row conversions (db.h). Times go in
 * as RFC 3339 text and come out as unix milliseconds; vectors as the hex of
 * their little-endian float32 bytes. */
#include <stdlib.h>
#include <string.h>

#include "cairn/hex.h"
#include "cairn/pbjson.h"
#include "db.h"

/* Milliseconds of a timestamptz column; NULL stays NULL. */
#define MS(col) "(extract(epoch from " col ") * 1000)::bigint"

#define MEMORY_COLS                                                                          \
        "id::text, version, user_id, agent_id, run_id, content, metadata::text, model, " MS( \
                "created_at") ", " MS("updated_at") ", " MS("valid_from") ", " MS("valid_to") ", " MS("expires_at")

/* Past its expiry, a memory is gone at once, whenever the sweeper closes it. */
#define NOT_EXPIRED "(expires_at IS NULL OR expires_at > now())"

/* The filters every search and list applies to current memories: tenant
 * $1, user $2; then agent, run ("" matches any), metadata containment
 * (NULL: none), created at or after, created before (NULL: none). */
#define FILTERS(a, r, m, after, before)                                                  \
        "tenant = $1 AND user_id = $2 AND valid_to IS NULL AND " NOT_EXPIRED " AND ($" a \
        " = '' OR agent_id = $" a ") AND ($" r " = '' OR run_id = $" r ") AND ($" m      \
        "::jsonb IS NULL OR metadata @> $" m "::jsonb) AND ($" after                     \
        "::timestamptz IS NULL OR created_at >= $" after "::timestamptz) AND ($" before  \
        "::timestamptz IS NULL OR created_at < $" before "::timestamptz)"

#define EXPIRE(where, events)                                                                  \
        "WITH due AS (SELECT id, version FROM memories WHERE valid_to IS NULL AND expires_at " \
        "<= now() " where " FOR UPDATE SKIP LOCKED), closed AS (UPDATE memories m SET "        \
        "valid_to = m.expires_at FROM due WHERE m.id = due.id AND m.version = due.version "    \
        "RETURNING m.tenant, m.user_id, m.id, m.version, m.content, m.metadata, "              \
        "m.expires_at), ev AS (INSERT INTO memory_outbox (type, tenant, user_id, memory_id, "  \
        "version, request_id, at) SELECT 'EXPIRED', tenant, user_id, id, version, 'expiry', "  \
        "expires_at FROM closed WHERE $" events "::boolean) INSERT INTO memory_history "       \
        "(tenant, user_id, memory_id, event, version, old_content, old_metadata, request_id, " \
        "at) SELECT tenant, user_id, id, 'DELETE', version, content, metadata, 'expiry', "     \
        "expires_at FROM closed RETURNING tenant, user_id, memory_id::text"

const struct cairn_pg_stmt memory_sql[MS__COUNT] = {
        [MS_REQUEST_GET] = { "memory_request_get",
                             "SELECT reply FROM memory_requests "
                             "WHERE tenant = $1 AND request_id = $2",
                             false },
        [MS_REQUEST_PUT] = { "memory_request_put",
                             "INSERT INTO memory_requests (tenant, request_id, user_id, reply) "
                             "VALUES ($1, $2, $3, $4)",
                             false },
        [MS_FIND_HASH] = { "memory_find_hash",
                           "SELECT " MEMORY_COLS " FROM memories WHERE tenant = $1 AND "
                           "user_id = $2 AND agent_id = $3 AND run_id = $4 AND "
                           "content_hash = decode($5, 'hex') AND valid_to IS NULL",
                           false },
        [MS_LOCK] = { "memory_lock",
                      "SELECT " MEMORY_COLS ", encode(embedding, 'hex') FROM memories "
                      "WHERE tenant = $1 AND id = $2::uuid AND valid_to IS NULL AND " NOT_EXPIRED
                      " FOR UPDATE",
                      false },
        [MS_CLOSE] = { "memory_close",
                       "UPDATE memories SET valid_to = $3::timestamptz "
                       "WHERE tenant = $1 AND id = $2::uuid AND valid_to IS NULL",
                       false },
        /* id, version, tenant, user, agent, run, content, metadata, model,
         * hex vector, hex hash, text search configuration, created_at, now,
         * expires_at */
        [MS_INSERT] = { "memory_insert",
                        "INSERT INTO memories (id, version, tenant, user_id, agent_id, run_id, "
                        "content, metadata, model, embedding, content_hash, fts, created_at, "
                        "updated_at, valid_from, expires_at) VALUES ($1::uuid, $2, $3, $4, $5, "
                        "$6, $7, $8::jsonb, $9, decode($10, 'hex'), decode($11, 'hex'), "
                        "to_tsvector($12::regconfig, $7), $13::timestamptz, $14::timestamptz, "
                        "$14::timestamptz, $15::timestamptz)",
                        false },
        /* tenant, user, memory id, event, version, old content, new content,
         * old metadata, new metadata, request id, at */
        [MS_HISTORY_ADD] = { "memory_history_add",
                             "INSERT INTO memory_history (tenant, user_id, memory_id, event, "
                             "version, old_content, new_content, old_metadata, new_metadata, "
                             "request_id, at) VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, "
                             "$8::jsonb, $9::jsonb, $10, $11::timestamptz)",
                             false },
        [MS_GET] = { "memory_get",
                     "SELECT " MEMORY_COLS " FROM memories WHERE tenant = $1 AND "
                     "id = $2::uuid AND valid_to IS NULL AND " NOT_EXPIRED,
                     false },
        [MS_HISTORY] = { "memory_history",
                         "SELECT memory_id::text, event, version, old_content, new_content, "
                         "old_metadata::text, new_metadata::text, " MS(
                                 "at") ", request_id, user_id FROM memory_history "
                                       "WHERE tenant = $1 AND memory_id = $2::uuid ORDER BY seq",
                         false },
        /* FILTERS, then the cursor (created_at, id) to start below (NULL:
         * from the newest) and the page size */
        [MS_LIST] = { "memory_list",
                      "SELECT " MEMORY_COLS " FROM memories WHERE " FILTERS(
                              "3", "4", "5", "6",
                              "7") " AND ($8::timestamptz IS NULL OR (created_at, "
                                   "id) < ($8::timestamptz, $9::uuid)) "
                                   "ORDER BY created_at DESC, id DESC LIMIT $10",
                      false },
        [MS_LOAD] = { "memory_load",
                      "SELECT id::text, version, agent_id, run_id, encode(embedding, 'hex') "
                      "FROM memories WHERE tenant = $1 AND user_id = $2 AND valid_to IS NULL",
                      false },
        [MS_LOAD_VERSIONS] = { "memory_load_versions",
                               "SELECT id::text, version FROM memories "
                               "WHERE tenant = $1 AND user_id = $2 AND valid_to IS NULL",
                               false },
        [MS_LOAD_IDS] = { "memory_load_ids",
                          "SELECT id::text, version, agent_id, run_id, encode(embedding, 'hex') "
                          "FROM memories WHERE tenant = $1 AND user_id = $2 AND valid_to IS NULL "
                          "AND id = ANY($3::uuid[])",
                          false },
        /* FILTERS, then the ids ({a,b,..., false}) */
        [MS_ROWS] = { "memory_rows",
                      "SELECT " MEMORY_COLS
                      " FROM memories WHERE " FILTERS("3", "4", "5", "6",
                                                      "7") " AND id = ANY($8::uuid[])",
                      false },
        /* FILTERS, then the text search configuration, the query and the
         * number of candidates */
        [MS_ERASE_COUNT] = { "memory_erase_count",
                             "SELECT count(DISTINCT id), count(*) FROM memories "
                             "WHERE tenant = $1 AND user_id = $2",
                             false },
        [MS_ERASE_MEMORIES] = { "memory_erase_memories",
                                "DELETE FROM memories WHERE tenant = $1 AND user_id = $2", false },
        [MS_ERASE_HISTORY] = { "memory_erase_history",
                               "DELETE FROM memory_history WHERE tenant = $1 AND user_id = $2",
                               false },
        [MS_ERASE_REQUESTS] = { "memory_erase_requests",
                                "DELETE FROM memory_requests WHERE tenant = $1 AND user_id = $2",
                                false },
        /* tenant, user, request id, requested by, memories, versions,
         * history entries, requests, at */
        [MS_ERASE_RECORD] = { "memory_erase_record",
                              "INSERT INTO memory_erasures (tenant, user_id, request_id, "
                              "requested_by, memories, versions, history_entries, requests, at) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz)",
                              false },
        /* tenant, user, after (id, version; NULL: from the start), limit */
        [MS_EXPORT_MEMORIES] = { "memory_export_memories",
                                 "SELECT " MEMORY_COLS " FROM memories WHERE tenant = $1 AND "
                                 "user_id = $2 AND ($3::uuid IS NULL OR (id, version) > "
                                 "($3::uuid, $4::integer)) ORDER BY id, version LIMIT $5",
                                 false },
        /* tenant, user, after seq, limit */
        [MS_EXPORT_HISTORY] = { "memory_export_history",
                                "SELECT memory_id::text, event, version, old_content, "
                                "new_content, old_metadata::text, new_metadata::text, " MS(
                                        "at") ", request_id, seq FROM memory_history WHERE "
                                              "tenant = $1 AND user_id = $2 AND seq > $3 "
                                              "ORDER BY seq LIMIT $4",
                                false },
        /* tenant, user, agent, run, metadata, created after, created before
         * (as FILTERS, but over the versions current at $8), the time, the
         * text search configuration, the query ("" : no keyword ranking);
         * MEMORY_COLS, the hex vector, the keyword score (NULL: no match) */
        [MS_AS_OF] = { "memory_as_of",
                       "SELECT " MEMORY_COLS ", encode(embedding, 'hex'), CASE WHEN $10 <> '' AND "
                       "fts @@ websearch_to_tsquery($9::regconfig, $10) THEN ts_rank_cd(fts, "
                       "websearch_to_tsquery($9::regconfig, $10))::float4 END FROM memories "
                       "WHERE tenant = $1 AND user_id = $2 AND valid_from <= $8::timestamptz "
                       "AND (valid_to IS NULL OR valid_to > $8::timestamptz) AND (expires_at IS "
                       "NULL OR expires_at > $8::timestamptz) AND ($3 = '' OR agent_id = $3) AND "
                       "($4 = '' OR run_id = $4) AND ($5::jsonb IS NULL OR metadata @> "
                       "$5::jsonb) AND ($6::timestamptz IS NULL OR created_at >= $6::timestamptz) "
                       "AND ($7::timestamptz IS NULL OR created_at < $7::timestamptz)",
                       false },
        /* The sweeper: closes up to $1 memories past their expiry (valid_to
         * is the expiry itself, so a search as of an earlier time still
         * sees them), each with a DELETE in the history and, when $2, an
         * EXPIRED event, in one statement; returns tenant, user, id of each */
        [MS_EXPIRE] = { "memory_expire", EXPIRE("ORDER BY expires_at LIMIT $1", "2"), false },
        /* The same for the one memory of a scope with this content
         * (tenant, user, agent, run, hex hash; events $6), before a store
         * of it */
        [MS_EXPIRE_CONTENT] = { "memory_expire_content",
                                EXPIRE("AND tenant = $1 AND user_id = $2 AND agent_id = $3 AND "
                                       "run_id = $4 AND content_hash = decode($5, 'hex')",
                                       "6"),
                                false },
        /* type, tenant, user, memory id (NULL), version (NULL), memories
         * (NULL), request id, at */
        [MS_OUTBOX_ADD] = { "memory_outbox_add",
                            "INSERT INTO memory_outbox (type, tenant, user_id, memory_id, "
                            "version, memories, request_id, at) VALUES ($1, $2, $3, $4::uuid, "
                            "$5::integer, $6::bigint, $7, $8::timestamptz)",
                            false },
        /* the oldest $1 events -> seq, event id, type, tenant, user, memory
         * id, version, memories, request id, at (ms) */
        [MS_OUTBOX_TAKE] = { "memory_outbox_take",
                             "SELECT seq, event_id::text, type, tenant, user_id, "
                             "coalesce(memory_id::text, ''), coalesce(version, 0), "
                             "coalesce(memories, 0), request_id, " MS(
                                     "at") " FROM memory_outbox ORDER BY seq LIMIT $1",
                             false },
        [MS_OUTBOX_DONE] = { "memory_outbox_done",
                             "DELETE FROM memory_outbox WHERE seq = ANY($1::bigint[])", false },
        /* one publisher at a time, so that events leave in order */
        [MS_OUTBOX_LOCK] = { "memory_outbox_lock",
                             "SELECT pg_try_advisory_xact_lock(hashtext('cairn.memory.outbox'))",
                             false },
        /* tenant, user, from, to, kind, strength, now */
        [MS_LINK_PUT] = { "memory_link_put",
                          "INSERT INTO memory_links (tenant, user_id, from_id, to_id, kind, "
                          "strength, created_at) VALUES ($1, $2, $3::uuid, $4::uuid, $5, "
                          "$6::real, $7::timestamptz) ON CONFLICT (tenant, from_id, to_id, kind) "
                          "DO UPDATE SET strength = EXCLUDED.strength RETURNING from_id::text, "
                          "to_id::text, kind, strength, " MS("created_at"),
                          false },
        /* tenant, user, a, b -> how many of the two are current memories of
         * the user */
        [MS_LINK_CHECK] = { "memory_link_check",
                            "SELECT count(*) FROM memories WHERE tenant = $1 AND user_id = $2 "
                            "AND id IN ($3::uuid, $4::uuid) AND valid_to IS NULL AND " NOT_EXPIRED,
                            false },
        /* tenant, user, a, b, kind ("": any), either direction */
        [MS_UNLINK] = { "memory_unlink",
                        "DELETE FROM memory_links WHERE tenant = $1 AND user_id = $2 AND "
                        "((from_id = $3::uuid AND to_id = $4::uuid) OR (from_id = $4::uuid AND "
                        "to_id = $3::uuid)) AND ($5 = '' OR kind = $5)",
                        false },
        /* tenant, {ids, false} -> MEMORY_COLS of each current memory linked to one
         * of them, then that one's id, the kind, the strength */
        [MS_LINKED] = { "memory_linked",
                        "SELECT " MEMORY_COLS ", l.anchor::text, l.kind, l.strength FROM (SELECT "
                        "from_id AS anchor, to_id AS other, kind, strength FROM memory_links "
                        "WHERE tenant = $1 AND from_id = ANY($2::uuid[]) UNION ALL SELECT to_id, "
                        "from_id, kind, strength FROM memory_links WHERE tenant = $1 AND to_id = "
                        "ANY($2::uuid[])) l JOIN memories m ON m.id = l.other AND m.tenant = $1 "
                        "AND m.valid_to IS NULL AND " NOT_EXPIRED " ORDER BY l.strength DESC, "
                        "m.id",
                        false },
        [MS_ERASE_LINKS] = { "memory_erase_links",
                             "DELETE FROM memory_links WHERE tenant = $1 AND user_id = $2", false },
        /* tenant, user, offset, limit */
        [MS_EXPORT_LINKS] = { "memory_export_links",
                              "SELECT from_id::text, to_id::text, kind, strength, " MS(
                                      "created_at") " FROM memory_links WHERE tenant = $1 AND "
                                                    "user_id = $2 ORDER BY from_id, to_id, kind "
                                                    "OFFSET $3 LIMIT $4",
                              false },
        /* planned for each user: one of 100,000 memories wants the text
         * index, one of 100 its own rows (a plan cached for the average
         * user took 120 ms a search of the large one) */
        [MS_KEYWORD] = { "memory_keyword",
                         "SELECT id::text, ts_rank_cd(fts, q)::float4 FROM memories, "
                         "websearch_to_tsquery($8::regconfig, $9) q WHERE " FILTERS(
                                 "3", "4", "5", "6",
                                 "7") " AND fts @@ q ORDER BY 2 DESC, id LIMIT $10",
                         true },
};

Google__Protobuf__Timestamp *memory_ts(struct cairn_arena *arena, int64_t unix_ms)
{
        Google__Protobuf__Timestamp *ts = cairn_arena_alloc(arena, sizeof(*ts));

        if (ts)
                cairn_timestamp_set_us(ts, unix_ms * 1000);
        return ts;
}

int64_t memory_ts_ms(const Google__Protobuf__Timestamp *ts)
{
        return ts->seconds * 1000 + ts->nanos / 1000000;
}

/* A Timestamp from a bigint column, NULL for SQL NULL (or a full arena). */
static Google__Protobuf__Timestamp *ts_col(struct cairn_arena *arena, const PGresult *res, int row,
                                           int col)
{
        if (PQgetisnull(res, row, col))
                return NULL;
        return memory_ts(arena, strtoll(PQgetvalue(res, row, col), NULL, 10));
}

Google__Protobuf__Struct *memory_struct_from_json(struct cairn_arena *arena, const char *json)
{
        return (Google__Protobuf__Struct *)
                cairn_pbjson_parse_arena(&google__protobuf__struct__descriptor, json, 64, arena);
}

static char *col_str(struct cairn_arena *arena, const PGresult *res, int row, int col)
{
        return cairn_arena_strdup(arena, PQgetvalue(res, row, col));
}

Cairn__Memory__V1__Memory *memory_from_row(struct cairn_arena *arena, const PGresult *res, int row,
                                           int col)
{
        Cairn__Memory__V1__Memory *m = cairn_arena_alloc(arena, sizeof(*m));

        if (!m)
                return NULL;
        cairn__memory__v1__memory__init(m);
        m->id = col_str(arena, res, row, col);
        m->version = (uint32_t)strtoul(PQgetvalue(res, row, col + 1), NULL, 10);
        m->user_id = col_str(arena, res, row, col + 2);
        m->agent_id = col_str(arena, res, row, col + 3);
        m->run_id = col_str(arena, res, row, col + 4);
        m->content = col_str(arena, res, row, col + 5);
        m->metadata = memory_struct_from_json(arena, PQgetvalue(res, row, col + 6));
        m->model = col_str(arena, res, row, col + 7);
        m->created_at = ts_col(arena, res, row, col + 8);
        m->updated_at = ts_col(arena, res, row, col + 9);
        m->valid_from = ts_col(arena, res, row, col + 10);
        m->valid_to = ts_col(arena, res, row, col + 11);
        m->expires_at = ts_col(arena, res, row, col + 12);
        if (!m->id || !m->user_id || !m->agent_id || !m->run_id || !m->content || !m->metadata ||
            !m->model || !m->created_at)
                return NULL;
        return m;
}

static Cairn__Memory__V1__HistoryEvent history_event(const char *s)
{
        if (strcmp(s, "ADD") == 0)
                return CAIRN__MEMORY__V1__HISTORY_EVENT__HISTORY_EVENT_ADD;
        if (strcmp(s, "UPDATE") == 0)
                return CAIRN__MEMORY__V1__HISTORY_EVENT__HISTORY_EVENT_UPDATE;
        return CAIRN__MEMORY__V1__HISTORY_EVENT__HISTORY_EVENT_DELETE;
}

/* A jsonb column as a Struct in the arena; NULL for SQL NULL. */
static Google__Protobuf__Struct *struct_col(struct cairn_arena *a, const PGresult *res, int row,
                                            int col)
{
        if (PQgetisnull(res, row, col))
                return NULL;
        return memory_struct_from_json(a, PQgetvalue(res, row, col));
}

Cairn__Memory__V1__Link *memory_link_from_row(struct cairn_arena *arena, const PGresult *res,
                                              int row)
{
        Cairn__Memory__V1__Link *l = cairn_arena_alloc(arena, sizeof(*l));

        if (!l)
                return NULL;
        cairn__memory__v1__link__init(l);
        l->from_id = col_str(arena, res, row, 0);
        l->to_id = col_str(arena, res, row, 1);
        l->kind = col_str(arena, res, row, 2);
        l->strength = strtof(PQgetvalue(res, row, 3), NULL);
        l->created_at = ts_col(arena, res, row, 4);
        return l->from_id && l->to_id && l->kind && l->created_at ? l : NULL;
}

Cairn__Memory__V1__HistoryEntry *memory_history_from_row(struct cairn_arena *arena,
                                                         const PGresult *res, int row)
{
        Cairn__Memory__V1__HistoryEntry *e = cairn_arena_alloc(arena, sizeof(*e));

        if (!e)
                return NULL;
        cairn__memory__v1__history_entry__init(e);
        e->memory_id = col_str(arena, res, row, 0);
        e->event = history_event(PQgetvalue(res, row, 1));
        e->version = (uint32_t)strtoul(PQgetvalue(res, row, 2), NULL, 10);
        e->old_content = col_str(arena, res, row, 3);
        e->new_content = col_str(arena, res, row, 4);
        e->old_metadata = struct_col(arena, res, row, 5);
        e->new_metadata = struct_col(arena, res, row, 6);
        e->at = ts_col(arena, res, row, 7);
        e->request_id = col_str(arena, res, row, 8);
        if (!e->memory_id || !e->old_content || !e->new_content || !e->at || !e->request_id)
                return NULL;
        return e;
}

void memory_vec_hex(const float *v, size_t n, char *out)
{
        for (size_t i = 0; i < n; i++) {
                uint32_t u;
                uint8_t b[4];

                memcpy(&u, &v[i], 4);
                b[0] = (uint8_t)u, b[1] = (uint8_t)(u >> 8), b[2] = (uint8_t)(u >> 16),
                b[3] = (uint8_t)(u >> 24);
                cairn_hex_encode(b, 4, out + 8 * i);
        }
        out[8 * n] = '\0';
}

bool memory_vec_unhex(const char *text, float *v, size_t n)
{
        uint8_t *b;
        size_t len;

        if (!cairn_pg_bytea_decode(text, &b, &len))
                return false;
        if (len != 4 * n) {
                free(b);
                return false;
        }
        for (size_t i = 0; i < n; i++) {
                uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                             (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;

                memcpy(&v[i], &u, 4);
        }
        free(b);
        return true;
}

char *memory_struct_json(const Google__Protobuf__Struct *s)
{
        if (!s)
                return strdup("{}");
        return cairn_pbjson_render(&s->base, 0, NULL);
}

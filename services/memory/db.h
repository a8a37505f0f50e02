/* The memory service's SQL: its statements, and the conversions between
 * rows and messages (a memory's row into a Memory, vectors into bytea and
 * back). Migrations: services/memory/migrations/. */
#ifndef MEMORY_DB_H
#define MEMORY_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/arena.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/pg.h"

enum memory_sql {
        MS_REQUEST_GET,     /* tenant, request_id -> hex reply */
        MS_REQUEST_PUT,     /* tenant, request_id, hex reply */
        MS_FIND_HASH,       /* tenant, user, agent, run, hex hash -> MEMORY_COLS */
        MS_LOCK,            /* tenant, id -> MEMORY_COLS, hex embedding (FOR UPDATE) */
        MS_CLOSE,           /* tenant, id, valid_to */
        MS_INSERT,          /* see db.c */
        MS_HISTORY_ADD,     /* see db.c */
        MS_GET,             /* tenant, id -> MEMORY_COLS */
        MS_HISTORY,         /* tenant, id -> history columns */
        MS_LIST,            /* see db.c */
        MS_LOAD,            /* tenant, user -> id, version, agent, run, hex embedding */
        MS_LOAD_VERSIONS,   /* tenant, user -> id, version */
        MS_LOAD_IDS,        /* tenant, user, ids ({a,b,...}) -> as MS_LOAD */
        MS_ROWS,            /* see db.c */
        MS_ERASE_COUNT,     /* tenant, user -> memories, versions */
        MS_ERASE_MEMORIES,  /* tenant, user */
        MS_ERASE_HISTORY,   /* tenant, user */
        MS_ERASE_REQUESTS,  /* tenant, user */
        MS_ERASE_RECORD,    /* see db.c */
        MS_EXPORT_MEMORIES, /* see db.c */
        MS_EXPORT_HISTORY,  /* see db.c */
        MS_AS_OF,           /* see db.c */
        MS_EXPIRE,          /* limit, events -> tenant, user, id of each memory closed */
        MS_EXPIRE_CONTENT,  /* tenant, user, agent, run, hex hash, events -> the same */
        MS_OUTBOX_ADD,      /* see db.c */
        MS_OUTBOX_TAKE,     /* see db.c */
        MS_OUTBOX_DONE,     /* {seq,...} */
        MS_OUTBOX_LOCK,     /* -> t when this transaction may publish */
        MS_LINK_PUT,        /* see db.c */
        MS_LINK_CHECK,      /* see db.c */
        MS_UNLINK,          /* see db.c */
        MS_LINKED,          /* see db.c */
        MS_ERASE_LINKS,     /* tenant, user */
        MS_EXPORT_LINKS,    /* see db.c */
        MS_KEYWORD,         /* see db.c */
        MS__COUNT
};

extern const struct cairn_pg_stmt memory_sql[MS__COUNT];

/* The columns MEMORY_COLS selects, in order, for memory_from_row(). */
#define MEMORY_NCOLS 13

/* The memory in columns @p col .. col + MEMORY_NCOLS - 1 of @p row,
 * allocated from @p arena; NULL when the arena is full or the metadata
 * does not read back as a JSON object. */
Cairn__Memory__V1__Memory *memory_from_row(struct cairn_arena *arena, const PGresult *res, int row,
                                           int col);

/* @p v (n floats) as the hex of its little-endian float32 bytes, into
 * @p out (8 n + 1 bytes). */
void memory_vec_hex(const float *v, size_t n, char *out);
/* The history columns of MS_HISTORY and MS_EXPORT_HISTORY (memory id,
 * event, version, old and new content, old and new metadata, at, request
 * id) of @p row as an entry in @p arena; NULL when the arena is full. */
Cairn__Memory__V1__HistoryEntry *memory_history_from_row(struct cairn_arena *arena,
                                                         const PGresult *res, int row);

/* The link columns of MS_LINK_PUT and MS_EXPORT_LINKS (from, to, kind,
 * strength, created at) of @p row in @p arena; NULL when it is full. */
Cairn__Memory__V1__Link *memory_link_from_row(struct cairn_arena *arena, const PGresult *res,
                                              int row);

/* The reverse from the text of a bytea column (PostgreSQL's hex output,
 * "\x" first) or plain hex; false when it is not n floats. */
bool memory_vec_unhex(const char *text, float *v, size_t n);

/* Unix milliseconds as a Timestamp in @p arena (NULL when full). */
Google__Protobuf__Timestamp *memory_ts(struct cairn_arena *arena, int64_t unix_ms);
/* A Timestamp as unix milliseconds (rounded down). */
int64_t memory_ts_ms(const Google__Protobuf__Timestamp *ts);

/* The JSON object text @p json as a Struct in @p arena; NULL when it is
 * not one or the arena is full. */
Google__Protobuf__Struct *memory_struct_from_json(struct cairn_arena *arena, const char *json);

/* The Struct as JSON text for a jsonb parameter: malloc'ed, "{}" for NULL;
 * NULL when it has no JSON form. */
char *memory_struct_json(const Google__Protobuf__Struct *s);

#endif

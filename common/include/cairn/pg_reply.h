/* The reply of a write request kept by its ce_id in the same transaction as
 * the write, so a redelivered request gets the first reply and changes
 * nothing (docs/topics.md, delivery). Each service keeps them in a table of
 * its own and names its statements; these do the rest. */
#ifndef CAIRN_PG_REPLY_H
#define CAIRN_PG_REPLY_H

#include <protobuf-c/protobuf-c.h>

#include "cairn/arena.h"
#include "cairn/pg.h"

/* The reply an earlier delivery kept: runs @p get with @p params (the
 * lookup, e.g. tenant and ce_id), whose one column is the packed reply
 * (bytea), and unpacks it as @p desc into @p arena. CAIRN_OK with *@p reply
 * set; CAIRN_ERR_NOT_FOUND when there is none; else the error, with
 * @p errstr. */
cairn_err_t cairn_pg_reply_find(struct cairn_pg *pg, int64_t deadline_us,
                                const struct cairn_pg_stmt *get, const char *const *params,
                                int nparams, const ProtobufCMessageDescriptor *desc,
                                struct cairn_arena *arena, ProtobufCMessage **reply, char *errstr,
                                size_t errstr_size);

/* In the write's transaction: runs @p put with @p params and, after them,
 * @p reply packed as bytea (the last parameter). At most 7 @p params. */
cairn_err_t cairn_pg_reply_keep(struct cairn_pg_conn *conn, const struct cairn_pg_stmt *put,
                                const char *const *params, int nparams,
                                const ProtobufCMessage *reply, char *errstr, size_t errstr_size);

#endif

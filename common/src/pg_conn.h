/* Connections of the PostgreSQL pool taken out by hand, for work that needs
 * one session throughout (the migration runner holds an advisory lock
 * across several transactions). Private to libcairn: services use
 * cairn_pg_exec() and cairn_pg_tx(). */
#ifndef CAIRN_PG_CONN_H
#define CAIRN_PG_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/pg.h"

/* Lends out a connection (connecting if none is idle), waiting for one
 * until @p deadline_us (0: pg.statement_timeout_ms). Statements on it are
 * bounded by @p deadline_us. Give it back with cairn_pg_conn_release(). No
 * breaker or bulkhead: the caller decides. */
cairn_err_t cairn_pg_conn_acquire(struct cairn_pg *pg, int64_t deadline_us,
                                  struct cairn_pg_conn **conn, char *errstr, size_t errstr_size);

/* Returns @p conn to the pool, or closes it when it is broken, still in a
 * transaction, or was dedicated. */
void cairn_pg_conn_release(struct cairn_pg_conn *conn);

/* From now until it is released, statements on @p conn run without a
 * statement_timeout (a migration may build an index for an hour), and the
 * connection is closed instead of pooled when released, so settings a
 * migration left in its session reach no other caller. */
void cairn_pg_conn_dedicate(struct cairn_pg_conn *conn);

/* Runs @p sql, which may hold several statements and no parameters, with
 * the simple query protocol (for migrations); the first error wins.
 * @p what names it in @p errstr. */
cairn_err_t cairn_pg_conn_script(struct cairn_pg_conn *conn, const char *sql, const char *what,
                                 char *errstr, size_t errstr_size);

/* BEGIN (at @p iso) and COMMIT on @p conn; cairn_pg_conn_rollback() ends a
 * transaction that is open or failed, and breaks the connection (it is
 * closed when released) when even that does not work. */
cairn_err_t cairn_pg_conn_begin(struct cairn_pg_conn *conn, enum cairn_pg_isolation iso,
                                char *errstr, size_t errstr_size);
cairn_err_t cairn_pg_conn_commit(struct cairn_pg_conn *conn, char *errstr, size_t errstr_size);
void cairn_pg_conn_rollback(struct cairn_pg_conn *conn);

#endif

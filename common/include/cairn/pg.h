/* PostgreSQL through libpq: a small pool of connections to one database,
 * with bounded connects, a statement_timeout derived from each call's
 * deadline, prepared statements declared in static tables and prepared on
 * each connection when first used, a transaction helper that retries
 * serialization failures and deadlocks, SQLSTATE turned into cairn_err_t in
 * one place, a readiness check, and the "pg" dependency's breaker and
 * bulkhead around every call (resilience.h).
 *
 * Deadlines are absolute, on the monotonic clock, in microseconds
 * (cairn_mono_us() + budget); 0 means none, and then pg.statement_timeout_ms
 * bounds each statement. A call whose deadline has passed returns
 * CAIRN_ERR_DEADLINE without reaching the server.
 *
 * Every function may be called from any thread; one connection lent out
 * (struct cairn_pg_conn) is used by one thread at a time. The pool's lock is
 * held only to take or return a connection, never across I/O.
 *
 * Errors (cairn_pg_err_from_sqlstate() has the full table):
 *   CAIRN_ERR_UNAVAILABLE   the server cannot be reached, the connection was
 *                           lost, or the breaker is open; the statement may or
 *                           may not have run, so it is not retried here
 *   CAIRN_ERR_DEADLINE      the deadline passed, before the call or as its
 *                           statement_timeout (SQLSTATE 57014)
 *   CAIRN_ERR_CONFLICT      unique violation (23505)
 *   CAIRN_ERR_ABORTED       serialization failure or deadlock (40001, 40P01);
 *                           cairn_pg_tx() retries these
 *   CAIRN_ERR_INVALID, CAIRN_ERR_PRECONDITION   bad values, broken constraints
 *   CAIRN_ERR_EXHAUSTED     the server is out of a resource (class 53), or
 *                           every pooled connection stayed busy without a
 *                           deadline to wait for (see cairn_pg_exec())
 *   CAIRN_ERR_INTERNAL      everything else: usually a bug in the SQL */
#ifndef CAIRN_PG_H
#define CAIRN_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/conf.h"
#include "cairn/err.h"

struct cairn_metrics;
struct cairn_resilience_conf;

/* Settings, loaded through cairn_pg_conf_items (section "pg"). */
struct cairn_pg_conf {
        const char *url;     /* secret (may hold a password); libpq URI or key=value string */
        long long pool_size; /* connections kept open at most */
        long long connect_timeout_ms;
        long long statement_timeout_ms; /* statement_timeout of calls without a deadline */
        long long retry_interval_ms;    /* after a failed connect, no new one before this */
        long long startup_wait_ms;      /* a service's start waits this long for the server */
        /* Not in the table: the settings of the dependency around the pool
         * (breaker, bulkhead), borrowed; NULL uses the defaults of
         * resilience.pg.* (cairn_resilience_conf_init(rc, "pg")). */
        const struct cairn_resilience_conf *resilience;
};

extern const struct cairn_conf_item cairn_pg_conf_items[];

/* A statement, declared once in a static table and referred to by pointer:
 *
 *   static const struct cairn_pg_stmt memory_stmts[] = {
 *           { "memory_insert", "INSERT INTO memory (id, body) VALUES ($1, $2)" },
 *           { "memory_get",    "SELECT body FROM memory WHERE id = $1" },
 *   };
 *
 * @p name is the name it is prepared under, unique in the process; names
 * starting with "cairn_" are libcairn's own. @p sql has $1..$n placeholders
 * and holds exactly one statement. Both must outlive the pool.
 *
 * With @p plan_each the statement is not prepared but planned at each call
 * for the values given: for a statement whose best plan depends on them,
 * as when one user has a thousand times the rows of the average (a plan
 * cached for the average user reads all of that one's rows). Planning costs
 * a fraction of a millisecond each time. */
struct cairn_pg_stmt {
        const char *name;
        const char *sql;
        bool plan_each;
};

struct cairn_pg;
struct cairn_pg_conn; /* one connection lent out, e.g. to a transaction's function */

/* Creates the pool for @p pconf (borrowed: it must outlive the pool);
 * connects lazily, so a server that is down at start is no error. Returns
 * NULL with @p errstr set when pg.url is empty or is not a connection
 * string libpq can parse. @p metrics may be NULL; else it must outlive the
 * pool. */
struct cairn_pg *cairn_pg_new(const struct cairn_pg_conf *pconf, struct cairn_metrics *metrics,
                              char *errstr, size_t errstr_size);

/* Closes every connection. Every connection lent out must have come back
 * (no call or transaction may be running). NULL is allowed. */
void cairn_pg_free(struct cairn_pg *pg);

/* Runs @p stmt with @p nparams text parameters (@p params[i] NULL for SQL
 * NULL; all borrowed for the call) on a pooled connection, preparing it on
 * that connection first if needed. On CAIRN_OK, @p *res is the result
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK), which the caller frees with
 * PQclear(). Otherwise @p *res is NULL and @p errstr says why, naming the
 * statement (and the constraint, for constraint errors).
 *
 * When every connection is busy the call waits for one until
 * @p deadline_us (CAIRN_ERR_DEADLINE after it) or, without a deadline, for
 * pg.statement_timeout_ms (then CAIRN_ERR_EXHAUSTED).
 * @locality any thread; blocks for at most the time to the deadline (or
 * statement timeout) plus pg.connect_timeout_ms. */
cairn_err_t cairn_pg_exec(struct cairn_pg *pg, int64_t deadline_us,
                          const struct cairn_pg_stmt *stmt, const char *const *params, int nparams,
                          PGresult **res, char *errstr, size_t errstr_size);

/* The same on a connection already lent out (a transaction's): bounded by
 * that transaction's deadline. @p res may be NULL for a statement whose
 * result is not read (it is cleared here). */
cairn_err_t cairn_pg_conn_exec(struct cairn_pg_conn *conn, const struct cairn_pg_stmt *stmt,
                               const char *const *params, int nparams, PGresult **res, char *errstr,
                               size_t errstr_size);

/* The body of a transaction: runs its statements with cairn_pg_conn_exec()
 * on @p conn (borrowed for the call) and returns CAIRN_OK to commit, or the
 * error of a failed statement (or its own) to roll back, with a message in
 * @p errstr. It may run more than once (after a serialization failure or a
 * deadlock), so it must not act outside the database, and it must reset
 * whatever it collects into @p opaque when it starts. Runs on the thread
 * that called cairn_pg_tx(). */
typedef cairn_err_t (*cairn_pg_tx_fn)(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                                      size_t errstr_size);

enum cairn_pg_isolation {
        CAIRN_PG_READ_COMMITTED = 0, /* the server's default */
        CAIRN_PG_REPEATABLE_READ,
        CAIRN_PG_SERIALIZABLE,
};

/* BEGIN, @p fn, COMMIT on one pooled connection. Any error rolls back.
 * CAIRN_ERR_ABORTED (serialization failure 40001, deadlock 40P01, whether
 * from a statement or from COMMIT) runs the whole transaction again after a
 * full-jitter backoff, while @p deadline_us leaves room (at most 10
 * attempts); each retry counts in cairn_retries_total{dependency="pg"}.
 * Returns CAIRN_OK once committed, else the last error with @p errstr.
 * cairn_pg_tx() uses READ COMMITTED. @locality any thread. */
cairn_err_t cairn_pg_tx(struct cairn_pg *pg, int64_t deadline_us, cairn_pg_tx_fn fn, void *opaque,
                        char *errstr, size_t errstr_size);
cairn_err_t cairn_pg_tx_isolation(struct cairn_pg *pg, int64_t deadline_us,
                                  enum cairn_pg_isolation iso, cairn_pg_tx_fn fn, void *opaque,
                                  char *errstr, size_t errstr_size);

/* Readiness: SELECT 1 answered within a second. Usable as a cairn_ready_fn
 * (cairn_admin_add_check(admin, "postgres", cairn_pg_ready, pg)); allowed
 * one real attempt even while the pool is in its retry interval. */
bool cairn_pg_ready(void *pg, char *why, size_t why_size);

/* True when the last connect failed and the retry interval has not passed
 * yet: calls fail at once with CAIRN_ERR_UNAVAILABLE. */
bool cairn_pg_down(struct cairn_pg *pg);

/* The statement_timeout in ms for a call made at @p now_us for a deadline
 * @p deadline_us (both monotonic µs; deadline 0: none): @p cap_ms without a
 * deadline; else the time left, rounded down to two significant digits
 * (4870 ms → 4800 ms) so that calls with about the same budget share one
 * setting and skip the round trip a change costs. 0 when less than 1 ms is
 * left: the call must not be made. */
int64_t cairn_pg_statement_timeout_ms(int64_t deadline_us, int64_t now_us, int64_t cap_ms);

/* ---- SQLSTATE (pg_err.c) ---- */

/* The cairn_err_t of a failed statement with SQLSTATE @p sqlstate (five
 * characters; NULL or empty when libpq reported the failure itself, which
 * is about the connection). @p connection_lost (PQstatus() is
 * CONNECTION_BAD) makes it CAIRN_ERR_UNAVAILABLE whatever the code. */
cairn_err_t cairn_pg_err_from_sqlstate(const char *sqlstate, bool connection_lost);

/* The label of cairn_pg_errors_total{class}: the SQLSTATE's class (its
 * first two characters, "23") or "connection" when the connection was lost
 * or there is no SQLSTATE. Written into @p out (at least 11 bytes). */
void cairn_pg_err_class(const char *sqlstate, bool connection_lost, char *out, size_t size);

/* @p n bytes as a bytea parameter ("\x" and lower-case hex): malloc'ed,
 * NULL when out of memory. */
char *cairn_pg_bytea_encode(const uint8_t *bytes, size_t n);

/* A PostgreSQL array literal built in @p b (cairn/buf.h), for passing a
 * column of many rows as one parameter (unnest($1::text[])): begin, add each
 * element as text (quoted and escaped here; a bytea as its "\x..." text),
 * end. */
struct cairn_buf;
void cairn_pg_array_begin(struct cairn_buf *b);
void cairn_pg_array_add(struct cairn_buf *b, const char *elem);
void cairn_pg_array_end(struct cairn_buf *b);

/* The bytes of a bytea column's text ("\x..." or bare hex) into malloc'ed
 * *@p out; false when malformed or out of memory. */
bool cairn_pg_bytea_decode(const char *text, uint8_t **out, size_t *lenp);

#endif

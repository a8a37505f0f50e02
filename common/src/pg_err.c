/* The one place where PostgreSQL's SQLSTATE codes become cairn_err_t.
 *
 * Codes are five characters: a two-character class and a subclass
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html). The
 * choices, class by class:
 *
 *   08 connection exception, 57P01 admin_shutdown, 57P02 crash_shutdown,
 *   57P03 cannot_connect_now, 57P05 idle_session_timeout, and any failure
 *   after which the connection is gone (no SQLSTATE: libpq's own report)
 *        → UNAVAILABLE: the server went away or is not ready; try later.
 *        08P01 protocol_violation is the exception: the server answered, and
 *        what it refused was our own request (a wrong parameter count), so
 *        it is INTERNAL and does not count against the server's health.
 *   57014 query_canceled → DEADLINE: only statement_timeout cancels our
 *        statements (the pool never sends a cancel request).
 *   40001 serialization_failure, 40P01 deadlock_detected → ABORTED: the
 *        transaction lost a race and may simply run again (cairn_pg_tx()).
 *   23505 unique_violation → CONFLICT (ALREADY_EXISTS); 23P01
 *        exclusion_violation, the same thing for exclusion constraints, too.
 *   22 data exception (a value that does not fit its type or format),
 *   23502 not_null_violation, 23514 check_violation → INVALID: the values
 *        the caller sent are wrong in themselves, whatever the database holds.
 *   23503 foreign_key_violation, 23001 restrict_violation → PRECONDITION:
 *        the values may be fine, but the rows they refer to (or that refer to
 *        them) are not in the state the operation needs; the same request
 *        can succeed once the database changed.
 *   53 insufficient resources (disk full, out of memory, too many
 *        connections) → EXHAUSTED.
 *   everything else (42 syntax or undefined objects, XX internal, ...)
 *        → INTERNAL: a bug, in our SQL or in the server. */
#include <stdio.h>
#include <string.h>

#include "cairn/pg.h"

static bool is(const char *sqlstate, const char *code)
{
        return strcmp(sqlstate, code) == 0;
}

static bool in_class(const char *sqlstate, const char *cls)
{
        return sqlstate[0] == cls[0] && sqlstate[1] == cls[1];
}

cairn_err_t cairn_pg_err_from_sqlstate(const char *sqlstate, bool connection_lost)
{
        if (connection_lost || !sqlstate || strlen(sqlstate) != 5)
                return CAIRN_ERR_UNAVAILABLE;
        if (is(sqlstate, "08P01"))
                return CAIRN_ERR_INTERNAL;
        if (in_class(sqlstate, "08") || is(sqlstate, "57P01") || is(sqlstate, "57P02") ||
            is(sqlstate, "57P03") || is(sqlstate, "57P05"))
                return CAIRN_ERR_UNAVAILABLE;
        if (is(sqlstate, "57014"))
                return CAIRN_ERR_DEADLINE;
        if (is(sqlstate, "40001") || is(sqlstate, "40P01"))
                return CAIRN_ERR_ABORTED;
        if (is(sqlstate, "23505") || is(sqlstate, "23P01"))
                return CAIRN_ERR_CONFLICT;
        if (in_class(sqlstate, "22") || is(sqlstate, "23502") || is(sqlstate, "23514"))
                return CAIRN_ERR_INVALID;
        if (is(sqlstate, "23503") || is(sqlstate, "23001"))
                return CAIRN_ERR_PRECONDITION;
        if (in_class(sqlstate, "53"))
                return CAIRN_ERR_EXHAUSTED;
        return CAIRN_ERR_INTERNAL;
}

void cairn_pg_err_class(const char *sqlstate, bool connection_lost, char *out, size_t size)
{
        if (connection_lost || !sqlstate || strlen(sqlstate) != 5)
                snprintf(out, size, "connection");
        else
                snprintf(out, size, "%.2s", sqlstate);
}

/* The audit log: every request, allowed or not, appended to
 * secrets_audit under the hash chain (audit_chain.h) and published to
 * secrets.audit_topic (cairn.audit.v1). Writes append inside their own
 * transaction, so a change and its audit row commit together; the rest
 * (reads, lists, refusals) go through one appender thread that commits
 * many rows at once (group commit) while each request waits for its own,
 * never longer than secrets.audit_timeout_ms: a blocked audit table never
 * hangs the service. What a failure means (refuse the request, or go on
 * and count it) is the caller's choice, by secrets.audit_failure. */
#ifndef SECRETS_AUDIT_H
#define SECRETS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"
#include "cairn/err.h"
#include "cairn/events.h"
#include "cairn/pg.h"
#include "secrets.h"

struct secrets_audit;

/* Starts the appender and, with @p events, the publisher. */
struct secrets_audit *secrets_audit_start(struct cairn_pg *pg, const struct secrets_conf *conf,
                                          struct cairn_events *events,
                                          struct cairn_metrics *metrics);
void secrets_audit_stop(struct secrets_audit *a);

/* Rows' seq and at_us are set when appended; their strings are copied. */

/* Appends @p row through the appender and waits until it is committed, at
 * most secrets.audit_timeout_ms. CAIRN_OK once it is durable; otherwise
 * CAIRN_ERR_UNAVAILABLE with the reason in @p why (the row may still be
 * appended later). */
cairn_err_t secrets_audit_record(struct secrets_audit *a, const struct secrets_audit_row *row,
                                 char *why, size_t why_size);

/* Appends @p row in the caller's transaction on @p conn (bounded by
 * secrets.audit_timeout_ms of waiting for the chain's head). */
cairn_err_t secrets_audit_append_tx(struct secrets_audit *a, struct cairn_pg_conn *conn,
                                    const struct secrets_audit_row *row, char *errstr,
                                    size_t errstr_size);

/* Counts a failure to audit (the alarm of secrets.audit_failure open). */
void secrets_audit_failed(struct secrets_audit *a);

/* Tells the publisher rows wait (after a transaction appended some). */
void secrets_audit_wake(struct secrets_audit *a);

/* What secrets_audit_verify() found. */
struct secrets_audit_verdict {
        uint64_t rows;
        bool ok;
        uint64_t first_broken_seq;
        char reason[256];
};

/* Walks the chain from its first row to the head (audit_verify.c). */
cairn_err_t secrets_audit_verify(struct cairn_pg *pg, int64_t deadline_us,
                                 struct secrets_audit_verdict *v, char *errstr, size_t errstr_size);

#endif

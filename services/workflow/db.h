/* The workflow service's SQL statements (db.c). Times go in as unix
 * milliseconds and come out as them. */
#ifndef WORKFLOW_DB_H
#define WORKFLOW_DB_H

#include "cairn/pg.h"

enum wf_stmt {
        WQ_DEF_GET,      /* $1 type, $2 version (0: latest) */
        WQ_DEF_LOCK,     /* $1 type: one registration of a type at a time */
        WQ_DEF_LATEST,   /* $1 type: latest version's packed definition, for equality */
        WQ_DEF_INSERT,   /* $1 type, $2 description, $3 definition, $4 builtin */
        WQ_DEF_LIST,     /* $1 after type, $2 limit */
        WQ_RUN_LOCK,     /* $1 run_id */
        WQ_RUN_SAVE,     /* $1 run_id, $2 status, $3 closed_ms, $4 wake_ms, $5 state */
        WQ_RUN_INSERT,   /* run_id .. state */
        WQ_ID_LOCK,      /* $1 tenant, $2 workflow_id: one start per id at a time */
        WQ_RUN_BY_START, /* $1 tenant, $2 start_request */
        WQ_RUN_LATEST,   /* $1 tenant, $2 workflow_id: the latest run, locked */
        WQ_RUN_GET,      /* $1 tenant, $2 workflow_id, $3 run_id ('' latest) */
        WQ_RUN_LIST,     /* tenant, type, status, after, before, cursor ms and id, limit */
        WQ_HISTORY_ADD,  /* $1 run_id, $2 seq[], $3 event[] */
        WQ_HISTORY_PAGE, /* $1 run_id, $2 after seq, $3 limit */
        WQ_SIGNALS_OPEN, /* $1 run_id: buffered signals, oldest first */
        WQ_SIGNALS_TAKE, /* $1 run_id, $2 seq[], $3 step[] */
        WQ_SIGNAL_ADD,   /* $1 run_id, $2 name, $3 payload, $4 request_id */
        WQ_OUTBOX_ADD,  /* arrays: topic, key, ce_id, ce_type, payload, deadline, principal, role */
        WQ_OUTBOX_TAKE, /* $1 limit: oldest rows, locked, skipping locked ones */
        WQ_OUTBOX_DELETE, /* $1 seq[] */
        WQ_DUE,           /* $1 limit: runs due */
        WQ_RUN_LOCK_DUE,  /* $1 run_id: locked if still due and not locked elsewhere */
        WQ_GAUGES,        /* running runs, due runs, outbox rows */
        WQ__COUNT
};

extern const struct cairn_pg_stmt wf_sql[WQ__COUNT];

#endif

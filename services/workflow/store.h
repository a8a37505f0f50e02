/* Runs in PostgreSQL: one transaction per change to a run (store.c). */
#ifndef WORKFLOW_STORE_H
#define WORKFLOW_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "cairn/pg.h"
#include "engine.h"
#include "workflow.h"

/* Who a run's calls are made for, and where its events go. */
struct wf_store_who {
        const char *principal, *role;
        const char *start_request; /* insert only */
        const char *events_topic;
};

#define WF_SUMMARY_STEPS 32

/* What a committed change did, for the metrics. */
struct wf_run_summary {
        char type[130];
        wf_run_status status;
        bool started, closed;
        unsigned completed, failed, retried;
        double seconds[WF_SUMMARY_STEPS]; /* steps closed: first dispatch to end */
        size_t nseconds;
};

void wf_run_summarize(struct wf_run_summary *s, const struct wf_tick *t);

/* Counts a committed change in the service's metrics (main.c). */
void wf_metrics_observe(struct wf_service *svc, const struct wf_run_summary *s);

/* Writes @p t's run (inserted when @p insert), history, signals taken and
 * outbox rows on @p conn, inside the caller's transaction. */
cairn_err_t wf_tick_save(struct cairn_pg_conn *conn, const struct wf_tick *t,
                         const struct wf_store_who *who, bool insert, char *errstr,
                         size_t errstr_size);

/* A run from a row shaped as wf_sql[WQ_RUN_LOCK]'s. -1 when damaged. */
int wf_run_from_row(struct wf_run *run, const PGresult *res, int row);

/* What one change to a run did. */
struct wf_change {
        struct cairn_status st; /* the fn's own refusal */
        bool skipped;           /* due_only: not due, or locked elsewhere */
        bool published;         /* rows were written for the outbox */
        struct wf_run_summary summary;
};

/* The body of a change inside the caller's transaction on @p conn: lock
 * run @p run_id, load it, @p fn, save (wf_run_update() is this in a
 * transaction of its own). */
cairn_err_t wf_run_change(struct cairn_pg_conn *conn, struct wf_service *svc, const char *run_id,
                          bool due_only, wf_run_fn fn, void *fn_opaque, struct wf_change *u,
                          char *errstr, size_t errstr_size);

/* wf_run_update() with the scheduler's options: @p due_only skips a run
 * that is not due or is locked by another thread or replica (*@p skipped). */
cairn_err_t wf_run_tx(struct wf_service *svc, const char *run_id, bool due_only, wf_run_fn fn,
                      void *opaque, bool *skipped, struct wf_run_summary *summary,
                      struct cairn_status *st);

#endif

/* A run as the engine holds it while it changes it: the C form of
 * cairn.workflow.v1.Run, and its conversion to and from the proto3 JSON
 * form kept in workflow_runs.state. */
#ifndef WORKFLOW_RUN_H
#define WORKFLOW_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/workflow/v1/workflow.pb-c.h"

typedef Cairn__Workflow__V1__RunStatus wf_run_status;
typedef Cairn__Workflow__V1__StepStatus wf_step_status;

#define WF_RUNNING    CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_RUNNING
#define WF_COMPLETED  CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_COMPLETED
#define WF_FAILED     CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_FAILED
#define WF_CANCELLED  CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_CANCELLED
#define WF_TERMINATED CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_TERMINATED
#define WF_TIMED_OUT  CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_TIMED_OUT

#define WS_PENDING   CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_PENDING
#define WS_RUNNING   CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_RUNNING
#define WS_BACKOFF   CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_BACKOFF
#define WS_SLEEPING  CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_SLEEPING
#define WS_WAITING   CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_WAITING
#define WS_COMPLETED CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_COMPLETED
#define WS_FAILED    CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_FAILED
#define WS_SKIPPED   CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_SKIPPED
#define WS_CANCELLED CAIRN__WORKFLOW__V1__STEP_STATUS__STEP_STATUS_CANCELLED

/* One step of a run: a step of the definition, an element of a fan-out
 * ("id[3]") or a compensation ("id.compensate"). */
struct wf_step_state {
        char *id;
        wf_step_status status;
        uint32_t attempt;
        int64_t started_ms; /* first attempt (schedule-to-close counts from here); 0: not yet */
        int64_t closed_ms;
        int64_t due_ms; /* timeout, retry, timer or signal deadline; 0: none */
        json_t *output; /* owned; NULL: none */
        cairn_err_t err;
        char *error; /* the last failure's message, or NULL */
};

struct wf_run {
        char *workflow_id, *run_id, *type, *tenant;
        uint32_t version;
        wf_run_status status;
        json_t *input;  /* owned object */
        json_t *output; /* owned; when COMPLETED */
        cairn_err_t err;
        char *error; /* why it failed, timed out, was cancelled or terminated */
        int64_t started_ms, closed_ms;
        int64_t deadline_ms; /* the run timeout; 0: none */
        bool cancel_requested;
        uint32_t history_length;
        struct wf_step_state *steps;
        size_t nsteps, cap;
};

/* The step @p id of @p run, or NULL. */
struct wf_step_state *wf_run_step(struct wf_run *run, const char *id);

/* Appends a PENDING step @p id (copied) and returns it. */
struct wf_step_state *wf_run_step_add(struct wf_run *run, const char *id);

/* Sets a step's or the run's error (message copied). */
void wf_step_fail_msg(struct wf_step_state *s, cairn_err_t err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void wf_run_fail_msg(struct wf_run *run, cairn_err_t err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The proto3 JSON form of cairn.workflow.v1.Run (lowerCamelCase names, as
 * cairn_pbjson renders it), steps included. A new reference. */
json_t *wf_run_to_json(const struct wf_run *run);

/* Fills @p run (zeroed by the caller) from that form. -1 when it is not a
 * run's state (a damaged row), with @p run freed and zeroed again. */
int wf_run_from_json(struct wf_run *run, const json_t *state);

void wf_run_free(struct wf_run *run);

/* "RUNNING" ... as stored in workflow_runs.status; and back (0: unknown). */
const char *wf_run_status_name(wf_run_status s);
wf_run_status wf_run_status_parse(const char *name);

bool wf_step_finished(wf_step_status s); /* COMPLETED, FAILED, SKIPPED or CANCELLED */

#endif

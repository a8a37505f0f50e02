/* The workflow engine: what a run does next, as a pure function of its
 * definition, its state, the time and what just happened (a reply, a
 * signal, a cancel). It changes the run in memory and lists what must be
 * written in the same transaction: history events, dispatches to other
 * services, signals taken. No I/O here: store.c loads and saves, the unit
 * tests drive it with a clock of their own. */
#ifndef WORKFLOW_ENGINE_H
#define WORKFLOW_ENGINE_H

#include <jansson.h>
#include <stdint.h>

#include "definition.h"
#include "run.h"

struct wf_engine_env {
        const struct wf_def_env *defs; /* the services steps call */
        int64_t default_start_to_close_ms;
        uint32_t max_history;      /* events per run; past it the run fails */
        size_t max_payload_bytes;  /* a step's output, a signal's payload, the input */
        uint32_t max_fan_out;      /* elements of one fan-out */
        uint32_t fan_out_parallel; /* a fan-out's default max_parallel */
};

/* A signal buffered for the run, oldest first. */
struct wf_signal {
        int64_t seq;
        const char *name;
        const json_t *payload; /* borrowed */
        const char *taken_by;  /* set by the engine: the step that took it */
};

struct wf_event_out {
        Cairn__Workflow__V1__EventType type;
        uint32_t seq;
        int64_t time_ms;
        char *step; /* or NULL */
        uint32_t attempt;
        json_t *detail; /* owned, or NULL */
        cairn_err_t err;
        char *error;
};

/* A request for another service, to publish once the change commits. */
struct wf_dispatch {
        const char *topic; /* borrowed from the environment */
        char *key;
        char *ce_id; /* "<run_id>/<step>/<attempt>" */
        const char *ce_type;
        uint8_t *payload;
        size_t len;
        int64_t deadline_ms; /* the attempt's timeout */
};

struct wf_tick {
        /* in */
        const struct wf_engine_env *env;
        const wf_definition *def;
        const struct wf_graph *graph;
        struct wf_run *run;
        int64_t now_ms;
        struct wf_signal *signals;
        size_t nsignals;
        /* out */
        struct wf_event_out *events;
        size_t nevents, events_cap;
        struct wf_dispatch *dispatches;
        size_t ndispatches, dispatches_cap;
        int64_t wake_ms; /* when to look again; 0: only on a reply or a signal */
        bool changed;
};

/* A new run's first moves: RUN_STARTED, then what can start at once. */
void wf_engine_start(struct wf_tick *t);

/* The reply to @p ce_id ("<run_id>/<step>/<attempt>"): @p output (borrowed;
 * the reply in JSON form) when @p err is CAIRN_OK, else the failure. A reply
 * to an attempt no longer waited for changes nothing. */
void wf_engine_reply(struct wf_tick *t, const char *step, uint32_t attempt, cairn_err_t err,
                     const char *message, const json_t *output);

/* Signals, timers and retries due: whatever can move, moves. */
void wf_engine_advance(struct wf_tick *t);

/* Cancel: nothing new starts, what is in flight finishes, then the
 * compensations of completed steps run, newest first. */
void wf_engine_cancel(struct wf_tick *t, const char *reason);

/* Terminate: closed at once, nothing more runs. */
void wf_engine_terminate(struct wf_tick *t, const char *reason);

/* Splits a dispatch's ce_id into its step (into @p step) and attempt. -1
 * when it is not one of ours. @p run_id gets the run's id. */
int wf_ce_id_parse(const char *ce_id, char *run_id, size_t run_id_size, char *step,
                   size_t step_size, uint32_t *attempt);

void wf_tick_free(struct wf_tick *t);

#endif

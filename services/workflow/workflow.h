/* The workflow service: its configuration, the state its handlers share,
 * and the pieces around the engine (definitions, runs in PostgreSQL, the
 * outbox, the reply consumer, the scheduler). docs/workflow.md. */
#ifndef WORKFLOW_WORKFLOW_H
#define WORKFLOW_WORKFLOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "definition.h"
#include "engine.h"

#define WF_TARGETS 5 /* embedding, memory, speech, translation, secrets */

/* The deadline of the service's own statements: none, so they run under
 * pg.statement_timeout_ms, which a connection keeps set; a deadline of
 * their own would cost a set_config round trip before each statement. */
#define WF_PG_DEADLINE 0

struct wf_conf {
        const char *events_topic;
        const char *embedding_topic, *memory_topic, *speech_topic, *translation_topic,
                *secrets_topic;
        long long default_start_to_close_ms;
        long long default_run_timeout_ms;
        long long max_history_events;
        long long max_payload_bytes;
        long long max_steps;
        long long max_fan_out;
        long long fan_out_parallel;
        long long max_timer_ms;
        long long poll_ms;
        long long scheduler_threads;
        bool builtin;
};

struct cairn_conf_section wf_conf_section(struct wf_conf *conf);

struct wf_defcache;
struct wf_outbox;

struct wf_metrics {
        struct cairn_metric *runs_started; /* {type} */
        struct cairn_metric *runs_closed;  /* {type, status} */
        struct cairn_metric *steps;        /* {type, outcome}: attempts ended */
        struct cairn_metric *step_seconds; /* {type}: a step's time, first dispatch to its end */
        struct cairn_metric *timers_fired;
        struct cairn_metric *timer_late; /* seconds after due */
        struct cairn_metric *replies;    /* {outcome} */
        struct cairn_metric *published;  /* {outcome}: the outbox */
        struct cairn_series *running, *due, *outbox;
};

void wf_metrics_init(struct wf_metrics *m, struct cairn_metrics *reg);

struct wf_service {
        const struct wf_conf *conf;
        struct cairn_pg *pg;
        struct wf_target targets[WF_TARGETS];
        struct wf_def_env defs;
        struct wf_engine_env env;
        const char *reply_topic;
        struct wf_defcache *cache;
        struct wf_outbox *outbox;
        struct wf_metrics m;
};

/* ---- definitions (defs.c) ---- */

/* A registered definition, unpacked, with its graph; shared, never freed
 * before the service ends (versions are immutable). */
struct wf_def {
        char *type;
        uint32_t version;
        bool builtin;
        int64_t created_ms;
        wf_definition *def;
        struct wf_graph graph;
};

struct wf_defcache *wf_defcache_new(void);
void wf_defcache_free(struct wf_defcache *c);

/* Version @p version (0: the latest) of @p type, from the cache or
 * PostgreSQL: on @p conn, the caller's, inside a transaction (a second
 * connection from the pool could wait for ever on a pool the callers'
 * transactions hold), else (NULL) on one of the pool. NOT_FOUND, or
 * UNAVAILABLE with @p st set. */
cairn_err_t wf_def_get(struct wf_service *svc, struct cairn_pg_conn *conn, const char *type,
                       uint32_t version, const struct wf_def **out, struct cairn_status *st);

/* Registers @p def (checked here) as a new version unless it equals the
 * latest. */
cairn_err_t wf_def_register(struct wf_service *svc, const wf_definition *def, bool builtin,
                            const struct wf_def **out, bool *created, struct cairn_status *st);

/* The built-in workflows, registered at start (builtin.c). */
cairn_err_t wf_builtin_register(struct wf_service *svc, struct cairn_status *st);

/* ---- runs (store.c) ---- */

/* What a transaction on one run does to it, between loading and saving. */
typedef cairn_err_t (*wf_run_fn)(struct wf_tick *t, void *opaque, struct cairn_status *st);

/* Locks run @p run_id, loads it (with its buffered signals), lets @p fn
 * move it through the engine, saves state, history, signals taken and
 * outbox rows in the same transaction, then wakes the outbox. NOT_FOUND
 * when no such run. */
cairn_err_t wf_run_update(struct wf_service *svc, const char *run_id, wf_run_fn fn, void *opaque,
                          struct cairn_status *st);

/* ---- pieces running beside the handlers ---- */

struct wf_outbox *wf_outbox_start(struct wf_service *svc, const struct cairn_conf *conf,
                                  char *errstr, size_t errstr_size);
void wf_outbox_wake(struct wf_outbox *o);
void wf_outbox_stop(struct wf_outbox *o);

struct wf_scheduler;
struct wf_scheduler *wf_scheduler_start(struct wf_service *svc);
void wf_scheduler_stop(struct wf_scheduler *s);

/* The consumer of replies to the steps' calls (replies.c). */
struct wf_replies;
struct wf_replies *wf_replies_start(struct wf_service *svc, const struct cairn_bus_conf *bconf,
                                    const struct cairn_conf *conf, struct cairn_metrics *metrics,
                                    char *errstr, size_t errstr_size);
void wf_replies_stop(struct wf_replies *r);

/* ---- the request handlers (api_*.c) ---- */

extern const struct cairn_handler wf_handlers[];

#endif

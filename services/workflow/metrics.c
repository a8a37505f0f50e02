/* The workflow service's metrics (docs/observability.md): runs by type
 * and status, steps by outcome and duration, wakes and their lateness,
 * replies, the outbox and the backlog gauges. */
#include "store.h"
#include "workflow.h"

void wf_metrics_init(struct wf_metrics *m, struct cairn_metrics *reg)
{
        m->runs_started = cairn_metrics_counter(reg, "cairn_workflow_runs_started_total",
                                                "runs started, by workflow type",
                                                (const char *[]){ "type", NULL });
        m->runs_closed = cairn_metrics_counter(
                reg, "cairn_workflow_runs_closed_total",
                "runs ended, by workflow type and status (COMPLETED, FAILED, CANCELLED, "
                "TERMINATED, TIMED_OUT)",
                (const char *[]){ "type", "status", NULL });
        m->steps = cairn_metrics_counter(reg, "cairn_workflow_steps_total",
                                         "step attempts ended, by workflow type and outcome "
                                         "(completed, retried, failed)",
                                         (const char *[]){ "type", "outcome", NULL });
        m->step_seconds = cairn_metrics_histogram(
                reg, "cairn_workflow_step_duration_seconds",
                "a call step's time from its first dispatch to its end, retries included",
                (const char *[]){ "type", NULL }, cairn_metrics_latency_buckets,
                cairn_metrics_latency_nbuckets);
        m->timers_fired = cairn_metrics_counter(
                reg, "cairn_workflow_wakes_total",
                "runs moved because their time came (timers, retries, timeouts)", NULL);
        m->timer_late = cairn_metrics_histogram(
                reg, "cairn_workflow_wake_lateness_seconds",
                "how long after its due time a run's timer, retry or timeout was handled", NULL,
                cairn_metrics_latency_buckets, cairn_metrics_latency_nbuckets);
        m->replies = cairn_metrics_counter(reg, "cairn_workflow_replies_total",
                                           "replies to steps' calls, by outcome (recorded; "
                                           "unknown: no such run; invalid; failed: not recorded)",
                                           (const char *[]){ "outcome", NULL });
        m->published = cairn_metrics_counter(reg, "cairn_workflow_outbox_total",
                                             "outbox rounds: messages published, or failed rounds",
                                             (const char *[]){ "outcome", NULL });
        m->running = cairn_metric_series(cairn_metrics_gauge(reg, "cairn_workflow_runs_running",
                                                             "runs running", NULL),
                                         NULL);
        m->due = cairn_metric_series(cairn_metrics_gauge(reg, "cairn_workflow_runs_due",
                                                         "runs whose due time has passed and "
                                                         "that wait for the scheduler (backlog)",
                                                         NULL),
                                     NULL);
        m->outbox = cairn_metric_series(cairn_metrics_gauge(reg, "cairn_workflow_outbox_rows",
                                                            "messages written and not yet "
                                                            "published (backlog)",
                                                            NULL),
                                        NULL);
}

void wf_metrics_observe(struct wf_service *svc, const struct wf_run_summary *s)
{
        const char *type[] = { s->type, NULL };

        if (s->started)
                cairn_metric_inc_l(svc->m.runs_started, type);
        if (s->closed)
                cairn_metric_inc_l(svc->m.runs_closed,
                                   (const char *const[]){ s->type, wf_run_status_name(s->status),
                                                          NULL });
        if (s->completed)
                cairn_series_add(cairn_metric_series(svc->m.steps,
                                                     (const char *const[]){ s->type, "completed",
                                                                            NULL }),
                                 s->completed);
        if (s->failed)
                cairn_series_add(cairn_metric_series(svc->m.steps,
                                                     (const char *const[]){ s->type, "failed",
                                                                            NULL }),
                                 s->failed);
        if (s->retried)
                cairn_series_add(cairn_metric_series(svc->m.steps,
                                                     (const char *const[]){ s->type, "retried",
                                                                            NULL }),
                                 s->retried);
        for (size_t i = 0; i < s->nseconds; i++)
                cairn_metric_observe_l(svc->m.step_seconds, type, s->seconds[i]);
}

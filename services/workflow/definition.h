/* Workflow definitions: validation of a WorkflowDefinition at registration
 * and the step graph the engine walks (predecessors, successors, a
 * topological order), plus the retry policy's arithmetic. */
#ifndef WORKFLOW_DEFINITION_H
#define WORKFLOW_DEFINITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/status.h"
#include "cairn/workflow/v1/workflow.pb-c.h"

typedef Cairn__Workflow__V1__WorkflowDefinition wf_definition;
typedef Cairn__Workflow__V1__Step wf_step;
typedef Cairn__Workflow__V1__CallStep wf_call;
typedef Cairn__Workflow__V1__RetryPolicy wf_retry;

/* A service steps may call, and the topic its requests go to. */
struct wf_target {
        const char *service; /* "translation" */
        const char *topic;   /* "cairn.translation.v1.requests" */
};

/* What a definition is checked against. */
struct wf_def_env {
        const struct wf_target *targets; /* known services */
        size_t ntargets;
        size_t max_steps;
        int64_t max_duration_ms; /* longest timeout, timer or interval accepted */
};

/* Checks @p def entirely. CAIRN_OK, or CAIRN_ERR_INVALID with @p st naming
 * the field ("steps[2].call.type") and, in its message, the step's id. */
cairn_err_t wf_definition_check(const wf_definition *def, const struct wf_def_env *env,
                                struct cairn_status *st);

/* The target of @p service in @p env, or NULL. */
const struct wf_target *wf_target_find(const struct wf_def_env *env, const char *service);

/* The graph of a definition already checked. Indices are positions in
 * def->steps. */
struct wf_graph {
        const wf_definition *def; /* borrowed */
        size_t n;
        size_t **preds; /* preds[i]: the steps i runs after, npreds[i] of them */
        size_t *npreds;
        size_t **succs; /* succs[i]: the steps that run after i */
        size_t *nsuccs;
        size_t *order; /* a topological order of all n steps */
};

/* Builds @p g over @p def (borrowed, must outlive @p g). -1 on a cycle or an
 * unknown id (a definition not checked). */
int wf_graph_build(struct wf_graph *g, const wf_definition *def);
void wf_graph_free(struct wf_graph *g);

/* The index of step @p id, or -1. */
long wf_graph_find(const struct wf_graph *g, const char *id);

/* @p d in milliseconds, rounded up (a timeout of 1 ns is not none),
 * negative ones as 0, saturated at INT64_MAX; @p unset_ms when @p d is
 * NULL. */
int64_t wf_duration_ms(const Google__Protobuf__Duration *d, int64_t unset_ms);

/* Retry policy with Temporal's defaults filled in. */
struct wf_retry_rules {
        int64_t initial_ms;
        double coefficient;
        int64_t maximum_ms;
        uint32_t maximum_attempts; /* 0: unlimited */
        uint32_t non_retryable;    /* bit (1u << code) per cairn_err_t code */
};

void wf_retry_rules(const wf_retry *policy, struct wf_retry_rules *r);

/* After attempt @p attempt (1-based) failed with @p code: true when another
 * attempt is allowed, with its delay in *@p delay_ms. */
bool wf_retry_next(const struct wf_retry_rules *r, uint32_t attempt, cairn_err_t code,
                   int64_t *delay_ms);

#endif

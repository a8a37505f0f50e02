/* The workflow service as the integration tests call it (workflow_client.c):
 * its requests written in their proto3 JSON form and sent through a harness
 * bus client, the replies read back as JSON, and the reads the tests share
 * (a run until it closes, a step of it, its whole history). Every helper
 * but wfc_call() fails the test when the call fails. One test thread uses
 * it at a time. */
#ifndef CAIRN_TESTS_WORKFLOW_CLIENT_H
#define CAIRN_TESTS_WORKFLOW_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "cairn/status.h"
#include "cairn/workflow/v1/workflow.pb-c.h"
#include "harness.h"

/* A message descriptor of cairn.workflow.v1 by its C name:
 * WF(start_run_request). */
#define WF(name) &cairn__workflow__v1__##name##__descriptor

/* The client @p client (borrowed; started, with direct calls to @p topic)
 * calls @p topic as tenant @p tenant (both borrowed, kept until the next
 * wfc_init()). */
void wfc_init(struct harness_client *client, const char *topic, const char *tenant);
/* Later calls are made as @p tenant (borrowed). */
void wfc_tenant(const char *tenant);

/* Sends @p json as a @p desc with ce_id @p ce_id (NULL: a new one); the
 * reply as JSON (a new reference), or NULL with the error in @p st. */
json_t *wfc_call(const ProtobufCMessageDescriptor *desc,
                 const ProtobufCMessageDescriptor *reply_desc, const char *json, const char *ce_id,
                 struct cairn_status *st);
/* wfc_call() that must succeed. */
json_t *wfc_must(const ProtobufCMessageDescriptor *desc,
                 const ProtobufCMessageDescriptor *reply_desc, const char *json);

/* Registers the definition @p def (JSON). */
void wfc_register(const char *def);
/* Starts a run of @p type with workflow id @p workflow_id and input
 * @p input (a JSON object); its run id, malloc'ed. */
char *wfc_start(const char *type, const char *workflow_id, const char *input);

/* The latest run of @p workflow_id (a new reference). */
json_t *wfc_get_run(const char *workflow_id);
/* Waits until the latest run of @p workflow_id leaves RUNNING and returns
 * it; fails the test, showing the run, after @p timeout_ms. */
json_t *wfc_wait_closed(const char *workflow_id, int timeout_ms);
/* Waits until step @p step of the latest run of @p workflow_id has status
 * @p status ("STEP_STATUS_WAITING") and returns the run. */
json_t *wfc_wait_step(const char *workflow_id, const char *step, const char *status,
                      int timeout_ms);

/* The run's status ("RUN_STATUS_COMPLETED"), its error's message ("" when
 * none), and its step @p id (borrowed; NULL when it has none). */
const char *wfc_status(const json_t *run);
const char *wfc_error(const json_t *run);
const json_t *wfc_step(const json_t *run, const char *id);
/* A string member of @p obj, "" when absent. */
const char *wfc_str(const json_t *obj, const char *key);

/* Every event of the history of the latest run of @p workflow_id, oldest
 * first, all pages (a new reference to an array). */
json_t *wfc_history(const char *workflow_id);
/* Events of @p events of type @p event ("EVENT_TYPE_STEP_RETRIED") for step
 * @p step (NULL: any). */
int wfc_count_events(const json_t *events, const char *event, const char *step);
/* The first such event (borrowed), or NULL. */
const json_t *wfc_find_event(const json_t *events, const char *event, const char *step);

/* A Timestamp's JSON form ("2026-01-02T03:04:05.678Z") in unix ms; fails
 * the test when it is not one. */
int64_t wfc_time_ms(const json_t *timestamp);

/* Compact JSON of @p j for a failure message; lives until the next call. */
const char *wfc_dump(const json_t *j);

#endif

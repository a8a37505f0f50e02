/* The request handlers (api_defs.c, api_runs.c, api_control.c) and what
 * they share. */
#ifndef WORKFLOW_API_H
#define WORKFLOW_API_H

#include <jansson.h>

#include "cairn/bus.h"
#include "workflow.h"

/* The caller's tenant: the message key. NULL with @p st set when empty. */
const char *wf_api_tenant(const struct cairn_request *req, struct cairn_status *st);

/* PERMISSION_DENIED unless the caller may administer (@p what, for the
 * message): no role (a trusted producer), owner or admin. */
cairn_err_t wf_api_admin(const struct cairn_request *req, const char *what,
                         struct cairn_status *st);

/* @p json as a message of @p desc in @p arena, or NULL. */
void *wf_api_from_json(const ProtobufCMessageDescriptor *desc, const json_t *json,
                       struct cairn_arena *arena);

/* A Timestamp of unix ms in @p arena (Google__Protobuf__Timestamp *). */
void *wf_api_timestamp(struct cairn_arena *arena, int64_t ms);

/* The run of a request naming workflow_id, run_id and type, as stored: its
 * run_id, status and state. */
struct wf_found {
        char run_id[40];
        wf_run_status status;
        json_t *state; /* owned */
        char *principal, *role;
};

/* Finds the run (@p run_id "" : the latest of @p workflow_id) of @p tenant,
 * of type @p type ("" or "-": any). NOT_FOUND naming what was asked. */
cairn_err_t wf_api_find(struct wf_service *svc, const char *tenant, const char *workflow_id,
                        const char *run_id, const char *type, struct wf_found *f,
                        struct cairn_status *st);
void wf_found_free(struct wf_found *f);

/* The Run message of a stored state, in @p arena: with its steps (GetRun)
 * or without (lists). */
Cairn__Workflow__V1__Run *wf_api_run(json_t *state, bool steps, struct cairn_arena *arena);

cairn_err_t wf_api_start(struct cairn_request *req, const ProtobufCMessage *msg,
                         ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t wf_api_get_run(struct cairn_request *req, const ProtobufCMessage *msg,
                           ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t wf_api_list_runs(struct cairn_request *req, const ProtobufCMessage *msg,
                             ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t wf_api_history(struct cairn_request *req, const ProtobufCMessage *msg,
                           ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t wf_api_signal(struct cairn_request *req, const ProtobufCMessage *msg,
                          ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t wf_api_cancel(struct cairn_request *req, const ProtobufCMessage *msg,
                          ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t wf_api_terminate(struct cairn_request *req, const ProtobufCMessage *msg,
                             ProtobufCMessage **reply, struct cairn_status *st);

#endif

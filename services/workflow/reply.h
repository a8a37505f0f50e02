/* A reply to a step's call, as it came off the reply topic: whose it is
 * (its cairn_correlation_id "<run_id>/<step>/<attempt>") and what it says
 * (the reply in JSON form, or the failure of a cairn.v1.Status). */
#ifndef WORKFLOW_REPLY_H
#define WORKFLOW_REPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/status.h"

struct wf_reply {
        char run_id[64];
        char step[128];
        uint32_t attempt;
        cairn_err_t err;     /* CAIRN_OK: output is the reply */
        const char *message; /* the failure, borrowed from the reply */
        json_t *output;      /* owned */
        void *status;        /* the unpacked cairn.v1.Status, owned */
};

/* Reads a reply of ce_type @p type and @p len bytes. CAIRN_ERR_INVALID when
 * @p correlation names no step of a run or a Status does not decode; a
 * reply the step cannot use (an unknown type, bytes that do not decode as
 * it) is a failure of the step (r->err INTERNAL), not of the message. */
cairn_err_t wf_reply_decode(const char *correlation, const char *type, const uint8_t *payload,
                            size_t len, struct wf_reply *r, struct cairn_status *st);

void wf_reply_free(struct wf_reply *r);

#endif

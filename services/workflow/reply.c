/* Reading a reply to a step's call (reply.h). */
#include <string.h>

#include "cairn/pb_registry.h"
#include "cairn/pbjson.h"
#include "cairn/v1/common.pb-c.h"
#include "engine.h"
#include "reply.h"

cairn_err_t wf_reply_decode(const char *correlation, const char *type, const uint8_t *payload,
                            size_t len, struct wf_reply *r, struct cairn_status *st)
{
        memset(r, 0, sizeof(*r));
        if (wf_ce_id_parse(correlation, r->run_id, sizeof(r->run_id), r->step, sizeof(r->step),
                           &r->attempt) != 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, NULL, NULL,
                                        "cairn_correlation_id \"%.80s\" names no step of a run",
                                        correlation);
        if (strcmp(type, "cairn.v1.Status") == 0) {
                Cairn__V1__Status *s = cairn__v1__status__unpack(NULL, len, payload);

                if (!s)
                        return cairn_status_set(st, CAIRN_ERR_INVALID, NULL, NULL,
                                                "a Status reply of %zu bytes does not decode", len);
                r->status = s;
                r->err = s->code > 0 && s->code < CAIRN_ERR__COUNT ? (cairn_err_t)s->code
                                                                   : CAIRN_ERR_UNKNOWN;
                r->message = s->message;
                return CAIRN_OK;
        }
        const ProtobufCMessageDescriptor *desc = cairn_pb_message_find(type);
        ProtobufCMessage *msg = desc ? protobuf_c_message_unpack(desc, NULL, len, payload) : NULL;

        if (!msg) {
                /* the service answered something the step cannot read */
                r->err = CAIRN_ERR_INTERNAL;
                r->message = desc ? "the reply does not decode as its ce_type"
                                  : "the reply's ce_type is no message type Cairn knows";
                return CAIRN_OK;
        }
        r->output = cairn_pbjson_to_json(msg, 0);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (!r->output) {
                r->err = CAIRN_ERR_INTERNAL;
                r->message = "the reply has no JSON form";
        }
        return CAIRN_OK;
}

void wf_reply_free(struct wf_reply *r)
{
        json_decref(r->output);
        if (r->status)
                cairn__v1__status__free_unpacked(r->status, NULL);
        r->output = NULL;
        r->status = NULL;
}

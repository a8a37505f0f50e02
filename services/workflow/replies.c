/* The replies to the steps' calls: a consumer group of its own on the
 * service's reply topic (cairn.workflow.replies), through libcairn's bus
 * runtime with a raw handler, so its offset is committed only after the
 * reply is recorded. Each reply names its call in cairn_correlation_id
 * ("<run_id>/<step>/<attempt>"); recording it and what the run does next is
 * one transaction (store.c). Any replica may take any reply: the state is
 * in PostgreSQL. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/pb_registry.h"
#include "cairn/pbjson.h"
#include "cairn/status.h"
#include "engine.h"
#include "workflow.h"

#define DB_RETRY_MS  500
#define DB_RETRY_MAX 60 /* then the attempt's timeout takes over */

struct wf_replies {
        struct wf_service *svc;
        struct cairn_bus_conf bconf;
        struct cairn_bus *bus;
        pthread_t thread;
        volatile bool stopping;
};

struct reply {
        const char *step;
        uint32_t attempt;
        cairn_err_t err;
        const char *message;
        const json_t *output;
};

static cairn_err_t apply(struct wf_tick *t, void *opaque, struct cairn_status *st)
{
        const struct reply *r = opaque;

        (void)st;
        wf_engine_reply(t, r->step, r->attempt, r->err, r->message, r->output);
        return CAIRN_OK;
}

static void count(struct wf_service *svc, const char *outcome)
{
        cairn_series_inc(
                cairn_metric_series(svc->m.replies, (const char *const[]){ outcome, NULL }));
}

/* The reply's outcome: the message in JSON form, or its Status. */
static cairn_err_t decode(const char *type, const uint8_t *payload, size_t len, struct reply *r,
                          json_t **output, Cairn__V1__Status **status, struct cairn_status *st)
{
        if (strcmp(type, "cairn.v1.Status") == 0) {
                *status = cairn__v1__status__unpack(NULL, len, payload);
                if (!*status)
                        return cairn_status_set(st, CAIRN_ERR_INVALID, NULL, NULL,
                                                "a Status reply of %zu bytes does not decode", len);
                r->err = (*status)->code ? (cairn_err_t)(*status)->code : CAIRN_ERR_UNKNOWN;
                if (r->err >= CAIRN_ERR__COUNT)
                        r->err = CAIRN_ERR_UNKNOWN;
                r->message = (*status)->message;
                return CAIRN_OK;
        }
        const ProtobufCMessageDescriptor *desc = cairn_pb_message_find(type);
        ProtobufCMessage *msg = desc ? protobuf_c_message_unpack(desc, NULL, len, payload) : NULL;

        if (!msg) {
                /* the step fails, naming it: the service answered nonsense */
                r->err = CAIRN_ERR_INTERNAL;
                r->message = desc ? "the reply does not decode as its ce_type"
                                  : "the reply's ce_type is no message type Cairn knows";
                return CAIRN_OK;
        }
        *output = cairn_pbjson_to_json(msg, 0);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (!*output) {
                r->err = CAIRN_ERR_INTERNAL;
                r->message = "the reply has no JSON form";
        }
        r->output = *output;
        return CAIRN_OK;
}

static cairn_err_t on_reply(struct cairn_request *req, const uint8_t *payload, size_t len,
                            struct cairn_status *st)
{
        struct wf_replies *rs = req->opaque;
        struct wf_service *svc = rs->svc;
        char run_id[64], step[128];
        struct reply r = { 0 };
        json_t *output = NULL;
        Cairn__V1__Status *status = NULL;
        cairn_err_t err;

        if (wf_ce_id_parse(req->hdrs->correlation_id, run_id, sizeof(run_id), step, sizeof(step),
                           &r.attempt) != 0) {
                count(svc, "unknown");
                return cairn_status_set(st, CAIRN_ERR_INVALID, NULL, NULL,
                                        "cairn_correlation_id \"%.80s\" names no step of a run",
                                        req->hdrs->correlation_id);
        }
        r.step = step;
        if ((err = decode(req->hdrs->type, payload, len, &r, &output, &status, st))) {
                count(svc, "invalid");
                return err;
        }
        /* PostgreSQL down: wait for it rather than lose the reply; past
         * DB_RETRY_MAX the attempt's own timeout retries the step */
        for (int i = 0;; i++) {
                err = wf_run_update(svc, run_id, apply, &r, st);
                if (err != CAIRN_ERR_UNAVAILABLE && err != CAIRN_ERR_DEADLINE &&
                    err != CAIRN_ERR_EXHAUSTED)
                        break;
                if (i >= DB_RETRY_MAX || rs->stopping)
                        break;
                usleep(DB_RETRY_MS * 1000);
        }
        count(svc, err == CAIRN_OK              ? "recorded"
                   : err == CAIRN_ERR_NOT_FOUND ? "unknown"
                                                : "failed");
        json_decref(output);
        if (status)
                cairn__v1__status__free_unpacked(status, NULL);
        return err;
}

static void *consume(void *arg)
{
        struct wf_replies *rs = arg;

        cairn_bus_run(rs->bus);
        return NULL;
}

struct wf_replies *wf_replies_start(struct wf_service *svc, const struct cairn_bus_conf *bconf,
                                    const struct cairn_conf *conf, struct cairn_metrics *metrics,
                                    char *errstr, size_t errstr_size)
{
        struct wf_replies *rs = calloc(1, sizeof(*rs));
        static const struct cairn_handler none[] = { { NULL, NULL } };

        if (!rs)
                abort();
        rs->svc = svc;
        rs->bconf = *bconf;
        rs->bconf.request_topic = svc->reply_topic;
        rs->bconf.group = svc->reply_topic; /* cairn.workflow.replies */
        rs->bconf.any_order = true;
        rs->bconf.revoked = NULL;
        rs->bconf.raw = on_reply;
        rs->bus = cairn_bus_new("workflow", &rs->bconf, conf, none, rs, metrics, errstr,
                                errstr_size);
        if (!rs->bus) {
                free(rs);
                return NULL;
        }
        if (pthread_create(&rs->thread, NULL, consume, rs) != 0)
                abort();
        return rs;
}

void wf_replies_stop(struct wf_replies *rs)
{
        if (!rs)
                return;
        rs->stopping = true;
        cairn_bus_stop(rs->bus);
        pthread_join(rs->thread, NULL);
        cairn_bus_free(rs->bus);
        free(rs);
}

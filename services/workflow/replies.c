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
#include "cairn/status.h"
#include "engine.h"
#include "reply.h"
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

static cairn_err_t apply(struct wf_tick *t, void *opaque, struct cairn_status *st)
{
        const struct wf_reply *r = opaque;

        (void)st;
        wf_engine_reply(t, r->step, r->attempt, r->err, r->message, r->output);
        return CAIRN_OK;
}

static void count(struct wf_service *svc, const char *outcome)
{
        cairn_series_inc(
                cairn_metric_series(svc->m.replies, (const char *const[]){ outcome, NULL }));
}

static cairn_err_t on_reply(struct cairn_request *req, const uint8_t *payload, size_t len,
                            struct cairn_status *st)
{
        struct wf_replies *rs = req->opaque;
        struct wf_service *svc = rs->svc;
        struct wf_reply r;
        cairn_err_t err;

        if ((err = wf_reply_decode(req->hdrs->correlation_id, req->hdrs->type, payload, len, &r,
                                   st))) {
                count(svc, "invalid");
                return err;
        }
        /* PostgreSQL down: wait for it rather than lose the reply; past
         * DB_RETRY_MAX the attempt's own timeout retries the step */
        for (int i = 0;; i++) {
                err = wf_run_update(svc, r.run_id, apply, &r, st);
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
        wf_reply_free(&r);
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

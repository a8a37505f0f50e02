/* A route's upstream call: its adapter builds the request message, the bus
 * client sends it to the route's service, keyed by the caller's tenant (and
 * the row's key_field), with the request's deadline, credentials and trace
 * context, and the connection waits suspended, holding no thread. The reply
 * (or the failure) resumes it; the adapter renders the answer on the
 * event-loop thread. An adapter's blocking work (storing an upload by
 * claim check before the send, fetching an answer by claim check to render
 * it) runs on a thread of its own, the connection suspended likewise.
 *
 * A request can be under http.max_body_bytes and still too large for one
 * Kafka message: it is refused with 413 before it is sent, and a send
 * that fails for its size gets the same answer. */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/trace.h"
#include "request.h"

#define JSON_TYPE "application/json"

/* @locality the bus client's reply or timer thread: copy and resume only. */
static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        struct gw_req *r = opaque;

        r->err = reply->err;
        r->st = reply->st;
        snprintf(r->ce_type, sizeof(r->ce_type), "%s", reply->ce_type);
        if (reply->err == CAIRN_OK) {
                r->payload = malloc(reply->len ? reply->len : 1);
                if (!r->payload)
                        abort();
                memcpy(r->payload, reply->payload, reply->len);
                r->len = reply->len;
        }
        atomic_thread_fence(memory_order_release);
        MHD_resume_connection(r->conn);
}

void gw_upstream_release_slot(struct gw_req *r)
{
        if (r->counted) {
                r->counted = false;
                atomic_fetch_sub(&r->gw->inflight, 1);
                cairn_series_add(r->gw->s_inflight, -1);
        }
}

cairn_err_t gw_upstream_send(struct gw_req *r, const ProtobufCMessage *msg)
{
        struct cairn_call_opts opts = { 0 };
        struct cairn_status st;
        const char *topic;
        cairn_err_t err;
        char *key;

        opts.timeout_ms = r->rt->timeout_ms;
        opts.no_wait = true; /* never block the event loop during a rebalance */
        /* Only a JWT travels on: API keys never leave the gateway. */
        if (r->who.is_jwt)
                opts.authorization = r->bearer ? r->bearer : r->hv[GW_H_AUTHORIZATION];
        /* who the call is for, as the credential says: services authorise by it */
        opts.principal = r->who.principal;
        opts.role = gw_role_str(r->who.role);
        opts.request_id = r->request_id;
        if (r->span) {
                opts.traceparent = r->span->traceparent;
                opts.tracestate = r->span->ctx.tracestate[0] ? r->span->ctx.tracestate : NULL;
        } else {
                opts.traceparent = r->hv[GW_H_TRACEPARENT];
                opts.tracestate = r->hv[GW_H_TRACESTATE];
        }
        /* the route's service, or the one the adapter's next call goes to */
        topic = r->actx.service ? gateway_conf_topic(r->gw->deps.conf, r->actx.service)
                                : r->rt->topic;
        assert(topic); /* a service the route table names */
        if (!*topic) {
                /* upstream.<service>_topic set empty: not deployed here.
                 * Answered as a failed call (the adapter's next() sees it). */
                const char *svc = r->actx.service ? r->actx.service : r->route->service;

                MHD_suspend_connection(r->conn);
                r->err = cairn_status_set(&r->st, CAIRN_ERR_UNIMPLEMENTED, NULL, "NOT_DEPLOYED",
                                          "the %s service is not deployed behind this gateway "
                                          "(upstream.%s_topic is empty)",
                                          svc, svc);
                MHD_resume_connection(r->conn);
                return r->err;
        }
        /* the client copies the key */
        key = gw_route_key(r->route, r->who.tenant, msg);
        MHD_suspend_connection(r->conn);
        err = cairn_bus_call_async(r->gw->deps.bus, topic, key, msg, &opts, on_reply, r, &st);
        free(key);
        if (err != CAIRN_OK) {
                /* The callback will not run. */
                r->err = err;
                r->st = st;
                MHD_resume_connection(r->conn);
        }
        return err;
}

/* Sends @p msg; the answer comes on the resumed call (gw_upstream_finish),
 * a failure to send too. */
static enum MHD_Result call_bus(struct gw_req *r, const ProtobufCMessage *msg)
{
        r->state = GW_ST_WAIT;
        gw_upstream_send(r, msg);
        return MHD_YES;
}

/* The answer to a request too large for one Kafka message: the client's
 * to make smaller, so 413, never retried, and nothing of the bus (topic,
 * broker text) in it. @p len is the encoded size, or 0 when unknown. */
static void too_large(struct gw_error *e, const struct gw_req *r, size_t len, size_t max)
{
        if (len)
                gw_error_set(e, 413, "body_too_large", NULL,
                             "the request is %zu bytes once encoded for the %s service, over the "
                             "%zu bytes one request can carry; send less in one request",
                             len, r->route->service, max);
        else
                gw_error_set(e, 413, "body_too_large", NULL,
                             "the request is too large to send to the %s service; send less in "
                             "one request",
                             r->route->service);
}

struct query_visit {
        int (*fn)(void *opaque, const char *key, const char *value);
        void *opaque;
        int rc;
};

static enum MHD_Result visit_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
        struct query_visit *v = cls;

        (void)kind;
        v->rc = v->fn(v->opaque, key, value);
        return v->rc == 0 ? MHD_YES : MHD_NO;
}

/* The adapters' view of the query string: MHD's decoded arguments. */
static int query_each(void *conn, int (*fn)(void *opaque, const char *key, const char *value),
                      void *opaque)
{
        struct query_visit v = { fn, opaque, 0 };

        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, visit_arg, &v);
        return v.rc;
}

/* False, with @p e filled, when @p msg is too large for one Kafka message. */
static bool fits(struct gw_req *r, const ProtobufCMessage *msg, struct gw_error *e)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        size_t max = cairn_bus_client_max_message_bytes(r->gw->deps.bus);

        if (len <= max)
                return true;
        too_large(e, r, len, max);
        return false;
}

void gw_upstream_release_msg(struct gw_req *r)
{
        if (r->msg) {
                gw_req_adapter(r)->release(&r->actx, r->msg);
                r->msg = NULL;
        }
}

void gw_upstream_ctx_init(struct gw_req *r)
{
        r->actx.route = r->route;
        r->actx.body = r->body;
        r->actx.body_len = r->body_len;
        r->actx.content_type = r->hv[GW_H_CONTENT_TYPE];
        r->actx.max_json_depth = (int)r->gw->hc->max_json_depth;
        r->actx.caps = &r->caps;
        r->actx.conn = r->conn;
        r->actx.query_each = query_each;
        r->actx.tenant = r->who.tenant;
        r->actx.request_id = r->request_id;
        r->actx.sealing = r->gw->deps.sealing;
        r->actx.audio = r->gw->deps.audio;
}

/* Sends the request message @p msg (r->msg) to the route's service. */
static enum MHD_Result send_msg(struct gw_req *r, ProtobufCMessage *msg)
{
        enum MHD_Result ret;
        struct gw_error e;

        if (!fits(r, msg, &e)) {
                gw_upstream_release_msg(r);
                return gw_send_error(r, &e);
        }
        ret = call_bus(r, msg);
        if (r->route->page_field) {
                r->page_req = msg; /* asks for the next pages */
                r->msg = NULL;
        }
        return ret;
}

/* @locality a thread of its own, the connection suspended: the adapter's
 * blocking work, then the connection resumed (gw_upstream_offloaded). */
static void *offload_main(void *arg)
{
        struct gw_req *r = arg;

        r->offload_ok = gw_req_adapter(r)->offload(&r->actx, r->msg, &r->offload_e);
        atomic_thread_fence(memory_order_release);
        MHD_resume_connection(r->conn);
        return NULL;
}

enum MHD_Result gw_upstream_offloaded(struct gw_req *r)
{
        atomic_thread_fence(memory_order_acquire);
        if (!r->offload_ok) {
                gw_upstream_release_msg(r);
                return gw_send_error(r, &r->offload_e);
        }
        return send_msg(r, r->msg);
}

enum MHD_Result gw_upstream_call(struct gw_req *r)
{
        const struct gw_adapter *ad = gw_req_adapter(r);
        ProtobufCMessage *msg;
        struct gw_error e;
        pthread_t thread;

        gw_upstream_ctx_init(r);
        msg = ad->parse(&r->actx, &e);
        if (!msg)
                return gw_send_error(r, &e);
        /* kept until answered: a conversation of several calls reads it */
        r->msg = msg;
        if (!ad->offload)
                return send_msg(r, msg);
        /* blocking work stays off the event loop */
        r->state = GW_ST_OFFLOAD;
        MHD_suspend_connection(r->conn);
        if (pthread_create(&thread, NULL, offload_main, r) != 0) {
                MHD_resume_connection(r->conn);
                r->state = GW_ST_BODY;
                gw_upstream_release_msg(r);
                return gw_fail(r, 503, "overloaded", NULL,
                               "no thread for the request's work; try again shortly");
        }
        pthread_detach(thread);
        return MHD_YES;
}

ProtobufCMessage *gw_upstream_reply(struct gw_req *r)
{
        const ProtobufCMessageDescriptor *want = r->actx.reply_type ? r->actx.reply_type
                                                                    : r->route->reply;
        ProtobufCMessage *msg = strcmp(r->ce_type, want->name) == 0
                                        ? protobuf_c_message_unpack(want, NULL, r->len, r->payload)
                                        : NULL;

        free(r->payload);
        r->payload = NULL;
        if (!msg)
                cairn_log(ERROR, "HTTP", "reply of type \"%s\" does not decode as %s", r->ce_type,
                          want->name);
        return msg;
}

/* The adapter's next call of a conversation, when it has one: sent, or
 * its error answered. MHD_NO with *@p done false when there is none. */
static enum MHD_Result next_call(struct gw_req *r, const ProtobufCMessage *reply, bool *done)
{
        const struct gw_adapter *ad = gw_req_adapter(r);
        const ProtobufCMessage *next;
        struct gw_error e;

        *done = false;
        if (!ad->next || r->route->page_field)
                return MHD_NO;
        memset(&e, 0, sizeof(e));
        next = ad->next(&r->actx, reply, &r->st, &e);
        if (!next && !e.status)
                return MHD_NO;
        *done = true;
        if (next && fits(r, next, &e))
                return call_bus(r, next);
        gw_upstream_release_slot(r);
        gw_upstream_release_msg(r);
        return gw_send_error(r, &e);
}

/* The answer of a request that failed upstream, in the route's style. */
static enum MHD_Result send_failure(struct gw_req *r)
{
        const struct gw_adapter *ad = gw_req_adapter(r);
        struct gw_error e;
        char field[128];
        size_t flen;

        if (ad->field_name)
                ad->field_name(field, sizeof(field), r->st.field);
        else
                snprintf(field, sizeof(field), "%s", r->st.field);
        gw_error_from_status(&e, r->err, r->st.message, field);
        /* a message that begins with the service's name of the field begins
         * with the route's ("inputs[3] is empty": "input[3] is empty") */
        flen = strlen(r->st.field);
        if (flen && strcmp(field, r->st.field) != 0 &&
            strncmp(r->st.message, r->st.field, flen) == 0)
                snprintf(e.message, sizeof(e.message), "%s%s", field, r->st.message + flen);
        if (r->err == CAIRN_ERR_DEADLINE) {
                snprintf(e.message, sizeof(e.message),
                         "no reply from the %s service within %lld ms", r->route->service,
                         r->rt->timeout_ms);
        } else if (e.status >= 500 && r->err != CAIRN_ERR_UNIMPLEMENTED) {
                /* A server-side failure's text names topics, brokers or
                 * databases: the log keeps it, the client gets what it can
                 * act on. */
                cairn_log(WARN, "HTTP", "%s: %s", r->route->path, r->st.message);
                snprintf(e.message, sizeof(e.message),
                         "the %s service failed to answer (%s); see the request id in its logs",
                         r->route->service, cairn_err_str(r->err));
        }
        return gw_send_error(r, &e);
}

/* Renders @p msg with the route's adapter and answers with it. */
static void render_reset(struct gw_req *r)
{
        r->actx.status = 0;
        r->actx.secret = false;
        r->actx.reply_content_type = NULL;
}

/* Answers with @p body (taken over; NULL: render() failed), of @p len
 * bytes, as render() left the adapter's view. */
static enum MHD_Result send_body_rendered(struct gw_req *r, char *body, size_t len)
{
        int status;

        if (!body)
                return gw_fail(r, 500, "internal", NULL, "the reply could not be rendered");
        status = r->actx.status ? r->actx.status : 200;
        if (status == 204)
                return gw_send_body(r, 204, body, 0, NULL, NULL, NULL);
        if (r->actx.secret)
                return gw_send_secret_body(r, status, body, len);
        /* Not JSON (audio, subtitles): not kept for an idempotent replay,
         * which answers JSON. */
        if (r->actx.reply_content_type)
                return gw_send_body(r, status, body, len, r->actx.reply_content_type, NULL, NULL);
        gw_idem_store(r, status, body, len);
        return gw_send_body(r, status, body, len, JSON_TYPE, NULL, NULL);
}

static enum MHD_Result send_rendered(struct gw_req *r, const ProtobufCMessage *msg)
{
        size_t len = 0;
        char *body;

        render_reset(r);
        body = gw_req_adapter(r)->render(&r->actx, msg, &len);
        return send_body_rendered(r, body, len);
}

/* @locality a thread of its own, the connection suspended: the adapter's
 * blocking render, then the connection resumed (gw_upstream_rendered). */
static void *render_main(void *arg)
{
        struct gw_req *r = arg;

        r->rendered = gw_req_adapter(r)->render(&r->actx, r->reply_msg, &r->rendered_len);
        atomic_thread_fence(memory_order_release);
        MHD_resume_connection(r->conn);
        return NULL;
}

/* Renders @p msg (taken over) on a thread of its own; false when no
 * thread can be had (@p msg is still the caller's then). */
static bool render_offloaded(struct gw_req *r, ProtobufCMessage *msg)
{
        pthread_t thread;

        render_reset(r);
        r->reply_msg = msg;
        r->rendered = NULL;
        r->rendered_len = 0;
        r->state = GW_ST_RENDER;
        MHD_suspend_connection(r->conn);
        if (pthread_create(&thread, NULL, render_main, r) != 0) {
                MHD_resume_connection(r->conn);
                r->reply_msg = NULL;
                r->state = GW_ST_WAIT;
                return false;
        }
        pthread_detach(thread);
        return true;
}

enum MHD_Result gw_upstream_rendered(struct gw_req *r)
{
        enum MHD_Result ret;
        char *body;

        atomic_thread_fence(memory_order_acquire);
        body = r->rendered;
        r->rendered = NULL;
        ret = send_body_rendered(r, body, r->rendered_len);
        protobuf_c_message_free_unpacked(r->reply_msg, NULL);
        r->reply_msg = NULL;
        gw_upstream_release_slot(r);
        gw_upstream_release_msg(r);
        return ret;
}

enum MHD_Result gw_upstream_finish(struct gw_req *r)
{
        ProtobufCMessage *msg = NULL;
        enum MHD_Result ret;
        struct gw_error e;
        bool done;

        atomic_thread_fence(memory_order_acquire);
        if (r->err == CAIRN_ERR_EXHAUSTED &&
            strcmp(r->st.reason, CAIRN_BUS_MESSAGE_TOO_LARGE) == 0) {
                /* Key and headers pushed it over, or the topic's limit is
                 * lower: the client hears neither, the log says which. */
                cairn_log(INFO, "HTTP", "%s: not sent for its size: %s", r->route->path,
                          r->st.message);
                too_large(&e, r, 0, 0);
                ret = gw_send_error(r, &e);
                goto out;
        }
        if (r->err == CAIRN_OK) {
                msg = gw_upstream_reply(r);
                if (!msg) {
                        char text[160];

                        snprintf(text, sizeof(text), "the %s service answered something unexpected",
                                 r->route->service);
                        ret = gw_fail(r, 502, "bad_gateway", NULL, text);
                        goto out;
                }
        }
        ret = next_call(r, msg, &done);
        if (done) {
                if (msg)
                        protobuf_c_message_free_unpacked(msg, NULL);
                return ret;
        }
        if (!msg) {
                /* the adapter answers with what its earlier calls gathered */
                ret = r->actx.render_failure ? send_rendered(r, NULL) : send_failure(r);
                goto out;
        }
        if (r->route->page_field) {
                ret = gw_page_start(r, r->page_req, msg);
                r->page_req = NULL; /* the stream's now */
                protobuf_c_message_free_unpacked(msg, NULL);
                return ret; /* a stream holds its place until it ends */
        }
        if (gw_req_adapter(r)->render_offload && render_offloaded(r, msg))
                return MHD_YES; /* answered once rendered (gw_upstream_rendered) */
        ret = send_rendered(r, msg);
out:
        if (msg)
                protobuf_c_message_free_unpacked(msg, NULL);
        if (!r->route->page_field)
                gw_upstream_release_slot(r);
        gw_upstream_release_msg(r);
        return ret;
}

/* One HTTP request as the server's parts share it: libmicrohttpd's glue
 * (server.c) reads it in, the pipeline (pipeline.c) checks it and picks its
 * row's way to answer, responses (response.c) write the answer, and the
 * upstream call (upstream.c) sends it over the bus and turns the reply into
 * that answer. Internal to the server. */
#ifndef CAIRN_GATEWAY_REQUEST_H
#define CAIRN_GATEWAY_REQUEST_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "auth.h"
#include "cairn/bus.h"
#include "cairn/headers.h"
#include "cairn/log.h"
#include "error.h"
#include "framing.h"
#include "ratelimit.h"
#include "route.h"
#include "server.h"

/* What a row resolves to under the configuration, once at start. */
struct gw_route_rt {
        long long timeout_ms;
        const struct gw_limits *limits; /* the class's own settings (-1: defaults) */
        const char *topic;
        long long max_body_bytes; /* the row's own, or http.max_body_bytes */
};

struct gw_listener;

struct gateway {
        struct gateway_deps deps;
        const struct gateway_http_conf *hc;
        const struct gw_route *routes;
        struct gw_route_rt *rt; /* by row: rt[row - routes] */
        char *openapi;          /* the document, built once at start */
        size_t openapi_len;
        struct MHD_Daemon *daemon;
        struct gw_listener *listener; /* accepts; closed first on drain */
        int port;

        atomic_long inflight;
        atomic_bool broker_up;
        atomic_bool stop;
        pthread_t probe_thread;
        bool probe_started;
        struct gw_deadline *deadline;

        struct cairn_metric *m_requests; /* route, status */
        struct cairn_metric *m_duration; /* route */
        struct cairn_series *s_inflight;
        struct cairn_series *s_auth_fail;
        struct cairn_series *s_overload;
};

enum gw_req_state {
        GW_ST_BODY,    /* reading headers and body */
        GW_ST_OFFLOAD, /* suspended on the adapter's blocking work (adapter.h offload) */
        GW_ST_WAIT,    /* suspended on a bus call */
        GW_ST_RENDER,  /* suspended on the adapter's blocking render (adapter.h) */
        GW_ST_DONE,    /* a response was queued */
};

struct gw_req {
        struct gateway *gw;
        struct MHD_Connection *conn;
        enum gw_req_state state;
        int64_t start_us;
        const struct gw_route *route;
        const struct gw_route_rt *rt;
        const char *route_label; /* the matched path template, for metrics */
        struct gw_captures caps;
        char request_id[GW_REQUEST_ID_MAX + 1];
        bool bad_request_id;

        const char *target_refusal;         /* why the raw target is refused, or NULL */
        char *path;                         /* the target's path as sent, before MHD decodes it */
        bool head_done;                     /* gw_pipeline_head() admitted it */
        bool close;                         /* answer with Connection: close */
        bool declared_body;                 /* a Content-Length above 0 or chunked */
        unsigned long long declared_length; /* Content-Length, 0 when chunked */
        struct gw_watch *watch;

        char *body;
        size_t body_len, body_cap;
        size_t received; /* body bytes received, kept or not */
        bool too_large;

        struct gw_principal who;
        bool authenticated;
        bool auth_deferred; /* the credential is in the body: checked once it is in */
        char *bearer;       /* "Bearer <X-Vault-Token>": the credential, when sent so */
        struct gw_rl_result rl;

        bool idem_claimed;

        struct gw_adapter_ctx actx;   /* the adapter's view, parse to render */
        ProtobufCMessage *msg;        /* what parse() made, until release() */
        ProtobufCMessage *page_req;   /* a paged route's request, kept for the next pages */
        struct gw_page_stream *page;  /* a paged route's stream, once the 200 is queued */
        bool counted;                 /* holds one of http.max_inflight */
        struct cairn_span *span;      /* the SERVER span, NULL when tracing is off */
        struct cairn_log_ctx log_ctx; /* request_id, trace and span ids while handled */

        /* The reply being rendered off the event loop, and what render()
         * made of it (GW_ST_RENDER). */
        ProtobufCMessage *reply_msg;
        char *rendered;
        size_t rendered_len;

        /* Written by the bus callback before it resumes the connection. */
        cairn_err_t err;
        uint8_t *payload;
        size_t len;

        /* From st on, not zeroed for each request (it costs more than all
         * the rest): each is written before it is read. */
        struct cairn_status st;             /* with err, by the callback or a failed send */
        bool offload_ok;                    /* by the offload thread */
        struct gw_error offload_e;          /* by the offload thread, when it failed */
        char ce_type[CAIRN_HEADER_MAX + 1]; /* by the callback */
        char allow[128];                    /* by gw_route_allow(), for 405 and preflights */
        char idem_key[256];                 /* when idem_claimed is set */
        char body_hash[65];                 /* with idem_key */
        const char *hv[GW_H__COUNT];        /* on the first call: the headers read, or NULL */
        size_t header_bytes;                /* on the first call */
};

/* The adapter of @p r's route (the proto3 JSON mapping unless it names one). */
const struct gw_adapter *gw_req_adapter(const struct gw_req *r);

/* ---- pipeline.c ---- */

/* The checks that need only the headers, in order: request id, header
 * size, route and method, CORS preflight, declared body size, media type,
 * credentials, permission, rate limit. Run before a body is read, so a
 * refused request never has its body read; an answer leaves r->state
 * GW_ST_DONE, an admitted request r->head_done. A request without a
 * credential in its headers, on a route whose adapter reads one from the
 * body (LibreTranslate's api_key), has the last three checked once the
 * body is in (r->auth_deferred). */
enum MHD_Result gw_pipeline_head(struct gw_req *r, const char *method, const char *url);
/* The rest once the body is in (running the head first when it has not
 * run): body size, local answers, idempotency, backpressure, the upstream
 * call. Answers the request or suspends it on the call. */
enum MHD_Result gw_pipeline_run(struct gw_req *r, const char *method, const char *url);

/* ---- response.c ---- */

/* Queues @p resp (destroyed here) with @p status, the common headers and
 * @p content_type (or NULL), and counts the request as answered. */
enum MHD_Result gw_queue_response(struct gw_req *r, int status, struct MHD_Response *resp,
                                  const char *content_type);

/* Queues @p body (taken over: freed here, even on failure) with @p status;
 * @p extra_name/@p extra_value add one more header (or NULL). */
enum MHD_Result gw_send_body(struct gw_req *r, int status, char *body, size_t len,
                             const char *content_type, const char *extra_name,
                             const char *extra_value);
/* gw_send_body() of JSON that holds a secret: wiped when freed. */
enum MHD_Result gw_send_secret_body(struct gw_req *r, int status, char *body, size_t len);
/* Answers @p e in the route's error style. */
enum MHD_Result gw_send_error(struct gw_req *r, const struct gw_error *e);
enum MHD_Result gw_fail(struct gw_req *r, int status, const char *code, const char *param,
                        const char *msg);
/* A CORS preflight answer for the request's path. */
enum MHD_Result gw_send_preflight(struct gw_req *r);
/* Stores the answer under the idempotency key when this request claimed one. */
void gw_idem_store(struct gw_req *r, int status, const char *body, size_t len);
/* Ends the request's span and counts it in the metrics. */
void gw_observe(struct gw_req *r, int status);

/* ---- upstream.c ---- */

/* Fills the adapter's view of the request (r->actx) from what was read. */
void gw_upstream_ctx_init(struct gw_req *r);
/* Builds the request message with the route's adapter and sends it to the
 * route's service; suspends the connection until the reply (or answers a
 * bad request at once). */
enum MHD_Result gw_upstream_call(struct gw_req *r);
/* The request resumed after its adapter's offloaded work: sends it, or
 * answers the work's error. */
enum MHD_Result gw_upstream_offloaded(struct gw_req *r);
/* The request resumed after its adapter rendered the reply on a thread:
 * sends what it made. */
enum MHD_Result gw_upstream_rendered(struct gw_req *r);
/* The resumed call: turns the bus outcome into the answer. */
enum MHD_Result gw_upstream_finish(struct gw_req *r);
/* The successful reply of the resumed call as the route's reply type (the
 * payload is freed); NULL, logged, when it is of another type or does not
 * decode. The caller frees it with protobuf_c_message_free_unpacked(). */
ProtobufCMessage *gw_upstream_reply(struct gw_req *r);
/* Gives back the request's place among http.max_inflight. */
void gw_upstream_release_slot(struct gw_req *r);
/* Lets the adapter free what it made for the request (once; any time). */
void gw_upstream_release_msg(struct gw_req *r);
/* Suspends the connection and sends @p msg to the route's service; the
 * reply resumes it. On a failure to send, resumes it at once and returns
 * the error (also in r->err and r->st). */
cairn_err_t gw_upstream_send(struct gw_req *r, const ProtobufCMessage *msg);

/* ---- paged.c ---- */

struct gw_page_stream;
/* Starts the NDJSON answer of a paged route with its first page @p first
 * (borrowed); takes over @p req, the request, to ask for the next pages. */
enum MHD_Result gw_page_start(struct gw_req *r, ProtobufCMessage *req,
                              const ProtobufCMessage *first);
void gw_page_stream_free(struct gw_page_stream *ps);

#endif

/* The gateway's HTTP server on libmicrohttpd: every request goes through
 * the same checks in the same order (request id, header size, CORS, route,
 * method, media type, credentials, permission, rate limit, body, idempotency,
 * backpressure), then a route either answers at once or sends a protobuf
 * request over the bus and suspends its connection. The bus client's
 * callback resumes it; the answer is queued on the next handler call, on the
 * event-loop thread. A request waiting on Kafka holds no thread.
 *
 * Threads: handlers run on MHD's event-loop threads (http.threads); bus
 * callbacks run on the bus client's threads and only copy the outcome and
 * resume; the broker probe and the header deadline's sweeper run on threads
 * of their own. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/trace.h"
#include "gateway.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif

#define JSON_TYPE "application/json"
#define MAX_INPUTS 2048
#define PROBE_INTERVAL_MS 1000
/* An oversized body up to this many times the limit is read and dropped
 * before the 413; beyond, the connection is closed. */
#define DISCARD_FACTOR 8
#define EXPOSED_HEADERS \
        "X-Request-ID, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After"
#define ALLOWED_HEADERS \
        "Authorization, Content-Type, X-API-Key, X-Request-ID, Idempotency-Key, OpenAI-Organization, OpenAI-Project"

struct gateway {
        struct gateway_deps deps;
        const struct gateway_http_conf *hc;
        struct MHD_Daemon *daemon;
        int port;

        atomic_long inflight;
        atomic_bool broker_up;
        atomic_bool stop;
        pthread_t probe_thread;
        bool probe_started;
        struct gw_header_deadline *header_deadline;

        struct cairn_metric *m_requests;    /* route, status */
        struct cairn_metric *m_duration;    /* route */
        struct cairn_series *s_inflight;
        struct cairn_series *s_auth_fail;
        struct cairn_series *s_overload;
};

enum req_state {
        ST_BODY,        /* reading headers and body */
        ST_WAIT,        /* suspended on a bus call */
        ST_DONE,        /* a response was queued */
};

struct req {
        struct gateway *gw;
        struct MHD_Connection *conn;
        enum req_state state;
        int64_t start_us;
        const struct gw_route *route;
        const char *route_label;
        char request_id[GW_REQUEST_ID_MAX + 1];
        bool bad_request_id;
        char allow[128];            /* for 405 */

        char *body;
        size_t body_len, body_cap;
        size_t seen;                /* body bytes received, kept or not */
        bool too_large;

        struct gw_principal who;
        bool authenticated;
        struct gw_rl_result rl;

        char idem_key[256];
        char body_hash[65];
        bool idem_claimed;

        bool base64;
        bool counted;               /* holds one of http.max_inflight */
        struct cairn_span *span;    /* the SERVER span, NULL when tracing is off */
        struct cairn_log_ctx log_ctx; /* request_id, trace and span ids while handled */

        /* Written by the bus callback before it resumes the connection. */
        cairn_err_t err;
        struct cairn_status st;
        uint8_t *payload;
        size_t len;
        char ce_type[CAIRN_HEADER_MAX + 1];
};

/* ---- responses ---- */

static const char *header_of(struct req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The CORS origin to allow for this request, or NULL. */
static const char *cors_origin(struct req *r)
{
        const char *origin = header_of(r, "Origin");
        const char *list = r->gw->hc->cors_origins;
        size_t olen;

        if (!origin || !list || !list[0])
                return NULL;
        olen = strlen(origin);
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, ",");
                const char *o = p;

                while (n && *o == ' ') {
                        o++;
                        n--;
                }
                while (n && o[n - 1] == ' ')
                        n--;
                if ((n == 1 && o[0] == '*') || (n == olen && strncasecmp(o, origin, n) == 0))
                        return origin;
                p += strcspn(p, ",");
                if (*p == ',')
                        p++;
        }
        return NULL;
}

static void add_common_headers(struct req *r, struct MHD_Response *resp, int status)
{
        char num[32];
        const char *origin;

        MHD_add_response_header(resp, "X-Request-ID", r->request_id);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (r->rl.limited) {
                snprintf(num, sizeof(num), "%lld", r->rl.limit);
                MHD_add_response_header(resp, "RateLimit-Limit", num);
                snprintf(num, sizeof(num), "%lld", r->rl.remaining);
                MHD_add_response_header(resp, "RateLimit-Remaining", num);
                snprintf(num, sizeof(num), "%lld", r->rl.reset_s);
                MHD_add_response_header(resp, "RateLimit-Reset", num);
        }
        if (status == 429 || status == 503) {
                snprintf(num, sizeof(num), "%lld",
                         r->rl.retry_after_s > 0 ? r->rl.retry_after_s : 1LL);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
        }
        origin = cors_origin(r);
        if (origin) {
                MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
                MHD_add_response_header(resp, "Access-Control-Expose-Headers", EXPOSED_HEADERS);
                MHD_add_response_header(resp, "Vary", "Origin");
        }
}

static void observe(struct req *r, int status)
{
        char code[8];
        struct gateway *gw = r->gw;
        double secs = (double)(cairn_mono_us() - r->start_us) / 1e6;
        const char *label = r->route_label ? r->route_label : "other";

        snprintf(code, sizeof(code), "%d", status);
        if (r->span) {
                cairn_trace_http_server_end(r->span, status);
                r->span = NULL;
        }
        cairn_metric_inc_l(gw->m_requests, (const char *[]){ label, code });
        cairn_metric_observe_l(gw->m_duration, (const char *[]){ label }, secs);
}

/* Queues @p body (taken over: freed here, even on failure) with @p status.
 * @p extra_name/@p extra_value add one more header (or NULL). */
static enum MHD_Result send_body(struct req *r, int status, char *body, size_t len,
                                 const char *content_type, const char *extra_name,
                                 const char *extra_value)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        if (content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        add_common_headers(r, resp, status);
        if (extra_name)
                MHD_add_response_header(resp, extra_name, extra_value);
        ret = MHD_queue_response(r->conn, (unsigned int)status, resp);
        MHD_destroy_response(resp);
        r->state = ST_DONE;
        observe(r, status);
        if (status >= 500)
                cairn_log(WARN, "HTTP", "%s answered %d in %.1f ms",
                          r->route ? r->route->path : "request", status,
                          (double)(cairn_mono_us() - r->start_us) / 1000.0);
        return ret;
}

/* Stores the answer under the idempotency key when this request claimed one. */
static void idem_store(struct req *r, int status, const char *body, size_t len)
{
        if (!r->idem_claimed)
                return;
        r->idem_claimed = false;
        gw_idem_finish(r->gw->deps.redis, r->who.tenant, r->idem_key, r->body_hash,
                       r->gw->hc->idempotency_ttl_s, status, body, len);
}

static enum MHD_Result send_error(struct req *r, const struct gw_error *e)
{
        size_t len;
        char *body = gw_error_json(e, r->request_id, &len);
        const char *xname = NULL;
        char xval[512];

        if (e->status >= 400 && e->status != 404)
                cairn_log(INFO, "HTTP", "%s: %d %s (param %s)",
                          r->route ? r->route->path : "request", e->status, e->message,
                          e->param[0] ? e->param : "-");
        idem_store(r, e->status, body, len);
        if (e->status == 401) {
                /* RFC 6750: the error code only when a credential was presented. */
                xname = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
                if (e->code && strcmp(e->code, "missing_credentials") != 0)
                        snprintf(xval, sizeof(xval),
                                 "Bearer realm=\"cairn\", error=\"%s\", error_description=\"%.300s\"",
                                 e->code, e->message);
                else
                        snprintf(xval, sizeof(xval), "Bearer realm=\"cairn\"");
        } else if (e->status == 405) {
                xname = MHD_HTTP_HEADER_ALLOW;
                snprintf(xval, sizeof(xval), "%s", r->allow);
        }
        return send_body(r, e->status, body, len, JSON_TYPE, xname, xval);
}

static enum MHD_Result fail(struct req *r, int status, const char *code, const char *param,
                            const char *msg)
{
        struct gw_error e;

        gw_error_set(&e, status, code, param, "%s", msg);
        return send_error(r, &e);
}

/* ---- the bus ---- */

/* @locality the bus client's reply or timer thread: copy and resume only. */
static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        struct req *r = opaque;

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

static void release_slot(struct req *r)
{
        if (r->counted) {
                r->counted = false;
                atomic_fetch_sub(&r->gw->inflight, 1);
                cairn_series_add(r->gw->s_inflight, -1);
        }
}

/* Sends @p msg and suspends the connection until on_reply() resumes it. */
static enum MHD_Result call_bus(struct req *r, const ProtobufCMessage *msg, long long timeout_ms)
{
        struct gateway *gw = r->gw;
        struct cairn_call_opts opts = { 0 };
        struct cairn_status st;
        cairn_err_t err;

        opts.timeout_ms = timeout_ms;
        opts.no_wait = true; /* never block the event loop during a rebalance */
        /* Only a JWT travels on: API keys never leave the gateway. */
        if (r->who.is_jwt)
                opts.authorization = header_of(r, MHD_HTTP_HEADER_AUTHORIZATION);
        opts.request_id = r->request_id;
        if (r->span) {
                opts.traceparent = r->span->traceparent;
                opts.tracestate = r->span->ctx.tracestate[0] ? r->span->ctx.tracestate : NULL;
        } else {
                opts.traceparent = header_of(r, "traceparent");
                opts.tracestate = header_of(r, "tracestate");
        }
        r->state = ST_WAIT;
        MHD_suspend_connection(r->conn);
        err = cairn_bus_call_async(gw->deps.bus, gw->deps.conf->upstream.embedding_topic, r->who.tenant, msg, &opts,
                                   on_reply, r, &st);
        if (err != CAIRN_OK) {
                /* The callback will not run: answer on the resumed call. */
                r->err = err;
                r->st = st;
                MHD_resume_connection(r->conn);
        }
        return MHD_YES;
}

static void field_to_openai(char *out, size_t size, const char *field)
{
        /* The service names its repeated field "inputs"; OpenAI calls it "input". */
        if (strncmp(field, "inputs", 6) == 0)
                snprintf(out, size, "input%s", field + 6);
        else
                snprintf(out, size, "%s", field);
}

/* The resumed call: turn the bus outcome into the HTTP answer. */
static enum MHD_Result finish_bus(struct req *r)
{
        const ProtobufCMessageDescriptor *want;
        ProtobufCMessage *msg;
        struct gw_error e;
        size_t len;
        char *body;

        atomic_thread_fence(memory_order_acquire);
        release_slot(r);
        if (r->err != CAIRN_OK) {
                char field[128];

                field_to_openai(field, sizeof(field), r->st.field);
                gw_error_from_status(&e, r->err, r->st.message, field);
                if (r->err == CAIRN_ERR_DEADLINE)
                        snprintf(e.message, sizeof(e.message),
                                 "no reply from the embedding service within %lld ms",
                                 r->route->cls == GW_CLASS_EMBEDDINGS_CREATE
                                         ? r->gw->hc->embeddings_timeout_ms
                                         : r->gw->hc->models_timeout_ms);
                return send_error(r, &e);
        }
        want = r->route->cls == GW_CLASS_EMBEDDINGS_CREATE
                       ? &cairn__embedding__v1__embed_reply__descriptor
                       : &cairn__embedding__v1__list_models_reply__descriptor;
        msg = strcmp(r->ce_type, want->name) == 0
                      ? protobuf_c_message_unpack(want, NULL, r->len, r->payload)
                      : NULL;
        free(r->payload);
        r->payload = NULL;
        if (!msg) {
                cairn_log(ERROR, "HTTP", "reply of type \"%s\" does not decode as %s", r->ce_type,
                          want->name);
                return fail(r, 502, "bad_gateway", NULL,
                            "the embedding service answered something unexpected");
        }
        if (r->route->cls == GW_CLASS_EMBEDDINGS_CREATE)
                body = gw_embed_reply_json((Cairn__Embedding__V1__EmbedReply *)msg, r->base64, &len);
        else
                body = gw_models_reply_json((Cairn__Embedding__V1__ListModelsReply *)msg, &len);
        protobuf_c_message_free_unpacked(msg, NULL);
        idem_store(r, 200, body, len);
        return send_body(r, 200, body, len, JSON_TYPE, NULL, NULL);
}

/* ---- routes ---- */

static enum MHD_Result serve_embeddings(struct req *r)
{
        Cairn__Embedding__V1__EmbedRequest msg = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        struct gw_embed_req er;
        struct gw_error e;
        enum MHD_Result ret;

        if (!gw_embed_req_parse(r->body, r->body_len, (int)r->gw->hc->max_json_depth, MAX_INPUTS,
                                &er, &e))
                return send_error(r, &e);
        r->base64 = er.base64;
        msg.model = (char *)er.model;
        msg.inputs = (char **)er.inputs;
        msg.n_inputs = er.n_inputs;
        msg.dimensions = er.dimensions;
        msg.user = (char *)(er.user ? er.user : "");
        ret = call_bus(r, &msg.base, r->gw->hc->embeddings_timeout_ms);
        gw_embed_req_cleanup(&er);
        return ret;
}

static enum MHD_Result serve_models(struct req *r)
{
        Cairn__Embedding__V1__ListModelsRequest msg = CAIRN__EMBEDDING__V1__LIST_MODELS_REQUEST__INIT;

        return call_bus(r, &msg.base, r->gw->hc->models_timeout_ms);
}

static enum MHD_Result serve_version(struct req *r)
{
        char *body;
        int n = asprintf(&body, "{\"service\":\"cairn-gateway\",\"version\":\"%s\"}",
                         CAIRN_VERSION);

        if (n < 0)
                return MHD_NO;
        return send_body(r, 200, body, (size_t)n, JSON_TYPE, NULL, NULL);
}

static enum MHD_Result serve_openapi(struct req *r)
{
        char *body = malloc(gw_openapi_json_len + 1);

        if (!body)
                abort();
        memcpy(body, gw_openapi_json, gw_openapi_json_len);
        return send_body(r, 200, body, gw_openapi_json_len, JSON_TYPE, NULL, NULL);
}

/* ---- the checks every request goes through ---- */

struct header_size {
        size_t total;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
        struct header_size *hs = cls;

        (void)kind;
        hs->total += strlen(key) + (value ? strlen(value) : 0) + 4;
        return MHD_YES;
}

static bool media_type_json(const char *ct)
{
        size_t n;

        if (!ct)
                return false;
        while (*ct == ' ')
                ct++;
        n = strcspn(ct, "; ");
        if (n != 16 || strncasecmp(ct, JSON_TYPE, 16) != 0)
                return false;
        /* A charset, when given, must be UTF-8 (RFC 8259). */
        const char *cs = strcasestr(ct, "charset=");
        if (cs) {
                cs += 8;
                if (*cs == '"')
                        cs++;
                if (strncasecmp(cs, "utf-8", 5) != 0)
                        return false;
        }
        return true;
}

/* "GET, HEAD, OPTIONS" etc. for @p path; empty when no route has it. */
static void allow_of(const char *path, char *out, size_t size)
{
        size_t n = 0;

        out[0] = '\0';
        for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                if (strcmp(rt->path, path) != 0)
                        continue;
                n += (size_t)snprintf(out + n, size - n, "%s%s%s", n ? ", " : "", rt->method,
                                      strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
        }
        if (n)
                snprintf(out + n, size - n, ", OPTIONS");
}

static enum MHD_Result preflight(struct req *r)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL,
                                                                    MHD_RESPMEM_PERSISTENT);
        const char *origin = cors_origin(r);
        char allow[128], age[32];
        enum MHD_Result ret;

        if (!resp)
                return MHD_NO;
        allow_of(r->route->path, allow, sizeof(allow));
        MHD_add_response_header(resp, "X-Request-ID", r->request_id);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        if (origin) {
                snprintf(age, sizeof(age), "%lld", r->gw->hc->cors_max_age_s);
                MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
                MHD_add_response_header(resp, "Access-Control-Allow-Methods", allow);
                MHD_add_response_header(resp, "Access-Control-Allow-Headers", ALLOWED_HEADERS);
                MHD_add_response_header(resp, "Access-Control-Max-Age", age);
                MHD_add_response_header(resp, "Vary", "Origin");
        }
        ret = MHD_queue_response(r->conn, MHD_HTTP_NO_CONTENT, resp);
        MHD_destroy_response(resp);
        r->state = ST_DONE;
        observe(r, 204);
        return ret;
}

static enum MHD_Result authenticate_or_reply(struct req *r)
{
        struct gw_auth_error why;
        cairn_err_t err;

        err = gw_auth_check(r->gw->deps.auth, header_of(r, MHD_HTTP_HEADER_AUTHORIZATION),
                            header_of(r, "X-API-Key"), cairn_now_ms() / 1000, &r->who, &why);
        if (err == CAIRN_OK) {
                r->authenticated = true;
                return MHD_YES;
        }
        cairn_series_inc(r->gw->s_auth_fail);
        /* The reason is logged; the credential never is. */
        cairn_log(INFO, "AUTH", "%s: credentials refused: %s", r->route->path, why.reason);
        return fail(r, 401, why.code ? why.code : "missing_credentials", NULL,
                    why.code ? why.reason
                             : "no credentials: send Authorization: Bearer <token or API key>");
}

/* Everything a complete request goes through, in order. */
static enum MHD_Result dispatch(struct req *r, const char *method, const char *url)
{
        struct gateway *gw = r->gw;
        struct header_size hs = { strlen(url) + strlen(method) + 12 };
        bool is_head = strcmp(method, "HEAD") == 0;
        bool is_options = strcmp(method, "OPTIONS") == 0;
        enum MHD_Result ret;

        for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                if (strcmp(rt->path, url) != 0)
                        continue;
                r->route_label = rt->path;
                if (strcmp(rt->method, method) == 0 ||
                    (is_head && strcmp(rt->method, "GET") == 0) || is_options) {
                        r->route = rt;
                        break;
                }
        }
        r->span = cairn_trace_http_server_start(method, r->route_label, url,
                                                header_of(r, "traceparent"),
                                                header_of(r, "tracestate"), header_of(r, "Host"),
                                                header_of(r, "User-Agent"));
        if (r->span) {
                r->log_ctx.trace_id = r->span->trace_id_hex;
                r->log_ctx.span_id = r->span->span_id_hex;
                cairn_log_ctx_set(&r->log_ctx);
        }

        if (r->bad_request_id)
                return fail(r, 400, "invalid_request_id", "X-Request-ID",
                            "X-Request-ID must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &hs);
        if (hs.total > (size_t)gw->hc->max_header_bytes)
                return fail(r, 431, "headers_too_large", NULL,
                            "request headers are larger than the limit");
        if (!r->route_label)
                return fail(r, 404, "unknown_route", NULL, "no such route");
        if (!r->route) {
                struct gw_error e;

                allow_of(url, r->allow, sizeof(r->allow));
                gw_error_set(&e, 405, "method_not_allowed", NULL,
                             "method %s is not allowed here; allowed: %s", method, r->allow);
                return send_error(r, &e);
        }
        if (is_options)
                return preflight(r);
        if (r->too_large)
                return fail(r, 413, "body_too_large", NULL, "request body is larger than the limit");

        if (r->route->cls == GW_CLASS_PUBLIC) {
                if (strcmp(r->route->path, "/openapi.json") == 0)
                        return serve_openapi(r);
                return serve_version(r);
        }
        if (strcmp(r->route->method, "POST") == 0 &&
            !media_type_json(header_of(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
                return fail(r, 415, "unsupported_media_type", NULL,
                            "send the body as Content-Type: application/json");

        ret = authenticate_or_reply(r);
        if (!r->authenticated)
                return ret;
        cairn_log(DEBUG, "HTTP", "%s %s by %s of %s (%s)", method, url, r->who.principal,
                  r->who.tenant, gw_role_str(r->who.role));
        if (!gw_allowed(r->route->cls, r->who.role)) {
                char msg[160];

                snprintf(msg, sizeof(msg), "role %s may not call %s %s", gw_role_str(r->who.role),
                         r->route->method, r->route->path);
                return fail(r, 403, "permission_denied", NULL, msg);
        }
        if (gw->deps.rl) {
                gw_ratelimit_take(gw->deps.rl, r->who.tenant, r->who.principal, r->route->cls,
                                  &r->rl);
                if (!r->rl.allowed)
                        return r->rl.degraded
                                       ? fail(r, 503, "rate_limiter_unavailable", NULL,
                                              "the rate limiter cannot be reached; try again later")
                                       : fail(r, 429, "rate_limit_exceeded", NULL,
                                              "rate limit reached for this route; retry after "
                                              "the time in Retry-After");
        }

        if (strcmp(r->route->method, "POST") == 0) {
                const char *key = header_of(r, "Idempotency-Key");

                if (key) {
                        struct gw_idem_hit hit;
                        enum gw_idem_state st;

                        if (!gw_idem_key_valid(key))
                                return fail(r, 400, "invalid_idempotency_key", "Idempotency-Key",
                                            "Idempotency-Key must be 1 to 255 printable ASCII "
                                            "characters");
                        snprintf(r->idem_key, sizeof(r->idem_key), "%s", key);
                        gw_api_key_hash(r->body ? r->body : "", r->body_len, r->body_hash);
                        st = gw_idem_begin(gw->deps.redis, r->who.tenant, key, r->body_hash,
                                           gw->hc->idempotency_ttl_s, &hit);
                        switch (st) {
                        case GW_IDEM_NEW:
                                r->idem_claimed = true;
                                break;
                        case GW_IDEM_REPLAY:
                                return send_body(r, hit.status, hit.body, hit.len, JSON_TYPE,
                                                 "Idempotent-Replayed", "true");
                        case GW_IDEM_MISMATCH:
                                return fail(r, 422, "idempotency_key_reused", "Idempotency-Key",
                                            "this Idempotency-Key was used with a different "
                                            "request body");
                        case GW_IDEM_IN_PROGRESS:
                                return fail(r, 409, "idempotency_key_in_use", "Idempotency-Key",
                                            "a request with this Idempotency-Key is still running");
                        case GW_IDEM_UNAVAILABLE:
                                break;
                        }
                }
        }

        if (!atomic_load(&gw->broker_up)) {
                cairn_series_inc(gw->s_overload);
                return fail(r, 503, "broker_unavailable", NULL,
                            "the message broker cannot be reached; try again later");
        }
        if (atomic_fetch_add(&gw->inflight, 1) >= gw->hc->max_inflight) {
                atomic_fetch_sub(&gw->inflight, 1);
                cairn_series_inc(gw->s_overload);
                return fail(r, 503, "overloaded", NULL,
                            "too many requests in flight; try again shortly");
        }
        r->counted = true;
        cairn_series_add(gw->s_inflight, 1);
        if (r->route->cls == GW_CLASS_EMBEDDINGS_CREATE)
                return serve_embeddings(r);
        return serve_models(r);
}

/* ---- libmicrohttpd glue ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        struct gateway *gw = cls;
        struct req *r = *con_cls;
        enum MHD_Result ret;

        (void)version;
        if (!r) {
                /* Headers only: never answer on this first call. */
                const char *rid, *cl, *expect;

                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->gw = gw;
                r->conn = conn;
                r->start_us = cairn_mono_us();
                gw_header_deadline_headers_done(gw->header_deadline, conn);
                rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");
                if (rid && gw_request_id_valid(rid))
                        snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
                else
                        cairn_uuid(r->request_id);
                r->bad_request_id = rid && !gw_request_id_valid(rid);
                r->log_ctx.request_id = r->request_id;
                cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && strtoull(cl, NULL, 10) > (unsigned long long)gw->hc->max_body_bytes)
                        r->too_large = true;
                *con_cls = r;
                expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
                if (r->too_large && expect && strcasestr(expect, "100-continue")) {
                        /* The client waits for our word before sending the
                         * body: refuse it now, it is never sent. */
                        cairn_log_ctx_set(&r->log_ctx);
                        ret = fail(r, 413, "body_too_large", NULL,
                                   "request body is larger than the limit");
                        cairn_log_ctx_set(NULL);
                        return ret;
                }
                return MHD_YES;
        }
        cairn_log_ctx_set(&r->log_ctx);
        if (r->state == ST_BODY && *upload_data_size > 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0;
                r->seen += n;
                if (r->too_large || r->body_len + n > (size_t)gw->hc->max_body_bytes) {
                        r->too_large = true;
                        free(r->body);
                        r->body = NULL;
                        r->body_len = r->body_cap = 0;
                        if (r->seen <= (size_t)gw->hc->max_body_bytes * DISCARD_FACTOR) {
                                /* Read and drop the rest, so the client sees the
                                 * 413 instead of a reset connection. */
                                cairn_log_ctx_set(NULL);
                                return MHD_YES;
                        }
                        /* Far too much: answer now; MHD closes the connection. */
                        ret = fail(r, 413, "body_too_large", NULL,
                                   "request body is larger than the limit");
                        cairn_log_ctx_set(NULL);
                        return ret;
                }
                if (r->body_len + n + 1 > r->body_cap) {
                        size_t cap = r->body_cap ? r->body_cap : 4096;
                        while (cap < r->body_len + n + 1)
                                cap *= 2;
                        r->body = realloc(r->body, cap);
                        if (!r->body)
                                abort();
                        r->body_cap = cap;
                }
                memcpy(r->body + r->body_len, upload_data, n);
                r->body_len += n;
                r->body[r->body_len] = '\0';
                cairn_log_ctx_set(NULL);
                return MHD_YES;
        }
        switch (r->state) {
        case ST_BODY:
                ret = dispatch(r, method, url);
                break;
        case ST_WAIT:
                ret = finish_bus(r);
                break;
        default:
                /* Upload data after an early answer: drop it. */
                *upload_data_size = 0;
                ret = MHD_YES;
                break;
        }
        cairn_log_ctx_set(NULL);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct gateway *gw = cls;
        struct req *r = *con_cls;

        (void)toe;
        gw_header_deadline_request_done(gw->header_deadline, conn);
        if (!r)
                return;
        if (r->idem_claimed)
                gw_idem_finish(r->gw->deps.redis, r->who.tenant, r->idem_key, r->body_hash, 0, 599,
                               NULL, 0);
        release_slot(r);
        if (r->span)
                cairn_trace_http_server_end(r->span, 499); /* the client went away */
        free(r->payload);
        free(r->body);
        free(r);
        *con_cls = NULL;
}

static void *probe_main(void *arg)
{
        struct gateway *gw = arg;
        bool was_up = true;

        while (!atomic_load(&gw->stop)) {
                char why[256] = "";
                bool up = cairn_bus_client_ready(gw->deps.bus, why, sizeof(why));

                atomic_store(&gw->broker_up, up);
                if (up != was_up) {
                        if (up)
                                cairn_log(INFO, "HTTP", "broker reachable again");
                        else
                                cairn_log(WARN, "HTTP", "broker unreachable (%s): answering 503",
                                          why);
                }
                was_up = up;
                for (int i = 0; i < PROBE_INTERVAL_MS / 50 && !atomic_load(&gw->stop); i++)
                        usleep(50 * 1000);
        }
        return NULL;
}

static void metrics_init(struct gateway *gw, struct cairn_metrics *reg)
{
        gw->m_requests = cairn_metrics_counter(reg, "cairn_gateway_requests_total",
                                               "HTTP requests answered, by route and status",
                                               (const char *[]){ "route", "status", NULL });
        gw->m_duration = cairn_metrics_histogram(reg, "cairn_gateway_request_duration_seconds",
                                                 "Time from request headers to answer, by route",
                                                 (const char *[]){ "route", NULL },
                                                 cairn_metrics_latency_buckets,
                                                 cairn_metrics_latency_nbuckets);
        gw->s_inflight = cairn_metric_series(
                cairn_metrics_gauge(reg, "cairn_gateway_inflight",
                                    "Requests waiting on the bus", NULL),
                NULL);
        gw->s_auth_fail = cairn_metric_series(
                cairn_metrics_counter(reg, "cairn_gateway_auth_failures_total",
                                      "Requests refused for missing or bad credentials", NULL),
                NULL);
        gw->s_overload = cairn_metric_series(
                cairn_metrics_counter(reg, "cairn_gateway_shed_total",
                                      "Requests answered 503 before reaching Kafka (in-flight "
                                      "limit or broker down)", NULL),
                NULL);
}

struct gateway *gateway_start(const struct gateway_deps *deps, char *errstr, size_t errstr_size)
{
        struct gateway *gw = calloc(1, sizeof(*gw));
        struct sockaddr_storage ss;
        unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
        const union MHD_DaemonInfo *info;

        if (!gw)
                abort();
        gw->deps = *deps;
        gw->hc = &deps->conf->http;
        atomic_init(&gw->inflight, 0);
        atomic_init(&gw->broker_up, true);
        metrics_init(gw, deps->metrics);
        gw->header_deadline = gw_header_deadline_start(gw->hc->header_timeout_ms, deps->metrics);

        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, gw->hc->address, &sin->sin_addr) == 1) {
                sin->sin_family = AF_INET;
                sin->sin_port = htons((uint16_t)gw->hc->port);
        } else if (inet_pton(AF_INET6, gw->hc->address, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons((uint16_t)gw->hc->port);
                flags |= MHD_USE_IPv6;
        } else {
                snprintf(errstr, errstr_size, "config: http.address: \"%s\" is not an IP address",
                         gw->hc->address);
                gw_header_deadline_stop(gw->header_deadline);
                free(gw);
                return NULL;
        }
        gw->daemon = MHD_start_daemon(
                flags, (uint16_t)gw->hc->port, NULL, NULL, on_request, gw,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)gw->hc->threads,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned int)gw->hc->connection_limit,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)gw->hc->per_ip_connection_limit,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)gw->hc->connection_timeout_s,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(gw->hc->max_header_bytes + 16384),
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw,
                MHD_OPTION_NOTIFY_CONNECTION, gw_header_deadline_notify, gw->header_deadline,
                MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
                MHD_OPTION_END);
        if (!gw->daemon) {
                snprintf(errstr, errstr_size, "http: cannot listen on %s port %lld",
                         gw->hc->address, gw->hc->port);
                gw_header_deadline_stop(gw->header_deadline);
                free(gw);
                return NULL;
        }
        info = MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_BIND_PORT);
        gw->port = info ? info->port : (int)gw->hc->port;
        pthread_create(&gw->probe_thread, NULL, probe_main, gw);
        gw->probe_started = true;
        return gw;
}

int gateway_port(const struct gateway *gw)
{
        return gw->port;
}

bool gateway_broker_up(const struct gateway *gw)
{
        return atomic_load(&gw->broker_up);
}

void gateway_drain(struct gateway *gw, long long grace_ms)
{
        int64_t until = cairn_mono_us() + grace_ms * 1000;

        MHD_quiesce_daemon(gw->daemon);
        atomic_store(&gw->stop, true);
        if (gw->probe_started)
                pthread_join(gw->probe_thread, NULL);
        gw->probe_started = false;
        while (atomic_load(&gw->inflight) > 0 && cairn_mono_us() < until)
                usleep(10 * 1000);
}

void gateway_stop(struct gateway *gw)
{
        if (!gw)
                return;
        atomic_store(&gw->stop, true);
        if (gw->probe_started)
                pthread_join(gw->probe_thread, NULL);
        MHD_stop_daemon(gw->daemon);
        gw_header_deadline_stop(gw->header_deadline);
        free(gw);
}

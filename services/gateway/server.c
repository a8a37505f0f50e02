/* The gateway's HTTP server on libmicrohttpd: reads each request's headers
 * and body (bounded), hands the complete request to the pipeline, resumes
 * requests whose upstream call ended, and frees each request when its
 * connection is done with it. Also the server's lifecycle: the route table
 * resolved against the configuration, the OpenAPI document built once, the
 * broker probe, drain and stop.
 *
 * Threads: handlers run on MHD's event-loop threads (http.threads); bus
 * callbacks run on the bus client's threads and only copy the outcome and
 * resume; the broker probe and the header deadline's sweeper run on threads
 * of their own. A request waiting on Kafka holds no thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/trace.h"
#include "deadline.h"
#include "framing.h"
#include "idem.h"
#include "listener.h"
#include "openapi.h"
#include "request.h"

#define PROBE_INTERVAL_MS 1000
#define LISTEN_BACKLOG    1024
/* A chunked body over the limit is read and dropped up to this many times
 * the limit before its 413; beyond, the connection is closed. */
#define DISCARD_FACTOR 8
/* More headers than this get 431. */
#define GW_HEADERS_MAX 128

/* What each row resolves to under the configuration, and the document. */
static bool routes_resolve(struct gateway *gw, char *errstr, size_t errstr_size)
{
        const struct gateway_conf *conf = gw->deps.conf;
        size_t n = 0;

        while (gw->routes[n].method)
                n++;
        gw->rt = calloc(n ? n : 1, sizeof(*gw->rt));
        if (!gw->rt)
                abort();
        for (size_t i = 0; i < n; i++) {
                const struct gw_route *row = &gw->routes[i];

                gw->rt[i].timeout_ms = gateway_conf_timeout_ms(conf, row);
                gw->rt[i].limits = gateway_conf_limits(conf, row->cls);
                gw->rt[i].topic = row->service ? gateway_conf_topic(conf, row->service) : NULL;
                gw->rt[i].max_body_bytes = gateway_conf_max_body_bytes(conf, row);
                if (row->service && !gw->rt[i].topic) {
                        snprintf(errstr, errstr_size,
                                 "route %s %s: no topic for service %s (the configuration was "
                                 "loaded for another route table)",
                                 row->method, row->path, row->service);
                        free(gw->rt);
                        return false;
                }
        }
        gw->openapi = gw_openapi_render(gw->routes, &gw->openapi_len, errstr, errstr_size);
        if (!gw->openapi) {
                free(gw->rt);
                return false;
        }
        return true;
}

static void gateway_free(struct gateway *gw)
{
        free(gw->rt);
        free(gw->openapi);
        free(gw);
}

static struct gw_req *req_alloc(struct gateway *gw)
{
        struct gw_req *r = malloc(sizeof(*r));

        if (!r)
                abort();
        memset(r, 0, offsetof(struct gw_req, st)); /* the rest: see request.h */
        r->gw = gw;
        r->start_us = cairn_mono_us();
        return r;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the only place that sees the request target
 * before libmicrohttpd decodes it (%2F would become a '/'). Its result is
 * the request's *con_cls, so the request starts here. */
static void *on_target(void *cls, const char *uri, struct MHD_Connection *conn)
{
        struct gw_req *r = req_alloc(cls);
        bool escaped_slash;

        (void)conn;
        r->target_refusal = gw_target_check(uri, &escaped_slash);
        /* Routes match the path as sent: MHD's decoded URL would have
         * routes decode it a second time (%2541 read as 'A'). */
        if (!r->target_refusal) {
                r->path = strndup(uri, strcspn(uri, "?#"));
                if (!r->path)
                        abort();
                /* %2F only inside a capture of a row that takes it (workflow
                 * ids): anywhere else it is refused as before */
                if (escaped_slash && !gw_route_path_known(r->gw->routes, r->path))
                        r->target_refusal = GW_TARGET_ESCAPED_SLASH;
        }
        return r;
}

/* The first call: the connection, and its clock. */
static void req_start(struct gw_req *r, struct MHD_Connection *conn)
{
        r->conn = conn;
        r->watch = gw_deadline_headers_done(r->gw->deadline, conn);
}

/* The request id: the client's when it is valid, else a new one. */
static void req_id_set(struct gw_req *r)
{
        const char *rid = r->hv[GW_H_REQUEST_ID];

        if (rid && gw_request_id_valid(rid))
                snprintf(r->request_id, sizeof(r->request_id), "%s", rid);
        else
                cairn_uuid(r->request_id);
        r->bad_request_id = rid && !gw_request_id_valid(rid);
        r->log_ctx.request_id = r->request_id;
}

struct header_list {
        struct gw_header_view h[GW_HEADERS_MAX];
        size_t n;
        bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
        struct header_list *l = cls;

        (void)kind;
        if (l->n == GW_HEADERS_MAX) {
                l->overflow = true;
                return MHD_NO;
        }
        l->h[l->n++] = (struct gw_header_view){ key, key_size, value ? value : "",
                                                value ? value_size : 0 };
        return MHD_YES;
}

/* Answers @p e at once and closes the connection: a body, if any, is never
 * read. */
static enum MHD_Result refuse(struct gw_req *r, struct gw_error *e)
{
        r->close = true;
        return gw_send_error(r, e);
}

/* The first call, headers only: the target, the framing, and for a request
 * with a body everything the headers decide, so that a refused request
 * never has its body read. A request without a body is answered on the next
 * call: answering on the first makes libmicrohttpd close the connection. */
static enum MHD_Result on_headers(struct gw_req *r, const char *method, const char *url,
                                  const char *version)
{
        struct gateway *gw = r->gw;
        struct header_list hl; /* only the first hl.n are read */
        struct gw_framing f;
        struct gw_error e;
        enum MHD_Result ret;
        bool framed;

        hl.n = 0;
        hl.overflow = false;
        MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, collect_header, &hl);
        framed = gw_framing_check(hl.h, hl.n, version, &f, &e);
        memcpy(r->hv, f.known, sizeof(r->hv));
        r->header_bytes = f.header_bytes;
        req_id_set(r);
        cairn_log_ctx_set(&r->log_ctx);
        if (r->target_refusal) {
                gw_error_set(&e, 400, "invalid_path", NULL, "%s", r->target_refusal);
                return refuse(r, &e);
        }
        if (hl.overflow) {
                gw_error_set(&e, 431, "headers_too_large", NULL, "more than %d request headers",
                             GW_HEADERS_MAX);
                return refuse(r, &e);
        }
        if (!framed)
                return refuse(r, &e);
        r->declared_body = f.chunked || f.length > 0;
        r->declared_length = f.length;
        /* the route's limit (http.max_body_bytes unless it has its own) is
         * checked by the pipeline, which finds the route */
        if (!r->declared_body)
                return MHD_YES;
        ret = gw_pipeline_head(r, method, r->path ? r->path : url);
        if (!r->head_done) {
                r->close = true; /* MHD closes anyway: the body is unread */
                return ret;
        }
        gw_deadline_body_begin(gw->deadline, r->watch);
        return MHD_YES;
}

/* A piece of the body: kept up to the limit. Beyond it (chunked, so not
 * known from the headers) the rest is read and dropped and the 413 comes at
 * the end: libmicrohttpd 0.9.75 cannot answer in the middle of a body. */
static enum MHD_Result on_body(struct gw_req *r, const char *data, size_t n)
{
        /* the pipeline found the route of every body read */
        size_t max = (size_t)(r->rt ? r->rt->max_body_bytes : r->gw->hc->max_body_bytes);

        gw_deadline_body_add(r->watch, n);
        r->received += n;
        if (r->too_large || r->body_len + n > max) {
                r->too_large = true;
                free(r->body);
                r->body = NULL;
                r->body_len = r->body_cap = 0;
                /* far too much: close without an answer */
                return r->received <= max * DISCARD_FACTOR ? MHD_YES : MHD_NO;
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
        memcpy(r->body + r->body_len, data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct gateway *gw = cls;
        struct gw_req *r = *con_cls;
        enum MHD_Result ret;

        if (!r) /* the target callback always runs first; never here */
                *con_cls = r = req_alloc(gw);
        if (!r->conn) {
                req_start(r, conn);
                ret = on_headers(r, method, url, version);
        } else if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0; /* after an answer: dropped */
                cairn_log_ctx_set(&r->log_ctx);
                ret = r->state == GW_ST_BODY ? on_body(r, upload_data, n) : MHD_YES;
        } else {
                cairn_log_ctx_set(&r->log_ctx);
                switch (r->state) {
                case GW_ST_BODY:
                        if (r->declared_body)
                                gw_deadline_body_done(gw->deadline, r->watch);
                        ret = gw_pipeline_run(r, method, r->path ? r->path : url);
                        break;
                case GW_ST_OFFLOAD:
                        ret = gw_upstream_offloaded(r);
                        break;
                case GW_ST_WAIT:
                        ret = gw_upstream_finish(r);
                        break;
                case GW_ST_RENDER:
                        ret = gw_upstream_rendered(r);
                        break;
                default:
                        ret = MHD_YES;
                        break;
                }
        }
        cairn_log_ctx_set(NULL);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct gateway *gw = cls;
        struct gw_req *r = *con_cls;

        (void)toe;
        gw_deadline_request_done(gw->deadline, conn);
        if (!r)
                return;
        if (r->idem_claimed)
                gw_idem_finish(r->gw->deps.redis, r->who.tenant, r->idem_key, r->body_hash, 0, 599,
                               NULL, 0);
        gw_upstream_release_slot(r);
        gw_upstream_release_msg(r);
        if (r->span)
                cairn_trace_http_server_end(r->span, 499); /* the client went away */
        gw_page_stream_free(r->page);
        if (r->page_req)
                protobuf_c_message_free_unpacked(r->page_req, NULL);
        if (r->reply_msg)
                protobuf_c_message_free_unpacked(r->reply_msg, NULL);
        free(r->rendered);
        free(r->payload);
        free(r->body);
        free(r->bearer);
        free(r->path);
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
        gw->s_inflight = cairn_metric_series(cairn_metrics_gauge(reg, "cairn_gateway_inflight",
                                                                 "Requests waiting on the bus",
                                                                 NULL),
                                             NULL);
        gw->s_auth_fail = cairn_metric_series(
                cairn_metrics_counter(reg, "cairn_gateway_auth_failures_total",
                                      "Requests refused for missing or bad credentials", NULL),
                NULL);
        gw->s_overload = cairn_metric_series(
                cairn_metrics_counter(reg, "cairn_gateway_shed_total",
                                      "Requests answered 503 before reaching Kafka (in-flight "
                                      "limit or broker down)",
                                      NULL),
                NULL);
}

struct gateway *gateway_start(const struct gateway_deps *deps, char *errstr, size_t errstr_size)
{
        struct gateway *gw = calloc(1, sizeof(*gw));
        /* connections come from the listener's accept thread */
        unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                             MHD_USE_NO_LISTEN_SOCKET;

        if (!gw)
                abort();
        gw->deps = *deps;
        gw->hc = &deps->conf->http;
        gw->routes = deps->routes;
        if (!routes_resolve(gw, errstr, errstr_size)) {
                free(gw);
                return NULL;
        }
        atomic_init(&gw->inflight, 0);
        atomic_init(&gw->broker_up, true);
        metrics_init(gw, deps->metrics);
        gw->deadline = gw_deadline_start(
                &(struct gw_deadline_limits){ .header_timeout_ms = gw->hc->header_timeout_ms,
                                              .body_grace_ms = gw->hc->body_grace_ms,
                                              .body_min_rate = gw->hc->body_min_rate },
                deps->metrics);

        gw->listener = gw_listener_open(gw->hc->address, gw->hc->port, LISTEN_BACKLOG, errstr,
                                        errstr_size);
        if (!gw->listener) {
                gw_deadline_stop(gw->deadline);
                gateway_free(gw);
                return NULL;
        }
        gw->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, gw,
                                      MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)gw->hc->threads,
                                      MHD_OPTION_CONNECTION_LIMIT,
                                      (unsigned int)gw->hc->connection_limit,
                                      MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                      (unsigned int)gw->hc->per_ip_connection_limit,
                                      MHD_OPTION_CONNECTION_TIMEOUT,
                                      (unsigned int)gw->hc->connection_timeout_s,
                                      MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                      (size_t)(gw->hc->max_header_bytes + 16384),
                                      MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw,
                                      MHD_OPTION_NOTIFY_CONNECTION, gw_deadline_notify,
                                      gw->deadline, MHD_OPTION_URI_LOG_CALLBACK, on_target, gw,
                                      MHD_OPTION_END);
        if (!gw->daemon) {
                snprintf(errstr, errstr_size, "http: cannot start the server on %s port %lld",
                         gw->hc->address, gw->hc->port);
                gw_listener_free(gw->listener);
                gw_deadline_stop(gw->deadline);
                gateway_free(gw);
                return NULL;
        }
        gw->port = gw_listener_port(gw->listener);
        gw_listener_start(gw->listener, gw->daemon, (unsigned int)gw->hc->connection_limit);
        pthread_create(&gw->probe_thread, NULL, probe_main, gw);
        gw->probe_started = true;
        return gw;
}

int gateway_port(const struct gateway *gw)
{
        return gw->port;
}

void gateway_drain(struct gateway *gw, long long grace_ms)
{
        int64_t until = cairn_mono_us() + grace_ms * 1000;

        gw_listener_close(gw->listener); /* new connections are refused */
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
        gw_listener_free(gw->listener); /* before the daemon it adds connections to */
        MHD_stop_daemon(gw->daemon);
        gw_deadline_stop(gw->deadline);
        gateway_free(gw);
}

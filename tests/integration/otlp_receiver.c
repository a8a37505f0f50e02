/* The test suite's OTLP/HTTP receiver: what a collector would see of the
 * spans our processes export. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "otlp_receiver.h"

#define BODY_MAX (64 << 20)

struct upload {
        char *p;
        size_t len, cap;
        bool toobig;
};

static void copy_str(char *dst, size_t size, json_t *js)
{
        const char *s = json_string_value(js);

        snprintf(dst, size, "%s", s ? s : "");
}

static void attr_value(json_t *v, char *out, size_t size)
{
        json_t *x;

        out[0] = '\0';
        if ((x = json_object_get(v, "stringValue")))
                copy_str(out, size, x);
        else if ((x = json_object_get(v, "intValue")))
                json_is_string(x)
                        ? copy_str(out, size, x)
                        : (void)snprintf(out, size, "%lld", (long long)json_integer_value(x));
        else if ((x = json_object_get(v, "boolValue")))
                snprintf(out, size, "%s", json_is_true(x) ? "true" : "false");
}

static void add_span(struct otlp_receiver *r, const char *service, json_t *js)
{
        struct otlp_span s;
        json_t *a;
        size_t i;

        memset(&s, 0, sizeof(s));
        snprintf(s.service, sizeof(s.service), "%s", service);
        copy_str(s.trace_id, sizeof(s.trace_id), json_object_get(js, "traceId"));
        copy_str(s.span_id, sizeof(s.span_id), json_object_get(js, "spanId"));
        copy_str(s.parent_span_id, sizeof(s.parent_span_id), json_object_get(js, "parentSpanId"));
        copy_str(s.name, sizeof(s.name), json_object_get(js, "name"));
        s.kind = (int)json_integer_value(json_object_get(js, "kind"));
        s.status_code = (int)json_integer_value(
                json_object_get(json_object_get(js, "status"), "code"));
        copy_str(s.status_msg, sizeof(s.status_msg),
                 json_object_get(json_object_get(js, "status"), "message"));
        json_array_foreach(json_object_get(js, "attributes"), i, a) {
                if (s.nattrs == OTLP_MAX_ATTRS)
                        break;
                copy_str(s.attr_key[s.nattrs], sizeof(s.attr_key[0]), json_object_get(a, "key"));
                attr_value(json_object_get(a, "value"), s.attr_val[s.nattrs],
                           sizeof(s.attr_val[0]));
                s.nattrs++;
        }
        if (r->nspans == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 64;
                r->spans = realloc(r->spans, r->cap * sizeof(*r->spans));
                if (!r->spans)
                        abort();
        }
        r->spans[r->nspans++] = s;
}

/* Returns false when the body is not an ExportTraceServiceRequest. */
static bool ingest(struct otlp_receiver *r, const char *body, size_t len)
{
        json_error_t err;
        json_t *req, *rs, *ss, *sp;
        size_t i, j, k;

        if (!r->keep) {
                /* Benchmarks: count spans without building the tree. */
                size_t n = 0;
                const char *p = body, *end = body + len;

                while ((p = memmem(p, (size_t)(end - p), "\"spanId\"", 8))) {
                        n++;
                        p += 8;
                }
                pthread_mutex_lock(&r->lock);
                r->counted += n;
                pthread_mutex_unlock(&r->lock);
                return n > 0;
        }
        req = json_loadb(body, len, 0, &err);
        if (!req || !json_is_array(json_object_get(req, "resourceSpans"))) {
                json_decref(req);
                return false;
        }
        pthread_mutex_lock(&r->lock);
        json_array_foreach(json_object_get(req, "resourceSpans"), i, rs) {
                char service[64] = "";
                json_t *a;
                size_t m;

                json_array_foreach(json_object_get(json_object_get(rs, "resource"), "attributes"),
                                   m, a)
                        if (json_is_string(json_object_get(a, "key")) &&
                            strcmp(json_string_value(json_object_get(a, "key")), "service.name") ==
                                    0)
                                copy_str(service, sizeof(service),
                                         json_object_get(json_object_get(a, "value"),
                                                         "stringValue"));
                json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
                        json_array_foreach(json_object_get(ss, "spans"), k, sp) {
                                add_span(r, service, sp);
                                r->counted++;
                        }
        }
        pthread_mutex_unlock(&r->lock);
        json_decref(req);
        return true;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *body)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                                    MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret;

        MHD_add_response_header(resp, "Content-Type", "application/json");
        ret = MHD_queue_response(conn, code, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls)
{
        struct otlp_receiver *r = cls;
        struct upload *up = *con_cls;

        (void)version;
        if (!up) {
                up = calloc(1, sizeof(*up));
                if (!up)
                        return MHD_NO;
                *con_cls = up;
                return MHD_YES;
        }
        if (*data_size) {
                if (up->len + *data_size > BODY_MAX) {
                        up->toobig = true;
                } else {
                        if (up->len + *data_size + 1 > up->cap) {
                                up->cap = (up->len + *data_size + 1) * 2;
                                up->p = realloc(up->p, up->cap);
                                if (!up->p)
                                        abort();
                        }
                        memcpy(up->p + up->len, data, *data_size);
                        up->len += *data_size;
                }
                *data_size = 0;
                return MHD_YES;
        }
        pthread_mutex_lock(&r->lock);
        r->requests++;
        pthread_mutex_unlock(&r->lock);
        if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/traces") != 0)
                return answer(conn, 404, "{}");
        if (up->toobig || !up->p || !ingest(r, up->p, up->len)) {
                pthread_mutex_lock(&r->lock);
                r->bad_requests++;
                pthread_mutex_unlock(&r->lock);
                return answer(conn, 400, "{}");
        }
        return answer(conn, 200, "{}");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        struct upload *up = *con_cls;

        (void)cls;
        (void)conn;
        (void)toe;
        if (up) {
                free(up->p);
                free(up);
                *con_cls = NULL;
        }
}

void otlp_receiver_start(struct otlp_receiver *r, bool keep)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = 0,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        const union MHD_DaemonInfo *info;

        memset(r, 0, sizeof(*r));
        r->keep = keep;
        pthread_mutex_init(&r->lock, NULL);
        r->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                     NULL, handler, r, MHD_OPTION_SOCK_ADDR, &sa,
                                     MHD_OPTION_NOTIFY_COMPLETED, completed, r,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
        ck_assert_msg(r->daemon != NULL, "OTLP receiver did not start");
        info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
        ck_assert_ptr_nonnull(info);
        r->port = info->port;
}

void otlp_receiver_stop(struct otlp_receiver *r)
{
        if (r->daemon) {
                MHD_stop_daemon(r->daemon);
                r->daemon = NULL;
        }
}

void otlp_receiver_free(struct otlp_receiver *r)
{
        otlp_receiver_stop(r);
        free(r->spans);
        r->spans = NULL;
        r->nspans = r->cap = 0;
        pthread_mutex_destroy(&r->lock);
}

void otlp_receiver_endpoint(const struct otlp_receiver *r, char *buf, size_t size)
{
        snprintf(buf, size, "http://127.0.0.1:%d", r->port);
}

const char *otlp_span_attr(const struct otlp_span *s, const char *key)
{
        for (size_t i = 0; i < s->nattrs; i++)
                if (strcmp(s->attr_key[i], key) == 0)
                        return s->attr_val[i];
        return NULL;
}

bool otlp_receiver_wait(struct otlp_receiver *r, const char *service, const char *key,
                        const char *value, struct otlp_span *out, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;

        for (;;) {
                pthread_mutex_lock(&r->lock);
                for (size_t i = 0; i < r->nspans; i++) {
                        const struct otlp_span *s = &r->spans[i];
                        const char *v = otlp_span_attr(s, key);

                        if ((!service || strcmp(s->service, service) == 0) && v &&
                            strcmp(v, value) == 0) {
                                *out = *s;
                                pthread_mutex_unlock(&r->lock);
                                return true;
                        }
                }
                pthread_mutex_unlock(&r->lock);
                if (cairn_mono_us() >= until)
                        return false;
                nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
        }
}

size_t otlp_receiver_count(struct otlp_receiver *r)
{
        size_t n;

        pthread_mutex_lock(&r->lock);
        n = r->counted;
        pthread_mutex_unlock(&r->lock);
        return n;
}

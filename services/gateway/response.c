/* Writing a request's answer: the headers every answer carries (request id,
 * rate limits, CORS), errors in the route's style, CORS preflights, the
 * idempotency record, and the metrics and span of the request. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/trace.h"
#include "cairn/strlist.h"
#include "idem.h"
#include "request.h"
#include "sealing.h"

#define JSON_TYPE "application/json"
#define EXPOSED_HEADERS \
        "X-Request-ID, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After"
#define ALLOWED_HEADERS \
        "Authorization, Content-Type, X-API-Key, X-Vault-Token, X-Request-ID, Idempotency-Key, OpenAI-Organization, OpenAI-Project"

const struct gw_adapter *gw_req_adapter(const struct gw_req *r)
{
        return r->route && r->route->adapter ? r->route->adapter : &gw_proto_json;
}

/* The CORS origin to allow for this request, or NULL. */
static const char *cors_origin(struct gw_req *r)
{
        const char *origin = r->hv[GW_H_ORIGIN];
        const char *list = r->gw->hc->cors_origins;
        struct cairn_strlist it;
        const char *o;
        size_t n, olen;

        if (!origin || !list || !list[0])
                return NULL;
        olen = strlen(origin);
        cairn_strlist_init(&it, list, strlen(list));
        while (cairn_strlist_next(&it, &o, &n))
                if ((n == 1 && o[0] == '*') || (n == olen && strncasecmp(o, origin, n) == 0))
                        return origin;
        return NULL;
}

static void add_common_headers(struct gw_req *r, struct MHD_Response *resp, int status)
{
        char num[32];
        const char *origin;

        MHD_add_response_header(resp, "X-Request-ID", r->request_id);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (r->close)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
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

void gw_observe(struct gw_req *r, int status)
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
/* Queues @p resp (destroyed here) with the headers every answer carries. */
static enum MHD_Result queue(struct gw_req *r, int status, struct MHD_Response *resp,
                             const char *content_type, const char *extra_name,
                             const char *extra_value)
{
        enum MHD_Result ret;

        if (content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        add_common_headers(r, resp, status);
        if (extra_name)
                MHD_add_response_header(resp, extra_name, extra_value);
        ret = MHD_queue_response(r->conn, (unsigned int)status, resp);
        MHD_destroy_response(resp);
        r->state = GW_ST_DONE;
        gw_observe(r, status);
        if (status >= 500)
                cairn_log(WARN, "HTTP", "%s answered %d in %.1f ms",
                          r->route ? r->route->path : "request", status,
                          (double)(cairn_mono_us() - r->start_us) / 1000.0);
        return ret;
}

enum MHD_Result gw_send_body(struct gw_req *r, int status, char *body, size_t len,
                             const char *content_type, const char *extra_name,
                             const char *extra_value)
{
        struct MHD_Response *resp;

        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        return queue(r, status, resp, content_type, extra_name, extra_value);
}

/* Frees a body that held a secret's plaintext, wiped first. */
static void free_wiped(void *body)
{
        gw_sealing_wipe(body, malloc_usable_size(body));
}

enum MHD_Result gw_send_secret_body(struct gw_req *r, int status, char *body, size_t len)
{
        struct MHD_Response *resp;

        resp = MHD_create_response_from_buffer_with_free_callback(len, body, free_wiped);
        if (!resp) {
                free_wiped(body);
                return MHD_NO;
        }
        return queue(r, status, resp, JSON_TYPE, NULL, NULL);
}

enum MHD_Result gw_queue_response(struct gw_req *r, int status, struct MHD_Response *resp,
                                  const char *content_type)
{
        return queue(r, status, resp, content_type, NULL, NULL);
}

/* Stores the answer under the idempotency key when this request claimed one. */
void gw_idem_store(struct gw_req *r, int status, const char *body, size_t len)
{
        if (!r->idem_claimed)
                return;
        r->idem_claimed = false;
        gw_idem_finish(r->gw->deps.redis, r->who.tenant, r->idem_key, r->body_hash,
                       r->gw->hc->idempotency_ttl_s, status, body, len);
}

enum MHD_Result gw_send_error(struct gw_req *r, const struct gw_error *e)
{
        size_t len;
        /* Local routes, like requests that match none, answer in the default style. */
        enum gw_error_style style = r->route && !r->route->local ? gw_req_adapter(r)->errors
                                                                 : GW_ERRORS_OPENAI;
        int status = e->status;
        char *body = style == GW_ERRORS_STATUS           ? gw_error_status_json(e, &len)
                     : style == GW_ERRORS_VAULT          ? gw_error_vault_json(e, &status, &len)
                     : style == GW_ERRORS_LIBRETRANSLATE ? gw_error_lt_json(e, &status, &len)
                                                         : gw_error_json(e, r->request_id, &len);
        const char *xname = NULL;
        char xval[512];

        if (e->status >= 400 && e->status != 404)
                cairn_log(INFO, "HTTP", "%s: %d %s (param %s)",
                          r->route ? r->route->path : "request", e->status, e->message,
                          e->param[0] ? e->param : "-");
        gw_idem_store(r, status, body, len);
        if (status == 401) {
                /* RFC 6750: the error code only when a credential was presented. */
                xname = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
                if (e->code && strcmp(e->code, "missing_credentials") != 0)
                        snprintf(
                                xval, sizeof(xval),
                                "Bearer realm=\"cairn\", error=\"%s\", error_description=\"%.300s\"",
                                e->code, e->message);
                else
                        snprintf(xval, sizeof(xval), "Bearer realm=\"cairn\"");
        } else if (e->status == 405) {
                xname = MHD_HTTP_HEADER_ALLOW;
                snprintf(xval, sizeof(xval), "%s", r->allow);
        }
        return gw_send_body(r, status, body, len, JSON_TYPE, xname, xval);
}

enum MHD_Result gw_fail(struct gw_req *r, int status, const char *code, const char *param,
                        const char *msg)
{
        struct gw_error e;

        gw_error_set(&e, status, code, param, "%s", msg);
        return gw_send_error(r, &e);
}

enum MHD_Result gw_send_preflight(struct gw_req *r)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL,
                                                                    MHD_RESPMEM_PERSISTENT);
        const char *origin = cors_origin(r);
        char allow[128], age[32];
        enum MHD_Result ret;

        if (!resp)
                return MHD_NO;
        /* r->allow: filled by the pipeline for this path */
        snprintf(allow, sizeof(allow), "%s", r->allow);
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
        r->state = GW_ST_DONE;
        gw_observe(r, 204);
        return ret;
}

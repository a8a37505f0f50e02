/* The checks every request goes through, in one order, read off its route
 * row: request id, header size, route and method, CORS preflight, body size,
 * local answers, media type, credentials (from the body where the row's
 * adapter reads them there), permission, rate limit, idempotency,
 * backpressure; then the row's upstream call. Nothing here
 * knows a path or a service. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/trace.h"
#include "idem.h"
#include "request.h"

#define JSON_TYPE "application/json"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif

/* True when Content-Type @p ct names @p want (parameters aside). */
static bool media_type_is(const char *ct, const char *want)
{
        size_t n, wlen = strlen(want);

        while (*ct == ' ')
                ct++;
        n = strcspn(ct, "; ");
        if (n != wlen || strncasecmp(ct, want, wlen) != 0)
                return false;
        /* A charset, when given, must be UTF-8 (RFC 8259). */
        const char *cs = strcasestr(ct, "charset=");
        if (cs) {
                bool quoted;

                cs += 8;
                quoted = *cs == '"';
                cs += quoted;
                if (strncasecmp(cs, "utf-8", 5) != 0)
                        return false;
                cs += 5;
                if (quoted && *cs++ != '"')
                        return false;
                /* the whole value: utf-8x is another charset */
                return *cs == '\0' || *cs == ';' || *cs == ' ' || *cs == '\t';
        }
        return true;
}

/* The body's media type is one the adapter reads, else the row's (JSON
 * unless it names another); a body without one passes where the adapter
 * says its clients send none. */
static bool media_type_fits(const struct gw_req *r)
{
        const struct gw_adapter *ad = gw_req_adapter(r);
        const char *ct = r->hv[GW_H_CONTENT_TYPE];

        if (!ct)
                return ad->untyped_body_ok;
        if (ad->media_types) {
                for (const char *const *m = ad->media_types; *m; m++)
                        if (media_type_is(ct, *m))
                                return true;
                return false;
        }
        return media_type_is(ct, r->route->media_type ? r->route->media_type : JSON_TYPE);
}

/* The 415 naming the media types the route reads. */
static enum MHD_Result media_type_refused(struct gw_req *r)
{
        const struct gw_adapter *ad = gw_req_adapter(r);
        char types[256] = "";
        struct gw_error e;

        if (ad->media_types)
                for (const char *const *m = ad->media_types; *m; m++)
                        snprintf(types + strlen(types), sizeof(types) - strlen(types), "%s%s",
                                 m == ad->media_types ? "" : " or ", *m);
        else
                snprintf(types, sizeof(types), "%s",
                         r->route->media_type ? r->route->media_type : JSON_TYPE);
        gw_error_set(&e, 415, "unsupported_media_type", NULL, "send the body as Content-Type: %s",
                     types);
        return gw_send_error(r, &e);
}

/* True when the headers carry a credential of any kind. */
static bool header_credential(const struct gw_req *r)
{
        const char *h[] = { r->hv[GW_H_AUTHORIZATION], r->hv[GW_H_API_KEY],
                            r->hv[GW_H_VAULT_TOKEN] };

        for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
                if (h[i] && h[i][0])
                        return true;
        return false;
}

/* Methods whose requests carry a JSON body. */
static bool method_has_body(const char *method)
{
        return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0;
}

static bool body_over_route_limit(const struct gw_req *r, unsigned long long len)
{
        return r->rt->max_body_bytes && len > (unsigned long long)r->rt->max_body_bytes;
}

static enum MHD_Result authenticate_or_reply(struct gw_req *r)
{
        const char *authorization = r->hv[GW_H_AUTHORIZATION];
        struct gw_auth_error why;
        cairn_err_t err;

        /* Vault's clients send their token as X-Vault-Token; a credential
         * read from the body (r->bearer, LibreTranslate's api_key) is there
         * already */
        if (!authorization || !authorization[0]) {
                if (!r->bearer)
                        r->bearer = gw_auth_bearer(r->hv[GW_H_VAULT_TOKEN]);
                authorization = r->bearer;
        }
        err = gw_auth_check(r->gw->deps.auth, authorization, r->hv[GW_H_API_KEY],
                            cairn_now_ms() / 1000, &r->who, &why);
        if (err == CAIRN_OK) {
                r->authenticated = true;
                return MHD_YES;
        }
        cairn_series_inc(r->gw->s_auth_fail);
        /* The reason is logged; the credential never is. */
        cairn_log(INFO, "AUTH", "%s: credentials refused: %s", r->route->path, why.reason);
        return gw_fail(r, 401, why.code ? why.code : "missing_credentials", NULL,
                       why.code ? why.reason
                                : "no credentials: send Authorization: Bearer <token or API key> "
                                  "(or X-Vault-Token: <token or API key>)");
}

/* Credentials, permission and rate limit: true when the request may go
 * on; otherwise false with the answer queued (*@p ret). */
static bool admitted_or_reply(struct gw_req *r, enum MHD_Result *ret)
{
        struct gateway *gw = r->gw;

        *ret = authenticate_or_reply(r);
        if (!r->authenticated)
                return false;
        cairn_log(DEBUG, "HTTP", "%s %s by %s of %s (%s)", r->route->method,
                  r->path ? r->path : r->route->path, r->who.principal, r->who.tenant,
                  gw_role_str(r->who.role));
        if (!gw_class_allows(r->route->cls, r->who.role)) {
                char msg[160];

                snprintf(msg, sizeof(msg), "role %s may not call %s %s", gw_role_str(r->who.role),
                         r->route->method, r->route->path);
                *ret = gw_fail(r, 403, "permission_denied", NULL, msg);
                return false;
        }
        if (gw->deps.rl) {
                gw_ratelimit_take(gw->deps.rl, r->who.tenant, r->who.principal, r->route->cls->name,
                                  r->rt->limits, &r->rl);
                if (!r->rl.allowed) {
                        *ret = r->rl.degraded
                                       ? gw_fail(r, 503, "rate_limiter_unavailable", NULL,
                                                 "the rate limiter cannot be reached; try again later")
                                       : gw_fail(r, 429, "rate_limit_exceeded", NULL,
                                                 "rate limit reached for this route; retry after "
                                                 "the time in Retry-After");
                        return false;
                }
        }
        return true;
}

enum MHD_Result gw_pipeline_head(struct gw_req *r, const char *method, const char *url)
{
        struct gateway *gw = r->gw;
        size_t header_bytes = strlen(url) + strlen(method) + 12 + r->header_bytes;
        bool is_options = strcmp(method, "OPTIONS") == 0;
        bool path_known;
        enum MHD_Result ret;

        /* GET ?list=true is a LIST where the path has one (Vault's clients) */
        method = gw_route_method(gw->routes, method, url,
                                 MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                                             "list"));
        r->route = gw_route_find(gw->routes, method, url, &path_known, &r->caps);
        if (r->route) {
                r->rt = &gw->rt[r->route - gw->routes];
                r->route_label = r->route->path;
        } else if (path_known) {
                /* the template of the path, for the metrics */
                for (const struct gw_route *rt = gw->routes; rt->method && !r->route_label; rt++)
                        if (gw_route_match(rt, url, NULL))
                                r->route_label = rt->path;
        }
        r->span = cairn_trace_http_server_start(method, r->route_label, url,
                                                r->hv[GW_H_TRACEPARENT], r->hv[GW_H_TRACESTATE],
                                                r->hv[GW_H_HOST], r->hv[GW_H_USER_AGENT]);
        if (r->span) {
                r->log_ctx.trace_id = r->span->trace_id_hex;
                r->log_ctx.span_id = r->span->span_id_hex;
                cairn_log_ctx_set(&r->log_ctx);
        }

        if (r->bad_request_id)
                return gw_fail(r, 400, "invalid_request_id", "X-Request-ID",
                               "X-Request-ID must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
        if (header_bytes > (size_t)gw->hc->max_header_bytes)
                return gw_fail(r, 431, "headers_too_large", NULL,
                               "request headers are larger than the limit");
        if (!r->route_label)
                return gw_fail(r, 404, "unknown_route", NULL, "no such route");
        if (!r->route || is_options) /* 405's Allow, the preflight's */
                gw_route_allow(gw->routes, url, r->allow, sizeof(r->allow));
        if (!r->route) {
                struct gw_error e;

                gw_error_set(&e, 405, "method_not_allowed", NULL,
                             "method %s is not allowed here; allowed: %s", method, r->allow);
                return gw_send_error(r, &e);
        }
        if (is_options)
                return gw_send_preflight(r);
        if (r->too_large || body_over_route_limit(r, r->declared_length))
                return gw_fail(r, 413, "body_too_large", NULL,
                               "request body is larger than the limit");
        if (r->route->cls->public_route) {
                r->head_done = true;
                return MHD_YES;
        }
        if (method_has_body(r->route->method) && !media_type_fits(r))
                return media_type_refused(r);
        if (gw_req_adapter(r)->credential && !header_credential(r)) {
                /* LibreTranslate's clients send api_key in the body: it is
                 * checked once the body is in (gw_pipeline_run) */
                r->auth_deferred = true;
                r->head_done = true;
                return MHD_YES;
        }
        if (!admitted_or_reply(r, &ret))
                return ret;
        r->head_done = true;
        return MHD_YES;
}

/* The credential read from the body by the route's adapter, then checked
 * as a header's would have been. */
static bool body_credential_admitted_or_reply(struct gw_req *r, enum MHD_Result *ret)
{
        struct gw_error e;
        char *key = NULL;

        r->auth_deferred = false;
        gw_upstream_ctx_init(r);
        if (!gw_req_adapter(r)->credential(&r->actx, &key, &e)) {
                *ret = gw_send_error(r, &e);
                return false;
        }
        r->bearer = gw_auth_bearer(key);
        free(key);
        return admitted_or_reply(r, ret);
}

enum MHD_Result gw_pipeline_run(struct gw_req *r, const char *method, const char *url)
{
        struct gateway *gw = r->gw;
        enum MHD_Result ret;

        if (!r->head_done) {
                ret = gw_pipeline_head(r, method, url);
                if (!r->head_done)
                        return ret;
        }
        if (r->too_large || body_over_route_limit(r, r->body_len))
                return gw_fail(r, 413, "body_too_large", NULL,
                               "request body is larger than the limit");
        if (r->route->cls->public_route && r->route->local)
                return (enum MHD_Result)r->route->local(r);
        if (r->auth_deferred && !body_credential_admitted_or_reply(r, &ret))
                return ret;

        if (strcmp(r->route->method, "POST") == 0) {
                const char *key = r->hv[GW_H_IDEMPOTENCY_KEY];

                if (key) {
                        struct gw_idem_hit hit;
                        enum gw_idem_state st;

                        if (!gw_idem_key_valid(key))
                                return gw_fail(r, 400, "invalid_idempotency_key", "Idempotency-Key",
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
                                return gw_send_body(r, hit.status, hit.body, hit.len, JSON_TYPE,
                                                    "Idempotent-Replayed", "true");
                        case GW_IDEM_MISMATCH:
                                return gw_fail(r, 422, "idempotency_key_reused", "Idempotency-Key",
                                               "this Idempotency-Key was used with a different "
                                               "request body");
                        case GW_IDEM_IN_PROGRESS:
                                return gw_fail(
                                        r, 409, "idempotency_key_in_use", "Idempotency-Key",
                                        "a request with this Idempotency-Key is still running");
                        case GW_IDEM_UNAVAILABLE:
                                break;
                        }
                }
        }

        if (r->route->local)
                return (enum MHD_Result)r->route->local(r);
        if (!atomic_load(&gw->broker_up)) {
                cairn_series_inc(gw->s_overload);
                return gw_fail(r, 503, "broker_unavailable", NULL,
                               "the message broker cannot be reached; try again later");
        }
        if (atomic_fetch_add(&gw->inflight, 1) >= gw->hc->max_inflight) {
                atomic_fetch_sub(&gw->inflight, 1);
                cairn_series_inc(gw->s_overload);
                return gw_fail(r, 503, "overloaded", NULL,
                               "too many requests in flight; try again shortly");
        }
        r->counted = true;
        cairn_series_add(gw->s_inflight, 1);
        return gw_upstream_call(r);
}

/* ---- the answers the gateway gives itself ---- */

int gw_serve_version(struct gw_req *r)
{
        char *body;
        int n = asprintf(&body, "{\"service\":\"cairn-gateway\",\"version\":\"%s\"}",
                         CAIRN_VERSION);

        if (n < 0)
                return MHD_NO;
        return gw_send_body(r, 200, body, (size_t)n, JSON_TYPE, NULL, NULL);
}

int gw_serve_openapi(struct gw_req *r)
{
        char *body = malloc(r->gw->openapi_len + 1);

        if (!body)
                abort();
        memcpy(body, r->gw->openapi, r->gw->openapi_len);
        return gw_send_body(r, 200, body, r->gw->openapi_len, JSON_TYPE, NULL, NULL);
}

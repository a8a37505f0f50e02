/* Errors as the gateway answers them: OpenAI's error body, Vault's,
 * LibreTranslate's, cairn.v1.Status in JSON, and which gRPC code an HTTP status stands for;
 * request ids. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/json.h"
#include "cairn/utf8.h"
#include "error.h"

/* ---- request ids ---- */

bool gw_request_id_valid(const char *id)
{
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > GW_REQUEST_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = id[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == ':'))
                        return false;
        }
        return true;
}

/* ---- errors ---- */

void gw_error_set(struct gw_error *e, int status, const char *code, const char *param,
                  const char *fmt, ...)
{
        va_list ap;

        e->status = status;
        e->err = CAIRN_OK;
        e->type = gw_error_type(status);
        e->code = code;
        snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
}

const char *gw_error_type(int status)
{
        switch (status) {
        case 401:
                return "authentication_error";
        case 403:
                return "permission_error";
        case 404:
                return "not_found_error";
        case 409:
                return "conflict_error";
        case 429:
                return "rate_limit_error";
        case 503:
                return "service_unavailable_error";
        case 504:
                return "timeout_error";
        default:
                return status >= 500 ? "server_error" : "invalid_request_error";
        }
}

char *gw_error_json(const struct gw_error *e, const char *request_id, size_t *lenp)
{
        struct cairn_buf b = { 0 };
        char msg[sizeof(e->message)];

        /* Messages may quote client bytes: keep them valid UTF-8. */
        snprintf(msg, sizeof(msg), "%s", e->message);
        if (!cairn_utf8_valid(msg, strlen(msg)))
                snprintf(msg, sizeof(msg), "%s", "invalid request");
        cairn_buf_adds(&b, "{\"error\":{\"message\":");
        cairn_buf_add_json_string(&b, msg);
        cairn_buf_adds(&b, ",\"type\":");
        cairn_buf_add_json_string(&b, e->type ? e->type : gw_error_type(e->status));
        cairn_buf_adds(&b, ",\"param\":");
        if (e->param[0] && cairn_utf8_valid(e->param, strlen(e->param)))
                cairn_buf_add_json_string(&b, e->param);
        else
                cairn_buf_adds(&b, "null");
        cairn_buf_adds(&b, ",\"code\":");
        if (e->code)
                cairn_buf_add_json_string(&b, e->code);
        else
                cairn_buf_adds(&b, "null");
        cairn_buf_adds(&b, "},\"request_id\":");
        cairn_buf_add_json_string(&b, request_id ? request_id : "");
        cairn_buf_adds(&b, "}");
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

void gw_error_from_status(struct gw_error *e, cairn_err_t code, const char *message,
                          const char *field)
{
        char lower[32];
        const char *name = cairn_err_str(code);
        size_t i;

        for (i = 0; name[i] && i + 1 < sizeof(lower); i++)
                lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
        lower[i] = '\0';
        gw_error_set(e, cairn_err_http_status(code), NULL, field && field[0] ? field : NULL, "%s",
                     message && message[0] ? message : name);
        /* The code is static text: the gRPC name, lower-cased. */
        static const char *const codes[CAIRN_ERR__COUNT] = {
                "ok",
                "cancelled",
                "unknown",
                "invalid_argument",
                "deadline_exceeded",
                "not_found",
                "already_exists",
                "permission_denied",
                "resource_exhausted",
                "failed_precondition",
                "aborted",
                "out_of_range",
                "unimplemented",
                "internal",
                "unavailable",
                "data_loss",
                "unauthenticated",
        };
        e->code = (unsigned)code < CAIRN_ERR__COUNT ? codes[code] : "unknown";
        e->err = code;
}

/* ---- Vault's errors ---- */

char *gw_error_vault_json(const struct gw_error *e, int *status, size_t *lenp)
{
        struct cairn_buf b = { 0 };
        char msg[sizeof(e->message)];

        *status = e->status;
        snprintf(msg, sizeof(msg), "%s", e->message);
        if (!cairn_utf8_valid(msg, strlen(msg)))
                snprintf(msg, sizeof(msg), "%s", "invalid request");
        switch (e->status) {
        case 401:
                /* Vault answers a missing or unknown token so; hvac raises
                 * Forbidden, which its is_authenticated() expects */
                *status = 403;
                cairn_buf_adds(&b, "{\"errors\":[\"permission denied\"]}");
                break;
        case 403:
                cairn_buf_adds(&b, "{\"errors\":[\"1 error occurred:\\n\\t* permission "
                                   "denied\\n\\n\"]}");
                break;
        case 404:
                cairn_buf_adds(&b, "{\"errors\":[]}");
                break;
        default:
                cairn_buf_adds(&b, "{\"errors\":[");
                cairn_buf_add_json_string(&b, msg);
                cairn_buf_adds(&b, "]}");
                break;
        }
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

/* ---- LibreTranslate's errors ---- */

char *gw_error_lt_json(const struct gw_error *e, int *status, size_t *lenp)
{
        struct cairn_buf b = { 0 };
        char msg[sizeof(e->message) + 32];

        *status = e->status;
        snprintf(msg, sizeof(msg), "%s", e->message);
        if (e->status == 401) {
                /* LibreTranslate refuses a key with 403; what was wrong
                 * with it is in the message */
                *status = 403;
                if (e->code && strcmp(e->code, "missing_credentials") == 0)
                        snprintf(msg, sizeof(msg), "%s",
                                 "an API key is required: send api_key, or Authorization: "
                                 "Bearer <token or API key>");
                else
                        snprintf(msg, sizeof(msg), "Invalid API key: %s", e->message);
        }
        if (e->status == 404)
                *status = 400;
        if (!cairn_utf8_valid(msg, strlen(msg)))
                snprintf(msg, sizeof(msg), "%s", "invalid request");
        cairn_buf_adds(&b, "{\"error\":");
        cairn_buf_add_json_string(&b, msg);
        cairn_buf_adds(&b, "}");
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

/* ---- cairn.v1.Status in JSON ---- */

cairn_err_t gw_error_code_of_http(int status)
{
        switch (status) {
        case 400:
        case 413:
        case 415:
        case 431:
                return CAIRN_ERR_INVALID;
        case 401:
                return CAIRN_ERR_UNAUTHENTICATED;
        case 403:
                return CAIRN_ERR_PERMISSION;
        case 404:
                return CAIRN_ERR_NOT_FOUND;
        case 405:
                return CAIRN_ERR_UNIMPLEMENTED;
        case 409:
                return CAIRN_ERR_ABORTED;
        case 412:
        case 422:
                return CAIRN_ERR_PRECONDITION;
        case 429:
                return CAIRN_ERR_EXHAUSTED;
        case 499:
                return CAIRN_ERR_CANCELLED;
        case 501:
                return CAIRN_ERR_UNIMPLEMENTED;
        case 503:
                return CAIRN_ERR_UNAVAILABLE;
        case 504:
                return CAIRN_ERR_DEADLINE;
        default:
                return status >= 500 ? CAIRN_ERR_INTERNAL : CAIRN_ERR_INVALID;
        }
}

char *gw_error_status_json(const struct gw_error *e, size_t *lenp)
{
        struct cairn_buf b = { 0 };
        cairn_err_t code = e->err != CAIRN_OK ? e->err : gw_error_code_of_http(e->status);
        char msg[sizeof(e->message)], reason[64];
        size_t i;

        snprintf(msg, sizeof(msg), "%s", e->message);
        if (!cairn_utf8_valid(msg, strlen(msg)))
                snprintf(msg, sizeof(msg), "%s", "invalid request");
        cairn_buf_printf(&b, "{\"code\":%d,\"message\":", (int)code);
        cairn_buf_add_json_string(&b, msg);
        if (e->param[0] && cairn_utf8_valid(e->param, strlen(e->param))) {
                /* The detail's reason is the short code, upper-cased, as
                 * StatusDetail asks. */
                const char *c = e->code ? e->code : cairn_err_str(code);

                for (i = 0; c[i] && i + 1 < sizeof(reason); i++)
                        reason[i] = (char)(c[i] >= 'a' && c[i] <= 'z' ? c[i] - 32 : c[i]);
                reason[i] = '\0';
                cairn_buf_adds(&b, ",\"details\":[{\"field\":");
                cairn_buf_add_json_string(&b, e->param);
                cairn_buf_adds(&b, ",\"reason\":");
                cairn_buf_add_json_string(&b, reason);
                cairn_buf_adds(&b, "}]");
        }
        cairn_buf_adds(&b, "}");
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

/* ---- JSON limits ---- */

int gw_json_depth(const char *s, size_t len, int limit)
{
        int depth = 0, max = 0;
        bool in_str = false;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                        continue;
                }
                if (c == '"') {
                        in_str = true;
                } else if (c == '[' || c == '{') {
                        depth++;
                        if (depth > max)
                                max = depth;
                        if (max > limit)
                                return max;
                } else if (c == ']' || c == '}') {
                        depth--;
                }
        }
        return max;
}

json_t *gw_json_body_object(const char *body, size_t len, int max_depth, const char *fields,
                            struct gw_error *e)
{
        json_error_t jerr;
        json_t *root;

        if (len == 0) {
                gw_error_set(e, 400, "invalid_json", NULL,
                             "the request body is empty; send a JSON object with %s", fields);
                return NULL;
        }
        if (gw_json_depth(body, len, max_depth) > max_depth) {
                gw_error_set(e, 400, "invalid_json", NULL,
                             "the JSON body nests deeper than %d levels", max_depth);
                return NULL;
        }
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                gw_error_set(e, 400, "invalid_json", NULL,
                             "the body is not valid JSON: %s (line %d, column %d)", jerr.text,
                             jerr.line, jerr.column);
                return NULL;
        }
        if (!json_is_object(root)) {
                gw_error_set(e, 400, "invalid_type", NULL, "the body must be a JSON object, not %s",
                             cairn_json_kind(root));
                json_decref(root);
                return NULL;
        }
        return root;
}

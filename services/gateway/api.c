/* The OpenAI-compatible shapes the gateway speaks: the embeddings request
 * parsed strictly (every wrong type names its field), the embedding and model
 * list responses rendered in OpenAI's field order, and the one error body. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/base64.h"
#include "cairn/buf.h"
#include "cairn/utf8.h"
#include "gateway.h"

/* A JSON string literal; @p s is valid UTF-8 (checked by whoever made it). */
static void buf_json_str(struct cairn_buf *b, const char *s)
{
        static const char hex[] = "0123456789abcdef";

        cairn_buf_add(b, "\"", 1);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                char esc[8];

                if (*p == '"' || *p == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)*p;
                        cairn_buf_add(b, esc, 2);
                } else if (*p < 0x20) {
                        if (*p == '\n') {
                                cairn_buf_add(b, "\\n", 2);
                        } else if (*p == '\t') {
                                cairn_buf_add(b, "\\t", 2);
                        } else if (*p == '\r') {
                                cairn_buf_add(b, "\\r", 2);
                        } else {
                                memcpy(esc, "\\u00", 4);
                                esc[4] = hex[*p >> 4];
                                esc[5] = hex[*p & 15];
                                cairn_buf_add(b, esc, 6);
                        }
                } else {
                        cairn_buf_add(b, (const char *)p, 1);
                }
        }
        cairn_buf_add(b, "\"", 1);
}

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
        buf_json_str(&b, msg);
        cairn_buf_adds(&b, ",\"type\":");
        buf_json_str(&b, e->type ? e->type : gw_error_type(e->status));
        cairn_buf_adds(&b, ",\"param\":");
        if (e->param[0] && cairn_utf8_valid(e->param, strlen(e->param)))
                buf_json_str(&b, e->param);
        else
                cairn_buf_adds(&b, "null");
        cairn_buf_adds(&b, ",\"code\":");
        if (e->code)
                buf_json_str(&b, e->code);
        else
                cairn_buf_adds(&b, "null");
        cairn_buf_adds(&b, "},\"request_id\":");
        buf_json_str(&b, request_id ? request_id : "");
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
                "ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded",
                "not_found", "already_exists", "permission_denied", "resource_exhausted",
                "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal",
                "unavailable", "data_loss", "unauthenticated",
        };
        e->code = (unsigned)code < CAIRN_ERR__COUNT ? codes[code] : "unknown";
}

/* ---- request parsing ---- */

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

static const char *json_kind(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

bool gw_embed_req_parse(const char *body, size_t len, int max_depth, size_t max_inputs,
                        struct gw_embed_req *req, struct gw_error *e)
{
        json_error_t jerr;
        json_t *root, *v;
        const char *key;

        memset(req, 0, sizeof(*req));
        if (len == 0) {
                gw_error_set(e, 400, "invalid_json", NULL, "the request body is empty; send a "
                             "JSON object with input and model");
                return false;
        }
        if (gw_json_depth(body, len, max_depth) > max_depth) {
                gw_error_set(e, 400, "invalid_json", NULL,
                             "the JSON body nests deeper than %d levels", max_depth);
                return false;
        }
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                gw_error_set(e, 400, "invalid_json", NULL,
                             "the body is not valid JSON: %s (line %d, column %d)", jerr.text,
                             jerr.line, jerr.column);
                return false;
        }
        req->json = root;
        if (!json_is_object(root)) {
                gw_error_set(e, 400, "invalid_type", NULL,
                             "the body must be a JSON object, not %s", json_kind(root));
                goto fail;
        }
        json_object_foreach(root, key, v) {
                if (strcmp(key, "input") && strcmp(key, "model") && strcmp(key, "encoding_format") &&
                    strcmp(key, "dimensions") && strcmp(key, "user")) {
                        char k[64];
                        snprintf(k, sizeof(k), "%s", key);
                        gw_error_set(e, 400, "unknown_parameter", k,
                                     "unrecognized request argument supplied: %s", k);
                        goto fail;
                }
        }

        v = json_object_get(root, "model");
        if (!v) {
                gw_error_set(e, 400, "missing_required_parameter", "model",
                             "you must provide a model parameter");
                goto fail;
        }
        if (!json_is_string(v)) {
                gw_error_set(e, 400, "invalid_type", "model", "model must be a string, not %s",
                             json_kind(v));
                goto fail;
        }
        req->model = json_string_value(v);
        if (json_string_length(v) > 256 || strlen(req->model) != json_string_length(v)) {
                gw_error_set(e, 400, "invalid_value", "model",
                             "model must be at most 256 bytes without NUL characters");
                goto fail;
        }

        v = json_object_get(root, "input");
        if (!v) {
                gw_error_set(e, 400, "missing_required_parameter", "input",
                             "you must provide an input parameter");
                goto fail;
        }
        if (json_is_string(v)) {
                req->inputs = malloc(sizeof(*req->inputs));
                if (!req->inputs)
                        abort();
                req->inputs[0] = json_string_value(v);
                req->n_inputs = 1;
                if (strlen(req->inputs[0]) != json_string_length(v)) {
                        gw_error_set(e, 400, "invalid_value", "input",
                                     "input must not contain NUL characters");
                        goto fail;
                }
                if (req->inputs[0][0] == '\0') {
                        gw_error_set(e, 400, "invalid_value", "input", "input must not be empty");
                        goto fail;
                }
        } else if (json_is_array(v)) {
                size_t n = json_array_size(v), i;
                json_t *it;

                if (n == 0) {
                        gw_error_set(e, 400, "invalid_value", "input",
                                     "input must not be an empty array");
                        goto fail;
                }
                if (n > max_inputs) {
                        gw_error_set(e, 400, "invalid_value", "input",
                                     "input has %zu items; at most %zu are accepted", n, max_inputs);
                        goto fail;
                }
                req->inputs = calloc(n, sizeof(*req->inputs));
                if (!req->inputs)
                        abort();
                json_array_foreach(v, i, it) {
                        char field[32];

                        snprintf(field, sizeof(field), "input[%zu]", i);
                        if (json_is_integer(it) || json_is_array(it)) {
                                gw_error_set(e, 400, "unsupported_value", field,
                                             "token arrays are not supported: %s must be a "
                                             "string; send text, not token ids", field);
                                goto fail;
                        }
                        if (!json_is_string(it)) {
                                gw_error_set(e, 400, "invalid_type", field,
                                             "%s must be a string, not %s", field, json_kind(it));
                                goto fail;
                        }
                        req->inputs[i] = json_string_value(it);
                        if (strlen(req->inputs[i]) != json_string_length(it)) {
                                gw_error_set(e, 400, "invalid_value", field,
                                             "%s must not contain NUL characters", field);
                                goto fail;
                        }
                        if (req->inputs[i][0] == '\0') {
                                gw_error_set(e, 400, "invalid_value", field,
                                             "%s must not be empty", field);
                                goto fail;
                        }
                }
                req->n_inputs = n;
        } else {
                gw_error_set(e, 400, "invalid_type", "input",
                             "input must be a string or an array of strings, not %s", json_kind(v));
                goto fail;
        }

        v = json_object_get(root, "encoding_format");
        if (v) {
                const char *f = json_string_value(v);

                if (!json_is_string(v) || (strcmp(f, "float") && strcmp(f, "base64"))) {
                        gw_error_set(e, 400, "invalid_value", "encoding_format",
                                     "encoding_format must be \"float\" or \"base64\"");
                        goto fail;
                }
                req->base64 = strcmp(f, "base64") == 0;
        }
        v = json_object_get(root, "dimensions");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > 65536) {
                        gw_error_set(e, 400, json_is_integer(v) ? "invalid_value" : "invalid_type",
                                     "dimensions", "dimensions must be an integer from 1 to 65536");
                        goto fail;
                }
                req->dimensions = (uint32_t)json_integer_value(v);
        }
        v = json_object_get(root, "user");
        if (v) {
                if (!json_is_string(v) || json_string_length(v) > 256 ||
                    strlen(json_string_value(v)) != json_string_length(v)) {
                        gw_error_set(e, 400, json_is_string(v) ? "invalid_value" : "invalid_type",
                                     "user", "user must be a string of at most 256 bytes");
                        goto fail;
                }
                req->user = json_string_value(v);
        }
        return true;
fail:
        gw_embed_req_cleanup(req);
        return false;
}

void gw_embed_req_cleanup(struct gw_embed_req *req)
{
        free(req->inputs);
        json_decref(req->json);
        memset(req, 0, sizeof(*req));
}

/* ---- responses ---- */

char *gw_embed_reply_json(const Cairn__Embedding__V1__EmbedReply *reply, bool base64,
                          size_t *lenp)
{
        struct cairn_buf b = { 0 };
        unsigned long long tokens = reply->usage ? reply->usage->input_tokens : 0;

        cairn_buf_adds(&b, "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < reply->n_embeddings; i++) {
                const Cairn__Embedding__V1__Embedding *emb = reply->embeddings[i];

                cairn_buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%u,\"embedding\":",
                           i ? "," : "", emb->index);
                if (base64) {
                        unsigned char *raw = malloc(emb->n_vector * 4 + 1);

                        if (!raw)
                                abort();
                        for (size_t j = 0; j < emb->n_vector; j++) {
                                uint32_t u;
                                memcpy(&u, &emb->vector[j], 4);
                                raw[4 * j] = (unsigned char)u;
                                raw[4 * j + 1] = (unsigned char)(u >> 8);
                                raw[4 * j + 2] = (unsigned char)(u >> 16);
                                raw[4 * j + 3] = (unsigned char)(u >> 24);
                        }
                        cairn_buf_add(&b, "\"", 1);
                        cairn_base64_encode(&b, raw, emb->n_vector * 4);
                        cairn_buf_add(&b, "\"", 1);
                        free(raw);
                } else {
                        cairn_buf_reserve(&b, emb->n_vector * 16 + 2);
                        cairn_buf_add(&b, "[", 1);
                        for (size_t j = 0; j < emb->n_vector; j++) {
                                char num[GW_FLOAT_MAX + 1];
                                size_t n = 0;

                                if (j)
                                        num[n++] = ',';
                                n += gw_float_format(emb->vector[j], num + n);
                                cairn_buf_add(&b, num, n);
                        }
                        cairn_buf_add(&b, "]", 1);
                }
                cairn_buf_add(&b, "}", 1);
        }
        cairn_buf_adds(&b, "],\"model\":");
        buf_json_str(&b, reply->model ? reply->model : "");
        cairn_buf_printf(&b, ",\"usage\":{\"prompt_tokens\":%llu,\"total_tokens\":%llu}}", tokens,
                   tokens);
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

char *gw_models_reply_json(const Cairn__Embedding__V1__ListModelsReply *reply, size_t *lenp)
{
        struct cairn_buf b = { 0 };

        cairn_buf_adds(&b, "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < reply->n_models; i++) {
                cairn_buf_adds(&b, i ? ",{\"id\":" : "{\"id\":");
                buf_json_str(&b, reply->models[i]->name ? reply->models[i]->name : "");
                cairn_buf_adds(&b, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"cairn\"}");
        }
        cairn_buf_adds(&b, "]}");
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

/* OpenAI's embeddings and models API over the embedding service: the
 * embeddings request parsed strictly (every wrong type names its field), the
 * embedding and model list replies rendered in OpenAI's field order, and the
 * embeddings adapter the route table names (the model list's is in
 * openai_models.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/base64.h"
#include "cairn/buf.h"
#include "cairn/utf8.h"
#include "float_fmt.h"
#include "cairn/json.h"
#include "openai.h"
#include "openai_models.h"

bool gw_embed_req_parse(const char *body, size_t len, int max_depth, size_t max_inputs,
                        struct gw_embed_req *req, struct gw_error *e)
{
        json_t *root, *v;
        const char *key;

        memset(req, 0, sizeof(*req));
        root = gw_json_body_object(body, len, max_depth, "input and model", e);
        if (!root)
                return false;
        req->json = root;
        json_object_foreach(root, key, v) {
                if (strcmp(key, "input") && strcmp(key, "model") &&
                    strcmp(key, "encoding_format") && strcmp(key, "dimensions") &&
                    strcmp(key, "user")) {
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
                             cairn_json_kind(v));
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
                                     "input has %zu items; at most %zu are accepted", n,
                                     max_inputs);
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
                                             "string; send text, not token ids",
                                             field);
                                goto fail;
                        }
                        if (!json_is_string(it)) {
                                gw_error_set(e, 400, "invalid_type", field,
                                             "%s must be a string, not %s", field,
                                             cairn_json_kind(it));
                                goto fail;
                        }
                        req->inputs[i] = json_string_value(it);
                        if (strlen(req->inputs[i]) != json_string_length(it)) {
                                gw_error_set(e, 400, "invalid_value", field,
                                             "%s must not contain NUL characters", field);
                                goto fail;
                        }
                        if (req->inputs[i][0] == '\0') {
                                gw_error_set(e, 400, "invalid_value", field, "%s must not be empty",
                                             field);
                                goto fail;
                        }
                }
                req->n_inputs = n;
        } else {
                gw_error_set(e, 400, "invalid_type", "input",
                             "input must be a string or an array of strings, not %s",
                             cairn_json_kind(v));
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
                if (!json_is_integer(v) || json_integer_value(v) < GW_EMBED_DIMENSIONS_MIN ||
                    json_integer_value(v) > GW_EMBED_DIMENSIONS_MAX) {
                        gw_error_set(e, 400, json_is_integer(v) ? "invalid_value" : "invalid_type",
                                     "dimensions",
                                     "dimensions must be an integer from %d to %d, within the "
                                     "model's own range (cairn-lexical-<N>: 16 to N; any "
                                     "other model: its own size only)",
                                     GW_EMBED_DIMENSIONS_MIN, GW_EMBED_DIMENSIONS_MAX);
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

char *gw_embed_reply_json(const Cairn__Embedding__V1__EmbedReply *reply, bool base64, size_t *lenp)
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
        cairn_buf_add_json_string(&b, reply->model ? reply->model : "");
        cairn_buf_printf(&b, ",\"usage\":{\"prompt_tokens\":%llu,\"total_tokens\":%llu}}", tokens,
                         tokens);
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

char *gw_models_reply_json(const Cairn__Embedding__V1__ListModelsReply *reply, size_t *lenp)
{
        const char **ids = calloc(reply->n_models ? reply->n_models : 1, sizeof(*ids));
        char *out;

        if (!ids)
                abort();
        for (size_t i = 0; i < reply->n_models; i++)
                ids[i] = reply->models[i]->name ? reply->models[i]->name : "";
        out = gw_models_list_json(ids, reply->n_models, lenp);
        free(ids);
        return out;
}

/* ---- the adapters ---- */

/* Most texts in one request: OpenAI's own limit. */
#define MAX_INPUTS 2048
/* ctx->flags: the caller asked for base64 vectors. */
#define FLAG_BASE64 0x1

/* One embeddings request: the parsed body and the message pointing into it. */
struct embed_state {
        struct gw_embed_req er;
        Cairn__Embedding__V1__EmbedRequest msg;
};

static ProtobufCMessage *embeddings_parse(struct gw_adapter_ctx *ctx, struct gw_error *e)
{
        struct embed_state *st = calloc(1, sizeof(*st));

        if (!st)
                abort();
        if (!gw_embed_req_parse(ctx->body ? ctx->body : "", ctx->body_len, ctx->max_json_depth,
                                MAX_INPUTS, &st->er, e)) {
                free(st);
                return NULL;
        }
        cairn__embedding__v1__embed_request__init(&st->msg);
        st->msg.model = (char *)st->er.model;
        st->msg.inputs = (char **)st->er.inputs;
        st->msg.n_inputs = st->er.n_inputs;
        st->msg.dimensions = st->er.dimensions;
        st->msg.user = (char *)(st->er.user ? st->er.user : "");
        ctx->flags = st->er.base64 ? FLAG_BASE64 : 0;
        ctx->state = st;
        return &st->msg.base;
}

static void embeddings_release(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg)
{
        struct embed_state *st = ctx->state;

        (void)msg;
        if (!st)
                return;
        gw_embed_req_cleanup(&st->er);
        free(st);
        ctx->state = NULL;
}

static char *embeddings_render(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply,
                               size_t *lenp)
{
        return gw_embed_reply_json((const Cairn__Embedding__V1__EmbedReply *)reply,
                                   (ctx->flags & FLAG_BASE64) != 0, lenp);
}

/* The service names its repeated field "inputs"; OpenAI calls it "input". */
static void embeddings_field_name(char *out, size_t size, const char *field)
{
        if (strncmp(field, "inputs", 6) == 0)
                snprintf(out, size, "input%s", field + 6);
        else
                snprintf(out, size, "%s", field);
}

const struct gw_adapter gw_openai_embeddings = {
        .name = "openai.embeddings",
        .errors = GW_ERRORS_OPENAI,
        .parse = embeddings_parse,
        .release = embeddings_release,
        .render = embeddings_render,
        .field_name = embeddings_field_name,
        .openapi_request = "{\"$ref\":\"#/components/schemas/CreateEmbeddingRequest\"}",
        .openapi_reply = "{\"$ref\":\"#/components/schemas/CreateEmbeddingResponse\"}",
};

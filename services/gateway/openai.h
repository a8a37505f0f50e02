/* OpenAI's embeddings and models API: the request and reply shapes, and
 * the adapters that map them onto the embedding service's messages
 * (openai.c). */
#ifndef CAIRN_GATEWAY_OPENAI_H
#define CAIRN_GATEWAY_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "error.h"

/* The "dimensions" the gateway passes on: the union of what the embedding
 * service's models accept. The built-in cairn-lexical-<N> gives 16 to N
 * (N is embedding.dimensions, 384 by default, at most 4096); any other
 * model its own size only (embedding.models.<n>.dimensions, 1 to 65536).
 * The service checks the requested model's own range and answers 400
 * naming it; the OpenAPI schema states these bounds. */
#define GW_EMBED_DIMENSIONS_MIN 1
#define GW_EMBED_DIMENSIONS_MAX 65536

/* A parsed POST /v1/embeddings body. Strings point into @p json owned here. */
struct gw_embed_req {
        void *json; /* the jansson document */
        const char **inputs;
        size_t n_inputs;
        const char *model;
        const char *user;
        uint32_t dimensions;
        bool base64;
};

/* Parses and validates @p body (@p len bytes): JSON nesting at most
 * @p max_depth, no duplicate keys, OpenAI's field types. On failure fills
 * @p e (400 with the field named) and returns false. On success the caller
 * calls gw_embed_req_cleanup(). */
bool gw_embed_req_parse(const char *body, size_t len, int max_depth, size_t max_inputs,
                        struct gw_embed_req *req, struct gw_error *e);
void gw_embed_req_cleanup(struct gw_embed_req *req);

/* Renders an EmbedReply the OpenAI way; @p base64 encodes each vector as
 * little-endian float32 bytes in base64. Malloc'ed, caller frees. */
char *gw_embed_reply_json(const Cairn__Embedding__V1__EmbedReply *reply, bool base64, size_t *lenp);
/* Renders a ListModelsReply as OpenAI's model list. */
char *gw_models_reply_json(const Cairn__Embedding__V1__ListModelsReply *reply, size_t *lenp);

/* The adapter of POST /v1/embeddings. */
extern const struct gw_adapter gw_openai_embeddings;

#endif

/* How a route's JSON becomes a protobuf request and a protobuf reply becomes
 * JSON. Cairn's own routes use the proto3 JSON mapping (transcode.c, the
 * default); a well-known API (OpenAI, LibreTranslate, Vault) gets an adapter
 * of its own that speaks that API's shapes and error format. */
#ifndef CAIRN_GATEWAY_ADAPTER_H
#define CAIRN_GATEWAY_ADAPTER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "route.h"

/* What an adapter sees of one request, from parse to render. */
struct gw_adapter_ctx {
        const struct gw_route *route;
        const char *body; /* NUL-terminated; NULL when none was sent */
        size_t body_len;
        int max_json_depth;
        const struct gw_captures *caps; /* path captures */
        /* Calls @p fn for each query parameter (decoded); stops and returns
         * non-zero when @p fn does. */
        int (*query_each)(void *conn, int (*fn)(void *opaque, const char *key, const char *value),
                          void *opaque);
        void *conn;
        const char *tenant; /* from the credentials, never from the request */
        unsigned flags;     /* the adapter's own notes from parse to render */
        void *state;        /* the adapter's own, freed by release() */
};

struct gw_adapter {
        const char *name; /* "openai.embeddings", "proto3-json" */
        enum gw_error_style errors;
        /* Builds the request message; NULL with @p e filled (400 naming the
         * field, in the API's own field names). */
        ProtobufCMessage *(*parse)(struct gw_adapter_ctx *ctx, struct gw_error *e);
        /* Frees what parse() made, once the request was sent (or not). */
        void (*release)(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg);
        /* Renders a reply as the body of a 200; malloc'ed, NULL on failure. */
        char *(*render)(const struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply,
                        size_t *lenp);
        /* The API's name for a field the service named (NULL: the same). */
        void (*field_name)(char *out, size_t size, const char *field);
        /* OpenAPI schemas (JSON text) of the request body and the reply; NULL:
         * derived from the message types. */
        const char *openapi_request;
        const char *openapi_reply;
};

/* The proto3 JSON mapping over the route's message types (transcode.c):
 * body fields, path captures and query parameters bound by field name. */
extern const struct gw_adapter gw_proto_json;

#endif

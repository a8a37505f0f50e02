/* How a route's JSON becomes a protobuf request and a protobuf reply becomes
 * JSON. Cairn's own routes use the proto3 JSON mapping (transcode.c, the
 * default); a well-known API (OpenAI, LibreTranslate, Vault) gets an adapter
 * of its own that speaks that API's shapes and error format. */
#ifndef CAIRN_GATEWAY_ADAPTER_H
#define CAIRN_GATEWAY_ADAPTER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "cairn/status.h"
#include "error.h"
#include "route.h"

struct gw_audio;
struct gw_sealing;

/* What an adapter sees of one request, from parse to render. */
struct gw_adapter_ctx {
        const struct gw_route *route;
        const char *body; /* NUL-terminated; NULL when none was sent */
        size_t body_len;
        const char *content_type; /* the body's Content-Type as sent, or NULL */
        int max_json_depth;
        const struct gw_captures *caps; /* path captures */
        /* Calls @p fn for each query parameter (decoded); stops and returns
         * non-zero when @p fn does. */
        int (*query_each)(void *conn, int (*fn)(void *opaque, const char *key, const char *value),
                          void *opaque);
        void *conn;
        const char *tenant; /* from the credentials, never from the request */
        const char *request_id;
        struct gw_sealing *sealing;   /* the gateway's keys for sealed values */
        const struct gw_audio *audio; /* the gateway's audio settings and claim store */
        unsigned flags;               /* the adapter's own notes from parse to render */
        void *state;                  /* the adapter's own, freed by release() */
        /* The reply type of the request in flight: set by parse() or next()
         * when it is not the route's (NULL: the route's reply type). */
        const ProtobufCMessageDescriptor *reply_type;
        /* The service the request in flight goes to: set by next() when it
         * is not the route's (NULL: the route's), one the route table
         * names. */
        const char *service;
        /* Set by next() to have a failed last call answered by render()
         * with a NULL reply (what the earlier calls gathered) rather than
         * as an error. */
        bool render_failure;
        /* Set by render() when the answer is not JSON: its media type
         * ("text/vtt", "audio/mpeg"), borrowed until the answer is sent. */
        const char *reply_content_type;
        /* Set by render() when the answer is not a 200: 204 with an empty
         * body, or 404 with a body (Vault answers a deleted version so). */
        int status;
        /* Set by render() when the answer holds a secret's plaintext: it is
         * wiped when freed, and never stored for an idempotent replay. */
        bool secret;
};

struct gw_adapter {
        const char *name; /* "openai.embeddings", "proto3-json" */
        enum gw_error_style errors;
        /* Builds the request message (the first of a conversation, see
         * next()); NULL with @p e filled (400 naming the field, in the
         * API's own field names). */
        ProtobufCMessage *(*parse)(struct gw_adapter_ctx *ctx, struct gw_error *e);
        /* Optional: work on @p msg that blocks (storing an upload by claim
         * check), run on a thread of its own between parse() and the send,
         * the connection suspended meanwhile. False, with @p e filled, to
         * answer the error instead of sending. */
        bool (*offload)(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg, struct gw_error *e);
        /* Frees what parse() and next() made, once the request was answered
         * (or its client went away). */
        void (*release)(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg);
        /* Optional, for an answer that takes more than one call (a key to
         * fetch first, a retry, the pages of a list): sees each outcome, the
         * decoded @p reply (borrowed; NULL on failure, then @p st says why),
         * and returns the next request to send, which the adapter keeps until
         * release(); or NULL to answer: the outcome as usual, or the error it
         * wrote into @p e (e->status non-zero). */
        const ProtobufCMessage *(*next)(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply,
                                        const struct cairn_status *st, struct gw_error *e);
        /* Renders a reply as the body of a 200 (or of ctx->status);
         * malloc'ed, NULL on failure. */
        char *(*render)(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply, size_t *lenp);
        /* render() blocks (fetches the answer by claim check): it runs on
         * a thread of its own, the connection suspended meanwhile. */
        bool render_offload;
        /* The API's name for a field the service named (NULL: the same). */
        void (*field_name)(char *out, size_t size, const char *field);
        /* OpenAPI schemas (JSON text) of the request body and the reply; NULL:
         * derived from the message types. */
        const char *openapi_request;
        const char *openapi_reply;
        /* The 200's content (media type to schema) when the answer is not
         * JSON, or not only JSON; NULL: openapi_reply as application/json. */
        const char *openapi_reply_content;
        /* Its query parameters: a JSON array of OpenAPI parameter objects. */
        const char *openapi_parameters;
        /* The answer's status in the OpenAPI document when it is not 200
         * (204: no body). */
        int openapi_status;
        /* A body sent without Content-Type is taken as the route's media
         * type: Vault's own clients send none. */
        bool untyped_body_ok;
        /* The body's media types parse() reads (ctx->content_type says
         * which was sent), NULL-terminated; NULL: the route's one. */
        const char *const *media_types;
        /* Optional, for an API whose clients send their credential in the
         * body or the query (LibreTranslate's api_key): called once the body
         * is in when the headers carry no credential, with ctx filled as for
         * parse(). Sets *@p key to the credential, malloc'ed (the caller
         * frees it), or NULL when there is none; false, with @p e filled,
         * when the request cannot be read. The pipeline checks the key as it
         * checks Authorization: Bearer <key>. */
        bool (*credential)(struct gw_adapter_ctx *ctx, char **key, struct gw_error *e);
};

/* The proto3 JSON mapping over the route's message types (transcode.c):
 * body fields, path captures and query parameters bound by field name. */
extern const struct gw_adapter gw_proto_json;

#endif

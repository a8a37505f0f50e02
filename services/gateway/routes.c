/* The gateway's route table and its classes: the one place a route is
 * declared. A Cairn-native route is a request/reply message pair in proto/
 * plus one row here; everything else (permissions, limits, deadlines,
 * topics, the OpenAPI document, docs/api.md's permission table) follows. */
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "openai.h"
#include "route.h"
#include "server.h"

/* ---- classes: who may call, and how often ---- */

/*                                              owner admin member viewer */
static const struct gw_class public_class = {
        .name = "public",
        .public_route = true,
        .allowed = { true, true, true, true },
};
static const struct gw_class models_read = {
        .name = "models.read",
        .allowed = { true, true, true, true },
        .limits_key = "models",
};
static const struct gw_class embeddings_create = {
        .name = "embeddings.create",
        .allowed = { true, true, true, false },
        .limits_key = "embeddings",
};
static const struct gw_class memories_read = {
        .name = "memories.read",
        .allowed = { true, true, true, true },
        .limits_key = "memories_read",
};
/* erasing and exporting all of a user: the tenant's owners and admins */
static const struct gw_class memories_admin = {
        .name = "memories.admin",
        .allowed = { true, true, false, false },
        .limits_key = "memories_admin",
};
static const struct gw_class memories_write = {
        .name = "memories.write",
        .allowed = { true, true, true, false },
        .limits_key = "memories_write",
};

/* ---- routes ---- */

const struct gw_route gw_routes[] = {
        {
                .method = "POST",
                .path = "/v1/embeddings",
                .cls = &embeddings_create,
                .operation = "createEmbedding",
                .summary = "Embed one text or a batch of texts (OpenAI-compatible)",
                .service = "embedding",
                .request = &cairn__embedding__v1__embed_request__descriptor,
                .reply = &cairn__embedding__v1__embed_reply__descriptor,
                .timeout_key = "embeddings",
                .timeout_ms = 10000,
                .adapter = &gw_openai_embeddings,
        },
        {
                .method = "GET",
                .path = "/v1/models",
                .cls = &models_read,
                .operation = "listModels",
                .summary = "Models the embedding service serves (OpenAI-compatible)",
                .service = "embedding",
                .request = &cairn__embedding__v1__list_models_request__descriptor,
                .reply = &cairn__embedding__v1__list_models_reply__descriptor,
                .timeout_key = "models",
                .timeout_ms = 5000,
                .adapter = &gw_openai_models,
        },
        /* The embedding service in its own shapes (the proto3 JSON mapping). */
        {
                .method = "POST",
                .path = "/v1/embedding/embed",
                .cls = &embeddings_create,
                .operation = "embed",
                .summary = "Embed a batch of texts (cairn.embedding.v1.EmbedRequest)",
                .service = "embedding",
                .request = &cairn__embedding__v1__embed_request__descriptor,
                .reply = &cairn__embedding__v1__embed_reply__descriptor,
                .timeout_key = "embeddings",
                .timeout_ms = 10000,
        },
        {
                .method = "GET",
                .path = "/v1/embedding/models",
                .cls = &models_read,
                .operation = "listEmbeddingModels",
                .summary = "Models of the embedding service (cairn.embedding.v1.ListModelsReply)",
                .service = "embedding",
                .request = &cairn__embedding__v1__list_models_request__descriptor,
                .reply = &cairn__embedding__v1__list_models_reply__descriptor,
                .timeout_key = "models",
                .timeout_ms = 5000,
        },
        /* The memory service, keyed by user: one user's memories change in
         * order. user_id may come in the query on every route. */
        {
                .method = "POST",
                .path = "/v1/memories",
                .cls = &memories_write,
                .operation = "storeMemories",
                .summary = "Store a memory, or a batch of one user's memories",
                .service = "memory",
                .request = &cairn__memory__v1__store_request__descriptor,
                .reply = &cairn__memory__v1__store_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "POST",
                .path = "/v1/memories/search",
                .cls = &memories_read,
                .operation = "searchMemories",
                .summary = "Search a user's memories by meaning and by keywords",
                .service = "memory",
                .request = &cairn__memory__v1__search_request__descriptor,
                .reply = &cairn__memory__v1__search_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/memories",
                .cls = &memories_read,
                .operation = "listMemories",
                .summary = "A user's current memories, newest first, a page at a time",
                .service = "memory",
                .request = &cairn__memory__v1__list_request__descriptor,
                .reply = &cairn__memory__v1__list_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/memories/{id}",
                .cls = &memories_read,
                .operation = "getMemory",
                .summary = "A memory's current version",
                .service = "memory",
                .request = &cairn__memory__v1__get_request__descriptor,
                .reply = &cairn__memory__v1__get_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "PATCH",
                .path = "/v1/memories/{id}",
                .cls = &memories_write,
                .operation = "updateMemory",
                .summary = "Change a memory's content, metadata or expiry (a new version)",
                .service = "memory",
                .request = &cairn__memory__v1__update_request__descriptor,
                .reply = &cairn__memory__v1__update_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "DELETE",
                .path = "/v1/memories/{id}",
                .cls = &memories_write,
                .operation = "deleteMemory",
                .summary = "Forget a memory (its current version is closed)",
                .service = "memory",
                .request = &cairn__memory__v1__delete_request__descriptor,
                .reply = &cairn__memory__v1__delete_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/memories/{id}/history",
                .cls = &memories_read,
                .operation = "getMemoryHistory",
                .summary = "The changes made to a memory, oldest first",
                .service = "memory",
                .request = &cairn__memory__v1__history_request__descriptor,
                .reply = &cairn__memory__v1__history_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "DELETE",
                .path = "/v1/users/{user_id}/memories",
                .cls = &memories_admin,
                .operation = "eraseUserMemories",
                .summary = "Erase everything held about a user (memories, versions, history)",
                .service = "memory",
                .request = &cairn__memory__v1__erase_user_request__descriptor,
                .reply = &cairn__memory__v1__erase_user_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/users/{user_id}/memories/export",
                .cls = &memories_admin,
                .operation = "exportUserMemories",
                .summary = "Everything held about a user, as NDJSON: every version, then the "
                           "history",
                .service = "memory",
                .request = &cairn__memory__v1__export_user_request__descriptor,
                .reply = &cairn__memory__v1__export_user_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
                .page_field = "items",
        },
        {
                .method = "GET",
                .path = "/v1/version",
                .cls = &public_class,
                .operation = "getVersion",
                .summary = "The gateway's version",
                .local = gw_serve_version,
                .local_schema = "{\"$ref\":\"#/components/schemas/Version\"}",
        },
        {
                .method = "GET",
                .path = "/openapi.json",
                .cls = &public_class,
                .operation = "getOpenAPI",
                .summary = "This document",
                .local = gw_serve_openapi,
                .local_schema = "{\"type\":\"object\"}",
        },
        { .method = NULL },
};

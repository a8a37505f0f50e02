/* The gateway's route table: method, path, permission class and the
 * operationId its entry in openapi.json carries (a unit test checks both
 * directions). */
#include "gateway.h"

const struct gw_route gw_routes[] = {
        { "POST", "/v1/embeddings", GW_CLASS_EMBEDDINGS_CREATE, "createEmbedding" },
        { "GET", "/v1/models", GW_CLASS_MODELS_READ, "listModels" },
        { "GET", "/v1/version", GW_CLASS_PUBLIC, "getVersion" },
        { "GET", "/openapi.json", GW_CLASS_PUBLIC, "getOpenAPI" },
        { NULL, NULL, 0, NULL },
};

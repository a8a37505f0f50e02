/* libFuzzer target for the gateway's POST /v1/embeddings body parser:
 * arbitrary bytes go through gw_embed_req_parse() as the HTTP handler passes
 * them. A success must hold 1..2048 non-empty NUL-free inputs and a model; a
 * failure must be a 400 whose rendered error body is valid JSON in the one
 * error shape. Anything else aborts. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/error.h"
#include "gateway/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct gw_embed_req req;
        struct gw_error e;
        size_t len;
        char *body;

        if (gw_embed_req_parse((const char *)data, size, 16, 2048, &req, &e)) {
                if (req.n_inputs < 1 || req.n_inputs > 2048 || !req.model)
                        abort();
                for (size_t i = 0; i < req.n_inputs; i++)
                        if (!req.inputs[i] || !req.inputs[i][0])
                                abort();
                gw_embed_req_cleanup(&req);
                return 0;
        }
        if (e.status != 400 || !e.message[0])
                abort();
        body = gw_error_json(&e, "fuzz", &len);
        json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        if (!doc || !json_is_object(json_object_get(doc, "error")) ||
            !json_is_string(json_object_get(json_object_get(doc, "error"), "message")))
                abort();
        json_decref(doc);
        free(body);
        return 0;
}

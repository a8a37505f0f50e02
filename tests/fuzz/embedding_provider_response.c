/* libFuzzer target for what an embeddings provider answers: the first byte
 * picks how many vectors (1..4) of how many dimensions (1..16) are
 * expected, the rest is the response body handed to the parser (and to the
 * error-body reader and the base64 decoder). The parser must either fill
 * every vector with finite floats or fail with UNAVAILABLE and a message;
 * anything else aborts. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/http_client.h"
#include "embedding/openai_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cairn_status st;
        float out[4 * 16];
        uint8_t raw[256];
        char msg[128];
        uint64_t tokens;
        size_t n, dim, got;
        cairn_err_t err;

        if (size < 1)
                return 0;
        n = (size_t)(data[0] & 3) + 1;
        dim = (size_t)(data[0] >> 4) + 1;
        cairn_status_clear(&st);
        err = wire_response_parse((const char *)data + 1, size - 1, n, dim, out, &tokens, &st);
        if (err == CAIRN_OK) {
                for (size_t i = 0; i < n * dim; i++)
                        if (!isfinite(out[i]))
                                abort();
        } else if (err != CAIRN_ERR_UNAVAILABLE || st.message[0] == '\0') {
                abort();
        }
        cairn_http_error_message((const char *)data + 1, size - 1, msg, sizeof(msg));
        if (strlen(msg) >= sizeof(msg))
                abort();
        if (wire_base64_decode((const char *)data + 1, size - 1, raw, sizeof(raw), &got) == 0 &&
            got > sizeof(raw))
                abort();
        return 0;
}

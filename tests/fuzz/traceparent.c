/* Fuzz target: W3C trace context as anyone can send it in a Kafka or HTTP
 * header. The first byte picks the parser; the rest is the header value.
 * Parsers must accept or refuse every input without reading out of bounds,
 * and what they accept must format back to a valid traceparent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cairn_span_ctx ctx, again;
        char out[CAIRN_TRACEPARENT_LEN + 1];
        char *s;

        if (size < 1)
                return 0;
        /* an exact-size copy, so reads past the value are caught */
        s = malloc(size - 1 ? size - 1 : 1);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        switch (data[0] % 3) {
        case 0:
                if (cairn_traceparent_parse(s, size - 1, &ctx)) {
                        cairn_traceparent_format(&ctx, out);
                        if (!cairn_traceparent_parse(out, CAIRN_TRACEPARENT_LEN, &again) ||
                            memcmp(ctx.trace_id, again.trace_id, 16) != 0)
                                abort();
                }
                break;
        case 1:
                cairn_tracestate_valid(s, size - 1);
                break;
        default: {
                /* both headers at once, NUL-terminated, split at the first NUL */
                char *z = malloc(size + 1);

                if (!z)
                        break;
                memcpy(z, data + 1, size - 1);
                z[size - 1] = '\0';
                z[size] = '\0';
                size_t n = strlen(z);
                cairn_trace_extract(z, n < size - 1 ? z + n + 1 : "", &ctx);
                free(z);
                break;
        }
        }
        free(s);
        return 0;
}

/* libFuzzer target for the gateway's multipart/form-data reader
 * (gateway/multipart.h): the first byte is the boundary's length (1..8,
 * its bytes following), the rest the body, read with small limits (8 parts,
 * 256 header bytes). Every part must lie inside the body, with a name that
 * is non-empty and NUL-free, and strings that fit their buffers; a refusal
 * must say why; the reader must end (close or refuse) within as many steps
 * as the limit allows. Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const struct gw_multipart_limits limits = { 8, 256 };
        char boundary[9];
        size_t blen;
        struct gw_multipart mp;
        struct gw_multipart_part part;
        const char *body;
        size_t len, steps = 0;
        char why[256];
        char *copy;
        int rc;

        if (size < 1)
                return 0;
        blen = (size_t)(data[0] % 8) + 1;
        if (size < 1 + blen)
                return 0;
        memcpy(boundary, data + 1, blen);
        boundary[blen] = '\0';
        if (strlen(boundary) != blen)
                return 0; /* a boundary holds no NUL */
        len = size - 1 - blen;
        /* a copy of exactly the body's size, so reading past it is caught */
        copy = malloc(len ? len : 1);
        if (!copy)
                abort();
        memcpy(copy, data + 1 + blen, len);
        body = copy;
        why[0] = '\0';
        if (!gw_multipart_begin(&mp, boundary, body, len, &limits, why, sizeof(why))) {
                if (!why[0])
                        abort();
                free(copy);
                return 0;
        }
        while ((rc = gw_multipart_next(&mp, &part, why, sizeof(why))) == 1) {
                if (++steps > limits.max_parts)
                        abort();
                if (part.data < body || part.data + part.len > body + len)
                        abort();
                if (!part.name[0] || strlen(part.name) > GW_MULTIPART_NAME_MAX ||
                    strlen(part.filename) > GW_MULTIPART_FILENAME_MAX ||
                    strlen(part.content_type) > GW_MULTIPART_CONTENT_TYPE_MAX)
                        abort();
        }
        if (rc < 0 && !why[0])
                abort();
        /* once closed, it stays closed */
        if (rc == 0 && gw_multipart_next(&mp, &part, why, sizeof(why)) != 0)
                abort();
        free(copy);
        return 0;
}

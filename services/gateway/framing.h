/* The checks on how a request is framed and written that libmicrohttpd
 * 0.9.75 lets through: ambiguous body framing (two Content-Lengths,
 * Content-Length with Transfer-Encoding, unknown transfer codings), header
 * names and values that are not valid HTTP, duplicated headers the gateway
 * reads once, a missing Host, and request targets whose escapes hide a '/'
 * or a NUL (framing.c). Pure functions over what MHD parsed, so they can be
 * fuzzed on their own; any refusal closes the connection. */
#ifndef CAIRN_GATEWAY_FRAMING_H
#define CAIRN_GATEWAY_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* One header as received. */
struct gw_header_view {
        const char *name;
        size_t name_len;
        const char *value;
        size_t value_len;
};

/* The headers the gateway reads, by index. The first GW_H_SINGLETONS may be
 * given once only: a second copy would let the order of headers decide
 * (which credential, which key, which body length). */
enum gw_hdr {
        GW_H_HOST,
        GW_H_CONTENT_LENGTH,
        GW_H_TRANSFER_ENCODING,
        GW_H_CONTENT_TYPE,
        GW_H_AUTHORIZATION,
        GW_H_API_KEY,
        GW_H_VAULT_TOKEN,
        GW_H_IDEMPOTENCY_KEY,
        GW_H_REQUEST_ID,
        GW_H_ORIGIN,
        GW_H_TRACEPARENT,
        GW_H_EXPECT,
        GW_H_SINGLETONS,
        GW_H_TRACESTATE = GW_H_SINGLETONS,
        GW_H_USER_AGENT,
        GW_H__COUNT
};

/* What the headers say. */
struct gw_framing {
        bool has_length;                /* a Content-Length was given */
        unsigned long long length;      /* its value */
        bool chunked;                   /* Transfer-Encoding: chunked */
        size_t header_bytes;            /* names, values and separators */
        const char *known[GW_H__COUNT]; /* the first value of each, or NULL */
};

/* Checks @p n headers of a request of HTTP version @p version ("HTTP/1.1").
 * Fills @p f and returns true, or fills @p e (400, or 501 for a transfer
 * coding the gateway does not implement) and returns false; f->known is
 * filled as far as the check went. */
bool gw_framing_check(const struct gw_header_view *h, size_t n, const char *version,
                      struct gw_framing *f, struct gw_error *e);

/* Checks the request target as received, before any decoding: origin-form,
 * no control or non-ASCII bytes, every '%' followed by two hex digits, and
 * no escape in the path that decodes to '/', '\\' or a control character.
 * Returns NULL when it is acceptable, else why not. With @p escaped_slash
 * not NULL, an escaped '/' is not refused here but noted in it, for the
 * caller to refuse unless a route takes one (GW_TARGET_ESCAPED_SLASH). */
const char *gw_target_check(const char *target, bool *escaped_slash);

/* Why a path with an escaped '/' that no route takes is refused. */
#define GW_TARGET_ESCAPED_SLASH "the path has an escaped '/' where no route takes one"

#endif

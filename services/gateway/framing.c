/* Request framing and header syntax, checked before anything reads the
 * request (RFC 9110 §5, RFC 9112 §3.2, §5, §6). A gateway behind a proxy
 * must never read a request's end differently from the proxy: any doubt
 * about where the body ends is a 400 and a closed connection. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cairn/hex.h"
#include "framing.h"

/* By enum gw_hdr. */
#define S(name)                        \
        {                              \
                name, sizeof(name) - 1 \
        }
static const struct {
        const char *name;
        size_t len;
} known[GW_H__COUNT] = {
        S("Host"),          S("Content-Length"), S("Transfer-Encoding"), S("Content-Type"),
        S("Authorization"), S("X-API-Key"),      S("X-Vault-Token"),     S("Idempotency-Key"),
        S("X-Request-ID"),  S("Origin"),         S("traceparent"),       S("Expect"),
        S("tracestate"),    S("User-Agent"),
};
#undef S

/* RFC 9110 §5.6.2: token characters. */
static bool is_tchar(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The index of @p h's name among the known headers, or -1. */
static int known_of(const struct gw_header_view *h)
{
        for (int i = 0; i < GW_H__COUNT; i++)
                if (h->name_len == known[i].len &&
                    strncasecmp(h->name, known[i].name, h->name_len) == 0)
                        return i;
        return -1;
}

static bool name_valid(const struct gw_header_view *h)
{
        if (h->name_len == 0)
                return false;
        for (size_t i = 0; i < h->name_len; i++)
                if (!is_tchar((unsigned char)h->name[i]))
                        return false;
        return true;
}

/* RFC 9110 §5.5: visible characters, spaces and tabs; no NUL, CR or LF. */
static bool value_valid(const struct gw_header_view *h)
{
        for (size_t i = 0; i < h->value_len; i++) {
                unsigned char c = (unsigned char)h->value[i];

                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return false;
        }
        return true;
}

static bool parse_length(const struct gw_header_view *h, unsigned long long *out)
{
        unsigned long long v = 0;

        if (h->value_len == 0)
                return false;
        for (size_t i = 0; i < h->value_len; i++) {
                unsigned d = (unsigned)(h->value[i] - '0');

                if (d > 9 || v > (~0ULL - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *out = v;
        return true;
}

/* Exactly "chunked", any case, with optional spaces around it. */
static bool coding_is_chunked(const struct gw_header_view *h)
{
        size_t from = 0, to = h->value_len;

        while (from < to && (h->value[from] == ' ' || h->value[from] == '\t'))
                from++;
        while (to > from && (h->value[to - 1] == ' ' || h->value[to - 1] == '\t'))
                to--;
        /* cppcheck-suppress knownConditionTrueFalse ; to and from depend on the value */
        return to - from == 7 && strncasecmp(h->value + from, "chunked", 7) == 0;
}

static bool check_one(const struct gw_header_view *h, int which, struct gw_framing *f,
                      struct gw_error *e)
{
        if (!name_valid(h)) {
                gw_error_set(e, 400, "invalid_header", NULL,
                             "a header name is not an HTTP token (no spaces before the colon)");
                return false;
        }
        if (!value_valid(h)) {
                gw_error_set(e, 400, "invalid_header", NULL,
                             "header %.*s has a control character (NUL, CR or LF) in its value",
                             (int)(h->name_len > 64 ? 64 : h->name_len), h->name);
                return false;
        }
        if (which == GW_H_CONTENT_LENGTH) {
                unsigned long long v;

                if (!parse_length(h, &v)) {
                        gw_error_set(e, 400, "invalid_content_length", NULL,
                                     "Content-Length is not a decimal number of bytes");
                        return false;
                }
                if (f->has_length && v != f->length) {
                        gw_error_set(e, 400, "ambiguous_framing", NULL,
                                     "two Content-Length headers with different values");
                        return false;
                }
                f->has_length = true;
                f->length = v;
        } else if (which == GW_H_TRANSFER_ENCODING) {
                if (!coding_is_chunked(h)) {
                        gw_error_set(e, 501, "unsupported_transfer_coding", NULL,
                                     "only Transfer-Encoding: chunked is implemented");
                        return false;
                }
                f->chunked = true;
        }
        return true;
}

bool gw_framing_check(const struct gw_header_view *h, size_t n, const char *version,
                      struct gw_framing *f, struct gw_error *e)
{
        bool http11 = version && strcmp(version, "HTTP/1.0") != 0;

        memset(f, 0, sizeof(*f));
        for (size_t i = 0; i < n; i++) {
                int k = known_of(&h[i]);

                f->header_bytes += h[i].name_len + h[i].value_len + 4;
                if (!check_one(&h[i], k, f, e))
                        return false;
                if (k < 0)
                        continue;
                if (!f->known[k]) {
                        f->known[k] = h[i].value;
                        continue;
                }
                /* identical Content-Lengths are one (RFC 9110 §8.6), checked above */
                if (k < GW_H_SINGLETONS && k != GW_H_CONTENT_LENGTH) {
                        gw_error_set(e, 400, "duplicate_header", known[k].name,
                                     "header %s is given more than once", known[k].name);
                        return false;
                }
        }
        bool host = f->known[GW_H_HOST] != NULL;
        if (f->chunked && f->has_length) {
                gw_error_set(e, 400, "ambiguous_framing", NULL,
                             "Content-Length and Transfer-Encoding together");
                return false;
        }
        if (f->chunked && !http11) {
                /* RFC 9112 §6.1: HTTP/1.0 has no transfer codings */
                gw_error_set(e, 400, "ambiguous_framing", NULL,
                             "Transfer-Encoding in an HTTP/1.0 request");
                return false;
        }
        if (http11 && !host) {
                gw_error_set(e, 400, "missing_host", "Host",
                             "an HTTP/1.1 request needs a Host header");
                return false;
        }
        return true;
}

const char *gw_target_check(const char *target, bool *escaped_slash)
{
        bool in_path = true;

        if (escaped_slash)
                *escaped_slash = false;
        if (!target || target[0] != '/')
                return "the request target is not an absolute path";
        for (const char *p = target; *p; p++) {
                unsigned char c = (unsigned char)*p;

                if (c <= 0x20 || c >= 0x7f)
                        return "the request target has a control, space or non-ASCII byte";
                if (c == '?' || c == '#')
                        in_path = false;
                if (c != '%')
                        continue;
                int hi = cairn_hex_digit(p[1], 0), lo = hi < 0 ? -1 : cairn_hex_digit(p[2], 0);
                if (hi < 0 || lo < 0)
                        return "the request target has a '%' not followed by two hex digits";
                c = (unsigned char)(hi * 16 + lo);
                if (in_path && c == '/' && escaped_slash)
                        *escaped_slash = true;
                else if (in_path && (c < 0x20 || c == 0x7f || c == '/' || c == '\\'))
                        return "the path has an escaped '/', '\\' or control character";
                p += 2;
        }
        return NULL;
}

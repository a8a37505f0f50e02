/* Strict base64 decoding and encoding. */
#include "cairn/base64.h"

int cairn_base64_value(unsigned char c, bool url)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == (url ? '-' : '+'))
                return 62;
        if (c == (url ? '_' : '/'))
                return 63;
        return -1;
}

long cairn_base64_decode(const char *in, size_t len, bool url, uint8_t *out, size_t cap)
{
        uint32_t acc = 0;
        size_t pad = 0, bits = 0, n = 0;

        /* Padding only at the end, at most two, and only where it belongs. */
        while (len > 0 && in[len - 1] == '=') {
                len--;
                if (++pad > 2)
                        return -1;
        }
        if ((pad && (len + pad) % 4 != 0) || len % 4 == 1)
                return -1;
        for (size_t i = 0; i < len; i++) {
                int v = cairn_base64_value((unsigned char)in[i], url);

                if (v < 0)
                        return -1;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n >= cap)
                                return -1;
                        out[n++] = (uint8_t)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        /* Leftover bits must be zero: one encoding per byte string. */
        if (acc != 0)
                return -1;
        return (long)n;
}

void cairn_base64_encode(struct cairn_buf *b, const uint8_t *p, size_t n)
{
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char out[4];

        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;

                if (i + 1 < n)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < n)
                        v |= p[i + 2];
                out[0] = tbl[(v >> 18) & 63];
                out[1] = tbl[(v >> 12) & 63];
                out[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                out[3] = i + 2 < n ? tbl[v & 63] : '=';
                cairn_buf_add(b, out, 4);
        }
}

/* Strict base64 decoding and encoding. */
#include "cairn/base64.h"

/* One plus the 6-bit value of each character, 0 outside the alphabet: the
 * decode loop does one lookup per character (provider replies carry hundreds
 * of kilobytes of base64). */
/* clang-format off */
#define B64_ALNUM \
        ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, \
        ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, \
        ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, \
        ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, \
        ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, \
        ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, \
        ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, \
        ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, \
        ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62
/* clang-format on */

static const uint8_t table_std[256] = { B64_ALNUM, ['+'] = 63, ['/'] = 64 };
static const uint8_t table_url[256] = { B64_ALNUM, ['-'] = 63, ['_'] = 64 };

int cairn_base64_value(unsigned char c, bool url)
{
        return (url ? table_url : table_std)[c] - 1;
}

long cairn_base64_decode(const char *in, size_t len, bool url, uint8_t *out, size_t cap)
{
        const uint8_t *t = url ? table_url : table_std;
        const unsigned char *p = (const unsigned char *)in;
        size_t pad = 0, n = 0, i = 0;

        /* Padding only at the end, at most two, and only where it belongs. */
        while (len > 0 && in[len - 1] == '=') {
                len--;
                if (++pad > 2)
                        return -1;
        }
        if ((pad && (len + pad) % 4 != 0) || len % 4 == 1)
                return -1;
        if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
                return -1;
        /* Whole quanta: four characters, three bytes. */
        for (; i + 4 <= len; i += 4) {
                uint32_t a = t[p[i]], b = t[p[i + 1]], c = t[p[i + 2]], d = t[p[i + 3]];

                if (!a || !b || !c || !d)
                        return -1;
                uint32_t v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
                out[n++] = (uint8_t)(v >> 16);
                out[n++] = (uint8_t)(v >> 8);
                out[n++] = (uint8_t)v;
        }
        /* Two or three characters left: one or two bytes, and the bits they
         * do not use must be zero (one encoding per byte string). */
        if (i < len) {
                uint32_t a = t[p[i]], b = t[p[i + 1]], c = len - i == 3 ? t[p[i + 2]] : 1;

                if (!a || !b || !c)
                        return -1;
                uint32_t v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6;
                out[n++] = (uint8_t)(v >> 16);
                if (len - i == 3)
                        out[n++] = (uint8_t)(v >> 8);
                if (v & (len - i == 3 ? 0xffu : 0xffffu))
                        return -1;
        }
        return (long)n;
}

void cairn_base64_encode(struct cairn_buf *b, const uint8_t *p, size_t n)
{
        static const char tbl[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

/* A strict UTF-8 validator (RFC 3629): the bytes of every text a caller sends
 * pass through here before anything else reads them. */
#include <stdint.h>
#include <string.h>

#include "cairn/utf8.h"

bool cairn_utf8_valid(const char *str, size_t len)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;

        while (i < len) {
                /* ASCII runs are the common case: check 8 bytes at a time. */
                if (i + 8 <= len) {
                        uint64_t w;

                        memcpy(&w, s + i, 8);
                        if ((w & 0x8080808080808080ULL) == 0) {
                                i += 8;
                                continue;
                        }
                }
                unsigned char c = s[i];
                size_t n;
                unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */

                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xC2 && c <= 0xDF) {
                        n = 1;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        n = 2;
                        if (c == 0xE0)
                                lo = 0xA0; /* overlong */
                        else if (c == 0xED)
                                hi = 0x9F; /* surrogates */
                } else if (c >= 0xF0 && c <= 0xF4) {
                        n = 3;
                        if (c == 0xF0)
                                lo = 0x90; /* overlong */
                        else if (c == 0xF4)
                                hi = 0x8F; /* past U+10FFFF */
                } else {
                        return false;
                }
                if (len - i <= n)
                        return false;
                if (s[i + 1] < lo || s[i + 1] > hi)
                        return false;
                for (size_t k = 2; k <= n; k++)
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                i += n + 1;
        }
        return true;
}

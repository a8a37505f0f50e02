/* Fuzz target: the UTF-8 validator against a byte-by-byte reference
 * decoder, so the fast ASCII path cannot disagree with the slow one. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cairn/utf8.h"

static bool reference(const uint8_t *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                uint32_t cp;
                size_t len;

                if (s[i] < 0x80) {
                        i++;
                        continue;
                } else if ((s[i] & 0xE0) == 0xC0) {
                        cp = s[i] & 0x1F, len = 2;
                } else if ((s[i] & 0xF0) == 0xE0) {
                        cp = s[i] & 0x0F, len = 3;
                } else if ((s[i] & 0xF8) == 0xF0) {
                        cp = s[i] & 0x07, len = 4;
                } else {
                        return false;
                }
                if (i + len > n)
                        return false;
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                    (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += len;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (cairn_utf8_valid((const char *)data, size) != reference(data, size))
                abort();
        return 0;
}

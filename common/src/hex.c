/* Bytes as lower-case hexadecimal text, and hex digits read back. */
#include "cairn/hex.h"

void cairn_hex_encode(const uint8_t *bytes, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[bytes[i] >> 4];
                out[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        out[2 * n] = '\0';
}

int cairn_hex_digit(char c, int lower_only)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (!lower_only && c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

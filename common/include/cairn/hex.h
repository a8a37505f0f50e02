/* Lower-case hexadecimal text of bytes: trace and span ids, digests. */
#ifndef CAIRN_HEX_H
#define CAIRN_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes the @p n bytes at @p bytes as 2 * @p n lower-case hex digits and a
 * NUL into @p out, which has room for 2 * @p n + 1 characters. */
void cairn_hex_encode(const uint8_t *bytes, size_t n, char *out);

/* The value of hex digit @p c (0-9, a-f, and A-F unless @p lower_only), or
 * -1 when it is not one. */
int cairn_hex_digit(char c, int lower_only);

#endif

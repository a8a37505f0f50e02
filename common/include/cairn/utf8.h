/* UTF-8 validation for text that arrives from outside. */
#ifndef CAIRN_UTF8_H
#define CAIRN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when @p s[0..len) is well-formed UTF-8 (no overlong forms, surrogates
 * or code points past U+10FFFF). */
bool cairn_utf8_valid(const char *s, size_t len);

#endif

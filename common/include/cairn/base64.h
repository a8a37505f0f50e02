/* Base64 (RFC 4648) as it reaches us from outside: vectors from embedding
 * providers (standard alphabet) and JWT segments (URL-safe alphabet). */
#ifndef CAIRN_BASE64_H
#define CAIRN_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"

/* Decodes @p in[0..len) into @p out (at most @p cap bytes), with the URL-safe
 * alphabet when @p url. Strict: padding only at the end and only where it
 * belongs (optional), no whitespace, unused trailing bits zero. Returns the
 * number of bytes written, or -1 for malformed input or too little room. */
long cairn_base64_decode(const char *in, size_t len, bool url, uint8_t *out, size_t cap);

/* The 6-bit value of @p c in the alphabet, or -1. */
int cairn_base64_value(unsigned char c, bool url);

/* Appends the padded standard encoding of @p p[0..n) to @p b. */
void cairn_base64_encode(struct cairn_buf *b, const uint8_t *p, size_t n);

#endif

/* Growable, bounded text buffers. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"

void cairn_buf_reserve(struct cairn_buf *b, size_t n)
{
        if (b->oom)
                return;
        if (n > SIZE_MAX - b->len - 1 || (b->max && b->len + n > b->max)) {
                b->oom = true;
                return;
        }
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *p;

                while (cap < b->len + n + 1)
                        cap *= 2;
                p = realloc(b->p, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
                /* NUL-terminated even before the first append */
                b->p[b->len] = '\0';
        }
}

void cairn_buf_add(struct cairn_buf *b, const void *s, size_t n)
{
        cairn_buf_reserve(b, n);
        if (b->oom)
                return;
        if (n)
                memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

void cairn_buf_printf(struct cairn_buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        cairn_buf_reserve(b, 64);
        if (b->oom)
                return;
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        if ((size_t)n >= b->cap - b->len) {
                cairn_buf_reserve(b, (size_t)n);
                if (b->oom)
                        return;
                va_start(ap, fmt);
                vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
                va_end(ap);
        }
        b->len += (size_t)n;
}

void cairn_buf_adds(struct cairn_buf *b, const char *s)
{
        cairn_buf_add(b, s, strlen(s));
}

void cairn_buf_add_json_string(struct cairn_buf *b, const char *s)
{
        static const char hex[] = "0123456789abcdef";

        cairn_buf_add(b, "\"", 1);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                char esc[8];

                if (*p == '"' || *p == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)*p;
                        cairn_buf_add(b, esc, 2);
                } else if (*p < 0x20) {
                        if (*p == '\n') {
                                cairn_buf_add(b, "\\n", 2);
                        } else if (*p == '\t') {
                                cairn_buf_add(b, "\\t", 2);
                        } else if (*p == '\r') {
                                cairn_buf_add(b, "\\r", 2);
                        } else {
                                memcpy(esc, "\\u00", 4);
                                esc[4] = hex[*p >> 4];
                                esc[5] = hex[*p & 15];
                                cairn_buf_add(b, esc, 6);
                        }
                } else {
                        cairn_buf_add(b, (const char *)p, 1);
                }
        }
        cairn_buf_add(b, "\"", 1);
}

void cairn_buf_cleanup(struct cairn_buf *b)
{
        free(b->p);
        b->p = NULL;
        b->len = b->cap = 0;
        b->oom = false;
}

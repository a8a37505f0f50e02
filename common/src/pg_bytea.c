/* Values in PostgreSQL's text forms: bytea ("\x" and hex digits) both
 * ways, and array literals; the pool passes and reads every value as text
 * (cairn/pg.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/hex.h"
#include "cairn/pg.h"

char *cairn_pg_bytea_encode(const uint8_t *bytes, size_t n)
{
        char *text = malloc(2 * n + 3);

        if (!text)
                return NULL;
        text[0] = '\\';
        text[1] = 'x';
        cairn_hex_encode(bytes, n, text + 2);
        text[2 * n + 2] = '\0';
        return text;
}

bool cairn_pg_bytea_decode(const char *text, uint8_t **out, size_t *lenp)
{
        size_t len;
        uint8_t *bytes;

        if (text[0] == '\\' && text[1] == 'x')
                text += 2;
        len = strlen(text);
        if (len % 2)
                return false;
        bytes = malloc(len / 2 + 1);
        if (!bytes)
                return false;
        for (size_t i = 0; i < len / 2; i++) {
                int hi = cairn_hex_digit(text[2 * i], 0), lo = cairn_hex_digit(text[2 * i + 1], 0);

                if (hi < 0 || lo < 0) {
                        free(bytes);
                        return false;
                }
                bytes[i] = (uint8_t)(hi << 4 | lo);
        }
        *out = bytes;
        *lenp = len / 2;
        return true;
}

void cairn_pg_array_begin(struct cairn_buf *b)
{
        cairn_buf_adds(b, "{");
}

void cairn_pg_array_add(struct cairn_buf *b, const char *elem)
{
        /* quoted, so NULL, blanks, commas and braces stay text */
        cairn_buf_adds(b, b->len > 0 && b->p[b->len - 1] != '{' ? ",\"" : "\"");
        for (; *elem; elem++) {
                if (*elem == '"' || *elem == '\\')
                        cairn_buf_add(b, "\\", 1);
                cairn_buf_add(b, elem, 1);
        }
        cairn_buf_adds(b, "\"");
}

void cairn_pg_array_end(struct cairn_buf *b)
{
        cairn_buf_adds(b, "}");
}

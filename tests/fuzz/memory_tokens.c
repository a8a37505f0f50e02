/* libFuzzer target for the memory service's page tokens, which callers send
 * back as they please: any bytes (as a NUL-terminated string) go through
 * both parsers; what they accept must be SQL-ready — a canonical id, a
 * 24-character RFC 3339 time, decimal numbers — and print back to a token
 * that parses to the same. Anything else aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/handlers.h"
#include "memory/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void digits(const char *s)
{
        if (!s[0] || strspn(s, "0123456789") != strlen(s))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *t = malloc(size + 1), when[32], id[37], again[128];
        struct memory_export_pos pos, pos2;

        if (!t)
                return 0;
        memcpy(t, data, size);
        t[size] = '\0';
        if (memory_list_token_parse(t, when, id)) {
                if (!memory_id_valid(id) || strlen(when) != 24 || when[23] != 'Z')
                        abort();
        }
        if (memory_export_token_parse(t, &pos)) {
                digits(pos.seq);
                digits(pos.offset);
                if (pos.id[0]) {
                        if (!memory_id_valid(pos.id))
                                abort();
                        digits(pos.version);
                        snprintf(again, sizeof(again), "m%s.%s", pos.id, pos.version);
                } else if (pos.links) {
                        snprintf(again, sizeof(again), "l%s", pos.offset);
                } else if (pos.history) {
                        snprintf(again, sizeof(again), "h%s", pos.seq);
                } else {
                        again[0] = '\0';
                }
                if (!memory_export_token_parse(again, &pos2) ||
                    memcmp(&pos, &pos2, sizeof(pos)) != 0)
                        abort();
        }
        free(t);
        return 0;
}

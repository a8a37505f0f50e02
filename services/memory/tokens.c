/* Page tokens (tokens.h). Numbers are bounded to what their SQL types and
 * RFC 3339 years (up to 9999) hold, so a forged token is refused here, not
 * in the database. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "handlers.h"
#include "tokens.h"

#define MS_MAX      253402300799999LL /* 9999-12-31T23:59:59.999Z */
#define VERSION_MAX 2147483647LL      /* integer */

/* A decimal number of @p s up to @p stop ('\0' for the end), 0 to @p max;
 * digits only. */
static bool number(const char *s, char stop, long long max, long long *out)
{
        char *end;

        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        *out = strtoll(s, &end, 10);
        return errno == 0 && *end == stop && *out <= max;
}

bool memory_list_token_parse(const char *token, char when[32], char id[37])
{
        const char *us = strchr(token, '_');
        long long ms;

        if (!us || !memory_id_valid(us + 1) || !number(token, '_', MS_MAX, &ms))
                return false;
        cairn_rfc3339(ms, when);
        memcpy(id, us + 1, 37);
        return true;
}

bool memory_export_token_parse(const char *t, struct memory_export_pos *pos)
{
        long long n;

        memset(pos, 0, sizeof(*pos));
        snprintf(pos->offset, sizeof(pos->offset), "0");
        snprintf(pos->seq, sizeof(pos->seq), "0");
        if (!t || !t[0])
                return true;
        if (t[0] == 'l' || t[0] == 'h') {
                if (!number(t + 1, '\0', INT64_MAX, &n))
                        return false;
                pos->history = true;
                pos->links = t[0] == 'l';
                snprintf(t[0] == 'l' ? pos->offset : pos->seq, sizeof(pos->seq), "%lld", n);
                return true;
        }
        if (t[0] != 'm' || strlen(t) < 39 || t[37] != '.')
                return false;
        memcpy(pos->id, t + 1, 36);
        pos->id[36] = '\0';
        if (!memory_id_valid(pos->id) || !number(t + 38, '\0', VERSION_MAX, &n) || n < 1)
                return false;
        snprintf(pos->version, sizeof(pos->version), "%d", (int)n);
        return true;
}

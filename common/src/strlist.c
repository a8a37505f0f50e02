/* Walking comma-separated lists: split on commas, trim spaces and tabs. */
#include <string.h>

#include "cairn/strlist.h"

static bool blank(char c)
{
        return c == ' ' || c == '\t';
}

void cairn_strlist_init(struct cairn_strlist *it, const char *s, size_t len)
{
        it->p = s ? s : "";
        it->end = it->p + (s ? len : 0);
}

bool cairn_strlist_next(struct cairn_strlist *it, const char **item, size_t *len)
{
        const char *start = it->p, *stop, *comma;

        if (start >= it->end)
                return false;
        comma = memchr(start, ',', (size_t)(it->end - start));
        stop = comma ? comma : it->end;
        it->p = comma ? comma + 1 : it->end;
        while (start < stop && blank(*start))
                start++;
        while (stop > start && blank(stop[-1]))
                stop--;
        *item = start;
        *len = (size_t)(stop - start);
        return true;
}

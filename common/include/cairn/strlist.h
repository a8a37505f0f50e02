/* Comma-separated lists as configuration values and headers carry them
 * ("https://a.example, https://b.example"): one way to walk them, so every
 * list in Cairn splits, trims and treats empty members alike. */
#ifndef CAIRN_STRLIST_H
#define CAIRN_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* A walk over one list; nothing to free. */
struct cairn_strlist {
        const char *p;   /* the next unread byte */
        const char *end; /* one past the list's last byte */
};

/* Starts a walk over the @p len bytes at @p s (need not be NUL-terminated;
 * NULL: an empty list). @p s is borrowed and must outlive the walk. */
void cairn_strlist_init(struct cairn_strlist *it, const char *s, size_t len);

/* Sets @p item and @p len to the next member without the spaces and tabs
 * around it (borrowed from the list, not NUL-terminated) and returns true;
 * false at the end. Members are what lies between commas: an empty one
 * ("a,,b", "a, ") comes back with @p len 0 for the caller to skip or refuse,
 * while an empty list has none and a comma at the very end adds none. */
bool cairn_strlist_next(struct cairn_strlist *it, const char **item, size_t *len);

#endif

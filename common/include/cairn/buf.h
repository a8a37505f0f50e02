/* A growable byte buffer for building text: always NUL-terminated, with an
 * optional maximum size (curl's dynbuf). A zeroed struct is an empty,
 * unbounded buffer. */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct cairn_buf {
        char *p;    /* NULL until the first byte; owned, free with cairn_buf_cleanup() */
        size_t len; /* bytes held, excluding the NUL */
        size_t cap;
        size_t max; /* 0: unbounded; else the most bytes the buffer may hold */
        bool oom;   /* an append failed (no memory or over max): the content is incomplete */
};

/* Appends @p n bytes of @p s. After a failure (oom set) every later append
 * is ignored, so callers check once at the end. */
void cairn_buf_add(struct cairn_buf *b, const void *s, size_t n);

/* Appends a NUL-terminated string. */
void cairn_buf_adds(struct cairn_buf *b, const char *s);

/* Appends printf-formatted text. */
void cairn_buf_printf(struct cairn_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Appends @p s as a JSON string literal, quotes included, escaping what
 * JSON requires. @p s must be valid UTF-8 (checked by whoever made it). */
void cairn_buf_add_json_string(struct cairn_buf *b, const char *s);

/* Makes room for @p more bytes ahead of a run of appends (optional). */
void cairn_buf_reserve(struct cairn_buf *b, size_t more);

/* Frees the bytes and empties the buffer (max is kept). */
void cairn_buf_cleanup(struct cairn_buf *b);

#endif

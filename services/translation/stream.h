/* Apertium's stream format, between the service and a pipeline. Text is
 * plain characters with `\^$/<>[]{}@*#+~` escaped by a backslash; [...] is
 * a superblank (formatting a pipeline passes through unchanged). A word the
 * pipeline could not handle comes back marked: "*word" (unknown), "#word"
 * (not generated), "@word" (no translation). Marks are unescaped '*', '#'
 * and '@'; so that they can be told from the text's own, the text's '*',
 * '#' and '@' (and '~', which post-generation takes even escaped) travel as
 * superblanks ("[*]"). */
#ifndef TRANSLATION_STREAM_H
#define TRANSLATION_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/buf.h"

/* What becomes of a pipeline's marks. */
enum tr_marks {
        TR_MARKS_DROP,    /* the word is kept, its mark goes */
        TR_MARKS_KEEP,    /* kept as marks (the output is for people) */
        TR_MARKS_PROTECT, /* kept as text: the output feeds another pipeline */
};

/* Plain text → stream (appended to @p out). */
void tr_stream_escape(const char *text, size_t len, struct cairn_buf *out);

/* Apertium's HTML deformatter leaves '*' and '#' of the text unescaped:
 * turns those outside superblanks into superblanks, so that marks can be
 * told apart after translation. */
void tr_stream_protect(const char *s, size_t len, struct cairn_buf *out);

/* A pipeline's output → stream for the next pipeline or the reformatter:
 * marks handled as @p marks says (TR_MARKS_KEEP leaves them as they are). */
void tr_stream_marks(const char *s, size_t len, enum tr_marks marks, struct cairn_buf *out);

/* A pipeline's output → plain text: escapes undone, superblanks opened,
 * marks dropped unless @p show_marks. */
void tr_stream_unescape(const char *s, size_t len, bool show_marks, struct cairn_buf *out);

#endif

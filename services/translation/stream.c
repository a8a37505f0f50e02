/* Escaping into and out of Apertium's stream format (stream.h). */
#include <string.h>

#include "stream.h"

#define SPECIAL "\\^$/<>[]{}+~"
#define MARKS   "*#@"
/* Travel as superblanks too: post-generation takes '~' even escaped. */
#define BLANKED "*#@~"

/* A mark character as a superblank: text, never a mark. */
static void add_blanked(struct cairn_buf *out, char c)
{
        char sb[3] = { '[', c, ']' };

        cairn_buf_add(out, sb, 3);
}

static bool is_mark(char c)
{
        return c && strchr(MARKS, c);
}

void tr_stream_escape(const char *text, size_t len, struct cairn_buf *out)
{
        cairn_buf_reserve(out, len + len / 8 + 8);
        for (size_t i = 0; i < len; i++) {
                char c = text[i];

                if (strchr(BLANKED, c) && c) {
                        add_blanked(out, c);
                } else if (strchr(SPECIAL, c) && c) {
                        char esc[2] = { '\\', c };

                        cairn_buf_add(out, esc, 2);
                } else {
                        cairn_buf_add(out, &c, 1);
                }
        }
}

/* The end of the superblank opening at s[i] ('['): the index of its ']',
 * or len when it is not closed. Escapes inside are skipped. */
static size_t superblank_end(const char *s, size_t len, size_t i)
{
        for (i++; i < len; i++) {
                if (s[i] == '\\')
                        i++;
                else if (s[i] == ']')
                        return i;
        }
        return len;
}

/* Copies a stream, superblanks and escapes as they are, except that marks
 * become what @p marks says and, with @p blank_escaped, escaped mark
 * characters become superblanks. */
static void rewrite(const char *s, size_t len, bool blank_escaped, enum tr_marks marks,
                    struct cairn_buf *out)
{
        cairn_buf_reserve(out, len + 16);
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 1 < len) {
                        if (blank_escaped && is_mark(s[i + 1]))
                                add_blanked(out, s[i + 1]);
                        else
                                cairn_buf_add(out, s + i, 2);
                        i++;
                } else if (s[i] == '[') {
                        size_t end = superblank_end(s, len, i);

                        cairn_buf_add(out, s + i, (end < len ? end + 1 : len) - i);
                        i = end;
                } else if (is_mark(s[i])) {
                        if (marks == TR_MARKS_KEEP)
                                cairn_buf_add(out, s + i, 1);
                        else if (marks == TR_MARKS_PROTECT)
                                add_blanked(out, s[i]);
                } else {
                        cairn_buf_add(out, s + i, 1);
                }
        }
}

void tr_stream_protect(const char *s, size_t len, struct cairn_buf *out)
{
        rewrite(s, len, true, TR_MARKS_PROTECT, out);
}

void tr_stream_marks(const char *s, size_t len, enum tr_marks marks, struct cairn_buf *out)
{
        rewrite(s, len, false, marks, out);
}

void tr_stream_unescape(const char *s, size_t len, bool show_marks, struct cairn_buf *out)
{
        bool in_blank = false;

        cairn_buf_reserve(out, len + 1);
        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c == '\\' && i + 1 < len) {
                        cairn_buf_add(out, s + i + 1, 1);
                        i++;
                } else if (!in_blank && c == '[') {
                        in_blank = true;
                } else if (in_blank && c == ']') {
                        in_blank = false;
                } else if (!in_blank && is_mark(c)) {
                        if (show_marks)
                                cairn_buf_add(out, &c, 1);
                } else {
                        cairn_buf_add(out, &c, 1);
                }
        }
}

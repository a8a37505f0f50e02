/* Escaping into and out of Apertium's stream format (stream.h). */
#include <string.h>

#include "stream.h"

#define SPECIAL "\\^$/<>[]{}+~"
#define MARKS   "*#@"
/* Travel as superblanks too: post-generation takes '~' even escaped. */
#define BLANKED "*#@~"

void tr_stream_escape(const char *text, size_t len, struct cairn_buf *out)
{
        cairn_buf_reserve(out, len + len / 8 + 8);
        for (size_t i = 0; i < len; i++) {
                char c = text[i];

                if (strchr(BLANKED, c) && c) {
                        char sb[3] = { '[', c, ']' };

                        cairn_buf_add(out, sb, 3);
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

void tr_stream_protect(const char *s, size_t len, struct cairn_buf *out)
{
        cairn_buf_reserve(out, len + 16);
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 1 < len) {
                        if (strchr(MARKS, s[i + 1]) && s[i + 1]) {
                                char sb[3] = { '[', s[i + 1], ']' };

                                cairn_buf_add(out, sb, 3);
                        } else {
                                cairn_buf_add(out, s + i, 2);
                        }
                        i++;
                } else if (s[i] == '[') {
                        size_t end = superblank_end(s, len, i);

                        cairn_buf_add(out, s + i, (end < len ? end + 1 : len) - i);
                        i = end;
                } else if (strchr(MARKS, s[i]) && s[i]) {
                        char sb[3] = { '[', s[i], ']' };

                        cairn_buf_add(out, sb, 3);
                } else {
                        cairn_buf_add(out, s + i, 1);
                }
        }
}

void tr_stream_marks(const char *s, size_t len, enum tr_marks marks, struct cairn_buf *out)
{
        cairn_buf_reserve(out, len + 16);
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 1 < len) {
                        cairn_buf_add(out, s + i, 2);
                        i++;
                } else if (s[i] == '[') {
                        size_t end = superblank_end(s, len, i);

                        cairn_buf_add(out, s + i, (end < len ? end + 1 : len) - i);
                        i = end;
                } else if (strchr(MARKS, s[i]) && s[i]) {
                        char sb[3] = { '[', s[i], ']' };

                        if (marks == TR_MARKS_KEEP)
                                cairn_buf_add(out, s + i, 1);
                        else if (marks == TR_MARKS_PROTECT)
                                cairn_buf_add(out, sb, 3);
                } else {
                        cairn_buf_add(out, s + i, 1);
                }
        }
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
                } else if (!in_blank && strchr(MARKS, c) && c) {
                        if (show_marks)
                                cairn_buf_add(out, &c, 1);
                } else {
                        cairn_buf_add(out, &c, 1);
                }
        }
}

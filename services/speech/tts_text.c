/* Text clean-up for the engines: espeak-ng reads UTF-8 but not broken
 * UTF-8 or control characters; flite reads ASCII only, so typographic
 * punctuation becomes its plain form, accents go, and what it cannot say
 * (emoji, other scripts) is left out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tts_internal.h"

/* The next code point of @p s (len bytes); *used set (at least 1). An
 * invalid byte comes back as -1. */
static int32_t next_cp(const char *s, size_t len, size_t *used)
{
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
                                              &cp);

        if (k <= 0) {
                *used = 1;
                return -1;
        }
        *used = (size_t)k;
        return cp;
}

static bool is_space(int32_t cp)
{
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 || cp == 0x180e ||
            cp == 0xfeff || (cp >= 0x2000 && cp <= 0x200b) || cp == 0x2028 || cp == 0x2029 ||
            cp == 0x202f || cp == 0x205f || cp == 0x3000)
                return true;
        return utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool tts_text_has_content(const char *text)
{
        size_t len = text ? strlen(text) : 0;

        for (size_t i = 0, k; i < len; i += k) {
                int32_t cp = next_cp(text + i, len - i, &k);

                if (cp >= 0 && !is_space(cp) && utf8proc_category(cp) != UTF8PROC_CATEGORY_CC &&
                    utf8proc_category(cp) != UTF8PROC_CATEGORY_CF)
                        return true;
        }
        return false;
}

char *tts_text_clean(const char *text)
{
        size_t len = strlen(text);
        char *out = malloc(len + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0, k; i < len; i += k) {
                int32_t cp = next_cp(text + i, len - i, &k);

                if (cp < 0)
                        continue;
                if (utf8proc_category(cp) == UTF8PROC_CATEGORY_CC || is_space(cp))
                        *o++ = ' ';
                else {
                        memcpy(o, text + i, k);
                        o += k;
                }
        }
        *o = '\0';
        return out;
}

/* What flite reads for a code point NFKC and mark stripping left alone. */
static const char *ascii_for(int32_t cp)
{
        switch (cp) {
        case 0x2018:
        case 0x2019:
        case 0x201a:
        case 0x201b:
        case 0x2032:
        case 0x00b4:
        case 0x02bc:
        case 0x2039:
        case 0x203a:
                return "'";
        case 0x201c:
        case 0x201d:
        case 0x201e:
        case 0x201f:
        case 0x2033:
        case 0x00ab:
        case 0x00bb:
        case 0x300c:
        case 0x300d:
                return "\"";
        case 0x2010:
        case 0x2011:
        case 0x2012:
        case 0x2013:
        case 0x2212:
        case 0x00ad:
                return "-";
        case 0x2014:
        case 0x2015:
        case 0x2e3a:
        case 0x2e3b: /* dashes: a pause */
                return ", ";
        case 0x2026:
                return "...";
        case 0x2022:
        case 0x00b7:
        case 0x2027:
                return ", ";
        case 0x2044:
        case 0x2215:
                return "/";
        case 0x00d7:
                return " times ";
        case 0x00df:
                return "ss";
        case 0x00e6:
                return "ae";
        case 0x00c6:
                return "AE";
        case 0x0153:
                return "oe";
        case 0x0152:
                return "OE";
        case 0x00f8:
                return "o";
        case 0x00d8:
                return "O";
        case 0x0142:
                return "l";
        case 0x0141:
                return "L";
        case 0x0111:
        case 0x00f0:
                return "d";
        case 0x0110:
        case 0x00d0:
                return "D";
        case 0x00fe:
                return "th";
        case 0x00de:
                return "Th";
        case 0x0131:
                return "i";
        case 0x20ac:
                return " euros ";
        case 0x00a3:
                return " pounds ";
        case 0x00b0:
                return " degrees ";
        case 0x3001:
        case 0xff0c:
                return ", ";
        case 0x3002:
        case 0xff0e:
                return ". ";
        default:
                return " ";
        }
}

char *tts_text_ascii(const char *text)
{
        char *valid = tts_text_clean(text), *out = NULL, *o;
        utf8proc_uint8_t *nfkc = NULL;
        utf8proc_ssize_t n;
        size_t len;

        if (!valid)
                return NULL;
        /* compatibility forms to plain ones ("…" "...", "ﬁ" "fi", full-width
   * letters), accents off ("é" "e") */
        n = utf8proc_map((const utf8proc_uint8_t *)valid, 0, &nfkc,
                         UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                 UTF8PROC_STRIPMARK);
        free(valid);
        if (n < 0)
                return NULL;
        len = (size_t)n;
        /* no replacement is longer than 8 bytes, none of the input shorter than 1 */
        out = malloc(len * 8 + 1);
        if (!out) {
                free(nfkc);
                return NULL;
        }
        o = out;
        for (size_t i = 0, k; i < len; i += k) {
                int32_t cp = next_cp((const char *)nfkc + i, len - i, &k);
                const char *r;

                r = cp < 0 ? " " : ascii_for(cp);
                if (cp >= 0x20 && cp < 0x7f) {
                        if (cp != ' ' || o == out || o[-1] != ' ')
                                *o++ = (char)cp;
                        continue;
                }
                /* a run of what flite cannot say becomes one space */
                if (r[0] == ' ' && r[1] == '\0' && o > out && o[-1] == ' ')
                        continue;
                o = stpcpy(o, r);
        }
        *o = '\0';
        free(nfkc);
        return out;
}

bool tts_text_speakable(const char *text)
{
        size_t len = strlen(text);

        for (size_t i = 0, k; i < len; i += k) {
                int32_t cp = next_cp(text + i, len - i, &k);
                utf8proc_category_t c = cp < 0 ? UTF8PROC_CATEGORY_CN : utf8proc_category(cp);

                if ((c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
                    (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO))
                        return true;
        }
        return false;
}

static bool sentence_end(const char *s, size_t len, size_t i, size_t *after)
{
        unsigned char c = (unsigned char)s[i];

        if (c == '\n' || ((c == '.' || c == '!' || c == '?' || c == ';') &&
                          (i + 1 == len || s[i + 1] == ' ' || s[i + 1] == '\n'))) {
                *after = i + 1;
                return true;
        }
        /* 。！？ */
        if (i + 3 <= len && c == 0xe3 && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x82) {
                *after = i + 3;
                return true;
        }
        if (i + 3 <= len && c == 0xef && (unsigned char)s[i + 1] == 0xbc &&
            ((unsigned char)s[i + 2] == 0x81 || (unsigned char)s[i + 2] == 0x9f)) {
                *after = i + 3;
                return true;
        }
        return false;
}

size_t tts_text_chunk(const char *s, size_t len, size_t max)
{
        size_t last_space = 0, after;

        if (len <= max)
                return len;
        for (size_t i = 0; i < len; i++) {
                if (i >= max / 3 && sentence_end(s, len, i, &after))
                        return after;
                if (s[i] == ' ')
                        last_space = i + 1;
                if (i >= max) {
                        if (last_space > max / 3)
                                return last_space;
                        /* no space (a script without them): cut between characters */
                        while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
                                i--;
                        return i > 0 ? i : max;
                }
        }
        return len;
}

/* Word error counting for the speech tests and benchmarks (header only):
 * the words of a transcript, lower case, punctuation dropped (apostrophes
 * kept, hyphens split words), and the word-level edit distance between a
 * transcript and what was said. Numbers are not normalised: "7" against
 * "seven" is an error. */
#ifndef CAIRN_TEST_SPEECH_WORDS_H
#define CAIRN_TEST_SPEECH_WORDS_H

#include <ctype.h>
#include <stddef.h>
#include <string.h>

/* The words of @p text into @p words (at most @p max, each cut at 31
 * bytes); returns how many. */
static inline size_t words_of(const char *text, char words[][32], size_t max)
{
        size_t n = 0, len = 0;

        for (const char *p = text;; p++) {
                if (*p && (isalnum((unsigned char)*p) || *p == '\'')) {
                        if (len < 31)
                                words[n][len++] = (char)tolower((unsigned char)*p);
                        continue;
                }
                if (len && n < max) {
                        words[n][len] = '\0';
                        n++;
                }
                len = 0;
                if (!*p || n == max)
                        return n;
        }
}

/* Substitutions, insertions and deletions turning @p ref's words into
 * @p hyp's (at most 256 words each); *@p n_ref gets the reference's words.
 * Not thread-safe: its tables are static. */
static inline size_t word_errors(const char *hyp, const char *ref, size_t *n_ref)
{
        static char h[256][32], r[256][32];
        static size_t d[257][257];
        const size_t nh = words_of(hyp, h, 256), nr = words_of(ref, r, 256);

        for (size_t i = 0; i <= nh; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= nr; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= nh; i++) {
                for (size_t j = 1; j <= nr; j++) {
                        size_t best = d[i - 1][j - 1] + (strcmp(h[i - 1], r[j - 1]) != 0);

                        best = d[i - 1][j] + 1 < best ? d[i - 1][j] + 1 : best;
                        best = d[i][j - 1] + 1 < best ? d[i][j - 1] + 1 : best;
                        d[i][j] = best;
                }
        }
        *n_ref = nr;
        return d[nh][nr];
}

#endif

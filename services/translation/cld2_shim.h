/* A small C interface to CLD2, the Compact Language Detector (C++): the top
 * three languages of a text with their share of it and their scores.
 * CLD2's tables are static and read-only, so any thread may call this at
 * any time, without set-up. */
#ifndef TRANSLATION_CLD2_SHIM_H
#define TRANSLATION_CLD2_SHIM_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What CLD2 says about a text. Languages are CLD2's numbers (its enum
 * Language), which tr_cld2_language() gives for a code: comparing numbers
 * spares the caller CLD2's own spellings ("iw" for Hebrew, "no" for
 * Norwegian Bokmål). */
struct tr_cld2_result {
        int lang[3];     /* the top three, most of the text first */
        int percent[3];  /* 1..100: each one's share of the text's letters */
        double score[3]; /* CLD2's normalized score: about 1,000 on ordinary text */
        int text_bytes;  /* letters scored, tags and punctuation left out */
};

/* CLD2's number for the language @p code names (an ISO 639-1 code, or
 * another CLD2 knows: "he" and "iw" both name Hebrew), or -1 when CLD2 does
 * not know it. */
int tr_cld2_language(const char *code);

/* Detects the languages of @p text[0..len), plain UTF-8.
 * @p hints is borrowed and may be NULL: a comma-separated list of codes
 * ("en,es") whose languages CLD2 favours, as it would a page's
 * Content-Language (CLD2 keeps at most four; given five or more, it does
 * not use them). Without @p best_effort CLD2 answers only when it is sure
 * (when it is, it says so: CLD2's own is_reliable flag is set for every
 * answer it gives); with it, CLD2 also guesses on text too short to be sure
 * of. Returns how many languages it found (0..3); 0 for text that is
 * empty, not valid UTF-8, longer than INT_MAX or without letters. */
int tr_cld2_detect(const char *text, size_t len, const char *hints, bool best_effort,
                   struct tr_cld2_result *r);

#ifdef __cplusplus
}
#endif

#endif

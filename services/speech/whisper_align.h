/* Word timestamps as CTranslate2's Whisper align() and faster-whisper
 * compute them: the decoder run once more over a window's text, the
 * cross-attention of the model's alignment heads (config.json's
 * alignment_heads) over the window's audio frames, softmax, standardised
 * per frame over the tokens, median-filtered (width 7) over time, averaged
 * over the heads; dynamic time warping of the text tokens against the
 * frames; words split at spaces and punctuation, their times where the
 * path reaches their first token. */
#ifndef SPEECH_WHISPER_ALIGN_H
#define SPEECH_WHISPER_ALIGN_H

#include <stddef.h>

#include "whisper_model.h"
#include "whisper_net.h"

struct whisper_timing {
        char *word; /* the word's text with its leading space; "" once merged away */
        size_t n_tokens;
        double start, end; /* seconds from the window's start */
        float probability; /* the mean of its tokens' probabilities */
};

/* Aligns @p n text tokens (each below <|endoftext|>) with the window
 * encoded in @p s, whose content is @p num_frames mel frames. Returns 0
 * with *@p out (malloc'ed, *@p n_out entries; free with
 * whisper_timings_free) or -1 when out of memory. */
int whisper_align(struct whisper_state *s, const struct whisper_model *m, const unsigned *text,
                  size_t n, size_t num_frames, struct whisper_timing **out, size_t *n_out);

/* faster-whisper's clean-up of a window's timings: words at sentence ends
 * no longer than twice the median word (itself at most 0.7 s), and
 * punctuation merged into the word it follows or precedes. Sets
 * *@p median and *@p max_duration. */
void whisper_timings_tidy(struct whisper_timing *t, size_t n, double *median, double *max_duration);

void whisper_timings_free(struct whisper_timing *t, size_t n);

#endif

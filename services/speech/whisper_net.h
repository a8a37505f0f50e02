/* Whisper's network, forward only, in float32 over OpenBLAS: the
 * encoder over one 30 s window of log-mel frames, and the decoder a few
 * tokens at a time over a key/value cache. A struct whisper_state holds
 * one transcription's working memory; the model stays read-only. */
#ifndef SPEECH_WHISPER_NET_H
#define SPEECH_WHISPER_NET_H

#include <stddef.h>

#include "whisper_model.h"

struct whisper_state;

/* NULL when out of memory. */
struct whisper_state *whisper_state_new(const struct whisper_model *m);
void whisper_state_free(struct whisper_state *s);

/* Encodes @p mel, [n_mels][WHISPER_N_FRAMES] (borrowed), and computes each
 * decoder layer's cross-attention keys and values from it; empties the
 * self-attention cache. */
void whisper_encode(struct whisper_state *s, const float *mel);

/* Runs the decoder over @p n tokens at positions cached..cached + n - 1
 * (appending them to the cache; the caller keeps cached + n within
 * n_text_ctx) and returns the logits of the last one, n_vocab floats that
 * live until the next call. */
const float *whisper_decode_step(struct whisper_state *s, const unsigned *tokens, size_t n);

/* Word alignment: runs the decoder over @p n tokens from position 0 (the
 * cache emptied first), with keep[layer][head], when not NULL, receiving
 * that cross-attention head's scaled scores before the softmax, [n,
 * n_audio_ctx]; @p logits gets every row's first @p n_logits logits,
 * [n, n_logits]. */
void whisper_decode_align(struct whisper_state *s, const unsigned *tokens, size_t n,
                          float *const (*keep)[WHISPER_MAX_HEADS], float *logits, size_t n_logits);

/* Tokens in the self-attention cache. */
size_t whisper_cached(const struct whisper_state *s);

/* Drops the cache back to @p n tokens (n <= whisper_cached()). */
void whisper_rewind(struct whisper_state *s, size_t n);

#endif

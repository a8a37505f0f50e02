/* The Whisper model as the engine holds it: every weight in float32 (fp16
 * converted once at load), the vocabulary and the config's token lists.
 * Read-only once loaded; shared by every transcription. */
#ifndef SPEECH_WHISPER_MODEL_H
#define SPEECH_WHISPER_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "ct2_model.h"
#include "whisper_bpe.h"
#include "whisper_vocab.h"

#define WHISPER_MAX_LAYERS 64
#define WHISPER_MAX_HEADS  64

struct whisper_linear {
        const float *w; /* [out, in], row j holds output j's weights */
        const float *b; /* [out] */
        size_t out, in;
};

struct whisper_norm {
        const float *gamma, *beta;
};

struct whisper_enc_layer {
        struct whisper_norm attn_norm, ffn_norm;
        struct whisper_linear qkv, out, fc1, fc2;
};

struct whisper_dec_layer {
        struct whisper_norm self_norm, cross_norm, ffn_norm;
        struct whisper_linear qkv, self_out, cross_q, cross_kv, cross_out, fc1, fc2;
};

struct whisper_model {
        struct ct2_model file;
        float *arena; /* every weight, float32 */
        size_t d_model, n_heads, n_mels;
        size_t n_audio_ctx;                 /* 1500 */
        size_t n_text_ctx;                  /* 448 */
        size_t n_vocab;                     /* rows of the embedding */
        struct whisper_linear conv1, conv2; /* w as [out, in * 3] */
        const float *enc_pos;               /* [n_audio_ctx, d_model] */
        size_t n_enc_layers, n_dec_layers;
        struct whisper_enc_layer enc[WHISPER_MAX_LAYERS];
        struct whisper_norm enc_norm;
        const float *tok_emb; /* [n_vocab, d_model], also the output projection */
        const float *dec_pos; /* [n_text_ctx, d_model] */
        struct whisper_dec_layer dec[WHISPER_MAX_LAYERS];
        struct whisper_norm dec_norm;

        struct whisper_vocab vocab;
        struct whisper_bpe *bpe; /* tokenizer.json's merges; NULL without the file */
        /* config.json */
        int *suppress; /* sorted, without repeats */
        size_t n_suppress;
        int *suppress_begin;
        size_t n_suppress_begin;
        int (*align_heads)[2]; /* layer, head */
        size_t n_align_heads;
        bool english_only;
};

#endif

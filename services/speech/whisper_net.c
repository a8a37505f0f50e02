/* Whisper's encoder and decoder (whisper_net.h), pre-LayerNorm
 * transformers:
 *
 *   encoder: x = GELU(conv1(mel)); x = GELU(conv2(x), stride 2) + position
 *            per layer: x += Wo attention(LN(x)); x += W2 GELU(W1 LN(x))
 *            x = LN(x)
 *   decoder: x = token[id] + position[t]
 *            per layer: x += masked self-attention(LN(x)) over the cache
 *                       x += cross-attention(LN(x)) over the encoder output
 *                       x += W2 GELU(W1 LN(x))
 *            logits = LN(x) token'      (the embedding, tied)
 *
 * Activations are row-major, one row per time step. Every product is one
 * cblas_sgemm, or cblas_sgemv for a single row (a decoder step), where
 * sgemm would pack a whole weight matrix to use it once; the convolutions
 * become products by laying each output step's three input steps side by
 * side first (im2col). The positions are the model's own tables
 * (sinusoids for the encoder, learned for the decoder). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/nn.h"
#include "whisper_mel.h"
#include "whisper_net.h"

#define LN_EPS 1e-5f

struct whisper_state {
        const struct whisper_model *m;
        /* encoder */
        float *cols;   /* im2col: [WHISPER_N_FRAMES, 3 n_mels] or [n_audio_ctx, 3 D] */
        float *conv;   /* [WHISPER_N_FRAMES, D] */
        float *x, *h;  /* [n_audio_ctx, D] */
        float *qkv;    /* [n_audio_ctx, 3 D] */
        float *ctx;    /* [n_audio_ctx, D] */
        float *ffn;    /* [n_audio_ctx, 4 D] */
        float *scores; /* [n_audio_ctx, n_audio_ctx] */
        /* decoder */
        float *cross_k[WHISPER_MAX_LAYERS], *cross_v[WHISPER_MAX_LAYERS]; /* [n_audio_ctx, D] */
        float *self_k[WHISPER_MAX_LAYERS], *self_v[WHISPER_MAX_LAYERS];   /* [n_text_ctx, D] */
        float *kv;                                                        /* [n_audio_ctx, 2 D] */
        float *logits;                                                    /* [n_vocab] */
        size_t cached;
};

/* out[rows, lin->out] = in[rows, lin->in] W' + b (+= when @p accumulate:
 * the residual stream adds the projection in place) */
static void linear(const float *in, size_t rows, const struct whisper_linear *lin, float *out,
                   int accumulate)
{
        if (!accumulate) {
                for (size_t r = 0; r < rows; r++)
                        memcpy(out + r * lin->out, lin->b, lin->out * sizeof(float));
        } else {
                for (size_t r = 0; r < rows; r++) {
                        for (size_t j = 0; j < lin->out; j++)
                                out[r * lin->out + j] += lin->b[j];
                }
        }
        /* one row (a decoder step): sgemm would pack the whole weight
         * matrix to use it once */
        if (rows == 1)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)lin->out, (int)lin->in, 1.0f, lin->w,
                            (int)lin->in, in, 1, 1.0f, out, 1);
        else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)lin->out,
                            (int)lin->in, 1.0f, in, (int)lin->in, lin->w, (int)lin->in, 1.0f, out,
                            (int)lin->out);
}

/* Multi-head attention of @p rows queries (row stride @p ldq) over @p keys
 * keys and values (strides @p ldk, @p ldv) into @p ctx [rows, D]. With
 * @p causal, query i sees keys 0 .. keys - rows + i. With @p keep, head h's
 * scores before the softmax are copied to keep[h] when that is not NULL. */
static void attention(struct whisper_state *s, const float *q, size_t ldq, const float *k,
                      size_t ldk, const float *v, size_t ldv, size_t rows, size_t keys, int causal,
                      float *ctx, float *const *keep)
{
        const struct whisper_model *m = s->m;
        const size_t D = m->d_model, dh = D / m->n_heads;
        const float scale = 1.0f / sqrtf((float)dh);

        for (size_t h = 0; h < m->n_heads; h++) {
                if (rows == 1)
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)keys, (int)dh, scale,
                                    k + h * dh, (int)ldk, q + h * dh, 1, 0.0f, s->scores, 1);
                else
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)keys,
                                    (int)dh, scale, q + h * dh, (int)ldq, k + h * dh, (int)ldk,
                                    0.0f, s->scores, (int)keys);
                /* word alignment: this head's scores before the softmax */
                if (keep && keep[h])
                        memcpy(keep[h], s->scores, rows * keys * sizeof(float));
                for (size_t i = 0; i < rows; i++) {
                        float *row = s->scores + i * keys;
                        const size_t seen = causal ? keys - rows + i + 1 : keys;

                        cairn_nn_softmax_rows(row, 1, seen);
                        for (size_t j = seen; j < keys; j++)
                                row[j] = 0.0f;
                }
                if (rows == 1)
                        cblas_sgemv(CblasRowMajor, CblasTrans, (int)keys, (int)dh, 1.0f, v + h * dh,
                                    (int)ldv, s->scores, 1, 0.0f, ctx + h * dh, 1);
                else
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)dh,
                                    (int)keys, 1.0f, s->scores, (int)keys, v + h * dh, (int)ldv,
                                    0.0f, ctx + h * dh, (int)D);
        }
}

struct whisper_state *whisper_state_new(const struct whisper_model *m)
{
        struct whisper_state *s = calloc(1, sizeof(*s));
        const size_t D = m->d_model, T = m->n_audio_ctx, N = WHISPER_N_FRAMES;
        int ok;

        if (!s)
                return NULL;
        s->m = m;
        s->cols = malloc(sizeof(float) *
                         (N * 3 * m->n_mels > T * 3 * D ? N * 3 * m->n_mels : T * 3 * D));
        s->conv = malloc(sizeof(float) * N * D);
        s->x = malloc(sizeof(float) * T * D);
        s->h = malloc(sizeof(float) * T * D);
        s->qkv = malloc(sizeof(float) * T * 3 * D);
        s->ctx = malloc(sizeof(float) * T * D);
        s->ffn = malloc(sizeof(float) * T * 4 * D);
        s->scores = malloc(sizeof(float) * T * T);
        s->kv = malloc(sizeof(float) * T * 2 * D);
        s->logits = malloc(sizeof(float) * m->n_vocab);
        ok = s->cols && s->conv && s->x && s->h && s->qkv && s->ctx && s->ffn && s->scores &&
             s->kv && s->logits;
        for (size_t i = 0; ok && i < m->n_dec_layers; i++) {
                s->cross_k[i] = malloc(sizeof(float) * T * D);
                s->cross_v[i] = malloc(sizeof(float) * T * D);
                s->self_k[i] = malloc(sizeof(float) * m->n_text_ctx * D);
                s->self_v[i] = malloc(sizeof(float) * m->n_text_ctx * D);
                ok = s->cross_k[i] && s->cross_v[i] && s->self_k[i] && s->self_v[i];
        }
        if (!ok) {
                whisper_state_free(s);
                return NULL;
        }
        return s;
}

void whisper_state_free(struct whisper_state *s)
{
        if (!s)
                return;
        free(s->cols);
        free(s->conv);
        free(s->x);
        free(s->h);
        free(s->qkv);
        free(s->ctx);
        free(s->ffn);
        free(s->scores);
        free(s->kv);
        free(s->logits);
        for (size_t i = 0; i < WHISPER_MAX_LAYERS; i++) {
                free(s->cross_k[i]);
                free(s->cross_v[i]);
                free(s->self_k[i]);
                free(s->self_v[i]);
        }
        free(s);
}

/* im2col for a kernel-3, padding-1 convolution: row t of @p cols holds,
 * for every input channel c, in[t*stride + k - 1][c] at c*3 + k (the
 * layout of CTranslate2's [out, in, 3] weights). @p in is [steps, ch]
 * (ld @p ld), or channel-major [ch][steps] when @p channel_major. */
static void im2col(const float *in, size_t steps, size_t ch, int channel_major, size_t stride,
                   size_t out_steps, float *cols)
{
        for (size_t t = 0; t < out_steps; t++) {
                float *row = cols + t * ch * 3;

                for (int k = 0; k < 3; k++) {
                        const long src = (long)(t * stride) + k - 1;

                        for (size_t c = 0; c < ch; c++) {
                                float v = 0.0f;

                                if (src >= 0 && (size_t)src < steps)
                                        v = channel_major ? in[c * steps + (size_t)src]
                                                          : in[(size_t)src * ch + c];
                                row[c * 3 + (size_t)k] = v;
                        }
                }
        }
}

void whisper_encode(struct whisper_state *s, const float *mel)
{
        const struct whisper_model *m = s->m;
        const size_t D = m->d_model, T = m->n_audio_ctx, N = WHISPER_N_FRAMES;

        im2col(mel, N, m->n_mels, 1, 1, N, s->cols);
        linear(s->cols, N, &m->conv1, s->conv, 0);
        cairn_nn_gelu(s->conv, N * D);
        im2col(s->conv, N, D, 0, 2, T, s->cols);
        linear(s->cols, T, &m->conv2, s->x, 0);
        cairn_nn_gelu(s->x, T * D);
        for (size_t i = 0; i < T * D; i++)
                s->x[i] += m->enc_pos[i];
        for (size_t l = 0; l < m->n_enc_layers; l++) {
                const struct whisper_enc_layer *L = &m->enc[l];

                cairn_nn_layer_norm(s->x, s->h, T, D, (L->attn_norm).gamma, (L->attn_norm).beta,
                                    LN_EPS);
                linear(s->h, T, &L->qkv, s->qkv, 0);
                attention(s, s->qkv, 3 * D, s->qkv + D, 3 * D, s->qkv + 2 * D, 3 * D, T, T, 0,
                          s->ctx, NULL);
                linear(s->ctx, T, &L->out, s->x, 1);
                cairn_nn_layer_norm(s->x, s->h, T, D, (L->ffn_norm).gamma, (L->ffn_norm).beta,
                                    LN_EPS);
                linear(s->h, T, &L->fc1, s->ffn, 0);
                cairn_nn_gelu(s->ffn, T * 4 * D);
                linear(s->ffn, T, &L->fc2, s->x, 1);
        }
        cairn_nn_layer_norm(s->x, s->h, T, D, (m->enc_norm).gamma, (m->enc_norm).beta, LN_EPS);
        /* the cross-attention keys and values, once per window */
        for (size_t l = 0; l < m->n_dec_layers; l++) {
                linear(s->h, T, &m->dec[l].cross_kv, s->kv, 0);
                for (size_t t = 0; t < T; t++) {
                        memcpy(s->cross_k[l] + t * D, s->kv + t * 2 * D, D * sizeof(float));
                        memcpy(s->cross_v[l] + t * D, s->kv + t * 2 * D + D, D * sizeof(float));
                }
        }
        s->cached = 0;
}

/* The decoder over @p n tokens; with @p keep, the cross-attention scores of
 * the heads it names; leaves the final LayerNorm of every row in s->h. */
static void decode(struct whisper_state *s, const unsigned *tokens, size_t n,
                   float *const (*keep)[WHISPER_MAX_HEADS])
{
        const struct whisper_model *m = s->m;
        const size_t D = m->d_model, T = m->n_audio_ctx, start = s->cached;
        float *x = s->x, *h = s->h;

        for (size_t i = 0; i < n; i++) {
                const float *e = m->tok_emb + (size_t)tokens[i] * D;
                const float *p = m->dec_pos + (start + i) * D;

                for (size_t j = 0; j < D; j++)
                        x[i * D + j] = e[j] + p[j];
        }
        for (size_t l = 0; l < m->n_dec_layers; l++) {
                const struct whisper_dec_layer *L = &m->dec[l];

                cairn_nn_layer_norm(x, h, n, D, (L->self_norm).gamma, (L->self_norm).beta, LN_EPS);
                linear(h, n, &L->qkv, s->qkv, 0);
                for (size_t i = 0; i < n; i++) {
                        memcpy(s->self_k[l] + (start + i) * D, s->qkv + i * 3 * D + D,
                               D * sizeof(float));
                        memcpy(s->self_v[l] + (start + i) * D, s->qkv + i * 3 * D + 2 * D,
                               D * sizeof(float));
                }
                attention(s, s->qkv, 3 * D, s->self_k[l], D, s->self_v[l], D, n, start + n, 1,
                          s->ctx, NULL);
                linear(s->ctx, n, &L->self_out, x, 1);
                cairn_nn_layer_norm(x, h, n, D, (L->cross_norm).gamma, (L->cross_norm).beta,
                                    LN_EPS);
                linear(h, n, &L->cross_q, s->qkv, 0);
                attention(s, s->qkv, D, s->cross_k[l], D, s->cross_v[l], D, n, T, 0, s->ctx,
                          keep ? keep[l] : NULL);
                linear(s->ctx, n, &L->cross_out, x, 1);
                cairn_nn_layer_norm(x, h, n, D, (L->ffn_norm).gamma, (L->ffn_norm).beta, LN_EPS);
                linear(h, n, &L->fc1, s->ffn, 0);
                cairn_nn_gelu(s->ffn, n * 4 * D);
                linear(s->ffn, n, &L->fc2, x, 1);
        }
        s->cached = start + n;
        cairn_nn_layer_norm(x, h, n, D, m->dec_norm.gamma, m->dec_norm.beta, LN_EPS);
}

const float *whisper_decode_step(struct whisper_state *s, const unsigned *tokens, size_t n)
{
        const struct whisper_model *m = s->m;
        const size_t D = m->d_model;

        decode(s, tokens, n, NULL);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m->n_vocab, (int)D, 1.0f, m->tok_emb, (int)D,
                    s->h + (n - 1) * D, 1, 0.0f, s->logits, 1);
        return s->logits;
}

void whisper_decode_align(struct whisper_state *s, const unsigned *tokens, size_t n,
                          float *const (*keep)[WHISPER_MAX_HEADS], float *logits, size_t n_logits)
{
        const struct whisper_model *m = s->m;
        const size_t D = m->d_model;

        whisper_rewind(s, 0);
        decode(s, tokens, n, keep);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n_logits, (int)D, 1.0f,
                    s->h, (int)D, m->tok_emb, (int)D, 0.0f, logits, (int)n_logits);
}

size_t whisper_cached(const struct whisper_state *s)
{
        return s->cached;
}

void whisper_rewind(struct whisper_state *s, size_t n)
{
        if (n < s->cached)
                s->cached = n;
}

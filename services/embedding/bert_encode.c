/* BERT's encoder, forward only, in float32:
 *
 *   x = LayerNorm(word[id] + position[t] + type[0])
 *   per layer:  q | k | v = x [Wq' Wk' Wv'] + [bq bk bv]   (one product)
 *               per text and head: softmax(q k' / sqrt(d)) v
 *               x = LayerNorm(x + attention Wo' + bo)
 *               x = LayerNorm(x + GELU(x Wi' + bi) Wout' + bout)
 *   pooled:     the mean of a text's token vectors (or its [CLS] vector),
 *               L2-normalised when the model says so.
 *
 * Batches are packed, not padded: the texts' tokens lie back to back, every
 * projection is one product over all of them (bert_gemm.h, over weights
 * packed at load), and attention runs per text over that text's own tokens
 * (OpenBLAS sgemm). That is exactly what an attention mask over a padded
 * batch computes (masked keys get weight zero, padded rows are thrown
 * away), without computing the padding at all, so texts of any mix of
 * lengths cost only their own tokens and need no grouping by length. A
 * text's vector does not depend on the other texts of its batch: every
 * product sums in the same order whatever the batch. */
#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bert_encode.h"
#include "cairn/nn.h"
#include "bert_gemm.h"

struct bert_work {
        const struct bert_model *model;
        size_t rows; /* token rows the activations below have room for */
        float *x;    /* [rows, hidden]: the hidden states */
        float *qkv;  /* [rows, 3 hidden]: each token's query | key | value */
        float *ctx, *tmp;
        float *inter;  /* [rows, intermediate] */
        float *scores; /* [max_seq_length, max_seq_length]: one head's attention */
        struct bert_tokenizer_scratch *tok;
        int32_t *ids; /* bert_embed(): every text's ids, back to back */
        size_t ids_cap;
        size_t *lens;
        size_t lens_cap;
};

float bert_erf(float x)
{
        return cairn_nn_erf(x);
}

struct bert_work *bert_work_new(const struct bert_model *model)
{
        struct bert_work *w;

        w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->model = model;
        w->tok = bert_tokenizer_scratch_new();
        if (!w->tok) {
                free(w);
                return NULL;
        }
        return w;
}

static void free_rows(struct bert_work *w)
{
        free(w->x);
        free(w->qkv);
        free(w->ctx);
        free(w->tmp);
        free(w->inter);
        free(w->scores);
        w->x = w->qkv = w->ctx = w->tmp = w->inter = w->scores = NULL;
        w->rows = 0;
}

void bert_work_free(struct bert_work *work)
{
        if (!work)
                return;
        free_rows(work);
        bert_tokenizer_scratch_free(work->tok);
        free(work->ids);
        free(work->lens);
        free(work);
}

/* Token rows one pass may hold: BERT_PASS_TOKENS, or one text of a
 * model with a longer max_seq_length. */
static size_t pass_limit(const struct bert_config *c)
{
        return c->max_seq_length > BERT_PASS_TOKENS ? c->max_seq_length : BERT_PASS_TOKENS;
}

/* Room for @p rows token rows (at most pass_limit()). */
static int reserve_rows(struct bert_work *w, size_t rows)
{
        const struct bert_config *c = &w->model->conf;
        size_t want = w->rows ? w->rows : 256, h = c->hidden_size;

        if (rows <= w->rows)
                return 0;
        while (want < rows)
                want *= 2;
        if (want > pass_limit(c))
                want = pass_limit(c);
        free_rows(w);
        w->x = malloc(want * h * sizeof(float));
        w->qkv = malloc(want * 3 * h * sizeof(float));
        w->ctx = malloc(want * h * sizeof(float));
        w->tmp = malloc(want * h * sizeof(float));
        w->inter = malloc(want * c->intermediate_size * sizeof(float));
        w->scores = malloc(c->max_seq_length * c->max_seq_length * sizeof(float));
        if (!w->x || !w->qkv || !w->ctx || !w->tmp || !w->inter || !w->scores) {
                free_rows(w);
                return -1;
        }
        w->rows = want;
        return 0;
}

/* Multi-head self-attention of each text over its own tokens: w->ctx from
 * the queries, keys and values in w->qkv. */
static void attention(struct bert_work *w, const size_t *lens, size_t n)
{
        const struct bert_config *c = &w->model->conf;
        const size_t h = c->hidden_size, dh = h / c->num_heads;
        const float scale = (float)(1.0 / sqrt((double)dh));
        size_t off = 0;

        for (size_t s = 0; s < n; s++) {
                const int len = (int)lens[s];

                for (size_t head = 0; head < c->num_heads; head++) {
                        const float *q = w->qkv + off * 3 * h + head * dh;

                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, (int)dh,
                                    scale, q, (int)(3 * h), q + h, (int)(3 * h), 0.0f, w->scores,
                                    len);
                        cairn_nn_softmax_rows(w->scores, (size_t)len, (size_t)len);
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, (int)dh, len,
                                    1.0f, w->scores, len, q + 2 * h, (int)(3 * h), 0.0f,
                                    w->ctx + off * h + head * dh, (int)h);
                }
                off += lens[s];
        }
}

static void pool(const struct bert_work *w, const size_t *lens, size_t n, float *out)
{
        const struct bert_config *c = &w->model->conf;
        const size_t h = c->hidden_size;
        size_t off = 0;

        for (size_t s = 0; s < n; s++) {
                float *o = out + s * h;
                double norm = 0;

                if (c->pooling == BERT_POOLING_CLS) {
                        memcpy(o, w->x + off * h, h * sizeof(float));
                } else {
                        for (size_t j = 0; j < h; j++) {
                                double sum = 0;

                                for (size_t t = 0; t < lens[s]; t++)
                                        sum += w->x[(off + t) * h + j];
                                o[j] = (float)(sum / (double)lens[s]);
                        }
                }
                if (c->normalize) {
                        for (size_t j = 0; j < h; j++)
                                norm += (double)o[j] * o[j];
                        norm = sqrt(norm);
                        /* sentence-transformers divides by max(norm, 1e-12) */
                        for (size_t j = 0; j < h; j++)
                                o[j] = (float)(o[j] / (norm > 1e-12 ? norm : 1e-12));
                }
                off += lens[s];
        }
}

int bert_forward(const struct bert_model *model, struct bert_work *w, const int32_t *ids,
                 const size_t *lens, size_t n, float *out)
{
        const struct bert_config *c = &model->conf;
        const size_t h = c->hidden_size, in = c->intermediate_size;
        size_t rows = 0, r = 0;
        float *t;

        for (size_t s = 0; s < n; s++) {
                assert(lens[s] >= 1 && lens[s] <= c->max_seq_length);
                rows += lens[s];
        }
        assert(rows <= pass_limit(c));
        if (rows == 0)
                return 0;
        if (reserve_rows(w, rows) != 0)
                return -1;
        /* embeddings: token + position + token type 0 */
        for (size_t s = 0; s < n; s++) {
                for (size_t p = 0; p < lens[s]; p++, r++) {
                        const float *tok = model->word_emb + (size_t)ids[r] * h;
                        const float *pos = model->pos_emb + p * h;
                        float *x = w->x + r * h;

                        for (size_t j = 0; j < h; j++)
                                x[j] = tok[j] + pos[j] + model->type_emb[j];
                }
        }
        cairn_nn_layer_norm(w->x, w->x, rows, h, model->emb_norm_w, model->emb_norm_b,
                            c->layer_norm_eps);
        for (size_t l = 0; l < c->num_layers; l++) {
                const struct bert_layer *L = &model->layers[l];

                bert_gemm(w->x, rows, h, L->qkv_p, 3 * h, L->qkv_b, NULL, w->qkv);
                attention(w, lens, n);
                bert_gemm(w->ctx, rows, h, L->attn_out_p, h, L->attn_out_b, w->x, w->tmp);
                cairn_nn_layer_norm(w->tmp, w->tmp, rows, h, L->attn_norm_w, L->attn_norm_b,
                                    c->layer_norm_eps);
                t = w->x, w->x = w->tmp, w->tmp = t;
                bert_gemm(w->x, rows, h, L->inter_p, in, L->inter_b, NULL, w->inter);
                cairn_nn_gelu(w->inter, rows * in);
                bert_gemm(w->inter, rows, in, L->out_p, h, L->out_b, w->x, w->tmp);
                cairn_nn_layer_norm(w->tmp, w->tmp, rows, h, L->out_norm_w, L->out_norm_b,
                                    c->layer_norm_eps);
                t = w->x, w->x = w->tmp, w->tmp = t;
        }
        pool(w, lens, n, out);
        return 0;
}

/* Makes room for @p need elements of @p size bytes in *@p buf. */
static int reserve(void *buf, size_t *cap, size_t need, size_t size)
{
        void **p = buf;
        size_t n = *cap ? *cap : 64;
        void *grown;

        if (need <= *cap)
                return 0;
        while (n < need)
                n *= 2;
        grown = realloc(*p, n * size);
        if (!grown)
                return -1;
        *p = grown;
        *cap = n;
        return 0;
}

size_t bert_work_text_tokens(const struct bert_work *work, size_t i)
{
        assert(i < work->lens_cap);
        return work->lens[i];
}

int bert_embed(const struct bert_model *model, struct bert_work *w, const char *const *texts,
               const size_t *lens, size_t n, float *out, uint64_t *tokens)
{
        const size_t max = model->conf.max_seq_length, h = model->conf.hidden_size;
        size_t total = 0, first = 0, at = 0, pass = 0, limit = pass_limit(&model->conf);

        if (reserve(&w->ids, &w->ids_cap, n * max, sizeof(*w->ids)) != 0 ||
            reserve(&w->lens, &w->lens_cap, n, sizeof(*w->lens)) != 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (bert_tokenize(model->tok, w->tok, texts[i], lens[i], w->ids + total, max,
                                  &w->lens[i], NULL) != 0)
                        return -1;
                total += w->lens[i];
        }
        if (tokens)
                *tokens = total;
        /* as many texts a pass as the limit allows */
        for (size_t i = 0; i <= n; i++) {
                if (i == n || pass + w->lens[i] > limit) {
                        if (i > first && bert_forward(model, w, w->ids + at, w->lens + first,
                                                      i - first, out + first * h) != 0)
                                return -1;
                        at += pass;
                        first = i;
                        pass = 0;
                }
                if (i < n)
                        pass += w->lens[i];
        }
        return 0;
}

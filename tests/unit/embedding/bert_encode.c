/* Unit tests for the BERT encoder: a tiny model with seeded random weights,
 * built in memory, against a plain double-precision forward pass written
 * here the textbook way (one text at a time, every loop spelled out).
 * tests/integration/0031-bert_reference.c holds the real model against a
 * numpy implementation. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/nn.h"
#include "embedding/bert_encode.h"
#include "../unit.h"

#define H      8
#define HEADS  2
#define LAYERS 2
#define INTER  16
#define VOCAB  12
#define POS    16

static const char tokenizer_json[] =
        "{\"normalizer\": {\"type\": \"BertNormalizer\"}, "
        "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
        "\"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 2], "
        "\"sep\": [\"[SEP]\", 3]}, "
        "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {"
        "\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"a\": 4, \"b\": 5, \"c\": 6, "
        "\"d\": 7, \"e\": 8, \"f\": 9, \"g\": 10, \"h\": 11}}}";

static struct bert_model model;
static float *weights; /* every tensor, back to back */
static size_t used;
static struct bert_work *work;
static uint64_t rng;

static float uniform(void)
{
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        return (float)((double)(rng >> 11) / (double)(1ull << 53)) * 2.0f - 1.0f;
}

/* @p n floats from the pool: random in [-scale, scale] around @p center. */
static const float *tensor(size_t n, float center, float scale)
{
        float *t = weights + used;

        for (size_t i = 0; i < n; i++)
                t[i] = center + scale * uniform();
        used += n;
        return t;
}

static void build(enum bert_pooling pooling, bool normalize)
{
        char errstr[256];

        memset(&model, 0, sizeof(model));
        model.conf = (struct bert_config){ .vocab_size = VOCAB,
                                           .hidden_size = H,
                                           .num_layers = LAYERS,
                                           .num_heads = HEADS,
                                           .intermediate_size = INTER,
                                           .max_position = POS,
                                           .type_vocab_size = 2,
                                           .layer_norm_eps = 1e-12,
                                           .max_seq_length = POS,
                                           .pooling = pooling,
                                           .normalize = normalize };
        model.tok = bert_tokenizer_parse(tokenizer_json, strlen(tokenizer_json), errstr,
                                         sizeof(errstr));
        ck_assert_msg(model.tok, "%s", errstr);
        weights = malloc(100000 * sizeof(float));
        ck_assert_ptr_nonnull(weights);
        used = 0;
        rng = 42;
        model.word_emb = tensor(VOCAB * H, 0, 1);
        model.pos_emb = tensor(POS * H, 0, 0.5f);
        model.type_emb = tensor(2 * H, 0, 0.5f);
        model.emb_norm_w = tensor(H, 1, 0.2f);
        model.emb_norm_b = tensor(H, 0, 0.2f);
        model.layers = calloc(LAYERS, sizeof(*model.layers));
        ck_assert_ptr_nonnull(model.layers);
        for (int l = 0; l < LAYERS; l++) {
                struct bert_layer *L = &model.layers[l];

                L->query_w = tensor(H * H, 0, 0.5f);
                L->query_b = tensor(H, 0, 0.1f);
                L->key_w = tensor(H * H, 0, 0.5f);
                L->key_b = tensor(H, 0, 0.1f);
                L->value_w = tensor(H * H, 0, 0.5f);
                L->value_b = tensor(H, 0, 0.1f);
                L->attn_out_w = tensor(H * H, 0, 0.5f);
                L->attn_out_b = tensor(H, 0, 0.1f);
                L->attn_norm_w = tensor(H, 1, 0.2f);
                L->attn_norm_b = tensor(H, 0, 0.2f);
                L->inter_w = tensor(INTER * H, 0, 0.5f);
                L->inter_b = tensor(INTER, 0, 0.1f);
                L->out_w = tensor(H * INTER, 0, 0.5f);
                L->out_b = tensor(H, 0, 0.1f);
                L->out_norm_w = tensor(H, 1, 0.2f);
                L->out_norm_b = tensor(H, 0, 0.2f);
        }
        ck_assert_int_eq(bert_model_pack(&model), 0);
        work = bert_work_new(&model);
        ck_assert_ptr_nonnull(work);
}

static void setup(void)
{
        build(BERT_POOLING_MEAN, true);
}

static void teardown(void)
{
        bert_work_free(work);
        bert_tokenizer_free(model.tok);
        free(model.layers);
        free(model.packed);
        free(weights);
}

/* ---- the textbook forward pass, in double ---- */

static void norm_rows(double *x, size_t rows, const float *w, const float *b)
{
        for (size_t r = 0; r < rows; r++) {
                double mean = 0, var = 0;

                for (int j = 0; j < H; j++)
                        mean += x[r * H + j] / H;
                for (int j = 0; j < H; j++)
                        var += (x[r * H + j] - mean) * (x[r * H + j] - mean) / H;
                for (int j = 0; j < H; j++)
                        x[r * H + j] = (x[r * H + j] - mean) / sqrt(var + 1e-12) * w[j] + b[j];
        }
}

/* y[r][o] = b[o] + sum_i x[r][i] W[o][i] */
static void dense(const double *x, size_t rows, size_t in, const float *W, const float *b,
                  size_t out, double *y)
{
        for (size_t r = 0; r < rows; r++)
                for (size_t o = 0; o < out; o++) {
                        double s = b[o];

                        for (size_t i = 0; i < in; i++)
                                s += x[r * in + i] * W[o * in + i];
                        y[r * out + o] = s;
                }
}

static void naive(const int32_t *ids, size_t len, float *out)
{
        double x[POS * H], q[POS * H], k[POS * H], v[POS * H], ctx[POS * H], t[POS * H];
        double inter[POS * INTER], pooled[H], norm = 0;
        const int dh = H / HEADS;

        for (size_t p = 0; p < len; p++)
                for (int j = 0; j < H; j++)
                        x[p * H + j] = (double)model.word_emb[ids[p] * H + j] +
                                       model.pos_emb[p * H + j] + model.type_emb[j];
        norm_rows(x, len, model.emb_norm_w, model.emb_norm_b);
        for (int l = 0; l < LAYERS; l++) {
                const struct bert_layer *L = &model.layers[l];

                dense(x, len, H, L->query_w, L->query_b, H, q);
                dense(x, len, H, L->key_w, L->key_b, H, k);
                dense(x, len, H, L->value_w, L->value_b, H, v);
                for (int hd = 0; hd < HEADS; hd++)
                        for (size_t i = 0; i < len; i++) {
                                double s[POS], max = -INFINITY, sum = 0;

                                for (size_t j = 0; j < len; j++) {
                                        s[j] = 0;
                                        for (int d = 0; d < dh; d++)
                                                s[j] += q[i * H + hd * dh + d] *
                                                        k[j * H + hd * dh + d];
                                        s[j] /= sqrt(dh);
                                        max = fmax(max, s[j]);
                                }
                                for (size_t j = 0; j < len; j++)
                                        sum += s[j] = exp(s[j] - max);
                                for (int d = 0; d < dh; d++) {
                                        double c = 0;

                                        for (size_t j = 0; j < len; j++)
                                                c += s[j] / sum * v[j * H + hd * dh + d];
                                        ctx[i * H + hd * dh + d] = c;
                                }
                        }
                dense(ctx, len, H, L->attn_out_w, L->attn_out_b, H, t);
                for (size_t i = 0; i < len * H; i++)
                        x[i] += t[i];
                norm_rows(x, len, L->attn_norm_w, L->attn_norm_b);
                dense(x, len, H, L->inter_w, L->inter_b, INTER, inter);
                for (size_t i = 0; i < len * INTER; i++)
                        inter[i] = 0.5 * inter[i] * (1 + erf(inter[i] / sqrt(2)));
                dense(inter, len, INTER, L->out_w, L->out_b, H, t);
                for (size_t i = 0; i < len * H; i++)
                        x[i] += t[i];
                norm_rows(x, len, L->out_norm_w, L->out_norm_b);
        }
        for (int j = 0; j < H; j++) {
                pooled[j] = 0;
                if (model.conf.pooling == BERT_POOLING_CLS)
                        pooled[j] = x[j];
                else
                        for (size_t p = 0; p < len; p++)
                                pooled[j] += x[p * H + j] / (double)len;
                norm += pooled[j] * pooled[j];
        }
        for (int j = 0; j < H; j++)
                out[j] = (float)(model.conf.normalize ? pooled[j] / sqrt(norm) : pooled[j]);
}

/* Random sequences of the lengths @p lens (ids back to back in @p ids),
 * through bert_forward() as one packed batch, each against naive(). */
static void check_forward(const size_t *lens, size_t n)
{
        int32_t ids[256] = { 0 };
        float got[16 * H], want[H];
        size_t at = 0;

        for (size_t s = 0; s < n; s++) {
                for (size_t p = 0; p < lens[s]; p++)
                        ids[at + p] = (int32_t)((uniform() + 1.0f) / 2.0f * (VOCAB - 1) + 0.5f);
                at += lens[s];
        }
        ck_assert_int_eq(bert_forward(&model, work, ids, lens, n, got), 0);
        at = 0;
        for (size_t s = 0; s < n; s++) {
                naive(ids + at, lens[s], want);
                for (int j = 0; j < H; j++)
                        ck_assert_msg(fabsf(got[s * H + j] - want[j]) < 1e-4f,
                                      "text %zu (%zu tokens), [%d]: %g, want %g", s, lens[s], j,
                                      got[s * H + j], want[j]);
                at += lens[s];
        }
}

/* The GELU's erf against libm's double erf rounded to float, on floats
 * spread over every interval of the polynomial and beyond: at most one ulp
 * off, and nearly always equal. */
START_TEST(test_bert_erf_within_one_ulp)
{
        size_t n = 0, equal = 0;

        for (uint32_t bits = 0x0d000000u; bits < 0x41200000u; bits += 4099) {
                for (int sign = 0; sign < 2; sign++) {
                        uint32_t u = bits | (sign ? 0x80000000u : 0);
                        float x, want, got;

                        memcpy(&x, &u, sizeof(x));
                        want = (float)erf((double)x);
                        got = bert_erf(x);
                        ck_assert_msg(got == want || got == nextafterf(want, 2.0f) ||
                                              got == nextafterf(want, -2.0f),
                                      "erf(%a): %a, want %a", (double)x, (double)got, (double)want);
                        equal += got == want;
                        n++;
                }
        }
        ck_assert_uint_ge(equal, n - n / 100000);
        ck_assert(bert_erf(0.0f) == 0.0f);
        ck_assert(bert_erf(4.0f) == 1.0f && bert_erf(-100.0f) == -1.0f);
        ck_assert(bert_erf(INFINITY) == 1.0f);
        ck_assert(isnan(bert_erf(NAN)));
}
END_TEST

/* The GELU over an array (vectorised where the CPU allows) gives the same
 * bits as 0.5 x (1 + erf(x / sqrt 2)) with the erf above, one value at a
 * time, at every length (the vector body and its scalar tail), for the
 * same floats as above; infinities and NaN keep their GELU. */
START_TEST(test_bert_gelu_matches_its_erf)
{
        enum { N = 1037 };
        float x[N], want[N];
        size_t n = 0;

        for (uint32_t bits = 0x0d000000u; bits < 0x41300000u; bits += 1031) {
                uint32_t u = bits | (n % 3 == 0 ? 0x80000000u : 0);

                memcpy(&x[n], &u, sizeof(x[n]));
                want[n] = 0.5f * x[n] * (1.0f + bert_erf(x[n] * (float)M_SQRT1_2));
                if (++n == N) {
                        cairn_nn_gelu(x, N);
                        ck_assert_msg(memcmp(x, want, sizeof(x)) == 0, "GELU differs from its erf");
                        n = 0;
                }
        }
        x[0] = INFINITY, x[1] = -INFINITY, x[2] = NAN, x[3] = -0.0f;
        cairn_nn_gelu(x, 4);
        ck_assert(x[0] == INFINITY && isnan(x[1]) && isnan(x[2]) && x[3] == 0.0f);
}
END_TEST

START_TEST(test_bert_forward_matches_textbook)
{
        static const size_t lens[] = { 1, 2, 16, 5, 9, 3, 16, 7 };

        check_forward(lens, sizeof(lens) / sizeof(lens[0]));
        check_forward(lens + 2, 1);
}
END_TEST

START_TEST(test_bert_forward_cls_unnormalized)
{
        static const size_t lens[] = { 4, 11, 2 };

        teardown();
        build(BERT_POOLING_CLS, false);
        check_forward(lens, 3);
}
END_TEST

START_TEST(test_bert_embed_vectors_and_tokens)
{
        const char *texts[] = { "a b c", "", "h g f e d c b a a b c d e f g h" };
        size_t lens[3];
        float out[3 * H], one[H];
        uint64_t tokens;

        for (int i = 0; i < 3; i++)
                lens[i] = strlen(texts[i]);
        ck_assert_int_eq(bert_embed(&model, work, texts, lens, 3, out, &tokens), 0);
        /* 5 + 2 + 16 (cut to max_seq_length) */
        ck_assert_uint_eq(tokens, 5 + 2 + 16);
        for (int i = 0; i < 3; i++) {
                double norm = 0;

                for (int j = 0; j < H; j++)
                        norm += (double)out[i * H + j] * out[i * H + j];
                ck_assert_msg(fabs(norm - 1) < 1e-5, "text %d: norm %g", i, norm);
                ck_assert_int_eq(bert_embed(&model, work, &texts[i], &lens[i], 1, one, NULL), 0);
                for (int j = 0; j < H; j++)
                        ck_assert(fabsf(one[j] - out[i * H + j]) < 1e-6f);
        }
}
END_TEST

START_TEST(test_bert_embed_many_passes)
{
        /* 700 texts of 8 tokens: more than one pass of BERT_PASS_TOKENS */
        enum { N = 700 };
        static const char *texts[N];
        static size_t lens[N];
        static float out[N * H];
        static const char *const words[] = { "a b c d e f", "h h h h h h", "b a d c f e" };
        float one[H];
        uint64_t tokens;

        for (int i = 0; i < N; i++) {
                texts[i] = words[i % 3];
                lens[i] = strlen(texts[i]);
        }
        ck_assert_int_eq(bert_embed(&model, work, texts, lens, N, out, &tokens), 0);
        ck_assert_uint_eq(tokens, N * 8);
        ck_assert_uint_gt(tokens, BERT_PASS_TOKENS);
        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(bert_embed(&model, work, &texts[i], &lens[i], 1, one, NULL), 0);
                for (int s = i; s < N; s += 3)
                        for (int j = 0; j < H; j++)
                                ck_assert_msg(fabsf(one[j] - out[s * H + j]) < 1e-6f,
                                              "text %d differs from the same text alone", s);
        }
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("bert_encode");
        TCase *tc = tcase_create("bert_forward");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bert_forward_matches_textbook);
        tcase_add_test(tc, test_bert_forward_cls_unnormalized);
        suite_add_tcase(s, tc);

        tc = tcase_create("bert_erf");
        tcase_add_test(tc, test_bert_erf_within_one_ulp);
        tcase_add_test(tc, test_bert_gelu_matches_its_erf);
        suite_add_tcase(s, tc);

        tc = tcase_create("bert_embed");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bert_embed_vectors_and_tokens);
        tcase_add_test(tc, test_bert_embed_many_passes);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

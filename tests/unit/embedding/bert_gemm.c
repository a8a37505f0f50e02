/* Unit tests for the encoder's packed-panel products, for every kernel this
 * CPU runs (the loop index of each test names it): every shape around the
 * panel width and the row blocks against a double-precision triple loop,
 * the bias and the residual added, a row's result the same bits whatever
 * the number of rows beside it, and the multiply-add kernels equal. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/nn.h"
#include "embedding/bert_gemm.h"
#include "../unit.h"

static const char *const kernels[] = { "avx512", "avx2", "generic" };
#define NKERNELS 3

/* Makes bert_gemm() run kernels[@p i]; false when this CPU lacks it (the
 * test then checks nothing more for it, and says so once). */
static bool use_kernel(int i)
{
        if (bert_gemm_use(kernels[i]) == 0)
                return true;
        printf("bert_gemm: this CPU does not run the %s kernel\n", kernels[i]);
        return false;
}

static float rnd(unsigned *seed)
{
        return (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
}

static float *rnd_array(size_t n, unsigned *seed)
{
        float *a = malloc(n * sizeof(float));

        ck_assert_ptr_nonnull(a);
        for (size_t i = 0; i < n; i++)
                a[i] = rnd(seed);
        return a;
}

static float *packed_of(const float *w, size_t n, size_t k)
{
        float *p = NULL;

        ck_assert_int_eq(posix_memalign((void **)&p, 64,
                                        bert_gemm_packed_size(n, k) * sizeof(float)),
                         0);
        bert_gemm_pack(w, n, k, p);
        return p;
}

START_TEST(test_bert_gemm_matches_triple_loop)
{
        static const size_t ns[] = { 1, 8, 15, 16, 17, 32, 40, 64, 80 };
        static const size_t ks[] = { 1, 7, 33 };
        unsigned seed = 7;

        if (!use_kernel(_i))
                return;

        for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
                for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
                        const size_t n = ns[ni], k = ks[ki], max_rows = 31;
                        float *w = rnd_array(n * k, &seed), *bias = rnd_array(n, &seed);
                        float *in = rnd_array(max_rows * k, &seed);
                        float *add = rnd_array(max_rows * n, &seed);
                        float *out = malloc(max_rows * n * sizeof(float));
                        float *p = packed_of(w, n, k);

                        for (size_t rows = 1; rows <= max_rows; rows++) {
                                for (int with_add = 0; with_add < 2; with_add++) {
                                        bert_gemm(in, rows, k, p, n, bias, with_add ? add : NULL,
                                                  out);
                                        for (size_t r = 0; r < rows; r++) {
                                                for (size_t j = 0; j < n; j++) {
                                                        double want = bias[j];

                                                        for (size_t c = 0; c < k; c++)
                                                                want += (double)in[r * k + c] *
                                                                        w[j * k + c];
                                                        if (with_add)
                                                                want += add[r * n + j];
                                                        ck_assert_msg(fabs(out[r * n + j] - want) <
                                                                              1e-5,
                                                                      "n %zu k %zu rows %zu "
                                                                      "[%zu][%zu]: %g, want %g",
                                                                      n, k, rows, r, j,
                                                                      (double)out[r * n + j], want);
                                                }
                                        }
                                }
                        }
                        free(w), free(bias), free(in), free(add), free(out), free(p);
                }
        }
}
END_TEST

/* The residual may be the output itself, as the encoder never does but the
 * header allows. */
START_TEST(test_bert_gemm_add_in_place)
{
        const size_t n = 24, k = 9, rows = 7;
        unsigned seed = 11;

        if (!use_kernel(_i))
                return;
        float *w = rnd_array(n * k, &seed), *bias = rnd_array(n, &seed);
        float *in = rnd_array(rows * k, &seed), *acc = rnd_array(rows * n, &seed);
        float *copy = malloc(rows * n * sizeof(float)), *want = malloc(rows * n * sizeof(float));
        float *p = packed_of(w, n, k);

        memcpy(copy, acc, rows * n * sizeof(float));
        bert_gemm(in, rows, k, p, n, bias, copy, want);
        bert_gemm(in, rows, k, p, n, bias, acc, acc);
        ck_assert_mem_eq(acc, want, rows * n * sizeof(float));
        free(w), free(bias), free(in), free(acc), free(copy), free(want), free(p);
}
END_TEST

/* A text's vector must not depend on its batch: row r of a product over
 * any number of rows is the same bits as the product of row r alone. */
START_TEST(test_bert_gemm_row_independent_of_rows)
{
        const size_t n = 80, k = 384, max_rows = 31;
        unsigned seed = 3;

        if (!use_kernel(_i))
                return;
        float *w = rnd_array(n * k, &seed), *bias = rnd_array(n, &seed);
        float *in = rnd_array(max_rows * k, &seed);
        float *all = malloc(max_rows * n * sizeof(float)), one[80];
        float *p = packed_of(w, n, k);

        for (size_t rows = 1; rows <= max_rows; rows++) {
                bert_gemm(in, rows, k, p, n, bias, NULL, all);
                for (size_t r = 0; r < rows; r++) {
                        bert_gemm(in + r * k, 1, k, p, n, bias, NULL, one);
                        ck_assert_msg(memcmp(one, all + r * n, sizeof(one)) == 0,
                                      "row %zu of %zu differs from the row alone", r, rows);
                }
        }
        free(w), free(bias), free(in), free(all), free(p);
}
END_TEST

/* The avx512 and avx2 kernels both sum with multiply-adds in the same
 * order: a model gives the same vectors on either. */
START_TEST(test_bert_gemm_fma_kernels_agree)
{
        const size_t n = 1536, k = 384, rows = 29;
        unsigned seed = 5;
        float *w = rnd_array(n * k, &seed), *bias = rnd_array(n, &seed);
        float *in = rnd_array(rows * k, &seed), *add = rnd_array(rows * n, &seed);
        float *a = malloc(rows * n * sizeof(float)), *b = malloc(rows * n * sizeof(float));
        float *p = packed_of(w, n, k);

        if (use_kernel(0) && use_kernel(1)) {
                bert_gemm_use("avx512");
                bert_gemm(in, rows, k, p, n, bias, add, a);
                bert_gemm_use("avx2");
                bert_gemm(in, rows, k, p, n, bias, add, b);
                ck_assert_mem_eq(a, b, rows * n * sizeof(float));
        }
        free(w), free(bias), free(in), free(add), free(a), free(b), free(p);
}
END_TEST

/* The generic kernel runs everywhere; the one chosen is the best this CPU
 * has, and an unknown name is refused. */
START_TEST(test_bert_gemm_kernel_choice)
{
        ck_assert_int_eq(bert_gemm_use("generic"), 0);
        ck_assert_str_eq(bert_gemm_kernel(), "generic");
        ck_assert_int_eq(bert_gemm_use("avx1024"), -1);
        ck_assert_str_eq(bert_gemm_kernel(), "generic");
        ck_assert_int_eq(bert_gemm_use(cairn_simd_level() == CAIRN_SIMD_AVX512 ? "avx512"
                                       : cairn_simd_level() == CAIRN_SIMD_AVX2 ? "avx2"
                                                                               : "generic"),
                         0);
        ck_assert_int_eq(bert_gemm_use("avx512"), cairn_simd_level() == CAIRN_SIMD_AVX512 ? 0 : -1);
}
END_TEST

START_TEST(test_bert_gemm_packed_size_pads_panels)
{
        ck_assert_uint_eq(bert_gemm_packed_size(16, 3), 48);
        ck_assert_uint_eq(bert_gemm_packed_size(17, 3), 96);
        ck_assert_uint_eq(bert_gemm_packed_size(1, 5), 80);
        ck_assert_uint_eq(bert_gemm_packed_size(1152, 384), 1152 * 384);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("bert_gemm");
        TCase *tc = tcase_create("bert_gemm");

        tcase_add_loop_test(tc, test_bert_gemm_matches_triple_loop, 0, NKERNELS);
        tcase_add_loop_test(tc, test_bert_gemm_add_in_place, 0, NKERNELS);
        tcase_add_loop_test(tc, test_bert_gemm_row_independent_of_rows, 0, NKERNELS);
        tcase_add_test(tc, test_bert_gemm_fma_kernels_agree);
        tcase_add_test(tc, test_bert_gemm_kernel_choice);
        tcase_add_test(tc, test_bert_gemm_packed_size_pads_panels);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

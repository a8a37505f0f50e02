/* Packed-panel products for the encoder (bert_gemm.h says why).
 *
 * The kernel holds a block of up to 6 token rows by one panel of 16 output
 * columns in 12 vector accumulators and walks the panel's k rows once: per
 * step, two vector loads of weights, one broadcast per token row, 12
 * multiply-adds. Written with GCC's vector extensions, compiled twice (for
 * x86-64-v3, AVX2 and FMA, and for the baseline) and chosen at load by
 * the CPU it runs on. The sum over k runs in the same order for every row
 * of every batch, so a text's vector does not depend on its batch. */
#include <string.h>

#include "bert_gemm.h"

#define ROWS 6 /* token rows a block holds */

typedef float v8 __attribute__((vector_size(32)));
/* the same, at any float's alignment: rows of in, add and out */
typedef float v8u __attribute__((vector_size(32), aligned(4)));

#if defined(__x86_64__) && !defined(__clang__)
#define KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL_CLONES
#endif

size_t bert_gemm_packed_size(size_t n, size_t k)
{
        return (n + BERT_GEMM_PANEL - 1) / BERT_GEMM_PANEL * BERT_GEMM_PANEL * k;
}

void bert_gemm_pack(const float *w, size_t n, size_t k, float *dst)
{
        for (size_t j0 = 0; j0 < n; j0 += BERT_GEMM_PANEL) {
                for (size_t c = 0; c < k; c++) {
                        for (size_t j = j0; j < j0 + BERT_GEMM_PANEL; j++)
                                *dst++ = j < n ? w[j * k + c] : 0.0f;
                }
        }
}

/* One block of @p R rows (a constant once inlined, so that the loops
 * unroll and the accumulators stay in registers) by the panel @p p: writes
 * @p cols (up to 16) columns of out from column 0 of the block on. */
static inline __attribute__((always_inline)) void block(int R, const float *in, size_t k,
                                                        const float *p, const float *bias,
                                                        const float *add, float *out, size_t ld,
                                                        size_t cols)
{
        v8 lo[ROWS], hi[ROWS];

#pragma GCC unroll 6
        for (int i = 0; i < R; i++)
                lo[i] = hi[i] = (v8){ 0 };
        for (size_t c = 0; c < k; c++, p += BERT_GEMM_PANEL) {
                const v8 b0 = *(const v8 *)p, b1 = *(const v8 *)(p + 8);

                /* the weights come from memory once a pass: while the
                 * blocks of rows walk this panel, ask for the next one */
                __builtin_prefetch(p + k * BERT_GEMM_PANEL);
#pragma GCC unroll 6
                for (int i = 0; i < R; i++) {
                        const float a = in[(size_t)i * k + c];

                        lo[i] += a * b0;
                        hi[i] += a * b1;
                }
        }
        if (cols == BERT_GEMM_PANEL) {
                const v8 bl = *(const v8u *)bias, bh = *(const v8u *)(bias + 8);

#pragma GCC unroll 6
                for (int i = 0; i < R; i++) {
                        v8 l = lo[i] + bl, h = hi[i] + bh;

                        if (add) {
                                l += *(const v8u *)(add + (size_t)i * ld);
                                h += *(const v8u *)(add + (size_t)i * ld + 8);
                        }
                        *(v8u *)(out + (size_t)i * ld) = l;
                        *(v8u *)(out + (size_t)i * ld + 8) = h;
                }
                return;
        }
        for (int i = 0; i < R; i++) {
                float row[BERT_GEMM_PANEL];

                memcpy(row, &lo[i], sizeof(lo[i]));
                memcpy(row + 8, &hi[i], sizeof(hi[i]));
                for (size_t j = 0; j < cols; j++)
                        out[(size_t)i * ld + j] = row[j] + bias[j] +
                                                  (add ? add[(size_t)i * ld + j] : 0.0f);
        }
}

KERNEL_CLONES
void bert_gemm(const float *in, size_t rows, size_t k, const float *packed, size_t n,
               const float *bias, const float *add, float *out)
{
        /* rows spread evenly over the blocks (13 as 5, 4, 4, not 6, 6, 1):
         * a block of few rows has too few independent sums to keep the
         * multiply-adds busy, and costs nearly what a full one does */
        const size_t blocks = (rows + ROWS - 1) / ROWS;

        for (size_t j0 = 0; j0 < n; j0 += BERT_GEMM_PANEL) {
                const float *p = packed + j0 * k;
                const size_t cols = n - j0 < BERT_GEMM_PANEL ? n - j0 : BERT_GEMM_PANEL;

                for (size_t b = 0, r = 0; b < blocks; b++) {
                        const size_t R = rows / blocks + (b < rows % blocks);
                        const float *a = in + r * k, *ad = add ? add + r * n + j0 : NULL;
                        float *o = out + r * n + j0;

                        switch (R) {
                        case 6:
                                block(6, a, k, p, bias + j0, ad, o, n, cols);
                                break;
                        case 5:
                                block(5, a, k, p, bias + j0, ad, o, n, cols);
                                break;
                        case 4:
                                block(4, a, k, p, bias + j0, ad, o, n, cols);
                                break;
                        case 3:
                                block(3, a, k, p, bias + j0, ad, o, n, cols);
                                break;
                        case 2:
                                block(2, a, k, p, bias + j0, ad, o, n, cols);
                                break;
                        default:
                                block(1, a, k, p, bias + j0, ad, o, n, cols);
                                break;
                        }
                        r += R;
                }
        }
}

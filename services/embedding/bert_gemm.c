/* Packed-panel products for the encoder (bert_gemm.h says why).
 *
 * Three kernels over the same packed weights, picked once by the CPU:
 *   - avx512: a block of up to 14 token rows by two panels (32 output
 *     columns) in 28 of the 32 vector registers; per step two weight loads,
 *     one broadcast per row, 2 multiply-adds per row;
 *   - avx2: up to 6 rows by one panel (two 8-float halves) in 12 of the 16
 *     registers;
 *   - generic: 2 rows by one panel in 16-byte vectors, for any CPU.
 * Every kernel sums over k in the same order for every row of every batch,
 * so a text's vector does not depend on its batch; avx512 and avx2 both
 * multiply-add, and give the same bits. */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "bert_gemm.h"
#include "cairn/nn.h"

#define ROWS    6  /* token rows an avx2 block holds */
#define ROWS512 14 /* token rows an avx512 block holds */

typedef float v4 __attribute__((vector_size(16)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));
/* the same, at any float's alignment: rows of in, add and out */
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

typedef void gemm_fn(const float *in, size_t rows, size_t k, const float *packed, size_t n,
                     const float *bias, const float *add, float *out);

#ifdef CAIRN_NN_X86_KERNELS
#define TARGET_AVX2   __attribute__((target("arch=x86-64-v3")))
#define TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))
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

/* One panel at a time, rows in blocks of up to ROWS: the avx2 and generic
 * kernels, and the avx512 kernel's last panel when n has an odd number.
 * Rows are spread evenly over the blocks (13 as 5, 4, 4, not 6, 6, 1): a
 * block of few rows has too few independent sums to keep the multiply-adds
 * busy, and costs nearly what a full one does. */
static inline __attribute__((always_inline)) void panels(const float *in, size_t rows, size_t k,
                                                         const float *packed, size_t n,
                                                         size_t j_from, const float *bias,
                                                         const float *add, float *out)
{
        const size_t blocks = (rows + ROWS - 1) / ROWS;

        for (size_t j0 = j_from; j0 < n; j0 += BERT_GEMM_PANEL) {
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

/* The generic kernel's block: @p R (1 or 2) rows by one panel in 16-byte
 * vectors, which every SIMD unit has (wider ones would live in memory). */
static inline __attribute__((always_inline)) void block4(int R, const float *in, size_t k,
                                                         const float *p, const float *bias,
                                                         const float *add, float *out, size_t ld,
                                                         size_t cols)
{
        v4 acc[2][4] = { { { 0 } } };

        for (size_t c = 0; c < k; c++, p += BERT_GEMM_PANEL) {
                const v4 b0 = *(const v4 *)p, b1 = *(const v4 *)(p + 4);
                const v4 b2 = *(const v4 *)(p + 8), b3 = *(const v4 *)(p + 12);

                for (int i = 0; i < R; i++) {
                        const float a = in[(size_t)i * k + c];

                        acc[i][0] += a * b0;
                        acc[i][1] += a * b1;
                        acc[i][2] += a * b2;
                        acc[i][3] += a * b3;
                }
        }
        for (int i = 0; i < R; i++) {
                float row[BERT_GEMM_PANEL];

                memcpy(row, acc[i], sizeof(row));
                for (size_t j = 0; j < cols; j++)
                        out[(size_t)i * ld + j] = row[j] + bias[j] +
                                                  (add ? add[(size_t)i * ld + j] : 0.0f);
        }
}

static void gemm_generic(const float *in, size_t rows, size_t k, const float *packed, size_t n,
                         const float *bias, const float *add, float *out)
{
        for (size_t j0 = 0; j0 < n; j0 += BERT_GEMM_PANEL) {
                const float *p = packed + j0 * k;
                const size_t cols = n - j0 < BERT_GEMM_PANEL ? n - j0 : BERT_GEMM_PANEL;

                for (size_t r = 0; r < rows; r += 2) {
                        const float *a = in + r * k, *ad = add ? add + r * n + j0 : NULL;

                        if (rows - r >= 2)
                                block4(2, a, k, p, bias + j0, ad, out + r * n + j0, n, cols);
                        else
                                block4(1, a, k, p, bias + j0, ad, out + r * n + j0, n, cols);
                }
        }
}

#ifdef CAIRN_NN_X86_KERNELS
TARGET_AVX2 static void gemm_avx2(const float *in, size_t rows, size_t k, const float *packed,
                                  size_t n, const float *bias, const float *add, float *out)
{
        panels(in, rows, k, packed, n, 0, bias, add, out);
}

/* One block of @p R rows by the two whole panels from @p p on. */
static inline __attribute__((always_inline)) void block512(int R, const float *in, size_t k,
                                                           const float *p, const float *bias,
                                                           const float *add, float *out, size_t ld)
{
        const float *q = p + k * BERT_GEMM_PANEL;
        v16 lo[ROWS512], hi[ROWS512];

#pragma GCC unroll 14
        for (int i = 0; i < R; i++)
                lo[i] = hi[i] = (v16){ 0 };
        for (size_t c = 0; c < k; c++, p += BERT_GEMM_PANEL, q += BERT_GEMM_PANEL) {
                const v16 b0 = *(const v16 *)p, b1 = *(const v16 *)q;

                /* the next pair of panels, while this one is walked */
                __builtin_prefetch(p + 2 * k * BERT_GEMM_PANEL);
                __builtin_prefetch(q + 2 * k * BERT_GEMM_PANEL);
#pragma GCC unroll 14
                for (int i = 0; i < R; i++) {
                        const float a = in[(size_t)i * k + c];

                        lo[i] += a * b0;
                        hi[i] += a * b1;
                }
        }
        const v16 bl = *(const v16u *)bias, bh = *(const v16u *)(bias + BERT_GEMM_PANEL);

#pragma GCC unroll 14
        for (int i = 0; i < R; i++) {
                v16 l = lo[i] + bl, h = hi[i] + bh;

                if (add) {
                        l += *(const v16u *)(add + (size_t)i * ld);
                        h += *(const v16u *)(add + (size_t)i * ld + BERT_GEMM_PANEL);
                }
                *(v16u *)(out + (size_t)i * ld) = l;
                *(v16u *)(out + (size_t)i * ld + BERT_GEMM_PANEL) = h;
        }
}

#define BLOCK512(R)                                        \
        case R:                                            \
                block512(R, a, k, p, bias + j0, ad, o, n); \
                break

TARGET_AVX512 static void gemm_avx512(const float *in, size_t rows, size_t k, const float *packed,
                                      size_t n, const float *bias, const float *add, float *out)
{
        const size_t blocks = (rows + ROWS512 - 1) / ROWS512, pairs = n / (2 * BERT_GEMM_PANEL);

        for (size_t j0 = 0; j0 < pairs * 2 * BERT_GEMM_PANEL; j0 += 2 * BERT_GEMM_PANEL) {
                const float *p = packed + j0 * k;

                for (size_t b = 0, r = 0; b < blocks; b++) {
                        const size_t R = rows / blocks + (b < rows % blocks);
                        const float *a = in + r * k, *ad = add ? add + r * n + j0 : NULL;
                        float *o = out + r * n + j0;

                        switch (R) {
                                BLOCK512(14);
                                BLOCK512(13);
                                BLOCK512(12);
                                BLOCK512(11);
                                BLOCK512(10);
                                BLOCK512(9);
                                BLOCK512(8);
                                BLOCK512(7);
                                BLOCK512(6);
                                BLOCK512(5);
                                BLOCK512(4);
                                BLOCK512(3);
                                BLOCK512(2);
                        default:
                                block512(1, a, k, p, bias + j0, ad, o, n);
                                break;
                        }
                        r += R;
                }
        }
        panels(in, rows, k, packed, n, pairs * 2 * BERT_GEMM_PANEL, bias, add, out);
}
#endif

static const struct kernel {
        const char *name;
        /* cppcheck-suppress unusedStructMember ; called through kernel() */
        gemm_fn *fn;
        enum cairn_simd needs;
} kernels[] = {
#ifdef CAIRN_NN_X86_KERNELS
        { "avx512", gemm_avx512, CAIRN_SIMD_AVX512 },
        { "avx2", gemm_avx2, CAIRN_SIMD_AVX2 },
#endif
        { "generic", gemm_generic, CAIRN_SIMD_NONE },
};

static _Atomic(const struct kernel *) chosen;

static bool runs_here(const struct kernel *kn)
{
        return kn->needs <= cairn_simd_level();
}

/* The best kernel this CPU runs: the first of the list it has all of. */
static const struct kernel *kernel(void)
{
        const struct kernel *kn = atomic_load_explicit(&chosen, memory_order_relaxed);

        if (kn)
                return kn;
        for (kn = kernels; !runs_here(kn); kn++)
                ;
        atomic_store_explicit(&chosen, kn, memory_order_relaxed);
        return kn;
}

const char *bert_gemm_kernel(void)
{
        return kernel()->name;
}

int bert_gemm_use(const char *name)
{
        for (size_t i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++) {
                if (strcmp(kernels[i].name, name) == 0) {
                        if (!runs_here(&kernels[i]))
                                return -1;
                        atomic_store_explicit(&chosen, &kernels[i], memory_order_relaxed);
                        return 0;
                }
        }
        return -1;
}

void bert_gemm(const float *in, size_t rows, size_t k, const float *packed, size_t n,
               const float *bias, const float *add, float *out)
{
        kernel()->fn(in, rows, k, packed, n, bias, add, out);
}

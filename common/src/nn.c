/* The shared neural-network kernels (cairn/nn.h). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "cairn/nn.h"

/* erf for the GELU, in double and rounded to float once: on each of
 * ERF_SEGS intervals of width 1/4 covering [0, 4), the degree ERF_DEGREE
 * Taylor polynomial of erf around the interval's middle (around 0 for the
 * first, so that tiny arguments keep their relative precision; its
 * remainder is below 1e-11 of erf on every interval); from 4 on, 1, which
 * is what erf is in float there (1 - erf(4) is below half a float ulp of
 * 1). Against libm's double erf rounded to float (tests/unit), at most
 * one ulp off and nearly always equal (glibc's erff is up to 8.1e-8
 * relative off). Sixteen intervals, so that on AVX-512 one two-register
 * permute looks up a coefficient for eight arguments at once: the GELU
 * runs vectorised there, and branch-free and inlined elsewhere; with erff
 * it took a tenth of a pass. */
#define ERF_SEGS   16
#define ERF_DEGREE 11

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
/* the same, at any float's alignment */
typedef float v8fu __attribute__((vector_size(32), aligned(4)));

/* Column-major, for the vector lookup: row 0 holds each interval's center,
 * row 1 + k the coefficient of t^k. */
static double erf_tab[ERF_DEGREE + 2][ERF_SEGS] __attribute__((aligned(64)));
static pthread_once_t erf_once = PTHREAD_ONCE_INIT;
static void (*gelu_run)(float *x, size_t n); /* set with the table */
static void gelu_choose(void);

/* The Taylor coefficients of erf around c: erf' = 2/sqrt(pi) g with
 * g = exp(-z^2), whose coefficients follow from g' = -2 z g:
 * (k + 1) g[k + 1] = -2 (c g[k] + g[k - 1]). */
static void erf_init(void)
{
        const double two_over_sqrt_pi = 2.0 / sqrt(M_PI);

        for (int i = 0; i < ERF_SEGS; i++) {
                double c = i ? (i + 0.5) / 4 : 0, g[ERF_DEGREE];

                g[0] = exp(-c * c);
                g[1] = -2 * c * g[0];
                for (int k = 1; k + 1 < ERF_DEGREE; k++)
                        g[k + 1] = -2 * (c * g[k] + g[k - 1]) / (k + 1);
                erf_tab[0][i] = c;
                erf_tab[1][i] = erf(c);
                for (int k = 0; k < ERF_DEGREE; k++)
                        erf_tab[k + 2][i] = two_over_sqrt_pi * g[k] / (k + 1);
        }
        gelu_choose();
}

/* NaN gives 1 (the GELU of NaN stays NaN). */
static inline float erf_fast(float x)
{
        const double a = fabs((double)x);
        double t, r;
        int seg;

        if (!(a < 4.0))
                return copysignf(1.0f, x);
        seg = (int)(a * 4.0);
        t = a - erf_tab[0][seg];
        r = erf_tab[ERF_DEGREE + 1][seg];
        for (int k = ERF_DEGREE; k >= 1; k--)
                r = r * t + erf_tab[k][seg];
        return (float)copysign(r, (double)x);
}

float cairn_nn_erf(float x)
{
        pthread_once(&erf_once, erf_init);
        return isnan(x) ? x : erf_fast(x);
}

static void gelu_scalar(float *x, size_t n)
{
        for (size_t i = 0; i < n; i++)
                x[i] = 0.5f * x[i] * (1.0f + erf_fast(x[i] * (float)M_SQRT1_2));
}

#ifdef CAIRN_NN_X86_KERNELS
typedef double v8d __attribute__((vector_size(64)));
typedef long long v8l __attribute__((vector_size(64)));

/* Eight at a time: the same polynomial, each coefficient looked up for all
 * eight arguments by one permute of its row's sixteen entries. */
__attribute__((target("arch=x86-64-v4"))) static void gelu_avx512(float *x, size_t n)
{
        v8d row[ERF_DEGREE + 2][2];
        size_t i = 0;

        for (int k = 0; k < ERF_DEGREE + 2; k++) {
                memcpy(&row[k][0], &erf_tab[k][0], sizeof(row[k][0]));
                memcpy(&row[k][1], &erf_tab[k][8], sizeof(row[k][1]));
        }
        for (; i + 8 <= n; i += 8) {
                const v8f xf = *(const v8fu *)(x + i), zf = xf * (float)M_SQRT1_2;
                const v8d z = __builtin_convertvector(zf, v8d);
                const v8l sign = (v8l)z & ((v8l){ 0 } + INT64_MIN);
                const v8d a = (v8d)((v8l)z & ~sign);
                const v8l big = ~(a < 4.0); /* -1 where erf is 1 (NaN too) */
                /* 0 to 15: a is below 4 or masked to 0 */
                const v8l seg = __builtin_convertvector((v8d)((v8l)a & ~big) * 4.0, v8l);
                v8d t, r;

                t = a - __builtin_shuffle(row[0][0], row[0][1], seg);
                r = __builtin_shuffle(row[ERF_DEGREE + 1][0], row[ERF_DEGREE + 1][1], seg);
#pragma GCC unroll 11
                for (int k = ERF_DEGREE; k >= 1; k--)
                        r = r * t + __builtin_shuffle(row[k][0], row[k][1], seg);
                r = (v8d)(((v8l)r & ~big) | ((v8l)((v8d){ 0 } + 1.0) & big));
                r = (v8d)((v8l)r | sign);
                *(v8fu *)(x + i) = 0.5f * xf * (1.0f + __builtin_convertvector(r, v8f));
        }
        gelu_scalar(x + i, n - i);
}
#endif

/* The GELU this CPU runs fastest, once. */
static void gelu_choose(void)
{
        gelu_run = gelu_scalar;
#ifdef CAIRN_NN_X86_KERNELS
        if (cairn_simd_level() >= CAIRN_SIMD_AVX512)
                gelu_run = gelu_avx512;
#endif
}

void cairn_nn_gelu(float *x, size_t n)
{
        pthread_once(&erf_once, erf_init);
        gelu_run(x, n);
}

enum cairn_simd cairn_simd_level(void)
{
#ifdef __x86_64__
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
                return CAIRN_SIMD_AVX512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                return CAIRN_SIMD_AVX2;
#endif
        return CAIRN_SIMD_NONE;
}

void cairn_nn_layer_norm(const float *x, float *out, size_t rows, size_t n, const float *weight,
                         const float *bias, double eps)
{
        for (size_t r = 0; r < rows; r++) {
                const float *v = x + r * n;
                float *o = out + r * n;
                double sum = 0, squares = 0, mean, var;
                float scale, shift;

                /* one pass: in double, E[x^2] - E[x]^2 loses nothing that
                 * matters for hidden states of float magnitude */
                for (size_t j = 0; j < n; j++) {
                        sum += v[j];
                        squares += (double)v[j] * v[j];
                }
                mean = sum / (double)n;
                var = squares / (double)n - mean * mean;
                var = var > 0 ? var : 0;
                scale = (float)(1.0 / sqrt(var + eps));
                shift = (float)-mean * scale;
                for (size_t j = 0; j < n; j++)
                        o[j] = (v[j] * scale + shift) * weight[j] + bias[j];
        }
}

#ifdef CAIRN_NN_X86_KERNELS
#define KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL_CLONES
#endif

/* exp of 8 floats (Cephes' expf): x = n ln 2 + r with |r| <= ln 2 / 2,
 * exp(r) by a degree-7 polynomial, 2^n put into the exponent bits. Below
 * -87.3 (where float's exp becomes subnormal) it gives 0; above 88.7 it
 * gives exp(88.7). */
static inline __attribute__((always_inline)) void exp8(v8f *xp)
{
        v8f x = *xp;
        const v8i under = x < -87.33654f;
        v8f fx, r, r2, p;
        v8i n;

        x = (v8f)(((v8i)x & ~under) | ((v8i)(v8f){ 0 } & under));
        x = (v8f)(((v8i)x & (x < 88.72283f)) | ((v8i)((v8f){ 0 } + 88.72283f) & ~(x < 88.72283f)));
        fx = x * 1.44269504088896341f + 0.5f;
        n = __builtin_convertvector(fx, v8i);
        n += __builtin_convertvector(n, v8f) > fx; /* floor: a true compare is -1 */
        fx = __builtin_convertvector(n, v8f);
        r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
        r2 = r * r;
        p = ((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r +
              4.1665795894E-2f) *
                     r +
             1.6666665459E-1f) *
                    r +
            5.0000001201E-1f;
        p = p * r2 + r + 1.0f;
        p = (v8f)((v8i)p + (n << 23));
        *xp = (v8f)((v8i)p & ~under);
}

KERNEL_CLONES
void cairn_nn_softmax_rows(float *s, size_t rows, size_t n)
{
        for (size_t r = 0; r < rows; r++) {
                float *row = s + r * n, max = row[0], sum = 0, inv, tail[8];
                v8f vmax = (v8f){ 0 } + row[0], vsum = (v8f){ 0 };
                size_t j = 0;

                for (; j + 8 <= n; j += 8) {
                        const v8f v = *(const v8fu *)(row + j);

                        vmax = (v8f)(((v8i)v & (v > vmax)) | ((v8i)vmax & ~(v > vmax)));
                }
                for (int k = 0; k < 8; k++)
                        max = vmax[k] > max ? vmax[k] : max;
                for (size_t k = j; k < n; k++)
                        max = row[k] > max ? row[k] : max;
                if (max == -INFINITY)
                        max = 0; /* every weight 0: no NaN from -inf - -inf */
                for (j = 0; j + 8 <= n; j += 8) {
                        v8f e = *(const v8fu *)(row + j) - max;

                        exp8(&e);

                        *(v8fu *)(row + j) = e;
                        vsum += e;
                }
                if (j < n) {
                        v8f t = (v8f){ 0 } - INFINITY, e;

                        memcpy(&t, row + j, (n - j) * sizeof(float));
                        e = t - max;
                        exp8(&e);
                        memcpy(tail, &e, sizeof(tail));
                        memcpy(row + j, tail, (n - j) * sizeof(float));
                        vsum += e;
                }
                for (int k = 0; k < 8; k++)
                        sum += vsum[k];
                inv = sum > 0 ? 1.0f / sum : 0.0f;
                for (j = 0; j < n; j++)
                        row[j] *= inv;
        }
}

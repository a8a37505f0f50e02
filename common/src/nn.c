/* The shared neural-network kernels (cairn/nn.h). */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "cairn/nn.h"

/* erf for the GELU, in double and rounded to float once: on each of
 * ERF_SEGS intervals of width 1/16 covering [0, 4), the degree ERF_DEGREE
 * Taylor polynomial of erf around the interval's middle (around 0 for the
 * first, so that tiny arguments keep their relative precision; its
 * remainder is below 1e-13 of erf on every interval); from 4 on, 1, which
 * is what erf is in float there (1 - erf(4) is below half a float ulp of
 * 1). Against libm's double erf rounded to float (tests/unit), at most
 * one ulp off and nearly always equal (glibc's erff is up to 8.1e-8
 * relative off). Branch-free and inlined, the GELU costs far less than
 * with erff, which took a tenth of a pass. */
#define ERF_SEGS   64
#define ERF_DEGREE 7

/* Per interval: its center, then the polynomial's coefficients, constant
 * term first; row ERF_SEGS is the constant 1. */
static double erf_poly[ERF_SEGS + 1][ERF_DEGREE + 2];
static pthread_once_t erf_once = PTHREAD_ONCE_INIT;

/* The Taylor coefficients of erf around c: erf' = 2/sqrt(pi) g with
 * g = exp(-z^2), whose coefficients follow from g' = -2 z g:
 * (k + 1) g[k + 1] = -2 (c g[k] + g[k - 1]). */
static void erf_init(void)
{
        const double two_over_sqrt_pi = 2.0 / sqrt(M_PI);

        for (int i = 0; i < ERF_SEGS; i++) {
                double *p = erf_poly[i], c = i ? (i + 0.5) / 16 : 0, g[ERF_DEGREE];

                g[0] = exp(-c * c);
                g[1] = -2 * c * g[0];
                for (int k = 1; k + 1 < ERF_DEGREE; k++)
                        g[k + 1] = -2 * (c * g[k] + g[k - 1]) / (k + 1);
                p[0] = c;
                p[1] = erf(c);
                for (int k = 0; k < ERF_DEGREE; k++)
                        p[k + 2] = two_over_sqrt_pi * g[k] / (k + 1);
        }
        erf_poly[ERF_SEGS][0] = 4;
        erf_poly[ERF_SEGS][1] = 1;
}

/* NaN gives 1 (the GELU of NaN stays NaN). */
static inline float erf_fast(float x)
{
        const double a = fabs((double)x) < 4.0 ? fabs((double)x) : 4.0;
        const double *row = erf_poly[(int)(a * 16.0)];
        const double *c = row + 1, t = a - row[0];
        const double t2 = t * t, t4 = t2 * t2;
        /* Estrin's scheme: short dependency chains */
        const double q0 = (c[0] + c[1] * t) + (c[2] + c[3] * t) * t2;
        const double q1 = (c[4] + c[5] * t) + (c[6] + c[7] * t) * t2;

        return (float)copysign(q0 + q1 * t4, (double)x);
}

float cairn_nn_erf(float x)
{
        pthread_once(&erf_once, erf_init);
        return isnan(x) ? x : erf_fast(x);
}

void cairn_nn_gelu(float *x, size_t n)
{
        pthread_once(&erf_once, erf_init);
        for (size_t i = 0; i < n; i++)
                x[i] = 0.5f * x[i] * (1.0f + erf_fast(x[i] * (float)M_SQRT1_2));
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

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
/* the same, at any float's alignment */
typedef float v8fu __attribute__((vector_size(32), aligned(4)));

#if defined(__x86_64__) && !defined(__clang__)
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

/* The neural-network kernels two services' models share (the embedding
 * service's BERT, the speech service's Whisper): erf and the exact GELU,
 * LayerNorm and a row softmax, in float32. Pure functions over caller
 * memory; safe on any thread. The matrix products themselves are each
 * model's own (OpenBLAS sgemm, or BERT's packed kernel). */
#ifndef CAIRN_NN_H
#define CAIRN_NN_H

#include <stddef.h>

/* Defined where the compiler builds kernels for chosen x86 instruction
 * sets (GCC's target attributes over its vector extensions); they run
 * where cairn_simd_level() says the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CAIRN_NN_X86_KERNELS 1
#endif

/* The widest vector instructions of this CPU the kernels use: AVX-512
 * (F, BW, DQ, VL), or AVX2 with FMA. */
enum cairn_simd { CAIRN_SIMD_NONE, CAIRN_SIMD_AVX2, CAIRN_SIMD_AVX512 };
enum cairn_simd cairn_simd_level(void);

/* erf in float, at most one ulp from libm's double erf rounded to float;
 * NaN stays NaN. */
float cairn_nn_erf(float x);

/* The exact GELU, x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), over @p n
 * floats in place. */
void cairn_nn_gelu(float *x, size_t n);

/* LayerNorm of @p rows rows of @p n floats: out = (x - mean) / sqrt(var +
 * @p eps) * weight + bias. @p out may be @p x. */
void cairn_nn_layer_norm(const float *x, float *out, size_t rows, size_t n, const float *weight,
                         const float *bias, double eps);

/* Softmax over each of @p rows rows of @p n floats (row stride @p n), in
 * place. exp is computed to about 2 ulp (a polynomial, vectorised); a
 * value of -inf gets weight 0. */
void cairn_nn_softmax_rows(float *s, size_t rows, size_t n);

#endif

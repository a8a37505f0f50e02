/* The encoder's projections, out = in W' + bias (+ add), over weights
 * packed once at load into panels of BERT_GEMM_PANEL output columns, each
 * panel's k rows of BERT_GEMM_PANEL floats back to back.
 *
 * Why not cblas_sgemm: OpenBLAS packs both operands on every call, so a pass
 * of a few tokens spends most of its time copying weights it then reads
 * once (at 13 tokens, 5.6 ms a pass of all-MiniLM-L6-v2's projections against
 * 1.9 ms here on AVX-512; docs/benchmarks.md has the comparison, measured in
 * the same run). With the weights already in the order the kernel reads
 * them, each byte of a weight comes from memory once per pass and is used
 * by up to 14 token rows held in registers, whatever the number of tokens. */
#ifndef EMBEDDING_BERT_GEMM_H
#define EMBEDDING_BERT_GEMM_H

#include <stddef.h>

#define BERT_GEMM_PANEL 16

/* Floats the packed form of an [n, k] weight takes: n rounded up to whole
 * panels (the last one padded with zeros), times k. */
size_t bert_gemm_packed_size(size_t n, size_t k);

/* Packs @p w, [n, k] as PyTorch stores a linear layer's weight (row j holds
 * output j's k weights), into @p dst, bert_gemm_packed_size(n, k) floats,
 * 64-byte aligned. */
void bert_gemm_pack(const float *w, size_t n, size_t k, float *dst);

/* out[r][j] = sum_c in[r][c] W[j][c] + bias[j] (+ add[r][j] when @p add is
 * not NULL) for @p rows rows: @p in is [rows, k], @p packed is W as
 * bert_gemm_pack() lays it out, @p out and @p add are [rows, n]; @p out
 * may be @p add, neither may overlap @p in. */
void bert_gemm(const float *in, size_t rows, size_t k, const float *packed, size_t n,
               const float *bias, const float *add, float *out);

/* The kernel bert_gemm() runs: "avx512", "avx2" or "generic", the best
 * the CPU has. */
const char *bert_gemm_kernel(void);

/* Makes bert_gemm() run the kernel @p name from now on (tests, benchmarks);
 * -1 when there is no such kernel or the CPU lacks what it needs. */
int bert_gemm_use(const char *name);

#endif

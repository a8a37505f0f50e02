/* OpenBLAS's kernels. A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels
 * when it loads, from the CPU model it recognises; on one it does not know
 * (a virtual machine reporting a generic "Intel Xeon Processor", say) it
 * falls back to its oldest, Prescott's SSE3 ones, which run sgemm two to
 * three times slower than the AVX2 or AVX-512 kernels the CPU could run.
 * Only the environment variable OPENBLAS_CORETYPE, read at load time,
 * changes the choice: the services that compute with OpenBLAS call
 * cairn_blas_kernels() first thing in main(). */
#ifndef CAIRN_BLAS_H
#define CAIRN_BLAS_H

/* When OPENBLAS_CORETYPE is unset, OpenBLAS chose Prescott's kernels and
 * the CPU has what better ones need (AVX-512 F/BW/VL/DQ for SkylakeX; AVX2
 * and FMA for Haswell), sets OPENBLAS_CORETYPE to them and executes the
 * program again (its own path, the same @p argv and environment), so
 * that the library loads with them; the new process finds the variable set
 * and goes on. Returns otherwise, or when the exec fails. Call it before
 * any thread starts. */
void cairn_blas_kernels(char **argv);

/* The kernels OpenBLAS runs ("Haswell", "SkylakeX", "Prescott", ...). */
const char *cairn_blas_corename(void);

#endif

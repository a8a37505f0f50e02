/* OpenBLAS's kernel choice, made right on CPUs it does not recognise. */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/blas.h"
#include "cairn/nn.h"

/* The best kernels this CPU can run; NULL when none beats Prescott's. */
static const char *best_coretype(void)
{
        switch (cairn_simd_level()) {
        case CAIRN_SIMD_AVX512:
                return "SkylakeX";
        case CAIRN_SIMD_AVX2:
                return "Haswell";
        default:
                return NULL;
        }
}

void cairn_blas_kernels(char **argv)
{
        const char *name = openblas_get_corename();
        const char *best;

        if (getenv("OPENBLAS_CORETYPE") || !name || strcasecmp(name, "prescott") != 0)
                return;
        char self[PATH_MAX];
        ssize_t n;

        best = best_coretype();
        /* the program's own path, not /proc/self/exe: the process keeps its
         * name (ps, /proc/PID/comm) */
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (!best || n <= 0 || setenv("OPENBLAS_CORETYPE", best, 1) != 0)
                return;
        self[n] = '\0';
        execv(self, argv);
        unsetenv("OPENBLAS_CORETYPE"); /* the exec failed: go on as we are */
}

const char *cairn_blas_corename(void)
{
        const char *name = openblas_get_corename();

        return name ? name : "unknown";
}

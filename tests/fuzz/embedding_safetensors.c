/* libFuzzer target for the safetensors header parser: arbitrary bytes as a
 * whole file. What it accepts must hold together: every tensor inside the
 * data, of exactly its shape's size, the tensors tiling the data without
 * overlap, each found again by its name. Anything else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embedding/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct safetensors st;
        char errstr[512];
        uint64_t covered = 0;

        errstr[0] = '\0';
        if (safetensors_parse(&st, data, size, errstr, sizeof(errstr)) != CAIRN_OK) {
                if (!errstr[0] || st.tensors || st.n)
                        abort();
                return 0;
        }
        if (st.data < data || st.data + st.data_size != data + size)
                abort();
        for (size_t i = 0; i < st.n; i++) {
                const struct safetensors_tensor *t = &st.tensors[i];
                uint64_t n = 1;

                if (t->end < t->begin || t->end > st.data_size ||
                    t->data != (const void *)(st.data + t->begin) || t->ndim > SAFETENSORS_MAX_DIMS)
                        abort();
                for (size_t d = 0; d < t->ndim; d++)
                        n *= t->shape[d];
                if (n != t->nelem || t->end - t->begin != n * safetensors_dtype_size(t->dtype))
                        abort();
                if (safetensors_find(&st, t->name) != t)
                        abort();
                if (i && strcmp(st.tensors[i - 1].name, t->name) >= 0)
                        abort();
                covered += t->end - t->begin;
        }
        /* no overlap and no gap: the sizes add up to the data */
        if (covered != st.data_size)
                abort();
        safetensors_cleanup(&st);
        return 0;
}

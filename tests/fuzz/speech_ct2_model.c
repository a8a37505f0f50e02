/* libFuzzer target for the CTranslate2 model.bin reader: arbitrary bytes as
 * a whole file. What it accepts must hold together: every variable inside
 * the file, of exactly its shape's size in its dtype, found again by its
 * name, every alias leading to a variable, the variables and aliases
 * covering the file. Anything else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "speech/ct2_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ct2_model m;
        char errstr[512];
        uint64_t covered = 0;

        errstr[0] = '\0';
        if (ct2_model_parse(&m, data, size, errstr, sizeof(errstr)) != CAIRN_OK) {
                if (!errstr[0] || m.vars || m.n_vars || m.aliases)
                        abort();
                return 0;
        }
        for (size_t i = 0; i < m.n_vars; i++) {
                const struct ct2_variable *v = &m.vars[i];
                const uint8_t *p = v->data;
                uint64_t n = 1;

                if (v->rank > CT2_MAX_RANK || (unsigned)v->dtype >= CT2_DTYPE__COUNT)
                        abort();
                for (unsigned d = 0; d < v->rank; d++)
                        n *= v->dims[d];
                if (n != v->nelem)
                        abort();
                if (p < data || p > data + size ||
                    (uint64_t)(data + size - p) < n * ct2_dtype_size(v->dtype))
                        abort();
                if ((const uint8_t *)v->name < data || (const uint8_t *)v->name >= data + size)
                        abort();
                if (ct2_model_find(&m, v->name) != v)
                        abort();
                covered += n * ct2_dtype_size(v->dtype) + strlen(v->name) + 1;
        }
        for (size_t i = 0; i < m.n_aliases; i++) {
                if (!ct2_model_find(&m, m.aliases[i].target))
                        abort();
                covered += strlen(m.aliases[i].name) + strlen(m.aliases[i].target) + 2;
        }
        /* the data and names fit inside the file: nothing was counted twice */
        if (covered > size)
                abort();
        ct2_model_cleanup(&m);
        return 0;
}

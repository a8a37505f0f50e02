/* Fuzz target: a cairn.v1.Status reply as a client receives it from the
 * reply topic, which anyone may write to. */
#include <stddef.h>
#include <stdint.h>

#include "cairn/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cairn_status st;

        cairn_status_unpack(data, size, &st);
        return 0;
}

/* Fuzz target: librdkafka's statistics JSON as the bus reads consumer lag
 * from it. The bytes come from librdkafka, but the parser trusts nothing. */
#include <stddef.h>
#include <stdint.h>

#include "kafka_stats.h"

static void ignore(const char *topic, int32_t partition, int64_t lag, void *opaque)
{
        (void)topic;
        (void)partition;
        (void)lag;
        (void)opaque;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cairn_kafka_stats_lag((const char *)data, size, ignore, NULL);
        return 0;
}

/* Consumer lag out of librdkafka's statistics JSON (statistics.interval.ms,
 * delivered to the stats callback). Private to libcairn. */
#ifndef CAIRN_KAFKA_STATS_H
#define CAIRN_KAFKA_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Called once per partition with a known lag. @p topic is borrowed for the
 * call only. */
typedef void (*cairn_lag_fn)(const char *topic, int32_t partition, int64_t lag, void *opaque);

/* Walks topics → partitions of the statistics document @p json (@p len
 * bytes, need not be NUL-terminated) and reports each partition's
 * consumer_lag; partitions with an unknown lag (-1) and librdkafka's
 * internal unassigned partition (-1) are skipped. Returns the number of
 * partitions reported, or -1 when @p json is not a statistics document. */
int cairn_kafka_stats_lag(const char *json, size_t len, cairn_lag_fn fn, void *opaque);

#endif

/* librdkafka client settings from the configuration: the "kafka." keys pass
 * straight through to rd_kafka_conf_set(), around the settings the caller
 * needs, with errors that name the key. Every Kafka client in Cairn (the bus
 * runtime, the bus client, the tools) builds its configuration this way. */
#ifndef CAIRN_KAFKA_CONF_H
#define CAIRN_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "cairn/conf.h"

/* Sets on @p kconf, in this order: @p defaults (name/value pairs ending with
 * NULL, or NULL for none: values the configuration may change), every
 * "kafka." key of @p conf (file order, environment overrides last), then
 * @p overrides (pairs as @p defaults: values the caller depends on, which
 * win). kafka.bootstrap.servers is required. Returns 0, or -1 with a message
 * naming the key in @p errstr ("config: kafka.acks: ..."), leaving @p kconf
 * partly set. @p kconf stays the caller's either way; the rest is borrowed. */
int cairn_kafka_conf_apply(rd_kafka_conf_t *kconf, const struct cairn_conf *conf,
                           const char *const *defaults, const char *const *overrides, char *errstr,
                           size_t errstr_size);

#endif

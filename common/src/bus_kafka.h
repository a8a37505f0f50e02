/* librdkafka plumbing shared by the service runtime and the client: client
 * configuration from the "kafka." keys, logging into cairn_log, and the
 * checks every produced message needs. Private to libcairn. */
#ifndef CAIRN_BUS_KAFKA_H
#define CAIRN_BUS_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "cairn/conf.h"

/* A librdkafka configuration set by cairn_kafka_conf_apply() (@p defaults,
 * the "kafka." keys of @p conf, then @p overrides), with log and error
 * callbacks routed to cairn_log. Returns NULL with @p errstr naming the
 * offending key. The caller owns the result. */
rd_kafka_conf_t *cairn_kafka_conf_new(const struct cairn_conf *conf, const char *const *defaults,
                                      const char *const *overrides, char *errstr,
                                      size_t errstr_size);

/* Creates a handle of @p type from @p kconf (consumed on success and on
 * failure). Returns NULL with @p errstr set. */
rd_kafka_t *cairn_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *kconf, char *errstr,
                            size_t errstr_size);

/* True when @p name is a legal Kafka topic name. */
bool cairn_kafka_topic_valid(const char *name);

/* Asks the cluster for @p topic's metadata within @p timeout_ms. */
/* The number of partitions of @p topic, from the broker's metadata; -1
 * when it cannot be had within @p timeout_ms. */
int cairn_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms);

bool cairn_kafka_probe(rd_kafka_t *rk, const char *topic, int timeout_ms, char *why,
                       size_t why_size);

/* The largest message the producer will send (message.max.bytes). */
size_t cairn_kafka_max_message_bytes(const struct cairn_conf *conf);

#endif

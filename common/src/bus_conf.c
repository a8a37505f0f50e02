/* The "bus" section of every service's configuration. */
#include <stddef.h>

#include "cairn/bus.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct cairn_bus_conf
/* clang-format on */

const struct cairn_conf_item cairn_bus_conf_items[] = {
        CAIRN_CONF_ROW("bus.request_topic", CAIRN_CONF_STRING, "", 0, -1, 0, request_topic,
                       "topic this service consumes; empty means cairn.<service>.v1.requests"),
        CAIRN_CONF_ROW("bus.group", CAIRN_CONF_STRING, "", 0, -1, 0, group,
                       "consumer group of the service's replicas; empty means cairn.<service>"),
        CAIRN_CONF_ROW(
                "bus.reply_topic", CAIRN_CONF_STRING, "", 0, -1, 0, reply_topic,
                "topic replies to this service's own calls go to; empty means cairn.<service>.replies"),
        CAIRN_CONF_ROW("bus.workers", CAIRN_CONF_INT, "4", 1, 256, 0, workers,
                       "handler threads; one key's requests always go to the same one, in order"),
        CAIRN_CONF_ROW("bus.queue_max", CAIRN_CONF_INT, "256", 1, 100000, 0, queue_max,
                       "messages queued per worker before fetching waits"),
        CAIRN_CONF_ROW("bus.grace_ms", CAIRN_CONF_INT, "10000", 0, 600000, 0, grace_ms,
                       "on SIGTERM, time allowed to finish in-flight work and commit"),
        CAIRN_CONF_ROW("bus.max_request_bytes", CAIRN_CONF_INT, "67108864", 4096, 1073741824, 0,
                       max_request_bytes, "memory one decoded request and its reply may use"),
        CAIRN_CONF_ROW("bus.call_timeout_ms", CAIRN_CONF_INT, "30000", 1, 3600000, 0,
                       call_timeout_ms,
                       "default time a call to another service waits for its reply"),
        CAIRN_CONF_ROW("bus.ready_timeout_ms", CAIRN_CONF_INT, "1000", 50, 60000, 0,
                       ready_timeout_ms, "how long /readyz waits for the broker's metadata answer"),
        CAIRN_CONF_END,
};

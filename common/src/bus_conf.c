/* The "bus" section of every service's configuration. */
#include <stddef.h>

#include "cairn/bus.h"

#define ITEM(name, type, def, min, max, field, desc) \
        { name, type, def, min, max, 0, offsetof(struct cairn_bus_conf, field), desc }

const struct cairn_conf_item cairn_bus_conf_items[] = {
        ITEM("bus.request_topic", CAIRN_CONF_STRING, "", 0, -1, request_topic,
             "topic this service consumes; empty means cairn.<service>.v1.requests"),
        ITEM("bus.group", CAIRN_CONF_STRING, "", 0, -1, group,
             "consumer group of the service's replicas; empty means cairn.<service>"),
        ITEM("bus.reply_topic", CAIRN_CONF_STRING, "", 0, -1, reply_topic,
             "topic replies to this service's own calls go to; empty means cairn.<service>.replies"),
        ITEM("bus.workers", CAIRN_CONF_INT, "4", 1, 256, workers,
             "handler threads; one key's requests always go to the same one, in order"),
        ITEM("bus.queue_max", CAIRN_CONF_INT, "256", 1, 100000, queue_max,
             "messages queued per worker before fetching waits"),
        ITEM("bus.grace_ms", CAIRN_CONF_INT, "10000", 0, 600000, grace_ms,
             "on SIGTERM, time allowed to finish in-flight work and commit"),
        ITEM("bus.max_request_bytes", CAIRN_CONF_INT, "67108864", 4096, 1073741824,
             max_request_bytes, "memory one decoded request and its reply may use"),
        ITEM("bus.call_timeout_ms", CAIRN_CONF_INT, "30000", 1, 3600000, call_timeout_ms,
             "default time a call to another service waits for its reply"),
        ITEM("bus.ready_timeout_ms", CAIRN_CONF_INT, "1000", 50, 60000, ready_timeout_ms,
             "how long /readyz waits for the broker's metadata answer"),
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

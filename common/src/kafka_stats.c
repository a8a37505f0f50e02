/* Reading consumer lag from librdkafka's statistics JSON with jansson. The
 * document is librdkafka's, but it is parsed as if anything could be in it:
 * every member is type-checked and numbers are bounded. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "kafka_stats.h"

/* A partition id from its member name ("0", "17"); -1 when it is none. */
static int32_t partition_id(const char *name)
{
        char *end;
        long v;

        if (name[0] < '0' || name[0] > '9')
                return -1;
        errno = 0;
        v = strtol(name, &end, 10);
        if (*end != '\0' || errno == ERANGE || v > INT32_MAX)
                return -1;
        return (int32_t)v;
}

int cairn_kafka_stats_lag(const char *json, size_t len, cairn_lag_fn fn, void *opaque)
{
        json_error_t jerr;
        json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *topics, *topic;
        const char *tname;
        int n = 0;

        if (!root)
                return -1;
        topics = json_object_get(root, "topics");
        if (!json_is_object(root) || (topics && !json_is_object(topics))) {
                json_decref(root);
                return -1;
        }
        json_object_foreach(topics, tname, topic) {
                json_t *parts = json_object_get(topic, "partitions");
                json_t *part;
                const char *pname;

                if (!json_is_object(parts))
                        continue;
                json_object_foreach(parts, pname, part) {
                        json_t *lag = json_object_get(part, "consumer_lag");
                        int32_t id = partition_id(pname);

                        if (id < 0 || !json_is_integer(lag) || json_integer_value(lag) < 0)
                                continue;
                        fn(tname, id, (int64_t)json_integer_value(lag), opaque);
                        n++;
                }
        }
        json_decref(root);
        return n;
}

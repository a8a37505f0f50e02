/* librdkafka configuration and plumbing shared by both sides of the bus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_kafka.h"
#include "cairn/kafka_conf.h"
#include "cairn/log.h"

/* librdkafka levels are syslog levels. @locality librdkafka's threads. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        (void)rk;
        /* One client configuration serves producers and consumers alike:
         * librdkafka's notes about the other kind's properties are noise. */
        if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "will be ignored by this"))
                level = 7;
        if (level <= 3)
                cairn_log(ERROR, "KAFKA", "%s: %s", fac, buf);
        else if (level <= 4)
                cairn_log(WARN, "KAFKA", "%s: %s", fac, buf);
        else if (level <= 6)
                cairn_log(INFO, "KAFKA", "%s: %s", fac, buf);
        else
                cairn_log(DEBUG, "KAFKA", "%s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        (void)opaque;
        /* Broker connection churn is routine in a cluster; fatal is not. */
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char fatal[512];
                rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));

                cairn_log(ERROR, "KAFKA", "fatal error %s: %s", rd_kafka_err2name(ferr), fatal);
        } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
                cairn_log(WARN, "KAFKA", "all brokers down: %s", reason);
        } else {
                cairn_log(DEBUG, "KAFKA", "%s: %s", rd_kafka_err2name(err), reason);
        }
}

rd_kafka_conf_t *cairn_kafka_conf_new(const struct cairn_conf *conf, const char *const *defaults,
                                      const char *const *overrides, char *errstr,
                                      size_t errstr_size)
{
        rd_kafka_conf_t *kconf = rd_kafka_conf_new();

        if (cairn_kafka_conf_apply(kconf, conf, defaults, overrides, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(kconf);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(kconf, log_cb);
        rd_kafka_conf_set_error_cb(kconf, error_cb);
        return kconf;
}

rd_kafka_t *cairn_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *kconf, char *errstr,
                            size_t errstr_size)
{
        rd_kafka_t *rk = rd_kafka_new(type, kconf, errstr, errstr_size);

        if (!rk)
                rd_kafka_conf_destroy(kconf);
        return rk;
}

bool cairn_kafka_topic_valid(const char *name)
{
        size_t len = strlen(name);

        if (len == 0 || len > 249 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const char *p = name; *p; p++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

bool cairn_kafka_probe(rd_kafka_t *rk, const char *topic, int timeout_ms, char *why,
                       size_t why_size)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        bool ok = false;

        err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        if (err) {
                snprintf(why, why_size, "broker metadata request failed: %s",
                         rd_kafka_err2str(err));
        } else if (md->topic_cnt != 1 || md->topics[0].err) {
                snprintf(why, why_size, "topic %s: %s", topic,
                         md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not in metadata");
        } else {
                ok = true;
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return ok;
}

int cairn_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        int n = -1;

        if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
                n = md->topics[0].partition_cnt;
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return n;
}

size_t cairn_kafka_max_message_bytes(const struct cairn_conf *conf)
{
        const char *v = cairn_conf_kafka_get(conf, "message.max.bytes");
        long long n = v ? atoll(v) : 0;

        return n > 0 ? (size_t)n : 1000000;
}

/* A raw librdkafka ping-pong, the floor under a bus round trip (pingpong.h). */
#include "pingpong.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus_kafka.h"
#include "cairn/clock.h"

#define MAX_SAMPLES 2000000

static rd_kafka_t *client_new(const struct harness_broker *b, rd_kafka_type_t type,
                              const char *group)
{
        struct cairn_bus_conf bconf;
        struct cairn_conf *conf = harness_kafka_conf(b, &bconf);
        const char *prod[] = { "enable.idempotence", "true", NULL };
        /* clang-format off */
        const char *cons[] = {
                "group.id", group,
                "enable.auto.commit", "true",
                "enable.auto.offset.store", "false",
                "auto.offset.reset", "latest",
                NULL,
        };
        /* clang-format on */
        char errstr[512];
        rd_kafka_conf_t *kconf = cairn_kafka_conf_new(conf, NULL,
                                                      type == RD_KAFKA_PRODUCER ? prod : cons,
                                                      errstr, sizeof(errstr));
        rd_kafka_t *rk;

        ck_assert_msg(kconf != NULL, "%s", errstr);
        rk = cairn_kafka_new(type, kconf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        if (type == RD_KAFKA_CONSUMER)
                rd_kafka_poll_set_consumer(rk);
        cairn_conf_free(conf);
        return rk;
}

static void subscribe(rd_kafka_t *rk, const char *topic)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

        rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(rk, l);
        rd_kafka_topic_partition_list_destroy(l);
}

/* The raw "service": consumes a ping, produces a pong echoing its send
 * time, stores the offset once the pong is queued (as the runtime does). */
static void *server(void *arg)
{
        struct bench_pingpong *r = arg;
        uint8_t *pong = calloc(1, r->pong_len);

        if (!pong)
                abort();
        while (!atomic_load(&r->stop)) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(r->srv_cons, 50);

                if (!m)
                        continue;
                if (!m->err) {
                        memcpy(pong, m->payload, m->len < 8 ? m->len : 8);
                        rd_kafka_producev(r->srv_prod, RD_KAFKA_V_TOPIC(r->pong),
                                          RD_KAFKA_V_KEY(m->key, m->key_len),
                                          RD_KAFKA_V_VALUE(pong, r->pong_len),
                                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                        rd_kafka_poll(r->srv_prod, 0);
                        rd_kafka_offset_store(m->rkt, m->partition, m->offset);
                }
                rd_kafka_message_destroy(m);
        }
        free(pong);
        return NULL;
}

static void *receiver(void *arg)
{
        struct bench_pingpong *r = arg;

        while (!atomic_load(&r->stop)) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(r->cli_cons, 50);

                if (!m)
                        continue;
                if (!m->err && m->len >= 8) {
                        int64_t t0;

                        memcpy(&t0, m->payload, 8);
                        harness_samples_add(&r->lat, (double)(cairn_mono_us() - t0));
                        if (r->on_pong)
                                r->on_pong(r->opaque, t0);
                        atomic_fetch_sub(&r->inflight, 1);
                        atomic_fetch_add(&r->done, 1);
                }
                rd_kafka_message_destroy(m);
                rd_kafka_poll(r->cli_prod, 0);
        }
        return NULL;
}

void bench_pingpong_send(struct bench_pingpong *r, int64_t t0)
{
        uint8_t buf[1024];
        char key[64];
        size_t len = r->req_len < sizeof(buf) ? r->req_len : sizeof(buf);

        memcpy(buf, r->req, len);
        memcpy(buf, &t0, 8);
        if (r->key[0])
                snprintf(key, sizeof(key), "%s", r->key);
        else
                snprintf(key, sizeof(key), "k%ld", (long)(t0 % 64));
        atomic_fetch_add(&r->inflight, 1);
        while (rd_kafka_producev(r->cli_prod, RD_KAFKA_V_TOPIC(r->ping),
                                 RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(buf, len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(r->cli_prod, 1);
        rd_kafka_poll(r->cli_prod, 0);
}

void bench_pingpong_start(struct bench_pingpong *r, const struct harness_broker *b, const char *tag,
                          const char *key, const void *req, size_t req_len, size_t pong_len)
{
        char group[96];
        int64_t until;

        memset(r, 0, sizeof(*r));
        r->broker = b;
        snprintf(r->ping, sizeof(r->ping), "bench.%s.ping", tag);
        snprintf(r->pong, sizeof(r->pong), "bench.%s.pong", tag);
        snprintf(r->key, sizeof(r->key), "%s", key ? key : "");
        r->req_len = req_len > 8 ? req_len : 8;
        r->req = calloc(1, r->req_len);
        if (!r->req)
                abort();
        memcpy(r->req, req, req_len);
        r->pong_len = pong_len ? pong_len : 1;
        harness_samples_init(&r->lat, MAX_SAMPLES);
        r->cli_prod = client_new(b, RD_KAFKA_PRODUCER, NULL);
        r->srv_prod = client_new(b, RD_KAFKA_PRODUCER, NULL);
        snprintf(group, sizeof(group), "bench.%s.server", tag);
        r->srv_cons = client_new(b, RD_KAFKA_CONSUMER, group);
        snprintf(group, sizeof(group), "bench.%s.client", tag);
        r->cli_cons = client_new(b, RD_KAFKA_CONSUMER, group);
        /* Apache Kafka: consumers do not create what they subscribe to. */
        harness_topic_create(b, r->ping, 4);
        harness_topic_create(b, r->pong, 4);
        /* create the topics and join both groups before measuring */
        bench_pingpong_send(r, cairn_mono_us());
        rd_kafka_flush(r->cli_prod, 5000);
        subscribe(r->srv_cons, r->ping);
        subscribe(r->cli_cons, r->pong);
        pthread_create(&r->srv_thread, NULL, server, r);
        pthread_create(&r->cli_thread, NULL, receiver, r);
        /* warm up until pongs flow */
        until = cairn_mono_us() + 30 * 1000000LL;
        while (cairn_mono_us() < until) {
                long before = atomic_load(&r->done);

                bench_pingpong_send(r, cairn_mono_us());
                usleep(100000);
                if (atomic_load(&r->done) > before && atomic_load(&r->done) >= 5)
                        break;
        }
        usleep(200000);
        harness_samples_reset(&r->lat);
        atomic_store(&r->done, 0);
        atomic_store(&r->inflight, 0);
}

void bench_pingpong_stop(struct bench_pingpong *r)
{
        atomic_store(&r->stop, true);
        pthread_join(r->srv_thread, NULL);
        pthread_join(r->cli_thread, NULL);
        rd_kafka_consumer_close(r->srv_cons);
        rd_kafka_consumer_close(r->cli_cons);
        rd_kafka_destroy(r->srv_cons);
        rd_kafka_destroy(r->cli_cons);
        rd_kafka_flush(r->srv_prod, 2000);
        rd_kafka_flush(r->cli_prod, 2000);
        rd_kafka_destroy(r->srv_prod);
        rd_kafka_destroy(r->cli_prod);
        harness_samples_free(&r->lat);
        free(r->req);
}

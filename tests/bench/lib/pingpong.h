/* The floor under a round trip through the bus: a raw librdkafka
 * ping-pong (produce a ping, a "service" thread consumes it and produces a
 * pong back, a receiver thread consumes the pong) with the client settings
 * the harness gives Cairn's own clients, idempotent producers and consumer
 * groups, as the bus uses them. Everything runs in the benchmark's process
 * (pingpong.c). */
#ifndef CAIRN_BENCH_PINGPONG_H
#define CAIRN_BENCH_PINGPONG_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

struct bench_pingpong {
        const struct harness_broker *broker;
        rd_kafka_t *cli_prod, *cli_cons, *srv_prod, *srv_cons;
        pthread_t srv_thread, cli_thread;
        atomic_bool stop;
        char ping[64], pong[64];
        char key[64]; /* "": each ping keyed by its send time, over 64 keys */
        uint8_t *req;
        size_t req_len, pong_len;
        /* Round-trip times in microseconds, and the counts; an optional
         * callback (@locality the receiver thread) sees each pong too. */
        struct harness_samples lat;
        atomic_long inflight;
        atomic_long done;
        void (*on_pong)(void *opaque, int64_t t0);
        void *opaque;
};

/* Starts a ping-pong on topics "bench.@p tag.ping" and "bench.@p tag.pong"
 * of @p b (borrowed, must outlive it): pings are @p req (copied, at least 8
 * bytes: the first 8 carry the send time), pongs @p pong_len bytes, every
 * message keyed by @p key (NULL: by its send time, over 64 keys). Returns
 * once pongs flow, its samples and counters reset. Fails the benchmark when
 * a client cannot be made. */
void bench_pingpong_start(struct bench_pingpong *r, const struct harness_broker *b, const char *tag,
                          const char *key, const void *req, size_t req_len, size_t pong_len);

/* Sends one ping stamped @p t0 (cairn_mono_us()); any thread. */
void bench_pingpong_send(struct bench_pingpong *r, int64_t t0);

/* Stops both threads and every client; frees the samples. */
void bench_pingpong_stop(struct bench_pingpong *r);

#endif

/* The service side of the bus: consume the request topic, hand messages to
 * workers by key, decode and dispatch by ce_type, reply, and store offsets
 * for commit only once the broker acknowledged the reply.
 *
 * Threads: the caller of cairn_bus_run() polls the consumer and dispatches;
 * `workers` threads run handlers; one thread serves the producer's delivery
 * reports, which is where messages complete. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "bus_kafka.h"
#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/hex.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/utf8.h"
#include "cairn/trace.h"
#include "kafka_stats.h"
#include "offsets.h"

/* One consumed message from dispatch until its last acknowledgement. */
struct job {
        struct cairn_bus *bus;
        rd_kafka_message_t *rkm; /* owned; destroyed when the job completes */
        uint32_t gen;            /* offsets generation of its partition */
        atomic_int acks;         /* produce acknowledgements still awaited */
        int64_t start_us;
        struct cairn_span *span; /* the CONSUMER span while handled; NULL when not tracing */
        struct job *next;        /* worker queue link */
};

struct worker {
        struct cairn_bus *bus;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* signalled on push (for the worker) and pop (for the poller) */
        struct job *head, *tail;
        size_t len;
        bool stopping;
        struct cairn_arena arena;
};

struct cairn_bus {
        char service[64];
        char request_topic[256];
        char dlq_topic[260];
        char group[256];
        char source[128];
        const struct cairn_bus_conf *bconf;
        const struct cairn_handler *handlers;
        void *opaque;
        size_t max_message;

        rd_kafka_t *consumer;
        rd_kafka_t *producer;
        struct cairn_offsets *offsets;

        struct worker *workers;
        size_t nworkers;
        atomic_uint rr; /* round robin for keyless messages */

        volatile sig_atomic_t stop;
        atomic_bool producer_stop;
        pthread_t producer_thread;

        struct cairn_metric *m_requests;
        struct cairn_metric *m_duration;
        struct cairn_series *s_inflight;
        struct cairn_series *s_deadline_drops;
        struct cairn_metric *m_dlq;
        struct cairn_series *s_reply_failures;
        struct cairn_metric *m_lag;
};

static void job_complete(struct job *job);

/* ---- completion: delivery reports ---- */

static void store_offset(struct cairn_bus *bus, int32_t partition, int64_t next)
{
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);

        rd_kafka_topic_partition_list_add(list, bus->request_topic, partition)->offset = next;
        /* Fails with _STATE when the partition was revoked meanwhile: its new
         * owner will see the message again, which at-least-once allows. */
        rd_kafka_offsets_store(bus->consumer, list);
        rd_kafka_topic_partition_list_destroy(list);
}

static void job_release_ack(struct job *job)
{
        if (atomic_fetch_sub(&job->acks, 1) == 1)
                job_complete(job);
}

static void job_complete(struct job *job)
{
        struct cairn_bus *bus = job->bus;
        int64_t next = cairn_offsets_done(bus->offsets, job->rkm->partition, job->rkm->offset,
                                          job->gen);

        if (next >= 0)
                store_offset(bus, job->rkm->partition, next);
        cairn_series_add(bus->s_inflight, -1);
        rd_kafka_message_destroy(job->rkm);
        free(job);
}

static void produce_dlq(struct job *job, cairn_err_t code, const char *reason, const char *detail);

/* @locality the producer thread. */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        struct job *job = rkm->_private;

        (void)rk;
        (void)opaque;
        if (!job)
                return;
        if (rkm->err) {
                const char *topic = rd_kafka_topic_name(rkm->rkt);

                if (strcmp(topic, job->bus->dlq_topic) == 0) {
                        /* Nowhere left to put it: say so loudly and move on
                         * rather than stall the partition forever. */
                        cairn_log(ERROR, "BUS", "dlq copy of %s [%d] @%lld failed: %s",
                                  job->bus->request_topic, (int)job->rkm->partition,
                                  (long long)job->rkm->offset, rd_kafka_err2str(rkm->err));
                } else {
                        char why[300];

                        cairn_series_inc(job->bus->s_reply_failures);
                        snprintf(why, sizeof(why), "reply to %s failed: %s", topic,
                                 rd_kafka_err2str(rkm->err));
                        cairn_log(WARN, "BUS", "%s", why);
                        produce_dlq(job, CAIRN_ERR_UNAVAILABLE, CAIRN_DLQ_REPLY_FAILED, why);
                }
        }
        job_release_ack(job);
}

static void *producer_main(void *arg)
{
        struct cairn_bus *bus = arg;

        while (!atomic_load(&bus->producer_stop))
                rd_kafka_poll(bus->producer, 100);
        return NULL;
}

/* ---- producing ---- */

/* Produces with the job as delivery opaque, taking an ack reference; waits
 * out a full local queue. Returns the error when it could not enqueue. */
static rd_kafka_resp_err_t produce(struct job *job, const char *topic, int32_t partition,
                                   const void *key, size_t key_len, void *payload, size_t len,
                                   rd_kafka_headers_t *hdrs)
{
        struct cairn_bus *bus = job->bus;
        rd_kafka_resp_err_t err;

        atomic_fetch_add(&job->acks, 1);
        for (;;) {
                err = rd_kafka_producev(bus->producer, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_PARTITION(partition),
                                        RD_KAFKA_V_KEY(key, key_len),
                                        RD_KAFKA_V_VALUE(payload, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(job),
                                        RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                usleep(1000); /* the producer thread drains the queue */
        }
        if (err) {
                rd_kafka_headers_destroy(hdrs);
                atomic_fetch_sub(&job->acks, 1);
        }
        return err;
}

/* Copies the request to the DLQ with @p reason, a CAIRN_DLQ_* token, in
 * cairn_dlq_reason and @p detail, the text for people, in cairn_dlq_detail:
 * tools match the token, which never changes with the wording. */
static void produce_dlq(struct job *job, cairn_err_t code, const char *reason, const char *detail)
{
        struct cairn_bus *bus = job->bus;
        rd_kafka_message_t *rkm = job->rkm;
        rd_kafka_headers_t *orig = NULL;
        rd_kafka_headers_t *hdrs;
        rd_kafka_resp_err_t err;

        if (rd_kafka_message_headers(rkm, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
                hdrs = rd_kafka_headers_copy(orig);
        else
                hdrs = rd_kafka_headers_new(8);
        cairn_headers_add(hdrs, CAIRN_H_DLQ_REASON, reason);
        cairn_headers_add(hdrs, CAIRN_H_DLQ_DETAIL, detail);
        cairn_headers_add(hdrs, CAIRN_H_DLQ_CODE, cairn_err_str(code));
        cairn_headers_add(hdrs, CAIRN_H_DLQ_TOPIC, bus->request_topic);
        cairn_headers_add_i64(hdrs, CAIRN_H_DLQ_PARTITION, rkm->partition);
        cairn_headers_add_i64(hdrs, CAIRN_H_DLQ_OFFSET, rkm->offset);
        cairn_metric_inc_l(bus->m_dlq, (const char *[]){ reason });
        err = produce(job, bus->dlq_topic, RD_KAFKA_PARTITION_UA, rkm->key, rkm->key_len,
                      rkm->payload, rkm->len, hdrs);
        if (err)
                cairn_log(ERROR, "BUS", "dlq copy to %s failed: %s", bus->dlq_topic,
                          rd_kafka_err2str(err));
}

/* Sends @p payload (ce_type @p type) to the request's reply address. */
static void produce_reply(struct job *job, const struct cairn_msg_headers *h, const char *type,
                          void *payload, size_t len)
{
        struct cairn_bus *bus = job->bus;
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(10);
        char id[37], now[32];
        rd_kafka_resp_err_t err;

        cairn_uuid(id);
        cairn_rfc3339(cairn_now_ms(), now);
        cairn_headers_add(hdrs, CAIRN_H_SPECVERSION, "1.0");
        cairn_headers_add(hdrs, CAIRN_H_ID, id);
        cairn_headers_add(hdrs, CAIRN_H_SOURCE, bus->source);
        cairn_headers_add(hdrs, CAIRN_H_TYPE, type);
        cairn_headers_add(hdrs, CAIRN_H_TIME, now);
        cairn_headers_add(hdrs, CAIRN_H_CONTENT_TYPE, CAIRN_CONTENT_TYPE_PROTOBUF);
        cairn_headers_add(hdrs, CAIRN_H_CORRELATION, h->id);
        if (h->traceparent[0])
                cairn_headers_add(hdrs, CAIRN_H_TRACEPARENT, h->traceparent);
        if (h->tracestate[0])
                cairn_headers_add(hdrs, CAIRN_H_TRACESTATE, h->tracestate);
        err = produce(job, h->reply_to,
                      h->reply_partition >= 0 ? h->reply_partition : RD_KAFKA_PARTITION_UA,
                      job->rkm->key, job->rkm->key_len, payload, len, hdrs);
        if (err) {
                char why[300];

                cairn_series_inc(bus->s_reply_failures);
                snprintf(why, sizeof(why), "reply to %s failed: %s", h->reply_to,
                         rd_kafka_err2str(err));
                cairn_log(WARN, "BUS", "%s", why);
                produce_dlq(job, CAIRN_ERR_UNAVAILABLE, CAIRN_DLQ_REPLY_FAILED, why);
        }
}

static void reply_status(struct job *job, const struct cairn_msg_headers *h,
                         const struct cairn_status *st)
{
        size_t len;
        uint8_t *buf;

        if (!h->reply_to[0])
                return;
        buf = cairn_status_pack(st, &len);
        produce_reply(job, h, CAIRN_STATUS_TYPE, buf, len);
        free(buf);
}

/* ---- handling, on a worker ---- */

static const struct cairn_handler *handler_find(const struct cairn_bus *bus, const char *type)
{
        for (const struct cairn_handler *hd = bus->handlers; hd->desc; hd++)
                if (strcmp(hd->desc->name, type) == 0)
                        return hd;
        return NULL;
}

static void span_fail(struct job *job, cairn_err_t code, const char *message)
{
        cairn_span_set_status(job->span, CAIRN_SPAN_ERROR, "%s", message);
        cairn_span_set_str(job->span, "error.type", cairn_err_str(code));
}

/* Starts the CONSUMER span of @p job as a child of the message's trace
 * context (a new trace without one), with the messaging conventions, makes
 * it this thread's current span and the parent the reply carries, and puts
 * its ids in the log context. With tracing off nothing is allocated and only
 * a valid incoming trace id goes to the log (into @p trace_id). */
static void span_start(struct cairn_bus *bus, struct job *job, struct cairn_msg_headers *h,
                       bool headers_ok, struct cairn_log_ctx *lctx, char trace_id[33])
{
        rd_kafka_message_t *rkm = job->rkm;
        struct cairn_span_ctx parent;
        char name[CAIRN_HEADER_MAX + 16], key[129];
        size_t n;
        bool has_parent;

        if (!cairn_trace_enabled()) {
                if (headers_ok && h->traceparent[0] &&
                    cairn_traceparent_parse(h->traceparent, strlen(h->traceparent), &parent)) {
                        cairn_hex_encode(parent.trace_id, 16, trace_id);
                        lctx->trace_id = trace_id;
                }
                return;
        }
        has_parent = headers_ok && cairn_trace_extract(h->traceparent, h->tracestate, &parent);
        snprintf(name, sizeof(name), "%s process", h->type[0] ? h->type : "(unknown)");
        job->span = cairn_span_start(name, CAIRN_SPAN_CONSUMER, has_parent ? &parent : NULL);
        if (!job->span)
                return;
        cairn_span_set_str(job->span, "messaging.system", "kafka");
        cairn_span_set_str(job->span, "messaging.operation.type", "process");
        cairn_span_set_str(job->span, "messaging.operation", "process");
        cairn_span_set_str(job->span, "messaging.destination.name", bus->request_topic);
        cairn_span_set_int(job->span, "messaging.kafka.destination.partition", rkm->partition);
        cairn_span_set_int(job->span, "messaging.kafka.message.offset", rkm->offset);
        cairn_span_set_str(job->span, "messaging.kafka.consumer.group", bus->group);
        if (h->id[0])
                cairn_span_set_str(job->span, "messaging.message.id", h->id);
        if (rkm->key_len) {
                n = rkm->key_len < sizeof(key) - 1 ? rkm->key_len : sizeof(key) - 1;
                memcpy(key, rkm->key, n);
                key[n] = '\0';
                cairn_span_set_str(job->span, "messaging.kafka.message.key", key);
        }
        cairn_span_set_int(job->span, "messaging.message.body.size", (int64_t)rkm->len);
        /* The reply, and calls the handler makes, continue from this span. */
        memcpy(h->traceparent, job->span->traceparent, sizeof(job->span->traceparent));
        n = strlen(job->span->ctx.tracestate); /* it came from h: it fits */
        if (n < sizeof(h->tracestate))
                memcpy(h->tracestate, job->span->ctx.tracestate, n + 1);
        lctx->trace_id = job->span->trace_id_hex;
        lctx->span_id = job->span->span_id_hex;
        cairn_trace_set_current(job->span);
}

/* A message that cannot be handled at all: answer when possible, keep a
 * copy in the DLQ with @p reason (a CAIRN_DLQ_* token), count it. */
static void reject(struct job *job, const struct cairn_msg_headers *h, cairn_err_t code,
                   const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void reject(struct job *job, const struct cairn_msg_headers *h, cairn_err_t code,
                   const char *reason, const char *fmt, ...)
{
        struct cairn_status st;
        va_list ap;

        cairn_status_clear(&st);
        st.code = code;
        va_start(ap, fmt);
        vsnprintf(st.message, sizeof(st.message), fmt, ap);
        va_end(ap);
        snprintf(st.reason, sizeof(st.reason), "%s", reason);
        span_fail(job, code, st.message);
        cairn_log(WARN, "BUS", "rejected %s [%d] @%lld: %s", job->bus->request_topic,
                  (int)job->rkm->partition, (long long)job->rkm->offset, st.message);
        if (h && h->id[0] && cairn_kafka_topic_valid(h->reply_to))
                reply_status(job, h, &st);
        produce_dlq(job, code, reason, st.message);
}

static void observe(struct cairn_bus *bus, struct job *job, const char *type, cairn_err_t code)
{
        const char *labels[] = { type, cairn_err_str(code) };

        cairn_metric_inc_l(bus->m_requests, labels);
        cairn_metric_observe_l(bus->m_duration, (const char *[]){ type },
                               (double)(cairn_mono_us() - job->start_us) / 1e6);
}

/* The request a handler sees: the message's key copied into the worker's
 * arena, the Authorization header into @p auth (CAIRN_AUTH_MAX + 1). */
static struct cairn_request request_of(struct worker *w, struct job *job,
                                       const struct cairn_msg_headers *h, rd_kafka_headers_t *hdrs,
                                       char *auth)
{
        rd_kafka_message_t *rkm = job->rkm;
        char *key = cairn_arena_alloc(&w->arena, rkm->key_len + 1);

        if (!key)
                abort(); /* a key is far smaller than the arena's first block */
        memcpy(key, rkm->key ? rkm->key : "", rkm->key_len);
        key[rkm->key_len] = '\0';
        int alen = cairn_headers_get(hdrs, CAIRN_H_AUTHORIZATION, auth, CAIRN_AUTH_MAX + 1);
        return (struct cairn_request){
                .hdrs = h,
                .key = key,
                .authorization = alen >= 0 ? auth : NULL,
                .topic = job->bus->request_topic,
                .partition = rkm->partition,
                .offset = rkm->offset,
                .arena = &w->arena,
                .opaque = job->bus->opaque,
        };
}

/* A message for a raw handler (cairn_bus_conf's raw): no decoding, no
 * answer. */
static void handle_raw(struct worker *w, struct job *job, const struct cairn_msg_headers *h,
                       rd_kafka_headers_t *hdrs)
{
        struct cairn_bus *bus = job->bus;
        char auth[CAIRN_AUTH_MAX + 1];
        struct cairn_status st;
        cairn_err_t err;

        cairn_arena_reset(&w->arena);
        struct cairn_request req = request_of(w, job, h, hdrs, auth);

        cairn_status_clear(&st);
        err = bus->bconf->raw(&req, job->rkm->payload, job->rkm->len, &st);
        if (err) {
                span_fail(job, err, st.message);
                cairn_log(WARN, "BUS", "%s from %s not handled: %s: %s", h->type,
                          bus->request_topic, cairn_err_str(err), st.message);
        }
        observe(bus, job, "raw", err);
}

static void handle(struct worker *w, struct job *job)
{
        struct cairn_bus *bus = job->bus;
        rd_kafka_message_t *rkm = job->rkm;
        struct cairn_msg_headers h;
        rd_kafka_headers_t *hdrs = NULL;
        char why[256] = "";
        char auth[CAIRN_AUTH_MAX + 1];
        const struct cairn_handler *hd;
        struct cairn_log_ctx lctx = { 0 };
        char trace_id[33];
        char request_id[CAIRN_HEADER_MAX + 1];

        rd_kafka_message_headers(rkm, &hdrs);
        bool headers_ok = cairn_headers_parse(hdrs, &h, why, sizeof(why));

        span_start(bus, job, &h, headers_ok, &lctx, trace_id);
        lctx.ce_id = h.id;
        lctx.ce_type = h.type;
        /* The gateway's X-Request-ID, so one id finds a request's lines in
         * every service; only printable text of the header's bounded size. */
        if (cairn_headers_get(hdrs, CAIRN_H_REQUEST_ID, request_id, sizeof(request_id)) > 0 &&
            cairn_utf8_valid(request_id, strlen(request_id)))
                lctx.request_id = request_id;
        cairn_log_ctx_set(&lctx);

        if (!headers_ok) {
                reject(job, &h, CAIRN_ERR_INVALID, CAIRN_DLQ_BAD_HEADERS, "%s", why);
                observe(bus, job, "invalid", CAIRN_ERR_INVALID);
                goto out;
        }
        if (h.deadline_ms && h.deadline_ms <= cairn_now_ms()) {
                /* The caller has given up: answering would only add load. */
                cairn_series_inc(bus->s_deadline_drops);
                span_fail(job, CAIRN_ERR_DEADLINE, "deadline passed; dropped unprocessed");
                cairn_log(DEBUG, "BUS", "dropped: deadline passed %lld ms ago",
                          (long long)(cairn_now_ms() - h.deadline_ms));
                goto out;
        }
        if (!h.id[0]) {
                reject(job, &h, CAIRN_ERR_INVALID, CAIRN_DLQ_BAD_HEADERS, "missing header %s",
                       CAIRN_H_ID);
                observe(bus, job, "invalid", CAIRN_ERR_INVALID);
                goto out;
        }
        if (h.reply_to[0] && !cairn_kafka_topic_valid(h.reply_to)) {
                reject(job, &h, CAIRN_ERR_INVALID, CAIRN_DLQ_BAD_HEADERS,
                       "header %s is not a valid topic name", CAIRN_H_REPLY_TO);
                observe(bus, job, "invalid", CAIRN_ERR_INVALID);
                goto out;
        }
        if (!h.type[0]) {
                reject(job, &h, CAIRN_ERR_INVALID, CAIRN_DLQ_BAD_HEADERS, "missing header %s",
                       CAIRN_H_TYPE);
                observe(bus, job, "invalid", CAIRN_ERR_INVALID);
                goto out;
        }
        if (bus->bconf->raw) {
                handle_raw(w, job, &h, hdrs);
                goto out;
        }
        hd = handler_find(bus, h.type);
        if (!hd) {
                reject(job, &h, CAIRN_ERR_UNIMPLEMENTED, CAIRN_DLQ_UNKNOWN_TYPE,
                       "unknown ce_type \"%s\" on %s", h.type, bus->request_topic);
                observe(bus, job, "unknown", CAIRN_ERR_UNIMPLEMENTED);
                goto out;
        }

        cairn_arena_reset(&w->arena);
        ProtobufCMessage *msg = protobuf_c_message_unpack(hd->desc, cairn_arena_pbc(&w->arena),
                                                          rkm->len, rkm->payload);
        if (!msg) {
                reject(job, &h, CAIRN_ERR_INVALID, CAIRN_DLQ_UNDECODABLE,
                       "payload of %zu bytes does not decode as %s", rkm->len, h.type);
                observe(bus, job, hd->desc->name, CAIRN_ERR_INVALID);
                goto out;
        }

        struct cairn_request req = request_of(w, job, &h, hdrs, auth);

        lctx.key = req.key;
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;
        cairn_err_t err;

        cairn_status_clear(&st);
        err = hd->fn(&req, msg, &reply, &st);
        if (err) {
                st.code = err;
                cairn_log(DEBUG, "BUS", "handler failed: %s: %s", cairn_err_str(err), st.message);
                if (h.reply_to[0])
                        reply_status(job, &h, &st);
                else
                        cairn_log(WARN, "BUS", "fire-and-forget %s failed: %s: %s", h.type,
                                  cairn_err_str(err), st.message);
        } else if (reply && h.reply_to[0]) {
                size_t len = protobuf_c_message_get_packed_size(reply);

                if (len > bus->max_message) {
                        err = cairn_status_set(&st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                               "reply of %zu bytes exceeds the message limit "
                                               "of %zu bytes; send a smaller batch",
                                               len, bus->max_message);
                        reply_status(job, &h, &st);
                } else {
                        uint8_t *buf = cairn_arena_alloc(&w->arena, len ? len : 1);

                        if (!buf) {
                                err = cairn_status_set(&st, CAIRN_ERR_EXHAUSTED, NULL,
                                                       "REPLY_TOO_LARGE",
                                                       "reply of %zu bytes exceeds the "
                                                       "request memory limit",
                                                       len);
                                reply_status(job, &h, &st);
                        } else {
                                protobuf_c_message_pack(reply, buf);
                                produce_reply(job, &h, reply->descriptor->name, buf, len);
                        }
                }
        }
        if (err)
                span_fail(job, err, st.message);
        observe(bus, job, hd->desc->name, err);
out:
        cairn_log_ctx_set(NULL);
        cairn_trace_set_current(NULL);
        cairn_span_end(job->span);
        job->span = NULL;
        job_release_ack(job); /* the dispatch reference */
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;

        for (;;) {
                pthread_mutex_lock(&w->lock);
                while (!w->head && !w->stopping)
                        pthread_cond_wait(&w->cond, &w->lock);
                struct job *job = w->head;
                if (!job) {
                        pthread_mutex_unlock(&w->lock);
                        break;
                }
                w->head = job->next;
                if (!w->head)
                        w->tail = NULL;
                w->len--;
                pthread_cond_broadcast(&w->cond);
                pthread_mutex_unlock(&w->lock);
                handle(w, job);
        }
        return NULL;
}

/* ---- dispatch, on the polling thread ---- */

static void dispatch(struct cairn_bus *bus, rd_kafka_message_t *rkm)
{
        struct job *job = calloc(1, sizeof(*job));
        struct worker *w;
        size_t idx;

        if (!job)
                abort();
        job->bus = bus;
        job->rkm = rkm;
        job->start_us = cairn_mono_us();
        atomic_init(&job->acks, 1); /* released when the handler is done */
        job->gen = cairn_offsets_add(bus->offsets, rkm->partition, rkm->offset);
        cairn_series_add(bus->s_inflight, 1);

        if (rkm->key_len && !bus->bconf->any_order)
                idx = XXH3_64bits(rkm->key, rkm->key_len) % bus->nworkers;
        else
                idx = atomic_fetch_add(&bus->rr, 1) % bus->nworkers;
        w = &bus->workers[idx];
        pthread_mutex_lock(&w->lock);
        while (w->len >= (size_t)bus->bconf->queue_max)
                pthread_cond_wait(&w->cond, &w->lock);
        if (w->tail)
                w->tail->next = job;
        else
                w->head = job;
        w->tail = job;
        w->len++;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

/* Waits until nothing of @p partition (-1: anything) is in flight, or until
 * @p budget_ms passes. Returns true when drained. */
static bool drain(struct cairn_bus *bus, int32_t partition, int64_t budget_ms)
{
        int64_t until = cairn_mono_us() + budget_ms * 1000;

        while (cairn_offsets_pending(bus->offsets, partition) > 0) {
                if (cairn_mono_us() >= until)
                        return false;
                usleep(2000);
        }
        return true;
}

static void lag_put(struct cairn_bus *bus, const char *topic, int32_t partition, int64_t lag);

/* @locality the polling thread, inside rd_kafka_consumer_poll(). */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        struct cairn_bus *bus = opaque;

        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                for (int i = 0; i < parts->cnt; i++)
                        cairn_offsets_reset(bus->offsets, parts->elems[i].partition);
                cairn_log(INFO, "BUS", "assigned %d partition(s) of %s", parts->cnt,
                          bus->request_topic);
                rd_kafka_assign(rk, parts);
                return;
        }
        /* Revoked: finish what is in flight so its offsets are committed
         * before another replica takes over. */
        for (int i = 0; i < parts->cnt; i++) {
                int32_t p = parts->elems[i].partition;

                if (!drain(bus, p, bus->bconf->grace_ms))
                        cairn_log(WARN, "BUS", "partition %d revoked with %zu in flight", (int)p,
                                  cairn_offsets_pending(bus->offsets, p));
        }
        rd_kafka_commit(rk, NULL, 0);
        /* Their lag is their next owner's to report now: a group's lag is
         * the sum of its replicas' series. */
        for (int i = 0; i < parts->cnt; i++) {
                cairn_offsets_reset(bus->offsets, parts->elems[i].partition);
                lag_put(bus, parts->elems[i].topic, parts->elems[i].partition, 0);
        }
        if (bus->bconf->revoked && parts->cnt > 0) {
                int32_t *nums = malloc((size_t)parts->cnt * sizeof(*nums));

                for (int i = 0; nums && i < parts->cnt; i++)
                        nums[i] = parts->elems[i].partition;
                if (nums)
                        bus->bconf->revoked(bus->opaque, nums, (size_t)parts->cnt);
                free(nums);
        }
        cairn_log(INFO, "BUS", "revoked %d partition(s) of %s", parts->cnt, bus->request_topic);
        rd_kafka_assign(rk, NULL);
}

/* ---- lifecycle ---- */

static void metrics_init(struct cairn_bus *bus, struct cairn_metrics *reg)
{
        bus->m_requests = cairn_metrics_counter(reg, "cairn_bus_requests_total",
                                                "Requests handled, by ce_type and status code",
                                                (const char *[]){ "type", "code", NULL });
        bus->m_duration =
                cairn_metrics_histogram(reg, "cairn_bus_request_duration_seconds",
                                        "Time from dispatch to the end of the handler, by ce_type",
                                        (const char *[]){ "type", NULL },
                                        cairn_metrics_latency_buckets,
                                        cairn_metrics_latency_nbuckets);
        bus->s_inflight =
                cairn_metric_series(cairn_metrics_gauge(reg, "cairn_bus_inflight",
                                                        "Requests consumed and not yet completed",
                                                        NULL),
                                    NULL);
        bus->s_deadline_drops = cairn_metric_series(
                cairn_metrics_counter(reg, "cairn_bus_deadline_dropped_total",
                                      "Requests dropped unprocessed because their deadline passed",
                                      NULL),
                NULL);
        bus->m_dlq = cairn_metrics_counter(reg, "cairn_bus_dlq_total",
                                           "Messages copied to the dead-letter topic, by reason",
                                           (const char *[]){ "reason", NULL });
        bus->s_reply_failures =
                cairn_metric_series(cairn_metrics_counter(reg, "cairn_bus_reply_failures_total",
                                                          "Replies the broker did not accept",
                                                          NULL),
                                    NULL);
        bus->m_lag = cairn_metrics_gauge(reg, "cairn_bus_consumer_lag",
                                         "Messages behind the partition's end, per assigned "
                                         "partition, as of the last statistics report",
                                         (const char *[]){ "topic", "partition", NULL });
}

static void lag_put(struct cairn_bus *bus, const char *topic, int32_t partition, int64_t lag)
{
        char p[16];

        snprintf(p, sizeof(p), "%d", (int)partition);
        cairn_metric_set_l(bus->m_lag, (const char *[]){ topic, p }, (double)lag);
}

/* One statistics report: the bus and the partitions assigned as it is served. */
struct lag_report {
        struct cairn_bus *bus;
        rd_kafka_topic_partition_list_t *assigned;
};

static void lag_set(const char *topic, int32_t partition, int64_t lag, void *opaque)
{
        struct lag_report *r = opaque;

        /* A report made before a revocation may be served after it, with
         * the lag of partitions no longer ours. */
        if (rd_kafka_topic_partition_list_find(r->assigned, topic, partition))
                lag_put(r->bus, topic, partition, lag);
}

/* librdkafka's statistics, every statistics.interval.ms: consumer lag.
 * @locality the thread polling the consumer. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
        struct lag_report r = { opaque, NULL };

        if (rd_kafka_assignment(rk, &r.assigned) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
        if (cairn_kafka_stats_lag(json, len, lag_set, &r) < 0)
                cairn_log(DEBUG, "BUS", "statistics report is not the expected JSON");
        rd_kafka_topic_partition_list_destroy(r.assigned);
        return 0; /* librdkafka frees json */
}

static const char *or_default(const char *v, char *buf, size_t size, const char *fmt,
                              const char *service)
{
        if (v && v[0])
                return v;
        snprintf(buf, size, fmt, service);
        return buf;
}

struct cairn_bus *cairn_bus_new(const char *service, const struct cairn_bus_conf *bconf,
                                const struct cairn_conf *conf, const struct cairn_handler *handlers,
                                void *opaque, struct cairn_metrics *metrics, char *errstr,
                                size_t errstr_size)
{
        struct cairn_bus *bus = calloc(1, sizeof(*bus));
        rd_kafka_conf_t *kconf;
        char buf[256];

        if (!bus)
                abort();
        snprintf(bus->service, sizeof(bus->service), "%s", service);
        snprintf(bus->request_topic, sizeof(bus->request_topic), "%s",
                 or_default(bconf->request_topic, buf, sizeof(buf), "cairn.%s.v1.requests",
                            service));
        snprintf(bus->dlq_topic, sizeof(bus->dlq_topic), "%s.dlq", bus->request_topic);
        snprintf(bus->group, sizeof(bus->group), "%s",
                 or_default(bconf->group, buf, sizeof(buf), "cairn.%s", service));
        snprintf(bus->source, sizeof(bus->source), "cairn/%s", service);
        bus->bconf = bconf;
        bus->handlers = handlers;
        bus->opaque = opaque;
        bus->max_message = cairn_kafka_max_message_bytes(conf);
        bus->offsets = cairn_offsets_new();
        metrics_init(bus, metrics);

        if (!cairn_kafka_topic_valid(bus->request_topic)) {
                snprintf(errstr, errstr_size,
                         "config: bus.request_topic: \"%s\" is not a valid topic name",
                         bus->request_topic);
                goto fail;
        }

        /* Consumer lag comes from librdkafka's statistics: every 5 s unless
         * kafka.statistics.interval.ms says otherwise (0 turns it off). A
         * partition the group never committed (a new group, or a replica
         * killed before its first commit) is read from its start, not its
         * end: requests already waiting get answered, expired ones are
         * dropped by their deadline. Reading from the end lost them. */
        /* clang-format off */
        const char *consumer_defaults[] = {
                "statistics.interval.ms", "5000",
                "auto.offset.reset", "earliest",
                NULL,
        };
        /* Offsets are stored by us, after the reply is acknowledged, and
         * committed by librdkafka's timer and on close. */
        const char *consumer_overrides[] = {
                "group.id", bus->group,
                "enable.auto.commit", "true",
                "enable.auto.offset.store", "false",
                "enable.partition.eof", "false",
                "client.id", bus->source,
                NULL,
        };
        /* clang-format on */
        kconf = cairn_kafka_conf_new(conf, consumer_defaults, consumer_overrides, errstr,
                                     errstr_size);
        if (!kconf)
                goto fail;
        rd_kafka_conf_set_rebalance_cb(kconf, rebalance_cb);
        rd_kafka_conf_set_opaque(kconf, bus);
        rd_kafka_conf_set_stats_cb(kconf, stats_cb);
        bus->consumer = cairn_kafka_new(RD_KAFKA_CONSUMER, kconf, errstr, errstr_size);
        if (!bus->consumer)
                goto fail;
        rd_kafka_poll_set_consumer(bus->consumer);

        /* clang-format off */
        const char *producer_overrides[] = {
                "enable.idempotence", "true",
                "client.id", bus->source,
                NULL,
        };
        /* clang-format on */
        kconf = cairn_kafka_conf_new(conf, NULL, producer_overrides, errstr, errstr_size);
        if (!kconf)
                goto fail;
        rd_kafka_conf_set_dr_msg_cb(kconf, dr_msg_cb);
        bus->producer = cairn_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, errstr_size);
        if (!bus->producer)
                goto fail;
        return bus;
fail:
        cairn_bus_free(bus);
        return NULL;
}

int cairn_bus_run(struct cairn_bus *bus)
{
        rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_resp_err_t err;
        int rc = 0;

        bus->nworkers = (size_t)bus->bconf->workers;
        bus->workers = calloc(bus->nworkers, sizeof(*bus->workers));
        if (!bus->workers)
                abort();
        for (size_t i = 0; i < bus->nworkers; i++) {
                struct worker *w = &bus->workers[i];

                w->bus = bus;
                pthread_mutex_init(&w->lock, NULL);
                pthread_cond_init(&w->cond, NULL);
                cairn_arena_init(&w->arena, (size_t)bus->bconf->max_request_bytes);
                pthread_create(&w->thread, NULL, worker_main, w);
        }
        pthread_create(&bus->producer_thread, NULL, producer_main, bus);

        rd_kafka_topic_partition_list_add(topics, bus->request_topic, RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(bus->consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err) {
                cairn_log(ERROR, "BUS", "subscribe to %s failed: %s", bus->request_topic,
                          rd_kafka_err2str(err));
                bus->stop = 1;
                rc = -1;
        } else {
                cairn_log(INFO, "BUS", "consuming %s as group %s with %zu workers",
                          bus->request_topic, bus->group, bus->nworkers);
        }

        while (!bus->stop) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(bus->consumer, 100);

                if (!rkm)
                        continue;
                if (rkm->err) {
                        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                cairn_log(WARN, "BUS", "consume: %s", rd_kafka_message_errstr(rkm));
                        rd_kafka_message_destroy(rkm);
                        continue;
                }
                dispatch(bus, rkm);
        }

        /* Stop fetching, let workers empty their queues, wait for the last
         * acknowledgements, then commit and leave the group. */
        int64_t t0 = cairn_mono_us();
        size_t inflight = cairn_offsets_pending(bus->offsets, -1);
        cairn_log(INFO, "BUS", "stopping: %zu request(s) in flight", inflight);
        for (size_t i = 0; i < bus->nworkers; i++) {
                struct worker *w = &bus->workers[i];

                pthread_mutex_lock(&w->lock);
                w->stopping = true;
                pthread_cond_broadcast(&w->cond);
                pthread_mutex_unlock(&w->lock);
        }
        for (size_t i = 0; i < bus->nworkers; i++)
                pthread_join(bus->workers[i].thread, NULL);
        int64_t left = bus->bconf->grace_ms - (cairn_mono_us() - t0) / 1000;
        if (!drain(bus, -1, left > 0 ? left : 0)) {
                cairn_log(WARN, "BUS", "grace period over with %zu unacknowledged",
                          cairn_offsets_pending(bus->offsets, -1));
                rc = -1;
        }
        atomic_store(&bus->producer_stop, true);
        pthread_join(bus->producer_thread, NULL);
        rd_kafka_flush(bus->producer, 1000);
        err = rd_kafka_commit(bus->consumer, NULL, 0);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
                cairn_log(WARN, "BUS", "final commit failed: %s", rd_kafka_err2str(err));
                rc = -1;
        }
        rd_kafka_consumer_close(bus->consumer);
        cairn_log(INFO, "BUS", "stopped after %lld ms", (long long)((cairn_mono_us() - t0) / 1000));
        return rc;
}

void cairn_bus_stop(struct cairn_bus *bus)
{
        bus->stop = 1;
}

bool cairn_bus_ready(void *opaque, char *why, size_t why_size)
{
        struct cairn_bus *bus = opaque;

        return cairn_kafka_probe(bus->producer, bus->request_topic,
                                 (int)bus->bconf->ready_timeout_ms, why, why_size);
}

void cairn_bus_free(struct cairn_bus *bus)
{
        if (!bus)
                return;
        if (bus->producer)
                rd_kafka_destroy(bus->producer);
        if (bus->consumer)
                rd_kafka_destroy(bus->consumer);
        for (size_t i = 0; bus->workers && i < bus->nworkers; i++) {
                pthread_mutex_destroy(&bus->workers[i].lock);
                pthread_cond_destroy(&bus->workers[i].cond);
                cairn_arena_cleanup(&bus->workers[i].arena);
        }
        free(bus->workers);
        cairn_offsets_free(bus->offsets);
        free(bus);
}

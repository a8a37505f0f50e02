/* The calling side of the bus, one attempt at a time: produce a request
 * that names our reply topic and partition, and match replies to waiting
 * calls by correlation id. bus_call.c adds retries, breakers and bulkheads.
 *
 * Threads: any thread may call; one thread polls the reply consumer and
 * expires calls whose deadline passed; one serves the producer's delivery
 * reports, which are asked for failed deliveries only: a delivered request
 * needs no work, and a report per request would cost a wake-up and a queued
 * event each. Callbacks run on those two, never under the client's lock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "bus_client.h"
#include "bus_kafka.h"
#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/trace.h"

#define NBUCKETS 4096

struct call {
        char id[37];
        int64_t deadline_us; /* monotonic */
        int64_t start_us;
        cairn_call_cb cb;
        void *opaque;
        uint64_t attempt;         /* tells this produce's delivery report from another
                                    * attempt's with the same id */
        struct cairn_span *span;  /* the PRODUCER span (NULL when not tracing); ended in finish() */
        struct call *hnext;       /* hash chain */
        struct call *prev, *next; /* list ordered by deadline */
};

struct cairn_bus_client {
        char service[64];
        atomic_uint_fast64_t attempts;
        char reply_topic[256];
        char source[128];
        const struct cairn_bus_conf *bconf;
        size_t max_message; /* the producer's message.max.bytes */

        rd_kafka_t *producer;
        rd_kafka_t *consumer;

        pthread_mutex_t lock;
        pthread_cond_t assigned; /* reply_partition became >= 0 */
        int32_t reply_partition; /* first assigned reply partition, -1 when none */
        int32_t *reply_parts;    /* every assigned reply partition */
        int nreply_parts;
        unsigned next_part; /* calls spread their replies over reply_parts */
        int64_t *resume;    /* next reply offset per partition, -1 unknown; reply thread only */
        int32_t nresume;
        struct call *buckets[NBUCKETS];
        struct call *dl_head, *dl_tail;
        size_t ncalls;

        atomic_bool stop;
        bool threads; /* reply and producer threads started */
        pthread_t reply_thread;
        pthread_t producer_thread;

        struct cairn_metric *m_calls;
        struct cairn_metric *m_duration;
        struct cairn_series *s_inflight;
        struct cairn_series *s_orphans;

        struct bus_calls *calls; /* retries, breakers, bulkheads: bus_call.c's */
};

static size_t bucket_of(const char *id)
{
        return XXH3_64bits(id, strlen(id)) % NBUCKETS;
}

/* Takes @p c out of the table and the deadline list. Lock held. */
static void unlink_call(struct cairn_bus_client *cli, struct call *c)
{
        struct call **pp = &cli->buckets[bucket_of(c->id)];

        while (*pp != c)
                pp = &(*pp)->hnext;
        *pp = c->hnext;
        if (c->prev)
                c->prev->next = c->next;
        else
                cli->dl_head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                cli->dl_tail = c->prev;
        cli->ncalls--;
}

/* The pending call @p id, in bucket @p b (bucket_of(id)), or NULL. Lock held. */
static struct call *lookup(struct cairn_bus_client *cli, size_t b, const char *id)
{
        struct call *c;

        for (c = cli->buckets[b]; c; c = c->hnext)
                if (strcmp(c->id, id) == 0)
                        break;
        return c;
}

/* Removes and returns the pending call @p id, or NULL when it already
 * completed (answered, expired or failed). */
static struct call *take_call(struct cairn_bus_client *cli, const char *id)
{
        struct call *c;

        pthread_mutex_lock(&cli->lock);
        c = lookup(cli, bucket_of(id), id);
        if (c)
                unlink_call(cli, c);
        pthread_mutex_unlock(&cli->lock);
        return c;
}

/* take_call() for one attempt of @p id: NULL when that attempt already
 * completed, even if a newer attempt with the same id now waits. */
static struct call *take_attempt(struct cairn_bus_client *cli, const char *id, uint64_t attempt)
{
        struct call *c;

        pthread_mutex_lock(&cli->lock);
        c = lookup(cli, bucket_of(id), id);
        if (c && c->attempt == attempt)
                unlink_call(cli, c);
        else
                c = NULL;
        pthread_mutex_unlock(&cli->lock);
        return c;
}

/* Runs the callback of a call already taken out of the table, then frees
 * it: whoever takes a call out owns it. */
static void finish(struct cairn_bus_client *cli, struct call *c, struct cairn_reply *reply)
{
        double secs = (double)(cairn_mono_us() - c->start_us) / 1e6;

        cairn_metric_inc_l(cli->m_calls, (const char *[]){ cairn_err_str(reply->err) });
        cairn_metric_observe_l(cli->m_duration, NULL, secs);
        cairn_series_add(cli->s_inflight, -1);
        cairn_span_end_err(c->span, reply->err, reply->st.message);
        c->span = NULL;
        c->cb(reply, c->opaque);
        free(c);
}

/* Ends @p c with @p code, @p reason (or NULL) and a message of @p fmt
 * with @p arg. */
static void fail(struct cairn_bus_client *cli, struct call *c, cairn_err_t code, const char *reason,
                 const char *fmt, const char *arg)
{
        struct cairn_reply reply;

        memset(&reply, 0, sizeof(reply));
        reply.err = code;
        reply.st.code = code;
        snprintf(reply.st.reason, sizeof(reply.st.reason), "%s", reason ? reason : "");
        snprintf(reply.st.message, sizeof(reply.st.message), fmt, arg);
        finish(cli, c, &reply);
}

/* ---- reply thread ---- */

static void on_reply(struct cairn_bus_client *cli, const rd_kafka_message_t *rkm)
{
        rd_kafka_headers_t *hdrs = NULL;
        char corr[CAIRN_HEADER_MAX + 1];
        struct cairn_reply reply;
        struct call *c;

        rd_kafka_message_headers(rkm, &hdrs);
        if (cairn_headers_get(hdrs, CAIRN_H_CORRELATION, corr, sizeof(corr)) < 0 ||
            !(c = take_call(cli, corr))) {
                /* Late (the call timed out) or not ours. */
                cairn_series_inc(cli->s_orphans);
                return;
        }
        memset(&reply, 0, sizeof(reply));
        if (cairn_headers_get(hdrs, CAIRN_H_TYPE, reply.ce_type, sizeof(reply.ce_type)) < 0)
                reply.ce_type[0] = '\0';
        if (strcmp(reply.ce_type, CAIRN_STATUS_TYPE) == 0) {
                cairn_status_unpack(rkm->payload, rkm->len, &reply.st);
                reply.err = reply.st.code;
        } else {
                reply.err = CAIRN_OK;
                reply.payload = rkm->payload;
                reply.len = rkm->len;
        }
        finish(cli, c, &reply);
}

/* Fails every call whose deadline passed; returns ms until the next one. */
static int expire(struct cairn_bus_client *cli)
{
        for (;;) {
                int64_t now = cairn_mono_us();
                struct call *c;

                pthread_mutex_lock(&cli->lock);
                c = cli->dl_head;
                if (c && c->deadline_us <= now) {
                        unlink_call(cli, c);
                        pthread_mutex_unlock(&cli->lock);
                        fail(cli, c, CAIRN_ERR_DEADLINE, NULL, "no reply within the deadline (%s)",
                             "call timed out");
                        continue;
                }
                int wait = c ? (int)((c->deadline_us - now) / 1000) + 1 : 100;
                pthread_mutex_unlock(&cli->lock);
                return wait < 100 ? wait : 100;
        }
}

/* Remembers where reading partition @p partition goes on. */
static void resume_set(struct cairn_bus_client *cli, int32_t partition, int64_t offset)
{
        if (partition < 0)
                return;
        if (partition >= cli->nresume) {
                int32_t n = partition + 16;

                cli->resume = realloc(cli->resume, sizeof(*cli->resume) * (size_t)n);
                if (!cli->resume)
                        abort();
                for (int32_t i = cli->nresume; i < n; i++)
                        cli->resume[i] = -1;
                cli->nresume = n;
        }
        cli->resume[partition] = offset;
}

/* A partition given back after a short absence (the group rebalanced
 * because the broker restarted or the session timed out) is read on from
 * where it stopped, so replies that arrived meanwhile still find their
 * calls; one gone for longer starts at its end. */
#define RESUME_MAX_BEHIND 100000

static void *reply_main(void *arg)
{
        struct cairn_bus_client *cli = arg;

        while (!atomic_load(&cli->stop)) {
                int wait = expire(cli);
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(cli->consumer, wait);

                if (!rkm)
                        continue;
                if (!rkm->err) {
                        resume_set(cli, rkm->partition, rkm->offset + 1);
                        on_reply(cli, rkm);
                } else if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        cairn_log(WARN, "BUS", "reply consume: %s", rd_kafka_message_errstr(rkm));
                rd_kafka_message_destroy(rkm);
        }
        return NULL;
}

/* Reply partitions start at their end, read synchronously here, so that a
 * reply produced right after assignment is never skipped; or where this
 * client stopped reading them (RESUME_MAX_BEHIND).
 * @locality the reply thread, inside rd_kafka_consumer_poll(). */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        struct cairn_bus_client *cli = opaque;

        if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                pthread_mutex_lock(&cli->lock);
                cli->reply_partition = -1;
                cli->nreply_parts = 0;
                pthread_mutex_unlock(&cli->lock);
                rd_kafka_assign(rk, NULL);
                return;
        }
        for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                int64_t lo, hi;

                if (rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &lo, &hi,
                                                     5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        tp->offset = RD_KAFKA_OFFSET_END;
                        continue;
                }
                int64_t from = tp->partition < cli->nresume ? cli->resume[tp->partition] : -1;
                tp->offset = from >= lo && from <= hi && hi - from <= RESUME_MAX_BEHIND ? from : hi;
                resume_set(cli, tp->partition, tp->offset);
        }
        rd_kafka_assign(rk, parts);
        pthread_mutex_lock(&cli->lock);
        free(cli->reply_parts);
        cli->reply_parts = malloc(sizeof(*cli->reply_parts) *
                                  (size_t)(parts->cnt ? parts->cnt : 1));
        if (!cli->reply_parts)
                abort();
        for (int i = 0; i < parts->cnt; i++)
                cli->reply_parts[i] = parts->elems[i].partition;
        cli->nreply_parts = parts->cnt;
        cli->reply_partition = parts->cnt > 0 ? parts->elems[0].partition : -1;
        pthread_cond_broadcast(&cli->assigned);
        pthread_mutex_unlock(&cli->lock);
        cairn_log(INFO, "BUS", "replies to %s arrive on partition %d", cli->reply_topic,
                  (int)cli->reply_partition);
}

/* ---- producer thread ---- */

/* Takes out the call whose produce @p rkm reports on: the id in its
 * headers, the attempt number it carries as its opaque. */
static struct call *take_reported(struct cairn_bus_client *cli, const rd_kafka_message_t *rkm)
{
        rd_kafka_headers_t *hdrs = NULL;
        char id[CAIRN_HEADER_MAX + 1];

        if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            cairn_headers_get(hdrs, CAIRN_H_ID, id, sizeof(id)) < 0)
                return NULL;
        return take_attempt(cli, id, (uint64_t)(uintptr_t)rkm->_private);
}

/* Reports come for failed deliveries only (delivery.report.only.error). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        struct cairn_bus_client *cli = opaque;
        struct call *c;

        (void)rk;
        if (!rkm->err || !(c = take_reported(cli, rkm)))
                return;
        /* Too large for the topic is final, like gRPC's oversized message:
         * RESOURCE_EXHAUSTED, never retried. */
        if (rkm->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
                fail(cli, c, CAIRN_ERR_EXHAUSTED, CAIRN_BUS_MESSAGE_TOO_LARGE,
                     "request refused by the broker: %s (over the topic's max.message.bytes)",
                     rd_kafka_err2str(rkm->err));
        else
                fail(cli, c, CAIRN_ERR_UNAVAILABLE, NULL, "request could not be delivered: %s",
                     rd_kafka_err2str(rkm->err));
}

static void *producer_main(void *arg)
{
        struct cairn_bus_client *cli = arg;

        while (!atomic_load(&cli->stop))
                rd_kafka_poll(cli->producer, 100);
        return NULL;
}

/* ---- calls ---- */

/* The PRODUCER span of one attempt: a child of opts->traceparent when it is
 * valid, else of this thread's current span, else the root of a new trace.
 * NULL when tracing is off. */
static struct cairn_span *producer_span(const char *topic, const char *key, const char *id,
                                        const struct cairn_call_opts *opts)
{
        struct cairn_span_ctx parent;
        const struct cairn_span_ctx *p;
        char name[CAIRN_HEADER_MAX + 16];
        struct cairn_span *span;

        if (!cairn_trace_enabled())
                return NULL;
        if (cairn_trace_extract(opts->traceparent, opts->tracestate, &parent))
                p = &parent;
        else
                p = cairn_trace_current();
        snprintf(name, sizeof(name), "%s publish", topic);
        span = cairn_span_start(name, CAIRN_SPAN_PRODUCER, p);
        cairn_span_set_str(span, "messaging.system", "kafka");
        cairn_span_set_str(span, "messaging.operation.type", "publish");
        cairn_span_set_str(span, "messaging.operation", "publish");
        cairn_span_set_str(span, "messaging.destination.name", topic);
        cairn_span_set_str(span, "messaging.message.id", id);
        if (key[0])
                cairn_span_set_str(span, "messaging.kafka.message.key", key);
        return span;
}

cairn_err_t cairn_bus_call_once(struct cairn_bus_client *cli, const char *topic, const char *key,
                                const uint8_t *payload, size_t len, const char *ce_type,
                                const struct cairn_call_opts *opts, cairn_call_cb cb, void *opaque,
                                struct cairn_status *st)
{
        static const struct cairn_call_opts none = { 0 };
        int64_t now_ms = cairn_now_ms(), now_us = cairn_mono_us();
        int64_t timeout, deadline_ms;
        int32_t partition;
        char time[32];

        if (!opts)
                opts = &none;
        timeout = opts->timeout_ms > 0 ? opts->timeout_ms : cli->bconf->call_timeout_ms;
        deadline_ms = now_ms + timeout;
        if (opts->deadline_ms && opts->deadline_ms < deadline_ms)
                deadline_ms = opts->deadline_ms;
        if (deadline_ms <= now_ms)
                return cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, NULL,
                                        "deadline already passed before the call");

        pthread_mutex_lock(&cli->lock);
        while (cli->reply_partition < 0 && !atomic_load(&cli->stop) && !opts->no_wait) {
                struct timespec ts = { .tv_sec = deadline_ms / 1000,
                                       .tv_nsec = (deadline_ms % 1000) * 1000000 };

                if (cairn_now_ms() >= deadline_ms)
                        break;
                pthread_cond_timedwait(&cli->assigned, &cli->lock, &ts);
        }
        /* Replies spread over every partition we own, so they do not queue
         * behind one partition leader. */
        partition = cli->nreply_parts > 0
                            ? cli->reply_parts[cli->next_part++ % (unsigned)cli->nreply_parts]
                            : cli->reply_partition;
        pthread_mutex_unlock(&cli->lock);
        if (partition < 0)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                        "no reply partition of %s is assigned to this client",
                                        cli->reply_topic);

        uint8_t *buf = malloc(len ? len : 1);
        struct call *c = calloc(1, sizeof(*c));

        if (!buf || !c)
                abort();
        memcpy(buf, payload, len);
        if (opts->ce_id && opts->ce_id[0])
                snprintf(c->id, sizeof(c->id), "%s", opts->ce_id);
        else
                cairn_uuid(c->id);
        c->start_us = now_us;
        c->deadline_us = now_us + (deadline_ms - now_ms) * 1000;
        c->cb = cb;
        c->opaque = opaque;
        c->attempt = atomic_fetch_add(&cli->attempts, 1) + 1;
        c->span = producer_span(topic, key, c->id, opts);

        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(14);
        cairn_rfc3339(now_ms, time);
        cairn_headers_add(hdrs, CAIRN_H_SPECVERSION, "1.0");
        cairn_headers_add(hdrs, CAIRN_H_ID, c->id);
        cairn_headers_add(hdrs, CAIRN_H_SOURCE, cli->source);
        cairn_headers_add(hdrs, CAIRN_H_TYPE, ce_type);
        cairn_headers_add(hdrs, CAIRN_H_TIME, time);
        cairn_headers_add(hdrs, CAIRN_H_CONTENT_TYPE, CAIRN_CONTENT_TYPE_PROTOBUF);
        cairn_headers_add(hdrs, CAIRN_H_REPLY_TO, cli->reply_topic);
        cairn_headers_add_i64(hdrs, CAIRN_H_REPLY_PART, partition);
        cairn_headers_add_i64(hdrs, CAIRN_H_DEADLINE, deadline_ms);
        if (opts->authorization)
                cairn_headers_add(hdrs, CAIRN_H_AUTHORIZATION, opts->authorization);
        if (opts->request_id)
                cairn_headers_add(hdrs, CAIRN_H_REQUEST_ID, opts->request_id);
        if (opts->principal)
                cairn_headers_add(hdrs, CAIRN_H_PRINCIPAL, opts->principal);
        if (opts->role)
                cairn_headers_add(hdrs, CAIRN_H_ROLE, opts->role);
        if (c->span) {
                /* The service's span becomes a child of ours. */
                cairn_headers_add(hdrs, CAIRN_H_TRACEPARENT, c->span->traceparent);
                if (c->span->ctx.tracestate[0])
                        cairn_headers_add(hdrs, CAIRN_H_TRACESTATE, c->span->ctx.tracestate);
        } else {
                if (opts->traceparent)
                        cairn_headers_add(hdrs, CAIRN_H_TRACEPARENT, opts->traceparent);
                if (opts->tracestate)
                        cairn_headers_add(hdrs, CAIRN_H_TRACESTATE, opts->tracestate);
        }

        /* Registered before producing: the reply may beat the return. */
        pthread_mutex_lock(&cli->lock);
        size_t b = bucket_of(c->id);
        struct call *it = lookup(cli, b, c->id);
        if (it) {
                pthread_mutex_unlock(&cli->lock);
                rd_kafka_headers_destroy(hdrs);
                free(buf);
                cairn_span_end_err(c->span, CAIRN_ERR_CONFLICT,
                                   "a call with this ce_id is waiting");
                free(c);
                return cairn_status_set(st, CAIRN_ERR_CONFLICT, NULL, NULL,
                                        "a call with ce_id %s is already waiting", opts->ce_id);
        }
        c->hnext = cli->buckets[b];
        cli->buckets[b] = c;
        /* Insert by deadline, from the tail: most calls share a timeout. */
        it = cli->dl_tail;
        while (it && it->deadline_us > c->deadline_us)
                it = it->prev;
        c->prev = it;
        c->next = it ? it->next : cli->dl_head;
        if (c->next)
                c->next->prev = c;
        else
                cli->dl_tail = c;
        if (it)
                it->next = c;
        else
                cli->dl_head = c;
        cli->ncalls++;
        pthread_mutex_unlock(&cli->lock);
        cairn_series_add(cli->s_inflight, 1);

        /* From here on the reply or the deadline may complete and free the
         * call at any time: only these copies are read. */
        char id[sizeof(c->id)];
        uint64_t attempt = c->attempt;
        int64_t deadline_us = c->deadline_us;
        rd_kafka_resp_err_t err;

        memcpy(id, c->id, sizeof(id));
        for (;;) {
                err = rd_kafka_producev(cli->producer, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_KEY(key, strlen(key)),
                                        RD_KAFKA_V_VALUE(buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                                        RD_KAFKA_V_HEADERS(hdrs),
                                        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)attempt),
                                        RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || cairn_mono_us() >= deadline_us ||
                    opts->no_wait)
                        break;
                usleep(1000);
        }
        if (err) {
                rd_kafka_headers_destroy(hdrs);
                free(buf);
                if (!take_attempt(cli, id, attempt))
                        return CAIRN_OK; /* expired meanwhile: the callback ran */
                cairn_series_add(cli->s_inflight, -1);
                if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
                        cairn_span_end_err(c->span, CAIRN_ERR_EXHAUSTED, rd_kafka_err2str(err));
                        free(c);
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL,
                                                CAIRN_BUS_MESSAGE_TOO_LARGE,
                                                "request to %s is %zu bytes, over the producer's "
                                                "message.max.bytes: %s",
                                                topic, len, rd_kafka_err2str(err));
                }
                cairn_span_end_err(c->span, CAIRN_ERR_UNAVAILABLE, rd_kafka_err2str(err));
                free(c);
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                        "request to %s could not be queued: %s", topic,
                                        rd_kafka_err2str(err));
        }
        return CAIRN_OK;
}

/* ---- lifecycle ---- */

static void metrics_init(struct cairn_bus_client *cli, struct cairn_metrics *reg)
{
        cli->m_calls = cairn_metrics_counter(reg, "cairn_bus_calls_total",
                                             "Calls to other services, by outcome",
                                             (const char *[]){ "code", NULL });
        cli->m_duration = cairn_metrics_histogram(reg, "cairn_bus_call_duration_seconds",
                                                  "Time from call to reply or failure", NULL,
                                                  cairn_metrics_latency_buckets,
                                                  cairn_metrics_latency_nbuckets);
        cli->s_inflight = cairn_metric_series(cairn_metrics_gauge(reg, "cairn_bus_calls_inflight",
                                                                  "Calls awaiting a reply", NULL),
                                              NULL);
        cli->s_orphans = cairn_metric_series(
                cairn_metrics_counter(reg, "cairn_bus_orphan_replies_total",
                                      "Replies that matched no waiting call (late or foreign)",
                                      NULL),
                NULL);
}

struct cairn_bus_client *bus_client_create(const char *service, const struct cairn_bus_conf *bconf,
                                           struct cairn_metrics *metrics)
{
        struct cairn_bus_client *cli = calloc(1, sizeof(*cli));

        if (!cli)
                abort();
        snprintf(cli->service, sizeof(cli->service), "%s", service);
        if (bconf->reply_topic && bconf->reply_topic[0])
                snprintf(cli->reply_topic, sizeof(cli->reply_topic), "%s", bconf->reply_topic);
        else
                snprintf(cli->reply_topic, sizeof(cli->reply_topic), "cairn.%s.replies", service);
        snprintf(cli->source, sizeof(cli->source), "cairn/%s", service);
        cli->bconf = bconf;
        cli->reply_partition = -1;
        pthread_mutex_init(&cli->lock, NULL);
        pthread_cond_init(&cli->assigned, NULL);
        metrics_init(cli, metrics);
        return cli;
}

int bus_client_start(struct cairn_bus_client *cli, const struct cairn_conf *conf, char *errstr,
                     size_t errstr_size)
{
        rd_kafka_conf_t *kconf;
        rd_kafka_topic_partition_list_t *topics;
        rd_kafka_resp_err_t err;

        if (!cairn_kafka_topic_valid(cli->reply_topic)) {
                snprintf(errstr, errstr_size,
                         "config: bus.reply_topic: \"%s\" is not a valid topic name",
                         cli->reply_topic);
                return -1;
        }

        cli->max_message = cairn_kafka_max_message_bytes(conf);
        /* clang-format off */
        const char *producer_overrides[] = {
                "enable.idempotence", "true",
                "delivery.report.only.error", "true",
                "client.id", cli->source,
                NULL,
        };
        /* clang-format on */
        kconf = cairn_kafka_conf_new(conf, NULL, producer_overrides, errstr, errstr_size);
        if (!kconf)
                return -1;
        rd_kafka_conf_set_dr_msg_cb(kconf, dr_msg_cb);
        rd_kafka_conf_set_opaque(kconf, cli);
        cli->producer = cairn_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, errstr_size);
        if (!cli->producer)
                return -1;

        /* Replies need no commits: a restarted client starts at the end. */
        /* clang-format off */
        const char *consumer_overrides[] = {
                "group.id", cli->reply_topic,
                "enable.auto.commit", "false",
                "auto.offset.reset", "latest",
                "enable.partition.eof", "false",
                "client.id", cli->source,
                NULL,
        };
        /* clang-format on */
        kconf = cairn_kafka_conf_new(conf, NULL, consumer_overrides, errstr, errstr_size);
        if (!kconf)
                return -1;
        rd_kafka_conf_set_rebalance_cb(kconf, rebalance_cb);
        rd_kafka_conf_set_opaque(kconf, cli);
        cli->consumer = cairn_kafka_new(RD_KAFKA_CONSUMER, kconf, errstr, errstr_size);
        if (!cli->consumer)
                return -1;
        rd_kafka_poll_set_consumer(cli->consumer);
        topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, cli->reply_topic, RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(cli->consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err) {
                snprintf(errstr, errstr_size, "subscribe to %s failed: %s", cli->reply_topic,
                         rd_kafka_err2str(err));
                return -1;
        }
        pthread_create(&cli->reply_thread, NULL, reply_main, cli);
        pthread_create(&cli->producer_thread, NULL, producer_main, cli);
        cli->threads = true;

        /* Wait for a reply partition, so the first call does not pay for
         * the group join. */
        int64_t until = cairn_mono_us() + cli->bconf->call_timeout_ms * 1000;
        pthread_mutex_lock(&cli->lock);
        while (cli->reply_partition < 0 && cairn_mono_us() < until) {
                pthread_mutex_unlock(&cli->lock);
                usleep(5000);
                pthread_mutex_lock(&cli->lock);
        }
        bool ok = cli->reply_partition >= 0;
        pthread_mutex_unlock(&cli->lock);
        if (!ok)
                cairn_log(WARN, "BUS", "no partition of %s assigned yet; calls will wait for one",
                          cli->reply_topic);
        return 0;
}

bool cairn_bus_client_ready(void *opaque, char *why, size_t why_size)
{
        struct cairn_bus_client *cli = opaque;
        bool assigned;

        pthread_mutex_lock(&cli->lock);
        assigned = cli->reply_partition >= 0;
        pthread_mutex_unlock(&cli->lock);
        if (!assigned) {
                snprintf(why, why_size, "no partition of %s assigned", cli->reply_topic);
                return false;
        }
        return cairn_kafka_probe(cli->producer, cli->reply_topic, (int)cli->bconf->ready_timeout_ms,
                                 why, why_size);
}

size_t cairn_bus_client_max_message_bytes(const struct cairn_bus_client *cli)
{
        return cli->max_message;
}

void bus_client_close(struct cairn_bus_client *cli)
{
        if (!cli)
                return;
        atomic_store(&cli->stop, true);
        pthread_mutex_lock(&cli->lock);
        pthread_cond_broadcast(&cli->assigned);
        pthread_mutex_unlock(&cli->lock);
        if (cli->threads) {
                pthread_join(cli->reply_thread, NULL);
                rd_kafka_flush(cli->producer, 2000);
                pthread_join(cli->producer_thread, NULL);
        }
        /* Whatever still waits will never be answered now. */
        for (;;) {
                pthread_mutex_lock(&cli->lock);
                struct call *c = cli->dl_head;
                if (c)
                        unlink_call(cli, c);
                pthread_mutex_unlock(&cli->lock);
                if (!c)
                        break;
                fail(cli, c, CAIRN_ERR_UNAVAILABLE, NULL, "%s", "the bus client is shutting down");
        }
        if (cli->consumer) {
                rd_kafka_consumer_close(cli->consumer);
                rd_kafka_destroy(cli->consumer);
        }
        if (cli->producer)
                rd_kafka_destroy(cli->producer);
        pthread_cond_destroy(&cli->assigned);
        pthread_mutex_destroy(&cli->lock);
        free(cli->reply_parts);
        free(cli->resume);
        free(cli);
}

void bus_client_set_calls(struct cairn_bus_client *cli, struct bus_calls *bc)
{
        cli->calls = bc;
}

struct bus_calls *bus_client_calls(struct cairn_bus_client *cli)
{
        return cli->calls;
}

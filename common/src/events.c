/* The event publisher (cairn/events.h): its own idempotent producer, whose
 * delivery reports (every one, not only errors) tell a publish which of its
 * events the broker acknowledged. */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_kafka.h"
#include "cairn/clock.h"
#include "cairn/events.h"
#include "cairn/headers.h"
#include "cairn/log.h"
#include "cairn/metrics.h"

struct cairn_events {
        rd_kafka_t *producer;
        char source[96];
        struct cairn_series *s_published, *s_failed;
};

/* What the delivery report of one event says. */
/* Purged events are reported at the next poll; this bounds the wait for a
 * client that does not report them. */
#define PURGE_WAIT_MS 5000

struct slot {
        bool reported;
        rd_kafka_resp_err_t err;
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        struct slot *slot = rkm->_private;

        (void)rk;
        (void)opaque;
        if (slot) {
                slot->reported = true;
                slot->err = rkm->err;
        }
}

struct cairn_events *cairn_events_new(const char *service, const struct cairn_conf *conf,
                                      struct cairn_metrics *metrics, char *errstr,
                                      size_t errstr_size)
{
        struct cairn_events *ev = calloc(1, sizeof(*ev));
        rd_kafka_conf_t *kconf;

        if (!ev)
                abort();
        snprintf(ev->source, sizeof(ev->source), "cairn/%s", service);
        /* clang-format off */
        const char *overrides[] = {
                "enable.idempotence", "true",
                "client.id", ev->source,
                NULL,
        };
        /* clang-format on */
        kconf = cairn_kafka_conf_new(conf, NULL, overrides, errstr, errstr_size);
        if (!kconf) {
                free(ev);
                return NULL;
        }
        rd_kafka_conf_set_dr_msg_cb(kconf, dr_msg_cb);
        ev->producer = cairn_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, errstr_size);
        if (!ev->producer) {
                free(ev);
                return NULL;
        }
        if (metrics) {
                struct cairn_metric *m = cairn_metrics_counter(
                        metrics, "cairn_events_published_total",
                        "events the broker acknowledged, and events that failed to be",
                        (const char *const[]){ "result", NULL });

                ev->s_published = cairn_metric_series(m, (const char *const[]){ "ok" });
                ev->s_failed = cairn_metric_series(m, (const char *const[]){ "error" });
        }
        return ev;
}

/* How many of the @p n slots have no delivery report yet. */
static size_t unreported(const struct slot *slots, size_t n)
{
        size_t left = 0;

        for (size_t i = 0; i < n; i++)
                left += !__atomic_load_n(&slots[i].reported, __ATOMIC_ACQUIRE);
        return left;
}

cairn_err_t cairn_events_publish(struct cairn_events *ev, const char *topic,
                                 const struct cairn_event *events, size_t n, int timeout_ms,
                                 struct cairn_status *st)
{
        return cairn_events_send(ev, topic, events, NULL, n, timeout_ms, st);
}

cairn_err_t cairn_events_send(struct cairn_events *ev, const char *topic,
                              const struct cairn_event *events,
                              const struct cairn_event_call *calls, size_t n, int timeout_ms,
                              struct cairn_status *st)
{
        struct slot *slots = calloc(n ? n : 1, sizeof(*slots));
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;
        size_t queued = 0, ok = 0;
        cairn_err_t err = CAIRN_OK;
        char time[32];

        if (!slots)
                abort();
        cairn_status_clear(st);
        for (; queued < n; queued++) {
                const struct cairn_event *e = &events[queued];
                rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);
                rd_kafka_resp_err_t rerr;

                cairn_rfc3339(e->time_ms, time);
                cairn_headers_add(hdrs, CAIRN_H_SPECVERSION, "1.0");
                cairn_headers_add(hdrs, CAIRN_H_ID, e->id);
                cairn_headers_add(hdrs, CAIRN_H_SOURCE, ev->source);
                cairn_headers_add(hdrs, CAIRN_H_TYPE, e->type);
                cairn_headers_add(hdrs, CAIRN_H_TIME, time);
                cairn_headers_add(hdrs, CAIRN_H_CONTENT_TYPE, CAIRN_CONTENT_TYPE_PROTOBUF);
                const char *to = topic;

                if (calls) {
                        const struct cairn_event_call *c = &calls[queued];
                        char deadline[24];

                        to = c->topic ? c->topic : topic;
                        if (c->reply_to && c->reply_to[0])
                                cairn_headers_add(hdrs, CAIRN_H_REPLY_TO, c->reply_to);
                        if (c->has_reply_partition)
                                cairn_headers_add_i64(hdrs, CAIRN_H_REPLY_PART, c->reply_partition);
                        if (c->deadline_ms > 0) {
                                snprintf(deadline, sizeof(deadline), "%lld",
                                         (long long)c->deadline_ms);
                                cairn_headers_add(hdrs, CAIRN_H_DEADLINE, deadline);
                        }
                        if (c->principal && c->principal[0])
                                cairn_headers_add(hdrs, CAIRN_H_PRINCIPAL, c->principal);
                        if (c->role && c->role[0])
                                cairn_headers_add(hdrs, CAIRN_H_ROLE, c->role);
                }
                rerr = rd_kafka_producev(ev->producer, RD_KAFKA_V_TOPIC(to),
                                         RD_KAFKA_V_KEY(e->key, strlen(e->key)),
                                         RD_KAFKA_V_VALUE((void *)e->data, e->len),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                         RD_KAFKA_V_HEADERS(hdrs),
                                         RD_KAFKA_V_OPAQUE(&slots[queued]), RD_KAFKA_V_END);
                if (rerr) {
                        rd_kafka_headers_destroy(hdrs);
                        err = cairn_status_set(st,
                                               rerr == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
                                                       ? CAIRN_ERR_EXHAUSTED
                                                       : CAIRN_ERR_UNAVAILABLE,
                                               NULL, NULL, "event %s to %s could not be queued: %s",
                                               e->id, to, rd_kafka_err2str(rerr));
                        break;
                }
        }
        /* every queued event is reported before the slots go away: what is
         * not delivered in time is purged, which reports it failed at the
         * next poll. Only this call's reports are waited for: the queue may
         * hold the client's own requests much longer (a broker gone). */
        {
                int64_t left = (until - cairn_mono_us()) / 1000, give_up;

                rd_kafka_flush(ev->producer, left > 0 ? (int)left : 0);
                if (unreported(slots, queued))
                        rd_kafka_purge(ev->producer,
                                       RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                give_up = cairn_mono_us() + PURGE_WAIT_MS * 1000;
                while (unreported(slots, queued) && cairn_mono_us() < give_up)
                        rd_kafka_poll(ev->producer, 100);
        }
        for (size_t i = 0; i < queued; i++) {
                if (slots[i].reported && !slots[i].err) {
                        ok++;
                } else if (err == CAIRN_OK) {
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                               "event %s to %s was not acknowledged: %s",
                                               events[i].id, topic,
                                               slots[i].reported ? rd_kafka_err2str(slots[i].err)
                                                                 : "no report in time");
                }
        }
        if (ev->s_published) {
                cairn_series_add(ev->s_published, (double)ok);
                cairn_series_add(ev->s_failed, (double)(n - ok));
        }
        if (unreported(slots, queued))
                /* a report may still come for them: the slots stay (leaked) */
                cairn_log(WARN, "EVENTS", "%zu event(s) to %s unreported after a purge",
                          unreported(slots, queued), topic);
        else
                free(slots);
        return err;
}

int cairn_events_partitions(struct cairn_events *ev, const char *topic, int timeout_ms)
{
        return cairn_kafka_partition_count(ev->producer, topic, timeout_ms);
}

void cairn_events_free(struct cairn_events *ev)
{
        if (!ev)
                return;
        rd_kafka_flush(ev->producer, 1000);
        rd_kafka_destroy(ev->producer);
        free(ev);
}

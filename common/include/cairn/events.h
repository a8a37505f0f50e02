/* Publishing events: messages that answer no request, on a topic anyone may
 * read (cairn.memory.v1.events, ...), with the CloudEvents headers of every
 * Cairn message (docs/topics.md). A publish returns once the broker has
 * acknowledged every event of it, so a caller that keeps events in its
 * database (an outbox) deletes them only when they are safe. The producer
 * is idempotent: one key's events stay in order. */
#ifndef CAIRN_EVENTS_H
#define CAIRN_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/conf.h"
#include "cairn/status.h"

struct cairn_metrics;

struct cairn_event {
        const char *id;      /* ce_id: unique, the same if the event is published again */
        const char *type;    /* ce_type: the message's full name */
        const char *key;     /* Kafka key; "" for none */
        int64_t time_ms;     /* ce_time: when it happened, unix ms */
        const uint8_t *data; /* the packed message */
        size_t len;
};

struct cairn_events;

/* A publisher for @p service (ce_source cairn/<service>), Kafka settings from
 * the "kafka." keys of @p conf (borrowed, as for cairn_bus_new()). NULL with
 * @p errstr set on bad settings. @p metrics may be NULL. */
struct cairn_events *cairn_events_new(const char *service, const struct cairn_conf *conf,
                                      struct cairn_metrics *metrics, char *errstr,
                                      size_t errstr_size);

/* Publishes @p n events to @p topic and waits up to @p timeout_ms until the
 * broker acknowledged all of them. CAIRN_OK when it did; otherwise
 * CAIRN_ERR_UNAVAILABLE (or CAIRN_ERR_EXHAUSTED for an event too large) with
 * @p st saying why: some may have been delivered, so publishing them again
 * may deliver those twice (consumers dedupe on ce_id). One thread at a time. */
cairn_err_t cairn_events_publish(struct cairn_events *ev, const char *topic,
                                 const struct cairn_event *events, size_t n, int timeout_ms,
                                 struct cairn_status *st);

/* What makes an event a request to a service, sent without waiting for
 * its reply here (a durable caller consumes its replies itself, as the
 * workflow service does): the headers of docs/topics.md that a request
 * carries. Fields left NULL or 0 are left out. */
struct cairn_event_call {
        const char *topic;    /* overrides the call's topic; NULL: that topic */
        const char *reply_to; /* cairn_reply_to */
        bool has_reply_partition;
        int32_t reply_partition; /* cairn_reply_partition, when has_reply_partition */
        int64_t deadline_ms;     /* cairn_deadline, unix ms */
        const char *principal, *role;
};

/* cairn_events_publish() with @p calls[i] (NULL: none) adding request
 * headers to events[i]. */
cairn_err_t cairn_events_send(struct cairn_events *ev, const char *topic,
                              const struct cairn_event *events,
                              const struct cairn_event_call *calls, size_t n, int timeout_ms,
                              struct cairn_status *st);

/* The number of partitions of @p topic, from the broker (at most
 * @p timeout_ms); -1 when it cannot be had. */
int cairn_events_partitions(struct cairn_events *ev, const char *topic, int timeout_ms);

/* Flushes what is queued (at most a second) and frees. NULL is fine. */
void cairn_events_free(struct cairn_events *ev);

#endif

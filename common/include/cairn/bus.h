/* The Kafka runtime of every Cairn service.
 *
 * Server side (struct cairn_bus): a consumer group on the service's request
 * topic; messages are handed to a pool of workers by key, so one key's
 * requests are handled in order (unless the service asks for any_order);
 * each is decoded by ce_type through a handler
 * table, answered on cairn_reply_to/cairn_reply_partition with
 * cairn_correlation_id, and its offset is stored for commit only once the
 * reply (or the DLQ copy) is acknowledged by the broker. Expired deadlines are
 * dropped and counted; messages with malformed headers (cairn_headers_parse),
 * undecodable or unknown messages get a cairn.v1.Status reply when they name
 * a reply address and are copied to <topic>.dlq with a CAIRN_DLQ_* reason.
 *
 * Client side (struct cairn_bus_client): `call` produces a request and waits
 * for the correlated reply on the caller's reply topic (one per calling
 * service, cairn.<service>.replies, consumed as a group; each instance
 * addresses replies to a partition it owns). Safe from many threads. */
#ifndef CAIRN_BUS_H
#define CAIRN_BUS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/arena.h"
#include "cairn/conf.h"
#include "cairn/err.h"
#include "cairn/headers.h"
#include "cairn/status.h"

struct cairn_metrics;
struct cairn_resilience_conf;
struct cairn_request;

/* Runtime settings, loaded through cairn_bus_conf_items (section "bus"). */
struct cairn_bus_conf {
        const char *request_topic; /* default cairn.<service>.v1.requests */
        const char *group;         /* default cairn.<service> */
        const char *reply_topic;   /* client side; default cairn.<service>.replies */
        long long workers;
        long long queue_max;         /* messages queued per worker before fetching pauses */
        long long grace_ms;          /* SIGTERM drain budget */
        long long max_request_bytes; /* arena limit per message */
        long long call_timeout_ms;   /* client default when a call names none */
        long long ready_timeout_ms;  /* broker metadata probe for /readyz */
        /* Not configuration: set by a service whose handlers keep no state
         * per key (struct cairn_service's any_order), so that one key's
         * requests are spread over every worker, in no particular order,
         * instead of queueing for one. */
        bool any_order;
        /* Not configuration either: called by the polling thread once
         * partitions of the request topic are revoked (what was in flight
         * on them finished and committed), with the bus's opaque and their
         * numbers, so that a service drops what it keeps for their keys.
         * NULL: nothing to do. */
        void (*revoked)(void *opaque, const int32_t *parts, size_t n);
        /* Not configuration: when set, every message of the topic is handed
         * to it undecoded, whatever its ce_type, and nothing is answered
         * (a consumer of replies, which come in every type: the workflow
         * service's). The handler table is then unused. The message is done
         * when it returns; an error is logged and counted. */
        cairn_err_t (*raw)(struct cairn_request *req, const uint8_t *payload, size_t len,
                           struct cairn_status *st);
};

extern const struct cairn_conf_item cairn_bus_conf_items[];

/* ---- server side ---- */

/* What a handler sees of the message it handles. Everything is borrowed and
 * lives until the handler returns; allocate replies from @p arena. */
struct cairn_request {
        const struct cairn_msg_headers *hdrs;
        const char *key;           /* NUL-terminated copy of the message key ("" if none) */
        const char *authorization; /* raw authorization header (valid UTF-8, at most
                                    * CAIRN_AUTH_MAX bytes) or NULL */
        const char *topic;
        int32_t partition;
        int64_t offset;
        struct cairn_arena *arena;
        void *opaque; /* the opaque given to cairn_bus_new() */
};

/* Handles one decoded request. On success sets *@p reply to a message
 * allocated from req->arena (or NULL for no reply) and returns CAIRN_OK; on
 * failure fills @p st (cairn_status_set) and returns its code.
 * @locality a worker thread; handlers of different keys run concurrently. */
typedef cairn_err_t (*cairn_handler_fn)(struct cairn_request *req, const ProtobufCMessage *msg,
                                        ProtobufCMessage **reply, struct cairn_status *st);

/* One row of a service's handler table; the ce_type is desc->name. Tables
 * end with a row whose desc is NULL. */
struct cairn_handler {
        const ProtobufCMessageDescriptor *desc;
        cairn_handler_fn fn;
};

struct cairn_bus;

/* Creates the runtime for @p service (e.g. "embedding"). Kafka settings come
 * from the "kafka." keys of @p conf (borrowed; kafka.bootstrap.servers is
 * required). @p bconf, @p handlers, @p metrics are borrowed and must outlive
 * the runtime. Returns NULL with @p errstr set on bad settings. */
struct cairn_bus *cairn_bus_new(const char *service, const struct cairn_bus_conf *bconf,
                                const struct cairn_conf *conf, const struct cairn_handler *handlers,
                                void *opaque, struct cairn_metrics *metrics, char *errstr,
                                size_t errstr_size);

/* Consumes and dispatches until cairn_bus_stop(); then stops fetching, lets
 * the workers finish, waits for outstanding acknowledgements (at most
 * grace_ms), commits and closes. Returns 0 on a clean drain, -1 otherwise. */
int cairn_bus_run(struct cairn_bus *bus);

/* Asks cairn_bus_run() to return. Async-signal-safe. */
void cairn_bus_stop(struct cairn_bus *bus);

/* Readiness: the broker answered a metadata request for the request topic
 * within ready_timeout_ms. Usable as a cairn_ready_fn. */
bool cairn_bus_ready(void *bus, char *why, size_t why_size);

void cairn_bus_free(struct cairn_bus *bus);

/* ---- client side ---- */

struct cairn_bus_client;

/* How a call is made. A call made while handling a request passes the
 * request's deadline on (deadline_ms = req->hdrs->deadline_ms) and, when the
 * caller's credentials should go along, req->authorization. Its trace
 * context needs nothing when tracing is on (the call's span is a child of
 * the handler's, the thread's current span); with tracing off, traceparent
 * and tracestate from req->hdrs forward the caller's as received. */
struct cairn_call_opts {
        int64_t timeout_ms;        /* 0: bconf->call_timeout_ms */
        int64_t deadline_ms;       /* absolute unix ms; 0: now + timeout. The earlier wins */
        const char *ce_id;         /* reuse on retry; NULL: a new UUID */
        const char *authorization; /* forwarded caller credentials, or NULL */
        const char *traceparent;   /* W3C trace context to forward, or NULL */
        const char *tracestate;
        const char *request_id; /* the HTTP X-Request-ID, sent as cairn_request_id, or NULL */
        /* Who the call is made for, sent as cairn_principal and cairn_role
         * (the gateway: its caller; a service: itself), or NULL. */
        const char *principal;
        const char *role;
        /* No reply partition assigned (a rebalance): fail at once with
         * UNAVAILABLE instead of blocking (event loops). */
        bool no_wait;
};

/* The outcome of a call. On CAIRN_OK payload holds the reply bytes and
 * ce_type its type; otherwise st says why (a Status reply, a timeout, a
 * produce failure). */
struct cairn_reply {
        cairn_err_t err;
        struct cairn_status st;
        char ce_type[CAIRN_HEADER_MAX + 1];
        const uint8_t *payload; /* borrowed: valid only during the callback */
        size_t len;
};

/* @locality the client's reply thread (replies and timeouts), its
 * delivery-report thread (produce failures) or its retry thread (a retry
 * that could not be sent). Must not block. */
typedef void (*cairn_call_cb)(const struct cairn_reply *reply, void *opaque);

/* Creates a client for calling service @p service (the caller: its reply
 * topic and group derive from bconf->reply_topic). Blocks until the reply
 * topic has a partition assigned or @p bconf->call_timeout_ms passes.
 * Arguments are borrowed as for cairn_bus_new(). */
struct cairn_bus_client *cairn_bus_client_new(const char *service,
                                              const struct cairn_bus_conf *bconf,
                                              const struct cairn_conf *conf,
                                              struct cairn_metrics *metrics, char *errstr,
                                              size_t errstr_size);

/* The reason (cairn_status.reason) of a call whose request is too large to
 * produce: over the producer's message.max.bytes, or refused by the broker
 * as over the topic's max.message.bytes. Its code is CAIRN_ERR_EXHAUSTED
 * and it is never retried: the same request fails the same way. */
#define CAIRN_BUS_MESSAGE_TOO_LARGE "MESSAGE_TOO_LARGE"

/* Sends @p msg to @p topic keyed by @p key (NUL-terminated, may be "") and
 * calls @p cb exactly once: with the reply, or with CAIRN_ERR_DEADLINE when
 * none arrives in time, or CAIRN_ERR_UNAVAILABLE when the request could not
 * be produced, or CAIRN_ERR_EXHAUSTED with reason
 * CAIRN_BUS_MESSAGE_TOO_LARGE when it is too large to be. Returns CAIRN_OK
 * when @p cb will be called; otherwise the error (and @p cb is never
 * called), with @p st filled.
 *
 * Every call goes through the resilience of the topic's dependency
 * (cairn_bus_dependency_name): a bulkhead (full: CAIRN_ERR_EXHAUSTED at
 * once), a circuit breaker (open: CAIRN_ERR_UNAVAILABLE at once, nothing
 * produced) and retries of retryable failures with the same ce_id, full
 * jitter backoff, never past the call's deadline; each attempt's timeout is
 * the time left, capped at the dependency's timeout_ms. @p msg is packed
 * before the return: the caller may free it. */
cairn_err_t cairn_bus_call_async(struct cairn_bus_client *cli, const char *topic, const char *key,
                                 const ProtobufCMessage *msg, const struct cairn_call_opts *opts,
                                 cairn_call_cb cb, void *opaque, struct cairn_status *st);

/* Blocking call. On CAIRN_OK *@p reply is the reply unpacked as
 * @p reply_desc with @p alloc (NULL: malloc; free with
 * protobuf_c_message_free_unpacked). On error, @p st says why. */
cairn_err_t cairn_bus_call(struct cairn_bus_client *cli, const char *topic, const char *key,
                           const ProtobufCMessage *msg, const struct cairn_call_opts *opts,
                           const ProtobufCMessageDescriptor *reply_desc, ProtobufCAllocator *alloc,
                           ProtobufCMessage **reply, struct cairn_status *st);

bool cairn_bus_client_ready(void *cli, char *why, size_t why_size);

/* The largest request, packed, that @p cli can produce: its producer's
 * message.max.bytes (kafka.message.max.bytes; librdkafka's default
 * otherwise). A larger one fails with CAIRN_BUS_MESSAGE_TOO_LARGE, so a
 * caller that checks first spares the call. The record's key, headers and
 * framing count against the same limit: a request slightly smaller may
 * still fail that way. Fixed once the client exists; any thread. */
size_t cairn_bus_client_max_message_bytes(const struct cairn_bus_client *cli);

/* Sets the resilience settings (copied) of @p dependency, or with NULL the
 * defaults of every dependency not named. Takes effect for a dependency
 * first called afterwards: call before traffic. Without any, dependencies
 * use the documented defaults of resilience.<dependency>.*. */
void cairn_bus_client_resilience(struct cairn_bus_client *cli, const char *dependency,
                                 const struct cairn_resilience_conf *rconf);

/* The dependency a topic belongs to: "cairn.<service>.v1.requests" is
 * <service>; any other topic its own name, lower-cased, with every character
 * outside [a-z0-9] turned into '_' (at most 48 characters). */
void cairn_bus_dependency_name(const char *topic, char *buf, size_t size);

/* Fails calls still waiting (CAIRN_ERR_UNAVAILABLE), flushes, closes. */
void cairn_bus_client_free(struct cairn_bus_client *cli);

#endif

/* The public bus client (cairn/bus.h), built over the single attempts of
 * bus_client.c: calls to other services go through their dependency's
 * bulkhead, circuit breaker and retry policy. One logical call holds a
 * bulkhead slot until its final outcome; each attempt asks the breaker and
 * reports to it; attempts that fail with a retryable code are sent again,
 * with the same ce_id, after a full-jitter backoff, while the call's
 * deadline leaves room.
 *
 * Threads: the first attempt is produced on the caller's thread; later ones
 * on this layer's retry thread. Attempt outcomes arrive on the client's
 * reply, timer or delivery-report threads; nothing there blocks. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_client.h"
#include "cairn/trace.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"

#define DEPS_MAX 64

/* One logical call from its first attempt to its final callback. */
struct rcall {
        struct bus_calls *bc;
        struct cairn_dependency *dep;
        char *topic;
        char *key;
        uint8_t *payload;
        size_t len;
        char ce_type[CAIRN_HEADER_MAX + 1];
        char ce_id[CAIRN_HEADER_MAX + 1];
        char *authorization;
        char *traceparent;
        char *tracestate;
        char *request_id;
        char *principal;
        char *role;
        bool no_wait;        /* never block for a reply partition */
        int64_t deadline_ms; /* the whole call's, unix ms */
        int attempts;
        struct cairn_breaker_ticket ticket;
        cairn_call_cb cb;
        void *opaque;
        int64_t due_us; /* when waiting for a retry: monotonic */
        struct rcall *next;
};

struct bus_calls {
        struct cairn_bus_client *cli;
        const struct cairn_bus_conf *bconf;
        struct cairn_metrics *metrics;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct cairn_resilience_conf defaults;
        bool have_defaults;
        struct cairn_resilience_conf confs[DEPS_MAX];
        size_t nconfs;
        struct cairn_dependency *deps[DEPS_MAX];
        size_t ndeps;
        struct rcall *retries; /* sorted by due_us */
        bool stopping;
        bool thread_started;
        pthread_t thread;
};

static char *dup_or_null(const char *s)
{
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                abort();
        return d;
}

static void rcall_free(struct rcall *rc)
{
        free(rc->topic);
        free(rc->key);
        free(rc->payload);
        free(rc->authorization);
        free(rc->traceparent);
        free(rc->tracestate);
        free(rc->request_id);
        free(rc->principal);
        free(rc->role);
        free(rc);
}

/* The final outcome: free the slot, then tell the caller (who may call
 * again at once, or look at the metrics, and must find the slot free). */
static void rcall_finish(struct rcall *rc, const struct cairn_reply *reply)
{
        cairn_dependency_leave(rc->dep);
        rc->cb(reply, rc->opaque);
        rcall_free(rc);
}

static void rcall_fail(struct rcall *rc, const struct cairn_status *st)
{
        struct cairn_reply reply;

        memset(&reply, 0, sizeof(reply));
        reply.err = st->code;
        reply.st = *st;
        rcall_finish(rc, &reply);
}

/* Queues @p rc for another attempt in @p delay_ms; false when stopping. */
static bool retry_schedule(struct rcall *rc, int64_t delay_ms)
{
        struct bus_calls *bc = rc->bc;
        struct rcall **pp;

        rc->due_us = cairn_mono_us() + delay_ms * 1000;
        pthread_mutex_lock(&bc->lock);
        if (bc->stopping) {
                pthread_mutex_unlock(&bc->lock);
                return false;
        }
        for (pp = &bc->retries; *pp && (*pp)->due_us <= rc->due_us; pp = &(*pp)->next)
                ;
        rc->next = *pp;
        *pp = rc;
        pthread_cond_signal(&bc->cond);
        pthread_mutex_unlock(&bc->lock);
        return true;
}

/* After attempt number rc->attempts failed with @p err: schedules the next
 * one and returns true, or returns false when the failure is final. */
static bool retry_maybe(struct rcall *rc, cairn_err_t err)
{
        struct bus_calls *bc = rc->bc;
        int64_t delay;
        bool stopping;

        pthread_mutex_lock(&bc->lock);
        stopping = bc->stopping;
        pthread_mutex_unlock(&bc->lock);
        if (stopping)
                return false;
        delay = cairn_dependency_retry_delay(rc->dep, rc->attempts, err, rc->deadline_ms,
                                             cairn_now_ms());
        if (delay < 0)
                return false;
        cairn_log(DEBUG, "BUS", "call %s to %s failed with %s; attempt %d in %lld ms", rc->ce_id,
                  rc->topic, cairn_err_str(err), rc->attempts + 1, (long long)delay);
        return retry_schedule(rc, delay);
}

/* @locality the client's reply, timer or delivery-report thread. */
static void attempt_cb(const struct cairn_reply *reply, void *opaque)
{
        struct rcall *rc = opaque;

        cairn_dependency_attempt_done(rc->dep, &rc->ticket, reply->err);
        if (reply->err && retry_maybe(rc, reply->err))
                return;
        rcall_finish(rc, reply);
}

/* Starts one attempt. On failure fills @p st; *@p final says whether the
 * failure may not be retried (the breaker refused, the deadline passed). */
static cairn_err_t attempt_start(struct rcall *rc, struct cairn_status *st, bool *final)
{
        int64_t now = cairn_now_ms();
        int64_t timeout = cairn_dependency_timeout_ms(rc->dep, rc->deadline_ms, now);
        struct cairn_call_opts opts;
        cairn_err_t err;

        *final = true;
        if (timeout <= 0)
                return cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, NULL,
                                        "deadline passed before calling %s", rc->topic);
        err = cairn_dependency_attempt(rc->dep, &rc->ticket, st);
        if (err)
                return err;
        rc->attempts++;
        memset(&opts, 0, sizeof(opts));
        opts.timeout_ms = timeout;
        opts.deadline_ms = rc->deadline_ms;
        opts.ce_id = rc->ce_id;
        opts.authorization = rc->authorization;
        opts.traceparent = rc->traceparent;
        opts.tracestate = rc->tracestate;
        opts.request_id = rc->request_id;
        opts.principal = rc->principal;
        opts.role = rc->role;
        opts.no_wait = rc->no_wait;
        err = cairn_bus_call_once(rc->bc->cli, rc->topic, rc->key, rc->payload, rc->len,
                                  rc->ce_type, &opts, attempt_cb, rc, st);
        if (err) {
                cairn_dependency_attempt_done(rc->dep, &rc->ticket, err);
                *final = false;
        }
        return err;
}

static void *retry_main(void *arg)
{
        struct bus_calls *bc = arg;

        pthread_mutex_lock(&bc->lock);
        while (!bc->stopping) {
                struct rcall *rc = bc->retries;
                int64_t now = cairn_mono_us();

                if (!rc) {
                        pthread_cond_wait(&bc->cond, &bc->lock);
                        continue;
                }
                if (rc->due_us > now) {
                        struct timespec ts = cairn_timespec_in(CLOCK_REALTIME, rc->due_us - now);

                        pthread_cond_timedwait(&bc->cond, &bc->lock, &ts);
                        continue;
                }
                bc->retries = rc->next;
                pthread_mutex_unlock(&bc->lock);
                /* One call waiting for a reply partition must not hold up
                 * every other retry: it fails (UNAVAILABLE) and may retry. */
                rc->no_wait = true;

                struct cairn_status st;
                bool final;

                cairn_status_clear(&st);
                if (attempt_start(rc, &st, &final) != CAIRN_OK &&
                    (final || !retry_maybe(rc, st.code)))
                        rcall_fail(rc, &st);
                pthread_mutex_lock(&bc->lock);
        }
        pthread_mutex_unlock(&bc->lock);
        return NULL;
}

/* ---- dependencies ---- */

void cairn_bus_dependency_name(const char *topic, char *buf, size_t size)
{
        bool cairn_topic = strncmp(topic, "cairn.", 6) == 0;
        const char *svc = cairn_topic ? topic + 6 : topic;
        const char *end = cairn_topic ? strchr(svc, '.') : NULL;
        size_t n = 0;

        /* cairn.<service>.v1.requests → <service> */
        if (end && end > svc && strcmp(end, ".v1.requests") == 0)
                topic = svc;
        else
                end = topic + strlen(topic);
        for (const char *p = topic; p < end && n + 1 < size && n < 48; p++) {
                char c = *p;

                if (c >= 'A' && c <= 'Z')
                        c = (char)(c - 'A' + 'a');
                buf[n++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
        }
        if (size)
                buf[n] = '\0';
}

void cairn_bus_client_resilience(struct cairn_bus_client *cli, const char *dependency,
                                 const struct cairn_resilience_conf *rconf)
{
        struct bus_calls *bc = bus_client_calls(cli);

        pthread_mutex_lock(&bc->lock);
        if (!dependency) {
                bc->defaults = *rconf;
                bc->have_defaults = true;
        } else {
                size_t i;

                for (i = 0; i < bc->nconfs; i++)
                        if (strcmp(bc->confs[i].dependency, dependency) == 0)
                                break;
                if (i < DEPS_MAX) {
                        bc->confs[i] = *rconf;
                        snprintf(bc->confs[i].dependency, sizeof(bc->confs[i].dependency), "%s",
                                 dependency);
                        if (i == bc->nconfs)
                                bc->nconfs++;
                }
        }
        pthread_mutex_unlock(&bc->lock);
}

/* The dependency @p topic belongs to, created on first use. NULL when the
 * table is full (more than DEPS_MAX distinct dependencies). */
static struct cairn_dependency *dependency_for(struct bus_calls *bc, const char *topic)
{
        struct cairn_dependency *dep = NULL;
        char name[64];

        cairn_bus_dependency_name(topic, name, sizeof(name));
        pthread_mutex_lock(&bc->lock);
        for (size_t i = 0; i < bc->ndeps; i++) {
                if (strcmp(cairn_dependency_name(bc->deps[i]), name) == 0) {
                        dep = bc->deps[i];
                        break;
                }
        }
        if (!dep && bc->ndeps < DEPS_MAX) {
                struct cairn_resilience_conf rconf;
                bool found = false;

                for (size_t i = 0; i < bc->nconfs && !found; i++) {
                        if (strcmp(bc->confs[i].dependency, name) == 0) {
                                rconf = bc->confs[i];
                                found = true;
                        }
                }
                if (!found && bc->have_defaults)
                        rconf = bc->defaults;
                else if (!found)
                        cairn_resilience_conf_init(&rconf, name);
                snprintf(rconf.dependency, sizeof(rconf.dependency), "%s", name);
                dep = cairn_dependency_new(&rconf, bc->metrics);
                bc->deps[bc->ndeps++] = dep;
        }
        pthread_mutex_unlock(&bc->lock);
        return dep;
}

/* ---- calls ---- */

cairn_err_t cairn_bus_call_async(struct cairn_bus_client *cli, const char *topic, const char *key,
                                 const ProtobufCMessage *msg, const struct cairn_call_opts *opts,
                                 cairn_call_cb cb, void *opaque, struct cairn_status *st)
{
        static const struct cairn_call_opts none = { 0 };
        struct bus_calls *bc = bus_client_calls(cli);
        struct cairn_dependency *dep;
        struct rcall *rc;
        int64_t now = cairn_now_ms(), timeout;
        cairn_err_t err;
        bool final;

        if (!opts)
                opts = &none;
        dep = dependency_for(bc, topic);
        if (!dep)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "too many distinct dependencies (at most %d)", DEPS_MAX);
        err = cairn_dependency_enter(dep, st);
        if (err)
                return err;

        rc = calloc(1, sizeof(*rc));
        if (!rc)
                abort();
        rc->bc = bc;
        rc->dep = dep;
        rc->topic = dup_or_null(topic);
        rc->key = dup_or_null(key ? key : "");
        rc->len = protobuf_c_message_get_packed_size(msg);
        rc->payload = malloc(rc->len ? rc->len : 1);
        if (!rc->payload)
                abort();
        protobuf_c_message_pack(msg, rc->payload);
        snprintf(rc->ce_type, sizeof(rc->ce_type), "%s", msg->descriptor->name);
        /* One ce_id for every attempt: it is the request's idempotency key. */
        if (opts->ce_id && opts->ce_id[0])
                snprintf(rc->ce_id, sizeof(rc->ce_id), "%s", opts->ce_id);
        else
                cairn_uuid(rc->ce_id);
        rc->authorization = dup_or_null(opts->authorization);
        rc->traceparent = dup_or_null(opts->traceparent);
        rc->tracestate = dup_or_null(opts->tracestate);
        if (!rc->traceparent && cairn_trace_current()) {
                /* Retries run on the retry thread: pin the caller's span now,
                 * so every attempt continues the caller's trace. */
                char tp[CAIRN_TRACEPARENT_LEN + 1];

                cairn_traceparent_format(cairn_trace_current(), tp);
                rc->traceparent = dup_or_null(tp);
        }
        rc->request_id = dup_or_null(opts->request_id);
        rc->principal = dup_or_null(opts->principal);
        rc->role = dup_or_null(opts->role);
        rc->no_wait = opts->no_wait;
        timeout = opts->timeout_ms > 0 ? opts->timeout_ms : bc->bconf->call_timeout_ms;
        if (timeout > INT64_MAX - now)
                timeout = INT64_MAX - now;
        rc->deadline_ms = cairn_deadline_min(now + timeout, opts->deadline_ms);
        rc->cb = cb;
        rc->opaque = opaque;

        err = attempt_start(rc, st, &final);
        if (err == CAIRN_OK)
                return CAIRN_OK;
        /* The first attempt failed before anything was sent: retry later if
         * allowed (then the callback reports the outcome), else say so now. */
        if (!final && retry_maybe(rc, err))
                return CAIRN_OK;
        cairn_dependency_leave(dep);
        rcall_free(rc);
        return err;
}

struct waiter {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done;
        cairn_err_t err;
        struct cairn_status *st;
        const ProtobufCMessageDescriptor *desc;
        ProtobufCAllocator *alloc;
        ProtobufCMessage *reply;
};

static void waiter_cb(const struct cairn_reply *reply, void *opaque)
{
        struct waiter *w = opaque;

        w->err = reply->err;
        if (reply->err) {
                *w->st = reply->st;
        } else if (strcmp(reply->ce_type, w->desc->name) != 0) {
                w->err = cairn_status_set(w->st, CAIRN_ERR_INTERNAL, NULL, NULL,
                                          "expected a %s reply, got ce_type \"%s\"", w->desc->name,
                                          reply->ce_type);
        } else {
                w->reply = protobuf_c_message_unpack(w->desc, w->alloc, reply->len, reply->payload);
                if (!w->reply)
                        w->err = cairn_status_set(w->st, CAIRN_ERR_INTERNAL, NULL, NULL,
                                                  "reply does not decode as %s", w->desc->name);
        }
        pthread_mutex_lock(&w->lock);
        w->done = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

cairn_err_t cairn_bus_call(struct cairn_bus_client *cli, const char *topic, const char *key,
                           const ProtobufCMessage *msg, const struct cairn_call_opts *opts,
                           const ProtobufCMessageDescriptor *reply_desc, ProtobufCAllocator *alloc,
                           ProtobufCMessage **reply, struct cairn_status *st)
{
        struct waiter w = { .st = st, .desc = reply_desc, .alloc = alloc };
        cairn_err_t err;

        *reply = NULL;
        cairn_status_clear(st);
        pthread_mutex_init(&w.lock, NULL);
        pthread_cond_init(&w.cond, NULL);
        err = cairn_bus_call_async(cli, topic, key, msg, opts, waiter_cb, &w, st);
        if (err == CAIRN_OK) {
                pthread_mutex_lock(&w.lock);
                while (!w.done)
                        pthread_cond_wait(&w.cond, &w.lock);
                pthread_mutex_unlock(&w.lock);
                err = w.err;
                *reply = w.reply;
        }
        pthread_cond_destroy(&w.cond);
        pthread_mutex_destroy(&w.lock);
        return err;
}

/* ---- lifecycle ---- */

static struct bus_calls *bus_calls_new(struct cairn_bus_client *cli,
                                       const struct cairn_bus_conf *bconf,
                                       struct cairn_metrics *metrics)
{
        struct bus_calls *bc = calloc(1, sizeof(*bc));

        if (!bc)
                abort();
        bc->cli = cli;
        bc->bconf = bconf;
        bc->metrics = metrics;
        pthread_mutex_init(&bc->lock, NULL);
        pthread_cond_init(&bc->cond, NULL);
        cairn_resilience_metrics_register(metrics);
        if (pthread_create(&bc->thread, NULL, retry_main, bc) != 0)
                abort();
        bc->thread_started = true;
        return bc;
}

/* Stops the retry thread and fails the calls waiting to be retried; calls
 * still in flight then fail without retrying. */
static void bus_calls_stop(struct bus_calls *bc)
{
        struct rcall *rc;

        if (!bc)
                return;
        pthread_mutex_lock(&bc->lock);
        bc->stopping = true;
        pthread_cond_broadcast(&bc->cond);
        pthread_mutex_unlock(&bc->lock);
        if (bc->thread_started) {
                pthread_join(bc->thread, NULL);
                bc->thread_started = false;
        }
        for (;;) {
                struct cairn_status st;

                pthread_mutex_lock(&bc->lock);
                rc = bc->retries;
                if (rc)
                        bc->retries = rc->next;
                pthread_mutex_unlock(&bc->lock);
                if (!rc)
                        break;
                cairn_status_set(&st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                 "the bus client is shutting down");
                rcall_fail(rc, &st);
        }
}

static void bus_calls_free(struct bus_calls *bc)
{
        if (!bc)
                return;
        bus_calls_stop(bc);
        for (size_t i = 0; i < bc->ndeps; i++)
                cairn_dependency_free(bc->deps[i]);
        pthread_cond_destroy(&bc->cond);
        pthread_mutex_destroy(&bc->lock);
        free(bc);
}

struct cairn_bus_client *cairn_bus_client_new(const char *service,
                                              const struct cairn_bus_conf *bconf,
                                              const struct cairn_conf *conf,
                                              struct cairn_metrics *metrics, char *errstr,
                                              size_t errstr_size)
{
        struct cairn_bus_client *cli = bus_client_create(service, bconf, metrics);

        /* The retry thread and the resilience metrics come before Kafka. */
        bus_client_set_calls(cli, bus_calls_new(cli, bconf, metrics));
        if (bus_client_start(cli, conf, errstr, errstr_size) != 0) {
                cairn_bus_client_free(cli);
                return NULL;
        }
        return cli;
}

void cairn_bus_client_free(struct cairn_bus_client *cli)
{
        struct bus_calls *bc;

        if (!cli)
                return;
        bc = bus_client_calls(cli);
        /* Nothing is retried from here on. */
        bus_calls_stop(bc);
        bus_client_close(cli);
        /* Last: the calls the client failed while closing reported to their
         * dependencies. */
        bus_calls_free(bc);
}

/* The circuit breaker state machine; see cairn/breaker.h. One mutex guards
 * everything; metrics and logs are written after it is released. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/breaker.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"

#define WINDOW_MAX 1024

struct cairn_breaker {
        char name[128];
        struct cairn_breaker_conf conf;
        cairn_clock_fn clock;
        void *clock_opaque;

        pthread_mutex_t lock;
        enum cairn_breaker_state state;
        uint64_t gen;          /* bumped on every transition */
        int64_t opened_at;     /* clock ms when it last opened */
        int consecutive;       /* failures in a row while closed */
        bool ring[WINDOW_MAX]; /* last `window` outcomes, true = failure */
        int ring_len, ring_pos, ring_failures;
        int probes_out; /* half-open: probes let through */
        int probes_ok;  /* half-open: probes that succeeded */

        struct cairn_series *s_state;
        struct cairn_series *s_to[3];
        struct cairn_series *s_rejected;
};

static const char *const state_names[] = { "closed", "half_open", "open" };

const char *cairn_breaker_state_str(enum cairn_breaker_state s)
{
        if ((int)s < 0 || (int)s > 2)
                return "unknown";
        return state_names[s];
}

static int64_t mono_ms(void *opaque)
{
        (void)opaque;
        return cairn_mono_us() / 1000;
}

static struct cairn_metric *family_state(struct cairn_metrics *reg)
{
        return cairn_metrics_gauge(reg, "cairn_breaker_state",
                                   "Circuit breaker state per dependency: 0 closed, 1 half-open, "
                                   "2 open",
                                   (const char *[]){ "dependency", NULL });
}

static struct cairn_metric *family_transitions(struct cairn_metrics *reg)
{
        return cairn_metrics_counter(reg, "cairn_breaker_transitions_total",
                                     "Circuit breaker state changes, by dependency and new state",
                                     (const char *[]){ "dependency", "to", NULL });
}

static struct cairn_metric *family_rejected(struct cairn_metrics *reg)
{
        return cairn_metrics_counter(reg, "cairn_breaker_rejected_total",
                                     "Calls failed fast because the breaker was open",
                                     (const char *[]){ "dependency", NULL });
}

void cairn_breaker_metrics_register(struct cairn_metrics *metrics)
{
        family_state(metrics);
        family_transitions(metrics);
        family_rejected(metrics);
}

struct cairn_breaker *cairn_breaker_new(const char *name, const struct cairn_breaker_conf *conf,
                                        struct cairn_metrics *metrics, cairn_clock_fn clock,
                                        void *clock_opaque)
{
        struct cairn_breaker *b = calloc(1, sizeof(*b));

        if (!b)
                abort();
        snprintf(b->name, sizeof(b->name), "%s", name);
        b->conf = *conf;
        if (b->conf.window < 1)
                b->conf.window = 1;
        if (b->conf.window > WINDOW_MAX)
                b->conf.window = WINDOW_MAX;
        if (b->conf.half_open_probes < 1)
                b->conf.half_open_probes = 1;
        b->clock = clock ? clock : mono_ms;
        b->clock_opaque = clock_opaque;
        b->state = CAIRN_BREAKER_CLOSED;
        pthread_mutex_init(&b->lock, NULL);
        if (metrics) {
                struct cairn_metric *to = family_transitions(metrics);

                b->s_state = cairn_metric_series(family_state(metrics), (const char *[]){ name });
                for (int s = 0; s < 3; s++)
                        b->s_to[s] = cairn_metric_series(to,
                                                         (const char *[]){ name, state_names[s] });
                b->s_rejected = cairn_metric_series(family_rejected(metrics),
                                                    (const char *[]){ name });
                cairn_series_set(b->s_state, CAIRN_BREAKER_CLOSED);
        }
        return b;
}

void cairn_breaker_free(struct cairn_breaker *b)
{
        if (!b)
                return;
        pthread_mutex_destroy(&b->lock);
        free(b);
}

static void window_reset(struct cairn_breaker *b)
{
        b->consecutive = 0;
        b->ring_len = 0;
        b->ring_pos = 0;
        b->ring_failures = 0;
}

/* Moves to @p to. Lock held: the gauge is set under it, so concurrent
 * changes cannot leave it showing an older state. */
static void transition(struct cairn_breaker *b, enum cairn_breaker_state to)
{
        if (b->s_state) {
                cairn_series_set(b->s_state, to);
                cairn_series_inc(b->s_to[to]);
        }
        b->state = to;
        b->gen++;
        b->probes_out = 0;
        b->probes_ok = 0;
        if (to == CAIRN_BREAKER_OPEN)
                b->opened_at = b->clock(b->clock_opaque);
        window_reset(b);
}

/* What to tell the world once the lock is released. */
struct change {
        bool changed;
        enum cairn_breaker_state from, to;
        int failures, calls; /* for the log line of a closed → open change */
};

static void announce(struct cairn_breaker *b, const struct change *c)
{
        if (!c->changed)
                return;
        if (c->to == CAIRN_BREAKER_OPEN && c->from == CAIRN_BREAKER_CLOSED)
                cairn_log(WARN, "BREAKER",
                          "breaker for %s opened: %d failure(s) in the last %d "
                          "call(s); failing fast for %lld ms",
                          b->name, c->failures, c->calls, (long long)b->conf.open_ms);
        else if (c->to == CAIRN_BREAKER_OPEN)
                cairn_log(WARN, "BREAKER", "breaker for %s re-opened: a half-open probe failed",
                          b->name);
        else if (c->to == CAIRN_BREAKER_HALF_OPEN)
                cairn_log(INFO, "BREAKER", "breaker for %s half-open: letting %d probe(s) through",
                          b->name, b->conf.half_open_probes);
        else
                cairn_log(INFO, "BREAKER", "breaker for %s closed: probes succeeded", b->name);
}

bool cairn_breaker_acquire(struct cairn_breaker *b, struct cairn_breaker_ticket *ticket)
{
        struct change c = { 0 };
        bool ok = false;

        pthread_mutex_lock(&b->lock);
        if (b->state == CAIRN_BREAKER_OPEN &&
            b->clock(b->clock_opaque) - b->opened_at >= b->conf.open_ms) {
                c = (struct change){ true, CAIRN_BREAKER_OPEN, CAIRN_BREAKER_HALF_OPEN, 0, 0 };
                transition(b, CAIRN_BREAKER_HALF_OPEN);
        }
        switch (b->state) {
        case CAIRN_BREAKER_CLOSED:
                ok = true;
                ticket->probe = false;
                break;
        case CAIRN_BREAKER_HALF_OPEN:
                if (b->probes_out < b->conf.half_open_probes) {
                        b->probes_out++;
                        ok = true;
                        ticket->probe = true;
                }
                break;
        case CAIRN_BREAKER_OPEN:
                break;
        }
        ticket->gen = b->gen;
        pthread_mutex_unlock(&b->lock);
        announce(b, &c);
        if (!ok && b->s_rejected)
                cairn_series_inc(b->s_rejected);
        return ok;
}

/* Adds an outcome to the closed state's window; true when it must open. */
static bool closed_record(struct cairn_breaker *b, bool failure)
{
        const struct cairn_breaker_conf *cf = &b->conf;

        if (b->ring_len == cf->window) {
                if (b->ring[b->ring_pos])
                        b->ring_failures--;
        } else {
                b->ring_len++;
        }
        b->ring[b->ring_pos] = failure;
        b->ring_pos = (b->ring_pos + 1) % cf->window;
        if (failure) {
                b->ring_failures++;
                b->consecutive++;
        } else {
                b->consecutive = 0;
        }
        if (cf->failures > 0 && b->consecutive >= cf->failures)
                return true;
        if (cf->failure_rate > 0 && b->ring_len >= cf->min_calls && b->ring_len > 0 &&
            (double)b->ring_failures >= cf->failure_rate * (double)b->ring_len)
                return true;
        return false;
}

void cairn_breaker_record(struct cairn_breaker *b, const struct cairn_breaker_ticket *ticket,
                          bool failure)
{
        struct change c = { 0 };

        pthread_mutex_lock(&b->lock);
        if (ticket->gen != b->gen) {
                /* Let through before the last change: says nothing about now. */
                pthread_mutex_unlock(&b->lock);
                return;
        }
        switch (b->state) {
        case CAIRN_BREAKER_CLOSED:
                if (closed_record(b, failure)) {
                        c = (struct change){ true, CAIRN_BREAKER_CLOSED, CAIRN_BREAKER_OPEN,
                                             b->ring_failures, b->ring_len };
                        transition(b, CAIRN_BREAKER_OPEN);
                }
                break;
        case CAIRN_BREAKER_HALF_OPEN:
                assert(ticket->probe);
                if (failure) {
                        c = (struct change){ true, CAIRN_BREAKER_HALF_OPEN, CAIRN_BREAKER_OPEN, 0,
                                             0 };
                        transition(b, CAIRN_BREAKER_OPEN);
                } else if (++b->probes_ok >= b->conf.half_open_probes) {
                        c = (struct change){ true, CAIRN_BREAKER_HALF_OPEN, CAIRN_BREAKER_CLOSED, 0,
                                             0 };
                        transition(b, CAIRN_BREAKER_CLOSED);
                }
                break;
        case CAIRN_BREAKER_OPEN:
                /* Not reachable with a current ticket: open lets nothing through. */
                break;
        }
        pthread_mutex_unlock(&b->lock);
        announce(b, &c);
}

enum cairn_breaker_state cairn_breaker_state(struct cairn_breaker *b)
{
        enum cairn_breaker_state s;

        pthread_mutex_lock(&b->lock);
        s = b->state;
        pthread_mutex_unlock(&b->lock);
        return s;
}

/* A circuit breaker per dependency: closed while calls succeed; open after
 * `failures` consecutive failures or when the failure rate over the last
 * `window` calls (once `min_calls` are in) reaches `failure_rate`; open
 * calls fail fast for `open_ms`; then half-open lets `half_open_probes`
 * calls through, closes when all of them succeed and re-opens on the first
 * probe failure.
 *
 * The state is exported as the gauge cairn_breaker_state{dependency}
 * (0 closed, 1 half-open, 2 open), each change is logged and counted in
 * cairn_breaker_transitions_total{dependency,to}, and calls refused while
 * open in cairn_breaker_rejected_total{dependency}.
 *
 * Thread-safe. Time comes from an injectable clock, so tests never sleep. */
#ifndef CAIRN_BREAKER_H
#define CAIRN_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

struct cairn_metrics;

enum cairn_breaker_state {
        CAIRN_BREAKER_CLOSED = 0,
        CAIRN_BREAKER_HALF_OPEN = 1,
        CAIRN_BREAKER_OPEN = 2,
};

struct cairn_breaker_conf {
        int failures;         /* consecutive failures that open it; 0: no such rule */
        double failure_rate;  /* 0..1 over the window that opens it; 0: no such rule */
        int window;           /* calls the rate is computed over (1..1024) */
        int min_calls;        /* calls needed in the window before the rate counts */
        int64_t open_ms;      /* how long it stays open before probing */
        int half_open_probes; /* calls let through while half-open (>= 1) */
};

/* Milliseconds on a monotonic clock. */
typedef int64_t (*cairn_clock_fn)(void *opaque);

/* What acquire hands out and record takes back: which state generation the
 * call was let through in, and whether it is a half-open probe. Outcomes of
 * calls from an earlier generation are ignored. */
struct cairn_breaker_ticket {
        uint64_t gen;
        bool probe;
};

struct cairn_breaker;

/* Creates a breaker for dependency @p name (copied). @p metrics may be NULL;
 * when given it must outlive the breaker. @p clock NULL: the monotonic
 * clock. @p conf is copied. */
struct cairn_breaker *cairn_breaker_new(const char *name, const struct cairn_breaker_conf *conf,
                                        struct cairn_metrics *metrics, cairn_clock_fn clock,
                                        void *clock_opaque);
void cairn_breaker_free(struct cairn_breaker *b);

/* Asks to make a call. True: go ahead, then report the outcome with
 * cairn_breaker_record() and @p ticket exactly once. False: the breaker is
 * open (or half-open with every probe taken); fail fast. */
bool cairn_breaker_acquire(struct cairn_breaker *b, struct cairn_breaker_ticket *ticket);

/* Reports the outcome of a call acquire() let through. Only failures that
 * say the dependency is unwell (unavailable, timed out) should be reported
 * as @p failure; a caller's own mistakes are successes here. */
void cairn_breaker_record(struct cairn_breaker *b, const struct cairn_breaker_ticket *ticket,
                          bool failure);

/* The current state (an open breaker whose cool-down is over still reads
 * open until the next acquire() moves it to half-open). */
enum cairn_breaker_state cairn_breaker_state(struct cairn_breaker *b);

/* "closed", "half_open", "open". */
const char *cairn_breaker_state_str(enum cairn_breaker_state s);

/* Registers the breaker metric families in @p metrics without a series, so
 * every service exposes the same names. */
void cairn_breaker_metrics_register(struct cairn_metrics *metrics);

#endif

/* Resilience per dependency: the settings of one dependency (retries,
 * circuit breaker, bulkhead, timeout) as a configuration section, the
 * deadline arithmetic of outbound calls, and struct cairn_dependency, which
 * bundles a retry policy, a breaker and a bulkhead for one dependency and
 * runs calls through them.
 *
 * A dependency is whatever a service calls: another service over the bus
 * (named after it, "embedding"), a database, a provider's HTTP API. Its
 * settings are the keys resilience.<dependency>.* (docs/config.md). */
#ifndef CAIRN_RESILIENCE_H
#define CAIRN_RESILIENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "cairn/breaker.h"
#include "cairn/bulkhead.h"
#include "cairn/conf.h"
#include "cairn/err.h"
#include "cairn/retry.h"
#include "cairn/status.h"

struct cairn_metrics;

/* ---- deadlines ---- */

/* The timeout of one outbound call made at @p now_ms (unix ms) on behalf of
 * a request that must be done by @p deadline_ms (0: none): the remaining
 * budget, capped at @p cap_ms (0: no cap). INT64_MAX when neither bounds it;
 * <= 0 when the deadline has passed, so the call must not be made. */
int64_t cairn_call_timeout_ms(int64_t deadline_ms, int64_t now_ms, int64_t cap_ms);

/* The earlier of two deadlines, 0 meaning none. */
int64_t cairn_deadline_min(int64_t a, int64_t b);

/* ---- configuration ---- */

/* One dependency's settings; loaded from the section that
 * cairn_resilience_conf_section() returns. */
struct cairn_resilience_conf {
        char dependency[64]; /* set by cairn_resilience_conf_init, not loaded */
        char title[96];
        long long max_attempts;
        long long base_ms;
        long long cap_ms;
        const char *retry_on; /* lives as long as the loaded configuration */
        long long breaker_failures;
        double breaker_failure_rate;
        long long breaker_window;
        long long breaker_min_calls;
        long long breaker_open_ms;
        long long breaker_half_open_probes;
        long long max_concurrent;
        long long timeout_ms;
        uint32_t retry_mask; /* retry_on parsed by the section's check */
};

/* Sets @p rconf's name and fills it with the built-in defaults (the same as
 * the table's), so a dependency without configuration behaves as documented. */
void cairn_resilience_conf_init(struct cairn_resilience_conf *rconf, const char *dependency);

/* The table of keys resilience.<@p dependency>.* (max_attempts, base_ms,
 * cap_ms, retry_on, breaker_*, max_concurrent, timeout_ms). Returns a
 * malloc'ed table (names included) that must outlive every use of the
 * section (loading and --config-doc); free it with
 * cairn_resilience_conf_items_free(). NULL when @p dependency is not a valid
 * name ([a-z0-9_], 1..48 characters). */
struct cairn_conf_item *cairn_resilience_conf_items(const char *dependency);
void cairn_resilience_conf_items_free(struct cairn_conf_item *items);

/* The section to load @p items (from cairn_resilience_conf_items) into
 * @p rconf (after cairn_resilience_conf_init); its check parses retry_on and
 * checks that the keys agree with each other. */
struct cairn_conf_section cairn_resilience_conf_section(const struct cairn_conf_item *items,
                                                        struct cairn_resilience_conf *rconf);

/* The breaker settings of @p rconf. */
void cairn_resilience_breaker_conf(const struct cairn_resilience_conf *rconf,
                                   struct cairn_breaker_conf *out);
void cairn_resilience_retry_policy(const struct cairn_resilience_conf *rconf,
                                   struct cairn_retry_policy *out);

/* ---- a dependency ---- */

struct cairn_dependency;

/* Creates the breaker, bulkhead and retry policy of @p rconf's dependency
 * (copied). @p metrics may be NULL; else it must outlive the dependency. */
struct cairn_dependency *cairn_dependency_new(const struct cairn_resilience_conf *rconf,
                                              struct cairn_metrics *metrics);
void cairn_dependency_free(struct cairn_dependency *dep);

const char *cairn_dependency_name(const struct cairn_dependency *dep);
struct cairn_breaker *cairn_dependency_breaker(struct cairn_dependency *dep);

/* True for the errors that count against the dependency's health in its
 * breaker: UNAVAILABLE and DEADLINE_EXCEEDED. */
bool cairn_dependency_failure(cairn_err_t err);

/* The building blocks, for callers that cannot block (the bus client):
 *
 *   enter            takes a bulkhead slot for one logical call (EXHAUSTED when full)
 *   attempt          asks the breaker for one attempt (UNAVAILABLE when open)
 *   attempt_done     reports the attempt's outcome to the breaker
 *   retry_delay      the wait before the next attempt, or -1 (counts the retry)
 *   leave            gives the slot back when the logical call is over
 *
 * Errors fill @p st and are returned. */
cairn_err_t cairn_dependency_enter(struct cairn_dependency *dep, struct cairn_status *st);
void cairn_dependency_leave(struct cairn_dependency *dep);
cairn_err_t cairn_dependency_attempt(struct cairn_dependency *dep,
                                     struct cairn_breaker_ticket *ticket, struct cairn_status *st);
void cairn_dependency_attempt_done(struct cairn_dependency *dep,
                                   const struct cairn_breaker_ticket *ticket, cairn_err_t err);
int64_t cairn_dependency_retry_delay(struct cairn_dependency *dep, int attempts, cairn_err_t err,
                                     int64_t deadline_ms, int64_t now_ms);

/* The timeout of the next attempt: cairn_call_timeout_ms() with the
 * dependency's timeout_ms as the cap. */
int64_t cairn_dependency_timeout_ms(const struct cairn_dependency *dep, int64_t deadline_ms,
                                    int64_t now_ms);

/* One attempt of a blocking call, given its timeout in ms. */
typedef cairn_err_t (*cairn_attempt_fn)(void *opaque, int64_t timeout_ms, struct cairn_status *st);

/* Runs @p fn through the bulkhead, the breaker and the retry policy until it
 * succeeds, fails for good or @p deadline_ms (unix ms; 0: none) leaves no
 * room for another attempt; sleeps between attempts on the calling thread.
 * For blocking clients (PostgreSQL, Redis, HTTP providers). */
cairn_err_t cairn_dependency_call(struct cairn_dependency *dep, int64_t deadline_ms,
                                  cairn_attempt_fn fn, void *opaque, struct cairn_status *st);

/* Registers every resilience metric family (retries, breaker, bulkhead)
 * without a series, so each service exposes the same names. */
void cairn_resilience_metrics_register(struct cairn_metrics *metrics);

#endif

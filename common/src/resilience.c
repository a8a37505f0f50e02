/* Per-dependency resilience: the configuration table generated for each
 * dependency, deadline arithmetic, and the bundle of retry policy, breaker
 * and bulkhead that calls go through. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"

/* An attempt started with less budget than this would only time out. */
#define MIN_ATTEMPT_MS 10

/* The defaults, once: the table's strings and cairn_resilience_conf_init()
 * both come from these. */
#define D_MAX_ATTEMPTS   3
#define D_BASE_MS        50
#define D_CAP_MS         2000
#define D_RETRY_ON       "UNAVAILABLE,DEADLINE_EXCEEDED"
#define D_FAILURES       5
#define D_FAILURE_RATE   0.5
#define D_WINDOW         20
#define D_MIN_CALLS      10
#define D_OPEN_MS        5000
#define D_PROBES         1
#define D_MAX_CONCURRENT 10000
#define D_TIMEOUT_MS     0

#define STR_(x) #x
#define STR(x)  STR_(x)

/* ---- deadlines ---- */

int64_t cairn_call_timeout_ms(int64_t deadline_ms, int64_t now_ms, int64_t cap_ms)
{
        int64_t t = cairn_deadline_remaining_ms(deadline_ms, now_ms);

        if (t <= 0)
                return t;
        if (cap_ms > 0 && cap_ms < t)
                t = cap_ms;
        return t;
}

int64_t cairn_deadline_min(int64_t a, int64_t b)
{
        if (a <= 0)
                return b > 0 ? b : 0;
        if (b <= 0)
                return a;
        return a < b ? a : b;
}

/* ---- configuration ---- */

struct item_def {
        const char *key;
        enum cairn_conf_type type;
        const char *def;
        double min, max;
        size_t offset;
        const char *desc;
};

#define F(field) offsetof(struct cairn_resilience_conf, field)

static const struct item_def item_defs[] = {
        { "max_attempts", CAIRN_CONF_INT, STR(D_MAX_ATTEMPTS), 1, 20, F(max_attempts),
          "attempts per call, the first included; 1 never retries" },
        { "base_ms", CAIRN_CONF_INT, STR(D_BASE_MS), 0, 600000, F(base_ms),
          "backoff before the first retry is drawn from [0, base_ms]; the ceiling doubles per retry" },
        { "cap_ms", CAIRN_CONF_INT, STR(D_CAP_MS), 0, 3600000, F(cap_ms),
          "the backoff ceiling never exceeds this (full jitter: wait = random(0, min(cap, base*2^n)))" },
        { "retry_on", CAIRN_CONF_STRING, D_RETRY_ON, 0, -1, F(retry_on),
          "comma-separated gRPC codes that are retried; empty retries nothing" },
        { "breaker_failures", CAIRN_CONF_INT, STR(D_FAILURES), 0, 100000, F(breaker_failures),
          "consecutive failures (UNAVAILABLE, DEADLINE_EXCEEDED) that open the breaker; 0 disables this rule" },
        { "breaker_failure_rate", CAIRN_CONF_DOUBLE, STR(D_FAILURE_RATE), 0, 1,
          F(breaker_failure_rate),
          "failure share of the last breaker_window calls that opens the breaker; 0 disables this rule" },
        { "breaker_window", CAIRN_CONF_INT, STR(D_WINDOW), 1, 1024, F(breaker_window),
          "calls the failure rate is computed over" },
        { "breaker_min_calls", CAIRN_CONF_INT, STR(D_MIN_CALLS), 1, 1024, F(breaker_min_calls),
          "calls the window must hold before the failure rate can open the breaker" },
        { "breaker_open_ms", CAIRN_CONF_INT, STR(D_OPEN_MS), 1, 3600000, F(breaker_open_ms),
          "how long an open breaker fails calls fast before letting probes through" },
        { "breaker_half_open_probes", CAIRN_CONF_INT, STR(D_PROBES), 1, 1000,
          F(breaker_half_open_probes),
          "calls let through half-open; all must succeed to close, one failure re-opens" },
        { "max_concurrent", CAIRN_CONF_INT, STR(D_MAX_CONCURRENT), 0, 1000000, F(max_concurrent),
          "bulkhead: calls in flight at once; more fail fast with RESOURCE_EXHAUSTED; 0 is unlimited" },
        { "timeout_ms", CAIRN_CONF_INT, STR(D_TIMEOUT_MS), 0, 3600000, F(timeout_ms),
          "cap on one attempt's timeout; 0: each attempt may use all the time left before the deadline" },
};

#define NITEMS (sizeof(item_defs) / sizeof(item_defs[0]))

void cairn_resilience_conf_init(struct cairn_resilience_conf *rconf, const char *dependency)
{
        char err[128];

        memset(rconf, 0, sizeof(*rconf));
        snprintf(rconf->dependency, sizeof(rconf->dependency), "%s", dependency);
        snprintf(rconf->title, sizeof(rconf->title), "Resilience: %s", dependency);
        rconf->max_attempts = D_MAX_ATTEMPTS;
        rconf->base_ms = D_BASE_MS;
        rconf->cap_ms = D_CAP_MS;
        rconf->retry_on = D_RETRY_ON;
        rconf->breaker_failures = D_FAILURES;
        rconf->breaker_failure_rate = D_FAILURE_RATE;
        rconf->breaker_window = D_WINDOW;
        rconf->breaker_min_calls = D_MIN_CALLS;
        rconf->breaker_open_ms = D_OPEN_MS;
        rconf->breaker_half_open_probes = D_PROBES;
        rconf->max_concurrent = D_MAX_CONCURRENT;
        rconf->timeout_ms = D_TIMEOUT_MS;
        cairn_retry_parse_codes(D_RETRY_ON, &rconf->retry_mask, err, sizeof(err));
}

static bool name_valid(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > 48)
                return false;
        for (const char *p = name; *p; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        }
        return true;
}

struct cairn_conf_item *cairn_resilience_conf_items(const char *dependency)
{
        struct cairn_conf_item *items;

        if (!name_valid(dependency))
                return NULL;
        items = calloc(NITEMS + 1, sizeof(*items));
        if (!items)
                abort();
        for (size_t i = 0; i < NITEMS; i++) {
                const struct item_def *d = &item_defs[i];
                char *name;

                if (asprintf(&name, "resilience.%s.%s", dependency, d->key) < 0)
                        abort();
                items[i] = (struct cairn_conf_item){ name,   d->type, d->def,    d->min,
                                                     d->max, 0,       d->offset, d->desc };
        }
        return items;
}

void cairn_resilience_conf_items_free(struct cairn_conf_item *items)
{
        if (!items)
                return;
        for (struct cairn_conf_item *it = items; it->name; it++)
                free((char *)it->name);
        free(items);
}

static int conf_check(const void *target, char *errstr, size_t errstr_size)
{
        /* The loader hands back the target it wrote into: ours, not const. */
        struct cairn_resilience_conf *rc = (struct cairn_resilience_conf *)target;
        const char *dep = rc->dependency[0] ? rc->dependency : "?";
        char why[160];

        if (cairn_retry_parse_codes(rc->retry_on, &rc->retry_mask, why, sizeof(why)) != 0) {
                snprintf(errstr, errstr_size, "config: resilience.%s.retry_on: %s", dep, why);
                return -1;
        }
        if (rc->cap_ms < rc->base_ms) {
                snprintf(errstr, errstr_size,
                         "config: resilience.%s.cap_ms: %lld is below base_ms %lld", dep,
                         rc->cap_ms, rc->base_ms);
                return -1;
        }
        if (rc->breaker_min_calls > rc->breaker_window) {
                snprintf(errstr, errstr_size,
                         "config: resilience.%s.breaker_min_calls: %lld is more than "
                         "breaker_window %lld, so the failure rate could never count",
                         dep, rc->breaker_min_calls, rc->breaker_window);
                return -1;
        }
        return 0;
}

struct cairn_conf_section cairn_resilience_conf_section(const struct cairn_conf_item *items,
                                                        struct cairn_resilience_conf *rconf)
{
        return (struct cairn_conf_section){ rconf->title, items, rconf, conf_check };
}

void cairn_resilience_breaker_conf(const struct cairn_resilience_conf *rconf,
                                   struct cairn_breaker_conf *out)
{
        out->failures = (int)rconf->breaker_failures;
        out->failure_rate = rconf->breaker_failure_rate;
        out->window = (int)rconf->breaker_window;
        out->min_calls = (int)rconf->breaker_min_calls;
        out->open_ms = rconf->breaker_open_ms;
        out->half_open_probes = (int)rconf->breaker_half_open_probes;
}

void cairn_resilience_retry_policy(const struct cairn_resilience_conf *rconf,
                                   struct cairn_retry_policy *out)
{
        out->max_attempts = (int)rconf->max_attempts;
        out->base_ms = rconf->base_ms;
        out->cap_ms = rconf->cap_ms;
        out->retry_on = rconf->retry_mask;
}

/* ---- a dependency ---- */

struct cairn_dependency {
        char name[64];
        struct cairn_retry_policy retry;
        int64_t timeout_ms;
        struct cairn_breaker *breaker;
        struct cairn_bulkhead *bulkhead;
        struct cairn_series *s_retries;
};

static struct cairn_metric *family_retries(struct cairn_metrics *reg)
{
        return cairn_metrics_counter(reg, "cairn_retries_total",
                                     "Attempts repeated after a retryable failure, by dependency",
                                     (const char *[]){ "dependency", NULL });
}

void cairn_resilience_metrics_register(struct cairn_metrics *metrics)
{
        family_retries(metrics);
        cairn_breaker_metrics_register(metrics);
        cairn_bulkhead_metrics_register(metrics);
}

struct cairn_dependency *cairn_dependency_new(const struct cairn_resilience_conf *rconf,
                                              struct cairn_metrics *metrics)
{
        struct cairn_dependency *dep = calloc(1, sizeof(*dep));
        struct cairn_breaker_conf bc;

        if (!dep)
                abort();
        snprintf(dep->name, sizeof(dep->name), "%s", rconf->dependency);
        cairn_resilience_retry_policy(rconf, &dep->retry);
        cairn_resilience_breaker_conf(rconf, &bc);
        dep->timeout_ms = rconf->timeout_ms;
        if (metrics)
                dep->s_retries = cairn_metric_series(family_retries(metrics),
                                                     (const char *[]){ dep->name });
        dep->breaker = cairn_breaker_new(dep->name, &bc, metrics, NULL, NULL);
        dep->bulkhead = cairn_bulkhead_new(dep->name, (int)rconf->max_concurrent, metrics);
        return dep;
}

void cairn_dependency_free(struct cairn_dependency *dep)
{
        if (!dep)
                return;
        cairn_breaker_free(dep->breaker);
        cairn_bulkhead_free(dep->bulkhead);
        free(dep);
}

const char *cairn_dependency_name(const struct cairn_dependency *dep)
{
        return dep->name;
}

struct cairn_breaker *cairn_dependency_breaker(struct cairn_dependency *dep)
{
        return dep->breaker;
}

bool cairn_dependency_failure(cairn_err_t err)
{
        return err == CAIRN_ERR_UNAVAILABLE || err == CAIRN_ERR_DEADLINE;
}

cairn_err_t cairn_dependency_enter(struct cairn_dependency *dep, struct cairn_status *st)
{
        if (!cairn_bulkhead_acquire(dep->bulkhead))
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "BULKHEAD_FULL",
                                        "too many calls to %s in flight (bulkhead full)",
                                        dep->name);
        return CAIRN_OK;
}

void cairn_dependency_leave(struct cairn_dependency *dep)
{
        cairn_bulkhead_release(dep->bulkhead);
}

cairn_err_t cairn_dependency_attempt(struct cairn_dependency *dep,
                                     struct cairn_breaker_ticket *ticket, struct cairn_status *st)
{
        if (!cairn_breaker_acquire(dep->breaker, ticket))
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "BREAKER_OPEN",
                                        "circuit breaker for %s is open: failing fast", dep->name);
        return CAIRN_OK;
}

void cairn_dependency_attempt_done(struct cairn_dependency *dep,
                                   const struct cairn_breaker_ticket *ticket, cairn_err_t err)
{
        cairn_breaker_record(dep->breaker, ticket, cairn_dependency_failure(err));
}

int64_t cairn_dependency_retry_delay(struct cairn_dependency *dep, int attempts, cairn_err_t err,
                                     int64_t deadline_ms, int64_t now_ms)
{
        int64_t remaining = cairn_deadline_remaining_ms(deadline_ms, now_ms);
        int64_t delay = cairn_retry_next(&dep->retry, attempts, err, remaining, MIN_ATTEMPT_MS,
                                         cairn_retry_rand, NULL);

        if (delay >= 0 && dep->s_retries)
                cairn_series_inc(dep->s_retries);
        return delay;
}

int64_t cairn_dependency_timeout_ms(const struct cairn_dependency *dep, int64_t deadline_ms,
                                    int64_t now_ms)
{
        return cairn_call_timeout_ms(deadline_ms, now_ms, dep->timeout_ms);
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

        while (ms > 0 && nanosleep(&ts, &ts) != 0)
                ;
}

cairn_err_t cairn_dependency_call(struct cairn_dependency *dep, int64_t deadline_ms,
                                  cairn_attempt_fn fn, void *opaque, struct cairn_status *st)
{
        struct cairn_breaker_ticket ticket;
        int attempts = 0;
        cairn_err_t err;

        err = cairn_dependency_enter(dep, st);
        if (err)
                return err;
        for (;;) {
                int64_t timeout = cairn_dependency_timeout_ms(dep, deadline_ms, cairn_now_ms());
                int64_t delay;

                if (timeout <= 0) {
                        err = cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, NULL,
                                               "deadline passed before calling %s", dep->name);
                        break;
                }
                err = cairn_dependency_attempt(dep, &ticket, st);
                if (err)
                        break;
                attempts++;
                err = fn(opaque, timeout, st);
                cairn_dependency_attempt_done(dep, &ticket, err);
                if (!err)
                        break;
                delay = cairn_dependency_retry_delay(dep, attempts, err, deadline_ms,
                                                     cairn_now_ms());
                if (delay < 0)
                        break;
                sleep_ms(delay);
        }
        cairn_dependency_leave(dep);
        return err;
}

/* Prometheus metrics: counters, gauges and histograms with labels, kept in a
 * registry and rendered in the text exposition format (version 0.0.4).
 *
 * Hot paths resolve a series once (cairn_metric_series) and then update it
 * with atomics; cairn_metric_*_l() look the series up by label values on each
 * call, for code paths where the labels vary. */
#ifndef CAIRN_METRICS_H
#define CAIRN_METRICS_H

#include <stddef.h>
#include <stdio.h>

#define CAIRN_METRIC_MAX_LABELS 4

struct cairn_metrics; /* a registry */
struct cairn_metric;  /* a family: name, help, type, label names */
struct cairn_series;  /* one set of label values of a family */

struct cairn_metrics *cairn_metrics_new(void);
void cairn_metrics_free(struct cairn_metrics *reg);

/* Registers a family. @p labels is a NULL-terminated list (NULL for none), at
 * most CAIRN_METRIC_MAX_LABELS. Strings are copied. Registering the same name
 * twice returns the existing family (types and labels must match: a mismatch
 * is a bug and asserts). The family lives as long as the registry. */
struct cairn_metric *cairn_metrics_counter(struct cairn_metrics *reg, const char *name,
                                           const char *help, const char *const *labels);
struct cairn_metric *cairn_metrics_gauge(struct cairn_metrics *reg, const char *name,
                                         const char *help, const char *const *labels);
/* @p buckets are the finite upper bounds, ascending; +Inf is implicit. */
struct cairn_metric *cairn_metrics_histogram(struct cairn_metrics *reg, const char *name,
                                             const char *help, const char *const *labels,
                                             const double *buckets, size_t nbuckets);

/* The series for @p values (as many as the family has labels; NULL when it
 * has none). Created on first use; lives as long as the registry. */
struct cairn_series *cairn_metric_series(struct cairn_metric *m, const char *const *values);

void cairn_series_inc(struct cairn_series *s);
void cairn_series_add(struct cairn_series *s, double v);     /* counters: v >= 0 */
void cairn_series_set(struct cairn_series *s, double v);     /* gauges */
void cairn_series_observe(struct cairn_series *s, double v); /* histograms */

/* Look-up-and-update shorthands. */
void cairn_metric_inc_l(struct cairn_metric *m, const char *const *values);
void cairn_metric_add_l(struct cairn_metric *m, const char *const *values, double v);
void cairn_metric_set_l(struct cairn_metric *m, const char *const *values, double v);
void cairn_metric_observe_l(struct cairn_metric *m, const char *const *values, double v);

/* Renders every family in registration order. Returns a malloc'ed,
 * NUL-terminated string the caller frees, and its length in @p lenp. */
char *cairn_metrics_render(struct cairn_metrics *reg, size_t *lenp);

/* Default latency buckets in seconds, 0.5 ms .. 10 s. */
extern const double cairn_metrics_latency_buckets[];
extern const size_t cairn_metrics_latency_nbuckets;

#endif

/* The metrics registry: families kept in registration order, their series
 * found by label values, updated with atomics and rendered in the Prometheus
 * text exposition format 0.0.4.
 *
 * Threads: registration and series creation take a mutex; finding an
 * existing series and updating it take none. Series are never removed before
 * the registry is freed, so a reader walking a hash chain needs only the
 * acquire load of the chain's head. */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/metrics.h"

/* Hash chains per family. Label sets are small by design (a label value per
 * ce_type or status code), so a fixed table keeps chains short without the
 * trouble of resizing under lock-free readers. */
#define SERIES_HASH_SIZE 64

enum type { COUNTER, GAUGE, HISTOGRAM };

static const char *const type_names[] = { "counter", "gauge", "histogram" };

struct cairn_series {
        struct cairn_metric *m;
        struct cairn_series *hnext; /* hash chain; fixed once published */
        struct cairn_series *next;  /* creation order, for rendering */
        uint64_t hash;
        char *values[CAIRN_METRIC_MAX_LABELS];
        /* Counters and gauges: the bit pattern of a double. Histograms: the
         * sum of observations, same encoding. */
        _Atomic uint64_t value;
        /* Histograms: per-bucket (not cumulative) counts, nbuckets + 1 with
         * the last for +Inf. The count is their total, so a rendering always
         * sees _count equal to the +Inf bucket. */
        _Atomic uint64_t *counts;
};

struct cairn_metric {
        char *name;
        char *help;
        enum type type;
        size_t nlabels;
        char *labels[CAIRN_METRIC_MAX_LABELS];
        double *buckets;
        size_t nbuckets;

        pthread_mutex_t lock; /* series creation and the creation-order list */
        _Atomic(struct cairn_series *) heads[SERIES_HASH_SIZE];
        struct cairn_series *first, *last;
        struct cairn_metric *next;
};

struct cairn_metrics {
        pthread_mutex_t lock; /* registration and the family list */
        struct cairn_metric *first, *last;
};

const double cairn_metrics_latency_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10 };
const size_t cairn_metrics_latency_nbuckets = sizeof(cairn_metrics_latency_buckets) /
                                              sizeof(cairn_metrics_latency_buckets[0]);

/* ---- small helpers ---- */

static void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n, size);

        if (!p)
                abort();
        return p;
}

static char *xstrdup(const char *s)
{
        char *p = strdup(s);

        if (!p)
                abort();
        return p;
}

static uint64_t dbits(double v)
{
        uint64_t u;

        memcpy(&u, &v, sizeof(u));
        return u;
}

static double dval(uint64_t u)
{
        double v;

        memcpy(&v, &u, sizeof(v));
        return v;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
        uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

        while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(dval(old) + v),
                                                      memory_order_relaxed, memory_order_relaxed))
                ;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names allow no colon. */
static bool name_valid(const char *s, bool colon)
{
        if (!s || !*s)
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                          (colon && c == ':') || (p != s && c >= '0' && c <= '9');

                if (!ok)
                        return false;
        }
        return true;
}

/* FNV-1a over the values, each followed by a 0xff byte (never valid inside
 * UTF-8) so that ("ab", "c") and ("a", "bc") differ. */
static uint64_t values_hash(const char *const *values, size_t n)
{
        uint64_t h = 14695981039346656037ULL;

        for (size_t i = 0; i < n; i++) {
                for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++) {
                        h ^= *p;
                        h *= 1099511628211ULL;
                }
                h ^= 0xff;
                h *= 1099511628211ULL;
        }
        return h;
}

static bool values_equal(const struct cairn_series *s, const char *const *values, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(s->values[i], values[i]) != 0)
                        return false;
        return true;
}

/* ---- registry ---- */

struct cairn_metrics *cairn_metrics_new(void)
{
        struct cairn_metrics *reg = xcalloc(1, sizeof(*reg));

        pthread_mutex_init(&reg->lock, NULL);
        return reg;
}

static void series_free(struct cairn_series *s)
{
        for (size_t i = 0; i < s->m->nlabels; i++)
                free(s->values[i]);
        free(s->counts);
        free(s);
}

static void family_free(struct cairn_metric *m)
{
        struct cairn_series *s = m->first;

        while (s) {
                struct cairn_series *next = s->next;

                series_free(s);
                s = next;
        }
        for (size_t i = 0; i < m->nlabels; i++)
                free(m->labels[i]);
        free(m->buckets);
        free(m->name);
        free(m->help);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

void cairn_metrics_free(struct cairn_metrics *reg)
{
        if (!reg)
                return;
        struct cairn_metric *m = reg->first;

        while (m) {
                struct cairn_metric *next = m->next;

                family_free(m);
                m = next;
        }
        pthread_mutex_destroy(&reg->lock);
        free(reg);
}

static size_t labels_count(const char *const *labels)
{
        size_t n = 0;

        while (labels && labels[n])
                n++;
        return n;
}

/* A second registration must describe the same family. */
static bool family_matches(const struct cairn_metric *m, enum type type, const char *const *labels,
                           size_t nlabels, const double *buckets, size_t nbuckets)
{
        if (m->type != type || m->nlabels != nlabels)
                return false;
        for (size_t i = 0; i < nlabels; i++)
                if (strcmp(m->labels[i], labels[i]) != 0)
                        return false;
        if (type != HISTOGRAM)
                return true;
        if (m->nbuckets != nbuckets)
                return false;
        for (size_t i = 0; i < nbuckets; i++)
                if (m->buckets[i] != buckets[i])
                        return false;
        return true;
}

static bool labels_valid(enum type type, const char *const *labels, size_t nlabels)
{
        if (nlabels > CAIRN_METRIC_MAX_LABELS)
                return false;
        for (size_t i = 0; i < nlabels; i++) {
                if (!name_valid(labels[i], false))
                        return false;
                /* Names starting with __ are reserved for Prometheus. */
                if (strncmp(labels[i], "__", 2) == 0)
                        return false;
                /* A histogram's le label is ours to add. */
                if (type == HISTOGRAM && strcmp(labels[i], "le") == 0)
                        return false;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(labels[i], labels[j]) == 0)
                                return false;
        }
        return true;
}

static struct cairn_series *series_create(struct cairn_metric *m, const char *const *values,
                                          uint64_t hash);

static struct cairn_metric *family_register(struct cairn_metrics *reg, const char *name,
                                            const char *help, enum type type,
                                            const char *const *labels, const double *buckets,
                                            size_t nbuckets)
{
        size_t nlabels = labels_count(labels);
        struct cairn_metric *m;
        bool valid = name_valid(name, true) && labels_valid(type, labels, nlabels);

        /* A bad name is a bug in the caller, not something to report. */
        assert(valid);
        (void)valid;
        assert(reg);
        assert(help);

        pthread_mutex_lock(&reg->lock);
        for (m = reg->first; m; m = m->next) {
                if (strcmp(m->name, name) == 0) {
                        bool same = family_matches(m, type, labels, nlabels, buckets, nbuckets);

                        assert(same);
                        (void)same;
                        pthread_mutex_unlock(&reg->lock);
                        return m;
                }
        }

        m = xcalloc(1, sizeof(*m));
        m->name = xstrdup(name);
        m->help = xstrdup(help);
        m->type = type;
        m->nlabels = nlabels;
        for (size_t i = 0; i < nlabels; i++)
                m->labels[i] = xstrdup(labels[i]);
        if (type == HISTOGRAM && nbuckets > 0) {
                m->buckets = xcalloc(nbuckets, sizeof(*m->buckets));
                memcpy(m->buckets, buckets, nbuckets * sizeof(*m->buckets));
                m->nbuckets = nbuckets;
        }
        pthread_mutex_init(&m->lock, NULL);
        for (size_t i = 0; i < SERIES_HASH_SIZE; i++)
                atomic_init(&m->heads[i], NULL);

        /* A family without labels has exactly one series: create it now so
         * that it renders (as zero) before the first update. */
        if (nlabels == 0) {
                pthread_mutex_lock(&m->lock);
                series_create(m, NULL, values_hash(NULL, 0));
                pthread_mutex_unlock(&m->lock);
        }

        if (reg->last)
                reg->last->next = m;
        else
                reg->first = m;
        reg->last = m;
        pthread_mutex_unlock(&reg->lock);
        return m;
}

struct cairn_metric *cairn_metrics_counter(struct cairn_metrics *reg, const char *name,
                                           const char *help, const char *const *labels)
{
        return family_register(reg, name, help, COUNTER, labels, NULL, 0);
}

struct cairn_metric *cairn_metrics_gauge(struct cairn_metrics *reg, const char *name,
                                         const char *help, const char *const *labels)
{
        return family_register(reg, name, help, GAUGE, labels, NULL, 0);
}

struct cairn_metric *cairn_metrics_histogram(struct cairn_metrics *reg, const char *name,
                                             const char *help, const char *const *labels,
                                             const double *buckets, size_t nbuckets)
{
        assert(nbuckets == 0 || buckets);
        for (size_t i = 0; i < nbuckets; i++) {
                assert(isfinite(buckets[i]));
                assert(i == 0 || buckets[i - 1] < buckets[i]);
        }
        return family_register(reg, name, help, HISTOGRAM, labels, buckets, nbuckets);
}

/* ---- series ---- */

static struct cairn_series *chain_find(struct cairn_metric *m, const char *const *values,
                                       uint64_t hash)
{
        struct cairn_series *s = atomic_load_explicit(&m->heads[hash % SERIES_HASH_SIZE],
                                                      memory_order_acquire);

        for (; s; s = s->hnext)
                if (s->hash == hash && values_equal(s, values, m->nlabels))
                        return s;
        return NULL;
}

/* Called with m->lock held. */
static struct cairn_series *series_create(struct cairn_metric *m, const char *const *values,
                                          uint64_t hash)
{
        struct cairn_series *s = xcalloc(1, sizeof(*s));
        _Atomic(struct cairn_series *) *head = &m->heads[hash % SERIES_HASH_SIZE];

        s->m = m;
        s->hash = hash;
        for (size_t i = 0; i < m->nlabels; i++)
                /* cppcheck-suppress nullPointer ; values is NULL only without labels */
                s->values[i] = xstrdup(values[i]);
        atomic_init(&s->value, dbits(0.0));
        if (m->type == HISTOGRAM) {
                s->counts = xcalloc(m->nbuckets + 1, sizeof(*s->counts));
                for (size_t i = 0; i <= m->nbuckets; i++)
                        atomic_init(&s->counts[i], 0);
        }

        /* Fully built before it becomes visible to lock-free readers. */
        s->hnext = atomic_load_explicit(head, memory_order_relaxed);
        atomic_store_explicit(head, s, memory_order_release);

        if (m->last)
                m->last->next = s;
        else
                m->first = s;
        m->last = s;
        return s;
}

struct cairn_series *cairn_metric_series(struct cairn_metric *m, const char *const *values)
{
        struct cairn_series *s;
        uint64_t hash;

        assert(m);
        assert(m->nlabels == 0 || values);
        for (size_t i = 0; i < m->nlabels; i++)
                assert(values[i]);

        hash = values_hash(values, m->nlabels);
        s = chain_find(m, values, hash);
        if (s)
                return s;

        pthread_mutex_lock(&m->lock);
        /* Another thread may have created it since we looked. */
        s = chain_find(m, values, hash);
        if (!s)
                s = series_create(m, values, hash);
        pthread_mutex_unlock(&m->lock);
        return s;
}

void cairn_series_inc(struct cairn_series *s)
{
        cairn_series_add(s, 1.0);
}

void cairn_series_add(struct cairn_series *s, double v)
{
        assert(s->m->type == COUNTER || s->m->type == GAUGE);
        /* A counter only goes up (this also refuses NaN). */
        assert(s->m->type != COUNTER || v >= 0);
        atomic_add_double(&s->value, v);
}

void cairn_series_set(struct cairn_series *s, double v)
{
        assert(s->m->type == GAUGE);
        atomic_store_explicit(&s->value, dbits(v), memory_order_relaxed);
}

void cairn_series_observe(struct cairn_series *s, double v)
{
        const struct cairn_metric *m = s->m;
        size_t i = 0;

        assert(m->type == HISTOGRAM);
        /* The first bucket whose upper bound is >= v; NaN and values above
         * the last bound land in +Inf. */
        while (i < m->nbuckets && !(v <= m->buckets[i]))
                i++;
        atomic_fetch_add_explicit(&s->counts[i], 1, memory_order_relaxed);
        atomic_add_double(&s->value, v);
}

void cairn_metric_inc_l(struct cairn_metric *m, const char *const *values)
{
        cairn_series_inc(cairn_metric_series(m, values));
}

void cairn_metric_add_l(struct cairn_metric *m, const char *const *values, double v)
{
        cairn_series_add(cairn_metric_series(m, values), v);
}

void cairn_metric_set_l(struct cairn_metric *m, const char *const *values, double v)
{
        cairn_series_set(cairn_metric_series(m, values), v);
}

void cairn_metric_observe_l(struct cairn_metric *m, const char *const *values, double v)
{
        cairn_series_observe(cairn_metric_series(m, values), v);
}

/* ---- rendering ---- */

struct buf {
        char *data;
        size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t n)
{
        if (b->len + n + 1 <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 4096;

        while (cap < b->len + n + 1)
                cap *= 2;
        char *p = realloc(b->data, cap);

        if (!p)
                abort();
        b->data = p;
        b->cap = cap;
}

static void buf_putn(struct buf *b, const char *s, size_t n)
{
        buf_reserve(b, n);
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
        buf_putn(b, s, strlen(s));
}

static void buf_putc(struct buf *b, char c)
{
        buf_putn(b, &c, 1);
}

/* Escapes backslash and newline, and the double quote when @p quote (label
 * values are quoted; HELP text is not). */
static void buf_put_escaped(struct buf *b, const char *s, bool quote)
{
        for (; *s; s++) {
                if (*s == '\\')
                        buf_puts(b, "\\\\");
                else if (*s == '\n')
                        buf_puts(b, "\\n");
                else if (quote && *s == '"')
                        buf_puts(b, "\\\"");
                else
                        buf_putc(b, *s);
        }
}

/* Integers print as integers; anything else in the shortest form that reads
 * back to the same double, so that bucket bounds read "0.005" rather than
 * "0.0050000000000000001". */
static void format_value(char *out, size_t size, double v)
{
        if (isnan(v)) {
                snprintf(out, size, "NaN");
        } else if (isinf(v)) {
                snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
        } else if (v == 0) {
                snprintf(out, size, "0"); /* also -0 */
        } else if (v == trunc(v) && fabs(v) < 1e15) {
                snprintf(out, size, "%.0f", v);
        } else {
                for (int prec = 15; prec <= 17; prec++) {
                        snprintf(out, size, "%.*g", prec, v);
                        if (strtod(out, NULL) == v)
                                break;
                }
        }
}

static void buf_put_value(struct buf *b, double v)
{
        char tmp[64];

        format_value(tmp, sizeof(tmp), v);
        buf_puts(b, tmp);
}

static void buf_put_uint(struct buf *b, uint64_t v)
{
        char tmp[32];

        snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
        buf_puts(b, tmp);
}

/* name{a="x",b="y",le="0.5"} with the le pair only when @p le is set. */
static void buf_put_series_name(struct buf *b, const struct cairn_metric *m,
                                const struct cairn_series *s, const char *suffix, const char *le)
{
        buf_puts(b, m->name);
        buf_puts(b, suffix);
        if (m->nlabels == 0 && !le)
                return;
        buf_putc(b, '{');
        for (size_t i = 0; i < m->nlabels; i++) {
                if (i > 0)
                        buf_putc(b, ',');
                buf_puts(b, m->labels[i]);
                buf_puts(b, "=\"");
                buf_put_escaped(b, s->values[i], true);
                buf_putc(b, '"');
        }
        if (le) {
                if (m->nlabels > 0)
                        buf_putc(b, ',');
                buf_puts(b, "le=\"");
                buf_puts(b, le);
                buf_putc(b, '"');
        }
        buf_putc(b, '}');
}

static void render_histogram(struct buf *b, const struct cairn_metric *m,
                             const struct cairn_series *s)
{
        uint64_t cumulative = 0;
        char le[64];

        for (size_t i = 0; i <= m->nbuckets; i++) {
                cumulative += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
                if (i < m->nbuckets)
                        format_value(le, sizeof(le), m->buckets[i]);
                else
                        snprintf(le, sizeof(le), "+Inf");
                buf_put_series_name(b, m, s, "_bucket", le);
                buf_putc(b, ' ');
                buf_put_uint(b, cumulative);
                buf_putc(b, '\n');
        }
        buf_put_series_name(b, m, s, "_sum", NULL);
        buf_putc(b, ' ');
        buf_put_value(b, dval(atomic_load_explicit(&s->value, memory_order_relaxed)));
        buf_putc(b, '\n');
        buf_put_series_name(b, m, s, "_count", NULL);
        buf_putc(b, ' ');
        buf_put_uint(b, cumulative);
        buf_putc(b, '\n');
}

static void render_family(struct buf *b, struct cairn_metric *m)
{
        buf_puts(b, "# HELP ");
        buf_puts(b, m->name);
        buf_putc(b, ' ');
        buf_put_escaped(b, m->help, false);
        buf_puts(b, "\n# TYPE ");
        buf_puts(b, m->name);
        buf_putc(b, ' ');
        buf_puts(b, type_names[m->type]);
        buf_putc(b, '\n');

        pthread_mutex_lock(&m->lock);
        for (const struct cairn_series *s = m->first; s; s = s->next) {
                if (m->type == HISTOGRAM) {
                        render_histogram(b, m, s);
                        continue;
                }
                buf_put_series_name(b, m, s, "", NULL);
                buf_putc(b, ' ');
                buf_put_value(b, dval(atomic_load_explicit(&s->value, memory_order_relaxed)));
                buf_putc(b, '\n');
        }
        pthread_mutex_unlock(&m->lock);
}

char *cairn_metrics_render(struct cairn_metrics *reg, size_t *lenp)
{
        struct buf b = { NULL, 0, 0 };

        assert(reg);
        buf_reserve(&b, 0);
        b.data[0] = '\0';
        pthread_mutex_lock(&reg->lock);
        for (struct cairn_metric *m = reg->first; m; m = m->next)
                render_family(&b, m);
        pthread_mutex_unlock(&reg->lock);
        if (lenp)
                *lenp = b.len;
        return b.data;
}

/* W3C trace context, sampling and spans; the OpenTelemetry environment is
 * read here and export is handed to otlp.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cairn/headers.h"
#include "cairn/hex.h"
#include "cairn/log.h"
#include "cairn/random.h"
#include "cairn/strlist.h"
#include "cairn/trace.h"
#include "otlp.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_DELAY_MS   1000
#define DEFAULT_QUEUE_MAX  2048
#define DEFAULT_BATCH_MAX  512
#define SHUTDOWN_BUDGET_MS 5000

/* Set once by cairn_trace_init() before `enabled` turns true (release),
 * read after seeing it true (acquire). */
static atomic_bool enabled;
static struct cairn_sampler sampler = { CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON, 1.0 };
static long shutdown_budget_ms = SHUTDOWN_BUDGET_MS;
static __thread struct cairn_span *current;

/* ---- ids ---- */

static bool hex_decode(const char *s, size_t nbytes, uint8_t *out)
{
        for (size_t i = 0; i < nbytes; i++) {
                /* lower-case only: the spec refuses upper case */
                int hi = cairn_hex_digit(s[2 * i], 1), lo = cairn_hex_digit(s[2 * i + 1], 1);

                if (hi < 0 || lo < 0)
                        return false;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return true;
}

static bool all_zero(const uint8_t *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

static void random_id(uint8_t *id, size_t n)
{
        do
                cairn_random(id, n);
        while (all_zero(id, n));
}

/* ---- traceparent ---- */

static bool is_ows(char c)
{
        return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
        while (*len > 0 && is_ows(**s)) {
                (*s)++;
                (*len)--;
        }
        while (*len > 0 && is_ows((*s)[*len - 1]))
                (*len)--;
}

bool cairn_traceparent_parse(const char *s, size_t len, struct cairn_span_ctx *out)
{
        uint8_t version, trace_id[16], span_id[8], flags;

        if (!s)
                return false;
        trim(&s, &len);
        if (len < CAIRN_TRACEPARENT_LEN)
                return false;
        if (!hex_decode(s, 1, &version) || version == 0xff)
                return false;
        /* Version 00 is exactly 55 characters; a later version may say more
         * after another dash, and is read by the part we understand. */
        if (version == 0 && len != CAIRN_TRACEPARENT_LEN)
                return false;
        if (len > CAIRN_TRACEPARENT_LEN && s[CAIRN_TRACEPARENT_LEN] != '-')
                return false;
        if (s[2] != '-' || s[35] != '-' || s[52] != '-')
                return false;
        if (!hex_decode(s + 3, 16, trace_id) || !hex_decode(s + 36, 8, span_id) ||
            !hex_decode(s + 53, 1, &flags))
                return false;
        if (all_zero(trace_id, 16) || all_zero(span_id, 8))
                return false;
        memcpy(out->trace_id, trace_id, 16);
        memcpy(out->span_id, span_id, 8);
        /* Of a later version only the flags we know are kept. */
        out->flags = version == 0 ? flags : (uint8_t)(flags & CAIRN_TRACE_FLAG_SAMPLED);
        out->remote = true;
        return true;
}

void cairn_traceparent_format(const struct cairn_span_ctx *ctx, char out[CAIRN_TRACEPARENT_LEN + 1])
{
        out[0] = '0';
        out[1] = '0';
        out[2] = '-';
        cairn_hex_encode(ctx->trace_id, 16, out + 3);
        out[35] = '-';
        cairn_hex_encode(ctx->span_id, 8, out + 36);
        out[52] = '-';
        cairn_hex_encode(&ctx->flags, 1, out + 53);
}

/* ---- tracestate ---- */

static bool is_lcalpha(char c)
{
        return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_keychar(char c)
{
        return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* key = simple-key / multi-tenant-key (W3C Trace Context level 1, 3.3.1.3.1). */
static bool key_valid(const char *k, size_t n)
{
        const char *at = memchr(k, '@', n);

        if (!at) {
                if (n < 1 || n > 256 || !is_lcalpha(k[0]))
                        return false;
                for (size_t i = 1; i < n; i++)
                        if (!is_keychar(k[i]))
                                return false;
                return true;
        }
        size_t tn = (size_t)(at - k), sn = n - tn - 1;
        const char *sys = at + 1;

        if (tn < 1 || tn > 241 || !(is_lcalpha(k[0]) || is_digit(k[0])))
                return false;
        for (size_t i = 1; i < tn; i++)
                if (!is_keychar(k[i]))
                        return false;
        if (sn < 1 || sn > 14 || !is_lcalpha(sys[0]))
                return false;
        for (size_t i = 1; i < sn; i++)
                if (!is_keychar(sys[i]))
                        return false;
        return true;
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
 * nblk-chr = %x21-2B / %x2D-3C / %x3E-7E */
static bool value_valid(const char *v, size_t n)
{
        if (n < 1 || n > 256)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)v[i];

                if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
                        return false;
        }
        return v[n - 1] != ' ';
}

bool cairn_tracestate_valid(const char *s, size_t len)
{
        const char *keys[CAIRN_TRACESTATE_MEMBERS];
        size_t keylens[CAIRN_TRACESTATE_MEMBERS];
        size_t members = 0, mlen;
        struct cairn_strlist it;
        const char *m;

        if (!s || len > CAIRN_TRACESTATE_MAX)
                return false;
        cairn_strlist_init(&it, s, len);
        while (cairn_strlist_next(&it, &m, &mlen)) {
                const char *eq;

                if (mlen == 0)
                        continue; /* empty list members are allowed */
                if (members == CAIRN_TRACESTATE_MEMBERS)
                        return false;
                eq = memchr(m, '=', mlen);
                if (!eq)
                        return false;
                size_t klen = (size_t)(eq - m);

                if (!key_valid(m, klen) || !value_valid(eq + 1, mlen - klen - 1))
                        return false;
                for (size_t i = 0; i < members; i++)
                        if (keylens[i] == klen && memcmp(keys[i], m, klen) == 0)
                                return false; /* a key appears once */
                keys[members] = m;
                keylens[members] = klen;
                members++;
        }
        return true;
}

bool cairn_trace_extract(const char *traceparent, const char *tracestate,
                         struct cairn_span_ctx *out)
{
        if (!traceparent || !traceparent[0] ||
            !cairn_traceparent_parse(traceparent, strlen(traceparent), out))
                return false;
        out->tracestate[0] = '\0';
        if (tracestate && tracestate[0]) {
                const char *s = tracestate;
                size_t len = strlen(tracestate);

                trim(&s, &len);
                if (cairn_tracestate_valid(s, len)) {
                        memcpy(out->tracestate, s, len);
                        out->tracestate[len] = '\0';
                }
        }
        return true;
}

/* ---- sampling ---- */

static const struct {
        const char *name;
        enum cairn_sampler_kind kind;
} sampler_names[] = {
        { "always_on", CAIRN_SAMPLER_ALWAYS_ON },
        { "always_off", CAIRN_SAMPLER_ALWAYS_OFF },
        { "traceidratio", CAIRN_SAMPLER_TRACEIDRATIO },
        { "parentbased_always_on", CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON },
        { "parentbased_always_off", CAIRN_SAMPLER_PARENTBASED_ALWAYS_OFF },
        { "parentbased_traceidratio", CAIRN_SAMPLER_PARENTBASED_TRACEIDRATIO },
};

bool cairn_sampler_parse(const char *name, const char *arg, struct cairn_sampler *out, char *why,
                         size_t why_size)
{
        size_t i;

        out->kind = CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON;
        out->ratio = 1.0;
        if (!name || !name[0])
                return true;
        for (i = 0; i < sizeof(sampler_names) / sizeof(sampler_names[0]); i++)
                if (strcasecmp(name, sampler_names[i].name) == 0)
                        break;
        if (i == sizeof(sampler_names) / sizeof(sampler_names[0])) {
                snprintf(why, why_size,
                         "OTEL_TRACES_SAMPLER: \"%s\" is not one of always_on, always_off, "
                         "traceidratio, parentbased_always_on, parentbased_always_off, "
                         "parentbased_traceidratio",
                         name);
                return false;
        }
        if (sampler_names[i].kind != CAIRN_SAMPLER_TRACEIDRATIO &&
            sampler_names[i].kind != CAIRN_SAMPLER_PARENTBASED_TRACEIDRATIO) {
                out->kind = sampler_names[i].kind;
                return true;
        }
        if (arg && arg[0]) {
                char *end;
                double r;

                errno = 0;
                r = strtod(arg, &end);
                /* !(r >= 0 && r <= 1) also refuses NaN */
                if (errno || end == arg || *end || !(r >= 0.0 && r <= 1.0)) {
                        snprintf(why, why_size,
                                 "OTEL_TRACES_SAMPLER_ARG: \"%s\" is not a ratio between 0 and 1",
                                 arg);
                        return false;
                }
                out->ratio = r;
        }
        out->kind = sampler_names[i].kind;
        return true;
}

/* As OpenTelemetry's TraceIdRatioBased: the last 8 bytes of the trace id,
 * read as a big-endian number without its top bit, below ratio * 2^63. */
static bool ratio_sample(double ratio, const uint8_t trace_id[16])
{
        uint64_t x = 0;

        if (ratio >= 1.0)
                return true;
        if (!(ratio > 0.0))
                return false;
        for (int i = 8; i < 16; i++)
                x = x << 8 | trace_id[i];
        return (x >> 1) < (uint64_t)(ratio * 9223372036854775808.0);
}

bool cairn_sampler_should_sample(const struct cairn_sampler *s, const struct cairn_span_ctx *parent,
                                 const uint8_t trace_id[16])
{
        switch (s->kind) {
        case CAIRN_SAMPLER_ALWAYS_ON:
                return true;
        case CAIRN_SAMPLER_ALWAYS_OFF:
                return false;
        case CAIRN_SAMPLER_TRACEIDRATIO:
                return ratio_sample(s->ratio, trace_id);
        case CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON:
                return parent ? (parent->flags & CAIRN_TRACE_FLAG_SAMPLED) != 0 : true;
        case CAIRN_SAMPLER_PARENTBASED_ALWAYS_OFF:
                return parent ? (parent->flags & CAIRN_TRACE_FLAG_SAMPLED) != 0 : false;
        case CAIRN_SAMPLER_PARENTBASED_TRACEIDRATIO:
                return parent ? (parent->flags & CAIRN_TRACE_FLAG_SAMPLED) != 0
                              : ratio_sample(s->ratio, trace_id);
        }
        return false;
}

/* ---- spans ---- */

bool cairn_trace_enabled(void)
{
        return atomic_load_explicit(&enabled, memory_order_acquire);
}

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct cairn_span *cairn_span_start(const char *name, enum cairn_span_kind kind,
                                    const struct cairn_span_ctx *parent)
{
        struct cairn_span *span;

        if (!cairn_trace_enabled())
                return NULL;
        span = calloc(1, sizeof(*span));
        if (!span)
                return NULL; /* tracing is best effort: the request goes on */
        if (parent) {
                memcpy(span->ctx.trace_id, parent->trace_id, 16);
                memcpy(span->parent_span_id, parent->span_id, 8);
                memcpy(span->ctx.tracestate, parent->tracestate, sizeof(span->ctx.tracestate));
                span->has_parent = true;
        } else {
                random_id(span->ctx.trace_id, 16);
        }
        random_id(span->ctx.span_id, 8);
        span->sampled = cairn_sampler_should_sample(&sampler, parent, span->ctx.trace_id);
        span->ctx.flags = span->sampled ? CAIRN_TRACE_FLAG_SAMPLED : 0;
        snprintf(span->name, sizeof(span->name), "%s", name ? name : "");
        span->kind = kind;
        cairn_hex_encode(span->ctx.trace_id, 16, span->trace_id_hex);
        cairn_hex_encode(span->ctx.span_id, 8, span->span_id_hex);
        cairn_traceparent_format(&span->ctx, span->traceparent);
        span->start_ns = now_ns();
        return span;
}

static struct cairn_attr *attr_add(struct cairn_span *span, const char *key,
                                   enum cairn_attr_type type)
{
        struct cairn_attr *a;

        if (span->nattrs == CAIRN_SPAN_MAX_ATTRS) {
                span->dropped_attrs++;
                return NULL;
        }
        a = &span->attrs[span->nattrs++];
        a->key = key;
        a->type = type;
        return a;
}

void cairn_span_set_str(struct cairn_span *span, const char *key, const char *value)
{
        struct cairn_attr *a;
        size_t len, room;

        if (!span || !value)
                return;
        len = strlen(value);
        room = sizeof(span->strings) - span->strings_len;
        if (room < 2) {
                span->dropped_attrs++;
                return;
        }
        if (len > room - 1) {
                len = room - 1;
                while (len > 0 && ((unsigned char)value[len] & 0xC0) == 0x80)
                        len--; /* never cut inside a UTF-8 sequence */
        }
        a = attr_add(span, key, CAIRN_ATTR_STRING);
        if (!a)
                return;
        a->v.off = (uint16_t)span->strings_len;
        memcpy(span->strings + span->strings_len, value, len);
        span->strings[span->strings_len + len] = '\0';
        span->strings_len += len + 1;
}

void cairn_span_set_int(struct cairn_span *span, const char *key, int64_t value)
{
        struct cairn_attr *a;

        if (!span)
                return;
        a = attr_add(span, key, CAIRN_ATTR_INT);
        if (a)
                a->v.i = value;
}

void cairn_span_set_bool(struct cairn_span *span, const char *key, bool value)
{
        struct cairn_attr *a;

        if (!span)
                return;
        a = attr_add(span, key, CAIRN_ATTR_BOOL);
        if (a)
                a->v.b = value;
}

void cairn_span_set_status(struct cairn_span *span, enum cairn_span_status status, const char *fmt,
                           ...)
{
        va_list ap;

        if (!span)
                return;
        span->status = status;
        span->status_msg[0] = '\0';
        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(span->status_msg, sizeof(span->status_msg), fmt, ap);
                va_end(ap);
        }
}

void cairn_span_end(struct cairn_span *span)
{
        if (!span)
                return;
        if (current == span)
                current = NULL;
        if (!span->sampled) {
                free(span);
                return;
        }
        span->end_ns = now_ns();
        cairn_otlp_enqueue(span);
}

void cairn_span_end_err(struct cairn_span *span, cairn_err_t err, const char *message)
{
        if (!span)
                return;
        if (err != CAIRN_OK) {
                cairn_span_set_status(span, CAIRN_SPAN_ERROR, "%s", message ? message : "");
                cairn_span_set_str(span, "error.type", cairn_err_str(err));
        }
        cairn_span_end(span);
}

/* ---- current span and propagation ---- */

struct cairn_span *cairn_trace_set_current(struct cairn_span *span)
{
        struct cairn_span *prev = current;

        current = span;
        return prev;
}

const struct cairn_span_ctx *cairn_trace_current(void)
{
        return current ? &current->ctx : NULL;
}

bool cairn_trace_inject_http(char out[CAIRN_TRACEPARENT_LEN + 1])
{
        if (!current) {
                out[0] = '\0';
                return false;
        }
        memcpy(out, current->traceparent, CAIRN_TRACEPARENT_LEN + 1);
        return true;
}

/* ---- HTTP server spans ---- */

static bool method_known(const char *m)
{
        static const char *const methods[] = { "GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                               "CONNECT", "OPTIONS", "TRACE", "PATCH" };

        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                if (strcmp(m, methods[i]) == 0)
                        return true;
        return false;
}

struct cairn_span *cairn_trace_http_server_start(const char *method, const char *route,
                                                 const char *path, const char *traceparent,
                                                 const char *tracestate, const char *server_address,
                                                 const char *user_agent)
{
        struct cairn_span_ctx parent;
        struct cairn_span *span;
        char name[CAIRN_SPAN_NAME_MAX];
        bool known;

        if (!cairn_trace_enabled())
                return NULL;
        /* Unknown methods are folded into "_OTHER", so span names stay few. */
        known = method && method_known(method);
        if (route && route[0])
                snprintf(name, sizeof(name), "%s %s", known ? method : "HTTP", route);
        else
                snprintf(name, sizeof(name), "%s", known ? method : "HTTP");
        span = cairn_span_start(name, CAIRN_SPAN_SERVER,
                                cairn_trace_extract(traceparent, tracestate, &parent) ? &parent
                                                                                      : NULL);
        cairn_span_set_str(span, "http.request.method", known ? method : "_OTHER");
        if (!known && method)
                cairn_span_set_str(span, "http.request.method_original", method);
        cairn_span_set_str(span, "url.path", path);
        cairn_span_set_str(span, "http.route", route && route[0] ? route : NULL);
        cairn_span_set_str(span, "server.address", server_address);
        cairn_span_set_str(span, "user_agent.original", user_agent);
        return span;
}

void cairn_trace_http_server_status(struct cairn_span *span, int status_code)
{
        if (!span)
                return;
        cairn_span_set_int(span, "http.response.status_code", status_code);
        if (status_code >= 500) {
                char code[16];

                snprintf(code, sizeof(code), "%d", status_code);
                cairn_span_set_str(span, "error.type", code);
                cairn_span_set_status(span, CAIRN_SPAN_ERROR, NULL);
        }
}

void cairn_trace_http_server_end(struct cairn_span *span, int status_code)
{
        cairn_trace_http_server_status(span, status_code);
        cairn_span_end(span);
}

/* ---- configuration from the environment ---- */

static const char *env(const char *name)
{
        const char *v = getenv(name);

        return v && v[0] ? v : NULL;
}

/* The first of @p specific, @p general that is set, parsed as a positive
 * integer; @p def otherwise (with a warning when set but bad). */
static long env_long(const char *specific, const char *general, long def)
{
        const char *name = env(specific) ? specific : general;
        const char *v = name ? env(name) : NULL;
        char *end;
        long n;

        if (!v)
                return def;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n <= 0) {
                cairn_log(WARN, "TRACE", "%s: \"%s\" is not a positive integer; using %ld", name, v,
                          def);
                return def;
        }
        return n;
}

static void kv_push(struct cairn_kv **list, size_t *n, const char *key, const char *value)
{
        struct cairn_kv *l = realloc(*list, (*n + 1) * sizeof(**list));

        if (!l)
                abort();
        l[*n].key = strdup(key);
        l[*n].value = strdup(value);
        if (!l[*n].key || !l[*n].value)
                abort();
        *list = l;
        (*n)++;
}

static const char *kv_find(const struct cairn_kv *list, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i].key, key) == 0)
                        return list[i].value;
        return NULL;
}

/* Resource attributes: service.name first (OTEL_SERVICE_NAME, else the one
 * in OTEL_RESOURCE_ATTRIBUTES, else cairn-<service>), then what
 * OTEL_RESOURCE_ATTRIBUTES says, then what Cairn adds when not given. */
static void resource_fill(struct cairn_otlp_conf *oc, const char *service)
{
        struct cairn_kv *attrs = NULL;
        size_t nattrs = 0;
        const char *v = env("OTEL_RESOURCE_ATTRIBUTES");
        char why[256], def[96], uuid[37];

        if (v && !cairn_kv_list_parse(v, &attrs, &nattrs, why, sizeof(why)))
                cairn_log(WARN, "TRACE", "OTEL_RESOURCE_ATTRIBUTES ignored: %s", why);
        snprintf(def, sizeof(def), "cairn-%s", service);
        const char *name = env("OTEL_SERVICE_NAME");

        if (!name)
                name = kv_find(attrs, nattrs, "service.name");
        if (!name)
                name = def;
        kv_push(&oc->resource, &oc->nresource, "service.name", name);
        for (size_t i = 0; i < nattrs; i++)
                if (strcmp(attrs[i].key, "service.name") != 0)
                        kv_push(&oc->resource, &oc->nresource, attrs[i].key, attrs[i].value);
        if (!kv_find(oc->resource, oc->nresource, "service.version"))
                kv_push(&oc->resource, &oc->nresource, "service.version", CAIRN_VERSION);
        if (!kv_find(oc->resource, oc->nresource, "service.instance.id")) {
                cairn_uuid(uuid);
                kv_push(&oc->resource, &oc->nresource, "service.instance.id", uuid);
        }
        kv_push(&oc->resource, &oc->nresource, "telemetry.sdk.name", "cairn");
        kv_push(&oc->resource, &oc->nresource, "telemetry.sdk.version", CAIRN_VERSION);
        cairn_kv_list_free(attrs, nattrs);
}

static char *traces_url(void)
{
        const char *v = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        char *url;

        if (v)
                return strdup(v); /* the signal's own endpoint is used as is */
        v = env("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (!v)
                return NULL;
        size_t len = strlen(v);

        while (len > 0 && v[len - 1] == '/')
                len--;
        url = malloc(len + sizeof("/v1/traces"));
        if (!url)
                abort();
        memcpy(url, v, len);
        memcpy(url + len, "/v1/traces", sizeof("/v1/traces"));
        return url;
}

int cairn_trace_init(const char *service, struct cairn_metrics *metrics, char *errstr,
                     size_t errstr_size)
{
        struct cairn_otlp_conf oc;
        const char *v;
        char why[300];

        if (cairn_trace_enabled())
                return 0;
        v = env("OTEL_SDK_DISABLED");
        if (v && strcasecmp(v, "true") == 0)
                return 0;
        v = env("OTEL_TRACES_EXPORTER");
        if (v && strcasecmp(v, "none") == 0)
                return 0;
        if (v && strcasecmp(v, "otlp") != 0)
                cairn_log(WARN, "TRACE",
                          "OTEL_TRACES_EXPORTER: \"%s\" is not supported; using otlp", v);
        memset(&oc, 0, sizeof(oc));
        oc.url = traces_url();
        if (!oc.url)
                return 0; /* no endpoint: tracing stays off */

        v = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
        if (!v)
                v = env("OTEL_EXPORTER_OTLP_PROTOCOL");
        if (v && strcmp(v, "http/json") != 0)
                cairn_log(WARN, "TRACE", "OTLP protocol \"%s\" is not supported; sending http/json",
                          v);
        if (!cairn_sampler_parse(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"),
                                 &sampler, why, sizeof(why)))
                cairn_log(WARN, "TRACE", "%s; using parentbased_always_on", why);
        const char *hnames[] = { "OTEL_EXPORTER_OTLP_HEADERS",
                                 "OTEL_EXPORTER_OTLP_TRACES_HEADERS" };

        for (size_t i = 0; i < 2; i++) {
                v = env(hnames[i]);
                if (v && !cairn_kv_list_parse(v, &oc.headers, &oc.nheaders, why, sizeof(why)))
                        cairn_log(WARN, "TRACE", "%s ignored: %s", hnames[i], why);
        }
        oc.timeout_ms = env_long("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT",
                                 DEFAULT_TIMEOUT_MS);
        oc.delay_ms = env_long("OTEL_BSP_SCHEDULE_DELAY", NULL, DEFAULT_DELAY_MS);
        oc.queue_max = (size_t)env_long("OTEL_BSP_MAX_QUEUE_SIZE", NULL, DEFAULT_QUEUE_MAX);
        oc.batch_max = (size_t)env_long("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", NULL, DEFAULT_BATCH_MAX);
        if (oc.batch_max > oc.queue_max)
                oc.batch_max = oc.queue_max;
        shutdown_budget_ms = oc.timeout_ms < SHUTDOWN_BUDGET_MS ? oc.timeout_ms
                                                                : SHUTDOWN_BUDGET_MS;
        resource_fill(&oc, service);

        char url[256];
        const char *sname = oc.resource[0].value;

        cairn_otlp_url_for_log(oc.url, url, sizeof(url));
        if (cairn_otlp_start(&oc, metrics, errstr, errstr_size) != 0) {
                cairn_otlp_conf_cleanup(&oc);
                return -1;
        }
        atomic_store_explicit(&enabled, true, memory_order_release);
        cairn_log(INFO, "TRACE", "tracing on: spans of %s to %s (sampler %s, ratio %g)", sname, url,
                  sampler_names[sampler.kind].name, sampler.ratio);
        return 0;
}

void cairn_trace_shutdown(void)
{
        if (!cairn_trace_enabled())
                return;
        atomic_store_explicit(&enabled, false, memory_order_release);
        cairn_otlp_stop(shutdown_budget_ms);
}

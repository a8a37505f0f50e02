/* The gateway's configuration tables ("http.", "auth.", "ratelimit.",
 * "upstream.", "audio.", the pg section of libcairn; "http.", "ratelimit."
 * and "upstream." partly generated from the route table) and
 * the checks no single key's bounds express. Redis's section is libcairn's,
 * added by the service entry point. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cairn/strlist.h"
#include "conf.h"

#define CAIRN_CONF_STRUCT struct gateway_http_conf
static const struct cairn_conf_item http_items[] = {
        CAIRN_CONF_ROW("http.address", CAIRN_CONF_STRING, "0.0.0.0", 0, -1, 0, address,
                       "address the API listens on"),
        CAIRN_CONF_ROW("http.port", CAIRN_CONF_INT, "8080", 0, 65535, 0, port,
                       "API port; 0 picks a free one"),
        CAIRN_CONF_ROW(
                "http.threads", CAIRN_CONF_INT, "2", 1, 64, 0, threads,
                "event-loop threads (each an epoll loop); requests waiting on Kafka hold none"),
        CAIRN_CONF_ROW("http.connection_limit", CAIRN_CONF_INT, "4096", 1, 1000000, 0,
                       connection_limit, "open connections at most; more are refused at accept"),
        CAIRN_CONF_ROW("http.per_ip_connection_limit", CAIRN_CONF_INT, "256", 0, 1000000, 0,
                       per_ip_connection_limit,
                       "open connections per client address, more are refused at accept; 0: no "
                       "limit (behind a load balancer, its addresses are the clients)"),
        CAIRN_CONF_ROW("http.connection_timeout_s", CAIRN_CONF_INT, "10", 1, 3600, 0,
                       connection_timeout_s,
                       "a connection with nothing sent or received for this long is closed"),
        CAIRN_CONF_ROW(
                "http.header_timeout_ms", CAIRN_CONF_INT, "10000", 100, 3600000, 0,
                header_timeout_ms,
                "time a client has to send a request's headers, from connecting or from its previous "
                "answer; slower clients (and idle keep-alive connections) are closed"),
        CAIRN_CONF_ROW("http.body_grace_ms", CAIRN_CONF_INT, "10000", 100, 3600000, 0,
                       body_grace_ms,
                       "time a request's body may take at any rate, from the end of its headers"),
        CAIRN_CONF_ROW("http.body_min_rate", CAIRN_CONF_INT, "16384", 1, 1073741824, 0,
                       body_min_rate,
                       "bytes per second a body must average after http.body_grace_ms; slower "
                       "clients are closed"),
        CAIRN_CONF_ROW("http.max_header_bytes", CAIRN_CONF_INT, "16384", 1024, 1048576, 0,
                       max_header_bytes, "request line and headers larger than this get 431"),
        CAIRN_CONF_ROW("http.max_body_bytes", CAIRN_CONF_INT, "2097152", 1024, 67108864, 0,
                       max_body_bytes, "request bodies larger than this get 413"),
        CAIRN_CONF_ROW("http.max_json_depth", CAIRN_CONF_INT, "16", 2, 256, 0, max_json_depth,
                       "deepest JSON nesting accepted in a body (400 beyond)"),
        CAIRN_CONF_ROW(
                "http.max_inflight", CAIRN_CONF_INT, "1024", 1, 1000000, 0, max_inflight,
                "requests waiting on Kafka at once; more get 503 with Retry-After before reaching Kafka"),
        CAIRN_CONF_ROW("http.idempotency_ttl_s", CAIRN_CONF_INT, "86400", 1, 2592000, 0,
                       idempotency_ttl_s,
                       "how long a response is kept for replays of its Idempotency-Key"),
        CAIRN_CONF_ROW(
                "http.cors_origins", CAIRN_CONF_STRING, "", 0, -1, 0, cors_origins,
                "origins allowed by CORS, comma-separated (\"*\": any); empty: no CORS headers"),
        CAIRN_CONF_ROW("http.cors_max_age_s", CAIRN_CONF_INT, "600", 0, 86400, 0, cors_max_age_s,
                       "Access-Control-Max-Age of preflight answers"),
        CAIRN_CONF_END,
};

#undef CAIRN_CONF_STRUCT
#define CAIRN_CONF_STRUCT struct gateway_auth_conf
static const struct cairn_conf_item auth_items[] = {
        CAIRN_CONF_ROW(
                "auth.keys_file", CAIRN_CONF_STRING, "", 0, -1, 0, keys_file,
                "YAML file of JWT verification keys (by kid) and API key hashes; see docs/api.md"),
        CAIRN_CONF_ROW("auth.hs256_secret", CAIRN_CONF_STRING, "", 0, -1, CAIRN_CONF_SECRET,
                       hs256_secret, "shared HS256 secret for tokens without a kid; empty: none"),
        CAIRN_CONF_ROW(
                "auth.hs256_secret_file", CAIRN_CONF_STRING, "", 0, -1, 0, hs256_secret_file,
                "file holding the HS256 secret (trailing newline ignored), readable by its owner "
                "only (mode 0600 or 0400; 0440 if root owns it); instead of auth.hs256_secret"),
        CAIRN_CONF_ROW("auth.issuer", CAIRN_CONF_STRING, "", 0, -1, 0, issuer,
                       "required iss claim of JWTs; empty: not checked"),
        CAIRN_CONF_ROW("auth.audience", CAIRN_CONF_STRING, "", 0, -1, 0, audience,
                       "required aud claim (or member of it) of JWTs; empty: not checked"),
        CAIRN_CONF_ROW("auth.clock_skew_s", CAIRN_CONF_INT, "60", 0, 3600, 0, clock_skew_s,
                       "leeway for exp and nbf"),
        CAIRN_CONF_ROW("auth.require_exp", CAIRN_CONF_BOOL, "true", 0, -1, 0, require_exp,
                       "refuse JWTs without an exp claim"),
        CAIRN_CONF_ROW("auth.tenant_claim", CAIRN_CONF_STRING, "tenant", 0, -1, 0, tenant_claim,
                       "JWT claim naming the caller's tenant (required)"),
        CAIRN_CONF_ROW(
                "auth.role_claim", CAIRN_CONF_STRING, "role", 0, -1, 0, role_claim,
                "JWT claim naming the caller's role: owner, admin, member or viewer (required)"),
        CAIRN_CONF_ROW(
                "auth.jwt_cache_entries", CAIRN_CONF_INT, "1024", 0, 65536, 0, jwt_cache_entries,
                "verified JWTs kept so a repeated token skips parsing and the signature check "
                "(exp and nbf are checked on every use); 0: verify every request in full"),
        CAIRN_CONF_END,
};

#undef CAIRN_CONF_STRUCT
#define CAIRN_CONF_STRUCT struct gateway_ratelimit_conf
static const struct cairn_conf_item rl_items[] = {
        CAIRN_CONF_ROW("ratelimit.enabled", CAIRN_CONF_BOOL, "true", 0, -1, 0, enabled,
                       "rate limit authenticated requests (token buckets in Redis)"),
        CAIRN_CONF_ROW(
                "ratelimit.fail_mode", CAIRN_CONF_STRING, "open", 0, -1, 0, fail_mode,
                "when Redis is unreachable: open (limit per process instead) or closed (answer 503)"),
        CAIRN_CONF_ROW("ratelimit.default_per_minute", CAIRN_CONF_INT, "600", 0, 100000000, 0,
                       default_per_minute,
                       "requests per minute per principal and route class; 0: no limit"),
        CAIRN_CONF_ROW("ratelimit.default_per_hour", CAIRN_CONF_INT, "0", 0, 1000000000, 0,
                       default_per_hour,
                       "requests per hour per principal and route class; 0: no limit"),
        CAIRN_CONF_ROW("ratelimit.local_max_keys", CAIRN_CONF_INT, "65536", 16, 10000000, 0,
                       local_max_keys,
                       "buckets the per-process fallback limiter keeps before starting afresh"),
        CAIRN_CONF_END,
};

#undef CAIRN_CONF_STRUCT
#define CAIRN_CONF_STRUCT struct gateway_audio_conf
static const struct cairn_conf_item audio_items[] = {
        CAIRN_CONF_ROW(
                "audio.inline_max_bytes", CAIRN_CONF_INT, "524288", 0, 67108864, 0,
                inline_max_bytes,
                "POST /v1/audio/transcriptions: uploads up to this size travel to the speech "
                "service inside the Kafka message; larger ones are stored by claim check "
                "when pg.url is set (else sent inline, up to Kafka's message limit)"),
        CAIRN_CONF_ROW("audio.claims_ttl_s", CAIRN_CONF_INT, "3600", 60, 604800, 0, claims_ttl_s,
                       "how long an upload stored by claim check is kept, in seconds"),
        CAIRN_CONF_ROW("audio.claim_timeout_ms", CAIRN_CONF_INT, "10000", 100, 600000, 0,
                       claim_timeout_ms,
                       "time to store an upload or fetch synthesised audio by claim check"),
        CAIRN_CONF_END,
};

static int http_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct gateway_http_conf *h = target;
        struct cairn_strlist it;
        const char *o;
        size_t n;

        struct in6_addr addr;

        /* here, with the other keys, rather than when the server starts
         * after the bus: a typo is refused at once, broker or not */
        if (inet_pton(AF_INET, h->address, &addr) != 1 &&
            inet_pton(AF_INET6, h->address, &addr) != 1) {
                snprintf(errstr, errstr_size, "config: http.address: \"%s\" is not an IP address",
                         h->address);
                return -1;
        }
        cairn_strlist_init(&it, h->cors_origins, h->cors_origins ? strlen(h->cors_origins) : 0);
        while (cairn_strlist_next(&it, &o, &n)) {
                if (n == 0 || (!(n == 1 && o[0] == '*') && strncmp(o, "http://", 7) != 0 &&
                               strncmp(o, "https://", 8) != 0)) {
                        snprintf(errstr, errstr_size,
                                 "config: http.cors_origins: \"%.*s\" is not \"*\" or an origin "
                                 "such as https://app.example.com",
                                 (int)n, o);
                        return -1;
                }
        }
        return 0;
}

static int rl_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct gateway_ratelimit_conf *rl = target;

        if (strcmp(rl->fail_mode, "open") != 0 && strcmp(rl->fail_mode, "closed") != 0) {
                snprintf(errstr, errstr_size,
                         "config: ratelimit.fail_mode: \"%s\" is not open or closed",
                         rl->fail_mode);
                return -1;
        }
        return 0;
}

static int auth_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct gateway_auth_conf *a = target;

        if (a->hs256_secret[0] && a->hs256_secret_file[0]) {
                snprintf(errstr, errstr_size,
                         "config: auth.hs256_secret_file: set either it or auth.hs256_secret");
                return -1;
        }
        if (!a->tenant_claim[0] || !a->role_claim[0]) {
                snprintf(errstr, errstr_size, "config: auth.%s: must not be empty",
                         a->tenant_claim[0] ? "role_claim" : "tenant_claim");
                return -1;
        }
        return 0;
}

/* ---- the settings the route table implies ---- */

/* A table being built: the fixed rows first, then generated ones whose
 * strings the table owns (freed by table_free()). */
struct table {
        struct cairn_conf_item *items;
        size_t n, cap;
};

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                abort();
        return s;
}

static void table_add(struct table *t, const struct cairn_conf_item *it)
{
        if (t->n + 2 > t->cap) {
                t->cap = t->cap ? t->cap * 2 : 32;
                t->items = realloc(t->items, t->cap * sizeof(*t->items));
                if (!t->items)
                        abort();
        }
        t->items[t->n++] = *it;
        memset(&t->items[t->n], 0, sizeof(*t->items)); /* the NULL row */
}

/* Starts @p t with the rows of @p fixed (NULL: none), ending with the NULL row. */
static void table_start(struct table *t, const struct cairn_conf_item *fixed)
{
        static const struct cairn_conf_item end = CAIRN_CONF_END;

        *t = (struct table){ 0 };
        table_add(t, &end); /* room, and the NULL row */
        t->n = 0;
        for (const struct cairn_conf_item *it = fixed; it && it->name; it++)
                table_add(t, it);
}

/* Rows of a static table, its NULL row left out. */
static size_t rows(const struct cairn_conf_item *fixed)
{
        size_t n = 0;

        while (fixed && fixed[n].name)
                n++;
        return n;
}

/* "POST /v1/embeddings, GET /v1/models": the routes for which @p match holds. */
static char *routes_of(const struct gw_route *routes, const struct gw_route *like,
                       bool (*match)(const struct gw_route *a, const struct gw_route *b))
{
        char *out = dupf("%s", ""), *next;

        for (const struct gw_route *rt = routes; rt->method; rt++) {
                if (!match(rt, like))
                        continue;
                next = dupf("%s%s%s %s", out, out[0] ? ", " : "", rt->method, rt->path);
                free(out);
                out = next;
        }
        return out;
}

static bool same_timeout(const struct gw_route *a, const struct gw_route *b)
{
        return a->timeout_key && strcmp(a->timeout_key, b->timeout_key) == 0;
}

static bool same_class(const struct gw_route *a, const struct gw_route *b)
{
        return a->cls == b->cls;
}

static bool same_service(const struct gw_route *a, const struct gw_route *b)
{
        return a->service && strcmp(a->service, b->service) == 0;
}

static void table_free(struct cairn_conf_item *items, size_t nfixed)
{
        if (!items)
                return;
        for (size_t i = nfixed; items[i].name; i++) {
                free((char *)items[i].name);
                free((char *)items[i].def);
                free((char *)items[i].desc);
        }
        free(items);
}

static struct cairn_conf_item *http_table(const struct gw_route *routes,
                                          const struct gw_route_plan *plan)
{
        struct table t;

        table_start(&t, http_items);
        for (size_t i = 0; i < plan->ntimeouts; i++) {
                const struct gw_route *rt = plan->timeout_first[i];
                char *which = routes_of(routes, rt, same_timeout);
                struct cairn_conf_item it = {
                        dupf("http.%s_timeout_ms", rt->timeout_key),
                        CAIRN_CONF_INT,
                        dupf("%lld", rt->timeout_ms),
                        10,
                        600000,
                        0,
                        offsetof(struct gateway_http_conf, timeout_ms) + i * sizeof(long long),
                        dupf("%s: time for the reply, sent as cairn_deadline; 504 when it passes",
                             which),
                };

                free(which);
                table_add(&t, &it);
        }
        /* a body limit of their own for the rows that set one */
        for (size_t i = 0; i < plan->ntimeouts; i++) {
                const struct gw_route *rt = plan->timeout_first[i], *own = NULL;

                for (const struct gw_route *r = routes; r->method && !own; r++)
                        if (same_timeout(r, rt) && r->max_body_bytes)
                                own = r;
                if (!own)
                        continue;
                char *which = routes_of(routes, rt, same_timeout);
                struct cairn_conf_item it = {
                        dupf("http.%s_max_body_bytes", rt->timeout_key),
                        CAIRN_CONF_INT,
                        dupf("%lld", own->max_body_bytes),
                        1024,
                        1073741824,
                        0,
                        offsetof(struct gateway_http_conf, max_body_bytes_of) +
                                i * sizeof(long long),
                        dupf("%s: request bodies larger than this get 413 (instead of "
                             "http.max_body_bytes)",
                             which),
                };

                free(which);
                table_add(&t, &it);
        }
        return t.items;
}

static struct cairn_conf_item *rl_table(const struct gw_route *routes,
                                        const struct gw_route_plan *plan)
{
        struct table t;

        table_start(&t, rl_items);
        for (size_t i = 0; i < plan->nclasses; i++) {
                const struct gw_class *cls = plan->classes[i];
                const struct gw_route *like = NULL;
                char *which;

                if (!cls->limits_key)
                        continue;
                for (const struct gw_route *rt = routes; rt->method && !like; rt++)
                        if (rt->cls == cls)
                                like = rt;
                which = routes_of(routes, like, same_class);
                struct cairn_conf_item pm = {
                        dupf("ratelimit.%s_per_minute", cls->limits_key),
                        CAIRN_CONF_INT,
                        dupf("-1"),
                        -1,
                        100000000,
                        0,
                        offsetof(struct gateway_ratelimit_conf, classes) +
                                i * sizeof(struct gw_limits) +
                                offsetof(struct gw_limits, per_minute),
                        dupf("%s per minute; -1: the default; 0: no limit", which),
                };
                struct cairn_conf_item ph = {
                        dupf("ratelimit.%s_per_hour", cls->limits_key),
                        CAIRN_CONF_INT,
                        dupf("-1"),
                        -1,
                        1000000000,
                        0,
                        offsetof(struct gateway_ratelimit_conf, classes) +
                                i * sizeof(struct gw_limits) + offsetof(struct gw_limits, per_hour),
                        dupf("%s per hour; -1: the default; 0: no limit", which),
                };
                free(which);
                table_add(&t, &pm);
                table_add(&t, &ph);
        }
        return t.items;
}

static struct cairn_conf_item *upstream_table(const struct gw_route *routes,
                                              const struct gw_route_plan *plan)
{
        struct table t;

        table_start(&t, NULL);
        for (size_t i = 0; i < plan->nservices; i++) {
                const struct gw_route *like = NULL;
                char *which;

                for (const struct gw_route *rt = routes; rt->method && !like; rt++)
                        if (rt->service && strcmp(rt->service, plan->services[i]) == 0)
                                like = rt;
                which = routes_of(routes, like, same_service);
                struct cairn_conf_item it = {
                        dupf("upstream.%s_topic", plan->services[i]),
                        CAIRN_CONF_STRING,
                        dupf("cairn.%s.v1.requests", plan->services[i]),
                        0,
                        -1,
                        0,
                        offsetof(struct gateway_upstream_conf, topics) + i * sizeof(const char *),
                        dupf("topic the requests of %s go to; empty: the %s service is not "
                             "deployed behind this gateway (its routes answer 501; GET "
                             "/v1/models leaves it out)",
                             which, plan->services[i]),
                };
                free(which);
                table_add(&t, &it);
        }
        return t.items;
}

size_t gateway_conf_sections(struct gateway_conf *conf, const struct gw_route *routes,
                             struct cairn_conf_section *out, char *errstr, size_t errstr_size)
{
        if (!gw_route_plan_make(routes, &conf->plan, errstr, errstr_size))
                return 0;
        /* Classes without settings of their own take the defaults. */
        for (size_t i = 0; i < GW_CLASSES_MAX; i++)
                conf->rl.classes[i] = (struct gw_limits){ -1, -1 };
        conf->items[0] = http_table(routes, &conf->plan);
        conf->items[1] = rl_table(routes, &conf->plan);
        conf->items[2] = upstream_table(routes, &conf->plan);
        out[0] = (struct cairn_conf_section){ "HTTP API", conf->items[0], &conf->http, http_check };
        out[1] = (struct cairn_conf_section){ "Authentication", auth_items, &conf->auth,
                                              auth_check };
        out[2] = (struct cairn_conf_section){ "Rate limits", conf->items[1], &conf->rl, rl_check };
        out[3] = (struct cairn_conf_section){ "Upstream services", conf->items[2], &conf->upstream,
                                              NULL };
        out[4] = (struct cairn_conf_section){ "OpenAI audio", audio_items, &conf->audio, NULL };
        out[5] = (struct cairn_conf_section){ "PostgreSQL (claim check of audio)",
                                              cairn_pg_conf_items, &conf->pg, NULL };
        return GATEWAY_CONF_SECTIONS;
}

void gateway_conf_cleanup(struct gateway_conf *conf)
{
        /* the fixed rows' strings are static: only the generated ones go */
        table_free(conf->items[0], rows(http_items));
        table_free(conf->items[1], rows(rl_items));
        table_free(conf->items[2], 0);
        memset(conf->items, 0, sizeof(conf->items));
}

long long gateway_conf_timeout_ms(const struct gateway_conf *conf, const struct gw_route *rt)
{
        int i = gw_plan_timeout_index(&conf->plan, rt);

        return i < 0 ? 0 : conf->http.timeout_ms[i];
}

long long gateway_conf_max_body_bytes(const struct gateway_conf *conf, const struct gw_route *rt)
{
        int i = rt->max_body_bytes ? gw_plan_timeout_index(&conf->plan, rt) : -1;

        return i < 0 ? conf->http.max_body_bytes : conf->http.max_body_bytes_of[i];
}

const struct gw_limits *gateway_conf_limits(const struct gateway_conf *conf,
                                            const struct gw_class *cls)
{
        int i = gw_plan_class_index(&conf->plan, cls);

        return i < 0 ? NULL : &conf->rl.classes[i];
}

const char *gateway_conf_topic(const struct gateway_conf *conf, const char *service)
{
        int i = gw_plan_service_index(&conf->plan, service);

        return i < 0 ? NULL : conf->upstream.topics[i];
}

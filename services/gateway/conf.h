/* The gateway's configuration: the HTTP server, authentication, rate
 * limits, Redis, OpenAI's audio routes (with PostgreSQL for their claim
 * check), and the settings its route table implies (conf.c). */
#ifndef CAIRN_GATEWAY_CONF_H
#define CAIRN_GATEWAY_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/conf.h"
#include "cairn/pg.h"
#include "cairn/redis.h"
#include "route.h"

/* Limits of one class: per principal, per window; 0: no limit. */
struct gw_limits {
        long long per_minute;
        long long per_hour;
};

struct gateway_http_conf {
        const char *address;
        long long port;
        long long threads;
        long long connection_limit;
        long long per_ip_connection_limit;
        long long connection_timeout_s;
        long long header_timeout_ms;
        long long body_grace_ms;
        long long body_min_rate; /* bytes per second */
        long long max_header_bytes;
        long long max_body_bytes;
        long long max_json_depth;
        long long max_inflight;
        long long idempotency_ttl_s;
        const char *cors_origins; /* comma-separated; "*" allows any; empty: no CORS */
        long long cors_max_age_s;
        /* http.<key>_timeout_ms, one per timeout key of the route table */
        long long timeout_ms[GW_TIMEOUT_KEYS_MAX];
        /* http.<key>_max_body_bytes, for the timeout keys whose rows set
         * a body limit of their own */
        long long max_body_bytes_of[GW_TIMEOUT_KEYS_MAX];
};

struct gateway_auth_conf {
        const char *keys_file;    /* YAML: jwt_keys and api_keys (docs/api.md) */
        const char *hs256_secret; /* secret; HS256 key used for tokens without kid */
        const char *hs256_secret_file;
        const char *issuer;   /* empty: iss not checked */
        const char *audience; /* empty: aud not checked */
        long long clock_skew_s;
        bool require_exp;
        const char *tenant_claim;
        const char *role_claim;
        long long jwt_cache_entries; /* verified tokens kept; 0: none */
};

struct gateway_ratelimit_conf {
        bool enabled;
        const char *fail_mode; /* "open" or "closed" */
        long long default_per_minute;
        long long default_per_hour;
        long long local_max_keys;
        /* ratelimit.<key>_per_minute/_per_hour of each class of the route
         * table (-1: the defaults) */
        struct gw_limits classes[GW_CLASSES_MAX];
};

/* upstream.<service>_topic, one per service of the route table */
struct gateway_upstream_conf {
        const char *topics[GW_SERVICES_MAX];
};

/* OpenAI's audio routes: how uploads and synthesised audio travel. */
struct gateway_audio_conf {
        long long inline_max_bytes;
        long long claims_ttl_s;
        long long claim_timeout_ms;
};

struct gateway_conf {
        struct gw_route_plan plan;        /* what the route table implies */
        struct cairn_conf_item *items[3]; /* generated tables; gateway_conf_cleanup() frees them */
        struct gateway_http_conf http;
        struct gateway_upstream_conf upstream;
        struct gateway_auth_conf auth;
        struct gateway_ratelimit_conf rl;
        struct gateway_audio_conf audio;
        struct cairn_pg_conf pg; /* for claims; pg.url empty: none */
};

#define GATEWAY_CONF_SECTIONS 6

/* Fills @p out (room for GATEWAY_CONF_SECTIONS) with the gateway's sections
 * over @p conf: the fixed tables plus the settings @p routes implies (a
 * deadline per timeout key, limits per class, a topic per service). Returns
 * how many, or 0 with a message when the table breaks a rule. */
size_t gateway_conf_sections(struct gateway_conf *conf, const struct gw_route *routes,
                             struct cairn_conf_section *out, char *errstr, size_t errstr_size);
void gateway_conf_cleanup(struct gateway_conf *conf);

/* The deadline, body limit, limits and topic of @p rt under @p conf. */
long long gateway_conf_timeout_ms(const struct gateway_conf *conf, const struct gw_route *rt);
long long gateway_conf_max_body_bytes(const struct gateway_conf *conf, const struct gw_route *rt);
const struct gw_limits *gateway_conf_limits(const struct gateway_conf *conf,
                                            const struct gw_class *cls);
const char *gateway_conf_topic(const struct gateway_conf *conf, const char *service);

#endif

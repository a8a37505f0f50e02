/* The gateway's configuration tables ("http.", "auth.", "ratelimit." and
 * libcairn's "redis.") and the checks no single key's bounds express. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"

#define H(name, type, def, min, max, field, desc) \
        { name, type, def, min, max, 0, offsetof(struct gateway_http_conf, field), desc }
#define A(name, type, def, min, max, flags, field, desc) \
        { name, type, def, min, max, flags, offsetof(struct gateway_auth_conf, field), desc }
#define R(name, type, def, min, max, field, desc) \
        { name, type, def, min, max, 0, offsetof(struct gateway_ratelimit_conf, field), desc }

static const struct cairn_conf_item http_items[] = {
        H("http.address", CAIRN_CONF_STRING, "0.0.0.0", 0, -1, address,
          "address the API listens on"),
        H("http.port", CAIRN_CONF_INT, "8080", 0, 65535, port, "API port; 0 picks a free one"),
        H("http.threads", CAIRN_CONF_INT, "2", 1, 64, threads,
          "event-loop threads (each an epoll loop); requests waiting on Kafka hold none"),
        H("http.connection_limit", CAIRN_CONF_INT, "4096", 1, 1000000, connection_limit,
          "open connections at most; more are refused at accept"),
        H("http.per_ip_connection_limit", CAIRN_CONF_INT, "0", 0, 1000000,
          per_ip_connection_limit, "open connections per client address; 0: no limit"),
        H("http.connection_timeout_s", CAIRN_CONF_INT, "10", 1, 3600, connection_timeout_s,
          "a connection with nothing sent or received for this long is closed"),
        H("http.header_timeout_ms", CAIRN_CONF_INT, "10000", 100, 3600000, header_timeout_ms,
          "time a client has to send a request's headers, from connecting or from its previous "
          "answer; slower clients (and idle keep-alive connections) are closed"),
        H("http.max_header_bytes", CAIRN_CONF_INT, "16384", 1024, 1048576, max_header_bytes,
          "request line and headers larger than this get 431"),
        H("http.max_body_bytes", CAIRN_CONF_INT, "2097152", 1024, 67108864, max_body_bytes,
          "request bodies larger than this get 413"),
        H("http.max_json_depth", CAIRN_CONF_INT, "16", 2, 256, max_json_depth,
          "deepest JSON nesting accepted in a body (400 beyond)"),
        H("http.max_inflight", CAIRN_CONF_INT, "1024", 1, 1000000, max_inflight,
          "requests waiting on Kafka at once; more get 503 with Retry-After before reaching Kafka"),
        H("http.embeddings_timeout_ms", CAIRN_CONF_INT, "10000", 10, 600000,
          embeddings_timeout_ms,
          "POST /v1/embeddings: time for the reply, sent as cairn_deadline; 504 when it passes"),
        H("http.models_timeout_ms", CAIRN_CONF_INT, "5000", 10, 600000, models_timeout_ms,
          "GET /v1/models: time for the reply, sent as cairn_deadline; 504 when it passes"),
        H("http.idempotency_ttl_s", CAIRN_CONF_INT, "86400", 1, 2592000, idempotency_ttl_s,
          "how long a response is kept for replays of its Idempotency-Key"),
        H("http.cors_origins", CAIRN_CONF_STRING, "", 0, -1, cors_origins,
          "origins allowed by CORS, comma-separated (\"*\": any); empty: no CORS headers"),
        H("http.cors_max_age_s", CAIRN_CONF_INT, "600", 0, 86400, cors_max_age_s,
          "Access-Control-Max-Age of preflight answers"),
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static const struct cairn_conf_item auth_items[] = {
        A("auth.keys_file", CAIRN_CONF_STRING, "", 0, -1, 0, keys_file,
          "YAML file of JWT verification keys (by kid) and API key hashes; see docs/api.md"),
        A("auth.hs256_secret", CAIRN_CONF_STRING, "", 0, -1, CAIRN_CONF_SECRET, hs256_secret,
          "shared HS256 secret for tokens without a kid; empty: none"),
        A("auth.hs256_secret_file", CAIRN_CONF_STRING, "", 0, -1, 0, hs256_secret_file,
          "file holding the HS256 secret (trailing newline ignored); instead of auth.hs256_secret"),
        A("auth.issuer", CAIRN_CONF_STRING, "", 0, -1, 0, issuer,
          "required iss claim of JWTs; empty: not checked"),
        A("auth.audience", CAIRN_CONF_STRING, "", 0, -1, 0, audience,
          "required aud claim (or member of it) of JWTs; empty: not checked"),
        A("auth.clock_skew_s", CAIRN_CONF_INT, "60", 0, 3600, 0, clock_skew_s,
          "leeway for exp and nbf"),
        A("auth.require_exp", CAIRN_CONF_BOOL, "true", 0, -1, 0, require_exp,
          "refuse JWTs without an exp claim"),
        A("auth.tenant_claim", CAIRN_CONF_STRING, "tenant", 0, -1, 0, tenant_claim,
          "JWT claim naming the caller's tenant (required)"),
        A("auth.role_claim", CAIRN_CONF_STRING, "role", 0, -1, 0, role_claim,
          "JWT claim naming the caller's role: owner, admin, member or viewer (required)"),
        A("auth.jwt_cache_entries", CAIRN_CONF_INT, "1024", 0, 65536, 0, jwt_cache_entries,
          "verified JWTs kept so a repeated token skips parsing and the signature check "
          "(exp and nbf are checked on every use); 0: verify every request in full"),
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static const struct cairn_conf_item rl_items[] = {
        R("ratelimit.enabled", CAIRN_CONF_BOOL, "true", 0, -1, enabled,
          "rate limit authenticated requests (token buckets in Redis)"),
        R("ratelimit.fail_mode", CAIRN_CONF_STRING, "open", 0, -1, fail_mode,
          "when Redis is unreachable: open (limit per process instead) or closed (answer 503)"),
        R("ratelimit.default_per_minute", CAIRN_CONF_INT, "600", 0, 100000000, default_per_minute,
          "requests per minute per principal and route class; 0: no limit"),
        R("ratelimit.default_per_hour", CAIRN_CONF_INT, "0", 0, 1000000000, default_per_hour,
          "requests per hour per principal and route class; 0: no limit"),
        R("ratelimit.embeddings_per_minute", CAIRN_CONF_INT, "-1", -1, 100000000,
          embeddings_per_minute, "POST /v1/embeddings per minute; -1: the default; 0: no limit"),
        R("ratelimit.embeddings_per_hour", CAIRN_CONF_INT, "-1", -1, 1000000000,
          embeddings_per_hour, "POST /v1/embeddings per hour; -1: the default; 0: no limit"),
        R("ratelimit.models_per_minute", CAIRN_CONF_INT, "-1", -1, 100000000, models_per_minute,
          "GET /v1/models per minute; -1: the default; 0: no limit"),
        R("ratelimit.models_per_hour", CAIRN_CONF_INT, "-1", -1, 1000000000, models_per_hour,
          "GET /v1/models per hour; -1: the default; 0: no limit"),
        R("ratelimit.local_max_keys", CAIRN_CONF_INT, "65536", 16, 10000000, local_max_keys,
          "buckets the per-process fallback limiter keeps before starting afresh"),
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static const struct cairn_conf_item upstream_items[] = {
        { "upstream.embedding_topic", CAIRN_CONF_STRING, "cairn.embedding.v1.requests", 0, -1, 0,
          offsetof(struct gateway_upstream_conf, embedding_topic),
          "topic /v1/embeddings and /v1/models requests go to" },
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static int http_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct gateway_http_conf *h = target;
        const char *p = h->cors_origins;

        while (p && *p) {
                size_t n = strcspn(p, ",");
                const char *o = p;

                while (n && *o == ' ') {
                        o++;
                        n--;
                }
                while (n && o[n - 1] == ' ')
                        n--;
                if (n == 0 || (!(n == 1 && o[0] == '*') && strncmp(o, "http://", 7) != 0 &&
                               strncmp(o, "https://", 8) != 0)) {
                        snprintf(errstr, errstr_size,
                                 "config: http.cors_origins: \"%.*s\" is not \"*\" or an origin "
                                 "such as https://app.example.com", (int)n, o);
                        return -1;
                }
                p += strcspn(p, ",");
                if (*p == ',')
                        p++;
        }
        return 0;
}

static int rl_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct gateway_ratelimit_conf *rl = target;

        if (strcmp(rl->fail_mode, "open") != 0 && strcmp(rl->fail_mode, "closed") != 0) {
                snprintf(errstr, errstr_size,
                         "config: ratelimit.fail_mode: \"%s\" is not open or closed", rl->fail_mode);
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

size_t gateway_conf_sections(struct gateway_conf *conf, struct cairn_conf_section *out)
{
        out[0] = (struct cairn_conf_section){ "HTTP API", http_items, &conf->http, http_check };
        out[1] = (struct cairn_conf_section){ "Authentication", auth_items, &conf->auth,
                                              auth_check };
        out[2] = (struct cairn_conf_section){ "Rate limits", rl_items, &conf->rl, rl_check };
        out[3] = (struct cairn_conf_section){ "Redis", cairn_redis_conf_items, &conf->redis, NULL };
        out[4] = (struct cairn_conf_section){ "Upstream services", upstream_items, &conf->upstream,
                                              NULL };
        return GATEWAY_CONF_SECTIONS;
}

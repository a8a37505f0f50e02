/* The HTTP gateway's pieces, each usable on its own: configuration,
 * authentication (JWT and API keys), the permission table, the OpenAI
 * request/response shapes, rate limiting and idempotency over Redis, and the
 * HTTP server that wires them to the bus. */
#ifndef CAIRN_GATEWAY_H
#define CAIRN_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <microhttpd.h>

#include "cairn/conf.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/err.h"
#include "cairn/redis.h"

struct cairn_metrics;
struct cairn_bus_client;

/* ---- configuration (conf.c) ---- */

struct gateway_http_conf {
        const char *address;
        long long port;
        long long threads;
        long long connection_limit;
        long long per_ip_connection_limit;
        long long connection_timeout_s;
        long long header_timeout_ms;
        long long max_header_bytes;
        long long max_body_bytes;
        long long max_json_depth;
        long long max_inflight;
        long long embeddings_timeout_ms;
        long long models_timeout_ms;
        long long idempotency_ttl_s;
        const char *cors_origins;    /* comma-separated; "*" allows any; empty: no CORS */
        long long cors_max_age_s;
};

struct gateway_auth_conf {
        const char *keys_file;       /* YAML: jwt_keys and api_keys (docs/api.md) */
        const char *hs256_secret;    /* secret; HS256 key used for tokens without kid */
        const char *hs256_secret_file;
        const char *issuer;          /* empty: iss not checked */
        const char *audience;        /* empty: aud not checked */
        long long clock_skew_s;
        bool require_exp;
        const char *tenant_claim;
        const char *role_claim;
        long long jwt_cache_entries;  /* verified tokens kept; 0: none */
};

struct gateway_ratelimit_conf {
        bool enabled;
        const char *fail_mode;       /* "open" or "closed" */
        long long default_per_minute;
        long long default_per_hour;
        long long embeddings_per_minute;
        long long embeddings_per_hour;
        long long models_per_minute;
        long long models_per_hour;
        long long local_max_keys;
};

struct gateway_upstream_conf {
        const char *embedding_topic;
};

struct gateway_conf {
        struct gateway_http_conf http;
        struct gateway_upstream_conf upstream;
        struct gateway_auth_conf auth;
        struct gateway_ratelimit_conf rl;
        struct cairn_redis_conf redis;
};

#define GATEWAY_CONF_SECTIONS 5

/* Fills @p out (room for GATEWAY_CONF_SECTIONS) with the gateway's sections over @p conf;
 * returns how many. */
size_t gateway_conf_sections(struct gateway_conf *conf, struct cairn_conf_section *out);

/* ---- roles and route classes (rbac.c) ---- */

enum gw_role {
        GW_ROLE_OWNER = 0,
        GW_ROLE_ADMIN,
        GW_ROLE_MEMBER,
        GW_ROLE_VIEWER,
        GW_ROLE__COUNT
};

enum gw_class {
        GW_CLASS_PUBLIC = 0,         /* no credentials needed: /v1/version, /openapi.json */
        GW_CLASS_MODELS_READ,
        GW_CLASS_EMBEDDINGS_CREATE,
        GW_CLASS__COUNT
};

const char *gw_role_str(enum gw_role role);
int gw_role_parse(const char *name);           /* -1 when unknown */
const char *gw_class_str(enum gw_class cls);
/* True when @p role may call routes of @p cls. */
bool gw_allowed(enum gw_class cls, enum gw_role role);
/* Writes the permission table as markdown (docs/api.md embeds it). */
void gw_rbac_doc(FILE *fp);

/* ---- authentication (auth.c) ---- */

#define GW_ID_MAX 128

struct gw_principal {
        char principal[GW_ID_MAX + 1];  /* JWT sub or the API key's principal */
        char tenant[GW_ID_MAX + 1];
        enum gw_role role;
        bool is_jwt;                    /* the credential may be forwarded */
};

struct gw_auth;

/* Loads keys: the HS256 secret of @p aconf and the keys file. Returns NULL
 * with a message naming the file, key or entry in @p errstr. @p aconf is
 * borrowed and must outlive the result. */
struct gw_auth *gw_auth_new(const struct gateway_auth_conf *aconf, char *errstr,
                            size_t errstr_size);
void gw_auth_free(struct gw_auth *auth);
size_t gw_auth_jwt_key_count(const struct gw_auth *auth);
size_t gw_auth_api_key_count(const struct gw_auth *auth);

/* Why a credential was refused: the RFC 6750 error code and a reason for
 * the log and the client (never containing the credential). */
struct gw_auth_error {
        const char *code;            /* "invalid_request" or "invalid_token" */
        char reason[160];
};

/* Checks the credentials of a request: @p authorization (the Authorization
 * header or NULL) and @p api_key (X-API-Key or NULL), at unix time @p now.
 * On success fills @p who and returns CAIRN_OK; otherwise returns
 * CAIRN_ERR_UNAUTHENTICATED with @p why filled. Thread-safe. */
cairn_err_t gw_auth_check(const struct gw_auth *auth, const char *authorization,
                          const char *api_key, int64_t now, struct gw_principal *who,
                          struct gw_auth_error *why);

/* SHA-256 of @p key as 64 lower-case hex digits (what the keys file stores). */
void gw_api_key_hash(const char *key, size_t len, char out[65]);

/* Registers the metrics of the cache of verified tokens (none when the
 * cache is off: auth.jwt_cache_entries 0). */
void gw_auth_metrics(struct gw_auth *auth, struct cairn_metrics *reg);

/* ---- verified JWTs (jwt_cache.c) ---- */

/* A token's time claims (unix seconds). */
struct gw_jwt_times {
        bool has_exp, has_nbf;
        double exp, nbf;
};

/* NULL when @p t holds at @p now, with @p skew_s of leeway either way; else
 * why not ("token expired", ...). */
const char *gw_jwt_times_refuse(const struct gw_jwt_times *t, int64_t now, long long skew_s);

struct gw_jwt_cache;

/* A cache of @p entries verified tokens (rounded up to a power of two);
 * NULL (every call a no-op) for 0. Thread-safe. */
struct gw_jwt_cache *gw_jwt_cache_new(size_t entries);
void gw_jwt_cache_metrics(struct gw_jwt_cache *c, struct cairn_metrics *reg);
void gw_jwt_cache_free(struct gw_jwt_cache *c);
/* True, with @p who, when @p token was verified before and its time claims
 * hold at @p now; a cached token whose time claims no longer hold is
 * dropped. */
bool gw_jwt_cache_get(struct gw_jwt_cache *c, const char *token, size_t len, int64_t now,
                      long long skew_s, struct gw_principal *who);
/* Keeps @p token, which passed every check, granting @p who. */
void gw_jwt_cache_put(struct gw_jwt_cache *c, const char *token, size_t len,
                      const struct gw_principal *who, const struct gw_jwt_times *t);


/* ---- request and response shapes (api.c) ---- */

#define GW_REQUEST_ID_MAX 64

/* True when @p id is usable as a request id: 1..64 bytes of [A-Za-z0-9._:-]. */
bool gw_request_id_valid(const char *id);

/* An error as the gateway answers it. */
struct gw_error {
        int status;                  /* HTTP status */
        const char *type;            /* OpenAI error type, e.g. invalid_request_error */
        const char *code;            /* short code, e.g. invalid_type; NULL → null */
        char param[128];             /* field, e.g. input[3]; empty → null */
        char message[512];
};

void gw_error_set(struct gw_error *e, int status, const char *code, const char *param,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The error type for a status (invalid_request_error, authentication_error, ...). */
const char *gw_error_type(int status);
/* Renders {"error":{...},"request_id":"..."}; malloc'ed, caller frees. */
char *gw_error_json(const struct gw_error *e, const char *request_id, size_t *lenp);
/* Fills @p e from a bus outcome: the HTTP status of @p st's code, its
 * message and field. */
void gw_error_from_status(struct gw_error *e, cairn_err_t code, const char *message,
                          const char *field);

/* A parsed POST /v1/embeddings body. Strings point into @p json owned here. */
struct gw_embed_req {
        void *json;                  /* the jansson document */
        const char **inputs;
        size_t n_inputs;
        const char *model;
        const char *user;
        uint32_t dimensions;
        bool base64;
};

/* Parses and validates @p body (@p len bytes): JSON nesting at most
 * @p max_depth, no duplicate keys, OpenAI's field types. On failure fills
 * @p e (400 with the field named) and returns false. On success the caller
 * calls gw_embed_req_cleanup(). */
bool gw_embed_req_parse(const char *body, size_t len, int max_depth, size_t max_inputs,
                        struct gw_embed_req *req, struct gw_error *e);
void gw_embed_req_cleanup(struct gw_embed_req *req);

/* Renders an EmbedReply the OpenAI way; @p base64 encodes each vector as
 * little-endian float32 bytes in base64. Malloc'ed, caller frees. */
char *gw_embed_reply_json(const Cairn__Embedding__V1__EmbedReply *reply, bool base64,
                          size_t *lenp);
/* Renders a ListModelsReply as OpenAI's model list. */
char *gw_models_reply_json(const Cairn__Embedding__V1__ListModelsReply *reply, size_t *lenp);

/* Depth of the deepest array/object nesting in @p s (strings skipped);
 * stops counting past @p limit. */
int gw_json_depth(const char *s, size_t len, int limit);

/* ---- rate limits (ratelimit.c) ---- */

struct gw_limits {
        long long per_minute;        /* 0: no limit */
        long long per_hour;
};

/* The outcome of one check, for the RateLimit-* headers. */
struct gw_rl_result {
        bool allowed;
        bool limited;                /* some limit applies (headers are sent) */
        bool degraded;               /* Redis was unreachable; decided locally or refused */
        long long limit;             /* of the tightest window */
        long long remaining;
        long long reset_s;           /* until that window's bucket is full again */
        long long retry_after_s;     /* when refused: until one request fits */
};

struct gw_ratelimit;

struct gw_ratelimit *gw_ratelimit_new(const struct gateway_ratelimit_conf *rlconf,
                                      struct cairn_redis *redis, struct cairn_metrics *metrics);
void gw_ratelimit_free(struct gw_ratelimit *rl);
/* The limits configured for @p cls. */
struct gw_limits gw_ratelimit_limits(const struct gw_ratelimit *rl, enum gw_class cls);
/* Takes one token for @p principal on @p cls. Thread-safe; blocks at most
 * the Redis timeouts. */
void gw_ratelimit_take(struct gw_ratelimit *rl, const char *tenant, const char *principal,
                       enum gw_class cls, struct gw_rl_result *out);

/* The in-process token bucket (also the fallback when Redis is down):
 * @p tokens and @p stamp_ms are the bucket's state, updated in place. */
bool gw_bucket_take(double *tokens, int64_t *stamp_ms, long long limit, int64_t window_ms,
                    int64_t now_ms, double *remaining, int64_t *retry_ms, int64_t *full_ms);

/* ---- idempotency (idem.c) ---- */

enum gw_idem_state {
        GW_IDEM_NEW,                 /* first time: go ahead, then gw_idem_store() */
        GW_IDEM_REPLAY,              /* same key and body: send the stored response */
        GW_IDEM_MISMATCH,            /* same key, other body: 422 */
        GW_IDEM_IN_PROGRESS,         /* the first request still runs: 409 */
        GW_IDEM_UNAVAILABLE,         /* Redis unreachable: go ahead without */
};

struct gw_idem_hit {
        int status;
        char *body;                  /* malloc'ed; caller frees */
        size_t len;
};

/* Claims @p key for this tenant and body hash. */
enum gw_idem_state gw_idem_begin(struct cairn_redis *redis, const char *tenant, const char *key,
                                 const char *body_hash, long long ttl_s, struct gw_idem_hit *hit);
/* Stores the response of a claimed key (or, for @p status >= 500, releases
 * the claim so a retry runs again). */
void gw_idem_finish(struct cairn_redis *redis, const char *tenant, const char *key,
                    const char *body_hash, long long ttl_s, int status, const char *body,
                    size_t len);
/* True when @p key is usable: 1..255 printable ASCII bytes. */
bool gw_idem_key_valid(const char *key);

/* ---- float32 as JSON text (float_fmt.c) ---- */

/* Longest text gw_float_format() writes, with its NUL: "-1.23456789e-38". */
#define GW_FLOAT_MAX 16

/* Writes @p v as printf("%.9g") would, which reads back as the same float;
 * "null" for NaN and infinities, which JSON cannot carry. Returns the length. */
size_t gw_float_format(float v, char out[GW_FLOAT_MAX]);

/* ---- the header deadline against slow clients (header_deadline.c) ---- */

struct gw_header_deadline;

/* Starts the sweeper that closes connections waiting longer than
 * @p timeout_ms for a request's headers (counted in a metric). */
struct gw_header_deadline *gw_header_deadline_start(long long timeout_ms,
                                                    struct cairn_metrics *metrics);
/* Call after the daemon stopped. */
void gw_header_deadline_stop(struct gw_header_deadline *hd);
/* MHD_OPTION_NOTIFY_CONNECTION callback, with the deadline as @p cls. */
void gw_header_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code);
/* A request's headers arrived: its connection is no longer waiting. */
void gw_header_deadline_headers_done(struct gw_header_deadline *hd, struct MHD_Connection *conn);
/* A request finished: the connection waits for the next one's headers. */
void gw_header_deadline_request_done(struct gw_header_deadline *hd, struct MHD_Connection *conn);

/* ---- the server (http.c) ---- */

struct gateway;

struct gateway_deps {
        const struct gateway_conf *conf;
        struct gw_auth *auth;
        struct gw_ratelimit *rl;     /* NULL: rate limiting off */
        struct cairn_redis *redis;
        struct cairn_bus_client *bus;
        struct cairn_metrics *metrics;
};

struct gateway *gateway_start(const struct gateway_deps *deps, char *errstr, size_t errstr_size);
int gateway_port(const struct gateway *gw);
/* Stops accepting, waits up to @p grace_ms for requests in flight. */
void gateway_drain(struct gateway *gw, long long grace_ms);
void gateway_stop(struct gateway *gw);
/* True while the broker answered the last background probe. */
bool gateway_broker_up(const struct gateway *gw);

/* ---- routes and the OpenAPI document (routes.c) ---- */

struct gw_route {
        const char *method;          /* "GET", "POST" */
        const char *path;
        enum gw_class cls;
        const char *operation;       /* operationId in openapi.json */
};

extern const struct gw_route gw_routes[];  /* ends with a NULL method */
/* The checked-in openapi.json, compiled in. */
extern const char gw_openapi_json[];
extern const size_t gw_openapi_json_len;

#endif

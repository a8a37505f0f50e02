/* What the gateway's integration tests share (gw_fixture.c): an HTTP client
 * on libcurl that keeps the status, headers and body of an answer, and the
 * keys file a test gateway reads its API keys and JWT keys from. */
#ifndef CAIRN_TESTS_GW_FIXTURE_H
#define CAIRN_TESTS_GW_FIXTURE_H

#include <stddef.h>

#include "harness.h"

/* An answer. */
struct gwf_resp {
        long status; /* -1: no answer */
        char *body;
        size_t len;
        char *headers;
        size_t hlen;
};

/* One request to 127.0.0.1:@p port; @p headers is NULL-terminated (may be
 * NULL), "Expect:" is always sent (no 100-continue); @p body (@p body_len
 * bytes) may be NULL. Returns the status. Call curl_global_init() first. */
long gwf_http(int port, const char *method, const char *path, const char *const *headers,
              const char *body, size_t body_len, struct gwf_resp *r);
/* The value of header @p name (case-insensitive) of @p r in a thread-local
 * buffer, or NULL. */
const char *gwf_resp_header(const struct gwf_resp *r, const char *name);
void gwf_resp_free(struct gwf_resp *r);

/* An API key of the keys file. */
struct gwf_api_key {
        const char *key, *principal, *tenant, *role;
};

/* Writes @p dir/keys.yaml: the lines of its jwt_keys list @p jwt_keys
 * (YAML, may be NULL) and the SHA-256 of each of the @p n API keys. */
void gwf_keys_write(const char *dir, const char *jwt_keys, const struct gwf_api_key *keys,
                    size_t n);

/* A gateway of a test on its broker: its keys file (the @p n API keys of
 * @p keys) in the broker's directory, its own Redis, a free API port,
 * replies on the test's cairn.gateway.replies, and @p extra_env
 * (NULL-terminated "NAME=value", e.g. an upstream topic; or NULL). Does not
 * wait for readiness. */
struct harness_broker;
struct gwf_gateway {
        struct harness_proc proc, redis;
        int http_port;
};
void gwf_gateway_start(struct gwf_gateway *g, const struct harness_broker *b,
                       const struct gwf_api_key *keys, size_t n, const char *const *extra_env);
/* SIGTERM (the exit status, as harness_service_stop()), then Redis killed. */
int gwf_gateway_stop(struct gwf_gateway *g);

#endif

/* Who is calling: roles, the principal a credential names, and the check of
 * JWTs (HS256/RS256/ES256 by kid) and API keys (auth.c). */
#ifndef CAIRN_GATEWAY_AUTH_H
#define CAIRN_GATEWAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"

struct cairn_metrics;
struct gateway_auth_conf;

enum gw_role {
        GW_ROLE_OWNER = 0,
        GW_ROLE_ADMIN,
        GW_ROLE_MEMBER,
        GW_ROLE_VIEWER,
        GW_ROLE__COUNT,
};

const char *gw_role_str(enum gw_role role);
int gw_role_parse(const char *name); /* -1 when unknown */

#define GW_ID_MAX 128

struct gw_principal {
        char principal[GW_ID_MAX + 1]; /* JWT sub or the API key's principal */
        char tenant[GW_ID_MAX + 1];
        enum gw_role role;
        bool is_jwt; /* the credential may be forwarded */
};

struct gw_auth;

/* Loads keys: the HS256 secret of @p aconf and the keys file. Secret files
 * are read under the policy of cairn_secret_file_read() (mode 0600 or 0400).
 * Returns NULL with a message naming the file, line, key or entry in
 * @p errstr. @p aconf is borrowed and must outlive the result. */
struct gw_auth *gw_auth_new(const struct gateway_auth_conf *aconf, char *errstr,
                            size_t errstr_size);
void gw_auth_free(struct gw_auth *auth);
size_t gw_auth_jwt_key_count(const struct gw_auth *auth);
size_t gw_auth_api_key_count(const struct gw_auth *auth);

/* Why a credential was refused: the RFC 6750 error code and a reason for
 * the log and the client (never containing the credential). */
struct gw_auth_error {
        const char *code; /* "invalid_request" or "invalid_token" */
        char reason[160];
};

/* Checks the credentials of a request: @p authorization (the Authorization
 * header or NULL) and @p api_key (X-API-Key or NULL), at unix time @p now.
 * On success fills @p who and returns CAIRN_OK; otherwise returns
 * CAIRN_ERR_UNAUTHENTICATED with @p why filled. Thread-safe. */
cairn_err_t gw_auth_check(const struct gw_auth *auth, const char *authorization,
                          const char *api_key, int64_t now, struct gw_principal *who,
                          struct gw_auth_error *why);

/* "Bearer <@p token>": a token sent as X-Vault-Token (Vault's clients)
 * checked as Authorization would be, JWT or API key alike. Malloc'ed, the
 * caller frees it; NULL when @p token is NULL or empty. */
char *gw_auth_bearer(const char *token);

/* SHA-256 of @p key as 64 lower-case hex digits (what the keys file stores). */
void gw_api_key_hash(const char *key, size_t len, char out[65]);

/* Registers the metrics of the cache of verified tokens (none when the
 * cache is off: auth.jwt_cache_entries 0). */
void gw_auth_metrics(struct gw_auth *auth, struct cairn_metrics *reg);

#endif

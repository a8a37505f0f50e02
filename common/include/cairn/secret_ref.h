/* Values a service reads from the secrets service by reference: a
 * configuration key names "<path>#<field>" (services/embedding/openai#api_key)
 * instead of holding the value, and the service fetches the secret at
 * <path> (its current version), opens the reply sealed to a key pair of the
 * process's own, and keeps the string <field> of the JSON object for a TTL.
 *
 * One background thread per struct cairn_secret_refs fetches every
 * reference: once at start, again each time a value reaches its TTL, and
 * at once when a caller needs a value it does not have. Callers are served
 * the cached value meanwhile, so a refresh never blocks them; a refresh that
 * fails keeps the last value in service until its hard expiry (expire_ms
 * after it was fetched), retried with a backoff from retry_ms up to the TTL,
 * and is counted in cairn_secret_fetches_total{secret,outcome="error"}. A
 * caller blocks only when there is no usable value, for at most its
 * deadline.
 *
 * Values are wiped (sodium_memzero) when replaced and when freed, and never
 * logged: logs and errors name the reference, never its value. The calls go
 * as principal conf->principal (default: the service's name) with role
 * "service", which the secrets service's default policy lets read
 * services/<principal>/<anything> of the tenant (docs/secrets.md). */
#ifndef CAIRN_SECRET_REF_H
#define CAIRN_SECRET_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/conf.h"
#include "cairn/err.h"
#include "cairn/status.h"

struct cairn_bus_client;
struct cairn_metrics;

#define CAIRN_SECRET_PATH_MAX  512 /* bytes of a reference's path */
#define CAIRN_SECRET_FIELD_MAX 256 /* bytes of a reference's field */
/* Room for a reference's name, "<path>#<field>", and its NUL. */
#define CAIRN_SECRET_NAME_MAX (CAIRN_SECRET_PATH_MAX + CAIRN_SECRET_FIELD_MAX + 2)
/* The role the calls are made as. */
#define CAIRN_SECRET_ROLE "service"

/* Settings, loaded through cairn_secret_ref_conf_items (section "Secrets
 * client", keys secrets_client.*). */
struct cairn_secret_ref_conf {
        const char *topic;     /* default cairn.secrets.v1.requests */
        const char *tenant;    /* the Kafka key of the calls: whose secrets; default "cairn" */
        const char *principal; /* "": the service's name */
        long long ttl_ms;      /* a value is fetched again when this old */
        long long expire_ms;   /* ... and served at most this long while refreshes fail */
        long long retry_ms;    /* first wait after a failed fetch; doubles up to ttl_ms */
        long long timeout_ms;  /* one fetch's deadline */
};

extern const struct cairn_conf_item cairn_secret_ref_conf_items[];

/* The section ("Secrets client") that loads into @p conf (borrowed: it must
 * outlive the loaded configuration), with its check: expire_ms >= ttl_ms. */
struct cairn_conf_section cairn_secret_ref_conf_section(struct cairn_secret_ref_conf *conf);

/* ---- references and values: pure functions ---- */

/* A reference, parsed. */
struct cairn_secret_ref_spec {
        char path[CAIRN_SECRET_PATH_MAX + 1];   /* "services/embedding/openai" */
        char field[CAIRN_SECRET_FIELD_MAX + 1]; /* "api_key" */
};

/* Parses @p text, "<path>#<field>", the value of configuration key @p key
 * (for messages). The path is a secrets path: segments separated by '/',
 * none empty, "." or "..", no leading or trailing '/'; the field is a
 * non-empty name; exactly one '#' between them; neither holds a control
 * character or is longer than its maximum. Returns 0, or -1 with a message
 * naming @p key in @p errstr ("config: <key>: ..."). */
int cairn_secret_ref_parse(const char *key, const char *text, struct cairn_secret_ref_spec *spec,
                           char *errstr, size_t errstr_size);

/* The value must be one token (an API key, a password sent in a header):
 * blanks around it are dropped, and what is left is non-empty printable
 * ASCII without spaces. */
#define CAIRN_SECRET_TOKEN 0x1

/* Extracts the string field spec->field from @p len bytes of @p json, a
 * secret's value (the JSON text of one object), checked as @p flags say.
 * Returns 0 with *@p value set to a malloc'ed, NUL-terminated copy of
 * *@p vlen bytes (the caller wipes and frees it), or -1 with a message
 * naming the field and the path, never the value, in @p why (not JSON: the
 * position only; not an object; the field missing; not a string, saying
 * what it is; not a token). Whatever the parse held of the value is wiped. */
int cairn_secret_ref_extract(const struct cairn_secret_ref_spec *spec, const char *json, size_t len,
                             unsigned flags, char **value, size_t *vlen, char *why,
                             size_t why_size);

/* ---- references kept fresh ---- */

struct cairn_secret_refs;
struct cairn_secret_ref;

/* Fetches the current version of the secret at @p path: on CAIRN_OK
 * *@p json is a malloc'ed copy of its JSON text (@p len bytes; the caller
 * wipes and frees it) and *@p version its version; otherwise @p st says why
 * (its message never holds a value). @locality the refresher thread. */
typedef cairn_err_t (*cairn_secret_fetch_fn)(void *opaque, const char *path, char **json,
                                             size_t *len, uint64_t *version,
                                             struct cairn_status *st);

/* References fetched from the secrets service through @p bus (borrowed,
 * must outlive the result; the service's own client): ReadRequest on
 * conf->topic keyed by conf->tenant, as conf->principal (NULL or "":
 * @p service) with role CAIRN_SECRET_ROLE, each reply sealed to a key pair
 * made here and opened with it. @p conf is borrowed and must outlive the
 * result; @p metrics may be NULL. Nothing is fetched before a reference is
 * added, and nothing here waits for the secrets service: it may come up
 * later. NULL when out of memory or libsodium cannot start. */
struct cairn_secret_refs *cairn_secret_refs_new(const struct cairn_secret_ref_conf *conf,
                                                const char *service, struct cairn_bus_client *bus,
                                                struct cairn_metrics *metrics);

/* The same with any fetch function (tests): @p fetch(@p opaque, ...). */
struct cairn_secret_refs *cairn_secret_refs_new_with(const struct cairn_secret_ref_conf *conf,
                                                     cairn_secret_fetch_fn fetch, void *opaque,
                                                     struct cairn_metrics *metrics);

/* Stops the refresher (waiting for a fetch under way, at most timeout_ms)
 * and frees every reference, their values wiped. NULL is fine. */
void cairn_secret_refs_free(struct cairn_secret_refs *refs);

/* Adds the reference @p text, the value of configuration key @p key (both
 * copied), whose values are checked as @p flags say (CAIRN_SECRET_TOKEN),
 * and asks the refresher to fetch it. Two keys naming the same reference
 * with the same flags share it. Returns the reference, owned by @p refs, or
 * NULL with a message naming @p key in @p errstr (cairn_secret_ref_parse()).
 * Any thread. */
struct cairn_secret_ref *cairn_secret_ref_add(struct cairn_secret_refs *refs, const char *key,
                                              const char *text, unsigned flags, char *errstr,
                                              size_t errstr_size);

/* "<path>#<field>": what messages and metrics call @p ref. Lives as long
 * as @p ref. */
const char *cairn_secret_ref_name(const struct cairn_secret_ref *ref);

/* Copies the current value of @p ref, NUL-terminated, into @p out (@p size
 * bytes; the caller wipes it when done): the cached one while it is usable,
 * even when older than the TTL (its refresh is under way). With no usable
 * value it waits for a fetch until @p deadline_ms (unix ms; 0: timeout_ms
 * from now), unless the last fetch failed less than retry_ms ago.
 * Returns CAIRN_OK, or CAIRN_ERR_UNAVAILABLE with a message naming the
 * reference and why it has no value (never a value) in @p st, reason
 * SECRET_UNAVAILABLE; CAIRN_ERR_EXHAUSTED when the value does not fit.
 * @locality any thread; never blocks while a usable value is cached. */
cairn_err_t cairn_secret_ref_get(struct cairn_secret_ref *ref, int64_t deadline_ms, char *out,
                                 size_t size, struct cairn_status *st);

/* The version the cached value came from; 0: none cached. Any thread. */
uint64_t cairn_secret_ref_version(struct cairn_secret_ref *ref);

/* ---- a provider's API key ---- */

/* The key a provider is called with, as <section>.api_key_file (read at
 * start) or <section>.api_key_secret (a reference, fetched in the
 * background) set it. */
struct cairn_api_key {
        char *value;                  /* the file's key; NULL: none, or ref */
        struct cairn_secret_ref *ref; /* borrowed; NULL: a file's key or none */
        char setting[64];             /* the key that names the key, for messages; "": none */
};

/* Checks the key's settings of section @p section ("speech.remote"),
 * whose provider is @p url ("": none): no key without a URL, not both
 * @p file and @p secret, a reference that parses. Returns 0, or -1 with
 * "config: <section>.<key>: ..." in @p errstr. */
int cairn_api_key_conf_check(const char *section, const char *url, const char *file,
                             const char *secret, char *errstr, size_t errstr_size);

/* Sets @p k up from @p file's key (read now) or the reference @p secret,
 * added to @p secrets (NULL: no client of the secrets service, an error
 * when @p secret is set); neither set: no key. Returns 0, or -1 with a
 * message in @p errstr. */
int cairn_api_key_init(struct cairn_api_key *k, const char *section, const char *file,
                       const char *secret, struct cairn_secret_refs *secrets, char *errstr,
                       size_t errstr_size);

/* Copies the key of the moment into @p out ("" when there is none): the
 * file's, or the secret's cached value, refreshed in the background so a
 * new version goes out without a restart. The caller wipes it. Returns
 * CAIRN_OK, or CAIRN_ERR_UNAVAILABLE with a message naming provider
 * @p name in @p st (a key too long for @p out is as unusable as a missing
 * one). */
cairn_err_t cairn_api_key_get(const struct cairn_api_key *k, const char *name, int64_t deadline_ms,
                              char *out, size_t size, struct cairn_status *st);

/* The same as an "Authorization: Bearer <key>" header line ("": none). */
cairn_err_t cairn_api_key_header(const struct cairn_api_key *k, const char *name,
                                 int64_t deadline_ms, char *out, size_t size,
                                 struct cairn_status *st);

/* The setting the key came from, for messages; NULL when there is none. */
const char *cairn_api_key_setting(const struct cairn_api_key *k);

/* Wipes and frees the file's key. */
void cairn_api_key_clear(struct cairn_api_key *k);

#endif

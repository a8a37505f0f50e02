/* What the secrets service's tests share: starting cairn-secrets on the
 * harness's broker and a fresh database with a root key file, and calls as
 * a given caller (tenant, principal, role) with values sealed both ways. */
#ifndef CAIRN_TEST_SECRETS_FIXTURE_H
#define CAIRN_TEST_SECRETS_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cairn/seal.h"
#include "cairn/secrets/v1/secrets.pb-c.h"
#include "harness.h"

/* A running service and a client to call it. */
struct sfx {
        struct harness_proc proc;
        struct harness_client client;
        struct cairn_seal_keys *me; /* the caller's key pair for reads */
        char pg_url[512];
        char key_file[600];
        const char *topic;
        const struct harness_broker *broker;
        /* the service key writes are sealed to, kept from the first write on */
        pthread_mutex_t key_lock;
        bool have_key;
        uint32_t key_version;
        uint8_t key[CAIRN_SEAL_KEY_BYTES];
};

/* The root key the fixture writes (a public test key). */
#define SFX_ROOT_KEY "k1 MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"

/* A new database and root key file, the service started on them with
 * @p extra_env (NULL-terminated, or NULL) and ready, a client. */
void sfx_start(struct sfx *f, const struct harness_broker *b, const char *const *extra_env);
/* Starts the service again on the same database and key (after a stop or
 * a kill), with @p extra_env. */
void sfx_restart(struct sfx *f, const char *const *extra_env);
void sfx_stop(struct sfx *f);

/* A call as @p principal of @p role in @p tenant (@p ce_id NULL: a new one). */
cairn_err_t sfx_call(struct sfx *f, const char *tenant, const char *principal, const char *role,
                     const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *reply_desc,
                     const char *ce_id, ProtobufCMessage **reply, struct cairn_status *st);

/* The service key: its version and public key. */
void sfx_service_key(struct sfx *f, uint32_t *version, uint8_t *pk);

/* Writes the JSON object @p json at @p path as alice of @p role in
 * @p tenant, sealed to the service key (fetched once, and again when the
 * service says it was retired, as a client would); @p cas < 0: none. */
cairn_err_t sfx_write(struct sfx *f, const char *tenant, const char *role, const char *path,
                      const char *json, long long cas, const char *ce_id, uint64_t *version,
                      struct cairn_status *st);

/* Reads @p path at @p version (0: current) as alice of @p role in
 * @p tenant and opens the value into @p json ("" for a deleted or
 * destroyed version); @p meta may be NULL. */
cairn_err_t sfx_read(struct sfx *f, const char *tenant, const char *role, const char *path,
                     uint64_t version, char *json, size_t size,
                     Cairn__Secrets__V1__VersionMetadata *meta, struct cairn_status *st);

/* One value of a query on the fixture's database; fails the test on error. */
void sfx_sql(struct sfx *f, const char *q, char *out, size_t size);

#endif

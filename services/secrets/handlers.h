/* What the secrets service's handlers share: one request's context (its
 * tenant from the key, the caller from cairn_principal and cairn_role, its
 * deadline, its audit row), the checks every request makes, and the end of
 * every request: its audit row and metrics (sreq.c). Handlers: data.c,
 * versions.c, meta.c, admin.c. */
#ifndef SECRETS_HANDLERS_H
#define SECRETS_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "cairn/bus.h"
#include "cairn/secrets/v1/secrets.pb-c.h"
#include "cairn/status.h"
#include "secrets.h"

#define SECRETS_TENANT_MAX 64

struct sreq {
        struct secrets_service *svc;
        struct cairn_request *req;
        char tenant[SECRETS_TENANT_MAX + 1];
        const char *principal, *role;
        int64_t deadline_us; /* monotonic */
        struct secrets_audit_row audit;
        bool audited;      /* appended inside the request's transaction */
        bool audit_failed; /* ... or that failed under audit_failure open */
};

/* Starts a request of @p operation on @p path ("" when none): the tenant
 * (the key up to its first '/'), the caller, the deadline. */
cairn_err_t sreq_init(struct sreq *c, struct cairn_request *req, const char *operation,
                      const char *path, struct cairn_status *st);

/* A secret's path, or INVALID_ARGUMENT on "path" saying what is wrong. */
cairn_err_t sreq_path(const struct sreq *c, const char *path, struct cairn_status *st);

/* The capabilities the caller has on @p path (policy.h). */
cairn_err_t sreq_caps(struct sreq *c, const char *path, unsigned *caps, struct cairn_status *st);

/* PERMISSION_DENIED unless the caller has one of @p need on @p path. */
cairn_err_t sreq_allow(struct sreq *c, const char *path, unsigned need, struct cairn_status *st);

/* PERMISSION_DENIED unless the caller's role is owner or admin. */
cairn_err_t sreq_admin(const struct sreq *c, struct cairn_status *st);

/* Appends the request's audit row inside its transaction, as "ok" at
 * @p version (the last thing a write's transaction does). */
cairn_err_t sreq_audit_tx(struct sreq *c, struct cairn_pg_conn *conn, uint64_t version,
                          char *errstr, size_t errstr_size);

/* Ends a request that ended with @p err: its audit row (unless appended in
 * its transaction) and metrics. Returns @p err, or UNAVAILABLE when the
 * audit row could not be appended under audit_failure closed (the reply
 * must then not go out). */
cairn_err_t sreq_finish(struct sreq *c, cairn_err_t err, struct cairn_status *st);

/* A PostgreSQL error as the request's status. */
cairn_err_t sreq_pg_status(cairn_err_t err, const char *errstr, struct cairn_status *st);

/* The reply of an earlier delivery of this request (by ce_id), unpacked
 * into the request's arena: CAIRN_OK with *@p reply set, NOT_FOUND when
 * there is none. */
cairn_err_t sreq_replay(const struct sreq *c, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **reply, struct cairn_status *st);

/* In a write's transaction: keeps @p reply under the request's ce_id. */
cairn_err_t sreq_reply_keep(struct cairn_pg_conn *conn, const struct sreq *c,
                            const ProtobufCMessage *reply, char *errstr, size_t errstr_size);

/* @p size bytes of the request's arena. Replies are small beside the
 * request the arena was sized for, so a full one is a bug: it aborts. */
void *sreq_alloc(struct cairn_request *req, size_t size);

/* Unix microseconds as a Timestamp in the request's arena. */
Google__Protobuf__Timestamp *sreq_ts(const struct sreq *c, int64_t unix_us);
/* Seconds as a Duration in the request's arena. */
Google__Protobuf__Duration *sreq_duration(const struct sreq *c, int64_t seconds);
/* A Duration as whole seconds, or INVALID_ARGUMENT on @p field when it is
 * negative, fractional or over 100 years. */
cairn_err_t sreq_seconds(const Google__Protobuf__Duration *d, const char *field, int64_t *out,
                         struct cairn_status *st);

/* Handlers. */
#define SECRETS_HANDLER(name)                                                    \
        cairn_err_t name(struct cairn_request *req, const ProtobufCMessage *msg, \
                         ProtobufCMessage **reply, struct cairn_status *st)
SECRETS_HANDLER(secrets_write_handle);
SECRETS_HANDLER(secrets_patch_handle);
SECRETS_HANDLER(secrets_read_handle);
SECRETS_HANDLER(secrets_subkeys_handle);
SECRETS_HANDLER(secrets_delete_handle);
SECRETS_HANDLER(secrets_undelete_handle);
SECRETS_HANDLER(secrets_destroy_handle);
SECRETS_HANDLER(secrets_read_metadata_handle);
SECRETS_HANDLER(secrets_write_metadata_handle);
SECRETS_HANDLER(secrets_delete_metadata_handle);
SECRETS_HANDLER(secrets_list_handle);
SECRETS_HANDLER(secrets_get_config_handle);
SECRETS_HANDLER(secrets_set_config_handle);
SECRETS_HANDLER(secrets_service_key_handle);
SECRETS_HANDLER(secrets_rotate_handle);
SECRETS_HANDLER(secrets_key_status_handle);
SECRETS_HANDLER(secrets_put_policy_handle);
SECRETS_HANDLER(secrets_get_policy_handle);
SECRETS_HANDLER(secrets_list_policies_handle);
SECRETS_HANDLER(secrets_delete_policy_handle);
SECRETS_HANDLER(secrets_verify_audit_handle);

#endif

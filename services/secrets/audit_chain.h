/* The audit log's hash chain: each row's hash is SHA-256 over the previous
 * row's hash and the row's own fields, each length-prefixed (docs/secrets.md
 * gives the exact bytes), so editing, inserting or deleting a row breaks
 * every hash from there on. Pure: the service appends with it and
 * cairn-admin audit verify walks the table with it. */
#ifndef SECRETS_AUDIT_CHAIN_H
#define SECRETS_AUDIT_CHAIN_H

#include <stdint.h>

#define SECRETS_AUDIT_HASH_BYTES 32

/* One audited request, never the value. */
struct secrets_audit_row {
        uint64_t seq;
        int64_t at_us; /* unix microseconds */
        const char *tenant, *principal, *role;
        const char *operation; /* "write", "read", ... */
        const char *path;
        uint64_t version;
        const char *outcome; /* "ok", "denied", "error" */
        int32_t code;        /* gRPC code of the reply */
        const char *ce_id, *request_id;
};

/* The hash of @p row after the row whose hash is @p prev. */
void secrets_audit_hash(const uint8_t *prev, const struct secrets_audit_row *row, uint8_t *out);

#endif

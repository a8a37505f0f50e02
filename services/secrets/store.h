/* What the handlers share about stored secrets: times in SQL, a secret's
 * effective settings (its own, else the tenant's, else the defaults), and
 * rows into reply messages. */
#ifndef SECRETS_STORE_H
#define SECRETS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "handlers.h"

/* A timestamptz column as unix microseconds, and back from a parameter. */
#define SECRETS_SQL_US(col)    "(extract(epoch from " col ") * 1000000)::bigint"
#define SECRETS_SQL_FROM_US(p) "('epoch'::timestamptz + " p "::bigint * interval '1 microsecond')"

struct secrets_settings {
        uint64_t current_version, oldest_version;
        uint32_t max_versions; /* in effect: never 0 */
        bool cas_required;     /* the secret's or the tenant's */
        int64_t delete_version_after_s;
        const char *custom_metadata; /* JSON object text, in the request's arena */
};

/* In a write's transaction: makes @p path's metadata row when it has
 * none, then PERMISSION_DENIED (with @p st filled) unless @p caps hold
 * create (the secret is new) or update (it was there). */
cairn_err_t secrets_meta_claim(struct cairn_pg_conn *conn, const struct sreq *c, const char *path,
                               unsigned caps, struct cairn_status *st, char *errstr,
                               size_t errstr_size);

/* Locks @p path's metadata row in the transaction on @p conn and reads its
 * settings; NOT_FOUND when it has none. */
cairn_err_t secrets_settings_lock(struct cairn_pg_conn *conn, struct sreq *c, const char *path,
                                  struct secrets_settings *set, char *errstr, size_t errstr_size);

/* A version's metadata in the request's arena (@p deletion_us 0: none). */
Cairn__Secrets__V1__VersionMetadata *secrets_version_meta(const struct sreq *c, uint64_t version,
                                                          int64_t created_us, int64_t deletion_us,
                                                          bool destroyed);

/* custom_metadata (a JSON object of strings) as entries of a
 * map<string, string> field whose entry type is @p entry, in the request's
 * arena: every such entry is laid out as base, key, value. */
void secrets_custom_metadata(const struct sreq *c, const char *json,
                             const ProtobufCMessageDescriptor *entry, void *out, size_t *n);
#define SECRETS_CUSTOM_METADATA(c, json, msg, type)                                      \
        secrets_custom_metadata((c), (json), &type##__custom_metadata_entry__descriptor, \
                                &(msg)->custom_metadata, &(msg)->n_custom_metadata)

/* A JSON object's text as a Struct in the request's arena. */
Google__Protobuf__Struct *secrets_struct_from_json(const struct sreq *c, const char *json);

#endif

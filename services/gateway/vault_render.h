/* The answers of Vault's KV v2 API, byte for byte as Vault writes them:
 * its envelope (request_id, lease_id, renewable, lease_duration, data,
 * wrap_info, warnings, auth, mount_type) around data whose keys are sorted
 * as Go sorts a map's, times as RFC 3339 with nanoseconds, durations as Go
 * prints them, custom_metadata null when empty (vault_render.c). Each
 * returns a malloc'ed body the caller frees, and its status in *@p status
 * where it can be other than 200. */
#ifndef CAIRN_GATEWAY_VAULT_RENDER_H
#define CAIRN_GATEWAY_VAULT_RENDER_H

#include <stddef.h>

#include "cairn/secrets/v1/secrets.pb-c.h"

/* A read: data.data is @p plain (the opened JSON object, @p plain_len
 * bytes) beside the version's metadata. Without @p plain (a deleted or
 * destroyed version) Vault's 404: data.data null, the metadata, no mount
 * type. The body holds the secret: the caller wipes it. */
char *gw_vault_read_json(const char *request_id, const Cairn__Secrets__V1__ReadReply *reply,
                         const char *plain, size_t plain_len, int *status, size_t *lenp);

/* A write or patch: the new version's metadata. */
char *gw_vault_write_json(const char *request_id, const Cairn__Secrets__V1__WriteReply *reply,
                          size_t *lenp);

/* A secret's metadata, its versions keyed by their numbers. */
char *gw_vault_metadata_json(const char *request_id, const Cairn__Secrets__V1__MetadataReply *reply,
                             size_t *lenp);

/* A list's keys; none is Vault's 404 {"errors":[]}. */
char *gw_vault_list_json(const char *request_id, char *const *keys, size_t n, int *status,
                         size_t *lenp);

/* A version's subkeys and metadata. NULL when the subkeys do not render. */
char *gw_vault_subkeys_json(const char *request_id, const Cairn__Secrets__V1__SubkeysReply *reply,
                            size_t *lenp);

/* The mount's settings. */
char *gw_vault_config_json(const char *request_id, const Cairn__Secrets__V1__ConfigReply *reply,
                           size_t *lenp);

#endif

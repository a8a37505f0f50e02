/* The request bodies and query parameters of Vault's KV v2 API, read as
 * Vault reads them, into cairn.secrets.v1 messages (vault_parse.c). Every
 * refusal is a 400 naming the field, in words Vault's users know. Messages
 * and what they point to live in @p arena, which the caller resets. */
#ifndef CAIRN_GATEWAY_VAULT_PARSE_H
#define CAIRN_GATEWAY_VAULT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/arena.h"
#include "cairn/buf.h"
#include "cairn/secrets/v1/secrets.pb-c.h"
#include "error.h"

/* A secret's value: {"data": {...}, "options": {"cas": N}} (write and
 * patch). @p plain gets the compact JSON text of data exactly as sent
 * (member order and number spellings kept), in one allocation the caller
 * wipes; *@p cas is set only when options.cas was given. */
bool gw_vault_parse_value(const char *body, size_t len, int max_depth, struct cairn_buf *plain,
                          struct cairn_arena *arena, Google__Protobuf__UInt64Value **cas,
                          struct gw_error *e);

/* {"versions": [1, 2]} (also "1,2" or 1, as Vault takes them) for delete,
 * undelete and destroy; @p required: at least one. */
bool gw_vault_parse_versions(const char *body, size_t len, int max_depth, bool required,
                             struct cairn_arena *arena, uint64_t **versions, size_t *n,
                             struct gw_error *e);

/* A metadata write: max_versions, cas_required, delete_version_after,
 * custom_metadata (an object of strings) and Cairn's rotate_after, into
 * @p req (path and patch set by the caller). Without patch a given
 * custom_metadata replaces the present one (custom_metadata_set); with
 * patch a null value removes its key (remove_custom_keys). */
bool gw_vault_parse_metadata(const char *body, size_t len, int max_depth, bool patch,
                             struct cairn_arena *arena,
                             Cairn__Secrets__V1__WriteMetadataRequest *req, struct gw_error *e);

/* The mount's settings: max_versions, cas_required, delete_version_after. */
bool gw_vault_parse_config(const char *body, size_t len, int max_depth, struct cairn_arena *arena,
                           Cairn__Secrets__V1__SetConfigRequest *req, struct gw_error *e);

/* A query parameter that must be an integer from 0 to @p max. */
bool gw_vault_parse_uint(const char *name, const char *value, uint64_t max, uint64_t *out,
                         struct gw_error *e);

#endif

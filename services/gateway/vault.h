/* Vault's KV v2 API over the secrets service: one adapter per operation of
 * the mount "secret" (vault.c), each reading Vault's request into a
 * cairn.secrets.v1 message and the reply into Vault's answer. Values cross
 * Kafka only sealed (sealing.h): a write fetches the service's key first
 * when the gateway has none, and once more when a rotation retired it; a
 * read sends the gateway's key and opens what comes back. */
#ifndef CAIRN_GATEWAY_VAULT_H
#define CAIRN_GATEWAY_VAULT_H

#include "adapter.h"

/* Most keys one list answers with (every page of the service's, together). */
#define GW_VAULT_LIST_MAX_KEYS 100000

/* /v1/secret/data/{path*}: GET, POST and PUT, PATCH, DELETE */
extern const struct gw_adapter gw_vault_read;
extern const struct gw_adapter gw_vault_write;
extern const struct gw_adapter gw_vault_patch;
extern const struct gw_adapter gw_vault_delete_latest;
/* /v1/secret/{delete,undelete,destroy}/{path*}: POST {"versions": [...]} */
extern const struct gw_adapter gw_vault_delete;
extern const struct gw_adapter gw_vault_undelete;
extern const struct gw_adapter gw_vault_destroy;
/* /v1/secret/metadata/{path*}: GET, POST and PUT, PATCH, DELETE, LIST */
extern const struct gw_adapter gw_vault_metadata_read;
extern const struct gw_adapter gw_vault_metadata_write;
extern const struct gw_adapter gw_vault_metadata_patch;
extern const struct gw_adapter gw_vault_metadata_delete;
extern const struct gw_adapter gw_vault_list;
/* /v1/secret/subkeys/{path*}: GET */
extern const struct gw_adapter gw_vault_subkeys;
/* /v1/secret/config: GET, POST */
extern const struct gw_adapter gw_vault_config_read;
extern const struct gw_adapter gw_vault_config_write;

#endif

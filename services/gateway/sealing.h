/* The gateway's side of sealed values (cairn/seal.h, docs/secrets.md): a
 * key pair of its own, made at start, to which the secrets service seals
 * what a read returns; and the service's public key, to which writes are
 * sealed: cached, refreshed in the background once a write has needed it,
 * and forgotten when the service says a rotation retired it (sealing.c). */
#ifndef CAIRN_GATEWAY_SEALING_H
#define CAIRN_GATEWAY_SEALING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/seal.h"

struct cairn_bus_client;
struct gw_sealing;

/* A fresh key pair and no service key yet. NULL when libsodium cannot
 * start or no locked memory is left. */
struct gw_sealing *gw_sealing_new(void);
/* Stops the refresh first; NULL is fine. */
void gw_sealing_free(struct gw_sealing *s);

/* The gateway's public key (CAIRN_SEAL_KEY_BYTES), sent with each read. */
const uint8_t *gw_sealing_reply_key(const struct gw_sealing *s);

/* Opens a reply sealed to the gateway's key: a malloc'ed, NUL-terminated
 * copy of its content (*@p lenp bytes) that the caller wipes and frees with
 * gw_sealing_wipe(); NULL when it does not open. */
char *gw_sealing_open(const struct gw_sealing *s, const uint8_t *box, size_t len, size_t *lenp);

/* Zeroes @p len bytes of @p p and frees it; NULL is fine. */
void gw_sealing_wipe(void *p, size_t len);

/* The service's public key as last known: true with @p version and @p pk
 * (CAIRN_SEAL_KEY_BYTES) filled. Asking marks it needed, which starts the
 * background refresh, made for the last @p tenant that asked (the service
 * answers and audits every request for a tenant). Any thread. */
bool gw_sealing_service_key(struct gw_sealing *s, const char *tenant, uint32_t *version,
                            uint8_t *pk);
/* Keeps @p pk (CAIRN_SEAL_KEY_BYTES) of @p version as the service's key. */
void gw_sealing_service_key_set(struct gw_sealing *s, uint32_t version, const uint8_t *pk);
/* Forgets the service's key when it is still @p version (retired). */
void gw_sealing_service_key_forget(struct gw_sealing *s, uint32_t version);

/* Refreshes the service's key every @p interval_ms, once it was needed, by
 * asking @p topic over @p bus (GetServiceKeyRequest, at most @p timeout_ms,
 * keyed by the last tenant that needed it, as the gateway itself: principal
 * "cairn-gateway", role "service"). Both are borrowed until
 * gw_sealing_free(). */
void gw_sealing_refresh_start(struct gw_sealing *s, struct cairn_bus_client *bus, const char *topic,
                              long long interval_ms, long long timeout_ms);
/* Stops the refresh (before the bus client goes); NULL is fine. */
void gw_sealing_refresh_stop(struct gw_sealing *s);

#endif

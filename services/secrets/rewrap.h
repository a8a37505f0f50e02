/* The rewrap: after a rotation, every data key wrapped with an older KEK
 * version is rewrapped to the new one in batches (FOR UPDATE SKIP LOCKED,
 * so replicas share the work and a killed one loses only its uncommitted
 * batch), without decrypting any payload. Once none is left,
 * min_decryption_version becomes the new version and the older KEKs are
 * destroyed. The same thread reloads the keyring every
 * secrets.keyring_refresh_ms, so a rotation made on another replica is
 * seen here. */
#ifndef SECRETS_REWRAP_H
#define SECRETS_REWRAP_H

#include "secrets.h"

struct secrets_rewrap *secrets_rewrap_start(struct secrets_service *svc,
                                            struct cairn_metrics *metrics);
/* Runs a pass now (after a rotation). */
void secrets_rewrap_wake(struct secrets_rewrap *rw);
void secrets_rewrap_stop(struct secrets_rewrap *rw);

#endif

/* Envelope encryption of one version of a secret: the payload under a
 * fresh data key (XChaCha20-Poly1305), the data key wrapped by a KEK
 * version (keyring.h). Both are bound to the version's tenant, path and
 * number as associated data, so a ciphertext or wrapped key copied to
 * another row does not decrypt. */
#ifndef SECRETS_ENVELOPE_H
#define SECRETS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "keyring.h"

/* A ciphertext is this much longer than its payload (nonce and tag). */
#define SECRETS_CT_OVERHEAD (SECRETS_NONCE_BYTES + SECRETS_TAG_BYTES)
/* Room for the associated data of any version. */
#define SECRETS_AD_MAX 1200

/* The associated data of @p tenant's @p path at @p version into @p out
 * (SECRETS_AD_MAX bytes); returns its length, 0 when it does not fit. */
size_t secrets_version_ad(const char *tenant, const char *path, uint64_t version, uint8_t *out);

/* Encrypts @p n bytes of @p plain under a new data key, wrapped with KEK
 * @p kek_version into @p wrapped (SECRETS_WRAPPED_BYTES); the ciphertext
 * goes to @p ct (n + SECRETS_CT_OVERHEAD bytes). */
enum secrets_key_result secrets_envelope_seal(struct secrets_keyring *kr, uint32_t kek_version,
                                              const uint8_t *ad, size_t ad_len,
                                              const uint8_t *plain, size_t n, uint8_t *wrapped,
                                              uint8_t *ct);

/* Decrypts @p ct into @p plain (ct_len - SECRETS_CT_OVERHEAD bytes). */
enum secrets_key_result secrets_envelope_open(struct secrets_keyring *kr, uint32_t kek_version,
                                              const uint8_t *ad, size_t ad_len,
                                              const uint8_t *wrapped, size_t wrapped_len,
                                              const uint8_t *ct, size_t ct_len, uint8_t *plain);

/* Rewraps a data key from KEK @p from to KEK @p to into @p out, without
 * touching the payload it protects. */
enum secrets_key_result secrets_envelope_rewrap(struct secrets_keyring *kr, uint32_t from,
                                                uint32_t to, const uint8_t *ad, size_t ad_len,
                                                const uint8_t *wrapped, size_t wrapped_len,
                                                uint8_t *out);

#endif

/* Values sealed to a public key (libsodium's sealed boxes: X25519 and
 * XSalsa20-Poly1305 under a fresh ephemeral key): anyone with the public key
 * can seal, only the holder of the secret key can open, and a box opens
 * whole or not at all. Secrets travel this way over Kafka, so no broker,
 * topic dump or mirror ever holds their plaintext (docs/secrets.md). */
#ifndef CAIRN_SEAL_H
#define CAIRN_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_SEAL_KEY_BYTES 32 /* public key, secret key and seed */
#define CAIRN_SEAL_OVERHEAD  48 /* a box is this much longer than its content */

/* A key pair whose secret half lives in guarded, locked memory (never
 * swapped, wiped when freed). */
struct cairn_seal_keys {
        uint8_t pk[CAIRN_SEAL_KEY_BYTES];
        uint8_t *sk; /* sodium_malloc'ed */
};

/* A fresh random pair, or the pair @p seed (CAIRN_SEAL_KEY_BYTES) derives:
 * replicas sharing a seed share the pair. NULL when out of (locked) memory
 * or libsodium cannot start. */
struct cairn_seal_keys *cairn_seal_keys_new(void);
struct cairn_seal_keys *cairn_seal_keys_from_seed(const uint8_t *seed);
void cairn_seal_keys_free(struct cairn_seal_keys *keys);

/* Seals @p len bytes of @p msg to @p pk into @p out (len +
 * CAIRN_SEAL_OVERHEAD bytes). Returns 0, or -1 when @p pk is not a usable
 * public key. */
int cairn_seal(const uint8_t *pk, const void *msg, size_t len, uint8_t *out);

/* Opens a box of @p len bytes into @p out (len - CAIRN_SEAL_OVERHEAD
 * bytes). Returns 0, or -1 when it is too short, was not sealed to
 * @p keys, or was altered. */
int cairn_seal_open(const struct cairn_seal_keys *keys, const uint8_t *box, size_t len,
                    uint8_t *out);

#endif

/* The keyring: the root keys loaded at start (secrets.root_key_file or
 * secrets.root_key), and the key-encryption keys (KEKs) they wrap, stored
 * in PostgreSQL one row per version. Every key lives in guarded, locked
 * memory (sodium_malloc) and is wiped when freed. Each KEK version also
 * derives the key pair writes are sealed to (its "service key"), so every
 * replica holding the keyring can open them. */
#ifndef SECRETS_KEYRING_H
#define SECRETS_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/pg.h"
#include "secrets.h"

#define SECRETS_KEY_BYTES   32
#define SECRETS_NONCE_BYTES 24 /* XChaCha20-Poly1305 */
#define SECRETS_TAG_BYTES   16
/* A wrapped data key: nonce, then the sealed key and its tag. */
#define SECRETS_WRAPPED_BYTES (SECRETS_NONCE_BYTES + SECRETS_KEY_BYTES + SECRETS_TAG_BYTES)

/* How a key operation ended. */
enum secrets_key_result {
        SECRETS_KEY_OK = 0,
        SECRETS_KEY_UNKNOWN,  /* no such KEK version, even after a reload */
        SECRETS_KEY_RETIRED,  /* below min_decryption_version */
        SECRETS_KEY_MISMATCH, /* did not authenticate: altered, moved or the wrong key */
};

struct secrets_keyring;

/* Reads the root keys (the first line is the current one: "<id> <base64 of
 * 32 bytes>" per line), makes KEK version 1 when the keyring is empty,
 * loads every KEK and rewraps those under an older root key to the current
 * one. NULL with a message naming the setting, line or KEK version. */
struct secrets_keyring *secrets_keyring_open(struct cairn_pg *pg, const struct secrets_conf *conf,
                                             char *errstr, size_t errstr_size);
void secrets_keyring_free(struct secrets_keyring *kr);

/* Reads the keyring's state and any KEK version not loaded yet. */
cairn_err_t secrets_keyring_reload(struct secrets_keyring *kr, int64_t deadline_us, char *errstr,
                                   size_t errstr_size);

/* The current KEK version and min_decryption_version as last loaded. */
uint32_t secrets_keyring_current(struct secrets_keyring *kr);
uint32_t secrets_keyring_min(struct secrets_keyring *kr);

/* Wraps @p dek with KEK @p version, bound to @p ad, into @p out
 * (SECRETS_WRAPPED_BYTES). */
enum secrets_key_result secrets_kek_wrap(struct secrets_keyring *kr, uint32_t version,
                                         const uint8_t *ad, size_t ad_len, const uint8_t *dek,
                                         uint8_t *out);
/* Unwraps @p wrapped (SECRETS_WRAPPED_BYTES) with KEK @p version into
 * @p dek. */
enum secrets_key_result secrets_kek_unwrap(struct secrets_keyring *kr, uint32_t version,
                                           const uint8_t *ad, size_t ad_len, const uint8_t *wrapped,
                                           size_t len, uint8_t *dek);

/* The current service key: its version and public key. */
void secrets_keyring_service_key(struct secrets_keyring *kr, uint32_t *version, uint8_t *pk);
/* Opens a box sealed to service key @p version into @p out (len -
 * CAIRN_SEAL_OVERHEAD bytes). */
enum secrets_key_result secrets_keyring_unseal(struct secrets_keyring *kr, uint32_t version,
                                               const uint8_t *box, size_t len, uint8_t *out);

/* What a rotation's transaction also does before it commits (keep the
 * request's reply, append its audit row), given the new version. */
typedef cairn_err_t (*secrets_rotate_hook)(struct cairn_pg_conn *conn, void *opaque,
                                           uint32_t version, char *errstr, size_t errstr_size);

/* Makes a new KEK version current and starts a rewrap to it (the keyring
 * row's rewrap_* columns), in one transaction with @p hook. */
cairn_err_t secrets_keyring_rotate(struct secrets_keyring *kr, int64_t deadline_us,
                                   secrets_rotate_hook hook, void *opaque, uint32_t *version,
                                   char *errstr, size_t errstr_size);

#endif

/* Sealed boxes over libsodium (cairn/seal.h). */
#include "cairn/seal.h"

#include <sodium.h>
#include <stdlib.h>

/* sodium_init() is safe to call from several threads and more than once. */
static int ready(void)
{
        return sodium_init() < 0 ? -1 : 0;
}

static struct cairn_seal_keys *keys_alloc(void)
{
        struct cairn_seal_keys *keys;

        if (ready() != 0 || !(keys = calloc(1, sizeof(*keys))))
                return NULL;
        if (!(keys->sk = sodium_malloc(crypto_box_SECRETKEYBYTES))) {
                free(keys);
                return NULL;
        }
        return keys;
}

struct cairn_seal_keys *cairn_seal_keys_new(void)
{
        struct cairn_seal_keys *keys = keys_alloc();

        if (keys)
                crypto_box_keypair(keys->pk, keys->sk);
        return keys;
}

struct cairn_seal_keys *cairn_seal_keys_from_seed(const uint8_t *seed)
{
        struct cairn_seal_keys *keys = keys_alloc();

        if (keys)
                crypto_box_seed_keypair(keys->pk, keys->sk, seed);
        return keys;
}

void cairn_seal_keys_free(struct cairn_seal_keys *keys)
{
        if (!keys)
                return;
        sodium_free(keys->sk); /* wipes before it unmaps */
        sodium_memzero(keys->pk, sizeof(keys->pk));
        free(keys);
}

int cairn_seal(const uint8_t *pk, const void *msg, size_t len, uint8_t *out)
{
        if (ready() != 0)
                return -1;
        return crypto_box_seal(out, msg, len, pk) == 0 ? 0 : -1;
}

int cairn_seal_open(const struct cairn_seal_keys *keys, const uint8_t *box, size_t len,
                    uint8_t *out)
{
        if (len < crypto_box_SEALBYTES)
                return -1;
        return crypto_box_seal_open(out, box, len, keys->pk, keys->sk) == 0 ? 0 : -1;
}

/* Envelope encryption of a version (envelope.h). */
#include "envelope.h"

#include <sodium.h>
#include <string.h>

static size_t put_field(uint8_t *out, size_t at, const void *p, size_t n)
{
        if (at + 4 + n > SECRETS_AD_MAX)
                return 0;
        out[at] = (uint8_t)(n >> 24), out[at + 1] = (uint8_t)(n >> 16);
        out[at + 2] = (uint8_t)(n >> 8), out[at + 3] = (uint8_t)n;
        memcpy(out + at + 4, p, n);
        return at + 4 + n;
}

size_t secrets_version_ad(const char *tenant, const char *path, uint64_t version, uint8_t *out)
{
        static const char label[] = "cairn.secrets.v1";
        uint8_t v[8];
        size_t at;

        for (int i = 0; i < 8; i++)
                v[i] = (uint8_t)(version >> (56 - 8 * i));
        /* length-prefixed, so no two (tenant, path) pairs read the same */
        at = put_field(out, 0, label, sizeof(label) - 1);
        at = at ? put_field(out, at, tenant, strlen(tenant)) : 0;
        at = at ? put_field(out, at, path, strlen(path)) : 0;
        return at ? put_field(out, at, v, sizeof(v)) : 0;
}

enum secrets_key_result secrets_envelope_seal(struct secrets_keyring *kr, uint32_t kek_version,
                                              const uint8_t *ad, size_t ad_len,
                                              const uint8_t *plain, size_t n, uint8_t *wrapped,
                                              uint8_t *ct)
{
        uint8_t dek[SECRETS_KEY_BYTES];
        enum secrets_key_result r;

        crypto_aead_xchacha20poly1305_ietf_keygen(dek);
        r = secrets_kek_wrap(kr, kek_version, ad, ad_len, dek, wrapped);
        if (r == SECRETS_KEY_OK) {
                randombytes_buf(ct, SECRETS_NONCE_BYTES);
                crypto_aead_xchacha20poly1305_ietf_encrypt(ct + SECRETS_NONCE_BYTES, NULL, plain, n,
                                                           ad, ad_len, NULL, ct, dek);
        }
        sodium_memzero(dek, sizeof(dek));
        return r;
}

enum secrets_key_result secrets_envelope_open(struct secrets_keyring *kr, uint32_t kek_version,
                                              const uint8_t *ad, size_t ad_len,
                                              const uint8_t *wrapped, size_t wrapped_len,
                                              const uint8_t *ct, size_t ct_len, uint8_t *plain)
{
        uint8_t dek[SECRETS_KEY_BYTES];
        enum secrets_key_result r;

        if (ct_len < SECRETS_CT_OVERHEAD)
                return SECRETS_KEY_MISMATCH;
        r = secrets_kek_unwrap(kr, kek_version, ad, ad_len, wrapped, wrapped_len, dek);
        if (r == SECRETS_KEY_OK &&
            crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, ct + SECRETS_NONCE_BYTES,
                                                       ct_len - SECRETS_NONCE_BYTES, ad, ad_len, ct,
                                                       dek) != 0)
                r = SECRETS_KEY_MISMATCH;
        sodium_memzero(dek, sizeof(dek));
        return r;
}

enum secrets_key_result secrets_envelope_rewrap(struct secrets_keyring *kr, uint32_t from,
                                                uint32_t to, const uint8_t *ad, size_t ad_len,
                                                const uint8_t *wrapped, size_t wrapped_len,
                                                uint8_t *out)
{
        uint8_t dek[SECRETS_KEY_BYTES];
        enum secrets_key_result r;

        r = secrets_kek_unwrap(kr, from, ad, ad_len, wrapped, wrapped_len, dek);
        if (r == SECRETS_KEY_OK)
                r = secrets_kek_wrap(kr, to, ad, ad_len, dek, out);
        sodium_memzero(dek, sizeof(dek));
        return r;
}

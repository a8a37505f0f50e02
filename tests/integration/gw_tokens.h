/* Test credentials for the gateway: RSA and EC key pairs written as PEM
 * files, and JWTs minted with libjwt (any algorithm, any key, any claims),
 * including deliberately wrong ones. Header-only: the unit and integration
 * tests both use it. */
#ifndef CAIRN_TEST_GW_TOKENS_H
#define CAIRN_TEST_GW_TOKENS_H

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes @p dir/@p name.pem (private) and @p dir/@p name.pub.pem; @p ec
 * picks P-256 instead of RSA-2048. Returns 0 or -1. */
static inline int gwt_keypair(const char *dir, const char *name, int ec)
{
        char path[1024];
        EVP_PKEY *pkey = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
        FILE *fp;
        int rc = -1;

        if (!pkey)
                return -1;
        snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
        fp = fopen(path, "w");
        if (fp && PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
                fclose(fp);
                snprintf(path, sizeof(path), "%s/%s.pub.pem", dir, name);
                fp = fopen(path, "w");
                if (fp && PEM_write_PUBKEY(fp, pkey) == 1)
                        rc = 0;
        }
        if (fp)
                fclose(fp);
        EVP_PKEY_free(pkey);
        return rc;
}

/* The bytes of a file (malloc'ed, NUL-terminated) and its length. */
static inline char *gwt_slurp(const char *path, size_t *lenp)
{
        FILE *fp = fopen(path, "rb");
        char *buf;
        long n;

        if (!fp)
                return NULL;
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
                free(buf);
                buf = NULL;
        }
        fclose(fp);
        if (buf) {
                buf[n] = '\0';
                if (lenp)
                        *lenp = (size_t)n;
        }
        return buf;
}

/* A token with algorithm @p alg signed with @p key (@p len bytes: an HMAC
 * secret or a private PEM), header kid @p kid (NULL: none) and the claims
 * of the JSON object @p claims. Malloc'ed; NULL on failure. */
static inline char *gwt_mint(jwt_alg_t alg, const void *key, size_t len, const char *kid,
                             const char *claims)
{
        jwt_t *jwt = NULL;
        char *out = NULL;

        if (jwt_new(&jwt) != 0)
                return NULL;
        if (jwt_add_grants_json(jwt, claims) == 0 &&
            (!kid || jwt_add_header(jwt, "kid", kid) == 0) &&
            jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? NULL : key,
                        alg == JWT_ALG_NONE ? 0 : (int)len) == 0)
                out = jwt_encode_str(jwt);
        jwt_free(jwt);
        return out;
}

/* The same, reading the key from a file. */
static inline char *gwt_mint_file(jwt_alg_t alg, const char *key_path, const char *kid,
                                  const char *claims)
{
        size_t len = 0;
        char *key = gwt_slurp(key_path, &len);
        char *tok;

        if (!key)
                return NULL;
        tok = gwt_mint(alg, key, len, kid, claims);
        free(key);
        return tok;
}

#endif

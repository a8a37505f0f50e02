/* Unit tests for the gateway's authentication: JWTs by kid (HS256, RS256,
 * ES256), header parameters (typ, crit, alg), claim checks and the reason
 * for each refusal, algorithm confusion, API keys, the keys file. */
#define _GNU_SOURCE
#include <check.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/auth.h"
#include "gateway/conf.h"
#include "gateway/jwt_cache.h"
#include "gw_tokens.h"
#include "../unit.h"

#define NOW     1900000000LL
#define SECRET  "0123456789abcdef0123456789abcdef-hs"
#define API_KEY "ck_unit_test_key_ABCDEFGHIJ"

static char dir[64];
static struct gateway_auth_conf aconf;
static struct gw_auth *auth;

/* Writes @p text to @p name in the test folder with @p mode (secret files
 * must be 0600 or 0400). */
static void write_file(const char *name, const char *text, mode_t mode)
{
        char path[256];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        unlink(path); /* a file of mode 0400 is not opened for writing */
        fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(text, fp);
        fclose(fp);
        ck_assert_int_eq(chmod(path, mode), 0);
        /* as root, the owner a service would have: the owner-only rule */
        if (geteuid() == 0)
                ck_assert_int_eq(chown(path, 65534, 65534), 0);
}

static void conf_defaults(void)
{
        memset(&aconf, 0, sizeof(aconf));
        aconf.keys_file = "";
        aconf.hs256_secret = "";
        aconf.hs256_secret_file = "";
        aconf.issuer = "https://issuer.example";
        aconf.audience = "cairn";
        aconf.clock_skew_s = 60;
        aconf.require_exp = true;
        aconf.tenant_claim = "tenant";
        aconf.role_claim = "role";
        aconf.jwt_cache_entries = 1024; /* as in production: every check below goes through it */
}

static void setup_once(void)
{
        char keys[1024], hash[65], path[128];

        snprintf(dir, sizeof(dir), "/tmp/gw-auth-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(gwt_keypair(dir, "rsa", 0), 0);
        ck_assert_int_eq(gwt_keypair(dir, "ec", 1), 0);
        write_file("hs.secret", SECRET "\n", 0600);
        gw_api_key_hash(API_KEY, strlen(API_KEY), hash);
        snprintf(keys, sizeof(keys),
                 "jwt_keys:\n"
                 "  - {kid: rsa1, alg: RS256, pem_file: rsa.pub.pem}\n"
                 "  - {kid: ec1, alg: ES256, pem_file: ec.pub.pem}\n"
                 "  - {kid: hs1, alg: HS256, secret_file: hs.secret}\n"
                 "api_keys:\n"
                 "  - {sha256: %s, principal: bot, tenant: acme, role: viewer}\n",
                 hash);
        write_file("keys.yaml", keys, 0644);
        conf_defaults();
        snprintf(path, sizeof(path), "%s/keys.yaml", dir);
        aconf.keys_file = strdup(path);
}

static void setup(void)
{
        char errstr[512];

        auth = gw_auth_new(&aconf, errstr, sizeof(errstr));
        ck_assert_msg(auth != NULL, "%s", errstr);
}

static void teardown(void)
{
        gw_auth_free(auth);
        auth = NULL;
}

static char *claims(long long exp, const char *extra)
{
        char *s;

        if (asprintf(&s,
                     "{\"sub\":\"alice\",\"tenant\":\"acme\",\"role\":\"member\","
                     "\"iss\":\"https://issuer.example\",\"aud\":\"cairn\",\"exp\":%lld%s%s}",
                     exp, extra ? "," : "", extra ? extra : "") < 0)
                abort();
        return s;
}

static cairn_err_t check_token(const char *tok, struct gw_principal *who, struct gw_auth_error *why)
{
        char header[9000];

        snprintf(header, sizeof(header), "Bearer %s", tok);
        return gw_auth_check(auth, header, NULL, NOW, who, why);
}

static char *key_path(const char *name)
{
        static char path[128];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return path;
}

/* ---- tokens libjwt's encoder cannot write ---- */

/* @p p[0..n) in base64url without padding (malloc'ed). */
static char *b64url(const void *p, size_t n)
{
        char *out = malloc(4 * (n / 3 + 1) + 1);
        size_t j = 0;
        int len;

        ck_assert_ptr_nonnull(out);
        len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
        for (int i = 0; i < len && out[i] != '='; i++)
                out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
        out[j] = '\0';
        return out;
}

/* Signs @p input with the private key of rsa.pem (RS256) or ec.pem
 * (ES256, as OpenSSL writes it: DER) into @p der; returns its length. */
static size_t sign_der(jwt_alg_t alg, const char *input, unsigned char der[512])
{
        size_t derlen = 512;
        EVP_PKEY *pkey;
        EVP_MD_CTX *ctx;
        FILE *fp;

        fp = fopen(key_path(alg == JWT_ALG_RS256 ? "rsa.pem" : "ec.pem"), "r");
        ck_assert_ptr_nonnull(fp);
        pkey = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
        fclose(fp);
        ck_assert_ptr_nonnull(pkey);
        ctx = EVP_MD_CTX_new();
        ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
        ck_assert_int_eq(EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)input,
                                        strlen(input)),
                         1);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pkey);
        return derlen;
}

/* Signs @p input as @p alg does with the test keys (SECRET, rsa.pem,
 * ec.pem) into @p sig and returns its length; ES256 as R || S (RFC 7518
 * 3.4). */
static size_t sign_raw(jwt_alg_t alg, const char *input, unsigned char sig[512])
{
        unsigned char der[512];
        const unsigned char *p = der;
        unsigned int n = 0;
        const BIGNUM *r, *s;
        ECDSA_SIG *es;
        size_t derlen;

        if (alg == JWT_ALG_HS256) {
                ck_assert_ptr_nonnull(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
                                           (const unsigned char *)input, strlen(input), sig, &n));
                return n;
        }
        derlen = sign_der(alg, input, der);
        if (alg == JWT_ALG_RS256) {
                memcpy(sig, der, derlen);
                return derlen;
        }
        es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
        ck_assert_ptr_nonnull(es);
        ECDSA_SIG_get0(es, &r, &s);
        ck_assert_int_eq(BN_bn2binpad(r, sig, 32), 32);
        ck_assert_int_eq(BN_bn2binpad(s, sig + 32, 32), 32);
        ECDSA_SIG_free(es);
        return 64;
}

/* "header.payload" of the JSON text @p header and the bytes
 * @p payload[0..len), both taken as they are. Malloc'ed. */
static char *signing_input(const char *header, const char *payload, size_t len)
{
        char *h = b64url(header, strlen(header)), *p = b64url(payload, len), *input;

        ck_assert_int_ge(asprintf(&input, "%s.%s", h, p), 0);
        free(h);
        free(p);
        return input;
}

/* @p input with the signature @p sig[0..n) appended; frees @p input. */
static char *token_signed(char *input, const unsigned char *sig, size_t n)
{
        char *b = b64url(sig, n), *tok;

        ck_assert_int_ge(asprintf(&tok, "%s.%s", input, b), 0);
        free(b);
        free(input);
        return tok;
}

/* A token validly signed by sign_raw() with @p alg, whatever its header
 * @p header says and whatever its payload @p payload[0..len) holds: any
 * typ, crit, alg spelling or payload, which libjwt's encoder cannot write.
 * Malloc'ed. */
static char *mint_raw(jwt_alg_t alg, const char *header, const char *payload, size_t len)
{
        char *input = signing_input(header, payload, len);
        unsigned char sig[512];
        size_t n = sign_raw(alg, input, sig);

        return token_signed(input, sig, n);
}

/* The same with the payload a string. */
static char *mint_raw_str(jwt_alg_t alg, const char *header, const char *payload)
{
        return mint_raw(alg, header, payload, strlen(payload));
}

/* The header {"alg":@p alg,"kid":@p kid} plus "typ":@p typ when not NULL. */
static char *header_typ(const char *alg, const char *kid, const char *typ)
{
        char *h;

        ck_assert_int_ge(asprintf(&h, "{\"alg\":\"%s\",\"kid\":\"%s\"%s%s%s}", alg, kid,
                                  typ ? ",\"typ\":\"" : "", typ ? typ : "", typ ? "\"" : ""),
                         0);
        return h;
}

/* The test keys by algorithm: what signs, the kid, the header's alg. */
static const struct {
        jwt_alg_t alg;
        const char *kid, *name;
} test_keys[] = {
        { JWT_ALG_HS256, "hs1", "HS256" },
        { JWT_ALG_RS256, "rsa1", "RS256" },
        { JWT_ALG_ES256, "ec1", "ES256" },
};

/* ---- valid tokens ---- */

START_TEST(test_gw_auth_check_rs256_valid)
{
        char *c = claims(NOW + 300, NULL);
        char *tok = gwt_mint_file(JWT_ALG_RS256, key_path("rsa.pem"), "rsa1", c);
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_ptr_nonnull(tok);
        ck_assert_int_eq(check_token(tok, &who, &why), CAIRN_OK);
        ck_assert_str_eq(who.principal, "alice");
        ck_assert_str_eq(who.tenant, "acme");
        ck_assert_int_eq(who.role, GW_ROLE_MEMBER);
        ck_assert(who.is_jwt);
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_es256_valid)
{
        char *c = claims(NOW + 300, "\"aud2\":1");
        char *tok = gwt_mint_file(JWT_ALG_ES256, key_path("ec.pem"), "ec1", c);
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_ptr_nonnull(tok);
        ck_assert_msg(check_token(tok, &who, &why) == CAIRN_OK, "%s", why.reason);
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_hs256_valid_and_audience_array)
{
        char *c = claims(NOW + 300, NULL);
        char *tok;
        struct gw_principal who;
        struct gw_auth_error why;

        /* aud as an array containing ours */
        free(c);
        c = strdup("{\"sub\":\"alice\",\"tenant\":\"acme\",\"role\":\"owner\",\"iss\":"
                   "\"https://issuer.example\",\"aud\":[\"other\",\"cairn\"],\"exp\":1900000300}");
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1", c);
        ck_assert_msg(check_token(tok, &who, &why) == CAIRN_OK, "%s", why.reason);
        ck_assert_int_eq(who.role, GW_ROLE_OWNER);
        free(tok);
        free(c);
}
END_TEST

/* ---- refused tokens ---- */

static void expect_refused(const char *tok, const char *reason_part)
{
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_ptr_nonnull(tok);
        ck_assert_int_eq(check_token(tok, &who, &why), CAIRN_ERR_UNAUTHENTICATED);
        ck_assert_str_eq(why.code, "invalid_token");
        ck_assert_msg(strstr(why.reason, reason_part), "reason \"%s\" lacks \"%s\"", why.reason,
                      reason_part);
        /* The reason never quotes the token. */
        ck_assert_ptr_null(strstr(why.reason, tok));
}

/* Refused with exactly @p reason; frees @p tok. */
static void expect_reason(char *tok, const char *reason)
{
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_ptr_nonnull(tok);
        ck_assert_int_eq(check_token(tok, &who, &why), CAIRN_ERR_UNAUTHENTICATED);
        ck_assert_str_eq(why.code, "invalid_token");
        ck_assert_str_eq(why.reason, reason);
        free(tok);
}

/* Accepted as alice of acme; frees @p tok. */
static void expect_accepted(char *tok)
{
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_ptr_nonnull(tok);
        ck_assert_msg(check_token(tok, &who, &why) == CAIRN_OK, "%s", why.reason);
        ck_assert_str_eq(who.principal, "alice");
        ck_assert_str_eq(who.tenant, "acme");
        free(tok);
}

START_TEST(test_gw_auth_check_expired)
{
        char *c = claims(NOW - 61, NULL);
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1", c);

        expect_refused(tok, "expired");
        free(tok);
        free(c);
        /* Within the clock skew it still passes. */
        c = claims(NOW - 59, NULL);
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1", c);
        struct gw_principal who;
        struct gw_auth_error why;
        ck_assert_int_eq(check_token(tok, &who, &why), CAIRN_OK);
        free(tok);
        free(c);
}
END_TEST

/* A token verified once is served from the cache until it expires; then the
 * full check refuses it and says why. */
START_TEST(test_gw_auth_check_cached_token_still_expires)
{
        char *c = claims(NOW + 100, NULL);
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1", c);
        char header[9000];
        struct gw_principal who;
        struct gw_auth_error why;

        snprintf(header, sizeof(header), "Bearer %s", tok);
        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(gw_auth_check(auth, header, NULL, NOW, &who, &why), CAIRN_OK);
                ck_assert_str_eq(who.principal, "alice");
                ck_assert_str_eq(who.tenant, "acme");
        }
        ck_assert_int_eq(gw_auth_check(auth, header, NULL, NOW + 161, &who, &why),
                         CAIRN_ERR_UNAUTHENTICATED);
        ck_assert_ptr_nonnull(strstr(why.reason, "expired"));
        /* One flipped signature byte of a cached token is a miss, then refused. */
        header[strlen(header) - 2] = header[strlen(header) - 2] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(gw_auth_check(auth, header, NULL, NOW, &who, &why),
                         CAIRN_ERR_UNAUTHENTICATED);
        ck_assert_ptr_nonnull(strstr(why.reason, "signature"));
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_not_yet_valid)
{
        char *c = claims(NOW + 3000, "\"nbf\":1900000100");
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1", c);

        expect_refused(tok, "nbf");
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_missing_exp)
{
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                             "{\"sub\":\"a\",\"tenant\":\"t\",\"role\":\"owner\",\"iss\":"
                             "\"https://issuer.example\",\"aud\":\"cairn\"}");

        expect_refused(tok, "exp");
        free(tok);
}
END_TEST

START_TEST(test_gw_auth_check_wrong_audience_and_issuer)
{
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                             "{\"sub\":\"a\",\"tenant\":\"t\",\"role\":\"owner\",\"iss\":"
                             "\"https://issuer.example\",\"aud\":\"other\",\"exp\":1900000300}");

        expect_refused(tok, "audience");
        free(tok);
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                       "{\"sub\":\"a\",\"tenant\":\"t\",\"role\":\"owner\",\"iss\":"
                       "\"https://evil.example\",\"aud\":\"cairn\",\"exp\":1900000300}");
        expect_refused(tok, "issuer");
        free(tok);
}
END_TEST

START_TEST(test_gw_auth_check_wrong_signature)
{
        char *c = claims(NOW + 300, NULL);
        char *tok = gwt_mint(JWT_ALG_HS256, "another-secret-another-secret-xx", 32, "hs1", c);

        expect_refused(tok, "signature");
        free(tok);
        /* A token signed by another RSA key under our kid. */
        ck_assert_int_eq(gwt_keypair(dir, "rsa_other", 0), 0);
        tok = gwt_mint_file(JWT_ALG_RS256, key_path("rsa_other.pem"), "rsa1", c);
        expect_refused(tok, "signature");
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_unknown_kid)
{
        char *c = claims(NOW + 300, NULL);
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "nope", c);

        expect_refused(tok, "kid");
        free(tok);
        /* No kid while several keys are configured and none is the default. */
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, c);
        expect_refused(tok, "kid");
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_hs256_with_rsa_public_key_refused)
{
        /* The classic confusion: HMAC keyed with the RSA public key's PEM. */
        size_t len = 0;
        char *pub = gwt_slurp(key_path("rsa.pub.pem"), &len);
        char *c = claims(NOW + 300, NULL);
        char *tok = gwt_mint(JWT_ALG_HS256, pub, len, "rsa1", c);
        jwt_t *jwt = NULL;

        /* libjwt alone accepts it: the check must be ours. */
        ck_assert_int_eq(jwt_decode(&jwt, tok, (unsigned char *)pub, (int)len), 0);
        jwt_free(jwt);
        expect_refused(tok, "algorithm");
        free(tok);
        free(pub);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_alg_none_refused)
{
        char *c = claims(NOW + 300, NULL);
        char *tok = gwt_mint(JWT_ALG_NONE, NULL, 0, "hs1", c);

        /* "header.claims." with no signature never reaches libjwt. */
        expect_refused(tok, "malformed");
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_claims_required)
{
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                             "{\"sub\":\"a\",\"role\":\"owner\",\"iss\":\"https://issuer.example\","
                             "\"aud\":\"cairn\",\"exp\":1900000300}");

        expect_refused(tok, "tenant");
        free(tok);
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                       "{\"sub\":\"a\",\"tenant\":\"t\",\"role\":\"root\",\"iss\":"
                       "\"https://issuer.example\",\"aud\":\"cairn\",\"exp\":1900000300}");
        expect_refused(tok, "role");
        free(tok);
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                       "{\"sub\":\"a\",\"tenant\":\"t t\",\"role\":\"owner\",\"iss\":"
                       "\"https://issuer.example\",\"aud\":\"cairn\",\"exp\":1900000300}");
        expect_refused(tok, "tenant");
        free(tok);
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                       "{\"tenant\":\"t\",\"role\":\"owner\",\"iss\":"
                       "\"https://issuer.example\",\"aud\":\"cairn\",\"exp\":1900000300}");
        expect_refused(tok, "sub");
        free(tok);
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), "hs1",
                       "{\"sub\":\"a\",\"tenant\":\"t\",\"role\":\"owner\",\"iss\":"
                       "\"https://issuer.example\",\"aud\":\"cairn\",\"exp\":\"soon\"}");
        expect_refused(tok, "exp");
        free(tok);
}
END_TEST

START_TEST(test_gw_auth_check_malformed_tokens)
{
        struct gw_principal who;
        struct gw_auth_error why;
        static const char *const bad[] = {
                "Bearer abc",
                "Bearer a.b",
                "Bearer a.b.c.d",
                "Bearer a.b.",
                "Bearer !!.b.c",
                "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
                "Bearer e30.e30.c2ln",
                "Basic dXNlcjpwYXNz",
                "Bearer ",
                "Bearer ck_short",
                NULL,
        };

        for (size_t i = 0; bad[i]; i++) {
                ck_assert_int_eq(gw_auth_check(auth, bad[i], NULL, NOW, &who, &why),
                                 CAIRN_ERR_UNAUTHENTICATED);
                ck_assert_ptr_nonnull(why.code);
        }
}
END_TEST

/* The tokens the tests below build by hand verify as libjwt's do: the
 * minter is right, so what they refuse is what their headers and payloads
 * say. */
START_TEST(test_gw_auth_check_hand_minted_tokens_valid)
{
        char *c = claims(NOW + 300, NULL);

        for (size_t i = 0; i < sizeof(test_keys) / sizeof(test_keys[0]); i++) {
                char *h = header_typ(test_keys[i].name, test_keys[i].kid, "JWT");
                char *tok = mint_raw_str(test_keys[i].alg, h, c);
                size_t len = strlen(SECRET);
                char *key = i == 0 ? strdup(SECRET)
                                   : gwt_slurp(key_path(i == 1 ? "rsa.pub.pem" : "ec.pub.pem"),
                                               &len);
                jwt_t *jwt = NULL;

                ck_assert_int_eq(jwt_decode(&jwt, tok, (unsigned char *)key, (int)len), 0);
                jwt_free(jwt);
                expect_accepted(tok);
                free(key);
                free(h);
        }
        free(c);
}
END_TEST

/* RFC 9068 access tokens say typ at+jwt, which libjwt 1.10's jwt_decode()
 * refused; typ compares as a media type: case-insensitive, "application/"
 * implied. */
START_TEST(test_gw_auth_check_typ_access_token_accepted)
{
        /* NULL: no typ at all */
        static const char *const typs[] = {
                "at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt",
                "JWT",    "jwt",    "application/jwt",    "JOSE",
                "jose",   NULL
        };
        char *c = claims(NOW + 300, NULL);

        for (size_t i = 0; i < sizeof(test_keys) / sizeof(test_keys[0]); i++) {
                for (size_t t = 0; t < sizeof(typs) / sizeof(typs[0]); t++) {
                        char *h = header_typ(test_keys[i].name, test_keys[i].kid, typs[t]);

                        expect_accepted(mint_raw_str(test_keys[i].alg, h, c));
                        free(h);
                }
        }
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_typ_other_refused)
{
        char *c = claims(NOW + 300, NULL);

        expect_reason(mint_raw_str(JWT_ALG_HS256,
                                   "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"secevent+jwt\"}",
                                   c),
                      "token type (typ) secevent+jwt is not an access token");
        expect_reason(mint_raw_str(JWT_ALG_RS256,
                                   "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":"
                                   "\"application/logout+jwt\"}",
                                   c),
                      "token type (typ) application/logout+jwt is not an access token");
        expect_reason(mint_raw_str(JWT_ALG_HS256,
                                   "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"text/jwt\"}", c),
                      "token type (typ) text/jwt is not an access token");
        expect_reason(mint_raw_str(JWT_ALG_HS256,
                                   "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"JOSE+JSON\"}", c),
                      "token type (typ) JOSE+JSON is not an access token");
        expect_reason(mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":1}",
                                   c),
                      "token type (typ) is not a string");
        /* What could break out of a quoted header parameter is not repeated. */
        expect_reason(mint_raw_str(JWT_ALG_HS256,
                                   "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"a\\\", x=\\\"y\"}",
                                   c),
                      "token type (typ) is not an access token");
        expect_reason(mint_raw_str(JWT_ALG_HS256,
                                   "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"jwt\\r\\nX: 1\"}",
                                   c),
                      "token type (typ) is not an access token");
        expect_reason(mint_raw_str(JWT_ALG_HS256,
                                   "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"\"}", c),
                      "token type (typ) is not an access token");
        free(c);
}
END_TEST

/* RFC 7515 4.1.11: an extension listed in crit must be understood, and the
 * gateway understands none; libjwt ignored crit. */
START_TEST(test_gw_auth_check_crit_refused)
{
        static const char *const headers[] = {
                "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[\"exp\"],\"exp\":1}",
                "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[\"b64\"],\"b64\":false}",
                "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"at+jwt\",\"crit\":[]}",
                "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":null}",
                NULL,
        };
        char *c = claims(NOW + 300, NULL);

        for (size_t i = 0; headers[i]; i++)
                expect_reason(mint_raw_str(JWT_ALG_HS256, headers[i], c),
                              "token header lists critical extensions (crit) the gateway does "
                              "not understand");
        free(c);
}
END_TEST

/* RFC 7515 names algorithms case-sensitively; libjwt's jwt_str_alg() does
 * not, and jwt_decode() accepts "hs256": the check must be ours. */
START_TEST(test_gw_auth_check_alg_case_sensitive)
{
        char *c = claims(NOW + 300, NULL);
        char *tok = mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"hs256\",\"kid\":\"hs1\"}", c);
        jwt_t *jwt = NULL;

        ck_assert_int_eq(jwt_decode(&jwt, tok, (unsigned char *)SECRET, (int)strlen(SECRET)), 0);
        jwt_free(jwt);
        expect_reason(tok, "algorithm does not match the key's (HS256)");
        expect_reason(mint_raw_str(JWT_ALG_RS256, "{\"alg\":\"Rs256\",\"kid\":\"rsa1\"}", c),
                      "algorithm does not match the key's (RS256)");
        expect_reason(mint_raw_str(JWT_ALG_ES256, "{\"alg\":\"es256\",\"kid\":\"ec1\"}", c),
                      "algorithm does not match the key's (ES256)");
        expect_reason(mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256 \",\"kid\":\"hs1\"}", c),
                      "algorithm does not match the key's (HS256)");
        expect_reason(mint_raw_str(JWT_ALG_HS256, "{\"alg\":256,\"kid\":\"hs1\"}", c),
                      "algorithm does not match the key's (HS256)");
        free(c);
}
END_TEST

/* Validly signed payloads that hold no claims set: each says what it is. */
START_TEST(test_gw_auth_check_payload_not_json)
{
        static const struct {
                const char *payload, *reason;
        } cases[] = {
                { "not json", "token payload is not JSON" },
                { "", "token payload is not JSON" },
                { "{\"sub\":\"alice\"", "token payload is not JSON" },
                { "{\"sub\":\"alice\"} {}", "token payload is not JSON" },
                { "[1]", "claims are not a JSON object" },
                { "\"alice\"", "claims are not a JSON object" },
                { "1900000300", "claims are not a JSON object" },
                { "null", "claims are not a JSON object" },
                { "{\"sub\":\"al\xffice\"}", "token payload is not valid UTF-8" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_reason(mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}",
                                           cases[i].payload),
                              cases[i].reason);
        expect_reason(mint_raw_str(JWT_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "[]"),
                      "claims are not a JSON object");
}
END_TEST

/* exp 1e400 is no number a double holds, let alone a NumericDate. */
START_TEST(test_gw_auth_check_number_out_of_range)
{
        static const char *const extra[] = { "\"nbf\":1e400", "\"nbf\":-1e400",
                                             "\"iat\":123456789012345678901234567890", NULL };
        char *c = strdup("{\"sub\":\"alice\",\"tenant\":\"acme\",\"role\":\"member\",\"iss\":"
                         "\"https://issuer.example\",\"aud\":\"cairn\",\"exp\":1e400}");

        expect_reason(mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", c),
                      "claims hold a number out of range");
        free(c);
        for (size_t i = 0; extra[i]; i++) {
                c = claims(NOW + 300, extra[i]);
                expect_reason(mint_raw_str(JWT_ALG_RS256, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                                           c),
                              "claims hold a number out of range");
                free(c);
        }
}
END_TEST

/* A NUL, escaped or raw, never reaches the principal, tenant or logs. */
START_TEST(test_gw_auth_check_nul_in_claims)
{
        static const char raw[] = "{\"sub\":\"alice\",\"tenant\":\"acme\",\"role\":\"member\","
                                  "\"iss\":\"https://issuer.example\",\"aud\":\"cairn\","
                                  "\"exp\":1900000300,\"x\":\"a\0b\"}";
        char *c = claims(NOW + 300, "\"note\":\"\\u0000\"");

        expect_reason(mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", c),
                      "claims contain a NUL character");
        free(c);
        c = strdup("{\"sub\":\"alice\\u0000admin\",\"tenant\":\"acme\",\"role\":\"member\","
                   "\"iss\":\"https://issuer.example\",\"aud\":\"cairn\",\"exp\":1900000300}");
        expect_reason(mint_raw_str(JWT_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", c),
                      "claims contain a NUL character");
        free(c);
        c = claims(NOW + 300, "\"a\\u0000\":1");
        expect_reason(mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", c),
                      "claims contain a NUL character");
        free(c);
        expect_reason(mint_raw(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", raw,
                               sizeof(raw) - 1),
                      "claims contain a NUL character");
}
END_TEST

/* Only a signature that does not verify is called one; it is checked
 * before the payload is read. */
START_TEST(test_gw_auth_check_bad_signature_reason)
{
        char *c = claims(NOW + 300, NULL);
        unsigned char der[512];
        char *tok, *dot, *input;
        size_t n;

        /* A payload that is not JSON behind a wrong signature. */
        tok = mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", "not json");
        dot = strrchr(tok, '.');
        dot[1] = dot[1] == 'A' ? 'B' : 'A';
        expect_reason(tok, "signature verification failed");
        /* An ES256 signature one byte short, and one of DER length. */
        tok = mint_raw_str(JWT_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", c);
        tok[strlen(tok) - 2] = '\0'; /* 86 characters hold 64 bytes, 84 hold 63 */
        expect_reason(tok, "signature verification failed");
        input = signing_input("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", c, strlen(c));
        n = sign_der(JWT_ALG_ES256, input, der);
        expect_reason(token_signed(input, der, n), "signature verification failed");
        /* An RSA signature cut short: 342 characters hold 256 bytes, 340 hold 255. */
        tok = mint_raw_str(JWT_ALG_RS256, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", c);
        tok[strlen(tok) - 2] = '\0';
        expect_reason(tok, "signature verification failed");
        /* Unused bits set in the last character: not base64url at all. */
        tok = mint_raw_str(JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", c);
        tok[strlen(tok) - 1] = tok[strlen(tok) - 1] == 'B' ? 'C' : 'B';
        expect_reason(tok, "malformed token signature (not base64url)");
        free(c);
}
END_TEST

/* ---- API keys ---- */

START_TEST(test_gw_auth_check_api_keys)
{
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_int_eq(gw_auth_check(auth, "Bearer " API_KEY, NULL, NOW, &who, &why), CAIRN_OK);
        ck_assert_str_eq(who.principal, "bot");
        ck_assert_str_eq(who.tenant, "acme");
        ck_assert_int_eq(who.role, GW_ROLE_VIEWER);
        ck_assert(!who.is_jwt);
        ck_assert_int_eq(gw_auth_check(auth, NULL, API_KEY, NOW, &who, &why), CAIRN_OK);
        ck_assert_int_eq(gw_auth_check(auth, NULL, "ck_unit_test_key_ABCDEFGHIK", NOW, &who, &why),
                         CAIRN_ERR_UNAUTHENTICATED);
        ck_assert_str_eq(why.reason, "unknown API key");
        ck_assert_int_eq(gw_auth_check(auth, NULL, "not-a-key", NOW, &who, &why),
                         CAIRN_ERR_UNAUTHENTICATED);
}
END_TEST

/* X-Vault-Token carries the same credentials as Authorization: Bearer. */
START_TEST(test_gw_auth_bearer_vault_token)
{
        char *c = claims(NOW + 300, NULL);
        char *tok = gwt_mint_file(JWT_ALG_RS256, key_path("rsa.pem"), "rsa1", c);
        char *bearer = gw_auth_bearer(API_KEY);
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_str_eq(bearer, "Bearer " API_KEY);
        ck_assert_int_eq(gw_auth_check(auth, bearer, NULL, NOW, &who, &why), CAIRN_OK);
        ck_assert_str_eq(who.principal, "bot");
        ck_assert(!who.is_jwt);
        free(bearer);
        bearer = gw_auth_bearer(tok);
        ck_assert_int_eq(gw_auth_check(auth, bearer, NULL, NOW, &who, &why), CAIRN_OK);
        ck_assert_str_eq(who.principal, "alice");
        ck_assert(who.is_jwt);
        free(bearer);
        bearer = gw_auth_bearer("ck_unit_test_key_ABCDEFGHIK");
        ck_assert_int_eq(gw_auth_check(auth, bearer, NULL, NOW, &who, &why),
                         CAIRN_ERR_UNAUTHENTICATED);
        free(bearer);
        ck_assert_ptr_null(gw_auth_bearer(NULL));
        ck_assert_ptr_null(gw_auth_bearer(""));
        free(tok);
        free(c);
}
END_TEST

START_TEST(test_gw_auth_check_no_credentials)
{
        struct gw_principal who;
        struct gw_auth_error why;

        ck_assert_int_eq(gw_auth_check(auth, NULL, NULL, NOW, &who, &why),
                         CAIRN_ERR_UNAUTHENTICATED);
        ck_assert_ptr_null(why.code);
}
END_TEST

START_TEST(test_gw_api_key_hash_is_sha256_hex)
{
        char hash[65];

        gw_api_key_hash("abc", 3, hash);
        ck_assert_str_eq(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

/* ---- the keys file ---- */

/* Loads @p yaml as the keys file, which must fail; the message goes to
 * @p errstr. */
static void load_fails(const char *yaml, char *errstr, size_t errstr_size)
{
        struct gateway_auth_conf c = aconf;
        char path[128];
        struct gw_auth *a;

        write_file("bad.yaml", yaml, 0644);
        snprintf(path, sizeof(path), "%s/bad.yaml", dir);
        c.keys_file = path;
        a = gw_auth_new(&c, errstr, errstr_size);
        ck_assert_ptr_null(a);
}

static void expect_load_error(const char *yaml, const char *part)
{
        char errstr[512];

        load_fails(yaml, errstr, sizeof(errstr));
        ck_assert_msg(strstr(errstr, part), "\"%s\" lacks \"%s\"", errstr, part);
}

/* The whole message, with each "DIR" standing for the test folder. */
static void expect_load_message(const char *yaml, const char *want)
{
        char errstr[512], full[512];
        size_t n = 0;

        for (const char *p = want; *p && n < sizeof(full) - 1;) {
                if (strncmp(p, "DIR", 3) == 0) {
                        n += (size_t)snprintf(full + n, sizeof(full) - n, "%s", dir);
                        p += 3;
                } else {
                        full[n++] = *p++;
                }
        }
        full[n < sizeof(full) ? n : sizeof(full) - 1] = '\0';
        load_fails(yaml, errstr, sizeof(errstr));
        ck_assert_str_eq(errstr, full);
}

START_TEST(test_gw_auth_new_names_bad_entries)
{
        expect_load_error("jwt_keys:\n  - {kid: a, alg: HS512, secret_file: hs.secret}\n",
                          "jwt_keys[0].alg");
        expect_load_error("jwt_keys:\n  - {kid: a, alg: RS256, secret_file: hs.secret}\n",
                          "pem_file");
        expect_load_error("jwt_keys:\n  - {kid: a, alg: RS256, pem_file: nope.pem}\n",
                          "cannot open");
        expect_load_error("jwt_keys:\n  - {kid: a, alg: RS256, pem_file: hs.secret}\n",
                          "no PEM public key");
        expect_load_error("jwt_keys:\n  - {kid: a, alg: HS256, secret_file: hs.secret}\n"
                          "  - {kid: a, alg: HS256, secret_file: hs.secret}\n",
                          "twice");
        expect_load_error("api_keys:\n  - {sha256: abc, principal: p, tenant: t, role: owner}\n",
                          "api_keys[0].sha256");
        expect_load_error("api_keys:\n  - {sha256: "
                          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad, "
                          "principal: p, tenant: t, role: god}\n",
                          "api_keys[0].role");
        expect_load_error("other: 1\n", "unknown key \"other\"");
        expect_load_error("jwt_keys: [\n", "line");
}
END_TEST

/* Messages name the file and the line of what they refuse: the value's
 * line, or the entry's when the key is missing. */
START_TEST(test_gw_auth_new_names_file_and_line)
{
        expect_load_message("jwt_keys:\n  - {kid: a, alg: HS512, secret_file: hs.secret}\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: jwt_keys[0].alg: must be "
                            "HS256, RS256 or ES256");
        expect_load_message("jwt_keys:\n  - kid: a\n    alg: HS256\n    secret_file: hs.secret\n"
                            "  - kid: b\n    alg: RS256\n",
                            "config: auth.keys_file: DIR/bad.yaml:5: jwt_keys[1]: RS256 keys need "
                            "pem_file (and not secret_file)");
        expect_load_message("jwt_keys:\n  - kid: a\n    alg: HS256\n    secret_file: hs.secret\n"
                            "  - kid: a\n    alg: HS256\n    secret_file: hs.secret\n",
                            "config: auth.keys_file: DIR/bad.yaml:5: jwt_keys[1]: jwt key id \"a\" "
                            "appears twice");
        expect_load_message("jwt_keys:\n  - {kid: a, alg: RS256, pem_file: nope.pem}\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: jwt_keys[0]: cannot open "
                            "DIR/nope.pem: No such file or directory");
        expect_load_message("api_keys:\n  - sha256: abc\n    principal: p\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: api_keys[0].sha256: required, "
                            "64 lower-case hex digits (sha256sum of the key)");
        expect_load_message("api_keys:\n  - principal: p\n    tenant: t\n    role: owner\n"
                            "    owner: me\n",
                            "config: auth.keys_file: DIR/bad.yaml:5: api_keys[0]: unknown key "
                            "\"owner\"");
        expect_load_message("api_keys: []\nother: 1\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: unknown key \"other\"");
        expect_load_message("jwt_keys: {kid: a}\n",
                            "config: auth.keys_file: DIR/bad.yaml:1: jwt_keys: not a list");
        expect_load_message("- jwt_keys\n",
                            "config: auth.keys_file: DIR/bad.yaml:1: not a mapping");
        expect_load_message("api_keys:\n  - [sha256]\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: api_keys[0]: not a mapping");
        expect_load_message("jwt_keys: [\n",
                            "config: auth.keys_file: DIR/bad.yaml: not valid YAML: did not find "
                            "expected node content while parsing a flow node (line 2)");
}
END_TEST

/* A public key is parsed when the keys file is read, and must be of the
 * kind its algorithm verifies with: RSA for RS256, P-256 for ES256. */
START_TEST(test_gw_auth_new_refuses_key_of_other_type)
{
        EVP_PKEY *p384 = EVP_EC_gen("P-384");
        FILE *fp = fopen(key_path("ec384.pub.pem"), "w");

        ck_assert_ptr_nonnull(p384);
        ck_assert_ptr_nonnull(fp);
        ck_assert_int_eq(PEM_write_PUBKEY(fp, p384), 1);
        fclose(fp);
        EVP_PKEY_free(p384);
        expect_load_message("jwt_keys:\n  - {kid: a, alg: ES256, pem_file: rsa.pub.pem}\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: jwt_keys[0]: DIR/rsa.pub.pem "
                            "holds no P-256 public key, which ES256 needs");
        expect_load_message("jwt_keys:\n  - {kid: a, alg: ES256, pem_file: ec384.pub.pem}\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: jwt_keys[0]: "
                            "DIR/ec384.pub.pem holds no P-256 public key, which ES256 needs");
        expect_load_message("jwt_keys:\n  - {kid: a, alg: RS256, pem_file: ec.pub.pem}\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: jwt_keys[0]: DIR/ec.pub.pem "
                            "holds no RSA public key, which RS256 needs");
        /* The right armour around no key at all. */
        write_file("garbled.pem",
                   "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n", 0644);
        expect_load_message("jwt_keys:\n  - {kid: a, alg: RS256, pem_file: garbled.pem}\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: jwt_keys[0]: DIR/garbled.pem "
                            "holds no PEM public key");
        /* The algorithm is named exactly. */
        expect_load_message("jwt_keys:\n  - {kid: a, alg: rs256, pem_file: rsa.pub.pem}\n",
                            "config: auth.keys_file: DIR/bad.yaml:2: jwt_keys[0].alg: must be "
                            "HS256, RS256 or ES256");
}
END_TEST

/* Empty or null lists and an empty file hold no keys, and are no error. */
START_TEST(test_gw_auth_new_empty_keys_file)
{
        static const char *const empty[] = { "", "# nothing yet\n", "jwt_keys:\napi_keys: ~\n",
                                             "jwt_keys: []\napi_keys: []\n", NULL };
        struct gateway_auth_conf c = aconf;
        char errstr[512], path[128];
        struct gw_auth *a;

        snprintf(path, sizeof(path), "%s/empty.yaml", dir);
        c.keys_file = path;
        for (size_t i = 0; empty[i]; i++) {
                write_file("empty.yaml", empty[i], 0644);
                a = gw_auth_new(&c, errstr, sizeof(errstr));
                ck_assert_msg(a != NULL, "\"%s\": %s", empty[i], errstr);
                ck_assert_uint_eq(gw_auth_jwt_key_count(a), 0);
                ck_assert_uint_eq(gw_auth_api_key_count(a), 0);
                gw_auth_free(a);
        }
}
END_TEST

/* An HS256 secret file that its group or others may read is refused, by
 * the policy of every secret file: the message names the file, the mode
 * found and the mode wanted, and never the secret. */
START_TEST(test_gw_auth_new_refuses_open_secret_file)
{
        static const mode_t modes[] = { 0644, 0640, 0604, 0660 };
        char errstr[512], want[256];

        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                write_file("open.secret", SECRET "\n", modes[i]);
                load_fails("jwt_keys:\n  - {kid: a, alg: HS256, secret_file: open.secret}\n",
                           errstr, sizeof(errstr));
                snprintf(want, sizeof(want),
                         "/bad.yaml:2: jwt_keys[0]: %s/open.secret has mode %04o", dir,
                         (unsigned)modes[i]);
                ck_assert_msg(strstr(errstr, want), "\"%s\" lacks \"%s\"", errstr, want);
                ck_assert_msg(strstr(errstr, "must be mode 0600 or 0400"), "%s", errstr);
                ck_assert_ptr_null(strstr(errstr, "0123456789abcdef"));
        }
}
END_TEST

/* auth.hs256_secret_file: read under the same policy; 0600 and 0400 pass. */
START_TEST(test_gw_auth_new_hs256_secret_file_mode)
{
        struct gateway_auth_conf c = aconf;
        char errstr[512], path[128], want[512];
        struct gw_auth *a;

        snprintf(path, sizeof(path), "%s/default.secret", dir);
        c.keys_file = "";
        c.hs256_secret_file = path;
        write_file("default.secret", SECRET "\n", 0644);
        ck_assert_ptr_null(gw_auth_new(&c, errstr, sizeof(errstr)));
        snprintf(want, sizeof(want),
                 "config: auth.hs256_secret_file: %s has mode 0644, open to its group or others; a "
                 "secret file must be mode 0600 or 0400 (chmod 600 %s)",
                 path, path);
        ck_assert_str_eq(errstr, want);

        write_file("default.secret", SECRET "\n", 0400);
        a = gw_auth_new(&c, errstr, sizeof(errstr));
        ck_assert_msg(a != NULL, "%s", errstr);
        ck_assert_uint_eq(gw_auth_jwt_key_count(a), 1);
        gw_auth_free(a);

        write_file("default.secret", "short\n", 0600);
        ck_assert_ptr_null(gw_auth_new(&c, errstr, sizeof(errstr)));
        snprintf(want, sizeof(want),
                 "config: auth.hs256_secret_file: %s: shorter than 32 bytes (RFC 7518 asks for at "
                 "least the hash size)",
                 path);
        ck_assert_str_eq(errstr, want);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_ptr_null(gw_auth_new(&c, errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "config: auth.hs256_secret_file: cannot open"));
}
END_TEST

START_TEST(test_gw_auth_new_short_secret_refused)
{
        struct gateway_auth_conf c = aconf;
        char errstr[512];

        c.keys_file = "";
        c.hs256_secret = "short";
        ck_assert_ptr_null(gw_auth_new(&c, errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "auth.hs256_secret"));
}
END_TEST

START_TEST(test_gw_auth_check_default_hs256_key_without_kid)
{
        struct gateway_auth_conf c = aconf;
        char errstr[512], header[4096];
        struct gw_principal who;
        struct gw_auth_error why;
        struct gw_auth *a;
        char *cl = claims(NOW + 300, NULL);
        char *tok;

        c.keys_file = "";
        c.hs256_secret = SECRET;
        a = gw_auth_new(&c, errstr, sizeof(errstr));
        ck_assert_msg(a != NULL, "%s", errstr);
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, cl);
        snprintf(header, sizeof(header), "bearer %s", tok);
        ck_assert_int_eq(gw_auth_check(a, header, NULL, NOW, &who, &why), CAIRN_OK);
        free(tok);
        free(cl);
        gw_auth_free(a);
}
END_TEST

static Suite *auth_suite(void)
{
        Suite *s = suite_create("gateway_auth");
        TCase *tc = tcase_create("gw_auth_check");

        tcase_add_unchecked_fixture(tc, setup_once, NULL);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_auth_check_rs256_valid);
        tcase_add_test(tc, test_gw_auth_check_es256_valid);
        tcase_add_test(tc, test_gw_auth_check_hs256_valid_and_audience_array);
        tcase_add_test(tc, test_gw_auth_check_expired);
        tcase_add_test(tc, test_gw_auth_check_cached_token_still_expires);
        tcase_add_test(tc, test_gw_auth_check_not_yet_valid);
        tcase_add_test(tc, test_gw_auth_check_missing_exp);
        tcase_add_test(tc, test_gw_auth_check_wrong_audience_and_issuer);
        tcase_add_test(tc, test_gw_auth_check_wrong_signature);
        tcase_add_test(tc, test_gw_auth_check_unknown_kid);
        tcase_add_test(tc, test_gw_auth_check_hs256_with_rsa_public_key_refused);
        tcase_add_test(tc, test_gw_auth_check_alg_none_refused);
        tcase_add_test(tc, test_gw_auth_check_claims_required);
        tcase_add_test(tc, test_gw_auth_check_malformed_tokens);
        tcase_add_test(tc, test_gw_auth_check_hand_minted_tokens_valid);
        tcase_add_test(tc, test_gw_auth_check_typ_access_token_accepted);
        tcase_add_test(tc, test_gw_auth_check_typ_other_refused);
        tcase_add_test(tc, test_gw_auth_check_crit_refused);
        tcase_add_test(tc, test_gw_auth_check_alg_case_sensitive);
        tcase_add_test(tc, test_gw_auth_check_payload_not_json);
        tcase_add_test(tc, test_gw_auth_check_number_out_of_range);
        tcase_add_test(tc, test_gw_auth_check_nul_in_claims);
        tcase_add_test(tc, test_gw_auth_check_bad_signature_reason);
        tcase_add_test(tc, test_gw_auth_check_api_keys);
        tcase_add_test(tc, test_gw_auth_bearer_vault_token);
        tcase_add_test(tc, test_gw_auth_check_no_credentials);
        tcase_add_test(tc, test_gw_auth_check_default_hs256_key_without_kid);
        tcase_add_test(tc, test_gw_auth_new_names_bad_entries);
        tcase_add_test(tc, test_gw_auth_new_names_file_and_line);
        tcase_add_test(tc, test_gw_auth_new_refuses_key_of_other_type);
        tcase_add_test(tc, test_gw_auth_new_empty_keys_file);
        tcase_add_test(tc, test_gw_auth_new_refuses_open_secret_file);
        tcase_add_test(tc, test_gw_auth_new_hs256_secret_file_mode);
        tcase_add_test(tc, test_gw_auth_new_short_secret_refused);
        suite_add_tcase(s, tc);

        tc = tcase_create("gw_helpers");
        tcase_add_test(tc, test_gw_api_key_hash_is_sha256_hex);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(auth_suite());
}

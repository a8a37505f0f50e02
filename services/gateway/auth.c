/* Who is calling: bearer JWTs verified against keys chosen by kid (HS256
 * secrets, RS256/ES256 public keys), claims checked here, and API keys
 * looked up by their SHA-256.
 *
 * Signatures are checked here with OpenSSL rather than by libjwt 1.10's
 * jwt_decode(): that refuses every typ but "JWT" (RFC 9068 access tokens say
 * "at+jwt"), ignores crit, matches alg case-insensitively, accepts an HS256
 * token whose HMAC key is an RSA public key, and answers every refusal with
 * the same EINVAL, so a payload that is not JSON looked like a bad signature.
 * The algorithm is always the key's: a token only names it, spelled exactly. */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/base64.h"
#include "cairn/file.h"
#include "cairn/utf8.h"
#include "cairn/yaml.h"
#include "auth.h"
#include "conf.h"
#include "jwt_cache.h"

static const char *const role_names[GW_ROLE__COUNT] = { "owner", "admin", "member", "viewer" };

const char *gw_role_str(enum gw_role role)
{
        return (unsigned)role < GW_ROLE__COUNT ? role_names[role] : "unknown";
}

int gw_role_parse(const char *name)
{
        for (int i = 0; i < GW_ROLE__COUNT; i++)
                if (strcmp(name, role_names[i]) == 0)
                        return i;
        return -1;
}

#define TOKEN_MAX       8192
#define JWT_HEADER_MAX  2048
#define KEYS_FILE_MAX   (4 << 20)
#define PEM_FILE_MAX    (64 * 1024)
#define SECRET_FILE_MAX (64 * 1024)
#define SECRET_MIN      32 /* bytes: RFC 7518 asks for at least the hash size */

/* The algorithms a key may be configured for, named as in RFC 7518. */
enum key_alg {
        KEY_HS256 = 0,
        KEY_RS256,
        KEY_ES256,
        KEY_ALG__COUNT,
};

static const char *const alg_names[KEY_ALG__COUNT] = { "HS256", "RS256", "ES256" };

struct jwt_key {
        char kid[GW_ID_MAX + 1]; /* "" for the configured HS256 secret */
        enum key_alg alg;
        unsigned char *secret; /* HS256 */
        size_t len;
        EVP_PKEY *pkey; /* RS256 and ES256: the public key */
};

struct api_key {
        char hash[65];
        char principal[GW_ID_MAX + 1];
        char tenant[GW_ID_MAX + 1];
        enum gw_role role;
};

struct gw_auth {
        const struct gateway_auth_conf *aconf;
        struct jwt_key *jwt_keys;
        size_t njwt;
        struct api_key *api_keys;
        size_t napi;
        struct gw_jwt_cache *cache; /* NULL when off */
};

/* ---- helpers ---- */

void gw_api_key_hash(const char *key, size_t len, char out[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;

        EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL);
        for (unsigned int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Tenants become Kafka keys and parts of Redis keys: a strict charset. */
static bool tenant_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > GW_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == ':' || c == '@'))
                        return false;
        }
        return true;
}

/* Principals are logged and used in Redis keys: printable UTF-8, no controls. */
static bool principal_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > GW_ID_MAX || !cairn_utf8_valid(s, n))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static void why_set(struct gw_auth_error *why, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void why_set(struct gw_auth_error *why, const char *code, const char *fmt, ...)
{
        va_list ap;

        why->code = code;
        va_start(ap, fmt);
        vsnprintf(why->reason, sizeof(why->reason), fmt, ap);
        va_end(ap);
}

/* ---- keys ---- */

/* Appends an empty key under @p kid ("" for the key of tokens without a
 * kid) for @p alg; the caller sets its secret or public key. */
static struct jwt_key *jwt_key_add(struct gw_auth *auth, const char *kid, enum key_alg alg)
{
        struct jwt_key *k;

        auth->jwt_keys = realloc(auth->jwt_keys, (auth->njwt + 1) * sizeof(*auth->jwt_keys));
        if (!auth->jwt_keys)
                abort();
        k = &auth->jwt_keys[auth->njwt++];
        memset(k, 0, sizeof(*k));
        k->alg = alg;
        snprintf(k->kid, sizeof(k->kid), "%s", kid);
        return k;
}

/* Adds the HS256 key under @p kid: a copy of the @p len bytes at
 * @p secret, which is borrowed. */
static void hs256_key_add(struct gw_auth *auth, const char *kid, const char *secret, size_t len)
{
        struct jwt_key *k = jwt_key_add(auth, kid, KEY_HS256);

        k->secret = malloc(len + 1);
        if (!k->secret)
                abort();
        memcpy(k->secret, secret, len);
        k->secret[len] = '\0';
        k->len = len;
}

/* Reads the HS256 secret held in @p path under the policy of every secret
 * file (cairn_secret_file_read(): mode 0600 or 0400) into a buffer the
 * caller releases with secret_free(); its length goes to *@p lenp. Returns
 * NULL with a message naming the file in @p errstr. */
static char *secret_read(const char *path, size_t *lenp, char *errstr, size_t errstr_size)
{
        char *buf = malloc(SECRET_FILE_MAX + 1);
        long n;

        if (!buf)
                abort();
        n = cairn_secret_file_read(path, buf, SECRET_FILE_MAX + 1, errstr, errstr_size);
        if (n < 0) {
                free(buf); /* already wiped */
                return NULL;
        }
        *lenp = (size_t)n;
        return buf;
}

static void secret_free(char *buf)
{
        if (!buf)
                return;
        OPENSSL_cleanse(buf, SECRET_FILE_MAX + 1);
        free(buf);
}

/* The HS256 key of tokens without a kid: auth.hs256_secret itself, or the
 * secret in the file auth.hs256_secret_file names. */
static bool default_key_load(struct gw_auth *auth, const struct gateway_auth_conf *aconf,
                             char *errstr, size_t errstr_size)
{
        char where[600], ferr[512];
        const char *key = aconf->hs256_secret;
        size_t len = strlen(key);
        char *buf = NULL;
        bool ok = true;

        snprintf(where, sizeof(where), "auth.hs256_secret");
        if (!key[0]) {
                snprintf(where, sizeof(where), "auth.hs256_secret_file: %s",
                         aconf->hs256_secret_file);
                buf = secret_read(aconf->hs256_secret_file, &len, ferr, sizeof(ferr));
                if (!buf) {
                        snprintf(errstr, errstr_size, "config: auth.hs256_secret_file: %s", ferr);
                        return false;
                }
                key = buf;
        }
        if (len < SECRET_MIN) {
                snprintf(errstr, errstr_size,
                         "config: %s: shorter than %d bytes (RFC 7518 asks for at least the hash "
                         "size)",
                         where, SECRET_MIN);
                ok = false;
        } else {
                hs256_key_add(auth, "", key, len);
        }
        secret_free(buf);
        return ok;
}

/* ---- the keys file ---- */

/* One keys file while it is read, and where its messages go. */
struct keys_load {
        struct gw_auth *auth;
        const char *file;
        char *errstr;
        size_t errstr_size;
};

/* Fails the load with a message naming the file and the line of @p node:
 * "config: auth.keys_file: keys.yaml:4: jwt_keys[1].alg: ...". */
static bool keys_fail(struct keys_load *kl, const struct cairn_yaml_node *node, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

static bool keys_fail(struct keys_load *kl, const struct cairn_yaml_node *node, const char *fmt,
                      ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(kl->errstr, kl->errstr_size, "config: auth.keys_file: %s:%d: %s", kl->file,
                 node->line, msg);
        return false;
}

/* The text of @p key in @p entry; NULL when it is absent, null, not a
 * scalar, or holds a NUL byte. */
static const char *entry_str(const struct cairn_yaml_node *entry, const char *key)
{
        const struct cairn_yaml_node *v = cairn_yaml_get(entry, key);

        if (!v || v->type != CAIRN_YAML_SCALAR || cairn_yaml_is_null(v) ||
            strlen(v->value) != v->len)
                return NULL;
        return v->value;
}

/* Where a message about @p key of @p entry points: its value, or the entry
 * when the key is absent. */
static const struct cairn_yaml_node *entry_at(const struct cairn_yaml_node *entry, const char *key)
{
        const struct cairn_yaml_node *v = cairn_yaml_get(entry, key);

        return v ? v : entry;
}

/* Fails unless @p node is a mapping whose keys are all in @p known. */
static bool keys_known(struct keys_load *kl, const struct cairn_yaml_node *node, const char *where,
                       const char *const *known)
{
        const struct cairn_yaml_node *key;

        if (node->type != CAIRN_YAML_MAPPING)
                return keys_fail(kl, node, "%s%snot a mapping", where, where[0] ? ": " : "");
        key = cairn_yaml_key_unknown(node, known);
        if (key && key->type != CAIRN_YAML_SCALAR)
                return keys_fail(kl, key, "%s%skeys must be strings", where, where[0] ? ": " : "");
        if (key)
                return keys_fail(kl, key, "%s%sunknown key \"%s\"", where, where[0] ? ": " : "",
                                 key->value);
        return true;
}

/* Resolves @p path against the keys file's directory when relative. */
static void resolve(const char *base, const char *path, char *out, size_t size)
{
        const char *slash = strrchr(base, '/');

        if (path[0] == '/' || !slash)
                snprintf(out, size, "%s", path);
        else
                snprintf(out, size, "%.*s/%s", (int)(slash - base), base, path);
}

/* Adds the HS256 key under @p kid whose secret is in @p path. */
static bool jwt_secret_add(struct keys_load *kl, const struct cairn_yaml_node *entry,
                           const char *where, const char *kid, const char *path)
{
        char ferr[1024];
        size_t len = 0;
        char *buf = secret_read(path, &len, ferr, sizeof(ferr));

        if (!buf)
                return keys_fail(kl, entry_at(entry, "secret_file"), "%s: %s", where, ferr);
        if (len < SECRET_MIN) {
                secret_free(buf);
                return keys_fail(kl, entry_at(entry, "secret_file"),
                                 "%s: HS256 secret in %.200s is shorter than %d bytes", where, path,
                                 SECRET_MIN);
        }
        hs256_key_add(kl->auth, kid, buf, len);
        secret_free(buf);
        return true;
}

/* The public key in the PEM text @p pem (@p len bytes), or NULL. */
static EVP_PKEY *pem_public_key(const char *pem, size_t len)
{
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        EVP_PKEY *pkey;

        if (!bio)
                abort();
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
        if (!pkey)
                ERR_clear_error(); /* reported by the caller, not left for the next TLS call */
        return pkey;
}

/* RS256 verifies with an RSA key, ES256 with a P-256 one (RFC 7518 3.3,
 * 3.4); any other key would make OpenSSL run another algorithm. */
static bool pkey_suits(EVP_PKEY *pkey, enum key_alg alg)
{
        char group[64];

        if (alg == KEY_RS256)
                return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
               EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1 &&
               strcmp(group, SN_X9_62_prime256v1) == 0;
}

/* Adds the RS256 or ES256 key under @p kid whose PEM public key is in
 * @p path. */
static bool jwt_pem_add(struct keys_load *kl, const struct cairn_yaml_node *entry,
                        const char *where, const char *kid, enum key_alg alg, const char *path)
{
        char ferr[1024];
        size_t len = 0;
        char *pem = cairn_file_read(path, PEM_FILE_MAX, &len, ferr, sizeof(ferr));
        EVP_PKEY *pkey = NULL;

        if (!pem)
                return keys_fail(kl, entry_at(entry, "pem_file"), "%s: %s", where, ferr);
        if (strstr(pem, "-----BEGIN PUBLIC KEY-----"))
                pkey = pem_public_key(pem, len);
        free(pem);
        if (!pkey)
                return keys_fail(kl, entry_at(entry, "pem_file"),
                                 "%s: %.200s holds no PEM public key", where, path);
        if (!pkey_suits(pkey, alg)) {
                EVP_PKEY_free(pkey);
                return keys_fail(kl, entry_at(entry, "pem_file"),
                                 "%s: %.200s holds no %s public key, which %s needs", where, path,
                                 alg == KEY_RS256 ? "RSA" : "P-256", alg_names[alg]);
        }
        jwt_key_add(kl->auth, kid, alg)->pkey = pkey;
        return true;
}

/* The algorithm named exactly @p name, or -1. */
static int alg_parse(const char *name)
{
        for (int i = 0; i < KEY_ALG__COUNT; i++)
                if (strcmp(name, alg_names[i]) == 0)
                        return i;
        return -1;
}

static bool jwt_entry_load(struct keys_load *kl, const struct cairn_yaml_node *entry, size_t idx)
{
        static const char *const known[] = { "kid", "alg", "pem_file", "secret_file", NULL };
        const char *kid, *alg, *pem, *secret;
        char where[64], path[1024];
        int a;
        bool hs;

        snprintf(where, sizeof(where), "jwt_keys[%zu]", idx);
        if (!keys_known(kl, entry, where, known))
                return false;
        kid = entry_str(entry, "kid");
        alg = entry_str(entry, "alg");
        pem = entry_str(entry, "pem_file");
        secret = entry_str(entry, "secret_file");
        if (!kid || !kid[0] || strlen(kid) > GW_ID_MAX)
                return keys_fail(kl, entry_at(entry, "kid"), "%s.kid: required, 1 to %d characters",
                                 where, GW_ID_MAX);
        a = alg ? alg_parse(alg) : -1;
        if (a < 0)
                return keys_fail(kl, entry_at(entry, "alg"),
                                 "%s.alg: must be HS256, RS256 or ES256", where);
        hs = a == KEY_HS256;
        if (hs ? (!secret || pem) : (!pem || secret))
                return keys_fail(kl, entry, "%s: %s keys need %s (and not %s)", where, alg,
                                 hs ? "secret_file" : "pem_file", hs ? "pem_file" : "secret_file");
        for (size_t i = 0; i < kl->auth->njwt; i++)
                if (strcmp(kl->auth->jwt_keys[i].kid, kid) == 0)
                        return keys_fail(kl, entry_at(entry, "kid"),
                                         "%s: jwt key id \"%s\" appears twice", where, kid);
        resolve(kl->file, hs ? secret : pem, path, sizeof(path));
        if (hs)
                return jwt_secret_add(kl, entry, where, kid, path);
        return jwt_pem_add(kl, entry, where, kid, (enum key_alg)a, path);
}

static bool is_hex64(const char *s)
{
        if (strlen(s) != 64)
                return false;
        for (size_t i = 0; i < 64; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static bool api_entry_load(struct keys_load *kl, const struct cairn_yaml_node *entry, size_t idx)
{
        static const char *const known[] = { "sha256", "principal", "tenant", "role", NULL };
        const char *hash, *principal, *tenant, *role;
        struct gw_auth *auth = kl->auth;
        struct api_key *k;
        char where[64];
        int r;

        snprintf(where, sizeof(where), "api_keys[%zu]", idx);
        if (!keys_known(kl, entry, where, known))
                return false;
        hash = entry_str(entry, "sha256");
        principal = entry_str(entry, "principal");
        tenant = entry_str(entry, "tenant");
        role = entry_str(entry, "role");
        if (!hash || !is_hex64(hash))
                return keys_fail(kl, entry_at(entry, "sha256"),
                                 "%s.sha256: required, 64 lower-case hex digits (sha256sum of the "
                                 "key)",
                                 where);
        if (!principal || !principal_valid(principal))
                return keys_fail(kl, entry_at(entry, "principal"),
                                 "%s.principal: required, 1 to %d printable characters", where,
                                 GW_ID_MAX);
        if (!tenant || !tenant_valid(tenant))
                return keys_fail(kl, entry_at(entry, "tenant"),
                                 "%s.tenant: required, 1 to %d of A-Z a-z 0-9 - _ . : @", where,
                                 GW_ID_MAX);
        r = role ? gw_role_parse(role) : -1;
        if (r < 0)
                return keys_fail(kl, entry_at(entry, "role"),
                                 "%s.role: must be owner, admin, member or viewer", where);
        for (size_t i = 0; i < auth->napi; i++)
                if (strcmp(auth->api_keys[i].hash, hash) == 0)
                        return keys_fail(kl, entry_at(entry, "sha256"),
                                         "%s.sha256: the same key appears twice", where);
        auth->api_keys = realloc(auth->api_keys, (auth->napi + 1) * sizeof(*auth->api_keys));
        if (!auth->api_keys)
                abort();
        k = &auth->api_keys[auth->napi++];
        snprintf(k->hash, sizeof(k->hash), "%s", hash);
        snprintf(k->principal, sizeof(k->principal), "%s", principal);
        snprintf(k->tenant, sizeof(k->tenant), "%s", tenant);
        k->role = (enum gw_role)r;
        return true;
}

/* One top-level key of the keys file: jwt_keys or api_keys, a list (or
 * nothing). */
static bool keys_list_load(struct keys_load *kl, const struct cairn_yaml_pair *pair)
{
        const char *name = cairn_yaml_str(pair->key);
        const struct cairn_yaml_node *list = pair->value;
        bool jwt = strcmp(name, "jwt_keys") == 0;

        if (cairn_yaml_is_null(list))
                return true;
        if (list->type != CAIRN_YAML_SEQUENCE)
                return keys_fail(kl, list, "%s: not a list", name);
        for (size_t i = 0; i < list->n; i++) {
                bool ok = jwt ? jwt_entry_load(kl, list->items[i], i)
                              : api_entry_load(kl, list->items[i], i);

                if (!ok)
                        return false;
        }
        return true;
}

static bool keys_file_load(struct gw_auth *auth, const char *file, char *errstr, size_t errstr_size)
{
        static const char *const known[] = { "jwt_keys", "api_keys", NULL };
        struct keys_load kl = { auth, file, errstr, errstr_size };
        const struct cairn_yaml_node *root;
        struct cairn_yaml *yaml;
        char yerr[1024];
        bool ok;

        yaml = cairn_yaml_load(file, KEYS_FILE_MAX, yerr, sizeof(yerr));
        if (!yaml) {
                snprintf(errstr, errstr_size, "config: auth.keys_file: %s", yerr);
                return false;
        }
        root = cairn_yaml_root(yaml);
        ok = !root || keys_known(&kl, root, "", known); /* an empty file: no keys */
        for (size_t i = 0; ok && root && i < root->n; i++)
                ok = keys_list_load(&kl, &root->pairs[i]);
        cairn_yaml_free(yaml);
        return ok;
}

struct gw_auth *gw_auth_new(const struct gateway_auth_conf *aconf, char *errstr, size_t errstr_size)
{
        struct gw_auth *auth = calloc(1, sizeof(*auth));

        if (!auth)
                abort();
        auth->aconf = aconf;
        if ((aconf->hs256_secret[0] || aconf->hs256_secret_file[0]) &&
            !default_key_load(auth, aconf, errstr, errstr_size))
                goto fail;
        if (aconf->keys_file[0] && !keys_file_load(auth, aconf->keys_file, errstr, errstr_size))
                goto fail;
        auth->cache = gw_jwt_cache_new((size_t)aconf->jwt_cache_entries);
        return auth;
fail:
        gw_auth_free(auth);
        return NULL;
}

void gw_auth_free(struct gw_auth *auth)
{
        if (!auth)
                return;
        for (size_t i = 0; i < auth->njwt; i++) {
                if (auth->jwt_keys[i].secret)
                        OPENSSL_cleanse(auth->jwt_keys[i].secret, auth->jwt_keys[i].len);
                free(auth->jwt_keys[i].secret);
                EVP_PKEY_free(auth->jwt_keys[i].pkey);
        }
        free(auth->jwt_keys);
        free(auth->api_keys);
        gw_jwt_cache_free(auth->cache);
        free(auth);
}

void gw_auth_metrics(struct gw_auth *auth, struct cairn_metrics *reg)
{
        gw_jwt_cache_metrics(auth->cache, reg);
}

size_t gw_auth_jwt_key_count(const struct gw_auth *auth)
{
        return auth->njwt;
}

size_t gw_auth_api_key_count(const struct gw_auth *auth)
{
        return auth->napi;
}

/* ---- checking ---- */

static bool api_key_syntax(const char *k)
{
        size_t n = strlen(k);

        if (n < 3 + 16 || n > 256 || strncmp(k, "ck_", 3) != 0)
                return false;
        for (size_t i = 3; i < n; i++)
                if (cairn_base64_value((unsigned char)k[i], true) < 0)
                        return false;
        return true;
}

static cairn_err_t check_api_key(const struct gw_auth *auth, const char *key,
                                 struct gw_principal *who, struct gw_auth_error *why)
{
        char hash[65];
        const struct api_key *found = NULL;

        if (!api_key_syntax(key)) {
                why_set(why, "invalid_token", "malformed API key");
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        gw_api_key_hash(key, strlen(key), hash);
        /* Every entry is compared, in constant time each. */
        for (size_t i = 0; i < auth->napi; i++)
                if (CRYPTO_memcmp(hash, auth->api_keys[i].hash, 64) == 0)
                        found = &auth->api_keys[i];
        if (!found) {
                why_set(why, "invalid_token", "unknown API key");
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        snprintf(who->principal, sizeof(who->principal), "%s", found->principal);
        snprintf(who->tenant, sizeof(who->tenant), "%s", found->tenant);
        who->role = found->role;
        who->is_jwt = false;
        return CAIRN_OK;
}

static const struct jwt_key *find_key(const struct gw_auth *auth, const char *kid)
{
        if (kid) {
                for (size_t i = 0; i < auth->njwt; i++)
                        if (auth->jwt_keys[i].kid[0] && strcmp(auth->jwt_keys[i].kid, kid) == 0)
                                return &auth->jwt_keys[i];
                return NULL;
        }
        for (size_t i = 0; i < auth->njwt; i++)
                if (!auth->jwt_keys[i].kid[0])
                        return &auth->jwt_keys[i];
        return auth->njwt == 1 ? &auth->jwt_keys[0] : NULL;
}

/* A NumericDate claim: absent → 0 with *present false; present but not a
 * number → false. */
static bool numeric_claim(json_t *claims, const char *name, double *out, bool *present)
{
        json_t *v = json_object_get(claims, name);

        *present = v != NULL;
        *out = 0;
        if (!v)
                return true;
        if (!json_is_number(v))
                return false;
        *out = json_number_value(v);
        return true;
}

static bool aud_matches(json_t *aud, const char *want)
{
        size_t i;
        json_t *it;

        if (json_is_string(aud))
                return strcmp(json_string_value(aud), want) == 0;
        if (json_is_array(aud)) {
                json_array_foreach(aud, i, it)
                        if (json_is_string(it) && strcmp(json_string_value(it), want) == 0)
                                return true;
        }
        return false;
}

static cairn_err_t check_claims(const struct gw_auth *auth, json_t *claims, int64_t now,
                                struct gw_principal *who, struct gw_jwt_times *t,
                                struct gw_auth_error *why)
{
        const struct gateway_auth_conf *ac = auth->aconf;
        const char *s;
        json_t *v;
        int role;

        if (!numeric_claim(claims, "exp", &t->exp, &t->has_exp) ||
            !numeric_claim(claims, "nbf", &t->nbf, &t->has_nbf)) {
                why_set(why, "invalid_token", "exp or nbf is not a number");
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        if (!t->has_exp && ac->require_exp) {
                why_set(why, "invalid_token", "token has no exp claim");
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        if ((s = gw_jwt_times_refuse(t, now, ac->clock_skew_s))) {
                why_set(why, "invalid_token", "%s", s);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        if (ac->issuer[0]) {
                v = json_object_get(claims, "iss");
                if (!json_is_string(v) || strcmp(json_string_value(v), ac->issuer) != 0) {
                        why_set(why, "invalid_token", "wrong or missing issuer (iss)");
                        return CAIRN_ERR_UNAUTHENTICATED;
                }
        }
        if (ac->audience[0] && !aud_matches(json_object_get(claims, "aud"), ac->audience)) {
                why_set(why, "invalid_token", "wrong or missing audience (aud)");
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        v = json_object_get(claims, "sub");
        s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!s || !principal_valid(s)) {
                why_set(why, "invalid_token",
                        "sub missing or not a printable string of 1 to 128 bytes");
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        snprintf(who->principal, sizeof(who->principal), "%s", s);
        v = json_object_get(claims, ac->tenant_claim);
        s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!s || !tenant_valid(s)) {
                why_set(why, "invalid_token", "claim %s missing or not a tenant id",
                        ac->tenant_claim);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        snprintf(who->tenant, sizeof(who->tenant), "%s", s);
        v = json_object_get(claims, ac->role_claim);
        role = json_is_string(v) ? gw_role_parse(json_string_value(v)) : -1;
        if (role < 0) {
                why_set(why, "invalid_token", "claim %s missing or not a known role",
                        ac->role_claim);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        who->role = (enum gw_role)role;
        who->is_jwt = true;
        return CAIRN_OK;
}

/* ---- the token: its parts, header and signature ---- */

/* Finds the two dots of a compact JWS, whose three parts are base64url
 * text and whose signature is not empty. */
static bool token_split(const char *token, const char **dot1, const char **dot2,
                        struct gw_auth_error *why)
{
        *dot1 = strchr(token, '.');
        *dot2 = *dot1 ? strchr(*dot1 + 1, '.') : NULL;
        if (!*dot1 || !*dot2 || strchr(*dot2 + 1, '.') || (*dot2)[1] == '\0') {
                why_set(why, "invalid_token", "malformed token (not three dot-separated parts)");
                return false;
        }
        for (const char *p = token; *p; p++) {
                if (*p != '.' && cairn_base64_value((unsigned char)*p, true) < 0) {
                        why_set(why, "invalid_token", "malformed token (not base64url)");
                        return false;
                }
        }
        return true;
}

/* The protected header in @p b64[0..len) as a JSON object, or NULL. */
static json_t *header_parse(const char *b64, size_t len, struct gw_auth_error *why)
{
        unsigned char hdr[JWT_HEADER_MAX];
        json_t *header = NULL;
        long n;

        n = cairn_base64_decode(b64, len, true, (uint8_t *)hdr, sizeof(hdr));
        if (n > 0)
                header = json_loadb((const char *)hdr, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(header)) {
                json_decref(header);
                why_set(why, "invalid_token", "malformed token header");
                return NULL;
        }
        return header;
}

/* RFC 7515 4.1.9: a typ without a '/' means application/<typ>, and media
 * types compare case-insensitively. JWT and JOSE are what generic issuers
 * write; at+jwt marks an RFC 9068 access token. */
static bool typ_accepted(const char *typ)
{
        static const char *const accepted[] = { "jwt", "at+jwt", "jose", NULL };
        const char *sub = typ;

        if (strchr(typ, '/')) {
                if (strncasecmp(typ, "application/", 12) != 0)
                        return false;
                sub = typ + 12;
        }
        for (size_t i = 0; accepted[i]; i++)
                if (strcasecmp(sub, accepted[i]) == 0)
                        return true;
        return false;
}

/* A typ short enough and plain enough (media type characters) to quote in
 * a reason, which ends up in a quoted WWW-Authenticate parameter. */
static bool typ_quotable(const char *typ)
{
        size_t n = strlen(typ);

        if (n == 0 || n > 40)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "!#$&^_.+-/",
                            typ[i]))
                        return false;
        return true;
}

/* The header parameters that say what the token is: crit, which lists
 * extensions a recipient must understand (RFC 7515 4.1.11; the gateway
 * understands none), and typ. */
static bool header_acceptable(json_t *header, struct gw_auth_error *why)
{
        json_t *typ = json_object_get(header, "typ");
        const char *s;

        if (json_object_get(header, "crit")) {
                why_set(why, "invalid_token",
                        "token header lists critical extensions (crit) the gateway does not "
                        "understand");
                return false;
        }
        if (!typ)
                return true;
        if (!json_is_string(typ)) {
                why_set(why, "invalid_token", "token type (typ) is not a string");
                return false;
        }
        s = json_string_value(typ);
        if (typ_accepted(s))
                return true;
        if (typ_quotable(s))
                why_set(why, "invalid_token", "token type (typ) %s is not an access token", s);
        else
                why_set(why, "invalid_token", "token type (typ) is not an access token");
        return false;
}

/* The key the header's kid names, provided the header's alg is that key's
 * algorithm, spelled exactly (RFC 7515 4.1.1: case-sensitive). */
static const struct jwt_key *key_for(const struct gw_auth *auth, json_t *header,
                                     struct gw_auth_error *why)
{
        json_t *kid = json_object_get(header, "kid");
        const char *alg = json_string_value(json_object_get(header, "alg"));
        const struct jwt_key *key;

        if (kid && !json_is_string(kid)) {
                why_set(why, "invalid_token", "kid is not a string");
                return NULL;
        }
        key = find_key(auth, json_string_value(kid));
        if (!key) {
                why_set(why, "invalid_token", "%s",
                        kid ? "unknown key id (kid)"
                            : "token has no kid and no default key is set");
                return NULL;
        }
        /* The algorithm is the key's, never the token's choice. */
        if (!alg || strcmp(alg, alg_names[key->alg]) != 0) {
                why_set(why, "invalid_token", "algorithm does not match the key's (%s)",
                        alg_names[key->alg]);
                return NULL;
        }
        return key;
}

/* Decodes the base64url text @p b64[0..len) into a buffer the caller
 * frees, its length in *@p np (-1 when malformed). */
static uint8_t *b64url_decode(const char *b64, size_t len, long *np)
{
        size_t cap = len / 4 * 3 + 3;
        uint8_t *buf = malloc(cap);

        if (!buf)
                abort();
        *np = cairn_base64_decode(b64, len, true, buf, cap);
        return buf;
}

/* The DER form OpenSSL verifies of an ES256 signature, which JWS writes as
 * R and S, 32 bytes each (RFC 7518 3.4). Returns its length (the caller
 * frees *@p der with OPENSSL_free()), or -1 for a signature of another
 * length. */
static int es256_der(const uint8_t *sig, size_t len, unsigned char **der)
{
        ECDSA_SIG *es;
        BIGNUM *r, *s;
        int n;

        if (len != 64)
                return -1;
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, 32, NULL);
        s = BN_bin2bn(sig + 32, 32, NULL);
        if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
                abort();
        n = i2d_ECDSA_SIG(es, der);
        ECDSA_SIG_free(es);
        return n;
}

/* SHA-256 with @p pkey, the padding or curve being the key's. */
static bool pkey_verify(EVP_PKEY *pkey, const unsigned char *sig, size_t siglen, const char *input,
                        size_t inlen)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok;

        if (!ctx)
                abort();
        ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input, inlen) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                ERR_clear_error(); /* a refused token is no error for this thread's next TLS call */
        return ok;
}

/* Whether @p sig[0..siglen) signs @p input[0..inlen) under @p key, with
 * the key's algorithm. */
static bool signature_valid(const struct jwt_key *key, const char *input, size_t inlen,
                            const uint8_t *sig, size_t siglen)
{
        unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
        unsigned int mdlen = 0;
        bool ok;
        int n;

        switch (key->alg) {
        case KEY_HS256:
                if (!HMAC(EVP_sha256(), key->secret, (int)key->len, (const unsigned char *)input,
                          inlen, md, &mdlen))
                        return false;
                return siglen == mdlen && CRYPTO_memcmp(md, sig, mdlen) == 0;
        case KEY_RS256:
                return pkey_verify(key->pkey, sig, siglen, input, inlen);
        case KEY_ES256:
                n = es256_der(sig, siglen, &der);
                ok = n > 0 && pkey_verify(key->pkey, der, (size_t)n, input, inlen);
                OPENSSL_free(der);
                return ok;
        default:
                return false;
        }
}

/* Checks the signature after @p dot2 over the text before it. */
static bool signature_ok(const struct jwt_key *key, const char *token, const char *dot2,
                         struct gw_auth_error *why)
{
        long n;
        uint8_t *sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &n);
        bool ok = n > 0 && signature_valid(key, token, (size_t)(dot2 - token), sig, (size_t)n);

        free(sig);
        if (!ok)
                why_set(why, "invalid_token", "%s",
                        n < 0 ? "malformed token signature (not base64url)"
                              : "signature verification failed");
        return ok;
}

/* ---- the claims ---- */

/* Why jansson refused a validly signed payload, as a reason for the client. */
static const char *json_refusal(const json_error_t *jerr)
{
        switch (json_error_code(jerr)) {
        case json_error_null_character:
        case json_error_null_byte_in_key:
                return "claims contain a NUL character";
        case json_error_numeric_overflow:
                /* exp: 1e400, past any double, or an integer past 64 bits */
                return "claims hold a number out of range";
        case json_error_invalid_utf8:
                return "token payload is not valid UTF-8";
        default:
                return "token payload is not JSON";
        }
}

/* The claims in the payload @p b64[0..len), a JSON object, or NULL with
 * @p why filled. Called once the signature holds, so every refusal names
 * what is wrong with what the issuer signed. */
static json_t *claims_parse(const char *b64, size_t len, struct gw_auth_error *why)
{
        const char *refusal = NULL;
        json_t *claims = NULL;
        json_error_t jerr;
        long n;
        uint8_t *buf = b64url_decode(b64, len, &n);

        if (n < 0)
                refusal = "malformed token payload (not base64url)";
        else if (memchr(buf, '\0', (size_t)n))
                refusal = "claims contain a NUL character";
        else
                claims = json_loadb((const char *)buf, (size_t)n, JSON_DECODE_ANY, &jerr);
        free(buf);
        if (!refusal && !claims)
                refusal = json_refusal(&jerr);
        else if (claims && !json_is_object(claims))
                refusal = "claims are not a JSON object";
        if (refusal) {
                json_decref(claims);
                why_set(why, "invalid_token", "%s", refusal);
                return NULL;
        }
        return claims;
}

static cairn_err_t check_jwt(const struct gw_auth *auth, const char *token, int64_t now,
                             struct gw_principal *who, struct gw_auth_error *why)
{
        const char *dot1, *dot2;
        const struct jwt_key *key = NULL;
        json_t *header, *claims;
        struct gw_jwt_times times;
        size_t len = strlen(token);
        cairn_err_t err;

        if (gw_jwt_cache_get(auth->cache, token, len, now, auth->aconf->clock_skew_s, who))
                return CAIRN_OK;
        if (!token_split(token, &dot1, &dot2, why))
                return CAIRN_ERR_UNAUTHENTICATED;
        header = header_parse(token, (size_t)(dot1 - token), why);
        if (!header)
                return CAIRN_ERR_UNAUTHENTICATED;
        if (header_acceptable(header, why))
                key = key_for(auth, header, why);
        json_decref(header);
        if (!key || !signature_ok(key, token, dot2, why))
                return CAIRN_ERR_UNAUTHENTICATED;
        claims = claims_parse(dot1 + 1, (size_t)(dot2 - dot1 - 1), why);
        if (!claims)
                return CAIRN_ERR_UNAUTHENTICATED;
        err = check_claims(auth, claims, now, who, &times, why);
        json_decref(claims);
        if (err == CAIRN_OK)
                gw_jwt_cache_put(auth->cache, token, len, who, &times);
        return err;
}

char *gw_auth_bearer(const char *token)
{
        size_t n;
        char *bearer;

        if (!token || !token[0])
                return NULL;
        n = strlen(token) + 8;
        bearer = malloc(n);
        if (!bearer)
                abort();
        snprintf(bearer, n, "Bearer %s", token);
        return bearer;
}

cairn_err_t gw_auth_check(const struct gw_auth *auth, const char *authorization,
                          const char *api_key, int64_t now, struct gw_principal *who,
                          struct gw_auth_error *why)
{
        const char *cred;

        memset(who, 0, sizeof(*who));
        why->code = NULL;
        why->reason[0] = '\0';
        if (authorization && authorization[0]) {
                if (strncasecmp(authorization, "Bearer ", 7) != 0) {
                        why_set(why, "invalid_request", "authorization scheme is not Bearer");
                        return CAIRN_ERR_UNAUTHENTICATED;
                }
                cred = authorization + 7;
                while (*cred == ' ')
                        cred++;
                if (!*cred || strlen(cred) > TOKEN_MAX) {
                        why_set(why, "invalid_request",
                                "the credential after Bearer is empty or too long");
                        return CAIRN_ERR_UNAUTHENTICATED;
                }
                if (strncmp(cred, "ck_", 3) == 0)
                        return check_api_key(auth, cred, who, why);
                return check_jwt(auth, cred, now, who, why);
        }
        if (api_key && api_key[0])
                return check_api_key(auth, api_key, who, why);
        why_set(why, NULL, "no credentials");
        return CAIRN_ERR_UNAUTHENTICATED;
}

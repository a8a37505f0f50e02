/* Who is calling: bearer JWTs verified with libjwt against keys chosen by
 * kid (HS256 secrets, RS256/ES256 public keys), claims checked here because
 * libjwt 1.10 checks none, and API keys looked up by their SHA-256.
 *
 * libjwt accepts an HS256 token whose HMAC key is an RSA public key, so the
 * algorithm a token names must be the one its key is configured for: that
 * check comes before jwt_decode() and again after it. */
#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cairn/utf8.h"
#include "cairn/base64.h"
#include "gateway.h"

#define TOKEN_MAX 8192
#define JWT_HEADER_MAX 2048
#define KEY_FILE_MAX (64 * 1024)

struct jwt_key {
        char kid[GW_ID_MAX + 1];     /* "" for the configured HS256 secret */
        jwt_alg_t alg;
        unsigned char *key;
        size_t len;
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
        struct gw_jwt_cache *cache;  /* NULL when off */
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

static void why_set(struct gw_auth_error *why, const char *code, const char *fmt, const char *arg)
{
        why->code = code;
        snprintf(why->reason, sizeof(why->reason), fmt, arg ? arg : "");
}

/* ---- the keys file ---- */

static char *read_file(const char *path, size_t max, size_t *lenp, char *errstr, size_t errstr_size)
{
        FILE *fp = fopen(path, "rb");
        char *buf;
        size_t n;

        if (!fp) {
                snprintf(errstr, errstr_size, "cannot open %s: %s", path, strerror(errno));
                return NULL;
        }
        buf = malloc(max + 1);
        if (!buf)
                abort();
        n = fread(buf, 1, max + 1, fp);
        fclose(fp);
        if (n > max) {
                snprintf(errstr, errstr_size, "%s is larger than %zu bytes", path, max);
                free(buf);
                return NULL;
        }
        buf[n] = '\0';
        *lenp = n;
        return buf;
}

/* The scalar value of @p key in mapping @p map, or NULL. */
static const char *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = yaml_document_get_node(doc, p->key);
                yaml_node_t *v = yaml_document_get_node(doc, p->value);

                if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
                        return v && v->type == YAML_SCALAR_NODE ? (char *)v->data.scalar.value : NULL;
        }
        return NULL;
}

/* Fails when @p map has a key outside @p allowed (NULL-terminated). */
static bool map_keys_known(yaml_document_t *doc, yaml_node_t *map, const char *const *allowed,
                           const char *where, char *errstr, size_t errstr_size)
{
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = yaml_document_get_node(doc, p->key);
                bool ok = false;

                if (!k || k->type != YAML_SCALAR_NODE) {
                        snprintf(errstr, errstr_size, "%s: keys must be strings", where);
                        return false;
                }
                for (size_t i = 0; allowed[i]; i++)
                        if (strcmp((char *)k->data.scalar.value, allowed[i]) == 0)
                                ok = true;
                if (!ok) {
                        snprintf(errstr, errstr_size, "%s: unknown key \"%s\"", where,
                                 (char *)k->data.scalar.value);
                        return false;
                }
        }
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

static bool add_jwt_key(struct gw_auth *auth, const char *kid, jwt_alg_t alg, unsigned char *key,
                        size_t len, char *errstr, size_t errstr_size)
{
        for (size_t i = 0; i < auth->njwt; i++) {
                if (strcmp(auth->jwt_keys[i].kid, kid) == 0) {
                        snprintf(errstr, errstr_size, "jwt key id \"%s\" appears twice", kid);
                        free(key);
                        return false;
                }
        }
        auth->jwt_keys = realloc(auth->jwt_keys, (auth->njwt + 1) * sizeof(*auth->jwt_keys));
        if (!auth->jwt_keys)
                abort();
        struct jwt_key *k = &auth->jwt_keys[auth->njwt++];
        snprintf(k->kid, sizeof(k->kid), "%s", kid);
        k->alg = alg;
        k->key = key;
        k->len = len;
        return true;
}

static bool load_jwt_key(struct gw_auth *auth, const char *file, yaml_document_t *doc,
                         yaml_node_t *n, size_t idx, char *errstr, size_t errstr_size)
{
        static const char *const allowed[] = { "kid", "alg", "pem_file", "secret_file", NULL };
        char where[64], path[1024], ferr[256];
        const char *kid, *alg, *pem, *secret;
        unsigned char *key;
        size_t len;
        jwt_alg_t a;

        snprintf(where, sizeof(where), "jwt_keys[%zu]", idx);
        if (n->type != YAML_MAPPING_NODE) {
                snprintf(errstr, errstr_size, "%s: %s: not a mapping", file, where);
                return false;
        }
        if (!map_keys_known(doc, n, allowed, where, ferr, sizeof(ferr))) {
                snprintf(errstr, errstr_size, "%s: %s", file, ferr);
                return false;
        }
        kid = map_get(doc, n, "kid");
        alg = map_get(doc, n, "alg");
        pem = map_get(doc, n, "pem_file");
        secret = map_get(doc, n, "secret_file");
        if (!kid || !kid[0] || strlen(kid) > GW_ID_MAX) {
                snprintf(errstr, errstr_size, "%s: %s.kid: required, 1 to %d characters", file,
                         where, GW_ID_MAX);
                return false;
        }
        if (!alg || (strcmp(alg, "HS256") && strcmp(alg, "RS256") && strcmp(alg, "ES256"))) {
                snprintf(errstr, errstr_size, "%s: %s.alg: must be HS256, RS256 or ES256", file,
                         where);
                return false;
        }
        a = jwt_str_alg(alg);
        if (a == JWT_ALG_HS256 ? (!secret || pem) : (!pem || secret)) {
                snprintf(errstr, errstr_size, "%s: %s: %s keys need %s (and not %s)", file, where,
                         alg, a == JWT_ALG_HS256 ? "secret_file" : "pem_file",
                         a == JWT_ALG_HS256 ? "pem_file" : "secret_file");
                return false;
        }
        resolve(file, a == JWT_ALG_HS256 ? secret : pem, path, sizeof(path));
        key = (unsigned char *)read_file(path, KEY_FILE_MAX, &len, ferr, sizeof(ferr));
        if (!key) {
                snprintf(errstr, errstr_size, "%s: %s: %s", file, where, ferr);
                return false;
        }
        if (a == JWT_ALG_HS256) {
                while (len > 0 && (key[len - 1] == '\n' || key[len - 1] == '\r'))
                        key[--len] = '\0';
                if (len < 32) {
                        snprintf(errstr, errstr_size,
                                 "%s: %s: HS256 secret in %.200s is shorter than 32 bytes", file, where,
                                 path);
                        free(key);
                        return false;
                }
        } else if (!strstr((char *)key, "-----BEGIN PUBLIC KEY-----")) {
                snprintf(errstr, errstr_size, "%s: %s: %.200s holds no PEM public key", file, where,
                         path);
                free(key);
                return false;
        }
        if (!add_jwt_key(auth, kid, a, key, len, ferr, sizeof(ferr))) {
                snprintf(errstr, errstr_size, "%s: %s: %s", file, where, ferr);
                return false;
        }
        return true;
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

static bool load_api_key(struct gw_auth *auth, const char *file, yaml_document_t *doc,
                         yaml_node_t *n, size_t idx, char *errstr, size_t errstr_size)
{
        static const char *const allowed[] = { "sha256", "principal", "tenant", "role", NULL };
        char where[64], ferr[256];
        const char *hash, *principal, *tenant, *role;
        int r;

        snprintf(where, sizeof(where), "api_keys[%zu]", idx);
        if (n->type != YAML_MAPPING_NODE) {
                snprintf(errstr, errstr_size, "%s: %s: not a mapping", file, where);
                return false;
        }
        if (!map_keys_known(doc, n, allowed, where, ferr, sizeof(ferr))) {
                snprintf(errstr, errstr_size, "%s: %s", file, ferr);
                return false;
        }
        hash = map_get(doc, n, "sha256");
        principal = map_get(doc, n, "principal");
        tenant = map_get(doc, n, "tenant");
        role = map_get(doc, n, "role");
        if (!hash || !is_hex64(hash)) {
                snprintf(errstr, errstr_size,
                         "%s: %s.sha256: required, 64 lower-case hex digits (sha256sum of the key)",
                         file, where);
                return false;
        }
        if (!principal || !principal_valid(principal)) {
                snprintf(errstr, errstr_size, "%s: %s.principal: required, 1 to %d printable characters",
                         file, where, GW_ID_MAX);
                return false;
        }
        if (!tenant || !tenant_valid(tenant)) {
                snprintf(errstr, errstr_size,
                         "%s: %s.tenant: required, 1 to %d of A-Z a-z 0-9 - _ . : @", file, where,
                         GW_ID_MAX);
                return false;
        }
        r = role ? gw_role_parse(role) : -1;
        if (r < 0) {
                snprintf(errstr, errstr_size, "%s: %s.role: must be owner, admin, member or viewer",
                         file, where);
                return false;
        }
        for (size_t i = 0; i < auth->napi; i++) {
                if (strcmp(auth->api_keys[i].hash, hash) == 0) {
                        snprintf(errstr, errstr_size, "%s: %s.sha256: the same key appears twice",
                                 file, where);
                        return false;
                }
        }
        auth->api_keys = realloc(auth->api_keys, (auth->napi + 1) * sizeof(*auth->api_keys));
        if (!auth->api_keys)
                abort();
        struct api_key *k = &auth->api_keys[auth->napi++];
        snprintf(k->hash, sizeof(k->hash), "%s", hash);
        snprintf(k->principal, sizeof(k->principal), "%s", principal);
        snprintf(k->tenant, sizeof(k->tenant), "%s", tenant);
        k->role = (enum gw_role)r;
        return true;
}

static bool load_keys_file(struct gw_auth *auth, const char *file, char *errstr, size_t errstr_size)
{
        yaml_parser_t parser;
        yaml_document_t doc;
        yaml_node_t *root;
        char ferr[256];
        size_t len;
        bool ok = false;
        char *text = read_file(file, 4 << 20, &len, ferr, sizeof(ferr));

        if (!text) {
                snprintf(errstr, errstr_size, "config: auth.keys_file: %s", ferr);
                return false;
        }
        yaml_parser_initialize(&parser);
        yaml_parser_set_input_string(&parser, (unsigned char *)text, len);
        if (!yaml_parser_load(&parser, &doc)) {
                snprintf(errstr, errstr_size, "config: auth.keys_file: %s: line %zu: %s", file,
                         parser.problem_mark.line + 1, parser.problem ? parser.problem : "bad YAML");
                yaml_parser_delete(&parser);
                free(text);
                return false;
        }
        root = yaml_document_get_root_node(&doc);
        if (!root) {
                ok = true; /* an empty file: no keys */
                goto out;
        }
        if (root->type != YAML_MAPPING_NODE) {
                snprintf(errstr, errstr_size, "config: auth.keys_file: %s: not a mapping", file);
                goto out;
        }
        static const char *const allowed[] = { "jwt_keys", "api_keys", NULL };
        if (!map_keys_known(&doc, root, allowed, file, ferr, sizeof(ferr))) {
                snprintf(errstr, errstr_size, "config: auth.keys_file: %s", ferr);
                goto out;
        }
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
             p < root->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(&doc, p->key);
                yaml_node_t *v = yaml_document_get_node(&doc, p->value);
                bool jwt = strcmp((char *)k->data.scalar.value, "jwt_keys") == 0;
                size_t idx = 0;

                if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0)
                        continue;
                if (v->type != YAML_SEQUENCE_NODE) {
                        snprintf(errstr, errstr_size, "config: auth.keys_file: %s: %s: not a list",
                                 file, (char *)k->data.scalar.value);
                        goto out;
                }
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++, idx++) {
                        yaml_node_t *n = yaml_document_get_node(&doc, *it);
                        char e[480];
                        bool good = jwt ? load_jwt_key(auth, file, &doc, n, idx, e, sizeof(e))
                                        : load_api_key(auth, file, &doc, n, idx, e, sizeof(e));
                        if (!good) {
                                snprintf(errstr, errstr_size, "config: auth.keys_file: %s", e);
                                goto out;
                        }
                }
        }
        ok = true;
out:
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        free(text);
        return ok;
}

struct gw_auth *gw_auth_new(const struct gateway_auth_conf *aconf, char *errstr,
                            size_t errstr_size)
{
        struct gw_auth *auth = calloc(1, sizeof(*auth));
        char ferr[256];

        if (!auth)
                abort();
        auth->aconf = aconf;
        if (aconf->hs256_secret[0] || aconf->hs256_secret_file[0]) {
                size_t len;
                char *key;

                if (aconf->hs256_secret[0]) {
                        key = strdup(aconf->hs256_secret);
                        len = strlen(key);
                } else {
                        key = read_file(aconf->hs256_secret_file, KEY_FILE_MAX, &len, ferr,
                                        sizeof(ferr));
                        if (!key) {
                                snprintf(errstr, errstr_size, "config: auth.hs256_secret_file: %s",
                                         ferr);
                                goto fail;
                        }
                        while (len > 0 && (key[len - 1] == '\n' || key[len - 1] == '\r'))
                                key[--len] = '\0';
                }
                if (len < 32) {
                        snprintf(errstr, errstr_size,
                                 "config: auth.hs256_secret: shorter than 32 bytes (RFC 7518 "
                                 "asks for at least the hash size)");
                        free(key);
                        goto fail;
                }
                add_jwt_key(auth, "", JWT_ALG_HS256, (unsigned char *)key, len, ferr, sizeof(ferr));
        }
        if (aconf->keys_file[0] && !load_keys_file(auth, aconf->keys_file, errstr, errstr_size))
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
                OPENSSL_cleanse(auth->jwt_keys[i].key, auth->jwt_keys[i].len);
                free(auth->jwt_keys[i].key);
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
                why_set(why, "invalid_token", "malformed API key", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        gw_api_key_hash(key, strlen(key), hash);
        /* Every entry is compared, in constant time each. */
        for (size_t i = 0; i < auth->napi; i++)
                if (CRYPTO_memcmp(hash, auth->api_keys[i].hash, 64) == 0)
                        found = &auth->api_keys[i];
        if (!found) {
                why_set(why, "invalid_token", "unknown API key", NULL);
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
                why_set(why, "invalid_token", "exp or nbf is not a number", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        if (!t->has_exp && ac->require_exp) {
                why_set(why, "invalid_token", "token has no exp claim", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        if ((s = gw_jwt_times_refuse(t, now, ac->clock_skew_s))) {
                why_set(why, "invalid_token", "%s", s);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        if (ac->issuer[0]) {
                v = json_object_get(claims, "iss");
                if (!json_is_string(v) || strcmp(json_string_value(v), ac->issuer) != 0) {
                        why_set(why, "invalid_token", "wrong or missing issuer (iss)", NULL);
                        return CAIRN_ERR_UNAUTHENTICATED;
                }
        }
        if (ac->audience[0] && !aud_matches(json_object_get(claims, "aud"), ac->audience)) {
                why_set(why, "invalid_token", "wrong or missing audience (aud)", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        v = json_object_get(claims, "sub");
        s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!s || !principal_valid(s)) {
                why_set(why, "invalid_token", "sub missing or not a printable string of 1 to 128 bytes",
                        NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        snprintf(who->principal, sizeof(who->principal), "%s", s);
        v = json_object_get(claims, ac->tenant_claim);
        s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!s || !tenant_valid(s)) {
                why_set(why, "invalid_token", "claim %s missing or not a tenant id", ac->tenant_claim);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        snprintf(who->tenant, sizeof(who->tenant), "%s", s);
        v = json_object_get(claims, ac->role_claim);
        role = json_is_string(v) ? gw_role_parse(json_string_value(v)) : -1;
        if (role < 0) {
                why_set(why, "invalid_token", "claim %s missing or not a known role", ac->role_claim);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        who->role = (enum gw_role)role;
        who->is_jwt = true;
        return CAIRN_OK;
}

static cairn_err_t check_jwt(const struct gw_auth *auth, const char *token, int64_t now,
                             struct gw_principal *who, struct gw_auth_error *why)
{
        unsigned char hdr[JWT_HEADER_MAX];
        const char *dot1, *dot2;
        const struct jwt_key *key;
        json_t *header, *claims;
        const char *alg, *kid;
        struct gw_jwt_times times;
        size_t len = strlen(token);
        jwt_t *jwt = NULL;
        cairn_err_t err;
        long n;

        if (gw_jwt_cache_get(auth->cache, token, len, now, auth->aconf->clock_skew_s, who))
                return CAIRN_OK;
        dot1 = strchr(token, '.');
        dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
        if (!dot1 || !dot2 || strchr(dot2 + 1, '.') || dot2[1] == '\0') {
                why_set(why, "invalid_token", "malformed token (not three dot-separated parts)",
                        NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        for (const char *p = token; *p; p++) {
                if (*p != '.' && cairn_base64_value((unsigned char)*p, true) < 0) {
                        why_set(why, "invalid_token", "malformed token (not base64url)", NULL);
                        return CAIRN_ERR_UNAUTHENTICATED;
                }
        }
        n = cairn_base64_decode(token, (size_t)(dot1 - token), true, (uint8_t *)hdr, sizeof(hdr));
        header = n > 0 ? json_loadb((const char *)hdr, (size_t)n, JSON_REJECT_DUPLICATES, NULL)
                       : NULL;
        if (!json_is_object(header)) {
                json_decref(header);
                why_set(why, "invalid_token", "malformed token header", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        alg = json_string_value(json_object_get(header, "alg"));
        kid = json_string_value(json_object_get(header, "kid"));
        if (json_object_get(header, "kid") && !kid) {
                json_decref(header);
                why_set(why, "invalid_token", "kid is not a string", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        key = find_key(auth, kid);
        if (!key) {
                why_set(why, "invalid_token",
                        kid ? "unknown key id (kid)" : "token has no kid and no default key is set",
                        NULL);
                json_decref(header);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        /* The algorithm is the key's, never the token's choice. */
        if (!alg || jwt_str_alg(alg) != key->alg) {
                why_set(why, "invalid_token", "algorithm does not match the key's (%s)",
                        jwt_alg_str(key->alg));
                json_decref(header);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        json_decref(header);

        if (jwt_decode(&jwt, token, key->key, (int)key->len) != 0 || !jwt) {
                why_set(why, "invalid_token", "signature verification failed", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        if (jwt_get_alg(jwt) != key->alg) {
                jwt_free(jwt);
                why_set(why, "invalid_token", "algorithm does not match the key's", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        char *grants = jwt_get_grants_json(jwt, NULL);
        jwt_free(jwt);
        claims = grants ? json_loads(grants, 0, NULL) : NULL;
        free(grants);
        if (!json_is_object(claims)) {
                json_decref(claims);
                why_set(why, "invalid_token", "claims are not a JSON object", NULL);
                return CAIRN_ERR_UNAUTHENTICATED;
        }
        err = check_claims(auth, claims, now, who, &times, why);
        json_decref(claims);
        if (err == CAIRN_OK)
                gw_jwt_cache_put(auth->cache, token, len, who, &times);
        return err;
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
                        why_set(why, "invalid_request", "authorization scheme is not Bearer", NULL);
                        return CAIRN_ERR_UNAUTHENTICATED;
                }
                cred = authorization + 7;
                while (*cred == ' ')
                        cred++;
                if (!*cred || strlen(cred) > TOKEN_MAX) {
                        why_set(why, "invalid_request", "bearer credential empty or too long", NULL);
                        return CAIRN_ERR_UNAUTHENTICATED;
                }
                if (strncmp(cred, "ck_", 3) == 0)
                        return check_api_key(auth, cred, who, why);
                return check_jwt(auth, cred, now, who, why);
        }
        if (api_key && api_key[0])
                return check_api_key(auth, api_key, who, why);
        why_set(why, NULL, "no credentials", NULL);
        return CAIRN_ERR_UNAUTHENTICATED;
}

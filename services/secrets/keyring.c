/* The keyring (keyring.h): root keys from configuration, KEK versions from
 * PostgreSQL, each unwrapped once into locked memory. */
#include "keyring.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/base64.h"
#include "cairn/clock.h"
#include "cairn/file.h"
#include "cairn/log.h"
#include "cairn/seal.h"

#define ROOTS_MAX    8
#define ROOT_ID_MAX  32
#define ROOT_TEXT    4096
#define KEK_AD_MAX   (sizeof("cairn.secrets.kek") + 4 + ROOT_ID_MAX)
#define WRAP_AD_MAX  1200 /* a version's associated data and the KEK version */
#define KEK_WRAPPED  SECRETS_WRAPPED_BYTES
#define SEAL_KDF_CTX "cairnsbx" /* crypto_kdf context: 8 bytes */

struct root {
        char id[ROOT_ID_MAX + 1];
        uint8_t *key; /* sodium_malloc'ed */
};

struct kek {
        uint32_t version;
        uint8_t *key;                /* sodium_malloc'ed */
        struct cairn_seal_keys *box; /* the service key it derives */
};

struct secrets_keyring {
        struct cairn_pg *pg;
        struct root roots[ROOTS_MAX]; /* [0] is current */
        size_t nroots;
        pthread_rwlock_t lock; /* over what follows */
        struct kek *keks;      /* by version, ascending */
        size_t nkeks;
        uint32_t current, min;
};

static const struct cairn_pg_stmt sql_state = {
        .name = "secrets_keyring_state",
        .sql = "SELECT current_version, min_decryption_version FROM secrets_keyring",
};
static const struct cairn_pg_stmt sql_keks = {
        .name = "secrets_keks_load",
        .sql = "SELECT version, root_id, wrapped FROM secrets_keks WHERE wrapped IS NOT NULL "
               "AND version > $1 ORDER BY version",
};
static const struct cairn_pg_stmt sql_kek_put = {
        .name = "secrets_kek_put",
        .sql = "INSERT INTO secrets_keks (version, root_id, wrapped, created_at) "
               "VALUES ($1, $2, $3, now()) ON CONFLICT DO NOTHING",
};
static const struct cairn_pg_stmt sql_ring_init = {
        .name = "secrets_keyring_init",
        .sql = "INSERT INTO secrets_keyring (current_version) VALUES (1) ON CONFLICT DO NOTHING",
};
static const struct cairn_pg_stmt sql_kek_reroot = {
        .name = "secrets_kek_reroot",
        .sql = "UPDATE secrets_keks SET root_id = $2, wrapped = $3 WHERE version = $1 AND root_id = $4",
};
static const struct cairn_pg_stmt sql_ring_lock = {
        .name = "secrets_keyring_lock",
        .sql = "SELECT (SELECT max(version) FROM secrets_keks) FROM secrets_keyring FOR UPDATE",
};
static const struct cairn_pg_stmt sql_ring_rotate = {
        .name = "secrets_keyring_rotate",
        .sql = "UPDATE secrets_keyring SET current_version = $1, rewrap_target = $1, "
               "rewrap_total = (SELECT count(*) FROM secrets_versions WHERE NOT destroyed "
               "AND kek_version < $1), rewrap_done = 0, rewrap_started_at = now(), "
               "rewrap_finished_at = NULL",
};

/* ---- root keys ---- */

static bool id_valid(const char *id, size_t n)
{
        if (n == 0 || n > ROOT_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)id[i]) && !strchr("._-", id[i]))
                        return false;
        return true;
}

/* Parses "<id> <base64>" lines of @p text into kr->roots. */
static int roots_parse(struct secrets_keyring *kr, const char *text, const char *from, char *errstr,
                       size_t errstr_size)
{
        const char *p = text;
        int line = 0;

        while (*p) {
                const char *end = strchr(p, '\n'), *sp;
                size_t len = end ? (size_t)(end - p) : strlen(p);
                /* room for any line's key: one of the wrong length is named
                 * by its length, not taken for text that is not base64 */
                uint8_t key[ROOT_TEXT];
                long n;

                line++;
                while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
                        len--;
                while (len && (*p == ' ' || *p == '\t'))
                        p++, len--;
                if (len == 0 || *p == '#')
                        goto next;
                sp = memchr(p, ' ', len);
                if (!sp || !id_valid(p, (size_t)(sp - p))) {
                        snprintf(errstr, errstr_size,
                                 "%s: line %d: expected \"<id> <base64 key>\" with an id of 1 to "
                                 "%d letters, digits, '.', '_' or '-'",
                                 from, line, ROOT_ID_MAX);
                        return -1;
                }
                if (kr->nroots == ROOTS_MAX) {
                        snprintf(errstr, errstr_size, "%s: more than %d root keys", from,
                                 ROOTS_MAX);
                        return -1;
                }
                struct root *r = &kr->roots[kr->nroots];
                memcpy(r->id, p, (size_t)(sp - p));
                r->id[sp - p] = '\0';
                for (size_t i = 0; i < kr->nroots; i++)
                        if (strcmp(kr->roots[i].id, r->id) == 0) {
                                snprintf(errstr, errstr_size, "%s: line %d: root key id %s twice",
                                         from, line, r->id);
                                return -1;
                        }
                while (*sp == ' ')
                        sp++;
                n = cairn_base64_decode(sp, (size_t)(p + len - sp), false, key, sizeof(key));
                if (n != SECRETS_KEY_BYTES) {
                        sodium_memzero(key, sizeof(key));
                        if (n < 0)
                                snprintf(errstr, errstr_size, "%s: line %d: key %s is not base64",
                                         from, line, r->id);
                        else
                                snprintf(errstr, errstr_size,
                                         "%s: line %d: key %s is %ld bytes; a root key is %d "
                                         "random bytes in base64 (head -c 32 /dev/urandom | "
                                         "base64)",
                                         from, line, r->id, n, SECRETS_KEY_BYTES);
                        return -1;
                }
                if (!(r->key = sodium_malloc(SECRETS_KEY_BYTES))) {
                        sodium_memzero(key, sizeof(key));
                        snprintf(errstr, errstr_size, "out of locked memory for the root keys");
                        return -1;
                }
                memcpy(r->key, key, SECRETS_KEY_BYTES);
                sodium_memzero(key, sizeof(key));
                sodium_mprotect_readonly(r->key);
                kr->nroots++;
next:
                p = end ? end + 1 : p + len;
        }
        if (kr->nroots == 0) {
                snprintf(errstr, errstr_size, "%s holds no root key", from);
                return -1;
        }
        return 0;
}

static int roots_load(struct secrets_keyring *kr, const struct secrets_conf *conf, char *errstr,
                      size_t errstr_size)
{
        bool file = conf->root_key_file && conf->root_key_file[0];
        bool inline_key = conf->root_key && conf->root_key[0];
        char *text;
        int rc;

        if (file == inline_key) {
                snprintf(errstr, errstr_size,
                         file ? "set one of secrets.root_key_file and secrets.root_key, not both"
                              : "secrets.root_key_file (or secrets.root_key) is required: the "
                                "root key that wraps the keyring");
                return -1;
        }
        if (!file)
                return roots_parse(kr, conf->root_key, "secrets.root_key", errstr, errstr_size);
        if (!(text = sodium_malloc(ROOT_TEXT))) {
                snprintf(errstr, errstr_size, "out of locked memory for the root keys");
                return -1;
        }
        char why[384];
        if (cairn_secret_file_read(conf->root_key_file, text, ROOT_TEXT, why, sizeof(why)) < 0) {
                snprintf(errstr, errstr_size, "secrets.root_key_file: %s", why);
                sodium_free(text);
                return -1;
        }
        rc = roots_parse(kr, text, "secrets.root_key_file", errstr, errstr_size);
        sodium_free(text); /* wipes */
        return rc;
}

static const struct root *root_find(const struct secrets_keyring *kr, const char *id)
{
        for (size_t i = 0; i < kr->nroots; i++)
                if (strcmp(kr->roots[i].id, id) == 0)
                        return &kr->roots[i];
        return NULL;
}

static size_t kek_ad(uint32_t version, const char *root_id, uint8_t *ad)
{
        size_t n = sizeof("cairn.secrets.kek"), idl = strlen(root_id);

        memcpy(ad, "cairn.secrets.kek", n);
        ad[n++] = (uint8_t)(version >> 24), ad[n++] = (uint8_t)(version >> 16);
        ad[n++] = (uint8_t)(version >> 8), ad[n++] = (uint8_t)version;
        memcpy(ad + n, root_id, idl);
        return n + idl;
}

/* nonce || XChaCha20-Poly1305(key, ad) into out (KEK_WRAPPED bytes). */
static void seal32(const uint8_t *kek, const uint8_t *ad, size_t ad_len, const uint8_t *key,
                   uint8_t *out)
{
        randombytes_buf(out, SECRETS_NONCE_BYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(out + SECRETS_NONCE_BYTES, NULL, key,
                                                   SECRETS_KEY_BYTES, ad, ad_len, NULL, out, kek);
}

static int open32(const uint8_t *kek, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                  size_t len, uint8_t *key)
{
        if (len != KEK_WRAPPED)
                return -1;
        return crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL, in + SECRETS_NONCE_BYTES,
                                                          len - SECRETS_NONCE_BYTES, ad, ad_len, in,
                                                          kek);
}

/* ---- KEK versions ---- */

static void kek_clear(struct kek *k)
{
        sodium_free(k->key);
        cairn_seal_keys_free(k->box);
        k->key = NULL;
        k->box = NULL;
}

/* Adds KEK @p version from its row (root id, wrapped bytes) to @p kr
 * (write-locked). */
static int kek_add(struct secrets_keyring *kr, uint32_t version, const char *root_id,
                   const uint8_t *wrapped, size_t len, char *errstr, size_t errstr_size)
{
        const struct root *r = root_find(kr, root_id);
        uint8_t ad[KEK_AD_MAX], seed[SECRETS_KEY_BYTES];
        struct kek k = { .version = version };
        struct kek *grown;

        if (!r) {
                snprintf(errstr, errstr_size,
                         "KEK version %u is wrapped by root key %s, which secrets.root_key_file "
                         "does not hold",
                         version, root_id);
                return -1;
        }
        if (!(k.key = sodium_malloc(SECRETS_KEY_BYTES))) {
                snprintf(errstr, errstr_size, "out of locked memory for the keyring");
                return -1;
        }
        if (open32(r->key, ad, kek_ad(version, root_id, ad), wrapped, len, k.key) != 0) {
                kek_clear(&k);
                snprintf(errstr, errstr_size,
                         "KEK version %u does not unwrap with root key %s: the key is not the "
                         "one it was wrapped with, or the row was altered",
                         version, root_id);
                return -1;
        }
        crypto_kdf_derive_from_key(seed, sizeof(seed), 1, SEAL_KDF_CTX, k.key);
        k.box = cairn_seal_keys_from_seed(seed);
        sodium_memzero(seed, sizeof(seed));
        grown = realloc(kr->keks, (kr->nkeks + 1) * sizeof(*kr->keks));
        if (!k.box || !grown) {
                if (grown)
                        kr->keks = grown;
                kek_clear(&k);
                snprintf(errstr, errstr_size, "out of memory for the keyring");
                return -1;
        }
        sodium_mprotect_readonly(k.key);
        kr->keks = grown;
        size_t at = kr->nkeks;
        while (at > 0 && kr->keks[at - 1].version > version)
                at--;
        memmove(&kr->keks[at + 1], &kr->keks[at], (kr->nkeks - at) * sizeof(*kr->keks));
        kr->keks[at] = k;
        kr->nkeks++;
        return 0;
}

static struct kek *kek_find(struct secrets_keyring *kr, uint32_t version)
{
        for (size_t i = 0; i < kr->nkeks; i++)
                if (kr->keks[i].version == version)
                        return &kr->keks[i];
        return NULL;
}

/* A KEK wrapped by the current root key, as its row's bytes. */
static char *kek_wrap_text(const struct secrets_keyring *kr, uint32_t version, const uint8_t *key)
{
        uint8_t ad[KEK_AD_MAX], out[KEK_WRAPPED];

        seal32(kr->roots[0].key, ad, kek_ad(version, kr->roots[0].id, ad), key, out);
        return cairn_pg_bytea_encode(out, sizeof(out));
}

/* Rewraps KEK rows held under an older root key to the current one. */
static cairn_err_t reroot(struct secrets_keyring *kr, const struct kek *k, const char *old_id,
                          int64_t deadline_us, char *errstr, size_t errstr_size)
{
        char v[16], *wrapped = kek_wrap_text(kr, k->version, k->key);
        const char *p[4] = { v, kr->roots[0].id, wrapped, old_id };
        PGresult *res = NULL;
        cairn_err_t err;

        if (!wrapped)
                return CAIRN_ERR_EXHAUSTED;
        snprintf(v, sizeof(v), "%u", k->version);
        err = cairn_pg_exec(kr->pg, deadline_us, &sql_kek_reroot, p, 4, &res, errstr, errstr_size);
        PQclear(res);
        free(wrapped);
        if (err == CAIRN_OK)
                cairn_log(INFO, "SECRETS", "KEK version %u rewrapped from root key %s to %s",
                          k->version, old_id, kr->roots[0].id);
        return err;
}

cairn_err_t secrets_keyring_reload(struct secrets_keyring *kr, int64_t deadline_us, char *errstr,
                                   size_t errstr_size)
{
        PGresult *state = NULL, *rows = NULL;
        char after[16];
        const char *p[1] = { after };
        cairn_err_t err;

        err = cairn_pg_exec(kr->pg, deadline_us, &sql_state, NULL, 0, &state, errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        if (PQntuples(state) != 1) {
                PQclear(state);
                snprintf(errstr, errstr_size, "the keyring row is missing");
                return CAIRN_ERR_INTERNAL;
        }
        pthread_rwlock_rdlock(&kr->lock);
        snprintf(after, sizeof(after), "%u", kr->nkeks ? kr->keks[kr->nkeks - 1].version : 0);
        pthread_rwlock_unlock(&kr->lock);
        err = cairn_pg_exec(kr->pg, deadline_us, &sql_keks, p, 1, &rows, errstr, errstr_size);
        if (err != CAIRN_OK) {
                PQclear(state);
                return err;
        }
        pthread_rwlock_wrlock(&kr->lock);
        for (int i = 0; i < PQntuples(rows) && err == CAIRN_OK; i++) {
                uint32_t v = (uint32_t)strtoul(PQgetvalue(rows, i, 0), NULL, 10);
                uint8_t *bytes = NULL;
                size_t len = 0;

                if (kek_find(kr, v))
                        continue;
                if (!cairn_pg_bytea_decode(PQgetvalue(rows, i, 2), &bytes, &len) ||
                    kek_add(kr, v, PQgetvalue(rows, i, 1), bytes, len, errstr, errstr_size) != 0)
                        err = CAIRN_ERR_INTERNAL;
                free(bytes);
        }
        kr->current = (uint32_t)strtoul(PQgetvalue(state, 0, 0), NULL, 10);
        kr->min = (uint32_t)strtoul(PQgetvalue(state, 0, 1), NULL, 10);
        /* Retired versions leave memory: nothing wrapped with them is left. */
        while (kr->nkeks && kr->keks[0].version < kr->min) {
                kek_clear(&kr->keks[0]);
                memmove(&kr->keks[0], &kr->keks[1], (kr->nkeks - 1) * sizeof(*kr->keks));
                kr->nkeks--;
        }
        if (err == CAIRN_OK && !kek_find(kr, kr->current)) {
                snprintf(errstr, errstr_size, "the current KEK version %u is not in the keyring",
                         kr->current);
                err = CAIRN_ERR_INTERNAL;
        }
        pthread_rwlock_unlock(&kr->lock);
        /* Rows under an older root key move to the current one. */
        for (int i = 0; i < PQntuples(rows) && err == CAIRN_OK; i++) {
                const char *root_id = PQgetvalue(rows, i, 1);
                struct kek *k;

                if (strcmp(root_id, kr->roots[0].id) == 0)
                        continue;
                pthread_rwlock_rdlock(&kr->lock);
                k = kek_find(kr, (uint32_t)strtoul(PQgetvalue(rows, i, 0), NULL, 10));
                err = k ? reroot(kr, k, root_id, deadline_us, errstr, errstr_size) : CAIRN_OK;
                pthread_rwlock_unlock(&kr->lock);
        }
        PQclear(state);
        PQclear(rows);
        return err;
}

/* Adds KEK @p version: a new random key, wrapped by the current root key
 * (a version already there is kept: the first insert wins). */
static cairn_err_t kek_insert(struct cairn_pg_conn *conn, const struct secrets_keyring *kr,
                              uint32_t version, char *errstr, size_t errstr_size)
{
        uint8_t *key = sodium_malloc(SECRETS_KEY_BYTES);
        char v[16], *wrapped;
        cairn_err_t err;

        if (!key)
                return CAIRN_ERR_EXHAUSTED;
        crypto_aead_xchacha20poly1305_ietf_keygen(key);
        wrapped = kek_wrap_text(kr, version, key);
        sodium_free(key);
        if (!wrapped)
                return CAIRN_ERR_EXHAUSTED;
        snprintf(v, sizeof(v), "%u", version);
        const char *p[3] = { v, kr->roots[0].id, wrapped };
        err = cairn_pg_conn_exec(conn, &sql_kek_put, p, 3, NULL, errstr, errstr_size);
        free(wrapped);
        return err;
}

/* Makes KEK version 1 when the keyring is empty (every replica may race
 * here: the first insert wins, the others load it). */
static cairn_err_t first_kek(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        cairn_err_t err = kek_insert(conn, opaque, 1, errstr, errstr_size);

        return err == CAIRN_OK ? cairn_pg_conn_exec(conn, &sql_ring_init, NULL, 0, NULL, errstr,
                                                    errstr_size)
                               : err;
}

struct secrets_keyring *secrets_keyring_open(struct cairn_pg *pg, const struct secrets_conf *conf,
                                             char *errstr, size_t errstr_size)
{
        struct secrets_keyring *kr;
        int64_t deadline = cairn_mono_us() + 30 * 1000000LL;
        char why[512];

        if (sodium_init() < 0) {
                snprintf(errstr, errstr_size, "libsodium cannot start");
                return NULL;
        }
        if (!(kr = calloc(1, sizeof(*kr))))
                abort();
        kr->pg = pg;
        pthread_rwlock_init(&kr->lock, NULL);
        if (roots_load(kr, conf, errstr, errstr_size) != 0) {
                secrets_keyring_free(kr);
                return NULL;
        }
        if (cairn_pg_tx(pg, deadline, first_kek, kr, why, sizeof(why)) != CAIRN_OK ||
            secrets_keyring_reload(kr, deadline, why, sizeof(why)) != CAIRN_OK) {
                snprintf(errstr, errstr_size, "keyring: %s", why);
                secrets_keyring_free(kr);
                return NULL;
        }
        return kr;
}

void secrets_keyring_free(struct secrets_keyring *kr)
{
        if (!kr)
                return;
        for (size_t i = 0; i < kr->nroots; i++)
                sodium_free(kr->roots[i].key);
        for (size_t i = 0; i < kr->nkeks; i++)
                kek_clear(&kr->keks[i]);
        free(kr->keks);
        pthread_rwlock_destroy(&kr->lock);
        free(kr);
}

uint32_t secrets_keyring_current(struct secrets_keyring *kr)
{
        pthread_rwlock_rdlock(&kr->lock);
        uint32_t v = kr->current;
        pthread_rwlock_unlock(&kr->lock);
        return v;
}

uint32_t secrets_keyring_min(struct secrets_keyring *kr)
{
        pthread_rwlock_rdlock(&kr->lock);
        uint32_t v = kr->min;
        pthread_rwlock_unlock(&kr->lock);
        return v;
}

/* The KEK @p version, read-locked on success (the caller unlocks); a
 * version this replica has not loaded yet is looked for once in the
 * database (another replica rotated). */
static enum secrets_key_result kek_get(struct secrets_keyring *kr, uint32_t version,
                                       struct kek **out)
{
        char why[256];

        for (int pass = 0; pass < 2; pass++) {
                pthread_rwlock_rdlock(&kr->lock);
                if (version < kr->min) {
                        pthread_rwlock_unlock(&kr->lock);
                        return SECRETS_KEY_RETIRED;
                }
                if ((*out = kek_find(kr, version)))
                        return SECRETS_KEY_OK;
                pthread_rwlock_unlock(&kr->lock);
                if (pass == 0 && secrets_keyring_reload(kr, cairn_mono_us() + 5000000LL, why,
                                                        sizeof(why)) != CAIRN_OK)
                        cairn_log(WARN, "SECRETS", "keyring reload: %s", why);
        }
        return SECRETS_KEY_UNKNOWN;
}

/* The associated data of a wrap: the version's own, then the KEK version,
 * so a wrapped key moved to another row or relabelled does not open. */
static size_t wrap_ad(const uint8_t *ad, size_t ad_len, uint32_t version, uint8_t *out)
{
        memcpy(out, ad, ad_len);
        out[ad_len] = (uint8_t)(version >> 24), out[ad_len + 1] = (uint8_t)(version >> 16);
        out[ad_len + 2] = (uint8_t)(version >> 8), out[ad_len + 3] = (uint8_t)version;
        return ad_len + 4;
}

enum secrets_key_result secrets_kek_wrap(struct secrets_keyring *kr, uint32_t version,
                                         const uint8_t *ad, size_t ad_len, const uint8_t *dek,
                                         uint8_t *out)
{
        uint8_t full[WRAP_AD_MAX + 4];
        struct kek *k;
        enum secrets_key_result r;

        if (ad_len > WRAP_AD_MAX)
                return SECRETS_KEY_MISMATCH;
        if ((r = kek_get(kr, version, &k)) != SECRETS_KEY_OK)
                return r;
        seal32(k->key, full, wrap_ad(ad, ad_len, version, full), dek, out);
        pthread_rwlock_unlock(&kr->lock);
        return SECRETS_KEY_OK;
}

enum secrets_key_result secrets_kek_unwrap(struct secrets_keyring *kr, uint32_t version,
                                           const uint8_t *ad, size_t ad_len, const uint8_t *wrapped,
                                           size_t len, uint8_t *dek)
{
        uint8_t full[WRAP_AD_MAX + 4];
        struct kek *k;
        enum secrets_key_result r;
        int rc;

        if (ad_len > WRAP_AD_MAX)
                return SECRETS_KEY_MISMATCH;
        if ((r = kek_get(kr, version, &k)) != SECRETS_KEY_OK)
                return r;
        rc = open32(k->key, full, wrap_ad(ad, ad_len, version, full), wrapped, len, dek);
        pthread_rwlock_unlock(&kr->lock);
        return rc == 0 ? SECRETS_KEY_OK : SECRETS_KEY_MISMATCH;
}

void secrets_keyring_service_key(struct secrets_keyring *kr, uint32_t *version, uint8_t *pk)
{
        pthread_rwlock_rdlock(&kr->lock);
        struct kek *k = kek_find(kr, kr->current);
        *version = kr->current;
        memcpy(pk, k->box->pk, CAIRN_SEAL_KEY_BYTES); /* reload() keeps the current one */
        pthread_rwlock_unlock(&kr->lock);
}

enum secrets_key_result secrets_keyring_unseal(struct secrets_keyring *kr, uint32_t version,
                                               const uint8_t *box, size_t len, uint8_t *out)
{
        struct kek *k;
        enum secrets_key_result r;
        int rc;

        if ((r = kek_get(kr, version, &k)) != SECRETS_KEY_OK)
                return r;
        rc = cairn_seal_open(k->box, box, len, out);
        pthread_rwlock_unlock(&kr->lock);
        return rc == 0 ? SECRETS_KEY_OK : SECRETS_KEY_MISMATCH;
}

struct rotation {
        struct secrets_keyring *kr;
        secrets_rotate_hook hook;
        void *opaque;
        uint32_t version;
};

static cairn_err_t rotate_tx(struct cairn_pg_conn *conn, void *opaque, char *errstr,
                             size_t errstr_size)
{
        struct rotation *rot = opaque;
        PGresult *res = NULL;
        char v[16];
        cairn_err_t err;

        err = cairn_pg_conn_exec(conn, &sql_ring_lock, NULL, 0, &res, errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        rot->version = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10) + 1;
        PQclear(res);
        snprintf(v, sizeof(v), "%u", rot->version);
        const char *p[1] = { v };
        if ((err = kek_insert(conn, rot->kr, rot->version, errstr, errstr_size)) == CAIRN_OK)
                err = cairn_pg_conn_exec(conn, &sql_ring_rotate, p, 1, NULL, errstr, errstr_size);
        if (err == CAIRN_OK && rot->hook)
                err = rot->hook(conn, rot->opaque, rot->version, errstr, errstr_size);
        return err;
}

cairn_err_t secrets_keyring_rotate(struct secrets_keyring *kr, int64_t deadline_us,
                                   secrets_rotate_hook hook, void *opaque, uint32_t *version,
                                   char *errstr, size_t errstr_size)
{
        struct rotation rot = { kr, hook, opaque, 0 };
        cairn_err_t err = cairn_pg_tx(kr->pg, deadline_us, rotate_tx, &rot, errstr, errstr_size);

        if (err == CAIRN_OK)
                err = secrets_keyring_reload(kr, deadline_us, errstr, errstr_size);
        *version = rot.version;
        return err;
}

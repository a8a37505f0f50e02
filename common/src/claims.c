/* The claim check's store: bytes in cairn_claims, one row per claim, read
 * back only when their size and SHA-256 match the claim (cairn/claims.h).
 * Values travel as text (bytea in hex), as every value through cairn/pg.h. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/claims.h"
#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/hex.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "cairn/pg_migrate.h"

/* common/migrations/claims, compiled in by the Makefile */
extern const struct cairn_pg_migrations cairn_claims_migrations;

static const struct cairn_pg_stmt stmt_put = {
        "cairn_claims_put",
        "INSERT INTO cairn_claims (id, size, sha256, data, expires_at) "
        "VALUES ($1::uuid, $2::bigint, $3::bytea, $4::bytea, "
        "now() + $5::bigint * interval '1 millisecond')",
        false
};
/* An expired row not swept yet is gone all the same. */
static const struct cairn_pg_stmt stmt_get = {
        "cairn_claims_get",
        "SELECT size, data FROM cairn_claims WHERE id = $1::uuid AND expires_at > now()", false
};
static const struct cairn_pg_stmt stmt_sweep = {
        "cairn_claims_sweep",
        "DELETE FROM cairn_claims WHERE id IN (SELECT id FROM cairn_claims "
        "WHERE expires_at < now() ORDER BY expires_at LIMIT $1::bigint)",
        false
};

struct cairn_claims {
        struct cairn_pg *pg;
        long long ttl_ms;
        struct cairn_series *stored, *stored_bytes, *fetched, *fetched_bytes, *swept;
};

static struct cairn_series *counter(struct cairn_metrics *metrics, const char *name,
                                    const char *help)
{
        return cairn_metric_series(cairn_metrics_counter(metrics, name, help, NULL), NULL);
}

struct cairn_claims *cairn_claims_new(struct cairn_pg *pg, long long ttl_ms,
                                      struct cairn_metrics *metrics, char *errstr,
                                      size_t errstr_size)
{
        const struct cairn_pg_migrations *set = &cairn_claims_migrations;
        struct cairn_claims *c;
        char why[512];

        if (ttl_ms <= 0) {
                snprintf(errstr, errstr_size, "claims: the TTL must be positive, not %lld ms",
                         ttl_ms);
                return NULL;
        }
        if (cairn_pg_migrate(pg, set->service, set->list, set->n, why, sizeof(why)) != CAIRN_OK) {
                snprintf(errstr, errstr_size, "claims: migrating the claim store: %s", why);
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(errstr, errstr_size, "claims: out of memory");
                return NULL;
        }
        c->pg = pg;
        c->ttl_ms = ttl_ms;
        if (metrics) {
                c->stored = counter(metrics, "cairn_claims_stored_total", "claims stored");
                c->stored_bytes = counter(metrics, "cairn_claims_stored_bytes_total",
                                          "bytes stored as claims");
                c->fetched = counter(metrics, "cairn_claims_fetched_total",
                                     "claims fetched whole and matching their hash");
                c->fetched_bytes = counter(metrics, "cairn_claims_fetched_bytes_total",
                                           "bytes of the claims fetched");
                c->swept = counter(metrics, "cairn_claims_swept_total",
                                   "expired claims deleted by the sweeper");
        }
        return c;
}

void cairn_claims_free(struct cairn_claims *c)
{
        free(c);
}

static void count(struct cairn_series *s, double v)
{
        if (s)
                cairn_series_add(s, v);
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
        unsigned int mdlen = 32;

        EVP_Digest(data, len, out, &mdlen, EVP_sha256(), NULL);
}

/* 8-4-4-4-12 hex digits: checked here, so a bad id from a message is the
 * caller's error rather than the database's. */
static bool uuid_valid(const char *id)
{
        for (int i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? id[i] != '-' : cairn_hex_digit(id[i], 0) < 0)
                        return false;
        }
        return id[36] == '\0';
}

cairn_err_t cairn_claims_put(struct cairn_claims *c, int64_t deadline_us, const void *data,
                             size_t len, struct cairn_claim *claim, char *errstr,
                             size_t errstr_size)
{
        char size[24], ttl[24], *hash_text, *data_text;
        PGresult *res = NULL;
        cairn_err_t err;

        memset(claim, 0, sizeof(*claim));
        cairn_uuid7(claim->id, cairn_now_ms());
        claim->size = len;
        sha256(data, len, claim->sha256);
        snprintf(size, sizeof(size), "%zu", len);
        snprintf(ttl, sizeof(ttl), "%lld", c->ttl_ms);
        hash_text = cairn_pg_bytea_encode(claim->sha256, sizeof(claim->sha256));
        data_text = cairn_pg_bytea_encode(data, len);
        if (!hash_text || !data_text) {
                free(hash_text);
                free(data_text);
                snprintf(errstr, errstr_size, "claims: out of memory for %zu bytes", len);
                return CAIRN_ERR_EXHAUSTED;
        }
        err = cairn_pg_exec(c->pg, deadline_us, &stmt_put,
                            (const char *const[]){ claim->id, size, hash_text, data_text, ttl }, 5,
                            &res, errstr, errstr_size);
        free(hash_text);
        free(data_text);
        PQclear(res);
        if (err)
                return err;
        count(c->stored, 1);
        count(c->stored_bytes, (double)len);
        return CAIRN_OK;
}

cairn_err_t cairn_claims_get(struct cairn_claims *c, int64_t deadline_us,
                             const struct cairn_claim *claim, struct cairn_buf *out, char *errstr,
                             size_t errstr_size)
{
        PGresult *res = NULL;
        uint8_t *bytes = NULL, digest[32];
        size_t len = 0;
        long long size;
        cairn_err_t err;

        if (!memchr(claim->id, '\0', sizeof(claim->id)) || !uuid_valid(claim->id)) {
                snprintf(errstr, errstr_size, "claims: \"%.36s\" is not a claim id (a UUID)",
                         claim->id);
                return CAIRN_ERR_INVALID;
        }
        err = cairn_pg_exec(c->pg, deadline_us, &stmt_get, (const char *const[]){ claim->id }, 1,
                            &res, errstr, errstr_size);
        if (err)
                return err;
        if (PQntuples(res) == 0) {
                PQclear(res);
                snprintf(errstr, errstr_size, "claims: no claim %s (never stored, or expired)",
                         claim->id);
                return CAIRN_ERR_NOT_FOUND;
        }
        size = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (!cairn_pg_bytea_decode(PQgetvalue(res, 0, 1), &bytes, &len)) {
                PQclear(res);
                snprintf(errstr, errstr_size, "claims: claim %s: out of memory for %lld bytes",
                         claim->id, size);
                return CAIRN_ERR_EXHAUSTED;
        }
        PQclear(res);
        if ((uint64_t)size != claim->size || len != claim->size) {
                snprintf(errstr, errstr_size,
                         "claims: claim %s holds %zu bytes, recorded as %lld, the claim says %llu",
                         claim->id, len, size, (unsigned long long)claim->size);
                free(bytes);
                return CAIRN_ERR_INVALID;
        }
        sha256(bytes, len, digest);
        if (memcmp(digest, claim->sha256, sizeof(digest)) != 0) {
                char want[65], got[65];

                cairn_hex_encode(claim->sha256, 32, want);
                cairn_hex_encode(digest, 32, got);
                want[64] = got[64] = '\0';
                snprintf(errstr, errstr_size,
                         "claims: claim %s: the bytes' SHA-256 is %s, the claim says %s", claim->id,
                         got, want);
                free(bytes);
                return CAIRN_ERR_INVALID;
        }
        cairn_buf_add(out, bytes, len);
        free(bytes);
        if (out->oom) {
                snprintf(errstr, errstr_size, "claims: claim %s: %zu bytes do not fit the buffer",
                         claim->id, len);
                return CAIRN_ERR_EXHAUSTED;
        }
        count(c->fetched, 1);
        count(c->fetched_bytes, (double)len);
        return CAIRN_OK;
}

long cairn_claims_sweep(struct cairn_claims *c, long max, char *errstr, size_t errstr_size)
{
        PGresult *res = NULL;
        char limit[24];
        long n;

        if (max <= 0)
                return 0;
        snprintf(limit, sizeof(limit), "%ld", max);
        if (cairn_pg_exec(c->pg, 0, &stmt_sweep, (const char *const[]){ limit }, 1, &res, errstr,
                          errstr_size) != CAIRN_OK)
                return -1;
        n = strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        count(c->swept, (double)n);
        return n;
}

/* Claim check: bytes too large for a Kafka message (uploaded or synthesised
 * audio) are stored once in PostgreSQL and the message carries a reference
 * to them: an id, their size and their SHA-256. The reader fetches them by
 * that reference and checks the hash. Stored bytes live for a TTL; a
 * sweeper deletes expired ones. The table (cairn_claims) has a migration set
 * of its own, "claims", that cairn_claims_new applies, so any process with
 * a database can write and read claims. */
#ifndef CAIRN_CLAIMS_H
#define CAIRN_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/err.h"

struct cairn_pg;
struct cairn_metrics;

/* A reference to stored bytes. */
struct cairn_claim {
        char id[37]; /* UUID, text form */
        uint64_t size;
        uint8_t sha256[32];
};

struct cairn_claims;

/* Opens the claim store on @p pg (borrowed), applying the "claims"
 * migrations. Claims written through it live @p ttl_ms. NULL with
 * @p errstr. */
struct cairn_claims *cairn_claims_new(struct cairn_pg *pg, long long ttl_ms,
                                      struct cairn_metrics *metrics, char *errstr,
                                      size_t errstr_size);
void cairn_claims_free(struct cairn_claims *c);

/* Stores @p len bytes; fills @p claim. */
cairn_err_t cairn_claims_put(struct cairn_claims *c, int64_t deadline_us, const void *data,
                             size_t len, struct cairn_claim *claim, char *errstr,
                             size_t errstr_size);

/* Appends the bytes of @p claim to @p out: CAIRN_ERR_NOT_FOUND when there
 * are none (never stored, or expired, swept or not); CAIRN_ERR_INVALID when
 * the stored bytes do not match the claim's size or hash, or the claim's id
 * is not a UUID (checked before the database is asked). */
cairn_err_t cairn_claims_get(struct cairn_claims *c, int64_t deadline_us,
                             const struct cairn_claim *claim, struct cairn_buf *out, char *errstr,
                             size_t errstr_size);

/* Deletes up to @p max expired claims; returns how many, or -1. */
long cairn_claims_sweep(struct cairn_claims *c, long max, char *errstr, size_t errstr_size);

#endif

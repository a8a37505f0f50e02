/* The audit hash chain (audit_chain.h). */
#include "audit_chain.h"

#include <sodium.h>
#include <string.h>

static void put(crypto_hash_sha256_state *st, const void *p, size_t n)
{
        uint8_t len[8];

        for (int i = 0; i < 8; i++)
                len[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        crypto_hash_sha256_update(st, len, sizeof(len));
        crypto_hash_sha256_update(st, p, n);
}

static void put_u64(crypto_hash_sha256_state *st, uint64_t v)
{
        uint8_t b[8];

        for (int i = 0; i < 8; i++)
                b[i] = (uint8_t)(v >> (56 - 8 * i));
        put(st, b, sizeof(b));
}

static void put_str(crypto_hash_sha256_state *st, const char *s)
{
        put(st, s, strlen(s));
}

void secrets_audit_hash(const uint8_t *prev, const struct secrets_audit_row *row, uint8_t *out)
{
        static const char label[] = "cairn.secrets.audit.v1";
        crypto_hash_sha256_state st;

        crypto_hash_sha256_init(&st);
        put(&st, label, sizeof(label) - 1);
        put(&st, prev, SECRETS_AUDIT_HASH_BYTES);
        put_u64(&st, row->seq);
        put_u64(&st, (uint64_t)row->at_us);
        put_str(&st, row->tenant);
        put_str(&st, row->principal);
        put_str(&st, row->role);
        put_str(&st, row->operation);
        put_str(&st, row->path);
        put_u64(&st, row->version);
        put_str(&st, row->outcome);
        put_u64(&st, (uint64_t)(int64_t)row->code);
        put_str(&st, row->ce_id);
        put_str(&st, row->request_id);
        crypto_hash_sha256_final(&st, out);
}

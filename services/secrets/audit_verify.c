/* Walking the audit chain (audit.h): every row must follow the previous
 * one (seq + 1, its prev_hash the previous hash) and hash to its hash, and
 * the last row must be the head (rows appended while the walk runs are
 * walked too), so an edited, inserted or deleted row is named by the first
 * seq where the chain breaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

#define PAGE "1000"
/* times the walk follows rows appended while it ran */
#define CHASE_MAX 100

static const struct cairn_pg_stmt sql_page = {
        .name = "secrets_audit_verify_page",
        .sql = "SELECT seq, at_us, tenant, principal, role, operation, path, version, outcome, code, "
               "ce_id, request_id, prev_hash, hash FROM secrets_audit WHERE seq > $1 ORDER BY seq "
               "LIMIT " PAGE,
};
static const struct cairn_pg_stmt sql_head = {
        .name = "secrets_audit_verify_head",
        .sql = "SELECT seq, hash FROM secrets_audit_head",
};

static bool broken(struct secrets_audit_verdict *v, uint64_t seq, const char *why)
{
        v->ok = false;
        v->first_broken_seq = seq;
        snprintf(v->reason, sizeof(v->reason), "%s", why);
        return true;
}

/* Checks one row after (@p last_seq, @p prev); false when it breaks. */
static bool row_ok(PGresult *res, int i, uint64_t last_seq, uint8_t *prev,
                   struct secrets_audit_verdict *v)
{
        struct secrets_audit_row r = {
                .seq = strtoull(PQgetvalue(res, i, 0), NULL, 10),
                .at_us = strtoll(PQgetvalue(res, i, 1), NULL, 10),
                .tenant = PQgetvalue(res, i, 2),
                .principal = PQgetvalue(res, i, 3),
                .role = PQgetvalue(res, i, 4),
                .operation = PQgetvalue(res, i, 5),
                .path = PQgetvalue(res, i, 6),
                .version = strtoull(PQgetvalue(res, i, 7), NULL, 10),
                .outcome = PQgetvalue(res, i, 8),
                .code = (int32_t)strtol(PQgetvalue(res, i, 9), NULL, 10),
                .ce_id = PQgetvalue(res, i, 10),
                .request_id = PQgetvalue(res, i, 11),
        };
        uint8_t *ph = NULL, *h = NULL, want[SECRETS_AUDIT_HASH_BYTES];
        size_t phl = 0, hl = 0;
        bool ok = false;
        char why[128];

        if (r.seq != last_seq + 1) {
                snprintf(why, sizeof(why), "row %llu is missing (the next row is %llu)",
                         (unsigned long long)(last_seq + 1), (unsigned long long)r.seq);
                broken(v, last_seq + 1, why);
        } else if (!cairn_pg_bytea_decode(PQgetvalue(res, i, 12), &ph, &phl) ||
                   !cairn_pg_bytea_decode(PQgetvalue(res, i, 13), &h, &hl) ||
                   phl != SECRETS_AUDIT_HASH_BYTES || hl != SECRETS_AUDIT_HASH_BYTES) {
                broken(v, r.seq, "its hashes are not 32 bytes");
        } else if (memcmp(ph, prev, SECRETS_AUDIT_HASH_BYTES) != 0) {
                broken(v, r.seq,
                       "its prev_hash is not the previous row's hash (a row before "
                       "it was removed or replaced)");
        } else {
                secrets_audit_hash(prev, &r, want);
                if (memcmp(want, h, SECRETS_AUDIT_HASH_BYTES) != 0)
                        broken(v, r.seq,
                               "its fields do not hash to its hash (the row was "
                               "edited)");
                else
                        ok = true;
                memcpy(prev, h, SECRETS_AUDIT_HASH_BYTES);
        }
        free(ph);
        free(h);
        return ok;
}

cairn_err_t secrets_audit_verify(struct cairn_pg *pg, int64_t deadline_us,
                                 struct secrets_audit_verdict *v, char *errstr, size_t errstr_size)
{
        uint8_t prev[SECRETS_AUDIT_HASH_BYTES] = { 0 }, *hh = NULL;
        uint64_t last = 0, head, chased = 0;
        char after[24];
        const char *p[1] = { after };
        PGresult *res = NULL;
        size_t hl = 0;
        cairn_err_t err;
        int n;

        memset(v, 0, sizeof(*v));
        v->ok = true;
        for (int round = 0;; round++) {
                do {
                        snprintf(after, sizeof(after), "%llu", (unsigned long long)last);
                        err = cairn_pg_exec(pg, deadline_us, &sql_page, p, 1, &res, errstr,
                                            errstr_size);
                        if (err != CAIRN_OK)
                                return err;
                        n = PQntuples(res);
                        for (int i = 0; i < n; i++) {
                                if (!row_ok(res, i, last, prev, v)) {
                                        PQclear(res);
                                        return CAIRN_OK;
                                }
                                last++;
                                v->rows++;
                        }
                        PQclear(res);
                        res = NULL;
                } while (n == atoi(PAGE));
                err = cairn_pg_exec(pg, deadline_us, &sql_head, NULL, 0, &res, errstr, errstr_size);
                if (err != CAIRN_OK)
                        return err;
                if (PQntuples(res) != 1 ||
                    !cairn_pg_bytea_decode(PQgetvalue(res, 0, 1), &hh, &hl) ||
                    hl != SECRETS_AUDIT_HASH_BYTES) {
                        broken(v, last + 1, "the chain's head row is missing or malformed");
                        break;
                }
                head = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
                /* Rows appended while the walk went on (a row and its head
                 * commit together, so a walk after reading a head reaches
                 * it): walk on to them. */
                if (head > last && last >= chased && round < CHASE_MAX) {
                        chased = head;
                        free(hh);
                        hh = NULL;
                        PQclear(res);
                        res = NULL;
                        continue;
                }
                if (head != last || memcmp(hh, prev, SECRETS_AUDIT_HASH_BYTES) != 0) {
                        char why[128];

                        snprintf(why, sizeof(why),
                                 "the chain ends at row %llu but its head is row %s",
                                 (unsigned long long)last, PQgetvalue(res, 0, 0));
                        broken(v, last + 1, why);
                }
                break;
        }
        free(hh);
        PQclear(res);
        return CAIRN_OK;
}

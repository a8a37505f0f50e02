/* cairn-admin audit verify (audit.h): the secrets service's chain walk,
 * run by hand against its database, with the verdict printed. */
#include "audit.h"

#include <stdio.h>

#include "secrets/audit.h"

int audit_verify_cmd(const struct cairn_pg_conf *pconf)
{
        struct secrets_audit_verdict v;
        struct cairn_pg *pg;
        char errstr[1024];
        cairn_err_t err;

        pg = cairn_pg_new(pconf, NULL, errstr, sizeof(errstr));
        if (!pg) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                return 2;
        }
        /* no deadline: each page is bounded by pg.statement_timeout_ms */
        err = secrets_audit_verify(pg, 0, &v, errstr, sizeof(errstr));
        cairn_pg_free(pg);
        if (err != CAIRN_OK) {
                fprintf(stderr, "cairn-admin: audit verify: %s\n", errstr);
                return 2;
        }
        if (v.ok) {
                printf("audit verify: %llu rows checked: ok\n", (unsigned long long)v.rows);
                return 0;
        }
        printf("audit verify: %llu rows checked: broken at seq %llu: %s\n",
               (unsigned long long)v.rows, (unsigned long long)v.first_broken_seq, v.reason);
        return 1;
}

/* cairn-admin audit verify: walks the secrets service's audit hash chain in
 * the database pg.url names (services/secrets/audit_verify.c, the same walk
 * as the service's VerifyAuditRequest). */
#ifndef CAIRN_ADMIN_AUDIT_H
#define CAIRN_ADMIN_AUDIT_H

#include "cairn/pg.h"

/* Prints the rows checked and "ok", or the first row where the chain breaks
 * and why. Returns the exit code: 0 intact, 1 broken, 2 an error (no
 * pg.url, the database unreachable, no audit table). @p pconf is
 * borrowed. */
int audit_verify_cmd(const struct cairn_pg_conf *pconf);

#endif

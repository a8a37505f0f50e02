/* Path policies, as in Vault: rules of a path glob and capabilities,
 * gathered in named policies given to roles and principals. Deny by
 * default: a request is allowed only when the most specific glob matching
 * its path, among the rules of every policy that applies to the caller,
 * grants the capability it needs (and none of that glob's rules says
 * deny). Pure functions over cairn.secrets.v1.Policy; policies.c keeps the
 * tenant's. docs/secrets.md has the table of defaults. */
#ifndef SECRETS_POLICY_H
#define SECRETS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/secrets/v1/secrets.pb-c.h"

enum {
        SECRETS_CAP_CREATE = 0x01,
        SECRETS_CAP_READ = 0x02,
        SECRETS_CAP_UPDATE = 0x04,
        SECRETS_CAP_DELETE = 0x08,
        SECRETS_CAP_LIST = 0x10,
        SECRETS_CAP_DESTROY = 0x20,
        SECRETS_CAP_DENY = 0x40,
};

#define SECRETS_POLICY_NAME_MAX  64
#define SECRETS_POLICY_RULES_MAX 100
#define SECRETS_PRINCIPAL_MAX    128

/* A capability's bit from its name; 0 when unknown. */
unsigned secrets_cap_parse(const char *name);
/* The name of one capability bit. */
const char *secrets_cap_name(unsigned cap);

/* True for the roles callers come in (owner, admin, member, viewer,
 * service). */
bool secrets_role_known(const char *role);

/* The built-in policies, one per role (read only, never stored). */
const Cairn__Secrets__V1__Policy *const *secrets_policy_defaults(size_t *n);

/* Checks a policy to be stored: its name, rules (globs where '*' may only
 * end a glob and '+' only stand for a whole segment), capabilities, roles
 * and principals. False with a message naming the field in @p why and
 * the field's name in @p field. */
bool secrets_policy_check(const Cairn__Secrets__V1__Policy *p, size_t max_path, char *field,
                          size_t field_size, char *why, size_t why_size);

/* Whether @p glob (with "{{principal}}" standing for @p principal) matches
 * @p path. */
bool secrets_glob_match(const char *glob, const char *path, const char *principal);

/* The capabilities @p path has for a caller of @p role and @p principal
 * under @p policies (the defaults are added): those of the most specific
 * matching glob; 0 when a deny rule decides or nothing matches. */
unsigned secrets_policy_caps(const Cairn__Secrets__V1__Policy *const *policies, size_t n,
                             const char *role, const char *principal, const char *path);

#endif

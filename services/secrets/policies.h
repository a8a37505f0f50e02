/* A tenant's stored policies (secrets_policies), read through a small
 * cache kept secrets.policy_cache_ms: a change made on another replica
 * applies there within that time, on this one at once. */
#ifndef SECRETS_POLICIES_H
#define SECRETS_POLICIES_H

#include "cairn/pg.h"
#include "cairn/secrets/v1/secrets.pb-c.h"

struct secrets_policies;

struct secrets_policies *secrets_policies_new(struct cairn_pg *pg, long long cache_ms);
void secrets_policies_free(struct secrets_policies *p);

/* The capabilities of a caller on @p path in @p tenant (policy.h). */
cairn_err_t secrets_policies_caps(struct secrets_policies *p, const char *tenant, const char *role,
                                  const char *principal, const char *path, int64_t deadline_us,
                                  unsigned *caps, char *errstr, size_t errstr_size);

/* Stores @p policy (checked by the caller), replacing one of its name. */
cairn_err_t secrets_policies_put(struct secrets_policies *p, struct cairn_pg_conn *conn,
                                 const char *tenant, const Cairn__Secrets__V1__Policy *policy,
                                 char *errstr, size_t errstr_size);

/* Removes @p name; NOT_FOUND when there is none. */
cairn_err_t secrets_policies_delete(struct secrets_policies *p, struct cairn_pg_conn *conn,
                                    const char *tenant, const char *name, char *errstr,
                                    size_t errstr_size);

/* The tenant's stored policies, by name, unpacked with @p alloc into
 * *@p out (*@p n of them). */
cairn_err_t secrets_policies_list(struct secrets_policies *p, const char *tenant,
                                  int64_t deadline_us, ProtobufCAllocator *alloc,
                                  Cairn__Secrets__V1__Policy ***out, size_t *n, char *errstr,
                                  size_t errstr_size);

/* Drops the cached policies of @p tenant (after a change). */
void secrets_policies_forget(struct secrets_policies *p, const char *tenant);

#endif

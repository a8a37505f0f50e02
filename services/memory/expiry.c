/* The expiry sweeper: every memory.expiry_interval_ms, closes the memories
 * past their expires_at (valid_to = expires_at, a DELETE in the history,
 * one statement a batch; replicas share the work with SKIP LOCKED) and
 * drops their vectors. Reads skip expired memories at once: the sweeper
 * only makes it permanent. */
#include <stdio.h>
#include <stdlib.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/periodic.h"
#include "db.h"
#include "memory.h"
#include "vindex.h"

#define SWEEP_BUDGET_US (30 * 1000000LL)

long memory_expiry_sweep(struct memory_service *svc)
{
        char limit[24], errstr[512];
        const char *p[2] = { limit, svc->outbox ? "true" : "false" };
        long total = 0;
        int n;

        snprintf(limit, sizeof(limit), "%lld", svc->conf->expiry_batch);
        do {
                PGresult *res = NULL;
                cairn_err_t err = cairn_pg_exec(svc->pg, cairn_mono_us() + SWEEP_BUDGET_US,
                                                &memory_sql[MS_EXPIRE], p, 2, &res, errstr,
                                                sizeof(errstr));

                if (err != CAIRN_OK) {
                        cairn_log(WARN, "EXPIRY", "sweep: %s", errstr);
                        return -1;
                }
                n = PQntuples(res);
                for (int i = 0; i < n; i++) {
                        struct memory_vuser *u = memory_vindex_user(svc->index,
                                                                    PQgetvalue(res, i, 0),
                                                                    PQgetvalue(res, i, 1));

                        memory_vuser_wrlock(u);
                        memory_vuser_remove(u, PQgetvalue(res, i, 2));
                        memory_vuser_unlock(u);
                }
                PQclear(res);
                total += n;
                if (n)
                        memory_outbox_wake(svc->outbox);
                cairn_metric_add_l(svc->expired, NULL, n);
        } while (n == svc->conf->expiry_batch);
        if (total)
                cairn_log(INFO, "EXPIRY", "%ld memories expired", total);
        return total;
}

static void sweep(void *svc)
{
        memory_expiry_sweep(svc);
}

struct cairn_periodic *memory_expiry_start(struct memory_service *svc)
{
        if (svc->conf->expiry_interval_ms == 0)
                return NULL;
        return cairn_periodic_start(svc->conf->expiry_interval_ms, sweep, svc, false);
}

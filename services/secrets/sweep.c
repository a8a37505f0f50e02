/* The replies kept for redeliveries (secrets_requests) outlive any
 * redelivery after secrets.replies_keep_hours (Kafka keeps requests a day):
 * they are deleted in batches every secrets.sweep_interval_ms. */
#include "sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/periodic.h"

#define BATCH "5000"

static const struct cairn_pg_stmt sql_sweep = {
        .name = "secrets_replies_sweep",
        .sql = "DELETE FROM secrets_requests WHERE ctid IN (SELECT ctid FROM secrets_requests "
               "WHERE at < now() - $1::bigint * interval '1 hour' LIMIT " BATCH ")",
};

struct secrets_sweep {
        struct secrets_service *svc;
        struct cairn_periodic *periodic;
        struct cairn_series *swept;
};

static void sweep(void *arg)
{
        struct secrets_sweep *sw = arg;
        char hours[24], errstr[256];
        const char *p[1] = { hours };
        long long n;

        snprintf(hours, sizeof(hours), "%lld", sw->svc->conf->replies_keep_hours);
        do {
                PGresult *res = NULL;

                if (cairn_pg_exec(sw->svc->pg, cairn_mono_us() + 30 * 1000000LL, &sql_sweep, p, 1,
                                  &res, errstr, sizeof(errstr)) != CAIRN_OK) {
                        cairn_log(WARN, "SECRETS", "sweeping kept replies: %s", errstr);
                        return;
                }
                n = strtoll(PQcmdTuples(res), NULL, 10);
                PQclear(res);
                cairn_series_add(sw->swept, (double)n);
        } while (n == atoll(BATCH));
}

struct secrets_sweep *secrets_sweep_start(struct secrets_service *svc,
                                          struct cairn_metrics *metrics)
{
        struct secrets_sweep *sw;

        if (svc->conf->sweep_interval_ms == 0)
                return NULL;
        if (!(sw = calloc(1, sizeof(*sw))))
                abort();
        sw->svc = svc;
        sw->swept = cairn_metric_series(
                cairn_metrics_counter(metrics, "cairn_secrets_replies_swept_total",
                                      "replies kept for redeliveries deleted once past "
                                      "secrets.replies_keep_hours",
                                      NULL),
                NULL);
        sw->periodic = cairn_periodic_start(svc->conf->sweep_interval_ms, sweep, sw, false);
        return sw;
}

void secrets_sweep_stop(struct secrets_sweep *sw)
{
        if (!sw)
                return;
        cairn_periodic_stop(sw->periodic);
        free(sw);
}

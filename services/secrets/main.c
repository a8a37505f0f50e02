/* cairn-secrets: the secrets service — its configuration, PostgreSQL with
 * its migrations, the keyring, the audit log and the background work
 * (rewrap, rotation reminders), and its handler table, handed to
 * libcairn's one entry point. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cairn/events.h"
#include "cairn/service.h"
#include "handlers.h"
#include "keyring.h"
#include "policies.h"
#include "reminders.h"
#include "rewrap.h"
#include "sweep.h"

extern const struct cairn_pg_migrations secrets_migrations;

static struct secrets_conf conf;

struct secrets_state {
        struct secrets_service svc; /* first: the handlers' opaque */
        struct cairn_events *events;
        struct secrets_reminders *reminders;
        struct secrets_sweep *sweep;
};

static size_t sections(struct cairn_conf_section *out)
{
        out[0] = secrets_conf_section(&conf);
        return 1;
}

static void cleanup(void *opaque)
{
        struct secrets_state *state = opaque;

        secrets_sweep_stop(state->sweep);
        secrets_reminders_stop(state->reminders);
        secrets_rewrap_stop(state->svc.rewrap);
        secrets_audit_stop(state->svc.audit); /* its last rows published */
        cairn_events_free(state->events);
        secrets_policies_free(state->svc.policies);
        secrets_keyring_free(state->svc.keyring);
        free(state);
}

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct secrets_state *state = calloc(1, sizeof(*state));
        struct secrets_service *svc = &state->svc;
        struct cairn_metrics *m = ctx->app->metrics;

        if (!state)
                abort();
        svc->conf = &conf;
        svc->pg = ctx->pg;
        svc->fail_open = strcmp(conf.audit_failure, "open") == 0;
        if (!(svc->keyring = secrets_keyring_open(ctx->pg, &conf, errstr, errstr_size))) {
                free(state);
                return NULL;
        }
        if (conf.audit_publish_interval_ms > 0 || conf.reminder_interval_ms > 0) {
                state->events = cairn_events_new("secrets", ctx->app->conf, m, errstr, errstr_size);
                if (!state->events) {
                        secrets_keyring_free(svc->keyring);
                        free(state);
                        return NULL;
                }
        }
        svc->ops = cairn_metrics_counter(m, "cairn_secrets_requests_total",
                                         "requests by operation and outcome (ok, denied, error)",
                                         (const char *const[]){ "operation", "outcome", NULL });
        svc->decrypt_failures = cairn_metric_series(
                cairn_metrics_counter(m, "cairn_secrets_decrypt_failures_total",
                                      "versions that did not decrypt: altered or moved rows, a "
                                      "lost KEK",
                                      NULL),
                NULL);
        svc->policies = secrets_policies_new(ctx->pg, conf.policy_cache_ms);
        svc->audit = secrets_audit_start(ctx->pg, &conf,
                                         conf.audit_publish_interval_ms > 0 ? state->events : NULL,
                                         m);
        svc->rewrap = secrets_rewrap_start(svc, m);
        state->reminders = secrets_reminders_start(svc, state->events, m);
        state->sweep = secrets_sweep_start(svc, m);
        return state;
}

static const struct cairn_service secrets_service_def = {
        .name = "secrets",
        .needs = CAIRN_NEEDS_PG,
        /* the database holds every request's state: any worker may serve any key */
        .any_order = true,
        .sections = sections,
        .migrations = &secrets_migrations,
        .init = init,
        .handlers = secrets_handlers,
        .cleanup = cleanup,
};

int main(int argc, char **argv)
{
        return cairn_service_main(&secrets_service_def, argc, argv);
}

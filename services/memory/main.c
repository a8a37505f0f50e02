/* cairn-memory: the memory service — its configuration, PostgreSQL with
 * its migrations, the bus client it embeds through, the in-process vector
 * index, and its handler table, handed to libcairn's one entry point. */
#include <stdlib.h>

#include "cairn/events.h"
#include "cairn/periodic.h"
#include "cairn/pg_migrate.h"
#include "cairn/service.h"
#include "memory.h"
#include "vindex.h"

extern const struct cairn_pg_migrations memory_migrations;

static struct memory_conf conf;

/* The service and what runs beside its handlers. */
struct memory_state {
        struct memory_service svc; /* first: the handlers' opaque */
        struct cairn_periodic *expiry;
        struct cairn_events *events;
};

static size_t sections(struct cairn_conf_section *out)
{
        out[0] = memory_conf_section(&conf);
        return 1;
}

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct memory_state *state = calloc(1, sizeof(*state));
        struct memory_service *svc = &state->svc;
        struct cairn_metrics *m = ctx->app->metrics;

        if (!state)
                abort();
        svc->conf = &conf;
        svc->pg = ctx->pg;
        svc->index = memory_vindex_new((size_t)conf.dimensions);
        svc->embedder = cairn_bus_client_new("memory", &ctx->app->bus_conf, ctx->app->conf, m,
                                             errstr, errstr_size);
        if (!svc->index || !svc->embedder) {
                memory_vindex_free(svc->index);
                cairn_bus_client_free(svc->embedder);
                free(state);
                return NULL;
        }
        cairn_bus_client_resilience(svc->embedder, NULL, &ctx->app->bus_resilience);
        svc->stores = cairn_metrics_counter(m, "cairn_memory_stores_total",
                                            "memories stored, by outcome (created, duplicate: "
                                            "the same content was there, merged: a near duplicate "
                                            "was updated)",
                                            (const char *const[]){ "outcome", NULL });
        svc->searches = cairn_metrics_counter(m, "cairn_memory_searches_total",
                                              "searches answered, by mode",
                                              (const char *const[]){ "mode", NULL });
        svc->changes = cairn_metrics_counter(m, "cairn_memory_changes_total",
                                             "memories updated or deleted by request, by event",
                                             (const char *const[]){ "event", NULL });
        svc->expired = cairn_metrics_counter(m, "cairn_memory_expired_total",
                                             "memories closed by the sweeper past their expires_at",
                                             NULL);
        if (conf.events_interval_ms > 0) {
                state->events = cairn_events_new("memory", ctx->app->conf, m, errstr, errstr_size);
                if (!state->events) {
                        cairn_bus_client_free(svc->embedder);
                        memory_vindex_free(svc->index);
                        free(state);
                        return NULL;
                }
                svc->outbox = memory_outbox_start(svc, state->events);
        }
        state->expiry = memory_expiry_start(svc);
        return state;
}

static void cleanup(void *opaque)
{
        struct memory_state *state = opaque;

        cairn_periodic_stop(state->expiry);
        /* after the sweeper, whose last events it publishes */
        memory_outbox_stop(state->svc.outbox);
        cairn_events_free(state->events);
        cairn_bus_client_free(state->svc.embedder);
        memory_vindex_free(state->svc.index);
        free(state);
}

static const struct cairn_service memory_service_def = {
        .name = "memory",
        .needs = CAIRN_NEEDS_PG,
        .sections = sections,
        .migrations = &memory_migrations,
        .init = init,
        .handlers = memory_handlers,
        .cleanup = cleanup,
};

int main(int argc, char **argv)
{
        return cairn_service_main(&memory_service_def, argc, argv);
}

/* cairn-memory: the memory service — its configuration, PostgreSQL with
 * its migrations, the bus client it embeds through, the in-process vector
 * index, and its handler table, handed to libcairn's one entry point. */
#include <stdlib.h>

#include "cairn/pg_migrate.h"
#include "cairn/service.h"
#include "memory.h"
#include "vindex.h"

extern const struct cairn_pg_migrations memory_migrations;

static struct memory_conf conf;

static size_t sections(struct cairn_conf_section *out)
{
        out[0] = memory_conf_section(&conf);
        return 1;
}

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct memory_service *svc = calloc(1, sizeof(*svc));
        struct cairn_metrics *m = ctx->app->metrics;

        if (!svc)
                abort();
        svc->conf = &conf;
        svc->pg = ctx->pg;
        svc->index = memory_vindex_new((size_t)conf.dimensions);
        svc->embedder = cairn_bus_client_new("memory", &ctx->app->bus_conf, ctx->app->conf, m,
                                             errstr, errstr_size);
        if (!svc->index || !svc->embedder) {
                memory_vindex_free(svc->index);
                cairn_bus_client_free(svc->embedder);
                free(svc);
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
        return svc;
}

static void cleanup(void *state)
{
        struct memory_service *svc = state;

        cairn_bus_client_free(svc->embedder);
        memory_vindex_free(svc->index);
        free(svc);
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

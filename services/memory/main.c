/* cairn-memory: the memory service — its configuration, PostgreSQL with
 * its migrations, the bus client it embeds through, the in-process vector
 * index, and its handler table, handed to libcairn's one entry point. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cairn/events.h"
#include "cairn/periodic.h"
#include "cairn/pg_migrate.h"
#include "cairn/service.h"
#include "memory.h"
#include "vindex.h"

extern const struct cairn_pg_migrations memory_migrations;

#define GAUGES_MS 2000 /* how often the index's gauges are refreshed */

static struct memory_conf conf;

/* The service and what runs beside its handlers. */
struct memory_state {
        struct memory_service svc; /* first: the handlers' opaque */
        struct cairn_periodic *expiry;
        struct cairn_periodic *snapshots; /* NULL: memory.snapshot_dir is empty */
        struct cairn_periodic *gauges;
        struct cairn_series *users, *vectors, *graphs, *tombstones;
        struct cairn_events *events;
};

static size_t sections(struct cairn_conf_section *out)
{
        out[0] = memory_conf_section(&conf);
        return 1;
}

static void snapshot_all(void *index)
{
        memory_vindex_snapshot_all(index);
}

static struct cairn_series *gauge(struct cairn_metrics *m, const char *name, const char *help)
{
        return cairn_metric_series(cairn_metrics_gauge(m, name, help, NULL), NULL);
}

static void gauges_set(void *opaque)
{
        struct memory_state *state = opaque;
        struct memory_vindex_stats st;

        memory_vindex_stats(state->svc.index, &st);
        cairn_series_set(state->users, (double)st.users);
        cairn_series_set(state->vectors, (double)st.vectors);
        cairn_series_set(state->graphs, (double)st.graphs);
        cairn_series_set(state->tombstones, (double)st.tombstones);
}

/* The users of partitions gone to another replica are theirs now: what this
 * one holds of them would miss the changes made there. */
static void revoked(void *opaque, const int32_t *parts, size_t n)
{
        struct memory_state *state = opaque;

        memory_vindex_drop_partitions(state->svc.index, parts, n);
}

static struct memory_vindex *index_new(char *errstr, size_t errstr_size)
{
        struct memory_vindex_conf ic = {
                .dim = (size_t)conf.dimensions,
                .ann_min = (size_t)conf.ann_min,
                .hnsw = { (size_t)conf.hnsw_m, (size_t)conf.hnsw_ef_construction,
                          (size_t)conf.hnsw_ef_search },
                .snapshot_dir = conf.snapshot_dir,
        };
        struct memory_vindex *ix;

        if (conf.snapshot_dir[0] && mkdir(conf.snapshot_dir, 0700) != 0 && errno != EEXIST) {
                snprintf(errstr, errstr_size, "memory.snapshot_dir: cannot create %s: %s",
                         conf.snapshot_dir, strerror(errno));
                return NULL;
        }
        if (!(ix = memory_vindex_new(&ic)))
                snprintf(errstr, errstr_size, "out of memory for the vector index");
        return ix;
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
        svc->index = index_new(errstr, errstr_size);
        svc->embedder = svc->index ? cairn_bus_client_new("memory", &ctx->app->bus_conf,
                                                          ctx->app->conf, m, errstr, errstr_size)
                                   : NULL;
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
        state->users = gauge(m, "cairn_memory_index_users", "users whose vectors are in memory");
        state->vectors = gauge(m, "cairn_memory_index_vectors", "vectors in memory");
        state->graphs = gauge(m, "cairn_memory_index_graphs",
                              "users searched through an HNSW graph");
        state->tombstones = gauge(m, "cairn_memory_index_tombstones",
                                  "removed vectors whose graph nodes wait for reuse");
        state->gauges = cairn_periodic_start(GAUGES_MS, gauges_set, state, false);
        state->expiry = memory_expiry_start(svc);
        if (conf.snapshot_dir[0])
                state->snapshots = cairn_periodic_start(conf.snapshot_interval_ms, snapshot_all,
                                                        svc->index, true);
        return state;
}

static void cleanup(void *opaque)
{
        struct memory_state *state = opaque;

        cairn_periodic_stop(state->gauges);
        cairn_periodic_stop(state->expiry);
        /* with a last run: a restart loads what this one built */
        cairn_periodic_stop(state->snapshots);
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
        .revoked = revoked,
        .cleanup = cleanup,
};

int main(int argc, char **argv)
{
        return cairn_service_main(&memory_service_def, argc, argv);
}

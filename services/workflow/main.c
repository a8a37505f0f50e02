/* cairn-workflow: the workflow service — its configuration, PostgreSQL
 * with its migrations, the definitions, the outbox relay, the reply
 * consumer and the scheduler beside the request handlers, handed to
 * libcairn's one entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/periodic.h"
#include "cairn/service.h"
#include "db.h"
#include "store.h"
#include "workflow.h"

extern const struct cairn_pg_migrations workflow_migrations;

#define GAUGES_MS 5000

static struct wf_conf conf;

struct wf_state {
        struct wf_service svc; /* first: the handlers' opaque */
        struct wf_replies *replies;
        struct wf_scheduler *scheduler;
        struct cairn_periodic *gauges;
};

static size_t sections(struct cairn_conf_section *out)
{
        out[0] = wf_conf_section(&conf);
        return 1;
}

static void gauges_set(void *opaque)
{
        struct wf_service *svc = opaque;
        PGresult *res = NULL;
        char errstr[256];

        if (cairn_pg_exec(svc->pg, 0, &wf_sql[WQ_GAUGES], NULL, 0, &res, errstr, sizeof(errstr)) !=
            CAIRN_OK)
                return;
        cairn_series_set(svc->m.running, strtod(PQgetvalue(res, 0, 0), NULL));
        cairn_series_set(svc->m.due, strtod(PQgetvalue(res, 0, 1), NULL));
        cairn_series_set(svc->m.outbox, strtod(PQgetvalue(res, 0, 2), NULL));
        PQclear(res);
}

static void targets_init(struct wf_service *svc)
{
        const struct wf_target all[WF_TARGETS] = {
                { "embedding", conf.embedding_topic }, { "memory", conf.memory_topic },
                { "speech", conf.speech_topic },       { "translation", conf.translation_topic },
                { "secrets", conf.secrets_topic },
        };
        size_t n = 0;

        for (size_t i = 0; i < WF_TARGETS; i++)
                if (all[i].topic && all[i].topic[0])
                        svc->targets[n++] = all[i];
        svc->defs = (struct wf_def_env){ svc->targets, n, (size_t)conf.max_steps,
                                         conf.max_timer_ms };
        svc->env = (struct wf_engine_env){
                .defs = &svc->defs,
                .default_start_to_close_ms = conf.default_start_to_close_ms,
                .max_history = (uint32_t)conf.max_history_events,
                .max_payload_bytes = (size_t)conf.max_payload_bytes,
                .max_fan_out = (uint32_t)conf.max_fan_out,
                .fan_out_parallel = (uint32_t)conf.fan_out_parallel,
        };
}

static void cleanup(void *opaque);

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct wf_state *state = calloc(1, sizeof(*state));
        struct wf_service *svc = &state->svc;
        struct cairn_status st;

        if (!state)
                abort();
        svc->conf = &conf;
        svc->pg = ctx->pg;
        /* bus.reply_topic, or cairn.workflow.replies as the bus client names it */
        svc->reply_topic = ctx->app->bus_conf.reply_topic && ctx->app->bus_conf.reply_topic[0]
                                   ? ctx->app->bus_conf.reply_topic
                                   : "cairn.workflow.replies";
        svc->cache = wf_defcache_new();
        targets_init(svc);
        wf_metrics_init(&svc->m, ctx->app->metrics);
        if (conf.builtin && wf_builtin_register(svc, &st) != CAIRN_OK) {
                snprintf(errstr, errstr_size, "built-in workflows: %s", st.message);
                cleanup(state);
                return NULL;
        }
        svc->outbox = wf_outbox_start(svc, ctx->app->conf, errstr, errstr_size);
        if (!svc->outbox) {
                cleanup(state);
                return NULL;
        }
        state->replies = wf_replies_start(svc, &ctx->app->bus_conf, ctx->app->conf,
                                          ctx->app->metrics, errstr, errstr_size);
        if (!state->replies) {
                cleanup(state);
                return NULL;
        }
        state->scheduler = wf_scheduler_start(svc);
        state->gauges = cairn_periodic_start(GAUGES_MS, gauges_set, svc, false);
        return state;
}

static void cleanup(void *opaque)
{
        struct wf_state *state = opaque;

        cairn_periodic_stop(state->gauges);
        wf_scheduler_stop(state->scheduler);
        wf_replies_stop(state->replies);
        /* last: what the others committed is published before the exit */
        wf_outbox_stop(state->svc.outbox);
        wf_defcache_free(state->svc.cache);
        free(state);
}

static const struct cairn_service workflow_service = {
        .name = "workflow",
        .needs = CAIRN_NEEDS_PG,
        .any_order = true,
        .sections = sections,
        .migrations = &workflow_migrations,
        .init = init,
        .handlers = wf_handlers,
        .cleanup = cleanup,
};

int main(int argc, char **argv)
{
        return cairn_service_main(&workflow_service, argc, argv);
}

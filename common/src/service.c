/* The one entry point every service's main() calls: builds the runtime and
 * the dependencies a service description asks for, hands them to the
 * service, serves, and takes everything down in the reverse order. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/secret_ref.h"
#include "cairn/service.h"

static atomic_bool started;

/* Not ready while the dependencies and the state are being built: /readyz
 * must not say 200 before the service can answer. */
static bool started_ready(void *opaque, char *why, size_t why_size)
{
        (void)opaque;
        if (atomic_load(&started))
                return true;
        snprintf(why, why_size, "starting");
        return false;
}

void cairn_service_wait_stop(void)
{
        while (!cairn_app_stop_requested())
                usleep(100 * 1000);
}

/* Everything main() builds, so one function can take it down. */
struct service_run {
        const struct cairn_service *svc;
        struct cairn_app app;
        struct cairn_service_ctx ctx;
        struct cairn_redis_conf redis_conf;
        struct cairn_pg_conf pg_conf;
        void *state;
        bool state_made;
};

static size_t sections_fill(struct service_run *r, struct cairn_conf_section *out)
{
        const struct cairn_service *svc = r->svc;
        size_t n = svc->sections ? svc->sections(out) : 0;

        if (svc->needs & (CAIRN_NEEDS_REDIS | CAIRN_NEEDS_REDIS_CACHE))
                out[n++] = (struct cairn_conf_section){ "Redis", cairn_redis_conf_items,
                                                        &r->redis_conf, NULL };
        if (svc->needs & CAIRN_NEEDS_PG)
                out[n++] = (struct cairn_conf_section){ "PostgreSQL", cairn_pg_conf_items,
                                                        &r->pg_conf, NULL };
        return n;
}

/* Applies the service's migrations, waiting up to pg.startup_wait_ms for a
 * server that does not answer yet (it may be starting beside the service);
 * any other failure, and a stop request, end the wait at once. */
static cairn_err_t migrations_apply(struct service_run *r, char *errstr, size_t errstr_size)
{
        const struct cairn_service *svc = r->svc;
        int64_t until = cairn_mono_us() + r->pg_conf.startup_wait_ms * 1000;
        bool logged = false;
        cairn_err_t err;

        for (;;) {
                err = cairn_pg_migrate(r->ctx.pg, svc->name, svc->migrations->list,
                                       svc->migrations->n, errstr, errstr_size);
                if (err != CAIRN_ERR_UNAVAILABLE || cairn_app_stop_requested() ||
                    cairn_mono_us() >= until)
                        return err;
                if (!logged)
                        cairn_log(WARN, "APP",
                                  "waiting up to %lld ms for postgresql to apply the migrations "
                                  "of %s: %s",
                                  r->pg_conf.startup_wait_ms, svc->name, errstr);
                logged = true;
                /* the pool fails fast until its retry interval has passed */
                for (int64_t next = cairn_mono_us() + r->pg_conf.retry_interval_ms * 1000;
                     !cairn_app_stop_requested() && cairn_mono_us() < next;)
                        usleep(50 * 1000);
        }
}

/* Creates what the description needs; 0, or -1 with @p errstr filled. */
static int deps_start(struct service_run *r, char *errstr, size_t errstr_size)
{
        const struct cairn_service *svc = r->svc;

        if (svc->needs & (CAIRN_NEEDS_REDIS | CAIRN_NEEDS_REDIS_CACHE)) {
                r->ctx.redis = cairn_redis_new(&r->redis_conf, r->app.metrics);
                /* A cache only speeds things up: readiness does not wait for it. */
                if (svc->needs & CAIRN_NEEDS_REDIS)
                        cairn_admin_add_check(r->app.admin, "redis", cairn_redis_ready,
                                              r->ctx.redis);
        }
        if (svc->needs & CAIRN_NEEDS_PG) {
                r->ctx.pg = cairn_pg_new(&r->pg_conf, r->app.metrics, errstr, errstr_size);
                if (!r->ctx.pg)
                        return -1;
                if (svc->migrations && migrations_apply(r, errstr, errstr_size) != CAIRN_OK)
                        return -1;
                cairn_admin_add_check(r->app.admin, "postgres", cairn_pg_ready, r->ctx.pg);
        }
        return 0;
}

static void service_cleanup(struct service_run *r)
{
        /* The admin server goes first: its checks use the dependencies. */
        if (r->app.admin) {
                cairn_admin_stop(r->app.admin);
                r->app.admin = NULL;
        }
        if (r->state_made && r->svc->cleanup)
                r->svc->cleanup(r->state);
        cairn_pg_free(r->ctx.pg);
        cairn_redis_free(r->ctx.redis);
        cairn_app_cleanup(&r->app);
}

int cairn_service_main(const struct cairn_service *svc, int argc, char **argv)
{
        struct cairn_conf_section sections[CAIRN_SERVICE_SECTIONS_MAX + 2];
        struct service_run r;
        char errstr[512];
        size_t n;
        int rc;

        cairn_app_catch_stop_signals(); /* from the start: see cairn_app_serve() */
        memset(&r, 0, sizeof(r));
        r.svc = svc;
        r.ctx.app = &r.app;
        n = sections_fill(&r, sections);
        rc = cairn_app_init(&r.app, svc->name, argc, argv, sections, n);
        if (rc != 0) {
                cairn_app_cleanup(&r.app);
                return rc == 1 ? 0 : 1;
        }
        cairn_admin_add_check(r.app.admin, "service", started_ready, NULL);
        if (deps_start(&r, errstr, sizeof(errstr)) != 0)
                goto fail;
        if (svc->init) {
                r.state = svc->init(&r.ctx, errstr, sizeof(errstr));
                if (!r.state)
                        goto fail;
        }
        r.state_made = true;
        atomic_store(&started, true);
        if (svc->run)
                rc = svc->run(&r.ctx, r.state);
        else if (cairn_app_stop_requested())
                rc = 0; /* asked to stop while starting: nothing to drain */
        else {
                r.app.bus_conf.any_order = svc->any_order;
                r.app.bus_conf.revoked = svc->revoked;
                rc = cairn_app_serve(&r.app, svc->handlers, r.state);
        }
        service_cleanup(&r);
        return rc;
fail:
        if (cairn_app_stop_requested()) { /* asked to stop while it waited: an orderly end */
                cairn_log(INFO, "APP", "stopped while starting: %s", errstr);
                service_cleanup(&r);
                return 0;
        }
        cairn_log(ERROR, "APP", "%s", errstr);
        fprintf(stderr, "cairn-%s: %s\n", svc->name, errstr);
        service_cleanup(&r);
        return 1;
}

/* ---- a client of the secrets service ---- */

int cairn_service_secrets_open(struct cairn_service_secrets *s, struct cairn_service_ctx *ctx,
                               const struct cairn_secret_ref_conf *conf, char *errstr,
                               size_t errstr_size)
{
        struct cairn_app *app = ctx->app;

        s->bus = cairn_bus_client_new(app->service, &app->bus_conf, app->conf, app->metrics, errstr,
                                      errstr_size);
        if (!s->bus)
                return -1;
        cairn_bus_client_resilience(s->bus, NULL, &app->bus_resilience);
        s->refs = cairn_secret_refs_new(conf, app->service, s->bus, app->metrics);
        if (!s->refs) {
                snprintf(errstr, errstr_size, "out of memory for secret references");
                return -1;
        }
        return 0;
}

void cairn_service_secrets_close(struct cairn_service_secrets *s)
{
        cairn_secret_refs_free(s->refs);
        cairn_bus_client_free(s->bus);
        s->refs = NULL;
        s->bus = NULL;
}

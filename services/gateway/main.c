/* cairn-gateway: the description of the gateway — its configuration (fixed
 * tables plus what the route table implies), Redis for rate limits and
 * idempotency, PostgreSQL (optional) for audio sent by claim check, and a
 * run function that serves HTTP until SIGTERM — handed
 * to libcairn's one entry point. `cairn-gateway --openapi` prints the
 * OpenAPI document of the route table (make docs writes docs/openapi.json). */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "cairn/claims.h"
#include "cairn/log.h"
#include "cairn/service.h"
#include "openai_audio.h"
#include "openapi.h"
#include "ratelimit.h"
#include "sealing.h"
#include "server.h"

/* How often the secrets service's public key is asked for again once
 * writes use it (each ask is audited), and how long one ask may take. A
 * rotation that retires the key before then costs one write a retry
 * (SEAL_KEY_UNKNOWN). */
#define SEAL_REFRESH_MS 300000
#define SEAL_TIMEOUT_MS 5000

static struct gateway_conf conf;
static atomic_bool serving;

static size_t sections(struct cairn_conf_section *out)
{
        char errstr[512];
        size_t n = gateway_conf_sections(&conf, gw_routes, out, errstr, sizeof(errstr));

        if (n == 0) {
                /* The route table is code: a broken one is a bug. */
                fprintf(stderr, "cairn-gateway: %s\n", errstr);
                abort();
        }
        return n;
}

/* Not ready until the API listens (the bus client's group join comes first). */
static bool serving_ready(void *opaque, char *why, size_t why_size)
{
        (void)opaque;
        if (atomic_load(&serving))
                return true;
        snprintf(why, why_size, "starting: joining the reply group");
        return false;
}

/* Before the service counts as started: /readyz waits for the API from then on. */
static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        static int state;

        (void)errstr;
        (void)errstr_size;
        cairn_admin_add_check(ctx->app->admin, "api", serving_ready, NULL);
        return &state;
}

static int run(struct cairn_service_ctx *ctx, void *state)
{
        struct cairn_app *app = ctx->app;
        struct gateway_deps deps = { 0 };
        struct gw_auth *auth = NULL;
        struct gw_ratelimit *rl = NULL;
        struct cairn_bus_client *bus = NULL;
        struct gw_sealing *sealing = NULL;
        struct cairn_pg *pg = NULL;
        struct cairn_claims *claims = NULL;
        struct gw_audio audio = { conf.audio.inline_max_bytes, conf.audio.claim_timeout_ms, NULL };
        struct gateway *gw = NULL;
        char errstr[1024];
        int exit_code = 1;

        (void)state;
        auth = gw_auth_new(&conf.auth, errstr, sizeof(errstr));
        if (!auth) {
                fprintf(stderr, "cairn-gateway: %s\n", errstr);
                goto out;
        }
        if (gw_auth_jwt_key_count(auth) + gw_auth_api_key_count(auth) == 0)
                cairn_log(WARN, "AUTH",
                          "no JWT keys and no API keys configured: every "
                          "authenticated route will answer 401");
        cairn_log(INFO, "AUTH", "%zu JWT keys, %zu API keys loaded", gw_auth_jwt_key_count(auth),
                  gw_auth_api_key_count(auth));
        gw_auth_metrics(auth, app->metrics);
        if (conf.rl.enabled)
                rl = gw_ratelimit_new(&conf.rl, ctx->redis, app->metrics);
        bus = cairn_bus_client_new("gateway", &app->bus_conf, app->conf, app->metrics, errstr,
                                   sizeof(errstr));
        if (!bus) {
                fprintf(stderr, "cairn-gateway: %s\n", errstr);
                goto out;
        }
        cairn_bus_client_resilience(bus, NULL, &app->bus_resilience);
        cairn_admin_add_check(app->admin, "broker", cairn_bus_client_ready, bus);
        sealing = gw_sealing_new();
        if (!sealing) {
                fprintf(stderr, "cairn-gateway: cannot make the key pair for sealed values "
                                "(libsodium, locked memory)\n");
                goto out;
        }
        if (gateway_conf_topic(&conf, "secrets") && *gateway_conf_topic(&conf, "secrets"))
                gw_sealing_refresh_start(sealing, bus, gateway_conf_topic(&conf, "secrets"),
                                         SEAL_REFRESH_MS, SEAL_TIMEOUT_MS);

        /* Uploads over audio.inline_max_bytes go by claim check when the
         * gateway has a database. */
        if (conf.pg.url && conf.pg.url[0]) {
                pg = cairn_pg_new(&conf.pg, app->metrics, errstr, sizeof(errstr));
                claims = pg ? cairn_claims_new(pg, conf.audio.claims_ttl_s * 1000, app->metrics,
                                               errstr, sizeof(errstr))
                            : NULL;
                if (!claims) {
                        fprintf(stderr, "cairn-gateway: claim store: %s\n", errstr);
                        goto out;
                }
                audio.claims = claims;
        } else {
                cairn_log(INFO, "APP",
                          "no pg.url: audio uploads travel inline (up to Kafka's message limit)");
        }

        deps.conf = &conf;
        deps.audio = &audio;
        deps.routes = gw_routes;
        deps.auth = auth;
        deps.rl = rl;
        deps.redis = ctx->redis;
        deps.bus = bus;
        deps.metrics = app->metrics;
        deps.sealing = sealing;
        gw = gateway_start(&deps, errstr, sizeof(errstr));
        if (!gw) {
                fprintf(stderr, "cairn-gateway: %s\n", errstr);
                goto out;
        }
        atomic_store(&serving, true);
        cairn_log(INFO, "APP", "API on %s:%d", conf.http.address, gateway_port(gw));
        cairn_service_wait_stop();
        cairn_log(INFO, "APP", "stopping: finishing requests in flight");
        gateway_drain(gw, app->bus_conf.grace_ms);
        exit_code = 0;
out:
        /* The admin checks use the bus: they stop first. */
        if (app->admin) {
                cairn_admin_stop(app->admin);
                app->admin = NULL;
        }
        gw_sealing_refresh_stop(sealing); /* it calls over the bus */
        /* Fails calls still waiting, which resumes their connections. */
        cairn_bus_client_free(bus);
        if (gw) {
                usleep(100 * 1000);
                gateway_stop(gw);
        }
        gw_sealing_free(sealing);
        cairn_claims_free(claims);
        cairn_pg_free(pg);
        gw_ratelimit_free(rl);
        gw_auth_free(auth);
        cairn_log(INFO, "APP", "cairn-gateway exiting with %d", exit_code);
        return exit_code;
}

static const struct cairn_service gateway_service = {
        .name = "gateway",
        .needs = CAIRN_NEEDS_REDIS,
        .sections = sections,
        .init = init,
        .run = run,
};

int main(int argc, char **argv)
{
        int rc;

        if (argc == 2 && strcmp(argv[1], "--openapi") == 0) {
                char errstr[512];
                size_t len;
                char *doc = gw_openapi_render(gw_routes, &len, errstr, sizeof(errstr));

                if (!doc) {
                        fprintf(stderr, "cairn-gateway: %s\n", errstr);
                        return 1;
                }
                fwrite(doc, 1, len, stdout);
                free(doc);
                return 0;
        }
        rc = cairn_service_main(&gateway_service, argc, argv);
        gateway_conf_cleanup(&conf);
        return rc;
}

/* cairn-gateway: wires the configuration, the credentials, Redis, the bus
 * client and the HTTP server together, then serves until SIGTERM. */
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cairn/app.h"
#include "cairn/log.h"
#include "gateway.h"

static volatile sig_atomic_t stop_requested;
static atomic_bool serving;

/* Not ready until the API listens (the bus client's group join comes first). */
static bool serving_ready(void *opaque, char *why, size_t why_size)
{
        (void)opaque;
        if (atomic_load(&serving))
                return true;
        snprintf(why, why_size, "starting: joining the reply group");
        return false;
}

static void on_signal(int sig)
{
        (void)sig;
        stop_requested = 1;
}

int main(int argc, char **argv)
{
        struct cairn_app app;
        struct gateway_conf conf;
        struct cairn_conf_section sections[GATEWAY_CONF_SECTIONS];
        struct gateway_deps deps = { 0 };
        struct gw_auth *auth = NULL;
        struct cairn_redis *redis = NULL;
        struct gw_ratelimit *rl = NULL;
        struct cairn_bus_client *bus = NULL;
        struct gateway *gw = NULL;
        struct sigaction sa;
        char errstr[512];
        int rc, exit_code = 1;
        size_t n;

        n = gateway_conf_sections(&conf, sections);
        rc = cairn_app_init(&app, "gateway", argc, argv, sections, n);
        if (rc != 0) {
                cairn_app_cleanup(&app);
                return rc == 1 ? 0 : 1;
        }
        auth = gw_auth_new(&conf.auth, errstr, sizeof(errstr));
        if (!auth) {
                fprintf(stderr, "cairn-gateway: %s\n", errstr);
                goto out;
        }
        if (gw_auth_jwt_key_count(auth) + gw_auth_api_key_count(auth) == 0)
                cairn_log(WARN, "AUTH", "no JWT keys and no API keys configured: every "
                          "authenticated route will answer 401");
        cairn_log(INFO, "AUTH", "%zu JWT keys, %zu API keys loaded", gw_auth_jwt_key_count(auth),
                  gw_auth_api_key_count(auth));
        gw_auth_metrics(auth, app.metrics);
        cairn_admin_add_check(app.admin, "api", serving_ready, NULL);
        redis = cairn_redis_new(&conf.redis, app.metrics);
        if (conf.rl.enabled)
                rl = gw_ratelimit_new(&conf.rl, redis, app.metrics);
        bus = cairn_bus_client_new("gateway", &app.bus_conf, app.conf, app.metrics, errstr,
                                   sizeof(errstr));
        if (!bus) {
                fprintf(stderr, "cairn-gateway: %s\n", errstr);
                goto out;
        }
        cairn_bus_client_resilience(bus, NULL, &app.bus_resilience);
        cairn_admin_add_check(app.admin, "broker", cairn_bus_client_ready, bus);
        cairn_admin_add_check(app.admin, "redis", cairn_redis_ready, redis);

        deps.conf = &conf;
        deps.auth = auth;
        deps.rl = rl;
        deps.redis = redis;
        deps.bus = bus;
        deps.metrics = app.metrics;
        gw = gateway_start(&deps, errstr, sizeof(errstr));
        if (!gw) {
                fprintf(stderr, "cairn-gateway: %s\n", errstr);
                goto out;
        }
        atomic_store(&serving, true);
        cairn_log(INFO, "APP", "API on %s:%d", conf.http.address, gateway_port(gw));

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        while (!stop_requested)
                usleep(100 * 1000);

        cairn_log(INFO, "APP", "stopping: finishing requests in flight");
        gateway_drain(gw, app.bus_conf.grace_ms);
        exit_code = 0;
out:
        /* The admin checks use the bus and Redis: they stop first. */
        if (app.admin) {
                cairn_admin_stop(app.admin);
                app.admin = NULL;
        }
        /* Fails calls still waiting, which resumes their connections. */
        cairn_bus_client_free(bus);
        if (gw) {
                usleep(100 * 1000);
                gateway_stop(gw);
        }
        gw_ratelimit_free(rl);
        cairn_redis_free(redis);
        gw_auth_free(auth);
        cairn_log(INFO, "APP", "cairn-gateway exiting with %d", exit_code);
        cairn_app_cleanup(&app);
        return exit_code;
}

/* The start and end of every service process: command line, configuration,
 * logging, metrics, admin server, signals, and the bus until SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/app.h"
#include "cairn/log.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif

#define ITEM(name, type, def, min, max, field, desc) \
        { name, type, def, min, max, 0, offsetof(struct cairn_base_conf, field), desc }

const struct cairn_conf_item cairn_base_conf_items[] = {
        ITEM("admin.address", CAIRN_CONF_STRING, "0.0.0.0", 0, -1, admin_address,
             "address the admin server (/healthz, /readyz, /metrics) listens on"),
        ITEM("admin.port", CAIRN_CONF_INT, "9100", 0, 65535, admin_port,
             "admin server port; 0 picks a free one"),
        ITEM("log.level", CAIRN_CONF_STRING, "info", 0, -1, log_level,
             "lowest level written: debug, info, warn or error"),
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static struct cairn_bus *signal_bus;

static void on_signal(int sig)
{
        (void)sig;
        if (signal_bus)
                cairn_bus_stop(signal_bus);
}

static void usage(FILE *fp, const char *service)
{
        fprintf(fp,
                "usage: cairn-%s [-c FILE] [--config-doc] [-h] [-V]\n"
                "  -c, --config FILE  configuration file (default: $CAIRN_CONFIG, else none)\n"
                "      --config-doc   print the configuration reference (markdown) and exit\n"
                "  -h, --help         this help\n"
                "  -V, --version      print the version and exit\n"
                "Every setting can be given as CAIRN_<SECTION>_<KEY>; see docs/config.md.\n",
                service);
}

/* The sections every service has, followed by the service's own. */
static size_t sections_fill(struct cairn_app *app, struct cairn_conf_section *out,
                            const struct cairn_conf_section *extra, size_t nextra)
{
        size_t n = 0;

        out[n++] = (struct cairn_conf_section){ "Runtime", cairn_base_conf_items, &app->base, NULL };
        out[n++] = (struct cairn_conf_section){ "Bus", cairn_bus_conf_items, &app->bus_conf, NULL };
        for (size_t i = 0; i < nextra; i++)
                out[n++] = extra[i];
        return n;
}

int cairn_app_init(struct cairn_app *app, const char *service, int argc, char **argv,
                   const struct cairn_conf_section *extra, size_t nextra)
{
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "config-doc", no_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        struct cairn_conf_section sections[2 + 16];
        const char *path = getenv("CAIRN_CONFIG");
        char errstr[512];
        size_t n;
        int opt;

        memset(app, 0, sizeof(*app));
        app->service = service;
        if (nextra > 16) {
                fprintf(stderr, "cairn-%s: too many configuration sections\n", service);
                return -1;
        }
        n = sections_fill(app, sections, extra, nextra);

        optind = 1;
        while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        path = optarg;
                        break;
                case 'D':
                        cairn_conf_doc(sections, n, stdout);
                        return 1;
                case 'h':
                        usage(stdout, service);
                        return 1;
                case 'V':
                        printf("cairn-%s %s\n", service, CAIRN_VERSION);
                        return 1;
                default:
                        usage(stderr, service);
                        return -1;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "cairn-%s: unexpected argument \"%s\"\n", service, argv[optind]);
                return -1;
        }
        if (path && !path[0])
                path = NULL;

        app->conf = cairn_conf_load(path, sections, n, NULL, errstr, sizeof(errstr));
        if (!app->conf) {
                fprintf(stderr, "cairn-%s: %s\n", service, errstr);
                return -1;
        }
        int level = cairn_log_level_parse(app->base.log_level);
        if (level < 0) {
                fprintf(stderr, "cairn-%s: config: log.level: \"%s\" is not one of debug, info, "
                        "warn, error\n", service, app->base.log_level);
                return -1;
        }
        cairn_log_init(service, (enum cairn_log_level)level);

        app->metrics = cairn_metrics_new();
        cairn_metric_set_l(cairn_metrics_gauge(app->metrics, "cairn_build_info",
                                               "Always 1; labels say what runs",
                                               (const char *[]){ "service", "version", NULL }),
                           (const char *[]){ service, CAIRN_VERSION }, 1);
        app->admin = cairn_admin_start(app->base.admin_address, (int)app->base.admin_port,
                                       app->metrics, errstr, sizeof(errstr));
        if (!app->admin) {
                fprintf(stderr, "cairn-%s: %s\n", service, errstr);
                return -1;
        }
        cairn_log(INFO, "APP", "cairn-%s %s starting; admin on %s:%d", service, CAIRN_VERSION,
                  app->base.admin_address, cairn_admin_port(app->admin));
        return 0;
}

int cairn_app_serve(struct cairn_app *app, const struct cairn_handler *handlers, void *opaque)
{
        struct sigaction sa;
        char errstr[512];
        int rc;

        app->bus = cairn_bus_new(app->service, &app->bus_conf, app->conf, handlers, opaque,
                                 app->metrics, errstr, sizeof(errstr));
        if (!app->bus) {
                cairn_log(ERROR, "APP", "%s", errstr);
                fprintf(stderr, "cairn-%s: %s\n", app->service, errstr);
                return 1;
        }
        cairn_admin_add_check(app->admin, "broker", cairn_bus_ready, app->bus);

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        signal_bus = app->bus;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        rc = cairn_bus_run(app->bus);
        cairn_log(INFO, "APP", "cairn-%s exiting with %d", app->service, rc == 0 ? 0 : 1);
        return rc == 0 ? 0 : 1;
}

void cairn_app_cleanup(struct cairn_app *app)
{
        /* The admin server goes first: its checks use the bus. */
        if (app->admin)
                cairn_admin_stop(app->admin);
        signal_bus = NULL;
        cairn_bus_free(app->bus);
        cairn_metrics_free(app->metrics);
        cairn_conf_free(app->conf);
        memset(app, 0, sizeof(*app));
}

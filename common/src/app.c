/* The start and end of every service process: command line, configuration,
 * logging, metrics, admin server, signals, and the bus until SIGTERM.
 * SIGHUP re-reads log.level from the configuration file and environment. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/app.h"
#include "cairn/log.h"
#include "cairn/trace.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif

/* clang-format off */
#define CAIRN_CONF_STRUCT struct cairn_base_conf
/* clang-format on */

const struct cairn_conf_item cairn_base_conf_items[] = {
        CAIRN_CONF_ROW("admin.address", CAIRN_CONF_STRING, "0.0.0.0", 0, -1, 0, admin_address,
                       "address the admin server (/healthz, /readyz, /metrics) listens on"),
        CAIRN_CONF_ROW("admin.port", CAIRN_CONF_INT, "9100", 0, 65535, 0, admin_port,
                       "admin server port; 0 picks a free one"),
        CAIRN_CONF_ROW("log.level", CAIRN_CONF_STRING, "info", 0, -1, CAIRN_CONF_RELOAD, log_level,
                       "lowest level written: debug, info, warn or error; SIGHUP re-reads it, "
                       "PUT /loglevel?level= on the admin port sets it"),
        CAIRN_CONF_END,
};

/* One stop request for the whole process: a SIGTERM that arrives before
 * the bus runs is remembered, and stops it as soon as it does. */
static volatile sig_atomic_t stop_requested;
static struct cairn_bus *_Atomic signal_bus;

static void on_stop_signal(int sig)
{
        struct cairn_bus *bus = atomic_load(&signal_bus);

        (void)sig;
        stop_requested = 1;
        if (bus)
                cairn_bus_stop(bus);
}

void cairn_app_catch_stop_signals(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

bool cairn_app_stop_requested(void)
{
        return stop_requested;
}

/* ---- SIGHUP: the log level again from the file and environment ---- */

#define RELOAD_SECTIONS_MAX (3 + 16)

static struct {
        int pipe[2]; /* the handler writes, the thread reads */
        pthread_t thread;
        bool started;
        char *path; /* the configuration file, or NULL */
        struct cairn_conf_section sections[RELOAD_SECTIONS_MAX];
        size_t nsections;
} reload = { { -1, -1 }, 0, false, NULL, { { 0 } }, 0 };

static void on_sighup(int sig)
{
        int saved = errno;
        char c = 'h';

        (void)sig;
        if (write(reload.pipe[1], &c, 1) < 0) {
                /* A full pipe already holds a pending reload. */
        }
        errno = saved;
}

static size_t item_end(const struct cairn_conf_item *it)
{
        switch (it->type) {
        case CAIRN_CONF_STRING:
                return it->offset + sizeof(const char *);
        case CAIRN_CONF_INT:
                return it->offset + sizeof(long long);
        case CAIRN_CONF_DOUBLE:
                return it->offset + sizeof(double);
        case CAIRN_CONF_BOOL:
                return it->offset + sizeof(bool);
        }
        return it->offset + sizeof(double);
}

/* Loads every section again, into scratch copies of their structs (the live
 * ones stay untouched: other threads read them), and applies log.level. */
static void reload_log_level(void)
{
        struct cairn_conf_section copies[RELOAD_SECTIONS_MAX];
        void *scratch[RELOAD_SECTIONS_MAX];
        struct cairn_conf *conf;
        char errstr[512];
        int level;

        for (size_t s = 0; s < reload.nsections; s++) {
                size_t size = 1;

                for (const struct cairn_conf_item *it = reload.sections[s].items; it && it->name;
                     it++)
                        if (item_end(it) > size)
                                size = item_end(it);
                scratch[s] = calloc(1, size);
                if (!scratch[s])
                        abort();
                copies[s] = reload.sections[s];
                copies[s].target = scratch[s];
                copies[s].check = NULL;
        }
        conf = cairn_conf_load(reload.path, copies, reload.nsections, NULL, errstr, sizeof(errstr));
        if (!conf) {
                cairn_log(WARN, "APP", "SIGHUP: configuration not reloaded: %s", errstr);
        } else {
                /* Section 0 is the Runtime section: struct cairn_base_conf. */
                const char *name = ((struct cairn_base_conf *)scratch[0])->log_level;

                level = cairn_log_level_parse(name);
                if (level < 0) {
                        cairn_log(WARN, "APP",
                                  "SIGHUP: log.level \"%s\" is not one of debug, "
                                  "info, warn, error; level unchanged",
                                  name ? name : "");
                } else {
                        /* Said at the more verbose of the two levels, so
                         * the line survives the change. */
                        bool quieter = level > (int)cairn_log_get_level();

                        if (quieter)
                                cairn_log(WARN, "APP", "SIGHUP: log level is %s",
                                          cairn_log_level_str((enum cairn_log_level)level));
                        cairn_log_set_level((enum cairn_log_level)level);
                        if (!quieter)
                                cairn_log(WARN, "APP", "SIGHUP: log level is %s",
                                          cairn_log_level_str((enum cairn_log_level)level));
                }
                cairn_conf_free(conf);
        }
        for (size_t s = 0; s < reload.nsections; s++)
                free(scratch[s]);
}

static void *reload_main(void *arg)
{
        char c;

        (void)arg;
        for (;;) {
                ssize_t n = read(reload.pipe[0], &c, 1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || c == 'q')
                        break;
                reload_log_level();
        }
        return NULL;
}

/* Remembers where the configuration came from and starts listening for
 * SIGHUP. The sections' tables must outlive the app (they do: static, or
 * the app's own). */
static void reload_start(const char *path, const struct cairn_conf_section *sections, size_t n)
{
        struct sigaction sa;

        if (pipe(reload.pipe) != 0)
                return;
        fcntl(reload.pipe[0], F_SETFD, FD_CLOEXEC);
        fcntl(reload.pipe[1], F_SETFD, FD_CLOEXEC);
        /* The handler never blocks: a full pipe already asks for a reload. */
        fcntl(reload.pipe[1], F_SETFL, fcntl(reload.pipe[1], F_GETFL) | O_NONBLOCK);
        reload.path = path ? strdup(path) : NULL;
        memcpy(reload.sections, sections, n * sizeof(*sections));
        reload.nsections = n;
        if (pthread_create(&reload.thread, NULL, reload_main, NULL) != 0) {
                close(reload.pipe[0]);
                close(reload.pipe[1]);
                reload.pipe[0] = reload.pipe[1] = -1;
                return;
        }
        reload.started = true;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sighup;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGHUP, &sa, NULL);
}

static void reload_stop(void)
{
        char c = 'q';

        if (!reload.started)
                return;
        signal(SIGHUP, SIG_IGN);
        if (write(reload.pipe[1], &c, 1) == 1)
                pthread_join(reload.thread, NULL);
        else
                pthread_detach(reload.thread);
        close(reload.pipe[0]);
        close(reload.pipe[1]);
        reload.pipe[0] = reload.pipe[1] = -1;
        free(reload.path);
        reload.path = NULL;
        reload.started = false;
}

static void usage(FILE *fp, const char *service)
{
        fprintf(fp,
                "usage: cairn-%s [-c FILE] [--check-config] [--config-doc] [-h] [-V]\n"
                "  -c, --config FILE  configuration file (default: $CAIRN_CONFIG, else none)\n"
                "      --check-config load the configuration (file and CAIRN_* environment),\n"
                "                     say whether it is valid and exit (0 valid, 1 not)\n"
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

        out[n++] = (struct cairn_conf_section){ "Runtime", cairn_base_conf_items, &app->base,
                                                NULL };
        out[n++] = (struct cairn_conf_section){ "Bus", cairn_bus_conf_items, &app->bus_conf, NULL };
        out[n++] = cairn_resilience_conf_section(app->bus_resilience_items, &app->bus_resilience);
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
                { "check-config", no_argument, NULL, 'K' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        struct cairn_conf_section sections[RELOAD_SECTIONS_MAX];
        const char *path = getenv("CAIRN_CONFIG");
        char errstr[512];
        bool check_only = false;
        size_t n;
        int opt;

        memset(app, 0, sizeof(*app));
        app->service = service;
        if (nextra > 16) {
                fprintf(stderr, "cairn-%s: too many configuration sections\n", service);
                return -1;
        }
        cairn_resilience_conf_init(&app->bus_resilience, "bus");
        app->bus_resilience_items = cairn_resilience_conf_items("bus");
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
                case 'K':
                        check_only = true;
                        break;
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
                fprintf(stderr,
                        "cairn-%s: config: log.level: \"%s\" is not one of debug, info, "
                        "warn, error\n",
                        service, app->base.log_level);
                return -1;
        }
        if (check_only) {
                /* Deploy tooling checks rendered files with the real binary. */
                printf("cairn-%s: configuration %s is valid\n", service,
                       path ? path : "(environment only)");
                return 1;
        }
        cairn_log_init(service, (enum cairn_log_level)level);
        reload_start(path, sections, n);

        app->metrics = cairn_metrics_new();
        cairn_metric_set_l(cairn_metrics_gauge(app->metrics, "cairn_build_info",
                                               "Always 1; labels say what runs",
                                               (const char *[]){ "service", "version", NULL }),
                           (const char *[]){ service, CAIRN_VERSION }, 1);
        /* Same names in every service, whether it calls others or not. */
        cairn_resilience_metrics_register(app->metrics);
        /* OTEL_* variables, not CAIRN_* keys: see docs/observability.md. */
        if (cairn_trace_init(service, app->metrics, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "cairn-%s: %s\n", service, errstr);
                return -1;
        }
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

        atomic_store(&signal_bus, app->bus);
        cairn_app_catch_stop_signals();
        if (stop_requested) /* asked before the bus was there to stop */
                cairn_bus_stop(app->bus);

        rc = cairn_bus_run(app->bus);
        cairn_log(INFO, "APP", "cairn-%s exiting with %d", app->service, rc == 0 ? 0 : 1);
        return rc == 0 ? 0 : 1;
}

void cairn_app_cleanup(struct cairn_app *app)
{
        reload_stop();
        /* The admin server goes first: its checks use the bus. */
        if (app->admin)
                cairn_admin_stop(app->admin);
        atomic_store(&signal_bus, NULL);
        cairn_bus_free(app->bus);
        /* Spans still queued go out now, within a bounded wait. */
        cairn_trace_shutdown();
        cairn_metrics_free(app->metrics);
        cairn_conf_free(app->conf);
        cairn_resilience_conf_items_free(app->bus_resilience_items);
        memset(app, 0, sizeof(*app));
}

/* What every service's main.c does, once: read the command line, load the
 * configuration (runtime, bus and the service's own tables), start logging,
 * metrics and the admin server, then serve the bus until SIGTERM. */
#ifndef CAIRN_APP_H
#define CAIRN_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/admin.h"
#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"

/* Settings every service shares (sections "service", "admin", "log"). */
struct cairn_base_conf {
        const char *admin_address;
        long long admin_port;
        const char *log_level;
};

extern const struct cairn_conf_item cairn_base_conf_items[];

struct cairn_app {
        const char *service; /* borrowed, e.g. "embedding" */
        struct cairn_conf *conf;
        struct cairn_base_conf base;
        struct cairn_bus_conf bus_conf;
        /* resilience.bus.*: the defaults of every dependency a bus client
         * of this service calls; hand them to cairn_bus_client_resilience(). */
        struct cairn_resilience_conf bus_resilience;
        struct cairn_conf_item *bus_resilience_items;
        struct cairn_metrics *metrics;
        struct cairn_admin *admin;
        struct cairn_bus *bus;
};

/* Handles the command line (-c/--config FILE, else $CAIRN_CONFIG; --config-doc
 * prints the configuration reference; -h/--help; -V/--version), loads the
 * configuration for the shared tables plus @p extra (borrowed, as for
 * cairn_conf_load), starts logging, metrics and the admin server.
 * Returns 0 to go on, 1 when the command line was fully handled (exit 0),
 * -1 on error (already printed on stderr; exit non-zero). */
int cairn_app_init(struct cairn_app *app, const char *service, int argc, char **argv,
                   const struct cairn_conf_section *extra, size_t nextra);

/* Creates the bus runtime with @p handlers (borrowed) and @p opaque, adds its
 * readiness check, installs SIGTERM/SIGINT handlers and serves until one
 * arrives. Returns the process exit code (0 after a clean drain). */
int cairn_app_serve(struct cairn_app *app, const struct cairn_handler *handlers, void *opaque);

/* From now on SIGTERM and SIGINT ask the process to stop (and stop the bus
 * cairn_app_serve() runs, then or once it runs); SIGPIPE is ignored. */
void cairn_app_catch_stop_signals(void);

/* True once SIGTERM or SIGINT has arrived. */
bool cairn_app_stop_requested(void);

/* Frees what cairn_app_init() and cairn_app_serve() created; safe after a
 * partial or failed init. */
void cairn_app_cleanup(struct cairn_app *app);

#endif

/* A service is a description handed to one entry point: its name, its
 * configuration sections, what it depends on (Redis, PostgreSQL with its
 * migrations), and either a bus handler table or a run function of its own.
 * cairn_service_main() does the rest, the same way for every service: the
 * command line, configuration, logging, metrics, the admin server and its
 * readiness checks, the dependencies, serving until SIGTERM, and cleanup in
 * the reverse order. A service's main.c is then only its description:
 *
 *   static const struct cairn_service memory_service = {
 *           .name = "memory", .needs = CAIRN_NEEDS_PG,
 *           .sections = memory_conf_sections, .migrations = &memory_migrations,
 *           (memory_migrations: generated from services/memory/migrations/ by the build)
 *           .init = memory_init, .handlers = memory_handlers, .cleanup = memory_cleanup,
 *   };
 *   int main(int argc, char **argv) { return cairn_service_main(&memory_service, argc, argv); }
 */
#ifndef CAIRN_SERVICE_H
#define CAIRN_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/app.h"
#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/pg.h"
#include "cairn/pg_migrate.h"
#include "cairn/redis.h"

/* What a service depends on; cairn_service_main() adds their configuration
 * sections, creates them before init() and frees them after cleanup(). */
#define CAIRN_NEEDS_REDIS       0x1 /* a Redis pool (section "redis"); /readyz waits for it */
#define CAIRN_NEEDS_REDIS_CACHE 0x2 /* a Redis pool used as a cache: /readyz does not wait */
#define CAIRN_NEEDS_PG          0x4 /* PostgreSQL (section "pg"), migrations applied at start */

/* Most configuration sections a service adds of its own. */
#define CAIRN_SERVICE_SECTIONS_MAX 8

/* What init() and run() get: the runtime and the dependencies asked for. */
struct cairn_service_ctx {
        struct cairn_app *app;     /* config, metrics, admin server, bus settings */
        struct cairn_redis *redis; /* NULL unless a Redis need was declared */
        struct cairn_pg *pg;       /* NULL unless CAIRN_NEEDS_PG */
};

struct cairn_service {
        const char *name; /* "memory": binary cairn-memory, topics cairn.memory.* */
        unsigned needs;   /* CAIRN_NEEDS_* */
        /* The handlers keep no state per key: one key's requests may run at
         * once, on any worker (cairn_bus_conf's any_order). */
        bool any_order;
        /* Fills @p out with the service's own sections (at most
         * CAIRN_SERVICE_SECTIONS_MAX) over configuration structs it owns
         * (static in main.c); returns how many. NULL: none. */
        size_t (*sections)(struct cairn_conf_section *out);
        /* Applied at start under an advisory lock when CAIRN_NEEDS_PG. */
        const struct cairn_pg_migrations *migrations;
        /* Builds the service's state once the configuration is loaded and
         * the dependencies exist. Returns the state (passed to the handlers
         * as their opaque, to run() and to cleanup()), or NULL with a
         * message in @p errstr. NULL init: the state is NULL. */
        void *(*init)(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size);
        /* Bus handlers (borrowed, NULL-terminated): the service consumes
         * cairn.<name>.v1.requests until SIGTERM and drains. */
        const struct cairn_handler *handlers;
        /* Instead of handlers: runs the service (say, an HTTP server) and
         * returns the exit code; it calls cairn_service_wait_stop() to block
         * until SIGTERM or SIGINT. */
        int (*run)(struct cairn_service_ctx *ctx, void *state);
        /* With handlers: partitions of the request topic this replica no
         * longer owns (cairn_bus_conf's revoked). May be NULL. */
        void (*revoked)(void *state, const int32_t *parts, size_t n);
        /* Frees the state; runs after serving stopped, before the
         * dependencies are freed. May be NULL. */
        void (*cleanup)(void *state);
};

/* Runs @p svc (borrowed) as the process: returns the exit code for main(). */
int cairn_service_main(const struct cairn_service *svc, int argc, char **argv);

/* For run(): blocks until SIGTERM or SIGINT arrives (or has arrived: from
 * cairn_service_main()'s start on, they only ask for a stop). */
void cairn_service_wait_stop(void);

/* ---- a client of the secrets service ---- */

struct cairn_secret_ref_conf;
struct cairn_secret_refs;

/* References to secrets (cairn/secret_ref.h), for a service whose
 * provider's key lives in the secrets service: fetched in the background
 * through a bus client of the service's own, so readiness does not wait for
 * them. */
struct cairn_service_secrets {
        struct cairn_bus_client *bus;
        struct cairn_secret_refs *refs;
};

/* Opens @p s (zeroed by the caller) with the bus settings and resilience of
 * @p ctx's app; @p conf is borrowed and must outlive @p s. Returns 0, or -1
 * with a message in @p errstr (close @p s all the same). */
int cairn_service_secrets_open(struct cairn_service_secrets *s, struct cairn_service_ctx *ctx,
                               const struct cairn_secret_ref_conf *conf, char *errstr,
                               size_t errstr_size);

/* Frees the references, then their client; what reads the references goes
 * first. A zeroed @p s is fine. */
void cairn_service_secrets_close(struct cairn_service_secrets *s);

#endif

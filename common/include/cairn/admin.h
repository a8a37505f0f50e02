/* The admin HTTP server every service runs on its own port: /healthz (the
 * process is alive), /readyz (every registered check passes), /metrics
 * (the registry in Prometheus text format) and /loglevel (GET the log
 * level; PUT or POST ?level=debug|info|warn|error to change it). */
#ifndef CAIRN_ADMIN_H
#define CAIRN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

struct cairn_metrics;
struct cairn_admin;

/* A readiness check. Runs on the admin server's thread; must answer within a
 * second or so. Writes a short reason to @p why when not ready. */
typedef bool (*cairn_ready_fn)(void *opaque, char *why, size_t why_size);

/* Starts serving on @p address (e.g. "127.0.0.1", "0.0.0.0") and @p port
 * (0 picks a free port; cairn_admin_port() tells which). @p metrics is
 * borrowed and must outlive the server. Returns NULL with @p errstr set when
 * the port cannot be bound. */
struct cairn_admin *cairn_admin_start(const char *address, int port, struct cairn_metrics *metrics,
                                      char *errstr, size_t errstr_size);

/* Adds a readiness check named @p name (copied). Call before traffic. */
void cairn_admin_add_check(struct cairn_admin *admin, const char *name, cairn_ready_fn fn,
                           void *opaque);

int cairn_admin_port(const struct cairn_admin *admin);

/* Stops the server and frees it. */
void cairn_admin_stop(struct cairn_admin *admin);

#endif

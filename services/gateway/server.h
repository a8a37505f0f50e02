/* The gateway's HTTP server: started over its dependencies and a route
 * table, drained and stopped on SIGTERM (server.c). */
#ifndef CAIRN_GATEWAY_SERVER_H
#define CAIRN_GATEWAY_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "route.h"

struct cairn_bus_client;
struct cairn_metrics;
struct cairn_redis;
struct gw_audio;
struct gw_auth;
struct gw_ratelimit;
struct gw_req;
struct gw_sealing;

struct gateway;

struct gateway_deps {
        const struct gateway_conf *conf;
        const struct gw_route *routes; /* the table (gw_routes); borrowed */
        struct gw_auth *auth;
        struct gw_ratelimit *rl; /* NULL: rate limiting off */
        struct cairn_redis *redis;
        struct cairn_bus_client *bus;
        struct cairn_metrics *metrics;
        struct gw_sealing *sealing;   /* keys for sealed values (secrets); NULL: none */
        const struct gw_audio *audio; /* audio settings and claim store; NULL: defaults */
};

/* Starts listening; NULL with a message in @p errstr. @p deps and what it
 * points to are borrowed and must outlive the gateway. */
struct gateway *gateway_start(const struct gateway_deps *deps, char *errstr, size_t errstr_size);
int gateway_port(const struct gateway *gw);
/* Stops accepting, waits up to @p grace_ms for requests in flight. */
void gateway_drain(struct gateway *gw, long long grace_ms);
void gateway_stop(struct gateway *gw);

/* The answers the gateway gives itself (local routes). */
int gw_serve_version(struct gw_req *r);
int gw_serve_openapi(struct gw_req *r);

#endif

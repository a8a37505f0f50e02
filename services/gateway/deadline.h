/* Deadlines against slow clients (deadline.c): a connection that takes too
 * long to send a request's headers, or sends a body slower than a minimum
 * rate, is closed. */
#ifndef CAIRN_GATEWAY_DEADLINE_H
#define CAIRN_GATEWAY_DEADLINE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct cairn_metrics;

struct gw_deadline;
/* One connection's clock. */
struct gw_watch;

struct gw_deadline_limits {
        long long header_timeout_ms; /* from connecting or the previous answer */
        long long body_grace_ms;     /* a body may take this long at any rate */
        long long body_min_rate;     /* bytes per second beyond the grace */
};

/* Starts the sweeper that closes connections past their deadline (each
 * kind counted in a metric). */
struct gw_deadline *gw_deadline_start(const struct gw_deadline_limits *limits,
                                      struct cairn_metrics *metrics);
/* Call after the daemon stopped. */
void gw_deadline_stop(struct gw_deadline *dl);
/* MHD_OPTION_NOTIFY_CONNECTION callback, with the deadline as @p cls. */
void gw_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code);
/* A request's headers arrived: the connection is no longer waiting for
 * them. Returns its clock for the calls below (NULL: unwatched). */
struct gw_watch *gw_deadline_headers_done(struct gw_deadline *dl, struct MHD_Connection *conn);
/* The request's body is to be read: from now on it must keep the rate. */
void gw_deadline_body_begin(struct gw_deadline *dl, struct gw_watch *w);
/* @p n more body bytes arrived (lock-free). */
void gw_deadline_body_add(struct gw_watch *w, size_t n);
/* The body is complete. */
void gw_deadline_body_done(struct gw_deadline *dl, struct gw_watch *w);
/* A request finished: the connection waits for the next one's headers. */
void gw_deadline_request_done(struct gw_deadline *dl, struct MHD_Connection *conn);

#endif

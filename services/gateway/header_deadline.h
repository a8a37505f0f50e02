/* The header deadline against slow clients: connections that take too long
 * to send a request's headers are closed (header_deadline.c). */
#ifndef CAIRN_GATEWAY_HEADER_DEADLINE_H
#define CAIRN_GATEWAY_HEADER_DEADLINE_H

#include <microhttpd.h>
#include <stdbool.h>

struct cairn_metrics;

struct gw_header_deadline;

/* Starts the sweeper that closes connections waiting longer than
 * @p timeout_ms for a request's headers (counted in a metric). */
struct gw_header_deadline *gw_header_deadline_start(long long timeout_ms,
                                                    struct cairn_metrics *metrics);
/* Call after the daemon stopped. */
void gw_header_deadline_stop(struct gw_header_deadline *hd);
/* MHD_OPTION_NOTIFY_CONNECTION callback, with the deadline as @p cls. */
void gw_header_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code);
/* A request's headers arrived: its connection is no longer waiting. */
void gw_header_deadline_headers_done(struct gw_header_deadline *hd, struct MHD_Connection *conn);
/* A request finished: the connection waits for the next one's headers. */
void gw_header_deadline_request_done(struct gw_header_deadline *hd, struct MHD_Connection *conn);

#endif

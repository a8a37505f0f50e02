/* The gateway's listening socket and the thread that accepts on it, handing
 * each connection to libmicrohttpd (MHD_add_connection). Owning accept()
 * lets a drain stop taking connections by closing the socket, instead of
 * MHD_quiesce_daemon, which in libmicrohttpd 0.9.75 races the event-loop
 * threads of a thread pool and can abort the process ("Failed to remove
 * listen FD from epoll set"). */
#ifndef CAIRN_GATEWAY_LISTENER_H
#define CAIRN_GATEWAY_LISTENER_H

#include <stddef.h>

struct MHD_Daemon;
struct gw_listener;

/* Binds and listens on @p address (an IPv4 or IPv6 literal) port @p port
 * (0: any free port); NULL with the reason in @p errstr. */
struct gw_listener *gw_listener_open(const char *address, long long port, int backlog, char *errstr,
                                     size_t errstr_size);

/* The port bound. */
int gw_listener_port(const struct gw_listener *l);

/* Accepts connections on a thread of its own and adds them to @p daemon
 * (started with MHD_USE_NO_LISTEN_SOCKET). At @p connection_limit open
 * connections it stops accepting: new ones wait in the backlog. */
void gw_listener_start(struct gw_listener *l, struct MHD_Daemon *daemon,
                       unsigned int connection_limit);

/* Stops accepting and closes the socket: new connections are refused; the
 * ones taken before are the daemon's. Idempotent. */
void gw_listener_close(struct gw_listener *l);

/* Closes, then frees. NULL is fine. */
void gw_listener_free(struct gw_listener *l);

#endif

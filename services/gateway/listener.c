/* Listening socket and accept thread (listener.h). */
#define _GNU_SOURCE
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/log.h"

/* How long the accept thread waits before looking again when the daemon is
 * at its connection limit, or the process out of descriptors. */
#define BUSY_WAIT_MS  10
#define NO_FD_WAIT_MS 100

struct gw_listener {
        int fd;
        int wake; /* eventfd: the thread stops when it is readable */
        int port;
        struct MHD_Daemon *daemon;
        unsigned int limit;
        pthread_t thread;
        bool started;
};

struct gw_listener *gw_listener_open(const char *address, long long port, int backlog, char *errstr,
                                     size_t errstr_size)
{
        struct sockaddr_storage ss;
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        socklen_t len;
        const int on = 1;

        memset(&ss, 0, sizeof(ss));
        if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
                sin->sin_family = AF_INET;
                sin->sin_port = htons((uint16_t)port);
                len = sizeof(*sin);
        } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons((uint16_t)port);
                len = sizeof(*sin6);
        } else {
                snprintf(errstr, errstr_size, "config: http.address: \"%s\" is not an IP address",
                         address);
                return NULL;
        }

        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                snprintf(errstr, errstr_size, "http: socket: %s", strerror(errno));
                return NULL;
        }
        /* a restart rebinds at once, past connections in TIME_WAIT */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (ss.ss_family == AF_INET6) /* an IPv6 address serves IPv6 only */
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
                snprintf(errstr, errstr_size, "http: cannot listen on %s port %lld: %s", address,
                         port, strerror(errno));
                close(fd);
                return NULL;
        }
        len = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &len);

        struct gw_listener *l = calloc(1, sizeof(*l));
        if (!l)
                abort();
        l->fd = fd;
        l->port = ntohs(ss.ss_family == AF_INET6 ? sin6->sin6_port : sin->sin_port);
        l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->wake < 0) {
                snprintf(errstr, errstr_size, "http: eventfd: %s", strerror(errno));
                close(fd);
                free(l);
                return NULL;
        }
        return l;
}

int gw_listener_port(const struct gw_listener *l)
{
        return l->port;
}

static bool at_limit(struct gw_listener *l)
{
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon,
                                                               MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

        return info && info->num_connections >= l->limit;
}

/* Waits @p ms or until told to stop; true when told to stop. */
static bool stop_within(struct gw_listener *l, int ms)
{
        struct pollfd p = { .fd = l->wake, .events = POLLIN };

        return poll(&p, 1, ms) > 0;
}

static void *accept_main(void *arg)
{
        struct gw_listener *l = arg;
        struct pollfd p[2] = { { .fd = l->fd, .events = POLLIN },
                               { .fd = l->wake, .events = POLLIN } };

        for (;;) {
                if (at_limit(l)) {
                        if (stop_within(l, BUSY_WAIT_MS))
                                break;
                        continue;
                }
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        cairn_log(ERROR, "HTTP", "accept: poll: %s", strerror(errno));
                        if (stop_within(l, NO_FD_WAIT_MS))
                                break;
                        continue;
                }
                if (p[1].revents)
                        break;
                if (!(p[0].revents & POLLIN))
                        continue;

                struct sockaddr_storage ss;
                socklen_t len = sizeof(ss);
                int c = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0) {
                        /* out of descriptors or memory: the connection waits in the backlog */
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                            errno == ENOMEM) {
                                cairn_log(WARN, "HTTP", "accept: %s", strerror(errno));
                                if (stop_within(l, NO_FD_WAIT_MS))
                                        break;
                        }
                        continue; /* EAGAIN, ECONNABORTED, EINTR: the next one */
                }
                /* MHD closes the socket when it refuses it (per-address limit) */
                MHD_add_connection(l->daemon, c, (struct sockaddr *)&ss, len);
        }
        return NULL;
}

void gw_listener_start(struct gw_listener *l, struct MHD_Daemon *daemon,
                       unsigned int connection_limit)
{
        l->daemon = daemon;
        l->limit = connection_limit;
        if (pthread_create(&l->thread, NULL, accept_main, l) != 0)
                abort();
        l->started = true;
}

void gw_listener_close(struct gw_listener *l)
{
        const uint64_t one = 1;

        if (l->started) {
                if (write(l->wake, &one, sizeof(one)) != sizeof(one))
                        abort(); /* an eventfd far from its maximum takes the write */
                pthread_join(l->thread, NULL);
                l->started = false;
        }
        if (l->fd >= 0) {
                close(l->fd);
                l->fd = -1;
        }
}

void gw_listener_free(struct gw_listener *l)
{
        if (!l)
                return;
        gw_listener_close(l);
        close(l->wake);
        free(l);
}

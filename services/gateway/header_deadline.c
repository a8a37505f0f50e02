/* A deadline for request headers. libmicrohttpd's connection timeout only
 * measures inactivity, so a client that trickles one byte now and then keeps
 * a connection (and its memory) forever. Here every connection carries the
 * time it started waiting for a request's headers: when it opened, or when
 * its previous request finished. A sweeper thread shuts down the socket of
 * any connection still waiting past the deadline; libmicrohttpd then sees the
 * connection end and cleans it up on its own thread.
 *
 * Threads: notify/headers_done/request_done run on MHD's event-loop threads,
 * the sweep on a thread of its own; one mutex guards the list. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "header_deadline.h"

struct watched {
        MHD_socket fd;
        bool waiting;     /* for a request's headers */
        int64_t since_us; /* when the wait began */
        struct watched *prev, *next;
};

struct gw_header_deadline {
        int64_t timeout_us;
        struct cairn_series *s_cut;
        pthread_mutex_t lock;
        struct watched *head;
        pthread_t thread;
        atomic_bool stop;
};

static void *sweeper_main(void *arg);

struct gw_header_deadline *gw_header_deadline_start(long long timeout_ms,
                                                    struct cairn_metrics *metrics)
{
        struct gw_header_deadline *hd = calloc(1, sizeof(*hd));

        if (!hd)
                abort();
        hd->timeout_us = timeout_ms * 1000;
        hd->s_cut = cairn_metric_series(
                cairn_metrics_counter(metrics, "cairn_gateway_header_timeouts_total",
                                      "Connections closed because a request's headers did not "
                                      "arrive within http.header_timeout_ms",
                                      NULL),
                NULL);
        pthread_mutex_init(&hd->lock, NULL);
        atomic_init(&hd->stop, false);
        pthread_create(&hd->thread, NULL, sweeper_main, hd);
        return hd;
}

/* After MHD_stop_daemon(): every connection has been closed by then. */
void gw_header_deadline_stop(struct gw_header_deadline *hd)
{
        if (!hd)
                return;
        atomic_store(&hd->stop, true);
        pthread_join(hd->thread, NULL);
        while (hd->head) {
                struct watched *w = hd->head;

                hd->head = w->next;
                free(w);
        }
        pthread_mutex_destroy(&hd->lock);
        free(hd);
}

void gw_header_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
        struct gw_header_deadline *hd = cls;
        struct watched *w;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

                w = calloc(1, sizeof(*w));
                if (!w || !ci) {
                        free(w); /* unwatched: only the inactivity timeout applies */
                        *socket_context = NULL;
                        return;
                }
                w->fd = ci->connect_fd;
                w->waiting = true;
                w->since_us = cairn_mono_us();
                pthread_mutex_lock(&hd->lock);
                w->next = hd->head;
                if (hd->head)
                        hd->head->prev = w;
                hd->head = w;
                pthread_mutex_unlock(&hd->lock);
                *socket_context = w;
                return;
        }
        /* MHD_CONNECTION_NOTIFY_CLOSED: before the socket is closed, so a
         * sweep holding the lock never shuts down a reused descriptor. */
        w = *socket_context;
        if (!w)
                return;
        pthread_mutex_lock(&hd->lock);
        if (w->prev)
                w->prev->next = w->next;
        else
                hd->head = w->next;
        if (w->next)
                w->next->prev = w->prev;
        pthread_mutex_unlock(&hd->lock);
        free(w);
        *socket_context = NULL;
}

static void mark(struct gw_header_deadline *hd, struct MHD_Connection *conn, bool waiting)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct watched *w = ci ? ci->socket_context : NULL;

        if (!w)
                return;
        pthread_mutex_lock(&hd->lock);
        w->waiting = waiting;
        w->since_us = cairn_mono_us();
        pthread_mutex_unlock(&hd->lock);
}

void gw_header_deadline_headers_done(struct gw_header_deadline *hd, struct MHD_Connection *conn)
{
        mark(hd, conn, false);
}

void gw_header_deadline_request_done(struct gw_header_deadline *hd, struct MHD_Connection *conn)
{
        mark(hd, conn, true);
}

/* Shuts down connections waiting since before @p now_us minus the timeout. */
static size_t sweep(struct gw_header_deadline *hd, int64_t now_us)
{
        size_t cut = 0;

        pthread_mutex_lock(&hd->lock);
        for (struct watched *w = hd->head; w; w = w->next) {
                if (!w->waiting || now_us - w->since_us < hd->timeout_us)
                        continue;
                shutdown(w->fd, SHUT_RDWR);
                w->waiting = false; /* once: MHD closes it on its next turn */
                cut++;
        }
        pthread_mutex_unlock(&hd->lock);
        if (cut) {
                cairn_series_add(hd->s_cut, (double)cut);
                cairn_log(DEBUG, "HTTP", "closed %zu connection(s) whose headers took over %lld ms",
                          cut, (long long)(hd->timeout_us / 1000));
        }
        return cut;
}

static void *sweeper_main(void *arg)
{
        struct gw_header_deadline *hd = arg;
        /* a tenth of the deadline, within 10..100 ms: late by that at most */
        useconds_t tick = (useconds_t)(hd->timeout_us / 10);

        if (tick < 10000)
                tick = 10000;
        if (tick > 100000)
                tick = 100000;
        while (!atomic_load(&hd->stop)) {
                sweep(hd, cairn_mono_us());
                usleep(tick);
        }
        return NULL;
}

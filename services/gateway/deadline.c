/* Deadlines against slow clients. libmicrohttpd's connection timeout only
 * measures inactivity, so a client that trickles one byte now and then keeps
 * a connection (and its memory) forever. Here every connection carries a
 * clock: while it waits for a request's headers (from connecting, or from
 * its previous answer) they must arrive within http.header_timeout_ms; while
 * it sends a body, after a grace of http.body_grace_ms, it must have sent at
 * least http.body_min_rate bytes per second on average. A sweeper thread
 * shuts down the socket of any connection past its deadline; libmicrohttpd
 * then sees the connection end and cleans it up on its own thread.
 *
 * Threads: notify and the state changes run on MHD's event-loop threads, the
 * sweep on a thread of its own; one mutex guards the list, the body's byte
 * count is atomic so reading a body takes no lock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "deadline.h"

enum watch_state {
        W_HEADERS, /* waiting for a request's headers */
        W_BUSY,    /* the request is being handled or answered: no deadline */
        W_BODY,    /* reading the request's body */
        W_CUT,     /* shut down: MHD closes it on its next turn */
};

struct gw_watch {
        MHD_socket fd;
        enum watch_state state;
        int64_t since_us;   /* when the state began */
        atomic_size_t body; /* body bytes since W_BODY began */
        struct gw_watch *prev, *next;
};

struct gw_deadline {
        struct gw_deadline_limits lim;
        struct cairn_series *s_header_cut, *s_body_cut;
        pthread_mutex_t lock;
        struct gw_watch *head;
        pthread_t thread;
        atomic_bool stop;
};

static void *sweeper_main(void *arg);

struct gw_deadline *gw_deadline_start(const struct gw_deadline_limits *limits,
                                      struct cairn_metrics *metrics)
{
        struct gw_deadline *dl = calloc(1, sizeof(*dl));

        if (!dl)
                abort();
        dl->lim = *limits;
        dl->s_header_cut = cairn_metric_series(
                cairn_metrics_counter(metrics, "cairn_gateway_header_timeouts_total",
                                      "Connections closed because a request's headers did not "
                                      "arrive within http.header_timeout_ms",
                                      NULL),
                NULL);
        dl->s_body_cut = cairn_metric_series(
                cairn_metrics_counter(metrics, "cairn_gateway_body_timeouts_total",
                                      "Connections closed because a request's body arrived "
                                      "slower than http.body_min_rate after http.body_grace_ms",
                                      NULL),
                NULL);
        pthread_mutex_init(&dl->lock, NULL);
        atomic_init(&dl->stop, false);
        pthread_create(&dl->thread, NULL, sweeper_main, dl);
        return dl;
}

/* After MHD_stop_daemon(): every connection has been closed by then. */
void gw_deadline_stop(struct gw_deadline *dl)
{
        if (!dl)
                return;
        atomic_store(&dl->stop, true);
        pthread_join(dl->thread, NULL);
        while (dl->head) {
                struct gw_watch *w = dl->head;

                dl->head = w->next;
                free(w);
        }
        pthread_mutex_destroy(&dl->lock);
        free(dl);
}

void gw_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
        struct gw_deadline *dl = cls;
        struct gw_watch *w;

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
                w->state = W_HEADERS;
                w->since_us = cairn_mono_us();
                atomic_init(&w->body, 0);
                pthread_mutex_lock(&dl->lock);
                w->next = dl->head;
                if (dl->head)
                        dl->head->prev = w;
                dl->head = w;
                pthread_mutex_unlock(&dl->lock);
                *socket_context = w;
                return;
        }
        /* MHD_CONNECTION_NOTIFY_CLOSED: before the socket is closed, so a
         * sweep holding the lock never shuts down a reused descriptor. */
        w = *socket_context;
        if (!w)
                return;
        pthread_mutex_lock(&dl->lock);
        if (w->prev)
                w->prev->next = w->next;
        else
                dl->head = w->next;
        if (w->next)
                w->next->prev = w->prev;
        pthread_mutex_unlock(&dl->lock);
        free(w);
        *socket_context = NULL;
}

static void set_state(struct gw_deadline *dl, struct gw_watch *w, enum watch_state st)
{
        if (!w)
                return;
        pthread_mutex_lock(&dl->lock);
        if (w->state != W_CUT) {
                w->state = st;
                w->since_us = cairn_mono_us();
                atomic_store_explicit(&w->body, 0, memory_order_relaxed);
        }
        pthread_mutex_unlock(&dl->lock);
}

struct gw_watch *gw_deadline_headers_done(struct gw_deadline *dl, struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct gw_watch *w = ci ? ci->socket_context : NULL;

        set_state(dl, w, W_BUSY);
        return w;
}

void gw_deadline_body_begin(struct gw_deadline *dl, struct gw_watch *w)
{
        set_state(dl, w, W_BODY);
}

void gw_deadline_body_add(struct gw_watch *w, size_t n)
{
        if (w)
                atomic_fetch_add_explicit(&w->body, n, memory_order_relaxed);
}

void gw_deadline_body_done(struct gw_deadline *dl, struct gw_watch *w)
{
        set_state(dl, w, W_BUSY);
}

void gw_deadline_request_done(struct gw_deadline *dl, struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        set_state(dl, ci ? ci->socket_context : NULL, W_HEADERS);
}

/* True when @p w is past its deadline at @p now_us. */
static bool overdue(const struct gw_deadline *dl, struct gw_watch *w, int64_t now_us)
{
        int64_t waited_us = now_us - w->since_us;

        if (w->state == W_HEADERS)
                return waited_us >= dl->lim.header_timeout_ms * 1000;
        if (w->state != W_BODY)
                return false;
        /* the time the bytes so far may have taken at the minimum rate */
        size_t got = atomic_load_explicit(&w->body, memory_order_relaxed);
        int64_t allowed_us = dl->lim.body_grace_ms * 1000 +
                             (int64_t)((double)got * 1e6 / (double)dl->lim.body_min_rate);
        return waited_us >= allowed_us;
}

/* Shuts down connections past their deadline at @p now_us. */
static void sweep(struct gw_deadline *dl, int64_t now_us)
{
        size_t headers = 0, bodies = 0;

        pthread_mutex_lock(&dl->lock);
        for (struct gw_watch *w = dl->head; w; w = w->next) {
                if (!overdue(dl, w, now_us))
                        continue;
                /* counted before the client can see the close */
                if (w->state == W_HEADERS) {
                        headers++;
                        cairn_series_inc(dl->s_header_cut);
                } else {
                        bodies++;
                        cairn_series_inc(dl->s_body_cut);
                }
                shutdown(w->fd, SHUT_RDWR);
                w->state = W_CUT; /* once */
        }
        pthread_mutex_unlock(&dl->lock);
        if (headers)
                cairn_log(DEBUG, "HTTP", "closed %zu connection(s) whose headers took over %lld ms",
                          headers, dl->lim.header_timeout_ms);
        if (bodies)
                cairn_log(DEBUG, "HTTP",
                          "closed %zu connection(s) whose body came slower than %lld bytes/s",
                          bodies, dl->lim.body_min_rate);
}

static void *sweeper_main(void *arg)
{
        struct gw_deadline *dl = arg;
        long long shortest = dl->lim.header_timeout_ms < dl->lim.body_grace_ms
                                     ? dl->lim.header_timeout_ms
                                     : dl->lim.body_grace_ms;
        /* a tenth of the shorter deadline, within 10..100 ms: late by that at most */
        useconds_t tick = (useconds_t)(shortest * 100);

        if (tick < 10000)
                tick = 10000;
        if (tick > 100000)
                tick = 100000;
        while (!atomic_load(&dl->stop)) {
                sweep(dl, cairn_mono_us());
                usleep(tick);
        }
        return NULL;
}

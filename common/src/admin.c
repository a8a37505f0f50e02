/* The admin HTTP server: /healthz, /readyz, /metrics and /loglevel on libmicrohttpd,
 * served by one internal epoll thread.
 *
 * Threads: request handlers and readiness checks run on the daemon's thread;
 * cairn_admin_add_check() may be called from any thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cairn/admin.h"
#include "cairn/log.h"
#include "cairn/metrics.h"

#define ADMIN_CONNECTION_LIMIT 64
#define ADMIN_TIMEOUT_SECS     10
#define ADMIN_WHY_SIZE         256

#define TEXT_PLAIN      "text/plain; charset=utf-8"
#define PROMETHEUS_TEXT "text/plain; version=0.0.4; charset=utf-8"

struct check {
        char *name;
        cairn_ready_fn fn;
        void *opaque;
};

struct cairn_admin {
        struct MHD_Daemon *daemon;
        struct cairn_metrics *metrics; /* borrowed */
        int port;

        pthread_mutex_t lock; /* the checks */
        struct check *checks;
        size_t nchecks;
};

typedef enum MHD_Result (*route_fn)(struct cairn_admin *admin, struct MHD_Connection *conn);

struct route {
        const char *path;
        route_fn serve;
        bool writable; /* also takes PUT/POST; serve checks the method */
};

/* Marks a request whose headers we have seen; its address is all that
 * matters, so nothing is allocated per request. */
static char request_seen;

/* ---- replies ---- */

/* Queues a reply with the headers every answer carries. Takes ownership of
 * @p body when @p mode is MHD_RESPMEM_MUST_FREE, even on failure; otherwise
 * @p body is static. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
                             const char *content_type, const char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(len, (void *)body, mode);
        if (!resp) {
                if (mode == MHD_RESPMEM_MUST_FREE)
                        free((void *)body);
                return MHD_NO;
        }
        ret = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (ret == MHD_YES)
                ret = MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (ret == MHD_YES && status == MHD_HTTP_METHOD_NOT_ALLOWED)
                ret = MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        if (ret == MHD_YES)
                ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
                                  const char *text)
{
        return reply(conn, status, TEXT_PLAIN, text, strlen(text), MHD_RESPMEM_PERSISTENT);
}

/* ---- routes ---- */

static enum MHD_Result healthz_serve(struct cairn_admin *admin, struct MHD_Connection *conn)
{
        (void)admin;
        return reply_text(conn, MHD_HTTP_OK, "ok\n");
}

/* Keeps a check's reason on its one line of the body. */
static void why_clean(char *why)
{
        for (char *p = why; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
}

static enum MHD_Result readyz_serve(struct cairn_admin *admin, struct MHD_Connection *conn)
{
        char *body = NULL;
        size_t len = 0;
        bool ready = true;
        FILE *fp = open_memstream(&body, &len);

        if (!fp)
                return MHD_NO;

        /* Checks run under the lock: they are few, quick, and this keeps
         * cairn_admin_add_check() from moving the array under our feet. */
        pthread_mutex_lock(&admin->lock);
        if (admin->nchecks == 0) {
                /* between the admin port opening and the service adding its
                 * first check: nothing says it is ready yet */
                ready = false;
                fprintf(fp, "starting: no readiness check registered yet\n");
        }
        for (size_t i = 0; i < admin->nchecks; i++) {
                const struct check *c = &admin->checks[i];
                char why[ADMIN_WHY_SIZE] = "";

                if (c->fn(c->opaque, why, sizeof(why))) {
                        fprintf(fp, "%s: ok\n", c->name);
                        continue;
                }
                ready = false;
                why[sizeof(why) - 1] = '\0';
                why_clean(why);
                fprintf(fp, "%s: %s\n", c->name, why[0] ? why : "not ready");
        }
        pthread_mutex_unlock(&admin->lock);

        if (fclose(fp) != 0) {
                free(body);
                return MHD_NO;
        }
        return reply(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_PLAIN, body,
                     len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result metrics_serve(struct cairn_admin *admin, struct MHD_Connection *conn)
{
        size_t len = 0;
        char *text = cairn_metrics_render(admin->metrics, &len);

        return reply(conn, MHD_HTTP_OK, PROMETHEUS_TEXT, text, len, MHD_RESPMEM_MUST_FREE);
}

/* GET answers the log level; PUT or POST /loglevel?level=debug sets it
 * (debug, info, warn, error) and answers the new one. */
static enum MHD_Result loglevel_serve(struct cairn_admin *admin, struct MHD_Connection *conn)
{
        static const char *const answers[] = { "debug\n", "info\n", "warn\n", "error\n" };
        const char *want = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "level");
        int level;

        (void)admin;
        if (want) {
                level = cairn_log_level_parse(want);
                if (level < 0)
                        return reply_text(conn, MHD_HTTP_BAD_REQUEST,
                                          "level must be one of debug, info, warn, error\n");
                if ((enum cairn_log_level)level != cairn_log_get_level()) {
                        cairn_log_set_level((enum cairn_log_level)level);
                        cairn_log(WARN, "ADMIN", "log level set to %s through the admin endpoint",
                                  cairn_log_level_str((enum cairn_log_level)level));
                }
        }
        level = (int)cairn_log_get_level();
        return reply_text(conn, MHD_HTTP_OK, answers[level]);
}

static const struct route routes[] = { { "/healthz", healthz_serve, false },
                                       { "/readyz", readyz_serve, false },
                                       { "/metrics", metrics_serve, false },
                                       { "/loglevel", loglevel_serve, true },
                                       { NULL, NULL, false } };

/* MHD calls this once when the headers are in, then once per chunk of body,
 * then once more with nothing left to upload: only then do we answer.
 * Answering on the first call makes MHD close the connection. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct cairn_admin *admin = cls;
        const struct route *r;

        (void)version;
        (void)upload_data;
        if (*con_cls == NULL) {
                *con_cls = &request_seen;
                return MHD_YES;
        }
        if (*upload_data_size != 0) {
                /* No route takes a body: drop it. */
                *upload_data_size = 0;
                return MHD_YES;
        }

        for (r = routes; r->path; r++)
                if (strcmp(url, r->path) == 0)
                        break;
        if (!r->path)
                return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
                bool write = strcmp(method, MHD_HTTP_METHOD_PUT) == 0 ||
                             strcmp(method, MHD_HTTP_METHOD_POST) == 0;

                if (!r->writable || !write)
                        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                          "method not allowed\n");
        } else if (r->writable &&
                   MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "level")) {
                /* A GET never changes anything. */
                return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "use PUT or POST to change the level\n");
        }
        return r->serve(admin, conn);
}

/* ---- lifecycle ---- */

/* Fills @p ss from @p address and @p port; false when @p address is neither
 * IPv4 nor IPv6. */
static bool sockaddr_parse(const char *address, int port, struct sockaddr_storage *ss,
                           socklen_t *sslen)
{
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
                sin->sin_family = AF_INET;
                sin->sin_port = htons((uint16_t)port);
                *sslen = sizeof(*sin);
                return true;
        }
        if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons((uint16_t)port);
                *sslen = sizeof(*sin6);
                return true;
        }
        return false;
}

/* MHD does not say why it failed to start. The usual reason is the bind, so
 * try it again on a socket of our own for the errno; 0 when it works. */
static int bind_errno(const struct sockaddr_storage *ss, socklen_t sslen)
{
        int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1, err = 0;

        if (fd < 0)
                return errno;
        /* As MHD does, so that TIME_WAIT alone is not reported. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *)ss, sslen) != 0)
                err = errno;
        close(fd);
        return err;
}

struct cairn_admin *cairn_admin_start(const char *address, int port, struct cairn_metrics *metrics,
                                      char *errstr, size_t errstr_size)
{
        struct cairn_admin *admin;
        struct sockaddr_storage ss;
        socklen_t sslen;
        unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD;
        const union MHD_DaemonInfo *info;

        if (port < 0 || port > 65535) {
                snprintf(errstr, errstr_size, "admin: port %d is out of range", port);
                return NULL;
        }
        if (!sockaddr_parse(address, port, &ss, &sslen)) {
                snprintf(errstr, errstr_size, "admin: \"%s\" is not an IPv4 or IPv6 address",
                         address);
                return NULL;
        }
        /* "::" takes IPv4 too, as a plain bind() to it would. */
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_DUAL_STACK;

        admin = calloc(1, sizeof(*admin));
        if (!admin)
                abort();
        admin->metrics = metrics;
        pthread_mutex_init(&admin->lock, NULL);

        admin->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, admin,
                                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                         MHD_OPTION_CONNECTION_LIMIT,
                                         (unsigned int)ADMIN_CONNECTION_LIMIT,
                                         MHD_OPTION_CONNECTION_TIMEOUT,
                                         (unsigned int)ADMIN_TIMEOUT_SECS, MHD_OPTION_END);
        if (!admin->daemon) {
                int err = bind_errno(&ss, sslen);

                if (err)
                        snprintf(errstr, errstr_size, "admin: cannot listen on %s port %d: %s",
                                 address, port, strerror(err));
                else
                        snprintf(errstr, errstr_size,
                                 "admin: cannot start the HTTP server on %s port %d", address,
                                 port);
                pthread_mutex_destroy(&admin->lock);
                free(admin);
                return NULL;
        }

        /* The real port, when 0 asked for any. */
        info = MHD_get_daemon_info(admin->daemon, MHD_DAEMON_INFO_BIND_PORT);
        admin->port = info ? (int)info->port : port;
        return admin;
}

void cairn_admin_add_check(struct cairn_admin *admin, const char *name, cairn_ready_fn fn,
                           void *opaque)
{
        struct check *checks;
        char *copy = strdup(name);

        if (!copy)
                abort();
        pthread_mutex_lock(&admin->lock);
        checks = realloc(admin->checks, (admin->nchecks + 1) * sizeof(*checks));
        if (!checks)
                abort();
        checks[admin->nchecks] = (struct check){ copy, fn, opaque };
        admin->checks = checks;
        admin->nchecks++;
        pthread_mutex_unlock(&admin->lock);
}

int cairn_admin_port(const struct cairn_admin *admin)
{
        return admin->port;
}

void cairn_admin_stop(struct cairn_admin *admin)
{
        if (!admin)
                return;
        /* Joins the daemon's thread and closes its sockets. */
        MHD_stop_daemon(admin->daemon);
        for (size_t i = 0; i < admin->nchecks; i++)
                free(admin->checks[i].name);
        free(admin->checks);
        pthread_mutex_destroy(&admin->lock);
        free(admin);
}

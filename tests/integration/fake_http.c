/* The tests' fake HTTP servers' common part: libmicrohttpd on 127.0.0.1,
 * bodies gathered whole, answers (fake_http.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "fake_http.h"

struct fake_http {
        struct MHD_Daemon *d;
        int port;
        size_t body_max;
        fake_http_handler handler;
        void *opaque;
        pthread_mutex_t lock;
        unsigned connections;
};

/* A request's body as it arrives. */
struct upload {
        char *buf;
        size_t len;
        bool too_big;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
        struct fake_http *s = cls;
        struct upload *up = *con_cls;
        struct fake_http_request req;

        (void)version;
        if (!up) {
                up = calloc(1, sizeof(*up));
                if (!up)
                        return MHD_NO;
                *con_cls = up;
                return MHD_YES;
        }
        if (*upload_size) {
                if (up->too_big || up->len + *upload_size > s->body_max) {
                        up->too_big = true;
                        free(up->buf);
                        up->buf = NULL;
                        up->len = 0;
                } else {
                        char *p = realloc(up->buf, up->len + *upload_size + 1);

                        if (!p)
                                return MHD_NO;
                        up->buf = p;
                        memcpy(up->buf + up->len, upload_data, *upload_size);
                        up->len += *upload_size;
                        up->buf[up->len] = '\0';
                }
                *upload_size = 0;
                return MHD_YES;
        }
        req = (struct fake_http_request){ c,       method,     url, up->buf ? up->buf : "",
                                          up->len, up->too_big };
        return s->handler(s->opaque, &req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct upload *up = *con_cls;

        (void)cls;
        (void)c;
        (void)toe;
        if (up) {
                free(up->buf);
                free(up);
        }
        *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
        struct fake_http *s = cls;

        (void)c;
        (void)socket_context;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                pthread_mutex_lock(&s->lock);
                s->connections++;
                pthread_mutex_unlock(&s->lock);
        }
}

struct fake_http *fake_http_start(int port, size_t body_max, fake_http_handler handler,
                                  void *opaque, const char *what)
{
        struct fake_http *s = calloc(1, sizeof(*s));
        const union MHD_DaemonInfo *info;
        struct sockaddr_in sa = { .sin_family = AF_INET };

        ck_assert_ptr_nonnull(s);
        s->body_max = body_max;
        s->handler = handler;
        s->opaque = opaque;
        pthread_mutex_init(&s->lock, NULL);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t)port);
        s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                        MHD_USE_ERROR_LOG,
                                0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
        ck_assert_msg(s->d != NULL, "%s did not start", what);
        info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
        ck_assert_ptr_nonnull(info);
        s->port = info->port;
        return s;
}

void fake_http_stop(struct fake_http *s)
{
        if (!s)
                return;
        MHD_stop_daemon(s->d);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

int fake_http_port(const struct fake_http *s)
{
        return s->port;
}

unsigned fake_http_connections(struct fake_http *s)
{
        unsigned n;

        pthread_mutex_lock(&s->lock);
        n = s->connections;
        pthread_mutex_unlock(&s->lock);
        return n;
}

enum MHD_Result fake_http_respond(struct MHD_Connection *c, int status, const char *content_type,
                                  const void *body, size_t len, const char *retry_after)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                                 MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (content_type)
                MHD_add_response_header(r, "Content-Type", content_type);
        if (retry_after)
                MHD_add_response_header(r, "Retry-After", retry_after);
        ret = MHD_queue_response(c, (unsigned)status, r);
        MHD_destroy_response(r);
        return ret;
}

enum MHD_Result fake_http_respond_json(struct MHD_Connection *c, int status, const char *body,
                                       const char *retry_after)
{
        return fake_http_respond(c, status, "application/json", body, strlen(body), retry_after);
}

bool fake_http_client_gone(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        char b;

        if (!ci)
                return false;
        return recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

bool fake_http_wait(struct MHD_Connection *c, int ms)
{
        for (int waited = 0; waited < ms; waited += 10) {
                int step = ms - waited < 10 ? ms - waited : 10;
                struct timespec ts = { 0, step * 1000000L };

                if (fake_http_client_gone(c))
                        return false;
                nanosleep(&ts, NULL);
        }
        return true;
}

/* ---- the fakes' faults ---- */

char *fake_http_strdup(const char *s)
{
        return s ? strdup(s) : NULL;
}

void fake_http_faults_free(struct fake_http_faults *fs)
{
        free(fs->fail_message);
        free(fs->retry_after);
        free(fs->api_key);
        memset(fs, 0, sizeof(*fs));
}

void fake_http_faults_set(struct fake_http_faults *fs, const char *fail_message,
                          const char *retry_after, const char *api_key)
{
        fake_http_faults_free(fs);
        fs->fail_message = fake_http_strdup(fail_message);
        fs->retry_after = fake_http_strdup(retry_after);
        fs->api_key = fake_http_strdup(api_key);
}

void fake_http_faults_copy(const struct fake_http_faults *fs, struct fake_http_fault_copy *out)
{
        snprintf(out->error, sizeof(out->error), "%s",
                 fs->fail_message ? fs->fail_message : "fake failure");
        snprintf(out->retry_after, sizeof(out->retry_after), "%s",
                 fs->retry_after ? fs->retry_after : "");
        snprintf(out->key, sizeof(out->key), "%s", fs->api_key ? fs->api_key : "");
}

/* Unit tests for the admin HTTP server, spoken to over loopback by a small
 * blocking HTTP/1.1 client of our own. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cairn/admin.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "../unit.h"

/* ---- a tiny HTTP/1.1 client ---- */

struct http_reply {
        int status;
        char headers[4096]; /* the raw header block, CRLF-separated */
        char body[65536];
        size_t body_len;
};

static int http_connect_to(int family, const char *address, int port)
{
        struct sockaddr_storage ss;
        socklen_t sslen;
        struct timeval tv = { 5, 0 };
        int fd;

        memset(&ss, 0, sizeof(ss));
        if (family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

                sin->sin_family = AF_INET;
                sin->sin_port = htons((uint16_t)port);
                inet_pton(AF_INET, address, &sin->sin_addr);
                sslen = sizeof(*sin);
        } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons((uint16_t)port);
                inet_pton(AF_INET6, address, &sin6->sin6_addr);
                sslen = sizeof(*sin6);
        }
        fd = socket(family, SOCK_STREAM, 0);
        if (fd < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static int http_connect(int port)
{
        int fd = http_connect_to(AF_INET, "127.0.0.1", port);

        ck_assert_int_ge(fd, 0);
        return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

                ck_assert_int_gt(n, 0);
                data += n;
                len -= (size_t)n;
        }
}

/* The value of header @p name in @p r, copied to @p out; false when absent. */
static bool header_get(const struct http_reply *r, const char *name, char *out, size_t size)
{
        size_t nlen = strlen(name);

        for (const char *line = r->headers; line && *line;) {
                const char *eol = strstr(line, "\r\n");
                size_t llen = eol ? (size_t)(eol - line) : strlen(line);

                if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
                        const char *v = line + nlen + 1;

                        while (*v == ' ')
                                v++;
                        snprintf(out, size, "%.*s", (int)(llen - (size_t)(v - line)), v);
                        return true;
                }
                line = eol ? eol + 2 : NULL;
        }
        return false;
}

/* Reads one response from @p fd. Bodies are framed by Content-Length (all
 * MHD sends for buffers); HEAD replies have none. */
static void http_read(int fd, bool head, struct http_reply *r)
{
        char buf[sizeof(r->headers) + sizeof(r->body)];
        size_t have = 0, hlen, want;
        char *end = NULL, value[64];

        memset(r, 0, sizeof(*r));
        while (!end) {
                ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

                ck_assert_msg(n > 0, "connection closed or timed out before the headers");
                have += (size_t)n;
                buf[have] = '\0';
                end = strstr(buf, "\r\n\r\n");
        }
        hlen = (size_t)(end - buf);
        ck_assert_uint_lt(hlen, sizeof(r->headers));
        ck_assert_int_eq(sscanf(buf, "HTTP/1.1 %d ", &r->status), 1);
        memcpy(r->headers, buf, hlen);
        r->headers[hlen] = '\0';

        want = 0;
        if (!head && header_get(r, "Content-Length", value, sizeof(value)))
                want = strtoul(value, NULL, 10);
        ck_assert_uint_lt(want, sizeof(r->body));
        have -= hlen + 4;
        memmove(buf, end + 4, have);
        while (have < want) {
                ssize_t n = recv(fd, buf + have, want - have, 0);

                ck_assert_msg(n > 0, "connection closed or timed out in the body");
                have += (size_t)n;
        }
        ck_assert_uint_eq(have, want);
        memcpy(r->body, buf, want);
        r->body[want] = '\0';
        r->body_len = want;
}

/* Sends @p method @p path on @p fd (with @p body when not NULL) and reads
 * the reply. */
static void http_exchange(int fd, const char *method, const char *path, const char *body,
                          bool keep_alive, struct http_reply *r)
{
        char req[1024];
        int n;

        n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: %s\r\n",
                     method, path, keep_alive ? "keep-alive" : "close");
        if (body)
                n += snprintf(req + n, sizeof(req) - (size_t)n,
                              "Content-Type: text/plain\r\nContent-Length: %zu\r\n", strlen(body));
        n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", body ? body : "");
        ck_assert_int_lt(n, (int)sizeof(req));
        send_all(fd, req, (size_t)n);
        http_read(fd, strcmp(method, "HEAD") == 0, r);
}

static void http_request(int port, const char *method, const char *path, const char *body,
                         struct http_reply *r)
{
        int fd = http_connect(port);

        http_exchange(fd, method, path, body, false, r);
        close(fd);
}

static void assert_header(const struct http_reply *r, const char *name, const char *want)
{
        char got[256];

        ck_assert_msg(header_get(r, name, got, sizeof(got)), "no %s header in:\n%s", name,
                      r->headers);
        ck_assert_str_eq(got, want);
}

/* ---- fixtures ---- */

static struct cairn_admin *admin_start(struct cairn_metrics *reg)
{
        char errstr[256] = "";
        struct cairn_admin *admin = cairn_admin_start("127.0.0.1", 0, reg, errstr, sizeof(errstr));

        ck_assert_msg(admin != NULL, "start failed: %s", errstr);
        ck_assert_int_gt(cairn_admin_port(admin), 0);
        return admin;
}

static int fd_count(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        ck_assert_ptr_nonnull(d);
        for (e = readdir(d); e; e = readdir(d))
                n++;
        closedir(d);
        return n;
}

struct verdict {
        bool ready;
        const char *why;
        int calls;
};

static bool check_run(void *opaque, char *why, size_t why_size)
{
        struct verdict *v = opaque;

        v->calls++;
        if (!v->ready && v->why)
                snprintf(why, why_size, "%s", v->why);
        return v->ready;
}

/* ---- cairn_admin_start ---- */

START_TEST(test_cairn_admin_start_healthz_ok)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct http_reply r;

        http_request(cairn_admin_port(admin), "GET", "/healthz", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "ok\n");
        assert_header(&r, "Content-Type", "text/plain; charset=utf-8");
        assert_header(&r, "Cache-Control", "no-store");
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_healthz_head)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct http_reply r;

        http_request(cairn_admin_port(admin), "HEAD", "/healthz", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_eq(r.body_len, 0);
        assert_header(&r, "Content-Length", "3");
        assert_header(&r, "Cache-Control", "no-store");
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_healthz_query_ignored)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct http_reply r;

        http_request(cairn_admin_port(admin), "GET", "/healthz?verbose=1", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "ok\n");
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_metrics_exposition)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin;
        struct http_reply r;

        cairn_series_set(cairn_metric_series(cairn_metrics_gauge(reg, "up", "Up", NULL), NULL), 1);
        cairn_metric_inc_l(cairn_metrics_counter(reg, "hits_total", "Hits",
                                                 (const char *[]){ "path", NULL }),
                           (const char *[]){ "/x" });
        admin = admin_start(reg);
        http_request(cairn_admin_port(admin), "GET", "/metrics", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        assert_header(&r, "Cache-Control", "no-store");
        ck_assert_str_eq(r.body, "# HELP up Up\n"
                                 "# TYPE up gauge\n"
                                 "up 1\n"
                                 "# HELP hits_total Hits\n"
                                 "# TYPE hits_total counter\n"
                                 "hits_total{path=\"/x\"} 1\n");

        /* Updates after start show on the next scrape. */
        cairn_metric_inc_l(cairn_metrics_counter(reg, "hits_total", "Hits",
                                                 (const char *[]){ "path", NULL }),
                           (const char *[]){ "/x" });
        http_request(cairn_admin_port(admin), "GET", "/metrics", NULL, &r);
        ck_assert_ptr_nonnull(strstr(r.body, "\nhits_total{path=\"/x\"} 2\n"));
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_unknown_path_404)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        const char *paths[] = { "/", "/nope", "/healthz/", "/metricsx", "/HEALTHZ" };
        struct http_reply r;

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                http_request(cairn_admin_port(admin), "GET", paths[i], NULL, &r);
                ck_assert_int_eq(r.status, 404);
                assert_header(&r, "Cache-Control", "no-store");
        }
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_post_405)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct http_reply r;

        http_request(cairn_admin_port(admin), "POST", "/healthz", "hello=world", &r);
        ck_assert_int_eq(r.status, 405);
        assert_header(&r, "Allow", "GET, HEAD");
        assert_header(&r, "Cache-Control", "no-store");

        http_request(cairn_admin_port(admin), "DELETE", "/metrics", NULL, &r);
        ck_assert_int_eq(r.status, 405);
        assert_header(&r, "Allow", "GET, HEAD");

        http_request(cairn_admin_port(admin), "PUT", "/readyz", "", &r);
        ck_assert_int_eq(r.status, 405);
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_loglevel)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        int port = cairn_admin_port(admin);
        FILE *devnull = fopen("/dev/null", "w");
        struct http_reply r;

        cairn_log_set_stream(devnull);
        cairn_log_set_level(CAIRN_LOG_INFO);
        http_request(port, "GET", "/loglevel", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "info\n");

        http_request(port, "PUT", "/loglevel?level=debug", "", &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "debug\n");
        ck_assert_int_eq(cairn_log_get_level(), CAIRN_LOG_DEBUG);

        http_request(port, "POST", "/loglevel?level=WARN", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "warn\n");
        ck_assert_int_eq(cairn_log_get_level(), CAIRN_LOG_WARN);

        /* a bad level changes nothing */
        http_request(port, "PUT", "/loglevel?level=verbose", NULL, &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_ptr_nonnull(strstr(r.body, "debug, info, warn, error"));
        ck_assert_int_eq(cairn_log_get_level(), CAIRN_LOG_WARN);

        /* a GET never changes it, nor do other methods */
        http_request(port, "GET", "/loglevel?level=debug", NULL, &r);
        ck_assert_int_eq(r.status, 405);
        http_request(port, "DELETE", "/loglevel", NULL, &r);
        ck_assert_int_eq(r.status, 405);
        ck_assert_int_eq(cairn_log_get_level(), CAIRN_LOG_WARN);

        /* PUT without a level answers the current one */
        http_request(port, "PUT", "/loglevel", "", &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "warn\n");

        cairn_log_set_level(CAIRN_LOG_INFO);
        cairn_log_set_stream(NULL);
        fclose(devnull);
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_keep_alive)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct http_reply r;
        int fd = http_connect(cairn_admin_port(admin));

        /* Several requests on one connection: none makes the server hang up,
         * including one with a body it ignores. */
        for (int i = 0; i < 3; i++) {
                http_exchange(fd, "GET", "/healthz", NULL, true, &r);
                ck_assert_int_eq(r.status, 200);
                ck_assert_str_eq(r.body, "ok\n");
                http_exchange(fd, "POST", "/metrics", "x=1", true, &r);
                ck_assert_int_eq(r.status, 405);
                http_exchange(fd, "GET", "/metrics", NULL, true, &r);
                ck_assert_int_eq(r.status, 200);
        }
        close(fd);
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_bad_address)
{
        char errstr[256] = "";

        ck_assert_ptr_null(cairn_admin_start("localhost", 0, NULL, errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "\"localhost\""));
        errstr[0] = '\0';
        ck_assert_ptr_null(cairn_admin_start("127.0.0.1", 70000, NULL, errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "70000"));
}
END_TEST

START_TEST(test_cairn_admin_start_port_in_use)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        char errstr[256] = "";
        int before = fd_count();

        ck_assert_ptr_null(cairn_admin_start("127.0.0.1", cairn_admin_port(admin), reg, errstr,
                                             sizeof(errstr)));
        ck_assert_msg(strstr(errstr, strerror(EADDRINUSE)) != NULL, "errstr: %s", errstr);
        ck_assert_int_eq(fd_count(), before);
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_start_ipv6)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        char errstr[256] = "";
        struct cairn_admin *admin = cairn_admin_start("::1", 0, reg, errstr, sizeof(errstr));
        struct http_reply r;
        int fd;

        if (!admin) {
                printf("note: no IPv6 loopback (%s); skipped\n", errstr);
                cairn_metrics_free(reg);
                return;
        }
        ck_assert_int_gt(cairn_admin_port(admin), 0);
        fd = http_connect_to(AF_INET6, "::1", cairn_admin_port(admin));
        ck_assert_int_ge(fd, 0);
        http_exchange(fd, "GET", "/healthz", NULL, false, &r);
        close(fd);
        ck_assert_int_eq(r.status, 200);
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_admin_add_check ---- */

START_TEST(test_cairn_admin_add_check_none_ready)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct http_reply r;

        http_request(cairn_admin_port(admin), "GET", "/readyz", NULL, &r);
        /* a service that has not added its checks yet is not ready */
        ck_assert_int_eq(r.status, 503);
        ck_assert_str_eq(r.body, "starting: no readiness check registered yet\n");
        assert_header(&r, "Cache-Control", "no-store");
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_add_check_all_pass)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct verdict db = { true, NULL, 0 }, broker = { true, NULL, 0 };
        struct http_reply r;

        cairn_admin_add_check(admin, "db", check_run, &db);
        cairn_admin_add_check(admin, "broker", check_run, &broker);
        http_request(cairn_admin_port(admin), "GET", "/readyz", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "db: ok\nbroker: ok\n");
        assert_header(&r, "Content-Type", "text/plain; charset=utf-8");
        cairn_admin_stop(admin);
        /* The server is gone: reading the counts races with nothing. */
        ck_assert_int_eq(db.calls, 1);
        ck_assert_int_eq(broker.calls, 1);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_add_check_failing_503)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct verdict db = { true, NULL, 0 };
        struct verdict broker = { false, "no leader for partition 0", 0 };
        struct verdict cache = { true, NULL, 0 };
        struct http_reply r;

        cairn_admin_add_check(admin, "db", check_run, &db);
        cairn_admin_add_check(admin, "broker", check_run, &broker);
        cairn_admin_add_check(admin, "cache", check_run, &cache);
        http_request(cairn_admin_port(admin), "GET", "/readyz", NULL, &r);
        ck_assert_int_eq(r.status, 503);
        ck_assert_str_eq(r.body, "db: ok\nbroker: no leader for partition 0\ncache: ok\n");
        assert_header(&r, "Cache-Control", "no-store");
        cairn_admin_stop(admin);
        /* Every check runs, in order, even after one failed. */
        ck_assert_int_eq(cache.calls, 1);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_add_check_reason_sanitised)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct verdict silent = { false, NULL, 0 };
        struct verdict chatty = { false, "line one\nline two", 0 };
        struct http_reply r;

        cairn_admin_add_check(admin, "silent", check_run, &silent);
        cairn_admin_add_check(admin, "chatty", check_run, &chatty);
        http_request(cairn_admin_port(admin), "GET", "/readyz", NULL, &r);
        ck_assert_int_eq(r.status, 503);
        ck_assert_str_eq(r.body, "silent: not ready\nchatty: line one line two\n");
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_add_check_name_copied)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct verdict v = { true, NULL, 0 };
        char name[16] = "postgres";
        struct http_reply r;

        cairn_admin_add_check(admin, name, check_run, &v);
        strcpy(name, "garbage");
        http_request(cairn_admin_port(admin), "GET", "/readyz", NULL, &r);
        ck_assert_str_eq(r.body, "postgres: ok\n");
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_add_check_recovers)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        struct verdict v = { false, "warming up", 0 };
        struct http_reply r;

        cairn_admin_add_check(admin, "index", check_run, &v);
        http_request(cairn_admin_port(admin), "GET", "/readyz", NULL, &r);
        ck_assert_int_eq(r.status, 503);
        ck_assert_str_eq(r.body, "index: warming up\n");
        /* The request above completed, so the server thread is idle. */
        v.ready = true;
        http_request(cairn_admin_port(admin), "HEAD", "/readyz", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_admin_port ---- */

START_TEST(test_cairn_admin_port_fixed)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *admin = admin_start(reg);
        int port = cairn_admin_port(admin);
        char errstr[256] = "";
        struct http_reply r;

        /* Take the port the ephemeral server had, asked for by number. */
        cairn_admin_stop(admin);
        admin = cairn_admin_start("127.0.0.1", port, reg, errstr, sizeof(errstr));
        ck_assert_msg(admin != NULL, "start failed: %s", errstr);
        ck_assert_int_eq(cairn_admin_port(admin), port);
        http_request(port, "GET", "/healthz", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        cairn_admin_stop(admin);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_port_distinct)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        struct cairn_admin *a = admin_start(reg);
        struct cairn_admin *b = admin_start(reg);

        ck_assert_int_ne(cairn_admin_port(a), cairn_admin_port(b));
        cairn_admin_stop(a);
        cairn_admin_stop(b);
        cairn_metrics_free(reg);
}
END_TEST

/* ---- cairn_admin_stop ---- */

START_TEST(test_cairn_admin_stop_releases)
{
        struct cairn_metrics *reg = cairn_metrics_new();
        int before = fd_count();
        struct cairn_admin *admin = admin_start(reg);
        struct verdict v = { true, NULL, 0 };
        struct http_reply r;
        int port = cairn_admin_port(admin);
        int idle;

        cairn_admin_add_check(admin, "a", check_run, &v);
        cairn_admin_add_check(admin, "b", check_run, &v);
        http_request(port, "GET", "/readyz", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        /* An idle keep-alive connection must not hold the stop up. */
        idle = http_connect(port);
        cairn_admin_stop(admin);
        close(idle);

        ck_assert_int_eq(fd_count(), before);
        ck_assert_int_lt(http_connect_to(AF_INET, "127.0.0.1", port), 0);
        cairn_metrics_free(reg);
}
END_TEST

START_TEST(test_cairn_admin_stop_null)
{
        cairn_admin_stop(NULL);
}
END_TEST

static Suite *admin_suite(void)
{
        Suite *s = suite_create("admin");
        TCase *tc;

        tc = tcase_create("cairn_admin_start");
        tcase_add_test(tc, test_cairn_admin_start_healthz_ok);
        tcase_add_test(tc, test_cairn_admin_start_healthz_head);
        tcase_add_test(tc, test_cairn_admin_start_healthz_query_ignored);
        tcase_add_test(tc, test_cairn_admin_start_metrics_exposition);
        tcase_add_test(tc, test_cairn_admin_start_unknown_path_404);
        tcase_add_test(tc, test_cairn_admin_start_post_405);
        tcase_add_test(tc, test_cairn_admin_start_loglevel);
        tcase_add_test(tc, test_cairn_admin_start_keep_alive);
        tcase_add_test(tc, test_cairn_admin_start_bad_address);
        tcase_add_test(tc, test_cairn_admin_start_port_in_use);
        tcase_add_test(tc, test_cairn_admin_start_ipv6);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_admin_add_check");
        tcase_add_test(tc, test_cairn_admin_add_check_none_ready);
        tcase_add_test(tc, test_cairn_admin_add_check_all_pass);
        tcase_add_test(tc, test_cairn_admin_add_check_failing_503);
        tcase_add_test(tc, test_cairn_admin_add_check_reason_sanitised);
        tcase_add_test(tc, test_cairn_admin_add_check_name_copied);
        tcase_add_test(tc, test_cairn_admin_add_check_recovers);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_admin_port");
        tcase_add_test(tc, test_cairn_admin_port_fixed);
        tcase_add_test(tc, test_cairn_admin_port_distinct);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_admin_stop");
        tcase_add_test(tc, test_cairn_admin_stop_releases);
        tcase_add_test(tc, test_cairn_admin_stop_null);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        return unit_run(admin_suite());
}

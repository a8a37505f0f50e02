/* A service that cannot start says why on stderr and exits 1, with no
 * broker to talk to: its admin port already taken, a kafka.* setting
 * librdkafka refuses (the bus not starting), an invalid log level, an
 * unknown option or a stray argument; -V and -h print and exit 0. Run on
 * cairn-embedding, which serves through cairn_app_serve(), and on
 * cairn-gateway, whose API address, port and keys file can be refused too. */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* Runs cairn-@p service with its dev configuration, an unreachable broker
 * (the bus client gives up waiting for it after 500 ms) and @p env
 * (space-separated NAME=value, may be ""), then @p args; its stderr goes to
 * @p out. Returns the exit status. */
static int run(const char *service, const char *env, const char *args, char *out, size_t size)
{
        char cmd[2048];

        snprintf(cmd, sizeof(cmd),
                 "env CAIRN_CONFIG=%s/deploy/dev/%s.yaml "
                 "CAIRN_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 CAIRN_BUS_CALL_TIMEOUT_MS=500 "
                 "CAIRN_ADMIN_ADDRESS=127.0.0.1 CAIRN_ADMIN_PORT=0 %s %s "
                 "timeout 30 %s/bin/cairn-%s %s 2>&1 >/dev/null",
                 harness_root(), service,
                 strcmp(service, "gateway") == 0 ? "CAIRN_HTTP_PORT=0" : "", env,
                 harness_build_dir(), service, args);
        return harness_sh(out, size, cmd);
}

static int run_service(const char *env, const char *args, char *out, size_t size)
{
        return run("embedding", env, args, out, size);
}

/* A socket listening on 127.0.0.1; its port in *@p port. */
static int listen_any(int *port)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 1), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        *port = ntohs(sa.sin_port);
        return fd;
}

START_TEST(test_cairn_app_init_admin_port_taken)
{
        char env[64], out[4096];
        int port, fd = listen_any(&port);

        snprintf(env, sizeof(env), "CAIRN_ADMIN_PORT=%d", port);
        ck_assert_int_eq(run_service(env, "", out, sizeof(out)), 1);
        close(fd);
        ck_assert_msg(strstr(out, "cannot listen") &&
                              strstr(out, env + strlen("CAIRN_ADMIN_PORT=")),
                      "%s", out);
}
END_TEST

START_TEST(test_cairn_app_serve_bus_not_starting)
{
        char out[4096];

        ck_assert_int_eq(run_service("CAIRN_KAFKA_NO_SUCH_SETTING=1", "", out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "cairn-embedding: config: kafka.no.such.setting") != NULL, "%s",
                      out);
}
END_TEST

START_TEST(test_cairn_app_init_invalid_log_level)
{
        char out[4096];

        ck_assert_int_eq(run_service("CAIRN_LOG_LEVEL=loud", "", out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "log.level") && strstr(out, "loud"), "%s", out);
}
END_TEST

START_TEST(test_cairn_app_init_command_line)
{
        char out[4096];

        ck_assert_int_eq(run_service("", "--no-such-option", out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "usage: cairn-embedding") != NULL, "%s", out);
        ck_assert_int_eq(run_service("", "stray", out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "unexpected argument \"stray\"") != NULL, "%s", out);
        /* what -V and -h print goes to stdout, which run_service drops */
        ck_assert_int_eq(run_service("", "-V", out, sizeof(out)), 0);
        ck_assert_int_eq(run_service("", "-h", out, sizeof(out)), 0);
        ck_assert_str_eq(out, "");
        /* --check-config: the configuration's verdict, nothing started */
        ck_assert_int_eq(run_service("", "--check-config", out, sizeof(out)), 0);
        ck_assert_int_eq(run_service("CAIRN_BUS_WORKERS=0", "--check-config", out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "bus.workers: 0 is below the minimum 1") != NULL, "%s", out);
}
END_TEST

START_TEST(test_gateway_start_refusals)
{
        char env[128], out[4096], *p;
        int port, fd;

        ck_assert_int_eq(run("gateway", "CAIRN_HTTP_ADDRESS=not-an-ip", "", out, sizeof(out)), 1);
        ck_assert_msg(strstr(out, "http.address: \"not-an-ip\" is not an IP address") != NULL, "%s",
                      out);
        ck_assert_int_eq(run("gateway", "CAIRN_AUTH_KEYS_FILE=/nonexistent/keys.yaml", "", out,
                             sizeof(out)),
                         1);
        ck_assert_msg(strstr(out, "auth.keys_file") != NULL, "%s", out);
        fd = listen_any(&port);
        snprintf(env, sizeof(env), "CAIRN_HTTP_ADDRESS=127.0.0.1 CAIRN_HTTP_PORT=%d", port);
        ck_assert_int_eq(run("gateway", env, "", out, sizeof(out)), 1);
        close(fd);
        p = strstr(out, "cannot listen on 127.0.0.1 port ");
        ck_assert_msg(p && atoi(p + strlen("cannot listen on 127.0.0.1 port ")) == port, "%s", out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0009-service_start_failures");
        TCase *tc = tcase_create("start");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_cairn_app_init_admin_port_taken);
        tcase_add_test(tc, test_cairn_app_serve_bus_not_starting);
        tcase_add_test(tc, test_cairn_app_init_invalid_log_level);
        tcase_add_test(tc, test_cairn_app_init_command_line);
        tcase_add_test(tc, test_gateway_start_refusals);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* Logs: the level changes at runtime through the admin endpoint and on
 * SIGHUP (re-read from the configuration file), and no secret used by a
 * run (a bearer token on requests, a Kafka SASL password and a secret
 * setting, redis.password, in the environment) ever reaches a log line, even at debug with librdkafka's
 * configuration dump on. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/log.h"
#include "harness.h"

#define TOPIC harness_topic("cairn.embedding.v1.requests")

/* Secrets this run uses; none may appear in any log. They are also in
 * secrets.list, which tests/run.sh greps every log of a whole run for. */
#define SASL_SECRET  "Sasl-Pw-7f3c1e9a0b5d"
#define REDIS_SECRET "Redis-Pw-26b0d4c8e1f7"
#define JWT_SECRET                                                              \
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZW5hbnQtbG9nIiwicm9sZSI6ImFkbWluIn0." \
        "c2lnbmF0dXJlLW9mLXRoZS1sb2ctdGVzdA"

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;

/* PUT http://127.0.0.1:@p port@p path; the status, body in @p body. */
static int http_put(int port, const char *path, char *body, size_t size)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct timeval tv = { 3, 0 };
        char buf[4096];
        size_t len = 0;
        int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

        ck_assert_int_ge(fd, 0);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        int n = snprintf(buf, sizeof(buf),
                         "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n",
                         path);
        ck_assert_int_eq(write(fd, buf, (size_t)n), n);
        for (;;) {
                ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

                if (r <= 0)
                        break;
                len += (size_t)r;
        }
        close(fd);
        buf[len] = '\0';
        sscanf(buf, "HTTP/1.%*d %d", &status);
        char *sep = strstr(buf, "\r\n\r\n");
        snprintf(body, size, "%s", sep ? sep + 4 : "");
        return status;
}

static void level_is(const char *want)
{
        char *body = NULL;

        ck_assert_int_eq(harness_http_get(svc.admin_port, "/loglevel", &body, 3000), 200);
        ck_assert_str_eq(body, want);
        free(body);
}

/* Replaces the file whole (as deployment tools should), so a reload never
 * reads half of it. */
static void write_config(const char *path, const char *level)
{
        char tmp[600];
        FILE *fp;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fp = fopen(tmp, "w");
        ck_assert_ptr_nonnull(fp);
        fprintf(fp, "admin:\n  address: 127.0.0.1\nlog:\n  level: %s\nbus:\n  workers: 2\n", level);
        fclose(fp);
        ck_assert_int_eq(rename(tmp, path), 0);
}

/* Waits until the service's log has more than @p before lines holding
 * @p needle. */
static void wait_log(const char *needle, int before)
{
        int64_t until = cairn_mono_us() + 10 * 1000000LL;

        while (harness_count_in_file(svc.log_path, needle) <= before && cairn_mono_us() < until)
                usleep(20000);
        ck_assert_int_gt(harness_count_in_file(svc.log_path, needle), before);
}

static cairn_err_t embed_with_token(const char *text)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { (char *)text };
        struct cairn_call_opts opts = { .timeout_ms = 20000,
                                        .authorization = "Bearer " JWT_SECRET };
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;
        cairn_err_t err;

        req.inputs = inputs;
        req.n_inputs = 1;
        err = cairn_bus_call(client.cli, TOPIC, "tenant-log", &req.base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, &st);
        if (reply)
                protobuf_c_message_free_unpacked(reply, NULL);
        return err;
}

/* Lines of every file in @p dir holding @p needle. */
static int count_in_dir(const char *dir, const char *needle, int *files)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        ck_assert_ptr_nonnull(d);
        *files = 0;
        while ((e = readdir(d))) {
                char path[1024];

                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                int c = harness_count_in_file(path, needle);
                if (c >= 0) {
                        (*files)++;
                        n += c;
                }
        }
        closedir(d);
        return n;
}

START_TEST(test_log_level_runtime_and_no_secrets)
{
        char conf_path[512], log_path[512], env_conf[600], body[256];
        FILE *own_log;
        int files;

        harness_broker_start(&broker, 1);
        /* This process's own log lines go with the others. */
        snprintf(log_path, sizeof(log_path), "%s/test-client.log", broker.dir);
        own_log = fopen(log_path, "w");
        ck_assert_ptr_nonnull(own_log);
        cairn_log_set_stream(own_log);
        cairn_log_set_level(CAIRN_LOG_DEBUG);

        snprintf(conf_path, sizeof(conf_path), "%s/embedding.yaml", broker.dir);
        write_config(conf_path, "debug");
        snprintf(env_conf, sizeof(env_conf), "CAIRN_CONFIG=%s", conf_path);
        harness_service_start(&svc, &broker, "embedding",
                              (const char *[]){
                                      env_conf,
                                      /* A secret-bearing Kafka setting librdkafka accepts on a
                 * plaintext listener, and its configuration dump at debug. */
                                      "CAIRN_KAFKA_SASL_USERNAME=cairn-log-test",
                                      "CAIRN_KAFKA_SASL_PASSWORD=" SASL_SECRET,
                                      "CAIRN_KAFKA_DEBUG=conf",
                                      /* A CAIRN_CONF_SECRET setting (unused here: no model wants
                 * the Redis cache, so nothing connects with it). */
                                      "CAIRN_REDIS_PASSWORD=" REDIS_SECRET, NULL });
        ck_assert_msg(harness_wait_ready(&svc, 30000), "not ready (see %s)", svc.log_path);
        harness_client_start(&client, &broker, "logtest");
        level_is("debug\n");

        for (int i = 0; i < 5; i++)
                ck_assert_int_eq(embed_with_token("carrying a bearer token"), CAIRN_OK);
        ck_assert_int_eq(embed_with_token(""), CAIRN_ERR_INVALID);

        /* The admin endpoint sets the level at once ... */
        ck_assert_int_eq(http_put(svc.admin_port, "/loglevel?level=info", body, sizeof(body)), 200);
        ck_assert_str_eq(body, "info\n");
        level_is("info\n");
        ck_assert_int_eq(http_put(svc.admin_port, "/loglevel?level=loud", body, sizeof(body)), 400);
        level_is("info\n");

        /* ... and SIGHUP re-reads it from the file. */
        write_config(conf_path, "warn");
        harness_proc_signal(&svc, SIGHUP);
        wait_log("SIGHUP: log level is warn", 0);
        level_is("warn\n");
        /* A broken file on SIGHUP keeps the level and the service. */
        write_config(conf_path, "[unclosed");
        harness_proc_signal(&svc, SIGHUP);
        wait_log("SIGHUP: configuration not reloaded", 0);
        write_config(conf_path, "chatty");
        harness_proc_signal(&svc, SIGHUP);
        wait_log("SIGHUP: log.level", 0);
        level_is("warn\n");
        ck_assert_int_eq(embed_with_token("still answering"), CAIRN_OK);

        harness_client_stop(&client);
        ck_assert_int_ne(harness_service_stop(&svc, 15000), -1);
        harness_broker_stop(&broker);
        cairn_log_set_stream(NULL);
        fclose(own_log);

        /* The debug run did log the configuration, the password redacted. */
        ck_assert_int_gt(harness_count_in_file(svc.log_path, "sasl.password"), 0);
        ck_assert_int_gt(harness_count_in_file(svc.log_path, "\"level\":\"debug\""), 0);
        /* Not one line anywhere holds a secret. */
        ck_assert_int_eq(count_in_dir(broker.dir, SASL_SECRET, &files), 0);
        ck_assert_int_ge(files, 2); /* the service, this test (and a dev broker) */
        ck_assert_int_eq(count_in_dir(broker.dir, REDIS_SECRET, &files), 0);
        ck_assert_int_eq(count_in_dir(broker.dir, JWT_SECRET, &files), 0);
        ck_assert_int_eq(count_in_dir(broker.dir, "c2lnbmF0dXJlLW9mLXRoZS1sb2ctdGVzdA", &files), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0013-log_hygiene");
        TCase *tc = tcase_create("logs");

        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, test_log_level_runtime_and_no_secrets);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

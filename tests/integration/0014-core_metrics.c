/* The core metrics every service exposes: after some traffic (answers, a
 * bad request, an expired deadline) the embedding service's /metrics, and a
 * calling client's registry, pass `promtool check metrics` and carry every
 * core metric name, consumer lag per partition included. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "harness.h"

#define TOPIC harness_topic("cairn.embedding.v1.requests")

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;

static const char *const core[] = {
        "cairn_build_info",
        "cairn_bus_requests_total",
        "cairn_bus_request_duration_seconds",
        "cairn_bus_inflight",
        "cairn_bus_consumer_lag",
        "cairn_bus_dlq_total",
        "cairn_bus_deadline_dropped_total",
        "cairn_retries_total",
        "cairn_breaker_state",
        "cairn_breaker_transitions_total",
        "cairn_bulkhead_inflight",
        "cairn_bulkhead_rejected_total",
        NULL,
};

static cairn_err_t embed(const char *text, int64_t timeout_ms)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { (char *)text };
        struct cairn_call_opts opts = { .timeout_ms = timeout_ms };
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;
        cairn_err_t err;

        req.inputs = inputs;
        req.n_inputs = 1;
        err = cairn_bus_call(client.cli, TOPIC, "tenant-m", &req.base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, &st);
        if (reply)
                protobuf_c_message_free_unpacked(reply, NULL);
        return err;
}

/* Runs promtool on @p text; returns its exit status and keeps its output
 * in @p out. */
static int promtool(const char *text, char *out, size_t size)
{
        char path[] = "/tmp/cairn-metrics-XXXXXX", cmd[256];
        int fd = mkstemp(path);
        FILE *fp;
        size_t n;
        int rc;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
        fp = popen(cmd, "r");
        ck_assert_ptr_nonnull(fp);
        n = fread(out, 1, size - 1, fp);
        out[n] = '\0';
        rc = pclose(fp);
        unlink(path);
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void has_family(const char *text, const char *name)
{
        char want[128];

        snprintf(want, sizeof(want), "# TYPE %s ", name);
        ck_assert_msg(strstr(text, want) != NULL, "no %s in:\n%s", name, text);
}

START_TEST(test_service_metrics_pass_promtool)
{
        char *body = NULL, out[8192];

        harness_broker_start(&broker, 1);
        harness_service_start(&svc, &broker, "embedding",
                              (const char *[]){ "CAIRN_KAFKA_STATISTICS_INTERVAL_MS=500", NULL });
        ck_assert_msg(harness_wait_ready(&svc, 30000), "not ready (see %s)", svc.log_path);
        harness_client_start(&client, &broker, "metricstest");

        ck_assert_int_eq(embed("one", 20000), CAIRN_OK);
        ck_assert_int_eq(embed("two", 20000), CAIRN_OK);
        ck_assert_int_eq(embed("", 20000), CAIRN_ERR_INVALID);

        /* Lag comes with the statistics report, every 500 ms here. */
        int64_t until = cairn_mono_us() + 20 * 1000000LL;
        for (;;) {
                free(body);
                body = NULL;
                ck_assert_int_eq(harness_http_get(svc.admin_port, "/metrics", &body, 3000), 200);
                if (strstr(body, "cairn_bus_consumer_lag{") || cairn_mono_us() > until)
                        break;
                usleep(200000);
        }
        ck_assert_msg(strstr(body, "cairn_bus_consumer_lag{") != NULL, "no lag series:\n%s", body);
        ck_assert_msg(strstr(body, "partition=\"") != NULL, "lag without partition:\n%s", body);

        for (const char *p = strstr(body, "cairn_bus_consumer_lag{"); p;
             p = strstr(p + 1, "cairn_bus_consumer_lag{"))
                printf("%.*s\n", (int)strcspn(p, "\n"), p);

        int rc = promtool(body, out, sizeof(out));
        ck_assert_msg(rc == 0, "promtool exit %d:\n%s", rc, out);
        for (const char *const *m = core; *m; m++)
                has_family(body, *m);
        free(body);

        /* The calling side's registry, with per-dependency series, too. */
        char *text = cairn_metrics_render(client.metrics, NULL);
        rc = promtool(text, out, sizeof(out));
        ck_assert_msg(rc == 0, "promtool exit %d on the client registry:\n%s", rc, out);
        ck_assert_ptr_nonnull(strstr(text, "cairn_breaker_state{dependency=\""));
        ck_assert_ptr_nonnull(strstr(text, "cairn_bulkhead_inflight{dependency=\""));
        free(text);

        harness_client_stop(&client);
        harness_service_stop(&svc, 15000);
        harness_broker_stop(&broker);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0014-core_metrics");
        TCase *tc = tcase_create("metrics");

        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, test_service_metrics_pass_promtool);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

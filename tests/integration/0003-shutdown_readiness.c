/* Lifecycle: /readyz follows the broker (down while it is down, back when it
 * returns), SIGTERM drains and exits 0 within the grace period, at any
 * moment of the start too, and a bad configuration stops the service with a
 * message naming the key. */
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

static void setup(void)
{
        harness_broker_start(&broker, 1);
}

static void teardown(void)
{
        harness_broker_stop(&broker);
}

static int wait_status(int port, int want, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;
        int status = -1;

        while (cairn_mono_us() < until) {
                char *body = NULL;

                status = harness_http_get(port, "/readyz", &body, 5000);
                free(body);
                if (status == want)
                        break;
                usleep(100000);
        }
        return status;
}

START_TEST(test_readyz_follows_broker)
{
        struct harness_proc svc;
        char *body = NULL;

        harness_service_start(&svc, &broker, "embedding", NULL);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "not ready (see %s)", svc.log_path);
        ck_assert_int_eq(harness_http_get(svc.admin_port, "/healthz", NULL, 2000), 200);

        harness_broker_down(&broker); /* all brokers down */
        ck_assert_int_eq(wait_status(svc.admin_port, 503, 20000), 503);
        ck_assert_int_eq(harness_http_get(svc.admin_port, "/readyz", &body, 5000), 503);
        ck_assert_msg(body && strstr(body, "broker"), "readyz body: %s", body ? body : "");
        free(body);
        /* alive all the same */
        ck_assert_int_eq(harness_http_get(svc.admin_port, "/healthz", NULL, 2000), 200);

        harness_broker_up(&broker); /* back */
        ck_assert_int_eq(wait_status(svc.admin_port, 200, 30000), 200);

        harness_proc_signal(&svc, SIGTERM);
        harness_proc_wait(&svc, 15000);
}
END_TEST

START_TEST(test_sigterm_drains_and_exits_zero)
{
        struct harness_proc svc;
        struct harness_client client;
        struct cairn_status st;
        ProtobufCMessage *reply = NULL;
        char *inputs[] = { "before shutdown" };
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;

        harness_service_start(&svc, &broker, "embedding",
                              (const char *[]){ "CAIRN_BUS_GRACE_MS=5000", NULL });
        ck_assert_msg(harness_wait_ready(&svc, 30000), "not ready (see %s)", svc.log_path);
        harness_client_start(&client, &broker, "termtest");
        req.inputs = inputs;
        req.n_inputs = 1;
        ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "t", &req.base, NULL,
                                        &cairn__embedding__v1__embed_reply__descriptor, NULL,
                                        &reply, &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(reply, NULL);

        int64_t t0 = cairn_mono_us();
        harness_proc_signal(&svc, SIGTERM);
        int status = harness_proc_wait(&svc, 10000);
        int64_t ms = (cairn_mono_us() - t0) / 1000;
        ck_assert_msg(status != -1, "still running 10 s after SIGTERM");
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
        ck_assert_int_lt(ms, 10000);
        ck_assert_int_ge(harness_count_in_file(svc.log_path, "\"stopped after"), 1);
        harness_client_stop(&client);
}
END_TEST

/* SIGTERM at moments spread over the start, before and after the service
 * reports ready (when it starts serving): it ends every time, never serving
 * on with the request lost. */
START_TEST(test_sigterm_during_start_exits_zero)
{
        struct harness_proc svc;
        int64_t t0;
        int ready_ms, status;

        harness_service_start(&svc, &broker, "embedding", NULL);
        t0 = cairn_mono_us();
        ck_assert_msg(harness_wait_ready(&svc, 30000), "not ready (see %s)", svc.log_path);
        ready_ms = (int)((cairn_mono_us() - t0) / 1000);
        ck_assert_int_eq(harness_service_stop(&svc, 15000), 0);

        for (int i = 0; i <= 12; i++) {
                int delay_ms = ready_ms * i / 10; /* up to 1.2 times the time to ready */

                harness_service_start(&svc, &broker, "embedding", NULL);
                usleep((useconds_t)delay_ms * 1000);
                harness_proc_signal(&svc, SIGTERM);
                status = harness_proc_wait(&svc, 15000);
                if (status == -1)
                        harness_proc_kill(&svc);
                ck_assert_msg(status != -1,
                              "SIGTERM %d ms into the start: still running 15 s later", delay_ms);
                /* before main() catches it, SIGTERM's default ends the process */
                ck_assert_msg((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                                      (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM),
                              "SIGTERM %d ms into the start: exit status %d", delay_ms, status);
        }
}
END_TEST

START_TEST(test_bad_config_names_the_key)
{
        struct harness_proc svc;

        harness_service_start(&svc, &broker, "embedding",
                              (const char *[]){ "CAIRN_BUS_WORKERS=lots", NULL });
        int status = harness_proc_wait(&svc, 10000);
        ck_assert_int_ne(status, -1);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        ck_assert_int_ge(harness_count_in_file(svc.log_path, "bus.workers"), 1);

        harness_service_start(&svc, &broker, "embedding",
                              (const char *[]){ "CAIRN_BUS_WRKERS=2", NULL });
        status = harness_proc_wait(&svc, 10000);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        ck_assert_int_ge(harness_count_in_file(svc.log_path, "CAIRN_BUS_WRKERS"), 1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0003-shutdown_readiness");
        TCase *tc = tcase_create("lifecycle");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_readyz_follows_broker);
        tcase_add_test(tc, test_sigterm_drains_and_exits_zero);
        tcase_add_test(tc, test_sigterm_during_start_exits_zero);
        tcase_add_test(tc, test_bad_config_names_the_key);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

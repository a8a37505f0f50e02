/* Two replicas of the embedding service in one consumer group on Apache
 * Kafka (run only in the Apache pass): they split the request topic's
 * partitions; SIGKILL one under load and the other takes its partitions with
 * no request left unanswered; a rolling restart of both loses nothing. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "harness.h"

#define TOPIC harness_topic("cairn.embedding.v1.requests")
#define N     1000

static struct harness_broker broker;
static struct harness_proc svc[2];
static struct harness_client client;

/* Outcome of every request of a run, by index. */
static atomic_int replies_ok;
static atomic_int replies_err;
static atomic_int answered[N];
static char first_error[CAIRN_STATUS_MSG_MAX + 64];
static char text[N][48];
static char key[N][16];

static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        int i = (int)(intptr_t)opaque;

        atomic_fetch_add(&answered[i], 1);
        if (reply->err == CAIRN_OK) {
                atomic_fetch_add(&replies_ok, 1);
        } else if (atomic_fetch_add(&replies_err, 1) == 0) {
                snprintf(first_error, sizeof(first_error), "%s: %s", cairn_err_str(reply->err),
                         reply->st.message);
        }
}

static void run_reset(void)
{
        atomic_store(&replies_ok, 0);
        atomic_store(&replies_err, 0);
        for (int i = 0; i < N; i++)
                atomic_store(&answered[i], 0);
        first_error[0] = '\0';
}

static void send_one(int i)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { text[i] };
        struct cairn_call_opts opts = { .timeout_ms = 90000 };
        struct cairn_status st;

        snprintf(text[i], sizeof(text[i]), "message %d of the group test", i);
        snprintf(key[i], sizeof(key[i]), "tenant-%d", i % 31);
        req.inputs = inputs;
        req.n_inputs = 1;
        ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, key[i], &req.base, &opts, on_reply,
                                              (void *)(intptr_t)i, &st),
                         CAIRN_OK);
}

/* Waits until all @p n requests are answered (90 s at most), then checks
 * each was answered exactly once, and with success. */
static void expect_all_answered(int n)
{
        int64_t until = cairn_mono_us() + 90 * 1000000LL;

        while (atomic_load(&replies_ok) + atomic_load(&replies_err) < n && cairn_mono_us() < until)
                usleep(20000);
        ck_assert_msg(atomic_load(&replies_err) == 0, "%d errors, first: %s",
                      atomic_load(&replies_err), first_error);
        ck_assert_int_eq(atomic_load(&replies_ok), n);
        for (int i = 0; i < n; i++)
                ck_assert_msg(atomic_load(&answered[i]) == 1, "request %d answered %d times", i,
                              atomic_load(&answered[i]));
}

/* Sum of every series of metric @p name on admin port @p port. */
static double metric_sum(int port, const char *name)
{
        char *body = NULL;
        size_t nlen = strlen(name);
        double sum = 0;

        if (harness_http_get(port, "/metrics", &body, 3000) != 200 || !body) {
                free(body);
                return -1;
        }
        for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, name, nlen) == 0 && (line[nlen] == '{' || line[nlen] == ' ')) {
                        char *sp = strrchr(line, ' ');
                        sum += sp ? strtod(sp + 1, NULL) : 0;
                }
        }
        free(body);
        return sum;
}

static void replica_start(int r, const char *workers)
{
        char env[64];

        snprintf(env, sizeof(env), "CAIRN_BUS_WORKERS=%s", workers);
        harness_service_start(&svc[r], &broker, "embedding", (const char *[]){ env, NULL });
        ck_assert_msg(harness_wait_ready(&svc[r], 30000), "replica %d not ready (see %s)", r,
                      svc[r].log_path);
}

static void replica_stop(int r)
{
        harness_proc_signal(&svc[r], SIGTERM);
        int status = harness_proc_wait(&svc[r], 20000);
        ck_assert_msg(status != -1, "replica %d still running 20 s after SIGTERM", r);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "replica %d exit status %d", r,
                      status);
}

static void setup(void)
{
        harness_broker_start(&broker, 1);
        harness_client_start(&client, &broker, "grouptest");
        run_reset();
}

static void teardown(void)
{
        harness_client_stop(&client);
        for (int r = 0; r < 2; r++) {
                if (svc[r].pid > 0) {
                        harness_service_stop(&svc[r], 15000);
                }
        }
        harness_broker_stop(&broker);
}

START_TEST(test_two_replicas_split_partitions_and_survive_sigkill)
{
        replica_start(0, "1");
        replica_start(1, "1");

        /* Both get traffic: each owns some of the partitions. Keys spread
         * over all of them; until the group settles one may own them all,
         * so keep sending, boundedly, until both have answered some. */
        int sent = 0;
        double a = 0, b = 0;
        int64_t until = cairn_mono_us() + 30 * 1000000LL;
        while ((a <= 0 || b <= 0) && sent < 200 && cairn_mono_us() < until) {
                for (int k = 0; k < 20; k++)
                        send_one(sent++);
                expect_all_answered(sent);
                a = metric_sum(svc[0].admin_port, "cairn_bus_requests_total");
                b = metric_sum(svc[1].admin_port, "cairn_bus_requests_total");
        }
        printf("split: replica 0 answered %.0f, replica 1 answered %.0f of %d\n", a, b, sent);
        ck_assert_msg(a > 0 && b > 0, "one replica got nothing: %.0f and %.0f", a, b);
        ck_assert_int_ge(harness_count_in_file(svc[0].log_path, "\"assigned 2 partition(s)"), 1);

        /* SIGKILL replica 0 under load: replica 1 takes its partitions once
         * the session times out, and resumes from the committed offsets. */
        int base = sent;
        for (int i = base; i < N; i++)
                send_one(i);
        while (atomic_load(&replies_ok) < base + 100)
                usleep(1000);
        harness_proc_kill(&svc[0]);
        int at_kill = atomic_load(&replies_ok);
        printf("killed replica 0 after %d of %d replies\n", at_kill, N);
        expect_all_answered(N);
        double b_after = metric_sum(svc[1].admin_port, "cairn_bus_requests_total");
        printf("replica 1 answered %.0f in all\n", b_after);
        ck_assert_msg(b_after > b, "replica 1 took over nothing");
}
END_TEST

/* Sends requests in the background at a steady pace while the test
 * restarts the replicas. */
static atomic_bool pacing;
static atomic_int paced;

static void *pacer_main(void *arg)
{
        (void)arg;
        while (atomic_load(&pacing) && atomic_load(&paced) < N) {
                send_one(atomic_fetch_add(&paced, 1));
                usleep(15000);
        }
        return NULL;
}

START_TEST(test_rolling_restart_loses_nothing)
{
        pthread_t pacer;

        replica_start(0, "2");
        replica_start(1, "2");
        atomic_store(&paced, 0);
        atomic_store(&pacing, true);
        pthread_create(&pacer, NULL, pacer_main, NULL);

        for (int r = 0; r < 2; r++) {
                while (atomic_load(&replies_ok) < 50 + r * 150)
                        usleep(1000);
                replica_stop(r);
                printf("replica %d stopped after %d replies; starting it again\n", r,
                       atomic_load(&replies_ok));
                replica_start(r, "2");
        }
        while (atomic_load(&replies_ok) < 450)
                usleep(1000);
        atomic_store(&pacing, false);
        pthread_join(pacer, NULL);
        int n = atomic_load(&paced);
        printf("rolling restart: %d requests sent\n", n);
        expect_all_answered(n);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0100-apache_consumer_group");
        TCase *tc = tcase_create("group");

        if (!harness_apache()) {
                printf("0100-apache_consumer_group: skipped: needs Apache Kafka (the Apache pass)\n");
                return 0;
        }
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_two_replicas_split_partitions_and_survive_sigkill);
        tcase_add_test(tc, test_rolling_restart_loses_nothing);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* Nothing acknowledged is lost: SIGKILL the embedding service while 1,000
 * requests are in flight, start it again, and every request still gets a
 * reply (duplicates of one ce_id are tolerated by the client, which keeps
 * the first and counts the rest as orphans). */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "harness.h"

#define TOPIC harness_topic("cairn.embedding.v1.requests")
#define N     1000

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;

static atomic_int replies_ok;
static atomic_int replies_err;
static atomic_int answered[N];
static char first_error[CAIRN_STATUS_MSG_MAX + 64];

static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        int i = (int)(intptr_t)opaque;

        atomic_fetch_add(&answered[i], 1);
        if (reply->err == CAIRN_OK) {
                atomic_fetch_add(&replies_ok, 1);
        } else {
                if (atomic_fetch_add(&replies_err, 1) == 0)
                        snprintf(first_error, sizeof(first_error), "%s: %s",
                                 cairn_err_str(reply->err), reply->st.message);
        }
}

START_TEST(test_sigkill_under_load_loses_nothing)
{
        struct cairn_status st;
        /* Texts of 8 KiB: about half a millisecond of work each, so the
         * service is still busy when it dies (8 MiB in all, within what
         * the dev broker keeps). */
        static char text[N][8192];
        char key[N][16];

        harness_broker_start(&broker, 3);
        harness_service_start(&svc, &broker, "embedding",
                              (const char *[]){ "CAIRN_BUS_WORKERS=1", NULL });
        ck_assert_msg(harness_wait_ready(&svc, 30000), "not ready (see %s)", svc.log_path);
        harness_client_start(&client, &broker, "killtest");

        /* One round trip first: the service has joined its group. */
        {
                Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
                char *inputs[] = { "warm up" };
                ProtobufCMessage *reply = NULL;

                req.inputs = inputs;
                req.n_inputs = 1;
                ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "warm", &req.base, NULL,
                                                &cairn__embedding__v1__embed_reply__descriptor,
                                                NULL, &reply, &st),
                                 CAIRN_OK);
                protobuf_c_message_free_unpacked(reply, NULL);
        }
        /* Hold the service while all requests go out, so that when it
         * resumes they are all in flight at once. */
        harness_proc_signal(&svc, SIGSTOP);
        for (int i = 0; i < N; i++) {
                Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
                char *inputs[] = { text[i] };
                struct cairn_call_opts opts = { .timeout_ms = 90000 };

                int len = snprintf(text[i], sizeof(text[i]), "message %d of the kill test", i);
                while (len < (int)sizeof(text[i]) - 16)
                        len += snprintf(text[i] + len, sizeof(text[i]) - (size_t)len, " word%d",
                                        len % 997);
                snprintf(key[i], sizeof(key[i]), "tenant-%d", i % 31);
                req.inputs = inputs;
                req.n_inputs = 1;
                ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, key[i], &req.base, &opts,
                                                      on_reply, (void *)(intptr_t)i, &st),
                                 CAIRN_OK);
        }
        /* Let the producer hand everything to the broker, then resume the
         * service and kill it mid-stream: after the first replies, before
         * the last. */
        usleep(300000);
        harness_proc_signal(&svc, SIGCONT);
        int64_t t_cont = cairn_mono_us();
        while (atomic_load(&replies_ok) < 1)
                ;
        int64_t t_first = cairn_mono_us();
        harness_proc_kill(&svc);
        int at_kill = atomic_load(&replies_ok);
        printf("killed the service after %d of %d replies (first reply %lld us after resuming)\n",
               at_kill, N, (long long)(t_first - t_cont));
        ck_assert_int_lt(at_kill, N);

        harness_service_start(&svc, &broker, "embedding", NULL);
        int64_t until = cairn_mono_us() + 80 * 1000000LL;
        while (atomic_load(&replies_ok) + atomic_load(&replies_err) < N && cairn_mono_us() < until)
                usleep(20000);

        ck_assert_msg(atomic_load(&replies_err) == 0, "%d errors, first: %s",
                      atomic_load(&replies_err), first_error);
        ck_assert_int_eq(atomic_load(&replies_ok), N);
        for (int i = 0; i < N; i++)
                ck_assert_msg(atomic_load(&answered[i]) == 1, "request %d answered %d times", i,
                              atomic_load(&answered[i]));

        harness_client_stop(&client);
        ck_assert_int_ne(harness_service_stop(&svc, 15000), -1);
        harness_broker_stop(&broker);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0002-kill_redelivery");
        TCase *tc = tcase_create("redelivery");

        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_sigkill_under_load_loses_nothing);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

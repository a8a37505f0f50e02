/* cairn_bus_consumer_lag across a rebalance: a replica that gives a
 * partition up reports 0 for it from then on (librdkafka itself goes on
 * reporting the lag it last knew), so that the group's lag is
 * the sum of its replicas' series (what the alerts and a lag-driven
 * autoscaler add up) rather than counting a stale figure of the partition's
 * former owner beside its new owner's. Requests pile up behind a slow
 * provider (a fake OpenAI-compatible server answering after 300 ms, one
 * worker, one queued message), so every partition has lag when the second
 * replica joins. */
#define _GNU_SOURCE
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "fake_openai.h"
#include "harness.h"

#define PARTS 4
#define N     200

static struct harness_broker broker;
static struct harness_proc svc[2];
static struct harness_client client;
static struct fake_openai *fake;
static char cfg[512];

/* The lag series of one replica, by partition: -1 where it has none. */
static void lag_of(int port, double lag[PARTS])
{
        char *body = NULL, want[64];

        for (int p = 0; p < PARTS; p++)
                lag[p] = -1;
        ck_assert_int_eq(harness_http_get(port, "/metrics", &body, 3000), 200);
        for (const char *l = strstr(body, "cairn_bus_consumer_lag{"); l;
             l = strstr(l + 1, "cairn_bus_consumer_lag{")) {
                for (int p = 0; p < PARTS; p++) {
                        snprintf(want, sizeof(want), "partition=\"%d\"}", p);
                        const char *at = strstr(l, want), *eol = strchr(l, '\n');

                        if (at && eol && at < eol)
                                lag[p] = atof(at + strlen(want));
                }
        }
        free(body);
}

static void replica_start(int r)
{
        char env_cfg[600], bin[512];

        snprintf(env_cfg, sizeof(env_cfg), "CAIRN_CONFIG=%s", cfg);
        snprintf(bin, sizeof(bin), "%s/bin/cairn-embedding", harness_build_dir());
        harness_service_start_bin(&svc[r], &broker, "embedding", r ? "embedding-2" : "embedding-1",
                                  bin,
                                  (const char *const[]){
                                          env_cfg, "CAIRN_KAFKA_STATISTICS_INTERVAL_MS=200",
                                          "CAIRN_KAFKA_AUTO_COMMIT_INTERVAL_MS=100", NULL });
        ck_assert_msg(harness_wait_ready(&svc[r], 30000), "not ready (see %s)", svc[r].log_path);
}

static atomic_int answered;

static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        (void)opaque;
        if (reply->err == CAIRN_OK)
                atomic_fetch_add(&answered, 1);
}

/* Requests from..to-1, each with a key of its own (spread over the partitions). */
static void send_requests(int from, int to)
{
        static char keys[N][24];
        struct cairn_status st;

        for (int i = from; i < to; i++) {
                Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
                char *inputs[] = { keys[i] };

                snprintf(keys[i], sizeof(keys[i]), "user-%d", i);
                req.inputs = inputs;
                req.n_inputs = 1;
                ck_assert_int_eq(cairn_bus_call_async(client.cli,
                                                      harness_topic("cairn.embedding.v1.requests"),
                                                      keys[i], &req.base, NULL, on_reply, NULL,
                                                      &st),
                                 CAIRN_OK);
        }
}

START_TEST(test_lag_of_a_partition_given_up_is_zero)
{
        const char *tmp = getenv("TMPDIR");
        char dir[256], yaml[1024];
        double lag[2][PARTS];
        int64_t until;

        snprintf(dir, sizeof(dir), "%s/lag-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        harness_broker_start(&broker, 1);
        harness_topic_create(&broker, harness_topic("cairn.embedding.v1.requests"), PARTS);
        fake = fake_openai_start(8, 1);
        snprintf(cfg, sizeof(cfg), "%s/embedding.yaml", dir);
        snprintf(yaml, sizeof(yaml),
                 "admin: {address: 127.0.0.1}\n"
                 "bus: {workers: 1, queue_max: 1}\n"
                 "embedding:\n"
                 "  default_model: slow\n"
                 "  models:\n"
                 "    1: {name: slow, base_url: \"http://127.0.0.1:%d/v1\", dimensions: 8,\n"
                 "        cache: \"off\", max_batch: 1}\n",
                 fake_openai_port(fake));
        harness_write_file(cfg, yaml);
        replica_start(0);
        harness_client_start(&client, &broker, "lagtest");
        harness_client_direct(&client, harness_topic("cairn.embedding.v1.requests"), 120000);

        /* Fast answers first, so that every partition has a committed
         * offset (librdkafka reports no lag for a partition without one),
         * then a slow provider, so that requests pile up on all of them. */
        send_requests(0, N / 4);
        until = cairn_mono_us() + 20 * 1000000LL;
        while (atomic_load(&answered) < N / 4) {
                ck_assert_msg(cairn_mono_us() < until, "only %d of %d answered",
                              atomic_load(&answered), N / 4);
                usleep(50000);
        }
        fake_openai_set(fake, &(struct fake_openai_mode){ .delay_ms = 300 });
        send_requests(N / 4, N);
        /* Every partition has requests waiting behind the slow provider. */
        until = cairn_mono_us() + 20 * 1000000LL;
        for (;;) {
                int behind = 0;

                lag_of(svc[0].admin_port, lag[0]);
                for (int p = 0; p < PARTS; p++)
                        behind += lag[0][p] > 0;
                if (behind == PARTS)
                        break;
                ck_assert_msg(cairn_mono_us() < until,
                              "lag never showed on all %d partitions: %.0f %.0f %.0f %.0f", PARTS,
                              lag[0][0], lag[0][1], lag[0][2], lag[0][3]);
                usleep(100000);
        }

        /* A second replica takes some of the partitions, lag and all. Once
         * both report lag of their own, no partition may have it on both:
         * the replica that gave one up says 0 for it. */
        replica_start(1);
        until = cairn_mono_us() + 30 * 1000000LL;
        for (int quiet = 0; quiet < 5;) {
                int mine[2] = { 0, 0 };

                lag_of(svc[0].admin_port, lag[0]);
                lag_of(svc[1].admin_port, lag[1]);
                for (int p = 0; p < PARTS; p++) {
                        mine[0] += lag[0][p] > 0;
                        mine[1] += lag[1][p] > 0;
                }
                if (mine[0] > 0 && mine[1] > 0) {
                        for (int p = 0; p < PARTS; p++)
                                ck_assert_msg(lag[0][p] <= 0 || lag[1][p] <= 0,
                                              "partition %d: a lag on both replicas: "
                                              "%.0f %.0f %.0f %.0f and %.0f %.0f %.0f %.0f",
                                              p, lag[0][0], lag[0][1], lag[0][2], lag[0][3],
                                              lag[1][0], lag[1][1], lag[1][2], lag[1][3]);
                        quiet++;
                }
                ck_assert_msg(cairn_mono_us() < until, "the second replica never shared the work");
                usleep(200000);
        }

        harness_client_stop(&client);
        for (int r = 0; r < 2; r++)
                harness_service_stop(&svc[r], 15000);
        harness_broker_stop(&broker);
        fake_openai_stop(fake);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0037-consumer_lag_rebalance");
        TCase *tc = tcase_create("lag");
        SRunner *sr;
        int failed;

        tcase_set_timeout(tc, 150);
        tcase_add_test(tc, test_lag_of_a_partition_given_up_is_zero);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}

/* cairn-memory's index of large users and its sharding, on a PostgreSQL of
 * the test's own, with caller vectors:
 *   - a user past memory.ann_min is searched through a graph built in the
 *     background; its snapshot makes a restart load it (the log says so)
 *     and answer the same; erasing the user deletes the snapshot;
 *   - two replicas: users move between them as partitions do, and a user
 *     that comes back sees every memory stored meanwhile by the other. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "harness.h"

#define DIM     384
#define ANN_MIN 300
#define BIG     400 /* memories of the large user */
#define USERS   16  /* users of the rebalance test */

static struct harness_broker broker;
static struct harness_proc replica[2];
static struct harness_client client;
static struct harness_pg pg;
static char state[512], snapdir[2][600];
static const char *topic;

static void replica_start(int r)
{
        char env_snap[700];

        snprintf(env_snap, sizeof(env_snap), "CAIRN_MEMORY_SNAPSHOT_DIR=%s", snapdir[r]);
        harness_memory_start(&replica[r], &broker, pg.url,
                             (const char *const[]){ env_snap, "CAIRN_MEMORY_ANN_MIN=300",
                                                    "CAIRN_MEMORY_LINK_TOP_K=0",
                                                    "CAIRN_PG_POOL_SIZE=4", NULL });
        ck_assert_msg(harness_wait_ready(&replica[r], 30000), "memory not ready (%s)",
                      replica[r].log_path);
}

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(state, sizeof(state), "%s/memory-index-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        for (int r = 0; r < 2; r++)
                snprintf(snapdir[r], sizeof(snapdir[r]), "%s-snap%d", state, r);
        harness_broker_start(&broker, 1);
        topic = harness_topic("cairn.memory.v1.requests");
        harness_topic_create(&broker, topic, 4);
        harness_pg_start(&pg, state);
        replica_start(0);
        harness_client_start(&client, &broker, "itest");
}

static void teardown(void)
{
        harness_client_stop(&client);
        for (int r = 0; r < 2; r++)
                if (replica[r].pid > 0)
                        harness_service_stop(&replica[r], 10000);
        harness_pg_stop(&pg);
        harness_broker_stop(&broker);
}

/* A vector near one of 20 directions, different for each @p i. */
static void vec_of(int i, float *v)
{
        unsigned seed = (unsigned)i * 2654435761u + 1;

        for (int d = 0; d < DIM; d++)
                v[d] = (d % 20 == i % 20 ? 2.0f : 0.0f) + (float)rand_r(&seed) / (float)RAND_MAX;
}

/* Stores memories [from, to) of @p user, batches of up to 100; their ids
 * into @p ids when not NULL. */
static void store(const char *user, int from, int to, char (*ids)[37])
{
        static Cairn__Memory__V1__MemoryInput items[100], *ptrs[100];
        static float vecs[100][DIM];
        static char texts[100][64];
        char key[64];

        snprintf(key, sizeof(key), "t1/%s", user);
        for (int b = from; b < to; b += 100) {
                Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
                Cairn__Memory__V1__StoreReply *out = NULL;
                struct cairn_status st;
                int n = to - b < 100 ? to - b : 100;

                in.user_id = (char *)user;
                for (int i = 0; i < n; i++) {
                        cairn__memory__v1__memory_input__init(&items[i]);
                        snprintf(texts[i], sizeof(texts[i]), "fact %d of %s", b + i, user);
                        vec_of(b + i, vecs[i]);
                        items[i].content = texts[i];
                        items[i].embedding = vecs[i];
                        items[i].n_embedding = DIM;
                        ptrs[i] = &items[i];
                }
                in.items = ptrs;
                in.n_items = (size_t)n;
                ck_assert_msg(cairn_bus_call(client.cli, topic, key, &in.base, NULL,
                                             &cairn__memory__v1__store_reply__descriptor, NULL,
                                             (ProtobufCMessage **)&out, &st) == CAIRN_OK,
                              "store for %s: %s", user, st.message);
                ck_assert_uint_eq(out->n_results, (size_t)n);
                for (int i = 0; ids && i < n; i++)
                        snprintf(ids[b + i - from], 37, "%s", out->results[i]->memory->id);
                cairn__memory__v1__store_reply__free_unpacked(out, NULL);
        }
}

/* The ids of @p user's top @p k by vector for memory @p i's vector. */
static size_t search(const char *user, int i, size_t k, char (*ids)[37])
{
        Cairn__Memory__V1__SearchRequest in = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        Cairn__Memory__V1__SearchReply *r = NULL;
        struct cairn_status st;
        char key[64];
        float q[DIM];
        size_t n;

        snprintf(key, sizeof(key), "t1/%s", user);
        vec_of(i, q);
        in.user_id = (char *)user;
        in.vector = q;
        in.n_vector = DIM;
        in.top_k = (uint32_t)k;
        in.mode = CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR;
        ck_assert_msg(cairn_bus_call(client.cli, topic, key, &in.base, NULL,
                                     &cairn__memory__v1__search_reply__descriptor, NULL,
                                     (ProtobufCMessage **)&r, &st) == CAIRN_OK,
                      "search of %s: %s", user, st.message);
        n = r->n_results;
        for (size_t j = 0; j < n && j < k; j++)
                snprintf(ids[j], 37, "%s", r->results[j]->memory->id);
        cairn__memory__v1__search_reply__free_unpacked(r, NULL);
        return n;
}

static size_t files_in(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        if (!d)
                return 0;
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

START_TEST(test_graph_snapshot_restart_erase)
{
        static char ids[BIG][37], before[10][37], after[10][37];
        Cairn__Memory__V1__EraseUserRequest er = CAIRN__MEMORY__V1__ERASE_USER_REQUEST__INIT;
        Cairn__Memory__V1__EraseUserReply *gone = NULL;
        struct cairn_status st;
        size_t nb, na;

        store("big", 0, BIG, ids);
        ck_assert_uint_eq(search("big", 5, 10, before), 10); /* loads it: a build starts */
        ck_assert_str_eq(before[0], ids[5]);
        harness_wait_metric(replica[0].admin_port, "cairn_memory_index_graphs", 1, 60000);
        /* the build writes the snapshot: the graph and the entries */
        ck_assert_uint_eq(files_in(snapdir[0]), 2);
        nb = search("big", 5, 10, before);
        ck_assert_str_eq(before[0], ids[5]);

        ck_assert_int_eq(harness_service_stop(&replica[0], 10000), 0);
        replica_start(0);
        na = search("big", 5, 10, after);
        ck_assert_uint_eq(na, nb);
        for (size_t i = 0; i < nb; i++)
                ck_assert_str_eq(after[i], before[i]);
        ck_assert_int_eq(harness_count_in_file(replica[0].log_path, "from a snapshot"), 1);
        harness_wait_metric(replica[0].admin_port, "cairn_memory_index_graphs", 1, 60000);

        er.user_id = "big";
        ck_assert_int_eq(cairn_bus_call(client.cli, topic, "t1/big", &er.base, NULL,
                                        &cairn__memory__v1__erase_user_reply__descriptor, NULL,
                                        (ProtobufCMessage **)&gone, &st),
                         CAIRN_OK);
        cairn__memory__v1__erase_user_reply__free_unpacked(gone, NULL);
        ck_assert_uint_eq(files_in(snapdir[0]), 0);
}
END_TEST

START_TEST(test_rebalance_loses_nothing)
{
        char user[32], top[1][37];
        static char last[USERS][1][37];
        int64_t until;

        /* every user loaded by replica 0, which owns every partition */
        for (int u = 0; u < USERS; u++) {
                snprintf(user, sizeof(user), "r%d", u);
                store(user, 0, 3, NULL);
                ck_assert_uint_eq(search(user, 1, 1, top), 1);
        }
        /* replica 1 joins: partitions move, and users with them */
        replica_start(1);
        until = cairn_mono_us() + 60 * 1000000LL;
        while (harness_count_in_file(replica[1].log_path, "assigned 2 partition") == 0 &&
               cairn_mono_us() < until)
                usleep(100 * 1000);
        ck_assert_msg(harness_count_in_file(replica[1].log_path, "assigned 2 partition") > 0,
                      "replica 1 got no partition (%s)", replica[1].log_path);
        for (int u = 0; u < USERS; u++) {
                snprintf(user, sizeof(user), "r%d", u);
                store(user, 3, 4, last[u]);
        }
        ck_assert_msg(harness_metric(replica[1].admin_port,
                                     "cairn_memory_stores_total{outcome=\"created\"}") > 0,
                      "replica 1 stored nothing");
        /* and back when it leaves: each user sees what the other stored */
        ck_assert_int_eq(harness_service_stop(&replica[1], 10000), 0);
        for (int u = 0; u < USERS; u++) {
                snprintf(user, sizeof(user), "r%d", u);
                ck_assert_uint_eq(search(user, 3, 1, top), 1);
                ck_assert_msg(strcmp(top[0], last[u][0]) == 0, "%s lost %s after the rebalance",
                              user, last[u][0]);
        }
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("0036-memory_index");
        TCase *tc = tcase_create("index");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_graph_snapshot_restart_erase);
        tcase_add_test(tc, test_rebalance_loses_nothing);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}

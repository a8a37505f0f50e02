/* cairn-memory when things fail, on a PostgreSQL of the test's own:
 *   - SIGKILL while a batch store is being handled: after the restart the
 *     redelivered request completes, every memory exactly once, and the
 *     same request again changes nothing;
 *   - a restart answers the same search with the same results;
 *   - the embedding service gone: a store that needs it is UNAVAILABLE
 *     naming the embedding, a store with the caller's vector still works;
 *   - PostgreSQL gone: UNAVAILABLE promptly, and /readyz says so. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/resilience.h"
#include "harness.h"

#define DIM   384
#define BATCH 60

static struct harness_broker broker;
static struct harness_proc embedding, memory;
static struct harness_client client;
static struct harness_pg pg;
static char state[512];
static const char *topic;

static void memory_start(void)
{
        harness_memory_start(&memory, &broker, pg.url,
                             (const char *const[]){ "CAIRN_MEMORY_EMBEDDING_MODEL="
                                                    "cairn-lexical-384",
                                                    /* a silent embedding service is
                                                     * given up on after 2 s */
                                                    "CAIRN_RESILIENCE_BUS_TIMEOUT_MS=2000",
                                                    "CAIRN_PG_POOL_SIZE=4", NULL });
        ck_assert_msg(harness_wait_ready(&memory, 30000), "memory not ready (%s)", memory.log_path);
}

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");
        snprintf(state, sizeof(state), "%s/memory-faults-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        harness_broker_start(&broker, 1);
        harness_pg_start(&pg, state);
        topic = harness_topic("cairn.memory.v1.requests");
        harness_service_start(&embedding, &broker, "embedding", NULL);
        ck_assert_msg(harness_wait_ready(&embedding, 30000), "embedding not ready (%s)",
                      embedding.log_path);
        memory_start();
        harness_client_start(&client, &broker, "itest");
        harness_client_direct(&client, topic, 60000);
}

static void teardown(void)
{
        harness_client_stop(&client);
        harness_service_stop(&memory, 10000);
        harness_service_stop(&embedding, 10000);
        harness_pg_stop(&pg);
        harness_broker_stop(&broker);
}

static void axis(float *v, int a)
{
        memset(v, 0, DIM * sizeof(float));
        v[a % DIM] = 1.0f;
}

static long long sql_count(const char *sql)
{
        char out[64];

        ck_assert_msg(harness_pg_scalar(pg.url, sql, out, sizeof(out)) == 0, "%s: %s", sql, out);
        return atoll(out);
}

struct async_reply {
        atomic_int done;
        cairn_err_t err;
        struct cairn_status st;
        size_t results;
};

static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        struct async_reply *r = opaque;
        Cairn__Memory__V1__StoreReply *out;

        r->err = reply->err;
        r->st = reply->st;
        if (reply->err == CAIRN_OK) {
                out = cairn__memory__v1__store_reply__unpack(NULL, reply->len, reply->payload);
                r->results = out ? out->n_results : 0;
                if (out)
                        cairn__memory__v1__store_reply__free_unpacked(out, NULL);
        }
        atomic_store(&r->done, 1);
}

/* A batch of BATCH orthogonal memories (no duplicates, no merges). */
static void batch_build(Cairn__Memory__V1__StoreRequest *in, Cairn__Memory__V1__MemoryInput *items,
                        Cairn__Memory__V1__MemoryInput **ptrs, float (*vecs)[DIM],
                        char (*texts)[64])
{
        cairn__memory__v1__store_request__init(in);
        in->user_id = "k1";
        for (int i = 0; i < BATCH; i++) {
                cairn__memory__v1__memory_input__init(&items[i]);
                snprintf(texts[i], sizeof(texts[i]), "batch fact number %d", i);
                axis(vecs[i], i);
                items[i].content = texts[i];
                items[i].embedding = vecs[i];
                items[i].n_embedding = DIM;
                ptrs[i] = &items[i];
        }
        in->items = ptrs;
        in->n_items = BATCH;
}

START_TEST(test_kill_during_batch_store)
{
        static Cairn__Memory__V1__MemoryInput items[BATCH];
        static Cairn__Memory__V1__MemoryInput *ptrs[BATCH];
        static float vecs[BATCH][DIM];
        static char texts[BATCH][64];
        Cairn__Memory__V1__StoreRequest in;
        Cairn__Memory__V1__StoreReply *again;
        struct cairn_call_opts opts = { .timeout_ms = 60000,
                                        .ce_id = "5a1f0e52-5f1c-4b0e-9b7e-5a4c1d2e3f42" };
        struct async_reply r = { 0 };
        struct cairn_status st;
        int64_t until;

        batch_build(&in, items, ptrs, vecs, texts);
        ck_assert_int_eq(cairn_bus_call_async(client.cli, topic, "t1/k1", &in.base, &opts, on_reply,
                                              &r, &st),
                         CAIRN_OK);
        /* killed while the batch is being written (or just before, or
         * after: each is a crash the service must survive) */
        usleep(40 * 1000);
        harness_proc_kill(&memory);
        memory_start();
        until = cairn_mono_us() + 60 * 1000000LL;
        while (!atomic_load(&r.done) && cairn_mono_us() < until)
                usleep(20 * 1000);
        ck_assert_msg(atomic_load(&r.done), "no reply after the restart");
        ck_assert_msg(r.err == CAIRN_OK, "the batch store: %d %s %s: %s", r.err, r.st.field,
                      r.st.reason, r.st.message);
        ck_assert_uint_eq(r.results, BATCH);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE user_id = 'k1'"), BATCH);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_history WHERE user_id = 'k1'"),
                         BATCH);
        /* the same request again: the first reply, nothing new */
        ck_assert_int_eq(cairn_bus_call(client.cli, topic, "t1/k1", &in.base, &opts,
                                        &cairn__memory__v1__store_reply__descriptor, NULL,
                                        (ProtobufCMessage **)&again, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(again->n_results, BATCH);
        for (size_t i = 0; i < again->n_results; i++)
                ck_assert_int_eq(again->results[i]->outcome,
                                 CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED);
        cairn__memory__v1__store_reply__free_unpacked(again, NULL);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE user_id = 'k1'"), BATCH);
}
END_TEST

/* The ids and scores of user k1's top 10 for a fixed vector. */
static void top10(char ids[10][37], float scores[10], size_t *n)
{
        Cairn__Memory__V1__SearchRequest in = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        Cairn__Memory__V1__SearchReply *r = NULL;
        struct cairn_status st;
        float q[DIM];

        for (int i = 0; i < DIM; i++)
                q[i] = (float)((i * 7) % 11) + 1.0f;
        in.user_id = "k1";
        in.query = "batch fact";
        in.vector = q;
        in.n_vector = DIM;
        in.top_k = 10;
        ck_assert_int_eq(cairn_bus_call(client.cli, topic, "t1/k1", &in.base, NULL,
                                        &cairn__memory__v1__search_reply__descriptor, NULL,
                                        (ProtobufCMessage **)&r, &st),
                         CAIRN_OK);
        *n = r->n_results;
        for (size_t i = 0; i < r->n_results && i < 10; i++) {
                snprintf(ids[i], 37, "%s", r->results[i]->memory->id);
                scores[i] = r->results[i]->score;
        }
        cairn__memory__v1__search_reply__free_unpacked(r, NULL);
}

START_TEST(test_restart_answers_the_same)
{
        char before[10][37], after[10][37];
        float sb[10], sa[10];
        size_t nb, na;

        top10(before, sb, &nb);
        ck_assert_uint_eq(nb, 10);
        ck_assert_int_eq(harness_service_stop(&memory, 10000), 0);
        memory_start();
        top10(after, sa, &na);
        ck_assert_uint_eq(na, nb);
        for (size_t i = 0; i < nb; i++) {
                ck_assert_str_eq(after[i], before[i]);
                ck_assert_float_eq(sa[i], sb[i]);
        }
}
END_TEST

START_TEST(test_embedding_down)
{
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        Cairn__Memory__V1__StoreRequest own = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        struct cairn_call_opts opts = { .timeout_ms = 20000 };
        struct cairn_status st;
        cairn_err_t err;
        int64_t t0;
        float v[DIM];

        ck_assert_int_eq(harness_service_stop(&embedding, 10000), 0);
        in.user_id = "k2";
        in.content = "needs the embedding service";
        t0 = cairn_mono_us();
        ck_assert_int_eq(cairn_bus_call(client.cli, topic, "t1/k2", &in.base, &opts,
                                        &cairn__memory__v1__store_reply__descriptor, NULL, &out,
                                        &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.field, "embedding");
        ck_assert_msg(cairn_mono_us() - t0 < 10 * 1000000LL, "took %lld ms",
                      (long long)(cairn_mono_us() - t0) / 1000);
        /* with the caller's vector it needs no embedding service */
        axis(v, 300);
        own.user_id = "k2";
        own.content = "comes with its own vector";
        own.embedding = v;
        own.n_embedding = DIM;
        err = cairn_bus_call(client.cli, topic, "t1/k2", &own.base, &opts,
                             &cairn__memory__v1__store_reply__descriptor, NULL, &out, &st);
        ck_assert_msg(err == CAIRN_OK, "store with its own vector: %d %s %s: %s", err, st.field,
                      st.reason, st.message);
        protobuf_c_message_free_unpacked(out, NULL);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE user_id = 'k2'"), 1);
        harness_service_start(&embedding, &broker, "embedding", NULL);
        ck_assert(harness_wait_ready(&embedding, 30000));
}
END_TEST

START_TEST(test_postgres_down)
{
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        struct cairn_call_opts opts = { .timeout_ms = 20000 };
        struct cairn_status st;
        char cmd[1200], buf[1024], *body = NULL;
        int64_t t0;
        float v[DIM];

        snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' stop '%s'", harness_root(), state);
        ck_assert_msg(harness_sh(buf, sizeof(buf), cmd) == 0, "%s: %s", cmd, buf);
        axis(v, 301);
        in.user_id = "k3";
        in.content = "no database";
        in.embedding = v;
        in.n_embedding = DIM;
        t0 = cairn_mono_us();
        ck_assert_int_eq(cairn_bus_call(client.cli, topic, "t1/k3", &in.base, &opts,
                                        &cairn__memory__v1__store_reply__descriptor, NULL, &out,
                                        &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(cairn_mono_us() - t0 < 5 * 1000000LL, "took %lld ms",
                      (long long)(cairn_mono_us() - t0) / 1000);
        ck_assert_int_eq(harness_http_get(memory.admin_port, "/readyz", &body, 5000), 503);
        ck_assert_msg(body && strstr(body, "postgres"), "%s", body ? body : "(none)");
        free(body);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0034-memory_faults");
        TCase *tc = tcase_create("faults");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_kill_during_batch_store);
        tcase_add_test(tc, test_restart_answers_the_same);
        tcase_add_test(tc, test_embedding_down);
        tcase_add_test(tc, test_postgres_down);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

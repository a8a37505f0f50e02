/* Benchmarks of the memory service, through the bus, on a dev broker and a
 * PostgreSQL of its own:
 *
 *  1. the data set: 200,000 memories with 384-d caller vectors (clustered,
 *     as embeddings are), one user with 100,000 and 1,000 users with 100,
 *     stored in batches of 100: the load rate;
 *  2. the large user's graph: its build time, and the recall@10 of vector
 *     searches against exact search computed here (the baseline);
 *  3. searches one at a time, by vector, by keyword and hybrid (a query
 *     text and its vector): the large user, small users cold (first use:
 *     loaded from PostgreSQL) and warm; a Get of one memory as the floor;
 *  4. storing single memories with caller vectors, several in flight;
 *  5. the same with all-MiniLM-L6-v2 embedding the content, and the share
 *     of the store time spent waiting for the embedding;
 *  6. resident memory against the vectors' raw bytes;
 *  7. restart: to ready, and to the large user's first answer.
 *
 * Prints "name value" lines.   memory [seconds-per-phase]
 * BENCH_MEMORY_SCALE=N divides the data set's size by N (a quick look). */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/resilience.h"
#include "harness.h"
#include "lib/proc.h"

#define DIM       384
#define PER_SMALL 100
#define BATCH     100
#define CENTERS   2000
#define TOPICS    100
#define VOCAB     3000
#define QUERIES   200
#define K         10
#define WINDOW    8 /* batches in flight while loading */

static int seconds = 10;
/* the data set's size, divided by BENCH_MEMORY_SCALE for a quick look */
static int n_large = 100000, n_small = 1000;
static struct harness_broker broker;
static struct harness_proc memory, embedding;
static struct harness_client client;
static struct harness_pg pg;
static const char *topic;
static char state[512], snapdir[600], model_dir[1024];
static bool have_model;

static float (*centers)[DIM];
static float (*large_vecs)[DIM]; /* the large user's, unit length: exact search */
static char (*large_ids)[37];

/* ---- the data ---- */

static float frand(unsigned *seed)
{
        return (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
}

static void normalize(float *v)
{
        double n = 0;

        for (int d = 0; d < DIM; d++)
                n += (double)v[d] * v[d];
        n = sqrt(n);
        for (int d = 0; d < DIM; d++)
                v[d] = (float)(v[d] / n);
}

/* Centers of subjects, themselves near one of TOPICS topics: neighbours
 * come from several subjects of a topic, as with embeddings of real text,
 * not from one tight cluster each. */
static void centers_init(void)
{
        float topics[TOPICS][DIM];
        unsigned seed = 42;

        for (int t = 0; t < TOPICS; t++)
                for (int d = 0; d < DIM; d++)
                        topics[t][d] = frand(&seed);
        centers = malloc(sizeof(*centers) * CENTERS);
        for (int c = 0; c < CENTERS; c++)
                for (int d = 0; d < DIM; d++)
                        centers[c][d] = topics[c % TOPICS][d] + 0.8f * frand(&seed);
}

/* Memory @p i of user @p u (-1: the large user): a vector near one of the
 * centers and a content of eight words of that center's part of the
 * vocabulary; both depend only on (u, i). */
static void memory_of(int u, int i, float *v, char *text, size_t size)
{
        unsigned seed = (unsigned)(u + 2) * 2654435761u ^ (unsigned)i * 40503u;
        int c = rand_r(&seed) % CENTERS;
        size_t len;

        for (int d = 0; d < DIM; d++)
                v[d] = centers[c][d] + 0.9f * frand(&seed);
        normalize(v);
        len = (size_t)snprintf(text, size, "note %d of user %d:", i, u);
        for (int w = 0; w < 8 && len < size; w++)
                len += (size_t)snprintf(text + len, size - len, " w%d",
                                        (c * 7 + rand_r(&seed) % 40) % VOCAB);
}

/* A query near center @p c: its vector and two of its words. */
static void query_of(int c, unsigned *seed, float *v, char *text, size_t size)
{
        for (int d = 0; d < DIM; d++)
                v[d] = centers[c][d] + 0.9f * frand(seed);
        normalize(v);
        snprintf(text, size, "w%d w%d", (c * 7 + rand_r(seed) % 40) % VOCAB,
                 (c * 7 + rand_r(seed) % 40) % VOCAB);
}

/* ---- calls ---- */

struct pending {
        atomic_int inflight;
        atomic_long done, errors;
        struct harness_samples lat;
};

struct call {
        struct pending *p;
        int64_t t0;
        int large_from; /* a batch of the large user: its first index; -1 otherwise */
};

static void on_store(const struct cairn_reply *reply, void *opaque)
{
        struct call *c = opaque;

        harness_samples_add(&c->p->lat, (double)(cairn_mono_us() - c->t0));
        if (reply->err) {
                if (atomic_fetch_add(&c->p->errors, 1) == 0)
                        fprintf(stderr, "first store error: %s: %s\n", cairn_err_str(reply->err),
                                reply->st.message);
        } else if (c->large_from >= 0) {
                Cairn__Memory__V1__StoreReply *r =
                        cairn__memory__v1__store_reply__unpack(NULL, reply->len, reply->payload);

                for (size_t i = 0; r && i < r->n_results; i++)
                        snprintf(large_ids[c->large_from + (int)i], 37, "%s",
                                 r->results[i]->memory->id);
                if (r)
                        cairn__memory__v1__store_reply__free_unpacked(r, NULL);
        }
        atomic_fetch_add(&c->p->done, 1);
        atomic_fetch_sub(&c->p->inflight, 1);
        free(c);
}

/* Sends memories [from, from + n) of user @p u in one request, with their
 * vectors unless @p embed. */
static void store_send(struct pending *p, int u, int from, int n, bool embed)
{
        static __thread Cairn__Memory__V1__MemoryInput items[BATCH], *ptrs[BATCH];
        static __thread float vecs[BATCH][DIM];
        static __thread char texts[BATCH][160];
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        struct call *c = malloc(sizeof(*c));
        struct cairn_status st;
        char user[32], key[48];

        snprintf(user, sizeof(user), u < 0 ? "large" : "small%d", u);
        snprintf(key, sizeof(key), "bench/%s", user);
        in.user_id = user;
        for (int i = 0; i < n; i++) {
                cairn__memory__v1__memory_input__init(&items[i]);
                memory_of(u, from + i, vecs[i], texts[i], sizeof(texts[i]));
                items[i].content = texts[i];
                if (!embed) {
                        items[i].embedding = vecs[i];
                        items[i].n_embedding = DIM;
                }
                ptrs[i] = &items[i];
        }
        in.items = ptrs;
        in.n_items = (size_t)n;
        c->p = p;
        c->t0 = cairn_mono_us();
        c->large_from = u < 0 ? from : -1;
        atomic_fetch_add(&p->inflight, 1);
        if (cairn_bus_call_async(client.cli, topic, key, &in.base, NULL, on_store, c, &st) !=
            CAIRN_OK) {
                atomic_fetch_sub(&p->inflight, 1);
                atomic_fetch_add(&p->errors, 1);
                free(c);
        }
}

static void wait_below(struct pending *p, int n)
{
        while (atomic_load(&p->inflight) >= n)
                usleep(100);
}

/* One search; its latency in microseconds, or -1 on an error. The result
 * ids go to @p ids when not NULL. */
static double search(const char *user, const float *v, const char *text, int mode, size_t k,
                     char (*ids)[37])
{
        Cairn__Memory__V1__SearchRequest in = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        Cairn__Memory__V1__SearchReply *r = NULL;
        struct cairn_status st;
        char key[48];
        int64_t t0 = cairn_mono_us();
        double us;

        snprintf(key, sizeof(key), "bench/%s", user);
        in.user_id = (char *)user;
        in.vector = (float *)v;
        in.n_vector = DIM;
        in.query = (char *)text;
        in.top_k = (uint32_t)k;
        in.mode = (Cairn__Memory__V1__SearchMode)mode;
        if (cairn_bus_call(client.cli, topic, key, &in.base, NULL,
                           &cairn__memory__v1__search_reply__descriptor, NULL,
                           (ProtobufCMessage **)&r, &st) != CAIRN_OK) {
                fprintf(stderr, "search of %s: %s\n", user, st.message);
                return -1;
        }
        us = (double)(cairn_mono_us() - t0);
        for (size_t i = 0; ids && i < r->n_results && i < k; i++)
                snprintf(ids[i], 37, "%s", r->results[i]->memory->id);
        cairn__memory__v1__search_reply__free_unpacked(r, NULL);
        return us;
}

/* ---- the stack ---- */

static void memory_start(void)
{
        char env_snap[700], env_ann[64];

        snprintf(env_snap, sizeof(env_snap), "CAIRN_MEMORY_SNAPSHOT_DIR=%s", snapdir);
        /* the default, unless the data set is scaled below it */
        snprintf(env_ann, sizeof(env_ann), "CAIRN_MEMORY_ANN_MIN=%d",
                 n_large / 2 < 20000 ? n_large / 2 : 20000);
        harness_memory_start(&memory, &broker, pg.url,
                             (const char *const[]){ env_snap, env_ann, NULL });
}

static void stack_start(void)
{
        const char *tmp = getenv("TMPDIR");
        char env_dir[1100];

        snprintf(state, sizeof(state), "%s/bench-memory-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        snprintf(snapdir, sizeof(snapdir), "%s-snapshots", state);
        harness_broker_start(&broker, 1);
        harness_pg_start(&pg, state);
        topic = harness_topic("cairn.memory.v1.requests");
        have_model = harness_bert_model_dir("bench memory", model_dir, sizeof(model_dir));
        snprintf(env_dir, sizeof(env_dir), "CAIRN_EMBEDDING_MODELS_1_DIR=%s", model_dir);
        if (have_model) {
                harness_service_start(&embedding, &broker, "embedding",
                                      (const char *const[]){ "CAIRN_EMBEDDING_MODELS_1_NAME="
                                                             "all-MiniLM-L6-v2",
                                                             "CAIRN_EMBEDDING_MODELS_1_PROVIDER="
                                                             "bert",
                                                             env_dir, NULL });
                ck_assert_msg(harness_wait_ready(&embedding, 60000), "embedding not ready (%s)",
                              embedding.log_path);
        }
        memory_start();
        ck_assert_msg(harness_wait_ready(&memory, 60000), "memory not ready (%s)", memory.log_path);
        harness_client_start(&client, &broker, "bench");
        harness_client_direct(&client, topic, 120000);
}

static void stack_stop(void)
{
        harness_client_stop(&client);
        harness_service_stop(&memory, 60000);
        if (have_model)
                harness_service_stop(&embedding, 10000);
        harness_pg_stop(&pg);
        harness_broker_stop(&broker);
}

static void metric_wait(const char *name, double want, int timeout_s)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_s * 1000000;

        while (harness_metric(memory.admin_port, name) < want && cairn_mono_us() < until)
                usleep(200 * 1000);
        ck_assert_msg(harness_metric(memory.admin_port, name) >= want, "%s never reached %g", name,
                      want);
}

static void print_pcts(const char *name, struct harness_samples *s)
{
        printf("%s_p50_ms %.3f\n%s_p99_ms %.3f\n", name, harness_samples_pct(s, 0.5) / 1000.0, name,
               harness_samples_pct(s, 0.99) / 1000.0);
}

/* CPU time so far of the processes a store goes through, microseconds. */
struct cpu {
        double memory, pg, broker, embedding;
};

static void cpu_now(struct cpu *c)
{
        c->memory = harness_proc_cpu_us(memory.pid);
        c->pg = bench_tree_cpu_us(bench_pg_postmaster(pg.port));
        c->broker = harness_proc_cpu_us(bench_broker_pid(&broker));
        c->embedding = have_model ? harness_proc_cpu_us(embedding.pid) : 0;
}

/* What each process spent per request between @p a and now. */
static void cpu_print(const char *name, const struct cpu *a, long requests)
{
        struct cpu b;

        cpu_now(&b);
        if (requests <= 0)
                return;
        printf("%s_cpu_us_memory %.0f\n%s_cpu_us_pg %.0f\n%s_cpu_us_broker %.0f\n", name,
               (b.memory - a->memory) / (double)requests, name, (b.pg - a->pg) / (double)requests,
               name, (b.broker - a->broker) / (double)requests);
        if (have_model)
                printf("%s_cpu_us_embedding %.0f\n", name,
                       (b.embedding - a->embedding) / (double)requests);
}

/* The number after @p after in the last line of memory's log holding
 * @p needle, or -1. */
static double log_number(const char *needle, const char *after)
{
        char line[4096];
        double v = -1;
        FILE *fp = fopen(memory.log_path, "r");

        while (fp && fgets(line, sizeof(line), fp)) {
                const char *p = strstr(line, needle) ? strstr(line, after) : NULL;

                if (p)
                        v = atof(p + strlen(after));
        }
        if (fp)
                fclose(fp);
        return v;
}

/* ---- 1: the data set ---- */

static void load(void)
{
        struct pending p = { 0 };
        int64_t t0 = cairn_mono_us();
        int next_small = 0;
        struct cpu c0;
        double secs;

        cpu_now(&c0);
        harness_samples_init(&p.lat, 4096);
        /* the large user's batches queue on its worker, in order; the small
         * users' fill the other workers meanwhile */
        for (int b = 0; b < n_large / BATCH || next_small < n_small;) {
                wait_below(&p, WINDOW);
                if (b < n_large / BATCH && (b % 2 == 0 || next_small >= n_small)) {
                        store_send(&p, -1, b * BATCH, BATCH, false);
                        b++;
                } else if (next_small < n_small) {
                        store_send(&p, next_small++, 0, PER_SMALL, false);
                } else {
                        b++;
                }
        }
        wait_below(&p, 1);
        secs = (double)(cairn_mono_us() - t0) / 1e6;
        ck_assert_int_eq(atomic_load(&p.errors), 0);
        printf("load_memories %d\nload_seconds %.1f\nload_per_sec %.0f\n",
               n_large + n_small * PER_SMALL, secs, (n_large + n_small * PER_SMALL) / secs);
        print_pcts("load_batch", &p.lat);
        cpu_print("load_memory", &c0, n_large + n_small * PER_SMALL);
        harness_samples_free(&p.lat);
        fflush(stdout);
}

/* Statistics for the data just loaded, as after any bulk import: without
 * them the plans PostgreSQL cached while the tables were nearly empty
 * (full scans of small indexes) stay until autovacuum analyzes them. */
static void analyze(void)
{
        char out[256];
        int64_t t0 = cairn_mono_us();

        ck_assert_msg(harness_pg_scalar(pg.url, "ANALYZE", out, sizeof(out)) == 0, "ANALYZE: %s",
                      out);
        printf("analyze_s %.1f\n", (double)(cairn_mono_us() - t0) / 1e6);
}

/* ---- 2: the graph and its recall ---- */

/* The ids of the exact top K of the large user for @p q. */
static void exact_top(const float *q, char (*ids)[37])
{
        static struct {
                float score;
                int i;
        } top[K + 1];
        int n = 0;

        for (int i = 0; i < n_large; i++) {
                float s = 0;
                int j;

                for (int d = 0; d < DIM; d++)
                        s += q[d] * large_vecs[i][d];
                if (n == K && s <= top[K - 1].score)
                        continue;
                for (j = n < K ? n++ : K - 1; j > 0 && top[j - 1].score < s; j--)
                        top[j] = top[j - 1];
                top[j].score = s;
                top[j].i = i;
        }
        for (int j = 0; j < K; j++)
                snprintf(ids[j], 37, "%s", large_ids[top[j].i]);
}

static void graph_and_recall(void)
{
        char got[K][37], want[K][37], text[64];
        int64_t t0 = cairn_mono_us();
        long found = 0;
        double exact_us = 0;
        float q[DIM];
        unsigned seed = 99;

        large_vecs = malloc(sizeof(*large_vecs) * n_large);
        for (int i = 0; i < n_large; i++) {
                char t[160];

                memory_of(-1, i, large_vecs[i], t, sizeof(t));
        }
        /* the first use loads the user; the graph is built in the background */
        query_of(0, &seed, q, text, sizeof(text));
        printf("large_first_search_ms %.1f\n", search("large", q, text, 2, K, NULL) / 1000.0);
        metric_wait("cairn_memory_index_graphs", 1, 1800);
        printf("graph_ready_after_first_search_s %.1f\n", (double)(cairn_mono_us() - t0) / 1e6);
        printf("graph_build_s %.1f\n", log_number("graph of", "built in "));
        for (int n = 0; n < QUERIES; n++) {
                int64_t e0;

                query_of(rand_r(&seed) % CENTERS, &seed, q, text, sizeof(text));
                ck_assert(search("large", q, text, 2, K, got) >= 0);
                e0 = cairn_mono_us();
                exact_top(q, want);
                exact_us += (double)(cairn_mono_us() - e0);
                for (int i = 0; i < K; i++)
                        for (int j = 0; j < K; j++)
                                found += strcmp(want[i], got[j]) == 0;
        }
        printf("recall_at_10 %.4f\nrecall_queries %d\nexact_scan_ms %.2f\n",
               (double)found / (QUERIES * K), QUERIES, exact_us / QUERIES / 1000.0);
        fflush(stdout);
}

/* ---- 3: search latency ---- */

/* One Get of a memory of the large user: the bus and one row from
 * PostgreSQL, the floor under every search. */
static double get_one(int i)
{
        Cairn__Memory__V1__GetRequest in = CAIRN__MEMORY__V1__GET_REQUEST__INIT;
        Cairn__Memory__V1__GetReply *m = NULL;
        struct cairn_status st;
        int64_t t0 = cairn_mono_us();

        in.id = large_ids[i];
        if (cairn_bus_call(client.cli, topic, "bench/large", &in.base, NULL,
                           &cairn__memory__v1__get_reply__descriptor, NULL, (ProtobufCMessage **)&m,
                           &st) != CAIRN_OK) {
                fprintf(stderr, "get: %s\n", st.message);
                return -1;
        }
        cairn__memory__v1__get_reply__free_unpacked(m, NULL);
        return (double)(cairn_mono_us() - t0);
}

/* @p n searches in @p mode one at a time, of the large user (@p small < 0),
 * of random small users (@p small 0) or of each small user in turn, the
 * first use of each (@p small 1); prints their percentiles as @p name. */
static void latency(const char *name, int mode, int small, int n)
{
        struct harness_samples s;
        unsigned seed = 7 + (unsigned)mode;
        char text[64], user[32];
        float q[DIM];

        harness_samples_init(&s, (size_t)n);
        for (int i = 0; i < n; i++) {
                if (small < 0)
                        snprintf(user, sizeof(user), "large");
                else
                        snprintf(user, sizeof(user), "small%d",
                                 small ? i % n_small : rand_r(&seed) % n_small);
                query_of(rand_r(&seed) % CENTERS, &seed, q, text, sizeof(text));
                harness_samples_add(&s, search(user, q, text, mode, K, NULL));
        }
        print_pcts(name, &s);
        harness_samples_free(&s);
        fflush(stdout);
}

static void search_latency(void)
{
        struct harness_samples s;
        unsigned seed = 5;

        harness_samples_init(&s, 1000);
        for (int i = 0; i < 1000; i++)
                harness_samples_add(&s, get_one(rand_r(&seed) % n_large));
        print_pcts("get", &s);
        harness_samples_free(&s);
        latency("hybrid_small_cold", 1, 1, n_small);
        for (int small = -1; small <= 0; small++) {
                const char *who = small < 0 ? "large" : "small";
                char name[64];

                snprintf(name, sizeof(name), "vector_%s", who);
                latency(name, 2, small, 1000);
                snprintf(name, sizeof(name), "keyword_%s", who);
                latency(name, 3, small, 1000);
                snprintf(name, sizeof(name), "hybrid_%s", who);
                latency(name, 1, small, 1000);
        }
}

/* ---- 4, 5: storing single memories ---- */

/* Single stores to small users for the phase with @p window in flight;
 * prints the rate, percentiles and CPU per store under @p name. */
static void store_phase(const char *name, int window, bool embed, int *next)
{
        struct pending p = { 0 };
        int64_t t0 = cairn_mono_us(), end = t0 + (int64_t)seconds * 1000000;
        struct cpu c0;
        double secs;

        cpu_now(&c0);

        harness_samples_init(&p.lat, 1000000);
        while (cairn_mono_us() < end) {
                wait_below(&p, window);
                store_send(&p, *next % n_small, PER_SMALL + *next / n_small, 1, embed);
                (*next)++;
        }
        wait_below(&p, 1);
        secs = (double)(cairn_mono_us() - t0) / 1e6;
        printf("%s_window %d\n%s_per_sec %.0f\n%s_errors %ld\n", name, window, name,
               (double)atomic_load(&p.done) / secs, name, atomic_load(&p.errors));
        print_pcts(name, &p.lat);
        cpu_print(name, &c0, atomic_load(&p.done));
        harness_samples_free(&p.lat);
        fflush(stdout);
}

/* The sum of a histogram's series of memory whose line starts with @p
 * name, e.g. cairn_bus_request_duration_seconds_sum{type="..."}. */
static double msum(const char *name)
{
        double v = harness_metric(memory.admin_port, name);

        return v < 0 ? 0 : v;
}

#define STORE_SUM "cairn_bus_request_duration_seconds_sum{type=\"cairn.memory.v1.StoreRequest\"}"
#define EMBED_SUM "cairn_bus_call_duration_seconds_sum" /* memory calls only the embedding */

static void stores(void)
{
        int next = 0;

        store_phase("store_w1", 1, false, &next);
        store_phase("store_w16", 16, false, &next);
        if (!have_model) {
                printf("minilm_skipped the all-MiniLM-L6-v2 model is not available\n");
                return;
        }
        double s0 = msum(STORE_SUM), e0 = msum(EMBED_SUM);

        store_phase("store_minilm_w16", 16, true, &next);
        printf("minilm_embed_share %.3f\n",
               (msum(EMBED_SUM) - e0) / (msum(STORE_SUM) - s0 > 0 ? msum(STORE_SUM) - s0 : 1));
        fflush(stdout);
}

/* ---- 6, 7: memory and restart ---- */

static void rss_and_restart(void)
{
        char text[64];
        unsigned seed = 3;
        float q[DIM];
        int64_t t0;
        double first;

        printf("vectors_raw_kib %ld\n",
               (long)((n_large + (long)n_small * PER_SMALL) * DIM * sizeof(float) / 1024));
        printf("rss_kib %ld\nhwm_kib %ld\n", bench_status_kib(memory.pid, "VmRSS"),
               bench_status_kib(memory.pid, "VmHWM"));
        t0 = cairn_mono_us();
        ck_assert_int_eq(harness_service_stop(&memory, 60000), 0);
        printf("stop_s %.2f\n", (double)(cairn_mono_us() - t0) / 1e6);
        t0 = cairn_mono_us();
        memory_start();
        ck_assert_msg(harness_wait_ready(&memory, 60000), "memory not ready (%s)", memory.log_path);
        printf("restart_ready_s %.2f\n", (double)(cairn_mono_us() - t0) / 1e6);
        query_of(1, &seed, q, text, sizeof(text));
        first = search("large", q, text, 1, K, NULL);
        ck_assert(first >= 0);
        printf("restart_large_answer_s %.2f\nrestart_large_first_search_ms %.1f\n",
               (double)(cairn_mono_us() - t0) / 1e6, first / 1000.0);
        printf("restart_loaded_snapshot %d\nrestart_snapshot_load_s %.2f\n",
               harness_count_in_file(memory.log_path, "from a snapshot"),
               log_number("from a snapshot", "gone, in "));
        metric_wait("cairn_memory_index_graphs", 1, 5);
        printf("restart_rss_kib %ld\n", bench_status_kib(memory.pid, "VmRSS"));
        fflush(stdout);
}

START_TEST(bench_memory)
{
        centers_init();
        large_ids = calloc(n_large, sizeof(*large_ids));
        stack_start();
        printf("seconds %d\nlarge_memories %d\nsmall_users %d\nper_small %d\ndim %d\n", seconds,
               n_large, n_small, PER_SMALL, DIM);
        load();
        analyze();
        graph_and_recall();
        search_latency();
        stores();
        rss_and_restart();
        free(large_vecs);
        free(large_ids);
        free(centers);
}
END_TEST

int main(int argc, char **argv)
{
        const char *scale = getenv("BENCH_MEMORY_SCALE");

        if (argc > 1)
                seconds = atoi(argv[1]);
        if (scale && atoi(scale) > 1) {
                n_large /= atoi(scale);
                n_small /= atoi(scale);
        }
        return harness_bench_run("memory", bench_memory, 7200, stack_stop);
}

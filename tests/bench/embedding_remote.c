/* Benchmarks of the embedding service with remote models, against the fake
 * OpenAI-compatible provider of the tests and a Redis of its own:
 *
 *  1. the cache-hit path through the bus (single 10-word inputs, 64 in
 *     flight), against the lexical model through the same bus as the
 *     baseline, plus the cache-hit path called in-process (no bus);
 *  2. micro-batching: 256 concurrent single-input requests to a provider
 *     that takes 5 ms, with coalescing on and off: upstream requests per
 *     embedding and latency, through the bus and with the handler called
 *     in-process by 256 threads (the batcher's own cost, without the bus).
 *
 * Prints "name value" lines.   embedding_remote [seconds-per-phase] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/redis.h"
#include "cairn/resilience.h"
#include "embedding/embedding.h"
#include "fake_openai.h"
#include "harness.h"

#define DIM         384
#define NTEXTS      512
#define MAX_SAMPLES 4000000

static int seconds = 5;
static struct harness_broker broker;
static struct harness_proc redis;
static int redis_port;
static char dir[256];
static char texts[NTEXTS][96];

static const char *words[] = { "alpha",  "river",  "stone",   "quiet",   "garden", "mountain",
                               "silver", "window", "paper",   "lantern", "forest", "engine",
                               "harbor", "meadow", "thunder", "copper" };

static void texts_init(void)
{
        for (int i = 0; i < NTEXTS; i++) {
                size_t len = 0;
                for (int w = 0; w < 10; w++)
                        len += (size_t)snprintf(texts[i] + len, sizeof(texts[i]) - len, "%s%s",
                                                w ? " " : "",
                                                words[(i * 7 + w * (i % 5 + 1)) % 16]);
                snprintf(texts[i] + len, sizeof(texts[i]) - len, " %d", i);
        }
}

/* ---- latency samples ---- */

struct run {
        struct harness_client client;
        const char *model;
        struct harness_samples lat; /* microseconds */
        atomic_long inflight, done, errors;
        int slots;
};

struct call {
        struct run *run;
        int64_t t0;
};

static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        struct call *c = opaque;
        harness_samples_add(&c->run->lat, (double)(cairn_mono_us() - c->t0));
        if (reply->err && atomic_fetch_add(&c->run->errors, 1) == 0)
                fprintf(stderr, "first error: %s: %s\n", cairn_err_str(reply->err),
                        reply->st.message);
        atomic_fetch_add(&c->run->done, 1);
        atomic_fetch_sub(&c->run->inflight, 1);
        free(c);
}

static void send_one(struct run *r, long seq, const char *text)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { (char *)text };
        struct call *c = malloc(sizeof(*c));
        struct cairn_status st;
        char key[16];

        req.inputs = inputs;
        req.n_inputs = 1;
        req.model = (char *)r->model;
        c->run = r;
        c->t0 = cairn_mono_us();
        snprintf(key, sizeof(key), "k%ld", seq % r->slots);
        atomic_fetch_add(&r->inflight, 1);
        if (cairn_bus_call_async(r->client.cli, harness_topic("cairn.embedding.v1.requests"), key,
                                 &req.base, NULL, on_reply, c, &st) != CAIRN_OK) {
                atomic_fetch_sub(&r->inflight, 1);
                atomic_fetch_add(&r->errors, 1);
                free(c);
        }
}

/* The @p p quantile of @p r's latencies, in milliseconds. */
static double pct(struct run *r, double p)
{
        return harness_samples_pct(&r->lat, p) / 1000.0;
}

/* Keeps @p inflight single-input requests outstanding for the phase (unique
 * texts when @p unique); returns embeddings/s. */
static double closed_loop(struct run *r, int inflight, bool unique)
{
        int64_t start = cairn_mono_us(), end = start + (int64_t)seconds * 1000000;
        long base = atomic_load(&r->done), seq = 0;
        char text[128];

        harness_samples_reset(&r->lat);
        r->slots = inflight;
        while (cairn_mono_us() < end) {
                if (atomic_load(&r->inflight) < inflight) {
                        if (unique) {
                                snprintf(text, sizeof(text), "%s %ld", texts[seq % NTEXTS], seq);
                                send_one(r, seq, text);
                        } else {
                                send_one(r, seq, texts[seq % NTEXTS]);
                        }
                        seq++;
                } else {
                        usleep(50);
                }
        }
        double secs = (double)(cairn_mono_us() - start) / 1e6;
        double rate = (double)(atomic_load(&r->done) - base) / secs;
        int64_t until = cairn_mono_us() + 15 * 1000000LL;
        while (atomic_load(&r->inflight) > 0 && cairn_mono_us() < until)
                usleep(1000);
        return rate;
}

static void client_start(struct run *r, const char *model)
{
        struct cairn_resilience_conf rc;

        memset(r, 0, sizeof(*r));
        harness_samples_init(&r->lat, MAX_SAMPLES);
        r->model = model;
        r->slots = 64;
        harness_client_start(&r->client, &broker, "bench");
        cairn_resilience_conf_init(&rc, "embedding");
        rc.max_attempts = 1;
        rc.breaker_failures = 0;
        rc.breaker_failure_rate = 0;
        cairn_bus_client_resilience(r->client.cli, "embedding", &rc);
}

static void client_stop(struct run *r)
{
        harness_client_stop(&r->client);
        harness_samples_free(&r->lat);
}

static void service_start(struct harness_proc *svc, const char *yaml)
{
        char cfg[512], env_cfg[600];
        FILE *fp;

        snprintf(cfg, sizeof(cfg), "%s/embedding-%d.yaml", dir, rand());
        fp = fopen(cfg, "w");
        fputs(yaml, fp);
        fclose(fp);
        snprintf(env_cfg, sizeof(env_cfg), "CAIRN_CONFIG=%s", cfg);
        const char *env[] = { env_cfg, NULL };
        harness_service_start(svc, &broker, "embedding", env);
        if (!harness_wait_ready(svc, 30000)) {
                fprintf(stderr, "embedding not ready (see %s)\n", svc->log_path);
                exit(1);
        }
}

/* ---- 1: the cache-hit path ---- */

static void bench_cache(void)
{
        struct fake_openai *fa = fake_openai_start(DIM, 1);
        struct harness_proc svc;
        struct run r;
        char yaml[2048];
        unsigned upstream;

        snprintf(yaml, sizeof(yaml),
                 "admin: {address: 127.0.0.1}\n"
                 "bus: {workers: 8}\n"
                 "redis: {port: %d}\n"
                 "embedding:\n"
                 "  models:\n"
                 "    1: {name: remote, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d}\n",
                 redis_port, fake_openai_port(fa), DIM);
        service_start(&svc, yaml);
        client_start(&r, "remote");
        /* warm the cache: every text once */
        for (int i = 0; i < NTEXTS; i++)
                send_one(&r, i, texts[i]);
        while (atomic_load(&r.inflight) > 0)
                usleep(1000);
        printf("cache_warm_errors %ld\n", atomic_load(&r.errors));
        atomic_store(&r.errors, 0);
        upstream = fake_openai_requests(fa);
        double hit = closed_loop(&r, 64, false);
        printf("cache_hit_eps %.0f\n", hit);
        printf("cache_hit_p50_ms %.3f\ncache_hit_p99_ms %.3f\n", pct(&r, 0.5), pct(&r, 0.99));
        printf("cache_hit_upstream_requests %u\n", fake_openai_requests(fa) - upstream);
        printf("cache_hit_errors %ld\n", atomic_load(&r.errors));
        r.model = "";
        atomic_store(&r.errors, 0);
        double lex = closed_loop(&r, 64, false);
        printf("lexical_bus_eps %.0f\n", lex);
        printf("cache_vs_lexical %.2f\n", lex > 0 ? hit / lex : 0);
        client_stop(&r);
        harness_service_stop(&svc, 15000);
        fake_openai_stop(fa);
}

/* The embedding service without the bus: its handler called in-process,
 * with one model "remote" on the fake provider. */
struct inproc {
        struct embedding_conf conf;
        struct cairn_conf *loaded;
        struct cairn_redis *redis;
        struct embedding_service svc;
        char url[128];
};

static void inproc_start(struct inproc *ip, struct fake_openai *fa, const char *cache,
                         long long max_batch, long long batch_wait_us)
{
        struct cairn_redis_conf rconf = { "127.0.0.1", redis_port, "", 0, 8, 50, 50, 1000 };
        struct cairn_conf_section sec = embedding_conf_section(&ip->conf);
        char errstr[512], *env[] = { NULL };

        ip->redis = cairn_redis_new(&rconf, NULL);
        ip->loaded = cairn_conf_load(NULL, &sec, 1, env, errstr, sizeof(errstr));
        snprintf(ip->url, sizeof(ip->url), "http://127.0.0.1:%d/v1", fake_openai_port(fa));
        ip->conf.models[0].name = "remote";
        ip->conf.models[0].base_url = ip->url;
        ip->conf.models[0].dimensions = DIM;
        ip->conf.models[0].cache = cache;
        if (max_batch)
                ip->conf.models[0].max_batch = max_batch;
        ip->conf.models[0].batch_wait_us = batch_wait_us;
        struct embedding_deps deps = { .redis = ip->redis };
        if (!ip->loaded || embedding_service_init_with(&ip->svc, &ip->conf, &deps, NULL, errstr,
                                                       sizeof(errstr)) != CAIRN_OK) {
                fprintf(stderr, "in-process service: %s\n", errstr);
                exit(1);
        }
}

static void inproc_stop(struct inproc *ip)
{
        embedding_service_cleanup(&ip->svc);
        cairn_conf_free(ip->loaded);
        cairn_redis_free(ip->redis);
}

/* One single-input request through the handler; false on an error. */
static bool inproc_embed(struct inproc *ip, struct cairn_arena *arena, const char *text)
{
        Cairn__Embedding__V1__EmbedRequest in = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        char *inputs[] = { (char *)text };
        struct cairn_request req = { .arena = arena, .opaque = &ip->svc, .key = "k" };
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;
        bool ok;

        in.inputs = inputs;
        in.n_inputs = 1;
        in.model = "remote";
        ok = embedding_embed_handle(&req, &in.base, &reply, &st) == CAIRN_OK;
        if (!ok)
                fprintf(stderr, "in-process: %s\n", st.message);
        cairn_arena_reset(arena);
        return ok;
}

/* The cache-hit path, one thread. */
static void bench_cache_inprocess(void)
{
        struct fake_openai *fa = fake_openai_start(DIM, 1);
        struct inproc ip;
        struct cairn_arena arena;
        long n = 0;

        memset(&ip, 0, sizeof(ip));
        inproc_start(&ip, fa, "auto", 0, 0);
        cairn_arena_init(&arena, 0);
        int64_t start = cairn_mono_us(), end = start + (int64_t)seconds * 1000000;
        while (cairn_mono_us() < end) {
                if (!inproc_embed(&ip, &arena, texts[n % NTEXTS]))
                        exit(1);
                n++;
        }
        printf("cache_hit_inprocess_eps %.0f\n",
               (double)n / ((double)(cairn_mono_us() - start) / 1e6));
        cairn_arena_cleanup(&arena);
        inproc_stop(&ip);
        fake_openai_stop(fa);
}

/* Micro-batching in-process: BATCH_CALLERS threads, each a caller with one
 * single-input request outstanding at a time, unique texts, no cache. */
#define BATCH_CALLERS 256

struct batch_caller {
        struct inproc *ip;
        struct run *run; /* latency samples, counts of done and errors */
        atomic_bool *stop;
        int id;
};

static void *batch_caller_main(void *arg)
{
        struct batch_caller *bc = arg;
        struct cairn_arena arena;
        char text[128];

        cairn_arena_init(&arena, 0);
        for (long seq = 0; !atomic_load(bc->stop); seq++) {
                int64_t t0 = cairn_mono_us();

                snprintf(text, sizeof(text), "%s %d.%ld", texts[(seq + bc->id) % NTEXTS], bc->id,
                         seq);
                if (!inproc_embed(bc->ip, &arena, text))
                        atomic_fetch_add(&bc->run->errors, 1);
                harness_samples_add(&bc->run->lat, (double)(cairn_mono_us() - t0));
                atomic_fetch_add(&bc->run->done, 1);
        }
        cairn_arena_cleanup(&arena);
        return NULL;
}

/* Prints "<tag>_eps", "<tag>_upstream_per_embedding", "<tag>_p50_ms",
 * "<tag>_p99_ms" and "<tag>_errors" for one setting of the batch window. */
static void batching_inprocess(struct fake_openai *fa, const char *tag, long long batch_wait_us)
{
        static struct batch_caller callers[BATCH_CALLERS];
        static pthread_t threads[BATCH_CALLERS];
        struct inproc ip;
        struct run run;
        atomic_bool stop;

        memset(&ip, 0, sizeof(ip));
        memset(&run, 0, sizeof(run));
        harness_samples_init(&run.lat, MAX_SAMPLES);
        atomic_init(&stop, false);
        inproc_start(&ip, fa, "off", 128, batch_wait_us);
        unsigned before = fake_openai_requests(fa);
        int64_t start = cairn_mono_us();
        for (int i = 0; i < BATCH_CALLERS; i++) {
                callers[i] = (struct batch_caller){ &ip, &run, &stop, i };
                pthread_create(&threads[i], NULL, batch_caller_main, &callers[i]);
        }
        sleep((unsigned)seconds);
        atomic_store(&stop, true);
        for (int i = 0; i < BATCH_CALLERS; i++)
                pthread_join(threads[i], NULL);
        double secs = (double)(cairn_mono_us() - start) / 1e6;
        long done = atomic_load(&run.done);
        printf("%s_eps %.0f\n", tag, (double)done / secs);
        printf("%s_upstream_per_embedding %.4f\n", tag,
               done ? (double)(fake_openai_requests(fa) - before) / (double)done : 0);
        printf("%s_p50_ms %.3f\n%s_p99_ms %.3f\n", tag, pct(&run, 0.5), tag, pct(&run, 0.99));
        printf("%s_errors %ld\n", tag, atomic_load(&run.errors));
        harness_samples_free(&run.lat);
        inproc_stop(&ip);
}

static void bench_batching_inprocess(void)
{
        struct fake_openai *fa = fake_openai_start(DIM, 1);

        fake_openai_set(fa, &(struct fake_openai_mode){ .delay_ms = 5 });
        batching_inprocess(fa, "inproc_unbatched", 0);
        batching_inprocess(fa, "inproc_batched", 2000);
        fake_openai_stop(fa);
}

/* ---- 2: micro-batching ---- */

static void bench_batching(void)
{
        struct fake_openai *fa = fake_openai_start(DIM, 1);
        struct harness_proc svc;
        struct run r;
        char yaml[2048];
        unsigned before;
        long done;

        fake_openai_set(fa, &(struct fake_openai_mode){ .delay_ms = 5 });
        snprintf(yaml, sizeof(yaml),
                 "admin: {address: 127.0.0.1}\n"
                 "bus: {workers: 256}\n"
                 "embedding:\n"
                 "  models:\n"
                 "    1: {name: batched, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        cache: \"off\", max_batch: 128, batch_wait_us: 2000}\n"
                 "    2: {name: unbatched, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        cache: \"off\", batch_wait_us: 0}\n",
                 fake_openai_port(fa), DIM, fake_openai_port(fa), DIM);
        service_start(&svc, yaml);
        client_start(&r, "unbatched");

        before = fake_openai_requests(fa);
        done = atomic_load(&r.done);
        double un = closed_loop(&r, 256, true);
        double un_per = (double)(fake_openai_requests(fa) - before) /
                        (double)(atomic_load(&r.done) - done);
        printf("unbatched_eps %.0f\nunbatched_upstream_per_embedding %.3f\n", un, un_per);
        printf("unbatched_p50_ms %.3f\nunbatched_p99_ms %.3f\n", pct(&r, 0.5), pct(&r, 0.99));

        r.model = "batched";
        before = fake_openai_requests(fa);
        done = atomic_load(&r.done);
        double b = closed_loop(&r, 256, true);
        double b_per = (double)(fake_openai_requests(fa) - before) /
                       (double)(atomic_load(&r.done) - done);
        printf("batched_eps %.0f\nbatched_upstream_per_embedding %.4f\n", b, b_per);
        printf("batched_p50_ms %.3f\nbatched_p99_ms %.3f\n", pct(&r, 0.5), pct(&r, 0.99));
        printf("upstream_reduction %.1f\n", b_per > 0 ? un_per / b_per : 0);

        /* The bus alone at the same concurrency: the lexical model answers at once. */
        r.model = "";
        double lex = closed_loop(&r, 256, true);
        printf("lexical256_eps %.0f\n", lex);
        printf("lexical256_p50_ms %.3f\nlexical256_p99_ms %.3f\n", pct(&r, 0.5), pct(&r, 0.99));
        printf("batching_errors %ld\n", atomic_load(&r.errors));
        client_stop(&r);
        harness_service_stop(&svc, 15000);
        fake_openai_stop(fa);
}

START_TEST(bench_embedding_remote)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/emb-bench-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        texts_init();
        harness_broker_start(&broker, 1);
        redis_port = harness_free_port();
        harness_redis_start(&redis, dir, redis_port);
        bench_cache();
        bench_cache_inprocess();
        bench_batching();
        bench_batching_inprocess();
        harness_broker_stop(&broker);
        harness_proc_kill(&redis);
}
END_TEST

int main(int argc, char **argv)
{
        if (argc > 1)
                seconds = atoi(argv[1]);
        if (seconds < 1)
                seconds = 1;
        return harness_bench_run("embedding_remote", bench_embedding_remote, 120 + 8 * seconds,
                                 NULL);
}

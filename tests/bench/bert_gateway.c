/* all-MiniLM-L6-v2 end to end: wrk at 64 connections against the gateway's
 * POST /v1/embeddings (tests/bench/embeddings.lua, one 10-word input), with
 * one dev broker, one Redis and one cairn-embedding serving the model from
 * slot 1 as the dev stack does (deploy/dev/stack.sh), with its cache off so
 * every request runs the model, and the service's resident memory against
 * the size of the weights. In the same run, as baselines: the service's
 * built-in lexical model through the same gateway (what the path costs
 * without the model), and the model's speed in process comes from
 * tests/bench/bert.c (run.sh sets the two side by side).
 * Loads, BENCH_SECONDS each after a warm-up of 2 s:
 *   - one tenant, as tests/bench/gateway.c loads the lexical model: the
 *     gateway keys a request by its tenant, and the service, which keeps
 *     no state per key, spreads one key's requests over its workers, so
 *     its micro-batcher can group them;
 *   - TENANTS tenants in turn, the same requests over several keys (and
 *     so partitions);
 *   - the lexical model, one tenant.
 * Prints "key value" lines for run.sh; wrk's own report goes to stderr.
 *   bert_gateway MODEL_DIR [SECONDS [THREADS]]
 *       (default 5, and the number of cores: the model's threads setting) */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "gw_tokens.h"
#include "harness.h"
#include "lib/proc.h"
#include "lib/wrk.h"

#define WRK_CONNS   64
#define WRK_THREADS 2
/* Longer than the gateway's http.embeddings_timeout_ms (10 s): wrk waits
 * for every answer, a 504 at worst, rather than giving up on a request the
 * service would still compute and sending another. */
#define WRK_TIMEOUT "15s"
#define TENANTS     16
#define BUS_WORKERS 64 /* the service's, so that TENANTS tenants' requests meet */
#define MODEL       "all-MiniLM-L6-v2"
#define ALIAS       "sentence-transformers/all-MiniLM-L6-v2"
#define SECRET      "bench-hs256-secret-bench-hs256-secret-0123"

static struct harness_broker broker;
static struct harness_proc redis, embedding, gw;
static char model_dir[1024], wrk_bin[512];
static char *tokens[TENANTS];
static int bench_secs = 5, threads = 2, http_port;

/* ---- wrk ---- */

/* Runs wrk for @p secs with tests/bench/embeddings.lua asking for @p model,
 * from @p ntokens tenants (the first ntokens of tokens[]), and parses its
 * report into @p res; the command line, as run.sh shows it, into @p cmd.
 * Fails the benchmark when wrk fails or prints no figures. */
static void wrk_run(const char *model, int ntokens, int secs, struct wrk_result *res, char *cmd,
                    size_t cmd_size)
{
        char conns[16], thr[16], dur[16], url[256], script[512], model_env[128];
        char *argv[12], *tok_env, *env[3];
        struct wrk_run w;
        int argc = 0;

        snprintf(thr, sizeof(thr), "-t%d", WRK_THREADS);
        snprintf(conns, sizeof(conns), "-c%d", WRK_CONNS);
        snprintf(dur, sizeof(dur), "-d%ds", secs);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/embeddings", http_port);
        snprintf(script, sizeof(script), "%s/tests/bench/embeddings.lua", harness_root());
        snprintf(model_env, sizeof(model_env), "BENCH_MODEL=%s", model);
        {
                size_t cap = 32, o;

                for (int i = 0; i < ntokens; i++)
                        cap += strlen(tokens[i]) + 1;
                tok_env = malloc(cap);
                ck_assert_ptr_nonnull(tok_env);
                o = (size_t)snprintf(tok_env, cap, "BENCH_TOKENS=");
                for (int i = 0; i < ntokens; i++)
                        o += (size_t)snprintf(tok_env + o, cap - o, "%s%s", i ? " " : "",
                                              tokens[i]);
        }
        argv[argc++] = wrk_bin;
        argv[argc++] = thr;
        argv[argc++] = conns;
        argv[argc++] = dur;
        argv[argc++] = "--latency";
        argv[argc++] = "--timeout";
        argv[argc++] = WRK_TIMEOUT;
        argv[argc++] = "-s";
        argv[argc++] = script;
        argv[argc++] = url;
        argv[argc] = NULL;
        env[0] = tok_env;
        env[1] = model_env;
        env[2] = NULL;
        snprintf(cmd, cmd_size,
                 "BENCH_MODEL=%s BENCH_TOKENS=%s wrk %s %s %s --latency --timeout %s "
                 "-s tests/bench/embeddings.lua %s",
                 model, ntokens > 1 ? "\"$JWT_1 ... $JWT_N\"" : "$JWT", thr, conns, dur,
                 WRK_TIMEOUT, url);

        wrk_spawn(&w, argv, env, cmd);
        free(tok_env);
        wrk_wait(&w, res);
}

static void print_memory(const char *name)
{
        printf("%s_vmrss_kib %ld\n%s_vmhwm_kib %ld\n%s_rssanon_kib %ld\n%s_rssfile_kib %ld\n", name,
               bench_status_kib(embedding.pid, "VmRSS"), name,
               bench_status_kib(embedding.pid, "VmHWM"), name,
               bench_status_kib(embedding.pid, "RssAnon"), name,
               bench_status_kib(embedding.pid, "RssFile"));
        fflush(stdout);
}

/* Waits until the service has finished what the last load left queued:
 * until it uses less than a tenth of a core over 200 ms, for at most 20 s. */
static void drain(void)
{
        for (int i = 0; i < 100; i++) {
                double cpu = harness_proc_cpu_us(embedding.pid);

                usleep(200000);
                if (harness_proc_cpu_us(embedding.pid) - cpu < 20000)
                        return;
        }
        fprintf(stderr, "bench: cairn-embedding still busy 20 s after the load\n");
}

/* Runs wrk for bench_secs after a warm-up of 2 s and prints its figures and
 * the service's CPU per request as @p name_*. */
static void phase(const char *name, const char *model, int ntokens)
{
        struct wrk_result res;
        char cmd[1024];
        double cpu;

        drain();
        wrk_run(model, ntokens, 2, &res, cmd, sizeof(cmd));
        cpu = harness_proc_cpu_us(embedding.pid);
        wrk_run(model, ntokens, bench_secs, &res, cmd, sizeof(cmd));
        printf("%s_rps %.1f\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n%s_requests %ld\n%s_non2xx %ld\n"
               "%s_socket_errors %ld\n%s_embedding_cpu_us_per_req %.1f\n%s_cmd %s\n",
               name, res.rps, name, res.p50_ms, name, res.p99_ms, name, res.requests, name,
               res.non2xx, name, res.socket_errors, name,
               res.requests > 0 ? (harness_proc_cpu_us(embedding.pid) - cpu) / (double)res.requests
                                : NAN,
               name, cmd);
        if (res.non2xx || res.socket_errors)
                fprintf(stderr, "bench: %s: %ld responses outside 2xx, %ld socket errors\n", name,
                        res.non2xx, res.socket_errors);
        fflush(stdout);
}

/* ---- processes ---- */

static void start_all(void)
{
        char e[12][1200], keys[700], *claims;
        const char *env[13];
        int n = 0;

        harness_broker_start(&broker, 1);
        harness_redis_start(&redis, broker.dir, harness_free_port());
        snprintf(keys, sizeof(keys), "%s/hs.secret", broker.dir);
        harness_write_file(keys, SECRET);
        ck_assert_int_eq(chmod(keys, 0600), 0); /* a secret file is mode 0600 or 0400 */

        /* Slot 1 as deploy/dev/stack.sh sets it, then what this benchmark
         * changes: no cache, THREADS threads, BUS_WORKERS workers. */
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis.port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_EMBEDDING_MODELS_1_NAME=%s", MODEL);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_EMBEDDING_MODELS_1_ALIASES=%s", ALIAS);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_EMBEDDING_MODELS_1_PROVIDER=bert");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_EMBEDDING_MODELS_1_DIR=%s", model_dir);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_EMBEDDING_MODELS_1_CACHE=off");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_EMBEDDING_MODELS_1_THREADS=%d", threads);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_BUS_WORKERS=%d", BUS_WORKERS);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_LOG_LEVEL=warn");
        for (int i = 0; i < n; i++)
                env[i] = e[i];
        env[n] = NULL;
        for (int i = 0; i < n; i++)
                printf("embedding_env %s\n",
                       strncmp(e[i], "CAIRN_EMBEDDING_MODELS_1_DIR=", 29) == 0
                               ? "CAIRN_EMBEDDING_MODELS_1_DIR=$(deploy/models.sh path)"
                               : e[i]);
        harness_service_start(&embedding, &broker, "embedding", env);

        n = 0;
        http_port = harness_free_port();
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", http_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis.port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_AUTH_HS256_SECRET_FILE=%s", keys);
        /* Rate limiting stays on, with limits no run reaches: no 429s. */
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_DEFAULT_PER_MINUTE=100000000");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_EMBEDDINGS_PER_MINUTE=-1");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_EMBEDDINGS_PER_HOUR=-1");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_LOG_LEVEL=warn");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_UPSTREAM_EMBEDDING_TOPIC=%s",
                 harness_topic("cairn.embedding.v1.requests"));
        snprintf(e[n++], sizeof(e[0]), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.gateway.replies"));
        for (int i = 0; i < n; i++)
                env[i] = e[i];
        env[n] = NULL;
        harness_service_start(&gw, &broker, "gateway", env);
        ck_assert_msg(harness_wait_ready(&embedding, 60000), "embedding not ready (see %s)",
                      embedding.log_path);
        ck_assert_msg(harness_wait_ready(&gw, 30000), "gateway not ready (see %s)", gw.log_path);
        for (int i = 0; i < TENANTS; i++) {
                if (asprintf(&claims,
                             "{\"sub\":\"bench\",\"tenant\":\"bench-%d\",\"role\":\"member\","
                             "\"exp\":%lld}",
                             i, (long long)cairn_now_ms() / 1000 + 3600) < 0)
                        abort();
                tokens[i] = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);
                ck_assert_ptr_nonnull(tokens[i]);
                free(claims);
        }
}

static void stop_all(void)
{
        harness_service_stop(&gw, 15000);
        harness_service_stop(&embedding, 15000);
        harness_proc_kill(&redis);
        harness_broker_stop(&broker);
        for (int i = 0; i < TENANTS; i++)
                free(tokens[i]);
}

START_TEST(bench_bert_gateway)
{
        start_all();
        printf("wrk_connections %d\nwrk_threads %d\ntenants %d\nbus_workers %d\nthreads %d\n"
               "secs %d\n",
               WRK_CONNS, WRK_THREADS, TENANTS, BUS_WORKERS, threads, bench_secs);
        print_memory("ready");
        phase("bert1", MODEL, 1);
        phase("bertn", MODEL, TENANTS);
        print_memory("loaded");
        phase("lexical1", "cairn-lexical-384", 1);
        stop_all();
}
END_TEST

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: bert_gateway MODEL_DIR [SECONDS [THREADS]]\n");
                return 2;
        }
        snprintf(model_dir, sizeof(model_dir), "%s", argv[1]);
        bench_secs = argc > 2 ? atoi(argv[2]) : 5;
        if (bench_secs < 1)
                bench_secs = 1;
        threads = argc > 3 ? atoi(argv[3]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (threads < 1)
                threads = 1;
        if (!bench_find_bin("wrk", wrk_bin, sizeof(wrk_bin))) {
                fprintf(stderr, "bench: wrk not found on PATH: install it with deploy/deps.sh "
                                "bench\n");
                return 2;
        }
        return harness_bench_run("bert_gateway", bench_bert_gateway, 600, NULL);
}

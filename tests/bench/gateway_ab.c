/* The HTTP gateway against a baseline build of itself, measured in the same
 * run so that load from neighbours falls on both alike: one broker, one
 * Redis and one cairn-embedding serve two gateways, this build's and the
 * one at BENCH_BASELINE_GATEWAY (a path), started with the same settings
 * (HS256 JWT, rate limiting on, as tests/bench/gateway.c). wrk (2 threads,
 * 64 connections) then loads one and then the other, for GET /v1/version
 * (the HTTP layer alone) and POST /v1/embeddings (tests/bench/embeddings.lua),
 * in ROUNDS rounds of ROUND_SECONDS each after an unrecorded warm-up round,
 * the order swapped every round. Each run records wrk's requests/s and the
 * CPU time (user + system) the loaded gateway used meanwhile, per request.
 * Prints "key value" lines for run.sh: per endpoint and side the medians
 * over the rounds, and the ratios current / baseline; one line per run goes
 * to stderr.
 *   BENCH_BASELINE_GATEWAY=PATH gateway_ab [ROUND_SECONDS [ROUNDS]]
 *       (default 3 and 10)
 * BENCH_BASELINE_CONFIG names the baseline's configuration file; without it
 * both read this tree's deploy/dev/gateway.yaml. Without
 * BENCH_BASELINE_GATEWAY it prints "skipped ..." and measures nothing. */
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
#include "lib/wrk.h"

#define WRK_CONNS   64 /* the load of tests/bench/gateway.c: 64 connections ... */
#define WRK_THREADS 2  /* ... from 2 wrk threads */
#define MAX_ROUNDS  100
#define SECRET      "bench-ab-hs256-secret-bench-ab-hs256-secret"

enum { CURRENT, BASELINE, SIDES };

static const char *const side_names[SIDES] = { "current", "baseline" };

/* One gateway under test. */
struct side {
        struct harness_proc proc;
        char bin[1024];
        int http_port;
};

/* What the rounds of one endpoint gave one side. */
struct tally {
        double rps[MAX_ROUNDS];
        double cpu_us_per_req[MAX_ROUNDS];
        long requests, non2xx, socket_errors;
        char cmd[1024];
};

/* An endpoint and how wrk asks for it. */
struct endpoint {
        const char *name; /* prefix of its keys */
        const char *path;
        const char *script; /* under tests/bench/, or NULL */
};

static const struct endpoint endpoints[] = {
        { "version", "/v1/version", NULL },
        { "embeddings", "/v1/embeddings", "embeddings.lua" },
};

static struct harness_broker broker;
static struct harness_proc redis, embedding;
static struct side sides[SIDES];
static char token[2048], wrk_bin[512];
static int round_secs = 3, rounds = 10;

/* ---- wrk ---- */

/* Runs wrk against @p port for round_secs and parses its report into
 * @p res; writes the command line, as run.sh shows it, into @p cmd. Fails
 * the benchmark when wrk fails or prints no figures. */
static void wrk_run(int port, const struct endpoint *ep, struct wrk_result *res, char *cmd,
                    size_t cmd_size)
{
        char threads[16], conns[16], dur[16], url[256], script[512], tok_env[2100];
        char *argv[12], *env[] = { tok_env, NULL };
        struct wrk_run w;
        int argc = 0;

        snprintf(threads, sizeof(threads), "-t%d", WRK_THREADS);
        snprintf(conns, sizeof(conns), "-c%d", WRK_CONNS);
        snprintf(dur, sizeof(dur), "-d%ds", round_secs);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, ep->path);
        snprintf(tok_env, sizeof(tok_env), "BENCH_TOKEN=%s", token);
        argv[argc++] = wrk_bin;
        argv[argc++] = threads;
        argv[argc++] = conns;
        argv[argc++] = dur;
        if (ep->script) {
                snprintf(script, sizeof(script), "%s/tests/bench/%s", harness_root(), ep->script);
                argv[argc++] = "-s";
                argv[argc++] = script;
        }
        argv[argc++] = url;
        argv[argc] = NULL;
        snprintf(cmd, cmd_size, "%swrk %s %s %s %s%s%s%s", ep->script ? "BENCH_TOKEN=$JWT " : "",
                 threads, conns, dur, ep->script ? "-s tests/bench/" : "",
                 ep->script ? ep->script : "", ep->script ? " " : "", url);

        wrk_spawn(&w, argv, env, cmd);
        wrk_wait(&w, res);
}

/* ---- processes ---- */

/* Starts side @p i's gateway with the settings both share, a port and a
 * reply topic of its own, and @p config (NULL: deploy/dev/gateway.yaml). */
static void gateway_start(int i, const char *keys, const char *config)
{
        struct side *s = &sides[i];
        char e[10][800], name[64], topic[128];
        const char *env[11];
        int n = 0;

        s->http_port = harness_free_port();
        snprintf(name, sizeof(name), "gateway-%s", side_names[i]);
        /* Each its own reply topic: they would otherwise share a consumer
         * group and each other's replies. */
        snprintf(topic, sizeof(topic), "cairn.%s.replies", name);
        harness_topic_create(&broker, harness_topic(topic), 4);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", s->http_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis.port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_AUTH_HS256_SECRET_FILE=%s", keys);
        /* Rate limiting stays on (a Redis script per request), with limits
         * no run reaches: no 429s. */
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_DEFAULT_PER_MINUTE=100000000");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_EMBEDDINGS_PER_MINUTE=-1");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_EMBEDDINGS_PER_HOUR=-1");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_LOG_LEVEL=warn");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_UPSTREAM_EMBEDDING_TOPIC=%s",
                 harness_topic("cairn.embedding.v1.requests"));
        snprintf(e[n++], sizeof(e[0]), "CAIRN_BUS_REPLY_TOPIC=%s", harness_topic(topic));
        if (config)
                snprintf(e[n++], sizeof(e[0]), "CAIRN_CONFIG=%s", config);
        for (int k = 0; k < n; k++)
                env[k] = e[k];
        env[n] = NULL;
        harness_service_start_bin(&s->proc, &broker, "gateway", name, s->bin, env);
}

static void start_all(const char *baseline_config)
{
        char keys[700], *claims, *tok;
        long long run_secs = 2LL * (long long)(rounds + 1) * round_secs * 2 + 600;

        harness_broker_start(&broker, 1);
        harness_redis_start(&redis, broker.dir, harness_free_port());
        snprintf(keys, sizeof(keys), "%s/hs.secret", broker.dir);
        harness_write_file(keys, SECRET);
        /* As a secret file should be: the gateway may refuse one others can read. */
        ck_assert_int_eq(chmod(keys, 0600), 0);
        harness_service_start(&embedding, &broker, "embedding", NULL);
        gateway_start(CURRENT, keys, NULL);
        gateway_start(BASELINE, keys, baseline_config);
        ck_assert_msg(harness_wait_ready(&embedding, 30000), "embedding not ready (see %s)",
                      embedding.log_path);
        for (int i = 0; i < SIDES; i++)
                ck_assert_msg(harness_wait_ready(&sides[i].proc, 30000),
                              "%s gateway %s not ready (see %s)", side_names[i], sides[i].bin,
                              sides[i].proc.log_path);
        if (asprintf(&claims,
                     "{\"sub\":\"bench\",\"tenant\":\"bench\",\"role\":\"member\",\"exp\":%lld}",
                     (long long)cairn_now_ms() / 1000 + 3600 + run_secs) < 0)
                abort();
        tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);
        ck_assert_ptr_nonnull(tok);
        snprintf(token, sizeof(token), "%s", tok);
        free(tok);
        free(claims);
}

static void stop_all(void)
{
        for (int i = 0; i < SIDES; i++)
                harness_service_stop(&sides[i].proc, 15000);
        harness_service_stop(&embedding, 15000);
        harness_proc_kill(&redis);
        harness_broker_stop(&broker);
}

/* ---- the rounds ---- */

static double median(const double *v, int n)
{
        double s[MAX_ROUNDS];

        memcpy(s, v, sizeof(double) * (size_t)n);
        qsort(s, (size_t)n, sizeof(double), harness_cmp_double);
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Median, minimum and maximum of the rounds' ratios of side 0 to side 1. */
static void round_ratios(const double *a, const double *b, int n, double *med, double *min,
                         double *max)
{
        double r[MAX_ROUNDS];

        if (n <= 0) {
                *med = *min = *max = NAN;
                return;
        }
        for (int k = 0; k < n; k++)
                r[k] = a[k] / b[k];
        qsort(r, (size_t)n, sizeof(double), harness_cmp_double);
        *med = median(r, n);
        *min = r[0];
        *max = r[n - 1];
}

/* One wrk run against side @p i; adds it to @p t as round @p r unless it
 * is the warm-up (r < 0). */
static void measure(const struct endpoint *ep, int i, int r, struct tally *t)
{
        struct wrk_result res;
        pid_t pid = sides[i].proc.pid;
        double cpu0, used;

        cpu0 = harness_proc_cpu_us(pid);
        wrk_run(sides[i].http_port, ep, &res, t->cmd, sizeof(t->cmd));
        used = harness_proc_cpu_us(pid) - cpu0;
        fprintf(stderr, "gateway_ab: %s %s %s: %.0f req/s, %.1f us CPU/request, %ld errors\n",
                ep->name, side_names[i], r < 0 ? "warm-up" : "round", res.rps,
                res.requests > 0 ? used / (double)res.requests : NAN,
                res.non2xx + res.socket_errors);
        /* The warm-up may meet a gateway still finding its partitions. */
        if (r < 0)
                return;
        ck_assert_msg(res.requests > 0, "%s: no request completed", t->cmd);
        t->rps[r] = res.rps;
        t->cpu_us_per_req[r] = used / (double)res.requests;
        t->requests += res.requests;
        t->non2xx += res.non2xx;
        t->socket_errors += res.socket_errors;
}

/* The rounds of endpoint @p ep: a warm-up round, then rounds in which both
 * sides take turns, the one that goes first alternating. */
static void ab_phase(const struct endpoint *ep)
{
        static struct tally t[SIDES];
        double med, min, max;

        memset(t, 0, sizeof(t));
        for (int r = -1; r < rounds; r++)
                for (int k = 0; k < SIDES; k++)
                        measure(ep, (r + 1 + k) % SIDES, r, &t[(r + 1 + k) % SIDES]);
        for (int i = 0; i < SIDES; i++) {
                const char *s = side_names[i];

                printf("%s_%s_rps %.0f\n", ep->name, s, median(t[i].rps, rounds));
                printf("%s_%s_cpu_us_per_req %.1f\n", ep->name, s,
                       median(t[i].cpu_us_per_req, rounds));
                printf("%s_%s_requests %ld\n", ep->name, s, t[i].requests);
                printf("%s_%s_non2xx %ld\n", ep->name, s, t[i].non2xx);
                printf("%s_%s_socket_errors %ld\n", ep->name, s, t[i].socket_errors);
                printf("%s_%s_cmd %s\n", ep->name, s, t[i].cmd);
        }
        printf("%s_rps_ratio %.3f\n", ep->name,
               median(t[CURRENT].rps, rounds) / median(t[BASELINE].rps, rounds));
        printf("%s_cpu_ratio %.3f\n", ep->name,
               median(t[CURRENT].cpu_us_per_req, rounds) /
                       median(t[BASELINE].cpu_us_per_req, rounds));
        round_ratios(t[CURRENT].rps, t[BASELINE].rps, rounds, &med, &min, &max);
        printf("%s_rps_round_ratio %.3f\n%s_rps_round_ratio_min %.3f\n"
               "%s_rps_round_ratio_max %.3f\n",
               ep->name, med, ep->name, min, ep->name, max);
        round_ratios(t[CURRENT].cpu_us_per_req, t[BASELINE].cpu_us_per_req, rounds, &med, &min,
                     &max);
        printf("%s_cpu_round_ratio %.3f\n%s_cpu_round_ratio_min %.3f\n"
               "%s_cpu_round_ratio_max %.3f\n",
               ep->name, med, ep->name, min, ep->name, max);
        fflush(stdout);
}

/* Inside a check test: the harness reports its failures through check. */
START_TEST(bench_gateway_ab)
{
        start_all(getenv("BENCH_BASELINE_CONFIG"));
        printf("rounds %d\nround_secs %d\nwrk_threads %d\nwrk_connections %d\n", rounds, round_secs,
               WRK_THREADS, WRK_CONNS);
        printf("current_gateway %s\nbaseline_gateway %s\n", sides[CURRENT].bin,
               sides[BASELINE].bin);
        fflush(stdout);
        for (size_t e = 0; e < sizeof(endpoints) / sizeof(endpoints[0]); e++)
                ab_phase(&endpoints[e]);
        stop_all();
}
END_TEST

int main(int argc, char **argv)
{
        const char *baseline = getenv("BENCH_BASELINE_GATEWAY");

        if (!baseline || !baseline[0]) {
                printf("skipped BENCH_BASELINE_GATEWAY is not set: no baseline gateway to "
                       "measure against\n");
                return 0;
        }
        round_secs = argc > 1 ? atoi(argv[1]) : 3;
        rounds = argc > 2 ? atoi(argv[2]) : 10;
        if (round_secs < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
                fprintf(stderr, "usage: gateway_ab [ROUND_SECONDS (>= 1) [ROUNDS (1-%d)]]\n",
                        MAX_ROUNDS);
                return 2;
        }
        if (access(baseline, X_OK) != 0) {
                fprintf(stderr, "bench: BENCH_BASELINE_GATEWAY %s: %s\n", baseline,
                        strerror(errno));
                return 2;
        }
        if (!bench_find_bin("wrk", wrk_bin, sizeof(wrk_bin))) {
                fprintf(stderr, "bench: wrk not found on PATH: install it with deploy/deps.sh "
                                "bench\n");
                return 2;
        }
        snprintf(sides[CURRENT].bin, sizeof(sides[CURRENT].bin), "%s/bin/cairn-gateway",
                 harness_build_dir());
        snprintf(sides[BASELINE].bin, sizeof(sides[BASELINE].bin), "%s", baseline);
        return harness_bench_run("gateway_ab", bench_gateway_ab,
                                 120 + 2.0 * SIDES * (rounds + 1) * (round_secs + 5), NULL);
}

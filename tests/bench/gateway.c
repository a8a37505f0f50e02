/* Gateway overhead: POST /v1/embeddings through cairn-gateway (HS256 JWT,
 * rate limiting on, Redis of its own) against the same EmbedRequest sent
 * straight over the bus with cairn_bus_call(), same broker, same embedding
 * service, same concurrency, in the same run. Also GET /v1/version (no
 * Kafka) for the HTTP layer alone. Prints "key value" lines for run.sh.
 *   gateway [SECONDS]   (per phase, default 5) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "gw_tokens.h"
#include "harness.h"

#define CONC 8
#define TEXT "the quick brown fox jumps over the lazy dog again"
#define SECRET "bench-hs256-secret-bench-hs256-secret-0123"
#define MAX_SAMPLES 2000000

static struct harness_broker broker;
static struct harness_proc embedding, gw;
static int http_port, redis_port;
static struct harness_proc redis;
static char token[2048];
static double *samples;
static atomic_long nsamples;
static atomic_long errors;
static atomic_bool stop;

static void record(int64_t start_us)
{
        long i = atomic_fetch_add(&nsamples, 1);

        if (i < MAX_SAMPLES)
                samples[i] = (double)(cairn_mono_us() - start_us) / 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double pct(double p)
{
        long n = atomic_load(&nsamples);

        if (n > MAX_SAMPLES)
                n = MAX_SAMPLES;
        if (n == 0)
                return NAN;
        return samples[(long)((double)(n - 1) * p)];
}

/* Runs @p fn on @p conc threads for @p secs; prints the figures as @p name_*. */
static void phase(const char *name, void *(*fn)(void *), int conc, int secs)
{
        pthread_t t[CONC];
        int64_t start;
        double elapsed;

        atomic_store(&nsamples, 0);
        atomic_store(&errors, 0);
        atomic_store(&stop, false);
        start = cairn_mono_us();
        for (int i = 0; i < conc; i++)
                pthread_create(&t[i], NULL, fn, NULL);
        usleep((useconds_t)secs * 1000000);
        atomic_store(&stop, true);
        for (int i = 0; i < conc; i++)
                pthread_join(t[i], NULL);
        elapsed = (double)(cairn_mono_us() - start) / 1e6;
        long n = atomic_load(&nsamples);
        qsort(samples, (size_t)(n > MAX_SAMPLES ? MAX_SAMPLES : n), sizeof(double), cmp_double);
        printf("%s_rps %.0f\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n%s_errors %ld\n", name,
               (double)n / elapsed, name, pct(0.50), name, pct(0.99), name, atomic_load(&errors));
        fflush(stdout);
}

/* ---- the bus directly ---- */

static struct harness_client client;

static void *bus_main(void *arg)
{
        char *inputs[] = { TEXT };
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;

        (void)arg;
        req.inputs = inputs;
        req.n_inputs = 1;
        req.model = "cairn-lexical-384";
        while (!atomic_load(&stop)) {
                struct cairn_status st;
                ProtobufCMessage *reply = NULL;
                int64_t t0 = cairn_mono_us();

                if (cairn_bus_call(client.cli, harness_topic("cairn.embedding.v1.requests"), "bench",
                                   &req.base, NULL, &cairn__embedding__v1__embed_reply__descriptor,
                                   NULL, &reply, &st) == CAIRN_OK)
                        record(t0);
                else
                        atomic_fetch_add(&errors, 1);
                if (reply)
                        protobuf_c_message_free_unpacked(reply, NULL);
        }
        return NULL;
}

/* ---- HTTP over one keep-alive connection per thread ---- */

static int http_connect(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)http_port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        struct timeval tv = { 10, 0 };

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Sends @p req and reads one response; returns its status or -1. */
static int http_roundtrip(int fd, const char *req, size_t len, char *buf, size_t cap)
{
        size_t have = 0;
        char *eoh;
        long clen;
        int status;

        if (write(fd, req, len) != (ssize_t)len)
                return -1;
        for (;;) {
                ssize_t n = read(fd, buf + have, cap - 1 - have);
                if (n <= 0)
                        return -1;
                have += (size_t)n;
                buf[have] = '\0';
                eoh = strstr(buf, "\r\n\r\n");
                if (eoh)
                        break;
        }
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        clen = cl ? strtol(cl + 17, NULL, 10) : 0;
        size_t total = (size_t)(eoh + 4 - buf) + (size_t)clen;
        while (have < total) {
                ssize_t n = read(fd, buf + have, cap - 1 - have);
                if (n <= 0)
                        return -1;
                have += (size_t)n;
        }
        if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
                return -1;
        return status;
}

static void *http_loop(const char *req)
{
        size_t cap = 1 << 16;
        char *buf = malloc(cap);
        int fd = http_connect();

        while (!atomic_load(&stop) && fd >= 0) {
                int64_t t0 = cairn_mono_us();
                int status = http_roundtrip(fd, req, strlen(req), buf, cap);

                if (status == 200) {
                        record(t0);
                } else {
                        atomic_fetch_add(&errors, 1);
                        if (status < 0) {
                                close(fd);
                                fd = http_connect();
                        }
                }
        }
        if (fd >= 0)
                close(fd);
        free(buf);
        return NULL;
}

static void *gw_embed_main(void *arg)
{
        static const char body[] = "{\"input\":\"" TEXT "\",\"model\":\"cairn-lexical-384\"}";
        char *req;

        (void)arg;
        if (asprintf(&req,
                     "POST /v1/embeddings HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     token, strlen(body), body) < 0)
                abort();
        http_loop(req);
        free(req);
        return NULL;
}

static void *gw_version_main(void *arg)
{
        (void)arg;
        return http_loop("GET /v1/version HTTP/1.1\r\nHost: bench\r\n\r\n");
}

/* ---- processes ---- */

static void start_all(void)
{
        char e[10][800], keys[700], *claims;
        const char *env[11];
        int n = 0;

        harness_broker_start(&broker, 1);
        redis_port = harness_free_port();
        harness_redis_start(&redis, broker.dir, redis_port);
        snprintf(keys, sizeof(keys), "%s/hs.secret", broker.dir);
        FILE *fp = fopen(keys, "w");
        fputs(SECRET, fp);
        fclose(fp);
        http_port = harness_free_port();
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", http_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_AUTH_HS256_SECRET_FILE=%s", keys);
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
        harness_service_start(&embedding, &broker, "embedding", NULL);
        harness_service_start(&gw, &broker, "gateway", env);
        if (!harness_wait_ready(&embedding, 30000) || !harness_wait_ready(&gw, 30000)) {
                fprintf(stderr, "bench: services not ready (see %s)\n", broker.dir);
                exit(1);
        }
        if (asprintf(&claims, "{\"sub\":\"bench\",\"tenant\":\"bench\",\"role\":\"member\","
                              "\"exp\":%lld}", (long long)cairn_now_ms() / 1000 + 3600) < 0)
                abort();
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);
        snprintf(token, sizeof(token), "%s", tok);
        free(tok);
        free(claims);
        harness_client_start(&client, &broker, "gwbench");
}

static void stop_all(void)
{
        harness_client_stop(&client);
        harness_proc_signal(&gw, SIGTERM);
        if (harness_proc_wait(&gw, 15000) == -1)
                harness_proc_kill(&gw);
        harness_proc_signal(&embedding, SIGTERM);
        if (harness_proc_wait(&embedding, 15000) == -1)
                harness_proc_kill(&embedding);
        harness_proc_kill(&redis);
        harness_broker_stop(&broker);
}

static int bench_secs = 5;

static long rss_kib(pid_t pid)
{
        char path[64], line[256];
        long kib = -1;
        FILE *fp;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        fp = fopen(path, "r");
        while (fp && fgets(line, sizeof(line), fp))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        if (fp)
                fclose(fp);
        return kib;
}

/* Inside a check test: the harness reports its failures through check. */
START_TEST(bench_gateway)
{
        samples = malloc(sizeof(double) * MAX_SAMPLES);
        start_all();
        printf("concurrency %d\n", CONC);
        /* warm up both paths */
        phase("warm", gw_embed_main, CONC, 1);
        printf("gw_rss_after_warmup_kib %ld\n", rss_kib(gw.pid));
        /* one at a time: what the gateway adds to a request */
        phase("bus1", bus_main, 1, bench_secs);
        phase("gw1", gw_embed_main, 1, bench_secs);
        /* CONC at a time: throughput, everything sharing the cores */
        phase("bus", bus_main, CONC, bench_secs);
        phase("gw", gw_embed_main, CONC, bench_secs);
        phase("version", gw_version_main, CONC, bench_secs);
        printf("gw_rss_after_load_kib %ld\n", rss_kib(gw.pid));
        stop_all();
        free(samples);
}
END_TEST

int main(int argc, char **argv)
{
        Suite *s = suite_create("bench_gateway");
        TCase *tc = tcase_create("gateway");
        SRunner *sr;
        int failed;

        bench_secs = argc > 1 ? atoi(argv[1]) : 5;
        if (bench_secs < 1)
                bench_secs = 1;
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, bench_gateway);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_SILENT);
        failed = srunner_ntests_failed(sr);
        if (failed)
                srunner_print(sr, CK_NORMAL);
        srunner_free(sr);
        return failed ? 1 : 0;
}

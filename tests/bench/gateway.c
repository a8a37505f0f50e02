/* The HTTP gateway's benchmarks (issue #3), each measured in the same run as
 * its baseline, with one broker, one Redis and one embedding service:
 *   - what the gateway adds to a request: POST /v1/embeddings (HS256 JWT,
 *     rate limiting on) one at a time against the same EmbedRequest sent
 *     straight over the bus with cairn_bus_call(), the two taking turns;
 *   - wrk against GET /healthz on the gateway's admin port and against nginx
 *     serving a static file of the same body, taking turns second by second;
 *   - wrk at 64 connections against GET /v1/version (the HTTP layer alone)
 *     and POST /v1/embeddings (tests/bench/embeddings.lua), against the bus
 *     with 64 calls in flight (cairn_bus_call_async);
 *   - the gateway's resident memory, sampled every 10 s through a long wrk
 *     run on POST /v1/embeddings (BENCH_MEMORY_SECONDS, default 300; 0: none).
 * Prints "key value" lines for run.sh; wrk's own report goes to stderr.
 *   gateway [SECONDS]   (per phase, default 5) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
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
#include "lib/proc.h"
#include "lib/wrk.h"

#define CONC            8  /* threads of the warm-up */
#define WRK_CONNS       64 /* the load: 64 connections ... */
#define WRK_THREADS     2  /* ... from 2 wrk threads */
#define BUS_INFLIGHT    64 /* the bus baseline at the same concurrency */
#define MEM_SAMPLE_SECS 10
#define MEM_MAX_SAMPLES 4096
#define TEXT            "the quick brown fox jumps over the lazy dog again"
#define SECRET          "bench-hs256-secret-bench-hs256-secret-0123"
#define MAX_SAMPLES     2000000
#define ROUNDS          10 /* of the one-at-a-time comparison */

static struct harness_broker broker;
static struct harness_proc embedding, gw;
static int http_port, redis_port;
static struct harness_proc redis;
static char token[2048];
static struct harness_samples samples; /* milliseconds */
static atomic_long errors;
static atomic_bool stop;

static int bench_secs = 5;
static int mem_secs = 300;
static char wrk_bin[512], nginx_bin[512];

/* Where record() adds: the samples, or one side's of alternating_phase(). */
static struct harness_samples *recording = &samples;

static void record(int64_t start_us)
{
        harness_samples_add(recording, (double)(cairn_mono_us() - start_us) / 1000.0);
}

/* Prints the figures of @p s as @p name_*: @p done requests completed
 * within @p elapsed seconds, @p errs failed. */
static void report_samples(const char *name, struct harness_samples *s, long errs, long done,
                           double elapsed)
{
        double p50 = harness_samples_pct(s, 0.50);
        double p99 = harness_samples_pct(s, 0.99);

        printf("%s_rps %.0f\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n%s_errors %ld\n", name,
               (double)done / elapsed, name, p50, name, p99, name, errs);
        fflush(stdout);
}

/* report_samples() of the samples and the error count. */
static void report(const char *name, long done, double elapsed)
{
        report_samples(name, &samples, atomic_load(&errors), done, elapsed);
}

/* Runs @p fn on @p conc threads for @p ms, adding to the samples and the
 * error count; returns the seconds that took. */
static double run_for(void *(*fn)(void *), int conc, int ms)
{
        pthread_t t[CONC];
        int64_t start;

        ck_assert_int_le(conc, CONC);
        atomic_store(&stop, false);
        start = cairn_mono_us();
        for (int i = 0; i < conc; i++)
                pthread_create(&t[i], NULL, fn, NULL);
        usleep((useconds_t)ms * 1000);
        atomic_store(&stop, true);
        for (int i = 0; i < conc; i++)
                pthread_join(t[i], NULL);
        return (double)(cairn_mono_us() - start) / 1e6;
}

/* Runs @p fn on @p conc threads for @p secs; prints the figures as @p name_*. */
static void phase(const char *name, void *(*fn)(void *), int conc, int secs)
{
        double elapsed;

        harness_samples_reset(&samples);
        atomic_store(&errors, 0);
        elapsed = run_for(fn, conc, secs * 1000);
        report(name, (long)harness_samples_count(&samples), elapsed);
}

/* Runs @p fn[0] and @p fn[1], one request at a time each, taking turns in
 * ROUNDS rounds of @p secs / ROUNDS each, in alternating order, so that load
 * from neighbours falls on both alike; prints each one's figures over all
 * its rounds as @p name[i]_*. */
static void alternating_phase(const char *const name[2], void *(*const fn[2])(void *), int secs)
{
        struct harness_samples kept[2];
        double elapsed[2] = { 0, 0 };
        long errs[2] = { 0, 0 };
        int round_ms = secs * 1000 / ROUNDS;

        for (int i = 0; i < 2; i++)
                harness_samples_init(&kept[i], MAX_SAMPLES);
        for (int r = 0; r < ROUNDS; r++) {
                for (int k = 0; k < 2; k++) {
                        int i = (r + k) % 2;

                        recording = &kept[i];
                        atomic_store(&errors, 0);
                        elapsed[i] += run_for(fn[i], 1, round_ms);
                        errs[i] += atomic_load(&errors);
                }
        }
        recording = &samples;
        for (int i = 0; i < 2; i++) {
                report_samples(name[i], &kept[i], errs[i], (long)harness_samples_count(&kept[i]),
                               elapsed[i]);
                harness_samples_free(&kept[i]);
        }
        printf("one_at_a_time_rounds %d\n", ROUNDS);
}

/* ---- the bus directly ---- */

static struct harness_client client;
static char *bus_inputs[] = { TEXT };
static Cairn__Embedding__V1__EmbedRequest bus_req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;

static void bus_req_init(void)
{
        bus_req.inputs = bus_inputs;
        bus_req.n_inputs = 1;
        bus_req.model = "cairn-lexical-384";
}

/* Keyed by the tenant, as the gateway keys its requests. */
static void *bus_main(void *arg)
{
        (void)arg;
        while (!atomic_load(&stop)) {
                struct cairn_status st;
                ProtobufCMessage *reply = NULL;
                int64_t t0 = cairn_mono_us();

                if (cairn_bus_call(client.cli, harness_topic("cairn.embedding.v1.requests"),
                                   "bench", &bus_req.base, NULL,
                                   &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply,
                                   &st) == CAIRN_OK)
                        record(t0);
                else
                        atomic_fetch_add(&errors, 1);
                if (reply)
                        protobuf_c_message_free_unpacked(reply, NULL);
        }
        return NULL;
}

/* One free slot per call that may start: the callback gives its slot back. */
static sem_t bus_slots;

/* @locality the bus client's reply, delivery-report or retry thread */
static void bus_async_cb(const struct cairn_reply *reply, void *opaque)
{
        int64_t *t0 = opaque;

        if (reply->err == CAIRN_OK)
                record(*t0);
        else
                atomic_fetch_add(&errors, 1);
        free(t0);
        sem_post(&bus_slots);
}

/* Keeps @p inflight calls outstanding for @p secs (closed loop, as the
 * gateway's connections do); prints the figures as @p name_*. */
static void bus_inflight_phase(const char *name, int inflight, int secs)
{
        int64_t start, end;
        long done;
        double elapsed;

        harness_samples_reset(&samples);
        atomic_store(&errors, 0);
        sem_init(&bus_slots, 0, (unsigned int)inflight);
        start = cairn_mono_us();
        end = start + (int64_t)secs * 1000000;
        while (cairn_mono_us() < end) {
                struct cairn_status st;
                int64_t *t0 = malloc(sizeof(*t0));

                if (!t0)
                        abort();
                sem_wait(&bus_slots);
                *t0 = cairn_mono_us();
                if (cairn_bus_call_async(client.cli, harness_topic("cairn.embedding.v1.requests"),
                                         "bench", &bus_req.base, NULL, bus_async_cb, t0,
                                         &st) != CAIRN_OK) {
                        atomic_fetch_add(&errors, 1);
                        free(t0);
                        sem_post(&bus_slots);
                        usleep(1000);
                }
        }
        done = (long)harness_samples_count(&samples);
        elapsed = (double)(cairn_mono_us() - start) / 1e6;
        /* Every call ends in its callback, at the latest at its deadline. */
        for (int i = 0; i < inflight; i++)
                sem_wait(&bus_slots);
        sem_destroy(&bus_slots);
        report(name, done, elapsed);
}

/* ---- HTTP over one keep-alive connection per thread ---- */

static int http_connect(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)http_port),
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

/* ---- external programs: wrk and nginx ---- */

/* nginx serves a directory of its own, with everything it writes in there:
 * -p, -c and -e keep it away from /etc, /var/log and /var/lib. The directory
 * is readable by all, as nginx's workers run as nobody when we are root; it
 * is removed when nginx stops cleanly. Its workers are not ours to signal:
 * stopping the master (SIGTERM) stops them. */
static struct harness_proc nginx;
static char nginx_dir[300];

static void nginx_start(struct harness_proc *p, int port)
{
        char *prefix = nginx_dir, path[400], conf_path[400], err_path[400], conf[8192];
        char *argv[] = { nginx_bin, "-p", prefix, "-c", conf_path, "-e", err_path, NULL };
        const char *tmp = getenv("TMPDIR");
        int fd;

        memset(p, 0, sizeof(*p));
        snprintf(p->name, sizeof(p->name), "nginx");
        p->port = port;
        snprintf(prefix, sizeof(nginx_dir), "%s/cairn-nginx-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(prefix));
        ck_assert_int_eq(chmod(prefix, 0755), 0);
        snprintf(path, sizeof(path), "%s/www", prefix);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/tmp", prefix);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        /* The same body as the gateway's /healthz, at the same path. */
        snprintf(path, sizeof(path), "%s/www/healthz", prefix);
        harness_write_file(path, "ok\n");
        snprintf(conf, sizeof(conf),
                 "daemon off;\n"
                 "master_process on;\n"
                 "worker_processes auto;\n"
                 "pid %s/nginx.pid;\n"
                 "error_log %s/error.log warn;\n"
                 "events { worker_connections 1024; }\n"
                 "http {\n"
                 "    access_log off;\n"
                 "    default_type text/plain;\n"
                 "    sendfile on;\n"
                 "    tcp_nopush on;\n"
                 "    keepalive_requests 1000000;\n"
                 "    client_body_temp_path %s/tmp/body;\n"
                 "    proxy_temp_path %s/tmp/proxy;\n"
                 "    fastcgi_temp_path %s/tmp/fastcgi;\n"
                 "    uwsgi_temp_path %s/tmp/uwsgi;\n"
                 "    scgi_temp_path %s/tmp/scgi;\n"
                 "    server {\n"
                 "        listen 127.0.0.1:%d;\n"
                 "        root %s/www;\n"
                 "    }\n"
                 "}\n",
                 prefix, prefix, prefix, prefix, prefix, prefix, prefix, port, prefix);
        snprintf(conf_path, sizeof(conf_path), "%s/nginx.conf", prefix);
        harness_write_file(conf_path, conf);
        snprintf(err_path, sizeof(err_path), "%s/error.log", prefix);
        snprintf(p->log_path, sizeof(p->log_path), "%s/nginx.out", prefix);
        fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        p->pid = bench_spawn(argv, NULL, fd);
        close(fd);
        for (int i = 0; i < 200; i++) {
                char *body = NULL;
                int status = harness_http_get(port, "/healthz", &body, 1000);

                free(body);
                if (status == 200)
                        return;
                ck_assert_msg(waitpid(p->pid, NULL, WNOHANG) != p->pid,
                              "nginx exited at start (see %s and %s)", p->log_path, err_path);
                usleep(25000);
        }
        ck_abort_msg("nginx did not answer on port %d (see %s)", port, err_path);
}

static void nginx_stop(struct harness_proc *p)
{
        char cmd[400];
        int status;

        if (p->pid <= 0)
                return;
        harness_proc_signal(p, SIGTERM);
        status = harness_proc_wait(p, 10000);
        if (status == -1) {
                harness_proc_kill(p);
                return;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nginx_dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "bench: cannot remove %s\n", nginx_dir);
        }
}

/* Starts wrk at WRK_CONNS connections for @p secs against @p port @p path,
 * with tests/bench/@p script (or none) and the token in $BENCH_TOKEN. */
static void wrk_start(struct wrk_run *w, int port, const char *path, const char *script, int secs)
{
        char threads[16], conns[16], dur[16], url[256], script_path[512], tok_env[2100];
        char *argv[16], *env[] = { tok_env, NULL }, shown[1024];
        int argc = 0;

        snprintf(threads, sizeof(threads), "-t%d", WRK_THREADS);
        snprintf(conns, sizeof(conns), "-c%d", WRK_CONNS);
        snprintf(dur, sizeof(dur), "-d%ds", secs);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        snprintf(tok_env, sizeof(tok_env), "BENCH_TOKEN=%s", token);
        argv[argc++] = wrk_bin;
        argv[argc++] = threads;
        argv[argc++] = conns;
        argv[argc++] = dur;
        argv[argc++] = "--latency";
        if (script) {
                snprintf(script_path, sizeof(script_path), "%s/tests/bench/%s", harness_root(),
                         script);
                argv[argc++] = "-s";
                argv[argc++] = script_path;
        }
        argv[argc++] = url;
        argv[argc] = NULL;
        snprintf(shown, sizeof(shown), "%swrk %s %s %s --latency %s%s%s%s",
                 script ? "BENCH_TOKEN=$JWT " : "", threads, conns, dur,
                 script ? "-s tests/bench/" : "", script ? script : "", script ? " " : "", url);
        wrk_spawn(w, argv, env, shown);
}

/* Requests served in the last wrk_phase(). */
static long last_wrk_requests;

/* Runs wrk for bench_secs and prints its figures as @p name_*. */
static void wrk_phase(const char *name, int port, const char *path, const char *script)
{
        struct wrk_run w;
        struct wrk_result res;

        wrk_start(&w, port, path, script, bench_secs);
        wrk_wait(&w, &res);
        last_wrk_requests = res.requests;
        printf("%s_rps %.0f\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n%s_requests %ld\n%s_non2xx %ld\n"
               "%s_socket_errors %ld\n%s_cmd %s\n",
               name, res.rps, name, res.p50_ms, name, res.p99_ms, name, res.requests, name,
               res.non2xx, name, res.socket_errors, name, w.cmd);
        if (res.non2xx || res.socket_errors)
                fprintf(stderr, "bench: %s: %ld responses outside 2xx, %ld socket errors\n", name,
                        res.non2xx, res.socket_errors);
        fflush(stdout);
}

/* GET /healthz on the gateway's admin port against nginx: @p rounds rounds
 * of one second each, taking turns in alternating order, so that load from
 * neighbours falls on both alike. Prints totals over the rounds, the median
 * of the rounds' latency percentiles and the median of the rounds' ratios. */
static void healthz_phase(int rounds)
{
        static const char *const names[2] = { "healthz_gw", "healthz_nginx" };
        const int ports[2] = { gw.admin_port, nginx.port };
        double p50[2][64], p99[2][64], ratio[64] = { 0 }, rps[2];
        long requests[2] = { 0, 0 }, non2xx[2] = { 0, 0 }, sockerr[2] = { 0, 0 };
        double secs[2] = { 0, 0 };
        char cmd[2][1024];

        if (rounds > 64)
                rounds = 64;
        for (int r = 0; r < rounds; r++) {
                double round_rps[2];

                for (int k = 0; k < 2; k++) {
                        int i = r % 2 == 0 ? k : 1 - k;
                        struct wrk_run w;
                        struct wrk_result res;

                        wrk_start(&w, ports[i], "/healthz", NULL, 1);
                        wrk_wait(&w, &res);
                        snprintf(cmd[i], sizeof(cmd[i]), "%s", w.cmd);
                        round_rps[i] = res.rps;
                        requests[i] += res.requests;
                        secs[i] += res.secs;
                        non2xx[i] += res.non2xx;
                        sockerr[i] += res.socket_errors;
                        p50[i][r] = res.p50_ms;
                        p99[i][r] = res.p99_ms;
                }
                ratio[r] = round_rps[0] / round_rps[1];
        }
        for (int i = 0; i < 2; i++) {
                qsort(p50[i], (size_t)rounds, sizeof(double), harness_cmp_double);
                qsort(p99[i], (size_t)rounds, sizeof(double), harness_cmp_double);
                rps[i] = (double)requests[i] / secs[i];
                printf("%s_rps %.0f\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n%s_requests %ld\n"
                       "%s_non2xx %ld\n%s_socket_errors %ld\n%s_cmd %s\n",
                       names[i], rps[i], names[i], p50[i][rounds / 2], names[i], p99[i][rounds / 2],
                       names[i], requests[i], names[i], non2xx[i], names[i], sockerr[i], names[i],
                       cmd[i]);
                if (non2xx[i] || sockerr[i])
                        fprintf(stderr, "bench: %s: %ld responses outside 2xx, %ld socket errors\n",
                                names[i], non2xx[i], sockerr[i]);
        }
        qsort(ratio, (size_t)rounds, sizeof(double), harness_cmp_double);
        printf("healthz_rounds %d\nhealthz_ratio %.3f\nhealthz_total_ratio %.3f\n", rounds,
               ratio[rounds / 2], rps[0] / rps[1]);
        fflush(stdout);
}

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

/* POST /v1/embeddings under wrk for mem_secs, the gateway's resident memory
 * sampled every MEM_SAMPLE_SECS from the first sample on (the warm-up is
 * the MEM_SAMPLE_SECS before it). */
static void memory_phase(void)
{
        static long rss[MEM_MAX_SAMPLES];
        struct wrk_run w;
        struct wrk_result res;
        int64_t start = cairn_mono_us();
        long max = 0;
        int n = 0;

        wrk_start(&w, http_port, "/v1/embeddings", "embeddings.lua", mem_secs);
        /* Every sample is taken under load: the last one at least a second
         * before wrk stops. */
        for (int k = 1; k * MEM_SAMPLE_SECS < mem_secs && n < MEM_MAX_SAMPLES; k++) {
                int64_t at = start + (int64_t)k * MEM_SAMPLE_SECS * 1000000;
                int64_t now = cairn_mono_us();

                if (at > now)
                        usleep((useconds_t)(at - now));
                rss[n] = rss_kib(gw.pid);
                if (rss[n] > max)
                        max = rss[n];
                n++;
        }
        wrk_wait(&w, &res);
        ck_assert_msg(n >= 2, "BENCH_MEMORY_SECONDS=%d leaves fewer than two samples", mem_secs);
        printf("mem_secs %d\nmem_sample_secs %d\nmem_samples %d\n", mem_secs, MEM_SAMPLE_SECS, n);
        printf("mem_rss_first_kib %ld\nmem_rss_max_kib %ld\nmem_rss_last_kib %ld\n", rss[0], max,
               rss[n - 1]);
        printf("mem_rss_drift %.3f\nmem_rss_max_ratio %.3f\n", (double)rss[n - 1] / (double)rss[0],
               (double)max / (double)rss[0]);
        printf("mem_rss_series");
        for (int i = 0; i < n; i++)
                printf("%s%ld", i ? "," : " ", rss[i]);
        printf("\nmem_rps %.0f\nmem_p99_ms %.3f\nmem_requests %ld\nmem_non2xx %ld\n"
               "mem_socket_errors %ld\nmem_cmd %s\n",
               res.rps, res.p99_ms, res.requests, res.non2xx, res.socket_errors, w.cmd);
        if (res.non2xx || res.socket_errors)
                fprintf(stderr, "bench: mem: %ld responses outside 2xx, %ld socket errors\n",
                        res.non2xx, res.socket_errors);
        fflush(stdout);
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
        harness_write_file(keys, SECRET);
        ck_assert_int_eq(chmod(keys, 0600), 0); /* a secret file is mode 0600 or 0400 */
        http_port = harness_free_port();
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", http_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_AUTH_HS256_SECRET_FILE=%s", keys);
        /* Rate limiting stays on (a Redis script per request), with limits
         * no run reaches: no 429s. */
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
        if (asprintf(&claims,
                     "{\"sub\":\"bench\",\"tenant\":\"bench\",\"role\":\"member\","
                     "\"exp\":%lld}",
                     (long long)cairn_now_ms() / 1000 + 3600 + mem_secs) < 0)
                abort();
        char *tok = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);
        ck_assert_ptr_nonnull(tok);
        snprintf(token, sizeof(token), "%s", tok);
        free(tok);
        free(claims);
        harness_client_start(&client, &broker, "gwbench");
        bus_req_init();
        nginx_start(&nginx, harness_free_port());
}

static void stop_all(void)
{
        nginx_stop(&nginx);
        harness_client_stop(&client);
        harness_service_stop(&gw, 15000);
        harness_service_stop(&embedding, 15000);
        harness_proc_kill(&redis);
        harness_broker_stop(&broker);
}

/* Runs after the test even when it fails: nginx's workers, unlike our own
 * children, would outlive us. */
static void teardown(void)
{
        nginx_stop(&nginx);
}

/* Prints the CPU @p pid used since @p since_us per request, over @p requests. */
static void cpu_per_req(const char *name, pid_t pid, double since_us, long requests)
{
        printf("%s_cpu_us_per_req %.1f\n", name,
               requests > 0 ? (harness_proc_cpu_us(pid) - since_us) / (double)requests : NAN);
        fflush(stdout);
}

/* Inside a check test: the harness reports its failures through check. */
START_TEST(bench_gateway)
{
        double emb_cpu, gw_cpu, broker_cpu, redis_cpu;
        pid_t bpid;

        harness_samples_init(&samples, MAX_SAMPLES);
        start_all();
        printf("concurrency %d\nwrk_connections %d\nwrk_threads %d\nbus_inflight %d\n", CONC,
               WRK_CONNS, WRK_THREADS, BUS_INFLIGHT);
        /* warm up both paths */
        phase("warm", gw_embed_main, CONC, 1);
        bus_inflight_phase("warm_bus", BUS_INFLIGHT, 1);
        printf("gw_rss_after_warmup_kib %ld\n", rss_kib(gw.pid));
        /* one at a time: what the gateway adds to a request */
        alternating_phase((const char *const[]){ "bus1", "gw1" },
                          (void *(*const[])(void *)){ bus_main, gw_embed_main }, bench_secs);
        /* the admin server against nginx, then the API's HTTP layer alone */
        healthz_phase(bench_secs);
        wrk_phase("version", http_port, "/v1/version", NULL);
        /* 64 at a time, end to end: the bus alone, then through the gateway,
         * with what each costs the services in CPU */
        bpid = bench_broker_pid(&broker);
        emb_cpu = harness_proc_cpu_us(embedding.pid);
        broker_cpu = harness_proc_cpu_us(bpid);
        bus_inflight_phase("bus64", BUS_INFLIGHT, bench_secs);
        cpu_per_req("bus64_embedding", embedding.pid, emb_cpu,
                    (long)harness_samples_count(&samples));
        cpu_per_req("bus64_broker", bpid, broker_cpu, (long)harness_samples_count(&samples));
        emb_cpu = harness_proc_cpu_us(embedding.pid);
        gw_cpu = harness_proc_cpu_us(gw.pid);
        broker_cpu = harness_proc_cpu_us(bpid);
        redis_cpu = harness_proc_cpu_us(redis.pid);
        wrk_phase("gw64", http_port, "/v1/embeddings", "embeddings.lua");
        cpu_per_req("gw64_embedding", embedding.pid, emb_cpu, last_wrk_requests);
        cpu_per_req("gw64_gateway", gw.pid, gw_cpu, last_wrk_requests);
        cpu_per_req("gw64_broker", bpid, broker_cpu, last_wrk_requests);
        cpu_per_req("gw64_redis", redis.pid, redis_cpu, last_wrk_requests);
        printf("gw_rss_after_load_kib %ld\n", rss_kib(gw.pid));
        if (mem_secs > 0)
                memory_phase();
        printf("gw_rss_end_kib %ld\n", rss_kib(gw.pid));
        stop_all();
        harness_samples_free(&samples);
}
END_TEST

int main(int argc, char **argv)
{
        const char *m = getenv("BENCH_MEMORY_SECONDS"), *missing;

        bench_secs = argc > 1 ? atoi(argv[1]) : 5;
        if (bench_secs < 1)
                bench_secs = 1;
        mem_secs = m && m[0] ? atoi(m) : 300;
        if (mem_secs != 0 && mem_secs < 2 * MEM_SAMPLE_SECS + 1) {
                fprintf(stderr,
                        "bench: BENCH_MEMORY_SECONDS must be 0 (no memory run) or at "
                        "least %d\n",
                        2 * MEM_SAMPLE_SECS + 1);
                return 2;
        }
        missing = !bench_find_bin("wrk", wrk_bin, sizeof(wrk_bin))         ? "wrk"
                  : !bench_find_bin("nginx", nginx_bin, sizeof(nginx_bin)) ? "nginx"
                                                                           : NULL;
        if (missing) {
                fprintf(stderr,
                        "bench: %s not found on PATH (nor in /usr/sbin): "
                        "install it with deploy/deps.sh bench\n",
                        missing);
                return 2;
        }
        return harness_bench_run("gateway", bench_gateway, 600 + mem_secs, teardown);
}

/* Benchmarks of the translation service (Apertium's eng-spa mode run as
 * long-lived pipelines), each against what a thin wrapper around Apertium
 * does on the same machine in the same run:
 *
 *  1. single sentences through the bus: THREADS callers in a closed loop,
 *     each request one distinct English sentence en→es, against
 *     `apertium -u eng-spa` run once per sentence (the same sentences), as
 *     many at once as the machine has cores; the two take turns in ROUNDS
 *     rounds; then one caller alone, for the latency without a queue;
 *  2. one large batch: BATCH sentences in one TranslateRequest, against one
 *     `apertium -u eng-spa` over the same sentences as one input, with
 *     translation.pipelines 2 (the dev setting) and then 1; BATCH_RUNS runs
 *     each, taking turns with the baseline's, medians (each configuration's
 *     against the baseline's runs taken in turn with it);
 *  3. single sentences through the gateway: wrk with GW_CONNS connections
 *     (closed loop) against POST /v1/translations and LibreTranslate's
 *     POST /translate (tests/bench/translations.lua, a different sentence
 *     each request, HS256 JWT, rate limiting on with limits no run
 *     reaches), and with one connection: latency without queueing.
 *
 * The service runs with the settings of deploy/dev/translation.yaml, its
 * cache off (CAIRN_TRANSLATION_CACHE_ENABLED=false: no text repeats, and
 * Apertium is what is measured). `-u` drops Apertium's marks on unknown
 * words, as the service does unless asked (show_unknown). CPU time is read
 * from /proc for the service, its pipelines (its children), the broker, the
 * gateway and this process, and from getrusage(RUSAGE_CHILDREN) for this
 * process's reaped children: the baseline's Apertium processes, and wrk.
 *
 * Prints "name value" lines for tests/bench/run.sh.
 *   translation [seconds-per-round]   (default 5) */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/translation/v1/translation.pb-c.h"
#include "gw_fixture.h"
#include "gw_tokens.h"
#include "harness.h"
#include "lib/proc.h"
#include "lib/wrk.h"

#define THREADS    16  /* single-sentence callers */
#define ROUNDS     3   /* turns of the service and the baseline, single sentences */
#define BATCH      500 /* sentences of the large batch */
#define BATCH_RUNS 5
#define WARMUP_S   2
/* The first load: long enough for Apache Kafka's JIT to compile the
 * broker's hot paths, which takes CPU from everything else meanwhile. */
#define FIRST_WARMUP_S  10
#define MAX_SAMPLES     1000000
#define CALL_TIMEOUT_MS 120000
#define MODE            "eng-spa"
#define GW_CONNS        16
#define GW_THREADS      2
/* Longer than the gateway's 10 s for a translation: wrk waits for every
 * answer, a 504 at worst. */
#define GW_TIMEOUT "15s"
#define GW_BODIES  20000
#define SECRET     "bench-hs256-secret-bench-hs256-secret-0123"

typedef Cairn__Translation__V1__TranslateReply TranslateReply;

extern char **environ;

static int seconds = 5, cores = 2;
static struct harness_broker broker;
static struct harness_proc svc, redis, gw;
static struct harness_client client;
static const char *topic;
static char apertium_bin[512], wrk_bin[512];

/* ---- sentences ---- */

/* clang-format off */
static const char *const subjects[] = {
        "The old man", "My sister", "The children", "A young teacher", "Our neighbours",
        "The doctor", "Her brother", "The students", "A farmer", "The new manager", "His wife",
        "Two soldiers" };
static const char *const verbs[] = {
        "bought", "found", "painted", "sold", "cleaned", "opened", "carried", "wrote", "read",
        "built", "lost", "visited", "closed", "repaired" };
static const char *const objects[] = {
        "a small house", "the red car", "three books", "an old letter", "the new bridge",
        "a wooden table", "the big window", "a long story", "the white door",
        "some fresh bread" };
static const char *const places[] = {
        "in the city", "near the river", "at the market", "in the garden", "behind the school",
        "in the kitchen", "on the mountain", "at the station" };
static const char *const times[] = {
        "yesterday", "last week", "every morning", "in the summer", "on Monday", "after dinner" };
static const char *const clauses[] = {
        "because it was raining", "while their friends were sleeping", "before the shop closed",
        "and then they went home", "although nobody asked them", "when the sun came out", "",
        "" };
/* clang-format on */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define COMBOS                                                                            \
        (COUNT(subjects) * COUNT(verbs) * COUNT(objects) * COUNT(places) * COUNT(times) * \
         COUNT(clauses))

/* Sentence @p i (distinct for every i below COMBOS) into @p out; returns
 * its words. A prime stride over the combinations mixes every part from one
 * sentence to the next. */
static int sentence(size_t i, char *out, size_t size)
{
        size_t j = (i * 7919) % COMBOS;
        const char *s = subjects[j % COUNT(subjects)], *v, *o, *p, *t, *c;
        int words = 0;

        j /= COUNT(subjects);
        v = verbs[j % COUNT(verbs)];
        j /= COUNT(verbs);
        o = objects[j % COUNT(objects)];
        j /= COUNT(objects);
        p = places[j % COUNT(places)];
        j /= COUNT(places);
        t = times[j % COUNT(times)];
        j /= COUNT(times);
        c = clauses[j % COUNT(clauses)];
        snprintf(out, size, "%s %s %s %s %s%s%s.", s, v, o, p, t, c[0] ? " " : "", c);
        for (const char *q = out; *q; q++)
                words += *q != ' ' && (q == out || q[-1] == ' ');
        return words;
}

/* ---- CPU ---- */

/* CPU time so far, microseconds, of what a translation goes through. */
struct cpu {
        double svc;       /* cairn-translation itself */
        double pipelines; /* its children: the Apertium stages */
        double broker, gw, self;
        double children; /* this process's reaped children: the baseline's Apertium */
        double all;      /* the whole machine's busy time (/proc/stat) */
        int64_t at;      /* when, monotonic µs */
};

static void cpu_now(struct cpu *c)
{
        struct rusage ru;
        double svc_tree = bench_tree_cpu_us(svc.pid);

        ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
        c->all = bench_machine_busy_us();
        c->at = cairn_mono_us();
        c->svc = harness_proc_cpu_us(svc.pid);
        c->pipelines = svc_tree - c->svc;
        c->broker = harness_proc_cpu_us(bench_broker_pid(&broker));
        c->gw = gw.pid > 0 ? harness_proc_cpu_us(gw.pid) : 0;
        c->self = harness_proc_cpu_us(getpid());
        c->children = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* @p sum += @p b - @p a */
static void cpu_add(struct cpu *sum, const struct cpu *a, const struct cpu *b)
{
        sum->svc += b->svc - a->svc;
        sum->pipelines += b->pipelines - a->pipelines;
        sum->broker += b->broker - a->broker;
        sum->gw += b->gw - a->gw;
        sum->self += b->self - a->self;
        sum->children += b->children - a->children;
        sum->all += b->all - a->all;
        sum->at += b->at - a->at;
}

/* NAME_cpu_us_* per unit (a sentence, a batch) and the cores the machine
 * was busy: ours (every process above) and the neighbours'. */
static void cpu_print(const char *name, const struct cpu *c, double units)
{
        double ours = c->svc + c->pipelines + c->broker + c->gw + c->self + c->children;

        if (units <= 0 || c->at <= 0)
                return;
        printf("%s_cpu_us_service %.0f\n%s_cpu_us_pipelines %.0f\n%s_cpu_us_broker %.0f\n"
               "%s_cpu_us_gateway %.0f\n%s_cpu_us_client %.0f\n%s_cpu_us_children %.0f\n",
               name, c->svc / units, name, c->pipelines / units, name, c->broker / units, name,
               c->gw / units, name, c->self / units, name, c->children / units);
        printf("%s_cores_ours %.2f\n%s_cores_others %.2f\n", name, ours / (double)c->at, name,
               c->all > ours ? (c->all - ours) / (double)c->at : 0.0);
}

/* ---- the baseline: `apertium -u eng-spa` ---- */

/* Runs `apertium -u eng-spa` on @p in (@p len bytes) as its standard
 * input; its output into @p out. Fails the benchmark when it does not exit
 * 0. Any thread. */
static void apertium_run(const char *in, size_t len, struct cairn_buf *out)
{
        char *argv[] = { apertium_bin, "-u", MODE, NULL };
        posix_spawn_file_actions_t fa;
        int to[2], from[2], status, rc;
        size_t off = 0;
        pid_t pid;

        ck_assert_int_eq(pipe2(to, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(from, O_CLOEXEC), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, to[0], 0);
        posix_spawn_file_actions_adddup2(&fa, from[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        rc = posix_spawn(&pid, apertium_bin, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        ck_assert_msg(rc == 0, "cannot start %s: %s", apertium_bin, strerror(rc));
        close(to[0]);
        close(from[1]);
        fcntl(to[1], F_SETFL, O_NONBLOCK);
        /* write and read at once: the output may outgrow a pipe's buffer
         * before the input is all in */
        for (;;) {
                struct pollfd p[2] = { { from[0], POLLIN, 0 }, { to[1], POLLOUT, 0 } };
                nfds_t np = to[1] >= 0 ? 2 : 1;
                char buf[65536];
                ssize_t n;

                if (poll(p, np, -1) < 0) {
                        ck_assert_int_eq(errno, EINTR);
                        continue;
                }
                if (np == 2 && p[1].revents) {
                        n = write(to[1], in + off, len - off);
                        if (n > 0)
                                off += (size_t)n;
                        if (off == len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                                close(to[1]);
                                to[1] = -1;
                        }
                }
                if (p[0].revents) {
                        n = read(from[0], buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        cairn_buf_add(out, buf, (size_t)n);
                }
        }
        if (to[1] >= 0)
                close(to[1]);
        close(from[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "apertium -u %s: status %d",
                      MODE, status);
        ck_assert_msg(off == len, "apertium -u %s took %zu of %zu bytes", MODE, off, len);
}

/* ---- the service ---- */

/* Translates @p texts en→es; the reply (every text translated, or the
 * benchmark fails), or NULL when the call failed. */
static TranslateReply *translate(char **texts, size_t n, const char *key)
{
        Cairn__Translation__V1__TranslateRequest req =
                CAIRN__TRANSLATION__V1__TRANSLATE_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;

        req.texts = texts;
        req.n_texts = n;
        req.source = "en";
        req.target = "es";
        if (cairn_bus_call(client.cli, topic, key, &req.base, NULL,
                           &cairn__translation__v1__translate_reply__descriptor, NULL, &reply,
                           &st) != CAIRN_OK) {
                fprintf(stderr, "bench: translate %zu texts: %s\n", n, st.message);
                return NULL;
        }
        return (TranslateReply *)reply;
}

/* The texts of @p r that failed or came back empty. */
static long reply_errors(const TranslateReply *r, size_t n)
{
        long errors = r->n_translations == n ? 0 : (long)n;

        for (size_t i = 0; i < r->n_translations; i++) {
                const Cairn__Translation__V1__Translation *t = r->translations[i];

                if (t->error || !t->text || !t->text[0]) {
                        if (errors < 3)
                                fprintf(stderr, "bench: texts[%zu] failed: %s\n", i,
                                        t->error ? t->error->message : "empty");
                        errors++;
                }
        }
        return errors;
}

/* The settings of every run of the service beyond deploy/dev/translation.yaml. */
static char svc_env[3][128];

static void service_start(int pipelines)
{
        snprintf(svc_env[0], sizeof(svc_env[0]), "CAIRN_REDIS_PORT=%d", redis.port);
        snprintf(svc_env[1], sizeof(svc_env[1]), "CAIRN_TRANSLATION_CACHE_ENABLED=false");
        snprintf(svc_env[2], sizeof(svc_env[2]), "CAIRN_TRANSLATION_PIPELINES=%d", pipelines);
        harness_service_start(&svc, &broker, "translation",
                              (const char *const[]){ svc_env[0], svc_env[1], svc_env[2],
                                                     "CAIRN_LOG_LEVEL=warn", NULL });
        ck_assert_msg(harness_wait_ready(&svc, 60000), "translation not ready (see %s)",
                      svc.log_path);
}

static void service_stop(void)
{
        ck_assert_int_eq(harness_service_stop(&svc, 30000), 0);
}

/* ---- 1: single sentences ---- */

/* One side's run: callers take the next sentence until the deadline. */
struct single {
        bool baseline;
        atomic_size_t next; /* the next sentence */
        atomic_long done, errors;
        int64_t deadline;           /* monotonic µs: no sentence starts after it */
        struct harness_samples lat; /* µs, the service's calls */
};

static void *single_caller(void *opaque)
{
        struct single *r = opaque;
        char text[256], *texts[1] = { text };
        struct cairn_buf out = { 0 };

        while (cairn_mono_us() < r->deadline) {
                size_t i = atomic_fetch_add(&r->next, 1);
                int64_t t0;

                sentence(i, text, sizeof(text));
                t0 = cairn_mono_us();
                if (r->baseline) {
                        out.len = 0;
                        apertium_run(text, strlen(text), &out);
                        if (out.len == 0)
                                atomic_fetch_add(&r->errors, 1);
                } else {
                        TranslateReply *rep = translate(texts, 1, "bench");

                        if (!rep) {
                                atomic_fetch_add(&r->errors, 1);
                                continue;
                        }
                        atomic_fetch_add(&r->errors, reply_errors(rep, 1));
                        protobuf_c_message_free_unpacked(&rep->base, NULL);
                        harness_samples_add(&r->lat, (double)(cairn_mono_us() - t0));
                }
                atomic_fetch_add(&r->done, 1);
        }
        cairn_buf_cleanup(&out);
        return NULL;
}

/* Runs @p r with @p callers threads for @p secs from sentence @p first;
 * returns the time until the last one finished, µs. */
static int64_t single_run(struct single *r, int callers, int secs, size_t first)
{
        pthread_t th[THREADS];
        int64_t t0 = cairn_mono_us();

        ck_assert_int_le(callers, THREADS);
        atomic_store(&r->next, first);
        r->deadline = t0 + (int64_t)secs * 1000000;
        for (int i = 0; i < callers; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, single_caller, r), 0);
        for (int i = 0; i < callers; i++)
                pthread_join(th[i], NULL);
        return cairn_mono_us() - t0;
}

static void singles(void)
{
        struct single side[2] = { { .baseline = false }, { .baseline = true } };
        struct cpu sum[2] = { { 0 } }, a, b;
        int64_t us[2] = { 0, 0 };
        double rmin = 1e30, rmax = 0;
        size_t next = 0;

        harness_samples_init(&side[0].lat, MAX_SAMPLES);
        /* warm-up, not recorded: the pipelines' and the broker's first requests */
        single_run(&side[0], THREADS, FIRST_WARMUP_S, 0);
        next = atomic_load(&side[0].next);
        atomic_store(&side[0].done, 0);
        atomic_store(&side[0].errors, 0);
        harness_samples_reset(&side[0].lat);
        for (int round = 0; round < ROUNDS; round++) {
                const long before[2] = { atomic_load(&side[0].done), atomic_load(&side[1].done) };
                /* both sides start from the same sentence: the baseline's
                 * are the first of the service's */
                const size_t first = next;
                double rate[2];

                for (int k = 0; k < 2; k++) {
                        int s = (round + k) % 2; /* the order alternates */
                        int64_t t;

                        cpu_now(&a);
                        t = single_run(&side[s], s ? cores : THREADS, seconds, first);
                        cpu_now(&b);
                        if (atomic_load(&side[s].next) > next)
                                next = atomic_load(&side[s].next);
                        us[s] += t;
                        cpu_add(&sum[s], &a, &b);
                        rate[s] = (double)(atomic_load(&side[s].done) - before[s]) * 1e6 /
                                  (double)t;
                }
                fprintf(stderr, "bench: round %d: service %.1f sentences/s, apertium %.2f/s\n",
                        round + 1, rate[0], rate[1]);
                if (rate[1] > 0) {
                        double r = rate[0] / rate[1];

                        rmin = r < rmin ? r : rmin;
                        rmax = r > rmax ? r : rmax;
                }
        }
        for (int s = 0; s < 2; s++) {
                const char *name = s ? "single_apertium" : "single_service";
                long done = atomic_load(&side[s].done);

                printf("%s_sentences %ld\n%s_sentences_per_s %.2f\n%s_errors %ld\n", name, done,
                       name, (double)done * 1e6 / (double)us[s], name,
                       atomic_load(&side[s].errors));
                cpu_print(name, &sum[s], (double)done);
        }
        printf("single_ratio %.1f\nsingle_round_ratio_min %.1f\nsingle_round_ratio_max %.1f\n",
               ((double)atomic_load(&side[0].done) / (double)us[0]) /
                       ((double)atomic_load(&side[1].done) / (double)us[1]),
               rmin, rmax);
        printf("single_service_p50_ms %.3f\nsingle_service_p99_ms %.3f\n",
               harness_samples_pct(&side[0].lat, 0.50) / 1000.0,
               harness_samples_pct(&side[0].lat, 0.99) / 1000.0);
        printf("single_callers %d\nsingle_apertium_parallel %d\nsingle_rounds %d\n"
               "single_round_secs %d\n",
               THREADS, cores, ROUNDS, seconds);
        /* one caller: a sentence's latency without queueing */
        atomic_store(&side[0].done, 0);
        harness_samples_reset(&side[0].lat);
        us[0] = single_run(&side[0], 1, seconds, atomic_load(&side[0].next));
        printf("single_c1_sentences_per_s %.2f\nsingle_c1_p50_ms %.3f\nsingle_c1_p99_ms %.3f\n",
               (double)atomic_load(&side[0].done) * 1e6 / (double)us[0],
               harness_samples_pct(&side[0].lat, 0.50) / 1000.0,
               harness_samples_pct(&side[0].lat, 0.99) / 1000.0);
        fflush(stdout);
        harness_samples_free(&side[0].lat);
}

/* ---- 2: one large batch ---- */

/* BATCH sentences after those of the single-sentence runs. */
#define BATCH_FIRST (COMBOS - BATCH)

static char *batch[BATCH];
static struct cairn_buf batch_lines; /* the same, one a line: the baseline's input */
static long batch_words;
static double base_secs[2 * BATCH_RUNS];
static int base_runs;
static struct cpu base_cpu;
static struct cairn_buf base_out;

static void batch_init(void)
{
        char text[256];

        for (int i = 0; i < BATCH; i++) {
                batch_words += sentence(BATCH_FIRST + (size_t)i, text, sizeof(text));
                batch[i] = strdup(text);
                ck_assert_ptr_nonnull(batch[i]);
                cairn_buf_printf(&batch_lines, "%s\n", text);
        }
        ck_assert(!batch_lines.oom);
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

static double median(double *v, int n)
{
        qsort(v, (size_t)n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One run of the baseline over the batch, recorded. */
static void batch_baseline(void)
{
        struct cpu a, b;
        int64_t t0;

        base_out.len = 0;
        cpu_now(&a);
        t0 = cairn_mono_us();
        apertium_run(batch_lines.p, batch_lines.len, &base_out);
        base_secs[base_runs++] = (double)(cairn_mono_us() - t0) / 1e6;
        cpu_now(&b);
        cpu_add(&base_cpu, &a, &b);
}

/* @p s with its blanks collapsed and trimmed, into @p out. */
static void squeeze(const char *s, size_t len, struct cairn_buf *out)
{
        bool blank = false;

        out->len = 0;
        for (size_t i = 0; i < len; i++) {
                bool b = s[i] == ' ' || s[i] == '\t' || s[i] == '\n';

                if (!b && blank && out->len > 0)
                        cairn_buf_add(out, " ", 1);
                if (!b)
                        cairn_buf_add(out, &s[i], 1);
                blank = b;
        }
        cairn_buf_add(out, "", 0);
}

/* How many of @p r's translations read as the baseline's line for the same
 * sentence (blanks aside). */
static int same_as_baseline(const TranslateReply *r)
{
        struct cairn_buf x = { 0 }, y = { 0 };
        const char *line = base_out.p ? base_out.p : "", *end = line + base_out.len;
        int same = 0;

        for (size_t i = 0; i < r->n_translations && line < end; i++) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
                const char *t = r->translations[i]->text ? r->translations[i]->text : "";

                squeeze(line, len, &x);
                squeeze(t, strlen(t), &y);
                same += x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
                line += len + (nl ? 1 : 0);
        }
        cairn_buf_cleanup(&x);
        cairn_buf_cleanup(&y);
        return same;
}

/* The batch through the service (started with @p pipelines), BATCH_RUNS
 * times after one unrecorded run, each followed by a run of the
 * baseline. */
static void batches(int pipelines)
{
        double secs[BATCH_RUNS], base[BATCH_RUNS], s, b_s;
        struct cpu sum = { 0 }, a, b;
        char name[32];
        long errors = 0;
        int same = -1;
        TranslateReply *r;

        snprintf(name, sizeof(name), "batch_p%d", pipelines);
        r = translate(batch, BATCH, "bench");
        ck_assert_msg(r, "the batch failed");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        for (int run = 0; run < BATCH_RUNS; run++) {
                int64_t t0;

                cpu_now(&a);
                t0 = cairn_mono_us();
                r = translate(batch, BATCH, "bench");
                secs[run] = (double)(cairn_mono_us() - t0) / 1e6;
                cpu_now(&b);
                cpu_add(&sum, &a, &b);
                ck_assert_msg(r, "the batch failed");
                errors += reply_errors(r, BATCH);
                batch_baseline();
                if (same < 0)
                        same = same_as_baseline(r);
                protobuf_c_message_free_unpacked(&r->base, NULL);
                fprintf(stderr, "bench: %s run %d: %.3f s, apertium %.3f s\n", name, run + 1,
                        secs[run], base_secs[base_runs - 1]);
        }
        s = median(secs, BATCH_RUNS);
        /* against the baseline's runs taken in turn with these: the same
         * neighbours' load */
        memcpy(base, base_secs + base_runs - BATCH_RUNS, sizeof(base));
        b_s = median(base, BATCH_RUNS);
        printf("%s_secs %.3f\n%s_words_per_s %.0f\n%s_apertium_secs %.3f\n"
               "%s_apertium_words_per_s %.0f\n%s_ratio %.2f\n%s_errors %ld\n"
               "%s_same_as_apertium %d\n",
               name, s, name, (double)batch_words / s, name, b_s, name, (double)batch_words / b_s,
               name, b_s / s, name, errors, name, same);
        cpu_print(name, &sum, BATCH_RUNS);
        fflush(stdout);
}

/* What `apertium` takes to start: the median of 3 runs on one word. */
static double apertium_start_secs(void)
{
        struct cairn_buf out = { 0 };
        double secs[3];

        for (int i = 0; i < 3; i++) {
                int64_t t0 = cairn_mono_us();

                out.len = 0;
                apertium_run("Hello.", 6, &out);
                secs[i] = (double)(cairn_mono_us() - t0) / 1e6;
        }
        cairn_buf_cleanup(&out);
        return median(secs, 3);
}

static void batch_summary(void)
{
        double copy[2 * BATCH_RUNS], s;

        memcpy(copy, base_secs, sizeof(copy));
        s = median(copy, base_runs);
        printf("batch_sentences %d\nbatch_words %ld\nbatch_bytes %zu\nbatch_runs %d\n"
               "batch_apertium_runs %d\nbatch_apertium_secs %.3f\nbatch_apertium_words_per_s "
               "%.0f\n",
               BATCH, batch_words, batch_lines.len, BATCH_RUNS, base_runs, s,
               (double)batch_words / s);
        cpu_print("batch_apertium", &base_cpu, base_runs);
        printf("apertium_start_secs %.3f\n", apertium_start_secs());
        fflush(stdout);
}

/* ---- 3: through the gateway ---- */

/* After the sentences of the other runs. */
#define GW_FIRST 100000

static int http_port;
static char *token, bodies_v1[600], bodies_lt[600];

/* GW_BODIES request bodies, a sentence each, into @p path: the service's
 * own shape, or LibreTranslate's (@p lt). */
static void bodies_write(const char *path, size_t first, bool lt)
{
        FILE *fp = fopen(path, "w");
        char text[256];

        ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
        for (size_t i = 0; i < GW_BODIES; i++) {
                sentence(first + i, text, sizeof(text));
                /* nothing to escape in JSON */
                ck_assert(!strpbrk(text, "\"\\"));
                if (lt)
                        fprintf(fp, "{\"q\":\"%s\",\"source\":\"en\",\"target\":\"es\"}\n", text);
                else
                        fprintf(fp, "{\"texts\":[\"%s\"],\"source\":\"en\",\"target\":\"es\"}\n",
                                text);
        }
        ck_assert_int_eq(fclose(fp), 0);
}

static void gateway_start(void)
{
        char e[8][700], keys[300], *claims;

        snprintf(keys, sizeof(keys), "%s/hs.secret", broker.dir);
        harness_write_file(keys, SECRET);
        ck_assert_int_eq(chmod(keys, 0600), 0); /* a secret file is mode 0600 or 0400 */
        http_port = harness_free_port();
        snprintf(e[0], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", http_port);
        snprintf(e[1], sizeof(e[1]), "CAIRN_REDIS_PORT=%d", redis.port);
        snprintf(e[2], sizeof(e[2]), "CAIRN_AUTH_HS256_SECRET_FILE=%s", keys);
        /* rate limiting stays on, with limits no run reaches: no 429s */
        snprintf(e[3], sizeof(e[3]), "CAIRN_RATELIMIT_DEFAULT_PER_MINUTE=100000000");
        snprintf(e[4], sizeof(e[4]), "CAIRN_LOG_LEVEL=warn");
        snprintf(e[5], sizeof(e[5]), "CAIRN_UPSTREAM_TRANSLATION_TOPIC=%s", topic);
        snprintf(e[6], sizeof(e[6]), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.gateway.replies"));
        harness_service_start(&gw, &broker, "gateway",
                              (const char *const[]){ e[0], e[1], e[2], e[3], e[4], e[5], e[6],
                                                     NULL });
        ck_assert_msg(harness_wait_ready(&gw, 30000), "gateway not ready (see %s)", gw.log_path);
        if (asprintf(&claims,
                     "{\"sub\":\"bench\",\"tenant\":\"bench\",\"role\":\"member\","
                     "\"exp\":%lld}",
                     (long long)cairn_now_ms() / 1000 + 3600) < 0)
                abort();
        token = gwt_mint(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);
        ck_assert_ptr_nonnull(token);
        free(claims);
        snprintf(bodies_v1, sizeof(bodies_v1), "%s/bodies-v1.jsonl", broker.dir);
        snprintf(bodies_lt, sizeof(bodies_lt), "%s/bodies-lt.jsonl", broker.dir);
        bodies_write(bodies_v1, GW_FIRST, false);
        bodies_write(bodies_lt, GW_FIRST + GW_BODIES, true);
}

static void gateway_stop(void)
{
        harness_service_stop(&gw, 15000);
        gw.pid = 0;
        free(token);
}

/* Both routes translate a known sentence. */
static void gateway_check(void)
{
        static const struct {
                const char *path, *body;
        } c[] = {
                { "/v1/translations",
                  "{\"texts\":[\"The house is red.\"],\"source\":\"en\",\"target\":\"es\"}" },
                { "/translate",
                  "{\"q\":\"The house is red.\",\"source\":\"en\",\"target\":\"es\"}" },
        };
        char auth[2048];
        const char *headers[] = { auth, "Content-Type: application/json", NULL };

        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        for (size_t i = 0; i < COUNT(c); i++) {
                struct gwf_resp r = { 0 };
                long status = gwf_http(http_port, "POST", c[i].path, headers, c[i].body,
                                       strlen(c[i].body), &r);

                ck_assert_msg(status == 200 && r.body && strstr(r.body, "La casa es roja."),
                              "POST %s: %ld %s", c[i].path, status, r.body ? r.body : "");
                gwf_resp_free(&r);
        }
}

/* wrk for @p secs against @p path with the bodies of @p bodies over
 * @p conns connections. */
static void gw_wrk(const char *path, const char *bodies, int conns, int secs,
                   struct wrk_result *res, char *cmd, size_t cmd_size)
{
        char c[16], t[16], d[16], url[256], script[512], benv[700], tenv[2100], thenv[32];
        char *argv[] = { wrk_bin,    t,    c,      d,   "--latency", "--timeout",
                         GW_TIMEOUT, "-s", script, url, NULL };
        char *env[] = { benv, tenv, thenv, NULL };
        char shown[1024];
        int threads = conns < GW_THREADS ? conns : GW_THREADS;
        struct wrk_run w = { 0 };

        snprintf(t, sizeof(t), "-t%d", threads);
        snprintf(c, sizeof(c), "-c%d", conns);
        snprintf(d, sizeof(d), "-d%ds", secs);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", http_port, path);
        snprintf(script, sizeof(script), "%s/tests/bench/translations.lua", harness_root());
        snprintf(benv, sizeof(benv), "BENCH_BODIES=%s", bodies);
        snprintf(tenv, sizeof(tenv), "BENCH_TOKEN=%s", token);
        snprintf(thenv, sizeof(thenv), "BENCH_THREADS=%d", threads);
        snprintf(shown, sizeof(shown),
                 "BENCH_BODIES=%s BENCH_TOKEN=$JWT BENCH_THREADS=%d wrk %s %s %s --latency "
                 "--timeout %s -s tests/bench/translations.lua %s",
                 bodies == bodies_lt ? "bodies-lt.jsonl" : "bodies-v1.jsonl", threads, t, c, d,
                 GW_TIMEOUT, url);
        wrk_spawn(&w, argv, env, shown);
        wrk_wait(&w, res);
        snprintf(cmd, cmd_size, "%s", shown);
}

/* A load of @p conns connections on @p path after an unrecorded one of
 * WARMUP_S, as NAME_*. */
static void gw_phase(const char *name, const char *path, const char *bodies, int conns)
{
        struct wrk_result res;
        struct cpu sum = { 0 }, a, b;
        char cmd[1024];

        gw_wrk(path, bodies, conns, WARMUP_S, &res, cmd, sizeof(cmd));
        cpu_now(&a);
        gw_wrk(path, bodies, conns, seconds, &res, cmd, sizeof(cmd));
        cpu_now(&b);
        cpu_add(&sum, &a, &b);
        printf("%s_connections %d\n%s_rps %.1f\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n"
               "%s_requests %ld\n%s_non2xx %ld\n%s_socket_errors %ld\n",
               name, conns, name, res.rps, name, res.p50_ms, name, res.p99_ms, name, res.requests,
               name, res.non2xx, name, res.socket_errors);
        cpu_print(name, &sum, (double)res.requests);
        printf("%s_cmd %s\n", name, cmd);
        fflush(stdout);
}

/* ---- the benchmark ---- */

static void stack_start(void)
{
        harness_broker_start(&broker, 1);
        harness_redis_start(&redis, broker.dir, harness_free_port());
        topic = harness_topic("cairn.translation.v1.requests");
        harness_client_start(&client, &broker, "bench");
        harness_client_direct(&client, topic, CALL_TIMEOUT_MS);
}

static void stack_stop(void)
{
        harness_client_stop(&client);
        harness_proc_kill(&redis);
        harness_broker_stop(&broker);
}

/* The service and the baseline agree on a known sentence. */
static void check_known(void)
{
        char *texts[1] = { "The house is red." };
        struct cairn_buf out = { 0 };
        TranslateReply *r = translate(texts, 1, "bench");

        ck_assert_msg(r && reply_errors(r, 1) == 0, "the service does not translate");
        ck_assert_str_eq(r->translations[0]->text, "La casa es roja.");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        apertium_run(texts[0], strlen(texts[0]), &out);
        cairn_buf_add(&out, "", 0);
        ck_assert_msg(strstr(out.p, "La casa es roja."), "apertium -u %s: \"%s\"", MODE, out.p);
        cairn_buf_cleanup(&out);
}

START_TEST(bench_translation)
{
        batch_init();
        stack_start();
        printf("mode %s\ncores %d\n", MODE, cores);

        service_start(2);
        /* what the runs change of deploy/dev/translation.yaml, beside the
         * pipelines (2, then 1) */
        printf("service_env %s\n", svc_env[1]);
        check_known();
        singles();
        batches(2);
        gateway_start();
        gateway_check();
        gw_phase("gw16", "/v1/translations", bodies_v1, GW_CONNS);
        gw_phase("lt16", "/translate", bodies_lt, GW_CONNS);
        gw_phase("gw1", "/v1/translations", bodies_v1, 1);
        gateway_stop();
        service_stop();

        service_start(1);
        batches(1);
        batch_summary();
        service_stop();
        stack_stop();
}
END_TEST

int main(int argc, char **argv)
{
        seconds = argc > 1 ? atoi(argv[1]) : 5;
        if (seconds < 1)
                seconds = 1;
        cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (cores < 1)
                cores = 1;
        if (!bench_find_bin("apertium", apertium_bin, sizeof(apertium_bin))) {
                fprintf(stderr, "bench: apertium not found on PATH: install it with "
                                "deploy/deps.sh\n");
                return 2;
        }
        if (!bench_find_bin("wrk", wrk_bin, sizeof(wrk_bin))) {
                fprintf(stderr, "bench: wrk not found on PATH: install it with deploy/deps.sh "
                                "bench\n");
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return harness_bench_run("translation", bench_translation, 900, NULL);
}

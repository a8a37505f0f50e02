/* How fast a BERT sentence-embedding model (all-MiniLM-L6-v2) runs in this
 * process through services/embedding/bert_encode.h, next to what the
 * machine's own single-thread sgemm reaches in the same run:
 *   - sentences/s and tokens/s at batch 1, 8, 32 and 128 for 10-word and
 *     100-word English sentences, on one thread and on THREADS threads at
 *     once, each with its own working memory and OpenBLAS at one thread per
 *     call, as the service's bert provider runs them;
 *   - the forward pass's FLOPs (the projections, QK^T, softmax x V and the
 *     feed-forward sgemms, from the model's sizes and each text's real token
 *     count) per second against that sgemm peak;
 *   - the latency of one 10-word sentence on one thread (p50, p99).
 * Tokenization, pooling and normalisation are inside every timing.
 * Prints "key value" lines for run.sh.
 *   bert MODEL_DIR [SECONDS [THREADS]]
 *       SECONDS per measure (default 1; a measure runs at least one batch),
 *       THREADS the second column (default: the number of cores).
 * With BENCH_BERT_TEXTS=PATH it also writes the texts it embeds there, one
 * JSON object a line ({"words": N, "text": "..."}), for the numpy reference
 * (tests/bench/bert_numpy.py) to embed the same batches. */
#define _GNU_SOURCE
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/blas.h"
#include "embedding/bert_encode.h"
#include "embedding/bert_gemm.h"
#include "embedding/bert_model.h"

#define POOL        256 /* texts of each length */
#define MAX_BATCH   128
#define MAX_THREADS 64
#define LAT_RUNS    200
#define PEAK_N      1024 /* the sgemm of the peak: PEAK_N^3 multiply-adds */

static const char *const words[] = {
        "the",     "of",       "and",    "to",      "in",       "is",      "was",     "for",
        "that",    "with",     "on",     "as",      "by",       "at",      "from",    "it",
        "people",  "water",    "system", "market",  "number",   "company", "morning", "problem",
        "service", "question", "report", "history", "language", "machine", "network", "weather",
        "city",    "family",   "river",  "student", "engine",   "price",   "music",   "garden",
        "quickly", "rarely",   "almost", "finally", "between",  "during",  "without", "against",
        "runs",    "builds",   "found",  "opened",  "measured", "carried", "grows",   "explains",
        "small",   "bright",   "early",  "strange", "careful",  "modern",  "quiet",   "heavy",
};

static const int lengths[] = { 10, 100 };       /* words a text */
static const int batches[] = { 1, 8, 32, 128 }; /* texts a bert_embed() call */
#define NLENGTHS (sizeof(lengths) / sizeof(lengths[0]))
#define NBATCHES (sizeof(batches) / sizeof(batches[0]))

static const struct bert_model *model;
static char *texts[NLENGTHS][POOL];
static size_t lens[NLENGTHS][POOL];

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sentences of @p nwords words from a fixed pseudo-random sequence: the same
 * on every run. The result is malloc'ed. */
static char *sentence_new(uint64_t *x, int nwords)
{
        size_t nw = sizeof(words) / sizeof(words[0]), cap = (size_t)nwords * 10 + 2, o = 0;
        char *s = malloc(cap);

        if (!s)
                abort();
        for (int k = 0; k < nwords; k++) {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                o += (size_t)snprintf(s + o, cap - o, "%s%s", k ? " " : "", words[*x % nw]);
        }
        s[0] = (char)(s[0] - 'a' + 'A');
        snprintf(s + o, cap - o, ".");
        return s;
}

/* Multiply-adds x 2 of the encoder over one text of @p L tokens: per layer
 * the Q, K, V and output projections (4 x L x H x H), the feed-forward pair
 * (2 x L x H x I), QK^T and softmax x V (2 x L x L x H over all heads). The
 * embeddings, LayerNorm, GELU, softmax and pooling are left out: they are
 * O(L x H) and no sgemm. */
static double text_flops(size_t L)
{
        const struct bert_config *c = &model->conf;
        double h = (double)c->hidden_size, in = (double)c->intermediate_size, l = (double)L;

        return (double)c->num_layers * 2.0 * (4.0 * l * h * h + 2.0 * l * h * in + 2.0 * l * l * h);
}

/* The best of single-thread cblas_sgemm runs of PEAK_N^3 over @p secs (at
 * least three), in GFLOP/s; the runs in *@p runs. */
static double sgemm_peak(double secs, int *runs)
{
        size_t n = PEAK_N;
        float *a = malloc(n * n * sizeof(float)), *b = malloc(n * n * sizeof(float));
        float *c = malloc(n * n * sizeof(float));
        double best = 0, t0 = now();

        *runs = 0;
        if (!a || !b || !c)
                abort();
        for (size_t i = 0; i < n * n; i++) {
                a[i] = (float)(i % 97) / 97.0f - 0.5f;
                b[i] = (float)(i % 89) / 89.0f - 0.5f;
        }
        do {
                double t = now(), dt;

                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0f,
                            a, (int)n, b, (int)n, 0.0f, c, (int)n);
                dt = now() - t;
                if (2.0 * (double)n * (double)n * (double)n / dt / 1e9 > best)
                        best = 2.0 * (double)n * (double)n * (double)n / dt / 1e9;
                (*runs)++;
        } while (now() - t0 < secs || *runs < 3);
        free(a);
        free(b);
        free(c);
        return best;
}

/* The [n, k] weight @p w transposed to [k, n], as cblas_sgemm reads it
 * untransposed; malloc'ed. */
static float *transposed(const float *w, size_t n, size_t k)
{
        float *t = malloc(n * k * sizeof(float));

        if (!t)
                abort();
        for (size_t j = 0; j < n; j++)
                for (size_t c = 0; c < k; c++)
                        t[c * n + j] = w[j * k + c];
        return t;
}

/* The encoder's projections alone, every layer's query, key, value,
 * output and feed-forward products over @p rows token rows, two ways: with
 * cblas_sgemm over weights transposed once ([in, out], which OpenBLAS reads
 * fastest), and with bert_gemm() over the model's packed panels, as the
 * encoder runs them. The best of repeated passes over @p secs each (at
 * least three); prints proj_<words>w_{rows,sgemm_ms,packed_ms}. */
static void projections(int words, size_t rows, double secs)
{
        const struct bert_config *c = &model->conf;
        const size_t h = c->hidden_size, in = c->intermediate_size, nl = c->num_layers;
        float **wt = calloc(nl * 6, sizeof(float *));
        float *a = malloc(rows * in * sizeof(float)), *out = malloc(rows * in * sizeof(float));
        static const char *const kernels[] = { "avx512", "avx2", "generic" };
        const char *chosen = bert_gemm_kernel();
        double best[4] = { 1e30, 1e30, 1e30, 1e30 };

        if (!wt || !a || !out)
                abort();
        for (size_t i = 0; i < rows * in; i++)
                a[i] = (float)(i % 101) / 101.0f - 0.5f;
        for (size_t l = 0; l < nl; l++) {
                const struct bert_layer *L = &model->layers[l];

                wt[l * 6 + 0] = transposed(L->query_w, h, h);
                wt[l * 6 + 1] = transposed(L->key_w, h, h);
                wt[l * 6 + 2] = transposed(L->value_w, h, h);
                wt[l * 6 + 3] = transposed(L->attn_out_w, h, h);
                wt[l * 6 + 4] = transposed(L->inter_w, in, h);
                wt[l * 6 + 5] = transposed(L->out_w, h, in);
        }
        /* way 0: cblas_sgemm; way 1 + i: bert_gemm with kernels[i] */
        for (int way = 0; way < 4; way++) {
                double t0 = now();
                int runs = 0;

                if (way > 0 && bert_gemm_use(kernels[way - 1]) != 0)
                        continue; /* this CPU lacks it */

                do {
                        double t = now();

                        for (size_t l = 0; l < nl; l++) {
                                const struct bert_layer *L = &model->layers[l];

                                if (way == 0) {
                                        for (int q = 0; q < 4; q++)
                                                cblas_sgemm(CblasRowMajor, CblasNoTrans,
                                                            CblasNoTrans, (int)rows, (int)h, (int)h,
                                                            1.0f, a, (int)h, wt[l * 6 + q], (int)h,
                                                            0.0f, out, (int)h);
                                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                                    (int)rows, (int)in, (int)h, 1.0f, a, (int)h,
                                                    wt[l * 6 + 4], (int)in, 0.0f, out, (int)in);
                                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                                    (int)rows, (int)h, (int)in, 1.0f, a, (int)in,
                                                    wt[l * 6 + 5], (int)h, 0.0f, out, (int)h);
                                } else {
                                        bert_gemm(a, rows, h, L->qkv_p, 3 * h, L->qkv_b, NULL, out);
                                        bert_gemm(a, rows, h, L->attn_out_p, h, L->attn_out_b, NULL,
                                                  out);
                                        bert_gemm(a, rows, h, L->inter_p, in, L->inter_b, NULL,
                                                  out);
                                        bert_gemm(a, rows, in, L->out_p, h, L->out_b, NULL, out);
                                }
                        }
                        t = now() - t;
                        best[way] = t < best[way] ? t : best[way];
                        runs++;
                } while (now() - t0 < secs || runs < 3);
        }
        bert_gemm_use(chosen);
        printf("proj_%dw_rows %zu\nproj_%dw_sgemm_ms %.3f\n", words, rows, words, best[0] * 1e3);
        for (int i = 0; i < 3; i++) {
                if (best[1 + i] < 1e30)
                        printf("proj_%dw_%s_ms %.3f\n", words, kernels[i], best[1 + i] * 1e3);
                if (strcmp(kernels[i], chosen) == 0)
                        printf("proj_%dw_packed_ms %.3f\n", words, best[1 + i] * 1e3);
        }
        for (size_t i = 0; i < nl * 6; i++)
                free(wt[i]);
        free(wt);
        free(a);
        free(out);
}

/* One thread of a measure: embeds batches of @p batch texts of length index
 * @p li until @p secs have passed (at least one batch). */
struct worker {
        pthread_t thread;
        struct bert_work *work;
        float *out; /* MAX_BATCH vectors */
        size_t li, batch, first;
        double secs, start, end;
        uint64_t texts, tokens;
        double flops;
        int failed;
};

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        size_t at = w->first * w->batch;

        w->texts = w->tokens = 0;
        w->flops = 0;
        do {
                size_t start = at % (POOL - w->batch + 1);
                uint64_t tokens = 0;

                if (bert_embed(model, w->work, (const char *const *)&texts[w->li][start],
                               &lens[w->li][start], w->batch, w->out, &tokens) != 0) {
                        w->failed = 1;
                        break;
                }
                for (size_t i = 0; i < w->batch; i++)
                        w->flops += text_flops(bert_work_text_tokens(w->work, i));
                w->texts += w->batch;
                w->tokens += tokens;
                at += w->batch;
                w->end = now();
        } while (w->end - w->start < w->secs);
        return NULL;
}

/* Runs @p nthreads workers at once on batches of @p batch texts of length
 * index @p li; prints the figures as c<words>w_b<batch>_t<threads>_*. */
static void measure(struct worker *ws, size_t nthreads, size_t li, size_t batch, double secs,
                    double peak)
{
        double start = now(), end = start, flops = 0;
        uint64_t ntexts = 0, tokens = 0;
        char name[64];

        for (size_t t = 0; t < nthreads; t++) {
                ws[t].li = li;
                ws[t].batch = batch;
                ws[t].first = t;
                ws[t].secs = secs;
                ws[t].start = start;
                ws[t].failed = 0;
                if (pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]) != 0)
                        abort();
        }
        for (size_t t = 0; t < nthreads; t++) {
                pthread_join(ws[t].thread, NULL);
                if (ws[t].failed) {
                        fprintf(stderr, "bert: out of memory\n");
                        exit(1);
                }
                if (ws[t].end > end)
                        end = ws[t].end;
                ntexts += ws[t].texts;
                tokens += ws[t].tokens;
                flops += ws[t].flops;
        }
        snprintf(name, sizeof(name), "c%dw_b%zu_t%zu", lengths[li], batch, nthreads);
        printf("%s_sps %.1f\n%s_tps %.0f\n%s_tokens_per_text %.1f\n%s_gflops %.2f\n"
               "%s_efficiency %.3f\n%s_secs %.2f\n",
               name, (double)ntexts / (end - start), name, (double)tokens / (end - start), name,
               (double)tokens / (double)ntexts, name, flops / (end - start) / 1e9, name,
               flops / (end - start) / 1e9 / (peak * (double)nthreads), name, end - start);
        fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* One 10-word sentence at a time on one thread, LAT_RUNS times. */
static void latency(struct bert_work *work)
{
        double ms[LAT_RUNS], sum = 0;
        static float out[4096];

        for (int i = 0; i < LAT_RUNS; i++) {
                double t = now();

                if (bert_embed(model, work, (const char *const *)&texts[0][i % POOL],
                               &lens[0][i % POOL], 1, out, NULL) != 0) {
                        fprintf(stderr, "bert: out of memory\n");
                        exit(1);
                }
                ms[i] = (now() - t) * 1000.0;
                sum += ms[i];
        }
        qsort(ms, LAT_RUNS, sizeof(double), cmp_double);
        printf("lat_runs %d\nlat_p50_ms %.3f\nlat_p99_ms %.3f\nlat_mean_ms %.3f\nlat_max_ms %.3f\n",
               LAT_RUNS, ms[LAT_RUNS / 2], ms[LAT_RUNS * 99 / 100], sum / LAT_RUNS,
               ms[LAT_RUNS - 1]);
}

/* Writes every text as a JSON line to @p path (they hold no character JSON
 * escapes). */
static void texts_write(const char *path)
{
        FILE *fp = fopen(path, "w");

        if (!fp) {
                perror(path);
                exit(1);
        }
        for (size_t li = 0; li < NLENGTHS; li++)
                for (size_t i = 0; i < POOL; i++)
                        fprintf(fp, "{\"words\": %d, \"text\": \"%s\"}\n", lengths[li],
                                texts[li][i]);
        if (fclose(fp) != 0) {
                perror(path);
                exit(1);
        }
}

int main(int argc, char **argv)
{
        double secs = argc > 2 ? atof(argv[2]) : 1.0, peak;
        long nthreads = argc > 3 ? atol(argv[3]) : sysconf(_SC_NPROCESSORS_ONLN);
        const char *texts_path = getenv("BENCH_BERT_TEXTS");
        static struct worker ws[MAX_THREADS];
        struct bert_model *m;
        char errstr[1024], path[1200];
        struct stat sb;
        uint64_t x = 0x9E3779B97F4A7C15ULL;
        int runs;

        if (argc < 2) {
                fprintf(stderr, "usage: bert MODEL_DIR [SECONDS [THREADS]]\n");
                return 2;
        }
        cairn_blas_kernels(argv); /* OpenBLAS's kernels as the service picks them */
        if (secs <= 0)
                secs = 1.0;
        if (nthreads < 1 || nthreads > MAX_THREADS)
                nthreads = 2;
        m = bert_model_load(argv[1], errstr, sizeof(errstr));
        if (!m) {
                fprintf(stderr, "bert: %s\n", errstr);
                return 1;
        }
        model = m;
        if (model->conf.hidden_size > 4096) {
                fprintf(stderr, "bert: hidden size %zu over 4096\n", model->conf.hidden_size);
                return 1;
        }
        /* As the service's bert provider: parallelism from threads of our own. */
        openblas_set_num_threads(1);
        for (size_t li = 0; li < NLENGTHS; li++)
                for (size_t i = 0; i < POOL; i++) {
                        texts[li][i] = sentence_new(&x, lengths[li]);
                        lens[li][i] = strlen(texts[li][i]);
                }
        if (texts_path && texts_path[0])
                texts_write(texts_path);
        snprintf(path, sizeof(path), "%s/model.safetensors", argv[1]);
        printf("bert_hidden %zu\nbert_layers %zu\nbert_heads %zu\nbert_intermediate %zu\n"
               "bert_weights_bytes %lld\nthreads %ld\nsecs %.2f\nopenblas %s\nbert_gemm_kernel %s\n",
               model->conf.hidden_size, model->conf.num_layers, model->conf.num_heads,
               model->conf.intermediate_size, stat(path, &sb) == 0 ? (long long)sb.st_size : -1LL,
               nthreads, secs, openblas_get_config(), bert_gemm_kernel());
        for (long t = 0; t < nthreads; t++) {
                ws[t].work = bert_work_new(model);
                ws[t].out = malloc(MAX_BATCH * model->conf.hidden_size * sizeof(float));
                if (!ws[t].work || !ws[t].out) {
                        fprintf(stderr, "bert: out of memory\n");
                        return 1;
                }
        }
        /* Warm-up: working memory allocated, weights paged in. */
        for (size_t li = 0; li < NLENGTHS; li++)
                for (long t = 0; t < nthreads; t++)
                        if (bert_embed(model, ws[t].work, (const char *const *)texts[li], lens[li],
                                       8, ws[t].out, NULL) != 0)
                                return 1;
        peak = sgemm_peak(secs, &runs);
        printf("sgemm_n %d\nsgemm_runs %d\nsgemm_peak_gflops %.2f\n", PEAK_N, runs, peak);
        latency(ws[0].work);
        /* the projections alone, at the tokens of the first text of each length */
        for (size_t li = 0; li < NLENGTHS; li++) {
                if (bert_embed(model, ws[0].work, (const char *const *)texts[li], lens[li], 1,
                               ws[0].out, NULL) != 0)
                        return 1;
                projections(lengths[li], bert_work_text_tokens(ws[0].work, 0), secs / 2);
        }
        for (size_t li = 0; li < NLENGTHS; li++)
                for (size_t bi = 0; bi < NBATCHES; bi++) {
                        measure(ws, 1, li, (size_t)batches[bi], secs, peak);
                        if (nthreads > 1)
                                measure(ws, (size_t)nthreads, li, (size_t)batches[bi], secs, peak);
                }
        /* The peak again, to show how much it moved during the run. */
        printf("sgemm_peak_end_gflops %.2f\n", sgemm_peak(secs, &runs));
        for (long t = 0; t < nthreads; t++) {
                bert_work_free(ws[t].work);
                free(ws[t].out);
        }
        for (size_t li = 0; li < NLENGTHS; li++)
                for (size_t i = 0; i < POOL; i++)
                        free(texts[li][i]);
        bert_model_free(m);
        return 0;
}

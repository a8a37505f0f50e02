/* How well and how fast the translation service's language detection
 * (services/translation/detect.h) does with each method on a labelled set
 * (tests/data/translation/detect.tsv): accuracy by text length (<= 20,
 * 21-50 and > 50 characters), how often the right language is among the
 * first three candidates, accuracy by language, how the first candidate's
 * confidence matches how often it is right, and the CPU time a detection
 * takes and detections per second, on one thread and on THREADS threads at
 * once over the same detector (with no lock, the CPU time per detection
 * should not grow with the threads). Each
 * detector is made with the set's languages, as the service makes its own
 * with the languages it translates from. Prints markdown for
 * docs/benchmarks.md (tests/bench/run.sh puts it there).
 *   translation_detect TSV [SECONDS [THREADS]]
 *       SECONDS of detections per method and thread count (default 1),
 *       THREADS the second column (default: the number of cores). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "translation/detect.h"

#define MAX_TEXTS   10000
#define MAX_THREADS 64
#define NBUCKETS    3
#define NBANDS      5
#define NMETHODS    3

struct sample {
        char lang[8];
        char *text;
        size_t len;
        int bucket; /* 0: <= 20 characters, 1: 21-50, 2: > 50 */
};

static struct sample samples[MAX_TEXTS];
static size_t nsamples;
static const char *langs[TR_DETECT_MAX_LANGS];
static size_t nlangs;

static const char *const bucket_names[NBUCKETS] = { "≤ 20 characters", "21–50", "> 50" };
/* the first candidate's confidence: [0, .25), [.25, .5), [.5, .75), [.75, .9), [.9, 1] */
static const float band_floor[NBANDS] = { 0.0f, 0.25f, 0.5f, 0.75f, 0.9f };
static const char *const band_names[NBANDS] = { "< 0.25", "0.25–0.5", "0.5–0.75", "0.75–0.9",
                                                "≥ 0.9" };

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t characters(const char *s, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                n += ((unsigned char)s[i] & 0xC0) != 0x80;
        return n;
}

/* Reads the labelled set: "lang<TAB>text" lines, '#' lines are comments. */
static int samples_read(const char *path)
{
        FILE *fp = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (!fp) {
                fprintf(stderr, "translation_detect: cannot open %s\n", path);
                return -1;
        }
        while ((n = getline(&line, &cap, fp)) > 0) {
                char *tab;
                struct sample *s;
                size_t chars, k;

                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                if (n == 0 || line[0] == '#')
                        continue;
                tab = strchr(line, '\t');
                if (!tab || tab == line || (size_t)(tab - line) >= sizeof(s->lang) ||
                    nsamples == MAX_TEXTS) {
                        fprintf(stderr, "translation_detect: %s: bad line \"%s\"\n", path, line);
                        fclose(fp);
                        free(line);
                        return -1;
                }
                s = &samples[nsamples++];
                memcpy(s->lang, line, (size_t)(tab - line));
                s->lang[tab - line] = '\0';
                s->text = strdup(tab + 1);
                s->len = strlen(s->text);
                chars = characters(s->text, s->len);
                s->bucket = chars <= 20 ? 0 : chars <= 50 ? 1 : 2;
                for (k = 0; k < nlangs && strcmp(langs[k], s->lang) != 0; k++)
                        ;
                if (k == nlangs && nlangs < TR_DETECT_MAX_LANGS)
                        langs[nlangs++] = s->lang;
        }
        free(line);
        fclose(fp);
        return nsamples ? 0 : -1;
}

struct timing {
        const struct tr_detector *d;
        double seconds;
        unsigned long done;
        double cpu; /* the thread's CPU time, seconds */
};

static double thread_cpu(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *timing_run(void *arg)
{
        struct timing *t = arg;
        struct tr_detection out[3];
        double end = now() + t->seconds, cpu0 = thread_cpu();
        volatile size_t sink = 0;

        do {
                for (size_t i = 0; i < nsamples; i++)
                        sink += tr_detect(t->d, samples[i].text, samples[i].len, out, 3);
                t->done += nsamples;
        } while (now() < end);
        t->cpu = thread_cpu() - cpu0;
        (void)sink;
        return NULL;
}

/* Detections per second over @p threads threads at once; *@p cpu_us, the
 * threads' CPU time per detection in microseconds, which the machine's
 * other work moves far less than the rate. */
static double rate(const struct tr_detector *d, double seconds, int threads, double *cpu_us)
{
        pthread_t tid[MAX_THREADS];
        struct timing t[MAX_THREADS];
        unsigned long done = 0;
        double t0 = now(), dt, cpu = 0;

        for (int i = 0; i < threads; i++) {
                t[i] = (struct timing){ d, seconds, 0, 0 };
                pthread_create(&tid[i], NULL, timing_run, &t[i]);
        }
        for (int i = 0; i < threads; i++) {
                pthread_join(tid[i], NULL);
                done += t[i].done;
                cpu += t[i].cpu;
        }
        dt = now() - t0;
        *cpu_us = cpu * 1e6 / (double)done;
        return (double)done / dt;
}

struct tally {
        unsigned right[NBUCKETS], total[NBUCKETS], top3, none;
        unsigned lang_right[TR_DETECT_MAX_LANGS], lang_total[TR_DETECT_MAX_LANGS];
        unsigned lang_short_right[TR_DETECT_MAX_LANGS], lang_short_total[TR_DETECT_MAX_LANGS];
        unsigned band_answers[NBANDS], band_right[NBANDS];
        double band_confidence[NBANDS];
        double rate1, rate_n, cpu1_us, cpu_n_us, make_ms;
};

static void tally_sample(struct tally *t, const struct sample *s, const struct tr_detection *out,
                         size_t n)
{
        bool right = n > 0 && strcmp(out[0].language, s->lang) == 0;
        size_t l;
        int band = 0;

        for (l = 0; strcmp(langs[l], s->lang) != 0; l++)
                ;
        t->total[s->bucket]++;
        t->right[s->bucket] += right;
        t->lang_total[l]++;
        t->lang_right[l] += right;
        if (s->bucket == 0) {
                t->lang_short_total[l]++;
                t->lang_short_right[l] += right;
        }
        for (size_t i = 0; i < n; i++) {
                if (strcmp(out[i].language, s->lang) == 0)
                        t->top3++;
        }
        if (n == 0) {
                t->none++;
                return;
        }
        while (band + 1 < NBANDS && out[0].confidence >= band_floor[band + 1])
                band++;
        t->band_answers[band]++;
        t->band_right[band] += right;
        t->band_confidence[band] += out[0].confidence;
}

static const char *pct(unsigned right, unsigned total, char *buf, size_t size)
{
        if (total == 0)
                snprintf(buf, size, "—");
        else
                snprintf(buf, size, "%.1f%%", 100.0 * right / total);
        return buf;
}

int main(int argc, char **argv)
{
        double seconds = argc > 2 ? atof(argv[2]) : 1.0;
        int threads = argc > 3 ? atoi(argv[3]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
        static struct tally tally[NMETHODS];
        char errstr[256], a[32], b[32];
        unsigned total = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: translation_detect TSV [SECONDS [THREADS]]\n");
                return 2;
        }
        if (seconds <= 0)
                seconds = 1.0;
        if (threads < 1 || threads > MAX_THREADS)
                threads = 2;
        if (samples_read(argv[1]) < 0)
                return 1;
        for (int m = 0; m < NMETHODS; m++) {
                struct tally *t = &tally[m];
                struct tr_detector *d;
                double t0 = now();

                d = tr_detector_new((enum tr_detect_method)m, langs, nlangs, errstr,
                                    sizeof(errstr));
                if (!d) {
                        fprintf(stderr, "translation_detect: %s\n", errstr);
                        return 1;
                }
                t->make_ms = (now() - t0) * 1e3;
                for (size_t i = 0; i < nsamples; i++) {
                        struct tr_detection out[3];
                        size_t n = tr_detect(d, samples[i].text, samples[i].len, out, 3);

                        tally_sample(t, &samples[i], out, n);
                }
                t->rate1 = rate(d, seconds, 1, &t->cpu1_us);
                t->rate_n = rate(d, seconds, threads, &t->cpu_n_us);
                tr_detector_free(d);
        }
        for (int k = 0; k < NBUCKETS; k++)
                total += tally[0].total[k];

        printf("%zu texts in %zu languages (", nsamples, nlangs);
        for (size_t l = 0; l < nlangs; l++)
                printf("%s%s", l ? " " : "", langs[l]);
        printf("): %u of ≤ 20 characters, %u of 21–50, %u longer. A text counts as right when "
               "the first candidate is its language; no answer counts as wrong.\n\n",
               tally[0].total[0], tally[0].total[1], tally[0].total[2]);
        printf("| method | %s | %s | %s | all | right language among the first three | no "
               "answer | CPU per text, 1 thread | %d threads | detections/s, 1 thread | %d "
               "threads |\n",
               bucket_names[0], bucket_names[1], bucket_names[2], threads, threads);
        printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int m = 0; m < NMETHODS; m++) {
                struct tally *t = &tally[m];
                unsigned right = t->right[0] + t->right[1] + t->right[2];

                printf("| %s%s |", tr_detect_method_name((enum tr_detect_method)m),
                       m == TR_DETECT_DEFAULT ? " (default)" : "");
                for (int k = 0; k < NBUCKETS; k++)
                        printf(" %s |", pct(t->right[k], t->total[k], a, sizeof(a)));
                printf(" %s | %s | %u | %.1f µs | %.1f µs | %.0f | %.0f |\n",
                       pct(right, total, a, sizeof(a)), pct(t->top3, total, b, sizeof(b)), t->none,
                       t->cpu1_us, t->cpu_n_us, t->rate1, t->rate_n);
        }
        printf("\nTarget: ≥ 95%% right on texts of 21–50 characters with the default method "
               "(%s): %s (%s).\n\n",
               tr_detect_method_name(TR_DETECT_DEFAULT),
               pct(tally[TR_DETECT_DEFAULT].right[1], tally[TR_DETECT_DEFAULT].total[1], a,
                   sizeof(a)),
               100.0 * tally[TR_DETECT_DEFAULT].right[1] >= 95.0 * tally[TR_DETECT_DEFAULT].total[1]
                       ? "met"
                       : "**missed**");

        /* the rule that chose TR_DETECT_DEFAULT, applied to this run */
        {
                int pick = -1;

                for (int m = 0; m < NMETHODS; m++) {
                        const struct tally *t = &tally[m];

                        if (100.0 * t->right[1] < 95.0 * t->total[1])
                                continue;
                        if (pick < 0 || t->right[0] > tally[pick].right[0])
                                pick = m;
                }
                printf("The rule for the default: of the methods right on ≥ 95%% of texts of 21–50 "
                       "characters, the one right most often on texts of ≤ 20. On these figures it "
                       "picks %s; the service's default (TR_DETECT_DEFAULT, "
                       "services/translation/detect.h) is %s%s.\n\n",
                       pick < 0 ? "none" : tr_detect_method_name((enum tr_detect_method)pick),
                       tr_detect_method_name(TR_DETECT_DEFAULT),
                       pick == TR_DETECT_DEFAULT ? "" : " (**they differ**)");
        }
        printf("By language, right of all its texts (of its texts of ≤ 20 characters):\n\n");
        printf("| language |");
        for (int m = 0; m < NMETHODS; m++)
                printf(" %s |", tr_detect_method_name((enum tr_detect_method)m));
        printf("\n|---|---|---|---|\n");
        for (size_t l = 0; l < nlangs; l++) {
                printf("| %s |", langs[l]);
                for (int m = 0; m < NMETHODS; m++) {
                        struct tally *t = &tally[m];

                        printf(" %s (%s) |", pct(t->lang_right[l], t->lang_total[l], a, sizeof(a)),
                               pct(t->lang_short_right[l], t->lang_short_total[l], b, sizeof(b)));
                }
                printf("\n");
        }

        printf("\nThe first candidate's confidence against how often it was right: answers "
               "given, right, mean confidence.\n\n");
        printf("| confidence |");
        for (int m = 0; m < NMETHODS; m++)
                printf(" %s |", tr_detect_method_name((enum tr_detect_method)m));
        printf("\n|---|---|---|---|\n");
        for (int k = 0; k < NBANDS; k++) {
                printf("| %s |", band_names[k]);
                for (int m = 0; m < NMETHODS; m++) {
                        struct tally *t = &tally[m];

                        if (t->band_answers[k] == 0)
                                printf(" — |");
                        else
                                printf(" %u, %s, %.2f |", t->band_answers[k],
                                       pct(t->band_right[k], t->band_answers[k], a, sizeof(a)),
                                       t->band_confidence[k] / t->band_answers[k]);
                }
                printf("\n");
        }
        printf("\nMaking a detector of the %zu languages: cld2 %.2f ms, textcat %.2f ms (it reads "
               "their fingerprints), combined %.2f ms.\n",
               nlangs, tally[TR_DETECT_CLD2].make_ms, tally[TR_DETECT_TEXTCAT].make_ms,
               tally[TR_DETECT_COMBINED].make_ms);
        for (size_t i = 0; i < nsamples; i++)
                free(samples[i].text);
        return 0;
}

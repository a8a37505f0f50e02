/* Word error rate of the speech service's recogniser (services/speech:
 * Whisper tiny.en behind voice activity detection, as transcribe.c runs
 * them) on a synthesised set, next to faster-whisper on the same samples:
 *   - six voices: flite's slt, kal, awb and rms, espeak-ng's en-us and
 *     en-us+f2, each reading six of twelve ordinary sentences (each
 *     sentence in three voices) as one recording, the sentences 0.8 s
 *     apart (about 20 s: one of Whisper's 30 s windows, so the whole set
 *     costs few encoder runs), resampled to 16 kHz by ffmpeg;
 *   - three conditions: clean, and Gaussian white noise at 10 dB and 0 dB
 *     SNR (against the mean power of the sentences' samples, the pauses
 *     between them left out), from a fixed seed per recording and
 *     condition: the same samples on every run;
 *   - per condition: the engine as the service runs it (speech_recognise():
 *     voice activity found on the samples as they came, no speech found
 *     gives empty text, segments outside the speech found are dropped;
 *     Whisper's defaults, temperature fallback on), without and with
 *     audio_denoise() before Whisper (speech.denoise), and
 *     faster-whisper (tests/integration/speech_reference.py: default
 *     temperature fallback, no VAD) on the same samples, raw and denoised.
 * WER = word-level edit distance / reference words, both sides lowercased
 * with punctuation dropped (apostrophes kept, hyphens split words). Numbers
 * are not normalised: "7" against "seven" is an error; the sentences hold
 * no numbers, so it only counts when a recogniser invents one.
 * Prints "key value" lines (WER in percent); SPEECH_WER_VERBOSE=1 prints
 * every transcript on stderr.
 *   speech_wer MODEL_DIR */
#define _GNU_SOURCE
#include <cblas.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/blas.h"
#include "cairn/file.h"
#include "speech/audio.h"
#include "speech/recognise.h"
#include "speech/whisper.h"
#include "speech_words.h"

#define RATE      16000
#define PER_VOICE 6

static const char *const sentences[] = {
        "The quick brown fox jumps over the lazy dog.",
        "Please call me tomorrow afternoon when you get home.",
        "She left the keys on the kitchen table.",
        "The weather is nice today, so we are going for a walk.",
        "Open the window and let the fresh air in.",
        "We will meet at the station after lunch.",
        "The train leaves early in the morning.",
        "My sister bought a small house near the river.",
        "The doctor told him to drink more water.",
        "Our friends painted their old fence last summer.",
        "Could you send me the report before the meeting?",
        "The children played in the garden until it got dark.",
};
#define N_SENTENCES (sizeof(sentences) / sizeof(*sentences))

/* engine, voice, group */
static const char *const voices[][3] = {
        { "flite", "slt", "flite" },     { "flite", "kal", "flite" },
        { "flite", "awb", "flite" },     { "flite", "rms", "flite" },
        { "espeak", "en-us", "espeak" }, { "espeak", "en-us+f2", "espeak" },
};
#define N_VOICES (sizeof(voices) / sizeof(*voices))
#define N_CLIPS  N_VOICES /* one recording a voice */
#define PAUSE    (RATE * 8 / 10)

static const char *const groups[] = { "flite", "espeak", "all" };
#define N_GROUPS 3

static const struct {
        const char *name;
        double snr_db; /* INFINITY: no noise */
} conds[] = { { "clean", INFINITY }, { "snr10", 10 }, { "snr0", 0 } };
#define N_CONDS 3

/* the four recognisers, in the order of their columns */
enum { OURS, OURS_DN, FW, FW_DN, N_RECS };
static const char *const rec_names[N_RECS] = { "ours", "ours_denoise", "fasterwhisper",
                                               "fasterwhisper_denoise" };

struct clip {
        size_t voice;
        char text[1024]; /* the sentences read, in order */
        float *x;        /* clean, 16 kHz */
        size_t n;
        double power; /* mean power of the sentences' samples */
};

static struct clip clips[N_CLIPS];
static char dir[256];
/* errors and reference words per recogniser, condition and voice */
static size_t errs[N_RECS][N_CONDS][N_VOICES], refs[N_RECS][N_CONDS][N_VOICES];

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
        fprintf(stderr, "speech_wer: %s\n", what);
        exit(1);
}

static float *read_f32(const char *path, size_t *n)
{
        char err[512];
        size_t len;
        float *x = (void *)cairn_file_read(path, SIZE_MAX, &len, err, sizeof(err));

        *n = len / sizeof(float);
        return x;
}

static void write_f32(const char *path, const float *x, size_t n)
{
        FILE *fp = fopen(path, "wb");

        if (!fp || fwrite(x, sizeof(float), n, fp) != n || fclose(fp) != 0)
                die("cannot write a clip under TMPDIR");
}

/* Sentence @p k in voice @p v, appended to @p c with a pause after it. */
static void speak(struct clip *c, size_t v, const char *text, double *energy, size_t *voiced)
{
        char wav[400], raw[400], cmd[2048];
        float *y;
        size_t n;

        snprintf(wav, sizeof(wav), "%s/s.wav", dir);
        snprintf(raw, sizeof(raw), "%s/s.f32", dir);
        if (!strcmp(voices[v][0], "flite"))
                snprintf(cmd, sizeof(cmd), "flite -voice %s -t '%s' -o '%s'", voices[v][1], text,
                         wav);
        else
                snprintf(cmd, sizeof(cmd), "espeak-ng -v %s -w '%s' '%s'", voices[v][1], wav, text);
        if (system(cmd) != 0)
                die("flite or espeak-ng failed (are they installed?)");
        snprintf(cmd, sizeof(cmd),
                 "ffmpeg -nostdin -loglevel error -y -i '%s' -ar 16000 -ac 1 -f f32le '%s'", wav,
                 raw);
        if (system(cmd) != 0)
                die("ffmpeg failed");
        y = read_f32(raw, &n);
        if (!y || n == 0)
                die("cannot read a synthesised sentence");
        c->x = realloc(c->x, (c->n + n + PAUSE) * sizeof(float));
        if (!c->x)
                die("out of memory");
        memcpy(c->x + c->n, y, n * sizeof(float));
        memset(c->x + c->n + n, 0, PAUSE * sizeof(float));
        c->n += n + PAUSE;
        for (size_t j = 0; j < n; j++)
                *energy += (double)y[j] * y[j];
        *voiced += n;
        free(y);
}

/* Voice @p v's recording: sentences 2 v, 2 v + 1, ... (PER_VOICE, mod 12). */
static void synthesise(size_t v)
{
        struct clip *c = &clips[v];
        double energy = 0;
        size_t voiced = 0, len = 0;

        c->voice = v;
        for (size_t j = 0; j < PER_VOICE; j++) {
                const char *text = sentences[(2 * v + j) % N_SENTENCES];

                len += (size_t)snprintf(c->text + len, sizeof(c->text) - len, "%s%s", j ? " " : "",
                                        text);
                speak(c, v, text, &energy, &voiced);
        }
        c->power = energy / (double)voiced;
}

/* Gaussian noise from a xorshift generator seeded per clip and condition */
static double gauss(uint64_t *s)
{
        double u, v;

        *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
        u = ((*s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0 + 1e-12;
        *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
        v = ((*s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
        return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Clip @p i under condition @p k, malloc'd. */
static float *condition(size_t i, size_t k)
{
        const struct clip *c = &clips[i];
        float *y = malloc(c->n * sizeof(float));
        uint64_t seed = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(i + 1) << 20) ^ (uint64_t)k;
        double scale;

        if (!y)
                die("out of memory");
        memcpy(y, c->x, c->n * sizeof(float));
        if (isinf(conds[k].snr_db))
                return y;
        scale = sqrt(c->power / pow(10, conds[k].snr_db / 10));
        for (size_t j = 0; j < c->n; j++)
                y[j] += (float)(scale * gauss(&seed));
        return y;
}

static void score(int rec, size_t k, size_t i, const char *hyp)
{
        size_t nr, e = word_errors(hyp, clips[i].text, &nr);

        errs[rec][k][clips[i].voice] += e;
        refs[rec][k][clips[i].voice] += nr;
        if (getenv("SPEECH_WER_VERBOSE"))
                fprintf(stderr, "%-21s %-5s %-8s %zu/%zu \"%s\"\n", rec_names[rec], conds[k].name,
                        voices[clips[i].voice][1], e, nr, hyp);
}

/* The service's transcript of @p x (modified in place when @p denoise):
 * its own path, speech_recognise(), with its defaults. */
static char *recognise(const struct whisper_model *m, float *x, size_t n, bool denoise)
{
        struct audio_pcm pcm = { .samples = x, .n = n, .rate = RATE };
        struct whisper_opts o;
        struct whisper_result r;
        char err[512], *text;
        bool no_speech;

        whisper_opts_default(&o);
        if (speech_recognise(m, &pcm, true, denoise, &o, &r, &no_speech, err, sizeof(err)) < 0)
                die(err);
        text = strdup(r.text);
        whisper_result_free(&r);
        return text;
}

/* faster-whisper over every file of the jobs file; scores them. */
static void reference(const char *model_dir, const char *jobs, size_t n_jobs, const int *rec,
                      const size_t *cond, const size_t *clip)
{
        char cmd[2048], line[65536];
        size_t k = 0;
        FILE *fp;

        snprintf(cmd, sizeof(cmd),
                 "tests/clients/venv.sh fasterwhisper tests/integration/speech_reference.py "
                 "'%s' - <'%s'",
                 model_dir, jobs);
        fp = popen(cmd, "r");
        if (!fp)
                die("cannot run speech_reference.py");
        while (fgets(line, sizeof(line), fp) && k < n_jobs) {
                json_t *o = json_loads(line, 0, NULL);
                const char *text = json_string_value(json_object_get(o, "text"));

                if (!text)
                        die("speech_reference.py wrote something else than a transcript");
                score(rec[k], cond[k], clip[k], text);
                k++;
                json_decref(o);
        }
        if (pclose(fp) != 0 || k != n_jobs)
                die("speech_reference.py failed (tests/clients/venv.sh fasterwhisper)");
}

static double wer(int rec, size_t k, size_t g, size_t *words)
{
        size_t e = 0, r = 0;

        for (size_t v = 0; v < N_VOICES; v++) {
                if (g < 2 && strcmp(voices[v][2], groups[g]) != 0)
                        continue;
                e += errs[rec][k][v];
                r += refs[rec][k][v];
        }
        *words = r;
        return r ? 100.0 * (double)e / (double)r : 0;
}

int main(int argc, char **argv)
{
        static int job_rec[N_CLIPS * N_CONDS * 2];
        static size_t job_cond[N_CLIPS * N_CONDS * 2], job_clip[N_CLIPS * N_CONDS * 2];
        struct whisper_model *m;
        char errstr[512], jobs[400], path[400];
        double t0, t_ours, t_fw;
        size_t n_jobs = 0;
        FILE *jf;

        if (argc < 2) {
                fprintf(stderr, "usage: speech_wer MODEL_DIR\n");
                return 2;
        }
        cairn_blas_kernels(argv);
        snprintf(dir, sizeof(dir), "%s/speech-wer-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir))
                die("cannot make a directory under TMPDIR");
        for (size_t i = 0; i < N_CLIPS; i++)
                synthesise(i);
        openblas_set_num_threads(2);
        printf("openblas_core %s\n", openblas_get_corename());
        m = whisper_model_load(argv[1], errstr, sizeof(errstr));
        if (!m)
                die(errstr);
        snprintf(jobs, sizeof(jobs), "%s/jobs.jsonl", dir);
        jf = fopen(jobs, "w");
        if (!jf)
                die("cannot write the jobs file");
        t0 = now();
        for (size_t k = 0; k < N_CONDS; k++) {
                for (size_t i = 0; i < N_CLIPS; i++) {
                        for (int dn = 0; dn < 2; dn++) {
                                float *y = condition(i, k);
                                char *text = recognise(m, y, clips[i].n, dn);

                                score(dn ? OURS_DN : OURS, k, i, text);
                                free(text);
                                /* the same samples for faster-whisper (denoised in place) */
                                snprintf(path, sizeof(path), "%s/k%zu_c%zu_%d.f32", dir, k, i, dn);
                                write_f32(path, y, clips[i].n);
                                fprintf(jf, "{\"clip\": \"%s\"}\n", path);
                                job_rec[n_jobs] = dn ? FW_DN : FW;
                                job_cond[n_jobs] = k;
                                job_clip[n_jobs++] = i;
                                free(y);
                        }
                }
        }
        t_ours = now() - t0;
        whisper_model_free(m);
        if (fclose(jf) != 0)
                die("cannot write the jobs file");
        t0 = now();
        reference(argv[1], jobs, n_jobs, job_rec, job_cond, job_clip);
        t_fw = now() - t0;

        printf("wer_voices");
        for (size_t v = 0; v < N_VOICES; v++)
                printf("%s%s:%s", v ? "," : " ", voices[v][0], voices[v][1]);
        printf("\nwer_sentences_per_voice %d\n", PER_VOICE);
        printf("wer_sentences %zu\n", (size_t)N_SENTENCES);
        for (size_t g = 0; g < N_GROUPS; g++) {
                for (size_t k = 0; k < N_CONDS; k++) {
                        size_t words;

                        for (int rec = 0; rec < N_RECS; rec++) {
                                double w = wer(rec, k, g, &words);

                                printf("wer_%s_%s_%s %.1f\n", groups[g], conds[k].name,
                                       rec_names[rec], w);
                        }
                        printf("wer_%s_%s_words %zu\n", groups[g], conds[k].name, words);
                }
        }
        printf("wer_ours_seconds %.1f\n", t_ours);
        printf("wer_fasterwhisper_seconds %.1f\n", t_fw);
        for (size_t i = 0; i < N_CLIPS; i++)
                free(clips[i].x);
        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        return system(path) == 0 ? 0 : 1;
}

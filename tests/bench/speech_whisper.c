/* How fast the speech service's Whisper engine (services/speech/whisper.h,
 * tiny.en) runs next to faster-whisper on the same samples in the same run:
 *   - the encoder over one 30 s window (the fixed cost of every window);
 *   - the real-time factor (processing time / audio time) of a 60 s
 *     recording (flite sentences in four voices, with pauses) and of 5 s
 *     clips, for the engine and for faster-whisper (greedy, float32, 2
 *     threads, no VAD: tests/integration/speech_reference.py, whose own
 *     timing leaves out its model load and Python's start);
 *   - the speed ratio, faster-whisper's time over ours.
 * Both use 2 threads (OpenBLAS's, CTranslate2's). Prints "key value" lines.
 *   speech_whisper MODEL_DIR [RUNS]
 *       RUNS timed runs of each clip (default 3; the best of them counts).
 * It picks OpenBLAS's kernels as the service does (cairn/blas.h): the line
 * openblas_core says which ran. */
#define _GNU_SOURCE
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn/blas.h"
#include "cairn/file.h"
#include "speech/whisper.h"
#include "speech/whisper_mel.h"
#include "speech/whisper_net.h"

#define N_SHORT 3

static const char *const sentences[][2] = {
        { "slt", "The quick brown fox jumps over the lazy dog. Please call me tomorrow at noon." },
        { "kal", "She sells sea shells by the sea shore. The weather is nice today." },
        { "awb", "Open the window and let the fresh air in. We will meet at the station." },
        { "rms", "My favourite colour is blue. The train leaves at seven in the morning." },
        { "slt", "A large company measured the water of the river during the early morning." },
        { "kal", "The student found a strange machine in the quiet garden behind the city." },
        { "awb", "Music grows careful and bright when the family carries it through history." },
        { "rms", "Every question in the report explains a small problem with the network." },
};
#define N_SENTENCES (sizeof(sentences) / sizeof(*sentences))

static char dir[256];

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sentence @p i as 16 kHz float32 samples; NULL when flite or ffmpeg fail. */
static float *speak(size_t i, size_t *n)
{
        char wav[300], raw[300], cmd[1024], err[512];
        size_t len = 0;
        float *x;

        snprintf(wav, sizeof(wav), "%s/s%zu.wav", dir, i);
        snprintf(raw, sizeof(raw), "%s/s%zu.f32", dir, i);
        snprintf(cmd, sizeof(cmd),
                 "flite -voice %s -t '%s' -o '%s' && ffmpeg -nostdin -loglevel error -y -i '%s' "
                 "-ar 16000 -ac 1 -f f32le '%s'",
                 sentences[i][0], sentences[i][1], wav, wav, raw);
        if (system(cmd) != 0)
                return NULL;
        x = (void *)cairn_file_read(raw, SIZE_MAX, &len, err, sizeof(err));
        *n = len / sizeof(float);
        return x;
}

static void save(const char *path, const float *x, size_t n)
{
        FILE *fp = fopen(path, "wb");

        if (!fp || fwrite(x, sizeof(float), n, fp) != n) {
                fprintf(stderr, "speech_whisper: cannot write %s\n", path);
                exit(1);
        }
        fclose(fp);
}

/* The best of @p runs transcriptions of @p x, in seconds. */
static double ours(const struct whisper_model *m, const float *x, size_t n, int runs, char **text)
{
        struct whisper_opts opts;
        struct whisper_result r;
        char errstr[512];
        double best = INFINITY;

        whisper_opts_default(&opts);
        for (int i = 0; i < runs; i++) {
                const double t0 = now();

                if (whisper_transcribe(m, x, n, &opts, &r, errstr, sizeof(errstr))) {
                        fprintf(stderr, "speech_whisper: %s\n", errstr);
                        exit(1);
                }
                best = fmin(best, now() - t0);
                if (i == 0)
                        *text = strdup(r.text);
                whisper_result_free(&r);
        }
        return best;
}

int main(int argc, char **argv)
{
        const int runs = argc > 2 && atoi(argv[2]) > 0 ? atoi(argv[2]) : 3;
        static float long_clip[70 * 16000];
        float *shorts[N_SHORT];
        size_t n_long = 0, n_short[N_SHORT];
        char errstr[512], path[400], cmd[4096], line[65536];
        struct whisper_model *m;
        double t_long, t_short = 0, fw_long = INFINITY, fw_short = 0, enc = INFINITY, a_short = 0;
        double fw_best[N_SHORT] = { INFINITY, INFINITY, INFINITY };
        char *text;
        FILE *fp;

        if (argc < 2) {
                fprintf(stderr, "usage: speech_whisper MODEL_DIR [RUNS]\n");
                return 2;
        }
        cairn_blas_kernels(argv);
        snprintf(dir, sizeof(dir), "%s/speech-bench-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir))
                return 1;
        /* 60 s: the sentences in turn, 0.7 s apart */
        for (size_t i = 0; n_long < 60 * 16000; i++) {
                size_t n;
                float *x = speak(i % N_SENTENCES, &n);

                if (!x) {
                        fprintf(stderr, "speech_whisper: flite or ffmpeg failed\n");
                        return 1;
                }
                if (i < N_SHORT) {
                        /* a 5 s clip: the sentence, padded or cut */
                        shorts[i] = calloc(5 * 16000, sizeof(float));
                        memcpy(shorts[i], x, sizeof(float) * (n < 5 * 16000 ? n : 5 * 16000));
                        n_short[i] = 5 * 16000;
                }
                if (n > sizeof(long_clip) / sizeof(float) - n_long)
                        n = sizeof(long_clip) / sizeof(float) - n_long;
                memcpy(long_clip + n_long, x, n * sizeof(float));
                n_long += n + (size_t)(0.7 * 16000);
                free(x);
        }
        n_long = 60 * 16000;
        openblas_set_num_threads(2);
        printf("openblas_core %s\n", openblas_get_corename());
        m = whisper_model_load(argv[1], errstr, sizeof(errstr));
        if (!m) {
                fprintf(stderr, "speech_whisper: %s\n", errstr);
                return 1;
        }
        {
                struct whisper_state *s = whisper_state_new(m);
                float *mel = calloc((size_t)WHISPER_N_MELS * WHISPER_N_FRAMES, sizeof(float));

                for (int i = 0; i < runs + 1; i++) {
                        const double t0 = now();

                        whisper_encode(s, mel);
                        if (i)
                                enc = fmin(enc, now() - t0);
                }
                whisper_state_free(s);
                free(mel);
        }
        printf("whisper_encoder_30s_ms %.1f\n", enc * 1000);
        t_long = ours(m, long_clip, n_long, runs, &text);
        printf("whisper_60s_text %s\n", text);
        free(text);
        for (int i = 0; i < N_SHORT; i++) {
                t_short += ours(m, shorts[i], n_short[i], runs, &text);
                a_short += n_short[i] / 16000.0;
                free(text);
        }
        whisper_model_free(m);

        /* faster-whisper on the same files: the first run of each warms up */
        snprintf(path, sizeof(path), "%s/long.f32", dir);
        save(path, long_clip, n_long);
        {
                size_t len = (size_t)snprintf(cmd, sizeof(cmd),
                                              "tests/clients/venv.sh fasterwhisper "
                                              "tests/integration/speech_reference.py '%s'",
                                              argv[1]);

                for (int r = 0; r < runs + 1; r++)
                        len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " '%s'", path);
                for (int i = 0; i < N_SHORT; i++) {
                        char p[400];

                        snprintf(p, sizeof(p), "%s/short%d.f32", dir, i);
                        save(p, shorts[i], n_short[i]);
                        for (int r = 0; r < runs; r++)
                                len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " '%s'", p);
                }
        }
        fp = popen(cmd, "r");
        if (!fp)
                return 1;
        for (int k = 0; fgets(line, sizeof(line), fp); k++) {
                json_t *o = json_loads(line, 0, NULL);
                const double secs = json_real_value(json_object_get(o, "seconds"));

                if (k >= 1 && k <= runs)
                        fw_long = fmin(fw_long, secs);
                else if (k > runs && (size_t)(k - runs - 1) / (size_t)runs < N_SHORT)
                        fw_best[(k - runs - 1) / runs] = fmin(fw_best[(k - runs - 1) / runs], secs);
                if (k == 0)
                        printf("fasterwhisper_60s_text %s\n",
                               json_string_value(json_object_get(o, "text")));
                json_decref(o);
        }
        for (int i = 0; i < N_SHORT; i++)
                fw_short += fw_best[i];
        if (pclose(fp) != 0) {
                fprintf(stderr, "speech_whisper: speech_reference.py failed\n");
                return 1;
        }
        printf("whisper_60s_seconds %.3f\n", t_long);
        printf("whisper_60s_rtf %.4f\n", t_long / 60.0);
        printf("fasterwhisper_60s_seconds %.3f\n", fw_long);
        printf("fasterwhisper_60s_rtf %.4f\n", fw_long / 60.0);
        printf("whisper_5s_ms %.1f\n", t_short / N_SHORT * 1000);
        printf("whisper_5s_rtf %.4f\n", t_short / a_short);
        printf("fasterwhisper_5s_ms %.1f\n", fw_short / N_SHORT * 1000);
        printf("fasterwhisper_5s_rtf %.4f\n", fw_short / a_short);
        printf("speedup_60s %.2f\n", fw_long / t_long);
        printf("speedup_5s %.2f\n", fw_short / t_short);
        for (int i = 0; i < N_SHORT; i++)
                free(shorts[i]);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : 1;
}

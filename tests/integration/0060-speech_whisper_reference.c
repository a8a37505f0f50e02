/* The speech service's Whisper engine against faster-whisper on the same
 * samples: clips synthesised here (flite's voices slt, kal, awb and rms,
 * espeak-ng's en-us; each also with white noise at 10 dB SNR; 3 s of
 * silence), resampled to 16 kHz by ffmpeg, transcribed by the engine and by
 * tests/integration/speech_reference.py (faster-whisper, greedy, float32, 2
 * threads, no VAD) in the venv of tests/clients/fasterwhisper.txt. Checks:
 *   (a) every clean clip gets exactly the reference's text;
 *   (b) over every clip, the word error rate against the sentences spoken is
 *       no worse than the reference's (both printed);
 *   (c) silence gets empty text;
 *   (d) the clean clips with word timestamps get the same words, within one
 *       timestamp step (20 ms) of faster-whisper's;
 *   (e) a prompt (faster-whisper's initial_prompt) and a clip over 30 s (two
 *       windows, the second starting at the first's last timestamp) get
 *       exactly the reference's text.
 * Without the model, the synthesisers or PyPI, and outside CI, the test is
 * skipped, loudly; under CI=true it fails instead. Needs no broker. */
#define _GNU_SOURCE
#include <cblas.h>
#include <check.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/blas.h"
#include "cairn/file.h"
#include "harness.h"
#include "speech_words.h"
#include "speech/whisper.h"

struct clip {
        const char *voice; /* flite voice, "espeak", "silence" or "long" */
        const char *text;
        int noisy;
        int again;          /* 1 + the clip whose samples this one reuses, 0 for its own */
        int words;          /* with word timestamps */
        const char *prompt; /* an initial prompt, or NULL */
        char path[512];
        char *ours, *theirs;
        json_t *their_words;
};

#define SLT    "The quick brown fox jumps over the lazy dog. Please call me tomorrow at noon."
#define KAL    "She sells sea shells by the sea shore. The weather is nice today."
#define AWB    "Open the window and let the fresh air in. We will meet at the station."
#define RMS    "My favourite colour is blue. The train leaves at seven in the morning."
#define ESPEAK "Speech recognition turns spoken words into text. It works well on clear audio."

static struct clip clips[] = {
        { .voice = "slt", .text = SLT },
        { .voice = "kal", .text = KAL },
        { .voice = "awb", .text = AWB },
        { .voice = "rms", .text = RMS },
        { .voice = "espeak", .text = ESPEAK },
        { .voice = "slt", .text = SLT, .noisy = 1 },
        { .voice = "kal", .text = KAL, .noisy = 1 },
        { .voice = "awb", .text = AWB, .noisy = 1 },
        { .voice = "rms", .text = RMS, .noisy = 1 },
        { .voice = "espeak", .text = ESPEAK, .noisy = 1 },
        { .voice = "silence", .text = "" },
        /* the clean clips again, with word timestamps; one with a prompt */
        { .voice = "slt", .text = SLT, .again = 1, .words = 1 },
        { .voice = "kal", .text = KAL, .again = 2, .words = 1 },
        { .voice = "awb", .text = AWB, .again = 3, .words = 1 },
        { .voice = "rms", .text = RMS, .again = 4, .words = 1 },
        { .voice = "espeak", .text = ESPEAK, .again = 5, .words = 1 },
        { .voice = "kal", .text = KAL, .again = 2, .prompt = "Sea shells by the sea shore." },
        /* over 30 s: the clean clips one after another, twice, 1 s apart */
        { .voice = "long",
          .text = SLT " " KAL " " AWB " " RMS " " ESPEAK " " SLT " " KAL " " AWB " " RMS
                      " " ESPEAK },
};
#define N_WER   11 /* the clips the word error rate counts */
#define N_CLIPS (sizeof(clips) / sizeof(*clips))

static char dir[256], model_dir[512];

static void skip_banner(const char *why)
{
        if (getenv("CI") && !strcmp(getenv("CI"), "true"))
                ck_abort_msg("0060-speech_whisper_reference cannot run under CI: %s", why);
        printf("######################################################################\n"
               "## SKIPPED: 0060-speech_whisper_reference: %s\n"
               "######################################################################\n",
               why);
}

static float *read_f32(const char *path, size_t *n)
{
        char err[512];
        size_t len;
        float *x = (void *)cairn_file_read(path, SIZE_MAX, &len, err, sizeof(err));

        ck_assert_msg(x != NULL, "%s", err);
        *n = len / sizeof(float);
        return x;
}

static void write_f32(const char *path, const float *x, size_t n)
{
        FILE *fp = fopen(path, "wb");

        ck_assert_msg(fp != NULL, "cannot create %s", path);
        ck_assert_uint_eq(fwrite(x, sizeof(float), n, fp), n);
        fclose(fp);
}

/* Gaussian noise, seeded: the same clips on every run */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double gauss(void)
{
        double u, v;

        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        u = ((rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0 + 1e-12;
        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        v = ((rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
        return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Synthesises clip @p c into c->path (16 kHz float32); false when a
 * synthesiser is missing. */
static bool synthesise(struct clip *c, size_t i)
{
        char wav[600], cmd[2048];
        float *x;
        size_t n;

        if (c->again) {
                snprintf(c->path, sizeof(c->path), "%s", clips[c->again - 1].path);
                return true;
        }
        snprintf(c->path, sizeof(c->path), "%s/clip%zu.f32", dir, i);
        if (!strcmp(c->voice, "long")) {
                float *all = NULL;
                size_t total = 0;

                for (int round = 0; round < 2; round++) {
                        for (size_t k = 0; k < 5; k++) {
                                float *y = read_f32(clips[k].path, &n);

                                float *grown = realloc(all, (total + n + 16000) * sizeof(float));

                                ck_assert_ptr_nonnull(grown);
                                all = grown;
                                memcpy(all + total, y, n * sizeof(float));
                                memset(all + total + n, 0, 16000 * sizeof(float));
                                total += n + 16000;
                                free(y);
                        }
                }
                ck_assert_msg(total > 31 * 16000, "the long clip is only %zu samples", total);
                write_f32(c->path, all, total);
                free(all);
                return true;
        }
        if (!strcmp(c->voice, "silence")) {
                x = calloc(3 * 16000, sizeof(float));
                write_f32(c->path, x, 3 * 16000);
                free(x);
                return true;
        }
        snprintf(wav, sizeof(wav), "%s/clip%zu.wav", dir, i);
        if (!strcmp(c->voice, "espeak"))
                snprintf(cmd, sizeof(cmd), "espeak-ng -v en-us -w '%s' '%s' 2>/dev/null", wav,
                         c->text);
        else
                snprintf(cmd, sizeof(cmd), "flite -voice %s -t '%s' -o '%s' 2>/dev/null", c->voice,
                         c->text, wav);
        if (system(cmd) != 0)
                return false;
        snprintf(cmd, sizeof(cmd),
                 "ffmpeg -nostdin -loglevel error -y -i '%s' -ar 16000 -ac 1 -f f32le '%s'", wav,
                 c->path);
        if (system(cmd) != 0)
                return false;
        if (c->noisy) {
                double power = 0, scale;

                x = read_f32(c->path, &n);
                for (size_t k = 0; k < n; k++)
                        power += (double)x[k] * x[k];
                /* 10 dB below the clip's mean power */
                scale = sqrt(power / (double)n / 10.0);
                for (size_t k = 0; k < n; k++)
                        x[k] += (float)(scale * gauss());
                write_f32(c->path, x, n);
                free(x);
        }
        return true;
}

/* Runs speech_reference.py over every clip; false when its venv cannot be
 * made here. */
static bool reference(void)
{
        char cmd[4096], out[600], jobs[600];
        FILE *fp;
        char line[65536];
        int rc;

        snprintf(jobs, sizeof(jobs), "%s/jobs.jsonl", dir);
        snprintf(out, sizeof(out), "%s/reference.jsonl", dir);
        fp = fopen(jobs, "w");
        ck_assert_ptr_nonnull(fp);
        for (size_t i = 0; i < N_CLIPS; i++) {
                json_t *job = json_pack("{s:s, s:b, s:s?, s:b}", "clip", clips[i].path, "words",
                                        clips[i].words, "prompt", clips[i].prompt, "greedy", 1);
                char *text = json_dumps(job, JSON_COMPACT);

                fprintf(fp, "%s\n", text);
                free(text);
                json_decref(job);
        }
        fclose(fp);
        snprintf(cmd, sizeof(cmd),
                 "'%s/tests/clients/venv.sh' fasterwhisper "
                 "'%s/tests/integration/speech_reference.py' '%s' - <'%s' >'%s'",
                 harness_root(), harness_root(), model_dir, jobs, out);
        rc = system(cmd);
        ck_assert_msg(WIFEXITED(rc), "speech_reference.py did not exit");
        if (WEXITSTATUS(rc) == 77) {
                skip_banner("no venv with faster-whisper (tests/clients/venv.sh fasterwhisper)");
                return false;
        }
        ck_assert_msg(WEXITSTATUS(rc) == 0, "speech_reference.py failed (exit %d)",
                      WEXITSTATUS(rc));
        fp = fopen(out, "r");
        ck_assert_ptr_nonnull(fp);
        for (size_t i = 0; i < N_CLIPS; i++) {
                json_error_t jerr;
                json_t *o;

                ck_assert_msg(fgets(line, sizeof(line), fp) != NULL, "reference: clip %zu missing",
                              i);
                o = json_loads(line, 0, &jerr);
                ck_assert_msg(o && json_is_string(json_object_get(o, "text")), "reference: %s",
                              line);
                clips[i].theirs = strdup(json_string_value(json_object_get(o, "text")));
                clips[i].their_words = json_incref(json_object_get(o, "words"));
                json_decref(o);
        }
        fclose(fp);
        return true;
}

/* The words of @p r against faster-whisper's: the same words, their times
 * within 20 ms (one timestamp step). */
static void same_words(const struct clip *c, const struct whisper_result *r)
{
        ck_assert_msg(r->n_words == json_array_size(c->their_words), "%s: %zu words, reference %zu",
                      c->voice, r->n_words, json_array_size(c->their_words));
        for (size_t k = 0; k < r->n_words; k++) {
                json_t *w = json_array_get(c->their_words, k);
                const double start = json_number_value(json_array_get(w, 0));
                const double end = json_number_value(json_array_get(w, 1));
                const char *word = json_string_value(json_array_get(w, 2));

                ck_assert_msg(word && !strcmp(r->words[k].word, word),
                              "%s: word %zu \"%s\", \"%s\"", c->voice, k, r->words[k].word,
                              word ? word : "?");
                ck_assert_msg(fabs(r->words[k].start - start) <= 0.0201 &&
                                      fabs(r->words[k].end - end) <= 0.0201,
                              "%s: \"%s\" at %.2f-%.2f, reference %.2f-%.2f", c->voice, word,
                              r->words[k].start, r->words[k].end, start, end);
        }
        printf("%-7s words: %zu, the same as faster-whisper's\n", c->voice, r->n_words);
}

START_TEST(test_whisper_matches_faster_whisper)
{
        struct whisper_model *m;
        struct whisper_opts opts;
        char errstr[512];
        size_t errs_ours = 0, errs_theirs = 0, words = 0;

        if (!harness_model_dir("0060-speech_whisper_reference", "whisper-tiny.en", model_dir,
                               sizeof(model_dir)))
                return;
        snprintf(dir, sizeof(dir), "%s/speech-whisper-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        for (size_t i = 0; i < N_CLIPS; i++) {
                if (!synthesise(&clips[i], i)) {
                        skip_banner("flite, espeak-ng or ffmpeg missing");
                        return;
                }
        }
        if (!reference())
                return;
        openblas_set_num_threads(2);
        m = whisper_model_load(model_dir, errstr, sizeof(errstr));
        ck_assert_msg(m != NULL, "%s", errstr);
        whisper_opts_default(&opts);
        /* Both greedy, without the temperature fallback: its samples are
         * drawn from different random generators, so on a noisy window the
         * two may rightly write different words (tests/bench/speech_whisper.c
         * compares them with it, as they run by default). */
        opts.fallback = false;
        for (size_t i = 0; i < N_CLIPS; i++) {
                struct clip *c = &clips[i];
                struct whisper_result r;
                size_t n, n_ref, e_ours, e_theirs;
                float *x = read_f32(c->path, &n);

                opts.word_timestamps = c->words;
                opts.prompt = c->prompt;
                ck_assert_msg(whisper_transcribe(m, x, n, &opts, &r, errstr, sizeof(errstr)) == 0,
                              "%s", errstr);
                c->ours = strdup(r.text);
                if (c->words)
                        same_words(c, &r);
                whisper_result_free(&r);
                free(x);
                e_ours = word_errors(c->ours, c->text, &n_ref);
                e_theirs = word_errors(c->theirs, c->text, &n_ref);
                if (i < N_WER) {
                        errs_ours += e_ours;
                        errs_theirs += e_theirs;
                        words += n_ref;
                }
                printf("%-7s %-5s%s%s ours   (%zu errors): %s\n", c->voice,
                       c->noisy ? "noisy" : "clean", c->words ? " words" : "",
                       c->prompt ? " prompt" : "", e_ours, c->ours);
                printf("%-7s %-5s%s%s theirs (%zu errors): %s\n", c->voice,
                       c->noisy ? "noisy" : "clean", c->words ? " words" : "",
                       c->prompt ? " prompt" : "", e_theirs, c->theirs);
        }
        printf("word error rate: ours %.2f%%, faster-whisper %.2f%% (%zu words)\n",
               100.0 * (double)errs_ours / (double)words,
               100.0 * (double)errs_theirs / (double)words, words);
        for (size_t i = 0; i < N_CLIPS; i++) {
                const struct clip *c = &clips[i];

                if (!c->noisy)
                        ck_assert_msg(!strcmp(c->ours, c->theirs),
                                      "%s: \"%s\", faster-whisper \"%s\"", c->voice, c->ours,
                                      c->theirs);
                if (!strcmp(c->voice, "silence"))
                        ck_assert_msg(c->ours[0] == '\0', "silence: \"%s\"", c->ours);
                free(clips[i].ours);
                free(clips[i].theirs);
                json_decref(clips[i].their_words);
        }
        ck_assert_msg(errs_ours <= errs_theirs, "word errors: ours %zu, faster-whisper %zu",
                      errs_ours, errs_theirs);
        whisper_model_free(m);
        {
                char cmd[600];

                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                ck_assert_int_eq(system(cmd), 0);
        }
}
END_TEST

int main(int argc, char **argv)
{
        Suite *s = suite_create("0060-speech_whisper_reference");
        TCase *tc = tcase_create("whisper");

        (void)argc;
        /* No broker involved: the Apache pass has nothing to add; the
         * speech service's tests and the unit tests run the engine's code
         * for coverage (several windows of one recording only here). */
        if (harness_apache() || harness_coverage()) {
                printf("0060-speech_whisper_reference: not run in the %s pass\n",
                       harness_apache() ? "Apache (no broker involved)" : "coverage");
                printf("0 passed, 0 failed\n");
                return 0;
        }
        /* OpenBLAS's kernels as the service picks them */
        cairn_blas_kernels(argv);

        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_whisper_matches_faster_whisper);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

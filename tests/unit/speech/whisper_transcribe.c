/* Unit tests for whisper_transcribe() at its edges, on the real tiny.en
 * model (skipped without it): no samples, silence, a sample that is not a
 * number, a prompt. What it transcribes is checked against faster-whisper
 * by tests/integration/0060-speech_whisper_reference.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/blas.h"
#include "speech/whisper.h"
#include "../unit.h"

static struct whisper_model *model;

static void setup(void)
{
        char dir[4096], errstr[512];
        const char *home = getenv("HOME");

        snprintf(dir, sizeof(dir), "%s/.cache/cairn/models/whisper-tiny.en", home ? home : "/");
        if (access(dir, R_OK)) {
                printf("SKIPPED: no whisper-tiny.en model (deploy/models.sh)\n");
                return;
        }
        model = whisper_model_load(dir, errstr, sizeof(errstr));
        ck_assert_msg(model != NULL, "%s", errstr);
}

static void teardown(void)
{
        whisper_model_free(model);
        model = NULL;
}

START_TEST(test_whisper_transcribe_nothing_and_silence)
{
        static float silence[3 * 16000];
        struct whisper_opts opts;
        struct whisper_result r;
        char errstr[256];

        if (!model)
                return;
        whisper_opts_default(&opts);
        ck_assert_float_eq(opts.no_speech_threshold, 0.6f);
        ck_assert_float_eq(opts.logprob_threshold, -1.0f);
        ck_assert_int_eq(whisper_transcribe(model, silence, 0, &opts, &r, errstr, sizeof(errstr)),
                         0);
        ck_assert_str_eq(r.text, "");
        ck_assert_uint_eq(r.n_segments, 0);
        whisper_result_free(&r);
        opts.word_timestamps = true;
        opts.prompt = "  A prompt, with words.  ";
        ck_assert_int_eq(whisper_transcribe(model, silence, sizeof(silence) / sizeof(*silence),
                                            &opts, &r, errstr, sizeof(errstr)),
                         0);
        ck_assert_str_eq(r.text, "");
        ck_assert_uint_eq(r.n_words, 0);
        whisper_result_free(&r);
}
END_TEST

START_TEST(test_whisper_transcribe_refuses_nan)
{
        float x[1600] = { 0 };
        struct whisper_opts opts;
        struct whisper_result r;
        char errstr[256];

        if (!model)
                return;
        whisper_opts_default(&opts);
        x[77] = NAN;
        ck_assert_int_eq(whisper_transcribe(model, x, 1600, &opts, &r, errstr, sizeof(errstr)), -1);
        ck_assert_str_eq(errstr, "sample 77 is not a finite number");
        ck_assert_ptr_null(r.text);
        x[77] = INFINITY;
        ck_assert_int_eq(whisper_transcribe(model, x, 1600, &opts, &r, errstr, sizeof(errstr)), -1);
}
END_TEST

START_TEST(test_whisper_transcribe_tone)
{
        static float x[2 * 16000];
        struct whisper_opts opts;
        struct whisper_result r;
        char errstr[256];

        if (!model)
                return;
        /* a loud tone is no speech: whatever comes out, it ends cleanly
         * and its segments lie inside the clip's windows */
        for (size_t i = 0; i < sizeof(x) / sizeof(*x); i++)
                x[i] = 0.5f * sinf(2 * (float)M_PI * 440 * (float)i / 16000);
        whisper_opts_default(&opts);
        opts.seed = 7;
        ck_assert_int_eq(whisper_transcribe(model, x, sizeof(x) / sizeof(*x), &opts, &r, errstr,
                                            sizeof(errstr)),
                         0);
        ck_assert_ptr_nonnull(r.text);
        for (size_t i = 0; i < r.n_segments; i++) {
                ck_assert(r.segments[i].start >= 0 && r.segments[i].end <= 30.0);
                ck_assert(r.segments[i].start <= r.segments[i].end);
                ck_assert(r.segments[i].no_speech_prob >= 0 && r.segments[i].no_speech_prob <= 1);
        }
        whisper_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("whisper_transcribe");
        TCase *tc = tcase_create("whisper_transcribe");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_whisper_transcribe_nothing_and_silence);
        tcase_add_test(tc, test_whisper_transcribe_refuses_nan);
        tcase_add_test(tc, test_whisper_transcribe_tone);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv)
{
        (void)argc;
        cairn_blas_kernels(argv); /* OpenBLAS's kernels as the service picks them */
        return unit_run(suite());
}

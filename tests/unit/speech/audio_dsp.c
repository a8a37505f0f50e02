/* Unit tests for audio_resample, audio_denoise and audio_vad: rates change
 * without changing the sound, stationary noise is lowered, and speech is
 * found in flite and espeak-ng voices, alone and under white noise at 10
 * and 0 dB SNR, while silence, white and pink noise and mains hum give no
 * spans at all. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "audio_clips.h"

#define RATE 16000

/* A reproducible white, pink (Paul Kellet's filter) or hum noise. */
enum noise { WHITE, PINK, HUM };

static uint64_t rng = 88172645463325252ULL;

static double uniform(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (double)(rng >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
        return sqrt(-2 * log(uniform() + 1e-12)) * cos(2 * M_PI * uniform());
}

static void add_noise(float *x, size_t n, enum noise kind, double amp)
{
        double b0 = 0, b1 = 0, b2 = 0;

        for (size_t i = 0; i < n; i++) {
                double w = gauss(), t = (double)i / RATE, v;

                if (kind == WHITE) {
                        v = w;
                } else if (kind == PINK) {
                        b0 = 0.99765 * b0 + w * 0.0990460;
                        b1 = 0.96300 * b1 + w * 0.2965164;
                        b2 = 0.57000 * b2 + w * 1.0526913;
                        v = (b0 + b1 + b2 + w * 0.1848) * 0.25;
                } else { /* 50 Hz and its harmonics, with a little hiss */
                        v = sin(2 * M_PI * 50 * t) + 0.5 * sin(2 * M_PI * 100 * t) +
                            0.3 * sin(2 * M_PI * 150 * t) + 0.2 * sin(2 * M_PI * 250 * t) +
                            0.1 * sin(2 * M_PI * 350 * t) + 0.02 * w;
                }
                x[i] += (float)(amp * v);
        }
}

static struct audio_pcm silent(double seconds)
{
        struct audio_pcm p = { calloc((size_t)(seconds * RATE), sizeof(float)),
                               (size_t)(seconds * RATE), RATE };

        ck_assert_ptr_nonnull(p.samples);
        return p;
}

static void setup(void)
{
        const char *kal[] = { "flite",
                              "-voice",
                              "kal",
                              "-t",
                              "Please send the quarterly report to the finance team.",
                              "-o",
                              NULL,
                              NULL };
        const char *espeak[] = {
                "espeak-ng", "-v", "en-us",
                "-w",        NULL, "Seven hundred people attended the concert last night.",
                NULL
        };

        clip_setup();
        kal[6] = clip_path("kal.wav");
        ck_assert_int_eq(clip_run(kal), 0);
        espeak[4] = clip_path("espeak.wav");
        ck_assert_int_eq(clip_run(espeak), 0);
}

/* A clip decoded at 16 kHz with a second of silence either side. */
static struct audio_pcm padded_clip(const char *name)
{
        size_t len;
        unsigned char *b = clip_read(clip_path(name), &len);
        struct audio_pcm c, p;
        char err[256];

        ck_assert_int_eq(audio_decode(b, len, name, RATE, 60, &c, NULL, err, sizeof(err)),
                         AUDIO_OK);
        free(b);
        p = silent((double)c.n / RATE + 2);
        memcpy(p.samples + RATE, c.samples, c.n * sizeof(float));
        audio_pcm_free(&c);
        return p;
}

START_TEST(test_audio_resample_keeps_tone)
{
        struct audio_pcm in = silent(1), out;
        char err[256];
        size_t peak_at = 0;
        double best = 0;

        for (size_t i = 0; i < in.n; i++)
                in.samples[i] = (float)(0.5 * sin(2 * M_PI * 440 * (double)i / RATE));
        ck_assert_int_eq(audio_resample(&in, 48000, &out, err, sizeof(err)), 0);
        ck_assert_int_eq(out.rate, 48000);
        ck_assert_msg(labs((long)out.n - 48000) <= 2, "%zu samples", out.n);
        ck_assert_msg(fabs(clip_rms(out.samples + 4800, 38400) - 0.5 / sqrt(2)) < 0.01, "rms %f",
                      clip_rms(out.samples + 4800, 38400));
        /* still 440 Hz: correlate against a few candidate tones */
        for (size_t f = 400; f <= 480; f += 20) {
                double c = 0, s = 0;

                for (size_t i = 0; i < out.n; i++) {
                        c += out.samples[i] * cos(2 * M_PI * (double)f * (double)i / 48000);
                        s += out.samples[i] * sin(2 * M_PI * (double)f * (double)i / 48000);
                }
                if (c * c + s * s > best) {
                        best = c * c + s * s;
                        peak_at = f;
                }
        }
        ck_assert_uint_eq(peak_at, 440);
        audio_pcm_free(&out);
        ck_assert_int_eq(audio_resample(&in, RATE, &out, err, sizeof(err)), 0);
        ck_assert_uint_eq(out.n, in.n);
        audio_pcm_free(&out);
        ck_assert_int_eq(audio_resample(&in, 0, &out, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "cannot resample 16000 Hz to 0 Hz");
        audio_pcm_free(&in);
}
END_TEST

START_TEST(test_audio_denoise_lowers_noise)
{
        struct audio_pcm p = silent(3);
        char err[256];
        double before, after;

        add_noise(p.samples, p.n, WHITE, 0.05);
        before = clip_rms(p.samples + RATE, 2 * RATE);
        ck_assert_int_eq(audio_denoise(&p, err, sizeof(err)), 0);
        after = clip_rms(p.samples + RATE, 2 * RATE);
        /* once it has learnt the noise (about 0.3 s), well over 10 dB lower */
        ck_assert_msg(after < before * 0.3, "rms %.4f -> %.4f", before, after);
        audio_pcm_free(&p);
}
END_TEST

START_TEST(test_audio_denoise_keeps_speech)
{
        struct audio_pcm p = padded_clip("kal.wav");
        double clean = clip_rms(p.samples + RATE, p.n - 2 * RATE);
        char err[256];

        add_noise(p.samples, p.n, WHITE, 0.01);
        ck_assert_int_eq(audio_denoise(&p, err, sizeof(err)), 0);
        ck_assert_msg(clip_rms(p.samples + RATE, p.n - 2 * RATE) > clean * 0.6, "speech lost");
        audio_pcm_free(&p);
        p = silent(1);
        p.rate = 1000;
        ck_assert_int_eq(audio_denoise(&p, err, sizeof(err)), -1);
        audio_pcm_free(&p);
}
END_TEST

static size_t spans_of(const struct audio_pcm *p, struct audio_span **spans)
{
        size_t n;
        char err[256];

        ck_assert_int_eq(audio_vad(p, spans, &n, err, sizeof(err)), 0);
        return n;
}

START_TEST(test_audio_vad_silence_and_noise_give_nothing)
{
        static const double amps[] = { 0.003, 0.03, 0.2 };
        struct audio_span *spans;
        struct audio_pcm p = silent(5);

        ck_assert_uint_eq(spans_of(&p, &spans), 0);
        free(spans);
        audio_pcm_free(&p);
        for (int kind = WHITE; kind <= HUM; kind++)
                for (size_t a = 0; a < 3; a++) {
                        p = silent(8);
                        add_noise(p.samples, p.n, (enum noise)kind, amps[a]);
                        ck_assert_msg(spans_of(&p, &spans) == 0, "noise %d at %.3f gave spans",
                                      kind, amps[a]);
                        free(spans);
                        audio_pcm_free(&p);
                }
        p = silent(0.01); /* shorter than a frame */
        ck_assert_uint_eq(spans_of(&p, &spans), 0);
        audio_pcm_free(&p);
}
END_TEST

/* How much of the speech (frames of the clean clip above -40 dBFS) the spans
 * cover, and whether any span lies wholly in the silence around it. */
static double coverage(const struct audio_pcm *clean, const struct audio_span *spans, size_t n)
{
        size_t speech = 0, covered = 0;

        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_lt(spans[i].start, spans[i].end);
                ck_assert_msg(spans[i].end > RATE - RATE / 2 &&
                                      spans[i].start < clean->n - RATE + RATE / 2,
                              "a span in the silence: %zu-%zu", spans[i].start, spans[i].end);
        }
        for (size_t f = 0; f + 480 <= clean->n; f += 480) {
                bool in = false;

                if (clip_rms(clean->samples + f, 480) < 0.01)
                        continue;
                speech += 480;
                for (size_t i = 0; i < n; i++)
                        in = in || (spans[i].start <= f && spans[i].end >= f + 480);
                covered += in ? 480 : 0;
        }
        return (double)covered / (double)speech;
}

static void vad_on(const char *name, double snr_db, double min_coverage)
{
        struct audio_pcm clean = padded_clip(name), p = { 0 };
        struct audio_span *spans;
        size_t n;
        double cover;

        p = clean;
        p.samples = malloc(clean.n * sizeof(float));
        ck_assert_ptr_nonnull(p.samples);
        memcpy(p.samples, clean.samples, clean.n * sizeof(float));
        if (snr_db < 100) /* noise as loud as the speech's average over its length, less SNR */
                add_noise(p.samples, p.n, WHITE,
                          clip_rms(clean.samples + RATE, clean.n - 2 * RATE) /
                                  pow(10, snr_db / 20));
        n = spans_of(&p, &spans);
        ck_assert_msg(n >= 1, "%s at %.0f dB: no speech found", name, snr_db);
        cover = coverage(&clean, spans, n);
        ck_assert_msg(cover >= min_coverage, "%s at %.0f dB: %.2f of the speech covered", name,
                      snr_db, cover);
        free(spans);
        audio_pcm_free(&p);
        audio_pcm_free(&clean);
}

START_TEST(test_audio_vad_finds_speech)
{
        vad_on("speech.wav", 1000, 0.99);
        vad_on("kal.wav", 1000, 0.99);
        vad_on("espeak.wav", 1000, 0.99);
}
END_TEST

START_TEST(test_audio_vad_finds_noisy_speech)
{
        vad_on("speech.wav", 10, 0.9);
        vad_on("kal.wav", 10, 0.9);
        vad_on("espeak.wav", 10, 0.9);
        /* at 0 dB some quiet syllables drown; most words are still found */
        vad_on("kal.wav", 0, 0.6);
        vad_on("espeak.wav", 0, 0.6);
}
END_TEST

START_TEST(test_audio_vad_bad_rate)
{
        struct audio_pcm p = silent(1);
        struct audio_span *spans;
        size_t n;
        char err[256];

        p.rate = 100;
        ck_assert_int_eq(audio_vad(&p, &spans, &n, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "cannot find speech in audio at 100 Hz");
        audio_pcm_free(&p);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("speech_audio_dsp");
        TCase *tc = tcase_create("audio_dsp");

        tcase_add_unchecked_fixture(tc, setup, clip_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_audio_resample_keeps_tone);
        tcase_add_test(tc, test_audio_denoise_lowers_noise);
        tcase_add_test(tc, test_audio_denoise_keeps_speech);
        tcase_add_test(tc, test_audio_vad_silence_and_noise_give_nothing);
        tcase_add_test(tc, test_audio_vad_finds_speech);
        tcase_add_test(tc, test_audio_vad_finds_noisy_speech);
        tcase_add_test(tc, test_audio_vad_bad_rate);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

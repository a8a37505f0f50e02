/* Unit tests for the log-mel front end: librosa's Slaney filterbank, and a
 * synthesised half second against faster-whisper's FeatureExtractor (the
 * values below were computed by faster-whisper 1.2.1 from the same
 * formula's samples). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "speech/whisper_mel.h"
#include "../unit.h"

#define N 8000

/* faster-whisper's log-mel of clip() for frames 0, 17 and 50 (of 51), mel
 * bins 0 to 79 */
static const float reference[3][WHISPER_N_MELS] = {
        /* frame 0 */
        { 1.065093f,  1.077929f,  1.102270f,  1.139304f,  1.132618f,  1.041753f,  0.897421f,
          1.040607f,  1.194847f,  1.299630f,  1.329861f,  1.114365f,  1.342318f,  1.257444f,
          1.097272f,  1.041933f,  0.979882f,  0.938197f,  0.897350f,  0.862860f,  0.831758f,
          0.802501f,  0.777095f,  0.751649f,  0.730007f,  0.707645f,  0.689869f,  0.668045f,
          0.648037f,  0.626373f,  0.589583f,  0.573694f,  0.591673f,  0.571073f,  0.534825f,
          0.508855f,  0.507057f,  0.474329f,  0.468478f,  0.439326f,  0.436156f,  0.408982f,
          0.393354f,  0.378165f,  0.362109f,  0.345543f,  0.328702f,  0.311742f,  0.294772f,
          0.281184f,  0.264760f,  0.247508f,  0.232716f,  0.219213f,  0.201461f,  0.187115f,
          0.172326f,  0.157327f,  0.144735f,  0.128345f,  0.115599f,  0.100863f,  0.088273f,
          0.075311f,  0.062220f,  0.049170f,  0.038193f,  0.025536f,  0.015063f,  0.004466f,
          -0.006028f, -0.015936f, -0.024070f, -0.032686f, -0.040194f, -0.046288f, -0.052632f,
          -0.056818f, -0.060244f, -0.062833f },
        /* frame 17 */
        { -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.559420f, 1.159393f,  1.348738f,  1.438203f,  1.293526f,  -0.559420f,
          -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.520617f, -0.434420f, -0.333815f, -0.213043f, -0.050799f, 0.170010f,
          0.450496f,  0.733604f,  1.042969f,  1.165720f,  1.099191f,  0.795108f,  0.380617f,
          0.021710f,  -0.195981f, -0.400000f, -0.532611f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f, -0.559420f,
          -0.559420f, -0.559420f, -0.559420f },
        /* frame 50 */
        { 0.846633f, 0.849794f, 0.859700f, 0.869782f, 0.888398f, 0.908160f, 0.942193f, 0.980087f,
          1.066220f, 1.185140f, 1.269976f, 1.294691f, 1.242943f, 1.098003f, 0.929145f, 0.871339f,
          0.804537f, 0.760438f, 0.717587f, 0.683525f, 0.655650f, 0.634204f, 0.622338f, 0.617791f,
          0.625505f, 0.639694f, 0.673042f, 0.710549f, 0.775047f, 0.888077f, 1.048555f, 1.130394f,
          1.113544f, 0.994752f, 0.817780f, 0.732076f, 0.689813f, 0.628846f, 0.603035f, 0.559334f,
          0.544693f, 0.508694f, 0.487595f, 0.468702f, 0.450841f, 0.434455f, 0.419867f, 0.407403f,
          0.397474f, 0.394394f, 0.393056f, 0.397208f, 0.412477f, 0.446607f, 0.506013f, 0.758970f,
          0.889974f, 0.717515f, 0.471105f, 0.354688f, 0.285990f, 0.235683f, 0.199653f, 0.170891f,
          0.147276f, 0.127306f, 0.111835f, 0.096418f, 0.084427f, 0.073193f, 0.062700f, 0.053234f,
          0.045841f, 0.038153f, 0.031658f, 0.026588f, 0.021207f, 0.017857f, 0.015091f, 0.012929f },
};
static const size_t reference_frames[3] = { 0, 17, 50 };

/* Two tones, one fading in, and a chirp: the formula the reference was
 * computed from, in double, rounded to float. */
static void clip(float *x)
{
        for (int i = 0; i < N; i++) {
                const double t = i / 16000.0;

                x[i] = (float)(0.5 * sin(2 * M_PI * 440 * t) +
                               0.25 * sin(2 * M_PI * 1234.5 * t) * ((double)i / N) +
                               0.1 * sin(2 * M_PI * (200 + 3000 * t) * t));
        }
}

START_TEST(test_whisper_mel_matches_faster_whisper)
{
        static float x[N];
        size_t frames;
        float *mel, worst = 0;

        clip(x);
        mel = whisper_mel(x, N, &frames);
        ck_assert_ptr_nonnull(mel);
        ck_assert_uint_eq(frames, N / WHISPER_HOP + 1);
        for (int f = 0; f < 3; f++) {
                for (int m = 0; m < WHISPER_N_MELS; m++) {
                        const float d = fabsf(mel[m * frames + reference_frames[f]] -
                                              reference[f][m]);

                        worst = d > worst ? d : worst;
                }
        }
        /* float32 DFTs summed in different orders: the largest gap over the
         * whole clip is 1.1e-4, on a quiet bin, where the mean is 6e-7 */
        ck_assert_msg(worst < 5e-4f, "worst difference %g", worst);
        free(mel);
}
END_TEST

START_TEST(test_whisper_mel_short_and_silent)
{
        const float one = 0.5f;
        static float silence[16000];
        size_t frames;
        float *mel = whisper_mel(&one, 1, &frames);

        ck_assert_ptr_nonnull(mel);
        ck_assert_uint_eq(frames, 1);
        free(mel);
        mel = whisper_mel(silence, 0, &frames);
        ck_assert_ptr_nonnull(mel);
        ck_assert_uint_eq(frames, 1);
        free(mel);
        /* silence: log10(1e-10) everywhere, (-10 + 4) / 4 */
        mel = whisper_mel(silence, 16000, &frames);
        ck_assert_uint_eq(frames, 101);
        for (size_t i = 0; i < WHISPER_N_MELS * frames; i++)
                ck_assert_float_eq_tol(mel[i], -1.5f, 1e-6f);
        free(mel);
}
END_TEST

START_TEST(test_whisper_mel_filters_slaney)
{
        static float w[WHISPER_N_MELS * (WHISPER_N_FFT / 2 + 1)];
        const int bins = WHISPER_N_FFT / 2 + 1;

        whisper_mel_filters(w);
        /* librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)[0, 1] and
         * [79, 190]: the first filter's peak, a slope of the last */
        ck_assert_float_eq_tol(w[1], 0.02486259f, 1e-7f);
        ck_assert_float_eq_tol(w[79 * bins + 190], 0.00223206f, 1e-7f);
        for (int m = 0; m < WHISPER_N_MELS; m++) {
                float sum = 0;

                for (int k = 0; k < bins; k++) {
                        ck_assert(w[m * bins + k] >= 0);
                        sum += w[m * bins + k];
                }
                ck_assert_msg(sum > 0, "filter %d is empty", m);
        }
        ck_assert_float_eq(w[0], 0.0f);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("whisper_mel");
        TCase *tc = tcase_create("whisper_mel");

        tcase_add_test(tc, test_whisper_mel_matches_faster_whisper);
        tcase_add_test(tc, test_whisper_mel_short_and_silent);
        suite_add_tcase(s, tc);
        tc = tcase_create("whisper_mel_filters");
        tcase_add_test(tc, test_whisper_mel_filters_slaney);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

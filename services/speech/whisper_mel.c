/* The log-mel spectrogram (whisper_mel.h). The DFT of every frame is one
 * product with a table of cosines and sines (OpenBLAS sgemm), as are the
 * mel filters: a 30 s clip costs a few tens of milliseconds. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "whisper_mel.h"

#define N_BINS (WHISPER_N_FFT / 2 + 1)
/* frames transformed per product: bounds the working memory */
#define BLOCK 1000

/* [N_FFT][2 N_BINS]: window[t] cos(2 pi k t / N), then -window[t] sin(...) */
static float dft[WHISPER_N_FFT][2 * N_BINS];
static float filters[WHISPER_N_MELS][N_BINS];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

void whisper_mel_filters(float *out)
{
        /* librosa's mel(sr=16000, n_fft=400, n_mels=80, htk=False,
         * norm="slaney"), in double as numpy computes it */
        const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
        const double logstep = log(6.4) / 27.0, max_mel = 45.245640471924965;
        double freqs[WHISPER_N_MELS + 2];

        for (int i = 0; i < WHISPER_N_MELS + 2; i++) {
                const double mel = max_mel * i / (WHISPER_N_MELS + 1);

                freqs[i] = mel >= min_log_mel ? min_log_hz * exp(logstep * (mel - min_log_mel))
                                              : f_sp * mel;
        }
        for (int m = 0; m < WHISPER_N_MELS; m++) {
                const double enorm = 2.0 / (freqs[m + 2] - freqs[m]);

                for (int k = 0; k < N_BINS; k++) {
                        const double f = (double)k * WHISPER_SAMPLE_RATE / WHISPER_N_FFT;
                        const double lower = (f - freqs[m]) / (freqs[m + 1] - freqs[m]);
                        const double upper = (freqs[m + 2] - f) / (freqs[m + 2] - freqs[m + 1]);
                        double w = lower < upper ? lower : upper;

                        out[m * N_BINS + k] = (float)((w > 0 ? w : 0) * enorm);
                }
        }
}

static void tables_init(void)
{
        for (int t = 0; t < WHISPER_N_FFT; t++) {
                /* numpy's hanning(N + 1)[:-1], rounded to float32 */
                const float w = (float)(0.5 - 0.5 * cos(2 * M_PI * t / WHISPER_N_FFT));

                for (int k = 0; k < N_BINS; k++) {
                        /* the angle reduced exactly: k t mod N */
                        const double a = 2 * M_PI * (double)((k * t) % WHISPER_N_FFT) /
                                         WHISPER_N_FFT;

                        dft[t][k] = (float)(w * cos(a));
                        dft[t][N_BINS + k] = (float)(-w * sin(a));
                }
        }
        whisper_mel_filters(&filters[0][0]);
}

/* Sample @p i of the clip padded with 160 zeros, reflected at both ends
 * (numpy's "reflect": the edge sample is not repeated). */
static float padded_at(const float *pcm, size_t n, long i)
{
        const long len = (long)n + WHISPER_HOP;

        if (len == 1)
                return pcm[0];
        while (i < 0 || i >= len) {
                if (i < 0)
                        i = -i;
                if (i >= len)
                        i = 2 * (len - 1) - i;
        }
        return (size_t)i < n ? pcm[i] : 0.0f;
}

float *whisper_mel(const float *pcm, size_t n, size_t *n_frames)
{
        const size_t frames = n / WHISPER_HOP + 1;
        float *out, *frame, *spec, *power, *mel;
        float max = -INFINITY;

        pthread_once(&tables_once, tables_init);
        out = malloc(sizeof(float) * WHISPER_N_MELS * frames);
        frame = malloc(sizeof(float) * BLOCK * WHISPER_N_FFT);
        spec = malloc(sizeof(float) * BLOCK * 2 * N_BINS);
        power = malloc(sizeof(float) * BLOCK * N_BINS);
        mel = malloc(sizeof(float) * BLOCK * WHISPER_N_MELS);
        if (!out || !frame || !spec || !power || !mel) {
                free(out);
                out = NULL;
                goto done;
        }
        for (size_t f0 = 0; f0 < frames; f0 += BLOCK) {
                size_t nf = frames - f0;

                if (nf > BLOCK)
                        nf = BLOCK;

                for (size_t f = 0; f < nf; f++) {
                        const long start = (long)((f0 + f) * WHISPER_HOP) - WHISPER_N_FFT / 2;
                        float *fr = frame + f * WHISPER_N_FFT;

                        if (start >= 0 && (size_t)start + WHISPER_N_FFT <= n) {
                                memcpy(fr, pcm + start, sizeof(float) * WHISPER_N_FFT);
                        } else {
                                for (int t = 0; t < WHISPER_N_FFT; t++)
                                        fr[t] = padded_at(pcm, n, start + t);
                        }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nf, 2 * N_BINS,
                            WHISPER_N_FFT, 1.0f, frame, WHISPER_N_FFT, &dft[0][0], 2 * N_BINS, 0.0f,
                            spec, 2 * N_BINS);
                for (size_t f = 0; f < nf; f++) {
                        const float *s = spec + f * 2 * N_BINS;

                        for (int k = 0; k < N_BINS; k++)
                                power[f * N_BINS + k] = s[k] * s[k] + s[N_BINS + k] * s[N_BINS + k];
                }
                /* mel[f][m] = sum_k power[f][k] filters[m][k] */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nf, WHISPER_N_MELS,
                            N_BINS, 1.0f, power, N_BINS, &filters[0][0], N_BINS, 0.0f, mel,
                            WHISPER_N_MELS);
                for (size_t f = 0; f < nf; f++) {
                        for (int m = 0; m < WHISPER_N_MELS; m++) {
                                const float v = mel[f * WHISPER_N_MELS + m];
                                const float l = log10f(v > 1e-10f ? v : 1e-10f);

                                out[(size_t)m * frames + f0 + f] = l;
                                max = l > max ? l : max;
                        }
                }
        }
        for (size_t i = 0; i < WHISPER_N_MELS * frames; i++) {
                const float v = out[i] > max - 8.0f ? out[i] : max - 8.0f;

                out[i] = (v + 4.0f) / 4.0f;
        }
        *n_frames = frames;
done:
        free(frame);
        free(spec);
        free(power);
        free(mel);
        return out;
}

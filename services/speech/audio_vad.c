/* Voice activity detection: where in a clip someone speaks, so that silence
 * and steady noise (white, pink, mains hum) give no spans. Each 30 ms frame
 * is compared bin by bin (200-4000 Hz) with an estimate of the noise's
 * spectrum, taken from the clip's quietest frames and then followed: the
 * mean of gamma - ln(gamma) - 1 over the bins, gamma being a bin's power
 * over the noise's, is a likelihood ratio that stays near 0.58 for any
 * stationary noise and climbs where speech's harmonics stand out of it,
 * even at 0 dB SNR. Speech frames are joined with a hangover, and the spans
 * padded so no word's edge is cut. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speech/audio.h"

#define FRAME_MS      30
#define BAND_LO       200.0
#define BAND_HI       4000.0
#define SILENCE_DB    -100.0 /* digital silence */
#define MIN_SPEECH_DB -60.0  /* band energy below this is never speech (dBFS) */
#define SPEECH_SCORE  0.75   /* a frame scoring above this (smoothed) holds speech */
#define NOISE_PCT     10     /* the quietest percent of frames the noise is first taken from */
#define NEAR_NOISE    1.6    /* a frame this near the noise's band power (2 dB) updates it */
#define TRACK_NOISE   0.9    /* noise estimate kept per frame near the noise */
#define TRACK_LOUDER  0.995  /* ... and per louder frame */
#define SMOOTH        2      /* frames either side averaged with a frame */
#define HANGOVER      8      /* frames kept after the last speech frame */
#define MIN_FRAMES    3      /* speech frames a span needs */
#define PAD_MS        120    /* added before and after each span */

struct vad {
        const struct audio_pcm *p;
        size_t flen, nfft, lo, hi, n; /* frame length, FFT size, band bins, frames */
        double *window, *noise, *power;
        double complex *x;
        double *db, *score;
};

/* In-place iterative radix-2 FFT of @p n (a power of two) points. */
static void fft(double complex *x, size_t n)
{
        for (size_t i = 1, j = 0; i < n; i++) {
                size_t bit = n >> 1;

                for (; j & bit; bit >>= 1)
                        j ^= bit;
                j ^= bit;
                if (i < j) {
                        double complex t = x[i];

                        x[i] = x[j];
                        x[j] = t;
                }
        }
        for (size_t len = 2; len <= n; len <<= 1) {
                double complex w = cexp(-2.0 * I * M_PI / (double)len);

                for (size_t i = 0; i < n; i += len) {
                        double complex wk = 1.0;

                        for (size_t k = 0; k < len / 2; k++) {
                                double complex u = x[i + k], v = x[i + k + len / 2] * wk;

                                x[i + k] = u + v;
                                x[i + k + len / 2] = u - v;
                                wk *= w;
                        }
                }
        }
}

/* The power of frame @p f in each band bin, into v->power; returns the
 * band's energy in dBFS (a full-scale in-band sine reads about 0 dB). */
static double spectrum(struct vad *v, size_t f)
{
        const float *s = v->p->samples + f * v->flen;
        double sum = 0;

        for (size_t i = 0; i < v->nfft; i++)
                v->x[i] = i < v->flen ? s[i] * v->window[i] : 0;
        fft(v->x, v->nfft);
        for (size_t k = v->lo; k <= v->hi; k++) {
                double complex c = v->x[k];

                v->power[k - v->lo] = creal(c) * creal(c) + cimag(c) * cimag(c) + 1e-12;
                sum += v->power[k - v->lo];
        }
        return fmax(SILENCE_DB, 10 * log10(8 * sum / ((double)v->flen * (double)v->flen) + 1e-13));
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* The noise's spectrum to start from: the mean over the clip's quietest
 * frames. Returns -1 without memory. */
static int initial_noise(struct vad *v)
{
        size_t bins = v->hi - v->lo + 1, used = 0;
        double *sorted = malloc(v->n * sizeof(*sorted)), limit;

        if (!sorted)
                return -1;
        memcpy(sorted, v->db, v->n * sizeof(*sorted));
        qsort(sorted, v->n, sizeof(*sorted), cmp_double);
        limit = sorted[v->n * NOISE_PCT / 100];
        free(sorted);
        memset(v->noise, 0, bins * sizeof(*v->noise));
        for (size_t f = 0; f < v->n; f++) {
                if (v->db[f] > limit)
                        continue;
                spectrum(v, f);
                for (size_t k = 0; k < bins; k++)
                        v->noise[k] += v->power[k];
                used++;
        }
        for (size_t k = 0; k < bins; k++)
                v->noise[k] /= (double)used;
        return 0;
}

/* Scores every frame against the noise, following the noise as it goes:
 * quickly through frames near its level, slowly through louder ones (a
 * louder noise is still followed, speech barely moves it). */
static void score_frames(struct vad *v)
{
        size_t bins = v->hi - v->lo + 1;

        for (size_t f = 0; f < v->n; f++) {
                double sum = 0, frame = 0, noise = 0, keep;

                spectrum(v, f);
                for (size_t k = 0; k < bins; k++) {
                        double g = fmin(v->power[k] / v->noise[k], 1e6);

                        sum += g - log(g) - 1;
                        frame += v->power[k];
                        noise += v->noise[k];
                }
                v->score[f] = sum / (double)bins;
                keep = frame < NEAR_NOISE * noise ? TRACK_NOISE : TRACK_LOUDER;
                for (size_t k = 0; k < bins; k++)
                        v->noise[k] = keep * v->noise[k] + (1 - keep) * v->power[k];
        }
}

/* A frame is speech when its score, averaged over the frames around it,
 * is high and it is not near-silence. The average steadies noise's score
 * far more than it blurs a syllable's. */
static void classify(const struct vad *v, unsigned char *speech)
{
        for (size_t f = 0; f < v->n; f++) {
                size_t lo = f > SMOOTH ? f - SMOOTH : 0;
                size_t hi = f + SMOOTH < v->n ? f + SMOOTH : v->n - 1;
                double sum = 0;

                for (size_t i = lo; i <= hi; i++)
                        sum += v->score[i];
                speech[f] = sum / (double)(hi - lo + 1) > SPEECH_SCORE && v->db[f] > MIN_SPEECH_DB;
        }
}

static int add_span(struct audio_span **spans, size_t *n, size_t *cap, size_t start, size_t end)
{
        if (*n && start <= (*spans)[*n - 1].end) { /* padding made them touch */
                (*spans)[*n - 1].end = end;
                return 0;
        }
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 8;
                struct audio_span *s = realloc(*spans, c * sizeof(*s));

                if (!s)
                        return -1;
                *spans = s;
                *cap = c;
        }
        (*spans)[(*n)++] = (struct audio_span){ start, end };
        return 0;
}

/* Joins speech frames into spans: a span ends HANGOVER frames after its last
 * speech frame and counts only with MIN_FRAMES speech frames in it. */
static int join(const unsigned char *speech, size_t n, size_t flen, size_t total, int rate,
                struct audio_span **spans, size_t *n_spans)
{
        size_t pad = (size_t)rate * PAD_MS / 1000, cap = 0;

        for (size_t i = 0; i < n;) {
                size_t start, last, count = 0;

                if (!speech[i]) {
                        i++;
                        continue;
                }
                start = last = i;
                for (; i < n && i <= last + HANGOVER; i++)
                        if (speech[i]) {
                                last = i;
                                count++;
                        }
                if (count < MIN_FRAMES)
                        continue;
                if (add_span(spans, n_spans, &cap, start * flen > pad ? start * flen - pad : 0,
                             (last + 1) * flen + pad < total ? (last + 1) * flen + pad : total))
                        return -1;
        }
        return 0;
}

static void vad_cleanup(struct vad *v)
{
        free(v->window);
        free(v->noise);
        free(v->power);
        free(v->x);
        free(v->db);
        free(v->score);
}

int audio_vad(const struct audio_pcm *p, struct audio_span **spans, size_t *n_spans, char *errstr,
              size_t errstr_size)
{
        struct vad v = { .p = p };
        unsigned char *speech = NULL;
        size_t bins;
        int rc = -1;

        *spans = NULL;
        *n_spans = 0;
        if (p->rate < 8000 || p->rate > 384000) {
                snprintf(errstr, errstr_size, "cannot find speech in audio at %d Hz", p->rate);
                return -1;
        }
        v.flen = (size_t)p->rate * FRAME_MS / 1000;
        v.n = p->n / v.flen;
        if (v.n == 0)
                return 0;
        for (v.nfft = 1; v.nfft < v.flen; v.nfft <<= 1)
                ;
        v.lo = (size_t)(BAND_LO * (double)v.nfft / p->rate) + 1;
        v.hi = (size_t)fmin(BAND_HI * (double)v.nfft / p->rate, (double)(v.nfft / 2 - 1));
        bins = v.hi - v.lo + 1;
        v.window = malloc(v.flen * sizeof(*v.window));
        v.noise = malloc(bins * sizeof(*v.noise));
        v.power = malloc(bins * sizeof(*v.power));
        v.x = malloc(v.nfft * sizeof(*v.x));
        v.db = malloc(v.n * sizeof(*v.db));
        v.score = malloc(v.n * sizeof(*v.score));
        speech = malloc(v.n);
        if (!v.window || !v.noise || !v.power || !v.x || !v.db || !v.score || !speech)
                goto oom;
        for (size_t i = 0; i < v.flen; i++) /* Hann */
                v.window[i] = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)v.flen);
        for (size_t f = 0; f < v.n; f++)
                v.db[f] = spectrum(&v, f);
        if (initial_noise(&v) != 0)
                goto oom;
        score_frames(&v);
        classify(&v, speech);
        if (join(speech, v.n, v.flen, p->n, p->rate, spans, n_spans) != 0) {
                free(*spans);
                *spans = NULL;
                *n_spans = 0;
                goto oom;
        }
        rc = 0;
        goto out;
oom:
        snprintf(errstr, errstr_size, "out of memory");
out:
        vad_cleanup(&v);
        free(speech);
        return rc;
}

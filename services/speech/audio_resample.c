/* Changing a clip's sample rate with libsamplerate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <samplerate.h>

#include "speech/audio.h"

/* SRC_SINC_MEDIUM_QUALITY: the same 97 dB of stop-band rejection as BEST,
 * with 90% of the band passed instead of 97% (7.2 of Whisper's 8 kHz), and
 * 3.4 times faster: a minute of 48 kHz audio to 16 kHz takes 1.3 s here
 * against 4.4 s (FASTEST, 80% of the band, 0.6 s). */
#define RESAMPLE_QUALITY SRC_SINC_MEDIUM_QUALITY

int audio_resample(const struct audio_pcm *in, int rate, struct audio_pcm *out, char *errstr,
                   size_t errstr_size)
{
        SRC_DATA d = { 0 };
        double ratio;
        size_t cap;
        int err;

        out->samples = NULL;
        out->n = 0;
        out->rate = rate;
        if (in->rate <= 0 || rate <= 0 || (double)rate / in->rate > 256 ||
            (double)in->rate / rate > 256) {
                snprintf(errstr, errstr_size, "cannot resample %d Hz to %d Hz", in->rate, rate);
                return -1;
        }
        ratio = (double)rate / in->rate;
        cap = (size_t)((double)in->n * ratio) + 16;
        out->samples = malloc(cap * sizeof(float));
        if (!out->samples) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if (in->rate == rate) {
                for (size_t i = 0; i < in->n; i++)
                        out->samples[i] = in->samples[i];
                out->n = in->n;
                return 0;
        }
        d.data_in = in->samples;
        d.input_frames = (long)in->n;
        d.data_out = out->samples;
        d.output_frames = (long)cap;
        d.src_ratio = ratio;
        err = src_simple(&d, RESAMPLE_QUALITY, 1);
        if (err) {
                snprintf(errstr, errstr_size, "libsamplerate: %s", src_strerror(err));
                audio_pcm_free(out);
                return -1;
        }
        out->n = (size_t)d.output_frames_gen;
        /* the sinc filter rings past full scale next to clipped input */
        for (size_t i = 0; i < out->n; i++)
                out->samples[i] = fmaxf(-1.f, fminf(1.f, out->samples[i]));
        return 0;
}

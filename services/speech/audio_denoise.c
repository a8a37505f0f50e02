/* Removing stationary noise with speexdsp's preprocessor, 20 ms at a time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <speex/speex_preprocess.h>

#include "speech/audio.h"

int audio_denoise(struct audio_pcm *p, char *errstr, size_t errstr_size)
{
        int frame = p->rate / 50, on = 1;
        SpeexPreprocessState *st;
        spx_int16_t *buf;

        if (frame < 80 || frame > 8192) {
                snprintf(errstr, errstr_size, "cannot denoise audio at %d Hz", p->rate);
                return -1;
        }
        buf = malloc((size_t)frame * sizeof(*buf));
        st = buf ? speex_preprocess_state_init(frame, p->rate) : NULL;
        if (!st) {
                free(buf);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DENOISE, &on);
        for (size_t at = 0; at < p->n; at += (size_t)frame) {
                size_t n = p->n - at < (size_t)frame ? p->n - at : (size_t)frame;

                for (size_t i = 0; i < (size_t)frame; i++) {
                        float v = i < n ? p->samples[at + i] * 32767.f : 0.f;

                        buf[i] = (spx_int16_t)lrintf(fmaxf(-32768.f, fminf(32767.f, v)));
                }
                speex_preprocess_run(st, buf);
                for (size_t i = 0; i < n; i++)
                        p->samples[at + i] = (float)buf[i] / 32768.f;
        }
        speex_preprocess_state_destroy(st);
        free(buf);
        return 0;
}

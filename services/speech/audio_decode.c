/* audio_decode: whatever a client uploads, told by its bytes, into mono
 * float samples at the rate asked. libsndfile reads WAV, FLAC, AIFF, CAF
 * and AU; FFmpeg's libraries read the rest (Ogg and MP3 too: through
 * libsndfile, mpg123 writes warnings to stderr and a bad Vorbis header
 * leaks) and whatever libsndfile refuses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speech/audio_impl.h"

void audio_pcm_free(struct audio_pcm *p)
{
        free(p->samples);
        p->samples = NULL;
        p->n = 0;
}

int audio_collect_add(struct audio_collect *c, const float *in, size_t frames, int channels)
{
        if (c->pcm.n + frames > c->cap) {
                size_t cap = c->cap ? c->cap : 16384;
                float *s;

                while (cap < c->pcm.n + frames)
                        cap *= 2;
                s = realloc(c->pcm.samples, cap * sizeof(*s));
                if (!s)
                        return -1;
                c->pcm.samples = s;
                c->cap = cap;
        }
        for (size_t i = 0; i < frames; i++) {
                float sum = 0;

                for (int ch = 0; ch < channels; ch++)
                        sum += in[i * (size_t)channels + (size_t)ch];
                /* NaN or infinities from a broken file become silence */
                sum /= (float)channels;
                c->pcm.samples[c->pcm.n + i] = isfinite(sum) ? fmaxf(-1.f, fminf(1.f, sum)) : 0.f;
        }
        c->pcm.n += frames;
        return (double)c->pcm.n > c->max_seconds * c->pcm.rate ? 1 : 0;
}

static const char *display_name(const char *filename)
{
        return filename && *filename ? filename : "upload";
}

/* The message for a file that cannot be decoded, naming what was found and
 * a file name that promised something else. */
static void refuse(const char *filename, const struct audio_sniff *s, const char *why, char *errstr,
                   size_t errstr_size)
{
        const char *named = audio_sniff_extension_kind(filename);
        const char *ext = filename ? strrchr(filename, '.') : NULL;

        if (!s->audio)
                snprintf(errstr, errstr_size, "file '%s' is %s, not audio", display_name(filename),
                         s->what);
        else if (named && *s->kind && strcmp(named, s->kind) != 0)
                snprintf(errstr, errstr_size,
                         "file '%s' is named %s but holds %s, which cannot be decoded: %s",
                         display_name(filename), ext, s->what, why);
        else if (!*s->kind)
                snprintf(errstr, errstr_size, "file '%s' is not a known audio format: %s",
                         display_name(filename), why);
        else
                snprintf(errstr, errstr_size, "file '%s' holds %s that cannot be decoded: %s",
                         display_name(filename), s->what, why);
}

enum audio_decode_status audio_decode(const void *bytes, size_t len, const char *filename, int rate,
                                      double max_seconds, struct audio_pcm *out,
                                      struct audio_info *info, char *errstr, size_t errstr_size)
{
        struct audio_collect c = { .max_seconds = max_seconds };
        struct audio_sniff s;
        struct audio_info got = { 0 };
        enum audio_decode_status st = AUDIO_INVALID;
        char why[256] = "";

        memset(out, 0, sizeof(*out));
        if (info)
                memset(info, 0, sizeof(*info));
        if (rate < 1000 || rate > 384000 || !(max_seconds > 0)) {
                snprintf(errstr, errstr_size, "bad decode request: rate %d, at most %g s", rate,
                         max_seconds);
                return AUDIO_INTERNAL;
        }
        if (len == 0) {
                snprintf(errstr, errstr_size, "file '%s' is empty", display_name(filename));
                return AUDIO_INVALID;
        }
        audio_sniff(bytes, len, &s);
        if (!s.audio) {
                refuse(filename, &s, "", errstr, errstr_size);
                return AUDIO_INVALID;
        }
        if (s.sndfile) {
                st = audio_sndfile_decode(bytes, len, &c, &got, why, sizeof(why));
                if (st == AUDIO_INVALID) {
                        char why2[256];
                        enum audio_decode_status st2;

                        /* the file is given to FFmpeg afresh; libsndfile's error is the one told */
                        audio_pcm_free(&c.pcm);
                        c = (struct audio_collect){ .max_seconds = max_seconds };
                        st2 = audio_ffmpeg_decode(bytes, len, true, &c, &got, why2, sizeof(why2));
                        if (st2 != AUDIO_INVALID)
                                st = st2;
                        if (st2 != AUDIO_OK && st2 != AUDIO_INVALID)
                                snprintf(why, sizeof(why), "%s", why2);
                }
        } else {
                st = audio_ffmpeg_decode(bytes, len, *s.kind != '\0', &c, &got, why, sizeof(why));
        }
        if (st == AUDIO_OK && c.pcm.n == 0) {
                st = AUDIO_INVALID;
                snprintf(why, sizeof(why), "it holds no audio samples");
        }
        if (st != AUDIO_OK) {
                audio_pcm_free(&c.pcm);
                if (st == AUDIO_INVALID)
                        refuse(filename, &s, why, errstr, errstr_size);
                else if (st == AUDIO_TOO_LONG)
                        snprintf(errstr, errstr_size, "file '%s' is longer than %g s",
                                 display_name(filename), max_seconds);
                else
                        snprintf(errstr, errstr_size, "decoding '%s': %s", display_name(filename),
                                 why);
                return st;
        }
        got.duration = (double)c.pcm.n / got.rate;
        if (info)
                *info = got;
        if (c.pcm.rate == rate) {
                *out = c.pcm;
                return AUDIO_OK;
        }
        if (audio_resample(&c.pcm, rate, out, why, sizeof(why)) != 0) {
                audio_pcm_free(&c.pcm);
                snprintf(errstr, errstr_size, "resampling '%s': %s", display_name(filename), why);
                return AUDIO_INTERNAL;
        }
        size_t from_n = c.pcm.n;

        audio_pcm_free(&c.pcm);
        if (out->n == 0) { /* a few samples at a very high rate: nothing at @p rate */
                audio_pcm_free(out);
                snprintf(why, sizeof(why), "its %zu samples at %d Hz make no sample at %d Hz",
                         from_n, got.rate, rate);
                refuse(filename, &s, why, errstr, errstr_size);
                return AUDIO_INVALID;
        }
        return AUDIO_OK;
}

/* Tempo without pitch: libsonic (the library espeak-ng itself uses for fast
 * speech) stretches what an engine cannot: flite past half or twice its
 * durations, espeak-ng below 80 or above 450 words a minute. libsonic keeps
 * its state in the stream, one per call, so calls run in parallel; pieces
 * go through as the engine makes them, so only the output is held whole. */
#include <sonic.h>
#include <stdlib.h>

#include "tts_internal.h"

struct tts_stretch {
        sonicStream st;
        int rate;
};

struct tts_stretch *tts_stretch_new(int rate, float speed)
{
        struct tts_stretch *s = malloc(sizeof(*s));

        if (!s)
                return NULL;
        s->st = sonicCreateStream(rate, 1);
        if (!s->st) {
                free(s);
                return NULL;
        }
        s->rate = rate;
        sonicSetSpeed(s->st, speed);
        return s;
}

void tts_stretch_free(struct tts_stretch *s)
{
        if (!s)
                return;
        sonicDestroyStream(s->st);
        free(s);
}

int tts_stretch_rate(const struct tts_stretch *s)
{
        return s->rate;
}

static int drain(struct tts_stretch *s, struct tts_samples *out)
{
        float buf[4096];
        int k;

        while ((k = sonicReadFloatFromStream(s->st, buf, 4096)) > 0)
                if (tts_samples_append_float(out, buf, (size_t)k))
                        return -1;
        return 0;
}

int tts_stretch_feed(struct tts_stretch *s, float *in, size_t n, struct tts_samples *out)
{
        for (size_t done = 0; done < n;) {
                size_t piece = n - done < 65536 ? n - done : 65536;

                if (!sonicWriteFloatToStream(s->st, in + done, (int)piece) || drain(s, out))
                        return -1;
                done += piece;
        }
        return 0;
}

int tts_stretch_finish(struct tts_stretch *s, struct tts_samples *out)
{
        if (!sonicFlushStream(s->st))
                return -1;
        return drain(s, out);
}

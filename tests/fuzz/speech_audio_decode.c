/* libFuzzer target for audio_decode: any bytes, told by their content, must
 * either decode into finite mono samples in -1..1 at the rate asked, or be
 * refused with a message and nothing allocated; a crash, a hang (the
 * runner's -timeout) or a leak fails. Then the voice activity detector runs
 * over whatever decoded. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "speech/audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct audio_pcm pcm;
        struct audio_info info;
        struct audio_span *spans;
        size_t n_spans;
        char err[512] = "";
        enum audio_decode_status st = audio_decode(data, size, "fuzz.bin", 16000, 30, &pcm, &info,
                                                   err, sizeof(err));

        if (st != AUDIO_OK) {
                if (pcm.samples || pcm.n || err[0] == '\0')
                        abort();
                return 0;
        }
        if (!pcm.samples || pcm.n == 0 || pcm.rate != 16000 || info.channels < 1 ||
            info.rate <= 0 || !(info.duration > 0) || info.duration > 30.5)
                abort();
        for (size_t i = 0; i < pcm.n; i++)
                if (!isfinite(pcm.samples[i]) || fabsf(pcm.samples[i]) > 1.0001f)
                        abort();
        if (audio_vad(&pcm, &spans, &n_spans, err, sizeof(err)) != 0)
                abort();
        for (size_t i = 0; i < n_spans; i++)
                if (spans[i].start >= spans[i].end || spans[i].end > pcm.n)
                        abort();
        free(spans);
        audio_pcm_free(&pcm);
        return 0;
}

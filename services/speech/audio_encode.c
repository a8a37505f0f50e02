/* audio_encode: synthesised speech into the formats OpenAI's speech API
 * returns, all at 24 kHz mono, and the names and content types that go with
 * them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sndfile.h>

#include "speech/audio_impl.h"

#define ENCODE_RATE 24000

/* clang-format off */
static const struct { const char *name, *content_type; } formats[] = {
        [AUDIO_MP3]  = { "mp3",  "audio/mpeg" },
        [AUDIO_OPUS] = { "opus", "audio/ogg" },
        [AUDIO_AAC]  = { "aac",  "audio/aac" },
        [AUDIO_FLAC] = { "flac", "audio/flac" },
        [AUDIO_WAV]  = { "wav",  "audio/wav" },
        [AUDIO_PCM]  = { "pcm",  "audio/pcm" },
};
/* clang-format on */

int audio_format_parse(const char *name)
{
        for (size_t i = 0; name && i < sizeof(formats) / sizeof(formats[0]); i++)
                if (strcmp(name, formats[i].name) == 0)
                        return (int)i;
        return -1;
}

const char *audio_format_name(enum audio_format f)
{
        return (unsigned)f < sizeof(formats) / sizeof(formats[0]) ? formats[f].name : NULL;
}

const char *audio_format_content_type(enum audio_format f)
{
        return (unsigned)f < sizeof(formats) / sizeof(formats[0]) ? formats[f].content_type : NULL;
}

/* Raw signed 16-bit little-endian samples, as OpenAI's "pcm". */
static int encode_pcm(const struct audio_pcm *in, struct cairn_buf *out, char *errstr,
                      size_t errstr_size)
{
        cairn_buf_reserve(out, in->n * 2);
        for (size_t i = 0; i < in->n; i++) {
                float v = fmaxf(-1.f, fminf(1.f, in->samples[i])) * 32767.f;
                long s = isfinite(v) ? lrintf(v) : 0;
                unsigned char b[2] = { (unsigned char)(s & 0xff),
                                       (unsigned char)((s >> 8) & 0xff) };

                cairn_buf_add(out, b, 2);
        }
        if (out->oom) {
                snprintf(errstr, errstr_size, "output too large");
                return -1;
        }
        return 0;
}

static int encode_rate(const struct audio_pcm *in, enum audio_format f, struct cairn_buf *out,
                       char *errstr, size_t errstr_size)
{
        switch (f) {
        case AUDIO_MP3:
                return audio_sndfile_encode(in, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, out,
                                            errstr, errstr_size);
        case AUDIO_OPUS:
                return audio_sndfile_encode(in, SF_FORMAT_OGG | SF_FORMAT_OPUS, out, errstr,
                                            errstr_size);
        case AUDIO_AAC:
                return audio_ffmpeg_encode_aac(in, out, errstr, errstr_size);
        case AUDIO_FLAC:
                return audio_sndfile_encode(in, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, out, errstr,
                                            errstr_size);
        case AUDIO_WAV:
                return audio_sndfile_encode(in, SF_FORMAT_WAV | SF_FORMAT_PCM_16, out, errstr,
                                            errstr_size);
        case AUDIO_PCM:
                return encode_pcm(in, out, errstr, errstr_size);
        }
        snprintf(errstr, errstr_size, "unknown output format %d", (int)f);
        return -1;
}

int audio_encode(const struct audio_pcm *in, enum audio_format f, struct cairn_buf *out,
                 char *errstr, size_t errstr_size)
{
        struct audio_pcm at24 = { 0 };
        int rc;

        if (in->rate == ENCODE_RATE)
                return encode_rate(in, f, out, errstr, errstr_size);
        if (audio_resample(in, ENCODE_RATE, &at24, errstr, errstr_size) != 0)
                return -1;
        rc = encode_rate(&at24, f, out, errstr, errstr_size);
        audio_pcm_free(&at24);
        return rc;
}

/* Audio in and out: decoding whatever a client uploads into mono float
 * samples at the rate asked, and encoding synthesised speech into the
 * formats OpenAI's speech API returns. */
#ifndef SPEECH_AUDIO_H
#define SPEECH_AUDIO_H

#include <stddef.h>

#include "cairn/buf.h"

/* Mono samples, -1..1. */
struct audio_pcm {
        float *samples;
        size_t n;
        int rate; /* Hz */
};
void audio_pcm_free(struct audio_pcm *p);

/* What a decoded file was. */
struct audio_info {
        char container[32]; /* "wav", "flac", "ogg", "mp3", "mp4", "webm", ... */
        char codec[32];     /* "pcm_s16le", "vorbis", "opus", "aac", ... */
        int channels;
        int rate;        /* the file's own rate */
        double duration; /* seconds */
};

enum audio_decode_status {
        AUDIO_OK = 0,
        AUDIO_INVALID, /* not audio, empty, truncated, corrupt, unsupported: errstr says what was found */
        AUDIO_TOO_LONG, /* longer than max_seconds */
        AUDIO_INTERNAL, /* out of memory, library failure */
};

/* Decodes @p len bytes (WAV, FLAC, AIFF through libsndfile; Ogg
 * Vorbis/Opus, MP3, MP4/M4A, WebM, MPEG and the rest through FFmpeg's
 * libraries), mixes to mono and resamples to @p rate. The format is told
 * from the bytes, never from @p filename, which only appears in messages
 * (NULL reads "upload"). Decoding stops as soon as more than @p max_seconds
 * were decoded (AUDIO_TOO_LONG). On success @p out holds malloc'd samples
 * (free with audio_pcm_free) and @p info, when not NULL, what the file was;
 * on failure @p out is empty and errstr names the problem for the client,
 * e.g. "file 'a.mp3' is a PNG image, not audio". */
enum audio_decode_status audio_decode(const void *bytes, size_t len, const char *filename, int rate,
                                      double max_seconds, struct audio_pcm *out,
                                      struct audio_info *info, char *errstr, size_t errstr_size);

/* Resamples @p in to @p rate (libsamplerate, best quality). */
int audio_resample(const struct audio_pcm *in, int rate, struct audio_pcm *out, char *errstr,
                   size_t errstr_size);

/* Removes stationary noise in place (speexdsp's preprocessor, 20 ms frames). */
int audio_denoise(struct audio_pcm *p, char *errstr, size_t errstr_size);

/* A stretch of speech found by audio_vad, in samples. */
struct audio_span {
        size_t start, end;
};

/* Finds where speech is: none for silence or noise alone. Fills @p spans
 * (malloc'd, *n_spans of them). */
int audio_vad(const struct audio_pcm *p, struct audio_span **spans, size_t *n_spans, char *errstr,
              size_t errstr_size);

enum audio_format { AUDIO_MP3, AUDIO_OPUS, AUDIO_AAC, AUDIO_FLAC, AUDIO_WAV, AUDIO_PCM };

/* Parses "mp3", "opus", "aac", "flac", "wav", "pcm"; -1 for anything else.
 * The name and the Content-Type OpenAI sends ("audio/mpeg", "audio/ogg" (Ogg Opus),
 * "audio/aac", "audio/flac", "audio/wav", "audio/pcm") are NULL for a value
 * outside the enum. */
int audio_format_parse(const char *name);
const char *audio_format_name(enum audio_format f);
const char *audio_format_content_type(enum audio_format f);

/* Encodes @p in (mono; resampled to 24 kHz first when it is not) into
 * @p out, appended. */
int audio_encode(const struct audio_pcm *in, enum audio_format f, struct cairn_buf *out,
                 char *errstr, size_t errstr_size);

#endif

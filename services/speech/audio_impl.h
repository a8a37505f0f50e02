/* What the audio files share among themselves and no one else: sniffing a
 * file's kind from its first bytes, the two decoders (libsndfile, FFmpeg)
 * and the two encoders behind audio_decode and audio_encode. */
#ifndef SPEECH_AUDIO_IMPL_H
#define SPEECH_AUDIO_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/buf.h"
#include "speech/audio.h"

/* What the first bytes of a file say it is. */
struct audio_sniff {
        const char *kind; /* "wav", "flac", "ogg", "mp3", "mp4", "webm", "mpeg", ...; "" unknown */
        const char *what; /* for messages: "WAV audio", "a PNG image", ... */
        bool audio;       /* false: a known non-audio format, refused without decoding */
        bool sndfile;     /* libsndfile should read it first */
};
void audio_sniff(const void *bytes, size_t len, struct audio_sniff *s);

/* What a file name's extension promises ("mp3" for "a.MP3"), or NULL. */
const char *audio_sniff_extension_kind(const char *filename);

/* Samples collected by a decoder: mono at the file's own rate, growing. */
struct audio_collect {
        struct audio_pcm pcm;
        size_t cap;
        double max_seconds; /* more than this at pcm.rate: the file is too long */
};
/* Appends @p frames frames of @p channels interleaved samples, mixed to
 * mono (pcm.rate set first). Returns 0, 1 when the samples now last longer
 * than max_seconds, or -1 without memory. */
int audio_collect_add(struct audio_collect *c, const float *interleaved, size_t frames,
                      int channels);

/* Each decodes the whole of @p bytes into @p c (mono at the file's rate) and
 * fills @p info. AUDIO_TOO_LONG as soon as more than c->max_seconds were
 * decoded. On failure errstr says why, without the file's name. */
enum audio_decode_status audio_sndfile_decode(const void *bytes, size_t len,
                                              struct audio_collect *c, struct audio_info *info,
                                              char *errstr, size_t errstr_size);
enum audio_decode_status audio_ffmpeg_decode(const void *bytes, size_t len, bool known_audio,
                                             struct audio_collect *c, struct audio_info *info,
                                             char *errstr, size_t errstr_size);

/* Encode mono @p in at its own rate, appending to @p out. @p sf_format is a
 * libsndfile SF_FORMAT_* major|minor. Return 0, or -1 with errstr. */
int audio_sndfile_encode(const struct audio_pcm *in, int sf_format, struct cairn_buf *out,
                         char *errstr, size_t errstr_size);
int audio_ffmpeg_encode_aac(const struct audio_pcm *in, struct cairn_buf *out, char *errstr,
                            size_t errstr_size);

#endif

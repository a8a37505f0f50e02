/* Text to speech: flite for English (voices slt, kal, awb, rms), espeak-ng
 * for every other language it ships; OpenAI's voice names map to distinct
 * engine voices (docs/speech.md). */
#ifndef SPEECH_TTS_H
#define SPEECH_TTS_H

#include <stddef.h>

#include "audio.h"

struct tts;

/* Loads the engines (espeak-ng's data from @p espeak_data, NULL for its
 * default). NULL with @p errstr. The engines themselves are the process's:
 * loaded by the first tts_new (espeak-ng from that call's data) and kept
 * until exit; each tts holds the voice table. */
struct tts *tts_new(const char *espeak_data, char *errstr, size_t errstr_size);
void tts_free(struct tts *t);

struct tts_voice {
        const char *name;     /* what a request names */
        const char *engine;   /* "flite" or "espeak-ng" */
        const char *language; /* ISO 639-1 */
        const char *description;
        const char *const *aliases; /* NULL-terminated: OpenAI names mapped here */
};

/* Every voice, sorted by name; *n set. Valid until tts_free. */
const struct tts_voice *tts_voices(const struct tts *t, size_t *n);

/* The engine, "flite" or "espeak-ng", of @p voice: a listed voice or a
 * name tts_speak gave in *spoken ("fr+f3"); NULL when it is neither. */
const char *tts_voice_engine(const struct tts *t, const char *voice);

enum tts_status { TTS_OK = 0, TTS_UNKNOWN_VOICE, TTS_BAD_INPUT, TTS_INTERNAL };

/* Speaks @p text (UTF-8) with @p voice (an engine voice, an OpenAI name, or
 * NULL/"" for @p language's default; language NULL/"" means English or the
 * voice's) at @p speed (0.25..4.0). @p out gets mono samples at the engine's
 * rate (flite: 8 or 16 kHz, espeak-ng: 22050 Hz); *spoken names the voice
 * used ("slt", "fr+f1"; valid until tts_free). Safe from any thread: the
 * engines speak one sentence-sized piece at a time, for one call at once. */
enum tts_status tts_speak(struct tts *t, const char *text, const char *voice, const char *language,
                          float speed, struct audio_pcm *out, const char **spoken, char *errstr,
                          size_t errstr_size);

#endif

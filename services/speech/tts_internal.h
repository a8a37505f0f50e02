/* What the text-to-speech files share: the voice table, the engines behind
 * it, text clean-up and time stretching. tts.h is the interface. */
#ifndef SPEECH_TTS_INTERNAL_H
#define SPEECH_TTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "tts.h"

/* OpenAI's voice names, each with one espeak-ng variant ("f3") used in every
 * language, and for English an engine voice of its own (tts_voices.c). */
struct tts_openai_voice {
        const char *name;    /* "alloy" */
        const char *english; /* the engine voice for English: "slt", "en-us+f3" */
        const char *variant; /* espeak-ng's variant for the other languages */
};
extern const struct tts_openai_voice tts_openai_voices[];
extern const size_t tts_openai_voices_n;

/* Samples growing as an engine produces them. */
struct tts_samples {
        float *v;
        size_t n, cap;
        size_t max;    /* more than this many samples is an error; 0: no limit */
        bool failed;   /* an append failed: out of memory or past max */
        bool too_long; /* past max */
};
/* 0, or -1 (and failed set) when out of memory or past max. */
int tts_samples_append_short(struct tts_samples *s, const short *in, size_t n);
int tts_samples_append_float(struct tts_samples *s, const float *in, size_t n);

/* One voice an engine can speak, with how to ask the engine for it. */
struct tts_entry {
        struct tts_voice pub;
        const char *engine_name; /* flite's voice name, or espeak-ng's "fr+f3" */
        bool flite;
        /* espeak-ng voices by language: the voice with each OpenAI variant,
   * "fr+f3", in tts_openai_voices order (NULL for flite voices) */
        char **variants;
};

struct tts {
        struct tts_entry *entries; /* sorted by name */
        size_t n;
        struct tts_voice *pub; /* entries[i].pub, for tts_voices */
        char **owned;          /* strings the entries point to */
        size_t n_owned, cap_owned;
};

/* Fills t->entries: flite's voices, espeak-ng's voices by language and the
 * English variants OpenAI's names map to. */
int tts_voices_load(struct tts *t, char *errstr, size_t errstr_size);
void tts_voices_cleanup(struct tts *t);
/* The entry named @p name (case-insensitive), or NULL. */
const struct tts_entry *tts_voice_find(const struct tts *t, const char *name);
/* The OpenAI voice named @p name (case-insensitive), or NULL. */
const struct tts_openai_voice *tts_openai_find(const char *name);
/* Writes "unknown voice ..., known: ..." into @p errstr. */
void tts_voices_unknown(const struct tts *t, const char *name, char *errstr, size_t errstr_size);

/* One engine call at a time, flite's or espeak-ng's: both keep global
 * state, and both draw on libc's rand() (noise in their signal generators),
 * which enter() switches to a private state seeded the same every time, so
 * a text comes out the same whatever ran before it; leave() restores the
 * process's own state untouched. */
void tts_engine_enter(void);
void tts_engine_leave(void);

/* flite (tts_flite.c). Registers its voices once per process. */
int tts_flite_init(char *errstr, size_t errstr_size);
/* Speaks @p ascii with flite's voice @p name, its durations stretched by
 * @p stretch (1/speed), appending to @p out; *rate set. 0, or -1 with
 * @p errstr. */
int tts_flite_speak(const char *name, const char *ascii, float stretch, struct tts_samples *out,
                    int *rate, char *errstr, size_t errstr_size);

/* espeak-ng (tts_espeak.c). Initialises it once per process, from
 * @p data_path (NULL: its default); returns its sample rate, or -1. */
int tts_espeak_init(const char *data_path, char *errstr, size_t errstr_size);
struct tts_espeak_voice {
        char name[64];        /* "fr" */
        char identifier[64];  /* "roa/fr", what espeak_SetVoiceByName takes */
        char description[64]; /* "French (France)" */
};
/* espeak-ng's voices, one per language code (ISO 639-1 where the language
 * has one; "en-us" and "en-gb" for English), malloc'd. */
int tts_espeak_list(struct tts_espeak_voice **out, size_t *n, char *errstr, size_t errstr_size);
/* Speaks UTF-8 @p text with espeak-ng voice @p name ("fr", "en-us+f3") at
 * @p wpm (80..450 words a minute), appending to @p out. */
int tts_espeak_speak(const char *name, const char *text, int wpm, struct tts_samples *out,
                     int *rate, char *errstr, size_t errstr_size);

/* Text clean-up (tts_text.c). True when @p text holds something other than
 * whitespace; false for empty text. */
bool tts_text_has_content(const char *text);
/* What espeak-ng reads: valid UTF-8 (bad bytes dropped), control characters
 * as spaces. malloc'd; NULL when out of memory. */
char *tts_text_clean(const char *text);
/* What flite reads: ASCII, typographic punctuation made plain, accents
 * dropped, what it cannot say (emoji, other scripts) left out. malloc'd. */
char *tts_text_ascii(const char *text);
/* True when @p text has a letter or digit. */
bool tts_text_speakable(const char *text);
/* The length of the next piece of @p s (len bytes) to hand an engine:
 * whole sentences up to about @p max bytes, never splitting a character. */
size_t tts_text_chunk(const char *s, size_t len, size_t max);

/* Tempo without pitch (libsonic): a stream at @p rate that plays @p speed
 * times faster; NULL when out of memory. Feed it the engine's pieces in
 * order, then finish; stretched samples are appended to @p out. */
struct tts_stretch;
struct tts_stretch *tts_stretch_new(int rate, float speed);
void tts_stretch_free(struct tts_stretch *s);
int tts_stretch_rate(const struct tts_stretch *s);
int tts_stretch_feed(struct tts_stretch *s, float *in, size_t n, struct tts_samples *out);
int tts_stretch_finish(struct tts_stretch *s, struct tts_samples *out);

#endif

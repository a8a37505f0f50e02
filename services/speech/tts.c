/* Text to speech: picks the engine voice a request means, cleans the text
 * for its engine, speaks it a sentence-sized piece at a time (each engine
 * runs one call at a time, so long texts take turns with short ones), and
 * reaches the speed asked with the engine's own control first and libsonic
 * for the rest. */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tts_internal.h"

/* Bytes of text an engine gets at once: a few sentences. */
#define PIECE_BYTES 500
/* The longest speech a call makes: 4,096 characters of English at speed
 * 0.25 last about 20 minutes; a string of digits read one by one could
 * last hours. */
#define MAX_SECONDS 1800
/* One piece's samples before stretching: far more than 500 bytes of text
 * ever take, a guard against a runaway engine. */
#define PIECE_MAX_SAMPLES ((size_t)600 * 22050)
/* espeak-ng's own rate range and default, words a minute */
#define WPM_MIN     80
#define WPM_MAX     450
#define WPM_DEFAULT 175
/* how far flite's duration_stretch goes before it sounds worse than libsonic */
#define STRETCH_MIN 0.5f
#define STRETCH_MAX 2.0f

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static char rand_state[128]; /* random()'s largest generator */
static char *saved_state;

void tts_engine_enter(void)
{
        pthread_mutex_lock(&engine_lock);
        saved_state = initstate(1, rand_state, sizeof(rand_state));
}

void tts_engine_leave(void)
{
        setstate(saved_state);
        pthread_mutex_unlock(&engine_lock);
}

static int grow(struct tts_samples *s, size_t n)
{
        float *v;
        size_t cap;

        if (s->max && s->n + n > s->max) {
                s->failed = s->too_long = true;
                return -1;
        }
        if (s->n + n <= s->cap)
                return 0;
        cap = s->cap ? s->cap : 16384;
        while (cap < s->n + n)
                cap *= 2;
        v = realloc(s->v, cap * sizeof(*v));
        if (!v) {
                s->failed = true;
                return -1;
        }
        s->v = v;
        s->cap = cap;
        return 0;
}

int tts_samples_append_short(struct tts_samples *s, const short *in, size_t n)
{
        if (grow(s, n))
                return -1;
        for (size_t i = 0; i < n; i++)
                s->v[s->n + i] = (float)in[i] / 32768.0f;
        s->n += n;
        return 0;
}

int tts_samples_append_float(struct tts_samples *s, const float *in, size_t n)
{
        if (grow(s, n))
                return -1;
        memcpy(s->v + s->n, in, n * sizeof(*in));
        s->n += n;
        return 0;
}

struct tts *tts_new(const char *espeak_data, char *errstr, size_t errstr_size)
{
        struct tts *t;

        if (tts_flite_init(errstr, errstr_size) ||
            tts_espeak_init(espeak_data, errstr, errstr_size) < 0)
                return NULL;
        t = calloc(1, sizeof(*t));
        if (!t) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (tts_voices_load(t, errstr, errstr_size)) {
                tts_free(t);
                return NULL;
        }
        return t;
}

void tts_free(struct tts *t)
{
        if (!t)
                return;
        tts_voices_cleanup(t);
        free(t);
}

const struct tts_voice *tts_voices(const struct tts *t, size_t *n)
{
        *n = t->n;
        return t->pub;
}

/* What one call speaks with. */
struct choice {
        const char *engine_name; /* flite's "slt", espeak-ng's "roa/fr+f3" */
        const char *spoken;      /* what the reply calls it: "slt", "fr+f3" */
        bool flite;
};

/* espeak-ng's voice for language @p lang ("fr", "pt-br" falls back to "pt"). */
static const struct tts_entry *language_voice(const struct tts *t, const char *lang)
{
        const struct tts_entry *e = tts_voice_find(t, lang);
        char base[8];

        if (e && e->variants)
                return e;
        snprintf(base, sizeof(base), "%.*s", (int)strcspn(lang, "-_"), lang);
        e = tts_voice_find(t, base);
        return e && e->variants ? e : NULL;
}

/* True when tag @p lang ("en-gb") is language @p code ("en"). */
static bool same_language(const char *lang, const char *code)
{
        size_t n = strlen(code);

        return strncmp(lang, code, n) == 0 && (lang[n] == '\0' || lang[n] == '-');
}

static bool is_english(const char *lang)
{
        return lang[0] == '\0' || same_language(lang, "en");
}

static enum tts_status choose(const struct tts *t, const char *voice, const char *lang,
                              struct choice *c, char *errstr, size_t errstr_size)
{
        const struct tts_openai_voice *ov = tts_openai_find(voice);
        const struct tts_entry *e;

        /* English is flite's slt, unless espeak-ng has the variant asked for (en-gb)
   */
        if (voice[0] == '\0' && is_english(lang)) {
                e = lang[0] ? tts_voice_find(t, lang) : NULL;
                voice = e && e->variants ? lang : "slt";
        }
        if (ov && is_english(lang)) {
                voice = ov->english;
                ov = NULL;
        }
        if (voice[0] == '\0' || ov) {
                e = language_voice(t, lang);
                if (!e) {
                        snprintf(errstr, errstr_size,
                                 "no voice speaks language \"%s\" (ListVoices has the languages)",
                                 lang);
                        return TTS_BAD_INPUT;
                }
                for (size_t i = 0; ov && i < tts_openai_voices_n; i++)
                        if (ov == &tts_openai_voices[i]) {
                                c->engine_name = e->variants[i];
                                c->spoken = e->variants[tts_openai_voices_n + i];
                                c->flite = false;
                                return TTS_OK;
                        }
                c->engine_name = e->engine_name;
                c->spoken = e->pub.name;
                c->flite = false;
                return TTS_OK;
        }
        e = tts_voice_find(t, voice);
        if (!e) {
                tts_voices_unknown(t, voice, errstr, errstr_size);
                return TTS_UNKNOWN_VOICE;
        }
        if (lang[0] && !same_language(lang, e->pub.language)) {
                snprintf(errstr, errstr_size, "voice %s speaks %s, not %s", e->pub.name,
                         e->pub.language, lang);
                return TTS_BAD_INPUT;
        }
        c->engine_name = e->engine_name;
        c->spoken = e->pub.name;
        c->flite = e->flite;
        return TTS_OK;
}

/* @p lang lower-cased into @p out, "_" as "-"; -1 when it is no language tag.
 */
static int normalise_language(const char *lang, char *out, size_t size)
{
        size_t i = 0;

        for (; lang && lang[i]; i++) {
                char ch = lang[i] == '_' ? '-' : (char)tolower((unsigned char)lang[i]);

                if (i + 1 >= size ||
                    !(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '-'))
                        return -1;
                out[i] = ch;
        }
        out[i] = '\0';
        return 0;
}

/* The error for a failed append to @p out or @p piece. */
static enum tts_status append_failed(const struct tts_samples *out, const struct tts_samples *piece,
                                     char *errstr, size_t errstr_size)
{
        if (out->too_long || piece->too_long) {
                snprintf(errstr, errstr_size,
                         "the speech would last over %d minutes: shorten the input or raise "
                         "the speed",
                         MAX_SECONDS / 60);
                return TTS_BAD_INPUT;
        }
        snprintf(errstr, errstr_size, "out of memory after %zu samples of speech", out->n);
        return TTS_INTERNAL;
}

/* Speaks @p text piece by piece into @p out. */
static enum tts_status speak(const struct choice *c, const char *text, float speed,
                             struct tts_samples *out, int *rate, char *errstr, size_t errstr_size)
{
        struct tts_samples piece = { .max = PIECE_MAX_SAMPLES };
        struct tts_stretch *st = NULL;
        size_t len = strlen(text);
        float rest;
        float stretch = 1.0f;
        int wpm = WPM_DEFAULT;
        enum tts_status status = TTS_OK;

        if (c->flite) {
                stretch = fminf(fmaxf(1.0f / speed, STRETCH_MIN), STRETCH_MAX);
                rest = speed * stretch;
        } else {
                wpm = (int)lrintf(WPM_DEFAULT * speed);
                wpm = wpm < WPM_MIN ? WPM_MIN : wpm > WPM_MAX ? WPM_MAX : wpm;
                rest = speed * WPM_DEFAULT / (float)wpm;
        }
        for (size_t at = 0; at < len && status == TTS_OK;) {
                size_t k = tts_text_chunk(text + at, len - at, PIECE_BYTES);
                char *p = strndup(text + at, k);
                int rc;

                at += k;
                if (!p) {
                        snprintf(errstr, errstr_size, "out of memory");
                        status = TTS_INTERNAL;
                        break;
                }
                if (!tts_text_speakable(p)) { /* punctuation alone: flite gives no wave */
                        free(p);
                        continue;
                }
                piece.n = 0;
                rc = c->flite ? tts_flite_speak(c->engine_name, p, stretch, &piece, rate, errstr,
                                                errstr_size)
                              : tts_espeak_speak(c->engine_name, p, wpm, &piece, rate, errstr,
                                                 errstr_size);
                free(p);
                if (rc == 0 && !out->max)
                        out->max = (size_t)MAX_SECONDS * (size_t)*rate;
                if (rc == 0 && fabsf(rest - 1.0f) > 0.01f && !st) {
                        st = tts_stretch_new(*rate, rest);
                        if (!st) {
                                snprintf(errstr, errstr_size, "out of memory");
                                rc = -1;
                        }
                }
                if (rc == 0 && (st ? tts_stretch_feed(st, piece.v, piece.n, out)
                                   : tts_samples_append_float(out, piece.v, piece.n)))
                        rc = -1;
                if (rc)
                        status = out->failed || piece.failed
                                         ? append_failed(out, &piece, errstr, errstr_size)
                                         : TTS_INTERNAL;
        }
        if (status == TTS_OK && st && tts_stretch_finish(st, out))
                status = append_failed(out, &piece, errstr, errstr_size);
        tts_stretch_free(st);
        free(piece.v);
        return status;
}

enum tts_status tts_speak(struct tts *t, const char *text, const char *voice, const char *language,
                          float speed, struct audio_pcm *out, const char **spoken, char *errstr,
                          size_t errstr_size)
{
        struct tts_samples samples = { 0 };
        struct choice c;
        char lang[36];
        char *clean;
        int rate = 0;
        enum tts_status status;

        memset(out, 0, sizeof(*out));
        if (spoken)
                *spoken = NULL;
        if (!text || !text[0]) {
                snprintf(errstr, errstr_size, "input is empty: give the text to speak");
                return TTS_BAD_INPUT;
        }
        if (!tts_text_has_content(text)) {
                snprintf(errstr, errstr_size, "input is only whitespace: give the text to speak");
                return TTS_BAD_INPUT;
        }
        if (!(speed >= 0.25f && speed <= 4.0f)) {
                snprintf(errstr, errstr_size, "speed %g is out of range: 0.25 to 4.0",
                         (double)speed);
                return TTS_BAD_INPUT;
        }
        if (normalise_language(language, lang, sizeof(lang))) {
                snprintf(errstr, errstr_size,
                         "language is not an ISO 639-1 code such as \"en\" or \"fr\"");
                return TTS_BAD_INPUT;
        }
        status = choose(t, voice ? voice : "", lang, &c, errstr, errstr_size);
        if (status)
                return status;
        clean = c.flite ? tts_text_ascii(text) : tts_text_clean(text);
        if (!clean) {
                snprintf(errstr, errstr_size, "out of memory");
                return TTS_INTERNAL;
        }
        if (!tts_text_speakable(clean)) {
                free(clean);
                snprintf(errstr, errstr_size,
                         "input has nothing voice %s can say: no letters or digits%s", c.spoken,
                         c.flite ? " it reads (flite reads Latin letters)" : "");
                return TTS_BAD_INPUT;
        }
        status = speak(&c, clean, speed, &samples, &rate, errstr, errstr_size);
        free(clean);
        if (status) {
                free(samples.v);
                return status;
        }
        if (samples.n == 0) {
                free(samples.v);
                snprintf(errstr, errstr_size, "voice %s made no sound from the input", c.spoken);
                return TTS_BAD_INPUT;
        }
        /* give back what doubling the buffer left unused */
        out->samples = realloc(samples.v, samples.n * sizeof(float));
        if (!out->samples)
                out->samples = samples.v;
        out->n = samples.n;
        out->rate = rate;
        if (spoken)
                *spoken = c.spoken;
        return TTS_OK;
}

/* espeak-ng, the engine for every language but English. It keeps one
 * global state (the voice, the rate, the synthesis callback), so every call
 * holds the engine lock (tts_engine_enter), and each sets the voice and the
 * rate again.
 * Initialised once per process, synchronous: speech comes back through the
 * callback at 22050 Hz. */
#include <ctype.h>
#include <espeak-ng/speak_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tts_internal.h"

static int espeak_rate; /* Hz once initialised; <= 0 when it failed */
static int espeak_tried;

int tts_espeak_init(const char *data_path, char *errstr, size_t errstr_size)
{
        tts_engine_enter();
        if (!espeak_tried) {
                espeak_tried = 1;
                /* DONT_EXIT: a missing data directory is an error, not exit(1) */
                espeak_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path,
                                                espeakINITIALIZE_DONT_EXIT);
        }
        tts_engine_leave();
        if (espeak_rate <= 0) {
                snprintf(errstr, errstr_size, "espeak-ng failed to start (data in %s)",
                         data_path ? data_path : "its default place");
                return -1;
        }
        return espeak_rate;
}

/* A voice's languages: a priority byte, a name, a zero byte, ...; an
 * empty name ends them. */
static const char *next_language(const char *l, int *priority)
{
        *priority = (unsigned char)l[0];
        return l[0] ? l + 1 : NULL;
}

static void lower_copy(char *dst, size_t size, const char *src)
{
        size_t i = 0;

        for (; src[i] && i + 1 < size; i++)
                dst[i] = (char)tolower((unsigned char)src[i]);
        dst[i] = '\0';
}

/* A language name and the voice that speaks it best so far. */
struct pick {
        char name[16];
        /* cppcheck-suppress unusedStructMember ; read through (*picks)[i] */
        int priority; /* espeak-ng's: lower is better */
        size_t idx;
};

/* Keeps voice @p idx for language @p name when no voice had it yet or it
 * speaks it at a better priority than the one held. */

static void consider(struct pick **picks, size_t *n, size_t *cap, const char *name, int priority,
                     size_t idx)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*picks)[i].name, name) == 0) {
                        if (priority < (*picks)[i].priority) {
                                (*picks)[i].priority = priority;
                                (*picks)[i].idx = idx;
                        }
                        return;
                }
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                struct pick *p = realloc(*picks, c * sizeof(*p));

                if (!p)
                        return;
                *picks = p;
                *cap = c;
        }
        lower_copy((*picks)[*n].name, sizeof((*picks)[*n].name), name);
        (*picks)[*n].priority = priority;
        (*picks)[*n].idx = idx;
        (*n)++;
}

/* A language name this list uses: a bare code ("fr", "yue"), or English's
 * two ("en-us", "en-gb"); English alone is flite's. */
static bool wanted(const char *lang)
{
        size_t len = strlen(lang);

        if (strcmp(lang, "en-us") == 0 || strcmp(lang, "en-gb") == 0)
                return true;
        if (strcmp(lang, "en") == 0 || len < 2 || len > 3)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!islower((unsigned char)lang[i]))
                        return false;
        return true;
}

int tts_espeak_list(struct tts_espeak_voice **out, size_t *n_out, char *errstr, size_t errstr_size)
{
        const espeak_VOICE **all;
        struct pick *picks = NULL;
        size_t n = 0, cap = 0, n_voices = 0;
        struct tts_espeak_voice *res;
        size_t k = 0;

        tts_engine_enter();
        all = espeak_ListVoices(NULL);
        for (size_t i = 0; all && all[i]; i++, n_voices++) {
                int pr;
                const char *l = all[i]->languages;

                for (const char *name; (name = next_language(l, &pr));
                     l = name + strlen(name) + 1) {
                        char lower[16];

                        if (strlen(name) >= sizeof(lower))
                                continue;
                        lower_copy(lower, sizeof(lower), name);
                        if (wanted(lower))
                                consider(&picks, &n, &cap, lower, pr, i);
                }
        }
        res = calloc(n ? n : 1, sizeof(*res));
        if (!res) {
                tts_engine_leave();
                free(picks);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        /* one name per voice: a three-letter code only for a voice no
   * two-letter code reaches ("yue", not "cmn" beside "zh") */
        for (size_t i = 0; i < n; i++) {
                bool shadowed = false;

                if (strlen(picks[i].name) == 3)
                        for (size_t j = 0; j < n; j++)
                                shadowed = shadowed || (j != i && picks[j].idx == picks[i].idx &&
                                                        strlen(picks[j].name) == 2);
                if (shadowed)
                        continue;
                snprintf(res[k].name, sizeof(res[k].name), "%s", picks[i].name);
                snprintf(res[k].identifier, sizeof(res[k].identifier), "%s",
                         all[picks[i].idx]->identifier);
                snprintf(res[k].description, sizeof(res[k].description), "%s",
                         all[picks[i].idx]->name);
                k++;
        }
        tts_engine_leave();
        free(picks);
        *out = res;
        *n_out = k;
        return 0;
}

static int on_samples(short *wav, int n, espeak_EVENT *events)
{
        struct tts_samples *out = events ? events->user_data : NULL;

        if (!out || !wav || n <= 0)
                return 0;
        /* 1 stops the synthesis: out of memory, or past the limit */
        return tts_samples_append_short(out, wav, (size_t)n) ? 1 : 0;
}

int tts_espeak_speak(const char *name, const char *text, int wpm, struct tts_samples *out,
                     int *rate, char *errstr, size_t errstr_size)
{
        espeak_ERROR err;

        tts_engine_enter();
        if (espeak_rate <= 0) {
                tts_engine_leave();
                snprintf(errstr, errstr_size, "espeak-ng is not running");
                return -1;
        }
        espeak_SetSynthCallback(on_samples);
        err = espeak_SetVoiceByName(name);
        if (err == EE_OK)
                err = espeak_SetParameter(espeakRATE, wpm, 0);
        if (err == EE_OK)
                err = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8,
                                   NULL, out);
        tts_engine_leave();
        *rate = espeak_rate;
        if (err != EE_OK) {
                snprintf(errstr, errstr_size, "espeak-ng failed to speak with voice %s (error %d)",
                         name, (int)err);
                return -1;
        }
        if (out->failed) {
                snprintf(errstr, errstr_size,
                         "out of memory (or speech too long) after %zu samples", out->n);
                return -1;
        }
        return 0;
}

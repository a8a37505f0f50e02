/* The voices a request can name: flite's English voices, espeak-ng's by
 * language code, and OpenAI's eleven names mapped onto distinct ones.
 * docs/speech.md quotes this table.
 *
 *   OpenAI    English (the engine voice)          other languages (espeak-ng)
 *   alloy     slt       flite, US female          <language>+f1
 *   ash       rms       flite, US male            <language>+m1
 *   ballad    awb       flite, Scottish male      <language>+m2
 *   coral     en-us+f3  espeak-ng, US female      <language>+f3
 *   echo      kal16     flite, US male            <language>+m3
 *   fable     en-gb+m4  espeak-ng, British male   <language>+m4
 *   onyx      en-us+m7  espeak-ng, US male        <language>+m7
 *   nova      en-us+f2  espeak-ng, US female      <language>+f2
 *   sage      en-gb+f4  espeak-ng, British female <language>+f4
 *   shimmer   en-us+f5  espeak-ng, US female      <language>+f5
 *   verse     en-us+m5  espeak-ng, US male        <language>+m5
 *
 * Every name gets a different engine voice or variant, in English and in
 * each other language. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tts_internal.h"

const struct tts_openai_voice tts_openai_voices[] = {
        { "alloy", "slt", "f1" },      { "ash", "rms", "m1" },
        { "ballad", "awb", "m2" },     { "coral", "en-us+f3", "f3" },
        { "echo", "kal16", "m3" },     { "fable", "en-gb+m4", "m4" },
        { "onyx", "en-us+m7", "m7" },  { "nova", "en-us+f2", "f2" },
        { "sage", "en-gb+f4", "f4" },  { "shimmer", "en-us+f5", "f5" },
        { "verse", "en-us+m5", "m5" },
};
const size_t tts_openai_voices_n = sizeof(tts_openai_voices) / sizeof(tts_openai_voices[0]);

static const struct {
        const char *name, *description;
} flite_voices[] = {
        { "slt", "US English, female (flite, CMU SLT unit selection, 16 kHz)" },
        { "kal", "US English, male (flite, CMU KAL diphones, 8 kHz)" },
        { "kal16", "US English, male (flite, CMU KAL diphones, 16 kHz)" },
        { "awb", "Scottish English, male (flite, CMU AWB unit selection, 16 kHz)" },
        { "rms", "US English, male (flite, CMU RMS unit selection, 16 kHz)" },
};
#define N_FLITE (sizeof(flite_voices) / sizeof(flite_voices[0]))

/* Keeps @p p (malloc'd) for the life of @p t: freed by tts_voices_cleanup.
 * NULL (and @p p freed) when out of memory. */
static void *own_ptr(struct tts *t, void *p)
{
        if (!p)
                return NULL;
        if (t->n_owned == t->cap_owned) {
                size_t cap = t->cap_owned ? t->cap_owned * 2 : 256;
                char **o = realloc(t->owned, cap * sizeof(*o));

                if (!o) {
                        free(p);
                        return NULL;
                }
                t->owned = o;
                t->cap_owned = cap;
        }
        t->owned[t->n_owned++] = p;
        return p;
}

static char *own(struct tts *t, const char *s)
{
        return own_ptr(t, strdup(s));
}

static char *ownf(struct tts *t, const char *a, const char *sep, const char *b)
{
        char buf[192];

        snprintf(buf, sizeof(buf), "%s%s%s", a, sep, b);
        return own(t, buf);
}

/* The aliases of engine voice @p name: OpenAI's names whose English voice it
 * is, NULL-terminated; NULL when out of memory. */
static const char *const *aliases_of(struct tts *t, const char *name)
{
        size_t k = 0;
        const char **a = own_ptr(t, calloc(tts_openai_voices_n + 1, sizeof(*a)));

        if (!a)
                return NULL;
        for (size_t i = 0; i < tts_openai_voices_n; i++)
                if (strcmp(tts_openai_voices[i].english, name) == 0)
                        a[k++] = tts_openai_voices[i].name;
        return a;
}

static int by_name(const void *a, const void *b)
{
        return strcmp(((const struct tts_entry *)a)->pub.name,
                      ((const struct tts_entry *)b)->pub.name);
}

static const struct tts_espeak_voice *espeak_named(const struct tts_espeak_voice *ev, size_t n,
                                                   const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(ev[i].name, name) == 0)
                        return &ev[i];
        return NULL;
}

int tts_voices_load(struct tts *t, char *errstr, size_t errstr_size)
{
        struct tts_espeak_voice *ev = NULL;
        size_t n_ev = 0, n_variant = 0, k = 0;
        bool oom = false;

        if (tts_espeak_list(&ev, &n_ev, errstr, errstr_size))
                return -1;
        for (size_t i = 0; i < tts_openai_voices_n; i++)
                n_variant += strchr(tts_openai_voices[i].english, '+') != NULL;
        t->entries = calloc(N_FLITE + n_ev + n_variant, sizeof(*t->entries));
        if (!t->entries) {
                free(ev);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (size_t i = 0; i < N_FLITE; i++) {
                struct tts_entry *e = &t->entries[k++];

                e->pub.name = flite_voices[i].name;
                e->pub.engine = "flite";
                e->pub.language = "en";
                e->pub.description = flite_voices[i].description;
                e->pub.aliases = aliases_of(t, e->pub.name);
                e->engine_name = e->pub.name;
                e->flite = true;
                oom = oom || !e->pub.aliases;
        }
        for (size_t i = 0; i < n_ev && !oom; i++) {
                struct tts_entry *e = &t->entries[k++];
                char lang[8];

                snprintf(lang, sizeof(lang), "%.*s", (int)strcspn(ev[i].name, "-"), ev[i].name);
                e->pub.name = own(t, ev[i].name);
                e->pub.engine = "espeak-ng";
                e->pub.language = own(t, lang);
                e->pub.description = own(t, ev[i].description);
                e->pub.aliases = aliases_of(t, ev[i].name);
                e->engine_name = own(t, ev[i].identifier);
                /* the voice with each OpenAI name's variant: engine names
     * ("roa/fr+f3") then what a reply calls them ("fr+f3") */
                e->variants = own_ptr(t, calloc(2 * tts_openai_voices_n, sizeof(char *)));
                oom = !e->pub.name || !e->pub.language || !e->pub.description || !e->pub.aliases ||
                      !e->engine_name || !e->variants;
                for (size_t v = 0; v < tts_openai_voices_n && !oom; v++) {
                        e->variants[v] = ownf(t, ev[i].identifier, "+",
                                              tts_openai_voices[v].variant);
                        e->variants[tts_openai_voices_n + v] = ownf(t, ev[i].name, "+",
                                                                    tts_openai_voices[v].variant);
                        oom = !e->variants[v] || !e->variants[tts_openai_voices_n + v];
                }
        }
        /* OpenAI's English names that espeak-ng speaks: voices of their own */
        for (size_t i = 0; i < tts_openai_voices_n && !oom; i++) {
                const char *eng = tts_openai_voices[i].english;
                const char *plus = strchr(eng, '+');
                char base[16];
                const struct tts_espeak_voice *b;
                struct tts_entry *e;

                if (!plus)
                        continue;
                snprintf(base, sizeof(base), "%.*s", (int)(plus - eng), eng);
                b = espeak_named(ev, n_ev, base);
                if (!b) {
                        free(ev);
                        snprintf(errstr, errstr_size, "espeak-ng has no voice %s (for %s)", base,
                                 tts_openai_voices[i].name);
                        return -1;
                }
                e = &t->entries[k++];
                e->pub.name = eng;
                e->pub.engine = "espeak-ng";
                e->pub.language = "en";
                e->pub.description = ownf(t, b->description, ", variant ", plus + 1);
                e->pub.aliases = aliases_of(t, eng);
                e->engine_name = ownf(t, b->identifier, "", plus);
                oom = !e->pub.description || !e->pub.aliases || !e->engine_name;
        }
        free(ev);
        if (oom) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        t->n = k;
        qsort(t->entries, t->n, sizeof(*t->entries), by_name);
        t->pub = calloc(t->n, sizeof(*t->pub));
        if (!t->pub) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (size_t i = 0; i < t->n; i++)
                t->pub[i] = t->entries[i].pub;
        return 0;
}

void tts_voices_cleanup(struct tts *t)
{
        for (size_t i = 0; i < t->n_owned; i++)
                free(t->owned[i]);
        free(t->owned);
        free(t->entries);
        free(t->pub);
}

const struct tts_entry *tts_voice_find(const struct tts *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcasecmp(t->entries[i].pub.name, name) == 0)
                        return &t->entries[i];
        return NULL;
}

const char *tts_voice_engine(const struct tts *t, const char *voice)
{
        const struct tts_entry *e = voice ? tts_voice_find(t, voice) : NULL;
        const char *plus = voice ? strchr(voice, '+') : NULL;
        char base[16];

        if (e)
                return e->pub.engine;
        if (!plus || plus - voice >= (ptrdiff_t)sizeof(base))
                return NULL;
        snprintf(base, sizeof(base), "%.*s", (int)(plus - voice), voice);
        e = tts_voice_find(t, base);
        for (size_t i = 0; e && e->variants && i < tts_openai_voices_n; i++)
                if (strcasecmp(e->variants[tts_openai_voices_n + i], voice) == 0)
                        return e->pub.engine;
        return NULL;
}

const struct tts_openai_voice *tts_openai_find(const char *name)
{
        for (size_t i = 0; i < tts_openai_voices_n; i++)
                if (strcasecmp(tts_openai_voices[i].name, name) == 0)
                        return &tts_openai_voices[i];
        return NULL;
}

void tts_voices_unknown(const struct tts *t, const char *name, char *errstr, size_t errstr_size)
{
        char shown[41];
        size_t i = 0;

        (void)t;
        /* the name as far as it is printable ASCII: errstr reaches clients */
        for (; name[i] && i + 1 < sizeof(shown); i++)
                shown[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
        shown[i] = '\0';
        snprintf(errstr, errstr_size,
                 "unknown voice \"%s%s\": known voices include alloy, echo, nova, shimmer "
                 "(OpenAI's names), slt, kal, awb, rms (flite) and language codes such as "
                 "en-us, fr, de, es (espeak-ng); ListVoices has them all",
                 shown, name[i] ? "..." : "");
}

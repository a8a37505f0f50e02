/* flite, the English engine. Its voices are registered once per process and
 * shared. flite is not safe to call from two threads at once: its values
 * (cst_val) are reference-counted with plain integers, and an utterance
 * takes references to values its voice, lexicon and phone set share, so
 * two syntheses race on those counts; its error hook (cst_errjmp) is one
 * global, and its unit-selection voices draw on rand(). So every call into
 * flite holds the engine lock (tts_engine_enter), and a call speaks one
 * sentence-sized piece (tts.c) so long texts take turns. Speed
 * is the utterance's own "duration_stretch" feature, which overrides the
 * voice's (the utterance's features are looked up before the voice's), so
 * the shared voice is never written. */
#include <flite/flite.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "tts_internal.h"

/* The voices' entry points: Debian's flite1-dev ships no header for them. */
cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_kal(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);

static struct {
        const char *name;
        cst_voice *(*reg)(const char *voxdir);
        cst_voice *voice;
} voices[] = {
        { "slt", register_cmu_us_slt, NULL },     { "kal", register_cmu_us_kal, NULL },
        { "kal16", register_cmu_us_kal16, NULL }, { "awb", register_cmu_us_awb, NULL },
        { "rms", register_cmu_us_rms, NULL },
};
#define N_VOICES (sizeof(voices) / sizeof(voices[0]))

static pthread_once_t flite_once = PTHREAD_ONCE_INIT;
static int flite_ok;

static void flite_load(void)
{
        flite_init();
        for (size_t i = 0; i < N_VOICES; i++)
                voices[i].voice = voices[i].reg(NULL);
        flite_ok = 1;
        for (size_t i = 0; i < N_VOICES; i++)
                flite_ok = flite_ok && voices[i].voice != NULL;
}

int tts_flite_init(char *errstr, size_t errstr_size)
{
        pthread_once(&flite_once, flite_load);
        if (!flite_ok) {
                snprintf(errstr, errstr_size, "flite: a voice failed to register");
                return -1;
        }
        return 0;
}

/* One utterance; NULL when flite gives up. flite reports internal errors by
 * cst_error(), which exits the process unless cst_errjmp is set: it is set
 * here, under the lock, so an error comes back as NULL instead (leaking the
 * utterance: its state is unknown after the jump). Under the engine lock. */
static cst_wave *synth(cst_voice *v, const char *text, float stretch)
{
        jmp_buf jb;
        cst_utterance *volatile u = NULL;
        cst_wave *volatile w = NULL;

        cst_errjmp = &jb;
        if (setjmp(jb)) {
                cst_errjmp = NULL;
                return NULL;
        }
        u = new_utterance();
        utt_set_input_text(u, text);
        utt_init(u, v);
        feat_set_float(u->features, "duration_stretch", stretch);
        if (flite_do_synth(u, v, utt_synth) && utt_wave(u))
                w = copy_wave(utt_wave(u));
        delete_utterance(u);
        cst_errjmp = NULL;
        return w;
}

int tts_flite_speak(const char *name, const char *ascii, float stretch, struct tts_samples *out,
                    int *rate, char *errstr, size_t errstr_size)
{
        cst_voice *v = NULL;
        cst_wave *w;
        int rc = 0;

        for (size_t i = 0; i < N_VOICES; i++)
                if (strcmp(voices[i].name, name) == 0)
                        v = voices[i].voice;
        if (!v) {
                snprintf(errstr, errstr_size, "flite has no voice %s", name);
                return -1;
        }
        tts_engine_enter();
        w = synth(v, ascii, stretch);
        tts_engine_leave();
        if (!w) {
                snprintf(errstr, errstr_size, "flite failed to speak the text");
                return -1;
        }
        *rate = w->sample_rate;
        if (w->num_channels != 1) {
                snprintf(errstr, errstr_size, "flite gave %d channels", w->num_channels);
                rc = -1;
        } else if (tts_samples_append_short(out, w->samples, (size_t)w->num_samples)) {
                snprintf(errstr, errstr_size, "out of memory (or speech too long) at %zu samples",
                         out->n);
                rc = -1;
        }
        delete_wave(w);
        return rc;
}

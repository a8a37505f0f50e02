/* Voice activity, denoising and Whisper, in the service's order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recognise.h"

/* Whether [start, end) seconds overlaps one of @p n spans of @p rate Hz. */
static bool heard(const struct audio_span *spans, size_t n, int rate, double start, double end)
{
        for (size_t i = 0; i < n; i++)
                if (start < (double)spans[i].end / rate && (double)spans[i].start / rate < end)
                        return true;
        return false;
}

/* Drops what overlaps no span; the text again from the segments kept. */
static int keep_heard(struct whisper_result *r, const struct audio_span *spans, size_t n, int rate,
                      char *errstr, size_t errstr_size)
{
        size_t kept = 0, len = 0;
        char *text;

        for (size_t i = 0; i < r->n_segments; i++) {
                struct whisper_segment *s = &r->segments[i];

                if (heard(spans, n, rate, s->start, s->end)) {
                        r->segments[kept++] = *s;
                        len += strlen(s->text ? s->text : "") + 1;
                } else {
                        free(s->text);
                        free(s->tokens);
                }
        }
        r->n_segments = kept;
        kept = 0;
        for (size_t i = 0; i < r->n_words; i++) {
                if (heard(spans, n, rate, r->words[i].start, r->words[i].end))
                        r->words[kept++] = r->words[i];
                else
                        free(r->words[i].word);
        }
        r->n_words = kept;
        text = malloc(len + 1);
        if (!text) {
                snprintf(errstr, errstr_size, "out of memory for the transcript");
                return -1;
        }
        len = 0;
        for (size_t i = 0; i < r->n_segments; i++) {
                const char *t = r->segments[i].text ? r->segments[i].text : "";

                while (*t == ' ')
                        t++;
                if (!*t)
                        continue;
                if (len)
                        text[len++] = ' ';
                memcpy(text + len, t, strlen(t));
                len += strlen(t);
        }
        text[len] = '\0';
        free(r->text);
        r->text = text;
        return 0;
}

int speech_recognise(const struct whisper_model *m, struct audio_pcm *pcm, bool vad, bool denoise,
                     const struct whisper_opts *opts, struct whisper_result *out, bool *no_speech,
                     char *errstr, size_t errstr_size)
{
        struct audio_span *spans = NULL;
        size_t nspans = 0;
        char err[256];
        int rc = -1;

        memset(out, 0, sizeof(*out));
        *no_speech = false;
        if (vad && audio_vad(pcm, &spans, &nspans, err, sizeof(err)) < 0) {
                snprintf(errstr, errstr_size, "voice activity detection: %s", err);
                return -1;
        }
        if (vad && nspans == 0) { /* nothing said: nothing to decode */
                *no_speech = true;
                out->text = strdup("");
                if (!out->text)
                        snprintf(errstr, errstr_size, "out of memory for the transcript");
                return out->text ? 0 : -1;
        }
        if (denoise && audio_denoise(pcm, err, sizeof(err)) < 0) {
                snprintf(errstr, errstr_size, "denoise: %s", err);
                goto done;
        }
        if (whisper_transcribe(m, pcm->samples, pcm->n, opts, out, errstr, errstr_size) < 0)
                goto done;
        if (vad && keep_heard(out, spans, nspans, pcm->rate, errstr, errstr_size) < 0) {
                whisper_result_free(out);
                goto done;
        }
        rc = 0;
done:
        free(spans);
        return rc;
}

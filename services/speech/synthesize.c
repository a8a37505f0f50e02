/* Synthesize: the text spoken by flite or espeak-ng, encoded in the format
 * asked, returned inline or by claim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"
#include "cairn/arena.h"
#include "cairn/buf.h"
#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/utf8.h"
#include "speech.h"
#include "tts.h"

/* Characters of UTF-8 @p s (already checked well-formed). */
static size_t utf8_chars(const char *s, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                n += ((unsigned char)s[i] & 0xC0) != 0x80;
        return n;
}

/* The engine of the voice that spoke. */
static const char *engine_of(const struct tts *t, const char *voice)
{
        size_t n;
        const struct tts_voice *v = tts_voices(t, &n);

        for (size_t i = 0; voice && i < n; i++)
                if (strcmp(v[i].name, voice) == 0)
                        return v[i].engine;
        return "";
}

static cairn_err_t check(const struct speech_service *svc,
                         const Cairn__Speech__V1__SynthesizeRequest *in, struct cairn_status *st)
{
        const char *text = in->input ? in->input : "";
        size_t len = strlen(text), chars;

        if (!speech_model_matches(&svc->tts_names, in->model))
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "model", "UNKNOWN_MODEL",
                                        "no speech model \"%.64s\" (ListModels lists them; %s is "
                                        "the default)",
                                        in->model, svc->tts_names.id);
        if (!cairn_utf8_valid(text, len))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "input", NULL,
                                        "input is not valid UTF-8");
        chars = utf8_chars(text, len);
        if (chars == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "input", NULL,
                                        "input is empty: give the text to speak");
        if (chars > (size_t)svc->conf.max_input_chars)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "input", "INPUT_TOO_LONG",
                                        "input has %zu characters; at most %lld are spoken "
                                        "(speech.max_input_chars)",
                                        chars, svc->conf.max_input_chars);
        if (in->speed != 0 && !(in->speed >= 0.25f && in->speed <= 4.0f))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "speed", NULL,
                                        "speed %g is outside 0.25..4.0", (double)in->speed);
        if (audio_format_name((enum audio_format)in->format) == NULL)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "format", NULL,
                                        "unknown audio format %d", (int)in->format);
        return CAIRN_OK;
}

static cairn_err_t speak(struct speech_service *svc, const Cairn__Speech__V1__SynthesizeRequest *in,
                         struct audio_pcm *pcm, const char **voice, struct cairn_status *st)
{
        char err[256];

        switch (tts_speak(svc->tts, in->input, in->voice, in->language,
                          in->speed != 0 ? in->speed : 1.0f, pcm, voice, err, sizeof(err))) {
        case TTS_OK:
                return CAIRN_OK;
        case TTS_UNKNOWN_VOICE:
                return cairn_status_set(st, CAIRN_ERR_INVALID, "voice", "UNKNOWN_VOICE", "%s", err);
        case TTS_BAD_INPUT:
                return cairn_status_set(st, CAIRN_ERR_INVALID, "input", NULL, "%s", err);
        default:
                return cairn_status_set(st, CAIRN_ERR_INTERNAL, NULL, NULL, "%s", err);
        }
}

cairn_err_t speech_synthesize_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                     ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Speech__V1__SynthesizeRequest *in =
                (const Cairn__Speech__V1__SynthesizeRequest *)msg;
        struct speech_service *svc = req->opaque;
        Cairn__Speech__V1__SynthesizeReply *out = NULL;
        enum audio_format fmt = (enum audio_format)in->format;
        struct audio_pcm pcm = { 0 };
        struct cairn_buf bytes = { 0 };
        const char *voice = NULL;
        int64_t t0 = cairn_mono_us();
        char err[256];
        cairn_err_t rc;

        rc = check(svc, in, st);
        if (rc == CAIRN_OK)
                rc = speak(svc, in, &pcm, &voice, st);
        if (rc == CAIRN_OK && audio_encode(&pcm, fmt, &bytes, err, sizeof(err)) < 0)
                rc = cairn_status_set(st, CAIRN_ERR_INTERNAL, "format", NULL, "encoding %s: %s",
                                      audio_format_name(fmt), err);
        if (rc == CAIRN_OK) {
                out = cairn_arena_alloc(req->arena, sizeof(*out));
                if (!out)
                        rc = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                              "the reply does not fit in this request's memory "
                                              "(bus.max_request_bytes)");
        }
        if (rc == CAIRN_OK) {
                cairn__speech__v1__synthesize_reply__init(out);
                out->audio = speech_audio_out(svc, req, bytes.p, bytes.len,
                                              audio_format_content_type(fmt), st);
                if (!out->audio)
                        rc = st->code;
        }
        if (rc == CAIRN_OK) {
                out->duration = pcm.rate ? (double)pcm.n / pcm.rate : 0;
                out->voice = (char *)voice;
                out->engine = (char *)engine_of(svc->tts, voice);
                out->model = (char *)svc->tts_names.id;
                cairn_metric_add_l(svc->m_audio_seconds, (const char *const[]){ "out" },
                                   out->duration);
                *reply = &out->base;
        }
        audio_pcm_free(&pcm);
        cairn_buf_cleanup(&bytes);
        cairn_metric_inc_l(svc->m_requests,
                           (const char *const[]){ "synthesize", cairn_err_str(rc) });
        cairn_metric_observe_l(svc->m_seconds, (const char *const[]){ "synthesize" },
                               (double)(cairn_mono_us() - t0) / 1e6);
        return rc;
}

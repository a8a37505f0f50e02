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

static cairn_err_t check(const struct speech_service *svc,
                         const Cairn__Speech__V1__SynthesizeRequest *in, struct cairn_status *st)
{
        const char *text = in->input ? in->input : "";
        size_t len = strlen(text), chars;

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

/* What was spoken, by whichever engine. */
struct spoken {
        const void *bytes;
        size_t len;
        const char *content_type;
        double duration;
        const char *voice, *engine, *model;
};

/* flite or espeak-ng, encoded; the bytes kept in @p buf. */
static cairn_err_t local_synthesize(struct speech_service *svc,
                                    const Cairn__Speech__V1__SynthesizeRequest *in,
                                    struct cairn_buf *buf, struct spoken *sp,
                                    struct cairn_status *st)
{
        enum audio_format fmt = (enum audio_format)in->format;
        struct audio_pcm pcm = { 0 };
        const char *voice = NULL;
        char err[256];
        cairn_err_t rc;

        cairn_status_clear(st);
        rc = speak(svc, in, &pcm, &voice, st);
        if (rc == CAIRN_OK && audio_encode(&pcm, fmt, buf, err, sizeof(err)) < 0)
                rc = cairn_status_set(st, CAIRN_ERR_INTERNAL, "format", NULL, "encoding %s: %s",
                                      audio_format_name(fmt), err);
        if (rc == CAIRN_OK)
                *sp = (struct spoken){ buf->p,
                                       buf->len,
                                       audio_format_content_type(fmt),
                                       pcm.rate ? (double)pcm.n / pcm.rate : 0,
                                       voice,
                                       tts_voice_engine(svc->tts, voice),
                                       svc->tts_names.id };
        audio_pcm_free(&pcm);
        return rc;
}

/* The provider's audio, kept in @p rs; its length measured by decoding it
 * (0 when that fails: the bytes are the provider's word). */
static cairn_err_t remote_synthesize(struct speech_service *svc, struct cairn_request *req,
                                     const Cairn__Speech__V1__SynthesizeRequest *in,
                                     struct sp_remote_speech *rs, struct spoken *sp,
                                     struct cairn_status *st)
{
        const char *tp = req->hdrs && req->hdrs->traceparent[0] ? req->hdrs->traceparent : NULL;
        struct audio_pcm pcm = { 0 };
        struct audio_info info;
        char err[256];
        cairn_err_t rc;

        cairn_status_clear(st);
        rc = sp_remote_synthesize(svc->remote, in, speech_deadline(svc, req), tp, rs, st);
        if (rc != CAIRN_OK)
                return rc;
        *sp = (struct spoken){ rs->data,
                               rs->len,
                               rs->content_type,
                               0,
                               in->voice && *in->voice ? in->voice : "alloy",
                               "remote",
                               sp_remote_speech_model(svc->remote) };
        if (in->format != CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM &&
            audio_decode(rs->data, rs->len, NULL, 24000, svc->conf.max_audio_seconds, &pcm, &info,
                         err, sizeof(err)) == AUDIO_OK)
                sp->duration = info.duration;
        else if (in->format == CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM)
                sp->duration = (double)rs->len / (2 * 24000);
        audio_pcm_free(&pcm);
        return CAIRN_OK;
}

/* The engines in the order speech.remote.mode gives: a model name of the
 * provider's, or a voice the built-in engines lack, goes to it whatever the
 * mode. */
static cairn_err_t synthesize(struct speech_service *svc, struct cairn_request *req,
                              const Cairn__Speech__V1__SynthesizeRequest *in, struct cairn_buf *buf,
                              struct sp_remote_speech *rs, struct spoken *sp,
                              struct cairn_status *st)
{
        bool remote = speech_remote_serves(svc, SP_REMOTE_SPEECH);
        bool local_model = speech_model_matches(&svc->tts_names, in->model);
        cairn_err_t rc;

        if (!local_model) {
                if (remote && strcmp(in->model, sp_remote_speech_model(svc->remote)) == 0)
                        return remote_synthesize(svc, req, in, rs, sp, st);
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "model", "UNKNOWN_MODEL",
                                        "no speech model \"%.64s\" (ListModels lists them; %s is "
                                        "the default)",
                                        in->model, svc->tts_names.id);
        }
        if (remote && svc->remote_mode == SP_REMOTE_PREFER) {
                rc = remote_synthesize(svc, req, in, rs, sp, st);
                if (rc == CAIRN_OK || !speech_may_fall_back(rc))
                        return rc;
                return local_synthesize(svc, in, buf, sp, st);
        }
        rc = local_synthesize(svc, in, buf, sp, st);
        if (remote && ((rc == CAIRN_ERR_INVALID && strcmp(st->reason, "UNKNOWN_VOICE") == 0) ||
                       (svc->remote_mode == SP_REMOTE_FALLBACK && speech_may_fall_back(rc))))
                rc = remote_synthesize(svc, req, in, rs, sp, st);
        return rc;
}

cairn_err_t speech_synthesize_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                     ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Speech__V1__SynthesizeRequest *in =
                (const Cairn__Speech__V1__SynthesizeRequest *)msg;
        struct speech_service *svc = req->opaque;
        Cairn__Speech__V1__SynthesizeReply *out = NULL;
        struct sp_remote_speech rs = { 0 };
        struct cairn_buf buf = { 0 };
        struct spoken sp = { 0 };
        int64_t t0 = cairn_mono_us();
        cairn_err_t rc;

        rc = check(svc, in, st);
        if (rc == CAIRN_OK)
                rc = synthesize(svc, req, in, &buf, &rs, &sp, st);
        if (rc == CAIRN_OK) {
                out = cairn_arena_alloc(req->arena, sizeof(*out));
                if (!out)
                        rc = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                              "the reply does not fit in this request's memory "
                                              "(bus.max_request_bytes)");
        }
        if (rc == CAIRN_OK) {
                cairn__speech__v1__synthesize_reply__init(out);
                out->audio = speech_audio_out(svc, req, sp.bytes, sp.len,
                                              cairn_arena_strdup(req->arena, sp.content_type), st);
                if (!out->audio)
                        rc = st->code;
        }
        if (rc == CAIRN_OK) {
                out->duration = sp.duration;
                out->voice = cairn_arena_strdup(req->arena, sp.voice);
                out->engine = (char *)sp.engine;
                out->model = (char *)sp.model;
                cairn_metric_add_l(svc->m_audio_seconds, (const char *const[]){ "out" },
                                   out->duration);
                *reply = &out->base;
        }
        cairn_buf_cleanup(&buf);
        sp_remote_speech_cleanup(&rs);
        cairn_metric_inc_l(svc->m_requests,
                           (const char *const[]){ "synthesize", cairn_err_str(rc) });
        cairn_metric_observe_l(svc->m_seconds, (const char *const[]){ "synthesize" },
                               (double)(cairn_mono_us() - t0) / 1e6);
        return rc;
}

/* Transcribe: the audio's bytes (inline or by claim), decoded to 16 kHz
 * mono, checked for speech, denoised, then Whisper. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio.h"
#include "cairn/arena.h"
#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "recognise.h"
#include "speech.h"
#include "whisper.h"

#define WHISPER_RATE 16000

/* Waits for one of the speech.whisper.concurrency slots until @p deadline_ms. */
static bool slot_take(struct speech_service *svc, int64_t deadline_ms)
{
        struct timespec until = { (time_t)(deadline_ms / 1000),
                                  (long)(deadline_ms % 1000) * 1000000 };
        bool ok = true;

        pthread_mutex_lock(&svc->lock);
        while (svc->computing >= svc->conf.concurrency && ok)
                ok = pthread_cond_timedwait(&svc->freed, &svc->lock, &until) == 0 ||
                     svc->computing < svc->conf.concurrency;
        if (ok)
                svc->computing++;
        pthread_mutex_unlock(&svc->lock);
        return ok;
}

static void slot_give(struct speech_service *svc)
{
        pthread_mutex_lock(&svc->lock);
        svc->computing--;
        pthread_cond_signal(&svc->freed);
        pthread_mutex_unlock(&svc->lock);
}

static Cairn__Speech__V1__Segment *segment_pb(struct cairn_arena *a,
                                              const struct whisper_segment *s, uint32_t id)
{
        Cairn__Speech__V1__Segment *p = cairn_arena_alloc(a, sizeof(*p));

        if (!p)
                return NULL;
        cairn__speech__v1__segment__init(p);
        p->id = id;
        p->start = s->start;
        p->end = s->end;
        p->text = cairn_arena_strdup(a, s->text ? s->text : "");
        p->no_speech_prob = s->no_speech_prob;
        p->avg_logprob = s->avg_logprob;
        p->compression_ratio = s->compression_ratio;
        p->temperature = s->temperature;
        p->seek = s->seek;
        p->tokens = cairn_arena_calloc(a, s->n_tokens ? s->n_tokens : 1, sizeof(*p->tokens));
        if (!p->text || !p->tokens)
                return NULL;
        for (size_t i = 0; i < s->n_tokens; i++)
                p->tokens[i] = s->tokens[i];
        p->n_tokens = s->n_tokens;
        return p;
}

static Cairn__Speech__V1__Word *word_pb(struct cairn_arena *a, const struct whisper_word *w)
{
        Cairn__Speech__V1__Word *p = cairn_arena_alloc(a, sizeof(*p));

        if (!p)
                return NULL;
        cairn__speech__v1__word__init(p);
        p->start = w->start;
        p->end = w->end;
        p->probability = w->probability;
        p->word = cairn_arena_strdup(a, w->word ? w->word : "");
        return p->word ? p : NULL;
}

/* The reply from Whisper's result (already filtered by speech_recognise). */
static Cairn__Speech__V1__TranscribeReply *
reply_of(struct cairn_arena *a, const struct speech_service *svc, const struct whisper_result *r)
{
        Cairn__Speech__V1__TranscribeReply *out = cairn_arena_alloc(a, sizeof(*out));

        if (!out)
                return NULL;
        cairn__speech__v1__transcribe_reply__init(out);
        out->language = "en";
        out->model = (char *)svc->stt.id;
        out->engine = "whisper";
        out->text = cairn_arena_strdup(a, r->text ? r->text : "");
        out->segments = cairn_arena_calloc(a, r->n_segments + 1, sizeof(*out->segments));
        out->words = cairn_arena_calloc(a, r->n_words + 1, sizeof(*out->words));
        if (!out->text || !out->segments || !out->words)
                return NULL;
        for (size_t i = 0; i < r->n_segments; i++) {
                out->segments[i] = segment_pb(a, &r->segments[i], (uint32_t)i);
                if (!out->segments[i])
                        return NULL;
        }
        out->n_segments = r->n_segments;
        for (size_t i = 0; i < r->n_words; i++) {
                out->words[i] = word_pb(a, &r->words[i]);
                if (!out->words[i])
                        return NULL;
        }
        out->n_words = r->n_words;
        return out;
}

static cairn_err_t decode(struct speech_service *svc,
                          const Cairn__Speech__V1__TranscribeRequest *in, const uint8_t *bytes,
                          size_t len, struct audio_pcm *pcm, struct cairn_status *st)
{
        const char *name = in->audio->filename && *in->audio->filename ? in->audio->filename : NULL;
        struct audio_info info;
        char err[256];

        switch (audio_decode(bytes, len, name, WHISPER_RATE, svc->conf.max_audio_seconds, pcm,
                             &info, err, sizeof(err))) {
        case AUDIO_OK:
                return CAIRN_OK;
        case AUDIO_INVALID:
                return cairn_status_set(st, CAIRN_ERR_INVALID, "audio", "BAD_AUDIO", "%s", err);
        case AUDIO_TOO_LONG:
                return cairn_status_set(st, CAIRN_ERR_INVALID, "audio", "AUDIO_TOO_LONG",
                                        "%s (speech.max_audio_seconds is %g)", err,
                                        svc->conf.max_audio_seconds);
        default:
                return cairn_status_set(st, CAIRN_ERR_INTERNAL, "audio", NULL, "%s", err);
        }
}

/* Whether Whisper can take the request: a model name of its own (or none)
 * and a language it knows; if not, @p st says why. */
static bool local_takes(const struct speech_service *svc,
                        const Cairn__Speech__V1__TranscribeRequest *in, struct cairn_status *st)
{
        const char *lang = in->language ? in->language : "";

        if (!speech_model_matches(&svc->stt, in->model)) {
                cairn_status_set(st, CAIRN_ERR_NOT_FOUND, "model", "UNKNOWN_MODEL",
                                 "no transcription model \"%.64s\" (ListModels lists them; %s "
                                 "is the default)",
                                 in->model, svc->stt.id);
                return false;
        }
        if (*lang && strcmp(lang, "en") != 0 && whisper_model_english_only(svc->whisper)) {
                cairn_status_set(st, CAIRN_ERR_PRECONDITION, "language", "LANGUAGE_UNSUPPORTED",
                                 "%s transcribes English only; \"%.32s\" needs a remote "
                                 "provider (speech.remote.url), and none is configured",
                                 svc->stt.id, lang);
                return false;
        }
        return true;
}

/* Whether the remote provider is asked for a request Whisper takes too. */
static bool remote_too(const struct speech_service *svc)
{
        return speech_remote_serves(svc, SP_REMOTE_TRANSCRIPTION) &&
               svc->remote_mode != SP_REMOTE_MISSING;
}

/* Whisper over @p pcm, filtered by voice activity; the reply in @p out. */
static cairn_err_t recognise(struct speech_service *svc, struct cairn_request *req,
                             const Cairn__Speech__V1__TranscribeRequest *in, struct audio_pcm *pcm,
                             Cairn__Speech__V1__TranscribeReply **out, struct cairn_status *st)
{
        struct whisper_result r = { 0 };
        struct whisper_opts o;
        bool no_speech;
        char err[256];
        int w;

        whisper_opts_default(&o);
        o.prompt = in->prompt && *in->prompt ? in->prompt : NULL;
        o.temperature = in->temperature;
        o.word_timestamps = in->word_timestamps;
        if (!slot_take(svc, speech_deadline(svc, req)))
                return cairn_status_set(st, CAIRN_ERR_DEADLINE, NULL, NULL,
                                        "the deadline passed while waiting for a free "
                                        "transcription slot (speech.whisper.concurrency %lld)",
                                        svc->conf.concurrency);
        w = speech_recognise(svc->whisper, pcm, svc->conf.vad, svc->conf.denoise, &o, &r,
                             &no_speech, err, sizeof(err));
        slot_give(svc);
        if (w < 0)
                return cairn_status_set(st, CAIRN_ERR_INTERNAL, NULL, NULL, "%s", err);
        if (no_speech)
                cairn_metric_inc_l(svc->m_empty, NULL);
        *out = reply_of(req->arena, svc, &r);
        whisper_result_free(&r);
        if (!*out)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                        "the reply does not fit in this request's memory "
                                        "(bus.max_request_bytes)");
        return CAIRN_OK;
}

/* The provider's transcript of the request's bytes. */
static cairn_err_t remote_transcribe(struct speech_service *svc, struct cairn_request *req,
                                     const Cairn__Speech__V1__TranscribeRequest *in,
                                     const uint8_t *bytes, size_t len,
                                     Cairn__Speech__V1__TranscribeReply **out,
                                     struct cairn_status *st)
{
        const char *tp = req->hdrs && req->hdrs->traceparent[0] ? req->hdrs->traceparent : NULL;

        cairn_status_clear(st);
        return sp_remote_transcribe(svc->remote, in, bytes, len, speech_deadline(svc, req), tp,
                                    cairn_arena_pbc(req->arena), out, st);
}

/* Whisper's transcript of the request's bytes. */
static cairn_err_t local_transcribe(struct speech_service *svc, struct cairn_request *req,
                                    const Cairn__Speech__V1__TranscribeRequest *in,
                                    const uint8_t *bytes, size_t len,
                                    Cairn__Speech__V1__TranscribeReply **out,
                                    struct cairn_status *st)
{
        struct audio_pcm pcm = { 0 };
        cairn_err_t rc;

        cairn_status_clear(st);
        rc = decode(svc, in, bytes, len, &pcm, st);
        if (rc == CAIRN_OK)
                rc = recognise(svc, req, in, &pcm, out, st);
        if (rc == CAIRN_OK)
                (*out)->duration = (double)pcm.n / WHISPER_RATE;
        audio_pcm_free(&pcm);
        return rc;
}

/* Whisper, the provider, or one then the other as speech.remote.mode says. */
static cairn_err_t transcribe(struct speech_service *svc, struct cairn_request *req,
                              const Cairn__Speech__V1__TranscribeRequest *in,
                              Cairn__Speech__V1__TranscribeReply **out, struct cairn_status *st)
{
        const uint8_t *bytes;
        size_t len;
        cairn_err_t rc;
        bool local = local_takes(svc, in, st);

        if (!local && !speech_remote_serves(svc, SP_REMOTE_TRANSCRIPTION))
                return st->code;
        if (!(in->temperature >= 0 && in->temperature <= 1))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "temperature", NULL,
                                        "temperature must be within 0..1");
        rc = speech_audio_bytes(svc, req, in->audio, "audio", &bytes, &len, st);
        if (rc != CAIRN_OK)
                return rc;
        if (!local)
                return remote_transcribe(svc, req, in, bytes, len, out, st);
        if (remote_too(svc) && svc->remote_mode == SP_REMOTE_PREFER) {
                rc = remote_transcribe(svc, req, in, bytes, len, out, st);
                if (rc == CAIRN_OK || !speech_may_fall_back(rc))
                        return rc;
                return local_transcribe(svc, req, in, bytes, len, out, st);
        }
        rc = local_transcribe(svc, req, in, bytes, len, out, st);
        if (rc != CAIRN_OK && speech_may_fall_back(rc) && remote_too(svc))
                rc = remote_transcribe(svc, req, in, bytes, len, out, st);
        return rc;
}

cairn_err_t speech_transcribe_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                     ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Speech__V1__TranscribeRequest *in =
                (const Cairn__Speech__V1__TranscribeRequest *)msg;
        struct speech_service *svc = req->opaque;
        Cairn__Speech__V1__TranscribeReply *out = NULL;
        int64_t t0 = cairn_mono_us();
        cairn_err_t rc = transcribe(svc, req, in, &out, st);

        if (rc == CAIRN_OK) {
                cairn_metric_add_l(svc->m_audio_seconds, (const char *const[]){ "in" },
                                   out->duration);
                *reply = &out->base;
        }
        cairn_metric_inc_l(svc->m_requests,
                           (const char *const[]){ "transcribe", cairn_err_str(rc) });
        cairn_metric_observe_l(svc->m_seconds, (const char *const[]){ "transcribe" },
                               (double)(cairn_mono_us() - t0) / 1e6);
        return rc;
}

/* ListVoices and ListModels: what the service offers, by name. */
#include <string.h>

#include "cairn/arena.h"
#include "speech.h"
#include "tts.h"
#include "whisper.h"

#define FULL_MSG "the reply does not fit in this request's memory (bus.max_request_bytes)"

cairn_err_t speech_voices_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Speech__V1__ListVoicesRequest *in =
                (const Cairn__Speech__V1__ListVoicesRequest *)msg;
        const struct speech_service *svc = req->opaque;
        Cairn__Speech__V1__ListVoicesReply *out = cairn_arena_alloc(req->arena, sizeof(*out));
        const char *lang = in->language ? in->language : "";
        size_t n;
        const struct tts_voice *v = tts_voices(svc->tts, &n);

        if (!out)
                goto full;
        cairn__speech__v1__list_voices_reply__init(out);
        out->voices = cairn_arena_calloc(req->arena, n + 1, sizeof(*out->voices));
        if (!out->voices)
                goto full;
        for (size_t i = 0; i < n; i++) {
                Cairn__Speech__V1__Voice *p;
                size_t na = 0;

                if (*lang && strcmp(v[i].language, lang) != 0)
                        continue;
                p = cairn_arena_alloc(req->arena, sizeof(*p));
                if (!p)
                        goto full;
                cairn__speech__v1__voice__init(p);
                p->name = (char *)v[i].name;
                p->engine = (char *)v[i].engine;
                p->language = (char *)v[i].language;
                p->description = (char *)(v[i].description ? v[i].description : "");
                while (v[i].aliases && v[i].aliases[na])
                        na++;
                p->aliases = (char **)v[i].aliases;
                p->n_aliases = na;
                out->voices[out->n_voices++] = p;
        }
        *reply = &out->base;
        return CAIRN_OK;
full:
        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE", FULL_MSG);
}

static Cairn__Speech__V1__Model *model_of(struct cairn_arena *a,
                                          const struct speech_model_names *names, const char *task,
                                          const char *engine)
{
        Cairn__Speech__V1__Model *m = cairn_arena_alloc(a, sizeof(*m));

        if (!m)
                return NULL;
        cairn__speech__v1__model__init(m);
        m->id = (char *)names->id;
        m->task = (char *)task;
        m->engine = (char *)engine;
        m->aliases = names->aliases;
        m->n_aliases = names->n_aliases;
        m->is_default = true;
        return m;
}

cairn_err_t speech_models_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st)
{
        static char *english[] = { "en" };
        const struct speech_service *svc = req->opaque;
        Cairn__Speech__V1__ListModelsReply *out = cairn_arena_alloc(req->arena, sizeof(*out));

        (void)msg;
        if (!out)
                goto full;
        cairn__speech__v1__list_models_reply__init(out);
        out->models = cairn_arena_calloc(req->arena, 2, sizeof(*out->models));
        if (!out->models)
                goto full;
        out->models[0] = model_of(req->arena, &svc->stt, "transcription", "whisper");
        out->models[1] = model_of(req->arena, &svc->tts_names, "speech", "flite+espeak-ng");
        if (!out->models[0] || !out->models[1])
                goto full;
        if (whisper_model_english_only(svc->whisper)) {
                out->models[0]->languages = english;
                out->models[0]->n_languages = 1;
        }
        out->n_models = 2;
        *reply = &out->base;
        return CAIRN_OK;
full:
        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE", FULL_MSG);
}

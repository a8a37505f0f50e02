/* OpenAI's audio API over the speech service (openai_audio.c): POST
 * /v1/audio/transcriptions (a multipart upload) becomes a TranscribeRequest,
 * POST /v1/audio/speech (JSON) a SynthesizeRequest; the replies are
 * rendered as OpenAI answers them (openai_audio_render.h). Audio larger
 * than the inline limit goes to the speech service by claim check
 * (cairn/claims.h) when the gateway has a claim store. */
#ifndef CAIRN_GATEWAY_OPENAI_AUDIO_H
#define CAIRN_GATEWAY_OPENAI_AUDIO_H

#include <stdbool.h>
#include <stddef.h>

#include "adapter.h"
#include "cairn/arena.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "error.h"
#include "openai_audio_render.h"

struct cairn_claims;

/* The gateway's audio settings, for the adapters (adapter ctx ->audio). */
struct gw_audio {
        long long inline_max_bytes;  /* larger uploads go by claim, when claims is set */
        long long claim_timeout_ms;  /* for storing or fetching one claim */
        struct cairn_claims *claims; /* NULL: no claim store, audio always inline */
};

/* Most characters of POST /v1/audio/speech's input, as OpenAI's. */
#define GW_SPEECH_INPUT_MAX 4096

/* A parsed POST /v1/audio/transcriptions. The message's strings live in
 * the arena, its audio bytes in the request body (borrowed). */
struct gw_transcription_req {
        struct cairn_arena arena;
        Cairn__Speech__V1__TranscribeRequest msg;
        Cairn__Speech__V1__Audio audio;
        Cairn__Speech__V1__Claim claim;
        enum gw_transcript_format format;
        unsigned parts; /* GW_TRANSCRIPT_SEGMENTS, GW_TRANSCRIPT_WORDS */
};

/* Reads a multipart/form-data body (@p content_type names its boundary)
 * into @p req: file and model required; language, prompt,
 * response_format, temperature, timestamp_granularities[] optional. False,
 * with @p e filled (400 naming the field, 415 for another media type),
 * on any mistake; either way the caller calls
 * gw_transcription_req_cleanup(). */
bool gw_transcription_req_parse(const char *content_type, const char *body, size_t len,
                                struct gw_transcription_req *req, struct gw_error *e);
void gw_transcription_req_cleanup(struct gw_transcription_req *req);

/* A parsed POST /v1/audio/speech: strings point into @p json, owned here. */
struct gw_speech_req {
        void *json; /* the jansson document */
        Cairn__Speech__V1__SynthesizeRequest msg;
};

/* Parses and checks a JSON body: model, input (1..4096 characters) and
 * voice required; response_format, speed (0.25..4) optional;
 * instructions accepted and ignored. False with @p e filled (400 naming
 * the field); either way the caller calls gw_speech_req_cleanup(). */
bool gw_speech_req_parse(const char *body, size_t len, int max_depth, struct gw_speech_req *req,
                         struct gw_error *e);
void gw_speech_req_cleanup(struct gw_speech_req *req);

/* The adapters of POST /v1/audio/transcriptions and POST /v1/audio/speech. */
extern const struct gw_adapter gw_openai_transcriptions;
extern const struct gw_adapter gw_openai_speech;

#endif

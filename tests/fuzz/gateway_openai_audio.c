/* libFuzzer target for OpenAI's audio requests at the gateway
 * (gateway/openai_audio.h): the first byte picks the route, the rest is the
 * body — a transcription's multipart form (boundary "b") or a speech
 * request's JSON (depth limit 16). A success must hold what OpenAI's API
 * promises: a transcription with audio bytes inside the body, a model, a
 * known format, word timestamps only with verbose_json, a temperature in
 * 0..1, and a message that packs; a speech request with a model, a voice,
 * 1..4096 characters of input and a speed in 0.25..4. A refusal must be a
 * 400 with a message, rendered as OpenAI's error in valid JSON. The answer
 * to a transcription (a segment of the parsed prompt as its text) must
 * render in the format asked for. Anything else aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/error.h"
#include "gateway/openai_audio.h"
#include "gateway/openai_audio_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(const struct gw_error *e)
{
        size_t len = 0;
        char *body;
        json_t *doc;

        if (e->status != 400 || !e->message[0])
                abort();
        body = gw_error_json(e, "fuzz", &len);
        doc = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!doc || !json_is_object(json_object_get(doc, "error")))
                abort();
        json_decref(doc);
        free(body);
}

static void transcription(const char *body, size_t len)
{
        struct gw_transcription_req req;
        struct gw_error e;

        memset(&e, 0, sizeof(e));
        if (!gw_transcription_req_parse("multipart/form-data; boundary=b", body, len, &req, &e)) {
                refused(&e);
                gw_transcription_req_cleanup(&req);
                return;
        }
        if (!req.audio.data.len || (const char *)req.audio.data.data < body ||
            (const char *)req.audio.data.data + req.audio.data.len > body + len)
                abort();
        if (!req.msg.model[0] || req.msg.temperature < 0 || req.msg.temperature > 1)
                abort();
        if (req.msg.word_timestamps && req.format != GW_TRANSCRIPT_VERBOSE_JSON)
                abort();
        if (protobuf_c_message_get_packed_size(&req.msg.base) < req.audio.data.len)
                abort();
        {
                Cairn__Speech__V1__TranscribeReply r;
                Cairn__Speech__V1__Segment seg;
                Cairn__Speech__V1__Segment *segs[1] = { &seg };
                size_t out_len;
                char *out;

                cairn__speech__v1__transcribe_reply__init(&r);
                cairn__speech__v1__segment__init(&seg);
                seg.text = req.msg.prompt;
                seg.end = 1.5;
                r.text = req.msg.prompt;
                r.language = req.msg.language;
                r.n_segments = 1;
                r.segments = segs;
                out = gw_transcript_render(&r, req.format, req.parts, &out_len);
                if (!out || strlen(out) != out_len)
                        abort();
                if (req.format == GW_TRANSCRIPT_JSON || req.format == GW_TRANSCRIPT_VERBOSE_JSON) {
                        json_t *doc = json_loadb(out, out_len, JSON_REJECT_DUPLICATES, NULL);

                        if (!doc)
                                abort();
                        json_decref(doc);
                }
                free(out);
        }
        gw_transcription_req_cleanup(&req);
}

static void speech(const char *body, size_t len)
{
        struct gw_speech_req req;
        struct gw_error e;

        memset(&e, 0, sizeof(e));
        if (!gw_speech_req_parse(body, len, 16, &req, &e)) {
                refused(&e);
                gw_speech_req_cleanup(&req);
                return;
        }
        if (!req.msg.model[0] || !req.msg.voice[0] || !req.msg.input[0] || req.msg.speed < 0.25f ||
            req.msg.speed > 4.0f)
                abort();
        if (protobuf_c_message_get_packed_size(&req.msg.base) == 0)
                abort();
        gw_speech_req_cleanup(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *body;

        if (size < 1)
                return 0;
        /* the body as the server hands it over: NUL-terminated, no more */
        body = malloc(size);
        if (!body)
                abort();
        memcpy(body, data + 1, size - 1);
        body[size - 1] = '\0';
        if (data[0] & 1)
                speech(body, size - 1);
        else
                transcription(body, size - 1);
        free(body);
        return 0;
}

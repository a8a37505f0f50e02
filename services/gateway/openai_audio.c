/* OpenAI's audio routes: a transcription's multipart fields read and
 * checked as OpenAI checks them (a field named in every refusal), the
 * uploaded file sent inline or by claim check, a speech request's JSON read
 * strictly; the transcript rendered in the format asked for, synthesised
 * audio answered as its bytes with their media type. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/claims.h"
#include "cairn/clock.h"
#include "cairn/json.h"
#include "cairn/log.h"
#include "cairn/utf8.h"
#include "multipart.h"
#include "openai_audio.h"

/* Parts a transcription may have (each field once, the granularities
 * twice, room for a client's extras to be named in a refusal). */
#define MAX_PARTS        32
#define MAX_PART_HEADERS 4096
/* Longest text fields, in bytes. */
#define MAX_MODEL    256
#define MAX_LANGUAGE 16
#define MAX_PROMPT   8192
#define MAX_SHORT    64

/* ---- POST /v1/audio/transcriptions ---- */

/* A text field's value as a NUL-terminated copy in the arena; NULL, with
 * @p e filled, when it is too long, holds a NUL or is not UTF-8. */
static char *text_field(struct gw_transcription_req *req, const struct gw_multipart_part *part,
                        size_t max, struct gw_error *e)
{
        char *s;

        if (part->len > max) {
                gw_error_set(e, 400, "invalid_value", part->name,
                             "%s is %zu bytes; at most %zu are accepted", part->name, part->len,
                             max);
                return NULL;
        }
        if (memchr(part->data, '\0', part->len) || !cairn_utf8_valid(part->data, part->len)) {
                gw_error_set(e, 400, "invalid_value", part->name,
                             "%s must be UTF-8 text without NUL characters", part->name);
                return NULL;
        }
        s = cairn_arena_alloc(&req->arena, part->len + 1);
        if (!s)
                abort();
        memcpy(s, part->data, part->len);
        s[part->len] = '\0';
        return s;
}

static bool is_granularities(const char *name)
{
        return strcmp(name, "timestamp_granularities[]") == 0 ||
               strcmp(name, "timestamp_granularities") == 0;
}

/* One part of the form into @p req; @p seen counts the single-valued
 * fields met so far, by bit. */
static bool transcription_field(struct gw_transcription_req *req,
                                const struct gw_multipart_part *part, unsigned *seen,
                                unsigned *granularities, struct gw_error *e)
{
        static const char *const single[] = {
                "file",        "model",  "language", "prompt", "response_format",
                "temperature", "stream", NULL
        };
        unsigned bit = 0;
        char *v;

        for (size_t i = 0; single[i]; i++)
                if (strcmp(part->name, single[i]) == 0)
                        bit = 1u << i;
        if (!bit && !is_granularities(part->name)) {
                gw_error_set(e, 400, "unknown_parameter", part->name,
                             "unrecognized request argument supplied: %s", part->name);
                return false;
        }
        if (bit & *seen) {
                gw_error_set(e, 400, "invalid_value", part->name,
                             "%s is given more than once; send it once", part->name);
                return false;
        }
        *seen |= bit;
        if (strcmp(part->name, "file") == 0) {
                if (part->len == 0) {
                        gw_error_set(e, 400, "invalid_value", "file",
                                     "the file is empty: send the audio's bytes in the file part");
                        return false;
                }
                req->audio.body_case = CAIRN__SPEECH__V1__AUDIO__BODY_DATA;
                req->audio.data.data = (uint8_t *)part->data; /* the body's: borrowed */
                req->audio.data.len = part->len;
                req->audio.filename = cairn_arena_strdup(&req->arena, part->filename);
                req->audio.content_type = cairn_arena_strdup(&req->arena, part->content_type);
                if (!req->audio.filename || !req->audio.content_type)
                        abort();
                if (!cairn_utf8_valid(part->filename, strlen(part->filename)) ||
                    !cairn_utf8_valid(part->content_type, strlen(part->content_type))) {
                        gw_error_set(e, 400, "invalid_value", "file",
                                     "the file's filename and Content-Type must be UTF-8");
                        return false;
                }
                return true;
        }
        if (strcmp(part->name, "model") == 0) {
                v = text_field(req, part, MAX_MODEL, e);
                if (!v)
                        return false;
                if (!v[0]) {
                        gw_error_set(e, 400, "invalid_value", "model", "model must not be empty");
                        return false;
                }
                req->msg.model = v;
                return true;
        }
        if (strcmp(part->name, "language") == 0) {
                v = text_field(req, part, MAX_LANGUAGE, e);
                if (!v)
                        return false;
                req->msg.language = v;
                return true;
        }
        if (strcmp(part->name, "prompt") == 0) {
                v = text_field(req, part, MAX_PROMPT, e);
                if (!v)
                        return false;
                req->msg.prompt = v;
                return true;
        }
        v = text_field(req, part, MAX_SHORT, e);
        if (!v)
                return false;
        if (strcmp(part->name, "response_format") == 0) {
                if (!gw_transcript_format_parse(v, &req->format)) {
                        gw_error_set(e, 400, "invalid_value", "response_format",
                                     "response_format \"%s\" is not one of json, text, srt, "
                                     "verbose_json, vtt",
                                     v);
                        return false;
                }
                return true;
        }
        if (strcmp(part->name, "temperature") == 0) {
                char *end;
                double t = strtod(v, &end);

                if (end == v || *end || !isfinite(t) || t < 0 || t > 1) {
                        gw_error_set(e, 400, "invalid_value", "temperature",
                                     "temperature must be a number from 0 to 1, not \"%s\"", v);
                        return false;
                }
                req->msg.temperature = (float)t;
                return true;
        }
        if (strcmp(part->name, "stream") == 0) {
                if (strcmp(v, "false") != 0) {
                        gw_error_set(e, 400, "unsupported_value", "stream",
                                     "streamed transcriptions are not supported: send stream "
                                     "false or leave it out");
                        return false;
                }
                return true;
        }
        /* timestamp_granularities[] */
        if (strcmp(v, "word") == 0) {
                *granularities |= GW_TRANSCRIPT_WORDS;
        } else if (strcmp(v, "segment") == 0) {
                *granularities |= GW_TRANSCRIPT_SEGMENTS;
        } else {
                gw_error_set(e, 400, "invalid_value", "timestamp_granularities[]",
                             "timestamp_granularities[] \"%s\" is not word or segment", v);
                return false;
        }
        return true;
}

bool gw_transcription_req_parse(const char *content_type, const char *body, size_t len,
                                struct gw_transcription_req *req, struct gw_error *e)
{
        static const struct gw_multipart_limits limits = { MAX_PARTS, MAX_PART_HEADERS };
        char boundary[GW_MULTIPART_BOUNDARY_MAX + 1];
        struct gw_multipart mp;
        struct gw_multipart_part part;
        unsigned seen = 0, granularities = 0;
        char why[256];
        int rc;

        memset(req, 0, sizeof(*req));
        cairn_arena_init(&req->arena, 0);
        cairn__speech__v1__transcribe_request__init(&req->msg);
        cairn__speech__v1__audio__init(&req->audio);
        cairn__speech__v1__claim__init(&req->claim);
        req->msg.audio = &req->audio;
        req->format = GW_TRANSCRIPT_JSON;
        if (!content_type || !gw_multipart_is_form_data(content_type)) {
                gw_error_set(e, 415, "unsupported_media_type", NULL,
                             "send the body as Content-Type: multipart/form-data");
                return false;
        }
        if (!gw_multipart_boundary(content_type, boundary)) {
                gw_error_set(e, 400, "invalid_multipart", NULL,
                             "the Content-Type has no boundary (or one that is not 1 to 70 "
                             "characters): multipart/form-data; boundary=...");
                return false;
        }
        if (!gw_multipart_begin(&mp, boundary, body, len, &limits, why, sizeof(why))) {
                gw_error_set(e, 400, "invalid_multipart", NULL, "%s", why);
                return false;
        }
        while ((rc = gw_multipart_next(&mp, &part, why, sizeof(why))) == 1)
                if (!transcription_field(req, &part, &seen, &granularities, e))
                        return false;
        if (rc < 0) {
                gw_error_set(e, 400, "invalid_multipart", NULL, "%s", why);
                return false;
        }
        if (!(seen & 1u)) {
                gw_error_set(e, 400, "missing_required_parameter", "file",
                             "no 'file' part: send the audio as a multipart part named file");
                return false;
        }
        if (!(seen & 2u)) {
                gw_error_set(e, 400, "missing_required_parameter", "model",
                             "you must provide a model parameter (whisper-1, or a model of GET "
                             "/v1/models)");
                return false;
        }
        if (granularities && req->format != GW_TRANSCRIPT_VERBOSE_JSON) {
                gw_error_set(e, 400, "invalid_value", "timestamp_granularities[]",
                             "timestamp_granularities[] needs response_format verbose_json, not "
                             "%s",
                             req->format == GW_TRANSCRIPT_JSON   ? "json"
                             : req->format == GW_TRANSCRIPT_TEXT ? "text"
                             : req->format == GW_TRANSCRIPT_SRT  ? "srt"
                                                                 : "vtt");
                return false;
        }
        /* OpenAI's verbose_json: segments unless only words were asked for */
        req->parts = granularities ? granularities : GW_TRANSCRIPT_SEGMENTS;
        req->msg.word_timestamps = (granularities & GW_TRANSCRIPT_WORDS) != 0;
        return true;
}

void gw_transcription_req_cleanup(struct gw_transcription_req *req)
{
        cairn_arena_cleanup(&req->arena);
        memset(req, 0, sizeof(*req));
}

/* ---- POST /v1/audio/speech ---- */

static const char *const speech_formats[] = {
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_MP3] = "mp3",
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_OPUS] = "opus",
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_AAC] = "aac",
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_FLAC] = "flac",
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_WAV] = "wav",
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM] = "pcm",
};

/* Characters (code points) of valid UTF-8 @p s. */
static size_t utf8_chars(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char)*s & 0xC0) != 0x80;
        return n;
}

/* The string member @p name of @p root: NULL when absent; false with @p e
 * filled when it is not a string of at most @p max bytes without NULs. */
static bool string_member(json_t *root, const char *name, size_t max, const char **out,
                          struct gw_error *e)
{
        json_t *v = json_object_get(root, name);

        *out = NULL;
        if (!v)
                return true;
        if (!json_is_string(v)) {
                gw_error_set(e, 400, "invalid_type", name, "%s must be a string, not %s", name,
                             cairn_json_kind(v));
                return false;
        }
        if (strlen(json_string_value(v)) != json_string_length(v)) {
                gw_error_set(e, 400, "invalid_value", name, "%s must not contain NUL characters",
                             name);
                return false;
        }
        if (max && json_string_length(v) > max) {
                gw_error_set(e, 400, "invalid_value", name, "%s must be at most %zu bytes", name,
                             max);
                return false;
        }
        *out = json_string_value(v);
        return true;
}

static bool required(const char *value, const char *name, struct gw_error *e)
{
        if (value)
                return true;
        gw_error_set(e, 400, "missing_required_parameter", name, "you must provide a %s parameter",
                     name);
        return false;
}

bool gw_speech_req_parse(const char *body, size_t len, int max_depth, struct gw_speech_req *req,
                         struct gw_error *e)
{
        const char *model, *input, *voice, *format, *instructions, *stream_format, *key;
        json_t *root, *v;
        size_t chars;

        memset(req, 0, sizeof(*req));
        cairn__speech__v1__synthesize_request__init(&req->msg);
        root = gw_json_body_object(body, len, max_depth, "model, input and voice", e);
        if (!root)
                return false;
        req->json = root;
        json_object_foreach(root, key, v) {
                if (strcmp(key, "model") && strcmp(key, "input") && strcmp(key, "voice") &&
                    strcmp(key, "response_format") && strcmp(key, "speed") &&
                    strcmp(key, "instructions") && strcmp(key, "stream_format")) {
                        char k[64];

                        snprintf(k, sizeof(k), "%s", key);
                        gw_error_set(e, 400, "unknown_parameter", k,
                                     "unrecognized request argument supplied: %s", k);
                        return false;
                }
        }
        if (!string_member(root, "model", MAX_MODEL, &model, e) ||
            !string_member(root, "input", 0, &input, e) ||
            !string_member(root, "voice", MAX_SHORT, &voice, e) ||
            !string_member(root, "response_format", MAX_SHORT, &format, e) ||
            !string_member(root, "instructions", 0, &instructions, e) ||
            !string_member(root, "stream_format", MAX_SHORT, &stream_format, e))
                return false;
        if (!required(model, "model", e) || !required(input, "input", e) ||
            !required(voice, "voice", e))
                return false;
        if (!model[0]) {
                gw_error_set(e, 400, "invalid_value", "model", "model must not be empty");
                return false;
        }
        chars = utf8_chars(input);
        if (chars == 0 || chars > GW_SPEECH_INPUT_MAX) {
                gw_error_set(e, 400, chars ? "string_above_max_length" : "invalid_value", "input",
                             "input is %zu characters; it must be 1 to %d", chars,
                             GW_SPEECH_INPUT_MAX);
                return false;
        }
        if (!voice[0]) {
                gw_error_set(e, 400, "invalid_value", "voice",
                             "voice must not be empty: name a voice (alloy, nova, ... or one of "
                             "the speech service's)");
                return false;
        }
        req->msg.format = CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_MP3;
        if (format) {
                size_t i, n = sizeof(speech_formats) / sizeof(speech_formats[0]);

                for (i = 0; i < n && strcmp(format, speech_formats[i]) != 0; i++)
                        ;
                if (i == n) {
                        gw_error_set(e, 400, "invalid_value", "response_format",
                                     "response_format \"%s\" is not one of mp3, opus, aac, flac, "
                                     "wav, pcm",
                                     format);
                        return false;
                }
                req->msg.format = (Cairn__Speech__V1__AudioFormat)i;
        }
        if (stream_format && strcmp(stream_format, "audio") != 0) {
                gw_error_set(e, 400, "unsupported_value", "stream_format",
                             "stream_format \"%s\" is not supported: only audio (the whole "
                             "file)",
                             stream_format);
                return false;
        }
        v = json_object_get(root, "speed");
        if (v) {
                double s = json_number_value(v);

                if (!json_is_number(v) || s < 0.25 || s > 4.0) {
                        gw_error_set(e, 400, json_is_number(v) ? "invalid_value" : "invalid_type",
                                     "speed", "speed must be a number from 0.25 to 4.0");
                        return false;
                }
                req->msg.speed = (float)s;
        } else {
                req->msg.speed = 1.0f;
        }
        /* instructions (gpt-4o-mini-tts's tone of voice) are accepted and
         * not used: flite and espeak-ng take no such direction */
        req->msg.model = (char *)model;
        req->msg.input = (char *)input;
        req->msg.voice = (char *)voice;
        return true;
}

void gw_speech_req_cleanup(struct gw_speech_req *req)
{
        json_decref(req->json);
        memset(req, 0, sizeof(*req));
}

/* ---- the adapters ---- */

static const char *const multipart_types[] = { "multipart/form-data", NULL };

/* Sends the upload by claim check when it is over the inline limit and
 * the gateway has a claim store; false with @p e filled when storing
 * fails. */
static bool claim_upload(const struct gw_audio *audio, struct gw_transcription_req *req,
                         struct gw_error *e)
{
        struct cairn_claim claim;
        char errstr[256];
        cairn_err_t err;
        char *id;

        if (!audio || !audio->claims || (long long)req->audio.data.len <= audio->inline_max_bytes)
                return true;
        err = cairn_claims_put(audio->claims, cairn_mono_us() + audio->claim_timeout_ms * 1000,
                               req->audio.data.data, req->audio.data.len, &claim, errstr,
                               sizeof(errstr));
        if (err != CAIRN_OK) {
                cairn_log(WARN, "HTTP", "storing a %zu-byte upload by claim failed: %s",
                          req->audio.data.len, errstr);
                gw_error_set(e, 503, "claim_store_unavailable", NULL,
                             "the upload could not be stored for the speech service (%s); try "
                             "again later",
                             cairn_err_str(err));
                return false;
        }
        id = cairn_arena_strdup(&req->arena, claim.id);
        uint8_t *sha = cairn_arena_alloc(&req->arena, sizeof(claim.sha256));
        if (!id || !sha)
                abort();
        memcpy(sha, claim.sha256, sizeof(claim.sha256));
        req->claim.id = id;
        req->claim.size = claim.size;
        req->claim.sha256.data = sha;
        req->claim.sha256.len = sizeof(claim.sha256);
        req->audio.body_case = CAIRN__SPEECH__V1__AUDIO__BODY_CLAIM;
        req->audio.claim = &req->claim;
        return true;
}

static ProtobufCMessage *transcriptions_parse(struct gw_adapter_ctx *ctx, struct gw_error *e)
{
        struct gw_transcription_req *req = malloc(sizeof(*req));

        if (!req)
                abort();
        if (!gw_transcription_req_parse(ctx->content_type, ctx->body ? ctx->body : "",
                                        ctx->body ? ctx->body_len : 0, req, e)) {
                gw_transcription_req_cleanup(req);
                free(req);
                return NULL;
        }
        ctx->state = req;
        return &req->msg.base;
}

/* @locality a thread of its own (adapter.h offload): the claim store
 * blocks on PostgreSQL. */
static bool transcriptions_offload(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg,
                                   struct gw_error *e)
{
        (void)msg;
        return claim_upload(ctx->audio, ctx->state, e);
}

static void transcriptions_release(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg)
{
        (void)msg;
        if (!ctx->state)
                return;
        gw_transcription_req_cleanup(ctx->state);
        free(ctx->state);
        ctx->state = NULL;
}

static char *transcriptions_render(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply,
                                   size_t *lenp)
{
        const struct gw_transcription_req *req = ctx->state;

        ctx->reply_content_type = gw_transcript_content_type(req->format);
        return gw_transcript_render((const Cairn__Speech__V1__TranscribeReply *)reply, req->format,
                                    req->parts, lenp);
}

/* The service's names of the request's fields are OpenAI's but for the
 * audio and the word timestamps. */
static void transcriptions_field_name(char *out, size_t size, const char *field)
{
        snprintf(out, size, "%s",
                 strncmp(field, "audio", 5) == 0         ? "file"
                 : strcmp(field, "word_timestamps") == 0 ? "timestamp_granularities[]"
                                                         : field);
}

const struct gw_adapter gw_openai_transcriptions = {
        .name = "openai.audio.transcriptions",
        .errors = GW_ERRORS_OPENAI,
        .parse = transcriptions_parse,
        .offload = transcriptions_offload,
        .release = transcriptions_release,
        .render = transcriptions_render,
        .field_name = transcriptions_field_name,
        .media_types = multipart_types,
        .openapi_request = "{\"$ref\":\"#/components/schemas/CreateTranscriptionRequest\"}",
        .openapi_reply = "{\"$ref\":\"#/components/schemas/CreateTranscriptionResponse\"}",
        .openapi_reply_content = "{\"application/json\":{\"schema\":{\"$ref\":\"#/components/"
                                 "schemas/CreateTranscriptionResponse\"}},"
                                 "\"text/plain\":{\"schema\":{\"type\":\"string\"}},"
                                 "\"application/x-subrip\":{\"schema\":{\"type\":\"string\"}},"
                                 "\"text/vtt\":{\"schema\":{\"type\":\"string\"}}}",
};

static ProtobufCMessage *speech_parse(struct gw_adapter_ctx *ctx, struct gw_error *e)
{
        struct gw_speech_req *req = malloc(sizeof(*req));

        if (!req)
                abort();
        if (!gw_speech_req_parse(ctx->body ? ctx->body : "", ctx->body ? ctx->body_len : 0,
                                 ctx->max_json_depth, req, e)) {
                gw_speech_req_cleanup(req);
                free(req);
                return NULL;
        }
        ctx->state = req;
        return &req->msg.base;
}

static void speech_release(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg)
{
        (void)msg;
        if (!ctx->state)
                return;
        gw_speech_req_cleanup(ctx->state);
        free(ctx->state);
        ctx->state = NULL;
}

/* The audio's bytes, copied from the reply or fetched by its claim.
 * @locality a thread of its own (render_offload). */
static char *speech_render(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply, size_t *lenp)
{
        const Cairn__Speech__V1__SynthesizeReply *sr =
                (const Cairn__Speech__V1__SynthesizeReply *)reply;
        const struct gw_speech_req *req = ctx->state;
        const Cairn__Speech__V1__Audio *a = sr->audio;
        char *out;

        ctx->reply_content_type = a && a->content_type && a->content_type[0]
                                          ? a->content_type
                                          : gw_speech_content_type(req->msg.format);
        if (a && a->body_case == CAIRN__SPEECH__V1__AUDIO__BODY_CLAIM && a->claim) {
                struct cairn_buf b = { 0 };
                struct cairn_claim claim = { 0 };
                char errstr[256];
                cairn_err_t err;

                if (!ctx->audio || !ctx->audio->claims || !a->claim->id ||
                    strlen(a->claim->id) >= sizeof(claim.id) || a->claim->sha256.len != 32) {
                        cairn_log(ERROR, "HTTP",
                                  "the speech service answered by claim check and this gateway "
                                  "has no claim store (or the claim is malformed)");
                        return NULL;
                }
                snprintf(claim.id, sizeof(claim.id), "%s", a->claim->id);
                claim.size = a->claim->size;
                memcpy(claim.sha256, a->claim->sha256.data, 32);
                err = cairn_claims_get(ctx->audio->claims,
                                       cairn_mono_us() + ctx->audio->claim_timeout_ms * 1000,
                                       &claim, &b, errstr, sizeof(errstr));
                if (err != CAIRN_OK) {
                        cairn_log(ERROR, "HTTP", "fetching synthesised audio by claim %s: %s",
                                  claim.id, errstr);
                        cairn_buf_cleanup(&b);
                        return NULL;
                }
                *lenp = b.len;
                if (!b.p) {
                        b.p = malloc(1);
                        if (!b.p)
                                abort();
                }
                return b.p;
        }
        *lenp = a && a->body_case == CAIRN__SPEECH__V1__AUDIO__BODY_DATA ? a->data.len : 0;
        out = malloc(*lenp ? *lenp : 1);
        if (!out)
                abort();
        if (*lenp)
                memcpy(out, a->data.data, *lenp);
        return out;
}

/* The service's "format" is OpenAI's "response_format". */
static void speech_field_name(char *out, size_t size, const char *field)
{
        snprintf(out, size, "%s", strcmp(field, "format") == 0 ? "response_format" : field);
}

const struct gw_adapter gw_openai_speech = {
        .name = "openai.audio.speech",
        .errors = GW_ERRORS_OPENAI,
        .parse = speech_parse,
        .release = speech_release,
        .render = speech_render,
        .render_offload = true, /* audio by claim check is fetched from PostgreSQL */
        .field_name = speech_field_name,
        .openapi_request = "{\"$ref\":\"#/components/schemas/CreateSpeechRequest\"}",
        .openapi_reply_content = "{\"audio/mpeg\":{\"schema\":{\"type\":\"string\",\"format\":"
                                 "\"binary\"}},\"audio/ogg\":{\"schema\":{\"type\":\"string\","
                                 "\"format\":\"binary\"}},\"audio/aac\":{\"schema\":{\"type\":"
                                 "\"string\",\"format\":\"binary\"}},\"audio/flac\":{\"schema\":{"
                                 "\"type\":\"string\",\"format\":\"binary\"}},\"audio/wav\":{"
                                 "\"schema\":{\"type\":\"string\",\"format\":\"binary\"}},"
                                 "\"audio/pcm\":{\"schema\":{\"type\":\"string\",\"format\":"
                                 "\"binary\"}}}",
};

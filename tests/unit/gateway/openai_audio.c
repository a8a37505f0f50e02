/* Unit tests for OpenAI's audio routes at the gateway: a transcription's
 * multipart fields into a TranscribeRequest (and every refusal naming its
 * field), a speech request's JSON into a SynthesizeRequest, each
 * transcription format rendered as OpenAI writes it (subtitle timings,
 * verbose_json's shape), and the merged model list. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/openai_audio.h"
#include "gateway/openai_audio_render.h"
#include "gateway/openai_models.h"
#include "../unit.h"

/* the end of form()'s name/value pairs */
#define END ((const char *)NULL)
#define CT  "multipart/form-data; boundary=BB"

/* A multipart body of the NULL-terminated name/value pairs, the file
 * first when @p file is not NULL. */
static char *form(size_t *len, const char *file, size_t file_len, ...)
{
        char *out = NULL;
        size_t n = 0;
        FILE *fp = open_memstream(&out, &n);
        va_list ap;
        const char *name;

        if (file) {
                fprintf(fp, "--BB\r\nContent-Disposition: form-data; name=\"file\"; "
                            "filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n");
                fwrite(file, 1, file_len, fp);
                fprintf(fp, "\r\n");
        }
        va_start(ap, file_len);
        while ((name = va_arg(ap, const char *))) {
                const char *value = va_arg(ap, const char *);

                fprintf(fp, "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
                        name, value);
        }
        va_end(ap);
        fprintf(fp, "--BB--\r\n");
        fclose(fp);
        *len = n;
        return out;
}

/* Parses @p body; on failure checks the status and that the field is named. */
static bool parse(const char *body, size_t len, struct gw_transcription_req *req, int status,
                  const char *param, const char *msg_part)
{
        struct gw_error e;
        bool ok;

        memset(&e, 0, sizeof(e));
        ok = gw_transcription_req_parse(CT, body, len, req, &e);
        if (!ok) {
                ck_assert_int_eq(e.status, status);
                ck_assert_str_eq(e.param, param ? param : "");
                if (msg_part)
                        ck_assert_msg(strstr(e.message, msg_part), "\"%s\" not in \"%s\"", msg_part,
                                      e.message);
        }
        return ok;
}

START_TEST(test_gw_transcription_req_parse_fields)
{
        static const char wav[] = "RIFF\0\0\0\0WAVEfmt ";
        struct gw_transcription_req req;
        size_t len;
        char *body = form(&len, wav, sizeof(wav) - 1, "model", "whisper-1", "language", "en",
                          "prompt", "Cairn, Kafka.", "response_format", "verbose_json",
                          "temperature", "0.2", "timestamp_granularities[]", "word",
                          "timestamp_granularities[]", "segment", END);

        ck_assert(parse(body, len, &req, 0, NULL, NULL));
        ck_assert_str_eq(req.msg.model, "whisper-1");
        ck_assert_str_eq(req.msg.language, "en");
        ck_assert_str_eq(req.msg.prompt, "Cairn, Kafka.");
        ck_assert(req.msg.word_timestamps);
        ck_assert_float_eq_tol(req.msg.temperature, 0.2, 1e-6);
        ck_assert_int_eq(req.format, GW_TRANSCRIPT_VERBOSE_JSON);
        ck_assert_uint_eq(req.parts, GW_TRANSCRIPT_SEGMENTS | GW_TRANSCRIPT_WORDS);
        ck_assert_int_eq(req.audio.body_case, CAIRN__SPEECH__V1__AUDIO__BODY_DATA);
        ck_assert_uint_eq(req.audio.data.len, sizeof(wav) - 1);
        ck_assert(memcmp(req.audio.data.data, wav, sizeof(wav) - 1) == 0);
        /* zero-copy: the audio is the body's */
        ck_assert((const char *)req.audio.data.data > body &&
                  (const char *)req.audio.data.data < body + len);
        ck_assert_str_eq(req.audio.filename, "a.wav");
        ck_assert_str_eq(req.audio.content_type, "audio/wav");
        /* the message packs */
        ck_assert_uint_gt(protobuf_c_message_get_packed_size(&req.msg.base), sizeof(wav));
        gw_transcription_req_cleanup(&req);
        free(body);

        /* the defaults: json, segments, no words */
        body = form(&len, "x", 1, "model", "whisper-1", END);
        ck_assert(parse(body, len, &req, 0, NULL, NULL));
        ck_assert_int_eq(req.format, GW_TRANSCRIPT_JSON);
        ck_assert(!req.msg.word_timestamps);
        ck_assert_str_eq(req.msg.language, "");
        gw_transcription_req_cleanup(&req);
        free(body);

        /* words alone: verbose_json without segments, as OpenAI's */
        body = form(&len, "x", 1, "model", "whisper-1", "response_format", "verbose_json",
                    "timestamp_granularities[]", "word", "stream", "false", END);
        ck_assert(parse(body, len, &req, 0, NULL, NULL));
        ck_assert_uint_eq(req.parts, GW_TRANSCRIPT_WORDS);
        gw_transcription_req_cleanup(&req);
        free(body);
}
END_TEST

START_TEST(test_gw_transcription_req_parse_refusals)
{
        static const struct {
                const char *name, *value;
                int status;
                const char *param, *msg;
        } rows[] = {
                { "response_format", "xml", 400, "response_format", "json, text, srt" },
                { "temperature", "2", 400, "temperature", "0 to 1" },
                { "temperature", "warm", 400, "temperature", "0 to 1" },
                { "timestamp_granularities[]", "word", 400, "timestamp_granularities[]",
                  "verbose_json, not json" },
                { "stream", "true", 400, "stream", "not supported" },
                { "colour", "blue", 400, "colour", "unrecognized" },
                { "model", "", 400, "model", "empty" },
        };
        struct gw_transcription_req req;
        struct gw_error e;
        size_t len;
        char *body;

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                body = strcmp(rows[i].name, "model") == 0
                               ? form(&len, "x", 1, rows[i].name, rows[i].value, END)
                               : form(&len, "x", 1, "model", "whisper-1", rows[i].name,
                                      rows[i].value, END);
                ck_assert_msg(!parse(body, len, &req, rows[i].status, rows[i].param, rows[i].msg),
                              "row %zu", i);
                gw_transcription_req_cleanup(&req);
                free(body);
        }
        /* word timestamps with text, srt, vtt too */
        body = form(&len, "x", 1, "model", "whisper-1", "response_format", "srt",
                    "timestamp_granularities[]", "segment", END);
        ck_assert(!parse(body, len, &req, 400, "timestamp_granularities[]", "not srt"));
        gw_transcription_req_cleanup(&req);
        free(body);
        /* no file, an empty file, no model, a field twice */
        body = form(&len, NULL, 0, "model", "whisper-1", END);
        ck_assert(!parse(body, len, &req, 400, "file", "no 'file' part"));
        gw_transcription_req_cleanup(&req);
        free(body);
        body = form(&len, "", 0, "model", "whisper-1", END);
        ck_assert(!parse(body, len, &req, 400, "file", "empty"));
        gw_transcription_req_cleanup(&req);
        free(body);
        body = form(&len, "x", 1, END);
        ck_assert(!parse(body, len, &req, 400, "model", "model"));
        gw_transcription_req_cleanup(&req);
        free(body);
        body = form(&len, "x", 1, "model", "a", "model", "b", END);
        ck_assert(!parse(body, len, &req, 400, "model", "more than once"));
        gw_transcription_req_cleanup(&req);
        free(body);
        /* a broken body, a missing boundary, another media type */
        {
                static const char cut[] = "--BB\r\nContent-Disposition: form-data; "
                                          "name=\"model\"\r\n\r\nx";

                ck_assert(!parse(cut, sizeof(cut) - 1, &req, 400, NULL, "no closing boundary"));
        }
        gw_transcription_req_cleanup(&req);
        memset(&e, 0, sizeof(e));
        ck_assert(!gw_transcription_req_parse("multipart/form-data", "--BB--", 6, &req, &e));
        ck_assert_int_eq(e.status, 400);
        ck_assert_ptr_nonnull(strstr(e.message, "boundary"));
        gw_transcription_req_cleanup(&req);
        ck_assert(!gw_transcription_req_parse("application/json", "{}", 2, &req, &e));
        ck_assert_int_eq(e.status, 415);
        gw_transcription_req_cleanup(&req);
}
END_TEST

static bool speech(const char *json, struct gw_speech_req *req, int status, const char *param,
                   const char *msg)
{
        struct gw_error e;
        bool ok;

        memset(&e, 0, sizeof(e));
        ok = gw_speech_req_parse(json, strlen(json), 16, req, &e);
        if (!ok) {
                ck_assert_int_eq(e.status, status);
                ck_assert_str_eq(e.param, param ? param : "");
                if (msg)
                        ck_assert_msg(strstr(e.message, msg), "\"%s\" not in \"%s\"", msg,
                                      e.message);
        }
        return ok;
}

START_TEST(test_gw_speech_req_parse)
{
        struct gw_speech_req req;
        char *big;

        ck_assert(speech("{\"model\":\"tts-1\",\"input\":\"Hello.\",\"voice\":\"alloy\"}", &req, 0,
                         NULL, NULL));
        ck_assert_str_eq(req.msg.model, "tts-1");
        ck_assert_str_eq(req.msg.input, "Hello.");
        ck_assert_str_eq(req.msg.voice, "alloy");
        ck_assert_int_eq(req.msg.format, CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_MP3);
        ck_assert_float_eq(req.msg.speed, 1.0f);
        gw_speech_req_cleanup(&req);
        ck_assert(speech("{\"model\":\"tts-1\",\"input\":\"é\",\"voice\":\"nova\","
                         "\"response_format\":\"pcm\",\"speed\":0.25,\"instructions\":\"calm\"}",
                         &req, 0, NULL, NULL));
        ck_assert_int_eq(req.msg.format, CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM);
        ck_assert_float_eq(req.msg.speed, 0.25f);
        gw_speech_req_cleanup(&req);

        ck_assert(!speech("{\"model\":\"tts-1\",\"input\":\"x\"}", &req, 400, "voice", "voice"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"input\":\"x\",\"voice\":\"alloy\"}", &req, 400, "model", "model"));
        gw_speech_req_cleanup(&req);
        ck_assert(
                !speech("{\"model\":\"tts-1\",\"voice\":\"alloy\"}", &req, 400, "input", "input"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"model\":\"tts-1\",\"input\":\"\",\"voice\":\"alloy\"}", &req, 400,
                          "input", "1 to 4096"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"model\":\"tts-1\",\"input\":\"x\",\"voice\":\"alloy\","
                          "\"response_format\":\"ogg\"}",
                          &req, 400, "response_format", "mp3, opus"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"model\":\"tts-1\",\"input\":\"x\",\"voice\":\"alloy\","
                          "\"speed\":4.5}",
                          &req, 400, "speed", "0.25 to 4.0"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"model\":\"tts-1\",\"input\":\"x\",\"voice\":\"alloy\","
                          "\"speed\":\"fast\"}",
                          &req, 400, "speed", "0.25 to 4.0"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"model\":\"tts-1\",\"input\":\"x\",\"voice\":7}", &req, 400, "voice",
                          "string"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"model\":\"tts-1\",\"input\":\"x\",\"voice\":\"a\",\"pitch\":1}", &req,
                          400, "pitch", "unrecognized"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("[1]", &req, 400, NULL, "object"));
        gw_speech_req_cleanup(&req);
        ck_assert(!speech("{\"model\":", &req, 400, NULL, "not valid JSON"));
        gw_speech_req_cleanup(&req);
        /* 4096 characters pass, 4097 do not: characters, not bytes */
        big = malloc(3 * 4097 + 128);
        strcpy(big, "{\"model\":\"tts-1\",\"voice\":\"alloy\",\"input\":\"");
        for (int i = 0; i < 4096; i++)
                strcat(big, "é");
        strcat(big, "\"}");
        ck_assert(speech(big, &req, 0, NULL, NULL));
        gw_speech_req_cleanup(&req);
        big[strlen(big) - 2] = '\0';
        strcat(big, "x\"}");
        ck_assert(!speech(big, &req, 400, "input", "4097 characters"));
        gw_speech_req_cleanup(&req);
        free(big);
}
END_TEST

START_TEST(test_gw_subtitle_time_forms)
{
        char t[GW_SUBTITLE_TIME_MAX];

        gw_subtitle_time(0, ',', t);
        ck_assert_str_eq(t, "00:00:00,000");
        gw_subtitle_time(3.2995, ',', t);
        ck_assert_str_eq(t, "00:00:03,300");
        gw_subtitle_time(3723.456, '.', t);
        ck_assert_str_eq(t, "01:02:03.456");
        gw_subtitle_time(59.9996, '.', t);
        ck_assert_str_eq(t, "00:01:00.000");
        gw_subtitle_time(-1, ',', t);
        ck_assert_str_eq(t, "00:00:00,000");
        gw_subtitle_time(NAN, ',', t);
        ck_assert_str_eq(t, "00:00:00,000");
        gw_subtitle_time(360000.5, ',', t);
        ck_assert_str_eq(t, "100:00:00,500");
        ck_assert_uint_lt(gw_subtitle_time(1e300, ',', t), GW_SUBTITLE_TIME_MAX);
}
END_TEST

/* A reply of three segments (one blank, one starting before the one before it). */
static Cairn__Speech__V1__TranscribeReply *reply_new(void)
{
        static uint32_t tokens[] = { 50364, 2425, 11 };
        static Cairn__Speech__V1__Segment s[3];
        static Cairn__Speech__V1__Segment *sp[3] = { &s[0], &s[1], &s[2] };
        static Cairn__Speech__V1__Word w[2];
        static Cairn__Speech__V1__Word *wp[2] = { &w[0], &w[1] };
        static Cairn__Speech__V1__TranscribeReply r;

        cairn__speech__v1__transcribe_reply__init(&r);
        for (int i = 0; i < 3; i++)
                cairn__speech__v1__segment__init(&s[i]);
        for (int i = 0; i < 2; i++)
                cairn__speech__v1__word__init(&w[i]);
        s[0].id = 0;
        s[0].start = 0;
        s[0].end = 2.5;
        s[0].text = " Hello --> world.";
        s[0].n_tokens = 3;
        s[0].tokens = tokens;
        s[0].avg_logprob = -0.25f;
        s[0].compression_ratio = 1.5f;
        s[0].no_speech_prob = 0.125f;
        s[1].id = 1;
        s[1].start = 2.5;
        s[1].end = 3;
        s[1].text = "  ";
        s[2].id = 2;
        s[2].start = 2.0; /* before the first's start? no: before its end, kept */
        s[2].end = 1.0;   /* ends before it starts: made to end at its start */
        s[2].text = " Bye.";
        s[2].seek = 300;
        w[0].word = " Hello";
        w[0].start = 0;
        w[0].end = 0.5;
        w[1].word = " world.";
        w[1].start = 0.5;
        w[1].end = 1.25;
        r.text = " Hello --> world. Bye.";
        r.language = "en";
        r.duration = 3.5;
        r.n_segments = 3;
        r.segments = sp;
        r.n_words = 2;
        r.words = wp;
        return &r;
}

static char *render(enum gw_transcript_format f, unsigned parts)
{
        size_t len;
        char *s = gw_transcript_render(reply_new(), f, parts, &len);

        ck_assert_uint_eq(strlen(s), len);
        return s;
}

START_TEST(test_gw_transcript_render_formats)
{
        char *s;

        s = render(GW_TRANSCRIPT_JSON, 0);
        ck_assert_str_eq(s, "{\"text\":\" Hello --> world. Bye.\"}");
        free(s);
        s = render(GW_TRANSCRIPT_TEXT, 0);
        ck_assert_str_eq(s, " Hello --> world. Bye.\n");
        free(s);
        s = render(GW_TRANSCRIPT_SRT, 0);
        ck_assert_str_eq(s, "1\n00:00:00,000 --> 00:00:02,500\nHello -> world.\n\n"
                            "2\n00:00:02,000 --> 00:00:02,000\nBye.\n\n");
        free(s);
        s = render(GW_TRANSCRIPT_VTT, 0);
        ck_assert_str_eq(s, "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello -> world.\n\n"
                            "00:00:02.000 --> 00:00:02.000\nBye.\n\n");
        free(s);
        ck_assert_str_eq(gw_transcript_content_type(GW_TRANSCRIPT_SRT),
                         "application/x-subrip; charset=utf-8");
        ck_assert_str_eq(gw_transcript_content_type(GW_TRANSCRIPT_VERBOSE_JSON),
                         "application/json");
}
END_TEST

START_TEST(test_gw_transcript_render_verbose_json)
{
        json_error_t jerr;
        json_t *doc, *seg, *word;
        char *s = render(GW_TRANSCRIPT_VERBOSE_JSON, GW_TRANSCRIPT_SEGMENTS | GW_TRANSCRIPT_WORDS);
        const char *keys[] = { "id",
                               "seek",
                               "start",
                               "end",
                               "text",
                               "tokens",
                               "temperature",
                               "avg_logprob",
                               "compression_ratio",
                               "no_speech_prob" };

        doc = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
        ck_assert_msg(doc != NULL, "%s: %s", jerr.text, s);
        ck_assert_str_eq(json_string_value(json_object_get(doc, "task")), "transcribe");
        ck_assert_str_eq(json_string_value(json_object_get(doc, "language")), "english");
        ck_assert_float_eq(json_number_value(json_object_get(doc, "duration")), 3.5);
        ck_assert_str_eq(json_string_value(json_object_get(doc, "text")), " Hello --> world. Bye.");
        ck_assert_uint_eq(json_array_size(json_object_get(doc, "segments")), 3);
        seg = json_array_get(json_object_get(doc, "segments"), 0);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                ck_assert_msg(json_object_get(seg, keys[i]), "segment lacks %s", keys[i]);
        ck_assert_uint_eq(json_object_size(seg), sizeof(keys) / sizeof(keys[0]));
        ck_assert_float_eq(json_number_value(json_object_get(seg, "no_speech_prob")), 0.125);
        ck_assert_uint_eq(json_array_size(json_object_get(seg, "tokens")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(
                                 json_array_get(json_object_get(doc, "segments"), 2), "seek")),
                         300);
        word = json_array_get(json_object_get(doc, "words"), 1);
        ck_assert_str_eq(json_string_value(json_object_get(word, "word")), "world.");
        ck_assert_float_eq(json_number_value(json_object_get(word, "end")), 1.25);
        json_decref(doc);
        free(s);

        /* segments only: no words key; words only: no segments key */
        s = render(GW_TRANSCRIPT_VERBOSE_JSON, GW_TRANSCRIPT_SEGMENTS);
        ck_assert_ptr_null(strstr(s, "\"words\""));
        free(s);
        s = render(GW_TRANSCRIPT_VERBOSE_JSON, GW_TRANSCRIPT_WORDS);
        ck_assert_ptr_null(strstr(s, "\"segments\""));
        free(s);
        ck_assert_str_eq(gw_language_name("de"), "german");
        ck_assert_str_eq(gw_language_name("xx"), "xx");
        ck_assert_str_eq(gw_language_name(""), "");
}
END_TEST

START_TEST(test_gw_transcript_render_empty)
{
        Cairn__Speech__V1__TranscribeReply r;
        size_t len;
        char *s;

        cairn__speech__v1__transcribe_reply__init(&r);
        s = gw_transcript_render(&r, GW_TRANSCRIPT_SRT, 0, &len);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(len, 0);
        free(s);
        s = gw_transcript_render(&r, GW_TRANSCRIPT_VERBOSE_JSON, GW_TRANSCRIPT_SEGMENTS, &len);
        ck_assert_str_eq(s, "{\"task\":\"transcribe\",\"language\":\"\",\"duration\":0,"
                            "\"text\":\"\",\"segments\":[]}");
        free(s);
}
END_TEST

START_TEST(test_gw_models_list_json_dedup)
{
        const char *ids[] = { "cairn-lexical-384", "whisper-tiny.en", "whisper-1",
                              "whisper-tiny.en" };
        size_t len;
        char *s = gw_models_list_json(ids, 4, &len);

        ck_assert_str_eq(s, "{\"object\":\"list\",\"data\":["
                            "{\"id\":\"cairn-lexical-384\",\"object\":\"model\",\"created\":0,"
                            "\"owned_by\":\"cairn\"},"
                            "{\"id\":\"whisper-tiny.en\",\"object\":\"model\",\"created\":0,"
                            "\"owned_by\":\"cairn\"},"
                            "{\"id\":\"whisper-1\",\"object\":\"model\",\"created\":0,"
                            "\"owned_by\":\"cairn\"}]}");
        free(s);
        s = gw_models_list_json(NULL, 0, &len);
        ck_assert_str_eq(s, "{\"object\":\"list\",\"data\":[]}");
        free(s);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_openai_audio");
        TCase *tc;

        tc = tcase_create("gw_transcription_req_parse");
        tcase_add_test(tc, test_gw_transcription_req_parse_fields);
        tcase_add_test(tc, test_gw_transcription_req_parse_refusals);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_speech_req_parse");
        tcase_add_test(tc, test_gw_speech_req_parse);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_subtitle_time");
        tcase_add_test(tc, test_gw_subtitle_time_forms);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_transcript_render");
        tcase_add_test(tc, test_gw_transcript_render_formats);
        tcase_add_test(tc, test_gw_transcript_render_verbose_json);
        tcase_add_test(tc, test_gw_transcript_render_empty);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_models_list_json");
        tcase_add_test(tc, test_gw_models_list_json_dedup);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

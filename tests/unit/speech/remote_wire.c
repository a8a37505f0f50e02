/* Unit tests for OpenAI's audio wire format: the form fields of a
 * transcription, the verbose_json answer (whole, plain json, wrong types,
 * bad values, garbage, an arena's allocator), the speech body and the
 * format names, Whisper's language names. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "speech/remote_wire.h"
#include "../unit.h"

static struct cairn_status st;

static const char verbose[] =
        "{\"task\":\"transcribe\",\"language\":\"english\",\"duration\":3.25,"
        "\"text\":\"Hello world.\",\"segments\":["
        "{\"id\":0,\"seek\":0,\"start\":0.0,\"end\":1.5,\"text\":\" Hello\","
        "\"tokens\":[50364,2425],\"temperature\":0.0,\"avg_logprob\":-0.25,"
        "\"compression_ratio\":0.8,\"no_speech_prob\":0.01},"
        "{\"id\":1,\"seek\":0,\"start\":1.5,\"end\":3.0,\"text\":\" world.\","
        "\"tokens\":[1002,13],\"temperature\":0.2,\"avg_logprob\":-0.5,"
        "\"compression_ratio\":0.9,\"no_speech_prob\":0.02}],"
        "\"words\":[{\"word\":\"Hello\",\"start\":0.0,\"end\":0.8},"
        "{\"word\":\"world.\",\"start\":1.5,\"end\":2.4,\"probability\":0.9}],"
        "\"usage\":{\"type\":\"duration\",\"seconds\":4}}";

static Cairn__Speech__V1__TranscribeReply *parse_ok(const char *body)
{
        Cairn__Speech__V1__TranscribeReply *r = NULL;
        cairn_err_t err;

        cairn_status_clear(&st);
        err = sp_wire_transcription_parse(body, strlen(body), NULL, &r, &st);
        ck_assert_msg(err == CAIRN_OK, "%s: %s", body, st.message);
        ck_assert_ptr_nonnull(r);
        return r;
}

/* Fails with UNAVAILABLE/UPSTREAM_BAD_RESPONSE and a message holding @p what. */
static void parse_bad(const char *body, const char *what)
{
        size_t len = body ? strlen(body) : 0;
        Cairn__Speech__V1__TranscribeReply *r = (void *)1;
        cairn_err_t err;

        cairn_status_clear(&st);
        err = sp_wire_transcription_parse(body, len, NULL, &r, &st);
        ck_assert_msg(err == CAIRN_ERR_UNAVAILABLE, "%.100s: %s", body, cairn_err_str(err));
        ck_assert_ptr_null(r);
        ck_assert_str_eq(st.reason, "UPSTREAM_BAD_RESPONSE");
        ck_assert_msg(strstr(st.message, what) != NULL, "%.100s: \"%s\" lacks \"%s\"", body,
                      st.message, what);
}

/* ---- sp_wire_transcription_fields ---- */

START_TEST(test_sp_wire_transcription_fields_all)
{
        struct sp_wire_transcription wt = { "whisper-1", "de", "Names: Zoë.", 0.2f, true };
        const char *names[8], *values[8];
        char temp[32];
        size_t n = sp_wire_transcription_fields(&wt, names, values, 8, temp, sizeof(temp));

        ck_assert_uint_eq(n, 7);
        ck_assert_str_eq(names[0], "model");
        ck_assert_str_eq(values[0], "whisper-1");
        ck_assert_str_eq(names[1], "language");
        ck_assert_str_eq(values[1], "de");
        ck_assert_str_eq(names[2], "prompt");
        ck_assert_str_eq(values[2], "Names: Zoë.");
        ck_assert_str_eq(names[3], "response_format");
        ck_assert_str_eq(values[3], "verbose_json");
        ck_assert_str_eq(names[4], "temperature");
        ck_assert_str_eq(values[4], "0.2");
        ck_assert_str_eq(names[5], "timestamp_granularities[]");
        ck_assert_str_eq(values[5], "segment");
        ck_assert_str_eq(names[6], "timestamp_granularities[]");
        ck_assert_str_eq(values[6], "word");
}
END_TEST

START_TEST(test_sp_wire_transcription_fields_leaves_out_empty)
{
        struct sp_wire_transcription wt = { "m", "", NULL, 0, false };
        const char *names[8], *values[8];
        char temp[32];
        size_t n = sp_wire_transcription_fields(&wt, names, values, 8, temp, sizeof(temp));

        ck_assert_uint_eq(n, 4);
        ck_assert_str_eq(names[1], "response_format");
        ck_assert_str_eq(values[2], "0");
        ck_assert_str_eq(values[3], "segment");
        /* never past max */
        ck_assert_uint_eq(sp_wire_transcription_fields(&wt, names, values, 2, temp, sizeof(temp)),
                          2);
}
END_TEST

/* ---- sp_wire_transcription_parse ---- */

START_TEST(test_sp_wire_transcription_parse_verbose_json)
{
        Cairn__Speech__V1__TranscribeReply *r = parse_ok(verbose);

        ck_assert_str_eq(r->text, "Hello world.");
        ck_assert_str_eq(r->language, "en");
        ck_assert_str_eq(r->engine, "remote");
        ck_assert_str_eq(r->model, "");
        ck_assert_double_eq(r->duration, 3.25);
        ck_assert_uint_eq(r->n_segments, 2);
        ck_assert_uint_eq(r->segments[1]->id, 1);
        ck_assert_double_eq(r->segments[1]->start, 1.5);
        ck_assert_double_eq(r->segments[1]->end, 3.0);
        ck_assert_str_eq(r->segments[1]->text, " world.");
        ck_assert_uint_eq(r->segments[1]->n_tokens, 2);
        ck_assert_uint_eq(r->segments[1]->tokens[0], 1002);
        ck_assert_float_eq_tol(r->segments[1]->temperature, 0.2f, 1e-6);
        ck_assert_float_eq_tol(r->segments[1]->avg_logprob, -0.5f, 1e-6);
        ck_assert_float_eq_tol(r->segments[1]->compression_ratio, 0.9f, 1e-6);
        ck_assert_float_eq_tol(r->segments[1]->no_speech_prob, 0.02f, 1e-6);
        ck_assert_uint_eq(r->n_words, 2);
        ck_assert_str_eq(r->words[0]->word, "Hello");
        ck_assert_float_eq(r->words[0]->probability, 0);
        ck_assert_float_eq_tol(r->words[1]->probability, 0.9f, 1e-6);
        ck_assert_double_eq(r->words[1]->end, 2.4);
        /* it packs: every string is set */
        ck_assert_uint_gt(cairn__speech__v1__transcribe_reply__get_packed_size(r), 0);
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
}
END_TEST

START_TEST(test_sp_wire_transcription_parse_plain_and_codes)
{
        Cairn__Speech__V1__TranscribeReply *r = parse_ok("{\"text\":\"\"}");

        ck_assert_str_eq(r->text, "");
        ck_assert_str_eq(r->language, "");
        ck_assert_uint_eq(r->n_segments, 0);
        ck_assert_uint_eq(r->n_words, 0);
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        r = parse_ok("{\"text\":\"Hola\",\"language\":\"ES\",\"segments\":null,\"words\":[]}");
        ck_assert_str_eq(r->language, "es");
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        r = parse_ok("{\"text\":\"x\",\"language\":\"Castilian\"}");
        ck_assert_str_eq(r->language, "es");
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        r = parse_ok("{\"text\":\"x\",\"language\":\"klingon\"}");
        ck_assert_str_eq(r->language, "klingon");
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
}
END_TEST

START_TEST(test_sp_wire_transcription_parse_wrong_types)
{
        parse_bad("[]", "the answer is an array, not an object");
        parse_bad("\"text\"", "not an object");
        parse_bad("{}", "text is missing");
        parse_bad("{\"text\":5}", "text is a number, not a string");
        parse_bad("{\"text\":\"a\",\"language\":true}", "language is a boolean");
        parse_bad("{\"text\":\"a\",\"duration\":\"3\"}", "duration is a string");
        parse_bad("{\"text\":\"a\",\"segments\":{}}", "segments is an object, not an array");
        parse_bad("{\"text\":\"a\",\"segments\":[1]}", "segments[0] is a number");
        parse_bad("{\"text\":\"a\",\"segments\":[{\"start\":0,\"end\":1}]}",
                  "segments[0].text is missing");
        parse_bad("{\"text\":\"a\",\"segments\":[{\"start\":\"0\",\"end\":1,\"text\":\"\"}]}",
                  "segments[0].start is a string, not a number");
        parse_bad("{\"text\":\"a\",\"segments\":[{\"start\":0,\"end\":1,\"text\":\"\",\"tokens\":"
                  "[1,\"2\"]}]}",
                  "segments[0].tokens[1] is a string");
        parse_bad("{\"text\":\"a\",\"segments\":[{\"start\":0,\"end\":1,\"text\":\"\",\"id\":-1}]}",
                  "segments[0].id is out of range");
        parse_bad("{\"text\":\"a\",\"words\":[{\"word\":\"x\",\"start\":0}]}",
                  "words[0].end is missing");
        parse_bad("{\"text\":\"a\",\"words\":[{\"word\":1,\"start\":0,\"end\":1}]}",
                  "words[0].word is a number");
}
END_TEST

START_TEST(test_sp_wire_transcription_parse_bad_values)
{
        parse_bad("{\"text\":\"a\",\"duration\":-1}", "duration is -1, out of range");
        parse_bad("{\"text\":\"a\",\"segments\":[{\"start\":2,\"end\":1,\"text\":\"\"}]}",
                  "segments[0] ends (1 s) before it starts (2 s)");
        parse_bad("{\"text\":\"a\",\"words\":[{\"word\":\"x\",\"start\":0,\"end\":1,"
                  "\"probability\":1.5}]}",
                  "words[0].probability is 1.5");
        parse_bad("{\"text\":\"a\\u0000b\"}", "not JSON");
        parse_bad("{\"text\":\"a\",\"text\":\"b\"}", "not JSON");
        parse_bad("{\"text\":\"a\",\"segments\":[{\"start\":0,\"end\":1,\"text\":\"\","
                  "\"avg_logprob\":1e300}]}",
                  "avg_logprob is 1e+300, out of range");
}
END_TEST

START_TEST(test_sp_wire_transcription_parse_garbage)
{
        static const char *const bodies[] = {
                "", "{", "not json", "<html>502</html>", "{\"text\":\"a\"", "\xff\xfe"
        };

        for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++)
                parse_bad(bodies[i], "not JSON");
        /* a NULL body of no length is an empty answer */
        parse_bad(NULL, "not JSON");
        /* an OpenAI error body with a 200 */
        parse_bad("{\"error\":{\"message\":\"boom\"}}", "text is missing");
}
END_TEST

START_TEST(test_sp_wire_transcription_parse_limits)
{
        json_t *root = json_pack("{s:s,s:[]}", "text", "x", "segments");
        json_t *seg = json_pack("{s:i,s:i,s:s,s:[]}", "start", 0, "end", 1, "text", "", "tokens");
        char *body;

        for (int i = 0; i <= SP_WIRE_TOKENS_MAX; i++)
                json_array_append_new(json_object_get(seg, "tokens"), json_integer(i));
        json_array_append_new(json_object_get(root, "segments"), seg);
        body = json_dumps(root, JSON_COMPACT);
        parse_bad(body, "segments[0].tokens has 10001 tokens, more than 10000");
        free(body);
        json_decref(root);
}
END_TEST

START_TEST(test_sp_wire_transcription_parse_into_arena)
{
        static const char half[] = "{\"text\":\"a\",\"segments\":[{\"start\":0,\"end\":1,"
                                   "\"text\":\"\"},2]}";
        Cairn__Speech__V1__TranscribeReply *r = NULL;
        struct cairn_arena arena;

        cairn_arena_init(&arena, 0);
        ck_assert_int_eq(sp_wire_transcription_parse(verbose, strlen(verbose),
                                                     cairn_arena_pbc(&arena), &r, &st),
                         CAIRN_OK);
        ck_assert_str_eq(r->segments[0]->text, " Hello");
        /* a failure half-way leaves nothing to free in the arena either */
        ck_assert_int_eq(sp_wire_transcription_parse(half, strlen(half), cairn_arena_pbc(&arena),
                                                     &r, &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_ptr_null(r);
        /* a bounded arena that runs out: EXHAUSTED */
        cairn_arena_cleanup(&arena);
        cairn_arena_init(&arena, 64);
        ck_assert_int_eq(sp_wire_transcription_parse(verbose, strlen(verbose),
                                                     cairn_arena_pbc(&arena), &r, &st),
                         CAIRN_ERR_EXHAUSTED);
        ck_assert_ptr_null(r);
        cairn_arena_cleanup(&arena);
}
END_TEST

/* ---- the speech request ---- */

START_TEST(test_sp_wire_speech_body_fields)
{
        struct sp_wire_speech ws = { "tts-1", "Hi \"there\"", "nova",
                                     CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_FLAC, 1.5f };
        size_t len = 0;
        char *body = sp_wire_speech_body(&ws, &len);
        json_t *root = json_loadb(body, len, 0, NULL);

        ck_assert_ptr_nonnull(root);
        ck_assert_uint_eq(len, strlen(body));
        ck_assert_str_eq(json_string_value(json_object_get(root, "model")), "tts-1");
        ck_assert_str_eq(json_string_value(json_object_get(root, "input")), "Hi \"there\"");
        ck_assert_str_eq(json_string_value(json_object_get(root, "voice")), "nova");
        ck_assert_str_eq(json_string_value(json_object_get(root, "response_format")), "flac");
        ck_assert_double_eq(json_number_value(json_object_get(root, "speed")), 1.5);
        json_decref(root);
        free(body);
        /* defaults: voice alloy, no speed */
        ws = (struct sp_wire_speech){ "tts-1", "x", "", 0, 0 };
        body = sp_wire_speech_body(&ws, &len);
        root = json_loadb(body, len, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(root, "voice")), "alloy");
        ck_assert_str_eq(json_string_value(json_object_get(root, "response_format")), "mp3");
        ck_assert_ptr_null(json_object_get(root, "speed"));
        json_decref(root);
        free(body);
        /* not UTF-8, or a format outside the enum: nothing */
        ws = (struct sp_wire_speech){ "tts-1", "\xc3(", NULL, 0, 0 };
        ck_assert_ptr_null(sp_wire_speech_body(&ws, &len));
        ws = (struct sp_wire_speech){ "tts-1", "x", NULL, 99, 0 };
        ck_assert_ptr_null(sp_wire_speech_body(&ws, &len));
}
END_TEST

START_TEST(test_sp_wire_format_names)
{
        ck_assert_str_eq(sp_wire_format_name(CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_OPUS),
                         "opus");
        ck_assert_str_eq(sp_wire_format_name(CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM),
                         "pcm");
        ck_assert_str_eq(sp_wire_format_content_type(
                                 CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_MP3),
                         "audio/mpeg");
        ck_assert_ptr_null(sp_wire_format_name(6));
        ck_assert_ptr_null(sp_wire_format_content_type(-1));
        ck_assert_str_eq(sp_wire_language_code("English"), "en");
        ck_assert_str_eq(sp_wire_language_code("cantonese"), "yue");
        ck_assert_str_eq(sp_wire_language_code("burmese"), "my");
        ck_assert_ptr_null(sp_wire_language_code("en"));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("remote_wire");
        TCase *tc;

        tc = tcase_create("sp_wire_transcription_fields");
        tcase_add_test(tc, test_sp_wire_transcription_fields_all);
        tcase_add_test(tc, test_sp_wire_transcription_fields_leaves_out_empty);
        suite_add_tcase(s, tc);
        tc = tcase_create("sp_wire_transcription_parse");
        tcase_add_test(tc, test_sp_wire_transcription_parse_verbose_json);
        tcase_add_test(tc, test_sp_wire_transcription_parse_plain_and_codes);
        tcase_add_test(tc, test_sp_wire_transcription_parse_wrong_types);
        tcase_add_test(tc, test_sp_wire_transcription_parse_bad_values);
        tcase_add_test(tc, test_sp_wire_transcription_parse_garbage);
        tcase_add_test(tc, test_sp_wire_transcription_parse_limits);
        tcase_add_test(tc, test_sp_wire_transcription_parse_into_arena);
        suite_add_tcase(s, tc);
        tc = tcase_create("sp_wire_speech_body");
        tcase_add_test(tc, test_sp_wire_speech_body_fields);
        tcase_add_test(tc, test_sp_wire_format_names);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

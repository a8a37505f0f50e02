/* Unit tests for text to speech (services/speech/tts.h): every voice and
 * every OpenAI name speaks, each name a different voice; speed scales the
 * duration from 0.25 to 4.0; French and German through espeak-ng; bad
 * input (empty, whitespace, unknown voice, speed, language) gets an error
 * naming the problem; UTF-8 with emoji, curly quotes, broken bytes and
 * random bytes never crash; a 4,096-character text; and four threads at
 * once give the samples one thread gives. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speech/tts.h"
#include "speech/tts_internal.h"
#include "../unit.h"

static const char sentence[] =
        "Please send the quarterly report to the finance team before Friday.";
static const char *const openai[] = { "alloy", "ash",  "ballad", "coral",   "echo", "fable",
                                      "onyx",  "nova", "sage",   "shimmer", "verse" };
#define N_OPENAI (sizeof(openai) / sizeof(openai[0]))

static struct tts *tts;

static void setup(void)
{
        char errstr[256] = "";

        tts = tts_new(NULL, errstr, sizeof(errstr));
        ck_assert_msg(tts != NULL, "%s", errstr);
}

static void teardown(void)
{
        tts_free(tts);
        tts = NULL;
}

static double rms_of(const struct audio_pcm *p)
{
        double sum = 0;

        for (size_t i = 0; i < p->n; i++)
                sum += (double)p->samples[i] * p->samples[i];
        return p->n ? sqrt(sum / (double)p->n) : 0;
}

static double seconds(const struct audio_pcm *p)
{
        return (double)p->n / p->rate;
}

/* Speaks and asserts success; returns the voice that spoke. */
static const char *say(const char *text, const char *voice, const char *lang, float speed,
                       struct audio_pcm *out)
{
        char errstr[256] = "";
        const char *spoken = NULL;
        enum tts_status st = tts_speak(tts, text, voice, lang, speed, out, &spoken, errstr,
                                       sizeof(errstr));

        ck_assert_msg(st == TTS_OK, "voice %s, language %s, speed %g: status %d: %s",
                      voice ? voice : "(none)", lang ? lang : "(none)", (double)speed, st, errstr);
        ck_assert_ptr_nonnull(spoken);
        ck_assert_ptr_nonnull(out->samples);
        ck_assert(out->rate == 8000 || out->rate == 16000 || out->rate == 22050);
        return spoken;
}

/* A plausible rendering of the test sentence: speech-loud, 2 to 9 s. */
static void check_sentence(const struct audio_pcm *p, const char *who)
{
        double s = seconds(p), r = rms_of(p);

        ck_assert_msg(r > 0.02, "%s: rms %.4f: silent", who, r);
        ck_assert_msg(s > 2.0 && s < 9.0, "%s: %.2f s for a 12-word sentence", who, s);
}

static enum tts_status fails(const char *text, const char *voice, const char *lang, float speed,
                             char *errstr, size_t size)
{
        struct audio_pcm p;
        const char *spoken = "x";
        enum tts_status st = tts_speak(tts, text, voice, lang, speed, &p, &spoken, errstr, size);

        ck_assert_int_ne(st, TTS_OK);
        ck_assert_ptr_null(p.samples);
        ck_assert_ptr_null(spoken);
        return st;
}

START_TEST(test_tts_voices_listed)
{
        size_t n, found = 0;
        const struct tts_voice *v = tts_voices(tts, &n);
        static const char *const want[] = { "slt",   "kal", "kal16", "awb", "rms", "en-us",
                                            "en-gb", "fr",  "de",    "es",  "it",  "zh" };

        ck_assert_uint_gt(n, 60);
        for (size_t i = 1; i < n; i++)
                ck_assert_msg(strcmp(v[i - 1].name, v[i].name) < 0, "%s before %s", v[i - 1].name,
                              v[i].name);
        for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++)
                for (size_t i = 0; i < n; i++)
                        found += strcmp(v[i].name, want[w]) == 0;
        ck_assert_uint_eq(found, sizeof(want) / sizeof(want[0]));
        /* every OpenAI name is the alias of exactly one voice */
        for (size_t o = 0; o < N_OPENAI; o++) {
                size_t k = 0;

                for (size_t i = 0; i < n; i++)
                        for (const char *const *a = v[i].aliases; a && *a; a++)
                                k += strcmp(*a, openai[o]) == 0;
                ck_assert_msg(k == 1, "%s is the alias of %zu voices", openai[o], k);
        }
        for (size_t i = 0; i < n; i++) {
                ck_assert(strcmp(v[i].engine, "flite") == 0 ||
                          strcmp(v[i].engine, "espeak-ng") == 0);
                ck_assert_uint_ge(strlen(v[i].language), 2);
                ck_assert_ptr_nonnull(v[i].description);
                ck_assert_str_eq(tts_voice_engine(tts, v[i].name), v[i].engine);
        }
}
END_TEST

START_TEST(test_tts_each_voice_speaks)
{
        static const char *const voices[] = {
                "slt", "kal", "kal16", "awb", "rms", "en-us", "en-gb"
        };
        struct audio_pcm p;

        for (size_t i = 0; i < sizeof(voices) / sizeof(voices[0]); i++) {
                const char *spoken = say(sentence, voices[i], NULL, 1.0f, &p);

                ck_assert_str_eq(spoken, voices[i]);
                check_sentence(&p, voices[i]);
                audio_pcm_free(&p);
        }
        /* no voice, no language: English, flite's slt */
        ck_assert_str_eq(say(sentence, NULL, NULL, 1.0f, &p), "slt");
        audio_pcm_free(&p);
        ck_assert_str_eq(say(sentence, "", "en", 1.0f, &p), "slt");
        audio_pcm_free(&p);
        ck_assert_str_eq(say(sentence, "", "en-GB", 1.0f, &p), "en-gb");
        audio_pcm_free(&p);
        ck_assert_str_eq(say(sentence, "SLT", "en", 1.0f, &p), "slt");
        audio_pcm_free(&p);
}
END_TEST

/* Each OpenAI name speaks, with a voice of its own: no two names give the
 * same engine voice, nor the same samples. */
static void check_openai(const char *lang, const char *text)
{
        struct audio_pcm p[N_OPENAI];
        const char *spoken[N_OPENAI];

        for (size_t i = 0; i < N_OPENAI; i++) {
                spoken[i] = say(text, openai[i], lang, 1.0f, &p[i]);
                ck_assert_msg(rms_of(&p[i]) > 0.02, "%s (%s) is silent", openai[i], spoken[i]);
                ck_assert_ptr_nonnull(tts_voice_engine(tts, spoken[i]));
                for (size_t k = 0; k < i; k++) {
                        ck_assert_msg(strcmp(spoken[i], spoken[k]) != 0, "%s and %s both %s",
                                      openai[i], openai[k], spoken[i]);
                        ck_assert_msg(p[i].n != p[k].n || p[i].rate != p[k].rate ||
                                              memcmp(p[i].samples, p[k].samples,
                                                     p[i].n * sizeof(float)) != 0,
                                      "%s and %s give the same samples", openai[i], openai[k]);
                }
        }
        for (size_t i = 0; i < N_OPENAI; i++)
                audio_pcm_free(&p[i]);
}

START_TEST(test_tts_openai_names_distinct_english)
{
        struct audio_pcm p;

        check_openai(NULL, sentence);
        check_openai("en", sentence);
        ck_assert_str_eq(say(sentence, "alloy", NULL, 1.0f, &p), "slt");
        audio_pcm_free(&p);
        ck_assert_str_eq(say(sentence, "Nova", "en-US", 1.0f, &p), "en-us+f2");
        check_sentence(&p, "nova");
        ck_assert_str_eq(tts_voice_engine(tts, "en-us+f2"), "espeak-ng");
        audio_pcm_free(&p);
}
END_TEST

START_TEST(test_tts_openai_names_distinct_other_languages)
{
        struct audio_pcm p;

        check_openai("fr", "Bonjour, je voudrais un café au lait, s'il vous plaît.");
        check_openai("de", "Guten Morgen, ich hätte gern einen Kaffee mit Milch.");
        ck_assert_str_eq(say("Bonjour tout le monde.", "alloy", "fr", 1.0f, &p), "fr+f1");
        ck_assert_str_eq(tts_voice_engine(tts, "fr+f1"), "espeak-ng");
        audio_pcm_free(&p);
}
END_TEST

START_TEST(test_tts_french_and_german)
{
        struct audio_pcm p;

        ck_assert_str_eq(say("Bonjour, je m'appelle Marie et j'habite à Paris depuis dix ans.",
                             NULL, "fr", 1.0f, &p),
                         "fr");
        check_sentence(&p, "fr");
        ck_assert_int_eq(p.rate, 22050);
        audio_pcm_free(&p);
        ck_assert_str_eq(say("Guten Tag, ich heiße Anna und wohne seit zehn Jahren in Berlin.",
                             "de", NULL, 1.0f, &p),
                         "de");
        check_sentence(&p, "de");
        audio_pcm_free(&p);
        /* a region the list does not name falls back to its language */
        ck_assert_str_eq(say("Guten Tag.", NULL, "de-AT", 1.0f, &p), "de");
        audio_pcm_free(&p);
        ck_assert_str_eq(say("Buenos días a todos.", "", "es", 1.0f, &p), "es");
        audio_pcm_free(&p);
}
END_TEST

/* Duration at @p speed against speed 1: 1/speed within 15%. */
static void check_speed(const char *voice, const char *lang, const char *text)
{
        static const float speeds[] = { 0.25f, 0.5f, 2.0f, 4.0f };
        struct audio_pcm p;
        double base;

        say(text, voice, lang, 1.0f, &p);
        base = seconds(&p);
        audio_pcm_free(&p);
        for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
                double want = base / speeds[i], got;

                say(text, voice, lang, speeds[i], &p);
                got = seconds(&p);
                ck_assert_msg(fabs(got - want) <= 0.15 * want,
                              "%s at speed %g: %.2f s, want %.2f s (%.2f s at 1)", voice,
                              (double)speeds[i], got, want, base);
                ck_assert_msg(rms_of(&p) > 0.02, "%s at speed %g is silent", voice,
                              (double)speeds[i]);
                audio_pcm_free(&p);
        }
}

START_TEST(test_tts_speed_scales_duration)
{
        check_speed("slt", NULL, sentence);
        check_speed("kal", NULL, sentence);
        check_speed("awb", NULL, sentence);
        check_speed("en-us", NULL, sentence);
        check_speed("coral", NULL, sentence);
        check_speed("fr", NULL, "Bonjour, je m'appelle Marie et j'habite à Paris depuis dix ans.");
}
END_TEST

START_TEST(test_tts_unknown_voice)
{
        char errstr[512];

        ck_assert_int_eq(fails(sentence, "marvin", NULL, 1.0f, errstr, sizeof(errstr)),
                         TTS_UNKNOWN_VOICE);
        ck_assert_msg(strstr(errstr, "marvin") && strstr(errstr, "slt") && strstr(errstr, "alloy"),
                      "%s", errstr);
        /* a name that is not printable comes back without its bytes */
        ck_assert_int_eq(fails(sentence, "\xff\x01voice", NULL, 1.0f, errstr, sizeof(errstr)),
                         TTS_UNKNOWN_VOICE);
        ck_assert_ptr_nonnull(strstr(errstr, "??voice"));
        ck_assert_ptr_null(tts_voice_engine(tts, "marvin"));
}
END_TEST

START_TEST(test_tts_empty_input)
{
        char errstr[256];

        ck_assert_int_eq(fails("", "slt", NULL, 1.0f, errstr, sizeof(errstr)), TTS_BAD_INPUT);
        ck_assert_ptr_nonnull(strstr(errstr, "empty"));
        ck_assert_int_eq(fails(NULL, "slt", NULL, 1.0f, errstr, sizeof(errstr)), TTS_BAD_INPUT);
        ck_assert_int_eq(fails(" \t\r\n\xc2\xa0\xe2\x80\x83\xe3\x80\x80", "fr", NULL, 1.0f, errstr,
                               sizeof(errstr)),
                         TTS_BAD_INPUT);
        ck_assert_ptr_nonnull(strstr(errstr, "whitespace"));
        /* nothing flite can say: emoji only */
        ck_assert_int_eq(fails("\xf0\x9f\x99\x82\xf0\x9f\x8e\x89 !!", "slt", NULL, 1.0f, errstr,
                               sizeof(errstr)),
                         TTS_BAD_INPUT);
        ck_assert_ptr_nonnull(strstr(errstr, "nothing"));
}
END_TEST

START_TEST(test_tts_bad_speed_and_language)
{
        char errstr[256];
        static const float bad[] = { 0.0f, 0.2f, 4.01f, -1.0f, 100.0f };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_int_eq(fails(sentence, "slt", NULL, bad[i], errstr, sizeof(errstr)),
                                 TTS_BAD_INPUT);
                ck_assert_ptr_nonnull(strstr(errstr, "speed"));
        }
        ck_assert_int_eq(fails(sentence, "slt", NULL, NAN, errstr, sizeof(errstr)), TTS_BAD_INPUT);
        ck_assert_int_eq(fails(sentence, "slt", "fr", 1.0f, errstr, sizeof(errstr)), TTS_BAD_INPUT);
        ck_assert_msg(strstr(errstr, "slt") && strstr(errstr, "fr"), "%s", errstr);
        ck_assert_int_eq(fails(sentence, NULL, "xx", 1.0f, errstr, sizeof(errstr)), TTS_BAD_INPUT);
        ck_assert_ptr_nonnull(strstr(errstr, "xx"));
        ck_assert_int_eq(fails(sentence, "nova", "f r!", 1.0f, errstr, sizeof(errstr)),
                         TTS_BAD_INPUT);
        ck_assert_ptr_nonnull(strstr(errstr, "language"));
}
END_TEST

START_TEST(test_tts_text_ascii)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "\xe2\x80\x9cHi,\xe2\x80\x9d she said \xe2\x80\x98ok\xe2\x80\x99",
                  "\"Hi,\" she said 'ok'" },
                { "wait\xe2\x80\x94what\xe2\x80\xa6", "wait, what..." },
                { "1990\xe2\x80\x93"
                  "1995",
                  "1990-1995" },
                { "caf\xc3\xa9 na\xc3\xafve Stra\xc3\x9f"
                  "e",
                  "cafe naive Strasse" },
                { "\xef\xac\x81ne \xef\xbc\xa1\xef\xbc\xa2", "fine AB" },
                { "hi \xf0\x9f\x99\x82\xf0\x9f\x99\x82 there", "hi there" },
                { "a\xff\xfe"
                  "b\x01"
                  "c",
                  "ab c" },
                { "\xe4\xbd\xa0\xe5\xa5\xbd", " " },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = tts_text_ascii(cases[i].in);

                ck_assert_ptr_nonnull(got);
                ck_assert_str_eq(got, cases[i].out);
                free(got);
        }
}
END_TEST

/* Pieces cover the text, end at sentences where there are some, and never
 * split a character where there are no spaces. */
START_TEST(test_tts_text_chunk)
{
        char text[3000];
        size_t len = 0, at = 0, pieces = 0;

        while (len + 40 < 1500) {
                memcpy(text + len, "One short sentence here. ", 25);
                len += 25;
        }
        while (len + 3 < sizeof(text) - 1) { /* CJK, no spaces */
                memcpy(text + len, "\xe4\xbd\xa0", 3);
                len += 3;
        }
        text[len] = '\0';
        while (at < len) {
                size_t k = tts_text_chunk(text + at, len - at, 500);

                ck_assert_uint_gt(k, 0);
                ck_assert_uint_le(k, 503);
                if (at + k < 1400)
                        ck_assert_msg(text[at + k - 1] == '.' || text[at + k - 1] == ' ',
                                      "piece ends inside a sentence at %zu", at + k);
                ck_assert_msg(at + k == len || ((unsigned char)text[at + k] & 0xc0) != 0x80,
                              "piece splits a character at %zu", at + k);
                at += k;
                pieces++;
        }
        ck_assert_uint_eq(at, len);
        ck_assert_uint_ge(pieces, 6);
        ck_assert_uint_eq(tts_text_chunk("short.", 6, 500), 6);
}
END_TEST

START_TEST(test_tts_utf8_emoji_quotes)
{
        static const char text[] =
                "\xe2\x80\x9cGood morning!\xe2\x80\x9d she said \xf0\x9f\x98\x80 "
                "\xe2\x80\x94 it\xe2\x80\x99s a caf\xc3\xa9 day\xe2\x80\xa6 "
                "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd";
        static const char *const voices[] = { "slt", "en-us", "fr", "shimmer" };
        struct audio_pcm p;

        for (size_t i = 0; i < sizeof(voices) / sizeof(voices[0]); i++) {
                say(text, voices[i], NULL, 1.0f, &p);
                ck_assert_msg(rms_of(&p) > 0.02 && seconds(&p) > 1.0, "%s: %.2f s", voices[i],
                              seconds(&p));
                audio_pcm_free(&p);
        }
        /* broken UTF-8 is dropped, not fatal */
        say("Hello \xc3\x28 world \xed\xa0\x80 again \xf4\x90\x80\x80.", "slt", NULL, 1.0f, &p);
        audio_pcm_free(&p);
        say("Bonjour \xc3\x28 le monde \xff.", "fr", NULL, 1.0f, &p);
        audio_pcm_free(&p);
}
END_TEST

/* Random bytes and random ASCII: an answer, never a crash. */
START_TEST(test_tts_random_input)
{
        static const char *const voices[] = { "slt", "kal", "fr", "en-us" };
        unsigned seed = 12345;
        char text[200];

        for (int round = 0; round < 80; round++) {
                size_t len = 1 + (size_t)rand_r(&seed) % (sizeof(text) - 1);
                struct audio_pcm p;
                const char *spoken;
                char errstr[256];
                enum tts_status st;

                for (size_t i = 0; i < len; i++)
                        text[i] = round % 2 ? (char)(1 + rand_r(&seed) % 255)
                                            : (char)(32 + rand_r(&seed) % 95);
                text[len] = '\0';
                st = tts_speak(tts, text, voices[round % 4], NULL, 1.0f, &p, &spoken, errstr,
                               sizeof(errstr));
                ck_assert_msg(st == TTS_OK || st == TTS_BAD_INPUT, "round %d: %d %s", round, st,
                              errstr);
                audio_pcm_free(&p);
        }
}
END_TEST

START_TEST(test_tts_long_text)
{
        static const char *const voices[] = { "slt", "fr" };
        char *text = malloc(4097);
        struct audio_pcm p;
        size_t len = 0;

        ck_assert_ptr_nonnull(text);
        while (len < 4096) {
                size_t k = strlen(sentence);

                k = k < 4096 - len ? k : 4096 - len;
                memcpy(text + len, sentence, k);
                len += k;
                if (len < 4096)
                        text[len++] = ' ';
        }
        text[len] = '\0';
        for (size_t i = 0; i < sizeof(voices) / sizeof(voices[0]); i++) {
                say(text, voices[i], NULL, 1.0f, &p);
                /* 4,096 characters are about 4 to 6 minutes of speech */
                ck_assert_msg(seconds(&p) > 150 && seconds(&p) < 420, "%s: %.1f s", voices[i],
                              seconds(&p));
                ck_assert(rms_of(&p) > 0.02);
                audio_pcm_free(&p);
        }
        free(text);
}
END_TEST

/* Four threads at once, each several voices, against one at a time.
 * flite's samples are the same to the bit. espeak-ng's are not even one
 * call after another: 1.51 keeps its pitch flutter's phase in a static of
 * its wave generator from one synthesis to the next. Its pieces must match
 * in length within 1% and in loudness within 10%. */
static const char *const thread_voices[] = { "slt", "fr", "coral", "awb", "de", "kal" };
static const bool thread_exact[] = { true, false, false, true, false, true };
#define N_THREAD_VOICES (sizeof(thread_voices) / sizeof(thread_voices[0]))
#define ROUNDS          3

struct job {
        struct audio_pcm out[ROUNDS][N_THREAD_VOICES];
        int status[ROUNDS][N_THREAD_VOICES];
        size_t first;
};

static void *speak_all(void *arg)
{
        struct job *j = arg;
        char errstr[256];

        for (size_t r = 0; r < ROUNDS; r++)
                for (size_t k = 0; k < N_THREAD_VOICES; k++) {
                        size_t v = (j->first + k) % N_THREAD_VOICES;
                        const char *spoken;

                        j->status[r][v] = tts_speak(tts, sentence, thread_voices[v], NULL,
                                                    v % 2 ? 1.5f : 0.75f, &j->out[r][v], &spoken,
                                                    errstr, sizeof(errstr));
                }
        return NULL;
}

START_TEST(test_tts_concurrent_same_samples)
{
        static struct job one, many[4];
        pthread_t th[4];

        one.first = 0;
        speak_all(&one);
        for (size_t t = 0; t < 4; t++) {
                many[t].first = t;
                ck_assert_int_eq(pthread_create(&th[t], NULL, speak_all, &many[t]), 0);
        }
        for (size_t t = 0; t < 4; t++)
                pthread_join(th[t], NULL);
        for (size_t t = 0; t < 4; t++)
                for (size_t r = 0; r < ROUNDS; r++)
                        for (size_t v = 0; v < N_THREAD_VOICES; v++) {
                                const struct audio_pcm *a = &one.out[0][v], *b = &many[t].out[r][v];

                                ck_assert_int_eq(one.status[0][v], TTS_OK);
                                ck_assert_int_eq(many[t].status[r][v], TTS_OK);
                                ck_assert_int_eq(b->rate, a->rate);
                                if (thread_exact[v]) {
                                        ck_assert_uint_eq(b->n, a->n);
                                        ck_assert_msg(memcmp(b->samples, a->samples,
                                                             a->n * sizeof(float)) == 0,
                                                      "thread %zu, voice %s: other samples", t,
                                                      thread_voices[v]);
                                } else {
                                        ck_assert_msg(fabs((double)b->n - (double)a->n) <=
                                                              0.01 * (double)a->n,
                                                      "thread %zu, voice %s: %zu samples, not %zu",
                                                      t, thread_voices[v], b->n, a->n);
                                        ck_assert(fabs(rms_of(b) - rms_of(a)) <= 0.1 * rms_of(a));
                                }
                                audio_pcm_free(&many[t].out[r][v]);
                        }
        for (size_t r = 0; r < ROUNDS; r++)
                for (size_t v = 0; v < N_THREAD_VOICES; v++)
                        audio_pcm_free(&one.out[r][v]);
}
END_TEST

static Suite *tts_suite(void)
{
        Suite *s = suite_create("speech_tts");
        TCase *tc = tcase_create("tts");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_tts_voices_listed);
        tcase_add_test(tc, test_tts_each_voice_speaks);
        tcase_add_test(tc, test_tts_openai_names_distinct_english);
        tcase_add_test(tc, test_tts_openai_names_distinct_other_languages);
        tcase_add_test(tc, test_tts_french_and_german);
        tcase_add_test(tc, test_tts_speed_scales_duration);
        tcase_add_test(tc, test_tts_unknown_voice);
        tcase_add_test(tc, test_tts_empty_input);
        tcase_add_test(tc, test_tts_bad_speed_and_language);
        tcase_add_test(tc, test_tts_text_ascii);
        tcase_add_test(tc, test_tts_text_chunk);
        tcase_add_test(tc, test_tts_utf8_emoji_quotes);
        tcase_add_test(tc, test_tts_random_input);
        tcase_add_test(tc, test_tts_long_text);
        tcase_add_test(tc, test_tts_concurrent_same_samples);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(tts_suite());
}

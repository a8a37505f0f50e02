/* A fake LibreTranslate server for the tests: real HTTP on 127.0.0.1
 * (libmicrohttpd, a thread per connection) speaking LibreTranslate's wire
 * format: POST /translate with a JSON body (q a string or an array,
 * source, target, format, api_key) answering {"translatedText": ...} (a
 * string or an array, detectedLanguage for "auto"), and GET /languages
 * (code, name, targets). Its checks and error bodies are LibreTranslate's
 * ({"error": "..."}: 400 for a bad request or a missing key, 403 for a
 * wrong key, 429 "Slowdown: ..."), and faults come on command: error
 * statuses with Retry-After, delays, malformed or short answers, a failing
 * language list. Translations are deterministic (a small word table), so
 * tests know what to expect: fake_libretranslate_translation(). */
#ifndef CAIRN_TEST_FAKE_LIBRETRANSLATE_H
#define CAIRN_TEST_FAKE_LIBRETRANSLATE_H

#include <stdbool.h>
#include <stddef.h>

struct fake_libretranslate;

/* What the next requests get. Zero is a healthy server without a key. */
struct fake_libretranslate_mode {
        int fail_status;          /* POST /translate answers this HTTP status ... */
        int fail_count;           /* ... this many times (-1: until changed) */
        const char *fail_message; /* the failures' "error" */
        const char *retry_after;  /* Retry-After header of the failures, or NULL */
        int delay_ms;             /* wait before answering POST /translate */
        bool malformed;           /* answer 200 with a body that is not JSON */
        bool short_answer;        /* answer one translation fewer than asked */
        const char *api_key;      /* require this api_key (400 without one, 403 if wrong) */
        int languages_status;     /* GET /languages answers this status instead (0: 200) */
        bool old_languages;       /* GET /languages without "targets" (LibreTranslate < 1.3) */
};

/* Starts a server offering en<->de, en<->fr, en<->es and en<->zh-Hans
 * (with old_languages, any pair of those five). Aborts the test on failure. */
struct fake_libretranslate *fake_libretranslate_start(void);
/* The same on 127.0.0.1:@p port (a provider back where it was). */
struct fake_libretranslate *fake_libretranslate_start_on(int port);
void fake_libretranslate_stop(struct fake_libretranslate *f);
int fake_libretranslate_port(const struct fake_libretranslate *f);

/* Replaces the mode (strings are copied). */
void fake_libretranslate_set(struct fake_libretranslate *f,
                             const struct fake_libretranslate_mode *mode);

/* Counters since start. */
unsigned fake_libretranslate_translate_calls(struct fake_libretranslate *f); /* POST /translate */
unsigned fake_libretranslate_language_calls(struct fake_libretranslate *f);  /* GET /languages */
unsigned fake_libretranslate_texts(struct fake_libretranslate *f);           /* texts translated */
unsigned fake_libretranslate_aborted(struct fake_libretranslate *f); /* client left while delayed */

/* What the last POST /translate carried, copied into @p buf: "api_key"
 * ("" without one), "format", "source", "target"; and whether q was an
 * array. */
void fake_libretranslate_last(struct fake_libretranslate *f, const char *field, char *buf,
                              size_t size);
bool fake_libretranslate_last_q_array(struct fake_libretranslate *f);

/* The translation the fake gives @p text from @p source to @p target: each
 * word in its table replaced, any other kept. Malloc'ed; the caller frees
 * it. */
char *fake_libretranslate_translation(const char *source, const char *target, const char *text);

#endif

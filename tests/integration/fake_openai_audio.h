/* A fake OpenAI-compatible audio server for the tests: real HTTP on
 * 127.0.0.1 (fake_http.h) speaking OpenAI's wire format. POST
 * /v1/audio/transcriptions takes multipart/form-data (file, model,
 * language, prompt, response_format, temperature,
 * timestamp_granularities[]) and answers verbose_json with a fixed
 * transcript (fake_openai_audio.c has it: two segments, "Hello world.", and
 * two words when word timestamps are asked); POST /v1/audio/speech takes
 * JSON (model, input, voice, response_format, speed) and answers audio
 * bytes the test can predict (fake_openai_audio_speech_bytes()). Errors
 * come as OpenAI's {"error": {"message", "type"}}; faults on command:
 * error statuses with Retry-After, delays, a body of the test's own. It
 * records what the last request carried. */
#ifndef CAIRN_TEST_FAKE_OPENAI_AUDIO_H
#define CAIRN_TEST_FAKE_OPENAI_AUDIO_H

#include <stdbool.h>
#include <stddef.h>

struct fake_openai_audio;

/* What the next requests get. Zero is a healthy server without a key. */
struct fake_openai_audio_mode {
        int fail_status;          /* answer this HTTP status ... */
        int fail_count;           /* ... this many times (-1: until changed) */
        const char *fail_message; /* error.message of the failures */
        const char *retry_after;  /* Retry-After header of the failures, or NULL */
        int delay_ms;             /* wait before answering */
        const char *body;         /* answer 200 with this body instead (NULL: the usual) */
        const char *content_type; /* ... and this Content-Type (NULL: none) */
        const char *api_key;      /* require "Authorization: Bearer <key>" (401 otherwise) */
};

/* Starts a server; aborts the test on failure. */
struct fake_openai_audio *fake_openai_audio_start(void);
void fake_openai_audio_stop(struct fake_openai_audio *f);
int fake_openai_audio_port(const struct fake_openai_audio *f);

/* Replaces the mode (strings are copied). */
void fake_openai_audio_set(struct fake_openai_audio *f, const struct fake_openai_audio_mode *mode);

/* Counters since start: requests to each route (answered or not), and
 * requests whose client went away while delayed. */
unsigned fake_openai_audio_transcriptions(struct fake_openai_audio *f);
unsigned fake_openai_audio_speeches(struct fake_openai_audio *f);
unsigned fake_openai_audio_aborted(struct fake_openai_audio *f);

/* The @p nth (from 0) value of form field or JSON member @p name of the
 * last request, copied into @p buf (numbers as JSON writes them); false
 * when it had none. */
bool fake_openai_audio_last_field(struct fake_openai_audio *f, const char *name, int nth, char *buf,
                                  size_t size);
/* The last transcription's file part: whether its bytes equal @p data
 * (@p len bytes), and its filename and Content-Type ("" when none). */
bool fake_openai_audio_last_file_is(struct fake_openai_audio *f, const void *data, size_t len);
void fake_openai_audio_last_file_meta(struct fake_openai_audio *f, char *filename, size_t fsize,
                                      char *content_type, size_t csize);
/* The last request's Authorization and Content-Type headers ("" without). */
void fake_openai_audio_last_auth(struct fake_openai_audio *f, char *buf, size_t size);
void fake_openai_audio_last_request_type(struct fake_openai_audio *f, char *buf, size_t size);

/* The audio the fake speaks for @p input in @p format: malloc'ed, *@p len
 * bytes; and the Content-Type it answers for @p format. */
char *fake_openai_audio_speech_bytes(const char *format, const char *input, size_t *len);
const char *fake_openai_audio_speech_type(const char *format);

#endif

/* The wire format of OpenAI-compatible audio servers, as pure functions:
 * the fields of POST /v1/audio/transcriptions (multipart/form-data), its
 * verbose_json answer turned into a cairn.speech.v1.TranscribeReply, the
 * JSON body of POST /v1/audio/speech, and the names of the output formats.
 * No I/O, so unit tests and the fuzz target call them directly; every
 * answer is untrusted. */
#ifndef SPEECH_REMOTE_WIRE_H
#define SPEECH_REMOTE_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "cairn/err.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "cairn/status.h"

/* Most segments and words taken from one answer. */
#define SP_WIRE_SEGMENTS_MAX 100000
#define SP_WIRE_WORDS_MAX    1000000
#define SP_WIRE_TOKENS_MAX   10000 /* of one segment */

/* What POST /v1/audio/transcriptions is asked (all borrowed). */
struct sp_wire_transcription {
        const char *model;    /* the provider's model name ("whisper-1") */
        const char *language; /* ISO 639-1, or NULL/"": the provider detects it */
        const char *prompt;   /* NULL/"": none */
        float temperature;    /* 0: greedy (sent all the same) */
        bool words;           /* timestamp_granularities[] word as well as segment */
};

/* The form fields of a transcription request, in order, without the file:
 * names into @p names and values into @p values (at most @p max of each;
 * values point into @p wt or at static strings, and the temperature into
 * @p tbuf of @p tsize bytes). Returns how many. response_format is always
 * verbose_json; timestamp_granularities[] is segment, and word too when
 * asked. */
size_t sp_wire_transcription_fields(const struct sp_wire_transcription *wt, const char **names,
                                    const char **values, size_t max, char *tbuf, size_t tsize);

/* Parses a 2xx answer of @p len bytes: OpenAI's verbose_json ({"task",
 * "language", "duration", "text", "segments": [{"id", "seek", "start",
 * "end", "text", "tokens", "temperature", "avg_logprob",
 * "compression_ratio", "no_speech_prob"}], "words": [{"word", "start",
 * "end", "probability"?}]}), or the plain json answer of a server that
 * ignores response_format ({"text"} alone). Only "text" is required;
 * unknown members are ignored. The language may come as Whisper's name
 * ("english") or a code ("en"): a known name becomes its ISO 639-1 code.
 * Words are kept as the provider wrote them (OpenAI's have no leading
 * space), probability 0 when absent.
 *
 * On CAIRN_OK *@p out is a TranscribeReply with engine "remote" and model
 * empty (the caller sets it), allocated with @p alloc (NULL: malloc; free
 * it with cairn__speech__v1__transcribe_reply__free_unpacked(out, NULL)).
 * On error nothing is left allocated and @p st says what was wrong
 * ("segments[2].start is a string, not a number"): CAIRN_ERR_UNAVAILABLE
 * with reason UPSTREAM_BAD_RESPONSE, CAIRN_ERR_EXHAUSTED when out of
 * memory. */
cairn_err_t sp_wire_transcription_parse(const char *body, size_t len, ProtobufCAllocator *alloc,
                                        Cairn__Speech__V1__TranscribeReply **out,
                                        struct cairn_status *st);

/* What POST /v1/audio/speech is asked (all borrowed). */
struct sp_wire_speech {
        const char *model; /* the provider's model name ("tts-1") */
        const char *input; /* UTF-8 */
        const char *voice; /* "alloy", ...; NULL/"": "alloy" */
        Cairn__Speech__V1__AudioFormat format;
        float speed; /* 0: not sent (the provider's 1.0) */
};

/* The JSON body of POST /v1/audio/speech ({"model", "input", "voice",
 * "response_format", "speed"}): malloc'ed, NUL-terminated, *@p len bytes;
 * NULL when out of memory or the input is not UTF-8. */
char *sp_wire_speech_body(const struct sp_wire_speech *ws, size_t *len);

/* OpenAI's response_format of @p f ("mp3", "opus", "aac", "flac", "wav",
 * "pcm"), and the Content-Type of such audio ("audio/mpeg", ...) for an
 * answer that names none. NULL for a value outside the enum. */
const char *sp_wire_format_name(Cairn__Speech__V1__AudioFormat f);
const char *sp_wire_format_content_type(Cairn__Speech__V1__AudioFormat f);

/* The ISO 639-1 code of Whisper's language name @p name ("english" → "en",
 * case-insensitive, with Whisper's aliases: "castilian" → "es"), or NULL. */
const char *sp_wire_language_code(const char *name);

#endif

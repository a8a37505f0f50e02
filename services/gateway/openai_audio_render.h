/* OpenAI's transcription answers made from the speech service's
 * TranscribeReply (openai_audio_render.c): json, text, srt, verbose_json
 * and vtt, with subtitle timings as OpenAI writes them, and the media type
 * of each and of synthesised audio. */
#ifndef CAIRN_GATEWAY_OPENAI_AUDIO_RENDER_H
#define CAIRN_GATEWAY_OPENAI_AUDIO_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/speech/v1/speech.pb-c.h"

enum gw_transcript_format {
        GW_TRANSCRIPT_JSON = 0, /* {"text": ...}, OpenAI's default */
        GW_TRANSCRIPT_TEXT,
        GW_TRANSCRIPT_SRT,
        GW_TRANSCRIPT_VERBOSE_JSON,
        GW_TRANSCRIPT_VTT,
};

/* What verbose_json holds besides the text (timestamp_granularities[]). */
#define GW_TRANSCRIPT_SEGMENTS 0x1
#define GW_TRANSCRIPT_WORDS    0x2

/* The format named @p name ("json", "srt", ...); false when it is none. */
bool gw_transcript_format_parse(const char *name, enum gw_transcript_format *out);
/* "application/json", "text/plain; charset=utf-8", "application/x-subrip", "text/vtt". */
const char *gw_transcript_content_type(enum gw_transcript_format f);

/* The longest subtitle time gw_subtitle_time() writes, with its NUL. */
#define GW_SUBTITLE_TIME_MAX 24

/* @p seconds as a subtitle time, HH:MM:SS followed by @p sep (',' for SRT,
 * '.' for WebVTT) and milliseconds, rounded to the nearest; a negative or
 * non-finite time is 0, hours grow past two digits when they must.
 * Returns the length. */
size_t gw_subtitle_time(double seconds, char sep, char out[GW_SUBTITLE_TIME_MAX]);

/* The English name OpenAI's verbose_json gives a language ("english" for
 * "en", as Whisper names them); the code itself when it is not one of
 * Whisper's languages, "" for an empty code. */
const char *gw_language_name(const char *code);

/* Renders @p reply in format @p f; @p parts is GW_TRANSCRIPT_SEGMENTS
 * and/or GW_TRANSCRIPT_WORDS (verbose_json only). Subtitle cues follow the
 * segments in order, with empty ones left out, numbered from 1, their
 * times made monotonic (a cue never starts before the one before it nor
 * ends before it starts). Malloc'ed; the caller frees it. */
char *gw_transcript_render(const Cairn__Speech__V1__TranscribeReply *reply,
                           enum gw_transcript_format f, unsigned parts, size_t *lenp);

/* The media type of synthesised audio in @p format ("audio/mpeg" ...),
 * for a reply that names none. */
const char *gw_speech_content_type(Cairn__Speech__V1__AudioFormat format);

#endif

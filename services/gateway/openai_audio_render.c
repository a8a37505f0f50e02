/* A TranscribeReply as OpenAI answers a transcription: {"text"}, the bare
 * text, SubRip and WebVTT subtitles cut at the segments, and verbose_json
 * with OpenAI's field names and order. Language codes become the names
 * Whisper (and so OpenAI) gives them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "float_fmt.h"
#include "openai_audio_render.h"

static const char *const format_names[] = {
        [GW_TRANSCRIPT_JSON] = "json", [GW_TRANSCRIPT_TEXT] = "text",
        [GW_TRANSCRIPT_SRT] = "srt",   [GW_TRANSCRIPT_VERBOSE_JSON] = "verbose_json",
        [GW_TRANSCRIPT_VTT] = "vtt",
};

bool gw_transcript_format_parse(const char *name, enum gw_transcript_format *out)
{
        for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
                if (strcmp(name, format_names[i]) == 0) {
                        *out = (enum gw_transcript_format)i;
                        return true;
                }
        return false;
}

const char *gw_transcript_content_type(enum gw_transcript_format f)
{
        switch (f) {
        case GW_TRANSCRIPT_TEXT:
                return "text/plain; charset=utf-8";
        case GW_TRANSCRIPT_SRT:
                return "application/x-subrip; charset=utf-8";
        case GW_TRANSCRIPT_VTT:
                return "text/vtt; charset=utf-8";
        default:
                return "application/json";
        }
}

size_t gw_subtitle_time(double seconds, char sep, char out[GW_SUBTITLE_TIME_MAX])
{
        long long ms = isfinite(seconds) && seconds > 0 ? llround(seconds * 1000.0) : 0;
        int n;

        /* past 10^12 hours nothing is real: held there so it fits */
        if (ms > 3600000LL * 1000000000000LL || ms < 0)
                ms = 3600000LL * 1000000000000LL;
        n = snprintf(out, GW_SUBTITLE_TIME_MAX, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000,
                     ms / 60000 % 60, ms / 1000 % 60, sep, ms % 1000);
        return (size_t)n;
}

/* Whisper's languages by ISO 639-1 code (its tokenizer's table). */
static const char *const languages[][2] = {
        { "af", "afrikaans" },      { "am", "amharic" },     { "ar", "arabic" },
        { "as", "assamese" },       { "az", "azerbaijani" }, { "ba", "bashkir" },
        { "be", "belarusian" },     { "bg", "bulgarian" },   { "bn", "bengali" },
        { "bo", "tibetan" },        { "br", "breton" },      { "bs", "bosnian" },
        { "ca", "catalan" },        { "cs", "czech" },       { "cy", "welsh" },
        { "da", "danish" },         { "de", "german" },      { "el", "greek" },
        { "en", "english" },        { "es", "spanish" },     { "et", "estonian" },
        { "eu", "basque" },         { "fa", "persian" },     { "fi", "finnish" },
        { "fo", "faroese" },        { "fr", "french" },      { "gl", "galician" },
        { "gu", "gujarati" },       { "ha", "hausa" },       { "haw", "hawaiian" },
        { "he", "hebrew" },         { "hi", "hindi" },       { "hr", "croatian" },
        { "ht", "haitian creole" }, { "hu", "hungarian" },   { "hy", "armenian" },
        { "id", "indonesian" },     { "is", "icelandic" },   { "it", "italian" },
        { "ja", "japanese" },       { "jw", "javanese" },    { "ka", "georgian" },
        { "kk", "kazakh" },         { "km", "khmer" },       { "kn", "kannada" },
        { "ko", "korean" },         { "la", "latin" },       { "lb", "luxembourgish" },
        { "ln", "lingala" },        { "lo", "lao" },         { "lt", "lithuanian" },
        { "lv", "latvian" },        { "mg", "malagasy" },    { "mi", "maori" },
        { "mk", "macedonian" },     { "ml", "malayalam" },   { "mn", "mongolian" },
        { "mr", "marathi" },        { "ms", "malay" },       { "mt", "maltese" },
        { "my", "myanmar" },        { "ne", "nepali" },      { "nl", "dutch" },
        { "nn", "nynorsk" },        { "no", "norwegian" },   { "oc", "occitan" },
        { "pa", "punjabi" },        { "pl", "polish" },      { "ps", "pashto" },
        { "pt", "portuguese" },     { "ro", "romanian" },    { "ru", "russian" },
        { "sa", "sanskrit" },       { "sd", "sindhi" },      { "si", "sinhala" },
        { "sk", "slovak" },         { "sl", "slovenian" },   { "sn", "shona" },
        { "so", "somali" },         { "sq", "albanian" },    { "sr", "serbian" },
        { "su", "sundanese" },      { "sv", "swedish" },     { "sw", "swahili" },
        { "ta", "tamil" },          { "te", "telugu" },      { "tg", "tajik" },
        { "th", "thai" },           { "tk", "turkmen" },     { "tl", "tagalog" },
        { "tr", "turkish" },        { "tt", "tatar" },       { "uk", "ukrainian" },
        { "ur", "urdu" },           { "uz", "uzbek" },       { "vi", "vietnamese" },
        { "yi", "yiddish" },        { "yo", "yoruba" },      { "yue", "cantonese" },
        { "zh", "chinese" },
};

const char *gw_language_name(const char *code)
{
        if (!code)
                return "";
        for (size_t i = 0; i < sizeof(languages) / sizeof(languages[0]); i++)
                if (strcmp(code, languages[i][0]) == 0)
                        return languages[i][1];
        return code;
}

/* A double as JSON: the shortest of %.15g and %.17g that reads back the
 * same; 0 for what JSON cannot carry. */
static void add_double(struct cairn_buf *b, double v)
{
        char num[32];

        if (!isfinite(v))
                v = 0;
        snprintf(num, sizeof(num), "%.15g", v);
        if (strtod(num, NULL) != v)
                snprintf(num, sizeof(num), "%.17g", v);
        cairn_buf_adds(b, num);
}

static void add_float(struct cairn_buf *b, float v)
{
        char num[GW_FLOAT_MAX];
        size_t n;

        if (!isfinite(v))
                v = 0;
        n = gw_float_format(v, num);
        cairn_buf_add(b, num, n);
}

/* A cue's text: the segment's with its surrounding blanks trimmed and
 * "-->" (which would end a cue's timing line early) written "->". */
static void add_cue_text(struct cairn_buf *b, const char *s)
{
        size_t len = strlen(s);

        while (len && strchr(" \t\r\n", s[len - 1]))
                len--;
        while (len && strchr(" \t\r\n", *s)) {
                s++;
                len--;
        }
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '-' && i + 2 < len && s[i + 1] == '-' && s[i + 2] == '>') {
                        cairn_buf_adds(b, "->");
                        i += 2;
                } else if (s[i] == '\r') {
                        continue; /* cues are LF-separated */
                } else if (s[i] == '\n' && (i + 1 == len || s[i + 1] == '\n')) {
                        continue; /* a blank line would end the cue */
                } else {
                        cairn_buf_add(b, &s[i], 1);
                }
        }
}

static bool blank(const char *s)
{
        return s[strspn(s, " \t\r\n")] == '\0';
}

static void render_subtitles(struct cairn_buf *b, const Cairn__Speech__V1__TranscribeReply *reply,
                             bool vtt)
{
        double prev_start = 0;
        unsigned cue = 0;

        if (vtt)
                cairn_buf_adds(b, "WEBVTT\n\n");
        for (size_t i = 0; i < reply->n_segments; i++) {
                const Cairn__Speech__V1__Segment *seg = reply->segments[i];
                char t0[GW_SUBTITLE_TIME_MAX], t1[GW_SUBTITLE_TIME_MAX];
                double start = isfinite(seg->start) && seg->start > 0 ? seg->start : 0;
                double end = isfinite(seg->end) ? seg->end : start;

                if (!seg->text || blank(seg->text))
                        continue;
                if (start < prev_start)
                        start = prev_start;
                if (end < start)
                        end = start;
                prev_start = start;
                gw_subtitle_time(start, vtt ? '.' : ',', t0);
                gw_subtitle_time(end, vtt ? '.' : ',', t1);
                if (!vtt)
                        cairn_buf_printf(b, "%u\n", ++cue);
                cairn_buf_printf(b, "%s --> %s\n", t0, t1);
                add_cue_text(b, seg->text);
                cairn_buf_adds(b, "\n\n");
        }
}

/* Whisper writes a word with its leading space; OpenAI's words[] do not. */
static const char *word_text(const char *w)
{
        if (!w)
                return "";
        while (*w == ' ')
                w++;
        return w;
}

static void render_verbose(struct cairn_buf *b, const Cairn__Speech__V1__TranscribeReply *reply,
                           unsigned parts)
{
        cairn_buf_adds(b, "{\"task\":\"transcribe\",\"language\":");
        cairn_buf_add_json_string(b, gw_language_name(reply->language));
        cairn_buf_adds(b, ",\"duration\":");
        add_double(b, reply->duration);
        cairn_buf_adds(b, ",\"text\":");
        cairn_buf_add_json_string(b, reply->text ? reply->text : "");
        if (parts & GW_TRANSCRIPT_SEGMENTS) {
                cairn_buf_adds(b, ",\"segments\":[");
                for (size_t i = 0; i < reply->n_segments; i++) {
                        const Cairn__Speech__V1__Segment *seg = reply->segments[i];

                        cairn_buf_printf(b, "%s{\"id\":%u,\"seek\":%u,\"start\":", i ? "," : "",
                                         seg->id, seg->seek);
                        add_double(b, seg->start);
                        cairn_buf_adds(b, ",\"end\":");
                        add_double(b, seg->end);
                        cairn_buf_adds(b, ",\"text\":");
                        cairn_buf_add_json_string(b, seg->text ? seg->text : "");
                        cairn_buf_adds(b, ",\"tokens\":[");
                        for (size_t j = 0; j < seg->n_tokens; j++)
                                cairn_buf_printf(b, "%s%u", j ? "," : "", seg->tokens[j]);
                        cairn_buf_adds(b, "],\"temperature\":");
                        add_float(b, seg->temperature);
                        cairn_buf_adds(b, ",\"avg_logprob\":");
                        add_float(b, seg->avg_logprob);
                        cairn_buf_adds(b, ",\"compression_ratio\":");
                        add_float(b, seg->compression_ratio);
                        cairn_buf_adds(b, ",\"no_speech_prob\":");
                        add_float(b, seg->no_speech_prob);
                        cairn_buf_adds(b, "}");
                }
                cairn_buf_adds(b, "]");
        }
        if (parts & GW_TRANSCRIPT_WORDS) {
                cairn_buf_adds(b, ",\"words\":[");
                for (size_t i = 0; i < reply->n_words; i++) {
                        const Cairn__Speech__V1__Word *w = reply->words[i];

                        cairn_buf_adds(b, i ? ",{\"word\":" : "{\"word\":");
                        cairn_buf_add_json_string(b, word_text(w->word));
                        cairn_buf_adds(b, ",\"start\":");
                        add_double(b, w->start);
                        cairn_buf_adds(b, ",\"end\":");
                        add_double(b, w->end);
                        cairn_buf_adds(b, "}");
                }
                cairn_buf_adds(b, "]");
        }
        cairn_buf_adds(b, "}");
}

char *gw_transcript_render(const Cairn__Speech__V1__TranscribeReply *reply,
                           enum gw_transcript_format f, unsigned parts, size_t *lenp)
{
        struct cairn_buf b = { 0 };
        const char *text = reply->text ? reply->text : "";

        switch (f) {
        case GW_TRANSCRIPT_JSON:
                cairn_buf_adds(&b, "{\"text\":");
                cairn_buf_add_json_string(&b, text);
                cairn_buf_adds(&b, "}");
                break;
        case GW_TRANSCRIPT_TEXT:
                cairn_buf_adds(&b, text);
                cairn_buf_adds(&b, "\n");
                break;
        case GW_TRANSCRIPT_SRT:
        case GW_TRANSCRIPT_VTT:
                render_subtitles(&b, reply, f == GW_TRANSCRIPT_VTT);
                break;
        case GW_TRANSCRIPT_VERBOSE_JSON:
                render_verbose(&b, reply, parts);
                break;
        }
        /* an empty SRT (no speech) is an empty body: malloc'ed all the same */
        cairn_buf_reserve(&b, 1);
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

const char *gw_speech_content_type(Cairn__Speech__V1__AudioFormat format)
{
        switch (format) {
        case CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_OPUS:
                return "audio/ogg";
        case CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_AAC:
                return "audio/aac";
        case CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_FLAC:
                return "audio/flac";
        case CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_WAV:
                return "audio/wav";
        case CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM:
                return "audio/pcm";
        default:
                return "audio/mpeg";
        }
}

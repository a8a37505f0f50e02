/* OpenAI's audio wire format (remote_wire.h): what goes into a request, and
 * what a verbose_json answer may hold, checked member by member. */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/http_client.h"
#include "remote_wire.h"

/* ---- languages ---- */

/* Whisper's languages by the names its verbose_json gives, then its aliases. */
static const struct {
        const char *code, *name;
} languages[] = {
        { "en", "english" },     { "zh", "chinese" },    { "de", "german" },
        { "es", "spanish" },     { "ru", "russian" },    { "ko", "korean" },
        { "fr", "french" },      { "ja", "japanese" },   { "pt", "portuguese" },
        { "tr", "turkish" },     { "pl", "polish" },     { "ca", "catalan" },
        { "nl", "dutch" },       { "ar", "arabic" },     { "sv", "swedish" },
        { "it", "italian" },     { "id", "indonesian" }, { "hi", "hindi" },
        { "fi", "finnish" },     { "vi", "vietnamese" }, { "he", "hebrew" },
        { "uk", "ukrainian" },   { "el", "greek" },      { "ms", "malay" },
        { "cs", "czech" },       { "ro", "romanian" },   { "da", "danish" },
        { "hu", "hungarian" },   { "ta", "tamil" },      { "no", "norwegian" },
        { "th", "thai" },        { "ur", "urdu" },       { "hr", "croatian" },
        { "bg", "bulgarian" },   { "lt", "lithuanian" }, { "la", "latin" },
        { "mi", "maori" },       { "ml", "malayalam" },  { "cy", "welsh" },
        { "sk", "slovak" },      { "te", "telugu" },     { "fa", "persian" },
        { "lv", "latvian" },     { "bn", "bengali" },    { "sr", "serbian" },
        { "az", "azerbaijani" }, { "sl", "slovenian" },  { "kn", "kannada" },
        { "et", "estonian" },    { "mk", "macedonian" }, { "br", "breton" },
        { "eu", "basque" },      { "is", "icelandic" },  { "hy", "armenian" },
        { "ne", "nepali" },      { "mn", "mongolian" },  { "bs", "bosnian" },
        { "kk", "kazakh" },      { "sq", "albanian" },   { "sw", "swahili" },
        { "gl", "galician" },    { "mr", "marathi" },    { "pa", "punjabi" },
        { "si", "sinhala" },     { "km", "khmer" },      { "sn", "shona" },
        { "yo", "yoruba" },      { "so", "somali" },     { "af", "afrikaans" },
        { "oc", "occitan" },     { "ka", "georgian" },   { "be", "belarusian" },
        { "tg", "tajik" },       { "sd", "sindhi" },     { "gu", "gujarati" },
        { "am", "amharic" },     { "yi", "yiddish" },    { "lo", "lao" },
        { "uz", "uzbek" },       { "fo", "faroese" },    { "ht", "haitian creole" },
        { "ps", "pashto" },      { "tk", "turkmen" },    { "nn", "nynorsk" },
        { "mt", "maltese" },     { "sa", "sanskrit" },   { "lb", "luxembourgish" },
        { "my", "myanmar" },     { "bo", "tibetan" },    { "tl", "tagalog" },
        { "mg", "malagasy" },    { "as", "assamese" },   { "tt", "tatar" },
        { "haw", "hawaiian" },   { "ln", "lingala" },    { "ha", "hausa" },
        { "ba", "bashkir" },     { "jw", "javanese" },   { "su", "sundanese" },
        { "yue", "cantonese" },  { "my", "burmese" },    { "ca", "valencian" },
        { "nl", "flemish" },     { "ht", "haitian" },    { "lb", "letzeburgesch" },
        { "ps", "pushto" },      { "pa", "panjabi" },    { "ro", "moldavian" },
        { "ro", "moldovan" },    { "si", "sinhalese" },  { "es", "castilian" },
        { "zh", "mandarin" },
};

const char *sp_wire_language_code(const char *name)
{
        for (size_t i = 0; i < sizeof(languages) / sizeof(languages[0]); i++)
                if (strcasecmp(name, languages[i].name) == 0)
                        return languages[i].code;
        return NULL;
}

/* ---- requests ---- */

size_t sp_wire_transcription_fields(const struct sp_wire_transcription *wt, const char **names,
                                    const char **values, size_t max, char *tbuf, size_t tsize)
{
        size_t n = 0;

#define FIELD(k, v)                      \
        do {                             \
                if (n < max) {           \
                        names[n] = (k);  \
                        values[n] = (v); \
                        n++;             \
                }                        \
        } while (0)
        FIELD("model", wt->model ? wt->model : "");
        if (wt->language && wt->language[0])
                FIELD("language", wt->language);
        if (wt->prompt && wt->prompt[0])
                FIELD("prompt", wt->prompt);
        FIELD("response_format", "verbose_json");
        snprintf(tbuf, tsize, "%g", (double)wt->temperature);
        FIELD("temperature", tbuf);
        FIELD("timestamp_granularities[]", "segment");
        if (wt->words)
                FIELD("timestamp_granularities[]", "word");
#undef FIELD
        return n;
}

static const struct {
        const char *name, *content_type;
} formats[] = {
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_MP3] = { "mp3", "audio/mpeg" },
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_OPUS] = { "opus", "audio/ogg" },
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_AAC] = { "aac", "audio/aac" },
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_FLAC] = { "flac", "audio/flac" },
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_WAV] = { "wav", "audio/wav" },
        [CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM] = { "pcm", "audio/pcm" },
};

const char *sp_wire_format_name(Cairn__Speech__V1__AudioFormat f)
{
        if ((unsigned)f >= sizeof(formats) / sizeof(formats[0]))
                return NULL;
        return formats[f].name;
}

const char *sp_wire_format_content_type(Cairn__Speech__V1__AudioFormat f)
{
        if ((unsigned)f >= sizeof(formats) / sizeof(formats[0]))
                return NULL;
        return formats[f].content_type;
}

char *sp_wire_speech_body(const struct sp_wire_speech *ws, size_t *len)
{
        const char *format = sp_wire_format_name(ws->format);
        json_t *root = json_object(), *input = json_string(ws->input ? ws->input : "");
        char *out = NULL;

        if (!root || !input || !format)
                goto done;
        json_object_set_new(root, "model", json_string(ws->model ? ws->model : ""));
        json_object_set(root, "input", input);
        json_object_set_new(root, "voice",
                            json_string(ws->voice && ws->voice[0] ? ws->voice : "alloy"));
        json_object_set_new(root, "response_format", json_string(format));
        if (ws->speed > 0)
                json_object_set_new(root, "speed", json_real((double)ws->speed));
        out = json_dumps(root, JSON_COMPACT);
        if (out)
                *len = strlen(out);
done:
        json_decref(input);
        json_decref(root);
        return out;
}

/* ---- the verbose_json answer ---- */

struct parse {
        ProtobufCAllocator *alloc;
        struct cairn_status *st;
        cairn_err_t err;
};

static void *sys_alloc(void *data, size_t size)
{
        (void)data;
        return malloc(size);
}

static void sys_free(void *data, void *p)
{
        (void)data;
        free(p);
}

static ProtobufCAllocator sys_allocator = { sys_alloc, sys_free, NULL };

__attribute__((format(printf, 2, 3))) static bool bad(struct parse *p, const char *fmt, ...)
{
        char msg[CAIRN_STATUS_MSG_MAX];
        va_list ap;

        if (p->err)
                return false;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        p->err = cairn_status_set(p->st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_BAD_RESPONSE,
                                  "malformed transcription: %s", msg);
        return false;
}

static bool oom(struct parse *p)
{
        if (!p->err)
                p->err = cairn_status_set(p->st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                          "out of memory reading a transcription");
        return false;
}

static void *zalloc(struct parse *p, size_t size)
{
        void *m = p->alloc->alloc(p->alloc->allocator_data, size ? size : 1);

        if (!m) {
                oom(p);
                return NULL;
        }
        memset(m, 0, size);
        return m;
}

static const char *type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

/* A string member @p key of @p obj into *@p out (allocated); absent is fine
 * unless @p required. */
static bool get_string(struct parse *p, const json_t *obj, const char *key, const char *path,
                       bool required, char **out)
{
        const json_t *v = json_object_get(obj, key);
        size_t len;

        if (!v || json_is_null(v)) {
                if (required)
                        return bad(p, "%s%s%s is missing", path, path[0] ? "." : "", key);
                return true;
        }
        if (!json_is_string(v))
                return bad(p, "%s%s%s is %s, not a string", path, path[0] ? "." : "", key,
                           type_name(v));
        len = json_string_length(v);
        if (memchr(json_string_value(v), '\0', len))
                return bad(p, "%s%s%s holds a NUL character", path, path[0] ? "." : "", key);
        *out = zalloc(p, len + 1);
        if (!*out)
                return false;
        memcpy(*out, json_string_value(v), len);
        return true;
}

/* A finite number member; absent leaves *@p out (and is an error when
 * @p required). Negative values are refused when @p nonneg. */
static bool get_number(struct parse *p, const json_t *obj, const char *key, const char *path,
                       bool required, bool nonneg, double *out)
{
        const json_t *v = json_object_get(obj, key);
        double d;

        if (!v || json_is_null(v)) {
                if (required)
                        return bad(p, "%s%s%s is missing", path, path[0] ? "." : "", key);
                return true;
        }
        if (!json_is_number(v))
                return bad(p, "%s%s%s is %s, not a number", path, path[0] ? "." : "", key,
                           type_name(v));
        d = json_number_value(v);
        if (!isfinite(d) || (nonneg && d < 0))
                return bad(p, "%s%s%s is %g, out of range", path, path[0] ? "." : "", key, d);
        *out = d;
        return true;
}

static bool get_float(struct parse *p, const json_t *obj, const char *key, const char *path,
                      float *out)
{
        double d = 0;

        if (!get_number(p, obj, key, path, false, false, &d))
                return false;
        if (fabs(d) > 3.4e38)
                return bad(p, "%s.%s is %g, out of range", path, key, d);
        *out = (float)d;
        return true;
}

static bool get_uint32(struct parse *p, const json_t *obj, const char *key, const char *path,
                       uint32_t *out)
{
        const json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v))
                return true;
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX)
                return bad(p, "%s.%s is %s, not a count", path, key,
                           json_is_integer(v) ? "out of range" : type_name(v));
        *out = (uint32_t)json_integer_value(v);
        return true;
}

static bool times_check(struct parse *p, const char *path, double start, double end)
{
        if (end < start)
                return bad(p, "%s ends (%g s) before it starts (%g s)", path, end, start);
        return true;
}

static bool segment_parse(struct parse *p, const json_t *v, size_t i,
                          Cairn__Speech__V1__Segment **out)
{
        Cairn__Speech__V1__Segment *s;
        const json_t *tokens;
        char path[48];

        snprintf(path, sizeof(path), "segments[%zu]", i);
        if (!json_is_object(v))
                return bad(p, "%s is %s, not an object", path, type_name(v));
        s = zalloc(p, sizeof(*s));
        if (!s)
                return false;
        cairn__speech__v1__segment__init(s);
        *out = s;
        if (!get_uint32(p, v, "id", path, &s->id) || !get_uint32(p, v, "seek", path, &s->seek) ||
            !get_number(p, v, "start", path, true, true, &s->start) ||
            !get_number(p, v, "end", path, true, true, &s->end) ||
            !times_check(p, path, s->start, s->end) ||
            !get_string(p, v, "text", path, true, &s->text) ||
            !get_float(p, v, "no_speech_prob", path, &s->no_speech_prob) ||
            !get_float(p, v, "avg_logprob", path, &s->avg_logprob) ||
            !get_float(p, v, "compression_ratio", path, &s->compression_ratio) ||
            !get_float(p, v, "temperature", path, &s->temperature))
                return false;
        tokens = json_object_get(v, "tokens");
        if (!tokens || json_is_null(tokens))
                return true;
        if (!json_is_array(tokens))
                return bad(p, "%s.tokens is %s, not an array", path, type_name(tokens));
        if (json_array_size(tokens) > SP_WIRE_TOKENS_MAX)
                return bad(p, "%s.tokens has %zu tokens, more than %d", path,
                           json_array_size(tokens), SP_WIRE_TOKENS_MAX);
        if (json_array_size(tokens) == 0)
                return true;
        s->tokens = zalloc(p, json_array_size(tokens) * sizeof(*s->tokens));
        if (!s->tokens)
                return false;
        for (size_t j = 0; j < json_array_size(tokens); j++) {
                const json_t *t = json_array_get(tokens, j);

                if (!json_is_integer(t) || json_integer_value(t) < 0 ||
                    json_integer_value(t) > (json_int_t)UINT32_MAX)
                        return bad(p, "%s.tokens[%zu] is %s, not a token id", path, j,
                                   json_is_integer(t) ? "out of range" : type_name(t));
                s->tokens[s->n_tokens++] = (uint32_t)json_integer_value(t);
        }
        return true;
}

static bool word_parse(struct parse *p, const json_t *v, size_t i, Cairn__Speech__V1__Word **out)
{
        Cairn__Speech__V1__Word *w;
        char path[48];
        double prob = 0;

        snprintf(path, sizeof(path), "words[%zu]", i);
        if (!json_is_object(v))
                return bad(p, "%s is %s, not an object", path, type_name(v));
        w = zalloc(p, sizeof(*w));
        if (!w)
                return false;
        cairn__speech__v1__word__init(w);
        *out = w;
        if (!get_string(p, v, "word", path, true, &w->word) ||
            !get_number(p, v, "start", path, true, true, &w->start) ||
            !get_number(p, v, "end", path, true, true, &w->end) ||
            !times_check(p, path, w->start, w->end) ||
            !get_number(p, v, "probability", path, false, true, &prob))
                return false;
        if (prob > 1)
                return bad(p, "%s.probability is %g, more than 1", path, prob);
        w->probability = (float)prob;
        return true;
}

/* The array member @p key: NULL when absent, false when it is not one or
 * holds more than @p max. */
static bool get_array(struct parse *p, const json_t *root, const char *key, size_t max,
                      const json_t **out)
{
        const json_t *v = json_object_get(root, key);

        *out = NULL;
        if (!v || json_is_null(v))
                return true;
        if (!json_is_array(v))
                return bad(p, "%s is %s, not an array", key, type_name(v));
        if (json_array_size(v) > max)
                return bad(p, "%s has %zu items, more than %zu", key, json_array_size(v), max);
        *out = v;
        return true;
}

static bool language_parse(struct parse *p, const json_t *root, char **out)
{
        char *lang = NULL;
        const char *code;

        if (!get_string(p, root, "language", "", false, &lang))
                return false;
        if (!lang)
                return true;
        if (strlen(lang) > 64) {
                size_t len = strlen(lang);

                p->alloc->free(p->alloc->allocator_data, lang);
                return bad(p, "language is %zu bytes long, not a language", len);
        }
        code = sp_wire_language_code(lang);
        if (code) {
                p->alloc->free(p->alloc->allocator_data, lang);
                lang = zalloc(p, strlen(code) + 1);
                if (!lang)
                        return false;
                memcpy(lang, code, strlen(code));
        } else {
                for (char *c = lang; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
        }
        *out = lang;
        return true;
}

static bool reply_parse(struct parse *p, const json_t *root, Cairn__Speech__V1__TranscribeReply *r)
{
        const json_t *segments, *words;

        if (!json_is_object(root))
                return bad(p, "the answer is %s, not an object", type_name(root));
        if (!get_string(p, root, "text", "", true, &r->text) ||
            !language_parse(p, root, &r->language) ||
            !get_number(p, root, "duration", "", false, true, &r->duration) ||
            !get_array(p, root, "segments", SP_WIRE_SEGMENTS_MAX, &segments) ||
            !get_array(p, root, "words", SP_WIRE_WORDS_MAX, &words))
                return false;
        if (segments && json_array_size(segments)) {
                r->segments = zalloc(p, json_array_size(segments) * sizeof(*r->segments));
                if (!r->segments)
                        return false;
                for (size_t i = 0; i < json_array_size(segments); i++) {
                        bool ok = segment_parse(p, json_array_get(segments, i), i,
                                                &r->segments[r->n_segments]);

                        if (r->segments[r->n_segments])
                                r->n_segments++;
                        if (!ok)
                                return false;
                }
        }
        if (words && json_array_size(words)) {
                r->words = zalloc(p, json_array_size(words) * sizeof(*r->words));
                if (!r->words)
                        return false;
                for (size_t i = 0; i < json_array_size(words); i++) {
                        bool ok = word_parse(p, json_array_get(words, i), i, &r->words[r->n_words]);

                        if (r->words[r->n_words])
                                r->n_words++;
                        if (!ok)
                                return false;
                }
        }
        return true;
}

cairn_err_t sp_wire_transcription_parse(const char *body, size_t len, ProtobufCAllocator *alloc,
                                        Cairn__Speech__V1__TranscribeReply **out,
                                        struct cairn_status *st)
{
        struct parse p = { alloc ? alloc : &sys_allocator, st, CAIRN_OK };
        Cairn__Speech__V1__TranscribeReply *r;
        static const char engine[] = "remote";
        json_error_t jerr;
        json_t *root;

        *out = NULL;
        root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!root) {
                bad(&p, "not JSON (%s at byte %d)", jerr.text, jerr.position);
                return p.err;
        }
        r = zalloc(&p, sizeof(*r));
        if (!r) {
                json_decref(root);
                return p.err;
        }
        cairn__speech__v1__transcribe_reply__init(r);
        if (reply_parse(&p, root, r)) {
                r->engine = zalloc(&p, sizeof(engine));
                if (r->engine)
                        memcpy(r->engine, engine, sizeof(engine));
        }
        json_decref(root);
        if (p.err) {
                /* every string and array set so far came from p.alloc */
                protobuf_c_message_free_unpacked(&r->base, p.alloc);
                return p.err;
        }
        *out = r;
        return CAIRN_OK;
}

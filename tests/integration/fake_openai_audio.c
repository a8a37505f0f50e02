/* The fake OpenAI audio server of the tests: transcriptions from a
 * multipart upload, speech from JSON, faults on command. */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_http.h"
#include "fake_openai_audio.h"

#define BODY_MAX   (64 << 20)
#define FIELDS_MAX 32

struct field {
        char name[64];
        char value[1024];
};

struct fake_openai_audio {
        struct fake_http *http;
        pthread_mutex_t lock;
        struct fake_openai_audio_mode mode;
        struct fake_http_faults faults;
        char *body, *content_type;
        unsigned transcriptions, speeches, aborted;
        /* the last request */
        struct field fields[FIELDS_MAX];
        size_t nfields;
        char *file;
        size_t file_len;
        char file_name[256], file_type[128];
        char auth[512], request_type[256];
};

/* ---- multipart/form-data ---- */

/* One part: its name, filename and type (from its headers) and bytes. */
struct part {
        char name[64], filename[256], type[128];
        const char *data;
        size_t len;
};

/* The value of @p attr ("name", "filename") in a Content-Disposition line. */
static void disposition_attr(const char *line, size_t len, const char *attr, char *out, size_t size)
{
        char key[32];
        const char *p, *end = line + len;

        out[0] = '\0';
        snprintf(key, sizeof(key), "; %s=\"", attr);
        p = memmem(line, len, key, strlen(key));
        if (!p)
                return;
        p += strlen(key);
        for (size_t j = 0; p < end && *p != '"' && j + 1 < size; p++)
                out[j++] = *p, out[j] = '\0';
}

/* Splits @p body by the boundary of @p content_type into at most @p max
 * parts; returns how many, or -1 when it is not multipart. */
static int multipart_parse(const char *content_type, const char *body, size_t len,
                           struct part *parts, int max)
{
        const char *b = content_type ? strstr(content_type, "boundary=") : NULL;
        const char *p, *end = body + len;
        char delim[128];
        int n = 0;

        if (!b || strncasecmp(content_type, "multipart/form-data", 19) != 0)
                return -1;
        b += 9;
        snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)strcspn(b, "\"; \r\n"),
                 b[0] == '"' ? b + 1 : b);
        /* the first delimiter has no CRLF before it */
        p = memmem(body, len, delim + 2, strlen(delim + 2));
        if (!p)
                return -1;
        p += strlen(delim + 2);
        while (n < max && p + 2 <= end && memcmp(p, "--", 2) != 0) {
                const char *hend, *next, *line;
                struct part *part = &parts[n];

                if (memcmp(p, "\r\n", 2) != 0)
                        return -1;
                p += 2;
                hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
                if (!hend)
                        return -1;
                memset(part, 0, sizeof(*part));
                for (line = p; line < hend;) {
                        const char *eol = memmem(line, (size_t)(hend + 2 - line), "\r\n", 2);
                        size_t llen = (size_t)(eol - line);

                        if (llen > 20 && strncasecmp(line, "Content-Disposition:", 20) == 0) {
                                disposition_attr(line, llen, "name", part->name,
                                                 sizeof(part->name));
                                disposition_attr(line, llen, "filename", part->filename,
                                                 sizeof(part->filename));
                        } else if (llen > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
                                const char *v = line + 13;

                                while (*v == ' ')
                                        v++;
                                snprintf(part->type, sizeof(part->type), "%.*s",
                                         (int)(line + llen - v), v);
                        }
                        line = eol + 2;
                }
                part->data = hend + 4;
                next = memmem(part->data, (size_t)(end - part->data), delim, strlen(delim));
                if (!next)
                        return -1;
                part->len = (size_t)(next - part->data);
                n++;
                p = next + strlen(delim);
        }
        return n;
}

/* ---- answers ---- */

static enum MHD_Result respond_error(struct MHD_Connection *c, int status, const char *msg,
                                     const char *type, const char *retry_after)
{
        json_t *e = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message", msg, "type", type,
                              "param", "code");
        char *body = json_dumps(e, JSON_COMPACT);
        enum MHD_Result ret = fake_http_respond_json(c, status, body, retry_after);

        free(body);
        json_decref(e);
        return ret;
}

static const struct {
        const char *format, *type;
} speech_types[] = {
        { "mp3", "audio/mpeg" },  { "opus", "audio/ogg" }, { "aac", "audio/aac" },
        { "flac", "audio/flac" }, { "wav", "audio/wav" },  { "pcm", "audio/pcm" },
};

const char *fake_openai_audio_speech_type(const char *format)
{
        for (size_t i = 0; i < sizeof(speech_types) / sizeof(speech_types[0]); i++)
                if (strcmp(format, speech_types[i].format) == 0)
                        return speech_types[i].type;
        return NULL;
}

char *fake_openai_audio_speech_bytes(const char *format, const char *input, size_t *len)
{
        char *out = NULL;
        int n = asprintf(&out, "FAKE-%s-AUDIO:%s", format, input);

        ck_assert_int_ge(n, 0);
        /* a NUL inside, as real audio has */
        out[4] = '\0';
        *len = (size_t)n;
        return out;
}

static const char *whisper_name(const char *code)
{
        static const char *const names[][2] = {
                { "en", "english" }, { "de", "german" }, { "fr", "french" }, { "es", "spanish" }
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(code, names[i][0]) == 0)
                        return names[i][1];
        return code[0] ? code : "english";
}

static char *transcript_body(const char *language, double temperature, bool words, size_t bytes)
{
        json_t *root =
                json_pack("{s:s,s:s,s:f,s:s,s:[{s:i,s:i,s:f,s:f,s:s,s:[i,i],s:f,s:f,s:f,s:f},"
                          "{s:i,s:i,s:f,s:f,s:s,s:[i,i,i],s:f,s:f,s:f,s:f}]}",
                          "task", "transcribe", "language", whisper_name(language), "duration",
                          (double)bytes / 32000.0, "text", "Hello world.", "segments", "id", 0,
                          "seek", 0, "start", 0.0, "end", 1.5, "text", " Hello", "tokens", 50364,
                          2425, "temperature", temperature, "avg_logprob", -0.25,
                          "compression_ratio", 0.8, "no_speech_prob", 0.01, "id", 1, "seek", 0,
                          "start", 1.5, "end", 3.0, "text", " world.", "tokens", 1002, 13, 50514,
                          "temperature", temperature, "avg_logprob", -0.5, "compression_ratio", 0.8,
                          "no_speech_prob", 0.02);
        char *out;

        if (words)
                json_object_set_new(root, "words",
                                    json_pack("[{s:s,s:f,s:f},{s:s,s:f,s:f}]", "word", "Hello",
                                              "start", 0.0, "end", 0.8, "word", "world.", "start",
                                              1.5, "end", 2.4));
        out = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        return out;
}

/* ---- requests ---- */

static void field_add(struct fake_openai_audio *f, const char *name, const char *value, size_t len)
{
        struct field *fl;

        if (f->nfields >= FIELDS_MAX)
                return;
        fl = &f->fields[f->nfields++];
        snprintf(fl->name, sizeof(fl->name), "%.63s", name);
        snprintf(fl->value, sizeof(fl->value), "%.*s", (int)(len < 1023 ? len : 1023), value);
}

/* Records what a transcription carried; answers 400 itself when the form
 * is not one. */
static enum MHD_Result transcription(struct fake_openai_audio *f,
                                     const struct fake_http_request *req, bool *answered)
{
        const char *type = MHD_lookup_connection_value(req->c, MHD_HEADER_KIND, "Content-Type");
        struct part parts[FIELDS_MAX];
        int n = multipart_parse(type, req->body, req->len, parts, FIELDS_MAX);
        const struct part *file = NULL;

        *answered = true;
        if (n < 0)
                return respond_error(req->c, 400, "Could not parse multipart form data",
                                     "invalid_request_error", NULL);
        pthread_mutex_lock(&f->lock);
        f->nfields = 0;
        free(f->file);
        f->file = NULL;
        f->file_len = 0;
        f->file_name[0] = f->file_type[0] = '\0';
        for (int i = 0; i < n; i++) {
                if (strcmp(parts[i].name, "file") == 0) {
                        file = &parts[i];
                        f->file = malloc(parts[i].len + 1);
                        ck_assert_ptr_nonnull(f->file);
                        memcpy(f->file, parts[i].data, parts[i].len);
                        f->file_len = parts[i].len;
                        snprintf(f->file_name, sizeof(f->file_name), "%s", parts[i].filename);
                        snprintf(f->file_type, sizeof(f->file_type), "%s", parts[i].type);
                } else {
                        field_add(f, parts[i].name, parts[i].data, parts[i].len);
                }
        }
        pthread_mutex_unlock(&f->lock);
        if (!file)
                return respond_error(req->c, 400, "you must provide a file",
                                     "invalid_request_error", NULL);
        *answered = false;
        return MHD_YES;
}

static bool last_field(struct fake_openai_audio *f, const char *name, int nth, char *buf,
                       size_t size)
{
        for (size_t i = 0; i < f->nfields; i++)
                if (strcmp(f->fields[i].name, name) == 0 && nth-- == 0) {
                        snprintf(buf, size, "%s", f->fields[i].value);
                        return true;
                }
        return false;
}

static enum MHD_Result transcription_answer(struct fake_openai_audio *f, struct MHD_Connection *c)
{
        char language[64] = "", temp[32] = "0", g[32];
        bool words = false;
        size_t bytes;
        char *body;
        enum MHD_Result ret;

        pthread_mutex_lock(&f->lock);
        last_field(f, "language", 0, language, sizeof(language));
        last_field(f, "temperature", 0, temp, sizeof(temp));
        for (int i = 0; last_field(f, "timestamp_granularities[]", i, g, sizeof(g)); i++)
                words |= strcmp(g, "word") == 0;
        bytes = f->file_len;
        pthread_mutex_unlock(&f->lock);
        body = transcript_body(language, strtod(temp, NULL), words, bytes);
        ret = fake_http_respond_json(c, 200, body, NULL);
        free(body);
        return ret;
}

/* Records what a speech request carried; answers 400 itself when it is
 * not JSON with an input. */
static enum MHD_Result speech(struct fake_openai_audio *f, const struct fake_http_request *req,
                              bool *answered)
{
        json_t *root = json_loadb(req->body, req->len, 0, NULL);
        const char *key;
        json_t *v;

        *answered = true;
        if (!json_is_object(root) || !json_is_string(json_object_get(root, "input"))) {
                json_decref(root);
                return respond_error(req->c, 400, "input is required", "invalid_request_error",
                                     NULL);
        }
        pthread_mutex_lock(&f->lock);
        f->nfields = 0;
        json_object_foreach(root, key, v) {
                char *text = json_is_string(v) ? strdup(json_string_value(v))
                                               : json_dumps(v, JSON_ENCODE_ANY);

                field_add(f, key, text, strlen(text));
                free(text);
        }
        pthread_mutex_unlock(&f->lock);
        json_decref(root);
        *answered = false;
        return MHD_YES;
}

static enum MHD_Result speech_answer(struct fake_openai_audio *f, struct MHD_Connection *c)
{
        char format[32] = "mp3", input[1024] = "";
        const char *type;
        size_t len;
        char *audio;
        enum MHD_Result ret;

        pthread_mutex_lock(&f->lock);
        last_field(f, "response_format", 0, format, sizeof(format));
        last_field(f, "input", 0, input, sizeof(input));
        pthread_mutex_unlock(&f->lock);
        type = fake_openai_audio_speech_type(format);
        if (!type)
                return respond_error(c, 400, "response_format is not supported",
                                     "invalid_request_error", NULL);
        audio = fake_openai_audio_speech_bytes(format, input, &len);
        ret = fake_http_respond(c, 200, type, audio, len, NULL);
        free(audio);
        return ret;
}

static enum MHD_Result on_request(void *opaque, const struct fake_http_request *req)
{
        struct fake_openai_audio *f = opaque;
        struct MHD_Connection *c = req->c;
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        bool is_speech = strcmp(req->url, "/v1/audio/speech") == 0, fail = false, answered;
        struct fake_openai_audio_mode mode;
        struct fake_http_fault_copy fc;
        char want[300], ctype[128];
        char *body = NULL;
        enum MHD_Result ret;

        if (strcmp(req->method, "POST") != 0 ||
            (!is_speech && strcmp(req->url, "/v1/audio/transcriptions") != 0))
                return respond_error(c, 404, "Not found", "invalid_request_error", NULL);
        pthread_mutex_lock(&f->lock);
        if (is_speech)
                f->speeches++;
        else
                f->transcriptions++;
        snprintf(f->auth, sizeof(f->auth), "%s", auth ? auth : "");
        snprintf(f->request_type, sizeof(f->request_type), "%s", type ? type : "");
        mode = f->mode;
        fake_http_faults_copy(&f->faults, &fc);
        snprintf(ctype, sizeof(ctype), "%s", f->content_type ? f->content_type : "");
        if (f->body)
                body = strdup(f->body);
        if (mode.fail_status && mode.fail_count != 0) {
                fail = true;
                if (f->mode.fail_count > 0)
                        f->mode.fail_count--;
        }
        pthread_mutex_unlock(&f->lock);

        snprintf(want, sizeof(want), "Bearer %s", fc.key);
        if (fc.key[0] && (!auth || strcmp(auth, want) != 0)) {
                free(body);
                return respond_error(c, 401, "Incorrect API key provided", "invalid_request_error",
                                     NULL);
        }
        if (req->too_big) {
                free(body);
                return respond_error(c, 413, "Maximum content size limit exceeded",
                                     "invalid_request_error", NULL);
        }
        ret = is_speech ? speech(f, req, &answered) : transcription(f, req, &answered);
        if (answered) {
                free(body);
                return ret;
        }
        if (!fake_http_wait(c, mode.delay_ms)) {
                pthread_mutex_lock(&f->lock);
                f->aborted++;
                pthread_mutex_unlock(&f->lock);
                free(body);
                return MHD_NO;
        }
        if (fail) {
                free(body);
                return respond_error(c, mode.fail_status, fc.error,
                                     mode.fail_status >= 500 ? "server_error" : "fake_error",
                                     fc.retry_after[0] ? fc.retry_after : NULL);
        }
        if (body) {
                ret = fake_http_respond(c, 200, ctype[0] ? ctype : NULL, body, strlen(body), NULL);
                free(body);
                return ret;
        }
        return is_speech ? speech_answer(f, c) : transcription_answer(f, c);
}

/* ---- the server ---- */

struct fake_openai_audio *fake_openai_audio_start(void)
{
        struct fake_openai_audio *f = calloc(1, sizeof(*f));

        ck_assert_ptr_nonnull(f);
        pthread_mutex_init(&f->lock, NULL);
        f->http = fake_http_start(0, BODY_MAX, on_request, f, "fake OpenAI audio server");
        return f;
}

static void mode_strings_free(struct fake_openai_audio *f)
{
        fake_http_faults_free(&f->faults);
        free(f->body);
        free(f->content_type);
}

void fake_openai_audio_stop(struct fake_openai_audio *f)
{
        if (!f)
                return;
        fake_http_stop(f->http);
        mode_strings_free(f);
        free(f->file);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

int fake_openai_audio_port(const struct fake_openai_audio *f)
{
        return fake_http_port(f->http);
}

void fake_openai_audio_set(struct fake_openai_audio *f, const struct fake_openai_audio_mode *mode)
{
        pthread_mutex_lock(&f->lock);
        mode_strings_free(f);
        f->mode = *mode;
        fake_http_faults_set(&f->faults, mode->fail_message, mode->retry_after, mode->api_key);
        f->body = fake_http_strdup(mode->body);
        f->content_type = fake_http_strdup(mode->content_type);
        f->mode.fail_message = f->mode.retry_after = f->mode.body = f->mode.content_type =
                f->mode.api_key = NULL;
        pthread_mutex_unlock(&f->lock);
}

FAKE_HTTP_COUNTER(fake_openai_audio, transcriptions)
FAKE_HTTP_COUNTER(fake_openai_audio, speeches)
FAKE_HTTP_COUNTER(fake_openai_audio, aborted)

bool fake_openai_audio_last_field(struct fake_openai_audio *f, const char *name, int nth, char *buf,
                                  size_t size)
{
        bool found;

        pthread_mutex_lock(&f->lock);
        found = last_field(f, name, nth, buf, size);
        pthread_mutex_unlock(&f->lock);
        return found;
}

bool fake_openai_audio_last_file_is(struct fake_openai_audio *f, const void *data, size_t len)
{
        bool same;

        pthread_mutex_lock(&f->lock);
        same = f->file && f->file_len == len && memcmp(f->file, data, len) == 0;
        pthread_mutex_unlock(&f->lock);
        return same;
}

void fake_openai_audio_last_file_meta(struct fake_openai_audio *f, char *filename, size_t fsize,
                                      char *content_type, size_t csize)
{
        pthread_mutex_lock(&f->lock);
        snprintf(filename, fsize, "%s", f->file_name);
        snprintf(content_type, csize, "%s", f->file_type);
        pthread_mutex_unlock(&f->lock);
}

FAKE_HTTP_TEXT(fake_openai_audio, last_auth, auth)

FAKE_HTTP_TEXT(fake_openai_audio, last_request_type, request_type)

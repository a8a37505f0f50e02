/* The speech service as a process on a dev broker with PostgreSQL: text to
 * speech to text round-trips a sentence set through every flite voice and
 * OpenAI's voice names, every output format decodes again, silence and
 * noise alone give empty text, segment timings are monotonic and inside the
 * audio, audio too large for a message goes by claim check both ways, and
 * bad input gets errors that name it. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/claims.h"
#include "cairn/file.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "harness.h"
#include "speech_words.h"

#define REQUESTS "cairn.speech.v1.requests"
#define TOPIC    harness_topic(REQUESTS)
/* Replies larger than this go by claim in this test. */
#define INLINE_MAX 65536

typedef Cairn__Speech__V1__TranscribeReply TranscribeReply;
typedef Cairn__Speech__V1__SynthesizeReply SynthesizeReply;

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;
static struct cairn_pg *pg;
static struct cairn_metrics *metrics;
static struct cairn_claims *claims;
static char dir[256], pg_url[256], model_dir[1024];
static bool have_model;

static const char *const sentences[] = {
        "Please send the quarterly report to the finance team before Friday.",
        "The weather will be sunny tomorrow afternoon.",
        "Our new office has a large kitchen and a quiet library.",
        "Remember to buy milk, bread and eggs on the way home.",
};

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");
        char pg_env[300], model_env[1100], inline_env[64];
        /* borrowed by the pool: it outlives setup() */
        static struct cairn_pg_conf pconf;
        char err[256];

        have_model = harness_model_dir("0064-speech_service", "whisper-tiny.en", model_dir,
                                       sizeof(model_dir));
        if (!have_model)
                return;
        snprintf(dir, sizeof(dir), "%s/speech-svc-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        harness_pg_database(pg_url, sizeof(pg_url));
        harness_broker_start(&broker, 1);
        snprintf(pg_env, sizeof(pg_env), "CAIRN_PG_URL=%s", pg_url);
        snprintf(model_env, sizeof(model_env), "CAIRN_SPEECH_WHISPER_DIR=%s", model_dir);
        snprintf(inline_env, sizeof(inline_env), "CAIRN_SPEECH_INLINE_MAX_BYTES=%d", INLINE_MAX);
        harness_service_start(&svc, &broker, "speech",
                              (const char *const[]){ pg_env, model_env, inline_env, NULL });
        ck_assert_msg(harness_wait_ready(&svc, 60000), "speech not ready (see %s)", svc.log_path);
        harness_client_start(&client, &broker, "itest");
        /* the test's own way to the claim store */
        pconf.url = pg_url;
        pconf.pool_size = 2;
        pconf.connect_timeout_ms = 5000;
        pconf.statement_timeout_ms = 30000;
        pconf.retry_interval_ms = 100;
        metrics = cairn_metrics_new();
        pg = cairn_pg_new(&pconf, metrics, err, sizeof(err));
        ck_assert_msg(pg, "%s", err);
        claims = cairn_claims_new(pg, 600000, metrics, err, sizeof(err));
        ck_assert_msg(claims, "%s", err);
}

static void teardown(void)
{
        char cmd[512];

        if (!have_model)
                return;
        cairn_claims_free(claims);
        cairn_pg_free(pg);
        cairn_metrics_free(metrics);
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&svc, 15000), 0);
        harness_broker_stop(&broker);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        harness_sh(NULL, 0, cmd);
}

/* Reads @p path whole; the bytes in *@p len. */
static uint8_t *slurp(const char *path, size_t *len)
{
        char err[256];
        char *b = cairn_file_read(path, 256u << 20, len, err, sizeof(err));

        ck_assert_msg(b, "%s", err);
        return (uint8_t *)b;
}

/* Runs @p cmd in the test's folder; fails the test when it fails. */
static void sh(const char *cmd)
{
        char out[4096], full[4096];

        snprintf(full, sizeof(full), "cd '%s' && %s", dir, cmd);
        ck_assert_msg(harness_sh(out, sizeof(out), full) == 0, "%s:\n%s", cmd, out);
}

/* An empty Audio (its INIT macro does not brace its oneof). */
static Cairn__Speech__V1__Audio audio_init(void)
{
        Cairn__Speech__V1__Audio a;

        cairn__speech__v1__audio__init(&a);
        return a;
}

static TranscribeReply *transcribe_audio(Cairn__Speech__V1__Audio *audio, bool words,
                                         struct cairn_status *st)
{
        Cairn__Speech__V1__TranscribeRequest req = CAIRN__SPEECH__V1__TRANSCRIBE_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;

        req.audio = audio;
        req.model = "whisper-1";
        req.word_timestamps = words;
        cairn_status_clear(st);
        if (cairn_bus_call(client.cli, TOPIC, "tenant-a", &req.base, NULL,
                           &cairn__speech__v1__transcribe_reply__descriptor, NULL, &reply,
                           st) != CAIRN_OK)
                return NULL;
        return (TranscribeReply *)reply;
}

static TranscribeReply *transcribe_bytes(const uint8_t *b, size_t len, const char *name,
                                         struct cairn_status *st)
{
        Cairn__Speech__V1__Audio a = audio_init();

        a.body_case = CAIRN__SPEECH__V1__AUDIO__BODY_DATA;
        a.data.data = (uint8_t *)b;
        a.data.len = len;
        a.filename = (char *)name;
        return transcribe_audio(&a, false, st);
}

static TranscribeReply *transcribe_file(const char *name)
{
        char path[512];
        struct cairn_status st;
        size_t len;
        uint8_t *b;
        TranscribeReply *r;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        b = slurp(path, &len);
        r = transcribe_bytes(b, len, name, &st);
        free(b);
        ck_assert_msg(r, "%s: %s", name, st.message);
        return r;
}

static SynthesizeReply *synthesize(const char *text, const char *voice,
                                   Cairn__Speech__V1__AudioFormat fmt, float speed,
                                   struct cairn_status *st)
{
        Cairn__Speech__V1__SynthesizeRequest req = CAIRN__SPEECH__V1__SYNTHESIZE_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;

        req.input = (char *)text;
        req.voice = (char *)voice;
        req.format = fmt;
        req.speed = speed;
        req.model = "tts-1";
        cairn_status_clear(st);
        if (cairn_bus_call(client.cli, TOPIC, "tenant-a", &req.base, NULL,
                           &cairn__speech__v1__synthesize_reply__descriptor, NULL, &reply,
                           st) != CAIRN_OK)
                return NULL;
        return (SynthesizeReply *)reply;
}

/* The bytes of a reply's audio: inline, or fetched by its claim. */
static uint8_t *audio_of(const Cairn__Speech__V1__Audio *a, size_t *len)
{
        struct cairn_claim c = { 0 };
        struct cairn_buf b = { 0 };
        char err[256];
        uint8_t *out;

        if (a->body_case == CAIRN__SPEECH__V1__AUDIO__BODY_DATA) {
                out = malloc(a->data.len ? a->data.len : 1);
                memcpy(out, a->data.data, a->data.len);
                *len = a->data.len;
                return out;
        }
        ck_assert_int_eq(a->body_case, CAIRN__SPEECH__V1__AUDIO__BODY_CLAIM);
        snprintf(c.id, sizeof(c.id), "%s", a->claim->id);
        c.size = a->claim->size;
        ck_assert_uint_eq(a->claim->sha256.len, 32);
        memcpy(c.sha256, a->claim->sha256.data, 32);
        ck_assert_int_eq(cairn_claims_get(claims, 0, &c, &b, err, sizeof(err)), CAIRN_OK);
        out = (uint8_t *)b.p;
        *len = b.len;
        return out;
}

/* Lower-case words of @p s without punctuation, space-separated, in @p out. */
static void plain_words(const char *s, char *out, size_t size)
{
        size_t n = 0;
        bool space = true;

        for (; *s && n + 2 < size; s++) {
                unsigned char c = (unsigned char)*s;

                if (isalnum(c)) {
                        out[n++] = (char)tolower(c);
                        space = false;
                } else if (!space && (c == ' ' || c == '-' || c == '\n')) {
                        out[n++] = ' ';
                        space = true;
                }
        }
        while (n && out[n - 1] == ' ')
                n--;
        out[n] = '\0';
}

static void assert_said(const char *heard, const char *said, const char *what)
{
        char a[1024], b[1024];

        plain_words(heard, a, sizeof(a));
        plain_words(said, b, sizeof(b));
        ck_assert_msg(strcmp(a, b) == 0, "%s: heard \"%s\", said \"%s\"", what, heard, said);
}

/* Speaks @p text with @p voice as WAV and transcribes it. */
static TranscribeReply *round_trip(const char *text, const char *voice)
{
        struct cairn_status st;
        SynthesizeReply *s = synthesize(text, voice,
                                        CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_WAV, 0, &st);
        TranscribeReply *t;
        uint8_t *b;
        size_t len;

        ck_assert_msg(s, "%s: %s", voice, st.message);
        ck_assert_str_eq(s->model, "cairn-tts");
        ck_assert_double_gt(s->duration, 1.0);
        b = audio_of(s->audio, &len);
        t = transcribe_bytes(b, len, "speech.wav", &st);
        ck_assert_msg(t, "%s: %s", voice, st.message);
        ck_assert_str_eq(t->model, "whisper-tiny.en");
        ck_assert_str_eq(t->engine, "whisper");
        free(b);
        protobuf_c_message_free_unpacked(&s->base, NULL);
        return t;
}

/* flite's voices: a sentence set spoken and heard back with at most one
 * word in twenty wrong overall. The sentences are ones faster-whisper hears
 * word for word in each voice (it hears "We moved the meeting" as "We move
 * them we take" in awb's, and so do we); kal, an 8 kHz diphone voice, is the
 * least clear. */
START_TEST(test_round_trip_flite_voices)
{
        static const char *const voices[] = { "slt", "kal", "awb", "rms" };
        size_t errors = 0, words = 0;

        if (!have_model)
                return;
        for (size_t v = 0; v < 4; v++)
                for (size_t i = 0; i < 2; i++) {
                        const char *said = sentences[(v + i) % 4];
                        TranscribeReply *t = round_trip(said, voices[v]);
                        size_t n, e = word_errors(t->text, said, &n);

                        printf("voice %-8s heard \"%s\"\n", voices[v], t->text);
                        ck_assert_msg(e <= 1, "%s: heard \"%s\", said \"%s\"", voices[v], t->text,
                                      said);
                        errors += e;
                        words += n;
                        protobuf_c_message_free_unpacked(&t->base, NULL);
                }
        printf("flite voices: word error rate %.1f%% (%zu of %zu words)\n",
               100.0 * (double)errors / (double)words, errors, words);
        ck_assert_uint_le(errors * 20, words);
}
END_TEST

/* Every OpenAI voice name speaks, and its speech is understood. */
START_TEST(test_openai_voice_names)
{
        static const char *const voices[] = { "alloy", "ash",  "ballad", "coral",   "echo", "fable",
                                              "onyx",  "nova", "sage",   "shimmer", "verse" };
        const char *text = "The weather will be sunny tomorrow afternoon.";
        size_t exact = 0, errors = 0, words = 0;

        if (!have_model)
                return;
        for (size_t v = 0; v < sizeof(voices) / sizeof(*voices); v++) {
                TranscribeReply *t = round_trip(text, voices[v]);
                char a[512], b[512];

                plain_words(t->text, a, sizeof(a));
                plain_words(text, b, sizeof(b));
                size_t n, e = word_errors(t->text, text, &n);

                exact += strcmp(a, b) == 0;
                errors += e;
                words += n;
                printf("voice %-8s heard \"%s\"\n", voices[v], t->text);
                ck_assert_msg(strstr(a, "tomorrow"), "%s: heard \"%s\"", voices[v], t->text);
                protobuf_c_message_free_unpacked(&t->base, NULL);
        }
        printf("OpenAI voice names: %zu of 11 word for word, word error rate %.1f%%\n", exact,
               100.0 * (double)errors / (double)words);
        /* espeak-ng's variants are less clear than flite's voices */
        ck_assert_uint_le(errors * 5, words);
}
END_TEST

/* Every output format decodes again, at 24 kHz mono, with the speech in it. */
START_TEST(test_output_formats_decode)
{
        static const struct {
                Cairn__Speech__V1__AudioFormat f;
                const char *ext, *type, *ffmpeg_in;
        } fmts[] = {
                { CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_MP3, "mp3", "audio/mpeg", "" },
                { CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_OPUS, "opus", NULL, "" },
                { CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_AAC, "aac", "audio/aac", "" },
                { CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_FLAC, "flac", "audio/flac", "" },
                { CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_WAV, "wav", "audio/wav", "" },
                { CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM, "pcm", "audio/pcm",
                  "-f s16le -ar 24000 -ac 1 " },
        };
        const char *text = sentences[1];

        if (!have_model)
                return;
        for (size_t i = 0; i < sizeof(fmts) / sizeof(*fmts); i++) {
                struct cairn_status st;
                SynthesizeReply *s = synthesize(text, "slt", fmts[i].f, 0, &st);
                char path[512], cmd[1024], out[256], name[64];
                size_t len;
                uint8_t *b;
                FILE *fp;
                TranscribeReply *t;

                ck_assert_msg(s, "%s: %s", fmts[i].ext, st.message);
                if (fmts[i].type)
                        ck_assert_str_eq(s->audio->content_type, fmts[i].type);
                b = audio_of(s->audio, &len);
                snprintf(name, sizeof(name), "out.%s", fmts[i].ext);
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                fp = fopen(path, "wb");
                ck_assert_ptr_nonnull(fp);
                ck_assert_uint_eq(fwrite(b, 1, len, fp), len);
                fclose(fp);
                free(b);
                /* FFmpeg's reading of it: 24 kHz, one channel */
                snprintf(cmd, sizeof(cmd),
                         "cd '%s' && ffprobe -v error %s -i %s -show_entries "
                         "stream=sample_rate,channels -of csv=p=0",
                         dir, fmts[i].ffmpeg_in, name);
                ck_assert_int_eq(harness_sh(out, sizeof(out), cmd), 0);
                /* Opus decoders always give 48 kHz: its header keeps the 24 kHz input rate */
                if (fmts[i].f == CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_OPUS)
                        ck_assert_msg(strncmp(out, "48000,1", 7) == 0, "%s: ffprobe says %s", name,
                                      out);
                else
                        ck_assert_msg(strncmp(out, "24000,1", 7) == 0, "%s: ffprobe says %s", name,
                                      out);
                /* and ours, back to words (pcm has no header: made WAV first) */
                if (fmts[i].f == CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_PCM) {
                        sh("ffmpeg -v error -y -f s16le -ar 24000 -ac 1 -i out.pcm out-pcm.wav");
                        snprintf(name, sizeof(name), "out-pcm.wav");
                }
                t = transcribe_file(name);
                assert_said(t->text, text, fmts[i].ext);
                protobuf_c_message_free_unpacked(&t->base, NULL);
                protobuf_c_message_free_unpacked(&s->base, NULL);
        }
}
END_TEST

START_TEST(test_silence_and_noise_give_empty_text)
{
        static const char *const makes[] = {
                "ffmpeg -v error -y -f lavfi -i anullsrc=r=16000:cl=mono -t 5 silence.wav",
                "ffmpeg -v error -y -f lavfi -i anoisesrc=d=5:c=white:a=0.2:r=16000 white.wav",
                "ffmpeg -v error -y -f lavfi -i anoisesrc=d=5:c=pink:a=0.3:r=16000 pink.wav",
                "ffmpeg -v error -y -f lavfi -i sine=f=50:d=5:r=16000 hum.wav",
        };
        static const char *const names[] = { "silence.wav", "white.wav", "pink.wav", "hum.wav" };

        if (!have_model)
                return;
        for (size_t i = 0; i < 4; i++) {
                TranscribeReply *t;

                sh(makes[i]);
                t = transcribe_file(names[i]);
                ck_assert_msg(t->text[0] == '\0' && t->n_segments == 0, "%s: heard \"%s\"",
                              names[i], t->text);
                ck_assert_double_gt(t->duration, 4.9);
                protobuf_c_message_free_unpacked(&t->base, NULL);
        }
}
END_TEST

/* A recording of several sentences with pauses: segments in time order,
 * inside the audio, words inside their segments. */
START_TEST(test_segment_timings)
{
        Cairn__Speech__V1__Audio a = audio_init();
        struct cairn_status st;
        char path[512];
        TranscribeReply *t;
        uint8_t *b;
        size_t len;
        double last = 0;

        if (!have_model)
                return;
        sh("flite -voice slt -t 'Please send the quarterly report to the finance team before "
           "Friday.' -o a.wav && flite -voice kal -t 'We moved the meeting to the third floor "
           "conference room.' -o b.wav && ffmpeg -v error -y -i a.wav -f lavfi -t 2 -i "
           "anullsrc=r=16000:cl=mono -i b.wav -filter_complex "
           "'[0:a]aresample=16000[x];[2:a]aresample=16000[y];[x][1:a][y]concat=n=3:v=0:a=1' "
           "long.flac");
        snprintf(path, sizeof(path), "%s/long.flac", dir);
        b = slurp(path, &len);
        a.body_case = CAIRN__SPEECH__V1__AUDIO__BODY_DATA;
        a.data.data = b;
        a.data.len = len;
        t = transcribe_audio(&a, true, &st);
        free(b);
        ck_assert_msg(t, "%s", st.message);
        ck_assert_uint_ge(t->n_segments, 1);
        for (size_t i = 0; i < t->n_segments; i++) {
                ck_assert_double_ge(t->segments[i]->start, last - 1e-6);
                ck_assert_double_gt(t->segments[i]->end, t->segments[i]->start);
                ck_assert_double_le(t->segments[i]->end, t->duration + 1e-6);
                last = t->segments[i]->end;
        }
        last = 0;
        ck_assert_uint_ge(t->n_words, 15);
        for (size_t i = 0; i < t->n_words; i++) {
                ck_assert_double_ge(t->words[i]->start, last - 1e-6);
                ck_assert_double_ge(t->words[i]->end, t->words[i]->start);
                ck_assert_double_le(t->words[i]->end, t->duration + 1e-6);
                last = t->words[i]->end;
        }
        ck_assert_msg(strstr(t->text, "quarterly") && strstr(t->text, "conference"), "heard %s",
                      t->text);
        protobuf_c_message_free_unpacked(&t->base, NULL);
}
END_TEST

/* A WAV over the inline limit goes by claim both ways: the reply's audio,
 * and a request whose audio the test stored. */
START_TEST(test_claim_check_both_ways)
{
        Cairn__Speech__V1__Audio a = audio_init();
        Cairn__Speech__V1__Claim pc = CAIRN__SPEECH__V1__CLAIM__INIT;
        struct cairn_claim c;
        struct cairn_status st;
        SynthesizeReply *s;
        TranscribeReply *t;
        char err[256];
        uint8_t *b;
        size_t len;

        if (!have_model)
                return;
        s = synthesize(sentences[0], "slt", CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_WAV, 0,
                       &st);
        ck_assert_msg(s, "%s", st.message);
        ck_assert_int_eq(s->audio->body_case, CAIRN__SPEECH__V1__AUDIO__BODY_CLAIM);
        ck_assert_uint_gt(s->audio->claim->size, INLINE_MAX);
        b = audio_of(s->audio, &len);
        ck_assert_uint_eq(len, s->audio->claim->size);
        /* the test's own claim of the same bytes, transcribed */
        ck_assert_int_eq(cairn_claims_put(claims, 0, b, len, &c, err, sizeof(err)), CAIRN_OK);
        pc.id = c.id;
        pc.size = c.size;
        pc.sha256.data = c.sha256;
        pc.sha256.len = 32;
        a.body_case = CAIRN__SPEECH__V1__AUDIO__BODY_CLAIM;
        a.claim = &pc;
        t = transcribe_audio(&a, false, &st);
        ck_assert_msg(t, "%s", st.message);
        assert_said(t->text, sentences[0], "by claim");
        protobuf_c_message_free_unpacked(&t->base, NULL);
        /* a claim nobody stored */
        pc.id = "00000000-0000-4000-8000-000000000000";
        t = transcribe_audio(&a, false, &st);
        ck_assert_ptr_null(t);
        ck_assert_int_eq(st.code, CAIRN_ERR_NOT_FOUND);
        free(b);
        protobuf_c_message_free_unpacked(&s->base, NULL);
}
END_TEST

static void expect_transcribe_error(const void *b, size_t len, const char *name, cairn_err_t code,
                                    const char *needle)
{
        struct cairn_status st;
        TranscribeReply *t = transcribe_bytes(b, len, name, &st);

        ck_assert_msg(!t, "%s: no error", name);
        ck_assert_msg(st.code == code && strstr(st.message, needle), "%s: %s %s", name,
                      cairn_err_str(st.code), st.message);
}

START_TEST(test_bad_audio)
{
        static const uint8_t png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                       'I',  'H', 'D', 'R', 0,    0,    0,    1,    0, 0, 0, 1 };
        char path[512];
        uint8_t *b;
        size_t len;

        if (!have_model)
                return;
        expect_transcribe_error("", 0, "empty.wav", CAIRN_ERR_INVALID, "empty");
        expect_transcribe_error(png, sizeof(png), "photo.mp3", CAIRN_ERR_INVALID, "PNG");
        expect_transcribe_error("hello, this is text", 19, "notes.wav", CAIRN_ERR_INVALID, "text");
        sh("flite -voice slt -t 'A short sentence for a truncated file.' -o t.wav && "
           "ffmpeg -v error -y -i t.wav t.mp3");
        snprintf(path, sizeof(path), "%s/t.mp3", dir);
        b = slurp(path, &len);
        expect_transcribe_error(b, 40, "t.mp3", CAIRN_ERR_INVALID, "");
        free(b);
}
END_TEST

/* The error of a transcription in @p language with @p model, of four bytes
 * of audio or of none; its message must say why. */
static cairn_err_t transcribe_error(const char *language, const char *model, bool audio)
{
        Cairn__Speech__V1__TranscribeRequest tr = CAIRN__SPEECH__V1__TRANSCRIBE_REQUEST__INIT;
        Cairn__Speech__V1__Audio a = audio_init();
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;

        a.body_case = CAIRN__SPEECH__V1__AUDIO__BODY_DATA;
        a.data.data = (uint8_t *)"RIFF";
        a.data.len = 4;
        tr.audio = audio ? &a : NULL;
        tr.language = (char *)language;
        tr.model = (char *)model;
        ck_assert_int_ne(cairn_bus_call(client.cli, TOPIC, "tenant-a", &tr.base, NULL,
                                        &cairn__speech__v1__transcribe_reply__descriptor, NULL,
                                        &reply, &st),
                         CAIRN_OK);
        if (*language)
                ck_assert_msg(strstr(st.message, "English"), "%s", st.message);
        ck_assert_msg(st.message[0], "no message");
        return st.code;
}

START_TEST(test_bad_requests)
{
        struct cairn_status st;
        char *long_text;

        if (!have_model)
                return;
        ck_assert_ptr_null(synthesize("", "alloy", 0, 0, &st));
        ck_assert_int_eq(st.code, CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "input");
        long_text = malloc(4098);
        memset(long_text, 'a', 4097);
        long_text[4097] = '\0';
        ck_assert_ptr_null(synthesize(long_text, "alloy", 0, 0, &st));
        ck_assert_int_eq(st.code, CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(st.message, "4097"), "%s", st.message);
        free(long_text);
        ck_assert_ptr_null(synthesize("Hello.", "no-such-voice", 0, 0, &st));
        ck_assert_int_eq(st.code, CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(st.message, "no-such-voice"), "%s", st.message);
        ck_assert_ptr_null(synthesize("Hello.", "alloy", 0, 4.5f, &st));
        ck_assert_str_eq(st.field, "speed");
        ck_assert_ptr_null(
                synthesize("Hello.", "alloy", (Cairn__Speech__V1__AudioFormat)17, 0, &st));
        ck_assert_str_eq(st.field, "format");
        /* French needs a provider this service does not have */
        ck_assert_int_eq(transcribe_error("fr", "", true), CAIRN_ERR_PRECONDITION);
        ck_assert_int_eq(transcribe_error("", "whisper-large", true), CAIRN_ERR_NOT_FOUND);
        /* no audio at all */
        ck_assert_int_eq(transcribe_error("", "", false), CAIRN_ERR_INVALID);
}
END_TEST

START_TEST(test_voices_and_models)
{
        Cairn__Speech__V1__ListVoicesRequest vr = CAIRN__SPEECH__V1__LIST_VOICES_REQUEST__INIT;
        Cairn__Speech__V1__ListModelsRequest mr = CAIRN__SPEECH__V1__LIST_MODELS_REQUEST__INIT;
        Cairn__Speech__V1__ListVoicesReply *v = NULL;
        Cairn__Speech__V1__ListModelsReply *m = NULL;
        struct cairn_status st;
        size_t aliases = 0;
        bool slt = false, fr = false;

        if (!have_model)
                return;
        ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "tenant-a", &vr.base, NULL,
                                        &cairn__speech__v1__list_voices_reply__descriptor, NULL,
                                        (ProtobufCMessage **)&v, &st),
                         CAIRN_OK);
        for (size_t i = 0; i < v->n_voices; i++) {
                slt |= strcmp(v->voices[i]->name, "slt") == 0;
                fr |= strcmp(v->voices[i]->language, "fr") == 0;
                aliases += v->voices[i]->n_aliases;
        }
        ck_assert(slt && fr);
        ck_assert_uint_ge(aliases, 11);
        protobuf_c_message_free_unpacked(&v->base, NULL);
        ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "tenant-a", &mr.base, NULL,
                                        &cairn__speech__v1__list_models_reply__descriptor, NULL,
                                        (ProtobufCMessage **)&m, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(m->n_models, 2);
        ck_assert_str_eq(m->models[0]->id, "whisper-tiny.en");
        ck_assert_str_eq(m->models[0]->aliases[0], "whisper-1");
        ck_assert_str_eq(m->models[1]->task, "speech");
        protobuf_c_message_free_unpacked(&m->base, NULL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0064-speech_service");
        TCase *tc = tcase_create("service");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 600);
        /* The engines' work does not depend on the broker: the Apache pass
         * runs what goes through the bus and the claim store only, and so
         * does the coverage pass (the unit tests cover the engines; at -O0
         * these took 75 s of it). */
        if (!harness_apache() && !harness_coverage()) {
                tcase_add_test(tc, test_round_trip_flite_voices);
                tcase_add_test(tc, test_openai_voice_names);
                tcase_add_test(tc, test_output_formats_decode);
                tcase_add_test(tc, test_silence_and_noise_give_empty_text);
        }
        tcase_add_test(tc, test_segment_timings);
        tcase_add_test(tc, test_claim_check_both_ways);
        tcase_add_test(tc, test_bad_audio);
        tcase_add_test(tc, test_bad_requests);
        tcase_add_test(tc, test_voices_and_models);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

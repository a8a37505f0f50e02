/* The remote speech provider against the fake OpenAI audio server (real
 * HTTP on 127.0.0.1): its settings and their checks; a transcription with
 * every field passed through as multipart/form-data and the verbose_json
 * answer mapped; speech bytes returned with their Content-Type; the API
 * key from a file or from the secrets service (a fetch of the test's own)
 * as a Bearer header; 429 and 5xx retried; answers mapped to error codes
 * with the provider's message (400, 401, 413, 429, 5xx, not JSON, JSON
 * instead of audio, a deadline, a provider that is down); an open breaker
 * that says why. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/conf.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "fake_openai_audio.h"
#include "harness.h"
#include "provider_test.h"
#include "speech/remote.h"

#define KEY "sk-test-0123456789"

static struct fake_openai_audio *fake;
static struct sp_remote *remote;
static struct cairn_metrics *metrics;
static struct cairn_resilience_conf res;
static struct sp_remote_conf conf;
static struct cairn_conf *loaded;
static char url[96], dir[256];
static const uint8_t clip[] = { 'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E', 0xff, 0x00 };

/* Loads the section from @p env (NULL-terminated CAIRN_* settings). */
static int load(char *const *env, char *errstr, size_t size)
{
        struct cairn_conf_section sec = sp_remote_conf_section(&conf);

        cairn_conf_free(loaded);
        memset(&conf, 0, sizeof(conf));
        loaded = cairn_conf_load(NULL, &sec, 1, env, errstr, size);
        return loaded ? 0 : -1;
}

static void load_ok(const char *extra1, const char *extra2)
{
        char u[160], errstr[512];
        char *env[] = { u, (char *)extra1, (char *)extra2, NULL };

        snprintf(u, sizeof(u), "CAIRN_SPEECH_REMOTE_URL=%s", url);
        ck_assert_msg(load(env, errstr, sizeof(errstr)) == 0, "%s", errstr);
}

static void start_remote(struct cairn_secret_refs *secrets)
{
        char errstr[512];

        remote = sp_remote_new(&conf, &res, secrets, metrics, errstr, sizeof(errstr));
        ck_assert_msg(remote != NULL, "%s", errstr);
}

static void setup(void)
{
        provider_test_dir(dir, sizeof(dir), "sp-remote");
        fake = fake_openai_audio_start();
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", fake_openai_audio_port(fake));
        metrics = cairn_metrics_new();
        provider_test_resilience(&res, SP_REMOTE_DEPENDENCY);
        load_ok(NULL, NULL);
}

static void teardown(void)
{
        sp_remote_free(remote);
        remote = NULL;
        fake_openai_audio_stop(fake);
        cairn_metrics_free(metrics);
        cairn_conf_free(loaded);
        loaded = NULL;
        provider_test_dir_remove(dir);
}

static cairn_err_t transcribe(const char *language, int timeout_ms,
                              Cairn__Speech__V1__TranscribeReply **out, struct cairn_status *st)
{
        Cairn__Speech__V1__TranscribeRequest req = CAIRN__SPEECH__V1__TRANSCRIBE_REQUEST__INIT;

        req.language = (char *)language;
        cairn_status_clear(st);
        return sp_remote_transcribe(remote, &req, clip, sizeof(clip), cairn_now_ms() + timeout_ms,
                                    NULL, NULL, out, st);
}

static void assert_failed(cairn_err_t err, cairn_err_t want, const struct cairn_status *st,
                          const char *what)
{
        ck_assert_msg(err == want, "%s, not %s: %s", cairn_err_str(err), cairn_err_str(want),
                      st->message);
        ck_assert_msg(strstr(st->message, what) != NULL, "\"%s\" lacks \"%s\"", st->message, what);
}

/* Transcription fails as @p want saying @p what, leaving nothing. */
static void transcribe_fails(cairn_err_t want, const char *what, struct cairn_status *st)
{
        Cairn__Speech__V1__TranscribeReply *r = (void *)1;

        assert_failed(transcribe("en", 5000, &r, st), want, st, what);
        ck_assert_ptr_null(r);
}

static double metric(const char *name, const char *labels)
{
        char *text = cairn_metrics_render(metrics, NULL), key[256], *p;
        double v = -1;

        snprintf(key, sizeof(key), "\n%s{%s} ", name, labels);
        p = strstr(text, key);
        if (p)
                v = strtod(p + strlen(key), NULL);
        free(text);
        return v;
}

/* ---- settings ---- */

START_TEST(test_sp_remote_conf_section_checks)
{
        static const struct {
                const char *a, *b, *why;
        } bad[] = {
                { "CAIRN_SPEECH_REMOTE_URL=ftp://x", NULL, "is not an http:// or https:// URL" },
                { "CAIRN_SPEECH_REMOTE_URL=http://x", "CAIRN_SPEECH_REMOTE_TASKS=speech,dance",
                  "\"dance\" is not one of transcription, speech" },
                { "CAIRN_SPEECH_REMOTE_URL=http://x", "CAIRN_SPEECH_REMOTE_TASKS=,",
                  "speech.remote.tasks: empty" },
                { "CAIRN_SPEECH_REMOTE_URL=http://x",
                  "CAIRN_SPEECH_REMOTE_SPEECH_MODEL=", "speech.remote.speech_model: empty" },
                { "CAIRN_SPEECH_REMOTE_URL=", "CAIRN_SPEECH_REMOTE_API_KEY_SECRET=a/b#c",
                  "speech.remote.url is empty" },
                { "CAIRN_SPEECH_REMOTE_URL=http://x", "CAIRN_SPEECH_REMOTE_API_KEY_SECRET=nohash",
                  "speech.remote.api_key_secret" },
        };
        char errstr[512];

        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                char *env[] = { (char *)bad[i].a, (char *)bad[i].b, NULL };

                ck_assert_int_eq(load(env, errstr, sizeof(errstr)), -1);
                ck_assert_msg(strstr(errstr, bad[i].why), "%zu: \"%s\" lacks \"%s\"", i, errstr,
                              bad[i].why);
        }
        /* none: no provider */
        ck_assert_int_eq(load((char *[]){ NULL }, errstr, sizeof(errstr)), 0);
        ck_assert(!sp_remote_conf_enabled(&conf));
        load_ok("CAIRN_SPEECH_REMOTE_TASKS= speech ", NULL);
        ck_assert(sp_remote_conf_enabled(&conf));
        ck_assert(!sp_remote_conf_wants_secrets(&conf));
        ck_assert_int_eq(sp_remote_conf_tasks(&conf), SP_REMOTE_SPEECH);
        start_remote(NULL);
        ck_assert(sp_remote_serves(remote, SP_REMOTE_SPEECH));
        ck_assert(!sp_remote_serves(remote, SP_REMOTE_TRANSCRIPTION));
        ck_assert_str_eq(sp_remote_transcription_model(remote), "whisper-1");
        ck_assert_str_eq(sp_remote_speech_model(remote), "tts-1");
        ck_assert_msg(strncmp(sp_remote_name(remote), "127.0.0.1:", 10) == 0, "%s",
                      sp_remote_name(remote));
}
END_TEST

/* ---- transcriptions ---- */

START_TEST(test_sp_remote_transcribe_passes_fields_through)
{
        Cairn__Speech__V1__TranscribeRequest req = CAIRN__SPEECH__V1__TRANSCRIBE_REQUEST__INIT;
        Cairn__Speech__V1__Audio audio;
        Cairn__Speech__V1__TranscribeReply *r = NULL;
        char buf[256], type[128];
        struct cairn_status st;
        cairn_err_t err;

        load_ok("CAIRN_SPEECH_REMOTE_TRANSCRIPTION_MODEL=Systran/faster-whisper-small", NULL);
        start_remote(NULL);
        cairn__speech__v1__audio__init(&audio);
        audio.filename = "call.wav";
        audio.content_type = "audio/wav";
        req.audio = &audio;
        req.language = "de";
        req.prompt = "Namen: Zoë, Jürgen.";
        req.temperature = 0.25f;
        req.word_timestamps = true;
        err = sp_remote_transcribe(remote, &req, clip, sizeof(clip), 0, NULL, NULL, &r, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        /* what the provider received */
        ck_assert_uint_eq(fake_openai_audio_transcriptions(fake), 1);
        fake_openai_audio_last_request_type(fake, buf, sizeof(buf));
        ck_assert_msg(strncmp(buf, "multipart/form-data; boundary=", 30) == 0, "%s", buf);
        ck_assert(fake_openai_audio_last_file_is(fake, clip, sizeof(clip)));
        fake_openai_audio_last_file_meta(fake, buf, sizeof(buf), type, sizeof(type));
        ck_assert_str_eq(buf, "call.wav");
        ck_assert_str_eq(type, "audio/wav");
#define FIELD_IS(name, nth, want)                                                              \
        do {                                                                                   \
                ck_assert_msg(fake_openai_audio_last_field(fake, name, nth, buf, sizeof(buf)), \
                              "no %s", name);                                                  \
                ck_assert_str_eq(buf, want);                                                   \
        } while (0)
        FIELD_IS("model", 0, "Systran/faster-whisper-small");
        FIELD_IS("language", 0, "de");
        FIELD_IS("prompt", 0, "Namen: Zoë, Jürgen.");
        FIELD_IS("response_format", 0, "verbose_json");
        FIELD_IS("temperature", 0, "0.25");
        FIELD_IS("timestamp_granularities[]", 0, "segment");
        FIELD_IS("timestamp_granularities[]", 1, "word");
        fake_openai_audio_last_auth(fake, buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        /* what came back: the fake's fixed transcript */
        ck_assert_str_eq(r->text, "Hello world.");
        ck_assert_str_eq(r->language, "de");
        ck_assert_str_eq(r->engine, "remote");
        ck_assert_str_eq(r->model, "Systran/faster-whisper-small");
        ck_assert_double_eq_tol(r->duration, sizeof(clip) / 32000.0, 1e-9);
        ck_assert_uint_eq(r->n_segments, 2);
        ck_assert_str_eq(r->segments[1]->text, " world.");
        ck_assert_uint_eq(r->segments[1]->n_tokens, 3);
        ck_assert_float_eq_tol(r->segments[0]->temperature, 0.25f, 1e-6);
        ck_assert_uint_eq(r->n_words, 2);
        ck_assert_str_eq(r->words[1]->word, "world.");
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        /* without language, prompt or words: those fields are not sent */
        err = transcribe("", 5000, &r, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert(!fake_openai_audio_last_field(fake, "language", 0, buf, sizeof(buf)));
        ck_assert(!fake_openai_audio_last_field(fake, "prompt", 0, buf, sizeof(buf)));
        ck_assert(!fake_openai_audio_last_field(fake, "timestamp_granularities[]", 1, buf,
                                                sizeof(buf)));
        fake_openai_audio_last_file_meta(fake, buf, sizeof(buf), type, sizeof(type));
        ck_assert_str_eq(buf, "audio");
        ck_assert_str_eq(r->language, "en");
        ck_assert_uint_eq(r->n_words, 0);
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        snprintf(buf, sizeof(buf), "provider=\"%s\",code=\"200\"", sp_remote_name(remote));
        ck_assert_double_eq(metric("cairn_speech_remote_requests_total", buf), 2);
        /* a temperature out of range never reaches the provider */
        req.temperature = 1.5f;
        err = sp_remote_transcribe(remote, &req, clip, sizeof(clip), 0, NULL, NULL, &r, &st);
        assert_failed(err, CAIRN_ERR_INVALID, &st, "temperature: 1.5 is not between 0 and 1");
        ck_assert_uint_eq(fake_openai_audio_transcriptions(fake), 2);
}
END_TEST

START_TEST(test_sp_remote_transcribe_large_upload)
{
        Cairn__Speech__V1__TranscribeRequest req = CAIRN__SPEECH__V1__TRANSCRIBE_REQUEST__INIT;
        Cairn__Speech__V1__TranscribeReply *r = NULL;
        size_t len = 25u << 20;
        uint8_t *big = malloc(len);
        struct cairn_status st;
        cairn_err_t err;
        int64_t t0;

        ck_assert_ptr_nonnull(big);
        for (size_t i = 0; i < len; i++)
                big[i] = (uint8_t)(i * 131 + (i >> 13));
        start_remote(NULL);
        t0 = cairn_mono_us();
        err = sp_remote_transcribe(remote, &req, big, len, 0, NULL, NULL, &r, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        printf("speech_remote: 25 MiB upload and answer in %.0f ms\n",
               (cairn_mono_us() - t0) / 1e3);
        ck_assert(fake_openai_audio_last_file_is(fake, big, len));
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        free(big);
}
END_TEST

START_TEST(test_sp_remote_transcribe_errors_mapped)
{
        struct cairn_status st;

        start_remote(NULL);
        /* the caller's request, refused: INVALID with the provider's message */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .fail_status = 400,
                                            .fail_count = 1,
                                            .fail_message = "Invalid file format. Supported "
                                                            "formats: ['flac', 'mp3']" });
        transcribe_fails(CAIRN_ERR_INVALID, "HTTP 400: Invalid file format. Supported", &st);
        ck_assert_str_eq(st.reason, "UPSTREAM_REJECTED");
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .fail_status = 413,
                                            .fail_count = 1,
                                            .fail_message = "Maximum content size limit" });
        transcribe_fails(CAIRN_ERR_INVALID, "HTTP 413: Maximum content size limit", &st);
        /* answers that are no transcription: not retried */
        fake_openai_audio_set(fake,
                              &(struct fake_openai_audio_mode){ .body = "<html>oops</html>",
                                                                .content_type = "text/html" });
        transcribe_fails(CAIRN_ERR_UNAVAILABLE, "malformed transcription: not JSON", &st);
        ck_assert_str_eq(st.reason, "UPSTREAM_BAD_RESPONSE");
        ck_assert_msg(strncmp(st.message, "provider 127.0.0.1:", 19) == 0, "%s", st.message);
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .body = "{\"text\":\"a\",\"segments\":[{\"start\":1}]}",
                                            .content_type = "application/json" });
        transcribe_fails(CAIRN_ERR_UNAVAILABLE, "segments[0].end is missing", &st);
        ck_assert_uint_eq(fake_openai_audio_transcriptions(fake), 4);
}
END_TEST

START_TEST(test_sp_remote_transcribe_retries_429_and_5xx)
{
        Cairn__Speech__V1__TranscribeReply *r = NULL;
        struct cairn_status st;
        cairn_err_t err;
        char labels[128];
        int64_t t0;

        start_remote(NULL);
        /* twice 503, then an answer */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .fail_status = 503,
                                                                      .fail_count = 2 });
        err = transcribe("en", 5000, &r, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        ck_assert_uint_eq(fake_openai_audio_transcriptions(fake), 3);
        /* the upload went whole each time */
        ck_assert(fake_openai_audio_last_file_is(fake, clip, sizeof(clip)));
        /* 429 with Retry-After, then an answer */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .fail_status = 429,
                                            .fail_count = 1,
                                            .fail_message = "Rate limit reached",
                                            .retry_after = "0.2" });
        t0 = cairn_now_ms();
        err = transcribe("en", 5000, &r, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_int_ge(cairn_now_ms() - t0, 190);
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        /* 429 for good: RESOURCE_EXHAUSTED once the attempts are used */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .fail_status = 429,
                                            .fail_count = -1,
                                            .fail_message = "Rate limit reached" });
        transcribe_fails(CAIRN_ERR_EXHAUSTED, "HTTP 429 (rate limited): Rate limit reached", &st);
        /* 5xx for good: UNAVAILABLE with the provider's message */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .fail_status = 500,
                                            .fail_count = -1,
                                            .fail_message = "The server had an error" });
        transcribe_fails(CAIRN_ERR_UNAVAILABLE, "HTTP 500: The server had an error", &st);
        ck_assert_uint_eq(fake_openai_audio_transcriptions(fake), 3 + 2 + 3 + 3);
        snprintf(labels, sizeof(labels), "provider=\"%s\",code=\"503\"", sp_remote_name(remote));
        ck_assert_double_eq(metric("cairn_speech_remote_requests_total", labels), 2);
}
END_TEST

START_TEST(test_sp_remote_transcribe_deadline_and_down)
{
        Cairn__Speech__V1__TranscribeReply *r = (void *)1;
        struct cairn_status st;
        int64_t t0;

        start_remote(NULL);
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .delay_ms = 3000 });
        t0 = cairn_now_ms();
        assert_failed(transcribe("en", 300, &r, &st), CAIRN_ERR_DEADLINE, &st,
                      "did not answer before the request's deadline");
        ck_assert_ptr_null(r);
        ck_assert_int_lt(cairn_now_ms() - t0, 1500);
        for (int i = 0; i < 100 && fake_openai_audio_aborted(fake) == 0; i++)
                provider_test_msleep(10);
        ck_assert_uint_eq(fake_openai_audio_aborted(fake), 1);
        /* the provider gone: UNAVAILABLE, naming it */
        fake_openai_audio_stop(fake);
        fake = NULL;
        assert_failed(transcribe("en", 2000, &r, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "provider 127.0.0.1:");
        ck_assert_str_eq(st.reason, "UPSTREAM_UNREACHABLE");
}
END_TEST

START_TEST(test_sp_remote_breaker_says_why)
{
        struct cairn_status st;

        res.max_attempts = 1;
        res.breaker_failures = 2;
        start_remote(NULL);
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .fail_status = 502,
                                            .fail_count = -1,
                                            .fail_message = "Bad gateway upstream" });
        for (int i = 0; i < 2; i++)
                transcribe_fails(CAIRN_ERR_UNAVAILABLE, "HTTP 502: Bad gateway upstream", &st);
        transcribe_fails(CAIRN_ERR_UNAVAILABLE, "last failure: provider", &st);
        ck_assert_str_eq(st.reason, "BREAKER_OPEN");
        ck_assert_msg(strstr(st.message, "Bad gateway upstream"), "%s", st.message);
        ck_assert_uint_eq(fake_openai_audio_transcriptions(fake), 2);
}
END_TEST

/* ---- the API key ---- */

static const char *key_file(const char *key)
{
        return provider_test_key_file(dir, "openai.key", key);
}

START_TEST(test_sp_remote_key_from_file)
{
        Cairn__Speech__V1__TranscribeReply *r = NULL;
        char env[512], buf[128];
        struct cairn_status st;
        cairn_err_t err;

        /* no key, and the provider wants one: ours to fix */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .api_key = KEY });
        start_remote(NULL);
        transcribe_fails(CAIRN_ERR_UNAVAILABLE,
                         "it may want an API key, set speech.remote.api_key_file", &st);
        ck_assert_str_eq(st.reason, "UPSTREAM_REFUSED");
        ck_assert_msg(strstr(st.message, "Incorrect API key provided"), "%s", st.message);
        sp_remote_free(remote);
        remote = NULL;
        snprintf(env, sizeof(env), "CAIRN_SPEECH_REMOTE_API_KEY_FILE=%s", key_file(KEY));
        load_ok(env, NULL);
        start_remote(NULL);
        err = transcribe("en", 5000, &r, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
        fake_openai_audio_last_auth(fake, buf, sizeof(buf));
        ck_assert_str_eq(buf, "Bearer " KEY);
        /* a key the provider does not take: named, never shown */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .api_key = "other" });
        transcribe_fails(CAIRN_ERR_UNAVAILABLE,
                         "refused our API key (HTTP 401: Incorrect API key provided): check "
                         "speech.remote.api_key_file",
                         &st);
        ck_assert_msg(!strstr(st.message, KEY), "%s", st.message);
}
END_TEST

static struct provider_test_secret secret = { "services/speech/openai", "" };

START_TEST(test_sp_remote_key_from_secrets_service)
{
        struct cairn_secret_ref_conf sconf = {
                "cairn.secrets.v1.requests", "cairn", "", 60000, 120000, 20, 1000
        };
        Cairn__Speech__V1__SynthesizeRequest req = CAIRN__SPEECH__V1__SYNTHESIZE_REQUEST__INIT;
        struct sp_remote_speech out;
        struct cairn_secret_refs *refs;
        char buf[128], errstr[256];
        struct cairn_status st;
        cairn_err_t err;

        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .api_key = KEY });
        load_ok("CAIRN_SPEECH_REMOTE_API_KEY_SECRET=services/speech/openai#api_key", NULL);
        ck_assert(sp_remote_conf_wants_secrets(&conf));
        ck_assert_ptr_null(sp_remote_new(&conf, &res, NULL, metrics, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "no client of the secrets service"), "%s", errstr);
        secret.json[0] = '\0';
        refs = cairn_secret_refs_new_with(&sconf, provider_test_fetch_secret, &secret, NULL);
        start_remote(refs);
        req.input = "Hello";
        /* no secret yet: the provider is not called */
        err = sp_remote_synthesize(remote, &req, cairn_now_ms() + 300, NULL, &out, &st);
        assert_failed(err, CAIRN_ERR_UNAVAILABLE, &st, "services/speech/openai#api_key");
        ck_assert_str_eq(st.reason, "SECRET_UNAVAILABLE");
        ck_assert_uint_eq(fake_openai_audio_speeches(fake), 0);
        snprintf(secret.json, sizeof(secret.json), "{\"api_key\":\"%s\"}", KEY);
        provider_test_msleep(50);
        err = sp_remote_synthesize(remote, &req, cairn_now_ms() + 5000, NULL, &out, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        sp_remote_speech_cleanup(&out);
        fake_openai_audio_last_auth(fake, buf, sizeof(buf));
        ck_assert_str_eq(buf, "Bearer " KEY);
        sp_remote_free(remote);
        remote = NULL;
        cairn_secret_refs_free(refs);
}
END_TEST

/* ---- speech ---- */

START_TEST(test_sp_remote_synthesize_returns_audio)
{
        Cairn__Speech__V1__SynthesizeRequest req = CAIRN__SPEECH__V1__SYNTHESIZE_REQUEST__INIT;
        struct sp_remote_speech out;
        struct cairn_status st;
        char buf[128], *want;
        cairn_err_t err;
        size_t len;

        load_ok("CAIRN_SPEECH_REMOTE_SPEECH_MODEL=kokoro", NULL);
        start_remote(NULL);
        req.input = "Grüß Gott, \"world\".";
        req.voice = "nova";
        req.format = CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_FLAC;
        req.speed = 1.25f;
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        want = fake_openai_audio_speech_bytes("flac", req.input, &len);
        ck_assert_uint_eq(out.len, len);
        ck_assert(memcmp(out.data, want, len) == 0);
        ck_assert_str_eq(out.content_type, "audio/flac");
        free(want);
        sp_remote_speech_cleanup(&out);
        ck_assert_ptr_null(out.data);
        fake_openai_audio_last_request_type(fake, buf, sizeof(buf));
        ck_assert_str_eq(buf, "application/json");
        fake_openai_audio_last_field(fake, "model", 0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "kokoro");
        fake_openai_audio_last_field(fake, "input", 0, buf, sizeof(buf));
        ck_assert_str_eq(buf, req.input);
        fake_openai_audio_last_field(fake, "voice", 0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "nova");
        fake_openai_audio_last_field(fake, "response_format", 0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "flac");
        fake_openai_audio_last_field(fake, "speed", 0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "1.25");
        /* the defaults: mp3, voice alloy, no speed sent */
        req = (Cairn__Speech__V1__SynthesizeRequest)CAIRN__SPEECH__V1__SYNTHESIZE_REQUEST__INIT;
        req.input = "Hi";
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_str_eq(out.content_type, "audio/mpeg");
        sp_remote_speech_cleanup(&out);
        fake_openai_audio_last_field(fake, "voice", 0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "alloy");
        ck_assert(!fake_openai_audio_last_field(fake, "speed", 0, buf, sizeof(buf)));
        /* audio without a Content-Type: the format's */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .body = "ID3audio" });
        req.format = CAIRN__SPEECH__V1__AUDIO_FORMAT__AUDIO_FORMAT_WAV;
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_str_eq(out.content_type, "audio/wav");
        ck_assert_uint_eq(out.len, 8);
        sp_remote_speech_cleanup(&out);
}
END_TEST

START_TEST(test_sp_remote_synthesize_errors_mapped)
{
        Cairn__Speech__V1__SynthesizeRequest req = CAIRN__SPEECH__V1__SYNTHESIZE_REQUEST__INIT;
        struct sp_remote_speech out;
        struct cairn_status st;
        cairn_err_t err;

        start_remote(NULL);
        req.input = "Hello";
        /* JSON where audio was due, even with a 200 */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .body = "{\"error\":{\"message\":\"voice not found\"}}",
                                            .content_type = "application/json" });
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        assert_failed(err, CAIRN_ERR_UNAVAILABLE, &st,
                      "with application/json instead of audio: voice not found");
        ck_assert_str_eq(st.reason, "UPSTREAM_BAD_RESPONSE");
        ck_assert_ptr_null(out.data);
        /* nothing at all */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .body = "" });
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        assert_failed(err, CAIRN_ERR_UNAVAILABLE, &st, "with no audio");
        /* refused: INVALID with the message */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){
                                            .fail_status = 400,
                                            .fail_count = 1,
                                            .fail_message = "Input should be 'alloy', 'ash'" });
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        assert_failed(err, CAIRN_ERR_INVALID, &st, "HTTP 400: Input should be 'alloy', 'ash'");
        /* 5xx retried */
        fake_openai_audio_set(fake, &(struct fake_openai_audio_mode){ .fail_status = 500,
                                                                      .fail_count = 1 });
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        sp_remote_speech_cleanup(&out);
        ck_assert_uint_eq(fake_openai_audio_speeches(fake), 5);
        /* bad arguments never reach it */
        req.input = "\xc3(";
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        assert_failed(err, CAIRN_ERR_INVALID, &st, "input: not UTF-8");
        req.input = "x";
        req.format = 42;
        err = sp_remote_synthesize(remote, &req, 0, NULL, &out, &st);
        assert_failed(err, CAIRN_ERR_INVALID, &st, "format: 42 is not an audio format");
        ck_assert_uint_eq(fake_openai_audio_speeches(fake), 5);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("speech_remote");
        TCase *tc = tcase_create("sp_remote");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_sp_remote_conf_section_checks);
        tcase_add_test(tc, test_sp_remote_transcribe_passes_fields_through);
        tcase_add_test(tc, test_sp_remote_transcribe_large_upload);
        tcase_add_test(tc, test_sp_remote_transcribe_errors_mapped);
        tcase_add_test(tc, test_sp_remote_transcribe_retries_429_and_5xx);
        tcase_add_test(tc, test_sp_remote_transcribe_deadline_and_down);
        tcase_add_test(tc, test_sp_remote_breaker_says_why);
        tcase_add_test(tc, test_sp_remote_key_from_file);
        tcase_add_test(tc, test_sp_remote_key_from_secrets_service);
        tcase_add_test(tc, test_sp_remote_synthesize_returns_audio);
        tcase_add_test(tc, test_sp_remote_synthesize_errors_mapped);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

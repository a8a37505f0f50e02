/* Text to speech through the gateway: POST /v1/audio/speech (OpenAI's
 * speech API) on a gateway in front of cairn-speech on a dev broker, as the
 * integration tests start them (tests/integration/0066-speech_openai_sdk.c),
 * with the services' default settings. Cases: a text of about 60 and one
 * of about 1,000 characters, voices alloy (flite's slt) and nova
 * (espeak-ng's en-us+f2), formats mp3 and wav. Each case runs once
 * unrecorded, then RUNS times one request after another on one connection;
 * per case the medians of the time to the first byte of the answer
 * (CURLINFO_STARTTRANSFER_TIME_T) and of the whole answer
 * (CURLINFO_TOTAL_TIME_T), characters per second of the median total, the
 * audio's length (from the wav answer's size), and the median of the
 * service's own time per request (how much cairn_speech_request_seconds_sum
 * for Synthesize grew across it, read from /metrics between requests:
 * synthesis, encoding, the reply, without the bus and the gateway). The gateway sends the whole file in one answer
 * (no streaming), so the first byte comes when all of it is ready.
 * Prints "key value" lines for tests/bench/run.sh.
 *   speech_gateway [RUNS]   (default 5) */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "gw_fixture.h"
#include "harness.h"

#define KEY      "ck_bench_speech_member_0123456789"
#define MAX_RUNS 50

static const char short_text[] = "The weather will be sunny tomorrow, so bring a hat and water.";
static const char long_text[] =
        "Good morning, and welcome to the weekly update. The new library opens on Monday at "
        "nine, and everyone is invited to the small celebration in the main hall. Please "
        "remember that the car park behind the building is closed for repairs until the end "
        "of the month, so use the one next to the station instead. The team that organised "
        "the summer fair would like to thank all the volunteers who helped with the tents, "
        "the music and the food; more than two thousand people came, and the money raised "
        "will buy new books for the school. On Wednesday evening there is a talk about local "
        "history, with old photographs of the harbour and the market square. Tickets are "
        "free, but places are limited, so book early at the front desk. Finally, the "
        "weather for the weekend looks dry and warm, which is good news for the football "
        "match on Saturday afternoon. If you have questions about any of this, write to the "
        "office or call us during the day. Thank you for listening, and have a good week.";

static const struct {
        const char *name, *text;
} texts[] = { { "short", short_text }, { "long", long_text } };
static const char *const tts_voices[] = { "alloy", "nova" };
static const char *const formats[] = { "mp3", "wav" };

static int runs = 5;
static struct harness_broker broker;
static struct harness_proc svc;
static struct gwf_gateway gateway;

static size_t discard(char *p, size_t size, size_t n, void *buf)
{
        cairn_buf_add(buf, p, size * n);
        return size * n;
}

/* One request: its status, times (µs) and the answer's bytes. */
static long speak(CURL *c, const char *body, curl_off_t *ttfb, curl_off_t *total, size_t *bytes)
{
        struct cairn_buf out = { 0 };
        long status = -1;

        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
        if (curl_easy_perform(c) == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, ttfb);
                curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, total);
        }
        *bytes = out.len;
        if (status != 200)
                fprintf(stderr, "speech_gateway: HTTP %ld: %.*s\n", status,
                        (int)(out.len < 300 ? out.len : 300), out.p ? out.p : "");
        cairn_buf_cleanup(&out);
        return status;
}

static double median(double *v, int n)
{
        qsort(v, (size_t)n, sizeof(*v), harness_cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The service's total time answering Synthesize so far, in seconds. */
static double synth_seconds(void)
{
        return harness_metric(svc.admin_port,
                              "cairn_speech_request_seconds_sum{method=\"synthesize\"}");
}

static size_t chars(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char)*s & 0xC0) != 0x80;
        return n;
}

static void one_case(CURL *c, size_t t, size_t v, size_t f)
{
        char *body, name[64];
        double ttfb[MAX_RUNS] = { 0 }, total[MAX_RUNS] = { 0 }, service[MAX_RUNS] = { 0 };
        double med_total;
        bool have_service = true;
        size_t bytes = 0;
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "model", "tts-1", "input", texts[t].text,
                              "voice", tts_voices[v], "response_format", formats[f]);

        body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        snprintf(name, sizeof(name), "tts_%s_%s_%s", texts[t].name, tts_voices[v], formats[f]);
        for (int r = -1; r < runs; r++) {
                curl_off_t tf = 0, tt = 0;
                const double s0 = synth_seconds();
                double s1;

                ck_assert_msg(speak(c, body, &tf, &tt, &bytes) == 200 && bytes > 0,
                              "%s: no audio (gateway log %s, speech log %s)", name,
                              gateway.proc.log_path, svc.log_path);
                s1 = synth_seconds();
                if (r >= 0) {
                        ttfb[r] = (double)tf / 1000.0;
                        total[r] = (double)tt / 1000.0;
                        service[r] = (s1 - s0) * 1000;
                        have_service = have_service && s0 >= 0 && s1 >= 0;
                }
        }
        med_total = median(total, runs);
        printf("%s_chars %zu\n", name, chars(texts[t].text));
        printf("%s_bytes %zu\n", name, bytes);
        if (!strcmp(formats[f], "wav")) /* 16-bit mono at 24 kHz after a 44-byte header */
                printf("%s_audio_seconds %.2f\n", name, (double)(bytes - 44) / 48000.0);
        printf("%s_ttfb_ms %.1f\n", name, median(ttfb, runs));
        printf("%s_total_ms %.1f\n", name, med_total);
        printf("%s_chars_per_sec %.0f\n", name, (double)chars(texts[t].text) / (med_total / 1000));
        if (have_service)
                printf("%s_service_ms %.1f\n", name, median(service, runs));
        fflush(stdout);
        free(body);
}

START_TEST(bench_speech_gateway)
{
        static const struct gwf_api_key keys[] = { { KEY, "bench-member", "t1", "member" } };
        static char e[4][1200];
        char model_dir[1024], pg_url[256];
        struct curl_slist *h = NULL;
        CURL *c;

        /* the service does not start without Whisper's model */
        ck_assert_msg(harness_model_dir("speech_gateway", "whisper-tiny.en", model_dir,
                                        sizeof(model_dir)),
                      "no whisper-tiny.en (deploy/models.sh fetch whisper-tiny.en)");
        harness_pg_database(pg_url, sizeof(pg_url));
        harness_broker_start(&broker, 1);
        snprintf(e[0], sizeof(e[0]), "CAIRN_PG_URL=%s", pg_url);
        snprintf(e[1], sizeof(e[1]), "CAIRN_SPEECH_WHISPER_DIR=%s", model_dir);
        harness_service_start(&svc, &broker, "speech", (const char *const[]){ e[0], e[1], NULL });
        snprintf(e[2], sizeof(e[2]), "CAIRN_UPSTREAM_SPEECH_TOPIC=%s",
                 harness_topic("cairn.speech.v1.requests"));
        gwf_gateway_start(&gateway, &broker, keys, 1, (const char *const[]){ e[2], e[0], NULL });
        ck_assert_msg(harness_wait_ready(&svc, 60000), "speech not ready (%s)", svc.log_path);
        ck_assert_msg(harness_wait_ready(&gateway.proc, 30000), "gateway not ready (%s)",
                      gateway.proc.log_path);

        c = curl_easy_init();
        ck_assert_ptr_nonnull(c);
        snprintf(e[3], sizeof(e[3]), "http://127.0.0.1:%d/v1/audio/speech", gateway.http_port);
        h = curl_slist_append(h, "Authorization: Bearer " KEY);
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(c, CURLOPT_URL, e[3]);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
        printf("tts_runs %d\n", runs);
        for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++)
                for (size_t v = 0; v < sizeof(tts_voices) / sizeof(*tts_voices); v++)
                        for (size_t f = 0; f < sizeof(formats) / sizeof(*formats); f++)
                                one_case(c, t, v, f);
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        ck_assert_int_eq(gwf_gateway_stop(&gateway), 0);
        ck_assert_int_eq(harness_service_stop(&svc, 15000), 0);
        harness_broker_stop(&broker);
}
END_TEST

int main(int argc, char **argv)
{
        runs = argc > 1 ? atoi(argv[1]) : 5;
        if (runs < 1 || runs > MAX_RUNS)
                runs = 5;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return harness_bench_run("speech_gateway", bench_speech_gateway, 600, NULL);
}

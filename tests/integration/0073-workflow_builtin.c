/* The built-in workflows end to end, on the real services they call:
 * translate-batch (translation), remember-conversation (memory, which
 * embeds through the embedding service) and transcribe-translate-remember
 * (speech with Whisper, translation, memory). */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/base64.h"
#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/pbjson.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "cairn/workflow/v1/workflow.pb-c.h"
#include "harness.h"

#define TENANT "acme"

static struct harness_broker broker;
static struct harness_proc workflow, translation, memory, embedding, speech;
static struct harness_client client;
static char pg_url[512], model_dir[1024];
static bool have_speech;

static void setup(void)
{
        char pg_env[600], model_env[1100];

        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        harness_service_start(&embedding, &broker, "embedding", NULL);
        harness_memory_start(&memory, &broker, pg_url,
                             (const char *const[]){ "CAIRN_MEMORY_EMBEDDING_MODEL="
                                                    "cairn-lexical-384",
                                                    NULL });
        harness_service_start(&translation, &broker, "translation",
                              (const char *const[]){ "CAIRN_TRANSLATION_CACHE_ENABLED=false",
                                                     NULL });
        /* Whisper is heavy: the speech workflow runs in the dev-broker pass only */
        have_speech = !harness_apache() && !harness_coverage() &&
                      harness_model_dir("0073-workflow_builtin", "whisper-tiny.en", model_dir,
                                        sizeof(model_dir));
        if (have_speech) {
                snprintf(pg_env, sizeof(pg_env), "CAIRN_PG_URL=%s", pg_url);
                snprintf(model_env, sizeof(model_env), "CAIRN_SPEECH_WHISPER_DIR=%s", model_dir);
                harness_service_start(&speech, &broker, "speech",
                                      (const char *const[]){ pg_env, model_env, NULL });
        }
        harness_workflow_start(&workflow, &broker, pg_url, NULL);
        ck_assert_msg(harness_wait_ready(&embedding, 30000), "embedding not ready (%s)",
                      embedding.log_path);
        ck_assert_msg(harness_wait_ready(&memory, 30000), "memory not ready (%s)", memory.log_path);
        ck_assert_msg(harness_wait_ready(&translation, 60000), "translation not ready (%s)",
                      translation.log_path);
        if (have_speech)
                ck_assert_msg(harness_wait_ready(&speech, 60000), "speech not ready (%s)",
                              speech.log_path);
        ck_assert_msg(harness_wait_ready(&workflow, 30000), "workflow not ready (%s)",
                      workflow.log_path);
        harness_client_start(&client, &broker, "itest-wfb");
}

static void teardown(void)
{
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        if (have_speech)
                harness_service_stop(&speech, 15000);
        harness_service_stop(&translation, 15000);
        harness_service_stop(&memory, 15000);
        harness_service_stop(&embedding, 15000);
        harness_broker_stop(&broker);
}

/* ---- calls ---- */

static json_t *call(const char *topic, const char *key, const ProtobufCMessageDescriptor *desc,
                    const ProtobufCMessageDescriptor *reply_desc, const char *json)
{
        ProtobufCMessage *in = NULL, *out = NULL;
        struct cairn_pbjson_error jerr = { 0 };
        struct cairn_call_opts opts = { .timeout_ms = 60000 };
        struct cairn_status st;
        json_t *j;

        ck_assert_msg(cairn_pbjson_parse(desc, json, strlen(json), 64, &in, &jerr) == CAIRN_OK,
                      "%s: %s", jerr.field, jerr.message);
        ck_assert_msg(cairn_bus_call(client.cli, topic, key, in, &opts, reply_desc, NULL, &out,
                                     &st) == CAIRN_OK,
                      "%s: %s: %s", desc->name, cairn_err_str(st.code), st.message);
        j = cairn_pbjson_to_json(out, 0);
        protobuf_c_message_free_unpacked(out, NULL);
        protobuf_c_message_free_unpacked(in, NULL);
        return j;
}

#define WF(name) &cairn__workflow__v1__##name##__descriptor

static json_t *wf(const ProtobufCMessageDescriptor *desc,
                  const ProtobufCMessageDescriptor *reply_desc, const char *json)
{
        return call(harness_topic("cairn.workflow.v1.requests"), TENANT, desc, reply_desc, json);
}

/* Starts @p type with @p input as @p workflow_id and waits for it to end;
 * returns the run, which must have COMPLETED. */
static json_t *run_to_end(const char *type, const char *workflow_id, const char *input,
                          int timeout_ms)
{
        char *req, get[300];
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;

        ck_assert_int_ge(asprintf(&req, "{\"type\": \"%s\", \"workflowId\": \"%s\", \"input\": %s}",
                                  type, workflow_id, input),
                         0);
        json_decref(wf(WF(start_run_request), WF(start_run_reply), req));
        free(req);
        snprintf(get, sizeof(get), "{\"workflowId\": \"%s\"}", workflow_id);
        for (;;) {
                json_t *j = wf(WF(get_run_request), WF(get_run_reply), get);
                json_t *run = json_incref(json_object_get(j, "run"));
                const char *status = json_string_value(json_object_get(run, "status"));
                static char dump[8192];

                json_decref(j);
                if (strcmp(status, "RUN_STATUS_RUNNING") != 0 || cairn_mono_us() > until) {
                        json_dumpb(run, dump, sizeof(dump) - 1, JSON_COMPACT);
                        ck_assert_msg(strcmp(status, "RUN_STATUS_COMPLETED") == 0, "%s: %s", type,
                                      dump);
                        return run;
                }
                json_decref(run);
                usleep(100 * 1000);
        }
}

static const char *str_at(const json_t *v, const char *path)
{
        char *copy = strdup(path), *save = NULL;

        for (char *p = strtok_r(copy, ".", &save); p && v; p = strtok_r(NULL, ".", &save))
                v = json_is_array(v) ? json_array_get(v, strtoul(p, NULL, 10))
                                     : json_object_get(v, p);
        free(copy);
        return json_string_value(v);
}

/* ---- tests ---- */

START_TEST(test_translate_batch)
{
        json_t *run = run_to_end("translate-batch", "batch-1",
                                 "{\"documents\": [\"the house\", \"the dog\", \"the water\", "
                                 "\"the book\", \"the city\"], \"source\": \"en\", \"target\": "
                                 "\"es\"}",
                                 60000);
        static const char *const want[] = { "casa", "perro", "agua", "libro", "ciudad" };
        const json_t *list = json_object_get(json_object_get(run, "output"), "translations");

        ck_assert_int_eq(json_array_size(list), 5);
        for (size_t i = 0; i < 5; i++) {
                char path[64];

                snprintf(path, sizeof(path), "%zu.translations.0.text", i);
                const char *t = str_at(list, path);

                ck_assert_msg(t && strstr(t, want[i]), "document %zu: %s", i, t ? t : "(none)");
        }
        json_decref(run);
}
END_TEST

START_TEST(test_remember_conversation)
{
        json_t *run = run_to_end("remember-conversation", "conv-1",
                                 "{\"user_id\": \"u1\", \"turns\": ["
                                 "{\"role\": \"user\", \"content\": \"I planted tomatoes today\"},"
                                 "{\"role\": \"assistant\", \"content\": \"Water them daily\"},"
                                 "{\"role\": \"user\", \"content\": \"They are on the balcony\"}]}",
                                 60000);
        const json_t *out = json_object_get(run, "output");
        const json_t *mems = json_object_get(out, "memories"),
                     *links = json_object_get(out, "links");

        ck_assert_int_eq(json_array_size(mems), 3);
        ck_assert_int_eq(json_array_size(links), 3);
        ck_assert(json_is_null(json_array_get(links, 0))); /* the first turn has none before it */
        for (size_t i = 1; i < 3; i++) {
                char from[64], to[64], lfrom[64], lto[64];

                snprintf(from, sizeof(from), "%zu.results.0.memory.id", i - 1);
                snprintf(to, sizeof(to), "%zu.results.0.memory.id", i);
                snprintf(lfrom, sizeof(lfrom), "%zu.link.fromId", i);
                snprintf(lto, sizeof(lto), "%zu.link.toId", i);
                ck_assert_str_eq(str_at(links, lfrom), str_at(mems, from));
                ck_assert_str_eq(str_at(links, lto), str_at(mems, to));
        }
        /* the memory service holds the turns in the conversation's scope */
        json_t *list = call(harness_topic("cairn.memory.v1.requests"), TENANT "/u1",
                            &cairn__memory__v1__list_request__descriptor,
                            &cairn__memory__v1__list_reply__descriptor,
                            "{\"userId\": \"u1\", \"runId\": \"conv-1\"}");

        ck_assert_int_eq(json_array_size(json_object_get(list, "memories")), 3);
        json_decref(list);
        json_decref(run);
}
END_TEST

START_TEST(test_transcribe_translate_remember)
{
        if (!have_speech) {
                printf("transcribe-translate-remember: skipped (Apache or coverage pass, or no "
                       "Whisper model)\n");
                return;
        }
        /* the speech service speaks the sentence the workflow will hear */
        json_t *syn = call(harness_topic("cairn.speech.v1.requests"), TENANT,
                           &cairn__speech__v1__synthesize_request__descriptor,
                           &cairn__speech__v1__synthesize_reply__descriptor,
                           "{\"input\": \"The house is red.\", \"voice\": \"slt\", \"format\": "
                           "\"AUDIO_FORMAT_WAV\"}");
        const char *b64 = str_at(syn, "audio.data");
        char *input;

        ck_assert_ptr_nonnull(b64);
        ck_assert_int_ge(asprintf(&input,
                                  "{\"user_id\": \"u2\", \"target\": \"es\", \"audio\": "
                                  "{\"data\": \"%s\", \"filename\": \"note.wav\"}}",
                                  b64),
                         0);
        json_decref(syn);
        json_t *run = run_to_end("transcribe-translate-remember", "voice-1", input, 120000);
        const json_t *out = json_object_get(run, "output");
        const char *transcript = str_at(out, "transcript"),
                   *translated = str_at(out, "translation");

        free(input);
        ck_assert_msg(transcript && strcasestr(transcript, "house"), "transcript: %s",
                      transcript ? transcript : "(none)");
        ck_assert_msg(translated && strstr(translated, "casa"), "translation: %s",
                      translated ? translated : "(none)");
        ck_assert_str_eq(str_at(out, "memory.content"), translated);
        ck_assert_str_eq(str_at(out, "memory.metadata.transcript"), transcript);
        json_decref(run);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_builtin");
        TCase *tc = tcase_create("builtin");

        tcase_set_timeout(tc, 240);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_translate_batch);
        tcase_add_test(tc, test_remember_conversation);
        tcase_add_test(tc, test_transcribe_translate_remember);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* The translation service with a remote provider: the fake LibreTranslate
 * server (its real API over HTTP on 127.0.0.1) next to Apertium's modes in
 * a folder of the test's (eng-spa as installed, and a spa-eng whose
 * pipeline dies at once):
 *   - a pair Apertium does not have (en -> de, en -> zh-Hans) is translated
 *     by the provider, with the API key from a file, batches split by
 *     translation.remote.max_batch and answered in order;
 *   - a pair Apertium has stays with Apertium; where Apertium fails
 *     (es -> en) the provider answers instead (mode fallback);
 *   - the language list names what only the provider offers;
 *   - 429 (with Retry-After) and 5xx are retried as
 *     resilience.translation_provider says; 429 for good fails
 *     RESOURCE_EXHAUSTED, 503 for good UNAVAILABLE, each with the
 *     provider's message;
 *   - the provider down fails UNAVAILABLE naming it, and it is used again
 *     once back;
 *   - the key from the secrets service (translation.remote.api_key_secret),
 *     the service ready before the secrets service is up;
 *   - neither key ever appears in the service's log. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/translation/v1/translation.pb-c.h"
#include "fake_libretranslate.h"
#include "harness.h"
#include "secrets_fixture.h"

#define TOPIC      harness_topic("cairn.translation.v1.requests")
#define KEY        "lt-file-key-7c1e5a90d3"
#define SECRET_KEY "lt-secret-key-2b8f64e1a7"
#define SECRET_AT  "services/translation/libretranslate"
#define REF        SECRET_AT "#api_key"

typedef Cairn__Translation__V1__TranslateReply TranslateReply;
typedef Cairn__Translation__V1__Translation Translation;

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;
static struct fake_libretranslate *fake;
static int fake_port;
static char dir[256];

static void msleep(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

/* Apertium's modes for the test: eng-spa as installed, spa-eng dead. */
static void write_modes(void)
{
        char path[400], cmd[900];

        snprintf(path, sizeof(path), "%s/modes", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        snprintf(cmd, sizeof(cmd), "cp /usr/share/apertium/modes/eng-spa.mode '%s/'", path);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(path, sizeof(path), "%s/modes/spa-eng.mode", dir);
        harness_write_file(path, "false\n");
}

/* Until the service has the provider's language list (fetched in the
 * background, after readiness perhaps). */
static void wait_languages(void)
{
        char name[128];

        snprintf(name, sizeof(name), "cairn_translation_remote_pairs{provider=\"127.0.0.1:%d\"}",
                 fake_port);
        harness_wait_metric(svc.admin_port, name, 8, 5000);
        ck_assert_msg(harness_metric(svc.admin_port, name) == 8,
                      "the service did not get the provider's languages (see %s)", svc.log_path);
}

/* The service with the provider at the fake, @p key_line its key setting,
 * and @p extra_env (NULL-terminated, or NULL). */
static void start_service(const char *key_line, const char *const *extra_env)
{
        char cfg[400], yaml[2048], e_cfg[500];
        const char *env[8] = { e_cfg };
        size_t n = 1;

        snprintf(cfg, sizeof(cfg), "%s/translation.yaml", dir);
        snprintf(yaml, sizeof(yaml),
                 "admin: {address: 127.0.0.1}\n"
                 "bus: {workers: 4}\n"
                 "resilience:\n"
                 "  translation_provider: {max_attempts: 3, base_ms: 5, cap_ms: 20,\n"
                 "                         breaker_failures: 0, breaker_failure_rate: 0}\n"
                 "translation:\n"
                 "  modes_dir: \"%s/modes\"\n"
                 "  cache: {enabled: false}\n"
                 "  remote:\n"
                 "    url: \"http://127.0.0.1:%d\"\n"
                 "    mode: fallback\n"
                 "    max_batch: 4\n"
                 "    refresh_ms: 500\n"
                 "    %s\n",
                 dir, fake_port, key_line);
        harness_write_file(cfg, yaml);
        snprintf(e_cfg, sizeof(e_cfg), "CAIRN_CONFIG=%s", cfg);
        for (size_t i = 0; extra_env && extra_env[i] && n < 7; i++)
                env[n++] = extra_env[i];
        env[n] = NULL;
        harness_service_start(&svc, &broker, "translation", env);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "translation not ready (see %s)",
                      svc.log_path);
        wait_languages();
}

static void setup_common(void)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/tr-remote-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        write_modes();
        harness_broker_start(&broker, 1);
        fake = fake_libretranslate_start();
        fake_port = fake_libretranslate_port(fake);
}

static void setup_file_key(void)
{
        char key[400], line[500];

        setup_common();
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = KEY });
        snprintf(key, sizeof(key), "%s/libretranslate.key", dir);
        harness_write_file(key, KEY "\n");
        ck_assert_int_eq(chmod(key, 0600), 0);
        snprintf(line, sizeof(line), "api_key_file: \"%s\"", key);
        start_service(line, NULL);
        harness_client_start(&client, &broker, "itest-tr");
        harness_client_direct(&client, TOPIC, 0);
}

static void teardown(void)
{
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&svc, 15000), 0);
        harness_broker_stop(&broker);
        fake_libretranslate_stop(fake);
}

/* ---- calls ---- */

static cairn_err_t translate(const char *source, const char *target, const char *const *texts,
                             size_t n, TranslateReply **out, struct cairn_status *st)
{
        Cairn__Translation__V1__TranslateRequest req =
                CAIRN__TRANSLATION__V1__TRANSLATE_REQUEST__INIT;
        struct cairn_call_opts opts = { .timeout_ms = 15000 };
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        req.texts = (char **)texts;
        req.n_texts = n;
        req.source = (char *)source;
        req.target = (char *)target;
        err = cairn_bus_call(client.cli, TOPIC, "tenant", &req.base, &opts,
                             &cairn__translation__v1__translate_reply__descriptor, NULL, &reply,
                             st);
        *out = (TranslateReply *)reply;
        if (!err)
                ck_assert_uint_eq((*out)->n_translations, n);
        return err;
}

/* Every text translated by @p engine as the fake (or Apertium) would. */
static void assert_remote(const TranslateReply *r, const char *source, const char *target,
                          const char *const *texts, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const Translation *t = r->translations[i];
                char *want = fake_libretranslate_translation(source, target, texts[i]);

                ck_assert_msg(!t->error, "text %zu failed: %s", i,
                              t->error ? t->error->message : "");
                ck_assert_uint_eq(t->index, i);
                ck_assert_str_eq(t->text, want);
                ck_assert_str_eq(t->engine, "remote");
                ck_assert_uint_eq(t->n_route, 2);
                ck_assert_str_eq(t->route[0], source);
                ck_assert_str_eq(t->route[1], target);
                free(want);
        }
}

/* Text 0 of a reply failed with @p code, its message holding @p needle. */
static void assert_text_failed(const TranslateReply *r, int code, const char *needle)
{
        const Translation *t = r->translations[0];

        ck_assert_msg(t->error != NULL, "text 0 did not fail: \"%s\"", t->text);
        ck_assert_msg(t->error->code == code, "code %d (%s), want %d", t->error->code,
                      t->error->message, code);
        ck_assert_msg(strstr(t->error->message, needle), "message \"%s\" lacks \"%s\"",
                      t->error->message, needle);
}

static void last(const char *field, char *buf, size_t size)
{
        fake_libretranslate_last(fake, field, buf, size);
}

/* ---- the provider with a key from a file ---- */

START_TEST(test_pair_apertium_lacks_goes_remote)
{
        const char *texts[] = { "hello world" };
        const char *zh[] = { "hello" };
        struct cairn_status st;
        TranslateReply *r;
        char buf[128];
        unsigned before = fake_libretranslate_translate_calls(fake);

        ck_assert_msg(translate("en", "de", texts, 1, &r, &st) == CAIRN_OK, "%s", st.message);
        assert_remote(r, "en", "de", texts, 1);
        ck_assert_str_eq(r->translations[0]->text, "hallo Welt");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), before + 1);
        last("api_key", buf, sizeof(buf));
        ck_assert_str_eq(buf, KEY);
        last("format", buf, sizeof(buf));
        ck_assert_str_eq(buf, "text");
        /* a code Apertium has no name for */
        ck_assert_msg(translate("en", "zh-Hans", zh, 1, &r, &st) == CAIRN_OK, "%s", st.message);
        assert_remote(r, "en", "zh-Hans", zh, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_batches_split_and_in_order)
{
        const char *texts[] = { "the cat",   "hello",     "world",   "good house", "cat",
                                "the world", "hello cat", "unknown", "house",      "good" };
        struct cairn_status st;
        TranslateReply *r;
        unsigned before = fake_libretranslate_translate_calls(fake);

        ck_assert_msg(translate("en", "fr", texts, 10, &r, &st) == CAIRN_OK, "%s", st.message);
        assert_remote(r, "en", "fr", texts, 10);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* max_batch 4: three requests */
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), before + 3);
        ck_assert(fake_libretranslate_last_q_array(fake));
}
END_TEST

START_TEST(test_apertium_pair_stays_local_and_falls_back)
{
        const char *en[] = { "The house is big." };
        const char *es[] = { "hola mundo" };
        struct cairn_status st;
        TranslateReply *r;
        unsigned before = fake_libretranslate_translate_calls(fake);

        ck_assert_msg(translate("en", "es", en, 1, &r, &st) == CAIRN_OK, "%s", st.message);
        ck_assert_msg(!r->translations[0]->error, "%s", r->translations[0]->error->message);
        ck_assert_str_eq(r->translations[0]->engine, "apertium");
        ck_assert_msg(strstr(r->translations[0]->text, "casa"), "%s", r->translations[0]->text);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), before);
        /* spa-eng's pipeline dies: the provider answers instead */
        ck_assert_msg(translate("es", "en", es, 1, &r, &st) == CAIRN_OK, "%s", st.message);
        assert_remote(r, "es", "en", es, 1);
        ck_assert_str_eq(r->translations[0]->text, "hello world");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), before + 1);
}
END_TEST

START_TEST(test_language_list_names_the_provider)
{
        Cairn__Translation__V1__ListLanguagesRequest req =
                CAIRN__TRANSLATION__V1__LIST_LANGUAGES_REQUEST__INIT;
        struct cairn_call_opts opts = { .timeout_ms = 10000 };
        Cairn__Translation__V1__ListLanguagesReply *r;
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;
        bool de = false, es = false;

        ck_assert_msg(cairn_bus_call(client.cli, TOPIC, "tenant", &req.base, &opts,
                                     &cairn__translation__v1__list_languages_reply__descriptor,
                                     NULL, &reply, &st) == CAIRN_OK,
                      "%s", st.message);
        r = (Cairn__Translation__V1__ListLanguagesReply *)reply;
        for (size_t i = 0; i < r->n_languages; i++) {
                if (strcmp(r->languages[i]->code, "en") != 0)
                        continue;
                for (size_t j = 0; j < r->languages[i]->n_targets; j++) {
                        const Cairn__Translation__V1__Target *t = r->languages[i]->targets[j];

                        if (strcmp(t->code, "de") == 0) {
                                de = true;
                                ck_assert_str_eq(t->engine, "remote");
                        }
                        if (strcmp(t->code, "es") == 0) {
                                es = true;
                                ck_assert_str_eq(t->engine, "apertium");
                        }
                }
        }
        ck_assert(de && es);
        protobuf_c_message_free_unpacked(reply, NULL);
}
END_TEST

START_TEST(test_429_and_5xx_through_the_resilience_policy)
{
        const char *texts[] = { "hello" };
        struct cairn_status st;
        TranslateReply *r;
        unsigned before = fake_libretranslate_translate_calls(fake);
        int64_t t0 = cairn_now_ms();

        /* twice rate-limited, then answered: retried after Retry-After */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){
                                              .api_key = KEY,
                                              .fail_status = 429,
                                              .fail_count = 2,
                                              .fail_message = "too many requests",
                                              .retry_after = "0.2" });
        ck_assert_msg(translate("en", "de", texts, 1, &r, &st) == CAIRN_OK, "%s", st.message);
        assert_remote(r, "en", "de", texts, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), before + 3);
        ck_assert_int_ge(cairn_now_ms() - t0, 390);
        /* rate-limited for good: RESOURCE_EXHAUSTED with its message */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){
                                              .api_key = KEY,
                                              .fail_status = 429,
                                              .fail_count = -1,
                                              .fail_message = "too many requests" });
        ck_assert_int_eq(translate("en", "de", texts, 1, &r, &st), CAIRN_OK);
        assert_text_failed(r, CAIRN_ERR_EXHAUSTED, "HTTP 429 (rate limited): Slowdown: too many");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), before + 6);
        /* a 500 is retried */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = KEY,
                                                                          .fail_status = 500,
                                                                          .fail_count = 1 });
        ck_assert_msg(translate("en", "de", texts, 1, &r, &st) == CAIRN_OK, "%s", st.message);
        assert_remote(r, "en", "de", texts, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* 503 for good: UNAVAILABLE, naming the provider and its message */
        fake_libretranslate_set(fake,
                                &(struct fake_libretranslate_mode){
                                        .api_key = KEY,
                                        .fail_status = 503,
                                        .fail_count = -1,
                                        .fail_message = "Cannot translate text: overloaded" });
        ck_assert_int_eq(translate("en", "de", texts, 1, &r, &st), CAIRN_OK);
        assert_text_failed(r, CAIRN_ERR_UNAVAILABLE,
                           "answered HTTP 503: Cannot translate text: overloaded");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = KEY });
}
END_TEST

START_TEST(test_provider_down_then_back)
{
        const char *texts[] = { "hello world" };
        struct cairn_status st;
        TranslateReply *r;
        char name[64];

        fake_libretranslate_stop(fake);
        fake = NULL;
        snprintf(name, sizeof(name), "provider 127.0.0.1:%d", fake_port);
        ck_assert_int_eq(translate("en", "de", texts, 1, &r, &st), CAIRN_OK);
        assert_text_failed(r, CAIRN_ERR_UNAVAILABLE, name);
        ck_assert_msg(strstr(r->translations[0]->error->message, "onnect"), "%s",
                      r->translations[0]->error->message);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* Apertium's pairs are not held up */
        ck_assert_int_eq(translate("en", "es", texts, 1, &r, &st), CAIRN_OK);
        ck_assert_msg(!r->translations[0]->error, "%s", r->translations[0]->error->message);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* back where it was: used again */
        fake = fake_libretranslate_start_on(fake_port);
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = KEY });
        ck_assert_msg(translate("en", "de", texts, 1, &r, &st) == CAIRN_OK, "%s", st.message);
        assert_remote(r, "en", "de", texts, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_metrics_and_no_key_in_the_log)
{
        char name[200];

        snprintf(name, sizeof(name),
                 "cairn_translation_remote_requests_total{provider=\"127.0.0.1:%d\",code=\"200\"}",
                 fake_port);
        ck_assert_double_ge(harness_metric(svc.admin_port, name), 8);
        snprintf(name, sizeof(name),
                 "cairn_translation_remote_requests_total{provider=\"127.0.0.1:%d\",code=\"429\"}",
                 fake_port);
        ck_assert_double_eq(harness_metric(svc.admin_port, name), 5);
        snprintf(name, sizeof(name), "cairn_translation_remote_pairs{provider=\"127.0.0.1:%d\"}",
                 fake_port);
        ck_assert_double_eq(harness_metric(svc.admin_port, name), 8);
        ck_assert_double_ge(
                harness_metric(svc.admin_port,
                               "cairn_retries_total{dependency=\"translation_provider\"}"),
                6);
        ck_assert_int_eq(harness_count_in_file(svc.log_path, KEY), 0);
}
END_TEST

/* ---- the key from the secrets service ---- */

static struct sfx secrets;
static bool secrets_up;

static void setup_secret_key(void)
{
        char e_topic[300], e_reply[300];

        setup_common();
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = SECRET_KEY });
        snprintf(e_topic, sizeof(e_topic), "CAIRN_SECRETS_CLIENT_TOPIC=%s",
                 harness_topic("cairn.secrets.v1.requests"));
        snprintf(e_reply, sizeof(e_reply), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.translation.replies"));
        /* the secrets service is not up yet: the service starts anyway */
        start_service("api_key_secret: \"" REF "\"",
                      (const char *const[]){ e_topic, e_reply, "CAIRN_SECRETS_CLIENT_RETRY_MS=100",
                                             "CAIRN_SECRETS_CLIENT_TTL_MS=2000", NULL });
        harness_client_start(&client, &broker, "itest-tr2");
        harness_client_direct(&client, TOPIC, 0);
}

static void teardown_secret_key(void)
{
        teardown();
        if (secrets_up)
                sfx_stop(&secrets);
}

START_TEST(test_key_from_the_secrets_service)
{
        const char *texts[] = { "hello cat" };
        struct cairn_status st;
        TranslateReply *r;
        char buf[128];
        uint64_t v = 0;
        int64_t until;
        bool done = false;

        /* no key yet: the text fails naming the reference, nothing is sent */
        ck_assert_int_eq(translate("en", "de", texts, 1, &r, &st), CAIRN_OK);
        assert_text_failed(r, CAIRN_ERR_UNAVAILABLE, REF);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 0);
        sfx_start(&secrets, &broker, NULL);
        secrets_up = true;
        ck_assert_msg(sfx_write(&secrets, "cairn", "owner", SECRET_AT,
                                "{\"api_key\":\"" SECRET_KEY "\"}", -1, NULL, &v, &st) == CAIRN_OK,
                      "write: %s", st.message);
        until = cairn_mono_us() + 20000000;
        while (!done && cairn_mono_us() < until) {
                ck_assert_int_eq(translate("en", "de", texts, 1, &r, &st), CAIRN_OK);
                done = !r->translations[0]->error;
                if (done)
                        assert_remote(r, "en", "de", texts, 1);
                protobuf_c_message_free_unpacked(&r->base, NULL);
                if (!done)
                        msleep(200);
        }
        ck_assert(done);
        last("api_key", buf, sizeof(buf));
        ck_assert_str_eq(buf, SECRET_KEY);
        ck_assert_int_eq(harness_count_in_file(svc.log_path, SECRET_KEY), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0055-translation_remote");
        TCase *tc = tcase_create("file_key");

        tcase_add_unchecked_fixture(tc, setup_file_key, teardown);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_pair_apertium_lacks_goes_remote);
        tcase_add_test(tc, test_batches_split_and_in_order);
        tcase_add_test(tc, test_apertium_pair_stays_local_and_falls_back);
        tcase_add_test(tc, test_language_list_names_the_provider);
        tcase_add_test(tc, test_429_and_5xx_through_the_resilience_policy);
        tcase_add_test(tc, test_provider_down_then_back);
        tcase_add_test(tc, test_metrics_and_no_key_in_the_log);
        suite_add_tcase(s, tc);
        tc = tcase_create("secret_key");
        tcase_add_unchecked_fixture(tc, setup_secret_key, teardown_secret_key);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_key_from_the_secrets_service);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* The translation service as a process on a dev broker, with real Apertium
 * pipelines and Redis: every installed pair translates a sentence, pivots,
 * batches with bad texts in the middle, HTML kept, Apertium's marks on
 * request only, detection of the source, the language list, the cache (and
 * Redis gone), and pipelines that hang or die replaced while the next
 * request succeeds. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/translation/v1/translation.pb-c.h"
#include "harness.h"

#define REQUESTS "cairn.translation.v1.requests"
#define TOPIC    harness_topic(REQUESTS)
/* A hung pipeline is given up after this long in this test. */
#define STALL_MS 2000

typedef Cairn__Translation__V1__TranslateReply TranslateReply;

static struct harness_broker broker;
static struct harness_proc svc, redis;
static struct harness_client client;
static char dir[256];

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");
        char redis_env[64], stall_env[80];
        /* idle pipelines probed often: a stopped stage is found soon */
        static const char health_env[] = "CAIRN_TRANSLATION_HEALTH_INTERVAL_MS=300";

        snprintf(dir, sizeof(dir), "%s/tr-svc-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        harness_broker_start(&broker, 1);
        redis.port = harness_free_port();
        harness_redis_start(&redis, dir, redis.port);
        snprintf(redis_env, sizeof(redis_env), "CAIRN_REDIS_PORT=%d", redis.port);
        snprintf(stall_env, sizeof(stall_env), "CAIRN_TRANSLATION_STALL_TIMEOUT_MS=%d", STALL_MS);
        harness_service_start(&svc, &broker, "translation",
                              (const char *const[]){ redis_env, stall_env, health_env, NULL });
        ck_assert_msg(harness_wait_ready(&svc, 30000), "translation not ready (see %s)",
                      svc.log_path);
        harness_client_start(&client, &broker, "itest");
}

static void teardown(void)
{
        char cmd[512];

        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&svc, 15000), 0);
        harness_broker_stop(&broker);
        harness_proc_kill(&redis);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        harness_sh(NULL, 0, cmd);
}

/* Translates @p texts; the reply, or NULL with @p st set. */
static TranslateReply *translate_opts(const char *source, const char *target, char **texts,
                                      size_t n, bool html, bool show, struct cairn_status *st)
{
        Cairn__Translation__V1__TranslateRequest req =
                CAIRN__TRANSLATION__V1__TRANSLATE_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;

        req.texts = texts;
        req.n_texts = n;
        req.source = (char *)source;
        req.target = (char *)target;
        req.format = html ? CAIRN__TRANSLATION__V1__FORMAT__FORMAT_HTML
                          : CAIRN__TRANSLATION__V1__FORMAT__FORMAT_TEXT;
        req.show_unknown = show;
        cairn_status_clear(st);
        if (cairn_bus_call(client.cli, TOPIC, "tenant-a", &req.base, NULL,
                           &cairn__translation__v1__translate_reply__descriptor, NULL, &reply,
                           st) != CAIRN_OK)
                return NULL;
        return (TranslateReply *)reply;
}

static TranslateReply *translate(const char *source, const char *target, char **texts, size_t n)
{
        struct cairn_status st;
        TranslateReply *r = translate_opts(source, target, texts, n, false, false, &st);

        ck_assert_msg(r, "%s→%s failed: %s", source, target, st.message);
        ck_assert_uint_eq(r->n_translations, n);
        return r;
}

/* The one text of @p r, which must have succeeded. */
static const char *only_text(const TranslateReply *r)
{
        ck_assert_uint_eq(r->n_translations, 1);
        ck_assert_msg(!r->translations[0]->error, "failed: %s",
                      r->translations[0]->error ? r->translations[0]->error->message : "");
        return r->translations[0]->text;
}

static Cairn__Translation__V1__ListLanguagesReply *languages(void)
{
        Cairn__Translation__V1__ListLanguagesRequest req =
                CAIRN__TRANSLATION__V1__LIST_LANGUAGES_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;

        ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "tenant-a", &req.base, NULL,
                                        &cairn__translation__v1__list_languages_reply__descriptor,
                                        NULL, &reply, &st),
                         CAIRN_OK);
        return (Cairn__Translation__V1__ListLanguagesReply *)reply;
}

START_TEST(test_known_sentence)
{
        char *texts[] = { "The house is red." };
        TranslateReply *r = translate("en", "es", texts, 1);

        ck_assert_str_eq(only_text(r), "La casa es roja.");
        ck_assert_str_eq(r->translations[0]->source, "en");
        ck_assert_str_eq(r->translations[0]->engine, "apertium");
        ck_assert(!r->translations[0]->pivoted);
        ck_assert_uint_eq(r->translations[0]->n_route, 2);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

/* A sentence in each source language of the installed pairs. */
static const char *sentence_in(const char *lang)
{
        static const struct {
                const char *lang, *text;
        } s[] = {
                { "en", "The children are playing in the garden with their friends." },
                { "es", "Los niños juegan en el jardín con sus amigos." },
                { "ca", "Els nens juguen al jardí amb els seus amics." },
                { "fr", "Les enfants jouent dans le jardin avec leurs amis." },
                { "it", "I bambini giocano nel giardino con i loro amici." },
                { "pt", "As crianças brincam no jardim com os seus amigos." },
                { "gl", "Os nenos xogan no xardín cos seus amigos." },
                { "ro", "Copiii se joacă în grădină cu prietenii lor." },
        };

        for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
                if (strcmp(s[i].lang, lang) == 0)
                        return s[i].text;
        return NULL;
}

START_TEST(test_every_direct_pair_translates)
{
        Cairn__Translation__V1__ListLanguagesReply *l = languages();
        int pairs = 0;

        ck_assert_uint_ge(l->n_languages, 8);
        for (size_t a = 0; a < l->n_languages; a++) {
                const char *src = l->languages[a]->code;
                char *texts[1] = { (char *)sentence_in(src) };

                ck_assert_msg(texts[0], "no test sentence in %s", src);
                for (size_t b = 0; b < l->languages[a]->n_targets; b++) {
                        const Cairn__Translation__V1__Target *t = l->languages[a]->targets[b];
                        TranslateReply *r;
                        const char *out;

                        if (t->pivoted)
                                continue;
                        r = translate(src, t->code, texts, 1);
                        out = only_text(r);
                        ck_assert_msg(out[0] && strcmp(out, texts[0]) != 0, "%s→%s: \"%s\"", src,
                                      t->code, out);
                        /* no marks unless asked for */
                        ck_assert_msg(!strpbrk(out, "*#@"), "%s→%s: \"%s\"", src, t->code, out);
                        protobuf_c_message_free_unpacked(&r->base, NULL);
                        pairs++;
                }
        }
        ck_assert_int_ge(pairs, 14);
        protobuf_c_message_free_unpacked(&l->base, NULL);
}
END_TEST

START_TEST(test_pivot_through_spanish)
{
        char *texts[] = { "The house is red." };
        TranslateReply *r = translate("en", "fr", texts, 1);
        const Cairn__Translation__V1__Translation *t = r->translations[0];

        ck_assert_str_eq(only_text(r), "La maison est rouge.");
        ck_assert(t->pivoted);
        ck_assert_uint_eq(t->n_route, 3);
        ck_assert_str_eq(t->route[0], "en");
        ck_assert_str_eq(t->route[1], "es");
        ck_assert_str_eq(t->route[2], "fr");
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_batch_with_bad_texts)
{
        char bad_utf8[] = { 'a', (char)0xff, 'b', 0 };
        char *texts[] = { "Good morning.", "", "The dog eats meat.", bad_utf8, "I have two cats." };
        TranslateReply *r = translate("en", "es", texts, 5);

        ck_assert_str_eq(r->translations[0]->text, "Buenos días.");
        ck_assert_ptr_nonnull(r->translations[1]->error);
        ck_assert_int_eq(r->translations[1]->error->code, CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(r->translations[1]->error->message, "texts[1] is empty"));
        ck_assert_ptr_null(r->translations[2]->error);
        ck_assert_str_eq(r->translations[2]->text, "El perro come carne.");
        ck_assert_ptr_nonnull(r->translations[3]->error);
        ck_assert_ptr_nonnull(strstr(r->translations[3]->error->message, "UTF-8"));
        ck_assert_str_eq(r->translations[4]->text, "Tengo dos gatos.");
        for (uint32_t i = 0; i < 5; i++)
                ck_assert_uint_eq(r->translations[i]->index, i);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_large_batch_in_order)
{
        enum { N = 100 };
        char *texts[N], buf[N][64];
        TranslateReply *r;

        for (int i = 0; i < N; i++) {
                snprintf(buf[i], sizeof(buf[i]), "I have %d cats.", i + 2);
                texts[i] = buf[i];
        }
        r = translate("en", "es", texts, N);
        for (int i = 0; i < N; i++) {
                char want[64];

                snprintf(want, sizeof(want), "Tengo %d gatos.", i + 2);
                ck_assert_ptr_null(r->translations[i]->error);
                ck_assert_str_eq(r->translations[i]->text, want);
        }
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_html_markup_kept)
{
        char *texts[] = { "<p>The <b>house</b> is red.</p>",
                          "<div><p>unclosed <i>tags & an <br> entity &amp; text</div>" };
        struct cairn_status st;
        TranslateReply *r = translate_opts("en", "es", texts, 2, true, false, &st);
        const char *out;

        ck_assert_msg(r, "%s", st.message);
        out = r->translations[0]->text;
        ck_assert_ptr_null(r->translations[0]->error);
        ck_assert_msg(strstr(out, "<p>") && strstr(out, "<b>") && strstr(out, "</b>") &&
                              strstr(out, "</p>") && strstr(out, "casa"),
                      "%s", out);
        /* badly formed HTML: translated as well as it goes, its tags kept */
        ck_assert_ptr_null(r->translations[1]->error);
        out = r->translations[1]->text;
        ck_assert_msg(strstr(out, "<div>") && strstr(out, "<br>") && strstr(out, "&amp;") &&
                              strstr(out, "</div>"),
                      "%s", out);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_unknown_words_marked_on_request)
{
        char *texts[] = { "The blorf is red, #1 * 2 @home." };
        struct cairn_status st;
        TranslateReply *plain = translate_opts("en", "es", texts, 1, false, false, &st);
        TranslateReply *marked = translate_opts("en", "es", texts, 1, false, true, &st);

        ck_assert_ptr_nonnull(plain);
        ck_assert_ptr_nonnull(marked);
        /* the text's own '#', '*' and '@' are kept either way */
        ck_assert_msg(strstr(only_text(plain), "blorf") && !strstr(only_text(plain), "*blorf") &&
                              strstr(only_text(plain), "#1") && strstr(only_text(plain), "* 2"),
                      "%s", only_text(plain));
        ck_assert_msg(strstr(only_text(marked), "*blorf") && strstr(only_text(marked), "#1"), "%s",
                      only_text(marked));
        protobuf_c_message_free_unpacked(&plain->base, NULL);
        protobuf_c_message_free_unpacked(&marked->base, NULL);
}
END_TEST

START_TEST(test_source_detected)
{
        char *texts[] = { "Los niños juegan en el jardín con sus amigos.",
                          "The children are playing in the garden.",
                          "Les enfants jouent dans le jardin avec leurs amis.",
                          "Die Kinder spielen mit ihren Freunden im Garten.", "12345 67890" };
        TranslateReply *r = translate("auto", "en", texts, 5);

        ck_assert_ptr_null(r->translations[0]->error);
        ck_assert_ptr_nonnull(r->translations[0]->detected);
        ck_assert_str_eq(r->translations[0]->detected->language, "es");
        ck_assert_str_eq(r->translations[0]->source, "es");
        ck_assert_float_gt(r->translations[0]->detected->confidence, 0.5);
        /* already English: answered as it is */
        ck_assert_str_eq(r->translations[1]->detected->language, "en");
        ck_assert_str_eq(r->translations[1]->text, texts[1]);
        ck_assert_uint_eq(r->translations[1]->n_route, 1);
        /* French to English goes through Spanish */
        ck_assert_str_eq(r->translations[2]->detected->language, "fr");
        ck_assert_ptr_null(r->translations[2]->error);
        ck_assert(r->translations[2]->pivoted);
        /* German is none of the service's languages: not translated from a guess */
        for (int i = 3; i < 5; i++) {
                ck_assert_ptr_nonnull(r->translations[i]->error);
                ck_assert_int_eq(r->translations[i]->error->code, CAIRN_ERR_INVALID);
                ck_assert_str_eq(r->translations[i]->error->details[0]->reason, "UNDETECTED");
        }
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_detect_request)
{
        Cairn__Translation__V1__DetectRequest req = CAIRN__TRANSLATION__V1__DETECT_REQUEST__INIT;
        char *texts[] = { "Bon dia, com estàs?", "" };
        Cairn__Translation__V1__DetectReply *r;
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;

        req.texts = texts;
        req.n_texts = 2;
        ck_assert_int_eq(cairn_bus_call(client.cli, TOPIC, "tenant-a", &req.base, NULL,
                                        &cairn__translation__v1__detect_reply__descriptor, NULL,
                                        &reply, &st),
                         CAIRN_OK);
        r = (Cairn__Translation__V1__DetectReply *)reply;
        ck_assert_uint_eq(r->n_results, 2);
        ck_assert_uint_ge(r->results[0]->n_candidates, 1);
        ck_assert_str_eq(r->results[0]->candidates[0]->language, "ca");
        ck_assert_ptr_nonnull(r->results[1]->error);
        protobuf_c_message_free_unpacked(reply, NULL);
}
END_TEST

START_TEST(test_language_list)
{
        Cairn__Translation__V1__ListLanguagesReply *l = languages();
        bool en_fr_pivoted = false, en_es_direct = false;

        for (size_t a = 0; a < l->n_languages; a++) {
                const Cairn__Translation__V1__Language *lang = l->languages[a];

                if (a > 0)
                        ck_assert_str_gt(lang->code, l->languages[a - 1]->code);
                if (strcmp(lang->code, "en") != 0)
                        continue;
                ck_assert_str_eq(lang->name, "English");
                for (size_t b = 0; b < lang->n_targets; b++) {
                        if (strcmp(lang->targets[b]->code, "fr") == 0)
                                en_fr_pivoted = lang->targets[b]->pivoted;
                        if (strcmp(lang->targets[b]->code, "es") == 0)
                                en_es_direct = !lang->targets[b]->pivoted;
                }
        }
        ck_assert(en_fr_pivoted);
        ck_assert(en_es_direct);
        protobuf_c_message_free_unpacked(&l->base, NULL);
}
END_TEST

static void expect_request_error(const char *source, const char *target, char **texts, size_t n,
                                 const char *reason)
{
        struct cairn_status st;
        TranslateReply *r = translate_opts(source, target, texts, n, false, false, &st);

        ck_assert_ptr_null(r);
        ck_assert_int_eq(st.code, CAIRN_ERR_INVALID);
        ck_assert_msg(strcmp(st.reason, reason) == 0, "%s→%s: %s (%s), wanted %s", source, target,
                      st.message, st.reason, reason);
}

START_TEST(test_request_errors)
{
        char *one[] = { "Hello." };
        char *many[1100];

        for (int i = 0; i < 1100; i++)
                many[i] = "Hello.";
        expect_request_error("en", "en", one, 1, "SAME_LANGUAGE");
        expect_request_error("en", "xx", one, 1, "UNSUPPORTED_LANGUAGE");
        expect_request_error("en", "", one, 1, "REQUIRED");
        expect_request_error("english", "es", one, 1, "INVALID_LANGUAGE");
        expect_request_error("en", "es", one, 0, "REQUIRED");
        expect_request_error("en", "es", many, 1100, "TOO_MANY");
}
END_TEST

START_TEST(test_cache_then_redis_gone)
{
        char *texts[] = { "The cache keeps this sentence." };
        TranslateReply *a = translate("en", "es", texts, 1), *b, *c;

        ck_assert(!a->translations[0]->cached);
        b = translate("en", "es", texts, 1);
        ck_assert(b->translations[0]->cached);
        ck_assert_str_eq(only_text(a), only_text(b));
        ck_assert_uint_eq(b->translations[0]->n_route, 2);
        ck_assert_double_ge(
                harness_metric(svc.admin_port,
                               "cairn_translation_cache_hits_total{engine=\"apertium\"}"),
                1);
        /* without Redis: translated again, no error */
        harness_proc_kill(&redis);
        c = translate("en", "es", texts, 1);
        ck_assert(!c->translations[0]->cached);
        ck_assert_str_eq(only_text(c), only_text(a));
        protobuf_c_message_free_unpacked(&a->base, NULL);
        protobuf_c_message_free_unpacked(&b->base, NULL);
        protobuf_c_message_free_unpacked(&c->base, NULL);
        harness_redis_start(&redis, dir, redis.port);
}
END_TEST

/* The PIDs of the service's children running @p prog, into @p pids. */
static int children(const char *prog, pid_t *pids, int max)
{
        char cmd[128], out[1024], *save = NULL;
        int n = 0;

        /* by command line: process names are cut at 15 characters */
        snprintf(cmd, sizeof(cmd), "pgrep -P %d -f '^%s '", (int)svc.pid, prog);
        if (harness_sh(out, sizeof(out), cmd) != 0)
                return 0;
        for (char *tok = strtok_r(out, "\n", &save); tok && n < max;
             tok = strtok_r(NULL, "\n", &save))
                pids[n++] = (pid_t)atoi(tok);
        return n;
}

static double failures(void)
{
        double v = harness_metric(svc.admin_port,
                                  "cairn_translation_pipeline_failures_total{pair=\"eng-spa\"}");
        return v < 0 ? 0 : v;
}

START_TEST(test_killed_stage_replaced)
{
        char *texts[] = { "The garden is green." };
        pid_t pids[64];
        double before = failures();
        int n = children("apertium-transfer", pids, 64);
        TranslateReply *r;

        /* the preloaded en-es and es-en pipelines */
        ck_assert_int_ge(n, 2);
        struct cairn_status st;

        for (int i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
        /* a request that reaches a pipeline as its stage dies fails
         * UNAVAILABLE (its pipeline replaced); the next ones succeed */
        r = translate_opts("en", "es", texts, 1, false, false, &st);
        ck_assert_msg(r, "%s", st.message);
        ck_assert(!r->translations[0]->error ||
                  r->translations[0]->error->code == CAIRN_ERR_UNAVAILABLE);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        for (int k = 0; k < 3; k++) {
                r = translate("en", "es", texts, 1);
                ck_assert_str_eq(only_text(r), "El jardín es verde.");
                protobuf_c_message_free_unpacked(&r->base, NULL);
        }
        ck_assert_double_ge(failures(), before + 1);
}
END_TEST

START_TEST(test_hung_stage_replaced)
{
        char *texts[] = { "The sea is blue." };
        pid_t pids[64];
        struct cairn_status st;
        int n = children("apertium-postchunk", pids, 64);
        int64_t until;
        TranslateReply *r;
        int failed = 0;

        ck_assert_int_ge(n, 1);
        /* every postchunk stage stops: a request that reaches one hangs */
        for (int i = 0; i < n; i++)
                kill(pids[i], SIGSTOP);
        for (int k = 0; k < 4; k++) {
                r = translate_opts("en", "es", texts, 1, false, false, &st);
                ck_assert_ptr_nonnull(r);
                if (r->translations[0]->error) {
                        ck_assert_int_eq(r->translations[0]->error->code, CAIRN_ERR_UNAVAILABLE);
                        ck_assert_ptr_nonnull(
                                strstr(r->translations[0]->error->message, "stopped answering"));
                        failed++;
                } else {
                        ck_assert_str_eq(r->translations[0]->text, "El mar es azul.");
                }
                protobuf_c_message_free_unpacked(&r->base, NULL);
        }
        ck_assert_int_ge(failed, 1);
        /* the stopped processes were killed, not left behind: by a request
         * or, in pipelines no request took, by the health check's probes
         * (one pipeline after another, a stall time each) */
        until = cairn_mono_us() + 120 * 1000000LL;
        for (int i = 0; i < n; i++) {
                while (kill(pids[i], 0) == 0 && cairn_mono_us() < until)
                        usleep(50000);
                ck_assert_msg(kill(pids[i], 0) != 0, "stage %d still exists", (int)pids[i]);
        }
        /* and the next request succeeds */
        r = translate("en", "es", texts, 1);
        ck_assert_str_eq(only_text(r), "El mar es azul.");
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0048-translation_service");
        TCase *tc = tcase_create("service");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_known_sentence);
        tcase_add_test(tc, test_every_direct_pair_translates);
        tcase_add_test(tc, test_pivot_through_spanish);
        tcase_add_test(tc, test_batch_with_bad_texts);
        tcase_add_test(tc, test_large_batch_in_order);
        tcase_add_test(tc, test_html_markup_kept);
        tcase_add_test(tc, test_unknown_words_marked_on_request);
        tcase_add_test(tc, test_source_detected);
        tcase_add_test(tc, test_detect_request);
        tcase_add_test(tc, test_language_list);
        tcase_add_test(tc, test_request_errors);
        tcase_add_test(tc, test_cache_then_redis_gone);
        tcase_add_test(tc, test_killed_stage_replaced);
        tcase_add_test(tc, test_hung_stage_replaced);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

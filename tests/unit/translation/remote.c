/* Unit tests for the remote provider against the fake LibreTranslate server
 * (real HTTP on 127.0.0.1): its settings and their checks, the language
 * list fetched in the background (and kept when a fetch fails), batches
 * and their order, the API key from a file or from the secrets service (a
 * fetch of the test's own), and every answer mapped to its error code:
 * 400, 403, 429, 5xx, malformed and short answers, deadlines, a provider
 * that is down, an open breaker. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
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
#include "fake_libretranslate.h"
#include "provider_test.h"
#include "translation/remote.h"
#include "../unit.h"

#define KEY "lt-key-0123456789"

static struct fake_libretranslate *fake;
static struct tr_remote *remote;
static struct cairn_metrics *metrics;
static struct cairn_resilience_conf res;
static struct tr_remote_conf conf;
static struct cairn_conf *loaded;
static char url[64], dir[256];

/* Loads the section from @p env (NULL-terminated CAIRN_* settings) into
 * conf; returns 0, or -1 with the message in @p errstr. */
static int load(char *const *env, char *errstr, size_t size)
{
        struct cairn_conf_section sec = tr_remote_conf_section(&conf);

        cairn_conf_free(loaded);
        memset(&conf, 0, sizeof(conf));
        loaded = cairn_conf_load(NULL, &sec, 1, env, errstr, size);
        return loaded ? 0 : -1;
}

static void load_ok(const char *extra1, const char *extra2)
{
        char u[128], errstr[512];
        char *env[] = { u, (char *)extra1, (char *)extra2, NULL };

        snprintf(u, sizeof(u), "CAIRN_TRANSLATION_REMOTE_URL=%s", url);
        ck_assert_msg(load(env, errstr, sizeof(errstr)) == 0, "%s", errstr);
}

/* A provider over conf (with @p secrets), waiting for its language list. */
static void start_remote(struct cairn_secret_refs *secrets, bool wait)
{
        char errstr[512];

        remote = tr_remote_new(&conf, &res, secrets, metrics, errstr, sizeof(errstr));
        ck_assert_msg(remote != NULL, "%s", errstr);
        for (int i = 0; wait && i < 500 && !tr_remote_has_pair(remote, "en", "de"); i++)
                provider_test_msleep(10);
        ck_assert(!wait || tr_remote_has_pair(remote, "en", "de"));
}

static void setup(void)
{
        provider_test_dir(dir, sizeof(dir), "tr-remote");
        fake = fake_libretranslate_start();
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", fake_libretranslate_port(fake));
        metrics = cairn_metrics_new();
        provider_test_resilience(&res, TR_REMOTE_DEPENDENCY);
        load_ok(NULL, NULL);
}

static void teardown(void)
{
        tr_remote_free(remote);
        remote = NULL;
        fake_libretranslate_stop(fake);
        cairn_metrics_free(metrics);
        cairn_conf_free(loaded);
        loaded = NULL;
        provider_test_dir_remove(dir);
}

static char *out[8];

static void free_outs(void)
{
        for (size_t i = 0; i < 8; i++) {
                free(out[i]);
                out[i] = NULL;
        }
}

static cairn_err_t translate(const char *source, const char *target, const char *const *texts,
                             size_t n, int timeout_ms, struct cairn_status *st)
{
        free_outs();
        cairn_status_clear(st);
        return tr_remote_translate(remote, source, target, false, texts, n,
                                   cairn_now_ms() + timeout_ms, NULL, out, st);
}

static void assert_translated(const char *source, const char *target, const char *const *texts,
                              size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char *want = fake_libretranslate_translation(source, target, texts[i]);

                ck_assert_ptr_nonnull(out[i]);
                ck_assert_str_eq(out[i], want);
                free(want);
        }
}

static void assert_failed(cairn_err_t err, cairn_err_t want, const struct cairn_status *st,
                          const char *needle)
{
        ck_assert_msg(err == want, "got %s (%s), want %s", cairn_err_str(err), st->message,
                      cairn_err_str(want));
        ck_assert_msg(strstr(st->message, needle) != NULL, "message \"%s\" lacks \"%s\"",
                      st->message, needle);
        for (size_t i = 0; i < 8; i++)
                ck_assert_ptr_null(out[i]);
}

static double series(const char *text)
{
        size_t len;
        char *all = cairn_metrics_render(metrics, &len);
        const char *p = strstr(all, text);
        double v = p ? strtod(p + strlen(text), NULL) : -1;

        free(all);
        return v;
}

/* ---- settings ---- */

START_TEST(test_tr_remote_conf_section_checks)
{
        static const struct {
                const char *env[3];
                const char *says;
        } bad[] = {
                { { "CAIRN_TRANSLATION_REMOTE_URL=ftp://x" }, "not an http:// or https:// URL" },
                { { "CAIRN_TRANSLATION_REMOTE_URL=http://x",
                    "CAIRN_TRANSLATION_REMOTE_MODE=often" },
                  "translation.remote.mode: \"often\" is not one of missing, fallback, prefer" },
                { { "CAIRN_TRANSLATION_REMOTE_API_KEY_FILE=/k" },
                  "translation.remote.api_key_file: set, but translation.remote.url is empty" },
                { { "CAIRN_TRANSLATION_REMOTE_URL=http://x",
                    "CAIRN_TRANSLATION_REMOTE_API_KEY_SECRET=no-field" },
                  "translation.remote.api_key_secret" },
                { { "CAIRN_TRANSLATION_REMOTE_URL=http://x",
                    "CAIRN_TRANSLATION_REMOTE_MAX_BATCH=0" },
                  "translation.remote.max_batch" },
        };
        char *both[] = { "CAIRN_TRANSLATION_REMOTE_URL=https://lt.example/api",
                         "CAIRN_TRANSLATION_REMOTE_API_KEY_FILE=/k",
                         "CAIRN_TRANSLATION_REMOTE_API_KEY_SECRET=services/translation/lt#key",
                         NULL };
        char *none[] = { NULL };
        char errstr[512];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_int_eq(load((char *const *)bad[i].env, errstr, sizeof(errstr)), -1);
                ck_assert_msg(strstr(errstr, bad[i].says), "%s", errstr);
        }
        ck_assert_int_eq(load(both, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "not both"), "%s", errstr);
        /* the defaults: no provider */
        ck_assert_int_eq(load(none, errstr, sizeof(errstr)), 0);
        ck_assert(!tr_remote_conf_enabled(&conf));
        ck_assert_str_eq(conf.mode, "missing");
        ck_assert_int_eq(conf.max_batch, 16);
        both[1] = both[2];
        both[2] = NULL;
        ck_assert_int_eq(load(both, errstr, sizeof(errstr)), 0);
        ck_assert(tr_remote_conf_enabled(&conf));
        ck_assert(tr_remote_conf_wants_secrets(&conf));
}
END_TEST

/* ---- the language list ---- */

/* The value of @p family{provider="<the fake>"<more>}. */
static double provider_series(const char *family, const char *more)
{
        char text[256];

        snprintf(text, sizeof(text), "%s{provider=\"127.0.0.1:%d\"%s} ", family,
                 fake_libretranslate_port(fake), more);
        return series(text);
}

START_TEST(test_tr_remote_languages_fetched_in_the_background)
{
        struct tr_remote_pair pairs[4];
        struct cairn_status st;
        char name[64];

        start_remote(NULL, true);
        snprintf(name, sizeof(name), "127.0.0.1:%d", fake_libretranslate_port(fake));
        ck_assert_str_eq(tr_remote_name(remote), name);
        ck_assert_int_eq(tr_remote_mode(remote), TR_REMOTE_MISSING);
        ck_assert_int_eq(tr_remote_languages_status(remote, &st), CAIRN_OK);
        /* en <-> de, es, fr, zh-Hans */
        ck_assert_uint_eq(tr_remote_pairs(remote, pairs, 4), 8);
        ck_assert_str_eq(pairs[0].source, "de");
        ck_assert_str_eq(pairs[0].target, "en");
        ck_assert(tr_remote_has_pair(remote, "en", "zh-Hans"));
        ck_assert(tr_remote_has_pair(remote, "fr", "en"));
        ck_assert(!tr_remote_has_pair(remote, "fr", "de"));
        ck_assert(!tr_remote_has_pair(remote, "en", "en"));
        ck_assert(!tr_remote_has_pair(remote, "en", "not a code"));
        ck_assert_uint_eq(fake_libretranslate_language_calls(fake), 1);
        ck_assert_double_eq(provider_series("cairn_translation_remote_pairs", ""), 8);
        ck_assert_double_eq(provider_series("cairn_translation_remote_language_fetches_total",
                                            ",outcome=\"ok\""),
                            1);
}
END_TEST

static double fails(void)
{
        return provider_series("cairn_translation_remote_language_fetches_total",
                               ",outcome=\"error\"");
}

START_TEST(test_tr_remote_languages_kept_when_a_fetch_fails)
{
        struct cairn_status st;
        unsigned calls;

        load_ok("CAIRN_TRANSLATION_REMOTE_REFRESH_MS=100", NULL);
        start_remote(NULL, true);
        fake_libretranslate_set(fake,
                                &(struct fake_libretranslate_mode){ .languages_status = 500 });
        calls = fake_libretranslate_language_calls(fake);
        /* a failed fetch (its attempts retried as the dependency says) */
        for (int i = 0; i < 300 && fails() < 1; i++)
                provider_test_msleep(10);
        ck_assert_double_ge(fails(), 1);
        ck_assert_uint_ge(fake_libretranslate_language_calls(fake), calls + 3);
        ck_assert(tr_remote_has_pair(remote, "en", "de"));
        ck_assert_int_eq(tr_remote_languages_status(remote, &st), CAIRN_OK);
        /* a server without targets: any two of its languages */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .old_languages = true });
        for (int i = 0; i < 200 && !tr_remote_has_pair(remote, "fr", "de"); i++)
                provider_test_msleep(10);
        ck_assert(tr_remote_has_pair(remote, "fr", "de"));
        ck_assert_double_eq(provider_series("cairn_translation_remote_pairs", ""), 20);
}
END_TEST

START_TEST(test_tr_remote_languages_unknown_while_provider_down)
{
        struct cairn_status st;
        const char *texts[] = { "hello" };
        char dead[64];

        /* a port nothing listens on: the fake's, once stopped */
        snprintf(dead, sizeof(dead), "%s", url);
        fake_libretranslate_stop(fake);
        fake = NULL;
        start_remote(NULL, false);
        ck_assert_int_eq(tr_remote_languages_status(remote, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "UPSTREAM_LANGUAGES_UNKNOWN");
        for (int i = 0; i < 300; i++) {
                tr_remote_languages_status(remote, &st);
                if (strstr(st.message, "not known yet: provider"))
                        break;
                provider_test_msleep(10);
        }
        ck_assert_msg(strstr(st.message, "not known yet: provider 127.0.0.1:"), "%s", st.message);
        ck_assert(!tr_remote_has_pair(remote, "en", "de"));
        ck_assert_uint_eq(tr_remote_pairs(remote, NULL, 0), 0);
        /* a translation says the provider is down */
        assert_failed(translate("en", "de", texts, 1, 2000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "provider 127.0.0.1:");
        ck_assert_str_eq(st.reason, "UPSTREAM_UNREACHABLE");
        /* the harness's teardown stops no fake */
        fake = fake_libretranslate_start();
}
END_TEST

/* ---- translations ---- */

START_TEST(test_tr_remote_translate_one_and_batches_in_order)
{
        const char *one[] = { "hello world" };
        const char *texts[] = { "the cat", "hello", "good house", "world", "unknown words" };
        struct cairn_status st;
        char buf[64];
        cairn_err_t err;

        load_ok("CAIRN_TRANSLATION_REMOTE_MAX_BATCH=2", NULL);
        start_remote(NULL, true);
        err = translate("en", "de", one, 1, 5000, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_str_eq(out[0], "hallo Welt");
        ck_assert(!fake_libretranslate_last_q_array(fake));
        fake_libretranslate_last(fake, "format", buf, sizeof(buf));
        ck_assert_str_eq(buf, "text");
        fake_libretranslate_last(fake, "api_key", buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        /* five texts, two a request: three requests at once, answers in order */
        err = translate("en", "de", texts, 5, 5000, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        assert_translated("en", "de", texts, 5);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 4);
        ck_assert_uint_eq(fake_libretranslate_texts(fake), 6);
        ck_assert_double_eq(provider_series("cairn_translation_remote_requests_total",
                                            ",code=\"200\""),
                            5); /* the language list too */
        /* HTML goes as format html */
        free_outs();
        err = tr_remote_translate(remote, "de", "en", true, (const char *[]){ "<b>Katze</b>" }, 1,
                                  0, NULL, out, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_str_eq(out[0], "<b>cat</b>");
        fake_libretranslate_last(fake, "format", buf, sizeof(buf));
        ck_assert_str_eq(buf, "html");
        /* nothing to translate, nothing sent */
        ck_assert_int_eq(translate("en", "de", texts, 0, 5000, &st), CAIRN_OK);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 5);
        free_outs();
}
END_TEST

START_TEST(test_tr_remote_translate_refuses_bad_arguments)
{
        const char *texts[] = { "short", "this one is too long" };
        struct cairn_status st;

        load_ok("CAIRN_TRANSLATION_REMOTE_MAX_TEXT_BYTES=10", NULL);
        start_remote(NULL, true);
        assert_failed(translate("en", "de", texts, 2, 5000, &st), CAIRN_ERR_INVALID, &st,
                      "texts[1]: 20 bytes; the remote provider");
        ck_assert_str_eq(st.field, "texts[1]");
        assert_failed(translate("en", "d e", texts, 1, 5000, &st), CAIRN_ERR_INVALID, &st,
                      "target");
        assert_failed(translate("", "de", texts, 1, 5000, &st), CAIRN_ERR_INVALID, &st, "source");
        texts[0] = "\xff";
        assert_failed(translate("en", "de", texts, 1, 5000, &st), CAIRN_ERR_INVALID, &st,
                      "not UTF-8");
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 0);
}
END_TEST

START_TEST(test_tr_remote_translate_provider_refusals)
{
        const char *texts[] = { "hello" };
        struct cairn_status st;

        start_remote(NULL, true);
        /* a pair it does not have: its own message, the caller's problem */
        assert_failed(translate("fr", "de", texts, 1, 5000, &st), CAIRN_ERR_INVALID, &st,
                      "HTTP 400: German (de) is not available as a target language from French "
                      "(fr)");
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 1);
        /* a key it wants and we do not send: ours to fix */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = KEY });
        assert_failed(translate("en", "de", texts, 1, 5000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "it may want an API key, set translation.remote.api_key_file");
        ck_assert_str_eq(st.reason, "UPSTREAM_REFUSED");
        ck_assert_msg(strstr(st.message, "Please contact the server operator"), "%s", st.message);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 2);
}
END_TEST

/* Writes @p key to a file of the test folder readable by its owner only. */
static const char *key_file(const char *key)
{
        return provider_test_key_file(dir, "lt.key", key);
}

START_TEST(test_tr_remote_translate_key_from_file)
{
        const char *texts[] = { "hello cat" };
        char env[512], buf[64], errstr[512];
        struct cairn_status st;
        cairn_err_t err;

        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = KEY });
        snprintf(env, sizeof(env), "CAIRN_TRANSLATION_REMOTE_API_KEY_FILE=%s", key_file(KEY));
        load_ok(env, NULL);
        start_remote(NULL, true);
        err = translate("en", "fr", texts, 1, 5000, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_str_eq(out[0], "bonjour chat");
        fake_libretranslate_last(fake, "api_key", buf, sizeof(buf));
        ck_assert_str_eq(buf, KEY);
        /* a key the provider does not take */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = "other" });
        assert_failed(translate("en", "fr", texts, 1, 5000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "refused our API key (HTTP 403: Invalid API key): check "
                      "translation.remote.api_key_file");
        ck_assert_msg(!strstr(st.message, KEY), "%s", st.message);
        tr_remote_free(remote);
        remote = NULL;
        /* a file anyone may read is refused at start */
        chmod(key_file(KEY), 0644);
        if (geteuid() == 0)
                ck_assert_int_eq(chown(key_file(KEY), 65534, 65534), 0);
        chmod(key_file(KEY), 0644);
        remote = tr_remote_new(&conf, &res, NULL, metrics, errstr, sizeof(errstr));
        ck_assert_ptr_null(remote);
        ck_assert_msg(strstr(errstr, "config: translation.remote.api_key_file: "), "%s", errstr);
}
END_TEST

/* The secrets service, as a fetch function of the test's own. */
static struct provider_test_secret secret = { "services/translation/libretranslate", "" };

START_TEST(test_tr_remote_translate_key_from_secrets_service)
{
        struct cairn_secret_ref_conf sconf = {
                "cairn.secrets.v1.requests", "cairn", "", 60000, 120000, 20, 1000
        };
        const char *texts[] = { "hello" };
        struct cairn_secret_refs *refs;
        char buf[64], errstr[256];
        struct cairn_status st;
        cairn_err_t err;

        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .api_key = KEY });
        load_ok("CAIRN_TRANSLATION_REMOTE_API_KEY_SECRET=services/translation/"
                "libretranslate#api_key",
                NULL);
        /* without a client of the secrets service: refused at start */
        ck_assert_ptr_null(tr_remote_new(&conf, &res, NULL, metrics, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "no client of the secrets service"), "%s", errstr);
        /* no secret yet: the provider is not called */
        secret.json[0] = '\0';
        refs = cairn_secret_refs_new_with(&sconf, provider_test_fetch_secret, &secret, NULL);
        start_remote(refs, true);
        assert_failed(translate("en", "es", texts, 1, 300, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "services/translation/libretranslate#api_key");
        ck_assert_str_eq(st.reason, "SECRET_UNAVAILABLE");
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 0);
        snprintf(secret.json, sizeof(secret.json), "{\"api_key\":\"%s\"}", KEY);
        provider_test_msleep(50);
        err = translate("en", "es", texts, 1, 5000, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_str_eq(out[0], "hola");
        fake_libretranslate_last(fake, "api_key", buf, sizeof(buf));
        ck_assert_str_eq(buf, KEY);
        free_outs();
        tr_remote_free(remote);
        remote = NULL;
        cairn_secret_refs_free(refs);
}
END_TEST

START_TEST(test_tr_remote_translate_retries_429_and_5xx)
{
        const char *texts[] = { "hello", "world" };
        struct cairn_status st;
        cairn_err_t err;
        int64_t t0;

        start_remote(NULL, true);
        /* twice 429 with Retry-After, then an answer */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){
                                              .fail_status = 429,
                                              .fail_count = 2,
                                              .fail_message = "too many requests",
                                              .retry_after = "0.1" });
        t0 = cairn_now_ms();
        err = translate("en", "de", texts, 2, 5000, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_int_ge(cairn_now_ms() - t0, 190);
        assert_translated("en", "de", texts, 2);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 3);
        /* 429 for good: RESOURCE_EXHAUSTED once the attempts are used */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){
                                              .fail_status = 429,
                                              .fail_count = -1,
                                              .fail_message = "too many requests" });
        assert_failed(translate("en", "de", texts, 2, 5000, &st), CAIRN_ERR_EXHAUSTED, &st,
                      "HTTP 429 (rate limited): Slowdown: too many requests");
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 6);
        /* a 500 is retried; for good, UNAVAILABLE with its message */
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .fail_status = 500,
                                                                          .fail_count = 1 });
        err = translate("en", "de", texts, 2, 5000, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){
                                              .fail_status = 503,
                                              .fail_count = -1,
                                              .fail_message = "Cannot translate text: boom" });
        assert_failed(translate("en", "de", texts, 2, 5000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "HTTP 503: Cannot translate text: boom");
        ck_assert_double_eq(provider_series("cairn_translation_remote_requests_total",
                                            ",code=\"429\""),
                            5);
}
END_TEST

START_TEST(test_tr_remote_translate_bad_answers_not_retried)
{
        const char *texts[] = { "hello", "world" };
        struct cairn_status st;

        start_remote(NULL, true);
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .malformed = true });
        assert_failed(translate("en", "de", texts, 2, 5000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "provider response is not JSON");
        ck_assert_str_eq(st.reason, "UPSTREAM_BAD_RESPONSE");
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 1);
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .short_answer = true });
        assert_failed(translate("en", "de", texts, 2, 5000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "answered 1 translations for 2 texts");
        assert_failed(translate("en", "de", texts, 1, 5000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "answered 0 translations for 1 texts");
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 3);
}
END_TEST

START_TEST(test_tr_remote_translate_deadline_aborts_slow_provider)
{
        const char *texts[] = { "hello" };
        struct cairn_status st;
        int64_t t0;

        start_remote(NULL, true);
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){ .delay_ms = 3000 });
        t0 = cairn_now_ms();
        assert_failed(translate("en", "de", texts, 1, 300, &st), CAIRN_ERR_DEADLINE, &st,
                      "did not answer before the request's deadline");
        ck_assert_int_lt(cairn_now_ms() - t0, 1000);
        /* curl closed the connection: the fake saw its client go */
        for (int i = 0; i < 100 && fake_libretranslate_aborted(fake) == 0; i++)
                provider_test_msleep(10);
        ck_assert_uint_eq(fake_libretranslate_aborted(fake), 1);
}
END_TEST

START_TEST(test_tr_remote_translate_breaker_says_why)
{
        const char *texts[] = { "hello" };
        struct cairn_status st;

        res.max_attempts = 1;
        res.breaker_failures = 2;
        start_remote(NULL, true);
        fake_libretranslate_set(fake, &(struct fake_libretranslate_mode){
                                              .fail_status = 502,
                                              .fail_count = -1,
                                              .fail_message = "upstream gone" });
        for (int i = 0; i < 2; i++)
                assert_failed(translate("en", "de", texts, 1, 5000, &st), CAIRN_ERR_UNAVAILABLE,
                              &st, "HTTP 502: upstream gone");
        assert_failed(translate("en", "de", texts, 1, 5000, &st), CAIRN_ERR_UNAVAILABLE, &st,
                      "last failure: provider");
        ck_assert_str_eq(st.reason, "BREAKER_OPEN");
        ck_assert_msg(strstr(st.message, "upstream gone"), "%s", st.message);
        ck_assert_uint_eq(fake_libretranslate_translate_calls(fake), 2);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("remote");
        TCase *tc;

        tc = tcase_create("tr_remote_conf_section");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_tr_remote_conf_section_checks);
        suite_add_tcase(s, tc);
        tc = tcase_create("tr_remote_languages");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_tr_remote_languages_fetched_in_the_background);
        tcase_add_test(tc, test_tr_remote_languages_kept_when_a_fetch_fails);
        tcase_add_test(tc, test_tr_remote_languages_unknown_while_provider_down);
        suite_add_tcase(s, tc);
        tc = tcase_create("tr_remote_translate");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_tr_remote_translate_one_and_batches_in_order);
        tcase_add_test(tc, test_tr_remote_translate_refuses_bad_arguments);
        tcase_add_test(tc, test_tr_remote_translate_provider_refusals);
        tcase_add_test(tc, test_tr_remote_translate_key_from_file);
        tcase_add_test(tc, test_tr_remote_translate_key_from_secrets_service);
        tcase_add_test(tc, test_tr_remote_translate_retries_429_and_5xx);
        tcase_add_test(tc, test_tr_remote_translate_bad_answers_not_retried);
        tcase_add_test(tc, test_tr_remote_translate_deadline_aborts_slow_provider);
        tcase_add_test(tc, test_tr_remote_translate_breaker_says_why);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

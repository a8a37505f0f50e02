/* The translation service through the gateway, both ways it is served:
 *   - Cairn's own routes in the proto3 JSON mapping (/v1/translations,
 *     /v1/translations:detect, /v1/languages), errors as cairn.v1.Status;
 *   - LibreTranslate's API (/translate, /detect, /languages): JSON and form
 *     bodies (urlencoded, multipart), q as a string or an array, source
 *     auto with detectedLanguage, alternatives, HTML, and errors in its
 *     shape with its statuses (a pair nothing serves, a text of a batch
 *     that fails, a missing field, a media type, a method);
 *   - the credential as LibreTranslate's clients send it (api_key in the
 *     body or the query) as well as in the headers, LibreTranslate's 403
 *     for a bad or missing key, a viewer's rights, 429 when rate-limited.
 * Runs the real cairn-translation (Apertium, no Redis) behind the real
 * gateway. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_fixture.h"

#define KEY_OWNER  "ck_it_tr_owner_0123456789abcdefgh"
#define KEY_MEMBER "ck_it_tr_member_0123456789abcdefg"
#define KEY_VIEWER "ck_it_tr_viewer_0123456789abcdefg"
#define KEY_RL     "ck_it_tr_ratelimited_0123456789ab"
/* the most /languages calls KEY_RL gets in a minute */
#define LANGUAGES_PER_MINUTE 5

#define JSON_CT "Content-Type: application/json"
#define FORM_CT "Content-Type: application/x-www-form-urlencoded"

static struct harness_broker broker;
static struct harness_proc svc;
static struct gwf_gateway gateway;
static int http_port;

static void setup(void)
{
        static const struct gwf_api_key keys[] = {
                { KEY_OWNER, "it-owner", "t1", "owner" },
                { KEY_MEMBER, "it-member", "t1", "member" },
                { KEY_VIEWER, "it-viewer", "t1", "viewer" },
                { KEY_RL, "it-limited", "t1", "member" },
        };
        char topic[300], limit[80];

        curl_global_init(CURL_GLOBAL_ALL);
        harness_broker_start(&broker, 1);
        harness_topic_create(&broker, harness_topic("cairn.translation.v1.requests"), 4);
        harness_service_start(&svc, &broker, "translation",
                              (const char *const[]){ "CAIRN_TRANSLATION_CACHE_ENABLED=false",
                                                     "CAIRN_TRANSLATION_PRELOAD=en-es,es-en",
                                                     NULL });
        snprintf(topic, sizeof(topic), "CAIRN_UPSTREAM_TRANSLATION_TOPIC=%s",
                 harness_topic("cairn.translation.v1.requests"));
        snprintf(limit, sizeof(limit), "CAIRN_RATELIMIT_LANGUAGES_PER_MINUTE=%d",
                 LANGUAGES_PER_MINUTE);
        gwf_gateway_start(&gateway, &broker, keys, sizeof(keys) / sizeof(keys[0]),
                          (const char *const[]){ topic, limit, NULL });
        http_port = gateway.http_port;
        ck_assert_msg(harness_wait_ready(&svc, 60000), "translation not ready (%s)", svc.log_path);
        ck_assert_msg(harness_wait_ready(&gateway.proc, 30000), "gateway not ready (%s)",
                      gateway.proc.log_path);
}

static void teardown(void)
{
        ck_assert_int_eq(gwf_gateway_stop(&gateway), 0);
        ck_assert_int_eq(harness_service_stop(&svc, 15000), 0);
        harness_broker_stop(&broker);
}

/* @p method @p path with @p body (or NULL) and up to two headers. */
static long call(const char *method, const char *path, const char *h1, const char *h2,
                 const char *body, struct gwf_resp *r)
{
        const char *h[3] = { NULL, NULL, NULL };
        size_t n = 0;

        if (h1)
                h[n++] = h1;
        if (h2)
                h[n++] = h2;
        return gwf_http(http_port, method, path, h, body, body ? strlen(body) : 0, r);
}

static long lt_json(const char *path, const char *key, const char *body, struct gwf_resp *r)
{
        char auth[128];

        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
        return call("POST", path, auth, JSON_CT, body, r);
}

static json_t *parsed(const struct gwf_resp *r)
{
        json_error_t jerr;
        json_t *doc = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &jerr);

        ck_assert_msg(doc != NULL, "not JSON (%s): %s", jerr.text, r->body);
        return doc;
}

/* The answer is exactly LibreTranslate's error {"error": "..."} with @p status
 * and a message holding @p part. */
static void lt_error(const struct gwf_resp *r, long status, const char *part)
{
        json_t *doc;

        ck_assert_msg(r->status == status, "status %ld != %ld: %s", r->status, status, r->body);
        doc = parsed(r);
        ck_assert_msg(json_object_size(doc) == 1 && json_is_string(json_object_get(doc, "error")),
                      "not LibreTranslate's error: %s", r->body);
        ck_assert_msg(strstr(json_string_value(json_object_get(doc, "error")), part),
                      "\"%s\" not in %s", part, r->body);
        json_decref(doc);
}

static const char *str(json_t *v)
{
        ck_assert_msg(json_is_string(v), "not a string");
        return json_string_value(v);
}

/* ---- Cairn's own routes ---- */

START_TEST(test_native_routes)
{
        struct gwf_resp r;
        json_t *doc, *t;

        ck_assert_int_eq(lt_json("/v1/translations", KEY_MEMBER,
                                 "{\"texts\":[\"Hello world\",\"The house is big.\"],"
                                 "\"source\":\"en\",\"target\":\"es\"}",
                                 &r),
                         200);
        doc = parsed(&r);
        t = json_object_get(doc, "translations");
        ck_assert_uint_eq(json_array_size(t), 2);
        ck_assert_msg(strncmp(str(json_object_get(json_array_get(t, 0), "text")), "Hola", 4) == 0,
                      "%s", r.body);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t, 1), "index")), 1);
        ck_assert_ptr_nonnull(strstr(str(json_object_get(json_array_get(t, 1), "text")), "casa"));
        ck_assert_str_eq(str(json_object_get(json_array_get(t, 0), "engine")), "apertium");
        json_decref(doc);
        gwf_resp_free(&r);

        ck_assert_int_eq(lt_json("/v1/translations:detect", KEY_MEMBER,
                                 "{\"texts\":[\"This is a sentence written in English about the "
                                 "weather.\"],\"maxCandidates\":2}",
                                 &r),
                         200);
        doc = parsed(&r);
        t = json_object_get(json_array_get(json_object_get(doc, "results"), 0), "candidates");
        ck_assert_msg(json_array_size(t) >= 1 && json_array_size(t) <= 2, "%s", r.body);
        ck_assert_str_eq(str(json_object_get(json_array_get(t, 0), "language")), "en");
        json_decref(doc);
        gwf_resp_free(&r);

        ck_assert_int_eq(call("GET", "/v1/languages", "X-API-Key: " KEY_VIEWER, NULL, NULL, &r),
                         200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"en\""));
        ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"English\""));
        gwf_resp_free(&r);

        /* a target nothing serves: the service's INVALID_ARGUMENT as a Status */
        ck_assert_int_eq(lt_json("/v1/translations", KEY_MEMBER,
                                 "{\"texts\":[\"Hello\"],\"source\":\"en\",\"target\":\"xx\"}", &r),
                         400);
        doc = parsed(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(doc, "code")), 3);
        ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"target\""));
        json_decref(doc);
        gwf_resp_free(&r);
        /* a viewer lists languages but does not translate */
        ck_assert_int_eq(lt_json("/v1/translations", KEY_VIEWER,
                                 "{\"texts\":[\"Hello\"],\"source\":\"en\",\"target\":\"es\"}", &r),
                         403);
        gwf_resp_free(&r);
}
END_TEST

/* ---- LibreTranslate's API ---- */

START_TEST(test_lt_translate_shapes)
{
        static const char multipart[] =
                "--XbOuNdArY\r\n"
                "Content-Disposition: form-data; name=\"q\"\r\n\r\n"
                "Good morning\r\n"
                "--XbOuNdArY\r\n"
                "Content-Disposition: form-data; name=\"source\"\r\n\r\n"
                "en\r\n"
                "--XbOuNdArY\r\n"
                "Content-Disposition: form-data; name=\"target\"\r\n\r\n"
                "es\r\n"
                "--XbOuNdArY\r\n"
                "Content-Disposition: form-data; name=\"api_key\"\r\n\r\n" KEY_MEMBER "\r\n"
                "--XbOuNdArY--\r\n";
        struct gwf_resp r;
        json_t *doc, *v;

        /* a string q */
        ck_assert_int_eq(lt_json("/translate", KEY_MEMBER,
                                 "{\"q\":\"Hello world\",\"source\":\"en\",\"target\":\"es\"}", &r),
                         200);
        doc = parsed(&r);
        ck_assert_uint_eq(json_object_size(doc), 1);
        ck_assert_msg(strncmp(str(json_object_get(doc, "translatedText")), "Hola", 4) == 0, "%s",
                      r.body);
        json_decref(doc);
        gwf_resp_free(&r);

        /* an array: an array back, in order */
        ck_assert_int_eq(lt_json("/translate", KEY_MEMBER,
                                 "{\"q\":[\"Hello world\",\"The house is big.\",\"Thank you\"],"
                                 "\"source\":\"en\",\"target\":\"es\"}",
                                 &r),
                         200);
        doc = parsed(&r);
        v = json_object_get(doc, "translatedText");
        ck_assert_uint_eq(json_array_size(v), 3);
        ck_assert_ptr_nonnull(strstr(str(json_array_get(v, 1)), "casa"));
        ck_assert_ptr_null(json_object_get(doc, "detectedLanguage"));
        json_decref(doc);
        gwf_resp_free(&r);

        /* auto: detectedLanguage (an array for an array), alternatives: none */
        ck_assert_int_eq(lt_json("/translate", KEY_MEMBER,
                                 "{\"q\":\"The house is big and the garden is green.\","
                                 "\"source\":\"auto\",\"target\":\"es\",\"alternatives\":2}",
                                 &r),
                         200);
        doc = parsed(&r);
        v = json_object_get(doc, "detectedLanguage");
        ck_assert_str_eq(str(json_object_get(v, "language")), "en");
        ck_assert(json_number_value(json_object_get(v, "confidence")) > 0 &&
                  json_number_value(json_object_get(v, "confidence")) <= 100);
        ck_assert(json_is_array(json_object_get(doc, "alternatives")) &&
                  json_array_size(json_object_get(doc, "alternatives")) == 0);
        json_decref(doc);
        gwf_resp_free(&r);
        ck_assert_int_eq(lt_json("/translate", KEY_MEMBER,
                                 "{\"q\":[\"The house is big and the garden is green.\","
                                 "\"La casa es grande y el jard\\u00edn es verde.\"],"
                                 "\"source\":\"auto\",\"target\":\"en\"}",
                                 &r),
                         200);
        doc = parsed(&r);
        v = json_object_get(doc, "detectedLanguage");
        ck_assert_uint_eq(json_array_size(v), 2);
        ck_assert_str_eq(str(json_object_get(json_array_get(v, 0), "language")), "en");
        ck_assert_str_eq(str(json_object_get(json_array_get(v, 1), "language")), "es");
        /* already in the target language: as it was */
        ck_assert_str_eq(str(json_array_get(json_object_get(doc, "translatedText"), 0)),
                         "The house is big and the garden is green.");
        json_decref(doc);
        gwf_resp_free(&r);

        /* a urlencoded form with api_key (no header), as libretranslatepy sends */
        ck_assert_int_eq(call("POST", "/translate", FORM_CT, NULL,
                              "q=Hello+world&source=en&target=es&api_key=" KEY_MEMBER, &r),
                         200);
        ck_assert_msg(strncmp(r.body, "{\"translatedText\":\"Hola", 23) == 0, "%s", r.body);
        gwf_resp_free(&r);
        /* multipart, with api_key as a part */
        ck_assert_int_eq(gwf_http(http_port, "POST", "/translate",
                                  (const char *const[]){ "Content-Type: multipart/form-data; "
                                                         "boundary=XbOuNdArY",
                                                         NULL },
                                  multipart, sizeof(multipart) - 1, &r),
                         200);
        ck_assert_msg(strstr(r.body, "Buenos"), "%s", r.body);
        gwf_resp_free(&r);

        /* HTML: the markup kept */
        ck_assert_int_eq(lt_json("/translate", KEY_MEMBER,
                                 "{\"q\":\"<p>Hello <b>world</b></p>\",\"source\":\"en\","
                                 "\"target\":\"es\",\"format\":\"html\"}",
                                 &r),
                         200);
        ck_assert_msg(strstr(r.body, "<p>") && strstr(r.body, "<b>") && strstr(r.body, "</p>"),
                      "%s", r.body);
        gwf_resp_free(&r);
}
END_TEST

START_TEST(test_lt_errors)
{
        struct gwf_resp r;

        lt_json("/translate", KEY_MEMBER, "{\"source\":\"en\",\"target\":\"es\"}", &r);
        lt_error(&r, 400, "Invalid request: missing q parameter");
        gwf_resp_free(&r);
        lt_json("/translate", KEY_MEMBER, "{\"q\":[\"a\",3],\"source\":\"en\",\"target\":\"es\"}",
                &r);
        lt_error(&r, 400, "q[1] must be a string, not an integer");
        gwf_resp_free(&r);
        lt_json("/translate", KEY_MEMBER, "{\"q\":\"a\",", &r);
        lt_error(&r, 400, "Invalid JSON format");
        gwf_resp_free(&r);
        /* the service's refusals: a target nothing serves, one language twice */
        lt_json("/translate", KEY_MEMBER, "{\"q\":\"Hello\",\"source\":\"en\",\"target\":\"xx\"}",
                &r);
        lt_error(&r, 400, "target: nothing can be translated into xx");
        gwf_resp_free(&r);
        lt_json("/translate", KEY_MEMBER, "{\"q\":\"Hello\",\"source\":\"en\",\"target\":\"en\"}",
                &r);
        lt_error(&r, 400, "source and target are both en");
        gwf_resp_free(&r);
        /* a text of a batch that fails: the whole answer, naming it */
        lt_json("/translate", KEY_MEMBER,
                "{\"q\":[\"The house is big and the garden is green.\",\"12345 67890\"],"
                "\"source\":\"auto\",\"target\":\"es\"}",
                &r);
        lt_error(&r, 400, "q[1]");
        gwf_resp_free(&r);
        /* a media type the route does not read; a method it does not serve */
        call("POST", "/translate", "Authorization: Bearer " KEY_MEMBER, "Content-Type: text/plain",
             "q=a", &r);
        lt_error(&r, 415, "application/x-www-form-urlencoded");
        gwf_resp_free(&r);
        /* (a method no row of the path has matches no route: the gateway's
         * own shape, where LibreTranslate answers an HTML page) */
        ck_assert_int_eq(call("GET", "/translate", "Authorization: Bearer " KEY_MEMBER, NULL, NULL,
                              &r),
                         405);
        ck_assert_str_eq(gwf_resp_header(&r, "Allow"), "POST, OPTIONS");
        gwf_resp_free(&r);
        /* the service's field names are LibreTranslate's on its routes too */
        lt_json("/detect", KEY_MEMBER, "{\"q\":\"\"}", &r);
        lt_error(&r, 400, "missing q");
        gwf_resp_free(&r);
}
END_TEST

START_TEST(test_lt_credentials)
{
        struct gwf_resp r;

        /* none at all, a wrong key, a malformed one: LibreTranslate's 403 */
        call("POST", "/translate", FORM_CT, NULL, "q=Hello&source=en&target=es", &r);
        lt_error(&r, 403, "an API key is required");
        ck_assert_ptr_null(gwf_resp_header(&r, "WWW-Authenticate"));
        gwf_resp_free(&r);
        call("POST", "/translate", FORM_CT, NULL,
             "q=Hello&source=en&target=es&api_key=ck_not_a_key_0123456789abcdef", &r);
        lt_error(&r, 403, "Invalid API key: unknown API key");
        gwf_resp_free(&r);
        call("POST", "/detect", JSON_CT, NULL, "{\"q\":\"Hello\",\"api_key\":\"nope\"}", &r);
        lt_error(&r, 403, "Invalid API key");
        gwf_resp_free(&r);
        call("POST", "/translate", "X-API-Key: ck_not_a_key_0123456789abcdef", JSON_CT,
             "{\"q\":\"Hello\",\"source\":\"en\",\"target\":\"es\"}", &r);
        lt_error(&r, 403, "Invalid API key");
        gwf_resp_free(&r);
        /* in the query */
        ck_assert_int_eq(call("POST", "/translate?api_key=" KEY_MEMBER, JSON_CT, NULL,
                              "{\"q\":\"Hello\",\"source\":\"en\",\"target\":\"es\"}", &r),
                         200);
        gwf_resp_free(&r);
        /* a header credential wins over the body's */
        ck_assert_int_eq(call("POST", "/translate", "Authorization: Bearer " KEY_MEMBER, FORM_CT,
                              "q=Hello&source=en&target=es&api_key=ck_not_a_key_0123456789abcd",
                              &r),
                         200);
        gwf_resp_free(&r);
        /* a body that cannot be read is refused before its key is looked at */
        call("POST", "/translate", FORM_CT, NULL, "q=%zz&api_key=" KEY_MEMBER, &r);
        lt_error(&r, 400, "form cannot be read");
        gwf_resp_free(&r);
        /* a viewer: the languages, never a translation */
        call("POST", "/translate", FORM_CT, NULL, "q=Hello&source=en&target=es&api_key=" KEY_VIEWER,
             &r);
        lt_error(&r, 403, "role viewer may not call POST /translate");
        gwf_resp_free(&r);
        ck_assert_int_eq(call("GET", "/languages?api_key=" KEY_VIEWER, NULL, NULL, NULL, &r), 200);
        gwf_resp_free(&r);
        /* libretranslatepy's languages(): a GET with a form body */
        ck_assert_int_eq(call("GET", "/languages", FORM_CT, NULL, "api_key=" KEY_VIEWER, &r), 200);
        gwf_resp_free(&r);
        call("GET", "/languages", NULL, NULL, NULL, &r);
        lt_error(&r, 403, "API key");
        gwf_resp_free(&r);
}
END_TEST

START_TEST(test_lt_detect)
{
        struct gwf_resp r;
        json_t *doc, *first;
        double last = 101;

        ck_assert_int_eq(call("POST", "/detect", FORM_CT, NULL,
                              "q=La+casa+es+grande+y+el+jard%C3%ADn+es+verde.&api_key=" KEY_MEMBER,
                              &r),
                         200);
        doc = parsed(&r);
        ck_assert_msg(json_is_array(doc) && json_array_size(doc) >= 1, "%s", r.body);
        first = json_array_get(doc, 0);
        ck_assert_str_eq(str(json_object_get(first, "language")), "es");
        for (size_t i = 0; i < json_array_size(doc); i++) {
                double c = json_number_value(json_object_get(json_array_get(doc, i), "confidence"));

                ck_assert_msg(c >= 0 && c <= 100 && c <= last, "not ranked: %s", r.body);
                last = c;
        }
        json_decref(doc);
        gwf_resp_free(&r);
        /* an array: one ranked list for all its texts */
        ck_assert_int_eq(lt_json("/detect", KEY_MEMBER,
                                 "{\"q\":[\"This is a sentence written in English.\","
                                 "\"Another English sentence about the weather today.\"]}",
                                 &r),
                         200);
        doc = parsed(&r);
        ck_assert_str_eq(str(json_object_get(json_array_get(doc, 0), "language")), "en");
        json_decref(doc);
        gwf_resp_free(&r);
}
END_TEST

START_TEST(test_lt_languages)
{
        struct gwf_resp r;
        json_t *doc, *en = NULL;
        bool es_target = false;

        ck_assert_int_eq(call("GET", "/languages", "X-API-Key: " KEY_MEMBER, NULL, NULL, &r), 200);
        doc = parsed(&r);
        ck_assert(json_is_array(doc));
        for (size_t i = 0; i < json_array_size(doc); i++) {
                json_t *l = json_array_get(doc, i);

                ck_assert_uint_eq(json_object_size(l), 3);
                ck_assert(json_is_array(json_object_get(l, "targets")));
                if (strcmp(str(json_object_get(l, "code")), "en") == 0)
                        en = l;
        }
        ck_assert_ptr_nonnull(en);
        ck_assert_str_eq(str(json_object_get(en, "name")), "English");
        for (size_t i = 0; i < json_array_size(json_object_get(en, "targets")); i++)
                es_target |= strcmp(str(json_array_get(json_object_get(en, "targets"), i)), "es") ==
                             0;
        ck_assert(es_target);
        json_decref(doc);
        gwf_resp_free(&r);
        /* as older LibreTranslate versions answered it, POST too */
        ck_assert_int_eq(call("POST", "/languages", FORM_CT, NULL, "api_key=" KEY_MEMBER, &r), 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"en\""));
        gwf_resp_free(&r);
}
END_TEST

START_TEST(test_lt_rate_limited)
{
        struct gwf_resp r;
        long status = 200;
        int n;

        for (n = 0; n <= LANGUAGES_PER_MINUTE + 1 && status == 200; n++) {
                status = call("GET", "/languages?api_key=" KEY_RL, NULL, NULL, NULL, &r);
                if (status != 200)
                        break;
                gwf_resp_free(&r);
        }
        ck_assert_msg(status == 429, "no 429 after %d calls (status %ld)", n, status);
        lt_error(&r, 429, "rate limit");
        ck_assert_ptr_nonnull(gwf_resp_header(&r, "Retry-After"));
        gwf_resp_free(&r);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("translation_gateway");
        TCase *tc = tcase_create("http");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_native_routes);
        tcase_add_test(tc, test_lt_translate_shapes);
        tcase_add_test(tc, test_lt_errors);
        tcase_add_test(tc, test_lt_credentials);
        tcase_add_test(tc, test_lt_detect);
        tcase_add_test(tc, test_lt_languages);
        tcase_add_test(tc, test_lt_rate_limited);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

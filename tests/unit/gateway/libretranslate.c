/* Unit tests for LibreTranslate's API at the gateway: the requests (JSON and
 * form bodies, q as a string or an array, the query's fields, every refusal
 * naming its field), the answers byte for byte (translations, detections,
 * languages, a failed text as the whole answer's error), LibreTranslate's
 * error bodies and statuses, and the adapters driven without a broker. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "gateway/error.h"
#include "gateway/libretranslate.h"
#include "gateway/libretranslate_parse.h"
#include "gateway/libretranslate_render.h"
#include "../unit.h"

#define JSON "application/json"
#define FORM "application/x-www-form-urlencoded"

static struct cairn_arena arena;

static void setup(void)
{
        cairn_arena_init(&arena, 16 << 20);
}

static void teardown(void)
{
        cairn_arena_cleanup(&arena);
}

static bool parse_q(enum gw_lt_op op, const char *ct, const char *body, size_t len,
                    const struct gw_form *query, struct gw_lt_request *req, struct gw_error *e)
{
        memset(e, 0, sizeof(*e));
        return gw_lt_parse(op, ct, body, len, query, 16, &arena, req, e);
}

static bool parse(enum gw_lt_op op, const char *ct, const char *body, struct gw_lt_request *req,
                  struct gw_error *e)
{
        return parse_q(op, ct, body, strlen(body), NULL, req, e);
}

/* @p body of @p op is refused with @p status, naming @p param, saying @p part. */
static void refused_len(enum gw_lt_op op, const char *ct, const char *body, size_t len, int status,
                        const char *param, const char *part)
{
        struct gw_lt_request req;
        struct gw_error e;

        ck_assert_msg(!parse_q(op, ct, body, len, NULL, &req, &e), "accepted %s", body);
        ck_assert_msg(e.status == status, "status %d != %d for %s", e.status, status, body);
        ck_assert_msg(strcmp(e.param, param) == 0, "param \"%s\" != \"%s\" for %s", e.param, param,
                      body);
        ck_assert_msg(strstr(e.message, part), "message \"%s\" lacks \"%s\"", e.message, part);
}

static void refused(enum gw_lt_op op, const char *ct, const char *body, int status,
                    const char *param, const char *part)
{
        refused_len(op, ct, body, strlen(body), status, param, part);
}

/* ---- requests ---- */

START_TEST(test_gw_lt_parse_json_string)
{
        struct gw_lt_request req;
        struct gw_error e;

        ck_assert(parse(GW_LT_TRANSLATE, JSON,
                        "{\"q\":\"Hello!\",\"source\":\"en\",\"target\":\"es\",\"api_key\":\"k\","
                        "\"secret\":\"ignored\"}",
                        &req, &e));
        ck_assert_uint_eq(req.nq, 1);
        ck_assert(!req.q_array);
        ck_assert_str_eq(req.q[0], "Hello!");
        ck_assert_str_eq(req.source, "en");
        ck_assert_str_eq(req.target, "es");
        ck_assert(!req.html);
        ck_assert_uint_eq(req.alternatives, 0);
        ck_assert_str_eq(req.api_key, "k");
}
END_TEST

START_TEST(test_gw_lt_parse_json_array)
{
        struct gw_lt_request req;
        struct gw_error e;

        ck_assert(parse(GW_LT_TRANSLATE, "application/json; charset=utf-8",
                        "{\"q\":[\"one\",\"two\\u00e9\"],\"source\":\"auto\",\"target\":\"ca\","
                        "\"format\":\"html\",\"alternatives\":3,\"api_key\":\"\"}",
                        &req, &e));
        ck_assert_uint_eq(req.nq, 2);
        ck_assert(req.q_array);
        ck_assert_str_eq(req.q[1], "two\xc3\xa9");
        ck_assert_str_eq(req.source, "auto");
        ck_assert(req.html);
        ck_assert_uint_eq(req.alternatives, 3);
        ck_assert_ptr_null(req.api_key); /* empty: none */
        /* LibreTranslate takes alternatives as digits in a string too */
        ck_assert(parse(GW_LT_TRANSLATE, JSON,
                        "{\"q\":\"a\",\"source\":\"en\",\"target\":\"es\",\"alternatives\":\"2\","
                        "\"format\":null}",
                        &req, &e));
        ck_assert_uint_eq(req.alternatives, 2);
}
END_TEST

START_TEST(test_gw_lt_parse_forms)
{
        static const char multipart[] = "--zz\r\n"
                                        "Content-Disposition: form-data; name=\"q\"\r\n\r\n"
                                        "Bon dia\r\n"
                                        "--zz\r\n"
                                        "Content-Disposition: form-data; name=\"source\"\r\n\r\n"
                                        "ca\r\n"
                                        "--zz\r\n"
                                        "Content-Disposition: form-data; name=\"target\"\r\n\r\n"
                                        "es\r\n"
                                        "--zz--\r\n";
        struct gw_form query = { 0 };
        struct gw_lt_request req;
        struct gw_error e;
        char why[160];

        ck_assert(parse(GW_LT_TRANSLATE, FORM,
                        "q=Hello+world%0D%0Aagain&source=en&target=es&api_key=ck_x&alternatives=1",
                        &req, &e));
        ck_assert_str_eq(req.q[0], "Hello world\nagain"); /* CRLF read as LF */
        ck_assert(!req.q_array);
        ck_assert_str_eq(req.api_key, "ck_x");
        ck_assert_uint_eq(req.alternatives, 1);
        ck_assert(parse_q(GW_LT_TRANSLATE, "multipart/form-data; boundary=zz", multipart,
                          sizeof(multipart) - 1, NULL, &req, &e));
        ck_assert_str_eq(req.q[0], "Bon dia");
        ck_assert_str_eq(req.source, "ca");
        /* the query's fields add to the body's */
        ck_assert(gw_form_add(&query, "api_key", "ck_q", 4, 8, &arena, why, sizeof(why)));
        ck_assert(parse_q(GW_LT_DETECT, FORM, "q=hola", 6, &query, &req, &e));
        ck_assert_str_eq(req.api_key, "ck_q");
        ck_assert(parse_q(GW_LT_DETECT, JSON, "{\"q\":[\"a\",\"b\"]}", 15, &query, &req, &e));
        ck_assert_str_eq(req.api_key, "ck_q");
        ck_assert(req.q_array);
        /* languages: a GET with no body, or with a form body (libretranslatepy's) */
        ck_assert(parse_q(GW_LT_LANGUAGES, NULL, "", 0, &query, &req, &e));
        ck_assert_str_eq(req.api_key, "ck_q");
        ck_assert(parse(GW_LT_LANGUAGES, FORM, "api_key=ck_body", &req, &e));
        ck_assert_str_eq(req.api_key, "ck_body");
        ck_assert_uint_eq(req.nq, 0);
}
END_TEST

START_TEST(test_gw_lt_parse_missing_fields)
{
        refused(GW_LT_TRANSLATE, JSON, "{\"source\":\"en\",\"target\":\"es\"}", 400, "q",
                "Invalid request: missing q parameter");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":\"\",\"source\":\"en\",\"target\":\"es\"}", 400, "q",
                "missing q");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":[],\"source\":\"en\",\"target\":\"es\"}", 400, "q",
                "empty array");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":\"a\",\"target\":\"es\"}", 400, "source",
                "missing source parameter");
        refused(GW_LT_TRANSLATE, FORM, "q=a&source=en", 400, "target", "missing target parameter");
        refused(GW_LT_TRANSLATE, FORM, "q=&source=en&target=es", 400, "q", "missing q");
        refused(GW_LT_DETECT, FORM, "api_key=ck_x", 400, "q", "missing q");
        refused(GW_LT_DETECT, NULL, "", 400, "q", "missing q");
}
END_TEST

START_TEST(test_gw_lt_parse_wrong_types)
{
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":5,\"source\":\"en\",\"target\":\"es\"}", 400, "q",
                "string or an array of strings, not an integer");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":[\"a\",{}],\"source\":\"en\",\"target\":\"es\"}",
                400, "q[1]", "q[1] must be a string, not an object");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":[\"a\",\"\"],\"source\":\"en\",\"target\":\"es\"}",
                400, "q[1]", "q[1] must not be empty");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":\"a\",\"source\":[\"en\"],\"target\":\"es\"}", 400,
                "source", "source must be a string, not an array");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":\"a\",\"source\":\"en!\",\"target\":\"es\"}", 400,
                "source", "language code");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":\"a\",\"source\":\"en\",\"target\":\"auto\"}", 400,
                "target", "language code");
        refused(GW_LT_TRANSLATE, JSON,
                "{\"q\":\"a\",\"source\":\"en\",\"target\":\"es\",\"format\":\"pdf\"}", 400,
                "format", "\"text\" or \"html\"");
        refused(GW_LT_TRANSLATE, JSON,
                "{\"q\":\"a\",\"source\":\"en\",\"target\":\"es\",\"alternatives\":4}", 400,
                "alternatives", "0 to 3");
        refused(GW_LT_TRANSLATE, FORM, "q=a&source=en&target=es&alternatives=-1", 400,
                "alternatives", "0 to 3");
        refused(GW_LT_DETECT, JSON, "{\"q\":\"a\",\"api_key\":7}", 400, "api_key",
                "api_key must be a string, not an integer");
        refused(GW_LT_LANGUAGES, JSON, "[]", 400, "", "must be a JSON object, not an array");
        refused(GW_LT_LANGUAGES, JSON, "{\"api_key\":", 400, "", "Invalid JSON format");
        refused(GW_LT_TRANSLATE, JSON, "{\"q\":\"a\",\"q\":\"b\"}", 400, "", "Invalid JSON");
}
END_TEST

START_TEST(test_gw_lt_parse_text_checks)
{
        /* NULs and invalid UTF-8, however they come */
        refused(GW_LT_DETECT, JSON, "{\"q\":\"a\\u0000b\"}", 400, "", "u0000");
        refused(GW_LT_DETECT, JSON, "{\"q\":[\"ok\",\"a\\u0000\"]}", 400, "", "u0000");
        refused(GW_LT_DETECT, FORM, "q=a%00b", 400, "q", "NUL");
        refused(GW_LT_DETECT, FORM, "q=caf%E9", 400, "q", "not valid UTF-8");
        refused(GW_LT_TRANSLATE, FORM, "q=a&source=e%FFn&target=es", 400, "source",
                "not valid UTF-8");
        refused(GW_LT_DETECT, JSON, "{\"q\":\"caf\xe9\"}", 400, "", "Invalid JSON format");
        refused_len(GW_LT_DETECT, JSON, "{\"q\":\0\"a\"}", 10, 400, "", "NUL byte");
        refused(GW_LT_DETECT, FORM, "q=%ZZ", 400, "", "form cannot be read");
}
END_TEST

START_TEST(test_gw_lt_parse_sizes_and_repeats)
{
        struct cairn_buf b = { 0 };
        struct gw_form query = { 0 };
        struct gw_lt_request req;
        struct gw_error e;
        char why[160];

        /* GW_LT_MAX_TEXTS texts pass, one more does not */
        cairn_buf_adds(&b, "{\"source\":\"en\",\"target\":\"es\",\"q\":[\"t\"");
        for (int i = 1; i < GW_LT_MAX_TEXTS; i++)
                cairn_buf_adds(&b, ",\"t\"");
        cairn_buf_adds(&b, "]}");
        ck_assert(parse(GW_LT_TRANSLATE, JSON, b.p, &req, &e));
        ck_assert_uint_eq(req.nq, GW_LT_MAX_TEXTS);
        b.len -= 2;
        cairn_buf_adds(&b, ",\"t\"]}");
        refused(GW_LT_TRANSLATE, JSON, b.p, 400, "q", "exceeds text limit (1024)");
        cairn_buf_cleanup(&b);
        /* deeper than the limit */
        refused(GW_LT_DETECT, JSON, "{\"q\":[[[[[[[[[[[[[[[[[[\"a\"]]]]]]]]]]]]]]]]]]}", 400, "",
                "deeper than 16");
        /* a field given twice: in a form, or in the body and the query */
        refused(GW_LT_DETECT, FORM, "q=a&q=b", 400, "q", "more than once");
        ck_assert(gw_form_add(&query, "q", "x", 1, 8, &arena, why, sizeof(why)));
        ck_assert(!parse_q(GW_LT_DETECT, JSON, "{\"q\":\"a\"}", 9, &query, &req, &e));
        ck_assert_str_eq(e.param, "q");
        /* a body of another media type, or none declared */
        refused(GW_LT_DETECT, "text/plain", "q=a", 415, "", "application/json or");
        refused(GW_LT_DETECT, NULL, "q=a", 415, "", "Content-Type");
        refused(GW_LT_DETECT, "multipart/form-data", "--b\r\n", 400, "", "boundary");
        refused(GW_LT_DETECT, "multipart/form-data; boundary=b", "--b\r\nX: y\r\n\r\nq\r\n--b--",
                400, "", "Content-Disposition");
}
END_TEST

/* ---- answers ---- */

static Cairn__V1__Status *status_of(int code, const char *msg)
{
        Cairn__V1__Status *st = cairn_arena_calloc(&arena, 1, sizeof(*st));

        cairn__v1__status__init(st);
        st->code = code;
        st->message = (char *)msg;
        return st;
}

static Cairn__Translation__V1__Translation *translation(uint32_t index, const char *text,
                                                        const char *lang, float conf)
{
        Cairn__Translation__V1__Translation *t = cairn_arena_calloc(&arena, 1, sizeof(*t));

        cairn__translation__v1__translation__init(t);
        t->index = index;
        t->text = (char *)text;
        t->source = (char *)(lang ? lang : "en");
        if (lang) {
                t->detected = cairn_arena_calloc(&arena, 1, sizeof(*t->detected));
                cairn__translation__v1__detection__init(t->detected);
                t->detected->language = (char *)lang;
                t->detected->confidence = conf;
        }
        return t;
}

static struct gw_lt_request request(const char *source, size_t nq, bool array, uint32_t alt)
{
        static const char *texts[] = { "Hello", "Good morning, friends", "Bye" };
        struct gw_lt_request req = { 0 };

        req.q = texts;
        req.nq = nq;
        req.q_array = array;
        req.source = source;
        req.target = "es";
        req.alternatives = alt;
        return req;
}

/* @p lenp: read once @p body was made */
static void expect_body(char *body, const size_t *lenp, const char *want)
{
        ck_assert_ptr_nonnull(body);
        ck_assert_uint_eq(*lenp, strlen(want));
        ck_assert_str_eq(body, want);
        free(body);
}

START_TEST(test_gw_lt_translate_json_shapes)
{
        Cairn__Translation__V1__TranslateReply reply =
                CAIRN__TRANSLATION__V1__TRANSLATE_REPLY__INIT;
        Cairn__Translation__V1__Translation *ts[3];
        struct gw_lt_request req = request("en", 1, false, 0);
        struct gw_error e;
        size_t len;

        ts[0] = translation(0, "Hola \"amigo\"", NULL, 0);
        reply.translations = ts;
        reply.n_translations = 1;
        expect_body(gw_lt_translate_json(&req, &reply, &len, &e), &len,
                    "{\"translatedText\":\"Hola \\\"amigo\\\"\"}");
        /* an array, answered in request order whatever the reply's */
        req = request("en", 2, true, 0);
        ts[0] = translation(1,
                            "Buenos d\xc3\xad"
                            "as",
                            NULL, 0);
        ts[1] = translation(0, "Hola", NULL, 0);
        reply.n_translations = 2;
        expect_body(gw_lt_translate_json(&req, &reply, &len, &e), &len,
                    "{\"translatedText\":[\"Hola\",\"Buenos d\xc3\xad"
                    "as\"]}");
        /* auto: the detections as percentages; alternatives asked for: none */
        req = request("auto", 1, false, 2);
        ts[0] = translation(0, "Hola", "en", 0.9123f);
        reply.n_translations = 1;
        expect_body(gw_lt_translate_json(&req, &reply, &len, &e), &len,
                    "{\"translatedText\":\"Hola\",\"detectedLanguage\":{\"confidence\":91.2,"
                    "\"language\":\"en\"},\"alternatives\":[]}");
        req = request("auto", 2, true, 1);
        ts[0] = translation(0, "Hola", "en", 1.0f);
        ts[1] = translation(1, "Adeu", "ca", 0.5f);
        reply.n_translations = 2;
        expect_body(gw_lt_translate_json(&req, &reply, &len, &e), &len,
                    "{\"translatedText\":[\"Hola\",\"Adeu\"],\"detectedLanguage\":["
                    "{\"confidence\":100.0,\"language\":\"en\"},{\"confidence\":50.0,"
                    "\"language\":\"ca\"}],\"alternatives\":[[],[]]}");
}
END_TEST

START_TEST(test_gw_lt_translate_json_failed_text)
{
        Cairn__Translation__V1__TranslateReply reply =
                CAIRN__TRANSLATION__V1__TRANSLATE_REPLY__INIT;
        Cairn__Translation__V1__Translation *ts[3];
        struct gw_lt_request req = request("en", 3, true, 0);
        struct gw_error e;
        size_t len;
        int status;
        char *body;

        ts[0] = translation(0, "Hola", NULL, 0);
        ts[1] = translation(1, "", NULL, 0);
        ts[1]->error = status_of(CAIRN_ERR_NOT_FOUND, "no pair translates en into xx");
        ts[2] = translation(2, "", NULL, 0);
        ts[2]->error = status_of(CAIRN_ERR_UNAVAILABLE, "pipeline died");
        ts[0]->error = status_of(CAIRN_OK, "");
        reply.translations = ts;
        reply.n_translations = 3;
        /* the first failed text is the answer, named */
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ck_assert_int_eq(e.err, CAIRN_ERR_NOT_FOUND);
        ck_assert_str_eq(e.param, "q[1]");
        body = gw_error_lt_json(&e, &status, &len);
        ck_assert_int_eq(status, 400); /* LibreTranslate's 400, not 404 */
        ck_assert_str_eq(body, "{\"error\":\"q[1]: no pair translates en into xx\"}");
        free(body);
        /* the service's name of the text becomes the request's */
        ts[1]->error = status_of(CAIRN_ERR_INVALID, "texts[1] looks like fr, which cannot be "
                                                    "translated into es here");
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ck_assert_str_eq(e.message, "q[1] looks like fr, which cannot be translated into es here");
        ts[1]->error = NULL;
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ck_assert_int_eq(e.status, 503);
        ck_assert_str_eq(e.message, "q[2]: pipeline died");
        /* a string q: the message alone, or with its name */
        req = request("en", 1, false, 0);
        ts[0]->error = status_of(CAIRN_ERR_INVALID, "the text is too long");
        reply.n_translations = 1;
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        body = gw_error_lt_json(&e, &status, &len);
        ck_assert_int_eq(status, 400);
        ck_assert_str_eq(body, "{\"error\":\"the text is too long\"}");
        free(body);
        ts[0]->error = status_of(CAIRN_ERR_INVALID, "texts[0]: its language is none the service "
                                                    "can recognise");
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ck_assert_str_eq(e.message, "q: its language is none the service can recognise");
}
END_TEST

START_TEST(test_gw_lt_translate_json_bad_reply)
{
        Cairn__Translation__V1__TranslateReply reply =
                CAIRN__TRANSLATION__V1__TRANSLATE_REPLY__INIT;
        Cairn__Translation__V1__Translation *ts[2];
        struct gw_lt_request req = request("en", 2, true, 0);
        struct gw_error e;
        size_t len;

        ts[0] = translation(0, "a", NULL, 0);
        ts[1] = translation(0, "b", NULL, 0);
        reply.translations = ts;
        reply.n_translations = 1;
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ck_assert_int_eq(e.status, 502);
        reply.n_translations = 2; /* index 0 twice */
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ck_assert_int_eq(e.status, 502);
        ts[1] = translation(7, "b", NULL, 0);
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ts[1] = translation(1, "\xff", NULL, 0);
        ck_assert_ptr_null(gw_lt_translate_json(&req, &reply, &len, &e));
        ck_assert_ptr_nonnull(strstr(e.message, "UTF-8"));
}
END_TEST

static Cairn__Translation__V1__DetectResult *result(uint32_t index, size_t n, const char **langs,
                                                    const float *conf)
{
        Cairn__Translation__V1__DetectResult *r = cairn_arena_calloc(&arena, 1, sizeof(*r));

        cairn__translation__v1__detect_result__init(r);
        r->index = index;
        r->n_candidates = n;
        r->candidates = cairn_arena_calloc(&arena, n ? n : 1, sizeof(*r->candidates));
        for (size_t i = 0; i < n; i++) {
                r->candidates[i] = cairn_arena_calloc(&arena, 1, sizeof(**r->candidates));
                cairn__translation__v1__detection__init(r->candidates[i]);
                r->candidates[i]->language = (char *)langs[i];
                r->candidates[i]->confidence = conf[i];
        }
        return r;
}

START_TEST(test_gw_lt_detect_json_ranked)
{
        Cairn__Translation__V1__DetectReply reply = CAIRN__TRANSLATION__V1__DETECT_REPLY__INIT;
        Cairn__Translation__V1__DetectResult *rs[3];
        struct gw_lt_request req = request("", 1, false, 0);
        struct gw_error e;
        size_t len;

        rs[0] = result(0, 2, (const char *[]){ "en", "ca" }, (const float[]){ 0.8f, 0.125f });
        reply.results = rs;
        reply.n_results = 1;
        expect_body(gw_lt_detect_json(&req, &reply, &len, &e), &len,
                    "[{\"confidence\":80.0,\"language\":\"en\"},{\"confidence\":12.5,"
                    "\"language\":\"ca\"}]");
        /* nothing recognised: LibreTranslate's answer */
        rs[0] = result(0, 0, NULL, NULL);
        expect_body(gw_lt_detect_json(&req, &reply, &len, &e), &len,
                    "[{\"confidence\":0.0,\"language\":\"en\"}]");
        /* an array: each language once, its mean confidence, ranked by that
         * times the length of the texts it was found in ("Hello" is 5
         * bytes, "Good morning, friends" 21, "Bye" 3) */
        req = request("", 3, true, 0);
        rs[0] = result(0, 1, (const char *[]){ "es" }, (const float[]){ 0.9f });
        rs[1] = result(1, 2, (const char *[]){ "en", "es" }, (const float[]){ 0.6f, 0.3f });
        rs[2] = result(2, 1, (const char *[]){ "en" }, (const float[]){ 1.0f });
        reply.n_results = 3;
        /* en: mean 0.8 over 24 bytes = 19.2; es: mean 0.6 over 26 = 15.6 */
        expect_body(gw_lt_detect_json(&req, &reply, &len, &e), &len,
                    "[{\"confidence\":80.0,\"language\":\"en\"},{\"confidence\":60.0,"
                    "\"language\":\"es\"}]");
}
END_TEST

START_TEST(test_gw_lt_detect_json_failed_text)
{
        Cairn__Translation__V1__DetectReply reply = CAIRN__TRANSLATION__V1__DETECT_REPLY__INIT;
        Cairn__Translation__V1__DetectResult *rs[2];
        struct gw_lt_request req = request("", 2, true, 0);
        struct gw_error e;
        size_t len;

        rs[0] = result(0, 0, NULL, NULL);
        rs[1] = result(1, 0, NULL, NULL);
        rs[1]->error = status_of(CAIRN_ERR_INVALID, "text is not UTF-8");
        reply.results = rs;
        reply.n_results = 2;
        ck_assert_ptr_null(gw_lt_detect_json(&req, &reply, &len, &e));
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.message, "q[1]: text is not UTF-8");
        reply.n_results = 1;
        ck_assert_ptr_null(gw_lt_detect_json(&req, &reply, &len, &e));
        ck_assert_int_eq(e.status, 502);
}
END_TEST

START_TEST(test_gw_lt_languages_json_list)
{
        Cairn__Translation__V1__ListLanguagesReply reply =
                CAIRN__TRANSLATION__V1__LIST_LANGUAGES_REPLY__INIT;
        Cairn__Translation__V1__Language en = CAIRN__TRANSLATION__V1__LANGUAGE__INIT;
        Cairn__Translation__V1__Language ro = CAIRN__TRANSLATION__V1__LANGUAGE__INIT;
        Cairn__Translation__V1__Language bad = CAIRN__TRANSLATION__V1__LANGUAGE__INIT;
        Cairn__Translation__V1__Target ca = CAIRN__TRANSLATION__V1__TARGET__INIT;
        Cairn__Translation__V1__Target es = CAIRN__TRANSLATION__V1__TARGET__INIT;
        Cairn__Translation__V1__Target *targets[] = { &ca, &es };
        Cairn__Translation__V1__Language *langs[] = { &en, &ro };
        struct gw_error e;
        size_t len;

        ca.code = "ca";
        es.code = "es";
        en.code = "en";
        en.name = "English";
        en.targets = targets;
        en.n_targets = 2;
        ro.code = "ro";
        ro.name = "Romanian";
        reply.languages = langs;
        reply.n_languages = 2;
        expect_body(gw_lt_languages_json(&reply, &len, &e), &len,
                    "[{\"code\":\"en\",\"name\":\"English\",\"targets\":[\"ca\",\"es\"]},"
                    "{\"code\":\"ro\",\"name\":\"Romanian\",\"targets\":[]}]");
        reply.n_languages = 0;
        expect_body(gw_lt_languages_json(&reply, &len, &e), &len, "[]");
        /* a name that is not UTF-8 */
        bad.code = "xx";
        bad.name = "Rom\xe2";
        langs[1] = &bad;
        reply.n_languages = 2;
        ck_assert_ptr_null(gw_lt_languages_json(&reply, &len, &e));
        ck_assert_int_eq(e.status, 502);
}
END_TEST

/* ---- errors ---- */

static void expect_error(const struct gw_error *e, int want_status, const char *want)
{
        size_t len;
        int status;
        char *body = gw_error_lt_json(e, &status, &len);

        ck_assert_int_eq(status, want_status);
        ck_assert_str_eq(body, want);
        ck_assert_uint_eq(len, strlen(want));
        free(body);
}

START_TEST(test_gw_error_lt_json_statuses)
{
        struct gw_error e;

        gw_error_set(&e, 401, "invalid_token", NULL, "unknown API key");
        expect_error(&e, 403, "{\"error\":\"Invalid API key: unknown API key\"}");
        gw_error_set(&e, 401, "missing_credentials", NULL, "no credentials");
        expect_error(&e, 403,
                     "{\"error\":\"an API key is required: send api_key, or Authorization: "
                     "Bearer <token or API key>\"}");
        gw_error_from_status(&e, CAIRN_ERR_NOT_FOUND, "target: xx is not supported", "target");
        expect_error(&e, 400, "{\"error\":\"target: xx is not supported\"}");
        gw_error_from_status(&e, CAIRN_ERR_PRECONDITION, "no route from en to eo", NULL);
        expect_error(&e, 400, "{\"error\":\"no route from en to eo\"}");
        gw_error_set(&e, 429, "rate_limit_exceeded", NULL, "rate limit reached");
        expect_error(&e, 429, "{\"error\":\"rate limit reached\"}");
        gw_error_set(&e, 504, NULL, NULL, "no reply from the translation service within 10 ms");
        expect_error(&e, 504, "{\"error\":\"no reply from the translation service within 10 ms\"}");
        /* the message as it is: it names its field itself */
        gw_error_set(&e, 400, NULL, "q", "Invalid request: missing q parameter");
        expect_error(&e, 400, "{\"error\":\"Invalid request: missing q parameter\"}");
        gw_error_set(&e, 400, NULL, NULL, "bad \xff byte");
        expect_error(&e, 400, "{\"error\":\"invalid request\"}");
}
END_TEST

/* ---- the adapters ---- */

static const char *query_api_key;

static int query_each(void *conn, int (*fn)(void *, const char *, const char *), void *opaque)
{
        (void)conn;
        return query_api_key ? fn(opaque, "api_key", query_api_key) : 0;
}

static struct gw_adapter_ctx ctx_for(const char *ct, const char *body)
{
        struct gw_adapter_ctx ctx = { 0 };

        ctx.body = body;
        ctx.body_len = body ? strlen(body) : 0;
        ctx.content_type = ct;
        ctx.max_json_depth = 16;
        ctx.query_each = query_each;
        ctx.tenant = "t1";
        ctx.request_id = "rid";
        return ctx;
}

START_TEST(test_gw_lt_translate_adapter)
{
        struct gw_adapter_ctx ctx = ctx_for(FORM, "q=Hello&source=auto&target=es&format=html");
        const Cairn__Translation__V1__TranslateRequest *msg;
        Cairn__Translation__V1__TranslateReply reply =
                CAIRN__TRANSLATION__V1__TRANSLATE_REPLY__INIT;
        Cairn__Translation__V1__Translation *ts[1];
        struct gw_error e;
        char *key = NULL, *body, field[32];
        size_t len;

        query_api_key = "ck_from_query";
        ck_assert(gw_lt_translate.credential(&ctx, &key, &e));
        ck_assert_str_eq(key, "ck_from_query");
        free(key);
        msg = (const Cairn__Translation__V1__TranslateRequest *)gw_lt_translate.parse(&ctx, &e);
        ck_assert_ptr_nonnull(msg);
        ck_assert_ptr_eq(msg->base.descriptor,
                         &cairn__translation__v1__translate_request__descriptor);
        ck_assert_uint_eq(msg->n_texts, 1);
        ck_assert_str_eq(msg->texts[0], "Hello");
        ck_assert_str_eq(msg->source, "auto");
        ck_assert_str_eq(msg->target, "es");
        ck_assert_int_eq(msg->format, CAIRN__TRANSLATION__V1__FORMAT__FORMAT_HTML);
        ck_assert(protobuf_c_message_get_packed_size(&msg->base) > 0);
        /* a failed text's server-side message stays in the log */
        ts[0] = translation(0, "", "en", 1);
        ts[0]->error = status_of(CAIRN_ERR_INTERNAL, "apertium at /usr/bin crashed");
        reply.translations = ts;
        reply.n_translations = 1;
        body = gw_lt_translate.render(&ctx, &reply.base, &len);
        ck_assert_int_eq(ctx.status, 500);
        ck_assert_ptr_null(strstr(body, "/usr/bin"));
        ck_assert_ptr_nonnull(strstr(body, "INTERNAL"));
        free(body);
        ts[0]->error = NULL;
        ts[0]->text = "Hola";
        ctx.status = 0;
        body = gw_lt_translate.render(&ctx, &reply.base, &len);
        ck_assert_int_eq(ctx.status, 0);
        ck_assert_str_eq(body, "{\"translatedText\":\"Hola\",\"detectedLanguage\":{\"confidence\":"
                               "100.0,\"language\":\"en\"}}");
        free(body);
        gw_lt_translate.release(&ctx, (ProtobufCMessage *)msg);
        ck_assert_ptr_null(ctx.state);
        /* the service's field names become LibreTranslate's */
        gw_lt_translate.field_name(field, sizeof(field), "texts[4]");
        ck_assert_str_eq(field, "q[4]");
        gw_lt_translate.field_name(field, sizeof(field), "target");
        ck_assert_str_eq(field, "target");
        query_api_key = NULL;
}
END_TEST

START_TEST(test_gw_lt_adapters_refuse_and_languages)
{
        struct gw_adapter_ctx ctx = ctx_for(JSON, "{\"q\":7}");
        const ProtobufCMessage *msg;
        struct gw_error e;
        char *key = (char *)"unset";

        query_api_key = NULL;
        ck_assert(!gw_lt_detect.credential(&ctx, &key, &e));
        ck_assert_int_eq(e.status, 400);
        ck_assert_ptr_null(gw_lt_detect.parse(&ctx, &e));
        ck_assert_ptr_null(ctx.state);
        ctx = ctx_for(NULL, NULL);
        ck_assert(gw_lt_languages.credential(&ctx, &key, &e));
        ck_assert_ptr_null(key); /* none sent: the pipeline refuses it */
        msg = gw_lt_languages.parse(&ctx, &e);
        ck_assert_ptr_nonnull(msg);
        ck_assert_ptr_eq(msg->descriptor,
                         &cairn__translation__v1__list_languages_request__descriptor);
        gw_lt_languages.release(&ctx, (ProtobufCMessage *)msg);
        ctx = ctx_for(JSON, "{\"q\":[\"uno\",\"dos\"],\"api_key\":\"ck_body\"}");
        ck_assert(gw_lt_detect.credential(&ctx, &key, &e));
        ck_assert_str_eq(key, "ck_body");
        free(key);
        msg = gw_lt_detect.parse(&ctx, &e);
        ck_assert_uint_eq(((const Cairn__Translation__V1__DetectRequest *)msg)->n_texts, 2);
        gw_lt_detect.release(&ctx, (ProtobufCMessage *)msg);
        ck_assert_int_eq(gw_lt_detect.errors, GW_ERRORS_LIBRETRANSLATE);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_libretranslate");
        TCase *tc;

        tc = tcase_create("gw_lt_parse");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_lt_parse_json_string);
        tcase_add_test(tc, test_gw_lt_parse_json_array);
        tcase_add_test(tc, test_gw_lt_parse_forms);
        tcase_add_test(tc, test_gw_lt_parse_missing_fields);
        tcase_add_test(tc, test_gw_lt_parse_wrong_types);
        tcase_add_test(tc, test_gw_lt_parse_text_checks);
        tcase_add_test(tc, test_gw_lt_parse_sizes_and_repeats);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_lt_translate_json");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_lt_translate_json_shapes);
        tcase_add_test(tc, test_gw_lt_translate_json_failed_text);
        tcase_add_test(tc, test_gw_lt_translate_json_bad_reply);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_lt_detect_json");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_lt_detect_json_ranked);
        tcase_add_test(tc, test_gw_lt_detect_json_failed_text);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_lt_languages_json");
        tcase_add_test(tc, test_gw_lt_languages_json_list);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_error_lt_json");
        tcase_add_test(tc, test_gw_error_lt_json_statuses);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_lt_adapters");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_lt_translate_adapter);
        tcase_add_test(tc, test_gw_lt_adapters_refuse_and_languages);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

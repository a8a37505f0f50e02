/* Unit tests for LibreTranslate's wire format: language codes, the request
 * body, the translation answer (a string or an array, error shapes, wrong
 * types and counts, garbage) and the language list. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translation/remote_wire.h"
#include "../unit.h"

static struct cairn_status st;

/* ---- tr_wire_code_valid ---- */

START_TEST(test_tr_wire_code_valid_codes)
{
        ck_assert(tr_wire_code_valid("en"));
        ck_assert(tr_wire_code_valid("zh-Hans"));
        ck_assert(tr_wire_code_valid("pt_BR"));
        ck_assert(tr_wire_code_valid("123456789012345"));
        ck_assert(!tr_wire_code_valid("1234567890123456"));
        ck_assert(!tr_wire_code_valid(""));
        ck_assert(!tr_wire_code_valid("e n"));
        ck_assert(!tr_wire_code_valid("en/de"));
        ck_assert(!tr_wire_code_valid("\xc3\xa9n"));
}
END_TEST

/* ---- tr_wire_translate_body ---- */

static json_t *body_of(const struct tr_wire_request *wr)
{
        size_t len = 0;
        char *body = tr_wire_translate_body(wr, &len);
        json_t *root;

        ck_assert_ptr_nonnull(body);
        ck_assert_uint_eq(len, strlen(body));
        root = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
        ck_assert_ptr_nonnull(root);
        free(body);
        return root;
}

START_TEST(test_tr_wire_translate_body_one_text_is_a_string)
{
        const char *texts[] = { "Hello \"world\"" };
        struct tr_wire_request wr = { "en", "de", false, "k-123", texts, 1 };
        json_t *root = body_of(&wr);

        ck_assert_str_eq(json_string_value(json_object_get(root, "q")), "Hello \"world\"");
        ck_assert_str_eq(json_string_value(json_object_get(root, "source")), "en");
        ck_assert_str_eq(json_string_value(json_object_get(root, "target")), "de");
        ck_assert_str_eq(json_string_value(json_object_get(root, "format")), "text");
        ck_assert_str_eq(json_string_value(json_object_get(root, "api_key")), "k-123");
        ck_assert_uint_eq(json_object_size(root), 5);
        json_decref(root);
}
END_TEST

START_TEST(test_tr_wire_translate_body_batch_is_an_array)
{
        const char *texts[] = { "<b>one</b>", "two", "\xc3\xa9t\xc3\xa9" };
        struct tr_wire_request wr = { "en", "zh-Hans", true, NULL, texts, 3 };
        json_t *root = body_of(&wr), *q = json_object_get(root, "q");

        ck_assert(json_is_array(q));
        ck_assert_uint_eq(json_array_size(q), 3);
        ck_assert_str_eq(json_string_value(json_array_get(q, 0)), "<b>one</b>");
        ck_assert_str_eq(json_string_value(json_array_get(q, 2)), "\xc3\xa9t\xc3\xa9");
        ck_assert_str_eq(json_string_value(json_object_get(root, "format")), "html");
        /* no key, no api_key member */
        ck_assert_ptr_null(json_object_get(root, "api_key"));
        json_decref(root);
        wr.api_key = "";
        root = body_of(&wr);
        ck_assert_ptr_null(json_object_get(root, "api_key"));
        json_decref(root);
}
END_TEST

START_TEST(test_tr_wire_translate_body_refuses_invalid_utf8)
{
        const char *texts[] = { "fine", "bad \xff byte" };
        struct tr_wire_request wr = { "en", "de", false, "k", texts, 2 };
        size_t len = 0;

        ck_assert_ptr_null(tr_wire_translate_body(&wr, &len));
        wr.n = 1;
        texts[0] = "\xc3";
        ck_assert_ptr_null(tr_wire_translate_body(&wr, &len));
}
END_TEST

/* ---- tr_wire_translate_parse ---- */

static char *out[4];

static void free_outs(void)
{
        for (size_t i = 0; i < 4; i++) {
                free(out[i]);
                out[i] = NULL;
        }
}

static cairn_err_t parse(const char *body, size_t n, size_t max)
{
        free_outs();
        cairn_status_clear(&st);
        return tr_wire_translate_parse(body, strlen(body), n, max, out, &st);
}

/* @p body for @p n texts fails UNAVAILABLE, the message holding @p needle,
 * and leaves nothing in out. */
static void assert_bad(const char *body, size_t n, const char *needle)
{
        ck_assert_int_eq(parse(body, n, 0), CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "UPSTREAM_BAD_RESPONSE");
        ck_assert_msg(strstr(st.message, needle) != NULL, "message \"%s\" lacks \"%s\"", st.message,
                      needle);
        for (size_t i = 0; i < 4; i++)
                ck_assert_ptr_null(out[i]);
}

START_TEST(test_tr_wire_translate_parse_string_and_array)
{
        ck_assert_int_eq(parse("{\"translatedText\":\"Hallo Welt\"}", 1, 0), CAIRN_OK);
        ck_assert_str_eq(out[0], "Hallo Welt");
        /* an array of one for one text is fine too */
        ck_assert_int_eq(parse("{\"translatedText\":[\"Hallo\"]}", 1, 0), CAIRN_OK);
        ck_assert_str_eq(out[0], "Hallo");
        ck_assert_int_eq(parse("{\"translatedText\":[\"a\",\"\",\"\\u00e9\\ud83d\\ude00\"],"
                               "\"detectedLanguage\":[{\"confidence\":90,\"language\":\"en\"}],"
                               "\"alternatives\":[[],[],[]]}",
                               3, 0),
                         CAIRN_OK);
        ck_assert_str_eq(out[0], "a");
        ck_assert_str_eq(out[1], "");
        ck_assert_str_eq(out[2], "\xc3\xa9\xf0\x9f\x98\x80");
        free_outs();
}
END_TEST

START_TEST(test_tr_wire_translate_parse_wrong_counts)
{
        assert_bad("{\"translatedText\":[\"a\"]}", 2, "1 translations for 2 texts");
        assert_bad("{\"translatedText\":[\"a\",\"b\",\"c\"]}", 2, "3 translations for 2 texts");
        assert_bad("{\"translatedText\":[]}", 1, "0 translations for 1 texts");
        assert_bad("{\"translatedText\":\"only one\"}", 2, "a string, not an array of 2");
}
END_TEST

START_TEST(test_tr_wire_translate_parse_wrong_types)
{
        assert_bad("{\"translatedText\":42}", 1, "translatedText is an integer, not a string");
        assert_bad("{\"translatedText\":null}", 1, "translatedText is null");
        assert_bad("{\"translatedText\":[\"a\",{\"t\":1}]}", 2,
                   "translatedText[1] is an object, not a string");
        assert_bad("{\"translatedText\":[\"a\",[\"b\"]]}", 2, "translatedText[1] is an array");
        assert_bad("[\"a\"]", 1, "is an array, not an object");
        assert_bad("\"Hallo\"", 1, "not JSON");
        /* jansson refuses \u0000 itself; the parser would too */
        assert_bad("{\"translatedText\":\"a\\u0000b\"}", 1, "not allowed");
        assert_bad("{\"translatedText\":\"a\",\"translatedText\":\"b\"}", 1, "not JSON");
}
END_TEST

START_TEST(test_tr_wire_translate_parse_error_shapes)
{
        /* a 2xx that is an error after all */
        assert_bad("{\"error\":\"Cannot translate text: boom\"}", 1,
                   "only an error: Cannot translate text: boom");
        assert_bad("{\"detectedLanguage\":{\"language\":\"en\"}}", 1, "no \"translatedText\"");
        assert_bad("{}", 1, "no \"translatedText\"");
        assert_bad("", 1, "not JSON");
        assert_bad("{\"translatedText\":\"cut", 1, "not JSON");
        assert_bad("<html><body>502 Bad Gateway</body></html>", 1, "not JSON");
}
END_TEST

START_TEST(test_tr_wire_translate_parse_limits_and_garbage)
{
        size_t big = 4 << 20;
        char *body = malloc(big + 64);

        /* a translation longer than allowed */
        ck_assert_int_eq(parse("{\"translatedText\":\"0123456789\"}", 1, 9), CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(strstr(st.message, "10 bytes, more than the 9"), "%s", st.message);
        ck_assert_int_eq(parse("{\"translatedText\":\"0123456789\"}", 1, 10), CAIRN_OK);
        free_outs();
        /* megabytes of garbage, and of deep nesting, fail with a message */
        memset(body, 'x', big);
        body[big] = '\0';
        ck_assert_int_eq(parse(body, 1, 0), CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(strstr(st.message, "not JSON"), "%s", st.message);
        memset(body, '[', big);
        ck_assert_int_eq(parse(body, 1, 0), CAIRN_ERR_UNAVAILABLE);
        /* a 4 MiB translation is taken when no limit is set */
        memcpy(body, "{\"translatedText\":\"", 19);
        memset(body + 19, 'y', big);
        memcpy(body + 19 + big, "\"}", 3);
        ck_assert_int_eq(parse(body, 1, 0), CAIRN_OK);
        ck_assert_uint_eq(strlen(out[0]), big);
        free_outs();
        free(body);
        /* bytes that are not UTF-8 */
        ck_assert_int_eq(parse("{\"translatedText\":\"\xff\"}", 1, 0), CAIRN_ERR_UNAVAILABLE);
}
END_TEST

/* ---- tr_wire_languages_parse ---- */

static struct tr_remote_pair *pairs;
static size_t npairs;

static cairn_err_t langs(const char *body)
{
        free(pairs);
        pairs = NULL;
        cairn_status_clear(&st);
        return tr_wire_languages_parse(body, strlen(body), &pairs, &npairs, &st);
}

static void assert_pair(size_t i, const char *source, const char *target)
{
        ck_assert_uint_lt(i, npairs);
        ck_assert_str_eq(pairs[i].source, source);
        ck_assert_str_eq(pairs[i].target, target);
}

START_TEST(test_tr_wire_languages_parse_targets)
{
        ck_assert_int_eq(langs("[{\"code\":\"en\",\"name\":\"English\",\"targets\":[\"fr\","
                               "\"de\",\"en\",\"de\"]},"
                               "{\"code\":\"de\",\"name\":\"German\",\"targets\":[\"en\"]},"
                               "{\"code\":\"zh-Hans\",\"name\":\"Chinese\",\"targets\":[]}]"),
                         CAIRN_OK);
        /* sorted, unique, nothing into itself */
        ck_assert_uint_eq(npairs, 3);
        assert_pair(0, "de", "en");
        assert_pair(1, "en", "de");
        assert_pair(2, "en", "fr");
}
END_TEST

START_TEST(test_tr_wire_languages_parse_without_targets)
{
        /* LibreTranslate before targets: any two of its languages */
        ck_assert_int_eq(langs("[{\"code\":\"en\",\"name\":\"English\"},"
                               "{\"code\":\"es\",\"name\":\"Spanish\"},"
                               "{\"code\":\"fr\",\"name\":\"French\"}]"),
                         CAIRN_OK);
        ck_assert_uint_eq(npairs, 6);
        assert_pair(0, "en", "es");
        assert_pair(5, "fr", "es");
        ck_assert_int_eq(langs("[]"), CAIRN_OK);
        ck_assert_uint_eq(npairs, 0);
}
END_TEST

static void assert_langs_bad(const char *body, const char *needle)
{
        ck_assert_int_eq(langs(body), CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "UPSTREAM_BAD_RESPONSE");
        ck_assert_msg(strstr(st.message, needle) != NULL, "message \"%s\" lacks \"%s\"", st.message,
                      needle);
        ck_assert_ptr_null(pairs);
        ck_assert_uint_eq(npairs, 0);
}

START_TEST(test_tr_wire_languages_parse_refuses_bad_lists)
{
        assert_langs_bad("{\"languages\":[]}", "an object, not an array");
        assert_langs_bad("[\"en\"]", "languages[0] is a string, not an object");
        assert_langs_bad("[{\"name\":\"English\"}]", "languages[0].code is missing");
        assert_langs_bad("[{\"code\":7}]", "languages[0].code is an integer");
        assert_langs_bad("[{\"code\":\"en\"},{\"code\":\"not a code\"}]",
                         "languages[1].code is not a language code");
        assert_langs_bad("[{\"code\":\"\"}]", "languages[0].code is not a language code");
        assert_langs_bad("[{\"code\":\"en\",\"targets\":\"de\"}]",
                         "languages[0].targets is a string, not an array");
        assert_langs_bad("[{\"code\":\"en\",\"targets\":[\"de\",1]}]",
                         "languages[0].targets[1] is an integer, not a language code");
        assert_langs_bad("[{\"code\":\"en\",\"targets\":[\"de\\u0000x\"]}]", "not JSON");
        assert_langs_bad("<html>", "not JSON");
        assert_langs_bad("", "not JSON");
}
END_TEST

START_TEST(test_tr_wire_languages_parse_limits)
{
        size_t cap = 1200 * 40 + 16, len = 0;
        char *body = malloc(cap);

        /* more languages than taken */
        len += (size_t)snprintf(body + len, cap - len, "[");
        for (int i = 0; i < 1100; i++)
                len += (size_t)snprintf(body + len, cap - len, "%s{\"code\":\"l%d\"}", i ? "," : "",
                                        i);
        snprintf(body + len, cap - len, "]");
        assert_langs_bad(body, "more than 1024");
        /* 300 languages without targets: 89,700 pairs, more than taken */
        len = (size_t)snprintf(body, cap, "[");
        for (int i = 0; i < 300; i++)
                len += (size_t)snprintf(body + len, cap - len, "%s{\"code\":\"l%d\"}", i ? "," : "",
                                        i);
        snprintf(body + len, cap - len, "]");
        assert_langs_bad(body, "more than 65536 pairs");
        free(body);
}
END_TEST

static void teardown(void)
{
        free_outs();
        free(pairs);
        pairs = NULL;
}

int main(void)
{
        Suite *s = suite_create("remote_wire");
        TCase *tc;

        tc = tcase_create("tr_wire_code_valid");
        tcase_add_test(tc, test_tr_wire_code_valid_codes);
        suite_add_tcase(s, tc);
        tc = tcase_create("tr_wire_translate_body");
        tcase_add_test(tc, test_tr_wire_translate_body_one_text_is_a_string);
        tcase_add_test(tc, test_tr_wire_translate_body_batch_is_an_array);
        tcase_add_test(tc, test_tr_wire_translate_body_refuses_invalid_utf8);
        suite_add_tcase(s, tc);
        tc = tcase_create("tr_wire_translate_parse");
        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test_tr_wire_translate_parse_string_and_array);
        tcase_add_test(tc, test_tr_wire_translate_parse_wrong_counts);
        tcase_add_test(tc, test_tr_wire_translate_parse_wrong_types);
        tcase_add_test(tc, test_tr_wire_translate_parse_error_shapes);
        tcase_add_test(tc, test_tr_wire_translate_parse_limits_and_garbage);
        suite_add_tcase(s, tc);
        tc = tcase_create("tr_wire_languages_parse");
        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test_tr_wire_languages_parse_targets);
        tcase_add_test(tc, test_tr_wire_languages_parse_without_targets);
        tcase_add_test(tc, test_tr_wire_languages_parse_refuses_bad_lists);
        tcase_add_test(tc, test_tr_wire_languages_parse_limits);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

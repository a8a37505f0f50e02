/* Unit tests for the BERT tokenizer, over a small tokenizer.json of their
 * own. tests/integration/0031-bert_reference.c holds it against Hugging
 * Face's library with a real vocabulary. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedding/bert_tokenizer.h"
#include "../unit.h"

/* clang-format off */
#define VOCAB                                                                                   \
        "\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4, \"the\": 5, "   \
        "\"quick\": 6, \"brown\": 7, \"fox\": 8, \"un\": 9, \"##aff\": 10, \"##able\": 11, "    \
        "\"cafe\": 12, \".\": 13, \",\": 14, \"!\": 15, \"hello\": 16, \"world\": 17, "         \
        "\"a\": 18, \"##a\": 19, \"\\u6211\": 20, \"\\u7231\": 21, \"##s\": 22, \"run\": 23, "  \
        "\"##ning\": 24, \"i\": 25, \"\\u0307\": 26, \"\\u1100\": 27, \"##\\u1161\": 28"
/* clang-format on */

#define NORMALIZER                                                              \
        "\"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, " \
        "\"handle_chinese_chars\": true, \"strip_accents\": null, \"lowercase\": true}"
#define PRE "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}"
#define MODEL                                                                       \
        "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "           \
        "\"continuing_subword_prefix\": \"##\", \"max_input_chars_per_word\": 10, " \
        "\"vocab\": {" VOCAB "}}"
#define ADDED                                                                             \
        "\"added_tokens\": ["                                                             \
        "{\"id\": 0, \"content\": \"[PAD]\", \"single_word\": false, \"lstrip\": false, " \
        "\"rstrip\": false, \"normalized\": false, \"special\": true}, "                  \
        "{\"id\": 2, \"content\": \"[CLS]\", \"normalized\": false, \"special\": true}, " \
        "{\"id\": 3, \"content\": \"[SEP]\", \"normalized\": false, \"special\": true}, " \
        "{\"id\": 4, \"content\": \"[MASK]\", \"normalized\": false, \"special\": true}]"
#define POST                                                                             \
        "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": ["           \
        "{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 0}}, "                      \
        "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, "                              \
        "{\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 0}}], "                     \
        "\"special_tokens\": {\"[CLS]\": {\"id\": \"[CLS]\", \"ids\": [2], \"tokens\": " \
        "[\"[CLS]\"]}, \"[SEP]\": {\"id\": \"[SEP]\", \"ids\": [3], \"tokens\": [\"[SEP]\"]}}}"

static const char tokenizer_json[] =
        "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, " ADDED ", " NORMALIZER
        ", " PRE ", " POST ", " MODEL "}";

static struct bert_tokenizer *tok;
static struct bert_tokenizer_scratch *scr;

static void setup(void)
{
        char errstr[256];

        tok = bert_tokenizer_parse(tokenizer_json, strlen(tokenizer_json), errstr, sizeof(errstr));
        ck_assert_msg(tok, "%s", errstr);
        scr = bert_tokenizer_scratch_new();
        ck_assert_ptr_nonnull(scr);
}

static void teardown(void)
{
        bert_tokenizer_scratch_free(scr);
        bert_tokenizer_free(tok);
}

/* Tokenizes @p text (@p len bytes) with room for @p max ids and checks
 * the ids against the -1-terminated @p want and the truncation flag. */
static void check_ids_len(const char *text, size_t len, size_t max, const int *want,
                          bool want_truncated)
{
        int32_t ids[64];
        size_t n, nwant = 0;
        bool truncated;

        ck_assert_uint_le(max, 64);
        ck_assert_int_eq(bert_tokenize(tok, scr, text, len, ids, max, &n, &truncated), 0);
        while (want[nwant] >= 0)
                nwant++;
        for (size_t i = 0; i < n && i < nwant; i++)
                ck_assert_msg(ids[i] == want[i], "\"%s\": id %zu is %d, want %d", text, i, ids[i],
                              want[i]);
        ck_assert_msg(n == nwant, "\"%s\": %zu ids, want %zu", text, n, nwant);
        ck_assert_msg(truncated == want_truncated, "\"%s\": truncated is %d", text, truncated);
}

#define CHECK(text, ...)                                         \
        do {                                                     \
                static const int w[] = { __VA_ARGS__, -1 };      \
                check_ids_len(text, strlen(text), 64, w, false); \
        } while (0)

START_TEST(test_bert_tokenize_words_and_pieces)
{
        CHECK("The quick brown fox.", 2, 5, 6, 7, 8, 13, 3);
        CHECK("unaffable", 2, 9, 10, 11, 3);
        CHECK("running runs", 2, 23, 24, 23, 22, 3);
        CHECK("aaaa", 2, 18, 19, 19, 19, 3);
}
END_TEST

START_TEST(test_bert_tokenize_unknown_word_is_one_unk)
{
        /* "un" matches, then nothing continues it: the whole word is one [UNK] */
        CHECK("unzzz hello", 2, 1, 16, 3);
        CHECK("zzz", 2, 1, 3);
        /* 10 characters are pieces, 11 are [UNK] (max_input_chars_per_word) */
        CHECK("aaaaaaaaaa", 2, 18, 19, 19, 19, 19, 19, 19, 19, 19, 19, 3);
        CHECK("aaaaaaaaaaa", 2, 1, 3);
        /* counted in code points after normalisation: 10 "á" are 10 "a" */
        CHECK("\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1\xC3\xA1", 2,
              18, 19, 19, 19, 19, 19, 19, 19, 19, 19, 3);
}
END_TEST

START_TEST(test_bert_tokenize_normalizer)
{
        CHECK("CAF\xC3\x89", 2, 12, 3);            /* upper case and an accent */
        CHECK("Cafe\xCC\x81", 2, 12, 3);           /* a combining accent */
        CHECK("hel\xE2\x80\x8Blo", 2, 16, 3);      /* a zero-width space is dropped... */
        CHECK("hello\x01world", 2, 1, 3);          /* ...and a control: one unknown word */
        CHECK("hello\xC2\xA0world", 2, 16, 17, 3); /* a no-break space separates */
        CHECK("hello\xE3\x80\x80world\n", 2, 16, 17, 3);
        CHECK("\xE6\x88\x91\xE7\x88\xB1", 2, 20, 21, 3); /* CJK: one word each */
        CHECK("\xEA\xB0\x80", 2, 27, 28, 3);             /* a Hangul syllable decomposes to jamo */
        CHECK("\xC4\xB0", 2, 25, 3);              /* U+0130: "I" + U+0307, the mark stripped */
        CHECK("hello\xEF\xBF\xBDworld", 2, 1, 3); /* U+FFFD is dropped */
}
END_TEST

START_TEST(test_bert_tokenize_punctuation)
{
        CHECK("hello,world!", 2, 16, 14, 17, 15, 3);
        CHECK("!!", 2, 15, 15, 3);
        CHECK("a$a", 2, 18, 1, 18, 3); /* ASCII symbols split too */
}
END_TEST

START_TEST(test_bert_tokenize_added_tokens)
{
        CHECK("hello [SEP] world", 2, 16, 3, 17, 3);
        CHECK("[CLS][MASK]", 2, 2, 4, 3);
        CHECK("hello[SEP]world", 2, 16, 3, 17, 3);
        /* matched before normalisation: lower case is not the token */
        CHECK("[sep]", 2, 1, 1, 1, 3);
        CHECK("[[SEP]]", 2, 1, 3, 1, 3);
}
END_TEST

START_TEST(test_bert_tokenize_truncates)
{
        static const int four[] = { 2, 5, 6, 3, -1 };
        static const int all[] = { 2, 5, 6, 7, 8, 3, -1 };
        static const int none[] = { 2, 3, -1 };
        static const int added[] = { 2, 16, 3, 3, -1 };
        const char *text = "the quick brown fox";

        check_ids_len(text, strlen(text), 4, four, true);
        check_ids_len(text, strlen(text), 6, all, false);
        check_ids_len(text, strlen(text), 7, all, false);
        check_ids_len(text, strlen(text), 2, none, true);
        check_ids_len("", 0, 2, none, false);
        check_ids_len("hello [SEP] world", 17, 4, added, true);
        /* a word cut by the limit keeps its first pieces */
        {
                static const int pieces[] = { 2, 9, 10, 3, -1 };

                check_ids_len("unaffable", 9, 4, pieces, true);
        }
}
END_TEST

START_TEST(test_bert_tokenize_invalid_utf8)
{
        static const int want[] = { 2, 16, 17, 3, -1 };

        /* a stray byte reads as U+FFFD, which the normalizer drops */
        check_ids_len("hello\xFF world", 12, 64, want, false);
        check_ids_len("hello \xE6\x88 world", 14, 64, want, false);
}
END_TEST

START_TEST(test_bert_tokenize_long_text_reuses_scratch)
{
        size_t len = 200000, n;
        char *text = malloc(len + 1);
        int32_t ids[256];
        bool truncated;

        for (size_t i = 0; i < len; i += 4)
                memcpy(text + i, "fox ", 4);
        ck_assert_int_eq(bert_tokenize(tok, scr, text, len, ids, 256, &n, &truncated), 0);
        ck_assert_uint_eq(n, 256);
        ck_assert(truncated);
        ck_assert_int_eq(ids[1], 8);
        ck_assert_int_eq(ids[255], 3);
        free(text);
        CHECK("hello", 2, 16, 3);
}
END_TEST

START_TEST(test_bert_tokenizer_token_id)
{
        ck_assert_int_eq(bert_tokenizer_token_id(tok, "[CLS]"), 2);
        ck_assert_int_eq(bert_tokenizer_token_id(tok, "the"), 5);
        ck_assert_int_eq(bert_tokenizer_token_id(tok, "##able"), 11);
        ck_assert_int_eq(bert_tokenizer_token_id(tok, "nope"), -1);
        ck_assert_uint_eq(bert_tokenizer_id_limit(tok), 29);
}
END_TEST

START_TEST(test_bert_tokenizer_normalize_and_classes)
{
        const int32_t *cps;
        size_t n;

        ck_assert_int_eq(bert_tokenizer_normalize(tok, scr, "A\xE6\x88\x91\xC3\xA9", 6, &cps, &n),
                         0);
        ck_assert_uint_eq(n, 5);
        ck_assert_int_eq(cps[0], 'a');
        ck_assert_int_eq(cps[1], ' ');
        ck_assert_int_eq(cps[2], 0x6211);
        ck_assert_int_eq(cps[3], ' ');
        ck_assert_int_eq(cps[4], 'e');
        ck_assert_int_eq(bert_pretokenizer_class(' '), 'w');
        ck_assert_int_eq(bert_pretokenizer_class(0x3000), 'w');
        ck_assert_int_eq(bert_pretokenizer_class(0x200B), '-'); /* not white space */
        ck_assert_int_eq(bert_pretokenizer_class('$'), 'p');
        ck_assert_int_eq(bert_pretokenizer_class(0x3002), 'p');
        ck_assert_int_eq(bert_pretokenizer_class('a'), '-');
}
END_TEST

/* tokenizer.json variants that must be refused, with the words the
 * message must hold. */
static const struct {
        /* cppcheck-suppress unusedStructMember ; read through refused[_i] */
        const char *json;
        /* cppcheck-suppress unusedStructMember ; read through refused[_i] */
        const char *says;
} refused[] = {
        { "not json", "not valid JSON" },
        { "[]", "not a JSON object" },
        { "{" NORMALIZER ", \"pre_tokenizer\": {\"type\": \"Whitespace\"}, " POST ", " MODEL "}",
          "only BertPreTokenizer" },
        { "{\"normalizer\": {\"type\": \"Lowercase\"}, " PRE ", " POST ", " MODEL "}",
          "only BertNormalizer" },
        { "{" NORMALIZER ", " PRE ", " POST ", \"model\": {\"type\": \"BPE\"}}", "only WordPiece" },
        { "{" NORMALIZER ", " PRE ", " POST
          ", \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"<unk>\", \"vocab\": {\"a\": 0}}}",
          "unk_token \"<unk>\" is not in the vocab" },
        { "{" NORMALIZER ", " PRE ", " POST
          ", \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"a\", \"vocab\": {\"a\": -1}}}",
          "the id of \"a\"" },
        { "{" NORMALIZER ", " PRE ", " POST ", " MODEL
          ", \"added_tokens\": [{\"id\": 30, \"content\": \"x\", \"normalized\": true}]}",
          "added_tokens[0] \"x\": normalized, lstrip" },
        { "{" NORMALIZER ", " PRE ", " POST ", " MODEL
          ", \"added_tokens\": [{\"id\": 30, \"content\": \"x\", \"lstrip\": true}]}",
          "not supported" },
        { "{" NORMALIZER ", " PRE ", \"post_processor\": {\"type\": \"RobertaProcessing\"}, " MODEL
          "}",
          "only TemplateProcessing and BertProcessing" },
        { "{" NORMALIZER ", " PRE ", \"post_processor\": {\"type\": \"BertProcessing\", "
          "\"cls\": [\"[CLS]\", 2]}, " MODEL "}",
          "no single id" },
        { "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": 1}, " PRE ", " POST
          ", " MODEL "}",
          "not a boolean" },
        { "{" NORMALIZER ", " PRE ", " POST ", " MODEL ", " MODEL "}", "duplicate" },
};

START_TEST(test_bert_tokenizer_parse_refuses)
{
        char errstr[256] = "";
        const char *json = refused[_i].json;
        struct bert_tokenizer *t = bert_tokenizer_parse(json, strlen(json), errstr, sizeof(errstr));

        ck_assert_msg(!t, "case %d accepted", _i);
        ck_assert_msg(strstr(errstr, refused[_i].says), "case %d: \"%s\" lacks \"%s\"", _i, errstr,
                      refused[_i].says);
}
END_TEST

START_TEST(test_bert_tokenizer_load_names_the_file)
{
        char errstr[256];

        ck_assert_ptr_null(
                bert_tokenizer_load("/nonexistent/tokenizer.json", errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "/nonexistent/tokenizer.json"));
}
END_TEST

START_TEST(test_bert_tokenizer_defaults)
{
        /* no normalizer options: clean, Chinese, lowercase, accents follow */
        static const char json[] = "{\"normalizer\": {\"type\": \"BertNormalizer\"}, " PRE ", " POST
                                   ", " MODEL "}";
        char errstr[256];
        struct bert_tokenizer *t = bert_tokenizer_parse(json, strlen(json), errstr, sizeof(errstr));
        const int32_t *cps;
        size_t n;

        ck_assert_msg(t, "%s", errstr);
        ck_assert_int_eq(bert_tokenizer_normalize(t, scr, "\xC3\x89\x01", 3, &cps, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(cps[0], 'e');
        bert_tokenizer_free(t);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("bert_tokenizer");
        TCase *tc = tcase_create("bert_tokenize");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bert_tokenize_words_and_pieces);
        tcase_add_test(tc, test_bert_tokenize_unknown_word_is_one_unk);
        tcase_add_test(tc, test_bert_tokenize_normalizer);
        tcase_add_test(tc, test_bert_tokenize_punctuation);
        tcase_add_test(tc, test_bert_tokenize_added_tokens);
        tcase_add_test(tc, test_bert_tokenize_truncates);
        tcase_add_test(tc, test_bert_tokenize_invalid_utf8);
        tcase_add_test(tc, test_bert_tokenize_long_text_reuses_scratch);
        suite_add_tcase(s, tc);

        tc = tcase_create("bert_tokenizer_parse");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bert_tokenizer_token_id);
        tcase_add_test(tc, test_bert_tokenizer_normalize_and_classes);
        tcase_add_loop_test(tc, test_bert_tokenizer_parse_refuses, 0,
                            sizeof(refused) / sizeof(refused[0]));
        tcase_add_test(tc, test_bert_tokenizer_load_names_the_file);
        tcase_add_test(tc, test_bert_tokenizer_defaults);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

/* Unit tests for the lexical embedding model. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedding/lexical.h"
#include "../unit.h"

#define DIM 384

static struct lexical_model model;
static struct lexical_scratch *scr;

static void setup(void)
{
        lexical_model_init(&model, DIM);
        scr = lexical_scratch_new();
        ck_assert_ptr_nonnull(scr);
}

static void teardown(void)
{
        lexical_scratch_free(scr);
        scr = NULL;
}

/* Embeds @p text at @p dim into @p out; returns the token count. */
static size_t embed_dim(const char *text, float *out, size_t dim)
{
        size_t ntokens = (size_t)-1;

        ck_assert_int_eq(lexical_embed(&model, scr, text, strlen(text), out, dim, &ntokens), 0);
        return ntokens;
}

static size_t embed(const char *text, float *out)
{
        return embed_dim(text, out, DIM);
}

static double dot(const float *a, const float *b, size_t dim)
{
        double s = 0;

        for (size_t i = 0; i < dim; i++)
                s += (double)a[i] * b[i];
        return s;
}

static double norm(const float *a, size_t dim)
{
        return sqrt(dot(a, a, dim));
}

static double cosine(const char *x, const char *y)
{
        float a[DIM], b[DIM];

        embed(x, a);
        embed(y, b);
        return dot(a, b, DIM);
}

static void assert_same(const char *x, const char *y)
{
        float a[DIM], b[DIM];

        embed(x, a);
        embed(y, b);
        ck_assert_msg(memcmp(a, b, sizeof(a)) == 0, "\"%s\" and \"%s\" differ", x, y);
}

/* A deterministic text of @p len bytes: words from a small list. */
static char *prose(size_t len)
{
        static const char *const words[] = { "river",  "stone", "cairn",  "path",  "summit",
                                             "valley", "mist",  "walker", "ridge", "marker" };
        char *s = malloc(len + 1);
        size_t o = 0;
        unsigned x = 1;

        ck_assert_ptr_nonnull(s);
        while (o < len) {
                const char *w = words[(x >> 8) % 10];

                x = x * 1103515245u + 12345u;
                for (size_t i = 0; w[i] && o < len; i++)
                        s[o++] = w[i];
                if (o < len)
                        s[o++] = ' ';
        }
        s[len] = '\0';
        return s;
}

START_TEST(test_lexical_model_init_sets_dim_and_weights)
{
        ck_assert_uint_eq(model.dim, DIM);
        ck_assert_double_eq(model.weight[LEXICAL_UNIGRAM], 1.0);
        ck_assert_double_eq(model.weight[LEXICAL_BIGRAM], 0.8);
        ck_assert_double_eq(model.weight[LEXICAL_CHAR3], 0.3);
        ck_assert_double_eq(model.weight[LEXICAL_CHAR4], 0.3);
        ck_assert_double_eq(model.weight[LEXICAL_CHAR5], 0.3);
}
END_TEST

START_TEST(test_lexical_scratch_new_and_free)
{
        struct lexical_scratch *s = lexical_scratch_new();

        ck_assert_ptr_nonnull(s);
        lexical_scratch_free(s);
        lexical_scratch_free(NULL);
}
END_TEST

START_TEST(test_lexical_embed_deterministic)
{
        const char *text = "Deterministic: the same text, the same vector, every time.";
        float a[DIM], b[DIM];
        struct lexical_scratch *fresh = lexical_scratch_new();

        embed(text, a);
        embed(text, b);
        ck_assert(memcmp(a, b, sizeof(a)) == 0);
        ck_assert_int_eq(lexical_embed(&model, fresh, text, strlen(text), b, DIM, NULL), 0);
        ck_assert(memcmp(a, b, sizeof(a)) == 0);
        lexical_scratch_free(fresh);
}
END_TEST

/* Pinned once: any change of hashing, seeds, weights or normalisation,
 * on any machine, shows here. */
START_TEST(test_lexical_embed_golden_ascii)
{
        float v[DIM];

        ck_assert_uint_eq(embed("The quick brown fox jumps over the lazy dog", v), 9);
        ck_assert_float_eq_tol(v[0], 0.0f, 1e-6);
        ck_assert_float_eq_tol(v[110], -0.209498987f, 1e-6);
        ck_assert_float_eq_tol(v[152], 0.209498987f, 1e-6);
        ck_assert_float_eq_tol(v[196], 0.230448887f, 1e-6);
        ck_assert_float_eq_tol(v[365], 0.354712605f, 1e-6);
}
END_TEST

START_TEST(test_lexical_embed_golden_unicode)
{
        float v[DIM];

        ck_assert_uint_eq(embed("Crème brûlée à Paris, s'il vous plaît", v), 8);
        ck_assert_float_eq_tol(v[9], -0.233189583f, 1e-6);
        ck_assert_float_eq_tol(v[75], 0.303146452f, 1e-6);
        ck_assert_float_eq_tol(v[277], -0.303146452f, 1e-6);
        ck_assert_float_eq_tol(v[315], 0.233189583f, 1e-6);
}
END_TEST

START_TEST(test_lexical_embed_golden_punctuation)
{
        float v[DIM];

        ck_assert_uint_eq(embed("...", v), 0);
        ck_assert_float_eq(v[328], 1.0f);
}
END_TEST

START_TEST(test_lexical_embed_unit_norm)
{
        static const char *const texts[] = {
                "a",
                "The cat sat on the mat",
                "the the the the the the",
                "Ünïcödé ΚΑΛΗΜΕΡΑ Привет 東京都に住んでいます",
                "x1 y2 z3 2024-01-01",
                "😀 emoji 😀 and text",
        };
        float v[DIM];

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                embed(texts[i], v);
                ck_assert_double_eq_tol(norm(v, DIM), 1.0, 1e-5);
        }
}
END_TEST

START_TEST(test_lexical_embed_paraphrase_is_closer)
{
        double para = cosine("The cat sat on the mat", "A cat was sitting on the mat");
        double other = cosine("The cat sat on the mat", "Quarterly revenue rose by eight percent");

        ck_assert_msg(para > other + 0.3, "paraphrase %f, unrelated %f", para, other);
        ck_assert_double_lt(fabs(other), 0.2);
}
END_TEST

START_TEST(test_lexical_embed_word_order_counts_a_little)
{
        double c = cosine("dog bites man", "man bites dog");

        ck_assert_double_lt(c, 0.99);
        ck_assert_double_gt(c, 0.6);
}
END_TEST

START_TEST(test_lexical_embed_case_insensitive)
{
        assert_same("Hello World", "hello world");
        assert_same("HELLO WORLD", "hello world");
        assert_same("ΚΑΛΗΜΕΡΑ ΚΟΣΜΕ", "καλημερα κοσμε");
        assert_same("Straße", "STRASSE");
}
END_TEST

START_TEST(test_lexical_embed_accent_insensitive)
{
        /* precomposed, decomposed and unaccented */
        assert_same("Café crème brûlée", "cafe creme brulee");
        assert_same("Cafe\xcc\x81 cre\xcc\x80me", "café crème");
        assert_same("ÉCOLE", "ecole");
        assert_same("naïve résumé", "naive resume");
}
END_TEST

START_TEST(test_lexical_embed_compatibility_forms)
{
        /* ligature, full-width letters, soft hyphen and zero-width space */
        assert_same("\xef\xac\x81nance", "finance");
        assert_same("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", "abc");
        assert_same("co\xc2\xadoperate", "cooperate");
        assert_same("zero\xe2\x80\x8bwidth", "zerowidth");
}
END_TEST

START_TEST(test_lexical_embed_keeps_meaningful_marks)
{
        float a[DIM], b[DIM];

        /* Devanagari vowel signs and kana voicing marks are not accents. */
        embed("\xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\xac", a); /* किताब */
        embed("\xe0\xa4\x95\xe0\xa4\xa4\xe0\xa4\xac", b);                         /* कतब */
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
        assert_same("\xe3\x81\x8b\xe3\x82\x99", "\xe3\x81\x8c"); /* か + ゙ is が */
        embed("\xe3\x81\x8c", a);
        embed("\xe3\x81\x8b", b);
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(test_lexical_embed_separators)
{
        assert_same("machine-learning", "machine learning");
        assert_same("  spaced\t\nout  ", "spaced out");
        assert_same("hello, world!", "hello world");
}
END_TEST

START_TEST(test_lexical_embed_punctuation_only_unit_norm)
{
        float a[DIM], b[DIM];

        ck_assert_uint_eq(embed("!!!", a), 0);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
        ck_assert_uint_eq(embed("???", b), 0);
        ck_assert_double_eq_tol(norm(b, DIM), 1.0, 1e-5);
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
        ck_assert_uint_eq(embed("   ", a), 0);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
        ck_assert_uint_eq(embed("\xe2\x80\xa6 \xc2\xbf?", a), 0); /* … ¿? */
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
        ck_assert_uint_eq(embed("", a), 0);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
}
END_TEST

START_TEST(test_lexical_embed_dimensions)
{
        static const size_t dims[] = { 1, 16, 100, 256, 384, 1000, 4096 };
        float *v = malloc(4096 * sizeof(*v));
        float a[DIM], b[DIM];

        for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
                for (size_t k = 0; k < 4096; k++)
                        v[k] = 7.0f;
                embed_dim("vectors of many sizes", v, dims[i]);
                ck_assert_double_eq_tol(norm(v, dims[i]), 1.0, 1e-5);
                if (dims[i] < 4096)
                        ck_assert_float_eq(v[dims[i]], 7.0f); /* nothing written past dim */
        }
        /* fewer buckets: a different vector, not a prefix */
        embed_dim("vectors of many sizes", a, DIM);
        embed_dim("vectors of many sizes", b, 256);
        ck_assert(memcmp(a, b, 256 * sizeof(float)) != 0);
        free(v);
}
END_TEST

START_TEST(test_lexical_embed_long_inputs)
{
        float a[DIM], b[DIM];
        char *text = prose(1 << 20);
        char *word = malloc(65537);
        char *uni = malloc(3 * 20000 + 1);

        /* prose, one megabyte */
        ck_assert_uint_gt(embed(text, a), 100000);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
        /* one word of 64 KiB */
        memset(word, 'q', 65536);
        word[65536] = '\0';
        ck_assert_uint_eq(embed(word, a), 1);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
        /* 20000 three-byte code points, no spaces */
        for (size_t i = 0; i < 20000; i++)
                memcpy(uni + 3 * i, i % 2 ? "\xe6\x9d\xb1" : "\xe4\xba\xac", 3);
        uni[3 * 20000] = '\0';
        ck_assert_uint_eq(embed(uni, a), 1);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
        /* a short text after long ones: the scratch left nothing behind */
        embed("short after long", a);
        struct lexical_scratch *fresh = lexical_scratch_new();
        ck_assert_int_eq(lexical_embed(&model, fresh, "short after long", 16, b, DIM, NULL), 0);
        ck_assert(memcmp(a, b, sizeof(a)) == 0);
        lexical_scratch_free(fresh);
        free(uni);
        free(word);
        free(text);
}
END_TEST

START_TEST(test_lexical_embed_expansion_heavy_unicode)
{
        /* U+FDFA decomposes into 18 code points under NFKC. */
        size_t n = 5000;
        char *text = malloc(3 * n + 1);
        float v[DIM];

        for (size_t i = 0; i < n; i++)
                memcpy(text + 3 * i, "\xef\xb7\xba", 3);
        text[3 * n] = '\0';
        ck_assert_uint_gt(embed(text, v), 0);
        ck_assert_double_eq_tol(norm(v, DIM), 1.0, 1e-5);
        free(text);
}
END_TEST

START_TEST(test_lexical_embed_invalid_utf8_read_as_bytes)
{
        float a[DIM], b[DIM];

        ck_assert_uint_eq(embed("caf\xc3 BAR \xff\xfe", a), 3);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
        ck_assert_uint_eq(embed("caf\xc3 bar \xff\xfe", b), 3);
        ck_assert(memcmp(a, b, sizeof(a)) == 0);
        ck_assert_uint_eq(embed("\x80", a), 1);
        ck_assert_double_eq_tol(norm(a, DIM), 1.0, 1e-5);
}
END_TEST

START_TEST(test_lexical_embed_counts_tokens)
{
        float v[DIM];

        ck_assert_uint_eq(embed("Hello, world! 42 times.", v), 4);
        ck_assert_uint_eq(embed("don't", v), 2);
        ck_assert_uint_eq(embed("東京 大阪", v), 2);
        ck_assert_uint_eq(embed("a", v), 1);
}
END_TEST

START_TEST(test_lexical_tokenize_matches_embed)
{
        static const char *const texts[] = { "Hello, world! 42 times.", "...", "",
                                             "Crème brûlée à Paris", "caf\xc3 bar" };
        float v[DIM];

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                size_t n = (size_t)-1;

                ck_assert_int_eq(lexical_tokenize(scr, texts[i], strlen(texts[i]), &n), 0);
                ck_assert_uint_eq(n, embed(texts[i], v));
        }
}
END_TEST

static Suite *lexical_suite(void)
{
        Suite *s = suite_create("lexical");
        TCase *tc;

        tc = tcase_create("lexical_model_init");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_lexical_model_init_sets_dim_and_weights);
        suite_add_tcase(s, tc);

        tc = tcase_create("lexical_scratch_new");
        tcase_add_test(tc, test_lexical_scratch_new_and_free);
        suite_add_tcase(s, tc);

        tc = tcase_create("lexical_embed");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_lexical_embed_deterministic);
        tcase_add_test(tc, test_lexical_embed_golden_ascii);
        tcase_add_test(tc, test_lexical_embed_golden_unicode);
        tcase_add_test(tc, test_lexical_embed_golden_punctuation);
        tcase_add_test(tc, test_lexical_embed_unit_norm);
        tcase_add_test(tc, test_lexical_embed_paraphrase_is_closer);
        tcase_add_test(tc, test_lexical_embed_word_order_counts_a_little);
        tcase_add_test(tc, test_lexical_embed_case_insensitive);
        tcase_add_test(tc, test_lexical_embed_accent_insensitive);
        tcase_add_test(tc, test_lexical_embed_compatibility_forms);
        tcase_add_test(tc, test_lexical_embed_keeps_meaningful_marks);
        tcase_add_test(tc, test_lexical_embed_separators);
        tcase_add_test(tc, test_lexical_embed_punctuation_only_unit_norm);
        tcase_add_test(tc, test_lexical_embed_dimensions);
        tcase_add_test(tc, test_lexical_embed_long_inputs);
        tcase_add_test(tc, test_lexical_embed_expansion_heavy_unicode);
        tcase_add_test(tc, test_lexical_embed_invalid_utf8_read_as_bytes);
        tcase_add_test(tc, test_lexical_embed_counts_tokens);
        suite_add_tcase(s, tc);

        tc = tcase_create("lexical_tokenize");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_lexical_tokenize_matches_embed);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        return unit_run(lexical_suite());
}

/* Unit tests for the byte-level BPE encoder: texts encoded by the real
 * tiny.en tokenizer against the ids faster-whisper's tokenizer (Hugging
 * Face's tokenizers) gives for them: contractions, numbers, runs of
 * spaces, tabs, CJK, emoji, accents. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "speech/whisper_bpe.h"
#include "../unit.h"

#define END 0xffffffffu

static const struct {
        const char *text;
        unsigned ids[64]; /* ends at END */
} cases[] = {
        { " The quick brown fox, caf\xc3\xa9"
          " \xe2\x82\xac"
          "5 na\xc3\xaf"
          "ve.",
          { 383, 2068, 7586, 21831, 11, 40304, 10432, 20, 41492, 13, END } },
        { " Hello world", { 18435, 995, END } },
        { " I'm sure they'll say it's   fine... don't    you think?",
          { 314, 1101, 1654, 484, 1183, 910, 340, 338, 220, 220, 3734,
            986, 836,  470,  220, 220,  220, 345, 892, 30,  END } },
        { " Numbers 12345 and 3.14159 and 1,000,000!",
          { 27797, 17031, 2231, 290, 513, 13, 1415, 19707, 290, 352, 11, 830, 11, 830, 0, END } },
        { " Tabs\tand", { 309, 8937, 197, 392, END } },
        { "newlines  ", { 3605, 6615, 220, 220, END } },
        { "  lead and trail  ", { 220, 1085, 290, 8025, 220, 220, END } },
        { " \xe6\x97\xa5"
          "\xe6\x9c\xac"
          "\xe8\xaa\x9e"
          "\xe3\x81\xae"
          "\xe3\x83\x86"
          "\xe3\x82\xad"
          "\xe3\x82\xb9"
          "\xe3\x83\x88"
          " and emoji \xf0\x9f\x8e\x89"
          "\xf0\x9f\x8e\x89"
          " done",
          { 10545, 245,   98,    17312, 105, 45739, 252, 5641, 24336, 25084, 43302,
            290,   44805, 12520, 236,   231, 8582,  236, 231,  1760,  END } },
        { " CAPS'S O'Neil 'quoted' ''double'' rock'n'roll",
          { 20176, 50,    6,     50,   440,  6, 29354, 705, 421,  5191,
            6,     10148, 23352, 7061, 3881, 6, 77,    6,   2487, END } },
        { " a  b   c    d", { 257, 220, 275, 220, 220, 269, 220, 220, 220, 288, END } },
};

static char dir[4096];

static int have_model(void)
{
        const char *home = getenv("HOME");

        snprintf(dir, sizeof(dir), "%s/.cache/cairn/models/whisper-tiny.en", home ? home : "/");
        if (access(dir, R_OK)) {
                printf("SKIPPED: no whisper-tiny.en model (deploy/models.sh)\n");
                return 0;
        }
        return 1;
}

START_TEST(test_whisper_bpe_encode_matches_tokenizers)
{
        struct whisper_vocab v;
        struct whisper_bpe *b;
        char path[4200], errstr[512];

        if (!have_model())
                return;
        snprintf(path, sizeof(path), "%s/vocabulary.txt", dir);
        ck_assert_msg(whisper_vocab_load(&v, path, errstr, sizeof(errstr)) == 0, "%s", errstr);
        snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
        b = whisper_bpe_load(&v, path, errstr, sizeof(errstr));
        ck_assert_msg(b != NULL, "%s", errstr);
        for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
                unsigned ids[64];
                size_t want = 0;
                long n = whisper_bpe_encode(b, cases[c].text, ids, 64);

                while (want < 64 && cases[c].ids[want] != END)
                        want++;
                ck_assert_msg(n == (long)want, "\"%s\": %ld ids, expected %zu", cases[c].text, n,
                              want);
                for (size_t i = 0; i < want; i++)
                        ck_assert_msg(ids[i] == cases[c].ids[i],
                                      "\"%s\": id %zu is %u, expected %u", cases[c].text, i, ids[i],
                                      cases[c].ids[i]);
        }
        /* too little room: the count of the whole, the first ids written */
        {
                unsigned ids[2];

                ck_assert_int_eq(whisper_bpe_encode(b, cases[0].text, ids, 2), 10);
                ck_assert_uint_eq(ids[1], cases[0].ids[1]);
        }
        ck_assert_int_eq(whisper_bpe_encode(b, "", NULL, 0), 0);
        whisper_bpe_free(b);
        ck_assert_ptr_null(
                whisper_bpe_load(&v, "/nonexistent/tokenizer.json", errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "/nonexistent/tokenizer.json"));
        whisper_vocab_cleanup(&v);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("whisper_bpe");
        TCase *tc = tcase_create("whisper_bpe_encode");

        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_whisper_bpe_encode_matches_tokenizers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

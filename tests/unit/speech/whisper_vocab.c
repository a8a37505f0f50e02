/* Unit tests for Whisper's vocabulary: GPT-2's byte alphabet turned back
 * into bytes, special tokens found by name, and decoding of the real
 * tiny.en vocabulary against faster-whisper's tokenizer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "speech/whisper_vocab.h"
#include "../unit.h"

static const char *const lines[] = {
        "!",
        "Ġhello",
        "Ċ",
        "Ã©",
        "âĤ¬",
        "Ġworld",
        "<|endoftext|>",
        "<|startoftranscript|>",
        "<|startofprev|>",
        "<|nocaptions|>",
        "<|notimestamps|>",
        "<|0.00|>",
        "<|0.02|>",
};
#define N_LINES (sizeof(lines) / sizeof(*lines))

START_TEST(test_whisper_vocab_init_maps_bytes)
{
        struct whisper_vocab v;
        char errstr[256];
        const unsigned ids[] = { 7, 1, 3, 2, 4, 0, 11, 5, 6 };
        char *text;

        ck_assert_msg(whisper_vocab_init(&v, lines, N_LINES, errstr, sizeof(errstr)) == 0, "%s",
                      errstr);
        ck_assert_str_eq(v.bytes[1], " hello");
        ck_assert_str_eq(v.bytes[2], "\n");
        ck_assert_str_eq(v.bytes[3], "\xc3\xa9");     /* é */
        ck_assert_str_eq(v.bytes[4], "\xe2\x82\xac"); /* € */
        ck_assert_int_eq(v.eot, 6);
        ck_assert_int_eq(v.sot, 7);
        ck_assert_int_eq(v.sot_prev, 8);
        ck_assert_int_eq(v.no_speech, 9);
        ck_assert_int_eq(v.no_timestamps, 10);
        ck_assert_int_eq(v.timestamp_begin, 11);
        ck_assert_int_eq(v.translate, -1);
        /* specials and timestamps are left out */
        text = whisper_vocab_decode(&v, ids, sizeof(ids) / sizeof(*ids));
        ck_assert_str_eq(text, " hello\xc3\xa9\n\xe2\x82\xac! world");
        free(text);
        ck_assert_int_eq(whisper_vocab_find(&v, "Ġworld"), -1); /* found by its bytes */
        ck_assert_int_eq(whisper_vocab_find(&v, " world"), 5);
        whisper_vocab_cleanup(&v);
}
END_TEST

START_TEST(test_whisper_vocab_init_refuses)
{
        struct whisper_vocab v;
        char errstr[256];
        const char *bad[N_LINES];

        memcpy(bad, lines, sizeof(bad));
        bad[1] = "a b"; /* a space is not in the byte alphabet */
        ck_assert_int_eq(whisper_vocab_init(&v, bad, N_LINES, errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "line 2"));
        memcpy(bad, lines, sizeof(bad));
        bad[1] = "";
        ck_assert_int_eq(whisper_vocab_init(&v, bad, N_LINES, errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "line 2: empty token"));
        /* without <|0.00|> */
        ck_assert_int_eq(whisper_vocab_init(&v, lines, N_LINES - 2, errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "special tokens missing"));
}
END_TEST

START_TEST(test_whisper_vocab_load_tiny_en)
{
        char path[4096], errstr[512];
        const char *home = getenv("HOME");
        struct whisper_vocab v;
        /* faster-whisper's tokenizer.encode(" The quick brown fox, café €5
         * naïve.\n") */
        const unsigned ids[] = { 383, 2068, 7586, 21831, 11, 40304, 10432, 20, 41492, 13, 198 };
        char *text;

        snprintf(path, sizeof(path), "%s/.cache/cairn/models/whisper-tiny.en/vocabulary.txt",
                 home ? home : "/");
        if (access(path, R_OK)) {
                printf("SKIPPED: no whisper-tiny.en model (deploy/models.sh)\n");
                return;
        }
        ck_assert_msg(whisper_vocab_load(&v, path, errstr, sizeof(errstr)) == 0, "%s", errstr);
        ck_assert_uint_eq(v.n, 51864);
        ck_assert_int_eq(v.eot, 50256);
        ck_assert_int_eq(v.sot, 50257);
        ck_assert_int_eq(v.sot_prev, 50360);
        ck_assert_int_eq(v.no_speech, 50361);
        ck_assert_int_eq(v.no_timestamps, 50362);
        ck_assert_int_eq(v.timestamp_begin, 50363);
        text = whisper_vocab_decode(&v, ids, sizeof(ids) / sizeof(*ids));
        ck_assert_str_eq(text, " The quick brown fox, caf\xc3\xa9 \xe2\x82\xac"
                               "5 na\xc3\xafve.\n");
        free(text);
        whisper_vocab_cleanup(&v);
        ck_assert_int_eq(whisper_vocab_load(&v, "/nonexistent/vocabulary.txt", errstr,
                                            sizeof(errstr)),
                         -1);
        ck_assert_ptr_nonnull(strstr(errstr, "/nonexistent/vocabulary.txt"));
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("whisper_vocab");
        TCase *tc = tcase_create("whisper_vocab_init");

        tcase_add_test(tc, test_whisper_vocab_init_maps_bytes);
        tcase_add_test(tc, test_whisper_vocab_init_refuses);
        suite_add_tcase(s, tc);
        tc = tcase_create("whisper_vocab_load");
        tcase_add_test(tc, test_whisper_vocab_load_tiny_en);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

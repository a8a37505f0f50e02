/* Unit tests for strict base64: both alphabets, padding rules, bounds. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/base64.h"
#include "../unit.h"

static long dec(const char *in, bool url, uint8_t *out, size_t cap)
{
        return cairn_base64_decode(in, strlen(in), url, out, cap);
}

START_TEST(test_cairn_base64_decode_standard)
{
        uint8_t out[16];

        ck_assert_int_eq(dec("", false, out, sizeof(out)), 0);
        ck_assert_int_eq(dec("Zg==", false, out, sizeof(out)), 1);
        ck_assert_int_eq(dec("Zm8=", false, out, sizeof(out)), 2);
        ck_assert_int_eq(dec("Zm9vYmFy", false, out, sizeof(out)), 6);
        ck_assert(memcmp(out, "foobar", 6) == 0);
        ck_assert_int_eq(dec("+/+/", false, out, sizeof(out)), 3);
        ck_assert_int_eq(out[0], 0xfb);
        ck_assert_int_eq(dec("Zg", false, out, sizeof(out)), 1); /* padding optional */
}
END_TEST

START_TEST(test_cairn_base64_decode_url)
{
        uint8_t out[16];

        ck_assert_int_eq(dec("aGk", true, out, sizeof(out)), 2);
        ck_assert(memcmp(out, "hi", 2) == 0);
        ck_assert_int_eq(dec("aGk=", true, out, sizeof(out)), 2);
        ck_assert_int_eq(dec("-_8", true, out, sizeof(out)), 2);
        ck_assert_int_eq(out[0], 0xfb);
        ck_assert_int_eq(dec("a+b/", true, out, sizeof(out)), -1);
        ck_assert_int_eq(dec("-_8", false, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_cairn_base64_decode_rejects_malformed)
{
        uint8_t out[16];

        ck_assert_int_eq(dec("Z", false, out, sizeof(out)), -1); /* 6 bits */
        ck_assert_int_eq(dec("Zm9v!", false, out, sizeof(out)), -1);
        ck_assert_int_eq(dec("Zg===", false, out, sizeof(out)), -1); /* too much padding */
        ck_assert_int_eq(dec("Zm8==", false, out, sizeof(out)), -1); /* padding out of place */
        ck_assert_int_eq(dec("Zh==", false, out, sizeof(out)), -1);  /* non-zero spare bits */
        ck_assert_int_eq(dec("Zm 9v", false, out, sizeof(out)), -1);
        ck_assert_int_eq(dec("aGVsbG8gd29ybGQ", true, out, 4), -1); /* no room */
}
END_TEST

/* Every byte outside the alphabet, at every position of a string with whole
 * quanta and with a partial one, is refused; the room check is exact. */
START_TEST(test_cairn_base64_decode_every_bad_byte)
{
        const char *good[] = { "Zm9vYmFyYmF6", "Zm9vYmFyYg", "Zm9vYmFyYmE" };
        uint8_t out[16];
        char s[16];

        for (size_t g = 0; g < 3; g++) {
                size_t len = strlen(good[g]);

                for (size_t pos = 0; pos < len; pos++)
                        for (int c = 0; c < 256; c++) {
                                if (cairn_base64_value((unsigned char)c, false) >= 0)
                                        continue;
                                memcpy(s, good[g], len + 1);
                                s[pos] = (char)c;
                                ck_assert_msg(cairn_base64_decode(s, len, false, out,
                                                                  sizeof(out)) == -1,
                                              "byte %d at %zu of %s accepted", c, pos, good[g]);
                        }
        }
        ck_assert_int_eq(dec("Zm9vYmFy", false, out, 6), 6);
        ck_assert_int_eq(dec("Zm9vYmFy", false, out, 5), -1);
        ck_assert_int_eq(dec("Zm9vYg", false, out, 4), 4);
        ck_assert_int_eq(dec("Zm9vYg", false, out, 3), -1);
        ck_assert_int_eq(dec("Zm9", false, out, sizeof(out)), -1); /* non-zero spare bits */
        ck_assert_int_eq(cairn_base64_value('A', false), 0);
        ck_assert_int_eq(cairn_base64_value('/', false), 63);
        ck_assert_int_eq(cairn_base64_value('_', true), 63);
        ck_assert_int_eq(cairn_base64_value('=', false), -1);
}
END_TEST

START_TEST(test_cairn_base64_encode_round_trips)
{
        uint8_t in[64], out[64];

        for (size_t i = 0; i < sizeof(in); i++)
                in[i] = (uint8_t)(i * 37 + 11);
        for (size_t n = 0; n <= sizeof(in); n++) {
                struct cairn_buf b = { 0 };

                cairn_base64_encode(&b, in, n);
                ck_assert_uint_eq(b.len, (n + 2) / 3 * 4);
                ck_assert_int_eq(cairn_base64_decode(b.p ? b.p : "", b.len, false, out,
                                                     sizeof(out)),
                                 (long)n);
                ck_assert(memcmp(in, out, n) == 0);
                cairn_buf_cleanup(&b);
        }
}
END_TEST

int main(void)
{
        Suite *s = suite_create("base64");
        TCase *tc = tcase_create("cairn_base64_decode");

        tcase_add_test(tc, test_cairn_base64_decode_standard);
        tcase_add_test(tc, test_cairn_base64_decode_url);
        tcase_add_test(tc, test_cairn_base64_decode_rejects_malformed);
        tcase_add_test(tc, test_cairn_base64_decode_every_bad_byte);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_base64_encode");
        tcase_add_test(tc, test_cairn_base64_encode_round_trips);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

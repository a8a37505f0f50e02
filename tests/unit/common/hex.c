/* Unit tests for lower-case hex encoding and reading hex digits. */
#include <check.h>
#include <string.h>

#include "cairn/hex.h"
#include "../unit.h"

START_TEST(test_cairn_hex_encode_lower_case)
{
        const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
        char out[2 * sizeof(bytes) + 1];

        memset(out, 'x', sizeof(out));
        cairn_hex_encode(bytes, sizeof(bytes), out);
        ck_assert_str_eq(out, "00017f80abff");
}
END_TEST

START_TEST(test_cairn_hex_encode_empty)
{
        char out[1] = { 'x' };

        cairn_hex_encode(NULL, 0, out);
        ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_cairn_hex_digit_values_and_case)
{
        ck_assert_int_eq(cairn_hex_digit('0', 0), 0);
        ck_assert_int_eq(cairn_hex_digit('9', 1), 9);
        ck_assert_int_eq(cairn_hex_digit('a', 1), 10);
        ck_assert_int_eq(cairn_hex_digit('f', 0), 15);
        ck_assert_int_eq(cairn_hex_digit('F', 0), 15);
        ck_assert_int_eq(cairn_hex_digit('F', 1), -1); /* lower case only */
        ck_assert_int_eq(cairn_hex_digit('g', 0), -1);
        ck_assert_int_eq(cairn_hex_digit('/', 0), -1);
        ck_assert_int_eq(cairn_hex_digit('\0', 0), -1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("hex");
        TCase *tc = tcase_create("cairn_hex_encode");

        tcase_add_test(tc, test_cairn_hex_encode_lower_case);
        tcase_add_test(tc, test_cairn_hex_encode_empty);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_hex_digit");
        tcase_add_test(tc, test_cairn_hex_digit_values_and_case);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

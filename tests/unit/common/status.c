/* Unit tests for cairn.v1.Status packing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/status.h"
#include "../unit.h"

START_TEST(test_cairn_status_set_returns_code)
{
        struct cairn_status st;

        ck_assert_int_eq(cairn_status_set(&st, CAIRN_ERR_INVALID, "inputs[2]", "EMPTY_INPUT",
                                          "inputs[2] is empty"),
                         CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "inputs[2]");
        ck_assert_str_eq(st.reason, "EMPTY_INPUT");
        ck_assert_str_eq(st.message, "inputs[2] is empty");
        cairn_status_set(&st, CAIRN_ERR_INTERNAL, NULL, NULL, "x");
        ck_assert_str_eq(st.field, "");
}
END_TEST

START_TEST(test_cairn_status_pack_round_trips)
{
        struct cairn_status st, out;
        size_t len;

        cairn_status_set(&st, CAIRN_ERR_INVALID, "model", "UNKNOWN_MODEL", "unknown model %s", "m");
        uint8_t *buf = cairn_status_pack(&st, &len);
        ck_assert(cairn_status_unpack(buf, len, &out));
        ck_assert_int_eq(out.code, CAIRN_ERR_INVALID);
        ck_assert_str_eq(out.message, "unknown model m");
        ck_assert_str_eq(out.field, "model");
        ck_assert_str_eq(out.reason, "UNKNOWN_MODEL");
        free(buf);
}
END_TEST

START_TEST(test_cairn_status_unpack_garbage_is_internal)
{
        static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        struct cairn_status st;

        ck_assert(!cairn_status_unpack(garbage, sizeof(garbage), &st));
        ck_assert_int_eq(st.code, CAIRN_ERR_INTERNAL);
}
END_TEST

START_TEST(test_cairn_status_unpack_ok_code_is_not_success)
{
        struct cairn_status st, out;
        size_t len;

        cairn_status_clear(&st);
        uint8_t *buf = cairn_status_pack(&st, &len); /* code 0 */
        ck_assert(cairn_status_unpack(buf, len, &out));
        ck_assert_int_ne(out.code, CAIRN_OK);
        free(buf);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("status");
        TCase *tc;

        tc = tcase_create("cairn_status_set");
        tcase_add_test(tc, test_cairn_status_set_returns_code);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_status_pack");
        tcase_add_test(tc, test_cairn_status_pack_round_trips);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_status_unpack");
        tcase_add_test(tc, test_cairn_status_unpack_garbage_is_internal);
        tcase_add_test(tc, test_cairn_status_unpack_ok_code_is_not_success);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

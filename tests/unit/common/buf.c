/* Unit tests for the growable text buffer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "../unit.h"

START_TEST(test_cairn_buf_add_grows_and_terminates)
{
        struct cairn_buf b = { 0 };

        cairn_buf_adds(&b, "abc");
        ck_assert_str_eq(b.p, "abc");
        for (int i = 0; i < 1000; i++)
                cairn_buf_add(&b, "0123456789", 10);
        ck_assert_uint_eq(b.len, 10003);
        ck_assert_int_eq(b.p[b.len], '\0');
        ck_assert(!b.oom);
        cairn_buf_add(&b, "", 0);
        ck_assert_uint_eq(b.len, 10003);
        cairn_buf_cleanup(&b);
        ck_assert_ptr_null(b.p);
        ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_cairn_buf_add_stops_at_max)
{
        struct cairn_buf b = { .max = 8 };

        cairn_buf_adds(&b, "12345678");
        ck_assert(!b.oom);
        cairn_buf_adds(&b, "9");
        ck_assert(b.oom);
        cairn_buf_adds(&b, ""); /* sticky: later appends are ignored */
        ck_assert_str_eq(b.p, "12345678");
        cairn_buf_cleanup(&b);
        ck_assert(!b.oom);
        ck_assert_uint_eq(b.max, 8);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("buf");
        TCase *tc = tcase_create("cairn_buf_add");

        tcase_add_test(tc, test_cairn_buf_add_grows_and_terminates);
        tcase_add_test(tc, test_cairn_buf_add_stops_at_max);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

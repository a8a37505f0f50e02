/* Unit tests for in-flight offset tracking: commits never pass an offset
 * that is still being handled. */
#include <check.h>
#include <stdlib.h>

#include "offsets.h"
#include "../unit.h"

START_TEST(test_cairn_offsets_done_in_order)
{
        struct cairn_offsets *tr = cairn_offsets_new();
        uint32_t g = cairn_offsets_add(tr, 0, 10);

        cairn_offsets_add(tr, 0, 11);
        ck_assert_uint_eq(cairn_offsets_pending(tr, -1), 2);
        ck_assert_int_eq(cairn_offsets_done(tr, 0, 10, g), 11);
        ck_assert_int_eq(cairn_offsets_done(tr, 0, 11, g), 12);
        ck_assert_uint_eq(cairn_offsets_pending(tr, -1), 0);
        cairn_offsets_free(tr);
}
END_TEST

START_TEST(test_cairn_offsets_done_out_of_order_holds_commit)
{
        struct cairn_offsets *tr = cairn_offsets_new();
        uint32_t g = 0;

        for (int64_t o = 100; o < 105; o++)
                g = cairn_offsets_add(tr, 2, o);
        ck_assert_int_eq(cairn_offsets_done(tr, 2, 103, g), -1);
        ck_assert_int_eq(cairn_offsets_done(tr, 2, 101, g), -1);
        ck_assert_int_eq(cairn_offsets_done(tr, 2, 100, g), 102);
        ck_assert_int_eq(cairn_offsets_done(tr, 2, 102, g), 104);
        ck_assert_uint_eq(cairn_offsets_pending(tr, 2), 1);
        ck_assert_int_eq(cairn_offsets_done(tr, 2, 104, g), 105);
        /* twice, or unknown: ignored */
        ck_assert_int_eq(cairn_offsets_done(tr, 2, 104, g), -1);
        ck_assert_int_eq(cairn_offsets_done(tr, 2, 7, g), -1);
        cairn_offsets_free(tr);
}
END_TEST

START_TEST(test_cairn_offsets_add_grows_and_wraps)
{
        struct cairn_offsets *tr = cairn_offsets_new();
        uint32_t g;
        int64_t next = 0, commit;

        /* Keep a sliding window so the ring wraps and grows several times. */
        for (int64_t o = 0; o < 5000; o++) {
                g = cairn_offsets_add(tr, 1, o);
                if (o >= 300) {
                        commit = cairn_offsets_done(tr, 1, next, g);
                        ck_assert_int_eq(commit, next + 1);
                        next++;
                }
        }
        ck_assert_uint_eq(cairn_offsets_pending(tr, 1), 300);
        cairn_offsets_free(tr);
}
END_TEST

START_TEST(test_cairn_offsets_reset_ignores_stale)
{
        struct cairn_offsets *tr = cairn_offsets_new();
        uint32_t old = cairn_offsets_add(tr, 0, 5);

        cairn_offsets_add(tr, 3, 1);
        cairn_offsets_reset(tr, 0);
        ck_assert_uint_eq(cairn_offsets_pending(tr, -1), 1);
        ck_assert_int_eq(cairn_offsets_done(tr, 0, 5, old), -1);
        uint32_t g = cairn_offsets_add(tr, 0, 5);
        ck_assert_uint_ne(g, old);
        ck_assert_int_eq(cairn_offsets_done(tr, 0, 5, g), 6);
        cairn_offsets_free(tr);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("offsets");
        TCase *tc;

        tc = tcase_create("cairn_offsets_done");
        tcase_add_test(tc, test_cairn_offsets_done_in_order);
        tcase_add_test(tc, test_cairn_offsets_done_out_of_order_holds_commit);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_offsets_add");
        tcase_add_test(tc, test_cairn_offsets_add_grows_and_wraps);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_offsets_reset");
        tcase_add_test(tc, test_cairn_offsets_reset_ignores_stale);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

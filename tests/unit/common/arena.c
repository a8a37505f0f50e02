/* Unit tests for the per-request arena. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/v1/common.pb-c.h"
#include "../unit.h"

START_TEST(test_cairn_arena_alloc_aligned_and_distinct)
{
        struct cairn_arena a;

        cairn_arena_init(&a, 0);
        char *p = cairn_arena_alloc(&a, 3);
        char *q = cairn_arena_alloc(&a, 5);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(q);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        ck_assert_uint_eq((uintptr_t)q % 16, 0);
        ck_assert_ptr_ne(p, q);
        /* larger than a block */
        char *big = cairn_arena_alloc(&a, 100000);
        ck_assert_ptr_nonnull(big);
        memset(big, 1, 100000);
        cairn_arena_cleanup(&a);
}
END_TEST

START_TEST(test_cairn_arena_alloc_respects_limit)
{
        struct cairn_arena a;

        cairn_arena_init(&a, 1024);
        ck_assert_ptr_nonnull(cairn_arena_alloc(&a, 1000));
        ck_assert_ptr_null(cairn_arena_alloc(&a, 100));
        ck_assert_ptr_null(cairn_arena_alloc(&a, SIZE_MAX));
        ck_assert_ptr_null(cairn_arena_calloc(&a, SIZE_MAX / 2, 4));
        cairn_arena_reset(&a);
        ck_assert_ptr_nonnull(cairn_arena_alloc(&a, 1000));
        cairn_arena_cleanup(&a);
}
END_TEST

START_TEST(test_cairn_arena_reset_reuses_memory)
{
        struct cairn_arena a;

        cairn_arena_init(&a, 0);
        void *first = cairn_arena_alloc(&a, 64);
        cairn_arena_alloc(&a, 50000);
        cairn_arena_reset(&a);
        ck_assert_uint_eq(a.used, 0);
        ck_assert_ptr_eq(cairn_arena_alloc(&a, 64), first);
        cairn_arena_cleanup(&a);
}
END_TEST

START_TEST(test_cairn_arena_sprintf_formats)
{
        struct cairn_arena a;

        cairn_arena_init(&a, 0);
        ck_assert_str_eq(cairn_arena_sprintf(&a, "%s[%d]", "inputs", 3), "inputs[3]");
        ck_assert_str_eq(cairn_arena_strdup(&a, "copy"), "copy");
        cairn_arena_cleanup(&a);
}
END_TEST

START_TEST(test_cairn_arena_pbc_unpacks_protobuf)
{
        struct cairn_arena a;
        Cairn__V1__Status st = CAIRN__V1__STATUS__INIT;
        uint8_t buf[64];

        st.code = 3;
        st.message = "bad";
        size_t len = cairn__v1__status__pack(&st, buf);
        cairn_arena_init(&a, 0);
        Cairn__V1__Status *out = cairn__v1__status__unpack(cairn_arena_pbc(&a), len, buf);
        ck_assert_ptr_nonnull(out);
        ck_assert_int_eq(out->code, 3);
        ck_assert_str_eq(out->message, "bad");
        cairn_arena_cleanup(&a); /* no free_unpacked: the arena owns it all */
}
END_TEST

int main(void)
{
        Suite *s = suite_create("arena");
        TCase *tc;

        tc = tcase_create("cairn_arena_alloc");
        tcase_add_test(tc, test_cairn_arena_alloc_aligned_and_distinct);
        tcase_add_test(tc, test_cairn_arena_alloc_respects_limit);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_arena_reset");
        tcase_add_test(tc, test_cairn_arena_reset_reuses_memory);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_arena_sprintf");
        tcase_add_test(tc, test_cairn_arena_sprintf_formats);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_arena_pbc");
        tcase_add_test(tc, test_cairn_arena_pbc_unpacks_protobuf);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

/* Unit tests for sealed boxes: a box opens only with its key pair, whole. */
#define _GNU_SOURCE /* memmem */
#include <check.h>
#include <string.h>

#include "cairn/seal.h"
#include "../unit.h"

static const char msg[] = "{\"password\":\"hunter2\"}";

START_TEST(test_seal_opens_with_its_pair_only)
{
        struct cairn_seal_keys *a = cairn_seal_keys_new(), *b = cairn_seal_keys_new();
        uint8_t box[sizeof(msg) + CAIRN_SEAL_OVERHEAD], out[sizeof(msg)];

        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(cairn_seal(a->pk, msg, sizeof(msg), box), 0);
        ck_assert_ptr_null(memmem(box, sizeof(box), "hunter2", 7));
        ck_assert_int_eq(cairn_seal_open(b, box, sizeof(box), out), -1);
        ck_assert_int_eq(cairn_seal_open(a, box, sizeof(box), out), 0);
        ck_assert_mem_eq(out, msg, sizeof(msg));
        cairn_seal_keys_free(a);
        cairn_seal_keys_free(b);
}
END_TEST

START_TEST(test_seal_refuses_altered_and_short_boxes)
{
        struct cairn_seal_keys *a = cairn_seal_keys_new();
        uint8_t box[sizeof(msg) + CAIRN_SEAL_OVERHEAD], out[sizeof(msg)];

        ck_assert_int_eq(cairn_seal(a->pk, msg, sizeof(msg), box), 0);
        for (size_t i = 0; i < sizeof(box); i += 7) {
                box[i] ^= 1;
                ck_assert_int_eq(cairn_seal_open(a, box, sizeof(box), out), -1);
                box[i] ^= 1;
        }
        ck_assert_int_eq(cairn_seal_open(a, box, sizeof(box) - 1, out), -1);
        ck_assert_int_eq(cairn_seal_open(a, box, CAIRN_SEAL_OVERHEAD - 1, out), -1);
        ck_assert_int_eq(cairn_seal_open(a, box, sizeof(box), out), 0);
        cairn_seal_keys_free(a);
}
END_TEST

START_TEST(test_seal_seed_gives_the_same_pair)
{
        uint8_t seed[CAIRN_SEAL_KEY_BYTES] = { 1, 2, 3 };
        struct cairn_seal_keys *a = cairn_seal_keys_from_seed(seed);
        struct cairn_seal_keys *b = cairn_seal_keys_from_seed(seed);
        uint8_t box[sizeof(msg) + CAIRN_SEAL_OVERHEAD], out[sizeof(msg)];

        ck_assert_mem_eq(a->pk, b->pk, CAIRN_SEAL_KEY_BYTES);
        seed[0] = 9;
        struct cairn_seal_keys *c = cairn_seal_keys_from_seed(seed);
        ck_assert_int_ne(memcmp(a->pk, c->pk, CAIRN_SEAL_KEY_BYTES), 0);
        ck_assert_int_eq(cairn_seal(a->pk, msg, sizeof(msg), box), 0);
        ck_assert_int_eq(cairn_seal_open(b, box, sizeof(box), out), 0);
        ck_assert_int_eq(cairn_seal_open(c, box, sizeof(box), out), -1);
        cairn_seal_keys_free(a);
        cairn_seal_keys_free(b);
        cairn_seal_keys_free(c);
        cairn_seal_keys_free(NULL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("seal");
        TCase *tc = tcase_create("cairn_seal");

        tcase_add_test(tc, test_seal_opens_with_its_pair_only);
        tcase_add_test(tc, test_seal_refuses_altered_and_short_boxes);
        tcase_add_test(tc, test_seal_seed_gives_the_same_pair);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

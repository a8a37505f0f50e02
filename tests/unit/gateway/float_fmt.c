/* Unit tests for gw_float_format(): the text printf("%.9g") gives, and it
 * reads back as the same float, over special values, every power of two and
 * of ten a float32 can hold, and a million random bit patterns. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

#include "gateway/float_fmt.h"
#include "../unit.h"

/* Returns false (with a message) when @p v's text differs from printf's or
 * does not read back as @p v. */
static bool check_one(float v, char *why, size_t why_size)
{
        char got[GW_FLOAT_MAX], want[64];
        size_t n = gw_float_format(v, got);

        snprintf(want, sizeof(want), "%.9g", (double)v);
        if (n != strlen(got) || n >= GW_FLOAT_MAX) {
                snprintf(why, why_size, "%a: length %zu of \"%s\"", (double)v, n, got);
                return false;
        }
        if (strcmp(got, want) != 0) {
                snprintf(why, why_size, "%a: \"%s\", printf says \"%s\"", (double)v, got, want);
                return false;
        }
        float back = strtof(got, NULL);
        if (memcmp(&back, &v, sizeof(v)) != 0) {
                snprintf(why, why_size, "%a: \"%s\" reads back as %a", (double)v, got,
                         (double)back);
                return false;
        }
        return true;
}

#define CHECK(v)                                                               \
        do {                                                                   \
                char why_[160];                                                \
                ck_assert_msg(check_one((v), why_, sizeof(why_)), "%s", why_); \
        } while (0)

START_TEST(test_gw_float_format_special_values)
{
        char out[GW_FLOAT_MAX];

        ck_assert_uint_eq(gw_float_format(NAN, out), 4);
        ck_assert_str_eq(out, "null");
        gw_float_format(-INFINITY, out);
        ck_assert_str_eq(out, "null");
        CHECK(0.0f);
        CHECK(-0.0f);
        CHECK(1.0f);
        CHECK(-1.0f);
        CHECK(0.1f);
        CHECK(123456789.0f);
        CHECK(999999999.0f);
        CHECK(0.0001f);
        CHECK(0.00001f);
        CHECK(16777.21875f); /* a tie at the ninth digit, exact in double */
        CHECK(3.40282347e38f);
        CHECK(1.17549435e-38f);
        CHECK(1.4e-45f);
        CHECK(-2.5e-3f);
}
END_TEST

START_TEST(test_gw_float_format_powers)
{
        for (int e = -149; e <= 127; e++) {
                CHECK(ldexpf(1.0f, e));
                CHECK(nextafterf(ldexpf(1.0f, e), 0));
                CHECK(nextafterf(ldexpf(1.0f, e), INFINITY));
        }
        for (int e = -45; e <= 38; e++) {
                float p = strtof("1", NULL) * powf(10.0f, (float)e);
                if (isfinite(p) && p != 0) {
                        CHECK(p);
                        CHECK(nextafterf(p, 0));
                        CHECK(nextafterf(p, INFINITY));
                }
        }
}
END_TEST

START_TEST(test_gw_float_format_random_bits)
{
        uint64_t x = 0x9e3779b97f4a7c15ull;

        for (int i = 0; i < 1000000; i++) {
                x ^= x << 13; /* xorshift64: a fixed sequence, so any failure repeats */
                x ^= x >> 7;
                x ^= x << 17;
                uint32_t bits = (uint32_t)(x >> 32);
                float v;

                memcpy(&v, &bits, sizeof(v));
                if (!isfinite(v))
                        continue;
                CHECK(v);
        }
}
END_TEST

int main(void)
{
        Suite *s = suite_create("float_fmt");
        TCase *tc = tcase_create("gw_float_format");

        tcase_add_test(tc, test_gw_float_format_special_values);
        tcase_add_test(tc, test_gw_float_format_powers);
        tcase_add_test(tc, test_gw_float_format_random_bits);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

/* Unit tests for comma-separated lists: splitting, trimming, empty members
 * and lists that are not NUL-terminated. */
#include <check.h>
#include <string.h>

#include "cairn/strlist.h"
#include "../unit.h"

/* The members of @p s joined by '|', for comparing in one assertion. */
static const char *members(const char *s, size_t len)
{
        static char out[256];
        struct cairn_strlist it;
        const char *m;
        size_t n, used = 0;
        bool first = true;

        out[0] = '\0';
        cairn_strlist_init(&it, s, len);
        while (cairn_strlist_next(&it, &m, &n)) {
                ck_assert_uint_lt(used + n + 2, sizeof(out));
                if (!first)
                        out[used++] = '|';
                memcpy(out + used, m, n);
                used += n;
                out[used] = '\0';
                first = false;
        }
        return out;
}

static const char *all(const char *s)
{
        return members(s, strlen(s));
}

START_TEST(test_cairn_strlist_init_null_is_empty)
{
        struct cairn_strlist it;
        const char *m;
        size_t n;

        cairn_strlist_init(&it, NULL, 5);
        ck_assert(!cairn_strlist_next(&it, &m, &n));
}
END_TEST

START_TEST(test_cairn_strlist_next_splits_and_trims)
{
        ck_assert_str_eq(all("a"), "a");
        ck_assert_str_eq(all("a,b,c"), "a|b|c");
        ck_assert_str_eq(all(" a , b\t,\tc d "), "a|b|c d");
        ck_assert_str_eq(all("https://a.example, https://b.example"),
                         "https://a.example|https://b.example");
}
END_TEST

START_TEST(test_cairn_strlist_next_empty_members)
{
        struct cairn_strlist it;
        const char *m;
        size_t n;

        cairn_strlist_init(&it, "", 0);
        ck_assert(!cairn_strlist_next(&it, &m, &n));

        /* an empty member is returned, for the caller to judge */
        cairn_strlist_init(&it, "a,,b", 4);
        ck_assert(cairn_strlist_next(&it, &m, &n));
        ck_assert_uint_eq(n, 1);
        ck_assert(cairn_strlist_next(&it, &m, &n));
        ck_assert_uint_eq(n, 0);
        ck_assert(cairn_strlist_next(&it, &m, &n));
        ck_assert(strncmp(m, "b", n) == 0 && n == 1);
        ck_assert(!cairn_strlist_next(&it, &m, &n));

        ck_assert_str_eq(all(" "), "");
        ck_assert_str_eq(all(",a"), "|a");
        ck_assert_str_eq(all("a, "), "a|");
        /* a comma at the very end adds no member */
        ck_assert_str_eq(all("a,"), "a");
        ck_assert_str_eq(all("a,,"), "a|");
}
END_TEST

START_TEST(test_cairn_strlist_next_stops_at_len)
{
        const char text[] = "x, y,z";

        ck_assert_str_eq(members(text, 4), "x|y");
        ck_assert_str_eq(members(text, 2), "x");
        ck_assert_str_eq(members(text, 0), "");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("strlist");
        TCase *tc = tcase_create("cairn_strlist_init");

        tcase_add_test(tc, test_cairn_strlist_init_null_is_empty);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_strlist_next");
        tcase_add_test(tc, test_cairn_strlist_next_splits_and_trims);
        tcase_add_test(tc, test_cairn_strlist_next_empty_members);
        tcase_add_test(tc, test_cairn_strlist_next_stops_at_len);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

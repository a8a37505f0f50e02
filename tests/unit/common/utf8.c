/* Unit tests for the UTF-8 validator, with the classic malformed cases. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/utf8.h"
#include "../unit.h"

static bool valid(const char *s)
{
        return cairn_utf8_valid(s, strlen(s));
}

START_TEST(test_cairn_utf8_valid_accepts_well_formed)
{
        ck_assert(valid(""));
        ck_assert(valid("plain ascii text that is longer than eight bytes"));
        ck_assert(valid("caf\xc3\xa9"));      /* é */
        ck_assert(valid("\xe2\x82\xac"));     /* € */
        ck_assert(valid("\xf0\x9f\x98\x80")); /* 😀 */
        ck_assert(valid("\xef\xbf\xbf"));     /* U+FFFF */
        ck_assert(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
        ck_assert(valid("mixed \xc3\xa9t\xc3\xa9 and \xe6\x97\xa5\xe6\x9c\xac"));
        ck_assert(cairn_utf8_valid("a\0b", 3)); /* NUL is a valid code point */
}
END_TEST

START_TEST(test_cairn_utf8_valid_rejects_malformed)
{
        ck_assert(!valid("\x80"));             /* lone continuation */
        ck_assert(!valid("\xc3"));             /* truncated */
        ck_assert(!valid("abcdefgh\xc3"));     /* truncated after a fast run */
        ck_assert(!valid("\xc0\xaf"));         /* overlong / */
        ck_assert(!valid("\xc1\xbf"));         /* overlong */
        ck_assert(!valid("\xe0\x80\xaf"));     /* overlong 3-byte */
        ck_assert(!valid("\xf0\x80\x80\xaf")); /* overlong 4-byte */
        ck_assert(!valid("\xed\xa0\x80"));     /* surrogate U+D800 */
        ck_assert(!valid("\xed\xbf\xbf"));     /* surrogate U+DFFF */
        ck_assert(!valid("\xf4\x90\x80\x80")); /* U+110000 */
        ck_assert(!valid("\xf5\x80\x80\x80"));
        ck_assert(!valid("\xff"));
        ck_assert(!valid("\xe2\x82"));     /* truncated € */
        ck_assert(!valid("\xe2\x28\xa1")); /* bad continuation */
}
END_TEST

int main(void)
{
        Suite *s = suite_create("utf8");
        TCase *tc = tcase_create("cairn_utf8_valid");

        tcase_add_test(tc, test_cairn_utf8_valid_accepts_well_formed);
        tcase_add_test(tc, test_cairn_utf8_valid_rejects_malformed);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

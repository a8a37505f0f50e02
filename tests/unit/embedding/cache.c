/* Unit tests for the cache's keys and its behaviour without Redis. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "embedding/cache.h"
#include "../unit.h"

START_TEST(test_embed_cache_key_shape_and_determinism)
{
        char a[EMBED_CACHE_KEY_LEN], b[EMBED_CACHE_KEY_LEN];

        embed_cache_key("openai", "text-embedding-3-small", 1536, "hello", 5, a);
        embed_cache_key("openai", "text-embedding-3-small", 1536, "hello", 5, b);
        ck_assert_str_eq(a, b);
        ck_assert_uint_eq(strlen(a), EMBED_CACHE_KEY_LEN - 1);
        ck_assert_int_eq(strncmp(a, "cairn:emb:v1:", 13), 0);
        for (size_t i = 13; a[i]; i++)
                ck_assert_msg(strchr("0123456789abcdef", a[i]) != NULL, "%s", a);
}
END_TEST

START_TEST(test_embed_cache_key_every_field_counts)
{
        char base[EMBED_CACHE_KEY_LEN], k[EMBED_CACHE_KEY_LEN];

        embed_cache_key("openai", "m", 384, "hello", 5, base);
        embed_cache_key("lexical", "m", 384, "hello", 5, k);
        ck_assert_str_ne(base, k);
        embed_cache_key("openai", "m2", 384, "hello", 5, k);
        ck_assert_str_ne(base, k);
        embed_cache_key("openai", "m", 256, "hello", 5, k);
        ck_assert_str_ne(base, k);
        embed_cache_key("openai", "m", 384, "hellp", 5, k);
        ck_assert_str_ne(base, k);
        /* only the given length of the text counts */
        embed_cache_key("openai", "m", 384, "hello world", 5, k);
        ck_assert_str_eq(base, k);
        /* fields do not run into each other */
        embed_cache_key("openai", "mx", 384, "y", 1, base);
        embed_cache_key("openai", "m", 384, "xy", 2, k);
        ck_assert_str_ne(base, k);
}
END_TEST

START_TEST(test_embed_cache_without_redis_misses_quietly)
{
        struct embed_cache c;
        char keys[2][EMBED_CACHE_KEY_LEN];
        float out[8] = { 0 };
        bool found[2] = { true, true }, store[2] = { true, true };

        embed_cache_init(&c, NULL, 60, 65536, NULL);
        embed_cache_key("openai", "m", 4, "a", 1, keys[0]);
        embed_cache_key("openai", "m", 4, "b", 1, keys[1]);
        ck_assert_uint_eq(embed_cache_get(&c, "m", keys, 2, 4, out, found), 0);
        ck_assert(!found[0] && !found[1]);
        embed_cache_put(&c, "m", keys, 2, 4, out, store);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("cache");
        TCase *tc = tcase_create("embed_cache_key");

        tcase_add_test(tc, test_embed_cache_key_shape_and_determinism);
        tcase_add_test(tc, test_embed_cache_key_every_field_counts);
        suite_add_tcase(s, tc);
        tc = tcase_create("embed_cache_get");
        tcase_add_test(tc, test_embed_cache_without_redis_misses_quietly);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

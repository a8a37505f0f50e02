/* The cache of verified JWTs: hits only for the very same token, time claims
 * checked on every use, bounded by its slots, off at 0. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/jwt_cache.h"
#include "../unit.h"

#define NOW 1900000000LL

static struct gw_principal principal(const char *sub, const char *tenant)
{
        struct gw_principal p;

        memset(&p, 0, sizeof(p));
        strcpy(p.principal, sub);
        strcpy(p.tenant, tenant);
        p.role = GW_ROLE_MEMBER;
        p.is_jwt = true;
        return p;
}

static const struct gw_jwt_times until_now_plus_300 = { .has_exp = true, .exp = NOW + 300 };

START_TEST(test_gw_jwt_cache_hit_gives_the_principal)
{
        struct gw_jwt_cache *c = gw_jwt_cache_new(16);
        struct gw_principal alice = principal("alice", "acme"), got;
        const char *tok = "aaa.bbb.ccc";

        ck_assert(!gw_jwt_cache_get(c, tok, strlen(tok), NOW, 60, &got));
        gw_jwt_cache_put(c, tok, strlen(tok), &alice, &until_now_plus_300);
        memset(&got, 0, sizeof(got));
        ck_assert(gw_jwt_cache_get(c, tok, strlen(tok), NOW, 60, &got));
        ck_assert_str_eq(got.principal, "alice");
        ck_assert_str_eq(got.tenant, "acme");
        ck_assert_int_eq(got.role, GW_ROLE_MEMBER);
        ck_assert(got.is_jwt);
        gw_jwt_cache_free(c);
}
END_TEST

START_TEST(test_gw_jwt_cache_only_the_same_token)
{
        struct gw_jwt_cache *c = gw_jwt_cache_new(16);
        struct gw_principal alice = principal("alice", "acme"), got;
        const char *tok = "aaa.bbb.ccc";

        gw_jwt_cache_put(c, tok, strlen(tok), &alice, &until_now_plus_300);
        /* Another signature, a prefix, a longer token: all misses. */
        ck_assert(!gw_jwt_cache_get(c, "aaa.bbb.ccd", 11, NOW, 60, &got));
        ck_assert(!gw_jwt_cache_get(c, tok, strlen(tok) - 1, NOW, 60, &got));
        ck_assert(!gw_jwt_cache_get(c, "aaa.bbb.cccc", 12, NOW, 60, &got));
        ck_assert(gw_jwt_cache_get(c, tok, strlen(tok), NOW, 60, &got));
        gw_jwt_cache_free(c);
}
END_TEST

START_TEST(test_gw_jwt_cache_time_claims_checked_on_use)
{
        struct gw_jwt_cache *c = gw_jwt_cache_new(16);
        struct gw_principal alice = principal("alice", "acme"), got;
        const struct gw_jwt_times window = {
                .has_exp = true, .exp = NOW + 300, .has_nbf = true, .nbf = NOW - 10
        };
        const char *tok = "aaa.bbb.ccc";

        gw_jwt_cache_put(c, tok, strlen(tok), &alice, &window);
        ck_assert(gw_jwt_cache_get(c, tok, strlen(tok), NOW + 300 + 60, 60, &got)); /* skew */
        /* A clock stepped back before nbf - skew: not served, and dropped. */
        ck_assert(!gw_jwt_cache_get(c, tok, strlen(tok), NOW - 10 - 61, 60, &got));
        ck_assert(!gw_jwt_cache_get(c, tok, strlen(tok), NOW, 60, &got));
        /* Past exp + skew: not served, and dropped. */
        gw_jwt_cache_put(c, tok, strlen(tok), &alice, &window);
        ck_assert(!gw_jwt_cache_get(c, tok, strlen(tok), NOW + 300 + 61, 60, &got));
        ck_assert(!gw_jwt_cache_get(c, tok, strlen(tok), NOW, 60, &got));
        gw_jwt_cache_free(c);
}
END_TEST

START_TEST(test_gw_jwt_cache_bounded_by_slots)
{
        struct gw_jwt_cache *c = gw_jwt_cache_new(1);
        struct gw_principal alice = principal("alice", "acme"), bob = principal("bob", "acme"), got;

        gw_jwt_cache_put(c, "token-a", 7, &alice, &until_now_plus_300);
        gw_jwt_cache_put(c, "token-b", 7, &bob, &until_now_plus_300);
        /* One slot: b took it from a. */
        ck_assert(!gw_jwt_cache_get(c, "token-a", 7, NOW, 60, &got));
        ck_assert(gw_jwt_cache_get(c, "token-b", 7, NOW, 60, &got));
        ck_assert_str_eq(got.principal, "bob");
        /* Many tokens through a small cache: never a wrong principal. */
        gw_jwt_cache_free(c);
        c = gw_jwt_cache_new(8);
        for (int i = 0; i < 1000; i++) {
                char tok[32], sub[32];
                struct gw_principal p;

                snprintf(tok, sizeof(tok), "tok-%d", i);
                snprintf(sub, sizeof(sub), "user-%d", i);
                p = principal(sub, "acme");
                gw_jwt_cache_put(c, tok, strlen(tok), &p, &until_now_plus_300);
        }
        for (int i = 0; i < 1000; i++) {
                char tok[32], sub[32];

                snprintf(tok, sizeof(tok), "tok-%d", i);
                snprintf(sub, sizeof(sub), "user-%d", i);
                if (gw_jwt_cache_get(c, tok, strlen(tok), NOW, 60, &got))
                        ck_assert_str_eq(got.principal, sub);
        }
        gw_jwt_cache_free(c);
}
END_TEST

START_TEST(test_gw_jwt_cache_off_at_zero)
{
        struct gw_jwt_cache *c = gw_jwt_cache_new(0);
        struct gw_principal alice = principal("alice", "acme"), got;

        ck_assert_ptr_null(c);
        gw_jwt_cache_put(c, "token-a", 7, &alice, &until_now_plus_300);
        ck_assert(!gw_jwt_cache_get(c, "token-a", 7, NOW, 60, &got));
        gw_jwt_cache_free(c);
}
END_TEST

static Suite *jwt_cache_suite(void)
{
        Suite *s = suite_create("gateway_jwt_cache");
        TCase *tc = tcase_create("gw_jwt_cache");

        tcase_add_test(tc, test_gw_jwt_cache_hit_gives_the_principal);
        tcase_add_test(tc, test_gw_jwt_cache_only_the_same_token);
        tcase_add_test(tc, test_gw_jwt_cache_time_claims_checked_on_use);
        tcase_add_test(tc, test_gw_jwt_cache_bounded_by_slots);
        tcase_add_test(tc, test_gw_jwt_cache_off_at_zero);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(jwt_cache_suite());
}

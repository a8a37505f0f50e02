/* Unit tests for path policies and paths: globs, the most specific glob
 * deciding, deny, the role defaults, policy checks, path rules. */
#include <check.h>
#include <string.h>

#include "../unit.h"
#include "secrets/paths.h"
#include "secrets/policy.h"

static Cairn__Secrets__V1__PolicyRule rule(const char *glob, char **caps, size_t n)
{
        Cairn__Secrets__V1__PolicyRule r = CAIRN__SECRETS__V1__POLICY_RULE__INIT;

        r.path = (char *)glob;
        r.capabilities = caps;
        r.n_capabilities = n;
        return r;
}

START_TEST(test_glob_match)
{
        ck_assert(secrets_glob_match("app/*", "app/db", "x"));
        ck_assert(secrets_glob_match("app/*", "app/db/main", "x"));
        ck_assert(secrets_glob_match("app*", "apple", "x"));
        ck_assert(!secrets_glob_match("app/*", "ap/db", "x"));
        ck_assert(secrets_glob_match("app/+/db", "app/eu/db", "x"));
        ck_assert(!secrets_glob_match("app/+/db", "app/eu/west/db", "x"));
        ck_assert(!secrets_glob_match("app/+/db", "app//db", "x"));
        ck_assert(secrets_glob_match("app/db", "app/db", "x"));
        ck_assert(!secrets_glob_match("app/db", "app/db2", "x"));
        ck_assert(secrets_glob_match("*", "", "x"));
        ck_assert(secrets_glob_match("services/{{principal}}/*", "services/embedding/openai",
                                     "embedding"));
        ck_assert(!secrets_glob_match("services/{{principal}}/*", "services/memory/openai",
                                      "embedding"));
        /* a principal cannot widen a glob */
        ck_assert(!secrets_glob_match("services/{{principal}}/*", "services/a/b/x", "a/b"));
        ck_assert(!secrets_glob_match("services/{{principal}}/*", "services/x/y", "+"));
        ck_assert(!secrets_glob_match("s/{{principal}}/k", "s/a+/k", "a"));
        ck_assert(secrets_glob_match("s/{{principal}}/k", "s/a+/k", "a+"));
}
END_TEST

START_TEST(test_defaults_by_role)
{
        const char *p = "app/db";

        ck_assert_uint_eq(secrets_policy_caps(NULL, 0, "owner", "o", p) & SECRETS_CAP_DESTROY,
                          SECRETS_CAP_DESTROY);
        ck_assert_uint_eq(secrets_policy_caps(NULL, 0, "member", "m", p) & SECRETS_CAP_DESTROY, 0);
        ck_assert(secrets_policy_caps(NULL, 0, "member", "m", p) & SECRETS_CAP_READ);
        ck_assert_uint_eq(secrets_policy_caps(NULL, 0, "viewer", "v", p), SECRETS_CAP_LIST);
        ck_assert_uint_eq(secrets_policy_caps(NULL, 0, "service", "embedding", p), 0);
        ck_assert(
                secrets_policy_caps(NULL, 0, "service", "embedding", "services/embedding/openai") &
                SECRETS_CAP_READ);
        ck_assert_uint_eq(secrets_policy_caps(NULL, 0, "nobody", "n", p), 0);
}
END_TEST

START_TEST(test_most_specific_glob_decides)
{
        char *rw[] = { "read", "update" }, *deny[] = { "deny" }, *list[] = { "list" };
        char *role[] = { "viewer" }, *who[] = { "bob" };
        Cairn__Secrets__V1__PolicyRule r1 = rule("app/*", rw, 2), r2 = rule("app/secret", deny, 1),
                                       r3 = rule("app/+/x", list, 1);
        Cairn__Secrets__V1__PolicyRule *rules[] = { &r1, &r2, &r3 };
        Cairn__Secrets__V1__Policy pol = CAIRN__SECRETS__V1__POLICY__INIT;
        const Cairn__Secrets__V1__Policy *pols[] = { &pol };

        pol.name = "team";
        pol.rules = rules;
        pol.n_rules = 3;
        pol.roles = role;
        pol.n_roles = 1;
        /* viewers get read and update under app/, not list: the more specific glob */
        ck_assert_uint_eq(secrets_policy_caps(pols, 1, "viewer", "v", "app/db"),
                          SECRETS_CAP_READ | SECRETS_CAP_UPDATE);
        /* deny on the exact path wins over everything */
        ck_assert_uint_eq(secrets_policy_caps(pols, 1, "viewer", "v", "app/secret"), 0);
        /* "app/+/x": its first wildcard comes later than the other glob's */
        ck_assert_uint_eq(secrets_policy_caps(pols, 1, "viewer", "v", "app/eu/x"),
                          SECRETS_CAP_LIST);
        /* the default still applies elsewhere */
        ck_assert_uint_eq(secrets_policy_caps(pols, 1, "viewer", "v", "other"), SECRETS_CAP_LIST);
        /* by principal, whatever the role */
        /* cppcheck-suppress redundantAssignment ; read through pols */
        pol.n_roles = 0;
        pol.principals = who;
        pol.n_principals = 1;
        ck_assert_uint_eq(secrets_policy_caps(pols, 1, "viewer", "bob", "app/db"),
                          SECRETS_CAP_READ | SECRETS_CAP_UPDATE);
        ck_assert_uint_eq(secrets_policy_caps(pols, 1, "viewer", "eve", "app/db"),
                          SECRETS_CAP_LIST);
}
END_TEST

START_TEST(test_policy_check)
{
        char *caps[] = { "read" }, *badcap[] = { "sudo" }, *role[] = { "member" };
        char *badrole[] = { "root" };
        Cairn__Secrets__V1__PolicyRule r = rule("app/*", caps, 1);
        Cairn__Secrets__V1__PolicyRule *rules[] = { &r };
        Cairn__Secrets__V1__Policy p = CAIRN__SECRETS__V1__POLICY__INIT;
        char field[64], why[256];

        p.name = "ok-1";
        p.rules = rules;
        p.n_rules = 1;
        p.roles = role;
        p.n_roles = 1;
        ck_assert(secrets_policy_check(&p, 512, field, sizeof(field), why, sizeof(why)));
        p.name = "Bad Name";
        ck_assert(!secrets_policy_check(&p, 512, field, sizeof(field), why, sizeof(why)));
        ck_assert_str_eq(field, "policy.name");
        p.name = "default-owner";
        ck_assert(!secrets_policy_check(&p, 512, field, sizeof(field), why, sizeof(why)));
        p.name = "ok";
        const char *bad_globs[] = { "a*/b", "a+/b", "a/../b", "a//b", "" };
        for (size_t i = 0; i < sizeof(bad_globs) / sizeof(bad_globs[0]); i++) {
                r.path = (char *)bad_globs[i];
                ck_assert_msg(!secrets_policy_check(&p, 512, field, sizeof(field), why,
                                                    sizeof(why)),
                              "%s accepted", bad_globs[i]);
                ck_assert_str_eq(field, "policy.rules[0].path");
        }
        /* cppcheck-suppress redundantAssignment ; read through p */
        r.path = "app/+/db/*";
        ck_assert(secrets_policy_check(&p, 512, field, sizeof(field), why, sizeof(why)));
        r.capabilities = badcap;
        ck_assert(!secrets_policy_check(&p, 512, field, sizeof(field), why, sizeof(why)));
        ck_assert_str_eq(field, "policy.rules[0].capabilities[0]");
        /* cppcheck-suppress redundantAssignment ; read through p */
        r.capabilities = caps;
        p.roles = badrole;
        ck_assert(!secrets_policy_check(&p, 512, field, sizeof(field), why, sizeof(why)));
        ck_assert_str_eq(field, "policy.roles[0]");
        p.n_roles = 0;
        ck_assert(!secrets_policy_check(&p, 512, field, sizeof(field), why, sizeof(why)));
}
END_TEST

START_TEST(test_paths)
{
        char why[160], out[64];

        ck_assert(secrets_path_check("app/db", 512, why, sizeof(why)));
        ck_assert(secrets_path_check("a.b/..c/d..", 512, why, sizeof(why)));
        ck_assert(!secrets_path_check("a/../b", 512, why, sizeof(why)));
        ck_assert_str_eq(why, "path has a '..' segment");
        ck_assert(!secrets_path_check("a\x7f", 512, why, sizeof(why)));
        ck_assert(!secrets_path_check("\xff", 512, why, sizeof(why)));
        ck_assert(!secrets_path_check("abcdef", 5, why, sizeof(why)));
        ck_assert_str_eq(why, "path is 6 bytes, over the limit of 5");
        ck_assert(secrets_folder("", 16, out, why, sizeof(why)));
        ck_assert_str_eq(out, "");
        ck_assert(secrets_folder("app", 16, out, why, sizeof(why)));
        ck_assert_str_eq(out, "app/");
        ck_assert(secrets_folder("app/", 16, out, why, sizeof(why)));
        ck_assert_str_eq(out, "app/");
        ck_assert(!secrets_folder("app//", 16, out, why, sizeof(why)));
        ck_assert(!secrets_folder("../", 16, out, why, sizeof(why)));
        ck_assert(!secrets_folder("01234567890123456789", 16, out, why, sizeof(why)));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secrets_policy");
        TCase *tc = tcase_create("policy");

        tcase_add_test(tc, test_glob_match);
        tcase_add_test(tc, test_defaults_by_role);
        tcase_add_test(tc, test_most_specific_glob_decides);
        tcase_add_test(tc, test_policy_check);
        tcase_add_test(tc, test_paths);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

/* Unit tests for values as JSON: objects only, RFC 7396's merge patch
 * (its appendix's examples), subkeys by depth, and the audit hash chain. */
#include <check.h>
#include <string.h>

#include "cairn/json.h"
#include "../unit.h"
#include "secrets/audit_chain.h"
#include "secrets/vjson.h"

static void merged(const char *target, const char *patch, const char *want)
{
        char why[128];
        json_t *t = secrets_vjson_object(target, strlen(target), why, sizeof(why));
        json_t *p = secrets_vjson_object(patch, strlen(patch), why, sizeof(why));
        json_t *w = json_loads(want, 0, NULL);

        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_nonnull(p);
        secrets_vjson_merge(t, p);
        ck_assert_msg(json_equal(t, w), "%s + %s gave %s, not %s", target, patch,
                      json_dumps(t, JSON_COMPACT), want);
        json_decref(t);
        json_decref(p);
        json_decref(w);
}

START_TEST(test_merge_patch_rfc7396)
{
        merged("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
        merged("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
        merged("{\"a\":\"b\"}", "{\"a\":null}", "{}");
        merged("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
        merged("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
        merged("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
        merged("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
               "{\"a\":{\"b\":\"d\"}}");
        merged("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
        merged("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
        merged("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}
END_TEST

/* Regression (found by the secrets_sealed fuzz target): the merged value
 * shared the patch's strings, so wiping it (as the write does) wiped the
 * patch, and a patch's transaction run again after a serialization failure
 * wrote zeroed strings. */
START_TEST(test_merge_leaves_patch)
{
        char why[128];
        const char *ts = "{\"s\":\"old\",\"o\":{\"p\":\"q\"}}";
        const char *ps = "{\"s\":\"new\",\"o\":{\"p\":\"r\"},\"n\":[\"x\"]}";
        json_t *t = secrets_vjson_object(ts, strlen(ts), why, sizeof(why));
        json_t *p = secrets_vjson_object(ps, strlen(ps), why, sizeof(why));
        json_t *kept = json_deep_copy(p);

        secrets_vjson_merge(t, p);
        cairn_json_wipe(t);
        ck_assert(json_equal(p, kept));
        json_decref(t);
        json_decref(p);
        json_decref(kept);
}
END_TEST

START_TEST(test_objects_only)
{
        char why[128];

        ck_assert_ptr_null(secrets_vjson_object("[1]", 3, why, sizeof(why)));
        ck_assert_str_eq(why, "the value must be a JSON object");
        ck_assert_ptr_null(secrets_vjson_object("{\"a\":", 5, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "not JSON"));
        ck_assert_ptr_null(strstr(why, "\"a\"")); /* never the text */
        ck_assert_ptr_null(secrets_vjson_object("{\"a\":1,\"a\":2}", 13, why, sizeof(why)));
}
END_TEST

START_TEST(test_subkeys_by_depth)
{
        char why[128];
        const char *v = "{\"a\":1,\"b\":{\"c\":\"x\",\"d\":{\"e\":[1]}}}";
        json_t *o = secrets_vjson_object(v, strlen(v), why, sizeof(why));
        json_t *all = secrets_vjson_subkeys(o, 0), *one = secrets_vjson_subkeys(o, 1);
        json_t *want_all = json_loads("{\"a\":null,\"b\":{\"c\":null,\"d\":{\"e\":null}}}", 0,
                                      NULL);
        json_t *want_one = json_loads("{\"a\":null,\"b\":null}", 0, NULL);

        ck_assert(json_equal(all, want_all));
        ck_assert(json_equal(one, want_one));
        json_decref(o);
        json_decref(all);
        json_decref(one);
        json_decref(want_all);
        json_decref(want_one);
}
END_TEST

START_TEST(test_audit_hash_covers_every_field)
{
        uint8_t zero[SECRETS_AUDIT_HASH_BYTES] = { 0 }, h1[32], h2[32];
        struct secrets_audit_row r = {
                1, 1700000000000000, "t1", "alice", "owner", "read", "a/b", 2, "ok", 0, "id", "rq"
        };
        struct secrets_audit_row s;

        secrets_audit_hash(zero, &r, h1);
        secrets_audit_hash(zero, &r, h2);
        ck_assert_mem_eq(h1, h2, 32);
        /* moving a byte between two fields changes the hash */
        s = r;
        s.tenant = "t1a";
        s.principal = "lice";
        secrets_audit_hash(zero, &s, h2);
        ck_assert_int_ne(memcmp(h1, h2, 32), 0);
        s = r;
        s.version = 3;
        secrets_audit_hash(zero, &s, h2);
        ck_assert_int_ne(memcmp(h1, h2, 32), 0);
        s = r;
        s.code = 7;
        secrets_audit_hash(zero, &s, h2);
        ck_assert_int_ne(memcmp(h1, h2, 32), 0);
        secrets_audit_hash(h1, &r, h2); /* another predecessor */
        ck_assert_int_ne(memcmp(h1, h2, 32), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secrets_vjson");
        TCase *tc = tcase_create("vjson");

        tcase_add_test(tc, test_merge_patch_rfc7396);
        tcase_add_test(tc, test_merge_leaves_patch);
        tcase_add_test(tc, test_objects_only);
        tcase_add_test(tc, test_subkeys_by_depth);
        tcase_add_test(tc, test_audit_hash_covers_every_field);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

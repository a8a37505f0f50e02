/* Unit tests for a secret's value as JSON: objects only, the merge patch of
 * RFC 7396, subkeys. */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "../unit.h"
#include "secrets/vjson.h"

static json_t *obj(const char *text)
{
        char why[160];
        json_t *v = secrets_vjson_object(text, strlen(text), why, sizeof(why));

        ck_assert_msg(v != NULL, "%s: %s", text, why);
        return v;
}

static void merged_is(const char *target, const char *patch, const char *want)
{
        json_t *t = obj(target), *p = obj(patch), *w = obj(want);

        secrets_vjson_merge(t, p);
        ck_assert_msg(json_equal(t, w), "%s + %s", target, patch);
        json_decref(t);
        json_decref(p);
        json_decref(w);
}

START_TEST(test_secrets_vjson_object_only_objects)
{
        char why[160];

        ck_assert_ptr_null(secrets_vjson_object("[1]", 3, why, sizeof(why)));
        ck_assert_str_eq(why, "the value must be a JSON object");
        ck_assert_ptr_null(secrets_vjson_object("{\"pw\":", 6, why, sizeof(why)));
        ck_assert_ptr_null(strstr(why, "pw"));
        ck_assert_ptr_null(secrets_vjson_object("{\"a\":1,\"a\":2}", 13, why, sizeof(why)));
}
END_TEST

START_TEST(test_secrets_vjson_merge_rfc7396)
{
        merged_is("{\"a\":1,\"b\":{\"c\":2,\"d\":3}}", "{\"a\":null,\"b\":{\"c\":null,\"e\":4}}",
                  "{\"b\":{\"d\":3,\"e\":4}}");
        merged_is("{\"a\":{\"b\":1}}", "{\"a\":\"flat\"}", "{\"a\":\"flat\"}");
        merged_is("{\"a\":\"flat\"}", "{\"a\":{\"b\":null,\"c\":1}}", "{\"a\":{\"c\":1}}");
        merged_is("{\"a\":[1,2]}", "{\"a\":[3]}", "{\"a\":[3]}");
}
END_TEST

/* Regression (found by the secrets_sealed fuzz target): the merged value
 * shared the patch's strings, so wiping it (as the write does) wiped the
 * patch, and a patch's transaction run again after a serialization failure
 * wrote zeroed strings. */
START_TEST(test_secrets_vjson_merge_leaves_patch)
{
        json_t *t = obj("{\"s\":\"old\",\"o\":{\"p\":\"q\"}}");
        json_t *p = obj("{\"s\":\"new\",\"o\":{\"p\":\"r\"},\"n\":[\"x\"]}");
        json_t *kept = json_deep_copy(p);

        secrets_vjson_merge(t, p);
        secrets_vjson_wipe(t);
        ck_assert(json_equal(p, kept));
        json_decref(t);
        json_decref(p);
        json_decref(kept);
}
END_TEST

START_TEST(test_secrets_vjson_subkeys)
{
        json_t *v = obj("{\"a\":{\"b\":{\"c\":1}},\"d\":[1],\"e\":\"x\"}");
        json_t *all = secrets_vjson_subkeys(v, 0), *one = secrets_vjson_subkeys(v, 1);
        json_t *want_all = obj("{\"a\":{\"b\":{\"c\":null}},\"d\":null,\"e\":null}");
        json_t *want_one = obj("{\"a\":null,\"d\":null,\"e\":null}");

        ck_assert(json_equal(all, want_all));
        ck_assert(json_equal(one, want_one));
        json_decref(v);
        json_decref(all);
        json_decref(one);
        json_decref(want_all);
        json_decref(want_one);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secrets_vjson");
        TCase *tc = tcase_create("vjson");

        tcase_add_test(tc, test_secrets_vjson_object_only_objects);
        tcase_add_test(tc, test_secrets_vjson_merge_rfc7396);
        tcase_add_test(tc, test_secrets_vjson_merge_leaves_patch);
        tcase_add_test(tc, test_secrets_vjson_subkeys);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

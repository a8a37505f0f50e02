/* Unit tests for the OpenAI wire format: base64, the response parser and
 * the request body (error bodies and Retry-After: tests/unit/common/http_client.c). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embedding/openai_wire.h"
#include "../unit.h"

static struct cairn_status st;

/* ---- wire_base64_decode ---- */

static int decode(const char *in, char *out, size_t size, size_t *n)
{
        return wire_base64_decode(in, strlen(in), (uint8_t *)out, size, n);
}

START_TEST(test_wire_base64_decode_known_values)
{
        char out[16];
        size_t n = 99;

        ck_assert_int_eq(decode("", out, sizeof(out), &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(decode("Zg==", out, sizeof(out), &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(memcmp(out, "f", 1), 0);
        ck_assert_int_eq(decode("Zm8=", out, sizeof(out), &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(memcmp(out, "fo", 2), 0);
        ck_assert_int_eq(decode("Zm9vYmFy", out, sizeof(out), &n), 0);
        ck_assert_uint_eq(n, 6);
        ck_assert_int_eq(memcmp(out, "foobar", 6), 0);
        ck_assert_int_eq(decode("+/+/", out, sizeof(out), &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq((unsigned char)out[0], 0xfb);
}
END_TEST

START_TEST(test_wire_base64_decode_unpadded)
{
        char out[16];
        size_t n;

        ck_assert_int_eq(decode("Zg", out, sizeof(out), &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(decode("Zm8", out, sizeof(out), &n), 0);
        ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_wire_base64_decode_rejects_garbage)
{
        char out[16];
        size_t n;

        ck_assert_int_eq(decode("Zm9v!", out, sizeof(out), &n), -1);
        ck_assert_int_eq(decode("Z", out, sizeof(out), &n), -1); /* 6 bits */
        ck_assert_int_eq(decode("Zg===", out, sizeof(out), &n), -1);
        ck_assert_int_eq(decode("Zg=", out, sizeof(out), &n), -1);  /* half padding */
        ck_assert_int_eq(decode("Z=g=", out, sizeof(out), &n), -1); /* padding inside */
        ck_assert_int_eq(decode("Zh==", out, sizeof(out), &n), -1); /* non-zero leftover */
        ck_assert_int_eq(decode("Zm9v YmFy", out, sizeof(out), &n), -1);
        ck_assert_int_eq(decode("Zm9vYmFy", out, 5, &n), -1); /* does not fit */
}
END_TEST

/* ---- wire_response_parse ---- */

static cairn_err_t parse(const char *body, size_t n, size_t dim, float *out, uint64_t *tokens)
{
        cairn_status_clear(&st);
        return wire_response_parse(body, strlen(body), n, dim, out, tokens, &st);
}

START_TEST(test_wire_response_parse_float_arrays_by_index)
{
        const char *body = "{\"object\":\"list\",\"data\":["
                           "{\"object\":\"embedding\",\"index\":1,\"embedding\":[3,4]},"
                           "{\"object\":\"embedding\",\"index\":0,\"embedding\":[1.5,-2]}],"
                           "\"model\":\"m\",\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}";
        float out[4];
        uint64_t tokens = 0;

        ck_assert_int_eq(parse(body, 2, 2, out, &tokens), CAIRN_OK);
        ck_assert_float_eq(out[0], 1.5f);
        ck_assert_float_eq(out[1], -2.0f);
        ck_assert_float_eq(out[2], 3.0f);
        ck_assert_float_eq(out[3], 4.0f);
        ck_assert_uint_eq(tokens, 7);
}
END_TEST

START_TEST(test_wire_response_parse_base64_little_endian)
{
        /* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 */
        const char *body = "{\"data\":[{\"index\":0,\"embedding\":\"AACAPwAAAMA=\"}]}";
        float out[2];
        uint64_t tokens = 9;

        ck_assert_int_eq(parse(body, 1, 2, out, &tokens), CAIRN_OK);
        ck_assert_float_eq(out[0], 1.0f);
        ck_assert_float_eq(out[1], -2.0f);
        ck_assert_uint_eq(tokens, 0);
}
END_TEST

static void assert_bad(const char *body, size_t n, size_t dim, const char *reason,
                       const char *needle)
{
        float out[8];
        uint64_t tokens;

        ck_assert_int_eq(parse(body, n, dim, out, &tokens), CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, reason);
        ck_assert_msg(strstr(st.message, needle) != NULL, "message \"%s\" lacks \"%s\"", st.message,
                      needle);
}

START_TEST(test_wire_response_parse_wrong_dimensions)
{
        assert_bad("{\"data\":[{\"index\":0,\"embedding\":[1,2,3]}]}", 1, 2,
                   "UPSTREAM_WRONG_DIMENSIONS", "3 dimensions");
        assert_bad("{\"data\":[{\"index\":0,\"embedding\":\"AACAPw==\"}]}", 1, 2,
                   "UPSTREAM_WRONG_DIMENSIONS", "1 dimensions");
}
END_TEST

START_TEST(test_wire_response_parse_malformed)
{
        assert_bad("{\"data\":[{\"embedding\":[0.1,", 1, 2, "UPSTREAM_BAD_RESPONSE", "not JSON");
        assert_bad("[]", 1, 2, "UPSTREAM_BAD_RESPONSE", "no \"data\"");
        assert_bad("{\"data\":{}}", 1, 2, "UPSTREAM_BAD_RESPONSE", "no \"data\"");
        assert_bad("{\"data\":[]}", 1, 2, "UPSTREAM_BAD_RESPONSE", "0 embeddings for 1");
        assert_bad("{\"data\":[1]}", 1, 2, "UPSTREAM_BAD_RESPONSE", "not an object");
        assert_bad("{\"data\":[{\"index\":5,\"embedding\":[1,2]}]}", 1, 2, "UPSTREAM_BAD_RESPONSE",
                   "index");
        assert_bad("{\"data\":[{\"index\":-1,\"embedding\":[1,2]}]}", 1, 2, "UPSTREAM_BAD_RESPONSE",
                   "index");
        assert_bad(
                "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":0,\"embedding\":[1,2]}]}",
                2, 2, "UPSTREAM_BAD_RESPONSE", "twice");
        assert_bad("{\"data\":[{\"index\":0,\"embedding\":[1,\"x\"]}]}", 1, 2,
                   "UPSTREAM_BAD_RESPONSE", "not a number");
        assert_bad("{\"data\":[{\"index\":0,\"embedding\":[1,1e300]}]}", 1, 2,
                   "UPSTREAM_BAD_RESPONSE", "float range");
        assert_bad("{\"data\":[{\"index\":0,\"embedding\":\"!!!!\"}]}", 1, 2,
                   "UPSTREAM_BAD_RESPONSE", "base64");
        assert_bad("{\"data\":[{\"index\":0,\"embedding\":null}]}", 1, 2, "UPSTREAM_BAD_RESPONSE",
                   "neither");
        /* NaN as float32 bits: 00 00 c0 7f */
        assert_bad("{\"data\":[{\"index\":0,\"embedding\":\"AADAfwAAgD8=\"}]}", 1, 2,
                   "UPSTREAM_BAD_RESPONSE", "finite");
}
END_TEST

/* ---- wire_request_body ---- */

START_TEST(test_wire_request_body_fields)
{
        const char *texts[] = { "hello", "w\"orld and more" };
        size_t lens[] = { 5, 2 };
        struct wire_request wr = { "text-embedding-3-small", 256, true, true };
        char *body = wire_request_body(&wr, texts, lens, 2);
        json_t *root = json_loads(body, 0, NULL);

        ck_assert_ptr_nonnull(root);
        ck_assert_str_eq(json_string_value(json_object_get(root, "model")),
                         "text-embedding-3-small");
        ck_assert_str_eq(json_string_value(json_object_get(root, "encoding_format")), "base64");
        ck_assert_int_eq(json_integer_value(json_object_get(root, "dimensions")), 256);
        ck_assert_uint_eq(json_array_size(json_object_get(root, "input")), 2);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(root, "input"), 1)),
                         "w\"");
        json_decref(root);
        free(body);

        wr.send_dimensions = false;
        wr.base64 = false;
        body = wire_request_body(&wr, texts, lens, 1);
        root = json_loads(body, 0, NULL);
        ck_assert_ptr_null(json_object_get(root, "dimensions"));
        ck_assert_str_eq(json_string_value(json_object_get(root, "encoding_format")), "float");
        json_decref(root);
        free(body);
}
END_TEST

static Suite *wire_suite(void)
{
        Suite *s = suite_create("openai_wire");
        TCase *tc;

        tc = tcase_create("wire_base64_decode");
        tcase_add_test(tc, test_wire_base64_decode_known_values);
        tcase_add_test(tc, test_wire_base64_decode_unpadded);
        tcase_add_test(tc, test_wire_base64_decode_rejects_garbage);
        suite_add_tcase(s, tc);
        tc = tcase_create("wire_response_parse");
        tcase_add_test(tc, test_wire_response_parse_float_arrays_by_index);
        tcase_add_test(tc, test_wire_response_parse_base64_little_endian);
        tcase_add_test(tc, test_wire_response_parse_wrong_dimensions);
        tcase_add_test(tc, test_wire_response_parse_malformed);
        suite_add_tcase(s, tc);
        tc = tcase_create("wire_request_body");
        tcase_add_test(tc, test_wire_request_body_fields);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(wire_suite());
}

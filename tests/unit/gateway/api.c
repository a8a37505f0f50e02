/* Unit tests for the gateway's request and response shapes: the embeddings
 * request parser (every error names its field), the OpenAI renderings byte
 * for byte, the error body and request ids. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/error.h"
#include "gateway/idem.h"
#include "gateway/openai.h"
#include "../unit.h"

static bool parse(const char *body, struct gw_embed_req *req, struct gw_error *e)
{
        return gw_embed_req_parse(body, strlen(body), 16, 2048, req, e);
}

static void expect_400(const char *body, const char *param, const char *msg_part)
{
        struct gw_embed_req req;
        struct gw_error e;

        ck_assert_msg(!parse(body, &req, &e), "accepted %s", body);
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.type, "invalid_request_error");
        ck_assert_msg(strcmp(e.param, param) == 0, "param \"%s\" != \"%s\" for %s", e.param, param,
                      body);
        ck_assert_msg(strstr(e.message, msg_part), "message \"%s\" lacks \"%s\"", e.message,
                      msg_part);
}

START_TEST(test_gw_embed_req_parse_string_input)
{
        struct gw_embed_req req;
        struct gw_error e;

        ck_assert(parse("{\"input\":\"hello\",\"model\":\"m\"}", &req, &e));
        ck_assert_uint_eq(req.n_inputs, 1);
        ck_assert_str_eq(req.inputs[0], "hello");
        ck_assert_str_eq(req.model, "m");
        ck_assert(!req.base64);
        ck_assert_uint_eq(req.dimensions, 0);
        gw_embed_req_cleanup(&req);
}
END_TEST

START_TEST(test_gw_embed_req_parse_array_and_options)
{
        struct gw_embed_req req;
        struct gw_error e;

        ck_assert(parse("{\"input\":[\"a\",\"b c\"],\"model\":\"m\",\"encoding_format\":\"base64\","
                        "\"dimensions\":64,\"user\":\"u-1\"}",
                        &req, &e));
        ck_assert_uint_eq(req.n_inputs, 2);
        ck_assert_str_eq(req.inputs[1], "b c");
        ck_assert(req.base64);
        ck_assert_uint_eq(req.dimensions, 64);
        ck_assert_str_eq(req.user, "u-1");
        gw_embed_req_cleanup(&req);
}
END_TEST

START_TEST(test_gw_embed_req_parse_names_fields)
{
        expect_400("", "", "empty");
        expect_400("{\"input\":", "", "not valid JSON");
        expect_400("[1]", "", "must be a JSON object");
        expect_400("{\"model\":\"m\"}", "input", "input");
        expect_400("{\"input\":\"x\"}", "model", "model");
        expect_400("{\"input\":\"x\",\"model\":3}", "model", "must be a string");
        expect_400("{\"input\":5,\"model\":\"m\"}", "input", "string or an array");
        expect_400("{\"input\":[],\"model\":\"m\"}", "input", "empty array");
        expect_400("{\"input\":[\"a\",\"b\",\"c\",7],\"model\":\"m\"}", "input[3]", "token arrays");
        expect_400("{\"input\":[[1,2]],\"model\":\"m\"}", "input[0]", "token arrays");
        expect_400("{\"input\":[\"a\",null],\"model\":\"m\"}", "input[1]", "must be a string");
        expect_400("{\"input\":[\"a\",\"\"],\"model\":\"m\"}", "input[1]", "empty");
        expect_400("{\"input\":\"a\\u0000b\",\"model\":\"m\"}", "", "u0000");
        expect_400("{\"input\":\"a\",\"model\":\"m\",\"encoding_format\":\"hex\"}",
                   "encoding_format", "float");
        expect_400("{\"input\":\"a\",\"model\":\"m\",\"dimensions\":0}", "dimensions", "integer");
        expect_400("{\"input\":\"a\",\"model\":\"m\",\"dimensions\":1.5}", "dimensions", "integer");
        expect_400("{\"input\":\"a\",\"model\":\"m\",\"user\":1}", "user", "string");
        expect_400("{\"input\":\"a\",\"model\":\"m\",\"temperature\":1}", "temperature",
                   "unrecognized");
        expect_400("{\"input\":\"a\",\"input\":\"b\",\"model\":\"m\"}", "", "duplicate");
        expect_400(
                "{\"input\":\"a\",\"model\":\"m\",\"user\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}",
                "", "deeper than 16");
}
END_TEST

#define DIMS_BODY "{\"input\":\"a\",\"model\":\"m\",\"dimensions\":%lld}"

/* The bounds are the union over every model; each model's own range is
 * the embedding service's to check. */
START_TEST(test_gw_embed_req_parse_dimensions_bounds)
{
        struct gw_embed_req req;
        struct gw_error e;
        char body[128];
        const long long ok[] = { GW_EMBED_DIMENSIONS_MIN, 16, 384, GW_EMBED_DIMENSIONS_MAX };
        const long long bad[] = { GW_EMBED_DIMENSIONS_MIN - 1, -1, GW_EMBED_DIMENSIONS_MAX + 1,
                                  4294967296LL };

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                snprintf(body, sizeof(body), DIMS_BODY, ok[i]);
                ck_assert_msg(parse(body, &req, &e), "refused %s: %s", body, e.message);
                ck_assert_uint_eq(req.dimensions, (uint32_t)ok[i]);
                gw_embed_req_cleanup(&req);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(body, sizeof(body), DIMS_BODY, bad[i]);
                ck_assert_msg(!parse(body, &req, &e), "accepted %s", body);
                ck_assert_int_eq(e.status, 400);
                ck_assert_str_eq(e.param, "dimensions");
                ck_assert_str_eq(e.code, "invalid_value");
                /* the bounds, and that each model takes part of them */
                ck_assert_msg(strstr(e.message, "from 1 to 65536") &&
                                      strstr(e.message, "cairn-lexical-<N>: 16 to N"),
                              "%s", e.message);
        }
}
END_TEST

START_TEST(test_gw_embed_req_parse_too_many_inputs)
{
        struct gw_embed_req req;
        struct gw_error e;

        const char *body = "{\"input\":[\"a\",\"b\",\"c\"],\"model\":\"m\"}";

        ck_assert(!gw_embed_req_parse(body, strlen(body), 16, 2, &req, &e));
        ck_assert_str_eq(e.param, "input");
}
END_TEST

START_TEST(test_gw_json_depth)
{
        ck_assert_int_eq(gw_json_depth("{}", 2, 10), 1);
        ck_assert_int_eq(gw_json_depth("{\"a\":[[1]]}", 11, 10), 3);
        ck_assert_int_eq(gw_json_depth("\"[[[[\"", 6, 10), 0);
        ck_assert_int_eq(gw_json_depth("\"\\\"[[\"", 6, 10), 0);
        ck_assert_int_eq(gw_json_depth("[[[[[[", 6, 3), 4);
}
END_TEST

static Cairn__Embedding__V1__EmbedReply *reply_new(void)
{
        static float v0[] = { 0.5f, -0.25f, 1e-5f };
        static float v1[] = { 0.1f, 0.0f, -1.0f };
        static Cairn__Embedding__V1__Embedding e0 = CAIRN__EMBEDDING__V1__EMBEDDING__INIT;
        static Cairn__Embedding__V1__Embedding e1 = CAIRN__EMBEDDING__V1__EMBEDDING__INIT;
        static Cairn__Embedding__V1__Embedding *embs[2] = { &e0, &e1 };
        static Cairn__V1__Usage usage = CAIRN__V1__USAGE__INIT;
        static Cairn__Embedding__V1__EmbedReply r = CAIRN__EMBEDDING__V1__EMBED_REPLY__INIT;

        e0.index = 0;
        e0.vector = v0;
        e0.n_vector = 3;
        e1.index = 1;
        e1.vector = v1;
        e1.n_vector = 3;
        usage.input_tokens = 7;
        r.model = "cairn-lexical-384";
        r.dimensions = 3;
        r.embeddings = embs;
        r.n_embeddings = 2;
        r.usage = &usage;
        return &r;
}

START_TEST(test_gw_embed_reply_json_float_byte_for_byte)
{
        size_t len;
        char *s = gw_embed_reply_json(reply_new(), false, &len);

        ck_assert_str_eq(
                s,
                "{\"object\":\"list\",\"data\":["
                "{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.5,-0.25,9.99999975e-06]},"
                "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.100000001,0,-1]}],"
                "\"model\":\"cairn-lexical-384\","
                "\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}");
        ck_assert_uint_eq(len, strlen(s));
        free(s);
}
END_TEST

START_TEST(test_gw_embed_reply_json_base64_little_endian)
{
        size_t len;
        char *s = gw_embed_reply_json(reply_new(), true, &len);

        /* 0.5f = 00 00 00 3f, -0.25f = 00 00 80 be, 1e-5f = ac c5 27 37 */
        ck_assert_ptr_nonnull(strstr(s, "\"embedding\":\"AAAAPwAAgL6sxSc3\""));
        free(s);
}
END_TEST

START_TEST(test_gw_models_reply_json)
{
        Cairn__Embedding__V1__ModelInfo m = CAIRN__EMBEDDING__V1__MODEL_INFO__INIT;
        Cairn__Embedding__V1__ModelInfo *ms[] = { &m };
        Cairn__Embedding__V1__ListModelsReply r = CAIRN__EMBEDDING__V1__LIST_MODELS_REPLY__INIT;
        size_t len;
        char *s;

        m.name = "cairn-lexical-384";
        r.models = ms;
        r.n_models = 1;
        s = gw_models_reply_json(&r, &len);
        ck_assert_str_eq(s, "{\"object\":\"list\",\"data\":[{\"id\":\"cairn-lexical-384\","
                            "\"object\":\"model\",\"created\":0,\"owned_by\":\"cairn\"}]}");
        free(s);
}
END_TEST

START_TEST(test_gw_error_json_shape)
{
        struct gw_error e;
        size_t len;
        char *s;

        gw_error_set(&e, 400, "invalid_type", "input[3]", "input[3] must be a \"string\"");
        s = gw_error_json(&e, "rid-1", &len);
        ck_assert_str_eq(s, "{\"error\":{\"message\":\"input[3] must be a \\\"string\\\"\","
                            "\"type\":\"invalid_request_error\",\"param\":\"input[3]\","
                            "\"code\":\"invalid_type\"},\"request_id\":\"rid-1\"}");
        free(s);
        gw_error_set(&e, 429, NULL, NULL, "slow down");
        s = gw_error_json(&e, "r", &len);
        ck_assert_str_eq(s, "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\","
                            "\"param\":null,\"code\":null},\"request_id\":\"r\"}");
        free(s);
}
END_TEST

/* The answer to a request too large for a Kafka message: a 413 like the
 * body limit's, a client error in both styles, never a rate limit. */
START_TEST(test_gw_error_json_body_too_large)
{
        struct gw_error e;
        size_t len;
        char *s;

        gw_error_set(&e, 413, "body_too_large", NULL, "too large");
        s = gw_error_json(&e, "r", &len);
        ck_assert_str_eq(s, "{\"error\":{\"message\":\"too large\","
                            "\"type\":\"invalid_request_error\",\"param\":null,"
                            "\"code\":\"body_too_large\"},\"request_id\":\"r\"}");
        free(s);
        s = gw_error_status_json(&e, &len);
        ck_assert_str_eq(s, "{\"code\":3,\"message\":\"too large\"}");
        free(s);
}
END_TEST

START_TEST(test_gw_error_from_status_maps_http)
{
        struct gw_error e;

        gw_error_from_status(&e, CAIRN_ERR_INVALID, "bad", "input[1]");
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.code, "invalid_argument");
        ck_assert_str_eq(e.param, "input[1]");
        gw_error_from_status(&e, CAIRN_ERR_DEADLINE, "", NULL);
        ck_assert_int_eq(e.status, 504);
        ck_assert_str_eq(e.type, "timeout_error");
        gw_error_from_status(&e, CAIRN_ERR_UNAVAILABLE, "x", "");
        ck_assert_int_eq(e.status, 503);
        ck_assert_str_eq(e.param, "");
}
END_TEST

START_TEST(test_gw_request_id_valid)
{
        ck_assert(gw_request_id_valid("abc-DEF_1.2:3"));
        ck_assert(!gw_request_id_valid(""));
        ck_assert(!gw_request_id_valid(NULL));
        ck_assert(!gw_request_id_valid("a b"));
        ck_assert(!gw_request_id_valid("a\"b"));
        ck_assert(gw_request_id_valid(
                "0123456789012345678901234567890123456789012345678901234567890123"));
        ck_assert(!gw_request_id_valid(
                "01234567890123456789012345678901234567890123456789012345678901234"));
}
END_TEST

START_TEST(test_gw_idem_key_valid)
{
        ck_assert(gw_idem_key_valid("8e03978e-40d5-43e8-bc93-6894a57f9324"));
        ck_assert(!gw_idem_key_valid(""));
        ck_assert(!gw_idem_key_valid("a b"));
        ck_assert(!gw_idem_key_valid("caf\xc3\xa9"));
}
END_TEST

static Suite *api_suite(void)
{
        Suite *s = suite_create("gateway_api");
        TCase *tc = tcase_create("gw_embed_req_parse");

        tcase_add_test(tc, test_gw_embed_req_parse_string_input);
        tcase_add_test(tc, test_gw_embed_req_parse_array_and_options);
        tcase_add_test(tc, test_gw_embed_req_parse_names_fields);
        tcase_add_test(tc, test_gw_embed_req_parse_dimensions_bounds);
        tcase_add_test(tc, test_gw_embed_req_parse_too_many_inputs);
        tcase_add_test(tc, test_gw_json_depth);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_render");
        tcase_add_test(tc, test_gw_embed_reply_json_float_byte_for_byte);
        tcase_add_test(tc, test_gw_embed_reply_json_base64_little_endian);
        tcase_add_test(tc, test_gw_models_reply_json);
        tcase_add_test(tc, test_gw_error_json_shape);
        tcase_add_test(tc, test_gw_error_json_body_too_large);
        tcase_add_test(tc, test_gw_error_from_status_maps_http);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_headers");
        tcase_add_test(tc, test_gw_request_id_valid);
        tcase_add_test(tc, test_gw_idem_key_valid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(api_suite());
}

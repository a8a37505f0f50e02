/* Unit tests for the error enum: names, parsing and the HTTP mapping. */
#include <check.h>
#include <stdlib.h>

#include "cairn/err.h"
#include "../unit.h"

START_TEST(test_cairn_err_str_names_grpc_codes)
{
        ck_assert_str_eq(cairn_err_str(CAIRN_OK), "OK");
        ck_assert_str_eq(cairn_err_str(CAIRN_ERR_INVALID), "INVALID_ARGUMENT");
        ck_assert_str_eq(cairn_err_str(CAIRN_ERR_DEADLINE), "DEADLINE_EXCEEDED");
        ck_assert_str_eq(cairn_err_str(CAIRN_ERR_UNAUTHENTICATED), "UNAUTHENTICATED");
        ck_assert_str_eq(cairn_err_str((cairn_err_t)99), "UNKNOWN");
        ck_assert_str_eq(cairn_err_str((cairn_err_t)-1), "UNKNOWN");
}
END_TEST

START_TEST(test_cairn_err_str_values_are_grpc_numbers)
{
        /* The numbers travel in cairn.v1.Status: they are the gRPC codes. */
        ck_assert_int_eq(CAIRN_ERR_CANCELLED, 1);
        ck_assert_int_eq(CAIRN_ERR_INVALID, 3);
        ck_assert_int_eq(CAIRN_ERR_DEADLINE, 4);
        ck_assert_int_eq(CAIRN_ERR_NOT_FOUND, 5);
        ck_assert_int_eq(CAIRN_ERR_CONFLICT, 6);
        ck_assert_int_eq(CAIRN_ERR_PERMISSION, 7);
        ck_assert_int_eq(CAIRN_ERR_EXHAUSTED, 8);
        ck_assert_int_eq(CAIRN_ERR_UNIMPLEMENTED, 12);
        ck_assert_int_eq(CAIRN_ERR_UNAVAILABLE, 14);
        ck_assert_int_eq(CAIRN_ERR_UNAUTHENTICATED, 16);
}
END_TEST

START_TEST(test_cairn_err_from_str_round_trips)
{
        for (int i = 0; i < CAIRN_ERR__COUNT; i++)
                ck_assert_int_eq(cairn_err_from_str(cairn_err_str((cairn_err_t)i)), i);
        ck_assert_int_eq(cairn_err_from_str("NOPE"), -1);
}
END_TEST

START_TEST(test_cairn_err_http_status_standard_mapping)
{
        ck_assert_int_eq(cairn_err_http_status(CAIRN_OK), 200);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_INVALID), 400);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_UNAUTHENTICATED), 401);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_PERMISSION), 403);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_NOT_FOUND), 404);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_CONFLICT), 409);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_EXHAUSTED), 429);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_UNAVAILABLE), 503);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_DEADLINE), 504);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_INTERNAL), 500);
        ck_assert_int_eq(cairn_err_http_status(CAIRN_ERR_UNKNOWN), 500);
        ck_assert_int_eq(cairn_err_http_status((cairn_err_t)42), 500);
}
END_TEST

START_TEST(test_cairn_err_from_code_clamps)
{
        ck_assert_int_eq(cairn_err_from_code(3), CAIRN_ERR_INVALID);
        ck_assert_int_eq(cairn_err_from_code(17), CAIRN_ERR_UNKNOWN);
        ck_assert_int_eq(cairn_err_from_code(-5), CAIRN_ERR_UNKNOWN);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("err");
        struct {
                const char *name;
                const TTest *t;
        } cases[] = {
                { "cairn_err_str", test_cairn_err_str_names_grpc_codes },
                { "cairn_err_str", test_cairn_err_str_values_are_grpc_numbers },
                { "cairn_err_from_str", test_cairn_err_from_str_round_trips },
                { "cairn_err_http_status", test_cairn_err_http_status_standard_mapping },
                { "cairn_err_from_code", test_cairn_err_from_code_clamps },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                TCase *tc = tcase_create(cases[i].name);
                tcase_add_test(tc, cases[i].t);
                suite_add_tcase(s, tc);
        }
        return unit_run(s);
}

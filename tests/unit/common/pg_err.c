/* Unit tests for the SQLSTATE mapping: each class and code the table names,
 * a lost connection, and the metric's class label. */
#include <check.h>
#include <stdbool.h>

#include "cairn/pg.h"
#include "../unit.h"

static cairn_err_t map(const char *sqlstate)
{
        return cairn_pg_err_from_sqlstate(sqlstate, false);
}

START_TEST(test_cairn_pg_err_from_sqlstate_unique_violation_is_conflict)
{
        ck_assert_int_eq(map("23505"), CAIRN_ERR_CONFLICT);
        ck_assert_int_eq(map("23P01"), CAIRN_ERR_CONFLICT);
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_serialization_and_deadlock_are_aborted)
{
        ck_assert_int_eq(map("40001"), CAIRN_ERR_ABORTED);
        ck_assert_int_eq(map("40P01"), CAIRN_ERR_ABORTED);
        /* the rest of class 40 is not a race that a retry wins */
        ck_assert_int_eq(map("40002"), CAIRN_ERR_INTERNAL);
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_connection_class_is_unavailable)
{
        ck_assert_int_eq(map("08000"), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(map("08006"), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(map("08001"), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(map("57P01"), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(map("57P02"), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(map("57P03"), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(map("57P05"), CAIRN_ERR_UNAVAILABLE);
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_protocol_violation_is_ours)
{
        /* the server answered: a wrong parameter count is our bug */
        ck_assert_int_eq(map("08P01"), CAIRN_ERR_INTERNAL);
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_lost_connection_wins)
{
        ck_assert_int_eq(cairn_pg_err_from_sqlstate(NULL, false), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(cairn_pg_err_from_sqlstate("", false), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(cairn_pg_err_from_sqlstate("23505", true), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(cairn_pg_err_from_sqlstate("57014", true), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(cairn_pg_err_from_sqlstate("2350", false), CAIRN_ERR_UNAVAILABLE);
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_query_canceled_is_deadline)
{
        ck_assert_int_eq(map("57014"), CAIRN_ERR_DEADLINE);
        ck_assert_int_eq(map("57000"), CAIRN_ERR_INTERNAL);
        ck_assert_int_eq(map("57P04"), CAIRN_ERR_INTERNAL);
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_bad_values_are_invalid)
{
        ck_assert_int_eq(map("22P02"), CAIRN_ERR_INVALID); /* invalid_text_representation */
        ck_assert_int_eq(map("22001"), CAIRN_ERR_INVALID); /* string_data_right_truncation */
        ck_assert_int_eq(map("22003"), CAIRN_ERR_INVALID); /* numeric_value_out_of_range */
        ck_assert_int_eq(map("22021"), CAIRN_ERR_INVALID); /* character_not_in_repertoire */
        ck_assert_int_eq(map("23502"), CAIRN_ERR_INVALID); /* not_null_violation */
        ck_assert_int_eq(map("23514"), CAIRN_ERR_INVALID); /* check_violation */
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_references_are_precondition)
{
        ck_assert_int_eq(map("23503"), CAIRN_ERR_PRECONDITION); /* foreign_key_violation */
        ck_assert_int_eq(map("23001"), CAIRN_ERR_PRECONDITION); /* restrict_violation */
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_resources_are_exhausted)
{
        ck_assert_int_eq(map("53000"), CAIRN_ERR_EXHAUSTED);
        ck_assert_int_eq(map("53100"), CAIRN_ERR_EXHAUSTED); /* disk_full */
        ck_assert_int_eq(map("53200"), CAIRN_ERR_EXHAUSTED); /* out_of_memory */
        ck_assert_int_eq(map("53300"), CAIRN_ERR_EXHAUSTED); /* too_many_connections */
}
END_TEST

START_TEST(test_cairn_pg_err_from_sqlstate_everything_else_is_internal)
{
        ck_assert_int_eq(map("42601"), CAIRN_ERR_INTERNAL); /* syntax_error */
        ck_assert_int_eq(map("42P01"), CAIRN_ERR_INTERNAL); /* undefined_table */
        ck_assert_int_eq(map("XX000"), CAIRN_ERR_INTERNAL);
        ck_assert_int_eq(map("25P02"), CAIRN_ERR_INTERNAL); /* in_failed_sql_transaction */
        ck_assert_int_eq(map("23000"), CAIRN_ERR_INTERNAL);
        ck_assert_int_eq(map("00000"), CAIRN_ERR_INTERNAL);
}
END_TEST

START_TEST(test_cairn_pg_err_class_two_characters_or_connection)
{
        char cls[16];

        cairn_pg_err_class("23505", false, cls, sizeof(cls));
        ck_assert_str_eq(cls, "23");
        cairn_pg_err_class("57014", false, cls, sizeof(cls));
        ck_assert_str_eq(cls, "57");
        cairn_pg_err_class("23505", true, cls, sizeof(cls));
        ck_assert_str_eq(cls, "connection");
        cairn_pg_err_class(NULL, false, cls, sizeof(cls));
        ck_assert_str_eq(cls, "connection");
        cairn_pg_err_class("", false, cls, sizeof(cls));
        ck_assert_str_eq(cls, "connection");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pg_err");
        TCase *tc;

        tc = tcase_create("cairn_pg_err_from_sqlstate");
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_unique_violation_is_conflict);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_serialization_and_deadlock_are_aborted);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_connection_class_is_unavailable);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_protocol_violation_is_ours);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_lost_connection_wins);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_query_canceled_is_deadline);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_bad_values_are_invalid);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_references_are_precondition);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_resources_are_exhausted);
        tcase_add_test(tc, test_cairn_pg_err_from_sqlstate_everything_else_is_internal);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pg_err_class");
        tcase_add_test(tc, test_cairn_pg_err_class_two_characters_or_connection);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

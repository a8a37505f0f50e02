/* Unit tests for the Kafka header contract: parsing what strangers send. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/headers.h"
#include "../unit.h"

static rd_kafka_headers_t *hdrs_of(const char *const *pairs)
{
        rd_kafka_headers_t *h = rd_kafka_headers_new(8);

        for (size_t i = 0; pairs[i]; i += 2)
                cairn_headers_add(h, pairs[i], pairs[i + 1]);
        return h;
}

START_TEST(test_cairn_headers_parse_reads_contract)
{
        const char *pairs[] = { "ce_id",
                                "abc",
                                "ce_type",
                                "cairn.embedding.v1.EmbedRequest",
                                "ce_specversion",
                                "1.0",
                                "cairn_reply_to",
                                "cairn.gateway.replies",
                                "cairn_reply_partition",
                                "3",
                                "cairn_deadline",
                                "1700000000123",
                                "traceparent",
                                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                                NULL };
        rd_kafka_headers_t *h = hdrs_of(pairs);
        struct cairn_msg_headers m;
        char why[128];

        ck_assert(cairn_headers_parse(h, &m, why, sizeof(why)));
        ck_assert_str_eq(m.id, "abc");
        ck_assert_str_eq(m.type, "cairn.embedding.v1.EmbedRequest");
        ck_assert_str_eq(m.reply_to, "cairn.gateway.replies");
        ck_assert_int_eq(m.reply_partition, 3);
        ck_assert_int_eq(m.deadline_ms, 1700000000123LL);
        ck_assert_str_eq(m.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        rd_kafka_headers_destroy(h);
}
END_TEST

START_TEST(test_cairn_headers_parse_absent_is_fine)
{
        struct cairn_msg_headers m;
        char why[128];

        ck_assert(cairn_headers_parse(NULL, &m, why, sizeof(why)));
        ck_assert_str_eq(m.id, "");
        ck_assert_int_eq(m.reply_partition, -1);
        ck_assert_int_eq(m.deadline_ms, 0);
}
END_TEST

START_TEST(test_cairn_headers_parse_rejects_bad_numbers)
{
        const char *bad[][2] = {
                { "cairn_deadline", "12x" },       { "cairn_deadline", "" },
                { "cairn_deadline", "-5" },        { "cairn_deadline", "99999999999999999999" },
                { "cairn_reply_partition", "-2" }, { "cairn_reply_partition", "4294967296" },
                { "cairn_reply_partition", " 1" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                const char *pairs[] = { "ce_id", "x", bad[i][0], bad[i][1], NULL };
                rd_kafka_headers_t *h = hdrs_of(pairs);
                struct cairn_msg_headers m;
                char why[128] = "";

                /* An empty value reads as absent; everything else must fail. */
                bool ok = cairn_headers_parse(h, &m, why, sizeof(why));
                if (bad[i][1][0])
                        ck_assert_msg(!ok, "%s=%s accepted", bad[i][0], bad[i][1]);
                if (!ok)
                        ck_assert_ptr_nonnull(strstr(why, bad[i][0]));
                ck_assert_str_eq(m.id, "x"); /* the rest is still read */
                rd_kafka_headers_destroy(h);
        }
}
END_TEST

START_TEST(test_cairn_headers_parse_rejects_oversize_and_binary)
{
        char big[CAIRN_HEADER_MAX + 10];
        struct cairn_msg_headers m;
        char why[128];

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        const char *pairs[] = { "ce_id", big, NULL };
        rd_kafka_headers_t *h = hdrs_of(pairs);
        ck_assert(!cairn_headers_parse(h, &m, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "ce_id"));
        rd_kafka_headers_destroy(h);

        h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "ce_type", -1, "a\0b", 3);
        ck_assert(!cairn_headers_parse(h, &m, why, sizeof(why)));
        rd_kafka_headers_destroy(h);

        h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "ce_type", -1, "\xff\xfe", 2);
        ck_assert(!cairn_headers_parse(h, &m, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "UTF-8"));
        rd_kafka_headers_destroy(h);
}
END_TEST

/* Regression: a 23-digit cairn_deadline was reported as "not a decimal
 * number". A number that does not fit is out of range; only text that is
 * no number is a syntax error. */
START_TEST(test_cairn_headers_parse_tells_range_from_syntax)
{
        static const char *const cases[][3] = {
                { "cairn_deadline", "17000000000001234567890", "out of range" },
                { "cairn_deadline", "9223372036854775808", "out of range" },
                { "cairn_deadline", "-99999999999999999999999", "out of range" },
                { "cairn_deadline", "1234567890123456789012345678901234567890", "out of range" },
                { "cairn_reply_partition", "99999999999999999999999", "out of range" },
                { "cairn_deadline", "12x", "not a decimal number" },
                { "cairn_deadline", "-", "not a decimal number" },
                { "cairn_deadline", "1.5e3", "not a decimal number" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *pairs[] = { "ce_id", "x", cases[i][0], cases[i][1], NULL };
                rd_kafka_headers_t *h = hdrs_of(pairs);
                struct cairn_msg_headers m;
                char why[128] = "";

                ck_assert_msg(!cairn_headers_parse(h, &m, why, sizeof(why)), "%s accepted",
                              cases[i][1]);
                ck_assert_msg(strstr(why, cases[i][0]) && strstr(why, cases[i][2]), "%s=%s: \"%s\"",
                              cases[i][0], cases[i][1], why);
                rd_kafka_headers_destroy(h);
        }
}
END_TEST

/* Regression: an authorization of 9,007 bytes reached the handler. The
 * documented limits (8 KiB for authorization, 256 bytes for the rest) hold
 * for the headers the struct does not keep too. */
START_TEST(test_cairn_headers_parse_limits_headers_it_does_not_keep)
{
        static const struct {
                const char *name;
                size_t len;
                bool ok;
        } cases[] = {
                { "authorization", CAIRN_AUTH_MAX, true },
                { "authorization", CAIRN_AUTH_MAX + 1, false },
                { "authorization", 9007, false },
                { "ce_time", CAIRN_HEADER_MAX, true },
                { "ce_time", CAIRN_HEADER_MAX + 1, false },
                { "cairn_request_id", CAIRN_HEADER_MAX + 1, false },
        };
        char *big = malloc(CAIRN_AUTH_MAX + 1024);
        struct cairn_msg_headers m;
        char why[128];

        ck_assert_ptr_nonnull(big);
        memcpy(big, "Bearer ", 7);
        memset(big + 7, 'a', CAIRN_AUTH_MAX + 1024 - 7);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                rd_kafka_headers_t *h = rd_kafka_headers_new(2);

                cairn_headers_add(h, "ce_id", "x");
                rd_kafka_header_add(h, cases[i].name, -1, big, (ssize_t)cases[i].len);
                why[0] = '\0';
                ck_assert_msg(cairn_headers_parse(h, &m, why, sizeof(why)) == cases[i].ok,
                              "%s of %zu bytes: \"%s\"", cases[i].name, cases[i].len, why);
                if (!cases[i].ok) {
                        ck_assert_ptr_nonnull(strstr(why, cases[i].name));
                        ck_assert_ptr_nonnull(strstr(why, "longer than"));
                        ck_assert_ptr_null(strstr(why, "aaaa")); /* never the value */
                }
                ck_assert_str_eq(m.id, "x");
                rd_kafka_headers_destroy(h);
        }
        free(big);

        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "authorization", -1, "Bearer \xff\xfe", 9);
        ck_assert(!cairn_headers_parse(h, &m, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "authorization is not UTF-8"));
        rd_kafka_headers_destroy(h);

        h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "authorization", -1, "Bearer a\0b", 10);
        ck_assert(!cairn_headers_parse(h, &m, why, sizeof(why)));
        rd_kafka_headers_destroy(h);
}
END_TEST

START_TEST(test_cairn_headers_parse_ignores_bad_trace_context)
{
        char big[600];
        struct cairn_msg_headers m;
        char why[128];

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        const char *pairs[] = { "ce_id", "abc", "traceparent", big, "tracestate", big, NULL };
        rd_kafka_headers_t *h = hdrs_of(pairs);
        ck_assert(cairn_headers_parse(h, &m, why, sizeof(why)));
        ck_assert_str_eq(m.id, "abc");
        ck_assert_str_eq(m.traceparent, "");
        ck_assert_str_eq(m.tracestate, "");
        rd_kafka_headers_destroy(h);

        h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "traceparent", -1, "\xff\xfe", 2);
        big[512] = '\0'; /* 512 characters of tracestate are kept */
        rd_kafka_header_add(h, "tracestate", -1, big, -1);
        ck_assert(cairn_headers_parse(h, &m, why, sizeof(why)));
        ck_assert_str_eq(m.traceparent, "");
        ck_assert_int_eq(strlen(m.tracestate), 512);
        rd_kafka_headers_destroy(h);
}
END_TEST

START_TEST(test_cairn_headers_get_last_wins_and_sizes)
{
        rd_kafka_headers_t *h = rd_kafka_headers_new(4);
        char buf[4];

        cairn_headers_add(h, "k", "one");
        cairn_headers_add(h, "k", "two");
        ck_assert_int_eq(cairn_headers_get(h, "k", buf, sizeof(buf)), 3);
        ck_assert_str_eq(buf, "two");
        ck_assert_int_eq(cairn_headers_get(h, "missing", buf, sizeof(buf)), -1);
        cairn_headers_add(h, "long", "four");
        ck_assert_int_eq(cairn_headers_get(h, "long", buf, sizeof(buf)), -2);
        rd_kafka_headers_destroy(h);
}
END_TEST

START_TEST(test_cairn_parse_i64_strict)
{
        int64_t v;

        ck_assert(cairn_parse_i64("0", &v) && v == 0);
        ck_assert(cairn_parse_i64("-17", &v) && v == -17);
        ck_assert(cairn_parse_i64("9223372036854775807", &v) && v == INT64_MAX);
        ck_assert(!cairn_parse_i64("9223372036854775808", &v));
        ck_assert(!cairn_parse_i64("", &v));
        ck_assert(!cairn_parse_i64("-", &v));
        ck_assert(!cairn_parse_i64("1e3", &v));
        ck_assert(!cairn_parse_i64("+1", &v));
}
END_TEST

START_TEST(test_cairn_headers_add_i64_decimal)
{
        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        char buf[32];

        cairn_headers_add_i64(h, "n", -1234567890123LL);
        ck_assert_int_gt(cairn_headers_get(h, "n", buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "-1234567890123");
        rd_kafka_headers_destroy(h);
}
END_TEST

START_TEST(test_cairn_uuid_v4_shape)
{
        char a[37], b[37];

        cairn_uuid(a);
        for (int i = 0; i < 1000; i++) { /* across several refills of the buffer */
                cairn_uuid(b);
                ck_assert_uint_eq(strlen(b), 36);
                ck_assert_msg(b[8] == '-' && b[13] == '-' && b[18] == '-' && b[23] == '-', "%s", b);
                ck_assert_msg(strspn(b, "0123456789abcdef-") == 36, "%s", b);
                ck_assert_int_eq(b[14], '4');                          /* version 4 */
                ck_assert_msg(strchr("89ab", b[19]) != NULL, "%s", b); /* RFC 4122 variant */
                ck_assert_str_ne(a, b);
        }
}
END_TEST

/* Version 7: the milliseconds up front (hex of 1700000000123 is
 * 018bcfe5687b), so ids of later times sort after; random bits behind. */
START_TEST(test_cairn_uuid7_time_ordered)
{
        char a[37], b[37], c[37];

        cairn_uuid7(a, 1700000000123LL);
        ck_assert_uint_eq(strlen(a), 36);
        ck_assert_msg(strncmp(a, "018bcfe5-687b-7", 15) == 0, "%s", a);
        ck_assert_msg(strchr("89ab", a[19]) != NULL, "%s", a);
        cairn_uuid7(b, 1700000000123LL);
        ck_assert_str_ne(a, b);
        ck_assert_msg(strncmp(b, "018bcfe5-687b-7", 15) == 0, "%s", b);
        cairn_uuid7(c, 1700000000124LL);
        ck_assert_int_lt(strcmp(a, c), 0);
        ck_assert_int_lt(strcmp(b, c), 0);
}
END_TEST

START_TEST(test_cairn_rfc3339_formats_utc_millis)
{
        char out[32];

        cairn_rfc3339(1700000000123LL, out);
        ck_assert_str_eq(out, "2023-11-14T22:13:20.123Z");
        cairn_rfc3339(0, out);
        ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(test_cairn_deadline_remaining_ms_arithmetic)
{
        ck_assert_int_eq(cairn_deadline_remaining_ms(0, 1000), INT64_MAX);
        ck_assert_int_eq(cairn_deadline_remaining_ms(1500, 1000), 500);
        ck_assert_int_le(cairn_deadline_remaining_ms(900, 1000), 0);
}
END_TEST

/* Nanoseconds from @p a to @p b. */
static int64_t ns_between(struct timespec a, struct timespec b)
{
        return ((int64_t)b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
}

START_TEST(test_cairn_timespec_in_carries_and_clamps)
{
        struct timespec before, at, after;

        clock_gettime(CLOCK_MONOTONIC, &before);
        at = cairn_timespec_in(CLOCK_MONOTONIC, 2999999); /* 2.999999 s */
        clock_gettime(CLOCK_MONOTONIC, &after);
        ck_assert_int_ge(at.tv_nsec, 0);
        ck_assert_int_lt(at.tv_nsec, 1000000000);
        ck_assert_int_ge(ns_between(before, at), 2999999000);
        ck_assert_int_le(ns_between(after, at), 2999999000);

        /* a time already past is now */
        clock_gettime(CLOCK_REALTIME, &before);
        at = cairn_timespec_in(CLOCK_REALTIME, -5000000);
        clock_gettime(CLOCK_REALTIME, &after);
        ck_assert_int_ge(ns_between(before, at), 0);
        ck_assert_int_ge(ns_between(at, after), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("headers");
        TCase *tc;

        tc = tcase_create("cairn_headers_parse");
        tcase_add_test(tc, test_cairn_headers_parse_reads_contract);
        tcase_add_test(tc, test_cairn_headers_parse_absent_is_fine);
        tcase_add_test(tc, test_cairn_headers_parse_rejects_bad_numbers);
        tcase_add_test(tc, test_cairn_headers_parse_rejects_oversize_and_binary);
        tcase_add_test(tc, test_cairn_headers_parse_tells_range_from_syntax);
        tcase_add_test(tc, test_cairn_headers_parse_limits_headers_it_does_not_keep);
        tcase_add_test(tc, test_cairn_headers_parse_ignores_bad_trace_context);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_headers_get");
        tcase_add_test(tc, test_cairn_headers_get_last_wins_and_sizes);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_parse_i64");
        tcase_add_test(tc, test_cairn_parse_i64_strict);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_headers_add_i64");
        tcase_add_test(tc, test_cairn_headers_add_i64_decimal);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_uuid");
        tcase_add_test(tc, test_cairn_uuid_v4_shape);
        tcase_add_test(tc, test_cairn_uuid7_time_ordered);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_rfc3339");
        tcase_add_test(tc, test_cairn_rfc3339_formats_utc_millis);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_deadline_remaining_ms");
        tcase_add_test(tc, test_cairn_deadline_remaining_ms_arithmetic);
        tcase_add_test(tc, test_cairn_timespec_in_carries_and_clamps);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

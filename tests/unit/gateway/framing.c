/* Unit tests for the framing and header checks (framing.c): every refusal
 * with its status and code, and what must keep passing. */
#define _GNU_SOURCE
#include <check.h>
#include <string.h>

#include "gateway/framing.h"
#include "../unit.h"

#define H(n, v)                                    \
        {                                          \
                n, sizeof(n) - 1, v, sizeof(v) - 1 \
        }

static bool check(const struct gw_header_view *h, size_t n, const char *version,
                  struct gw_framing *f, struct gw_error *e)
{
        memset(e, 0, sizeof(*e));
        return gw_framing_check(h, n, version, f, e);
}

#define REFUSES(version_, status_, code_, ...)                                         \
        do {                                                                           \
                const struct gw_header_view h_[] = { __VA_ARGS__ };                    \
                struct gw_framing f_;                                                  \
                struct gw_error e_;                                                    \
                ck_assert(!check(h_, sizeof(h_) / sizeof(h_[0]), version_, &f_, &e_)); \
                ck_assert_int_eq(e_.status, status_);                                  \
                ck_assert_str_eq(e_.code, code_);                                      \
                ck_assert(e_.message[0]);                                              \
        } while (0)

START_TEST(test_ambiguous_framing)
{
        REFUSES("HTTP/1.1", 400, "ambiguous_framing", H("Host", "x"), H("Content-Length", "5"),
                H("Content-Length", "40"));
        REFUSES("HTTP/1.1", 400, "ambiguous_framing", H("Host", "x"), H("Content-Length", "5"),
                H("Transfer-Encoding", "chunked"));
        REFUSES("HTTP/1.0", 400, "ambiguous_framing", H("Transfer-Encoding", "chunked"));
        REFUSES("HTTP/1.1", 400, "invalid_header", H("Host", "x"),
                H("Transfer-Encoding ", "chunked"));
        REFUSES("HTTP/1.1", 501, "unsupported_transfer_coding", H("Host", "x"),
                H("Transfer-Encoding", "xchunked"));
        REFUSES("HTTP/1.1", 501, "unsupported_transfer_coding", H("Host", "x"),
                H("Transfer-Encoding", "chunked, identity"));
        REFUSES("HTTP/1.1", 501, "unsupported_transfer_coding", H("Host", "x"),
                H("Transfer-Encoding", "gzip"));
        REFUSES("HTTP/1.1", 400, "invalid_content_length", H("Host", "x"),
                H("Content-Length", "12abc"));
        REFUSES("HTTP/1.1", 400, "invalid_content_length", H("Host", "x"),
                H("Content-Length", "-1"));
        REFUSES("HTTP/1.1", 400, "invalid_content_length", H("Host", "x"),
                H("Content-Length", "99999999999999999999999"));
}
END_TEST

START_TEST(test_headers)
{
        REFUSES("HTTP/1.1", 400, "missing_host", H("Accept", "*/*"));
        REFUSES("HTTP/1.1", 400, "duplicate_header", H("Host", "x"), H("Authorization", "Bearer a"),
                H("authorization", "Bearer b"));
        REFUSES("HTTP/1.1", 400, "duplicate_header", H("Host", "x"), H("Host", "y"));
        REFUSES("HTTP/1.1", 400, "duplicate_header", H("Host", "x"), H("X-API-Key", "a"),
                H("X-API-Key", "a"));
        REFUSES("HTTP/1.1", 400, "invalid_header", H("Host", "x"), H("X-A", "a\x01z"));
        REFUSES("HTTP/1.1", 400, "invalid_header", H("Host", "x"), H("X(A)", "a"));
        REFUSES("HTTP/1.1", 400, "invalid_header", H("Host", "x"), H("X-A", "a\x7fz"));
        /* a NUL inside the value: its length says more than strlen() */
        REFUSES("HTTP/1.1", 400, "invalid_header", H("Host", "x"), H("X-A", "a\0z"));
}
END_TEST

START_TEST(test_accepted)
{
        const struct gw_header_view h[] = {
                H("host", "x"),     H("Content-Length", "12"), H("Content-Length", "12"),
                H("X-Tab", "a\tb"), H("Accept", "a"),          H("Accept", "b")
        };
        const struct gw_header_view c[] = { H("Host", "x"), H("Transfer-Encoding", " Chunked ") };
        struct gw_framing f;
        struct gw_error e;

        ck_assert(check(h, 6, "HTTP/1.1", &f, &e));
        ck_assert(f.has_length && f.length == 12 && !f.chunked);
        ck_assert(check(c, 2, "HTTP/1.1", &f, &e));
        ck_assert(f.chunked && !f.has_length);
        ck_assert(check(NULL, 0, "HTTP/1.0", &f, &e)); /* HTTP/1.0 needs no Host */
        ck_assert(!f.has_length && !f.chunked);
}
END_TEST

START_TEST(test_target)
{
        ck_assert_ptr_null(gw_target_check("/v1/models", NULL));
        ck_assert_ptr_null(gw_target_check("/v1/things/a%20b?q=a%2Fb&x=%00", NULL));
        ck_assert_ptr_null(gw_target_check("/v1/things/%41", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1%2Fmodels", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1%2fmodels", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1/models%00", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1/a%5Cb", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1/a%0d%0aX: y", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1/ver%zzsion", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1/ver%4", NULL));
        ck_assert_ptr_nonnull(gw_target_check("/v1/caf\xc3\xa9", NULL));
        ck_assert_ptr_nonnull(gw_target_check("v1/models", NULL));
        ck_assert_ptr_nonnull(gw_target_check("http://h/v1/models", NULL));
        ck_assert_ptr_nonnull(gw_target_check(NULL, NULL));
}
END_TEST

/* Asked to, the check lets an escaped '/' through and says so, for the
 * route table to judge; everything else it refuses as before. */
START_TEST(test_target_escaped_slash_noted)
{
        bool slash = true;

        ck_assert_ptr_null(gw_target_check("/v1/models", &slash));
        ck_assert(!slash);
        ck_assert_ptr_null(gw_target_check("/v1/workflows/t/runs/a%2Fb", &slash));
        ck_assert(slash);
        ck_assert_ptr_null(gw_target_check("/v1%2fmodels", &slash));
        ck_assert(slash);
        /* in the query a %2F is no path's business */
        ck_assert_ptr_null(gw_target_check("/v1/models?q=a%2Fb", &slash));
        ck_assert(!slash);
        ck_assert_ptr_nonnull(gw_target_check("/v1/a%2Fb%5Cc", &slash));
        ck_assert_ptr_nonnull(gw_target_check("/v1/a%2Fb%00", &slash));
        ck_assert_ptr_nonnull(gw_target_check(NULL, &slash));
        ck_assert(!slash);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_framing");
        TCase *tc = tcase_create("framing");

        tcase_add_test(tc, test_ambiguous_framing);
        tcase_add_test(tc, test_headers);
        tcase_add_test(tc, test_accepted);
        tcase_add_test(tc, test_target);
        tcase_add_test(tc, test_target_escaped_slash_noted);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

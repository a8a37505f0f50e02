/* Unit tests for form bodies at the gateway: urlencoded fields split and
 * unescaped, multipart parts cut at their boundary and named by their
 * Content-Disposition, and every malformed body refused with a reason. */
#include <check.h>
#include <string.h>

#include "gateway/form.h"
#include "../unit.h"

static struct cairn_arena arena;

static void setup(void)
{
        cairn_arena_init(&arena, 1 << 20);
}

static void teardown(void)
{
        cairn_arena_cleanup(&arena);
}

static bool urlencoded(const char *body, struct gw_form *form, char *why)
{
        memset(form, 0, sizeof(*form));
        return gw_form_urlencoded(body, strlen(body), 64, &arena, form, why, 160);
}

static bool multipart(const char *boundary, const char *body, size_t len, struct gw_form *form,
                      char *why)
{
        memset(form, 0, sizeof(*form));
        return gw_form_multipart(boundary, body, len, 64, &arena, form, why, 160);
}

START_TEST(test_gw_form_urlencoded_fields)
{
        struct gw_form form;
        char why[160];
        size_t n;

        ck_assert(urlencoded("q=Hello+world%21&source=en&&target=es&flag&empty=", &form, why));
        ck_assert_uint_eq(form.n, 5);
        ck_assert_str_eq(gw_form_get(&form, "q", NULL)->value, "Hello world!");
        ck_assert_str_eq(gw_form_get(&form, "target", NULL)->value, "es");
        ck_assert_uint_eq(gw_form_get(&form, "flag", NULL)->value_len, 0);
        ck_assert_uint_eq(gw_form_get(&form, "empty", NULL)->value_len, 0);
        ck_assert_ptr_null(gw_form_get(&form, "absent", &n));
        ck_assert_uint_eq(n, 0);
        /* '=' in a value, escapes in a name, a repeated field */
        ck_assert(urlencoded("a%5Fb=x=y&a_b=2", &form, why));
        ck_assert_str_eq(gw_form_get(&form, "a_b", &n)->value, "x=y");
        ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_gw_form_urlencoded_keeps_bytes)
{
        struct gw_form form;
        char why[160];

        /* a NUL and a byte that is not UTF-8 are the caller's to refuse */
        ck_assert(urlencoded("q=a%00b%FF", &form, why));
        ck_assert_uint_eq(form.fields[0].value_len, 4);
        ck_assert_int_eq(memcmp(form.fields[0].value, "a\0b\xff", 4), 0);
}
END_TEST

START_TEST(test_gw_form_urlencoded_refusals)
{
        struct gw_form form;
        char why[160];
        char many[64 * 4 + 8];

        ck_assert(!urlencoded("q=%4", &form, why));
        ck_assert_ptr_nonnull(strstr(why, "two hex digits"));
        ck_assert(!urlencoded("q=%zz", &form, why));
        ck_assert(!urlencoded("q%00x=1", &form, why));
        ck_assert_ptr_nonnull(strstr(why, "NUL"));
        many[0] = '\0';
        for (int i = 0; i < 65; i++)
                strcat(many, "a=1&");
        ck_assert(!urlencoded(many, &form, why));
        ck_assert_ptr_nonnull(strstr(why, "more than 64 fields"));
}
END_TEST

START_TEST(test_gw_form_boundary_forms)
{
        char b[GW_FORM_BOUNDARY_MAX + 1];

        ck_assert(gw_form_boundary("multipart/form-data; boundary=abc123", b));
        ck_assert_str_eq(b, "abc123");
        ck_assert(gw_form_boundary("multipart/form-data;charset=utf-8;BOUNDARY=\"a b;c\"", b));
        ck_assert_str_eq(b, "a b;c");
        ck_assert(!gw_form_boundary("multipart/form-data", b));
        ck_assert(!gw_form_boundary("multipart/form-data; boundary=", b));
        ck_assert(!gw_form_boundary("multipart/form-data; boundary=\"unterminated", b));
        ck_assert(!gw_form_boundary("multipart/form-data; boundary=0123456789012345678901234567890"
                                    "1234567890123456789012345678901234567890",
                                    b));
}
END_TEST

START_TEST(test_gw_form_multipart_parts)
{
        static const char body[] =
                "preamble to ignore\r\n"
                "--XyZ\r\n"
                "Content-Disposition: form-data; name=\"q\"\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "\r\n"
                "line one\r\nline two\r\n"
                "--XyZ\r\n"
                "content-disposition: form-data; filename=\"f.txt\"; name=target\r\n"
                "\r\n"
                "es\r\n"
                "--XyZ--\r\n"
                "epilogue";
        static const char start[] =
                "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n--b--";
        struct gw_form form;
        char why[160];

        ck_assert_msg(multipart("XyZ", body, sizeof(body) - 1, &form, why), "%s", why);
        ck_assert_uint_eq(form.n, 2);
        ck_assert_str_eq(form.fields[0].name, "q");
        ck_assert_str_eq(form.fields[0].value, "line one\r\nline two");
        ck_assert_str_eq(form.fields[1].name, "target");
        ck_assert_str_eq(form.fields[1].value, "es");
        /* the first delimiter at the very start, an empty value */
        ck_assert(multipart("b", start, sizeof(start) - 1, &form, why));
        ck_assert_uint_eq(form.n, 1);
        ck_assert_uint_eq(form.fields[0].value_len, 0);
}
END_TEST

START_TEST(test_gw_form_multipart_refusals)
{
        static const char nul_name[] =
                "--b\r\nContent-Disposition: form-data; name=\"a\0b\"\r\n\r\nx\r\n--b--";
        static const char whole[] =
                "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b--";
        struct gw_form form;
        char why[160];
        const char *no_close = "--b\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nhello";
        const char *no_name = "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--";
        const char *lf_only = "--b\nContent-Disposition: form-data; name=\"q\"\n\nhi\n--b--";
        const char *no_blank = "--b\r\nContent-Disposition: form-data; name=\"q\"";

        ck_assert(!multipart("b", "no boundary here", 16, &form, why));
        ck_assert_ptr_nonnull(strstr(why, "boundary"));
        ck_assert(!multipart("b", no_close, strlen(no_close), &form, why));
        ck_assert_ptr_nonnull(strstr(why, "closing boundary"));
        ck_assert(!multipart("b", no_name, strlen(no_name), &form, why));
        ck_assert_ptr_nonnull(strstr(why, "Content-Disposition"));
        ck_assert(!multipart("b", lf_only, strlen(lf_only), &form, why));
        ck_assert_ptr_nonnull(strstr(why, "CRLF"));
        ck_assert(!multipart("b", no_blank, strlen(no_blank), &form, why));
        ck_assert(!multipart("b", nul_name, sizeof(nul_name) - 1, &form, why));
        ck_assert(!multipart("", "--\r\n", 4, &form, why));
        /* cut anywhere, a body never reads past its end */
        ck_assert(multipart("b", whole, sizeof(whole) - 1, &form, why));
        for (size_t n = 0; n + 1 < sizeof(whole); n++)
                ck_assert_msg(!multipart("b", whole, n, &form, why), "read %zu bytes", n);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_form");
        TCase *tc;

        tc = tcase_create("gw_form_urlencoded");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_form_urlencoded_fields);
        tcase_add_test(tc, test_gw_form_urlencoded_keeps_bytes);
        tcase_add_test(tc, test_gw_form_urlencoded_refusals);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_form_boundary");
        tcase_add_test(tc, test_gw_form_boundary_forms);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_form_multipart");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_form_multipart_parts);
        tcase_add_test(tc, test_gw_form_multipart_refusals);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

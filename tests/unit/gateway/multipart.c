/* Unit tests for the multipart/form-data reader: parts with their names,
 * filenames and Content-Types over the body's own bytes, the preamble and
 * epilogue skipped, the limits, and every malformed body refused with a
 * reason that names the problem. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "gateway/multipart.h"
#include "../unit.h"

#define MAX_SEEN 8

struct seen {
        struct gw_multipart_part parts[MAX_SEEN];
        size_t n;
        char why[200];
};

/* Reads all of @p body; 0 on a clean close, -1 on a refusal (s->why). */
static int read_all(const char *boundary, const char *body, size_t len,
                    const struct gw_multipart_limits *lim, struct seen *s)
{
        struct gw_multipart mp;
        struct gw_multipart_part part;
        int rc;

        memset(s, 0, sizeof(*s));
        if (!gw_multipart_begin(&mp, boundary, body, len, lim, s->why, sizeof(s->why)))
                return -1;
        while ((rc = gw_multipart_next(&mp, &part, s->why, sizeof(s->why))) == 1)
                if (s->n < MAX_SEEN)
                        s->parts[s->n++] = part;
        return rc;
}

static int read_str(const char *boundary, const char *body, const struct gw_multipart_limits *lim,
                    struct seen *s)
{
        return read_all(boundary, body, strlen(body), lim, s);
}

static const struct gw_multipart_limits limits = { 16, 1024 };

START_TEST(test_gw_multipart_boundary_forms)
{
        char b[GW_MULTIPART_BOUNDARY_MAX + 1];

        ck_assert(gw_multipart_boundary("multipart/form-data; boundary=abc123", b));
        ck_assert_str_eq(b, "abc123");
        ck_assert(
                gw_multipart_boundary("multipart/form-data;BOUNDARY=\"a b;c\"; charset=utf-8", b));
        ck_assert_str_eq(b, "a b;c");
        ck_assert(!gw_multipart_boundary("multipart/form-data", b));
        ck_assert(!gw_multipart_boundary("multipart/form-data; boundary=", b));
        ck_assert(!gw_multipart_boundary("multipart/form-data; boundary=\"open", b));
        ck_assert(!gw_multipart_boundary("multipart/form-data; boundary="
                                         "01234567890123456789012345678901234567890123456789"
                                         "012345678901234567890",
                                         b));
        ck_assert(gw_multipart_is_form_data("multipart/form-data; boundary=x"));
        ck_assert(gw_multipart_is_form_data(" Multipart/Form-Data;boundary=x"));
        ck_assert(!gw_multipart_is_form_data("multipart/form-datax"));
        ck_assert(!gw_multipart_is_form_data("application/json"));
}
END_TEST

START_TEST(test_gw_multipart_next_parts)
{
        static const char body[] =
                "preamble, ignored\r\n"
                "--XyZ\r\n"
                "Content-Disposition: form-data; name=\"file\"; "
                "filename=\"a \\\"b\\\".wav\"\r\n"
                "Content-Type: audio/wav \r\n"
                "\r\n"
                "RIFF\0\r\n--XyY data\r\n"
                "--XyZ  \r\n"
                "content-disposition: form-data; name=model\r\n"
                "\r\n"
                "whisper-1\r\n"
                "--XyZ\r\n"
                "Content-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n"
                "\r\n"
                "word\r\n"
                "--XyZ\r\n"
                "Content-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n"
                "\r\n"
                "segment\r\n"
                "--XyZ\r\n"
                "Content-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n"
                "\r\n"
                "\r\n"
                "--XyZ--\r\n"
                "epilogue, ignored";
        struct seen s;

        ck_assert_int_eq(read_all("XyZ", body, sizeof(body) - 1, &limits, &s), 0);
        ck_assert_uint_eq(s.n, 5);
        ck_assert_str_eq(s.parts[0].name, "file");
        ck_assert_str_eq(s.parts[0].filename, "a \"b\".wav");
        ck_assert(s.parts[0].has_filename);
        ck_assert_str_eq(s.parts[0].content_type, "audio/wav");
        ck_assert_uint_eq(s.parts[0].len, 17);
        ck_assert(memcmp(s.parts[0].data, "RIFF\0\r\n--XyY data", 17) == 0);
        /* zero-copy: the content is the body's own bytes */
        ck_assert(s.parts[0].data > body && s.parts[0].data < body + sizeof(body));
        ck_assert_str_eq(s.parts[1].name, "model");
        ck_assert(!s.parts[1].has_filename);
        ck_assert_str_eq(s.parts[1].content_type, "");
        ck_assert_uint_eq(s.parts[1].len, 9);
        ck_assert_str_eq(s.parts[2].name, "timestamp_granularities[]");
        ck_assert_str_eq(s.parts[3].name, "timestamp_granularities[]");
        ck_assert_uint_eq(s.parts[3].len, 7);
        ck_assert(s.parts[4].has_filename);
        ck_assert_str_eq(s.parts[4].filename, "");
        ck_assert_uint_eq(s.parts[4].len, 0);

        /* the body may start with its delimiter; a part with no headers at all is refused */
        ck_assert_int_eq(read_str("b", "--b\r\n\r\nx\r\n--b--", &limits, &s), -1);
        ck_assert_ptr_nonnull(strstr(s.why, "Content-Disposition"));
        /* no parts at all: just the closing delimiter */
        ck_assert_int_eq(read_str("b", "--b--", &limits, &s), 0);
        ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(test_gw_multipart_next_refusals)
{
        static const char whole[] = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
                                    "--b--";
        struct seen s;
        char big[4096];
        struct gw_multipart_limits two = { 2, 1024 };
        static const char three[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
                                    "--b\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n"
                                    "--b\r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n"
                                    "--b--";

        ck_assert_int_eq(read_str("b", "no boundary here", &limits, &s), -1);
        ck_assert_ptr_nonnull(strstr(s.why, "boundary is not in it"));
        ck_assert_int_eq(read_all("", "--\r\n", 4, &limits, &s), -1);
        ck_assert_ptr_nonnull(strstr(s.why, "1 to 70"));
        ck_assert_int_eq(read_str("b", "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1",
                                  &limits, &s),
                         -1);
        ck_assert_str_eq(s.why, "the multipart body has no closing boundary after part \"a\"");
        ck_assert_int_eq(read_str("b",
                                  "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b",
                                  &limits, &s),
                         -1);
        ck_assert_str_eq(s.why, "the multipart body has no closing boundary");
        ck_assert_int_eq(read_str("b", "--b\nContent-Disposition: form-data; name=a\n\n1\n--b--",
                                  &limits, &s),
                         -1);
        ck_assert_ptr_nonnull(strstr(s.why, "CRLF"));
        ck_assert_int_eq(read_str("b",
                                  "--b\r\nContent-Disposition: form-data; name=a\r\n1\r\n--b--",
                                  &limits, &s),
                         -1);
        ck_assert_ptr_nonnull(strstr(s.why, "blank line"));
        ck_assert_int_eq(
                read_str("b", "--b\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--b--",
                         &limits, &s),
                -1);
        ck_assert_ptr_nonnull(strstr(s.why, "not form-data"));
        ck_assert_int_eq(
                read_str("b", "--b\r\nContent-Disposition: form-data; filename=a\r\n\r\n1\r\n--b--",
                         &limits, &s),
                -1);
        ck_assert_ptr_nonnull(strstr(s.why, "name=\"...\""));
        {
                static const char nul[] = "--b\r\nContent-Disposition: form-data; name=\"a\0b\"\r\n"
                                          "\r\n1\r\n--b--";
                ck_assert_int_eq(read_all("b", nul, sizeof(nul) - 1, &limits, &s), -1);
                ck_assert_ptr_nonnull(strstr(s.why, "NUL"));
        }
        ck_assert_int_eq(read_all("b", three, sizeof(three) - 1, &two, &s), -1);
        ck_assert_str_eq(s.why, "the multipart body has more than 2 parts");
        ck_assert_int_eq(read_all("b", three, sizeof(three) - 1, &limits, &s), 0);
        /* headers over the limit */
        memset(big, 0, sizeof(big));
        snprintf(big, sizeof(big), "--b\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
        memset(big + strlen(big), 'x', 2000);
        strcat(big, "\r\n\r\n1\r\n--b--");
        ck_assert_int_eq(read_all("b", big, strlen(big), &limits, &s), -1);
        ck_assert_str_eq(s.why, "a multipart part's headers are longer than 1024 bytes");
        /* a Content-Type too long for its buffer */
        memset(big, 0, sizeof(big));
        snprintf(big, sizeof(big),
                 "--b\r\nContent-Disposition: form-data; name=a\r\nContent-Type: ");
        memset(big + strlen(big), 'x', 200);
        strcat(big, "\r\n\r\n1\r\n--b--");
        ck_assert_int_eq(read_all("b", big, strlen(big), &limits, &s), -1);
        ck_assert_ptr_nonnull(strstr(s.why, "Content-Type"));
        /* cut anywhere, a body never reads past its end */
        ck_assert_int_eq(read_all("b", whole, sizeof(whole) - 1, &limits, &s), 0);
        for (size_t n = 0; n + 1 < sizeof(whole) - 1; n++)
                ck_assert_msg(read_all("b", whole, n, &limits, &s) == -1, "read %zu bytes", n);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_multipart");
        TCase *tc;

        tc = tcase_create("gw_multipart_boundary");
        tcase_add_test(tc, test_gw_multipart_boundary_forms);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_multipart_next");
        tcase_add_test(tc, test_gw_multipart_next_parts);
        tcase_add_test(tc, test_gw_multipart_next_refusals);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

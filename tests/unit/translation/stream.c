/* Unit tests for Apertium's stream format: escaping, superblanks, marks. */
#include <check.h>
#include <string.h>

#include "../unit.h"
#include "translation/stream.h"

static char *escape(const char *s)
{
        static struct cairn_buf b;

        cairn_buf_cleanup(&b);
        tr_stream_escape(s, strlen(s), &b);
        cairn_buf_add(&b, "", 0);
        return b.p;
}

static char *unescape(const char *s, bool show)
{
        static struct cairn_buf b;

        cairn_buf_cleanup(&b);
        tr_stream_unescape(s, strlen(s), show, &b);
        cairn_buf_add(&b, "", 0);
        return b.p;
}

static char *marks(const char *s, enum tr_marks m)
{
        static struct cairn_buf b;

        cairn_buf_cleanup(&b);
        tr_stream_marks(s, strlen(s), m, &b);
        cairn_buf_add(&b, "", 0);
        return b.p;
}

static char *protect(const char *s)
{
        static struct cairn_buf b;

        cairn_buf_cleanup(&b);
        tr_stream_protect(s, strlen(s), &b);
        cairn_buf_add(&b, "", 0);
        return b.p;
}

START_TEST(test_escape)
{
        ck_assert_str_eq(escape("plain words"), "plain words");
        ck_assert_str_eq(escape("a^b$c/d<e>f{g}h+i\\j[k]"),
                         "a\\^b\\$c\\/d\\<e\\>f\\{g\\}h\\+i\\\\j\\[k\\]");
        /* the text's own mark characters travel as superblanks */
        ck_assert_str_eq(escape("#1 *x* @me ~"), "[#]1 [*]x[*] [@]me [~]");
        ck_assert_str_eq(escape(""), "");
}
END_TEST

START_TEST(test_unescape_round_trip)
{
        static const char *const texts[] = { "a^b$c/d<e>f{g}h+i\\j[k]l", "#hash *star* @at ~t",
                                             "ünïcödé — ✓", "\n\ttabs\n" };

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                char *e = strdup(escape(texts[i]));

                ck_assert_str_eq(unescape(e, false), texts[i]);
                ck_assert_str_eq(unescape(e, true), texts[i]);
                free(e);
        }
}
END_TEST

START_TEST(test_marks_dropped_or_kept)
{
        /* what a pipeline gives: unknown, not generated, not translated */
        const char *out = "El *blorf de #casa y @foo [#]1 \\@x";

        ck_assert_str_eq(unescape(out, false), "El blorf de casa y foo #1 @x");
        ck_assert_str_eq(unescape(out, true), "El *blorf de #casa y @foo #1 @x");
        ck_assert_str_eq(marks(out, TR_MARKS_DROP), "El blorf de casa y foo [#]1 \\@x");
        ck_assert_str_eq(marks(out, TR_MARKS_KEEP), out);
        ck_assert_str_eq(marks(out, TR_MARKS_PROTECT), "El [*]blorf de [#]casa y [@]foo [#]1 \\@x");
}
END_TEST

START_TEST(test_superblanks_untouched)
{
        /* HTML from the deformatter: a mark inside a superblank is markup */
        const char *html = ".[][<p>]Hola[ <b>]*mundo[<\\/b> @ ]x.[][<\\/p>]";

        ck_assert_str_eq(marks(html, TR_MARKS_DROP),
                         ".[][<p>]Hola[ <b>]mundo[<\\/b> @ ]x.[][<\\/p>]");
        /* the deformatter leaves the text's * and # unescaped, @ escaped */
        ck_assert_str_eq(protect("a * b # c \\@ d[ * ]"), "a [*] b [#] c [@] d[ * ]");
        /* an unclosed superblank runs to the end, never past it */
        ck_assert_str_eq(marks("x [*abc", TR_MARKS_DROP), "x [*abc");
        ck_assert_str_eq(unescape("x [ab\\", false), "x ab\\");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("stream");
        TCase *tc = tcase_create("stream");

        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_unescape_round_trip);
        tcase_add_test(tc, test_marks_dropped_or_kept);
        tcase_add_test(tc, test_superblanks_untouched);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

/* Unit tests for reading Apertium's mode files into argument vectors, and
 * for the language codes they name. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "translation/langs.h"
#include "translation/modes.h"

START_TEST(test_mode_parsed_with_null_flush)
{
        struct tr_mode m;
        char err[256];
        const char *text = "lt-proc -w '/usr/share/x/eng-spa.automorf.bin' | apertium-tagger -g $2 "
                           "'/usr/share/x/a b.prob' | lt-proc $1 '/x/gen.bin'\n";

        ck_assert_int_eq(tr_mode_parse("eng-spa", text, &m, err, sizeof(err)), 0);
        ck_assert_str_eq(m.source, "en");
        ck_assert_str_eq(m.target, "es");
        ck_assert_uint_eq(m.nstages, 3);
        ck_assert_str_eq(m.stages[0][0], "lt-proc");
        ck_assert_str_eq(m.stages[0][1], "-z");
        ck_assert_str_eq(m.stages[0][2], "-w");
        ck_assert_str_eq(m.stages[0][3], "/usr/share/x/eng-spa.automorf.bin");
        ck_assert_ptr_null(m.stages[0][4]);
        /* $2 goes; a quoted word keeps its blank */
        ck_assert_str_eq(m.stages[1][2], "-g");
        ck_assert_str_eq(m.stages[1][3], "/usr/share/x/a b.prob");
        ck_assert_ptr_null(m.stages[1][4]);
        /* $1, the generator's switch: unknown words marked */
        ck_assert_str_eq(m.stages[2][2], "-g");
        tr_mode_cleanup(&m);
}
END_TEST

START_TEST(test_mode_names)
{
        struct tr_mode m;
        char err[256];

        ck_assert_int_eq(tr_mode_parse("es-fr", "lt-proc x", &m, err, sizeof(err)), 0);
        ck_assert_str_eq(m.source, "es");
        ck_assert_str_eq(m.target, "fr");
        tr_mode_cleanup(&m);
        ck_assert_int_eq(tr_mode_parse("spa-ast", "lt-proc x", &m, err, sizeof(err)), 0);
        ck_assert_str_eq(m.target, "ast");
        tr_mode_cleanup(&m);
        /* variants and other shapes are not language pairs */
        ck_assert_int_eq(tr_mode_parse("spa-cat_valencia", "lt-proc x", &m, err, sizeof(err)), -1);
        ck_assert_int_eq(tr_mode_parse("eco-es-fr", "lt-proc x", &m, err, sizeof(err)), -1);
        ck_assert_int_eq(tr_mode_parse("english-spanish", "lt-proc x", &m, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "not a plain language pair"));
}
END_TEST

START_TEST(test_mode_shell_refused)
{
        static const char *const bad[] = {
                "lt-proc x > /tmp/out",
                "lt-proc $(id)",
                "lt-proc x; rm y",
                "lt-proc 'unclosed",
                "lt-proc x | | y",
                "| lt-proc x",
                "lt-proc $HOME",
                "lt-proc `id`",
                "lt-proc x &",
                "$1 lt-proc",
                "",
                "lt-proc \"x\"",
        };
        struct tr_mode m;
        char err[256];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                ck_assert_msg(tr_mode_parse("eng-spa", bad[i], &m, err, sizeof(err)) == -1,
                              "accepted: %s", bad[i]);
                ck_assert_msg(err[0], "no message for: %s", bad[i]);
        }
}
END_TEST

START_TEST(test_mode_limits)
{
        char text[8192] = "";
        struct tr_mode m;
        char err[256];

        for (int i = 0; i < TR_STAGES_MAX + 1; i++)
                strcat(text, i ? " | lt-proc" : "lt-proc");
        ck_assert_int_eq(tr_mode_parse("eng-spa", text, &m, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "stages"));
        strcpy(text, "lt-proc");
        for (int i = 0; i < TR_ARGS_MAX; i++)
                strcat(text, " a");
        ck_assert_int_eq(tr_mode_parse("eng-spa", text, &m, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "words"));
}
END_TEST

START_TEST(test_modes_dir)
{
        char dir[] = "/tmp/tr-modes-XXXXXX", path[512], err[256];
        struct tr_mode *modes;
        long n;
        FILE *f;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        /* two names of one pair: the first in name order is kept */
        static const char *const files[][2] = {
                { "eng-spa.mode", "lt-proc a | lt-proc b" }, { "en-es.mode", "lt-proc c" },
                { "spa-eng_US.mode", "lt-proc d" },          { "spa-eng.mode", "lt-proc e" },
                { "broken-mode.mode", "lt-proc > x" },       { "notes.txt", "lt-proc f" },
        };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
                f = fopen(path, "w");
                ck_assert_ptr_nonnull(f);
                fputs(files[i][1], f);
                fclose(f);
        }
        n = tr_modes_load(dir, &modes, err, sizeof(err));
        ck_assert_int_eq(n, 2);
        ck_assert_str_eq(modes[0].name, "en-es");
        ck_assert_str_eq(modes[1].name, "spa-eng");
        ck_assert_str_eq(modes[1].source, "es");
        tr_modes_free(modes, (size_t)n);
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
                remove(path);
        }
        remove(dir);
        ck_assert_int_eq(tr_modes_load("/nonexistent/modes", &modes, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "/nonexistent/modes"));
}
END_TEST

START_TEST(test_lang_codes)
{
        char out[TR_LANG_MAX];

        ck_assert(tr_lang_normalise("eng", 3, out));
        ck_assert_str_eq(out, "en");
        ck_assert(tr_lang_normalise("es", 2, out));
        ck_assert_str_eq(out, "es");
        ck_assert(tr_lang_normalise("xyz", 3, out));
        ck_assert_str_eq(out, "xyz");
        ck_assert(!tr_lang_normalise("e", 1, out));
        ck_assert(!tr_lang_normalise("ENG", 3, out));
        ck_assert(!tr_lang_normalise("engl", 4, out));
        ck_assert_str_eq(tr_lang_name("ca"), "Catalan");
        ck_assert_str_eq(tr_lang_name("xyz"), "xyz");
        ck_assert(tr_lang_valid("gl"));
        ck_assert(!tr_lang_valid("auto"));
        ck_assert(!tr_lang_valid("e1"));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("modes");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_mode_parsed_with_null_flush);
        tcase_add_test(tc, test_mode_names);
        tcase_add_test(tc, test_mode_shell_refused);
        tcase_add_test(tc, test_mode_limits);
        tcase_add_test(tc, test_modes_dir);
        tcase_add_test(tc, test_lang_codes);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

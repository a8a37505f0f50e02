/* Unit tests for the translation service's language detection
 * (services/translation/detect.h), every method: clear texts in each
 * language, candidates only from the detector's languages, nothing for
 * empty or letterless text, no harm from random bytes, invalid UTF-8,
 * control characters or very long text, the same answers from many threads
 * at once, and an accuracy floor on the labelled set
 * tests/data/translation/detect.tsv (read from TESTS_ROOT). */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translation/detect.h"
#include "../unit.h"

static const char *const langs[] = { "en", "es", "ca", "fr", "it", "pt", "gl", "ro" };
#define NLANGS   (sizeof(langs) / sizeof(langs[0]))
#define NMETHODS 3

static struct tr_detector *detector(enum tr_detect_method m, const char *const *codes, size_t n)
{
        char errstr[256] = "";
        struct tr_detector *d = tr_detector_new(m, codes, n, errstr, sizeof(errstr));

        ck_assert_msg(d != NULL, "%s: %s", tr_detect_method_name(m), errstr);
        return d;
}

/* What every answer must be: at most max candidates, each one of the
 * detector's languages, once, confidences in (0, 1], most confident first,
 * summing to at most 1. */
static void check_answer(const struct tr_detection *out, size_t n, size_t max,
                         const char *const *codes, size_t ncodes)
{
        float sum = 0;

        ck_assert_uint_le(n, max);
        for (size_t i = 0; i < n; i++) {
                bool known = false;

                for (size_t k = 0; k < ncodes; k++)
                        known = known || strcmp(out[i].language, codes[k]) == 0;
                ck_assert_msg(known, "candidate \"%s\" is none of the detector's", out[i].language);
                for (size_t k = 0; k < i; k++)
                        ck_assert_str_ne(out[i].language, out[k].language);
                ck_assert(out[i].confidence > 0.0f && out[i].confidence <= 1.0f);
                if (i > 0)
                        ck_assert(out[i].confidence <= out[i - 1].confidence);
                sum += out[i].confidence;
        }
        ck_assert(sum <= 1.001f);
}

START_TEST(test_tr_detect_method_parse_names)
{
        enum tr_detect_method m;

        ck_assert_int_eq(tr_detect_method_parse("cld2", &m), 0);
        ck_assert_int_eq(m, TR_DETECT_CLD2);
        ck_assert_int_eq(tr_detect_method_parse("textcat", &m), 0);
        ck_assert_int_eq(m, TR_DETECT_TEXTCAT);
        ck_assert_int_eq(tr_detect_method_parse("combined", &m), 0);
        ck_assert_int_eq(m, TR_DETECT_COMBINED);
        ck_assert_int_eq(tr_detect_method_parse("CLD2", &m), -1);
        ck_assert_int_eq(tr_detect_method_parse("", &m), -1);
        ck_assert_int_eq(tr_detect_method_parse(NULL, &m), -1);
        for (int i = 0; i < NMETHODS; i++) {
                ck_assert_int_eq(tr_detect_method_parse(tr_detect_method_name(i), &m), 0);
                ck_assert_int_eq(m, i);
        }
}
END_TEST

/* Each bad list is refused with a message naming what is wrong. */
START_TEST(test_tr_detector_new_refuses_bad_lists)
{
        static const struct {
                const char *codes[3];
                size_t n;
                const char *says;
        } bad[] = {
                { { "en" }, 0, "1 to 64 languages" },
                { { "en", "es", "en" }, 3, "\"en\" is given twice" },
                { { "e" }, 1, "\"e\" is not a language code" },
                { { "en_US" }, 1, "\"en_US\" is not a language code" },
                { { "../en" }, 1, "\"../en\" is not a language code" },
                { { "es", "toolongcode" }, 2, "\"toolongcode\" is not a language code" },
                { { "es", "" }, 2, "\"\" is not a language code" },
                { { "es", "qq" }, 2, "does not know \"qq\"" },
        };
        const char *many[TR_DETECT_MAX_LANGS + 1];
        char errstr[256];

        for (int m = 0; m < NMETHODS; m++) {
                for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                        errstr[0] = '\0';
                        ck_assert_ptr_null(
                                tr_detector_new(m, bad[i].codes, bad[i].n, errstr, sizeof(errstr)));
                        ck_assert_msg(strstr(errstr, bad[i].says), "%s: \"%s\" does not say \"%s\"",
                                      tr_detect_method_name(m), errstr, bad[i].says);
                }
                for (size_t i = 0; i < TR_DETECT_MAX_LANGS + 1; i++)
                        many[i] = langs[i % NLANGS];
                ck_assert_ptr_null(
                        tr_detector_new(m, many, TR_DETECT_MAX_LANGS + 1, errstr, sizeof(errstr)));
        }
        /* "he" is CLD2's "iw", and libexttextcat has a fingerprint for it */
        for (int m = 0; m < NMETHODS; m++) {
                const char *he[] = { "he" };

                tr_detector_free(detector(m, he, 1));
        }
        tr_detector_free(NULL);
}
END_TEST

/* One sentence a language, none of them in the labelled set. */
struct clear_text {
        const char *lang, *text;
};
static const struct clear_text clear[] = {
        { "en", "The children walked to school together because the bus was late again." },
        { "es", "Los niños fueron juntos al colegio porque el autobús volvió a llegar tarde." },
        { "ca", "Els nens van anar junts a l'escola perquè l'autobús va tornar a arribar tard." },
        { "fr",
          "Les enfants sont allés à l'école ensemble parce que le bus était encore en retard." },
        { "it",
          "I bambini sono andati a scuola insieme perché l'autobus era di nuovo in ritardo." },
        { "pt",
          "As crianças foram juntas para a escola porque o autocarro voltou a chegar atrasado." },
        { "gl", "Os nenos foron xuntos á escola porque o autobús volveu chegar tarde esta mañá." },
        { "ro", "Copiii au mers împreună la școală pentru că autobuzul a întârziat din nou." },
};

START_TEST(test_tr_detect_clear_cases)
{
        for (int m = 0; m < NMETHODS; m++) {
                struct tr_detector *d = detector(m, langs, NLANGS);

                for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++) {
                        struct tr_detection out[3];
                        size_t n = tr_detect(d, clear[i].text, strlen(clear[i].text), out, 3);

                        check_answer(out, n, 3, langs, NLANGS);
                        /* libexttextcat's Galician fingerprint takes Galician for
                         * Portuguese or Spanish (docs/benchmarks.md: right on 9% of
                         * the set's Galician texts) */
                        if (m == TR_DETECT_TEXTCAT && strcmp(clear[i].lang, "gl") == 0)
                                continue;
                        ck_assert_msg(n > 0 && strcmp(out[0].language, clear[i].lang) == 0,
                                      "%s took \"%s\" for %s", tr_detect_method_name(m),
                                      clear[i].text, n ? out[0].language : "nothing");
                        if (m != TR_DETECT_TEXTCAT)
                                ck_assert(out[0].confidence >= 0.85f);
                }
                tr_detector_free(d);
        }
}
END_TEST

START_TEST(test_tr_detect_only_the_detector_languages)
{
        static const char *const en_es[] = { "en", "es" };
        static const char *const fr[] = { "fr" };

        for (int m = 0; m < NMETHODS; m++) {
                struct tr_detector *d = detector(m, en_es, 2);

                for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++) {
                        struct tr_detection out[3];
                        size_t n = tr_detect(d, clear[i].text, strlen(clear[i].text), out, 3);

                        check_answer(out, n, 3, en_es, 2);
                        /* CLD2 is sure the French text is French: what is left for
                         * English or Spanish is little or nothing */
                        if (m != TR_DETECT_TEXTCAT && strcmp(clear[i].lang, "fr") == 0) {
                                for (size_t k = 0; k < n; k++)
                                        ck_assert(out[k].confidence <= 0.101f);
                        }
                }
                tr_detector_free(d);
                /* only French: an English text is not French */
                if (m != TR_DETECT_TEXTCAT) {
                        struct tr_detection out[3];

                        d = detector(m, fr, 1);
                        ck_assert(tr_detect(d, clear[0].text, strlen(clear[0].text), out, 3) == 0 ||
                                  out[0].confidence <= 0.101f);
                        tr_detector_free(d);
                }
        }
}
END_TEST

START_TEST(test_tr_detect_nothing_to_recognise)
{
        static const char *const empty[] = { "", " \t\n ", "12345 678", "!!! ??? ... 3.14 :-)",
                                             "\xf0\x9f\x98\x80\xf0\x9f\x98\x80" /* emoji */ };
        struct tr_detection out[3];

        for (int m = 0; m < NMETHODS; m++) {
                struct tr_detector *d = detector(m, langs, NLANGS);

                for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
                        ck_assert_uint_eq(tr_detect(d, empty[i], strlen(empty[i]), out, 3), 0);
                ck_assert_uint_eq(tr_detect(d, NULL, 5, out, 3), 0);
                ck_assert_uint_eq(tr_detect(d, clear[0].text, strlen(clear[0].text), out, 0), 0);
                ck_assert_uint_eq(tr_detect(NULL, clear[0].text, strlen(clear[0].text), out, 3), 0);
                tr_detector_free(d);
        }
}
END_TEST

/* Random bytes, broken UTF-8, NULs and control characters, and texts
 * larger than what is read: answers stay well-formed, and a text with a
 * few bad bytes in it is still recognised. */
START_TEST(test_tr_detect_any_bytes)
{
        static const char *const broken[] = {
                "\xff\xfe\xfd",     "\xc0\x80",         "\xed\xa0\x80",
                "\xf4\x90\x80\x80", "\xe2\x82",         "\xef\xbf\xbe\xef\xbf\xbf",
                "\x01\x02\x1b[31m", "\xc2\x85\xc2\x9f",
        };
        const char *fr = clear[3].text;
        size_t frlen = strlen(fr), big = 1 << 20;
        char *buf = malloc(big + 64);
        unsigned seed = 42;
        struct tr_detection out[3];
        size_t n;

        ck_assert_ptr_nonnull(buf);
        for (int m = 0; m < NMETHODS; m++) {
                struct tr_detector *d = detector(m, langs, NLANGS);

                for (int round = 0; round < 300; round++) {
                        size_t len = (size_t)(rand_r(&seed) % 600);

                        for (size_t i = 0; i < len; i++)
                                buf[i] = (char)rand_r(&seed);
                        n = tr_detect(d, buf, len, out, 3);
                        check_answer(out, n, 3, langs, NLANGS);
                }
                for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
                        size_t len;

                        /* the French sentence with the bad bytes inside it */
                        len = (size_t)snprintf(buf, big, "%.*s%s%s", (int)(frlen / 2), fr,
                                               broken[i], fr + frlen / 2);
                        n = tr_detect(d, buf, len, out, 3);
                        check_answer(out, n, 3, langs, NLANGS);
                        ck_assert_msg(n > 0 && strcmp(out[0].language, "fr") == 0,
                                      "%s: French with bad bytes %zu: %s", tr_detect_method_name(m),
                                      i, n ? out[0].language : "nothing");
                        n = tr_detect(d, broken[i], strlen(broken[i]), out, 3);
                        check_answer(out, n, 3, langs, NLANGS);
                }
                /* a NUL in the middle does not end the text */
                memcpy(buf, "\0\0\0", 3);
                memcpy(buf + 3, fr, frlen);
                n = tr_detect(d, buf, frlen + 3, out, 3);
                ck_assert(n > 0 && strcmp(out[0].language, "fr") == 0);
                /* 1 MiB of French, and 1 MiB of one letter */
                for (size_t o = 0; o < big; o += frlen + 1) {
                        size_t k = big - o < frlen ? big - o : frlen;

                        memcpy(buf + o, fr, k);
                        if (o + k < big)
                                buf[o + k] = ' ';
                }
                n = tr_detect(d, buf, big, out, 3);
                ck_assert(n > 0 && strcmp(out[0].language, "fr") == 0);
                memset(buf, 'a', big);
                n = tr_detect(d, buf, big, out, 3);
                check_answer(out, n, 3, langs, NLANGS);
                /* a multi-byte character across the TR_DETECT_MAX_BYTES cut */
                memset(buf, 'e', TR_DETECT_MAX_BYTES - 1);
                memcpy(buf + TR_DETECT_MAX_BYTES - 1, "\xc3\xa9\xc3\xa9", 4);
                n = tr_detect(d, buf, TR_DETECT_MAX_BYTES + 3, out, 3);
                check_answer(out, n, 3, langs, NLANGS);
                tr_detector_free(d);
        }
        free(buf);
}
END_TEST

/* The labelled set. */
struct sample {
        char lang[8];
        char *text;
        int bucket; /* 0: <= 20 characters, 1: 21-50, 2: > 50 */
};
static struct sample *samples;
static size_t nsamples;

static void samples_read(void)
{
        const char *root = getenv("TESTS_ROOT");
        char path[512], *line = NULL;
        size_t cap = 0, have = 0;
        ssize_t len;
        FILE *fp;

        if (samples)
                return;
        snprintf(path, sizeof(path), "%s/tests/data/translation/detect.tsv",
                 root && root[0] ? root : ".");
        fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "cannot open %s", path);
        while ((len = getline(&line, &cap, fp)) > 0) {
                char *tab;
                size_t chars = 0;

                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                if (len == 0 || line[0] == '#')
                        continue;
                tab = strchr(line, '\t');
                ck_assert_msg(tab && tab > line && tab - line < 8, "%s: bad line \"%s\"", path,
                              line);
                if (nsamples == have) {
                        struct sample *more;

                        have = have ? 2 * have : 256;
                        more = realloc(samples, have * sizeof(*samples));
                        ck_assert_ptr_nonnull(more);
                        samples = more;
                }
                memcpy(samples[nsamples].lang, line, (size_t)(tab - line));
                samples[nsamples].lang[tab - line] = '\0';
                samples[nsamples].text = strdup(tab + 1);
                for (const char *p = tab + 1; *p; p++)
                        chars += ((unsigned char)*p & 0xC0) != 0x80;
                samples[nsamples].bucket = chars <= 20 ? 0 : chars <= 50 ? 1 : 2;
                nsamples++;
        }
        free(line);
        fclose(fp);
        ck_assert_uint_ge(nsamples, 8 * 75);
}

struct run {
        const struct tr_detector *d;
        struct tr_detection (*out)[3];
        size_t *n;
};

static void *detect_all(void *arg)
{
        struct run *r = arg;

        for (size_t i = 0; i < nsamples; i++)
                r->n[i] = tr_detect(r->d, samples[i].text, strlen(samples[i].text), r->out[i], 3);
        return NULL;
}

#define NTHREADS 4

START_TEST(test_tr_detect_threads_agree)
{
        samples_read();
        for (int m = 0; m < NMETHODS; m++) {
                struct tr_detector *d = detector(m, langs, NLANGS);
                struct run runs[NTHREADS + 1];
                pthread_t tid[NTHREADS];

                for (int t = 0; t <= NTHREADS; t++) {
                        runs[t].d = d;
                        runs[t].out = calloc(nsamples, sizeof(*runs[t].out));
                        runs[t].n = calloc(nsamples, sizeof(*runs[t].n));
                }
                detect_all(&runs[NTHREADS]); /* the reference, alone */
                for (int t = 0; t < NTHREADS; t++)
                        ck_assert_int_eq(pthread_create(&tid[t], NULL, detect_all, &runs[t]), 0);
                for (int t = 0; t < NTHREADS; t++)
                        pthread_join(tid[t], NULL);
                for (int t = 0; t < NTHREADS; t++) {
                        for (size_t i = 0; i < nsamples; i++) {
                                ck_assert_uint_eq(runs[t].n[i], runs[NTHREADS].n[i]);
                                for (size_t k = 0; k < runs[t].n[i]; k++) {
                                        ck_assert_str_eq(runs[t].out[i][k].language,
                                                         runs[NTHREADS].out[i][k].language);
                                        ck_assert(runs[t].out[i][k].confidence ==
                                                  runs[NTHREADS].out[i][k].confidence);
                                }
                        }
                }
                for (int t = 0; t <= NTHREADS; t++) {
                        free(runs[t].out);
                        free(runs[t].n);
                }
                tr_detector_free(d);
        }
}
END_TEST

/* Each method's accuracy by length on the labelled set stays at least
 * this (in percent): a few points under what docs/benchmarks.md reports
 * (cld2 80/96/99, textcat 58/77/86, combined 83/96/99), so that a change
 * that makes detection worse fails here. The default method's floor on
 * 21-50 characters, 93%, is near its target of 95%. */
static const double floors[NMETHODS][3] = {
        [TR_DETECT_CLD2] = { 76, 93, 96 },
        [TR_DETECT_TEXTCAT] = { 53, 72, 82 },
        [TR_DETECT_COMBINED] = { 78, 93, 96 },
};

START_TEST(test_tr_detect_accuracy_floor)
{
        samples_read();
        for (int m = 0; m < NMETHODS; m++) {
                struct tr_detector *d = detector(m, langs, NLANGS);
                unsigned right[3] = { 0 }, total[3] = { 0 };

                for (size_t i = 0; i < nsamples; i++) {
                        struct tr_detection out[3];
                        size_t n = tr_detect(d, samples[i].text, strlen(samples[i].text), out, 3);

                        check_answer(out, n, 3, langs, NLANGS);
                        total[samples[i].bucket]++;
                        right[samples[i].bucket] += n > 0 &&
                                                    strcmp(out[0].language, samples[i].lang) == 0;
                }
                for (int b = 0; b < 3; b++) {
                        double pct = 100.0 * right[b] / total[b];

                        ck_assert_uint_ge(total[b], 8 * 25);
                        ck_assert_msg(pct >= floors[m][b],
                                      "%s: %.1f%% right on length bucket %d, under %.0f%%",
                                      tr_detect_method_name(m), pct, b, floors[m][b]);
                }
                tr_detector_free(d);
        }
}
END_TEST

int main(void)
{
        Suite *s = suite_create("translation_detect");
        TCase *tc;
        int rc;

        tc = tcase_create("tr_detect_method_parse");
        tcase_add_test(tc, test_tr_detect_method_parse_names);
        suite_add_tcase(s, tc);
        tc = tcase_create("tr_detector_new");
        tcase_add_test(tc, test_tr_detector_new_refuses_bad_lists);
        suite_add_tcase(s, tc);
        tc = tcase_create("tr_detect");
        tcase_add_test(tc, test_tr_detect_clear_cases);
        tcase_add_test(tc, test_tr_detect_only_the_detector_languages);
        tcase_add_test(tc, test_tr_detect_nothing_to_recognise);
        tcase_add_test(tc, test_tr_detect_any_bytes);
        tcase_add_test(tc, test_tr_detect_threads_agree);
        tcase_add_test(tc, test_tr_detect_accuracy_floor);
        suite_add_tcase(s, tc);
        rc = unit_run(s);
        for (size_t i = 0; i < nsamples; i++)
                free(samples[i].text);
        free(samples);
        return rc;
}

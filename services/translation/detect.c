/* Language detection (detect.h). Each method gives a distribution over the
 * detector's languages, and the ranking is that distribution, highest
 * first. How each confidence is computed, from what the libraries say:
 *
 * CLD2 is asked once for an answer it is sure of; when it has none (short
 * texts, mostly), once more for its best guess. A language's confidence is
 * its share of the text's letters as CLD2 counts them (percent / 100),
 * halved for a guess. On tests/data/translation/detect.tsv, CLD2's sure
 * answers were right 88% of the time on texts of 20 characters or fewer
 * and 99% above, its guesses 66%: a sure answer reads about 0.93, a guess
 * about 0.47. CLD2 rarely names more than one language.
 *
 * textcat (libexttextcat) scores the text's n-gram fingerprint against each
 * language's, as a distance d (smaller is closer). The confidences are a
 * softmax of the distances relative to the closest: exp(-(d - d_best) /
 * (TEXTCAT_TEMPERATURE * d_best)), normalised over the detector's
 * languages. The temperature, 0.02, is the one under which the confidence
 * of textcat's first answer matched how often it was right on the labelled
 * set (answers given about 0.33, 0.5, 0.69 and 0.93 were right 29%, 50%,
 * 71% and 96% of the time). Being shares among the detector's languages,
 * textcat's confidences cannot say that a text is in none of them.
 *
 * combined mixes the two distributions: CLD2's with weight 0.9 when CLD2 is
 * sure, 0.5 when it only guessed, textcat's with the rest. So CLD2's sure
 * answer always comes first, textcat ranks the languages after it, and
 * when CLD2 only guesses, a confident textcat can overrule it. When CLD2 is
 * sure of a language outside the detector's, its weight goes to no
 * language, and textcat's candidates keep only the 0.1 left: the text is
 * most likely in none of the detector's languages.
 *
 * Thread safety: CLD2's tables are static, the fingerprints of a
 * detector's languages are only read after tr_detector_new(), and the one
 * thing libexttextcat allocates per call, the text's own fingerprint,
 * belongs to that call (the library keeps no global state: its .data and
 * .bss are the C runtime's 8 bytes each). So there is no lock, and no pool
 * of textcat handles either: the text's fingerprint is what
 * textcat_ClassifyFull() would make per call too, and it is most of
 * textcat's 55 µs of CPU a text, the same on one thread and on two
 * (docs/benchmarks.md). */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fingerprint.h>
#include <utf8proc.h>

#include "cld2_shim.h"
#include "detect.h"

/* A CLD2 guess counts half as much as an answer it is sure of. */
#define CLD2_GUESS_WEIGHT   0.5f
#define TEXTCAT_TEMPERATURE 0.02
/* The weight of CLD2's distribution in the combined method. */
#define COMBINED_CLD2_SURE  0.9f
#define COMBINED_CLD2_GUESS 0.5f
/* Candidates less likely than this are left out. */
#define MIN_CONFIDENCE 0.01f
/* libexttextcat's fingerprints: its own n-gram count (MAXNGRAMS). */
#define TEXTCAT_NGRAMS 400

struct tr_detector {
        enum tr_detect_method method;
        size_t nlangs;
        char code[TR_DETECT_MAX_LANGS][8];
        int cld2[TR_DETECT_MAX_LANGS]; /* CLD2's number for the language; -1: not used */
        void *fp[TR_DETECT_MAX_LANGS]; /* its textcat fingerprint; NULL: not used */
        /* the codes CLD2 knows, comma-separated: CLD2's hints */
        char hints[TR_DETECT_MAX_LANGS * 8];
};

static const char *const method_names[] = {
        [TR_DETECT_CLD2] = "cld2",
        [TR_DETECT_TEXTCAT] = "textcat",
        [TR_DETECT_COMBINED] = "combined",
};

int tr_detect_method_parse(const char *name, enum tr_detect_method *out)
{
        for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
                if (name && strcmp(name, method_names[i]) == 0) {
                        *out = (enum tr_detect_method)i;
                        return 0;
                }
        }
        return -1;
}

const char *tr_detect_method_name(enum tr_detect_method m)
{
        return (size_t)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "?";
}

/* A code as a file name and a CLD2 name may take it: "en", "zh-Hant". */
static bool code_valid(const char *code)
{
        size_t n = strlen(code);

        if (n < 2 || n >= sizeof(((struct tr_detection *)0)->language))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = code[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i >= 2 && c == '-')))
                        return false;
        }
        return true;
}

static void textcat_path(const char *code, char *path, size_t size)
{
        snprintf(path, size, "%s/%s.lm", TR_TEXTCAT_DIR, code);
}

void tr_detector_free(struct tr_detector *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->nlangs; i++) {
                if (d->fp[i])
                        fp_Done(d->fp[i]);
        }
        free(d);
}

/* Sets up language @p i of @p d for the methods in use; false with a
 * message when the method does not know it. */
static bool language_add(struct tr_detector *d, size_t i, const char *code, char *errstr,
                         size_t errstr_size)
{
        bool cld2 = d->method != TR_DETECT_TEXTCAT, textcat = d->method != TR_DETECT_CLD2;
        char path[256];

        strcpy(d->code[i], code);
        d->cld2[i] = cld2 ? tr_cld2_language(code) : -1;
        if (textcat) {
                textcat_path(code, path, sizeof(path));
                if (access(path, R_OK) == 0) {
                        d->fp[i] = fp_Init(code);
                        if (!d->fp[i] || !fp_Read(d->fp[i], path, TEXTCAT_NGRAMS)) {
                                snprintf(errstr, errstr_size,
                                         "cannot read the textcat fingerprint %s", path);
                                return false;
                        }
                }
        }
        if (cld2 && d->cld2[i] >= 0) {
                size_t n = strlen(d->hints);

                snprintf(d->hints + n, sizeof(d->hints) - n, "%s%s", n ? "," : "", code);
        }
        if ((d->method == TR_DETECT_CLD2 && d->cld2[i] < 0) ||
            (d->method == TR_DETECT_TEXTCAT && !d->fp[i]) ||
            (d->method == TR_DETECT_COMBINED && d->cld2[i] < 0 && !d->fp[i])) {
                snprintf(errstr, errstr_size, "language detection by %s does not know \"%s\"%s",
                         tr_detect_method_name(d->method), code,
                         textcat ? " (no fingerprint " TR_TEXTCAT_DIR "/<code>.lm)" : "");
                return false;
        }
        return true;
}

struct tr_detector *tr_detector_new(enum tr_detect_method m, const char *const *langs,
                                    size_t nlangs, char *errstr, size_t errstr_size)
{
        struct tr_detector *d;

        if ((size_t)m >= sizeof(method_names) / sizeof(method_names[0])) {
                snprintf(errstr, errstr_size, "unknown language detection method %d", (int)m);
                return NULL;
        }
        if (nlangs == 0 || nlangs > TR_DETECT_MAX_LANGS) {
                snprintf(errstr, errstr_size, "language detection needs 1 to %d languages, not %zu",
                         TR_DETECT_MAX_LANGS, nlangs);
                return NULL;
        }
        d = calloc(1, sizeof(*d));
        if (!d) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        d->method = m;
        for (size_t i = 0; i < nlangs; i++) {
                const char *code = langs[i] ? langs[i] : "";

                if (!code_valid(code)) {
                        snprintf(errstr, errstr_size, "\"%.32s\" is not a language code", code);
                        goto fail;
                }
                for (size_t k = 0; k < i; k++) {
                        if (strcmp(d->code[k], code) == 0) {
                                snprintf(errstr, errstr_size, "language \"%s\" is given twice",
                                         code);
                                goto fail;
                        }
                }
                d->nlangs = i + 1; /* so that tr_detector_free frees its fingerprint */
                if (!language_add(d, i, code, errstr, errstr_size))
                        goto fail;
        }
        return d;
fail:
        tr_detector_free(d);
        return NULL;
}

/* Whether CLD2 accepts @p cp: a text with a control character (but for
 * tab, CR and LF) or a noncharacter in it is not "interchange-valid" UTF-8
 * to CLD2, which then says nothing about the whole text. */
static bool interchange_valid(utf8proc_int32_t cp)
{
        if (cp == '\t' || cp == '\n' || cp == '\r')
                return true;
        if (cp < 0 || utf8proc_category(cp) == UTF8PROC_CATEGORY_CC)
                return false;
        return !((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE);
}

/* Copies the first TR_DETECT_MAX_BYTES of @p text into @p buf (of
 * TR_DETECT_MAX_BYTES + 1) as UTF-8 both libraries take, ending in a NUL,
 * cut at a character boundary: a space for each byte that is not UTF-8 and
 * for each character CLD2 refuses (NUL among them: libexttextcat would stop
 * there). Returns its length; *@p letters counts its letters. */
static size_t text_prepare(const char *text, size_t len, char *buf, size_t *letters)
{
        const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;
        size_t i = 0, n = 0;

        *letters = 0;
        while (i < len) {
                utf8proc_int32_t cp = -1;
                utf8proc_ssize_t k;

                k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i < 4 ? len - i : 4), &cp);
                if (k <= 0 || !interchange_valid(cp)) {
                        if (n + 1 > TR_DETECT_MAX_BYTES)
                                break;
                        buf[n++] = ' ';
                        i += k > 0 ? (size_t)k : 1;
                        continue;
                }
                if (n + (size_t)k > TR_DETECT_MAX_BYTES)
                        break;
                memcpy(buf + n, s + i, (size_t)k);
                n += (size_t)k;
                i += (size_t)k;
                if (utf8proc_category(cp) >= UTF8PROC_CATEGORY_LU &&
                    utf8proc_category(cp) <= UTF8PROC_CATEGORY_LO)
                        (*letters)++;
        }
        buf[n] = '\0';
        return n;
}

/* CLD2's shares of the text for the detector's languages, added into
 * @p p. Returns 1 when CLD2 was sure, 0 when it guessed, -1 when it found
 * no language at all. */
static int cld2_part(const struct tr_detector *d, const char *buf, size_t n, float *p)
{
        struct tr_cld2_result r;
        int found, sure = 1;

        found = tr_cld2_detect(buf, n, d->hints, false, &r);
        if (found == 0) {
                sure = 0;
                found = tr_cld2_detect(buf, n, d->hints, true, &r);
                if (found == 0)
                        return -1;
        }
        for (int k = 0; k < found; k++) {
                for (size_t i = 0; i < d->nlangs; i++) {
                        if (d->cld2[i] == r.lang[k])
                                p[i] += (float)r.percent[k] / 100.0f;
                }
        }
        return sure;
}

/* textcat's distribution over the detector's languages that have a
 * fingerprint, into @p p; false when it could not make the text's own
 * fingerprint. */
static bool textcat_part(const struct tr_detector *d, const char *buf, size_t n, float *p)
{
        int dist[TR_DETECT_MAX_LANGS], best = INT_MAX;
        double w[TR_DETECT_MAX_LANGS], sum = 0;
        void *u = fp_Init(NULL);

        if (!u)
                return false;
        fp_SetProperty(u, TCPROP_UTF8AWARE, TC_TRUE);
        /* its default (25 characters) would leave short texts to CLD2 alone */
        fp_SetProperty(u, TCPROP_MINIMUM_DOCUMENT_SIZE, 1);
        if (!fp_Create(u, buf, (uint4)n, TEXTCAT_NGRAMS)) {
                fp_Done(u);
                return false;
        }
        for (size_t i = 0; i < d->nlangs; i++) {
                if (!d->fp[i])
                        continue;
                dist[i] = fp_Compare(d->fp[i], u, INT_MAX);
                if (dist[i] < best)
                        best = dist[i];
        }
        fp_Done(u);
        if (best == INT_MAX)
                return false;
        for (size_t i = 0; i < d->nlangs; i++) {
                w[i] = 0;
                if (!d->fp[i])
                        continue;
                w[i] = exp(-(double)(dist[i] - best) /
                           (TEXTCAT_TEMPERATURE * (best > 0 ? best : 1)));
                sum += w[i];
        }
        for (size_t i = 0; i < d->nlangs; i++)
                p[i] = (float)(w[i] / sum);
        return true;
}

size_t tr_detect(const struct tr_detector *d, const char *text, size_t len,
                 struct tr_detection *out, size_t max)
{
        char buf[TR_DETECT_MAX_BYTES + 1];
        float p[TR_DETECT_MAX_LANGS] = { 0 }, pc[TR_DETECT_MAX_LANGS] = { 0 },
              pt[TR_DETECT_MAX_LANGS] = { 0 };
        size_t n, letters, nout = 0;
        bool used[TR_DETECT_MAX_LANGS] = { false };
        int cld2 = -1;
        bool textcat = false;
        float wc = 0;

        if (!d || !text || len == 0 || max == 0)
                return 0;
        n = text_prepare(text, len, buf, &letters);
        if (letters == 0)
                return 0;
        if (d->method != TR_DETECT_TEXTCAT)
                cld2 = cld2_part(d, buf, n, pc);
        if (d->method != TR_DETECT_CLD2)
                textcat = textcat_part(d, buf, n, pt);
        /* the weight of CLD2's distribution: see the top of the file */
        if (cld2 >= 0) {
                if (d->method == TR_DETECT_COMBINED && textcat)
                        wc = cld2 ? COMBINED_CLD2_SURE : COMBINED_CLD2_GUESS;
                else
                        wc = cld2 ? 1.0f : CLD2_GUESS_WEIGHT;
        }
        for (size_t i = 0; i < d->nlangs; i++)
                p[i] = wc * pc[i] + (textcat ? (cld2 >= 0 ? 1.0f - wc : 1.0f) * pt[i] : 0.0f);
        /* the most likely first, ties in the detector's order */
        while (nout < max) {
                size_t top = d->nlangs;

                for (size_t i = 0; i < d->nlangs; i++) {
                        if (!used[i] && p[i] >= MIN_CONFIDENCE &&
                            (top == d->nlangs || p[i] > p[top]))
                                top = i;
                }
                if (top == d->nlangs)
                        break;
                used[top] = true;
                strcpy(out[nout].language, d->code[top]);
                out[nout].confidence = p[top] > 1.0f ? 1.0f : p[top];
                nout++;
        }
        return nout;
}

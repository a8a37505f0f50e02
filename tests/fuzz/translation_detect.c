/* libFuzzer target for the translation service's language detection: any
 * bytes, as a client may send them (invalid UTF-8, NULs, control
 * characters, texts longer than what is read), go to tr_detect() with every
 * method, over the service's languages and over two of them. Each answer
 * must be well-formed: at most the candidates asked for, each one of the
 * detector's languages and only once, confidences in (0, 1] from the most
 * confident down, summing to at most 1. Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "translation/detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const langs[] = { "en", "es", "ca", "fr", "it", "pt", "gl", "ro" };
#define NLANGS   (sizeof(langs) / sizeof(langs[0]))
#define NMETHODS 3

/* Made once: every method over the eight languages, then over the first two. */
static struct tr_detector *detectors[2 * NMETHODS];

static void detectors_make(void)
{
        char errstr[256];

        for (int i = 0; i < 2 * NMETHODS; i++) {
                detectors[i] = tr_detector_new((enum tr_detect_method)(i % NMETHODS), langs,
                                               i < NMETHODS ? NLANGS : 2, errstr, sizeof(errstr));
                if (!detectors[i])
                        abort();
        }
}

static void check(const struct tr_detection *out, size_t n, size_t max, size_t nlangs)
{
        float sum = 0;

        if (n > max)
                abort();
        for (size_t i = 0; i < n; i++) {
                size_t k;

                for (k = 0; k < nlangs && strcmp(out[i].language, langs[k]) != 0; k++)
                        ;
                if (k == nlangs || !(out[i].confidence > 0.0f && out[i].confidence <= 1.0f))
                        abort();
                if (i > 0 && out[i].confidence > out[i - 1].confidence)
                        abort();
                for (k = 0; k < i; k++) {
                        if (strcmp(out[i].language, out[k].language) == 0)
                                abort();
                }
                sum += out[i].confidence;
        }
        if (sum > 1.001f)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tr_detection out[4];
        /* the text is exactly the input: a copy of its size, so that reading
         * past it is caught */
        char *text = malloc(size ? size : 1);
        size_t max = size ? data[0] % 5 : 3;

        if (!detectors[0])
                detectors_make();
        if (!text)
                return 0;
        memcpy(text, data, size);
        for (int i = 0; i < 2 * NMETHODS; i++) {
                size_t n = tr_detect(detectors[i], text, size, out, max);

                check(out, n, max, i < NMETHODS ? NLANGS : 2);
        }
        free(text);
        return 0;
}

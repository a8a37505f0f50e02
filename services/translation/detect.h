/* Language detection for the translation service: which of the languages
 * it can translate from a text is written in, ranked, each with a
 * confidence. Three methods: CLD2 (cld2_shim.h), libexttextcat's n-gram
 * fingerprints, and the two combined; docs/benchmarks.md ("Translation:
 * language detection") has their accuracy by text length, measured by
 * tests/bench/translation_detect.c on tests/data/translation/detect.tsv,
 * which chose the default.
 *
 * A detector is read-only once made: any number of threads may call
 * tr_detect() on one detector at once, with no lock. */
#ifndef TRANSLATION_DETECT_H
#define TRANSLATION_DETECT_H

#include <stddef.h>

/* Where libexttextcat's fingerprints are (Debian's libexttextcat-data): one
 * <code>.lm file a language. */
#define TR_TEXTCAT_DIR "/usr/share/libexttextcat"
/* At most this many languages a detector. */
#define TR_DETECT_MAX_LANGS 64
/* Only the first this many bytes of a text are read (cut at a character
 * boundary): enough for any method to be sure, and a bound on the time a
 * very long text takes. */
#define TR_DETECT_MAX_BYTES 4096

struct tr_detection {
        char language[8]; /* a code the detector was made with */
        float confidence; /* 0..1, about the chance that this is the language */
};

enum tr_detect_method {
        TR_DETECT_CLD2,
        TR_DETECT_TEXTCAT,
        TR_DETECT_COMBINED,
};

/* The method to use when the configuration names none: the one the
 * measurement above found most accurate on short texts. */
#define TR_DETECT_DEFAULT TR_DETECT_COMBINED

struct tr_detector;

/* A detector of @p langs[0..nlangs) (ISO 639-1 codes, borrowed; the
 * detector keeps copies): the languages the caller accepts, the only ones
 * tr_detect() ever returns. Every one must be known to the method (to CLD2,
 * to libexttextcat with a fingerprint in TR_TEXTCAT_DIR, or both for
 * combined), and none given twice. Returns NULL with a message in @p errstr
 * naming the problem (an unknown or repeated code, a fingerprint that could
 * not be read, no languages, too many). Free with tr_detector_free(). */
struct tr_detector *tr_detector_new(enum tr_detect_method m, const char *const *langs,
                                    size_t nlangs, char *errstr, size_t errstr_size);

/* Ranks the languages of @p text[0..len) (UTF-8; borrowed) into
 * @p out[0..max), most confident first, leaving out those below 0.01.
 * Returns how many it wrote; 0 when nothing was recognised: an empty text,
 * one without letters, or (CLD2 alone) one in none of the detector's
 * languages, which the combined method gives low confidences instead.
 * Bytes that are not UTF-8 are read as spaces: refusing such a text is the
 * caller's job, but it does no harm here. Any thread, at any time. */
size_t tr_detect(const struct tr_detector *d, const char *text, size_t len,
                 struct tr_detection *out, size_t max);

void tr_detector_free(struct tr_detector *d);

/* "cld2", "textcat" or "combined" into @p out; 0, or -1 for any other name. */
int tr_detect_method_parse(const char *name, enum tr_detect_method *out);
/* The name tr_detect_method_parse() reads for @p m. */
const char *tr_detect_method_name(enum tr_detect_method m);

#endif

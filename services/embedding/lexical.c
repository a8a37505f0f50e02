/* Text becomes a vector here: the lexical model, a fastText-style bag of
 * hashed word and character n-grams.
 *
 * 1. Normalise. Pure ASCII text (the common case) is folded to lower case
 *    through a table. Other text goes through utf8proc: compatibility
 *    decomposition with Unicode case folding, default-ignorable code points
 *    (soft hyphen, zero-width space) dropped, the combining diacritical marks
 *    of Latin, Greek and Cyrillic (U+0300-036F and their extension blocks)
 *    dropped, then recomposition: NFKC of the case-folded, accent-less text.
 *    So "Café", "CAFE" and "cafe" are one word, "ﬁ" is "fi" and a full-width
 *    "Ａ" is "a". Only those accents go: marks that carry meaning in other
 *    scripts (Devanagari vowel signs, kana voicing marks) stay. ASCII text
 *    gives the same result on both paths.
 * 2. Tokenise. A word is a run of letters and digits (Unicode categories L
 *    and N; a mark continues a word but does not start one). Anything else
 *    separates words. Words are written to the scratch as "<w1><w2>...", so
 *    every feature below is a contiguous slice of bytes.
 * 3. Features, for each word w: the unigram w, the bigram of the previous
 *    word and w, and the character 3-, 4- and 5-grams (in code points) of
 *    "<w>", the brackets marking the word's start and end.
 * 4. Count. Each distinct feature counts once, with value
 *    weight(kind) * (1 + ln tf): repeating a word helps, but sublinearly.
 * 5. Hash. XXH3-64 of the feature's bytes, seeded per kind; the low 32 bits
 *    pick the bucket (multiply-shift into [0, dim)), bit 63 the sign, so
 *    collisions cancel out on average instead of piling up.
 * 6. Sum in double, L2-normalise, store as float.
 *
 * Weights: unigram 1.0; bigram 0.8 (word order matters, but less than the
 * words); each character n-gram 0.3, so the 12 n-grams of a 5-letter word
 * carry 12 x 0.3^2 = 1.08, about the squared weight of the word itself: a
 * word counts about as much through its pieces as through its identity, and
 * the pieces bring inflections ("sits" / "sitting") and typos close.
 *
 * A text without any word (punctuation, symbols or spaces only) has one
 * feature instead, kind RAW: its whole normalised text. So it still gets a
 * unit vector, the same one for the same punctuation. The same fallback
 * covers the (astronomically unlikely) case of features cancelling to an
 * exact zero vector.
 *
 * Determinism: XXH3 is defined on bytes, the same on every platform;
 * features are summed in the order they first occur; nothing depends on
 * pointers, time or randomness. One build gives bit-identical vectors; other
 * compilers or CPUs may differ in the last bit of a float (fused
 * multiply-add, libm's log), far below what a similarity search notices.
 * Unicode tables are those of the installed utf8proc: a newer Unicode
 * version only changes how newly assigned characters normalise. */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "lexical.h"

#define TABLE_MIN       64                /* slots of the feature table, at least */
#define TABLE_START_MAX ((size_t)1 << 14) /* larger tables are grown into */

/* A word in scr->text, brackets included. */
struct lexical_word {
        uint32_t start;
        uint32_t len;
};

/* A distinct feature of the text being embedded. */
struct lexical_feature {
        uint64_t hash;
        uint32_t tf;
        uint32_t kind;
};

struct lexical_scratch {
        int32_t *cps; /* normalised code points (non-ASCII texts) */
        size_t cps_cap;
        char *text; /* the words as "<w1><w2>...", UTF-8 */
        size_t text_cap;
        size_t text_len;
        struct lexical_word *words;
        size_t words_cap;
        size_t nwords;
        struct lexical_feature *feats; /* distinct features, in first-seen order */
        size_t feats_cap;
        size_t nfeats;
        uint32_t *table; /* 1 + index into feats, 0 when free; all 0 between calls */
        size_t table_cap;
        size_t mask; /* slots in use this call, minus one */
        bool oom;    /* a feature was lost for want of memory */
        double *acc;
        size_t acc_cap;
};

/* Part of the model: changing one changes every vector. */
/* clang-format off */
static const uint64_t kind_seed[LEXICAL_KIND__COUNT] = {
        [LEXICAL_UNIGRAM] = 0x636169726e000001ULL,
        [LEXICAL_BIGRAM]  = 0x636169726e000002ULL,
        [LEXICAL_CHAR3]   = 0x636169726e000003ULL,
        [LEXICAL_CHAR4]   = 0x636169726e000004ULL,
        [LEXICAL_CHAR5]   = 0x636169726e000005ULL,
        [LEXICAL_RAW]     = 0x636169726e000006ULL,
};

/* ASCII letters and digits, folded to lower case; 0 for separators. */
#define SAME(c)  [c] = c
#define LETTER(c) [(c) - 'a' + 'A'] = c, [c] = c
static const unsigned char ascii_word[128] = {
        SAME('0'), SAME('1'), SAME('2'), SAME('3'), SAME('4'),
        SAME('5'), SAME('6'), SAME('7'), SAME('8'), SAME('9'),
        LETTER('a'), LETTER('b'), LETTER('c'), LETTER('d'), LETTER('e'), LETTER('f'), LETTER('g'),
        LETTER('h'), LETTER('i'), LETTER('j'), LETTER('k'), LETTER('l'), LETTER('m'), LETTER('n'),
        LETTER('o'), LETTER('p'), LETTER('q'), LETTER('r'), LETTER('s'), LETTER('t'), LETTER('u'),
        LETTER('v'), LETTER('w'), LETTER('x'), LETTER('y'), LETTER('z'),
};
#undef SAME
#undef LETTER
/* clang-format on */

void lexical_model_init(struct lexical_model *model, size_t dim)
{
        assert(dim >= 1);
        memset(model, 0, sizeof(*model));
        model->dim = dim;
        model->weight[LEXICAL_UNIGRAM] = 1.0;
        model->weight[LEXICAL_BIGRAM] = 0.8;
        model->weight[LEXICAL_CHAR3] = 0.3;
        model->weight[LEXICAL_CHAR4] = 0.3;
        model->weight[LEXICAL_CHAR5] = 0.3;
        model->weight[LEXICAL_RAW] = 1.0;
}

struct lexical_scratch *lexical_scratch_new(void)
{
        return calloc(1, sizeof(struct lexical_scratch));
}

void lexical_scratch_free(struct lexical_scratch *scr)
{
        if (!scr)
                return;
        free(scr->cps);
        free(scr->text);
        free(scr->words);
        free(scr->feats);
        free(scr->table);
        free(scr->acc);
        free(scr);
}

/* Returns @p buf if it holds @p need elements of @p size bytes, else a new
 * buffer that does (the old one freed, the contents not kept), or NULL when
 * out of memory (@p buf untouched). */
static void *reserve(void *buf, size_t *cap, size_t need, size_t size)
{
        void *nbuf;

        if (need <= *cap)
                return buf;
        if (need > SIZE_MAX / size)
                return NULL;
        nbuf = malloc(need * size);
        if (!nbuf)
                return NULL;
        free(buf);
        *cap = need;
        return nbuf;
}

static int reserve_text(struct lexical_scratch *scr, size_t need)
{
        char *text = reserve(scr->text, &scr->text_cap, need, 1);

        if (!text)
                return -1;
        scr->text = text;
        return 0;
}

/* Room for splitting into at most @p text bytes and @p words words. */
static int reserve_split(struct lexical_scratch *scr, size_t text, size_t words)
{
        struct lexical_word *w = reserve(scr->words, &scr->words_cap, words, sizeof(*w));

        if (!w)
                return -1;
        scr->words = w;
        return reserve_text(scr, text);
}

static int reserve_cps(struct lexical_scratch *scr, size_t need)
{
        int32_t *cps = reserve(scr->cps, &scr->cps_cap, need, sizeof(*cps));

        if (!cps)
                return -1;
        scr->cps = cps;
        return 0;
}

static bool is_ascii(const unsigned char *s, size_t len)
{
        size_t i = 0;

        for (; i + 8 <= len; i += 8) {
                uint64_t w;

                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ULL)
                        return false;
        }
        for (; i < len; i++)
                if (s[i] & 0x80)
                        return false;
        return true;
}

/* The combining marks that are accents on Latin, Greek and Cyrillic
 * letters: Combining Diacritical Marks and its Extended and Supplement
 * blocks, the marks for symbols, and the combining half marks. */
static bool is_diacritic(int32_t cp)
{
        return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
               (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
               (cp >= 0xFE20 && cp <= 0xFE2F);
}

static void word_open(struct lexical_scratch *scr, size_t *o)
{
        scr->words[scr->nwords].start = (uint32_t)*o;
        scr->text[(*o)++] = '<';
}

static void word_close(struct lexical_scratch *scr, size_t *o)
{
        scr->text[(*o)++] = '>';
        scr->words[scr->nwords].len = (uint32_t)(*o - scr->words[scr->nwords].start);
        scr->nwords++;
}

/* Splits text read as bytes: ASCII letters and digits folded to lower case,
 * bytes >= 0x80 kept as letters (they reach here only when the text is not
 * valid UTF-8), anything else a separator. */
static int split_bytes(struct lexical_scratch *scr, const unsigned char *s, size_t len)
{
        size_t o = 0;
        bool inword = false;

        /* A word of one byte takes three: at most 2 * len + 1 bytes. */
        if (reserve_split(scr, 2 * len + 2, len / 2 + 1) != 0)
                return -1;
        scr->nwords = 0;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = s[i] < 0x80 ? ascii_word[s[i]] : s[i];

                if (c) {
                        if (!inword)
                                word_open(scr, &o);
                        inword = true;
                        scr->text[o++] = (char)c;
                } else if (inword) {
                        word_close(scr, &o);
                        inword = false;
                }
        }
        if (inword)
                word_close(scr, &o);
        scr->text_len = o;
        return 0;
}

/* NFKC with case folding, without ignorables and accents, into scr->cps.
 * Returns the number of code points, -1 when out of memory, -2 when @p s is
 * not valid UTF-8. */
static ptrdiff_t normalise(struct lexical_scratch *scr, const unsigned char *s, size_t len)
{
        const utf8proc_option_t opts = UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                       UTF8PROC_IGNORE;
        utf8proc_ssize_t n;
        size_t k = 0;

        /* Most texts decompose into no more code points than they have bytes. */
        if (reserve_cps(scr, len + 1) != 0)
                return -1;
        for (;;) {
                n = utf8proc_decompose(s, (utf8proc_ssize_t)len, scr->cps,
                                       (utf8proc_ssize_t)scr->cps_cap, opts);
                if (n < 0)
                        return -2;
                if ((size_t)n <= scr->cps_cap)
                        break;
                if (reserve_cps(scr, (size_t)n) != 0)
                        return -1;
        }
        for (utf8proc_ssize_t i = 0; i < n; i++)
                if (!is_diacritic(scr->cps[i]))
                        scr->cps[k++] = scr->cps[i];
        n = utf8proc_normalize_utf32(scr->cps, (utf8proc_ssize_t)k, UTF8PROC_COMPOSE);
        return n < 0 ? -2 : (ptrdiff_t)n;
}

/* Splits the @p n normalised code points in scr->cps. */
static int split_cps(struct lexical_scratch *scr, size_t n)
{
        size_t o = 0;
        bool inword = false;

        /* Four bytes a code point, and brackets around words of one. */
        if (reserve_split(scr, 6 * n + 2, n / 2 + 1) != 0)
                return -1;
        scr->nwords = 0;
        for (size_t i = 0; i < n; i++) {
                int32_t cp = scr->cps[i];
                bool letter;

                if (cp < 0x80) {
                        letter = ascii_word[cp] != 0;
                } else {
                        utf8proc_category_t cat = utf8proc_category(cp);

                        letter = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                                 (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) ||
                                 (inword && cat >= UTF8PROC_CATEGORY_MN &&
                                  cat <= UTF8PROC_CATEGORY_ME);
                }
                if (letter) {
                        if (!inword)
                                word_open(scr, &o);
                        inword = true;
                        if (cp < 0x80)
                                scr->text[o++] = (char)ascii_word[cp];
                        else
                                o += (size_t)utf8proc_encode_char(cp,
                                                                  (utf8proc_uint8_t *)scr->text +
                                                                          o);
                } else if (inword) {
                        word_close(scr, &o);
                        inword = false;
                }
        }
        if (inword)
                word_close(scr, &o);
        scr->text_len = o;
        return 0;
}

/* Normalises and splits @p s into scr->text and scr->words. Sets *@p cps to
 * the number of normalised code points in scr->cps, or -1 when the text was
 * read as bytes. Returns 0 or -1 (out of memory). */
static int split(struct lexical_scratch *scr, const unsigned char *s, size_t len, ptrdiff_t *cps)
{
        *cps = -1;
        if (is_ascii(s, len))
                return split_bytes(scr, s, len);
        ptrdiff_t n = normalise(scr, s, len);
        if (n == -1)
                return -1;
        if (n < 0)
                return split_bytes(scr, s, len);
        *cps = n;
        return split_cps(scr, (size_t)n);
}

/* Makes the whole normalised text the only content of scr->text, for the
 * RAW feature. */
static int raw_text(struct lexical_scratch *scr, const unsigned char *s, size_t len, ptrdiff_t cps)
{
        size_t o = 0;

        if (cps < 0) {
                if (reserve_text(scr, len + 1) != 0)
                        return -1;
                for (size_t i = 0; i < len; i++) {
                        unsigned char c = s[i];

                        scr->text[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
                }
        } else {
                if (reserve_text(scr, 4 * (size_t)cps + 1) != 0)
                        return -1;
                for (ptrdiff_t i = 0; i < cps; i++)
                        o += (size_t)utf8proc_encode_char(scr->cps[i],
                                                          (utf8proc_uint8_t *)scr->text + o);
        }
        scr->text_len = o;
        return 0;
}

/* ---- counting distinct features ---- */

static size_t pow2_at_least(size_t n)
{
        size_t p = TABLE_MIN;

        while (p < n)
                p *= 2;
        return p;
}

/* Starts counting for a text of about @p expect features. */
static int count_begin(struct lexical_scratch *scr, size_t expect)
{
        size_t slots = pow2_at_least(2 * expect);

        if (slots > TABLE_START_MAX)
                slots = TABLE_START_MAX;
        if (slots > scr->table_cap) {
                uint32_t *t = calloc(slots, sizeof(*t));

                if (!t)
                        return -1;
                free(scr->table);
                scr->table = t;
                scr->table_cap = slots;
        }
        scr->mask = slots - 1;
        scr->nfeats = 0;
        scr->oom = false;
        return 0;
}

/* Leaves the table all free for the next call. */
static void count_end(struct lexical_scratch *scr)
{
        memset(scr->table, 0, (scr->mask + 1) * sizeof(*scr->table));
}

static size_t slot_of(const struct lexical_scratch *scr, uint64_t hash)
{
        return (size_t)(hash >> 32) & scr->mask;
}

/* Doubles the slots in use, keeping the load under one half. */
static int table_grow(struct lexical_scratch *scr)
{
        size_t slots = 2 * (scr->mask + 1);

        if (slots > scr->table_cap) {
                uint32_t *t = calloc(slots, sizeof(*t));

                if (!t)
                        return -1;
                free(scr->table);
                scr->table = t;
                scr->table_cap = slots;
        } else {
                count_end(scr);
        }
        scr->mask = slots - 1;
        for (size_t k = 0; k < scr->nfeats; k++) {
                size_t i = slot_of(scr, scr->feats[k].hash);

                while (scr->table[i] != 0)
                        i = (i + 1) & scr->mask;
                scr->table[i] = (uint32_t)(k + 1);
        }
        return 0;
}

static int feats_grow(struct lexical_scratch *scr)
{
        size_t cap = scr->feats_cap ? 2 * scr->feats_cap : 256;
        struct lexical_feature *f;

        if (cap > UINT32_MAX / 2) /* the table holds 32-bit indices */
                return -1;
        f = realloc(scr->feats, cap * sizeof(*f));
        if (!f)
                return -1;
        scr->feats = f;
        scr->feats_cap = cap;
        return 0;
}

/* Counts one occurrence of a feature. Running out of memory is recorded in
 * scr->oom, so the feature loops stay simple; the caller checks it once. */
static void count(struct lexical_scratch *scr, const char *p, size_t len, enum lexical_kind kind)
{
        uint64_t hash = XXH3_64bits_withSeed(p, len, kind_seed[kind]);
        size_t i;

        if (2 * (scr->nfeats + 1) > scr->mask + 1 && table_grow(scr) != 0) {
                scr->oom = true;
                return;
        }
        i = slot_of(scr, hash);
        while (scr->table[i] != 0) {
                struct lexical_feature *f = &scr->feats[scr->table[i] - 1];

                /* 64 bits name a feature: two distinct ones sharing a hash are
                 * as unlikely as they are harmless. */
                if (f->hash == hash) {
                        f->tf++;
                        return;
                }
                i = (i + 1) & scr->mask;
        }
        if (scr->nfeats == scr->feats_cap && feats_grow(scr) != 0) {
                scr->oom = true;
                return;
        }
        scr->feats[scr->nfeats] = (struct lexical_feature){ hash, 1, (uint32_t)kind };
        scr->table[i] = (uint32_t)++scr->nfeats;
}

/* The character 3-, 4- and 5-grams of @p w ("<word>", @p len bytes), in
 * code points: a ring keeps where the last few code points start. */
static void count_char_ngrams(struct lexical_scratch *scr, const char *w, size_t len)
{
        size_t start[8];
        size_t k = 0; /* code points before p */

        for (size_t p = 0; p <= len; p++) {
                if (p < len && ((unsigned char)w[p] & 0xC0) == 0x80)
                        continue;
                start[k & 7] = p;
                for (size_t n = 3; n <= 5 && n <= k; n++) {
                        size_t from = start[(k - n) & 7];

                        count(scr, w + from, p - from, (enum lexical_kind)(LEXICAL_CHAR3 + n - 3));
                }
                k++;
        }
}

static void count_words(struct lexical_scratch *scr)
{
        const char *t = scr->text;

        for (size_t k = 0; k < scr->nwords; k++) {
                const struct lexical_word *w = &scr->words[k];

                count(scr, t + w->start + 1, w->len - 2, LEXICAL_UNIGRAM);
                if (k > 0) {
                        /* "prev><word": both words and what separates them */
                        size_t from = w[-1].start + 1;

                        count(scr, t + from, w->start + w->len - 1 - from, LEXICAL_BIGRAM);
                }
                count_char_ngrams(scr, t + w->start, w->len);
        }
}

/* Sums the counted features into scr->acc; returns the L2 norm. */
static double accumulate(const struct lexical_model *model, struct lexical_scratch *scr, size_t dim)
{
        double *acc = scr->acc;
        double sq = 0;

        memset(acc, 0, dim * sizeof(*acc));
        for (size_t k = 0; k < scr->nfeats; k++) {
                const struct lexical_feature *f = &scr->feats[k];
                double v = model->weight[f->kind];
                size_t b = (size_t)(((f->hash & 0xFFFFFFFFu) * (uint64_t)dim) >> 32);

                if (f->tf > 1)
                        v *= 1.0 + log((double)f->tf);
                acc[b] += (f->hash >> 63) ? -v : v;
        }
        for (size_t i = 0; i < dim; i++)
                sq += acc[i] * acc[i];
        return sqrt(sq);
}

int lexical_tokenize(struct lexical_scratch *scr, const char *text, size_t len, size_t *ntokens)
{
        ptrdiff_t cps;

        assert(len <= LEXICAL_INPUT_MAX);
        if (split(scr, (const unsigned char *)text, len, &cps) != 0)
                return -1;
        *ntokens = scr->nwords;
        return 0;
}

int lexical_embed(const struct lexical_model *model, struct lexical_scratch *scr, const char *text,
                  size_t len, float *out, size_t dim, size_t *ntokens)
{
        const unsigned char *s = (const unsigned char *)text;
        ptrdiff_t cps;
        double *acc;
        double norm = 0, scale;

        assert(dim >= 1);
        assert(len <= LEXICAL_INPUT_MAX);
        acc = reserve(scr->acc, &scr->acc_cap, dim, sizeof(*acc));
        if (!acc)
                return -1;
        scr->acc = acc;
        if (split(scr, s, len, &cps) != 0)
                return -1;
        if (ntokens)
                *ntokens = scr->nwords;

        /* Words give two features each, their text at most three n-grams a byte. */
        if (count_begin(scr, 2 * scr->nwords + 3 * scr->text_len) != 0)
                return -1;
        count_words(scr);
        if (!scr->oom)
                norm = accumulate(model, scr, dim);
        if (!scr->oom && norm == 0) {
                count_end(scr);
                scr->nfeats = 0;
                if (raw_text(scr, s, len, cps) != 0)
                        return -1;
                count(scr, scr->text, scr->text_len, LEXICAL_RAW);
                if (!scr->oom)
                        norm = accumulate(model, scr, dim);
        }
        count_end(scr);
        if (scr->oom)
                return -1;
        assert(norm > 0); /* the RAW feature alone has a positive weight */
        scale = 1.0 / norm;
        for (size_t i = 0; i < dim; i++)
                out[i] = (float)(scr->acc[i] * scale);
        return 0;
}

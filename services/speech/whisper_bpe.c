/* Byte-level BPE encoding (whisper_bpe.h). Two hash tables built at load:
 * a token's bytes to its id, and a pair of ids to the rank of the merge
 * that joins them. A word is merged by repeatedly joining its best-ranked
 * adjacent pair, which is the BPE of GPT-2 and tokenizers (words are short:
 * the quadratic walk costs nothing next to a decoder step). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "whisper_bpe.h"

struct whisper_bpe {
        const struct whisper_vocab *vocab;
        int *token_slots; /* open addressing: token id + 1, 0 empty */
        size_t token_mask;
        uint64_t *pair_keys; /* (left + 1) << 32 | (right + 1), 0 empty */
        uint32_t *pair_ranks;
        size_t pair_mask;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
        return h;
}

static uint64_t hash_u64(uint64_t x)
{
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        return x;
}

/* The id of the token whose bytes are @p s[0..n), or -1. */
static int token_id(const struct whisper_bpe *b, const char *s, size_t n)
{
        for (size_t i = hash_bytes(s, n) & b->token_mask;; i = (i + 1) & b->token_mask) {
                const int slot = b->token_slots[i];

                if (!slot)
                        return -1;
                if (b->vocab->lens[slot - 1] == n && !memcmp(b->vocab->bytes[slot - 1], s, n))
                        return slot - 1;
        }
}

static long pair_rank(const struct whisper_bpe *b, unsigned left, unsigned right)
{
        const uint64_t key = (uint64_t)(left + 1) << 32 | (right + 1);

        for (size_t i = hash_u64(key) & b->pair_mask;; i = (i + 1) & b->pair_mask) {
                if (!b->pair_keys[i])
                        return -1;
                if (b->pair_keys[i] == key)
                        return b->pair_ranks[i];
        }
}

static size_t pow2_above(size_t n)
{
        size_t p = 1024;

        while (p < 2 * n)
                p *= 2;
        return p;
}

/* GPT-2's spelling of a merge side back into bytes (@p out holds the
 * length of @p s at least). Returns the length, or -1. */
static long side_bytes(const char *s, size_t len, char *out)
{
        size_t o = 0;

        for (size_t k = 0; k < len;) {
                utf8proc_int32_t cp;
                const utf8proc_ssize_t cl = utf8proc_iterate((const utf8proc_uint8_t *)s + k,
                                                             (utf8proc_ssize_t)(len - k), &cp);
                unsigned next = 256;
                int byte = -1;

                if (cl <= 0)
                        return -1;
                k += (size_t)cl;
                if ((cp >= '!' && cp <= '~') || (cp >= 0xa1 && cp <= 0xac) ||
                    (cp >= 0xae && cp <= 0xff))
                        byte = cp;
                for (unsigned c = 0; byte < 0 && c < 256; c++) {
                        const int printable = (c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) ||
                                              (c >= 0xae && c <= 0xff);

                        if (!printable && next++ == (unsigned)cp)
                                byte = (int)c;
                }
                if (byte < 0)
                        return -1;
                out[o++] = (char)byte;
        }
        return (long)o;
}

struct whisper_bpe *whisper_bpe_load(const struct whisper_vocab *vocab, const char *path,
                                     char *errstr, size_t errstr_size)
{
        struct whisper_bpe *b = calloc(1, sizeof(*b));
        json_error_t jerr;
        json_t *root = NULL, *merges;
        size_t i, n_merges;
        json_t *e;

        if (!b)
                goto oom;
        b->vocab = vocab;
        b->token_mask = pow2_above(vocab->n) - 1;
        b->token_slots = calloc(b->token_mask + 1, sizeof(int));
        if (!b->token_slots)
                goto oom;
        for (size_t id = 0; id < vocab->n; id++) {
                size_t k = hash_bytes(vocab->bytes[id], vocab->lens[id]) & b->token_mask;

                /* specials sit after the byte tokens: a special spelled as
                 * text never shadows the bytes' own tokens */
                if (id >= (size_t)vocab->eot)
                        break;
                while (b->token_slots[k])
                        k = (k + 1) & b->token_mask;
                b->token_slots[k] = (int)id + 1;
        }
        for (int c = 0; c < 256; c++) {
                const char byte = (char)c;

                if (token_id(b, &byte, 1) < 0) {
                        snprintf(errstr, errstr_size, "%s: byte 0x%02x has no token", path, c);
                        whisper_bpe_free(b);
                        return NULL;
                }
        }
        root = json_load_file(path, 0, &jerr);
        if (!root) {
                snprintf(errstr, errstr_size, "%s: line %d: %s", path, jerr.line, jerr.text);
                whisper_bpe_free(b);
                return NULL;
        }
        merges = json_object_get(json_object_get(root, "model"), "merges");
        if (!json_is_array(merges)) {
                snprintf(errstr, errstr_size, "%s: no model.merges array", path);
                goto fail;
        }
        n_merges = json_array_size(merges);
        b->pair_mask = pow2_above(n_merges) - 1;
        b->pair_keys = calloc(b->pair_mask + 1, sizeof(*b->pair_keys));
        b->pair_ranks = calloc(b->pair_mask + 1, sizeof(*b->pair_ranks));
        if (!b->pair_keys || !b->pair_ranks)
                goto oom;
        json_array_foreach(merges, i, e) {
                const char *s = json_string_value(e), *sp;
                char left[256], right[256];
                long ln, rn;
                int l, r;
                uint64_t key;
                size_t k;

                /* "a b", or ["a", "b"] in newer files */
                if (json_is_array(e) && json_array_size(e) == 2) {
                        const char *a = json_string_value(json_array_get(e, 0));
                        const char *c = json_string_value(json_array_get(e, 1));

                        ln = a && strlen(a) < sizeof(left) ? side_bytes(a, strlen(a), left) : -1;
                        rn = c && strlen(c) < sizeof(right) ? side_bytes(c, strlen(c), right) : -1;
                } else {
                        sp = s ? strchr(s, ' ') : NULL;
                        ln = sp && (size_t)(sp - s) < sizeof(left)
                                     ? side_bytes(s, (size_t)(sp - s), left)
                                     : -1;
                        rn = sp && strlen(sp + 1) < sizeof(right)
                                     ? side_bytes(sp + 1, strlen(sp + 1), right)
                                     : -1;
                }
                l = ln > 0 ? token_id(b, left, (size_t)ln) : -1;
                r = rn > 0 ? token_id(b, right, (size_t)rn) : -1;
                if (l < 0 || r < 0) {
                        snprintf(errstr, errstr_size,
                                 "%s: merge %zu is not a pair of vocabulary tokens", path, i);
                        goto fail;
                }
                key = (uint64_t)(l + 1) << 32 | (uint64_t)(r + 1);
                for (k = hash_u64(key) & b->pair_mask; b->pair_keys[k] && b->pair_keys[k] != key;
                     k = (k + 1) & b->pair_mask)
                        ;
                if (!b->pair_keys[k]) {
                        b->pair_keys[k] = key;
                        b->pair_ranks[k] = (uint32_t)i;
                }
        }
        json_decref(root);
        return b;
oom:
        snprintf(errstr, errstr_size, "%s: out of memory", path);
fail:
        json_decref(root);
        whisper_bpe_free(b);
        return NULL;
}

void whisper_bpe_free(struct whisper_bpe *b)
{
        if (!b)
                return;
        free(b->token_slots);
        free(b->pair_keys);
        free(b->pair_ranks);
        free(b);
}

/* ---- GPT-2's pre-tokenizer ---- */

enum cls { OTHER, LETTER, NUMBER, SPACE };

static enum cls class_of(utf8proc_int32_t cp)
{
        switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO:
                return LETTER;
        case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL:
        case UTF8PROC_CATEGORY_NO:
                return NUMBER;
        case UTF8PROC_CATEGORY_ZS:
        case UTF8PROC_CATEGORY_ZL:
        case UTF8PROC_CATEGORY_ZP:
                return SPACE;
        default:
                return (cp >= 9 && cp <= 13) || cp == 0x85 ? SPACE : OTHER;
        }
}

/* The length of the pre-tokenizer's match at code point @p i of @p cls
 * (with the code points @p cps), in code points. */
static size_t match(const utf8proc_int32_t *cps, const enum cls *cls, size_t i, size_t n)
{
        static const char *const contractions[] = { "s", "t", "re", "ve", "m", "ll", "d" };
        size_t j = i;

        if (cps[i] == '\'') {
                for (size_t c = 0; c < sizeof(contractions) / sizeof(*contractions); c++) {
                        const char *t = contractions[c];
                        size_t k = 0;

                        while (t[k] && i + 1 + k < n && cps[i + 1 + k] == t[k])
                                k++;
                        if (!t[k])
                                return 1 + k;
                }
        }
        if (cps[j] == ' ' && j + 1 < n && cls[j + 1] != SPACE)
                j++; /* " ?" before a letter, number or other */
        if (cls[j] != SPACE) {
                const enum cls c = cls[j];

                while (j < n && cls[j] == c)
                        j++;
                return j - i;
        }
        while (j < n && cls[j] == SPACE)
                j++;
        /* \s+(?!\S): leave the last space to the word that follows */
        if (j < n && j - i > 1)
                j--;
        return j - i;
}

/* BPE over the bytes @p s[0..len): appends the ids to @p ids (room @p max)
 * from *@p n on. */
static int word(const struct whisper_bpe *b, const char *s, size_t len, unsigned *ids, size_t max,
                size_t *n)
{
        unsigned *parts = malloc(len * sizeof(*parts));
        size_t *starts = malloc((len + 1) * sizeof(*starts)), np = len;

        if (!parts || !starts) {
                free(parts);
                free(starts);
                return -1;
        }
        for (size_t k = 0; k < len; k++) {
                parts[k] = (unsigned)token_id(b, s + k, 1);
                starts[k] = k;
        }
        starts[len] = len;
        for (;;) {
                long best = -1;
                size_t at = 0;

                for (size_t k = 0; k + 1 < np; k++) {
                        const long r = pair_rank(b, parts[k], parts[k + 1]);

                        if (r >= 0 && (best < 0 || r < best)) {
                                best = r;
                                at = k;
                        }
                }
                if (best < 0)
                        break;
                parts[at] = (unsigned)token_id(b, s + starts[at], starts[at + 2] - starts[at]);
                memmove(parts + at + 1, parts + at + 2, (np - at - 2) * sizeof(*parts));
                memmove(starts + at + 1, starts + at + 2, (np - at - 1) * sizeof(*starts));
                np--;
        }
        for (size_t k = 0; k < np; k++) {
                if (*n < max)
                        ids[*n] = parts[k];
                (*n)++;
        }
        free(parts);
        free(starts);
        return 0;
}

long whisper_bpe_encode(const struct whisper_bpe *b, const char *text, unsigned *ids, size_t max)
{
        const size_t len = strlen(text);
        utf8proc_int32_t *cps = malloc((len + 1) * sizeof(*cps));
        size_t *offs = malloc((len + 1) * sizeof(*offs));
        enum cls *cls = malloc((len + 1) * sizeof(*cls));
        size_t n = 0, count = 0;
        long rc = -1;

        if (!cps || !offs || !cls)
                goto out;
        for (size_t k = 0; k < len;) {
                utf8proc_int32_t cp;
                utf8proc_ssize_t cl = utf8proc_iterate((const utf8proc_uint8_t *)text + k,
                                                       (utf8proc_ssize_t)(len - k), &cp);

                if (cl <= 0) {
                        cp = 0xfffd; /* an invalid byte: a word of its own */
                        cl = 1;
                }
                offs[n] = k;
                cps[n] = cp;
                cls[n] = cp == 0xfffd ? OTHER : class_of(cp);
                n++;
                k += (size_t)cl;
        }
        offs[n] = len;
        for (size_t i = 0; i < n;) {
                const size_t m = match(cps, cls, i, n);

                if (word(b, text + offs[i], offs[i + m] - offs[i], ids, max, &count))
                        goto out;
                i += m;
        }
        rc = (long)count;
out:
        free(cps);
        free(offs);
        free(cls);
        return rc;
}

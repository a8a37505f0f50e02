/* Text becomes BERT token ids here, step for step as Hugging Face's
 * tokenizers library does it, so that a model sees exactly the ids it was
 * trained on:
 *
 * 1. Added tokens. The raw text is split on the added tokens of
 *    tokenizer.json ([PAD], [UNK], [CLS], [SEP], [MASK]), leftmost-longest
 *    match first; each match is that token's id, whatever the normalizer
 *    would have made of it.
 * 2. BertNormalizer, on each piece between them: clean_text drops NUL,
 *    U+FFFD and control, format and private-use characters and makes every
 *    white space a plain space; handle_chinese_chars puts spaces around CJK
 *    ideographs; strip_accents (by default when lowercasing) decomposes to
 *    NFD, canonical order included, and drops non-spacing marks; lowercase
 *    lower-cases each code point (U+0130 becomes "i" + U+0307).
 * 3. BertPreTokenizer: white space separates words and is dropped; each
 *    punctuation character is a word of its own.
 * 4. WordPiece, per word: a word of more than max_input_chars_per_word
 *    code points is [UNK]; otherwise the longest vocabulary entry that
 *    starts the word, then the longest "##" entry that continues it, and so
 *    on; a word that cannot be covered that way is a single [UNK].
 * 5. [CLS] + the tokens + [SEP], keeping only the first max_ids - 2 tokens.
 *
 * Unicode details (which characters are punctuation, marks, controls) are
 * the library's, not the installed utf8proc's: see bert_unicode.h.
 * Tokenizing stops as soon as the budget of ids is spent, so a long text
 * costs its normalisation and the words that fit, not more. */
#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cairn/file.h"
#include "bert_tokenizer.h"
#include "bert_unicode.h"

/* Bound on max_input_chars_per_word, so that one word's buffers stay small. */
#define WORD_CHARS_LIMIT 10000

/* One vocabulary entry in a hash table; id < 0 marks an empty slot. */
struct vocab_slot {
        uint64_t hash;
        uint32_t off; /* into the tokenizer's blob */
        uint32_t len;
        int32_t id;
};

struct vocab {
        struct vocab_slot *slots;
        size_t mask; /* slots - 1, a power of two minus one */
        size_t n;
};

struct added_token {
        char *content;
        size_t len;
        int32_t id;
};

struct bert_tokenizer {
        bool clean_text;
        bool chinese;
        bool strip_accents;
        bool lowercase;
        char *blob; /* every vocabulary string, back to back */
        size_t blob_len;
        struct vocab words; /* the whole vocabulary */
        struct vocab conts; /* entries that start with the prefix, without it */
        int32_t unk_id;
        int32_t cls_id;
        int32_t sep_id;
        size_t max_word_chars;
        struct added_token *added;
        size_t n_added;
        uint8_t added_first[32]; /* bit set of the added tokens' first bytes */
        size_t id_limit;
};

struct bert_tokenizer_scratch {
        int32_t *a; /* decoded, cleaned, decomposed */
        size_t a_cap;
        int32_t *b; /* normalised */
        size_t b_cap;
        char *word; /* one word in UTF-8 */
        size_t word_cap;
        size_t *bounds; /* byte offset of each of its characters, and its end */
        size_t bounds_cap;
        int32_t *pieces; /* its ids, until the word is known to be covered */
        size_t pieces_cap;
};

/* ---- loading ---- */

static void *fail(char *errstr, size_t errstr_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void *fail(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
        return NULL;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
        return XXH3_64bits(s, len);
}

static int vocab_init(struct vocab *v, size_t n)
{
        size_t cap = 16;

        while (cap < 2 * n)
                cap *= 2;
        v->slots = malloc(cap * sizeof(*v->slots));
        if (!v->slots)
                return -1;
        for (size_t i = 0; i < cap; i++)
                v->slots[i].id = -1;
        v->mask = cap - 1;
        v->n = 0;
        return 0;
}

/* Adds blob[off..off+len) with @p id; a string already there keeps its
 * first id (the JSON object has each string once). */
static void vocab_add(struct vocab *v, const char *blob, uint32_t off, uint32_t len, int32_t id)
{
        uint64_t h = hash_bytes(blob + off, len);

        for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
                struct vocab_slot *s = &v->slots[i];

                if (s->id < 0) {
                        *s = (struct vocab_slot){ h, off, len, id };
                        v->n++;
                        return;
                }
                if (s->hash == h && s->len == len && memcmp(blob + s->off, blob + off, len) == 0)
                        return;
        }
}

static int32_t vocab_find(const struct vocab *v, const char *blob, const char *s, size_t len)
{
        uint64_t h = hash_bytes(s, len);

        for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
                const struct vocab_slot *e = &v->slots[i];

                if (e->id < 0)
                        return -1;
                if (e->hash == h && e->len == len && memcmp(blob + e->off, s, len) == 0)
                        return e->id;
        }
}

/* A JSON boolean, or @p dflt when the key is missing or null. */
static int get_bool(const json_t *obj, const char *key, bool dflt, bool *out)
{
        const json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                *out = dflt;
                return 0;
        }
        if (!json_is_boolean(v))
                return -1;
        *out = json_is_true(v);
        return 0;
}

static const char *type_of(const json_t *obj)
{
        const json_t *t = json_object_get(obj, "type");

        return json_is_string(t) ? json_string_value(t) : "";
}

static void *load_normalizer(struct bert_tokenizer *tok, const json_t *n, char *errstr,
                             size_t errstr_size)
{
        bool strip_set;
        const json_t *strip;

        if (!n || json_is_null(n))
                return tok; /* no normalizer: the text as it is */
        if (!json_is_object(n) || strcmp(type_of(n), "BertNormalizer") != 0)
                return fail(errstr, errstr_size,
                            "normalizer: only BertNormalizer is supported, not \"%.40s\"",
                            type_of(n));
        if (get_bool(n, "clean_text", true, &tok->clean_text) != 0 ||
            get_bool(n, "handle_chinese_chars", true, &tok->chinese) != 0 ||
            get_bool(n, "lowercase", true, &tok->lowercase) != 0)
                return fail(errstr, errstr_size, "normalizer: an option is not a boolean");
        /* strip_accents null (or missing) follows lowercase */
        strip = json_object_get(n, "strip_accents");
        strip_set = strip && !json_is_null(strip);
        if (strip_set && !json_is_boolean(strip))
                return fail(errstr, errstr_size, "normalizer: strip_accents is not a boolean");
        tok->strip_accents = strip_set ? json_is_true(strip) : tok->lowercase;
        return tok;
}

static void *load_vocab(struct bert_tokenizer *tok, const json_t *model, char *errstr,
                        size_t errstr_size)
{
        const json_t *vocab = json_object_get(model, "vocab");
        const json_t *unk = json_object_get(model, "unk_token");
        const json_t *prefix = json_object_get(model, "continuing_subword_prefix");
        const json_t *maxc = json_object_get(model, "max_input_chars_per_word");
        const char *pfx = "##", *key;
        size_t pfx_len, total = 0, n;
        const json_t *v;

        if (!json_is_object(model) || strcmp(type_of(model), "WordPiece") != 0)
                return fail(errstr, errstr_size,
                            "model: only WordPiece is supported, not \"%.40s\"",
                            json_is_object(model) ? type_of(model) : "");
        if (!json_is_object(vocab) || json_object_size(vocab) == 0)
                return fail(errstr, errstr_size, "model: no \"vocab\" object");
        if (!json_is_string(unk))
                return fail(errstr, errstr_size, "model: no \"unk_token\" string");
        if (prefix && !json_is_null(prefix)) {
                if (!json_is_string(prefix))
                        return fail(errstr, errstr_size,
                                    "model: continuing_subword_prefix is not a string");
                pfx = json_string_value(prefix);
        }
        pfx_len = strlen(pfx);
        tok->max_word_chars = 100;
        if (maxc && !json_is_null(maxc)) {
                if (!json_is_integer(maxc) || json_integer_value(maxc) < 1 ||
                    json_integer_value(maxc) > WORD_CHARS_LIMIT)
                        return fail(
                                errstr, errstr_size,
                                "model: max_input_chars_per_word is not an integer from 1 to %d",
                                WORD_CHARS_LIMIT);
                tok->max_word_chars = (size_t)json_integer_value(maxc);
        }
        n = json_object_size(vocab);
        json_object_foreach((json_t *)vocab, key, v) {
                json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;

                if (id < 0 || id > INT32_MAX - 1)
                        return fail(
                                errstr, errstr_size,
                                "model: vocab: the id of \"%.40s\" is not an integer from 0 to %d",
                                key, INT32_MAX - 1);
                if ((size_t)id + 1 > tok->id_limit)
                        tok->id_limit = (size_t)id + 1;
                total += strlen(key);
                if (total > UINT32_MAX)
                        return fail(errstr, errstr_size, "model: vocab: too large");
        }
        tok->blob = malloc(total ? total : 1);
        if (!tok->blob || vocab_init(&tok->words, n) != 0 || vocab_init(&tok->conts, n) != 0)
                return fail(errstr, errstr_size, "out of memory");
        json_object_foreach((json_t *)vocab, key, v) {
                size_t len = strlen(key);
                uint32_t off = (uint32_t)tok->blob_len;
                int32_t id = (int32_t)json_integer_value(v);

                memcpy(tok->blob + off, key, len);
                tok->blob_len += len;
                vocab_add(&tok->words, tok->blob, off, (uint32_t)len, id);
                if (len >= pfx_len && memcmp(key, pfx, pfx_len) == 0)
                        vocab_add(&tok->conts, tok->blob, off + (uint32_t)pfx_len,
                                  (uint32_t)(len - pfx_len), id);
        }
        tok->unk_id = vocab_find(&tok->words, tok->blob, json_string_value(unk),
                                 strlen(json_string_value(unk)));
        if (tok->unk_id < 0)
                return fail(errstr, errstr_size, "model: unk_token \"%.40s\" is not in the vocab",
                            json_string_value(unk));
        return tok;
}

static void *load_added(struct bert_tokenizer *tok, const json_t *added, char *errstr,
                        size_t errstr_size)
{
        size_t i;
        const json_t *t;

        if (!added || json_is_null(added))
                return tok;
        if (!json_is_array(added))
                return fail(errstr, errstr_size, "added_tokens is not an array");
        tok->added = calloc(json_array_size(added) + 1, sizeof(*tok->added));
        if (!tok->added)
                return fail(errstr, errstr_size, "out of memory");
        json_array_foreach((json_t *)added, i, t) {
                const json_t *content = json_object_get(t, "content");
                const json_t *id = json_object_get(t, "id");
                bool normalized, lstrip, rstrip, single_word;
                struct added_token *a = &tok->added[tok->n_added];

                if (!json_is_string(content) || json_string_length(content) == 0 ||
                    !json_is_integer(id) || json_integer_value(id) < 0 ||
                    json_integer_value(id) > INT32_MAX - 1)
                        return fail(errstr, errstr_size,
                                    "added_tokens[%zu]: needs a non-empty \"content\" and an "
                                    "\"id\" from 0 to %d",
                                    i, INT32_MAX - 1);
                if (get_bool(t, "normalized", false, &normalized) != 0 ||
                    get_bool(t, "lstrip", false, &lstrip) != 0 ||
                    get_bool(t, "rstrip", false, &rstrip) != 0 ||
                    get_bool(t, "single_word", false, &single_word) != 0)
                        return fail(errstr, errstr_size,
                                    "added_tokens[%zu] \"%.40s\": an option is not a boolean", i,
                                    json_string_value(content));
                /* Matching on the normalised text or around white space
                 * changes ids; BERT's special tokens need none of it. */
                if (normalized || lstrip || rstrip || single_word)
                        return fail(errstr, errstr_size,
                                    "added_tokens[%zu] \"%.40s\": normalized, lstrip, rstrip and "
                                    "single_word matching are not supported",
                                    i, json_string_value(content));
                a->len = json_string_length(content);
                a->content = malloc(a->len);
                if (!a->content)
                        return fail(errstr, errstr_size, "out of memory");
                memcpy(a->content, json_string_value(content), a->len);
                a->id = (int32_t)json_integer_value(id);
                tok->n_added++;
                tok->added_first[(uint8_t)a->content[0] >> 3] |= 1u << ((uint8_t)a->content[0] & 7);
                if ((size_t)a->id + 1 > tok->id_limit)
                        tok->id_limit = (size_t)a->id + 1;
        }
        return tok;
}

/* The id of a special token of a TemplateProcessing piece. */
static int32_t template_special(const json_t *piece, const json_t *specials)
{
        const json_t *st = json_object_get(piece, "SpecialToken");
        const json_t *name = json_object_get(st, "id");
        const json_t *ids = json_object_get(json_object_get(specials, json_string_value(name)),
                                            "ids");

        if (!json_is_string(name) || !json_is_array(ids) || json_array_size(ids) != 1 ||
            !json_is_integer(json_array_get(ids, 0)))
                return -1;
        if (json_integer_value(json_array_get(ids, 0)) < 0 ||
            json_integer_value(json_array_get(ids, 0)) > INT32_MAX - 1)
                return -1;
        return (int32_t)json_integer_value(json_array_get(ids, 0));
}

static int32_t bert_special(const json_t *pair)
{
        const json_t *id = json_array_get(pair, 1);

        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_string(json_array_get(pair, 0)) || !json_is_integer(id) ||
            json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX - 1)
                return -1;
        return (int32_t)json_integer_value(id);
}

static void *load_post(struct bert_tokenizer *tok, const json_t *post, char *errstr,
                       size_t errstr_size)
{
        const char *type = json_is_object(post) ? type_of(post) : "";

        if (strcmp(type, "TemplateProcessing") == 0) {
                const json_t *single = json_object_get(post, "single");
                const json_t *specials = json_object_get(post, "special_tokens");
                const json_t *seq = json_object_get(json_array_get(single, 1), "Sequence");

                if (!json_is_array(single) || json_array_size(single) != 3 ||
                    !json_is_string(json_object_get(seq, "id")) ||
                    strcmp(json_string_value(json_object_get(seq, "id")), "A") != 0)
                        return fail(errstr, errstr_size,
                                    "post_processor: only the template [special] $A [special] is "
                                    "supported");
                tok->cls_id = template_special(json_array_get(single, 0), specials);
                tok->sep_id = template_special(json_array_get(single, 2), specials);
        } else if (strcmp(type, "BertProcessing") == 0) {
                tok->cls_id = bert_special(json_object_get(post, "cls"));
                tok->sep_id = bert_special(json_object_get(post, "sep"));
        } else {
                return fail(errstr, errstr_size,
                            "post_processor: only TemplateProcessing and BertProcessing are "
                            "supported, not \"%.40s\"",
                            type);
        }
        if (tok->cls_id < 0 || tok->sep_id < 0)
                return fail(errstr, errstr_size,
                            "post_processor: the special tokens around the text have no single "
                            "id each");
        if ((size_t)tok->cls_id + 1 > tok->id_limit)
                tok->id_limit = (size_t)tok->cls_id + 1;
        if ((size_t)tok->sep_id + 1 > tok->id_limit)
                tok->id_limit = (size_t)tok->sep_id + 1;
        return tok;
}

struct bert_tokenizer *bert_tokenizer_parse(const char *json, size_t len, char *errstr,
                                            size_t errstr_size)
{
        struct bert_tokenizer *tok;
        json_error_t jerr;
        json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        const json_t *pre;
        void *ok;

        if (!root)
                return fail(errstr, errstr_size, "not valid JSON: %s (line %d)", jerr.text,
                            jerr.line);
        tok = calloc(1, sizeof(*tok));
        if (!tok) {
                json_decref(root);
                return fail(errstr, errstr_size, "out of memory");
        }
        pre = json_object_get(root, "pre_tokenizer");
        if (!json_is_object(root))
                ok = fail(errstr, errstr_size, "not a JSON object");
        else if (!json_is_object(pre) || strcmp(type_of(pre), "BertPreTokenizer") != 0)
                ok = fail(errstr, errstr_size,
                          "pre_tokenizer: only BertPreTokenizer is supported, not \"%.40s\"",
                          json_is_object(pre) ? type_of(pre) : "");
        else
                ok = load_normalizer(tok, json_object_get(root, "normalizer"), errstr, errstr_size);
        if (ok)
                ok = load_vocab(tok, json_object_get(root, "model"), errstr, errstr_size);
        if (ok)
                ok = load_added(tok, json_object_get(root, "added_tokens"), errstr, errstr_size);
        if (ok)
                ok = load_post(tok, json_object_get(root, "post_processor"), errstr, errstr_size);
        json_decref(root);
        if (!ok) {
                bert_tokenizer_free(tok);
                return NULL;
        }
        return tok;
}

struct bert_tokenizer *bert_tokenizer_load(const char *path, char *errstr, size_t errstr_size)
{
        char why[512];
        size_t len;
        char *text = cairn_file_read(path, BERT_TOKENIZER_FILE_MAX, &len, errstr, errstr_size);
        struct bert_tokenizer *tok;

        if (!text)
                return NULL;
        tok = bert_tokenizer_parse(text, len, why, sizeof(why));
        free(text);
        if (!tok)
                snprintf(errstr, errstr_size, "%s: %s", path, why);
        return tok;
}

void bert_tokenizer_free(struct bert_tokenizer *tok)
{
        if (!tok)
                return;
        for (size_t i = 0; i < tok->n_added; i++)
                free(tok->added[i].content);
        free(tok->added);
        free(tok->words.slots);
        free(tok->conts.slots);
        free(tok->blob);
        free(tok);
}

int32_t bert_tokenizer_token_id(const struct bert_tokenizer *tok, const char *token)
{
        size_t len = strlen(token);

        for (size_t i = 0; i < tok->n_added; i++) {
                if (tok->added[i].len == len && memcmp(tok->added[i].content, token, len) == 0)
                        return tok->added[i].id;
        }
        return vocab_find(&tok->words, tok->blob, token, len);
}

size_t bert_tokenizer_id_limit(const struct bert_tokenizer *tok)
{
        return tok->id_limit;
}

/* ---- scratch ---- */

struct bert_tokenizer_scratch *bert_tokenizer_scratch_new(void)
{
        return calloc(1, sizeof(struct bert_tokenizer_scratch));
}

void bert_tokenizer_scratch_free(struct bert_tokenizer_scratch *scr)
{
        if (!scr)
                return;
        free(scr->a);
        free(scr->b);
        free(scr->word);
        free(scr->bounds);
        free(scr->pieces);
        free(scr);
}

/* Makes room for @p need elements of @p size bytes in *@p buf. */
static int reserve(void *buf, size_t *cap, size_t need, size_t size)
{
        void **p = buf;
        size_t n = *cap ? *cap : 64;
        void *grown;

        if (need <= *cap)
                return 0;
        while (n < need)
                n *= 2;
        grown = realloc(*p, n * size);
        if (!grown)
                return -1;
        *p = grown;
        *cap = n;
        return 0;
}

/* ---- tokenizing ---- */

/* The ids of the text being tokenized, within a budget. */
struct out {
        int32_t *ids;
        size_t n;
        size_t budget;
        bool full; /* a token did not fit: the text is truncated */
};

static bool out_push(struct out *o, int32_t id)
{
        if (o->n == o->budget) {
                o->full = true;
                return false;
        }
        o->ids[o->n++] = id;
        return true;
}

static bool ascii_dropped(int32_t cp)
{
        return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F;
}

static bool is_dropped(int32_t cp)
{
        return cp < 0x80 ? ascii_dropped(cp) : bert_is_dropped(cp);
}

static bool is_whitespace(int32_t cp)
{
        return cp < 0x80 ? cp == ' ' || (cp >= '\t' && cp <= '\r') : bert_is_whitespace(cp);
}

static bool is_punct(int32_t cp)
{
        if (cp < 0x80)
                return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
                       (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
        return bert_is_punct(cp);
}

static int ccc(int32_t cp)
{
        return cp < 0x300 ? 0 : bert_combining_class(cp);
}

/* Appends @p cp, lower-cased when the normalizer says so, to scr->b. */
static void put_lower(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                      size_t *nb, int32_t cp)
{
        int32_t low[2];
        size_t n;

        if (!tok->lowercase) {
                scr->b[(*nb)++] = cp;
                return;
        }
        n = bert_lower(cp, low);
        for (size_t i = 0; i < n; i++)
                scr->b[(*nb)++] = low[i];
}

/* Stable insertion sort of a run of combining marks by combining class:
 * NFD's canonical ordering. Runs are a few marks long. */
static void canonical_order(int32_t *cps, size_t n)
{
        for (size_t i = 1; i < n; i++) {
                int32_t cp = cps[i];
                int c = ccc(cp);
                size_t j = i;

                while (j > 0 && ccc(cps[j - 1]) > c) {
                        cps[j] = cps[j - 1];
                        j--;
                }
                cps[j] = cp;
        }
}

/* BertNormalizer over @p s[0..len) into scr->b; returns its length in
 * *@p nb, or -1 when out of memory. */
static int normalize(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                     const char *s, size_t len, size_t *nb)
{
        size_t na = 0, i = 0;

        /* clean_text, handle_chinese_chars and the decomposition of NFD */
        while (i < len) {
                utf8proc_int32_t cp;
                utf8proc_ssize_t step;

                if ((unsigned char)s[i] < 0x80) {
                        cp = (unsigned char)s[i];
                        step = 1;
                } else {
                        step = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(len - i),
                                                &cp);
                        if (step < 1) { /* not UTF-8: one byte as U+FFFD */
                                cp = 0xFFFD;
                                step = 1;
                        }
                }
                i += (size_t)step;
                if (reserve(&scr->a, &scr->a_cap, na + 2 + BERT_NFD_MAX, sizeof(*scr->a)) != 0)
                        return -1;
                if (tok->clean_text) {
                        if (is_dropped(cp))
                                continue;
                        if (is_whitespace(cp))
                                cp = ' ';
                }
                if (tok->chinese && cp >= 0x3400 && bert_is_chinese(cp)) {
                        scr->a[na++] = ' ';
                        if (tok->strip_accents) /* compatibility ideographs decompose */
                                na += bert_decompose(cp, scr->a + na);
                        else
                                scr->a[na++] = cp;
                        scr->a[na++] = ' ';
                } else if (tok->strip_accents && cp >= 0xC0) {
                        na += bert_decompose(cp, scr->a + na);
                } else {
                        scr->a[na++] = cp;
                }
        }
        /* at most two code points out of each one (lower-casing U+0130) */
        if (reserve(&scr->b, &scr->b_cap, 2 * na + 1, sizeof(*scr->b)) != 0)
                return -1;
        *nb = 0;
        if (!tok->strip_accents) {
                for (size_t k = 0; k < na; k++)
                        put_lower(tok, scr, nb, scr->a[k]);
                return 0;
        }
        /* NFD's canonical ordering, then non-spacing marks out */
        for (size_t k = 0; k < na;) {
                size_t end = k;

                while (end < na && ccc(scr->a[end]) > 0)
                        end++;
                if (end > k + 1)
                        canonical_order(scr->a + k, end - k);
                if (end == k)
                        end++;
                for (; k < end; k++) {
                        if (scr->a[k] >= 0x300 && bert_is_nonspacing(scr->a[k]))
                                continue;
                        put_lower(tok, scr, nb, scr->a[k]);
                }
        }
        return 0;
}

/* WordPiece over one word, scr->b[from..to). Returns -1 when out of memory,
 * else 0 (o->full says whether the budget ran out). */
static int wordpiece(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                     size_t from, size_t to, struct out *o)
{
        size_t nchars = to - from, nbytes = 0, npieces = 0;

        if (nchars > tok->max_word_chars) {
                out_push(o, tok->unk_id);
                return 0;
        }
        if (reserve(&scr->word, &scr->word_cap, 4 * nchars, 1) != 0 ||
            reserve(&scr->bounds, &scr->bounds_cap, nchars + 1, sizeof(*scr->bounds)) != 0 ||
            reserve(&scr->pieces, &scr->pieces_cap, nchars, sizeof(*scr->pieces)) != 0)
                return -1;
        for (size_t k = 0; k < nchars; k++) {
                scr->bounds[k] = nbytes;
                nbytes += (size_t)utf8proc_encode_char(scr->b[from + k],
                                                       (uint8_t *)scr->word + nbytes);
        }
        scr->bounds[nchars] = nbytes;
        for (size_t start = 0; start < nchars;) {
                const struct vocab *v = start ? &tok->conts : &tok->words;
                size_t end = nchars;
                int32_t id = -1;

                for (; end > start; end--) {
                        id = vocab_find(v, tok->blob, scr->word + scr->bounds[start],
                                        scr->bounds[end] - scr->bounds[start]);
                        if (id >= 0)
                                break;
                }
                if (id < 0) { /* the word cannot be covered: one [UNK] */
                        out_push(o, tok->unk_id);
                        return 0;
                }
                scr->pieces[npieces++] = id;
                start = end;
        }
        for (size_t k = 0; k < npieces; k++) {
                if (!out_push(o, scr->pieces[k]))
                        break;
        }
        return 0;
}

int bert_tokenizer_normalize(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                             const char *text, size_t len, const int32_t **cps, size_t *n)
{
        if (normalize(tok, scr, text, len, n) != 0)
                return -1;
        *cps = scr->b;
        return 0;
}

int bert_pretokenizer_class(int32_t cp)
{
        return is_whitespace(cp) ? 'w' : is_punct(cp) ? 'p' : '-';
}

/* Normalizes, pre-tokenizes and WordPieces @p s[0..len), a piece of text
 * between added tokens. */
static int tokenize_piece(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                          const char *s, size_t len, struct out *o)
{
        size_t nb, i = 0;

        if (normalize(tok, scr, s, len, &nb) != 0)
                return -1;
        while (i < nb && !o->full) {
                size_t j = i + 1;

                if (is_whitespace(scr->b[i])) {
                        i++;
                        continue;
                }
                if (!is_punct(scr->b[i])) {
                        while (j < nb && !is_whitespace(scr->b[j]) && !is_punct(scr->b[j]))
                                j++;
                }
                if (wordpiece(tok, scr, i, j, o) != 0)
                        return -1;
                i = j;
        }
        return 0;
}

/* The leftmost, then longest, added token in @p s[from..len): its start
 * and index, or len when there is none. */
static size_t next_added(const struct bert_tokenizer *tok, const char *s, size_t len, size_t from,
                         size_t *which)
{
        for (size_t i = from; i < len; i++) {
                uint8_t c = (uint8_t)s[i];
                size_t best = 0;

                if (!(tok->added_first[c >> 3] & (1u << (c & 7))))
                        continue;
                for (size_t k = 0; k < tok->n_added; k++) {
                        const struct added_token *a = &tok->added[k];

                        if (a->len > best && a->len <= len - i &&
                            memcmp(s + i, a->content, a->len) == 0) {
                                best = a->len;
                                *which = k;
                        }
                }
                if (best)
                        return i;
        }
        return len;
}

int bert_tokenize(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                  const char *text, size_t len, int32_t *ids, size_t max_ids, size_t *n_ids,
                  bool *truncated)
{
        struct out o = { ids + 1, 0, max_ids - 2, false };
        size_t pos = 0;

        assert(max_ids >= 2);
        assert(len <= BERT_TOKENIZER_INPUT_MAX);
        while (pos < len && !o.full) {
                size_t which = 0;
                size_t at = tok->n_added ? next_added(tok, text, len, pos, &which) : len;

                if (at > pos && tokenize_piece(tok, scr, text + pos, at - pos, &o) != 0)
                        return -1;
                if (at == len || o.full)
                        break;
                out_push(&o, tok->added[which].id);
                pos = at + tok->added[which].len;
        }
        ids[0] = tok->cls_id;
        ids[o.n + 1] = tok->sep_id;
        *n_ids = o.n + 2;
        if (truncated)
                *truncated = o.full;
        return 0;
}

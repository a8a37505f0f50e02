/* The BERT model of the embedding service against the real thing:
 * all-MiniLM-L6-v2 as deploy/models.sh fetches it once into the cache, and
 * Hugging Face's tokenizers library, run by
 * tests/integration/bert_reference.py in the venv of tests/clients/bert.txt:
 *   (a) the model directory loads (services/embedding/bert_model.c) with
 *       the sizes it declares, and the same directory with its weights cut
 *       short is refused, naming the tensor;
 *   (b) token ids: all-MiniLM-L6-v2's tokenizer.json (deploy/models.sh
 *       fetches the model once into the cache), on the texts of
 *       tests/integration/bert_texts.jsonl (accents, combining marks, CJK,
 *       Hangul, emoji, control and zero-width characters, very long words,
 *       texts over 256 tokens, special tokens typed in the text) and on
 *       seeded random texts mixing every script and character class the
 *       normalizer treats specially; truncated to 256, 128 and 5 tokens.
 *       Every id must be equal.
 *   (c) every code point: the normalizer (every option on; strip_accents
 *       alone; lowercase alone) and the pre-tokenizer's class of each one,
 *       which pins down the Unicode tables (bert_unicode.c).
 * Without PyPI or the model and outside CI the test is skipped, loudly;
 * under CI=true it fails instead. Nothing here needs a broker. */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utf8proc.h>

#include "embedding/bert_encode.h"
#include "embedding/bert_model.h"
#include "embedding/bert_tokenizer.h"
#include "harness.h"

#define RANDOM_TEXTS       3000
#define EMBED_RANDOM_TEXTS 40        /* the numpy reference takes 0.05 to 0.1 s a text */
#define FULL_IDS           (1 << 20) /* a budget no test text reaches */

static const int max_lens[] = { 256, 128, 5 };
#define N_LENS (sizeof(max_lens) / sizeof(max_lens[0]))

static char dir[512];

static void skip_banner(const char *why)
{
        printf("######################################################################\n"
               "## SKIPPED: 0031-bert_reference: %s\n"
               "######################################################################\n",
               why);
}

/* Runs bert_reference.py @p args with stdin and stdout from and to files;
 * false (after a banner) when its venv cannot be made here. */
static bool reference(const char *args, const char *in, const char *out)
{
        char cmd[2048];
        int rc;

        snprintf(cmd, sizeof(cmd),
                 "'%s/tests/clients/venv.sh' bert '%s/tests/integration/bert_reference.py' %s "
                 "<'%s' >'%s'",
                 harness_root(), harness_root(), args, in, out);
        rc = system(cmd);
        ck_assert_msg(WIFEXITED(rc), "bert_reference.py did not exit");
        if (WEXITSTATUS(rc) == 77) {
                skip_banner("no venv with tokenizers (tests/clients/venv.sh bert)");
                return false;
        }
        ck_assert_msg(WEXITSTATUS(rc) == 0, "bert_reference.py %s failed (exit %d)", args,
                      WEXITSTATUS(rc));
        return true;
}

/* ---- seeded random texts ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t)(rng >> 16);
}

static uint32_t below(uint32_t n)
{
        return next() % n;
}

/* Code point ranges a random word draws from: one per kind of text the
 * normalizer and pre-tokenizer treat differently. */
static const struct {
        int32_t lo, hi;
} pools[] = {
        { 'a', 'z' },         { 'A', 'Z' },         { '0', '9' },       { 0x21, 0x2F },
        { 0xC0, 0x17F },      { 0x300, 0x36F },     { 0x1AB0, 0x1AFF }, { 0x20D0, 0x20FF },
        { 0x370, 0x3FF },     { 0x400, 0x4FF },     { 0x4E00, 0x9FFF }, { 0xF900, 0xFAFF },
        { 0x20000, 0x2A6DF }, { 0xAC00, 0xD7A3 },   { 0x1100, 0x11FF }, { 0x3040, 0x30FF },
        { 0x1F300, 0x1FAFF }, { 0x1F3FB, 0x1F3FF }, { 0x200B, 0x200F }, { 0xFE00, 0xFE0F },
        { 0x0, 0x1F },        { 0x7F, 0x9F },       { 0x2000, 0x206F }, { 0x3000, 0x303F },
        { 0x600, 0x6FF },     { 0x590, 0x5FF },     { 0x900, 0x97F },   { 0xE00, 0xE7F },
        { 0x1E00, 0x1FFF },   { 0xFF00, 0xFFEF },   { 0xE000, 0xF8FF }, { 0xFFF0, 0xFFFF },
        { 0x130, 0x131 },     { 0x10D40, 0x10D8F }, { 0x80, 0xFFFF },   { 0x10000, 0x10FFFF },
};
#define N_POOLS (sizeof(pools) / sizeof(pools[0]))

static const char *const inserts[] = { "[CLS]", "[SEP]", "[MASK]",  "[PAD]", "[UNK]",
                                       "[CL",   "##",    "[[SEP]]", "...",   "'s" };
static const char *const separators[] = { " ", "  ", "\t", "\n", "\xC2\xA0", "\xE3\x80\x80",
                                          "",  ", ", ". ", "-" };

static void put_cp(char *buf, size_t *len, int32_t cp)
{
        *len += (size_t)utf8proc_encode_char(cp, (uint8_t *)buf + *len);
}

/* A random text into @p buf (room for 64 KiB), NUL-free unless the pool
 * of controls draws U+0000, which the text keeps: its length is in *@p len. */
static void random_text(char *buf, size_t *len)
{
        uint32_t words = below(8) == 0 ? 150 + below(400) : 1 + below(40);

        *len = 0;
        for (uint32_t w = 0; w < words && *len < 60000; w++) {
                uint32_t pool = below(N_POOLS), chars = 1 + below(below(10) == 0 ? 130 : 12);

                if (below(12) == 0) {
                        const char *s = inserts[below(sizeof(inserts) / sizeof(inserts[0]))];

                        memcpy(buf + *len, s, strlen(s));
                        *len += strlen(s);
                }
                for (uint32_t c = 0; c < chars; c++) {
                        int32_t cp;

                        if (below(4) == 0) /* a character of another kind now and then */
                                pool = below(N_POOLS);
                        do
                                cp = pools[pool].lo +
                                     (int32_t)below(
                                             (uint32_t)(pools[pool].hi - pools[pool].lo + 1));
                        while (cp >= 0xD800 && cp <= 0xDFFF);
                        put_cp(buf, len, cp);
                }
                if (w + 1 < words) {
                        const char *s =
                                separators[below(sizeof(separators) / sizeof(separators[0]))];

                        memcpy(buf + *len, s, strlen(s));
                        *len += strlen(s);
                }
        }
}

/* ---- (a) the model directory ---- */

START_TEST(test_model_loads)
{
        static const char *const files[] = { "config.json", "tokenizer.json", "modules.json",
                                             "sentence_bert_config.json", "1_Pooling" };
        char mdir[1024], broken[600], cmd[4096], errstr[1024];
        struct bert_model *m;
        const struct bert_config *c;

        if (!harness_bert_model_dir("0031-bert_reference", mdir, sizeof(mdir)))
                return;
        m = bert_model_load(mdir, errstr, sizeof(errstr));
        ck_assert_msg(m, "%s", errstr);
        c = &m->conf;
        ck_assert_uint_eq(c->vocab_size, 30522);
        ck_assert_uint_eq(c->hidden_size, 384);
        ck_assert_uint_eq(c->num_layers, 6);
        ck_assert_uint_eq(c->num_heads, 12);
        ck_assert_uint_eq(c->intermediate_size, 1536);
        ck_assert_uint_eq(c->max_position, 512);
        ck_assert_uint_eq(c->type_vocab_size, 2);
        ck_assert_uint_eq(c->max_seq_length, 256);
        ck_assert(c->layer_norm_eps == 1e-12);
        ck_assert_int_eq(c->pooling, BERT_POOLING_MEAN);
        ck_assert(c->normalize);
        /* 16 tensors a layer, 5 of the embeddings, position_ids, the pooler's 2 */
        ck_assert_uint_eq(m->st.n, 6 * 16 + 5 + 1 + 2);
        ck_assert_ptr_nonnull(m->layers[5].out_norm_b);
        ck_assert_int_eq(bert_tokenizer_token_id(m->tok, "[CLS]"), 101);
        bert_model_free(m);

        /* The same directory with its weights cut short. */
        snprintf(broken, sizeof(broken), "%s/broken-model", dir);
        mkdir(broken, 0755);
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(cmd, sizeof(cmd), "ln -sfn '%s/%s' '%s/%s'", mdir, files[i], broken,
                         files[i]);
                ck_assert_int_eq(harness_sh(NULL, 0, cmd), 0);
        }
        snprintf(cmd, sizeof(cmd), "head -c 1000000 '%s/model.safetensors' >'%s/model.safetensors'",
                 mdir, broken);
        ck_assert_int_eq(harness_sh(NULL, 0, cmd), 0);
        m = bert_model_load(broken, errstr, sizeof(errstr));
        ck_assert_ptr_null(m);
        /* which tensor is named first depends on the header's order */
        ck_assert_msg(strstr(errstr, "/model.safetensors: tensor \"") &&
                              strstr(errstr, "lie outside the 988584 bytes of data in the file"),
                      "%s", errstr);
        printf("0031-bert_reference: the model loads; cut short it is refused: %s\n", errstr);
}
END_TEST

/* ---- (b) token ids ---- */

struct text {
        char *s;
        size_t len;
};

/* The texts of bert_texts.jsonl, then @p n_random seeded random ones (the
 * same on every call). */
static struct text *load_texts(size_t n_random, size_t *n)
{
        char path[1024], line[1 << 16];
        struct text *texts = calloc(1000 + n_random, sizeof(*texts));
        FILE *fp;

        ck_assert_ptr_nonnull(texts);
        snprintf(path, sizeof(path), "%s/tests/integration/bert_texts.jsonl", harness_root());
        fp = fopen(path, "r");
        ck_assert_msg(fp, "cannot open %s", path);
        *n = 0;
        while (fgets(line, sizeof(line), fp)) {
                json_error_t jerr;
                json_t *v = json_loads(line, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

                ck_assert_msg(v && json_is_string(v), "%s: line %zu: %s", path, *n + 1,
                              v ? "not a string" : jerr.text);
                ck_assert_uint_lt(*n, 1000);
                texts[*n].len = json_string_length(v);
                texts[*n].s = malloc(texts[*n].len + 1);
                memcpy(texts[*n].s, json_string_value(v), texts[*n].len + 1);
                json_decref(v);
                (*n)++;
        }
        fclose(fp);
        rng = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < n_random; i++) {
                struct text *t = &texts[(*n)++];

                t->s = malloc(1 << 16);
                random_text(t->s, &t->len);
        }
        return texts;
}

static void write_texts(const char *path, const struct text *texts, size_t n)
{
        FILE *fp = fopen(path, "w");

        ck_assert_msg(fp, "cannot write %s", path);
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_stringn(texts[i].s, texts[i].len);
                char *line;

                ck_assert_msg(v, "text %zu is not valid UTF-8", i);
                /* ASCII only: no line separator of any kind inside a line */
                line = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
                fprintf(fp, "%s\n", line);
                free(line);
                json_decref(v);
        }
        fclose(fp);
}

static void print_text(const struct text *t)
{
        json_t *v = json_stringn(t->s, t->len);
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);

        fprintf(stderr, "  text: %.600s%s\n", s, strlen(s) > 600 ? "..." : "");
        free(s);
        json_decref(v);
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
        fprintf(stderr, "  %s (%zu):", what, n);
        for (size_t i = 0; i < n && i < 80; i++)
                fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "%s\n", n > 80 ? " ..." : "");
}

START_TEST(test_ids_equal_reference)
{
        char mdir[1024], tok_path[1200], in[600], out[600], args[1400], errstr[512];
        char *line = NULL;
        size_t cap = 0, n, compared = 0, mismatches = 0, truncated_texts = 0, max_seen = 0;
        struct bert_tokenizer *tok;
        struct bert_tokenizer_scratch *scr;
        struct text *texts;
        int32_t *want, *got, *full;
        FILE *fp;

        if (!harness_bert_model_dir("0031-bert_reference", mdir, sizeof(mdir)))
                return;
        snprintf(tok_path, sizeof(tok_path), "%s/tokenizer.json", mdir);
        tok = bert_tokenizer_load(tok_path, errstr, sizeof(errstr));
        ck_assert_msg(tok, "%s", errstr);
        scr = bert_tokenizer_scratch_new();
        texts = load_texts(RANDOM_TEXTS, &n);
        snprintf(in, sizeof(in), "%s/texts.jsonl", dir);
        snprintf(out, sizeof(out), "%s/ids.txt", dir);
        write_texts(in, texts, n);
        snprintf(args, sizeof(args), "ids '%s' %d,%d,%d", tok_path, max_lens[0], max_lens[1],
                 max_lens[2]);
        if (!reference(args, in, out))
                return;
        want = malloc(FULL_IDS * sizeof(*want));
        got = malloc(FULL_IDS * sizeof(*got));
        full = malloc(FULL_IDS * sizeof(*full));
        ck_assert(want && got && full);
        fp = fopen(out, "r");
        ck_assert_msg(fp, "cannot read %s", out);
        for (size_t l = 0; l < N_LENS; l++) {
                for (size_t i = 0; i < n; i++) {
                        size_t nwant = 0, ngot, nfull;
                        bool truncated, full_truncated;
                        char *p, *end;

                        ck_assert_msg(getline(&line, &cap, fp) > 0, "%s: too few lines", out);
                        for (p = line; *p && *p != '\n'; p = end) {
                                long v = strtol(p, &end, 10);

                                ck_assert_msg(end != p, "%s: not an id list: %s", out, line);
                                want[nwant++] = (int32_t)v;
                        }
                        ck_assert_int_eq(bert_tokenize(tok, scr, texts[i].s, texts[i].len, got,
                                                       (size_t)max_lens[l], &ngot, &truncated),
                                         0);
                        ck_assert_int_eq(bert_tokenize(tok, scr, texts[i].s, texts[i].len, full,
                                                       FULL_IDS, &nfull, &full_truncated),
                                         0);
                        compared++;
                        if (nfull > max_seen)
                                max_seen = nfull;
                        if (l == 0 && truncated)
                                truncated_texts++;
                        /* the truncated ids are the start of the full ones */
                        ck_assert(!full_truncated);
                        ck_assert_msg(truncated == (nfull > (size_t)max_lens[l]),
                                      "text %zu: truncated says %d with %zu ids in full at %d", i,
                                      truncated, nfull, max_lens[l]);
                        ck_assert_uint_eq(ngot, truncated ? (size_t)max_lens[l] : nfull);
                        ck_assert(memcmp(got, full, (ngot - 1) * sizeof(*got)) == 0);
                        if (ngot == nwant && memcmp(got, want, ngot * sizeof(*got)) == 0)
                                continue;
                        if (++mismatches <= 10) {
                                fprintf(stderr, "text %zu at max %d differs:\n", i, max_lens[l]);
                                print_text(&texts[i]);
                                print_ids("tokenizers", want, nwant);
                                print_ids("ours", got, ngot);
                        }
                }
        }
        ck_assert_msg(getline(&line, &cap, fp) < 0, "%s: too many lines", out);
        fclose(fp);
        ck_assert_msg(mismatches == 0, "%zu of %zu tokenizations differ (the first shown above)",
                      mismatches, compared);
        printf("0031-bert_reference: %zu texts x %zu lengths: every id equal "
               "(%zu texts over %d tokens, the longest %zu)\n",
               n, N_LENS, truncated_texts, max_lens[0], max_seen);
        for (size_t i = 0; i < n; i++)
                free(texts[i].s);
        free(texts);
        free(line);
        free(want);
        free(got);
        free(full);
        bert_tokenizer_scratch_free(scr);
        bert_tokenizer_free(tok);
}
END_TEST

/* ---- (d) sentence embeddings ---- */

static double dot(const float *a, const float *b, size_t n)
{
        double s = 0;

        for (size_t i = 0; i < n; i++)
                s += (double)a[i] * b[i];
        return s;
}

START_TEST(test_embeddings_equal_reference)
{
        char mdir[1024], in[600], out[600], args[1400], errstr[1024];
        struct bert_model *m;
        struct bert_work *w;
        struct text *texts;
        const char **ptrs;
        size_t n, *lens, h, len;
        float *ours, *one, *theirs;
        double min_cos = 1, max_diff = 0, min_self = 1, max_self_diff = 0;
        uint64_t tokens;
        size_t worst = 0;
        FILE *fp;

        if (!harness_bert_model_dir("0031-bert_reference", mdir, sizeof(mdir)))
                return;
        m = bert_model_load(mdir, errstr, sizeof(errstr));
        ck_assert_msg(m, "%s", errstr);
        h = m->conf.hidden_size;
        w = bert_work_new(m);
        ck_assert_ptr_nonnull(w);
        texts = load_texts(EMBED_RANDOM_TEXTS, &n);
        snprintf(in, sizeof(in), "%s/embed-texts.jsonl", dir);
        snprintf(out, sizeof(out), "%s/vectors.f32", dir);
        write_texts(in, texts, n);
        snprintf(args, sizeof(args), "embed '%s'", mdir);
        if (!reference(args, in, out))
                return;
        ptrs = malloc(n * sizeof(*ptrs));
        lens = malloc(n * sizeof(*lens));
        ours = malloc(n * h * sizeof(float));
        one = malloc(h * sizeof(float));
        theirs = malloc(n * h * sizeof(float));
        ck_assert(ptrs && lens && ours && one && theirs);
        for (size_t i = 0; i < n; i++) {
                ptrs[i] = texts[i].s;
                lens[i] = texts[i].len;
        }
        fp = fopen(out, "rb");
        ck_assert_msg(fp, "cannot read %s", out);
        len = fread(theirs, sizeof(float), n * h + 1, fp);
        fclose(fp);
        ck_assert_msg(len == n * h, "%s: %zu floats, want %zu", out, len, n * h);

        /* all texts in one call, then each alone */
        ck_assert_int_eq(bert_embed(m, w, ptrs, lens, n, ours, &tokens), 0);
        for (size_t i = 0; i < n; i++) {
                const float *a = ours + i * h, *b = theirs + i * h;
                double cos = dot(a, b, h) / sqrt(dot(a, a, h) * dot(b, b, h));

                for (size_t j = 0; j < h; j++) {
                        if (fabs((double)a[j] - b[j]) > max_diff)
                                max_diff = fabs((double)a[j] - b[j]);
                }
                if (cos < min_cos) {
                        min_cos = cos;
                        worst = i;
                }
                ck_assert_int_eq(bert_embed(m, w, &ptrs[i], &lens[i], 1, one, NULL), 0);
                cos = dot(a, one, h) / sqrt(dot(a, a, h) * dot(one, one, h));
                if (cos < min_self)
                        min_self = cos;
                for (size_t j = 0; j < h; j++) {
                        if (fabs((double)a[j] - one[j]) > max_self_diff)
                                max_self_diff = fabs((double)a[j] - one[j]);
                }
        }
        printf("0031-bert_reference: %zu texts (%llu tokens) against numpy: cosine >= %.9f "
               "(text %zu), largest difference %.2e; one at a time against the batch: cosine >= "
               "%.9f, largest difference %.2e\n",
               n, (unsigned long long)tokens, min_cos, worst, max_diff, min_self, max_self_diff);
        ck_assert_msg(min_cos >= 0.9999, "text %zu: cosine %.7f against the reference", worst,
                      min_cos);
        ck_assert_msg(min_self >= 0.999999, "a text alone differs from the batch: cosine %.9f",
                      min_self);
        /* sbert.net's published similarities of texts 2, 3 and 4 */
        ck_assert_msg(fabs(dot(ours + 2 * h, ours + 3 * h, h) - 0.6660) < 5e-5 &&
                              fabs(dot(ours + 2 * h, ours + 4 * h, h) - 0.1046) < 5e-5 &&
                              fabs(dot(ours + 3 * h, ours + 4 * h, h) - 0.1411) < 5e-5,
                      "similarities %.4f %.4f %.4f, published 0.6660 0.1046 0.1411",
                      dot(ours + 2 * h, ours + 3 * h, h), dot(ours + 2 * h, ours + 4 * h, h),
                      dot(ours + 3 * h, ours + 4 * h, h));
        for (size_t i = 0; i < n; i++)
                free(texts[i].s);
        free(texts);
        free(ptrs);
        free(lens);
        free(ours);
        free(one);
        free(theirs);
        bert_work_free(w);
        bert_model_free(m);
}
END_TEST

/* ---- (c) every code point ---- */

/* A tokenizer whose normalizer has the options given, over a vocabulary
 * that does not matter here. */
static struct bert_tokenizer *normalizer(bool clean, bool chinese, bool strip, bool lower)
{
        char json[1024], errstr[256];
        struct bert_tokenizer *tok;

        snprintf(json, sizeof(json),
                 "{\"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": %s, "
                 "\"handle_chinese_chars\": %s, \"strip_accents\": %s, \"lowercase\": %s}, "
                 "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
                 "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                 "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2}}, "
                 "\"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 1], "
                 "\"sep\": [\"[SEP]\", 2]}}",
                 clean ? "true" : "false", chinese ? "true" : "false", strip ? "true" : "false",
                 lower ? "true" : "false");
        tok = bert_tokenizer_parse(json, strlen(json), errstr, sizeof(errstr));
        ck_assert_msg(tok, "%s", errstr);
        return tok;
}

/* The UTF-8 of the normalized one-character text, in hex ("-" for none). */
static void normalized_hex(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                           const char *text, size_t len, char *out)
{
        const int32_t *cps;
        size_t n, k = 0;

        ck_assert_int_eq(bert_tokenizer_normalize(tok, scr, text, len, &cps, &n), 0);
        for (size_t i = 0; i < n; i++) {
                uint8_t b[4];
                utf8proc_ssize_t nb = utf8proc_encode_char(cps[i], b);

                for (utf8proc_ssize_t j = 0; j < nb; j++)
                        k += (size_t)sprintf(out + k, "%02x", b[j]);
        }
        if (!k)
                strcpy(out, "-");
}

START_TEST(test_every_code_point)
{
        char in[600], out[600], mine[512], all[128], strip[128], lower[128];
        struct bert_tokenizer *t_all = normalizer(true, true, true, true);
        struct bert_tokenizer *t_strip = normalizer(false, false, true, false);
        struct bert_tokenizer *t_lower = normalizer(false, false, false, true);
        struct bert_tokenizer_scratch *scr = bert_tokenizer_scratch_new();
        char *line = NULL;
        size_t cap = 0, mismatches = 0, special = 0;
        bool eof = false;
        FILE *fp;

        snprintf(in, sizeof(in), "/dev/null");
        snprintf(out, sizeof(out), "%s/codepoints.txt", dir);
        if (!reference("codepoints", in, out))
                return;
        fp = fopen(out, "r");
        ck_assert_msg(fp, "cannot read %s", out);
        eof = getline(&line, &cap, fp) < 0;
        for (int32_t cp = 0; cp < 0x110000; cp++) {
                char text[4];
                size_t len = 0;
                int cls = bert_pretokenizer_class(cp);

                if (cp >= 0xD800 && cp <= 0xDFFF)
                        continue;
                put_cp(text, &len, cp);
                normalized_hex(t_all, scr, text, len, all);
                normalized_hex(t_strip, scr, text, len, strip);
                normalized_hex(t_lower, scr, text, len, lower);
                snprintf(mine, sizeof(mine), "%x\t%s\t%s\t%s\t%c\n", (unsigned)cp, all, strip,
                         lower, cls);
                {
                        /* the identity, in hex, is what an untouched code point gives */
                        char self[16] = "";

                        for (size_t j = 0; j < len; j++)
                                sprintf(self + 2 * j, "%02x", (uint8_t)text[j]);
                        if (strcmp(all, self) == 0 && strcmp(strip, self) == 0 &&
                            strcmp(lower, self) == 0 && cls == '-')
                                mine[0] = '\0'; /* not in the reference's list */
                }
                if (mine[0])
                        special++;
                /* both lists are in code point order */
                while (!eof && strtol(line, NULL, 16) < cp) {
                        if (++mismatches <= 20)
                                fprintf(stderr, "U+%04lX: tokenizers %s  ours: nothing special\n",
                                        strtol(line, NULL, 16), line);
                        eof = getline(&line, &cap, fp) < 0;
                }
                if (!eof && strtol(line, NULL, 16) == cp) {
                        if (strcmp(line, mine) != 0 && ++mismatches <= 20)
                                fprintf(stderr, "U+%04X: tokenizers %s        ours %s",
                                        (unsigned)cp, line, mine[0] ? mine : "nothing special\n");
                        eof = getline(&line, &cap, fp) < 0;
                } else if (mine[0] && ++mismatches <= 20) {
                        fprintf(stderr, "U+%04X: tokenizers: nothing special  ours %s",
                                (unsigned)cp, mine);
                }
        }
        fclose(fp);
        free(line);
        ck_assert_msg(mismatches == 0,
                      "%zu code points normalize or pre-tokenize differently (the first above; "
                      "columns: all options, strip_accents, lowercase, class)",
                      mismatches);
        printf("0031-bert_reference: all 1112064 code points equal (%zu treated "
               "specially)\n",
               special);
        bert_tokenizer_scratch_free(scr);
        bert_tokenizer_free(t_all);
        bert_tokenizer_free(t_strip);
        bert_tokenizer_free(t_lower);
}
END_TEST

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/bert-reference-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        mkdir(dir, 0755);
}

int main(void)
{
        Suite *s = suite_create("0031-bert_reference");
        TCase *tc = tcase_create("reference");

        /* No broker involved: the Apache pass has nothing to add. */
        if (harness_apache()) {
                printf("0031-bert_reference: not run in the Apache pass (no broker "
                       "involved)\n");
                printf("0 passed, 0 failed\n");
                return 0;
        }
        tcase_add_unchecked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_model_loads);
        tcase_add_test(tc, test_ids_equal_reference);
        /* the forward pass at -O0 is most of the coverage pass's time for
         * it; the unit tests and 0032 cover the same code */
        if (!harness_coverage())
                tcase_add_test(tc, test_embeddings_equal_reference);
        tcase_add_test(tc, test_every_code_point);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

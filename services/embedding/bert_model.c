/* A sentence-transformers directory becomes a struct bert_model here. Every
 * size comes from the directory's own JSON files and every tensor is checked
 * against those sizes before it is used, so a broken or foreign model fails
 * at start, naming the file and the key or tensor, instead of computing
 * garbage. The embeddings and the small vectors stay in the mapped file; the
 * layers' linear weights are copied once, in the order the encoder reads
 * them (bert_model_pack()), and their pages of the file are let go. */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cairn/file.h"
#include "bert_gemm.h"
#include "bert_model.h"

/* Largest JSON file of a model directory but tokenizer.json. */
#define CONFIG_FILE_MAX ((size_t)1 << 20)

/* Sanity bounds on the sizes in config.json: far above any BERT, far below
 * what would overflow a size computation. */
#define HIDDEN_MAX       16384
#define LAYERS_MAX       256
#define INTERMEDIATE_MAX 131072
#define VOCAB_MAX        (1 << 24)
#define POSITIONS_MAX    65536
#define TYPES_MAX        1024

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

/* @p dir/@p sub/@p name into @p out, leaving out empty parts; -1 when it
 * does not fit. */
static int join(char *out, size_t size, const char *dir, const char *sub, const char *name)
{
        const char *parts[3] = { dir, sub, name };
        size_t len = 0;

        for (int i = 0; i < 3; i++) {
                size_t n = strlen(parts[i]);

                if (!n)
                        continue;
                if (len + n + 2 > size)
                        return -1;
                if (len)
                        out[len++] = '/';
                memcpy(out + len, parts[i], n);
                len += n;
        }
        out[len] = '\0';
        return 0;
}

/* Reads the JSON file @p path; NULL with a message naming it. */
static json_t *read_json(const char *path, size_t max, char *errstr, size_t errstr_size)
{
        size_t len;
        char *text = cairn_file_read(path, max, &len, errstr, errstr_size);
        json_error_t jerr;
        json_t *root;

        if (!text)
                return NULL;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        free(text);
        if (!root)
                return fail(errstr, errstr_size, "%s: not valid JSON: %s (line %d)", path,
                            jerr.text, jerr.line);
        return root;
}

/* The integer @p key of @p obj in [lo, hi], or @p dflt when missing (-1:
 * required). Returns -1 with a message naming @p path and the key. */
static int get_size(const json_t *obj, const char *key, long long dflt, long long lo, long long hi,
                    size_t *out, const char *path, char *errstr, size_t errstr_size)
{
        const json_t *v = json_object_get(obj, key);

        if (!v && dflt >= 0) {
                *out = (size_t)dflt;
                return 0;
        }
        if (!v) {
                fail(errstr, errstr_size, "%s: no \"%s\"", path, key);
                return -1;
        }
        if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
                fail(errstr, errstr_size, "%s: \"%s\" must be an integer from %lld to %lld", path,
                     key, lo, hi);
                return -1;
        }
        *out = (size_t)json_integer_value(v);
        return 0;
}

/* The string @p key of @p obj, @p dflt when missing, or NULL when it is
 * not a string. */
static const char *get_string(const json_t *obj, const char *key, const char *dflt)
{
        const json_t *v = json_object_get(obj, key);

        if (!v)
                return dflt;
        return json_is_string(v) ? json_string_value(v) : NULL;
}

/* config.json of the Transformer module. */
static void *load_config(struct bert_config *c, const char *path, char *errstr, size_t errstr_size)
{
        json_t *root = read_json(path, CONFIG_FILE_MAX, errstr, errstr_size);
        const json_t *eps;
        const char *s;
        void *ok = c;

        if (!root)
                return NULL;
        if (!json_is_object(root)) {
                ok = fail(errstr, errstr_size, "%s: not a JSON object", path);
                goto out;
        }
        s = get_string(root, "model_type", NULL);
        if (!s || strcmp(s, "bert") != 0) {
                ok = fail(errstr, errstr_size,
                          "%s: \"model_type\" is \"%.40s\"; only \"bert\" models are supported",
                          path, s ? s : "");
                goto out;
        }
        if (get_size(root, "vocab_size", -1, 1, VOCAB_MAX, &c->vocab_size, path, errstr,
                     errstr_size) ||
            get_size(root, "hidden_size", -1, 1, HIDDEN_MAX, &c->hidden_size, path, errstr,
                     errstr_size) ||
            get_size(root, "num_hidden_layers", -1, 1, LAYERS_MAX, &c->num_layers, path, errstr,
                     errstr_size) ||
            get_size(root, "num_attention_heads", -1, 1, HIDDEN_MAX, &c->num_heads, path, errstr,
                     errstr_size) ||
            get_size(root, "intermediate_size", -1, 1, INTERMEDIATE_MAX, &c->intermediate_size,
                     path, errstr, errstr_size) ||
            get_size(root, "max_position_embeddings", -1, 2, POSITIONS_MAX, &c->max_position, path,
                     errstr, errstr_size) ||
            get_size(root, "type_vocab_size", 2, 1, TYPES_MAX, &c->type_vocab_size, path, errstr,
                     errstr_size)) {
                ok = NULL;
                goto out;
        }
        if (c->hidden_size % c->num_heads != 0) {
                ok = fail(errstr, errstr_size,
                          "%s: hidden_size %zu is not a multiple of num_attention_heads %zu", path,
                          c->hidden_size, c->num_heads);
                goto out;
        }
        eps = json_object_get(root, "layer_norm_eps");
        c->layer_norm_eps = 1e-12;
        if (eps) {
                if (!json_is_number(eps) || !(json_number_value(eps) > 0) ||
                    json_number_value(eps) > 1) {
                        ok = fail(errstr, errstr_size,
                                  "%s: \"layer_norm_eps\" must be a number in (0, 1]", path);
                        goto out;
                }
                c->layer_norm_eps = json_number_value(eps);
        }
        /* The exact GELU, 0.5 x (1 + erf(x / sqrt 2)); the tanh
         * approximations would give other vectors. */
        s = get_string(root, "hidden_act", "gelu");
        if (!s || strcmp(s, "gelu") != 0) {
                ok = fail(errstr, errstr_size,
                          "%s: \"hidden_act\" is \"%.40s\"; only \"gelu\" is supported", path,
                          s ? s : "");
                goto out;
        }
        s = get_string(root, "position_embedding_type", "absolute");
        if (!s || strcmp(s, "absolute") != 0) {
                ok = fail(errstr, errstr_size,
                          "%s: \"position_embedding_type\" is \"%.40s\"; only \"absolute\" is "
                          "supported",
                          path, s ? s : "");
                goto out;
        }
out:
        json_decref(root);
        return ok;
}

/* sentence_bert_config.json of the Transformer module, when there is one. */
static void *load_st_config(struct bert_config *c, const char *path, char *errstr,
                            size_t errstr_size)
{
        json_t *root;
        const json_t *lower;
        void *ok = c;
        FILE *fp = fopen(path, "r");

        c->max_seq_length = c->max_position;
        if (!fp)
                return c; /* sentence-transformers falls back on the model's limit too */
        fclose(fp);
        root = read_json(path, CONFIG_FILE_MAX, errstr, errstr_size);
        if (!root)
                return NULL;
        lower = json_object_get(root, "do_lower_case");
        if (!json_is_object(root))
                ok = fail(errstr, errstr_size, "%s: not a JSON object", path);
        else if (get_size(root, "max_seq_length", (long long)c->max_position, 2,
                          (long long)c->max_position, &c->max_seq_length, path, errstr,
                          errstr_size))
                ok = NULL;
        /* Python's str.lower() before the tokenizer: not done here. */
        else if (lower && !json_is_false(lower))
                ok = fail(errstr, errstr_size,
                          "%s: \"do_lower_case\": true is not supported (the tokenizer's own "
                          "normalizer lower-cases)",
                          path);
        json_decref(root);
        return ok;
}

/* The pooling module's config.json. */
static void *load_pooling(struct bert_config *c, const char *path, char *errstr, size_t errstr_size)
{
        static const char *const unsupported[] = {
                "pooling_mode_max_tokens",
                "pooling_mode_mean_sqrt_len_tokens",
                "pooling_mode_weightedmean_tokens",
                "pooling_mode_lasttoken",
        };
        json_t *root = read_json(path, CONFIG_FILE_MAX, errstr, errstr_size);
        const json_t *cls, *mean;
        size_t dim;
        void *ok = c;

        if (!root)
                return NULL;
        cls = json_object_get(root, "pooling_mode_cls_token");
        mean = json_object_get(root, "pooling_mode_mean_tokens");
        if (!json_is_object(root)) {
                ok = fail(errstr, errstr_size, "%s: not a JSON object", path);
                goto out;
        }
        for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
                const json_t *v = json_object_get(root, unsupported[i]);

                if (v && !json_is_false(v)) {
                        ok = fail(errstr, errstr_size,
                                  "%s: \"%s\" is not supported: only mean or CLS pooling", path,
                                  unsupported[i]);
                        goto out;
                }
        }
        if (json_is_true(cls) == json_is_true(mean)) {
                ok = fail(errstr, errstr_size,
                          "%s: exactly one of \"pooling_mode_mean_tokens\" and "
                          "\"pooling_mode_cls_token\" must be true",
                          path);
                goto out;
        }
        c->pooling = json_is_true(cls) ? BERT_POOLING_CLS : BERT_POOLING_MEAN;
        if (get_size(root, "word_embedding_dimension", -1, 1, HIDDEN_MAX, &dim, path, errstr,
                     errstr_size)) {
                ok = NULL;
                goto out;
        }
        if (dim != c->hidden_size)
                ok = fail(errstr, errstr_size,
                          "%s: word_embedding_dimension %zu differs from the model's hidden_size "
                          "%zu",
                          path, dim, c->hidden_size);
out:
        json_decref(root);
        return ok;
}

/* A module path of modules.json: relative, inside the directory. */
static bool safe_subdir(const char *p)
{
        if (p[0] == '/')
                return false;
        for (const char *s = p; *s; s++) {
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.' || *s == '/'))
                        return false;
        }
        return strstr(p, "..") == NULL;
}

/* modules.json: the Transformer's and the Pooling's folders, and whether a
 * Normalize module follows. */
static void *load_modules(struct bert_config *c, const char *path, char *transformer, char *pooling,
                          size_t size, char *errstr, size_t errstr_size)
{
        static const char prefix[] = "sentence_transformers.models.";
        json_t *root = read_json(path, CONFIG_FILE_MAX, errstr, errstr_size);
        const json_t *m;
        size_t i;
        int stage = 0; /* 0: want the Transformer, 1: the Pooling, 2: a Normalize */
        void *ok = c;

        if (!root)
                return NULL;
        c->normalize = false;
        if (!json_is_array(root)) {
                ok = fail(errstr, errstr_size, "%s: not a JSON array", path);
                goto out;
        }
        json_array_foreach(root, i, m) {
                const char *type = get_string(m, "type", NULL);
                const char *sub = get_string(m, "path", "");
                static const char *const names[] = { "Transformer", "Pooling", "Normalize" };

                if (!type || !sub || !safe_subdir(sub) || strlen(sub) >= size) {
                        ok = fail(errstr, errstr_size,
                                  "%s: [%zu]: needs a \"type\" string and a relative \"path\"",
                                  path, i);
                        goto out;
                }
                if (stage > 2 || strncmp(type, prefix, sizeof(prefix) - 1) != 0 ||
                    strcmp(type + sizeof(prefix) - 1, names[stage]) != 0) {
                        ok = fail(errstr, errstr_size,
                                  "%s: [%zu]: module \"%.80s\" is not supported here: a "
                                  "Transformer, a Pooling and optionally a Normalize module, in "
                                  "that order",
                                  path, i, type);
                        goto out;
                }
                if (stage == 0)
                        strcpy(transformer, sub);
                else if (stage == 1)
                        strcpy(pooling, sub);
                else
                        c->normalize = true;
                stage++;
        }
        if (stage < 2)
                ok = fail(errstr, errstr_size, "%s: needs a Transformer and a Pooling module",
                          path);
out:
        json_decref(root);
        return ok;
}

/* The tensor @p name (after the model's prefix): F32, of shape [d0] or
 * [d0, d1] (d1 == 0: one dimension), aligned for float reads. */
static const float *tensor(const struct bert_model *m, const char *prefix, const char *name,
                           size_t d0, size_t d1, const char *path, char *errstr, size_t errstr_size)
{
        char full[256];
        const struct safetensors_tensor *t;
        size_t ndim = d1 ? 2 : 1;

        snprintf(full, sizeof(full), "%s%s", prefix, name);
        t = safetensors_find(&m->st, full);
        if (!t)
                return fail(errstr, errstr_size, "%s: tensor \"%s\" is missing", path, full);
        if (t->dtype != SAFETENSORS_F32)
                return fail(errstr, errstr_size,
                            "%s: tensor \"%s\" is %s; only F32 weights are supported", path, full,
                            safetensors_dtype_name(t->dtype));
        if (t->ndim != ndim || t->shape[0] != d0 || (d1 && t->shape[1] != d1)) {
                char got[64] = "";
                size_t len = 0;

                for (size_t i = 0; i < t->ndim && len < sizeof(got); i++)
                        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%llu",
                                                i ? ", " : "", (unsigned long long)t->shape[i]);
                if (d1)
                        return fail(errstr, errstr_size,
                                    "%s: tensor \"%s\" has shape [%s]; config.json makes it "
                                    "[%zu, %zu]",
                                    path, full, got, d0, d1);
                return fail(errstr, errstr_size,
                            "%s: tensor \"%s\" has shape [%s]; config.json makes it [%zu]", path,
                            full, got, d0);
        }
        if ((uintptr_t)t->data % sizeof(float) != 0)
                return fail(errstr, errstr_size, "%s: tensor \"%s\" is not aligned to 4 bytes",
                            path, full);
        return t->data;
}

static void *load_weights(struct bert_model *m, const char *path, char *errstr, size_t errstr_size)
{
        const struct bert_config *c = &m->conf;
        const size_t h = c->hidden_size, in = c->intermediate_size;
        const char *prefix = "";
        char name[128];

        /* Saved from BertModel: no prefix; from a task model: "bert." */
        if (!safetensors_find(&m->st, "embeddings.word_embeddings.weight") &&
            safetensors_find(&m->st, "bert.embeddings.word_embeddings.weight"))
                prefix = "bert.";
#define T(field, tname, d0, d1)                                                      \
        do {                                                                         \
                field = tensor(m, prefix, tname, d0, d1, path, errstr, errstr_size); \
                if (!field)                                                          \
                        return NULL;                                                 \
        } while (0)
        T(m->word_emb, "embeddings.word_embeddings.weight", c->vocab_size, h);
        T(m->pos_emb, "embeddings.position_embeddings.weight", c->max_position, h);
        T(m->type_emb, "embeddings.token_type_embeddings.weight", c->type_vocab_size, h);
        T(m->emb_norm_w, "embeddings.LayerNorm.weight", h, 0);
        T(m->emb_norm_b, "embeddings.LayerNorm.bias", h, 0);
        for (size_t i = 0; i < c->num_layers; i++) {
                struct bert_layer *l = &m->layers[i];
#define L(field, tname, d0, d1)                                                 \
        do {                                                                    \
                snprintf(name, sizeof(name), "encoder.layer.%zu.%s", i, tname); \
                T(field, name, d0, d1);                                         \
        } while (0)
                L(l->query_w, "attention.self.query.weight", h, h);
                L(l->query_b, "attention.self.query.bias", h, 0);
                L(l->key_w, "attention.self.key.weight", h, h);
                L(l->key_b, "attention.self.key.bias", h, 0);
                L(l->value_w, "attention.self.value.weight", h, h);
                L(l->value_b, "attention.self.value.bias", h, 0);
                L(l->attn_out_w, "attention.output.dense.weight", h, h);
                L(l->attn_out_b, "attention.output.dense.bias", h, 0);
                L(l->attn_norm_w, "attention.output.LayerNorm.weight", h, 0);
                L(l->attn_norm_b, "attention.output.LayerNorm.bias", h, 0);
                L(l->inter_w, "intermediate.dense.weight", in, h);
                L(l->inter_b, "intermediate.dense.bias", in, 0);
                L(l->out_w, "output.dense.weight", h, in);
                L(l->out_b, "output.dense.bias", h, 0);
                L(l->out_norm_w, "output.LayerNorm.weight", h, 0);
                L(l->out_norm_b, "output.LayerNorm.bias", h, 0);
#undef L
        }
#undef T
        return m;
}

int bert_model_pack(struct bert_model *model)
{
        const struct bert_config *c = &model->conf;
        const size_t h = c->hidden_size, in = c->intermediate_size;
        const size_t qkv_size = bert_gemm_packed_size(3 * h, h);
        const size_t attn_size = bert_gemm_packed_size(h, h);
        const size_t inter_size = bert_gemm_packed_size(in, h);
        const size_t out_size = bert_gemm_packed_size(h, in);
        /* multiples of 16 floats, so that every part stays 64-byte aligned */
        const size_t bias_size = (3 * h + 15) / 16 * 16;
        const size_t per_layer = qkv_size + bias_size + attn_size + inter_size + out_size;
        float *p, *qkv = malloc(3 * h * h * sizeof(float));

        /* on 2 MiB boundaries and in huge pages where the kernel has them:
         * each pass streams all of it, and with 4 KiB pages the TLB misses
         * cost some 7% of a short pass */
        if (!qkv || posix_memalign((void **)&model->packed, 2 << 20,
                                   c->num_layers * per_layer * sizeof(float))) {
                free(qkv);
                return -1;
        }
        madvise(model->packed, c->num_layers * per_layer * sizeof(float), MADV_HUGEPAGE);
        p = model->packed;
        for (size_t i = 0; i < c->num_layers; i++) {
                struct bert_layer *l = &model->layers[i];
                float *qkv_p = p, *qkv_b = qkv_p + qkv_size, *attn_out = qkv_b + bias_size;
                float *inter = attn_out + attn_size, *out = inter + inter_size;

                memcpy(qkv, l->query_w, h * h * sizeof(float));
                memcpy(qkv + h * h, l->key_w, h * h * sizeof(float));
                memcpy(qkv + 2 * h * h, l->value_w, h * h * sizeof(float));
                bert_gemm_pack(qkv, 3 * h, h, qkv_p);
                memcpy(qkv_b, l->query_b, h * sizeof(float));
                memcpy(qkv_b + h, l->key_b, h * sizeof(float));
                memcpy(qkv_b + 2 * h, l->value_b, h * sizeof(float));
                bert_gemm_pack(l->attn_out_w, h, h, attn_out);
                bert_gemm_pack(l->inter_w, in, h, inter);
                bert_gemm_pack(l->out_w, h, in, out);
                l->qkv_p = qkv_p;
                l->qkv_b = qkv_b;
                l->attn_out_p = attn_out;
                l->inter_p = inter;
                l->out_p = out;
                p += per_layer;
        }
        free(qkv);
        return 0;
}

/* Lets go of the file's pages under the tensor @p t points into, which the
 * encoder no longer reads (they come back from the file if it ever does):
 * the weights would otherwise count twice in the resident memory. Only the
 * pages the tensor fills alone, so its neighbours stay. */
static void release(const float *t, size_t n)
{
        const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t from = ((uintptr_t)t + page - 1) & ~(page - 1);
        uintptr_t to = ((uintptr_t)(t + n)) & ~(page - 1);

        if (to > from)
                madvise((void *)from, to - from, MADV_DONTNEED);
}

static void release_packed(const struct bert_model *m)
{
        const size_t h = m->conf.hidden_size, in = m->conf.intermediate_size;

        for (size_t i = 0; i < m->conf.num_layers; i++) {
                const struct bert_layer *l = &m->layers[i];

                release(l->query_w, h * h);
                release(l->key_w, h * h);
                release(l->value_w, h * h);
                release(l->attn_out_w, h * h);
                release(l->inter_w, in * h);
                release(l->out_w, h * in);
        }
}

struct bert_model *bert_model_load(const char *dir, char *errstr, size_t errstr_size)
{
        struct bert_model *m = calloc(1, sizeof(*m));
        char transformer[256], pooling[256], path[4096], mdir[4096];
        void *ok;

        if (!m)
                return fail(errstr, errstr_size, "out of memory");
        ok = join(path, sizeof(path), dir, "", "modules.json") == 0
                     ? m
                     : fail(errstr, errstr_size, "%s: path too long", dir);
        if (ok)
                ok = load_modules(&m->conf, path, transformer, pooling, sizeof(transformer), errstr,
                                  errstr_size);
        /* room left in mdir for the file names joined to it below */
        if (ok && join(mdir, sizeof(mdir) - 64, dir, transformer, "") != 0)
                ok = fail(errstr, errstr_size, "%s: path too long", dir);
        if (ok) {
                join(path, sizeof(path), mdir, "", "config.json");
                ok = load_config(&m->conf, path, errstr, errstr_size);
        }
        if (ok) {
                join(path, sizeof(path), mdir, "", "sentence_bert_config.json");
                ok = load_st_config(&m->conf, path, errstr, errstr_size);
        }
        if (ok && join(path, sizeof(path), dir, pooling, "config.json") != 0)
                ok = fail(errstr, errstr_size, "%s: path too long", dir);
        if (ok)
                ok = load_pooling(&m->conf, path, errstr, errstr_size);
        if (ok) {
                join(path, sizeof(path), mdir, "", "tokenizer.json");
                m->tok = bert_tokenizer_load(path, errstr, errstr_size);
                ok = m->tok;
        }
        if (ok && bert_tokenizer_id_limit(m->tok) > m->conf.vocab_size)
                ok = fail(errstr, errstr_size,
                          "%s: token ids go up to %zu, beyond config.json's vocab_size %zu", path,
                          bert_tokenizer_id_limit(m->tok) - 1, m->conf.vocab_size);
        if (ok) {
                m->layers = calloc(m->conf.num_layers, sizeof(*m->layers));
                ok = m->layers ? m : fail(errstr, errstr_size, "out of memory");
        }
        if (ok) {
                join(path, sizeof(path), mdir, "", "model.safetensors");
                ok = safetensors_open(&m->st, path, errstr, errstr_size) == CAIRN_OK ? m : NULL;
        }
        if (ok)
                ok = load_weights(m, path, errstr, errstr_size);
        if (ok && bert_model_pack(m) != 0)
                ok = fail(errstr, errstr_size, "out of memory");
        if (ok)
                release_packed(m);
        if (!ok) {
                bert_model_free(m);
                return NULL;
        }
        return m;
}

void bert_model_free(struct bert_model *model)
{
        if (!model)
                return;
        bert_tokenizer_free(model->tok);
        safetensors_cleanup(&model->st);
        free(model->layers);
        free(model->packed);
        free(model);
}

/* Loading a Whisper model directory (whisper.h, whisper_model.h): model.bin
 * through ct2_model.c, each weight checked for the shape the network needs
 * and converted to float32 once; config.json's token lists; the
 * vocabulary. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whisper.h"
#include "whisper_model.h"

struct loader {
        struct whisper_model *m;
        size_t used, cap; /* floats of m->arena */
        char *errstr;
        size_t errstr_size;
};

static int fail(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct loader *l, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(l->errstr, l->errstr_size, fmt, ap);
        va_end(ap);
        return -1;
}

/* The variable @p name of rank @p rank with dims @p d0, @p d1, @p d2 (as
 * many as the rank), as float32 in the arena. */
static const float *weight(struct loader *l, const char *name, unsigned rank, size_t d0, size_t d1,
                           size_t d2)
{
        const struct ct2_variable *v = ct2_model_find(&l->m->file, name);
        const size_t want[3] = { d0, d1, d2 };
        float *out;

        if (!v) {
                fail(l, "model.bin: variable \"%s\" missing", name);
                return NULL;
        }
        if (v->rank != rank) {
                fail(l, "model.bin: variable \"%s\": rank %u, expected %u", name, v->rank, rank);
                return NULL;
        }
        for (unsigned d = 0; d < rank; d++) {
                if (v->dims[d] != want[d]) {
                        fail(l, "model.bin: variable \"%s\": dimension %u is %u, expected %zu",
                             name, d, (unsigned)v->dims[d], want[d]);
                        return NULL;
                }
        }
        if (v->dtype != CT2_FLOAT16 && v->dtype != CT2_FLOAT32) {
                fail(l, "model.bin: variable \"%s\": dtype %s, expected float16 or float32", name,
                     ct2_dtype_name(v->dtype));
                return NULL;
        }
        if (v->nelem > l->cap - l->used) {
                fail(l, "model.bin: variable \"%s\": weights exceed the model's size", name);
                return NULL;
        }
        out = l->m->arena + l->used;
        l->used += v->nelem;
        if (v->dtype == CT2_FLOAT16)
                ct2_half_to_float(v->data, out, v->nelem);
        else
                memcpy(out, v->data, v->nelem * sizeof(float));
        return out;
}

static int linear(struct loader *l, struct whisper_linear *lin, const char *prefix, size_t out,
                  size_t in)
{
        char name[256];

        snprintf(name, sizeof(name), "%s/weight", prefix);
        lin->w = weight(l, name, 2, out, in, 0);
        snprintf(name, sizeof(name), "%s/bias", prefix);
        lin->b = lin->w ? weight(l, name, 1, out, 0, 0) : NULL;
        lin->out = out;
        lin->in = in;
        return lin->b ? 0 : -1;
}

static int norm(struct loader *l, struct whisper_norm *n, const char *prefix)
{
        char name[256];

        snprintf(name, sizeof(name), "%s/gamma", prefix);
        n->gamma = weight(l, name, 1, l->m->d_model, 0, 0);
        snprintf(name, sizeof(name), "%s/beta", prefix);
        n->beta = n->gamma ? weight(l, name, 1, l->m->d_model, 0, 0) : NULL;
        return n->beta ? 0 : -1;
}

/* A scalar integer variable (int8, int16 or int32). */
static int scalar(struct loader *l, const char *name, long *out)
{
        const struct ct2_variable *v = ct2_model_find(&l->m->file, name);
        const unsigned char *p;

        if (!v || v->rank != 0)
                return fail(l, "model.bin: variable \"%s\" missing or not a scalar", name);
        p = v->data;
        switch (v->dtype) {
        case CT2_INT8:
                *out = (signed char)p[0];
                return 0;
        case CT2_INT16:
                *out = (short)(p[0] | p[1] << 8);
                return 0;
        case CT2_INT32:
                *out = (int)((unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 |
                             (unsigned)p[3] << 24);
                return 0;
        default:
                return fail(l, "model.bin: variable \"%s\": dtype %s, expected an integer", name,
                            ct2_dtype_name(v->dtype));
        }
}

static size_t count_layers(const struct ct2_model *f, const char *side)
{
        char name[128];
        size_t n = 0;

        for (;;) {
                snprintf(name, sizeof(name), "%s/layer_%zu/ffn/linear_0/weight", side, n);
                if (!ct2_model_find(f, name))
                        return n;
                n++;
        }
}

static int load_weights(struct loader *l)
{
        struct whisper_model *m = l->m;
        const struct ct2_variable *v;
        char p[128], q[160];
        long heads, dec_heads;

        if (strcmp(m->file.spec, "WhisperSpec"))
                return fail(l, "model.bin: spec \"%s\", expected \"WhisperSpec\"", m->file.spec);
        if (m->file.revision != 3)
                return fail(l, "model.bin: WhisperSpec revision %u, expected 3",
                            (unsigned)m->file.revision);
        for (size_t i = 0; i < m->file.n_vars; i++) {
                v = &m->file.vars[i];
                if (v->dtype == CT2_FLOAT16 || v->dtype == CT2_FLOAT32)
                        l->cap += v->nelem;
        }
        m->arena = malloc(l->cap * sizeof(float));
        if (!m->arena)
                return fail(l, "model.bin: out of memory for %zu weights", l->cap);

        v = ct2_model_find(&m->file, "encoder/conv1/weight");
        if (!v || v->rank != 3)
                return fail(
                        l, "model.bin: variable \"encoder/conv1/weight\" missing or not of rank 3");
        m->d_model = v->dims[0];
        m->n_mels = v->dims[1];
        if (m->d_model == 0 || m->d_model > 8192 || m->n_mels != 80 || v->dims[2] != 3)
                return fail(l,
                            "model.bin: variable \"encoder/conv1/weight\": shape [%u, %u, %u], "
                            "expected [d_model, 80, 3]",
                            (unsigned)v->dims[0], (unsigned)v->dims[1], (unsigned)v->dims[2]);
        if (scalar(l, "encoder/num_heads", &heads) || scalar(l, "decoder/num_heads", &dec_heads))
                return -1;
        if (heads <= 0 || heads > WHISPER_MAX_HEADS || heads != dec_heads ||
            m->d_model % (size_t)heads)
                return fail(l,
                            "model.bin: variable \"encoder/num_heads\": %ld heads do not divide "
                            "d_model %zu (decoder: %ld)",
                            heads, m->d_model, dec_heads);
        m->n_heads = (size_t)heads;
        v = ct2_model_find(&m->file, "encoder/position_encodings/encodings");
        if (!v || v->rank != 2)
                return fail(l, "model.bin: variable \"encoder/position_encodings/encodings\" "
                               "missing or not of rank 2");
        m->n_audio_ctx = v->dims[0];
        if (m->n_audio_ctx != 1500)
                return fail(l,
                            "model.bin: variable \"encoder/position_encodings/encodings\": "
                            "%zu positions, expected 1500",
                            m->n_audio_ctx);
        v = ct2_model_find(&m->file, "decoder/position_encodings/encodings");
        if (!v || v->rank != 2 || v->dims[0] < 16 || v->dims[0] > 4096)
                return fail(l, "model.bin: variable \"decoder/position_encodings/encodings\" "
                               "missing or of a bad shape");
        m->n_text_ctx = v->dims[0];
        v = ct2_model_find(&m->file, "decoder/embeddings/weight");
        if (!v || v->rank != 2 || v->dims[0] < 2)
                return fail(l, "model.bin: variable \"decoder/embeddings/weight\" missing or of "
                               "a bad shape");
        m->n_vocab = v->dims[0];

        const size_t D = m->d_model, F = 4 * D;

        m->conv1.w = weight(l, "encoder/conv1/weight", 3, D, m->n_mels, 3);
        m->conv1.b = m->conv1.w ? weight(l, "encoder/conv1/bias", 1, D, 0, 0) : NULL;
        m->conv2.w = m->conv1.b ? weight(l, "encoder/conv2/weight", 3, D, D, 3) : NULL;
        m->conv2.b = m->conv2.w ? weight(l, "encoder/conv2/bias", 1, D, 0, 0) : NULL;
        if (!m->conv2.b)
                return -1;
        m->conv1.out = m->conv2.out = D;
        m->conv1.in = m->n_mels * 3;
        m->conv2.in = D * 3;
        m->enc_pos = weight(l, "encoder/position_encodings/encodings", 2, m->n_audio_ctx, D, 0);
        if (!m->enc_pos)
                return -1;
        m->n_enc_layers = count_layers(&m->file, "encoder");
        m->n_dec_layers = count_layers(&m->file, "decoder");
        if (!m->n_enc_layers || m->n_enc_layers > WHISPER_MAX_LAYERS || !m->n_dec_layers ||
            m->n_dec_layers > WHISPER_MAX_LAYERS)
                return fail(l, "model.bin: %zu encoder and %zu decoder layers (1 to %d each)",
                            m->n_enc_layers, m->n_dec_layers, WHISPER_MAX_LAYERS);
        for (size_t i = 0; i < m->n_enc_layers; i++) {
                struct whisper_enc_layer *L = &m->enc[i];

                snprintf(p, sizeof(p), "encoder/layer_%zu", i);
#define SUB(s) (snprintf(q, sizeof(q), "%s/%s", p, s), q)
                if (norm(l, &L->attn_norm, SUB("self_attention/layer_norm")) ||
                    linear(l, &L->qkv, SUB("self_attention/linear_0"), 3 * D, D) ||
                    linear(l, &L->out, SUB("self_attention/linear_1"), D, D) ||
                    norm(l, &L->ffn_norm, SUB("ffn/layer_norm")) ||
                    linear(l, &L->fc1, SUB("ffn/linear_0"), F, D) ||
                    linear(l, &L->fc2, SUB("ffn/linear_1"), D, F))
                        return -1;
        }
        if (norm(l, &m->enc_norm, "encoder/layer_norm"))
                return -1;
        m->tok_emb = weight(l, "decoder/embeddings/weight", 2, m->n_vocab, D, 0);
        m->dec_pos = m->tok_emb ? weight(l, "decoder/position_encodings/encodings", 2,
                                         m->n_text_ctx, D, 0)
                                : NULL;
        if (!m->dec_pos)
                return -1;
        for (size_t i = 0; i < m->n_dec_layers; i++) {
                struct whisper_dec_layer *L = &m->dec[i];

                snprintf(p, sizeof(p), "decoder/layer_%zu", i);
                if (norm(l, &L->self_norm, SUB("self_attention/layer_norm")) ||
                    linear(l, &L->qkv, SUB("self_attention/linear_0"), 3 * D, D) ||
                    linear(l, &L->self_out, SUB("self_attention/linear_1"), D, D) ||
                    norm(l, &L->cross_norm, SUB("attention/layer_norm")) ||
                    linear(l, &L->cross_q, SUB("attention/linear_0"), D, D) ||
                    linear(l, &L->cross_kv, SUB("attention/linear_1"), 2 * D, D) ||
                    linear(l, &L->cross_out, SUB("attention/linear_2"), D, D) ||
                    norm(l, &L->ffn_norm, SUB("ffn/layer_norm")) ||
                    linear(l, &L->fc1, SUB("ffn/linear_0"), F, D) ||
                    linear(l, &L->fc2, SUB("ffn/linear_1"), D, F))
                        return -1;
#undef SUB
        }
        return norm(l, &m->dec_norm, "decoder/layer_norm");
}

static int cmp_int(const void *a, const void *b)
{
        return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* config.json's integer list @p key into a malloc'ed, sorted array without
 * repeats; a missing key is an empty list. */
static int id_list(struct loader *l, json_t *conf, const char *key, int **out, size_t *n)
{
        json_t *a = json_object_get(conf, key), *e;
        size_t i, k = 0;

        *out = NULL;
        *n = 0;
        if (!a)
                return 0;
        if (!json_is_array(a))
                return fail(l, "config.json: \"%s\" is not an array", key);
        *out = malloc((json_array_size(a) + 1) * sizeof(int));
        if (!*out)
                return fail(l, "config.json: out of memory");
        json_array_foreach(a, i, e) {
                const json_int_t id = json_is_integer(e) ? json_integer_value(e) : -2;

                if (id < 0 || (size_t)id >= l->m->n_vocab)
                        return fail(l, "config.json: \"%s\"[%zu] is not a token id", key, i);
                (*out)[k++] = (int)id;
        }
        qsort(*out, k, sizeof(int), cmp_int);
        *n = 0;
        for (i = 0; i < k; i++) {
                if (!*n || (*out)[*n - 1] != (*out)[i])
                        (*out)[(*n)++] = (*out)[i];
        }
        return 0;
}

static int load_config(struct loader *l, const char *dir)
{
        struct whisper_model *m = l->m;
        char path[4096];
        json_error_t jerr;
        json_t *conf, *heads, *e;
        size_t i;
        int rc = -1;

        snprintf(path, sizeof(path), "%s/config.json", dir);
        conf = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!conf)
                return fail(l, "%s: line %d: %s", path, jerr.line, jerr.text);
        if (!json_is_object(conf)) {
                fail(l, "%s: not a JSON object", path);
                goto out;
        }
        if (id_list(l, conf, "suppress_ids", &m->suppress, &m->n_suppress) ||
            id_list(l, conf, "suppress_ids_begin", &m->suppress_begin, &m->n_suppress_begin))
                goto out;
        heads = json_object_get(conf, "alignment_heads");
        if (heads && !json_is_array(heads)) {
                fail(l, "config.json: \"alignment_heads\" is not an array");
                goto out;
        }
        m->align_heads = calloc(json_array_size(heads) + 1, sizeof(*m->align_heads));
        if (!m->align_heads) {
                fail(l, "config.json: out of memory");
                goto out;
        }
        json_array_foreach(heads, i, e) {
                json_t *layer = json_array_get(e, 0), *head = json_array_get(e, 1);

                if (json_array_size(e) != 2 || !json_is_integer(layer) || !json_is_integer(head) ||
                    json_integer_value(layer) < 0 ||
                    json_integer_value(layer) >= (json_int_t)m->n_dec_layers ||
                    json_integer_value(head) < 0 ||
                    json_integer_value(head) >= (json_int_t)m->n_heads) {
                        fail(l,
                             "config.json: \"alignment_heads\"[%zu] is not [layer, head] of "
                             "this model",
                             i);
                        goto out;
                }
                m->align_heads[i][0] = (int)json_integer_value(layer);
                m->align_heads[i][1] = (int)json_integer_value(head);
                m->n_align_heads++;
        }
        rc = 0;
out:
        json_decref(conf);
        return rc;
}

struct whisper_model *whisper_model_load(const char *dir, char *errstr, size_t errstr_size)
{
        struct whisper_model *m = calloc(1, sizeof(*m));
        struct loader l = { .m = m, .errstr = errstr, .errstr_size = errstr_size };
        char path[4096], why[512];

        if (!m) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        snprintf(path, sizeof(path), "%s/model.bin", dir);
        if (ct2_model_open(&m->file, path, errstr, errstr_size)) {
                free(m);
                return NULL;
        }
        if (load_weights(&l) || load_config(&l, dir))
                goto fail;
        snprintf(path, sizeof(path), "%s/vocabulary.txt", dir);
        if (whisper_vocab_load(&m->vocab, path, why, sizeof(why))) {
                snprintf(errstr, errstr_size, "%s", why);
                goto fail;
        }
        if (m->vocab.n != m->n_vocab) {
                snprintf(errstr, errstr_size, "%s: %zu tokens, but model.bin embeds %zu", path,
                         m->vocab.n, m->n_vocab);
                goto fail;
        }
        if ((size_t)m->vocab.timestamp_begin + 1501 > m->n_vocab) {
                snprintf(errstr, errstr_size, "%s: fewer than 1501 timestamp tokens", path);
                goto fail;
        }
        /* tokenizer.json only serves prompts: a model without it still
         * transcribes */
        snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
        if (access(path, F_OK) == 0) {
                m->bpe = whisper_bpe_load(&m->vocab, path, errstr, errstr_size);
                if (!m->bpe)
                        goto fail;
        }
        /* the English-only models have one token fewer than the
         * multilingual ones (51,864 against 51,865 and up) */
        m->english_only = m->n_vocab < 51865;
        /* the file's bytes are no longer needed: weights live in the arena */
        ct2_model_cleanup(&m->file);
        return m;
fail:
        whisper_model_free(m);
        return NULL;
}

void whisper_model_free(struct whisper_model *m)
{
        if (!m)
                return;
        ct2_model_cleanup(&m->file);
        whisper_bpe_free(m->bpe);
        whisper_vocab_cleanup(&m->vocab);
        free(m->arena);
        free(m->suppress);
        free(m->suppress_begin);
        free(m->align_heads);
        free(m);
}

bool whisper_model_english_only(const struct whisper_model *m)
{
        return m->english_only;
}

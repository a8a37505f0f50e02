/* A BERT sentence-embedding model loaded from a sentence-transformers
 * directory (all-MiniLM-L6-v2, or any other BERT-architecture model laid out
 * the same way): its sizes, pooling and normalisation from the directory's
 * JSON files, its tokenizer, and its weights, memory-mapped once from
 * model.safetensors and checked tensor by tensor against the sizes. The
 * model is read-only once loaded and may be shared by threads. */
#ifndef EMBEDDING_BERT_MODEL_H
#define EMBEDDING_BERT_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "bert_tokenizer.h"
#include "safetensors.h"

enum bert_pooling {
        BERT_POOLING_MEAN = 0, /* the mean of the token vectors, padding left out */
        BERT_POOLING_CLS,      /* the vector of [CLS] */
};

struct bert_config {
        size_t vocab_size; /* rows of the token embeddings */
        size_t hidden_size;
        size_t num_layers;
        size_t num_heads;
        size_t intermediate_size;
        size_t max_position; /* rows of the position embeddings */
        size_t type_vocab_size;
        double layer_norm_eps;
        size_t max_seq_length; /* tokens a text is cut to, [CLS] and [SEP] included */
        enum bert_pooling pooling;
        bool normalize; /* L2-normalise the pooled vector */
};

/* One encoder layer. The tensors as loaded: linear weights are [out, in],
 * row after row, as PyTorch stores them, and every one of these pointers is
 * into the mapped file. */
struct bert_layer {
        const float *query_w, *query_b;
        const float *key_w, *key_b;
        const float *value_w, *value_b;
        const float *attn_out_w, *attn_out_b;
        const float *attn_norm_w, *attn_norm_b;
        const float *inter_w, *inter_b; /* [intermediate, hidden] */
        const float *out_w, *out_b;     /* [hidden, intermediate] */
        const float *out_norm_w, *out_norm_b;
        /* The linear weights as the encoder reads them, built by
         * bert_model_pack() in bert_gemm.h's panels, the query, key and
         * value weights as one [3 hidden, hidden] weight, so that the three
         * are one product. */
        const float *qkv_p;      /* query | key | value */
        const float *qkv_b;      /* [3 hidden] */
        const float *attn_out_p; /* [hidden, hidden] */
        const float *inter_p;    /* [intermediate, hidden] */
        const float *out_p;      /* [hidden, intermediate] */
};

struct bert_model {
        struct bert_config conf;
        struct bert_tokenizer *tok;
        struct safetensors st;
        const float *word_emb; /* [vocab_size, hidden] */
        const float *pos_emb;  /* [max_position, hidden] */
        const float *type_emb; /* [type_vocab_size, hidden] */
        const float *emb_norm_w, *emb_norm_b;
        struct bert_layer *layers; /* num_layers of them */
        float *packed;             /* owns the layers' weights built by bert_model_pack() */
};

/* Loads the sentence-transformers directory @p dir: modules.json (a
 * Transformer, a Pooling and optionally a Normalize module, nothing else),
 * the Transformer's config.json (model_type "bert", hidden_act "gelu",
 * absolute positions), sentence_bert_config.json (max_seq_length; without
 * it, max_position_embeddings), tokenizer.json (bert_tokenizer.h), the
 * Pooling module's config.json (mean or CLS pooling), and model.safetensors,
 * whose BERT tensors must all be there, F32, with the shapes the sizes give
 * (names with or without a "bert." prefix; others, such as the pooler,
 * are not used). Returns the model, or NULL with a message in @p errstr
 * that names the file and the key or tensor at fault. Free it with
 * bert_model_free(). */
struct bert_model *bert_model_load(const char *dir, char *errstr, size_t errstr_size);

void bert_model_free(struct bert_model *model);

/* Builds the encoder's copy of every layer's linear weights (struct
 * bert_layer, qkv_p to out_p) from the tensors as loaded, in one allocation,
 * model->packed, which bert_model_free() frees (a model put together by
 * hand, as in tests, frees it itself). bert_model_load() calls it; the
 * values are the loaded ones, only their order changes. Returns 0, or -1
 * when out of memory. */
int bert_model_pack(struct bert_model *model);

#endif

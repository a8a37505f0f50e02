/* Sentence embeddings from a loaded BERT model (bert_model.h): texts are
 * tokenized, run through the encoder (bert_gemm.h for the projections,
 * OpenBLAS sgemm for attention, exact erf GELU, LayerNorm with the model's epsilon), pooled
 * over their tokens and L2-normalised as the model's sentence-transformers
 * directory says, giving the vectors sentence-transformers gives. */
#ifndef EMBEDDING_BERT_ENCODE_H
#define EMBEDDING_BERT_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "bert_model.h"

/* Tokens one forward pass takes at most (or max_seq_length, when a model's
 * is longer): a batch holding more is run in several passes. 256 keeps a
 * pass's activations near the size of a core's L2 cache; with 1024, batches
 * of long texts ran about 10% slower in docs/benchmarks.md, and the weights
 * read once a pass cost little either way. */
#define BERT_PASS_TOKENS 256

/* Per-thread working memory of the encoder: activations for up to
 * BERT_PASS_TOKENS tokens (about 15 KiB a token for all-MiniLM-L6-v2, so
 * about 4 MiB), allocated on first use and reused. One must not be used by
 * two threads at once. */
struct bert_work;

/* Returns a new, empty working memory for @p model (borrowed; it must
 * outlive it), or NULL when out of memory. */
struct bert_work *bert_work_new(const struct bert_model *model);
void bert_work_free(struct bert_work *work);

/* Embeds @p n texts (borrowed; texts[i] has lens[i] bytes of UTF-8) into
 * @p out, n rows of model->conf.hidden_size floats (owned by the caller).
 * Each text is cut to the model's max_seq_length tokens, as
 * sentence-transformers does, silently. Stores the number of tokens the
 * model saw ([CLS] and [SEP] included) in *@p tokens when not NULL.
 * Returns 0, or -1 when out of memory. */
int bert_embed(const struct bert_model *model, struct bert_work *work, const char *const *texts,
               const size_t *lens, size_t n, float *out, uint64_t *tokens);

/* The tokens text @p i of the last bert_embed() call on @p work gave the
 * model ([CLS] and [SEP] included). */
size_t bert_work_text_tokens(const struct bert_work *work, size_t i);

/* The encoder alone, for tests: @p n sequences of token ids, packed back to
 * back in @p ids (sequence i has lens[i] ids, 1 to max_seq_length, [CLS] and
 * [SEP] included), at most BERT_PASS_TOKENS ids in all (or max_seq_length
 * when that is more), pooled and
 * normalised into @p out as bert_embed() does. Returns 0, or -1 when out of
 * memory. */
int bert_forward(const struct bert_model *model, struct bert_work *work, const int32_t *ids,
                 const size_t *lens, size_t n, float *out);

/* erf(@p x) as the encoder's GELU computes it: within one float ulp of the
 * exact value (bert_encode.c says how close), for tests. Any thread. */
float bert_erf(float x);

#endif

/* BERT's tokenizer, giving the same token ids as Hugging Face's tokenizers
 * library for the same tokenizer.json: added tokens matched in the raw text
 * ([CLS], [SEP], ... typed by a user are those tokens), BertNormalizer,
 * BertPreTokenizer, WordPiece, and the [CLS] ... [SEP] template, with
 * truncation to a maximum number of tokens as sentence-transformers asks
 * for it (the tokenizer.json's own truncation and padding settings are not
 * used). Only what BERT-family tokenizers use is read; anything else in the
 * file that would change the ids is refused when loading, never ignored. */
#ifndef EMBEDDING_BERT_TOKENIZER_H
#define EMBEDDING_BERT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text bert_tokenize() accepts, in bytes. */
#define BERT_TOKENIZER_INPUT_MAX ((size_t)1 << 24)
/* Largest tokenizer.json read. */
#define BERT_TOKENIZER_FILE_MAX ((size_t)64 << 20)

struct bert_tokenizer;

/* Per-thread working memory of bert_tokenize(): it grows to fit the
 * largest text seen and is reused, so tokenizing allocates nothing once
 * warm. One scratch must not be used by two threads at once. */
struct bert_tokenizer_scratch;

/* Loads the tokenizer.json at @p path. Returns NULL with a message naming
 * the file and what is wrong in @p errstr. Free with bert_tokenizer_free(). */
struct bert_tokenizer *bert_tokenizer_load(const char *path, char *errstr, size_t errstr_size);

/* The same from the JSON text @p json[0..len) (borrowed). Messages do not
 * name a file. */
struct bert_tokenizer *bert_tokenizer_parse(const char *json, size_t len, char *errstr,
                                            size_t errstr_size);

void bert_tokenizer_free(struct bert_tokenizer *tok);

/* Returns a new, empty scratch, or NULL when out of memory. */
struct bert_tokenizer_scratch *bert_tokenizer_scratch_new(void);
void bert_tokenizer_scratch_free(struct bert_tokenizer_scratch *scr);

/* Tokenizes @p text[0..len) (UTF-8; at most BERT_TOKENIZER_INPUT_MAX bytes)
 * into @p ids: [CLS], the text's tokens, [SEP], at most @p max_ids ids in
 * all (>= 2): a longer text loses its last tokens, as the library's
 * truncation does, and *@p truncated (when not NULL) says so. Stores the
 * number of ids in *@p n_ids. Bytes that are not valid UTF-8 are read as
 * U+FFFD, which the normalizer drops. Returns 0, or -1 when @p scr could
 * not grow (out of memory). @p tok and @p text are borrowed; @p tok may be
 * shared by threads. */
int bert_tokenize(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                  const char *text, size_t len, int32_t *ids, size_t max_ids, size_t *n_ids,
                  bool *truncated);

/* The text @p text[0..len) after the normalizer alone, as code points in
 * *@p cps[0..*@p n), which live in @p scr until its next use: the steps of
 * bert_tokenize() one at a time, for tests. Returns 0, or -1 when out of
 * memory. */
int bert_tokenizer_normalize(const struct bert_tokenizer *tok, struct bert_tokenizer_scratch *scr,
                             const char *text, size_t len, const int32_t **cps, size_t *n);

/* How the pre-tokenizer sees @p cp: 'w' (white space: separates words and
 * is dropped), 'p' (punctuation: a word of its own) or '-'. */
int bert_pretokenizer_class(int32_t cp);

/* The id of the token @p token (NUL-terminated) in the vocabulary or the
 * added tokens, or -1. */
int32_t bert_tokenizer_token_id(const struct bert_tokenizer *tok, const char *token);

/* One more than the largest id the tokenizer produces: the embedding table
 * must have at least that many rows. */
size_t bert_tokenizer_id_limit(const struct bert_tokenizer *tok);

#endif

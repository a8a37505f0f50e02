/* The built-in lexical embedding model: hashed word and character n-grams,
 * computed by pure functions over caller-owned scratch space.
 *
 * It captures lexical overlap (shared words, shared word pairs, shared word
 * pieces such as "sitting" / "sits"), not meaning: "car" and "automobile"
 * are unrelated to it. It needs no model file, works offline and gives the
 * same vector for the same text on every run and machine. The algorithm and
 * its weights are described at the top of lexical.c.
 *
 * Any change to the normalisation, the tokeniser, the seeds or the weights
 * changes every vector, so it must come with a new model name. */
#ifndef EMBEDDING_LEXICAL_H
#define EMBEDDING_LEXICAL_H

#include <stddef.h>

/* Longest text lexical_embed() accepts, in bytes; callers enforce smaller
 * limits of their own. */
#define LEXICAL_INPUT_MAX ((size_t)1 << 24)

/* Feature kinds. Each has its own hash seed, so that the word "cat" and the
 * character 3-gram "cat" (of "<cats>") are different features. */
enum lexical_kind {
        LEXICAL_UNIGRAM = 0, /* a word */
        LEXICAL_BIGRAM,      /* two adjacent words */
        LEXICAL_CHAR3,       /* 3 code points of "<word>" */
        LEXICAL_CHAR4,
        LEXICAL_CHAR5,
        LEXICAL_RAW, /* the whole normalised text, when it has no word */
        LEXICAL_KIND__COUNT
};

struct lexical_model {
        size_t dim;                         /* native dimension */
        double weight[LEXICAL_KIND__COUNT]; /* per feature kind; all > 0 */
};

/* Per-thread working memory of lexical_embed(). It grows to fit the largest
 * text seen and is then reused, so embedding allocates nothing once warm.
 * One scratch must not be used by two threads at once. */
struct lexical_scratch;

/* Sets up the model with native dimension @p dim (>= 1) and the default
 * weights (see lexical.c). */
void lexical_model_init(struct lexical_model *model, size_t dim);

/* Returns a new, empty scratch, or NULL when out of memory. Free it with
 * lexical_scratch_free(). */
struct lexical_scratch *lexical_scratch_new(void);
void lexical_scratch_free(struct lexical_scratch *scr);

/* Embeds @p text[0..len) (UTF-8; at most LEXICAL_INPUT_MAX bytes) into
 * @p out[0..dim), a unit vector. @p dim is normally model->dim; a smaller
 * one hashes straight into that many buckets, which gives a different vector
 * space: vectors of different dimensions must not be compared. Stores the
 * number of words in *@p ntokens when it is not NULL.
 * A text that is not valid UTF-8 is not an error: it is read as bytes
 * (ASCII folded to lower case, other bytes kept as letters).
 * Returns 0, or -1 when @p scr could not grow (out of memory; @p out is then
 * untouched). @p model and @p text are borrowed. */
int lexical_embed(const struct lexical_model *model, struct lexical_scratch *scr, const char *text,
                  size_t len, float *out, size_t dim, size_t *ntokens);

/* Normalises @p text and splits it into words exactly as lexical_embed()
 * does, without hashing: counts tokens at a fraction of the cost. Returns 0
 * with the count in *@p ntokens, or -1 when @p scr could not grow. */
int lexical_tokenize(struct lexical_scratch *scr, const char *text, size_t len, size_t *ntokens);

#endif

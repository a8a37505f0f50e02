/* Whisper's vocabulary (vocabulary.txt, one token a line, the line number
 * its id): byte-level BPE tokens spelled in GPT-2's byte-to-unicode
 * alphabet, turned back into their bytes at load, and the special tokens
 * found by name. */
#ifndef SPEECH_WHISPER_VOCAB_H
#define SPEECH_WHISPER_VOCAB_H

#include <stddef.h>

struct whisper_vocab {
        char **bytes; /* each token's bytes (specials as written), NUL-terminated */
        size_t *lens;
        size_t n;
        /* special tokens, -1 when the vocabulary lacks one */
        int eot, sot, sot_prev, sot_lm, no_speech, no_timestamps, translate, transcribe;
        int timestamp_begin; /* <|0.00|> */
};

/* Reads @p path into @p v. Returns 0, or -1 with @p errstr naming the file
 * and line; @p v then holds nothing to clean up. */
int whisper_vocab_load(struct whisper_vocab *v, const char *path, char *errstr, size_t errstr_size);

/* Builds @p v from @p n tokens as written in the vocabulary file (the text
 * of @p lines is borrowed). Returns 0, or -1 with @p errstr. */
int whisper_vocab_init(struct whisper_vocab *v, const char *const *lines, size_t n, char *errstr,
                       size_t errstr_size);

void whisper_vocab_cleanup(struct whisper_vocab *v);

/* The id of the token written @p text, or -1. */
int whisper_vocab_find(const struct whisper_vocab *v, const char *text);

/* The text of @p n tokens: the bytes of every token below eot, joined;
 * special and timestamp tokens left out. Returns a malloc'ed string (the
 * caller frees it) or NULL when out of memory. Invalid UTF-8 from a cut
 * sequence is kept as bytes. */
char *whisper_vocab_decode(const struct whisper_vocab *v, const unsigned *ids, size_t n);

#endif

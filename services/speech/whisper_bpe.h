/* Whisper's byte-level BPE encoder, for the text of a prompt: GPT-2's
 * pre-tokenizer regex splits the text into words, each word's bytes are
 * merged pair by pair in the order of tokenizer.json's merges, and the
 * pieces looked up in the vocabulary, as Hugging Face's tokenizers does. */
#ifndef SPEECH_WHISPER_BPE_H
#define SPEECH_WHISPER_BPE_H

#include <stddef.h>

#include "whisper_vocab.h"

struct whisper_bpe;

/* Reads the merges of @p path (tokenizer.json) over @p vocab (borrowed: it
 * must outlive the encoder). NULL with @p errstr naming the file. */
struct whisper_bpe *whisper_bpe_load(const struct whisper_vocab *vocab, const char *path,
                                     char *errstr, size_t errstr_size);
void whisper_bpe_free(struct whisper_bpe *b);

/* Encodes @p text (UTF-8; invalid bytes are encoded as bytes) into at most
 * @p max ids in @p ids. Returns the number of ids the whole text takes
 * (more than @p max when it did not fit: the first @p max are written),
 * or -1 when out of memory. */
long whisper_bpe_encode(const struct whisper_bpe *b, const char *text, unsigned *ids, size_t max);

#endif

/* The Unicode properties BERT's tokenizer needs, exactly as Hugging Face's
 * tokenizers library has them. That library's tables are older than the
 * installed utf8proc's in places (its punctuation, non-spacing marks and
 * control characters are those of Unicode 8.0; its NFD lacks a Unicode 13
 * decomposition) and newer in others (its lower-casing knows letters of
 * Unicode 16 and 17), and BERT models were trained on what it produces, so these follow it:
 * utf8proc where the two agree, tables of the library's own where they do
 * not. tests/integration/0031-bert_reference.c checks every code
 * point against the library. */
#ifndef EMBEDDING_BERT_UNICODE_H
#define EMBEDDING_BERT_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest canonical decomposition of one code point (utf8proc's bound). */
#define BERT_NFD_MAX 4

/* What BertNormalizer's clean_text drops: NUL, U+FFFD, and the control,
 * format and private-use characters but tab, newline and carriage return. */
bool bert_is_dropped(int32_t cp);

/* White space as BertNormalizer and BertPreTokenizer see it (Rust's
 * char::is_whitespace: tab to carriage return, space, U+0085, U+00A0,
 * U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
bool bert_is_whitespace(int32_t cp);

/* The CJK ideograph blocks that handle_chinese_chars surrounds with spaces
 * (not Hangul, kana or other CJK punctuation). */
bool bert_is_chinese(int32_t cp);

/* What BertPreTokenizer isolates: ASCII punctuation (symbols such as $ + <
 * = > ^ ` | ~ included) and Unicode punctuation. */
bool bert_is_punct(int32_t cp);

/* A non-spacing mark (Mn), which strip_accents drops after NFD. */
bool bert_is_nonspacing(int32_t cp);

/* The canonical decomposition of @p cp into @p out (at most BERT_NFD_MAX
 * code points; Hangul syllables into jamo); returns how many. */
size_t bert_decompose(int32_t cp, int32_t out[BERT_NFD_MAX]);

/* The canonical combining class, for NFD's reordering. */
int bert_combining_class(int32_t cp);

/* The lower case of @p cp as Rust's char::to_lowercase gives it (U+0130
 * becomes two code points) into @p out; returns how many (1 or 2). */
size_t bert_lower(int32_t cp, int32_t out[2]);

#endif

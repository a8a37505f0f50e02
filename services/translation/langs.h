/* Language codes and names. Apertium names languages in its modes by ISO
 * 639-3 ("eng-spa") or ISO 639-1 ("es-fr"); the service speaks ISO 639-1
 * where one exists, as LibreTranslate does, and keeps any other code as
 * Apertium spells it. */
#ifndef TRANSLATION_LANGS_H
#define TRANSLATION_LANGS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest code the service keeps, with its NUL ("ast", "oc", "arg"). */
#define TR_LANG_MAX 8

/* The service's code for Apertium's @p code (of @p len bytes): "eng" and
 * "en" both give "en". Returns false when the code is not 2 or 3 lower-case
 * letters. */
bool tr_lang_normalise(const char *code, size_t len, char out[TR_LANG_MAX]);

/* English name of a code ("en" → "English"), or the code itself. */
const char *tr_lang_name(const char *code);

/* Whether @p code looks like a language code a request may name: 2 or 3
 * lower-case ASCII letters. */
bool tr_lang_valid(const char *code);

#endif

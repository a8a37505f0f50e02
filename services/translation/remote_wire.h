/* The wire format of LibreTranslate-compatible servers, as pure functions:
 * the body of POST /translate, its answer (translatedText, a string for
 * one text or an array for several), and the answer of GET /languages (the
 * pairs the server offers). No I/O, so unit tests and the fuzz target call
 * them directly; every answer is untrusted. */
#ifndef TRANSLATION_REMOTE_WIRE_H
#define TRANSLATION_REMOTE_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/err.h"
#include "cairn/status.h"

/* Longest language code a provider may use, with its NUL ("zh-Hans"). */
#define TR_REMOTE_LANG_MAX 16
/* Most languages and pairs taken from one GET /languages. */
#define TR_REMOTE_LANGS_MAX 1024
#define TR_REMOTE_PAIRS_MAX 65536

/* A pair a provider translates directly (as far as we can tell). */
struct tr_remote_pair {
        char source[TR_REMOTE_LANG_MAX], target[TR_REMOTE_LANG_MAX];
};

/* Whether @p code can be a provider's language code: 1..15 bytes of ASCII
 * letters, digits, '-' and '_'. */
bool tr_wire_code_valid(const char *code);

/* What POST /translate is asked. */
struct tr_wire_request {
        const char *source, *target; /* language codes */
        bool html;                   /* format "html", else "text" */
        const char *api_key;         /* NULL or "": none sent */
        const char *const *texts;    /* UTF-8 */
        size_t n;                    /* 1: q is a string; more: an array */
};

/* The JSON body of POST /translate ({"q", "source", "target", "format",
 * "api_key"}). Returns a malloc'ed NUL-terminated string of *@p len bytes
 * that the caller wipes (it may hold the key) and frees, or NULL (out of
 * memory, or a text that is not UTF-8). */
char *tr_wire_translate_body(const struct tr_wire_request *wr, size_t *len);

/* Parses a 2xx answer of @p len bytes to a request of @p n texts:
 * {"translatedText": "..."} for one (an array of one is taken too), or an
 * array of @p n strings for more; other members (detectedLanguage,
 * alternatives) are ignored. Each translation must be UTF-8 without NUL
 * bytes, at most @p max_bytes long (0: any length). On CAIRN_OK, out[i] is
 * a malloc'ed NUL-terminated copy of translation i (the caller frees them);
 * on error nothing is left in @p out and @p st says what was wrong:
 * CAIRN_ERR_UNAVAILABLE with reason UPSTREAM_BAD_RESPONSE (CAIRN_ERR_EXHAUSTED
 * when out of memory). */
cairn_err_t tr_wire_translate_parse(const char *body, size_t len, size_t n, size_t max_bytes,
                                    char **out, struct cairn_status *st);

/* Parses the answer of GET /languages: an array of {"code", "name",
 * "targets"}, "targets" the codes a language translates into (a server
 * without it, LibreTranslate before 1.3, translates between any two of its
 * languages). Sets *@p pairs to a malloc'ed array (the caller frees it),
 * sorted by source then target, without duplicates or a language paired
 * with itself, and *@p n to its length. Returns CAIRN_OK, or
 * CAIRN_ERR_UNAVAILABLE (UPSTREAM_BAD_RESPONSE) naming what was wrong
 * ("languages[2].targets[0] is a number, not a language code"), with
 * nothing allocated. */
cairn_err_t tr_wire_languages_parse(const char *body, size_t len, struct tr_remote_pair **pairs,
                                    size_t *n, struct cairn_status *st);

#endif

/* The answers of LibreTranslate's API made from the translation service's
 * replies (libretranslate_render.c): translatedText (a string, or an array
 * for an array q), detectedLanguage when the source was "auto", the
 * detections of /detect ranked, the language list of /languages.
 * Confidences are LibreTranslate's percentages (0..100), the service's
 * 0..1 times 100. LibreTranslate has no per-text errors: a text that
 * failed makes the whole answer that error, naming it ("q[2]: ...").
 * Each returns a malloc'ed body the caller frees. */
#ifndef CAIRN_GATEWAY_LIBRETRANSLATE_RENDER_H
#define CAIRN_GATEWAY_LIBRETRANSLATE_RENDER_H

#include <stddef.h>

#include "cairn/translation/v1/translation.pb-c.h"
#include "error.h"
#include "libretranslate_parse.h"

/* The answer to @p req: the body, or NULL with @p e filled: the error of
 * the first text that failed (its status from its cairn.v1.Status code,
 * e->err that code, e->param "q[i]" for an array q and "q" for a string,
 * its message naming the text so: "texts[2] is empty" becomes "q[2] is
 * empty", another message gets "q[2]: " first), or a 502 when the reply
 * does not fit the request (another number of texts, an index twice, text
 * that is not UTF-8). */
char *gw_lt_translate_json(const struct gw_lt_request *req,
                           const Cairn__Translation__V1__TranslateReply *reply, size_t *lenp,
                           struct gw_error *e);

/* /detect: the candidates of a string q, most confident first; for an
 * array q, LibreTranslate's merge: each language once, with its mean
 * confidence over the texts it was found in, ranked by that times the
 * length of those texts. Nothing recognised is LibreTranslate's
 * [{"confidence":0.0,"language":"en"}]. NULL with @p e filled as above. */
char *gw_lt_detect_json(const struct gw_lt_request *req,
                        const Cairn__Translation__V1__DetectReply *reply, size_t *lenp,
                        struct gw_error *e);

/* /languages: [{"code", "name", "targets": [codes]}]. NULL with @p e
 * filled (502) when a string is not UTF-8. */
char *gw_lt_languages_json(const Cairn__Translation__V1__ListLanguagesReply *reply, size_t *lenp,
                           struct gw_error *e);

#endif

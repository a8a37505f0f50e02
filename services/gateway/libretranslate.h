/* LibreTranslate's API over the translation service: the adapters of
 * POST /translate, POST /detect and GET /languages (libretranslate.c), each
 * reading LibreTranslate's request (JSON or a form, with its api_key) into
 * a cairn.translation.v1 message and the reply into LibreTranslate's
 * answer, errors as {"error": "..."}. */
#ifndef CAIRN_GATEWAY_LIBRETRANSLATE_H
#define CAIRN_GATEWAY_LIBRETRANSLATE_H

#include "adapter.h"

extern const struct gw_adapter gw_lt_translate;
extern const struct gw_adapter gw_lt_detect;
extern const struct gw_adapter gw_lt_languages;

#endif

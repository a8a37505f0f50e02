/* The requests of LibreTranslate's API (/translate, /detect, /languages),
 * read as LibreTranslate reads them: a JSON body, or form fields
 * (urlencoded or multipart) and the query string (libretranslate_parse.c).
 * Every refusal is a 400 naming the field, in LibreTranslate's words where
 * it has some ("Invalid request: missing q parameter"); a body of another
 * media type is a 415. What is read lives in the caller's arena. */
#ifndef CAIRN_GATEWAY_LIBRETRANSLATE_PARSE_H
#define CAIRN_GATEWAY_LIBRETRANSLATE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/arena.h"
#include "error.h"
#include "form.h"

enum gw_lt_op {
        GW_LT_TRANSLATE,
        GW_LT_DETECT,
        GW_LT_LANGUAGES,
};

/* Most texts in one q array. */
#define GW_LT_MAX_TEXTS 1024
/* Most alternatives a request may ask for (LibreTranslate's default
 * --alternatives-limit); none are ever given. */
#define GW_LT_MAX_ALTERNATIVES 3
/* Most form fields (body and query together). */
#define GW_LT_MAX_FIELDS 64
/* Longest language code read (the service knows which exist). */
#define GW_LT_CODE_MAX 16
/* Longest api_key read (a JWT fits). */
#define GW_LT_KEY_MAX 8192

/* A request, whichever way it came. Strings are NUL-terminated, valid
 * UTF-8 without NULs. */
struct gw_lt_request {
        const char **q; /* the texts, 1..GW_LT_MAX_TEXTS, none empty */
        size_t nq;
        bool q_array;       /* q was an array: the answer's values are arrays */
        const char *source; /* a code or "auto" (translate) */
        const char *target; /* a code (translate) */
        bool html;          /* format "html" */
        uint32_t alternatives;
        const char *api_key; /* NULL when none (or an empty one) was sent */
};

/* Reads a request of @p op from its body of @p len bytes, of media type
 * @p content_type (application/json, application/x-www-form-urlencoded,
 * multipart/form-data; ignored without a body), and from the query
 * parameters @p query (NULL: none), which add to a form's fields and to a
 * JSON body's (a field given in both is refused). JSON nests at most
 * @p max_depth levels. Fields LibreTranslate does not read are ignored, as
 * it ignores them. Fills @p req and returns true, or fills @p e and
 * returns false. */
bool gw_lt_parse(enum gw_lt_op op, const char *content_type, const char *body, size_t len,
                 const struct gw_form *query, int max_depth, struct cairn_arena *arena,
                 struct gw_lt_request *req, struct gw_error *e);

#endif

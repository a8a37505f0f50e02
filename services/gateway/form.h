/* HTML form bodies as HTTP clients send them, application/x-www-form-urlencoded
 * and multipart/form-data (RFC 7578), decoded into name/value pairs
 * (form.c). LibreTranslate's clients send their fields so. Values are bytes:
 * a NUL or invalid UTF-8 in one is the caller's to refuse. Everything
 * decoded lives in the caller's arena. */
#ifndef CAIRN_GATEWAY_FORM_H
#define CAIRN_GATEWAY_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/arena.h"

/* Longest multipart boundary (RFC 2046: 1..70 characters). */
#define GW_FORM_BOUNDARY_MAX 70

struct gw_form_field {
        const char *name;  /* NUL-terminated, never holds a NUL */
        const char *value; /* NUL-terminated after value_len bytes, which may hold NULs */
        size_t value_len;
};

struct gw_form {
        struct gw_form_field *fields;
        size_t n;
};

/* Decodes an application/x-www-form-urlencoded body of @p len bytes:
 * fields split at '&' (empty ones skipped), a name from its value at the
 * first '=' (none: an empty value), '+' read as a space, %XX escapes
 * decoded. Appends to @p form (zeroed, or holding fields already). False,
 * with a message in @p why, for a malformed escape, a name with a NUL, more
 * than @p max_fields fields in all, or an arena over its limit. */
bool gw_form_urlencoded(const char *body, size_t len, size_t max_fields, struct cairn_arena *arena,
                        struct gw_form *form, char *why, size_t why_size);

/* Adds one field, @p name and @p value copied (for query parameters). */
bool gw_form_add(struct gw_form *form, const char *name, const char *value, size_t value_len,
                 size_t max_fields, struct cairn_arena *arena, char *why, size_t why_size);

/* The boundary of a multipart/form-data media type @p content_type (its
 * boundary parameter, quoted or not) into @p out; false when it has none
 * or one that is not 1..70 characters. */
bool gw_form_boundary(const char *content_type, char out[GW_FORM_BOUNDARY_MAX + 1]);

/* Decodes a multipart/form-data body of @p len bytes whose parts are
 * delimited by @p boundary: each part's name from its Content-Disposition
 * (form-data; name="..."), its content as the value (a file's too). A
 * preamble before the first delimiter and an epilogue after the last are
 * ignored. Appends to @p form; false, with a message in @p why, for a body
 * without a first or a closing delimiter, a delimiter line not ending in
 * CRLF, a part without a name, more than @p max_fields fields, or an arena
 * over its limit. */
bool gw_form_multipart(const char *boundary, const char *body, size_t len, size_t max_fields,
                       struct cairn_arena *arena, struct gw_form *form, char *why, size_t why_size);

/* The first field named @p name, or NULL; *@p count (may be NULL) is how
 * many fields have that name. */
const struct gw_form_field *gw_form_get(const struct gw_form *form, const char *name,
                                        size_t *count);

#endif

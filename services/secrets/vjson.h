/* A secret's value as JSON: one object (Vault's rule), merged with a JSON
 * merge patch (RFC 7396), and its shape without its content (subkeys). */
#ifndef SECRETS_VJSON_H
#define SECRETS_VJSON_H

#include <jansson.h>
#include <stddef.h>

/* Parses @p n bytes as a JSON object; NULL with the reason in @p why. */
json_t *secrets_vjson_object(const char *text, size_t n, char *why, size_t why_size);

/* Applies @p patch to @p target in place (RFC 7396: a null removes a key,
 * objects merge, anything else replaces). @p patch is borrowed: @p target
 * gets copies of its values, so wiping @p target leaves @p patch intact. */
void secrets_vjson_merge(json_t *target, const json_t *patch);

/* The keys of @p obj, nested down to @p depth levels (0: all), every
 * value null: a new reference. */
json_t *secrets_vjson_subkeys(const json_t *obj, unsigned depth);

/* Compact JSON text of @p obj, malloc'ed (wipe before freeing: it is a
 * secret). */
char *secrets_vjson_text(const json_t *obj, size_t *len);

#endif

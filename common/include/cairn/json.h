/* jansson values as error messages name them, and wiped before they are
 * freed when they held a secret. */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H

#include <jansson.h>

/* "an object", "an array", "a string", "an integer", "a number",
 * "a boolean" or "null": for "x must be a string, not %s". */
const char *cairn_json_kind(const json_t *v);

/* Overwrites every string of @p v (keys aside) in place, recursively. */
void cairn_json_wipe(json_t *v);

#endif

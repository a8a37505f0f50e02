/* A secret's value as JSON (vjson.h). */
#include "vjson.h"

#include <stdio.h>
#include <string.h>

#include "cairn/json.h"

#define DEPTH_MAX 64

json_t *secrets_vjson_object(const char *text, size_t n, char *why, size_t why_size)
{
        json_error_t e;
        json_t *v = json_loadb(text, n, JSON_REJECT_DUPLICATES, &e);

        if (!v) {
                /* the position, never the text: it is a secret */
                snprintf(why, why_size, "the value is not JSON (line %d, column %d)", e.line,
                         e.column);
                return NULL;
        }
        if (!json_is_object(v)) {
                cairn_json_wipe(v);
                json_decref(v);
                snprintf(why, why_size, "the value must be a JSON object");
                return NULL;
        }
        return v;
}

void secrets_vjson_merge(json_t *target, const json_t *patch)
{
        const char *key;
        json_t *value;

        json_object_foreach((json_t *)patch, key, value) {
                json_t *cur = json_object_get(target, key);

                if (json_is_null(value))
                        json_object_del(target, key);
                else if (json_is_object(value) && json_is_object(cur))
                        secrets_vjson_merge(cur, value);
                else if (json_is_object(value)) {
                        /* a patch object merged into nothing drops its nulls */
                        json_t *fresh = json_object();

                        secrets_vjson_merge(fresh, value);
                        json_object_set_new(target, key, fresh);
                } else {
                        /* a copy: the result is wiped, and a retried
                         * transaction merges the same patch again */
                        json_object_set_new(target, key, json_deep_copy(value));
                }
        }
}

static json_t *subkeys(const json_t *obj, unsigned depth, unsigned level)
{
        json_t *out = json_object();
        const char *key;
        json_t *value;

        json_object_foreach((json_t *)obj, key, value) {
                if (json_is_object(value) && level < DEPTH_MAX && (depth == 0 || level < depth))
                        json_object_set_new(out, key, subkeys(value, depth, level + 1));
                else
                        json_object_set_new(out, key, json_null());
        }
        return out;
}

json_t *secrets_vjson_subkeys(const json_t *obj, unsigned depth)
{
        return subkeys(obj, depth, 1);
}

char *secrets_vjson_text(const json_t *obj, size_t *len)
{
        char *s = json_dumps(obj, JSON_COMPACT);

        if (s)
                *len = strlen(s);
        return s;
}

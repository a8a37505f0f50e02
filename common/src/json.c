/* jansson values named and wiped (cairn/json.h). */
#include "cairn/json.h"

#include <sodium.h>

const char *cairn_json_kind(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

void cairn_json_wipe(json_t *v)
{
        const char *key;
        json_t *value;
        size_t i;

        if (json_is_string(v)) {
                /* jansson keeps the text in a buffer of its own: overwrite in place */
                sodium_memzero((char *)json_string_value(v), json_string_length(v));
        } else if (json_is_object(v)) {
                json_object_foreach(v, key, value)
                        cairn_json_wipe(value);
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, value)
                        cairn_json_wipe(value);
        }
}

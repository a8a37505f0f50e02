/* The proto3 JSON mapping over protobuf-c descriptors: JSON request bodies
 * become protobuf-c messages, messages become JSON, and message types become
 * OpenAPI schemas, for any message type whose descriptor is at hand (see
 * cairn/pb_registry.h for finding one by name). Nothing here keeps state:
 * every function may run on any thread.
 *
 * What the mapping does, both ways: fields by lowerCamelCase JSON name (the
 * original proto name is accepted on input and rendered with
 * CAIRN_PBJSON_PROTO_NAMES); 64-bit integers as decimal strings (numbers
 * accepted on input); enums by name (numbers accepted on input, unknown
 * numbers rendered as numbers); bytes as standard base64 (URL-safe and
 * unpadded accepted on input); float and double as numbers or "NaN",
 * "Infinity", "-Infinity"; repeated fields as arrays; maps as objects whose
 * keys are strings for every key type; oneofs as their one set member; null
 * as the field's default. The well-known types google.protobuf.Timestamp,
 * Duration, Struct, Value, ListValue, NullValue, the wrappers, Empty and
 * FieldMask take their special JSON forms; google.protobuf.Any is refused.
 *
 * Limits of protobuf-c and jansson that show through: strings cannot hold
 * U+0000; a uint64 above 2^63-1 must arrive as a string (the JSON reader
 * refuses such large bare numbers); a singular -0.0 counts as the default 0,
 * as protobuf-c's packer has it; custom json_name options are not kept in
 * protobuf-c descriptors, so the default lowerCamelCase names are used.
 * Numbers are read and written as the C locale spells them (nothing in
 * Cairn calls setlocale()). */
#ifndef CAIRN_PBJSON_H
#define CAIRN_PBJSON_H

#include <jansson.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "cairn/arena.h"
#include "cairn/err.h"
#include "cairn/pb_registry.h"
#include "google/protobuf/timestamp.pb-c.h"

/* Nesting (JSON objects and arrays, or messages) beyond this is refused both
 * ways, whatever depth a caller allows. */
#define CAIRN_PBJSON_DEPTH_MAX 100

/* Where and why a conversion failed. @p field is a path in the caller's
 * terms: the object keys as sent (field names, map keys), "[i]" for array
 * elements: "items[2].name", "labels.k"; "" for the whole body. Both are
 * NUL-terminated UTF-8, truncated when longer. */
struct cairn_pbjson_error {
        char field[128];
        char message[256];
};

/* Converts @p json to a new message of type @p desc. Unknown fields, wrong
 * JSON types, numbers out of range, invalid UTF-8, a field given twice (under
 * both of its names), two members of one oneof and nesting deeper than
 * CAIRN_PBJSON_DEPTH_MAX fail with CAIRN_ERR_INVALID and @p err naming the
 * field; CAIRN_ERR_EXHAUSTED when memory runs out. @p json is borrowed;
 * @p err may be NULL. On success *@p out is allocated with protobuf-c's
 * default allocator: free it with protobuf_c_message_free_unpacked(msg,
 * NULL). On failure *@p out is NULL. */
cairn_err_t cairn_pbjson_from_json(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                   ProtobufCMessage **out, struct cairn_pbjson_error *err);

/* The same from @p text[0..len): JSON syntax errors, duplicate object keys,
 * invalid UTF-8 and nesting deeper than @p max_depth (objects and arrays,
 * the outermost counting 1; at most CAIRN_PBJSON_DEPTH_MAX) fail with
 * CAIRN_ERR_INVALID and @p err naming the path where the reader stopped. */
cairn_err_t cairn_pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                               int max_depth, ProtobufCMessage **out,
                               struct cairn_pbjson_error *err);

/* Sets @p ts to @p unix_us (microseconds since the epoch; negative ones
 * too, nanos kept in [0, 1e9) as the type requires). */
void cairn_timestamp_set_us(Google__Protobuf__Timestamp *ts, int64_t unix_us);

/* cairn_pbjson_parse() of a NUL-terminated @p text into @p arena, so the
 * message lives as long as a reply built there: NULL when @p text does not
 * parse or the arena is full. */
ProtobufCMessage *cairn_pbjson_parse_arena(const ProtobufCMessageDescriptor *desc, const char *text,
                                           int max_depth, struct cairn_arena *arena);

/* Binds one text value (a URL path capture or a query parameter) to the
 * field at dotted @p path ("filter.user_id"; JSON or proto names) inside the
 * JSON object @p obj, before cairn_pbjson_from_json() runs on it: converts
 * @p text to the JSON the field wants (a number for 32-bit integers and
 * finite floats, a string for 64-bit integers, enum names, strings, base64
 * bytes, Timestamps, Durations and FieldMasks, true/false for bools, the
 * wrapped value for wrappers), creates the intermediate objects, appends to
 * repeated fields and replaces singular ones. A path naming no field, a map,
 * a message without a text form, or text that does not fit fails with
 * CAIRN_ERR_INVALID and @p err->field set to @p path. @p obj is modified in
 * place; on failure it may hold the intermediate objects already made. */
cairn_err_t cairn_pbjson_bind(const ProtobufCMessageDescriptor *desc, json_t *obj, const char *path,
                              const char *text, struct cairn_pbjson_error *err);

/* Rendering flags. PROTO_NAMES: original field names instead of
 * lowerCamelCase. EMIT_DEFAULTS: also the fields that hold their default
 * (0, "", [], {}; not unset messages, oneofs or wrappers). */
#define CAIRN_PBJSON_PROTO_NAMES   0x1
#define CAIRN_PBJSON_EMIT_DEFAULTS 0x2

/* Converts @p msg to JSON by the proto3 mapping, fields in field-number
 * order, default-valued fields omitted unless CAIRN_PBJSON_EMIT_DEFAULTS.
 * A value the mapping cannot express (invalid UTF-8 in a string, a
 * Timestamp or Duration out of range, NaN in a google.protobuf.Value, a
 * FieldMask path that does not convert, nesting deeper than
 * CAIRN_PBJSON_DEPTH_MAX) fails with CAIRN_ERR_INVALID and @p err naming
 * the field. On success *@p out is a new reference the caller
 * json_decref()s. @p msg is borrowed; @p err may be NULL. */
cairn_err_t cairn_pbjson_encode(const ProtobufCMessage *msg, unsigned flags, json_t **out,
                                struct cairn_pbjson_error *err);

/* cairn_pbjson_encode() without the error: a new reference the caller
 * json_decref()s, NULL when memory runs out or @p msg holds a value with no
 * JSON form. Reals in the result hold the shortest decimal that reads back
 * as the field's value (floats as floats); json_dumps() prints them with 17
 * digits, cairn_pbjson_dump() with the fewest. */
json_t *cairn_pbjson_to_json(const ProtobufCMessage *msg, unsigned flags);

/* cairn_pbjson_to_json() as compact text: malloc'ed, NUL-terminated, the
 * caller free()s it; its length in *@p lenp (may be NULL). NULL when memory
 * runs out or @p msg holds a value with no JSON form. */
char *cairn_pbjson_render(const ProtobufCMessage *msg, unsigned flags, size_t *lenp);

/* Compact text of any JSON value, reals with the shortest digits that read
 * back identical (always with a '.' or an exponent, so they stay reals),
 * non-ASCII characters as UTF-8. Malloc'ed, the caller free()s it; NULL
 * when memory runs out. @p json is borrowed. */
char *cairn_pbjson_dump(const json_t *json, size_t *lenp);

/* OpenAPI 3.0 schema of @p desc: returns a new {"$ref":
 * "#/components/schemas/<full.name>"} and adds to the object @p components
 * the schemas of @p desc and of every message type it reaches, once each
 * (kept when already there). Types and formats follow the mapping: 64-bit
 * integers string/int64 (uint64), bytes string/byte, enums string enums of
 * their names, repeated fields arrays, maps objects with
 * additionalProperties; well-known types inline (Timestamp string/date-time,
 * Duration and FieldMask strings, Struct an object, Value anything,
 * wrappers their nullable value). Nothing is marked required and there are
 * no descriptions: protobuf-c keeps no comments. NULL when memory runs
 * out. */
json_t *cairn_pbjson_schema(const ProtobufCMessageDescriptor *desc, json_t *components);

#endif

/* OpenAPI 3.0 schemas of message types as the JSON mapping shapes them:
 * what a client sends and receives, derived from descriptors alone. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "pbjson_internal.h"

static json_t *message_ref(const ProtobufCMessageDescriptor *desc, json_t *components);

static json_t *scalar_schema(const ProtobufCFieldDescriptor *fd)
{
        switch (fd->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                return json_pack("{s:s, s:s}", "type", "integer", "format", "int32");
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                return json_pack("{s:s, s:s, s:i, s:I}", "type", "integer", "format", "int64",
                                 "minimum", 0, "maximum", (json_int_t)UINT32_MAX);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                return json_pack("{s:s, s:s}", "type", "string", "format", "int64");
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                return json_pack("{s:s, s:s}", "type", "string", "format", "uint64");
        case PROTOBUF_C_TYPE_FLOAT:
                return json_pack("{s:s, s:s}", "type", "number", "format", "float");
        case PROTOBUF_C_TYPE_DOUBLE:
                return json_pack("{s:s, s:s}", "type", "number", "format", "double");
        case PROTOBUF_C_TYPE_BOOL:
                return json_pack("{s:s}", "type", "boolean");
        case PROTOBUF_C_TYPE_STRING:
                return json_pack("{s:s}", "type", "string");
        case PROTOBUF_C_TYPE_BYTES:
                return json_pack("{s:s, s:s}", "type", "string", "format", "byte");
        case PROTOBUF_C_TYPE_ENUM: {
                const ProtobufCEnumDescriptor *ed = fd->descriptor;
                json_t *names;

                if (pbjson_is_null_value(fd))
                        return json_pack("{s:b, s:[n]}", "nullable", 1, "enum");
                names = json_array();
                for (unsigned i = 0; names && i < ed->n_values; i++)
                        if (json_array_append_new(names, json_string(ed->values[i].name)) != 0) {
                                json_decref(names);
                                names = NULL;
                        }
                return names ? json_pack("{s:s, s:o}", "type", "string", "enum", names) : NULL;
        }
        case PROTOBUF_C_TYPE_MESSAGE:
                break;
        }
        return NULL;
}

/* Well-known types are inlined: their JSON is a plain value. */
static json_t *wkt_schema(const ProtobufCMessageDescriptor *desc, enum pbjson_wkt kind)
{
        json_t *s;

        switch (kind) {
        case PBJSON_WKT_TIMESTAMP:
                return json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
        case PBJSON_WKT_DURATION:
                return json_pack("{s:s, s:s}", "type", "string", "pattern",
                                 "^-?[0-9]+(\\.[0-9]{1,9})?s$");
        case PBJSON_WKT_FIELD_MASK:
                return json_pack("{s:s}", "type", "string");
        case PBJSON_WKT_STRUCT:
                return json_pack("{s:s, s:{}}", "type", "object", "additionalProperties");
        case PBJSON_WKT_VALUE:
                return json_object(); /* any JSON value */
        case PBJSON_WKT_LIST_VALUE:
                return json_pack("{s:s, s:{}}", "type", "array", "items");
        case PBJSON_WKT_WRAPPER:
                s = scalar_schema(protobuf_c_message_descriptor_get_field(desc, 1));
                if (s && json_object_set_new(s, "nullable", json_true()) != 0) {
                        json_decref(s);
                        s = NULL;
                }
                return s;
        case PBJSON_WKT_ANY:
                return json_pack("{s:s}", "type", "object");
        case PBJSON_WKT_NONE:
                break;
        }
        return NULL;
}

/* The schema of one value of field @p fd (an element for repeated ones). */
static json_t *value_schema(const ProtobufCFieldDescriptor *fd, json_t *components)
{
        enum pbjson_wkt kind;

        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
                return scalar_schema(fd);
        kind = pbjson_wkt_of(fd->descriptor);
        if (kind != PBJSON_WKT_NONE)
                return wkt_schema(fd->descriptor, kind);
        return message_ref(fd->descriptor, components);
}

static json_t *field_schema(const ProtobufCFieldDescriptor *fd, json_t *components)
{
        json_t *inner;

        if (fd->label != PROTOBUF_C_LABEL_REPEATED)
                return value_schema(fd, components);
        if (pbjson_is_map(fd)) {
                const ProtobufCMessageDescriptor *entry = fd->descriptor;

                inner = value_schema(&entry->fields[1], components);
                return inner ? json_pack("{s:s, s:o}", "type", "object", "additionalProperties",
                                         inner)
                             : NULL;
        }
        inner = value_schema(fd, components);
        return inner ? json_pack("{s:s, s:o}", "type", "array", "items", inner) : NULL;
}

/* Fills the (empty, already registered) schema @p schema of @p desc. */
static bool message_schema(const ProtobufCMessageDescriptor *desc, json_t *schema,
                           json_t *components)
{
        enum pbjson_wkt kind = pbjson_wkt_of(desc);
        json_t *props;

        if (kind != PBJSON_WKT_NONE) {
                json_t *inline_schema = wkt_schema(desc, kind);
                bool ok = inline_schema && json_object_update(schema, inline_schema) == 0;

                json_decref(inline_schema);
                return ok;
        }
        props = json_object();
        if (!props || json_object_set_new(schema, "type", json_string("object")) != 0 ||
            json_object_set_new(schema, "properties", props) != 0)
                return false;
        for (unsigned i = 0; i < desc->n_fields; i++) {
                const ProtobufCFieldDescriptor *fd = &desc->fields[i];
                char name[256];
                json_t *fs = field_schema(fd, components);

                pbjson_json_name(fd->name, name, sizeof(name));
                if (!fs || json_object_set_new(props, name, fs) != 0)
                        return false;
        }
        return true;
}

static json_t *message_ref(const ProtobufCMessageDescriptor *desc, json_t *components)
{
        if (!json_object_get(components, desc->name)) {
                json_t *schema = json_object();

                /* registered before its fields are: recursive types end here */
                if (!schema || json_object_set_new(components, desc->name, schema) != 0 ||
                    !message_schema(desc, schema, components))
                        return NULL;
        }
        return json_pack("{s:s+}", "$ref", "#/components/schemas/", desc->name);
}

json_t *cairn_pbjson_schema(const ProtobufCMessageDescriptor *desc, json_t *components)
{
        assert(desc && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
        assert(json_is_object(components));
        return message_ref(desc, components);
}

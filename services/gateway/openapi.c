/* Builds the OpenAPI document from the route table: one operation per row,
 * with its parameters (request id, idempotency key, path captures, query
 * fields), body and reply schemas (the adapter's, or the message's by the
 * proto3 JSON mapping), and the errors the pipeline can answer on it, in the
 * route's error style. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "cairn/pbjson.h"
#include "openapi.h"

static json_t *ref(const char *kind, const char *name)
{
        char path[160];

        snprintf(path, sizeof(path), "#/components/%s/%s", kind, name);
        return json_pack("{s:s}", "$ref", path);
}

static json_t *schema_text(const char *text)
{
        json_error_t jerr;

        return json_loads(text, 0, &jerr);
}

static bool has_body(const struct gw_route *rt)
{
        return !rt->local && (strcmp(rt->method, "POST") == 0 || strcmp(rt->method, "PUT") == 0 ||
                              strcmp(rt->method, "PATCH") == 0);
}

/* The schema of a body or reply: the adapter's text, else the message's. */
static json_t *message_schema(const char *text, const ProtobufCMessageDescriptor *desc,
                              json_t *schemas)
{
        if (text)
                return schema_text(text);
        return cairn_pbjson_schema(desc, schemas);
}

static json_t *json_content(json_t *schema, const char *media)
{
        return json_pack("{s:{s:o}}", media, "schema", schema);
}

static const char *error_schema(enum gw_error_style style)
{
        switch (style) {
        case GW_ERRORS_STATUS:
                return "cairn.v1.Status";
        case GW_ERRORS_VAULT:
                return "VaultErrors";
        case GW_ERRORS_LIBRETRANSLATE:
                return "LibreTranslateError";
        default:
                return "ErrorResponse";
        }
}

/* One error answer of the route, shared (OpenAI style) or inline (Status). */
static void add_error(json_t *responses, json_t *shared, enum gw_error_style style,
                      const char *status, const char *shared_name, const char *description)
{
        json_t *desc = shared_name ? json_object_get(json_object_get(shared, shared_name),
                                                     "description")
                                   : NULL;

        if (style == GW_ERRORS_OPENAI && shared_name) {
                json_object_set_new(responses, status, ref("responses", shared_name));
                return;
        }
        json_object_set_new(responses, status,
                            json_pack("{s:s, s:{s:o}, s:o}", "description",
                                      desc ? json_string_value(desc) : description, "headers",
                                      "X-Request-ID", ref("headers", "X-Request-ID"), "content",
                                      json_content(ref("schemas", error_schema(style)),
                                                   "application/json")));
}

static json_t *path_parameters(const struct gw_route *rt)
{
        json_t *params = json_array();

        for (const char *p = strchr(rt->path, '{'); p; p = strchr(p + 1, '{')) {
                const char *close = strchr(p, '}');
                json_t *name;

                if (!close)
                        break;
                bool rest = close[-1] == '*';

                name = json_stringn(p + 1, (size_t)(close - p - 1) - (rest ? 1 : 0));
                if (rest)
                        json_array_append_new(
                                params, json_pack("{s:o, s:s, s:b, s:s, s:{s:s}}", "name", name,
                                                  "in", "path", "required", 1, "description",
                                                  "the rest of the path: segments separated by '/'",
                                                  "schema", "type", "string"));
                else if (rt->slash_capture &&
                         strcmp(json_string_value(name), rt->slash_capture) == 0)
                        json_array_append_new(
                                params, json_pack("{s:o, s:s, s:b, s:s, s:{s:s}}", "name", name,
                                                  "in", "path", "required", 1, "description",
                                                  "one path segment: a '/' in the value is sent "
                                                  "percent-encoded, as %2F",
                                                  "schema", "type", "string"));
                else
                        json_array_append_new(params, json_pack("{s:o, s:s, s:b, s:{s:s}}", "name",
                                                                name, "in", "path", "required", 1,
                                                                "schema", "type", "string"));
        }
        return params;
}

/* A message field a query parameter can set: a Timestamp or a Duration
 * (their text forms); its OpenAPI format in *@p format (NULL: none). */
static bool query_message(const ProtobufCFieldDescriptor *f, const char **format)
{
        const ProtobufCMessageDescriptor *m = f->descriptor;

        *format = NULL;
        if (strcmp(m->name, "google.protobuf.Timestamp") == 0) {
                *format = "date-time";
                return true;
        }
        return strcmp(m->name, "google.protobuf.Duration") == 0;
}

/* Query parameters of a generic route whose body is not the request (a GET
 * or DELETE, or a body that is one field: body_field): the request's scalar
 * fields (and Timestamps and Durations, as text) not captured by the path
 * nor the body. */
static void query_parameters(const struct gw_route *rt, json_t *params)
{
        const ProtobufCMessageDescriptor *d = rt->request;

        if (rt->adapter || (has_body(rt) && !rt->body_field) || !d)
                return;
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                char capture[140];
                const char *type = "string", *format = NULL;

                if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
                    (f->label == PROTOBUF_C_LABEL_REPEATED || !query_message(f, &format)))
                        continue;
                snprintf(capture, sizeof(capture), "{%s}", f->name);
                if (strstr(rt->path, capture) ||
                    (rt->body_field && strcmp(f->name, rt->body_field) == 0))
                        continue;
                if (f->type == PROTOBUF_C_TYPE_BOOL)
                        type = "boolean";
                else if (f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_UINT32 ||
                         f->type == PROTOBUF_C_TYPE_SINT32 || f->type == PROTOBUF_C_TYPE_FIXED32 ||
                         f->type == PROTOBUF_C_TYPE_SFIXED32)
                        type = "integer";
                else if (f->type == PROTOBUF_C_TYPE_FLOAT || f->type == PROTOBUF_C_TYPE_DOUBLE)
                        type = "number";
                if (f->label == PROTOBUF_C_LABEL_REPEATED)
                        json_array_append_new(params,
                                              json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "name",
                                                        f->name, "in", "query", "schema", "type",
                                                        "array", "items", "type", type));
                else if (format)
                        json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s, s:s}}", "name",
                                                                f->name, "in", "query", "schema",
                                                                "type", type, "format", format));
                else
                        json_array_append_new(params,
                                              json_pack("{s:s, s:s, s:{s:s}}", "name", f->name,
                                                        "in", "query", "schema", "type", type));
        }
}

/* The request body's schema: the adapter's, the field's the body is
 * (body_field), or the request message's. */
static json_t *body_schema(const struct gw_route *rt, const struct gw_adapter *ad, json_t *schemas)
{
        const ProtobufCFieldDescriptor *f =
                rt->body_field ? protobuf_c_message_descriptor_get_field_by_name(rt->request,
                                                                                 rt->body_field)
                               : NULL;

        if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && !ad->openapi_request)
                return cairn_pbjson_schema(f->descriptor, schemas);
        return message_schema(ad->openapi_request, rt->request, schemas);
}

/* The body's content: its schema under each media type the route reads. */
static json_t *body_content(const struct gw_route *rt, const struct gw_adapter *ad, json_t *schemas)
{
        json_t *schema = body_schema(rt, ad, schemas), *content;

        if (!ad->media_types)
                return json_content(schema, rt->media_type ? rt->media_type : "application/json");
        content = json_object();
        for (const char *const *m = ad->media_types; *m; m++)
                json_object_set_new(content, *m, json_pack("{s:O}", "schema", schema));
        json_decref(schema);
        return content;
}

/* The reply's schema; for a paged route, the schema of one streamed item. */
static json_t *reply_schema(const struct gw_route *rt, const struct gw_adapter *ad, json_t *schemas)
{
        if (rt->local)
                return schema_text(rt->local_schema ? rt->local_schema : "{\"type\":\"object\"}");
        if (rt->page_field) {
                const ProtobufCFieldDescriptor *f =
                        protobuf_c_message_descriptor_get_field_by_name(rt->reply, rt->page_field);

                if (f && f->type == PROTOBUF_C_TYPE_MESSAGE)
                        return cairn_pbjson_schema(f->descriptor, schemas);
                return json_object();
        }
        return message_schema(ad->openapi_reply, rt->reply, schemas);
}

static json_t *operation(const struct gw_route *rt, json_t *components)
{
        const struct gw_adapter *ad = rt->adapter ? rt->adapter : &gw_proto_json;
        json_t *schemas = json_object_get(components, "schemas");
        json_t *shared = json_object_get(components, "responses");
        json_t *op = json_object(), *params = path_parameters(rt), *responses = json_object();
        json_t *ok_headers = json_object();
        bool pub = rt->cls->public_route;
        const char *media = rt->page_field ? "application/x-ndjson" : "application/json";

        json_object_set_new(op, "operationId", json_string(rt->operation));
        json_object_set_new(op, "summary", json_string(rt->summary ? rt->summary : ""));
        if (strcmp(rt->method, "LIST") == 0)
                json_object_set_new(op, "description",
                                    json_string("Vault's clients send the method LIST to the "
                                                "path without the query; OpenAPI has no LIST, "
                                                "so it is written here as Vault's GET with "
                                                "list=true, which the gateway takes too."));
        if (pub)
                json_object_set_new(op, "security", json_array());
        json_object_set_new(op, "x-cairn-route-class", json_string(rt->cls->name));
        if (!pub) {
                json_array_insert_new(params, 0, ref("parameters", "X-Request-ID"));
                if (strcmp(rt->method, "POST") == 0)
                        json_array_insert_new(params, 1, ref("parameters", "Idempotency-Key"));
        }
        query_parameters(rt, params);
        if (json_array_size(params) || ad->openapi_parameters) {
                json_object_set_new(op, "parameters", params);
        } else {
                json_decref(params);
                params = NULL;
        }
        if (ad->openapi_parameters) {
                json_error_t jerr;
                json_t *extra = json_loads(ad->openapi_parameters, 0, &jerr);

                json_array_extend(params, extra);
                json_decref(extra);
        }
        if (has_body(rt))
                json_object_set_new(op, "requestBody",
                                    json_pack("{s:b, s:o}", "required", 1, "content",
                                              body_content(rt, ad, schemas)));
        if (!pub) {
                json_object_set_new(ok_headers, "X-Request-ID", ref("headers", "X-Request-ID"));
                json_object_set_new(ok_headers, "RateLimit-Limit",
                                    ref("headers", "RateLimit-Limit"));
                json_object_set_new(ok_headers, "RateLimit-Remaining",
                                    ref("headers", "RateLimit-Remaining"));
                json_object_set_new(ok_headers, "RateLimit-Reset",
                                    ref("headers", "RateLimit-Reset"));
        }
        if (ad->openapi_status == 204)
                json_object_set_new(responses, "204",
                                    json_pack("{s:s, s:o}", "description",
                                              rt->summary ? rt->summary : "Done", "headers",
                                              ok_headers));
        else
                json_object_set_new(responses, "200",
                                    json_pack("{s:s, s:o, s:o}", "description",
                                              rt->page_field ? "every item of every page, one JSON "
                                                               "object per line"
                                                             : (rt->summary ? rt->summary : "OK"),
                                              "headers", ok_headers, "content",
                                              ad->openapi_reply_content
                                                      ? schema_text(ad->openapi_reply_content)
                                                      : json_content(reply_schema(rt, ad, schemas),
                                                                     media)));
        if (!pub) {
                if (strcmp(rt->method, "POST") == 0)
                        add_error(responses, shared, ad->errors, "409", NULL,
                                  "a request with this Idempotency-Key is still running");
                if (has_body(rt)) {
                        add_error(responses, shared, ad->errors, "413", NULL,
                                  "body larger than http.max_body_bytes, or the request, "
                                  "encoded, larger than one Kafka message "
                                  "(kafka.message.max.bytes)");
                        add_error(responses, shared, ad->errors, "415", NULL,
                                  ad->media_types
                                          ? "Content-Type is not one of the body's media types"
                                  : rt->media_type ? "Content-Type is not the body's media type"
                                                   : "Content-Type is not application/json");
                }
                if (strcmp(rt->method, "POST") == 0)
                        add_error(responses, shared, ad->errors, "422", NULL,
                                  "Idempotency-Key reused with a different body");
                add_error(responses, shared, ad->errors, "400", "BadRequest", NULL);
                /* LibreTranslate refuses a key with 403 */
                if (ad->errors != GW_ERRORS_LIBRETRANSLATE)
                        add_error(responses, shared, ad->errors, "401", "Unauthorized", NULL);
                add_error(responses, shared, ad->errors, "403", "Forbidden", NULL);
                if (!ad->openapi_reply && !rt->local)
                        add_error(responses, shared, ad->errors, "404", NULL,
                                  "what the request names does not exist");
                add_error(responses, shared, ad->errors, "429", "TooManyRequests", NULL);
                add_error(responses, shared, ad->errors, "431", "HeadersTooLarge", NULL);
                add_error(responses, shared, ad->errors, "503", "Unavailable", NULL);
                add_error(responses, shared, ad->errors, "504", "Timeout", NULL);
        }
        json_object_set_new(op, "responses", responses);
        return op;
}

void gw_openapi_operation_of(const struct gw_route *rt, char *path, size_t path_size, char *method,
                             size_t method_size)
{
        bool list = strcmp(rt->method, "LIST") == 0;
        size_t o = 0, i;

        for (const char *p = rt->path; *p && o + 2 < path_size; p++)
                if (!(*p == '*' && p[1] == '}'))
                        path[o++] = *p;
        /* Vault's own document lists on the folder's path */
        if (list && o && path[o - 1] != '/')
                path[o++] = '/';
        path[o] = '\0';
        if (list) {
                snprintf(method, method_size, "get");
                return;
        }
        for (i = 0; rt->method[i] && i + 1 < method_size; i++)
                method[i] = (char)(rt->method[i] + ('a' - 'A'));
        method[i] = '\0';
}

char *gw_openapi_render(const struct gw_route *routes, size_t *lenp, char *errstr,
                        size_t errstr_size)
{
        json_error_t jerr;
        json_t *doc = json_loadb(gw_openapi_base_json, gw_openapi_base_json_len, 0, &jerr);
        json_t *paths, *components;
        char *text, *out;

        if (!doc) {
                snprintf(errstr, errstr_size, "openapi_base.json: line %d: %s", jerr.line,
                         jerr.text);
                return NULL;
        }
        components = json_object_get(doc, "components");
        paths = json_object();
        for (const struct gw_route *rt = routes; rt->method; rt++) {
                char path[256], method[16];
                json_t *item;

                gw_openapi_operation_of(rt, path, sizeof(path), method, sizeof(method));
                item = json_object_get(paths, path);
                if (!item) {
                        item = json_object();
                        json_object_set_new(paths, path, item);
                }
                json_object_set_new(item, method, operation(rt, components));
        }
        /* paths go before components, as a reader expects */
        json_incref(components);
        json_object_del(doc, "components");
        json_object_set_new(doc, "paths", paths);
        json_object_set_new(doc, "components", components);
        text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        if (!text) {
                snprintf(errstr, errstr_size, "openapi: cannot render the document");
                return NULL;
        }
        /* a trailing newline, as a file on disk has */
        *lenp = strlen(text) + 1;
        out = realloc(text, *lenp + 1);
        if (!out)
                abort();
        out[*lenp - 1] = '\n';
        out[*lenp] = '\0';
        return out;
}

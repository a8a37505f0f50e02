/* The default adapter: Cairn's own routes speak the proto3 JSON mapping of
 * their message types (libcairn's pbjson). A request is the JSON body (an
 * object; none on GET and DELETE), with each path capture and query
 * parameter bound to the request field of its name, as google.api.http
 * rules bind them. The tenant always comes from the credentials: a request
 * field named "tenant" is filled from them and refused from the client. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "cairn/pbjson.h"

#define TENANT_FIELD "tenant"

static void invalid(struct gw_error *e, const char *field, const char *message)
{
        gw_error_set(e, 400, "invalid_argument", field && field[0] ? field : NULL, "%s", message);
        e->err = CAIRN_ERR_INVALID;
}

/* The value @p obj sets for the field named @p name (proto name) under its
 * proto or its lowerCamelCase name, or NULL. */
static json_t *field_value(const json_t *obj, const char *name)
{
        char camel[128];
        size_t o = 0;
        bool up = false;
        json_t *v = json_object_get(obj, name);

        if (v)
                return v;
        for (const char *p = name; *p && o + 1 < sizeof(camel); p++) {
                if (*p == '_') {
                        up = true;
                        continue;
                }
                camel[o++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
                up = false;
        }
        camel[o] = '\0';
        return json_object_get(obj, camel);
}

/* True when @p obj sets the field at dotted path @p name ("policy.name"). */
static bool sets_field(const json_t *obj, const char *name)
{
        char seg[128];

        for (;;) {
                size_t len = strcspn(name, ".");

                if (len >= sizeof(seg))
                        return false;
                memcpy(seg, name, len);
                seg[len] = '\0';
                obj = field_value(obj, seg);
                if (!obj || !name[len])
                        return obj != NULL;
                if (!json_is_object(obj))
                        return false;
                name += len + 1;
        }
}

struct query_ctx {
        const ProtobufCMessageDescriptor *desc;
        const char *body_field; /* the route's: the body's, never the query's */
        json_t *obj;
        struct gw_error *e;
        bool failed;
};

static int bind_query(void *opaque, const char *key, const char *value)
{
        struct query_ctx *q = opaque;
        struct cairn_pbjson_error perr;
        char field[160];

        if (strcmp(key, TENANT_FIELD) == 0) {
                invalid(q->e, key, "the tenant comes from the credentials, not the request");
                q->failed = true;
                return 1;
        }
        if (q->body_field && strncmp(key, q->body_field, strlen(q->body_field)) == 0 &&
            (key[strlen(q->body_field)] == '\0' || key[strlen(q->body_field)] == '.')) {
                snprintf(field, sizeof(field), "%s", key);
                invalid(q->e, field, "this field is the request's body, not a query parameter");
                q->failed = true;
                return 1;
        }
        if (cairn_pbjson_bind(q->desc, q->obj, key, value ? value : "", &perr) != CAIRN_OK) {
                snprintf(field, sizeof(field), "%s", key);
                invalid(q->e, field, perr.message);
                q->failed = true;
                return 1;
        }
        return 0;
}

/* The request's JSON object: the body, or an empty object without one.
 * When the body is one field of the request (the route's body_field), the
 * object holds it under that field's name, and the body may be any JSON
 * value the field's mapping takes (a signal's payload: "approved", 42);
 * without a body the field is left unset. */
static json_t *body_object(const struct gw_adapter_ctx *ctx, struct gw_error *e)
{
        const char *field = ctx->route->body_field;
        json_error_t jerr;
        json_t *obj;

        if (!ctx->body || ctx->body_len == 0)
                return json_object();
        if (gw_json_depth(ctx->body, ctx->body_len, ctx->max_json_depth) > ctx->max_json_depth) {
                invalid(e, NULL, "JSON nested deeper than allowed");
                return NULL;
        }
        obj = json_loadb(ctx->body, ctx->body_len,
                         JSON_REJECT_DUPLICATES | (field ? JSON_DECODE_ANY : 0), &jerr);
        if (!obj) {
                char msg[256];

                snprintf(msg, sizeof(msg), "body is not valid JSON: %s (at byte %d)", jerr.text,
                         jerr.position);
                invalid(e, NULL, msg);
                return NULL;
        }
        if (field) {
                json_t *whole = json_object();

                json_object_set_new(whole, field, obj);
                return whole;
        }
        if (!json_is_object(obj)) {
                json_decref(obj);
                invalid(e, NULL, "body must be a JSON object");
                return NULL;
        }
        return obj;
}

static ProtobufCMessage *proto_json_parse(struct gw_adapter_ctx *ctx, struct gw_error *e)
{
        const ProtobufCMessageDescriptor *desc = ctx->route->request;
        struct cairn_pbjson_error perr;
        struct query_ctx q;
        ProtobufCMessage *msg = NULL;
        json_t *obj = body_object(ctx, e);

        if (!obj)
                return NULL;
        /* with a body_field, path and query bind around the body's field */
        if (sets_field(obj, TENANT_FIELD)) {
                invalid(e, TENANT_FIELD, "the tenant comes from the credentials, not the request");
                goto out;
        }
        for (size_t i = 0; i < ctx->caps->n; i++) {
                char name[GW_CAPTURE_MAX], value[GW_CAPTURE_REST_MAX];

                snprintf(name, sizeof(name), "%.*s", (int)ctx->caps->name_len[i],
                         ctx->caps->name[i]);
                if (sets_field(obj, name)) {
                        char why[GW_CAPTURE_MAX + 64];

                        snprintf(why, sizeof(why),
                                 "%s is given by the path; leave it out of the "
                                 "body",
                                 name);
                        invalid(e, name, why);
                        goto out;
                }
                gw_capture_value(ctx->caps, i, value, sizeof(value));
                if (cairn_pbjson_bind(desc, obj, name, value, &perr) != CAIRN_OK) {
                        invalid(e, name, perr.message);
                        goto out;
                }
        }
        q = (struct query_ctx){ desc, ctx->route->body_field, obj, e, false };
        if (ctx->query_each && ctx->query_each(ctx->conn, bind_query, &q) != 0 && q.failed)
                goto out;
        if (protobuf_c_message_descriptor_get_field_by_name(desc, TENANT_FIELD))
                json_object_set_new(obj, TENANT_FIELD, json_string(ctx->tenant ? ctx->tenant : ""));
        if (cairn_pbjson_from_json(desc, obj, &msg, &perr) != CAIRN_OK) {
                invalid(e, perr.field, perr.message);
                msg = NULL;
        }
out:
        json_decref(obj);
        return msg;
}

static void proto_json_release(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg)
{
        (void)ctx;
        protobuf_c_message_free_unpacked(msg, NULL);
}

static char *proto_json_render(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply,
                               size_t *lenp)
{
        (void)ctx;
        return cairn_pbjson_render(reply, 0, lenp);
}

const struct gw_adapter gw_proto_json = {
        .name = "proto3-json",
        .errors = GW_ERRORS_STATUS,
        .parse = proto_json_parse,
        .release = proto_json_release,
        .render = proto_json_render,
};

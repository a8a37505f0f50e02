/* Reading the route table: path templates with {name} captures, finding a
 * request's row, the methods of a path, a request's Kafka key, and what the
 * table implies for the configuration (its timeout keys, classes and
 * services). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/hex.h"
#include "route.h"

/* Percent-decodes @p n bytes of @p s into @p out (room for @p size bytes;
 * NULL: only checks); false when malformed, too long, empty (unless
 * @p empty_ok), or when an escape decodes to a NUL, or to a '/' unless
 * @p slash_ok (a row's slash_capture: the path's segments stay as sent, the
 * '/' is only in the value). */
static bool segment_decode(const char *s, size_t n, char *out, size_t size, bool empty_ok,
                           bool slash_ok)
{
        size_t o = 0;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c == '%') {
                        int hi, lo;

                        if (i + 2 >= n)
                                return false;
                        hi = cairn_hex_digit(s[i + 1], 0);
                        lo = cairn_hex_digit(s[i + 2], 0);
                        if (hi < 0 || lo < 0)
                                return false;
                        c = (char)(hi * 16 + lo);
                        if ((c == '/' && !slash_ok) || c == '\0')
                                return false;
                        i += 2;
                }
                if (o + 1 >= size)
                        return false;
                if (out)
                        out[o] = c;
                o++;
        }
        if (out)
                out[o] = '\0';
        return o > 0 || empty_ok;
}

/* The {name} at @p t: its name, its end (after '}'), and whether it is a
 * rest capture ({name*}); false when unterminated. */
static bool capture_at(const char *t, const char **name, size_t *name_len, const char **end,
                       bool *rest)
{
        const char *close = strchr(t, '}');

        if (!close)
                return false;
        *rest = close > t + 1 && close[-1] == '*';
        *name = t + 1;
        *name_len = (size_t)(close - t - 1) - (*rest ? 1 : 0);
        *end = close + 1;
        return true;
}

/* gw_path_match(), the capture named @p slash_capture (NULL: none) taking
 * an escaped '/'. */
static bool path_match(const char *tmpl, const char *path, const char *slash_capture,
                       struct gw_captures *caps)
{
        const char *t = tmpl, *p = path;

        if (caps)
                caps->n = 0;
        while (*t) {
                if (*t == '{') {
                        const char *name, *end;
                        size_t name_len, len;
                        bool rest;

                        if (!capture_at(t, &name, &name_len, &end, &rest) || (rest && *end))
                                return false;
                        bool slash_ok = slash_capture && strlen(slash_capture) == name_len &&
                                        strncmp(slash_capture, name, name_len) == 0;

                        /* a rest capture may be empty: the folder the path ends in */
                        len = rest ? strlen(p) : strcspn(p, "/");
                        if ((!rest && len == 0) ||
                            !segment_decode(p, len, NULL,
                                            rest ? GW_CAPTURE_REST_MAX : GW_CAPTURE_MAX, rest,
                                            slash_ok))
                                return false;
                        if (caps) {
                                if (caps->n >= GW_CAPTURES_MAX)
                                        return false;
                                caps->name[caps->n] = name;
                                caps->name_len[caps->n] = name_len;
                                caps->value[caps->n] = p;
                                caps->value_len[caps->n] = len;
                                caps->n++;
                        }
                        t = end;
                        p += len;
                        continue;
                }
                if (*t != *p)
                        return false;
                t++;
                p++;
        }
        return *p == '\0';
}

bool gw_path_match(const char *tmpl, const char *path, struct gw_captures *caps)
{
        return path_match(tmpl, path, NULL, caps);
}

bool gw_route_match(const struct gw_route *rt, const char *path, struct gw_captures *caps)
{
        return path_match(rt->path, path, rt->slash_capture, caps);
}

bool gw_route_path_known(const struct gw_route *routes, const char *path)
{
        for (const struct gw_route *rt = routes; rt->method; rt++)
                if (gw_route_match(rt, path, NULL))
                        return true;
        return false;
}

bool gw_capture_value(const struct gw_captures *caps, size_t i, char *out, size_t size)
{
        /* the match let an escaped '/' only into the capture that takes one */
        if (segment_decode(caps->value[i], caps->value_len[i], out, size, true, true))
                return true;
        if (size)
                out[0] = '\0';
        return false;
}

const struct gw_route *gw_route_find(const struct gw_route *routes, const char *method,
                                     const char *path, bool *path_known, struct gw_captures *caps)
{
        bool is_head = strcmp(method, "HEAD") == 0;
        bool is_options = strcmp(method, "OPTIONS") == 0;

        /* The rows of this method first: most requests stop there. */
        *path_known = false;
        for (const struct gw_route *rt = routes; rt->method; rt++) {
                if ((strcmp(rt->method, method) == 0 ||
                     (is_head && strcmp(rt->method, "GET") == 0) || is_options) &&
                    gw_route_match(rt, path, caps)) {
                        *path_known = true;
                        return rt;
                }
        }
        /* None: is the path known under another method (405)? */
        *path_known = gw_route_path_known(routes, path);
        return NULL;
}

/* Vault reads the parameter with Go's strconv.ParseBool. */
static bool list_true(const char *v)
{
        static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };

        for (size_t i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++)
                if (strcmp(v, yes[i]) == 0)
                        return true;
        return false;
}

const char *gw_route_method(const struct gw_route *routes, const char *method, const char *path,
                            const char *list_param)
{
        if (strcmp(method, "GET") != 0 || !list_true(list_param))
                return method;
        for (const struct gw_route *rt = routes; rt->method; rt++)
                if (strcmp(rt->method, "LIST") == 0 && gw_route_match(rt, path, NULL))
                        return "LIST";
        return method;
}

void gw_route_allow(const struct gw_route *routes, const char *path, char *out, size_t size)
{
        size_t n = 0;

        out[0] = '\0';
        for (const struct gw_route *rt = routes; rt->method && n < size; rt++) {
                if (!gw_route_match(rt, path, NULL))
                        continue;
                n += (size_t)snprintf(out + n, size - n, "%s%s%s", n ? ", " : "", rt->method,
                                      strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
        }
        if (n && n < size)
                snprintf(out + n, size - n, ", OPTIONS");
}

/* The singular string field @p name of @p desc, or NULL. */
static const ProtobufCFieldDescriptor *string_field(const ProtobufCMessageDescriptor *desc,
                                                    const char *name)
{
        const ProtobufCFieldDescriptor *f =
                desc ? protobuf_c_message_descriptor_get_field_by_name(desc, name) : NULL;

        if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
        return f;
}

/* The value of string field @p f of @p msg; "" when unset (a oneof on
 * another case, a proto2 field left out). */
static const char *string_value(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
        const char *base = (const char *)msg;
        const char *s;

        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
                return "";
        s = *(const char *const *)(base + f->offset);
        return s ? s : "";
}

char *gw_route_key(const struct gw_route *rt, const char *tenant, const ProtobufCMessage *req)
{
        const ProtobufCFieldDescriptor *f = rt->key_field
                                                    ? string_field(req->descriptor, rt->key_field)
                                                    : NULL;
        const char *value = f ? string_value(req, f) : "";
        size_t tlen = strlen(tenant), vlen = strlen(value);
        char *key = malloc(tlen + 1 + vlen + 1);

        if (!key)
                abort();
        memcpy(key, tenant, tlen);
        if (vlen) {
                key[tlen] = '/';
                memcpy(key + tlen + 1, value, vlen);
                tlen += 1 + vlen;
        }
        key[tlen] = '\0';
        return key;
}

bool gw_class_allows(const struct gw_class *cls, enum gw_role role)
{
        if ((unsigned)role >= GW_ROLE__COUNT)
                return false;
        return cls->allowed[role];
}

/* ---- what the table implies ---- */

int gw_plan_timeout_index(const struct gw_route_plan *plan, const struct gw_route *rt)
{
        if (!rt->timeout_key)
                return -1;
        for (size_t i = 0; i < plan->ntimeouts; i++)
                if (strcmp(plan->timeout_first[i]->timeout_key, rt->timeout_key) == 0)
                        return (int)i;
        return -1;
}

int gw_plan_class_index(const struct gw_route_plan *plan, const struct gw_class *cls)
{
        for (size_t i = 0; i < plan->nclasses; i++)
                if (plan->classes[i] == cls)
                        return (int)i;
        return -1;
}

int gw_plan_service_index(const struct gw_route_plan *plan, const char *service)
{
        if (!service)
                return -1;
        for (size_t i = 0; i < plan->nservices; i++)
                if (strcmp(plan->services[i], service) == 0)
                        return (int)i;
        return -1;
}

/* A paged route: the proto3 JSON mapping, a string page_token in the
 * request, a string next_page_token and the repeated message field of items
 * in the reply. */
static bool page_fields_fit(const struct gw_route *rt, char *errstr, size_t errstr_size)
{
        const ProtobufCFieldDescriptor *tok, *next, *items;

        if (rt->adapter || !rt->request || !rt->reply) {
                snprintf(errstr, errstr_size,
                         "route %s %s: a paged route uses the proto3 JSON "
                         "mapping and names its message types",
                         rt->method, rt->path);
                return false;
        }
        tok = protobuf_c_message_descriptor_get_field_by_name(rt->request, "page_token");
        next = protobuf_c_message_descriptor_get_field_by_name(rt->reply, "next_page_token");
        items = protobuf_c_message_descriptor_get_field_by_name(rt->reply, rt->page_field);
        if (!tok || tok->type != PROTOBUF_C_TYPE_STRING ||
            tok->label == PROTOBUF_C_LABEL_REPEATED || !next ||
            next->type != PROTOBUF_C_TYPE_STRING || next->label == PROTOBUF_C_LABEL_REPEATED ||
            !items || items->type != PROTOBUF_C_TYPE_MESSAGE ||
            items->label != PROTOBUF_C_LABEL_REPEATED) {
                snprintf(errstr, errstr_size,
                         "route %s %s: paged, so %s needs a string page_token and %s a string "
                         "next_page_token and a repeated message field %s",
                         rt->method, rt->path, rt->request->name, rt->reply->name, rt->page_field);
                return false;
        }
        return true;
}

/* True when @p tmpl has the one-segment capture {@p name}. */
static bool has_capture(const char *tmpl, const char *name)
{
        size_t n = strlen(name);

        for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{'))
                if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '}')
                        return true;
        return false;
}

static bool plan_row(const struct gw_route *routes, const struct gw_route *rt,
                     struct gw_route_plan *plan, char *errstr, size_t errstr_size)
{
        if (!rt->path || rt->path[0] != '/' || !rt->cls || !rt->operation) {
                snprintf(errstr, errstr_size, "route %s %s: needs a path, a class and an operation",
                         rt->method, rt->path ? rt->path : "(no path)");
                return false;
        }
        const char *rest = strstr(rt->path, "*}");

        if (rest && rest[2] != '\0') {
                snprintf(errstr, errstr_size,
                         "route %s %s: a rest-of-path capture {name*} must end the path",
                         rt->method, rt->path);
                return false;
        }
        for (const struct gw_route *o = routes; o < rt; o++)
                if (strcmp(o->method, rt->method) == 0 && strcmp(o->path, rt->path) == 0) {
                        snprintf(errstr, errstr_size, "route %s %s: declared twice", rt->method,
                                 rt->path);
                        return false;
                }
        if (!rt->local && (!rt->service || !rt->request || !rt->reply)) {
                snprintf(errstr, errstr_size,
                         "route %s %s: needs a local answer or a service with request and "
                         "reply types",
                         rt->method, rt->path);
                return false;
        }
        if (rt->service && (!rt->timeout_key || rt->timeout_ms <= 0)) {
                snprintf(errstr, errstr_size, "route %s %s: needs a timeout key and a default",
                         rt->method, rt->path);
                return false;
        }
        if (rt->page_field && !page_fields_fit(rt, errstr, errstr_size))
                return false;
        if (rt->slash_capture && !has_capture(rt->path, rt->slash_capture)) {
                snprintf(errstr, errstr_size,
                         "route %s %s: slash_capture %s is not a {name} capture of its path",
                         rt->method, rt->path, rt->slash_capture);
                return false;
        }
        if (rt->key_field && !string_field(rt->request, rt->key_field)) {
                snprintf(errstr, errstr_size,
                         "route %s %s: key_field %s is not a string field of %s", rt->method,
                         rt->path, rt->key_field, rt->request ? rt->request->name : "its request");
                return false;
        }
        if (gw_plan_class_index(plan, rt->cls) < 0) {
                if (plan->nclasses == GW_CLASSES_MAX)
                        goto too_many;
                plan->classes[plan->nclasses++] = rt->cls;
        }
        if (rt->timeout_key && gw_plan_timeout_index(plan, rt) < 0) {
                if (plan->ntimeouts == GW_TIMEOUT_KEYS_MAX)
                        goto too_many;
                plan->timeout_first[plan->ntimeouts++] = rt;
        }
        if (rt->service && gw_plan_service_index(plan, rt->service) < 0) {
                if (plan->nservices == GW_SERVICES_MAX)
                        goto too_many;
                plan->services[plan->nservices++] = rt->service;
        }
        return true;
too_many:
        snprintf(errstr, errstr_size, "route %s %s: too many classes, timeout keys or services",
                 rt->method, rt->path);
        return false;
}

bool gw_route_plan_make(const struct gw_route *routes, struct gw_route_plan *plan, char *errstr,
                        size_t errstr_size)
{
        memset(plan, 0, sizeof(*plan));
        for (const struct gw_route *rt = routes; rt->method; rt++)
                if (!plan_row(routes, rt, plan, errstr, errstr_size))
                        return false;
        return true;
}

void gw_route_rbac_doc(const struct gw_route *routes, FILE *fp)
{
        struct gw_route_plan plan;
        char errstr[256];

        if (!gw_route_plan_make(routes, &plan, errstr, sizeof(errstr))) {
                fprintf(fp, "(route table: %s)\n", errstr);
                return;
        }
        fprintf(fp, "| route class | routes |");
        for (int r = 0; r < GW_ROLE__COUNT; r++)
                fprintf(fp, " %s |", gw_role_str((enum gw_role)r));
        fprintf(fp, "\n|---|---|");
        for (int r = 0; r < GW_ROLE__COUNT; r++)
                fprintf(fp, "---|");
        fprintf(fp, "\n");
        for (size_t c = 0; c < plan.nclasses; c++) {
                const struct gw_class *cls = plan.classes[c];
                const char *sep = " ";

                fprintf(fp, "| `%s` |", cls->name);
                for (const struct gw_route *rt = routes; rt->method; rt++) {
                        if (rt->cls != cls)
                                continue;
                        fprintf(fp, "%s`%s %s`", sep, rt->method, rt->path);
                        sep = ", ";
                }
                fprintf(fp, " |");
                for (int r = 0; r < GW_ROLE__COUNT; r++)
                        fprintf(fp, " %s |", cls->allowed[r] ? "yes" : "no");
                fprintf(fp, "\n");
        }
}

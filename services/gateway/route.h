/* The gateway's one table: a row per route says everything a request on it
 * needs — method and path template, who may call it and how often (its
 * class), the body limit, the deadline, the upstream service and message
 * types, and how JSON becomes protobuf and back (the proto3 JSON mapping,
 * or a named adapter for a well-known API). The pipeline reads the row; it
 * never branches on a path. Settings the table implies (a deadline per
 * timeout key, limits per class, a topic per service) are generated from it
 * (conf.c), as is the OpenAPI document (openapi.c). */
#ifndef CAIRN_GATEWAY_ROUTE_H
#define CAIRN_GATEWAY_ROUTE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "auth.h"

struct gw_adapter;
struct gw_req;

/* A permission and rate-limit class: who may call its routes and how
 * often. Limits are per principal and class. */
struct gw_class {
        const char *name;             /* "embeddings.create": metrics, Redis keys, docs */
        bool public_route;            /* no credentials, no limits */
        bool allowed[GW_ROLE__COUNT]; /* owner, admin, member, viewer */
        /* ratelimit.<limits_key>_per_minute and _per_hour; NULL: the defaults */
        const char *limits_key;
};

/* Answers a route inside the gateway (no upstream): queues the response. */
typedef int (*gw_local_fn)(struct gw_req *r);

struct gw_route {
        /* GET, POST, PUT, PATCH, DELETE, or LIST (Vault's: also reached as
         * GET with ?list=true, gw_route_method()) */
        const char *method;
        /* "/v1/memories/{id}": each {name} captures one path segment into
         * the request field of that name (dotted paths reach nested fields),
         * an escaped '/' in it only where slash_capture names it.
         * A last {name*} captures the rest of the path, '/' and all:
         * "/v1/secret/data/{path*}" gives path "app/db" for
         * /v1/secret/data/app/db, "" for /v1/secret/data/. */
        const char *path;
        const struct gw_class *cls;
        const char *operation;    /* operationId in the OpenAPI document */
        const char *summary;      /* one line for the OpenAPI document */
        gw_local_fn local;        /* answered here: no upstream, no body */
        const char *local_schema; /* OpenAPI schema (JSON) of a local answer */
        /* Upstream: cairn.<service>.v1.requests unless upstream.<service>_topic says otherwise. */
        const char *service;
        const ProtobufCMessageDescriptor *request;
        const ProtobufCMessageDescriptor *reply;
        /* http.<timeout_key>_timeout_ms, default timeout_ms: the reply's
         * deadline (sent as cairn_deadline; 504 after it) */
        const char *timeout_key;
        long long timeout_ms;
        /* 0: http.max_body_bytes; else the default of
         * http.<timeout_key>_max_body_bytes */
        long long max_body_bytes;
        const struct gw_adapter *adapter; /* NULL: the proto3 JSON mapping */
        /* The body's media type; NULL: application/json. A JSON merge patch
         * is "application/merge-patch+json" (RFC 7396). */
        const char *media_type;
        /* The body is this message field of the request (google.api.http's
         * body: "policy"), the rest coming from the path; NULL: the whole
         * request. The proto3 JSON mapping only. */
        const char *body_field;
        /* Paged: the gateway follows the reply's next_page_token and streams
         * the items of this repeated reply field as NDJSON. NULL: not paged. */
        const char *page_field;
        /* The Kafka key: "<tenant>/<value>" of this string field of the
         * request (read once path, query and body are bound), "<tenant>"
         * when it is empty; NULL: always "<tenant>". Keyed by user, one
         * user's requests stay in order without one tenant's all landing on
         * one partition. A tenant holds no '/': the key splits at its first. */
        const char *key_field;
        /* The {name} capture that may hold an escaped '/' (%2F), decoded
         * into its value, for ids that may contain one (a workflow id
         * "orders/42" sent as orders%2F42); NULL: none. Elsewhere an escaped
         * '/' does not match (gw_route_match()), and a path holding one that
         * matches no row is refused before routing (400 invalid_path). */
        const char *slash_capture;
};

/* The gateway's routes, ending with a NULL method (routes.c). */
extern const struct gw_route gw_routes[];

/* Most path captures in one template, and most bytes of one captured value
 * (with its NUL): one segment, or the rest of the path ({name*}). */
#define GW_CAPTURES_MAX     4
#define GW_CAPTURE_MAX      256
#define GW_CAPTURE_REST_MAX 1024

/* Where the captures are: names in the template, values in the request's
 * path as sent (percent-encoded), both borrowed. Kept small: a request holds
 * one, zeroed per request. */
struct gw_captures {
        size_t n;
        const char *name[GW_CAPTURES_MAX];
        size_t name_len[GW_CAPTURES_MAX];
        const char *value[GW_CAPTURES_MAX];
        size_t value_len[GW_CAPTURES_MAX];
};

/* True when @p path (without the query, as sent: percent-encoded) matches
 * the template @p tmpl; each {name} matches one non-empty segment, a last
 * {name*} the rest of the path (empty segments, "." and ".." included: what
 * the path means is the route's service's to judge), noted in @p caps (may
 * be NULL). A capture that does not percent-decode, or decodes to a '/' or
 * a NUL, or to GW_CAPTURE_MAX bytes or more (GW_CAPTURE_REST_MAX for the
 * rest), does not match. */
bool gw_path_match(const char *tmpl, const char *path, struct gw_captures *caps);

/* gw_path_match() of @p rt's template, its slash_capture (if any) taking
 * an escaped '/'. */
bool gw_route_match(const struct gw_route *rt, const char *path, struct gw_captures *caps);

/* True when some row of @p routes matches @p path, under any method. */
bool gw_route_path_known(const struct gw_route *routes, const char *path);

/* Capture @p i of @p caps, percent-decoded, into @p out of @p size bytes
 * (GW_CAPTURE_REST_MAX holds any). False, with @p out empty, when it does
 * not fit. */
bool gw_capture_value(const struct gw_captures *caps, size_t i, char *out, size_t size);

/* Finds the route for @p method and @p path in @p routes: the row, or NULL
 * with *@p path_known true when another method has that path (405). HEAD
 * matches GET rows and OPTIONS any row of the path. */
const struct gw_route *gw_route_find(const struct gw_route *routes, const char *method,
                                     const char *path, bool *path_known, struct gw_captures *caps);

/* The method @p method is routed as: LIST for a GET whose query parameter
 * list is true (@p list_param, Vault's "true", "1", "t" ...; NULL: none)
 * when @p path has a LIST row, as Vault's clients without the LIST method
 * ask; otherwise @p method. */
const char *gw_route_method(const struct gw_route *routes, const char *method, const char *path,
                            const char *list_param);

/* "GET, HEAD, POST, OPTIONS": the methods of @p path; empty when none. */
void gw_route_allow(const struct gw_route *routes, const char *path, char *out, size_t size);

/* The Kafka key of @p req, a request of @p rt's, for @p tenant (key_field
 * above): malloc'ed, the caller frees it. */
char *gw_route_key(const struct gw_route *rt, const char *tenant, const ProtobufCMessage *req);

/* True when @p role may call routes of @p cls. */
bool gw_class_allows(const struct gw_class *cls, enum gw_role role);

/* ---- what the table implies, in the order rows first name it ---- */

#define GW_TIMEOUT_KEYS_MAX 32
#define GW_CLASSES_MAX      32
#define GW_SERVICES_MAX     16

struct gw_route_plan {
        size_t ntimeouts, nclasses, nservices;
        const struct gw_route *timeout_first[GW_TIMEOUT_KEYS_MAX]; /* the row that names it first */
        const struct gw_class *classes[GW_CLASSES_MAX];
        const char *services[GW_SERVICES_MAX];
};

/* Collects the timeout keys, classes and services of @p routes; false
 * with a message when the table breaks a rule (too many, a row without a
 * class or an upstream without message types, two rows for one method and
 * path, a timeout key without a default, a key_field that is not a string
 * field of the request, a slash_capture that is not a {name} of the path). */
bool gw_route_plan_make(const struct gw_route *routes, struct gw_route_plan *plan, char *errstr,
                        size_t errstr_size);
/* Index of @p rt's timeout key, class and service in @p plan (-1: none). */
int gw_plan_timeout_index(const struct gw_route_plan *plan, const struct gw_route *rt);
int gw_plan_class_index(const struct gw_route_plan *plan, const struct gw_class *cls);
int gw_plan_service_index(const struct gw_route_plan *plan, const char *service);

/* Writes the permission table (classes, their routes, roles) as markdown:
 * docs/api.md embeds it, and a unit test fails when the two differ. */
void gw_route_rbac_doc(const struct gw_route *routes, FILE *fp);

#endif

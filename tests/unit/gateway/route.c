/* Unit tests for reading the route table: path templates and captures,
 * finding a request's row, the methods of a path, who may call a class, a
 * request's Kafka key, the plan the configuration is generated from, the
 * workflow routes (a workflow id with an escaped '/'), and that docs/api.md
 * carries the permission table exactly as the code renders it. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/v1/common.pb-c.h"
#include "gateway/route.h"
#include "../unit.h"

static const struct gw_class open_cls = { .name = "things.read",
                                          .allowed = { true, true, true, true },
                                          .limits_key = "things" };
static const struct gw_class write_cls = { .name = "things.write",
                                           .allowed = { true, true, false, false } };

/* A table of its own, shaped like a service's: two templates on one path. */
static const struct gw_route table[] = {
        { .method = "GET",
          .path = "/v1/things/{id}",
          .cls = &open_cls,
          .operation = "getThing",
          .service = "things",
          .request = &cairn__v1__status__descriptor,
          .reply = &cairn__v1__status__descriptor,
          .timeout_key = "things",
          .timeout_ms = 100 },
        { .method = "DELETE",
          .path = "/v1/things/{id}",
          .cls = &write_cls,
          .operation = "deleteThing",
          .service = "things",
          .request = &cairn__v1__status__descriptor,
          .reply = &cairn__v1__status__descriptor,
          .timeout_key = "things",
          .timeout_ms = 100 },
        { .method = "POST",
          .path = "/v1/things/{id}/parts/{part}",
          .cls = &write_cls,
          .operation = "addPart",
          .service = "parts",
          .request = &cairn__v1__status__descriptor,
          .reply = &cairn__v1__status__descriptor,
          .timeout_key = "parts",
          .timeout_ms = 200 },
        { .method = NULL },
};

START_TEST(test_gw_path_match_captures)
{
        struct gw_captures caps;
        char value[GW_CAPTURE_MAX];

        ck_assert(gw_path_match("/v1/things/{id}", "/v1/things/abc", &caps));
        ck_assert_int_eq(caps.n, 1);
        ck_assert_int_eq(caps.name_len[0], 2);
        ck_assert(strncmp(caps.name[0], "id", 2) == 0);
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "abc");
        ck_assert(gw_path_match("/v1/things/{id}/parts/{part}", "/v1/things/a%20b/parts/7", &caps));
        ck_assert_int_eq(caps.n, 2);
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "a b");
        gw_capture_value(&caps, 1, value, sizeof(value));
        ck_assert_str_eq(value, "7");
        ck_assert(gw_path_match("/v1/models", "/v1/models", NULL));
}
END_TEST

START_TEST(test_gw_path_match_refuses)
{
        struct gw_captures caps;

        ck_assert(!gw_path_match("/v1/things/{id}", "/v1/things/", &caps));      /* empty */
        ck_assert(!gw_path_match("/v1/things/{id}", "/v1/things/a/b", &caps));   /* two */
        ck_assert(!gw_path_match("/v1/things/{id}", "/v1/things/a%2Fb", &caps)); /* a slash */
        ck_assert(!gw_path_match("/v1/things/{id}", "/v1/things/a%00", &caps));  /* a NUL */
        ck_assert(!gw_path_match("/v1/things/{id}", "/v1/things/a%4", &caps));   /* cut short */
        ck_assert(!gw_path_match("/v1/things/{id}", "/v1/things/%zz", &caps));   /* not hex */
        ck_assert(!gw_path_match("/v1/models", "/v1/models/", NULL));
        /* longer than a capture may be */
        char path[GW_CAPTURE_MAX + 32];
        snprintf(path, sizeof(path), "/v1/things/%0*d", GW_CAPTURE_MAX, 7);
        ck_assert(!gw_path_match("/v1/things/{id}", path, &caps));
        ck_assert(!gw_path_match("/v1/models", "/v1/model", NULL));
}
END_TEST

/* {name*}: the rest of the path, '/' kept, decoded once, passed on
 * undamaged for the service to judge (empty segments, "..", a trailing
 * '/'). */
START_TEST(test_gw_path_match_rest)
{
        struct gw_captures caps;
        char value[GW_CAPTURE_REST_MAX];
        const char *tmpl = "/v1/secret/data/{path*}";

        ck_assert(gw_path_match(tmpl, "/v1/secret/data/app/db", &caps));
        ck_assert_uint_eq(caps.n, 1);
        ck_assert_uint_eq(caps.name_len[0], 4);
        ck_assert(strncmp(caps.name[0], "path", 4) == 0);
        ck_assert(gw_capture_value(&caps, 0, value, sizeof(value)));
        ck_assert_str_eq(value, "app/db");
        ck_assert(gw_path_match(tmpl, "/v1/secret/data/a%20b/c%25d", &caps));
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "a b/c%d");
        ck_assert(gw_path_match(tmpl, "/v1/secret/data/a//../b/", &caps));
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "a//../b/");
        ck_assert(gw_path_match(tmpl, "/v1/secret/data/", &caps)); /* the top folder */
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "");
        ck_assert(!gw_path_match(tmpl, "/v1/secret/data", &caps));
        ck_assert(!gw_path_match(tmpl, "/v1/secret/data/a%2Fb", &caps)); /* an escaped '/' */
        ck_assert(!gw_path_match(tmpl, "/v1/secret/data/a%00", &caps));
        ck_assert(!gw_path_match(tmpl, "/v1/secret/data/a%zz", &caps));
        /* up to GW_CAPTURE_REST_MAX - 1 bytes, decoded */
        char path[GW_CAPTURE_REST_MAX + 64];
        int n = snprintf(path, sizeof(path), "/v1/secret/data/");
        for (int i = 0; i < GW_CAPTURE_REST_MAX - 1; i++)
                path[n++] = i % 10 == 9 ? '/' : 'a';
        path[n] = '\0';
        ck_assert(gw_path_match(tmpl, path, &caps));
        ck_assert(gw_capture_value(&caps, 0, value, sizeof(value)));
        ck_assert_uint_eq(strlen(value), GW_CAPTURE_REST_MAX - 1);
        char small[8];
        ck_assert(!gw_capture_value(&caps, 0, small, sizeof(small)));
        ck_assert_str_eq(small, "");
        path[n++] = 'a';
        path[n] = '\0';
        ck_assert(!gw_path_match(tmpl, path, &caps));
        /* a rest capture ends the template */
        ck_assert(!gw_path_match("/v1/{path*}/x", "/v1/a/x", &caps));
}
END_TEST

/* A row's slash_capture takes an escaped '/' into its value, and only that
 * capture: the path's segments stay the template's. */
START_TEST(test_gw_route_match_slash_capture)
{
        struct gw_route rt = table[2]; /* "/v1/things/{id}/parts/{part}" */
        struct gw_captures caps;
        char value[GW_CAPTURE_MAX];

        rt.slash_capture = "id";
        ck_assert(gw_route_match(&rt, "/v1/things/a%2Fb/parts/7", &caps));
        ck_assert_uint_eq(caps.n, 2);
        ck_assert(gw_capture_value(&caps, 0, value, sizeof(value)));
        ck_assert_str_eq(value, "a/b");
        ck_assert(gw_route_match(&rt, "/v1/things/%2F%2f/parts/7", &caps));
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "//");
        gw_capture_value(&caps, 1, value, sizeof(value));
        ck_assert_str_eq(value, "7");
        /* not in the other capture, nor in a literal segment */
        ck_assert(!gw_route_match(&rt, "/v1/things/a/parts/7%2F8", &caps));
        ck_assert(!gw_route_match(&rt, "/v1/things/a/parts%2F7", &caps));
        ck_assert(!gw_route_match(&rt, "/v1%2Fthings/a/parts/7", &caps));
        /* a real '/' is still a segment break, a NUL still refused */
        ck_assert(!gw_route_match(&rt, "/v1/things/a/b/parts/7", &caps));
        ck_assert(!gw_route_match(&rt, "/v1/things/a%00/parts/7", &caps));
        /* the template alone, and a row without one, take none */
        ck_assert(!gw_path_match(rt.path, "/v1/things/a%2Fb/parts/7", &caps));
        ck_assert(!gw_route_match(&table[2], "/v1/things/a%2Fb/parts/7", &caps));
        /* a name that only begins like the capture's is another */
        rt.slash_capture = "i";
        ck_assert(!gw_route_match(&rt, "/v1/things/a%2Fb/parts/7", &caps));
}
END_TEST

START_TEST(test_gw_route_path_known)
{
        ck_assert(gw_route_path_known(table, "/v1/things/x"));
        ck_assert(gw_route_path_known(table, "/v1/things/x/parts/y"));
        ck_assert(!gw_route_path_known(table, "/v1/things"));
        ck_assert(!gw_route_path_known(table, "/v1/things/a%2Fb"));
        ck_assert(gw_route_path_known(gw_routes, "/v1/workflows/t/runs/a%2Fb"));
        ck_assert(!gw_route_path_known(gw_routes, "/v1/workflows/a%2Fb/runs"));
        ck_assert(!gw_route_path_known(gw_routes, "/v1%2Fmodels"));
}
END_TEST

/* Vault's routes: the path with slashes, LIST, and GET ?list=true. */
START_TEST(test_gw_route_find_vault)
{
        struct gw_captures caps;
        char value[GW_CAPTURE_REST_MAX], allow[128];
        const struct gw_route *rt;
        bool known;

        rt = gw_route_find(gw_routes, "GET", "/v1/secret/data/team/app/db", &known, &caps);
        ck_assert_str_eq(rt->operation, "readSecret");
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "team/app/db");
        rt = gw_route_find(gw_routes, "PATCH", "/v1/secret/data/x", &known, &caps);
        ck_assert_str_eq(rt->media_type, "application/merge-patch+json");
        rt = gw_route_find(gw_routes, "LIST", "/v1/secret/metadata/team/", &known, &caps);
        ck_assert_str_eq(rt->operation, "listSecrets");
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "team/");
        rt = gw_route_find(gw_routes, "LIST", "/v1/secret/metadata/", &known, &caps);
        ck_assert_str_eq(rt->operation, "listSecrets");
        rt = gw_route_find(gw_routes, "LIST", "/v1/secret/metadata", &known, &caps);
        ck_assert_str_eq(rt->operation, "listSecretsTop");
        ck_assert_uint_eq(caps.n, 0);
        /* GET with list=true is a LIST where the path has one */
        ck_assert_str_eq(gw_route_method(gw_routes, "GET", "/v1/secret/metadata/a", "true"),
                         "LIST");
        ck_assert_str_eq(gw_route_method(gw_routes, "GET", "/v1/secret/metadata", "1"), "LIST");
        ck_assert_str_eq(gw_route_method(gw_routes, "GET", "/v1/secret/metadata/a", "false"),
                         "GET");
        ck_assert_str_eq(gw_route_method(gw_routes, "GET", "/v1/secret/metadata/a", NULL), "GET");
        ck_assert_str_eq(gw_route_method(gw_routes, "GET", "/v1/memories", "true"), "GET");
        ck_assert_str_eq(gw_route_method(gw_routes, "POST", "/v1/secret/metadata/a", "true"),
                         "POST");
        gw_route_allow(gw_routes, "/v1/secret/metadata/a", allow, sizeof(allow));
        ck_assert_str_eq(allow, "GET, HEAD, POST, PUT, PATCH, DELETE, LIST, OPTIONS");
        rt = gw_route_find(gw_routes, "PUT", "/v1/secrets/policies/ops", &known, &caps);
        ck_assert_str_eq(rt->body_field, "policy");
        ck_assert_uint_eq(caps.name_len[0], strlen("policy.name"));
}
END_TEST

START_TEST(test_gw_route_find_methods)
{
        struct gw_captures caps;
        char value[GW_CAPTURE_MAX];
        bool known;
        const struct gw_route *rt;

        rt = gw_route_find(table, "GET", "/v1/things/x", &known, &caps);
        ck_assert_ptr_eq(rt, &table[0]);
        gw_capture_value(&caps, 0, value, sizeof(value));
        ck_assert_str_eq(value, "x");
        ck_assert_ptr_eq(gw_route_find(table, "HEAD", "/v1/things/x", &known, NULL), &table[0]);
        ck_assert_ptr_eq(gw_route_find(table, "DELETE", "/v1/things/x", &known, NULL), &table[1]);
        ck_assert_ptr_null(gw_route_find(table, "PUT", "/v1/things/x", &known, NULL));
        ck_assert(known);
        ck_assert_ptr_null(gw_route_find(table, "GET", "/v1/nothing", &known, NULL));
        ck_assert(!known);
}
END_TEST

/* The memory routes of the gateway's own table: a literal segment
 * (search) and a capture ({id}) under one prefix, a capture mid-path. */
static void expect_row(const char *method, const char *path, const char *operation, const char *id)
{
        struct gw_captures caps;
        char value[GW_CAPTURE_MAX];
        bool known;
        const struct gw_route *rt = gw_route_find(gw_routes, method, path, &known, &caps);

        ck_assert_msg(rt != NULL, "%s %s: no row", method, path);
        ck_assert_msg(strcmp(rt->operation, operation) == 0, "%s %s: %s, not %s", method, path,
                      rt->operation, operation);
        ck_assert_uint_eq(caps.n, id ? 1 : 0);
        if (id) {
                gw_capture_value(&caps, 0, value, sizeof(value));
                ck_assert_str_eq(value, id);
        }
}

START_TEST(test_gw_route_find_memories)
{
        char allow[128];
        bool known;

        expect_row("POST", "/v1/memories", "storeMemories", NULL);
        expect_row("GET", "/v1/memories", "listMemories", NULL);
        expect_row("HEAD", "/v1/memories", "listMemories", NULL);
        expect_row("POST", "/v1/memories/search", "searchMemories", NULL);
        expect_row("GET", "/v1/memories/m-1", "getMemory", "m-1");
        expect_row("PATCH", "/v1/memories/m-1", "updateMemory", "m-1");
        expect_row("DELETE", "/v1/memories/m%201", "deleteMemory", "m 1");
        expect_row("GET", "/v1/memories/m-1/history", "getMemoryHistory", "m-1");
        /* "search" is only a literal for POST; for GET it is an id */
        expect_row("GET", "/v1/memories/search", "getMemory", "search");
        ck_assert_ptr_null(gw_route_find(gw_routes, "POST", "/v1/memories/m-1", &known, NULL));
        ck_assert(known);
        ck_assert_ptr_null(
                gw_route_find(gw_routes, "POST", "/v1/memories/m-1/history", &known, NULL));
        ck_assert(known);
        ck_assert_ptr_null(gw_route_find(gw_routes, "GET", "/v1/memories/m-1/other", &known, NULL));
        ck_assert(!known);
        ck_assert_ptr_null(gw_route_find(gw_routes, "GET", "/v1/memories/", &known, NULL));
        ck_assert(!known);
        gw_route_allow(gw_routes, "/v1/memories", allow, sizeof(allow));
        ck_assert_str_eq(allow, "POST, GET, HEAD, OPTIONS");
        gw_route_allow(gw_routes, "/v1/memories/m-1", allow, sizeof(allow));
        ck_assert_str_eq(allow, "GET, HEAD, PATCH, DELETE, OPTIONS");
        gw_route_allow(gw_routes, "/v1/memories/m-1/history", allow, sizeof(allow));
        ck_assert_str_eq(allow, "GET, HEAD, OPTIONS");
}
END_TEST

/* One workflow row of the gateway's table: its operation, class and
 * captures, decoded. */
static const struct gw_route *expect_workflow_row(const char *method, const char *path,
                                                  const char *operation, const char *cls,
                                                  const char *const *captures)
{
        struct gw_captures caps;
        char value[GW_CAPTURE_MAX];
        bool known;
        size_t n = 0;
        const struct gw_route *rt = gw_route_find(gw_routes, method, path, &known, &caps);

        ck_assert_msg(rt != NULL, "%s %s: no row", method, path);
        ck_assert_msg(strcmp(rt->operation, operation) == 0, "%s %s: %s, not %s", method, path,
                      rt->operation, operation);
        ck_assert_str_eq(rt->cls->name, cls);
        ck_assert_str_eq(rt->service, "workflow");
        ck_assert_str_eq(rt->timeout_key, "workflows");
        ck_assert_int_eq(rt->timeout_ms, 10000);
        ck_assert_ptr_null(rt->key_field); /* the tenant's key */
        for (; captures && captures[n]; n++) {
                ck_assert(gw_capture_value(&caps, n, value, sizeof(value)));
                ck_assert_str_eq(value, captures[n]);
        }
        ck_assert_uint_eq(caps.n, n);
        return rt;
}

START_TEST(test_gw_route_find_workflows)
{
        const char *const t[] = { "etl", NULL };
        const char *const any[] = { "-", NULL };
        const char *const run[] = { "etl", "orders/42", NULL };
        const char *const sig[] = { "etl", "orders/42", "approve", NULL };
        const struct gw_route *rt;
        char allow[128];
        bool known;

        rt = expect_workflow_row("POST", "/v1/workflows", "registerWorkflow", "workflows.admin",
                                 NULL);
        ck_assert_str_eq(rt->body_field, "definition");
        expect_workflow_row("GET", "/v1/workflows", "listWorkflows", "workflows.read", NULL);
        expect_workflow_row("GET", "/v1/workflows/etl", "getWorkflow", "workflows.read", t);
        rt = expect_workflow_row("POST", "/v1/workflows/etl/runs", "startWorkflowRun",
                                 "workflows.run", t);
        ck_assert_ptr_null(rt->body_field);
        /* a list of runs is one page as JSON, as memory's list is */
        rt = expect_workflow_row("GET", "/v1/workflows/-/runs", "listWorkflowRuns",
                                 "workflows.read", any);
        ck_assert_ptr_null(rt->page_field);
        /* the id's '/' sent as %2F (either case), decoded */
        expect_workflow_row("GET", "/v1/workflows/etl/runs/orders%2F42", "getWorkflowRun",
                            "workflows.read", run);
        rt = expect_workflow_row("GET", "/v1/workflows/etl/runs/orders%2f42/history",
                                 "getWorkflowRunHistory", "workflows.read", run);
        ck_assert_str_eq(rt->page_field, "events");
        rt = expect_workflow_row("POST", "/v1/workflows/etl/runs/orders%2F42/signals/approve",
                                 "signalWorkflowRun", "workflows.run", sig);
        ck_assert_str_eq(rt->body_field, "payload");
        expect_workflow_row("POST", "/v1/workflows/etl/runs/orders%2F42/cancel",
                            "cancelWorkflowRun", "workflows.run", run);
        expect_workflow_row("POST", "/v1/workflows/etl/runs/orders%2F42/terminate",
                            "terminateWorkflowRun", "workflows.admin", run);
        /* an id of one segment needs no escape */
        expect_workflow_row("GET", "/v1/workflows/etl/runs/o-1", "getWorkflowRun", "workflows.read",
                            (const char *const[]){ "etl", "o-1", NULL });
        /* a '/' unescaped is a segment: /history of the id "orders" */
        expect_workflow_row("GET", "/v1/workflows/etl/runs/orders/history", "getWorkflowRunHistory",
                            "workflows.read", (const char *const[]){ "etl", "orders", NULL });
        ck_assert_ptr_null(
                gw_route_find(gw_routes, "GET", "/v1/workflows/etl/runs/orders/42", &known, NULL));
        ck_assert(!known);
        /* only the workflow id takes an escaped '/' */
        ck_assert_ptr_null(gw_route_find(gw_routes, "GET", "/v1/workflows/a%2Fb", &known, NULL));
        ck_assert(!known);
        ck_assert_ptr_null(gw_route_find(gw_routes, "POST",
                                         "/v1/workflows/etl/runs/o-1/signals/a%2Fb", &known, NULL));
        ck_assert(!known);
        /* a path with other methods: 405's Allow */
        ck_assert_ptr_null(gw_route_find(gw_routes, "DELETE", "/v1/workflows/etl/runs/orders%2F42",
                                         &known, NULL));
        ck_assert(known);
        gw_route_allow(gw_routes, "/v1/workflows", allow, sizeof(allow));
        ck_assert_str_eq(allow, "POST, GET, HEAD, OPTIONS");
        gw_route_allow(gw_routes, "/v1/workflows/etl/runs", allow, sizeof(allow));
        ck_assert_str_eq(allow, "POST, GET, HEAD, OPTIONS");
        gw_route_allow(gw_routes, "/v1/workflows/etl/runs/orders%2F42/cancel", allow,
                       sizeof(allow));
        ck_assert_str_eq(allow, "POST, OPTIONS");
}
END_TEST

/* The workflow classes: reading for every role, running for all but
 * viewers, registering and terminating for owners and admins. */
START_TEST(test_gw_class_allows_workflow_roles)
{
        static const struct {
                const char *method, *path;
                bool allowed[GW_ROLE__COUNT];
        } rows[] = {
                { "GET", "/v1/workflows/etl/runs/o-1/history", { true, true, true, true } },
                { "POST", "/v1/workflows/etl/runs", { true, true, true, false } },
                { "POST", "/v1/workflows/etl/runs/o-1/signals/go", { true, true, true, false } },
                { "POST", "/v1/workflows/etl/runs/o-1/cancel", { true, true, true, false } },
                { "POST", "/v1/workflows", { true, true, false, false } },
                { "POST", "/v1/workflows/etl/runs/o-1/terminate", { true, true, false, false } },
        };
        bool known;

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct gw_route *rt = gw_route_find(gw_routes, rows[i].method, rows[i].path,
                                                          &known, NULL);

                ck_assert_ptr_nonnull(rt);
                for (int r = 0; r < GW_ROLE__COUNT; r++)
                        ck_assert_msg(gw_class_allows(rt->cls, (enum gw_role)r) ==
                                              rows[i].allowed[r],
                                      "%s %s, role %d", rows[i].method, rows[i].path, r);
        }
}
END_TEST

START_TEST(test_gw_route_allow_lists_methods)
{
        char allow[128];

        gw_route_allow(table, "/v1/things/x", allow, sizeof(allow));
        ck_assert_str_eq(allow, "GET, HEAD, DELETE, OPTIONS");
        gw_route_allow(table, "/v1/none", allow, sizeof(allow));
        ck_assert_str_eq(allow, "");
}
END_TEST

START_TEST(test_gw_class_allows_roles)
{
        for (int r = 0; r < GW_ROLE__COUNT; r++)
                ck_assert(gw_class_allows(&open_cls, (enum gw_role)r));
        ck_assert(gw_class_allows(&write_cls, GW_ROLE_ADMIN));
        ck_assert(!gw_class_allows(&write_cls, GW_ROLE_MEMBER));
        ck_assert(!gw_class_allows(&write_cls, (enum gw_role)99));
}
END_TEST

START_TEST(test_gw_route_plan_make_collects)
{
        struct gw_route_plan plan;
        char err[256];

        ck_assert_msg(gw_route_plan_make(table, &plan, err, sizeof(err)), "%s", err);
        ck_assert_int_eq(plan.ntimeouts, 2);
        ck_assert_int_eq(plan.nclasses, 2);
        ck_assert_int_eq(plan.nservices, 2);
        ck_assert_int_eq(gw_plan_timeout_index(&plan, &table[1]), 0);
        ck_assert_int_eq(gw_plan_timeout_index(&plan, &table[2]), 1);
        ck_assert_int_eq(gw_plan_class_index(&plan, &write_cls), 1);
        ck_assert_int_eq(gw_plan_service_index(&plan, "parts"), 1);
        ck_assert_int_eq(gw_plan_service_index(&plan, "none"), -1);
        /* the gateway's own table obeys the rules too */
        ck_assert_msg(gw_route_plan_make(gw_routes, &plan, err, sizeof(err)), "%s", err);
}
END_TEST

START_TEST(test_gw_route_plan_make_refuses)
{
        struct gw_route_plan plan;
        char err[256];
        const struct gw_route twice[] = { table[0], table[0], { .method = NULL } };
        struct gw_route no_types[] = { table[0], { .method = NULL } };
        struct gw_route no_timeout[] = { table[0], { .method = NULL } };

        ck_assert(!gw_route_plan_make(twice, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "declared twice"), "%s", err);
        no_types[0].reply = NULL;
        ck_assert(!gw_route_plan_make(no_types, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "reply types"), "%s", err);
        no_timeout[0].timeout_ms = 0;
        ck_assert(!gw_route_plan_make(no_timeout, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "timeout"), "%s", err);
        struct gw_route slash[] = { table[0], { .method = NULL } };
        slash[0].slash_capture = "name";
        ck_assert(!gw_route_plan_make(slash, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "slash_capture name is not a {name} capture"), "%s", err);
        slash[0].slash_capture = "i";
        ck_assert(!gw_route_plan_make(slash, &plan, err, sizeof(err)));
        slash[0].slash_capture = "id";
        ck_assert_msg(gw_route_plan_make(slash, &plan, err, sizeof(err)), "%s", err);
        struct gw_route rest_mid[] = { table[0], { .method = NULL } };
        rest_mid[0].path = "/v1/things/{id*}/parts";
        ck_assert(!gw_route_plan_make(rest_mid, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "must end the path"), "%s", err);
}
END_TEST

/* A route keyed by user_id, as the memory routes are. */
static const struct gw_route keyed = { .method = "GET",
                                       .path = "/v1/keyed/{id}",
                                       .cls = &open_cls,
                                       .operation = "getKeyed",
                                       .service = "keyed",
                                       .request = &cairn__memory__v1__get_request__descriptor,
                                       .reply = &cairn__memory__v1__get_reply__descriptor,
                                       .timeout_key = "keyed",
                                       .timeout_ms = 100,
                                       .key_field = "user_id" };

static void expect_key(const struct gw_route *rt, const char *user_id, const char *want)
{
        Cairn__Memory__V1__GetRequest req = CAIRN__MEMORY__V1__GET_REQUEST__INIT;
        char *key;

        req.id = "m-1";
        if (user_id)
                req.user_id = (char *)user_id;
        key = gw_route_key(rt, "acme", &req.base);
        ck_assert_str_eq(key, want);
        free(key);
}

START_TEST(test_gw_route_key_field)
{
        struct gw_route unkeyed = keyed;

        unkeyed.key_field = NULL;
        expect_key(&keyed, "u1", "acme/u1");
        /* the tenant holds no '/': the first one ends it */
        expect_key(&keyed, "team/u1", "acme/team/u1");
        expect_key(&keyed, "", "acme");
        expect_key(&keyed, NULL, "acme");
        expect_key(&unkeyed, "u1", "acme");
}
END_TEST

START_TEST(test_gw_route_key_field_every_memory_route)
{
        struct gw_route_plan plan;
        char err[256];
        size_t n = 0;

        for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                if (!rt->service || strcmp(rt->service, "memory") != 0)
                        continue;
                ck_assert_msg(rt->key_field && strcmp(rt->key_field, "user_id") == 0,
                              "%s %s is not keyed by user_id", rt->method, rt->path);
                n++;
        }
        ck_assert_uint_eq(n, 11);
        ck_assert_msg(gw_route_plan_make(gw_routes, &plan, err, sizeof(err)), "%s", err);
}
END_TEST

static int local_answer(struct gw_req *r)
{
        (void)r;
        return 0;
}

START_TEST(test_gw_route_plan_refuses_bad_key_field)
{
        struct gw_route_plan plan;
        char err[256];
        struct gw_route rows[] = { keyed, { .method = NULL } };

        ck_assert_msg(gw_route_plan_make(rows, &plan, err, sizeof(err)), "%s", err);
        rows[0].key_field = "no_such_field";
        ck_assert(!gw_route_plan_make(rows, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "key_field no_such_field is not a string field of "
                                  "cairn.memory.v1.GetRequest"),
                      "%s", err);
        /* a field, but not a string: cairn.v1.Status.code is an int32 */
        rows[0].request = &cairn__v1__status__descriptor;
        rows[0].key_field = "code";
        ck_assert(!gw_route_plan_make(rows, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "route GET /v1/keyed/{id}: key_field code is not a string "
                                  "field of cairn.v1.Status"),
                      "%s", err);
        /* a repeated string is no one value */
        rows[0].request = &cairn__embedding__v1__embed_request__descriptor;
        rows[0].key_field = "inputs";
        ck_assert(!gw_route_plan_make(rows, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "key_field inputs is not a string field"), "%s", err);
        /* a local answer has no request to read it from */
        rows[0] = (struct gw_route){ .method = "GET",
                                     .path = "/v1/local",
                                     .cls = &open_cls,
                                     .operation = "local",
                                     .local = local_answer,
                                     .key_field = "user_id" };
        ck_assert(!gw_route_plan_make(rows, &plan, err, sizeof(err)));
        ck_assert_msg(strstr(err, "key_field user_id is not a string field of its request"), "%s",
                      err);
}
END_TEST

START_TEST(test_gw_route_rbac_doc_matches_docs_api_md)
{
        const char *root = getenv("TESTS_ROOT");
        char path[512], *tbl = NULL, *doc;
        size_t tlen = 0, dlen;
        FILE *fp;

        fp = open_memstream(&tbl, &tlen);
        gw_route_rbac_doc(gw_routes, fp);
        fclose(fp);
        snprintf(path, sizeof(path), "%s/docs/api.md", root && root[0] ? root : ".");
        fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "cannot open %s", path);
        doc = malloc(1 << 20);
        dlen = fread(doc, 1, (1 << 20) - 1, fp);
        doc[dlen] = '\0';
        fclose(fp);
        ck_assert_msg(strstr(doc, tbl) != NULL,
                      "docs/api.md does not carry the permission table; paste this:\n%s", tbl);
        free(doc);
        free(tbl);
}
END_TEST

static Suite *route_suite(void)
{
        Suite *s = suite_create("gateway_route");
        TCase *tc;

        tc = tcase_create("gw_path_match");
        tcase_add_test(tc, test_gw_path_match_captures);
        tcase_add_test(tc, test_gw_path_match_refuses);
        tcase_add_test(tc, test_gw_path_match_rest);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_route_match");
        tcase_add_test(tc, test_gw_route_match_slash_capture);
        tcase_add_test(tc, test_gw_route_path_known);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_route_find");
        tcase_add_test(tc, test_gw_route_find_methods);
        tcase_add_test(tc, test_gw_route_allow_lists_methods);
        tcase_add_test(tc, test_gw_route_find_memories);
        tcase_add_test(tc, test_gw_route_find_vault);
        tcase_add_test(tc, test_gw_route_find_workflows);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_route_key");
        tcase_add_test(tc, test_gw_route_key_field);
        tcase_add_test(tc, test_gw_route_key_field_every_memory_route);
        tcase_add_test(tc, test_gw_route_plan_refuses_bad_key_field);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_class_allows");
        tcase_add_test(tc, test_gw_class_allows_roles);
        tcase_add_test(tc, test_gw_class_allows_workflow_roles);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_route_plan_make");
        tcase_add_test(tc, test_gw_route_plan_make_collects);
        tcase_add_test(tc, test_gw_route_plan_make_refuses);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_route_rbac_doc");
        tcase_add_test(tc, test_gw_route_rbac_doc_matches_docs_api_md);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(route_suite());
}

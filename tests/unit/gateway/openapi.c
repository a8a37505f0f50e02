/* Unit tests for the OpenAPI document generated from the route table: every
 * route appears with its operationId, class and security, nothing else
 * does, error answers follow each route's style, the embeddings request
 * states the bounds the gateway enforces, the memory routes take user_id in
 * the query, the workflow routes' bodies, pages and parameters, and
 * docs/openapi.json is the document the gateway serves. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/openai.h"
#include "gateway/openapi.h"
#include "../unit.h"

static json_t *doc;
static char *text;
static size_t text_len;

static void setup(void)
{
        json_error_t err;
        char errstr[256];

        text = gw_openapi_render(gw_routes, &text_len, errstr, sizeof(errstr));
        ck_assert_msg(text != NULL, "%s", errstr);
        doc = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &err);
        ck_assert_msg(doc != NULL, "openapi: %s (line %d)", err.text, err.line);
}

static void teardown(void)
{
        json_decref(doc);
        free(text);
}

START_TEST(test_gw_openapi_render_documents_every_route)
{
        json_t *paths = json_object_get(doc, "paths");

        for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                char m[16], path[256];
                json_t *op, *sec;

                gw_openapi_operation_of(rt, path, sizeof(path), m, sizeof(m));
                op = json_object_get(json_object_get(paths, path), m);
                ck_assert_msg(op != NULL, "no %s %s", rt->method, rt->path);
                ck_assert_str_eq(json_string_value(json_object_get(op, "operationId")),
                                 rt->operation);
                ck_assert_str_eq(json_string_value(json_object_get(op, "x-cairn-route-class")),
                                 rt->cls->name);
                /* Public routes need no credentials; the others do. */
                sec = json_object_get(op, "security");
                if (rt->cls->public_route)
                        ck_assert(json_is_array(sec) && json_array_size(sec) == 0);
                else
                        ck_assert(sec == NULL);
        }
}
END_TEST

START_TEST(test_gw_openapi_render_nothing_extra)
{
        json_t *paths = json_object_get(doc, "paths"), *item, *op;
        const char *path, *method;

        json_object_foreach(paths, path, item) {
                json_object_foreach(item, method, op) {
                        bool found = false;

                        for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                                char m[16], p[256];

                                gw_openapi_operation_of(rt, p, sizeof(p), m, sizeof(m));
                                if (strcmp(p, path) == 0 && strcmp(m, method) == 0)
                                        found = true;
                        }
                        ck_assert_msg(found, "documents %s %s, which no route serves", method,
                                      path);
                }
        }
}
END_TEST

START_TEST(test_gw_openapi_render_version)
{
        ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
        ck_assert_str_eq(json_string_value(
                                 json_object_get(json_object_get(doc, "info"), "version")),
                         CAIRN_VERSION);
}
END_TEST

/* A Cairn-native route: its body and reply schemas come from the message
 * descriptors, its errors are cairn.v1.Status. */
START_TEST(test_gw_openapi_render_native_route)
{
        json_t *d = doc, *op, *schemas, *err400;
        char *s;

        op = json_object_get(json_object_get(json_object_get(d, "paths"), "/v1/embedding/embed"),
                             "post");
        ck_assert_ptr_nonnull(op);
        schemas = json_object_get(json_object_get(d, "components"), "schemas");
        ck_assert_ptr_nonnull(json_object_get(schemas, "cairn.embedding.v1.EmbedRequest"));
        ck_assert_ptr_nonnull(json_object_get(schemas, "cairn.embedding.v1.EmbedReply"));
        err400 = json_object_get(json_object_get(op, "responses"), "400");
        s = json_dumps(err400, 0);
        ck_assert_msg(strstr(s, "cairn.v1.Status") != NULL,
                      "400 of a native route is not a cairn.v1.Status: %s", s);
        free(s);
}
END_TEST

/* "dimensions": the bounds the parser enforces (the union over every
 * model), and each model's own range in words. */
START_TEST(test_gw_openapi_render_dimensions_bounds)
{
        json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
        json_t *req = json_object_get(schemas, "CreateEmbeddingRequest");
        json_t *dim = json_object_get(json_object_get(req, "properties"), "dimensions");
        const char *desc;

        ck_assert_ptr_nonnull(dim);
        ck_assert_str_eq(json_string_value(json_object_get(dim, "type")), "integer");
        ck_assert_int_eq(json_integer_value(json_object_get(dim, "minimum")),
                         GW_EMBED_DIMENSIONS_MIN);
        ck_assert_int_eq(json_integer_value(json_object_get(dim, "maximum")),
                         GW_EMBED_DIMENSIONS_MAX);
        desc = json_string_value(json_object_get(dim, "description"));
        ck_assert_ptr_nonnull(desc);
        /* the built-in model's range, the default one's, and the others' */
        ck_assert_msg(strstr(desc, "cairn-lexical-<N>") && strstr(desc, "16 to N"), "%s", desc);
        ck_assert_msg(strstr(desc, "cairn-lexical-384 takes 16 to 384"), "%s", desc);
        ck_assert_msg(strstr(desc, "only its own size"), "%s", desc);
        ck_assert_msg(strstr(desc, "union"), "%s", desc);
}
END_TEST

/* A route with a body documents the 413 of a request too large for one
 * Kafka message, in its own error style. */
START_TEST(test_gw_openapi_render_message_limit_413)
{
        json_t *paths = json_object_get(doc, "paths");
        const char *routes[][2] = { { "/v1/embeddings", "ErrorResponse" },
                                    { "/v1/embedding/embed", "cairn.v1.Status" } };

        for (size_t i = 0; i < 2; i++) {
                json_t *r413 = json_object_get(
                        json_object_get(json_object_get(json_object_get(paths, routes[i][0]),
                                                        "post"),
                                        "responses"),
                        "413");
                char *s = json_dumps(r413, 0);

                ck_assert_msg(s && strstr(s, "http.max_body_bytes") &&
                                      strstr(s, "kafka.message.max.bytes") &&
                                      strstr(s, routes[i][1]),
                              "413 of %s: %s", routes[i][0], s ? s : "(none)");
                free(s);
        }
}
END_TEST

static bool has_query_parameter(const json_t *op, const char *name)
{
        const json_t *p;
        size_t i;

        json_array_foreach(json_object_get(op, "parameters"), i, p)
                if (json_is_string(json_object_get(p, "name")) &&
                    strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
                    strcmp(json_string_value(json_object_get(p, "in")), "query") == 0)
                        return true;
        return false;
}

/* The memory routes: their classes, user_id in the query of those without
 * a body, and the list answered as one page (JSON with nextPageToken), not
 * streamed. */
START_TEST(test_gw_openapi_render_memory_routes)
{
        static const char *const ops[][4] = {
                { "/v1/memories", "post", "storeMemories", "memories.write" },
                { "/v1/memories", "get", "listMemories", "memories.read" },
                { "/v1/memories/search", "post", "searchMemories", "memories.read" },
                { "/v1/memories/{id}", "get", "getMemory", "memories.read" },
                { "/v1/memories/{id}", "patch", "updateMemory", "memories.write" },
                { "/v1/memories/{id}", "delete", "deleteMemory", "memories.write" },
                { "/v1/memories/{id}/history", "get", "getMemoryHistory", "memories.read" },
        };
        json_t *paths = json_object_get(doc, "paths"), *list200;

        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                json_t *op = json_object_get(json_object_get(paths, ops[i][0]), ops[i][1]);

                ck_assert_msg(op != NULL, "no %s %s", ops[i][1], ops[i][0]);
                ck_assert_str_eq(json_string_value(json_object_get(op, "operationId")), ops[i][2]);
                ck_assert_str_eq(json_string_value(json_object_get(op, "x-cairn-route-class")),
                                 ops[i][3]);
                if (!json_object_get(op, "requestBody"))
                        ck_assert_msg(has_query_parameter(op, "user_id"), "%s: no user_id",
                                      ops[i][2]);
        }
        list200 = json_object_get(json_object_get(json_object_get(json_object_get(paths,
                                                                                  "/v1/memories"),
                                                                  "get"),
                                                  "responses"),
                                  "200");
        ck_assert_str_eq(json_string_value(json_object_get(
                                 json_object_get(json_object_get(json_object_get(list200,
                                                                                 "content"),
                                                                 "application/json"),
                                                 "schema"),
                                 "$ref")),
                         "#/components/schemas/cairn.memory.v1.ListReply");
}
END_TEST

/* The parameter @p name of @p op in @p where ("path", "query"), or NULL. */
static json_t *parameter(const json_t *op, const char *where, const char *name)
{
        json_t *p;
        size_t i;

        json_array_foreach(json_object_get(op, "parameters"), i, p)
                if (json_is_string(json_object_get(p, "name")) &&
                    strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
                    strcmp(json_string_value(json_object_get(p, "in")), where) == 0)
                        return p;
        return NULL;
}

/* The $ref of the schema of @p op's 200 (or body) under @p media. */
static const char *content_ref(const json_t *content, const char *media)
{
        return json_string_value(
                json_object_get(json_object_get(json_object_get(content, media), "schema"),
                                "$ref"));
}

/* The workflow routes: a run's history streamed as NDJSON events, the list
 * of runs one page of JSON with its filters in the query (times as
 * date-time), a signal's body its payload (any JSON value) with run_id in
 * the query, and the workflow id the one capture said to take %2F. */
START_TEST(test_gw_openapi_render_workflow_routes)
{
        json_t *paths = json_object_get(doc, "paths"), *op, *p;
        const char *run = "/v1/workflows/{type}/runs/{workflow_id}";
        char path[256];

        snprintf(path, sizeof(path), "%s/history", run);
        op = json_object_get(json_object_get(paths, path), "get");
        ck_assert_ptr_nonnull(op);
        ck_assert_str_eq(json_string_value(json_object_get(op, "operationId")),
                         "getWorkflowRunHistory");
        ck_assert_str_eq(content_ref(json_object_get(json_object_get(json_object_get(op,
                                                                                     "responses"),
                                                                     "200"),
                                                     "content"),
                                     "application/x-ndjson"),
                         "#/components/schemas/cairn.workflow.v1.WorkflowEvent");
        ck_assert_ptr_nonnull(parameter(op, "query", "page_size"));
        p = parameter(op, "path", "workflow_id");
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(strstr(json_string_value(json_object_get(p, "description")), "%2F"),
                      "workflow_id says nothing of %%2F");
        /* a type never holds a '/' */
        ck_assert_ptr_null(json_object_get(parameter(op, "path", "type"), "description"));

        op = json_object_get(json_object_get(paths, "/v1/workflows/{type}/runs"), "get");
        ck_assert_str_eq(content_ref(json_object_get(json_object_get(json_object_get(op,
                                                                                     "responses"),
                                                                     "200"),
                                                     "content"),
                                     "application/json"),
                         "#/components/schemas/cairn.workflow.v1.ListRunsReply");
        p = parameter(op, "query", "started_after");
        ck_assert_ptr_nonnull(p);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "schema"), "format")),
                         "date-time");
        ck_assert_ptr_nonnull(parameter(op, "query", "status"));

        snprintf(path, sizeof(path), "%s/signals/{name}", run);
        op = json_object_get(json_object_get(paths, path), "post");
        ck_assert_ptr_nonnull(op);
        ck_assert_str_eq(content_ref(json_object_get(json_object_get(op, "requestBody"), "content"),
                                     "application/json"),
                         "#/components/schemas/google.protobuf.Value");
        ck_assert_ptr_nonnull(parameter(op, "query", "run_id"));
        ck_assert_ptr_null(parameter(op, "query", "payload"));

        op = json_object_get(json_object_get(paths, "/v1/workflows"), "post");
        ck_assert_str_eq(content_ref(json_object_get(json_object_get(op, "requestBody"), "content"),
                                     "application/json"),
                         "#/components/schemas/cairn.workflow.v1.WorkflowDefinition");
        ck_assert_str_eq(json_string_value(json_object_get(op, "x-cairn-route-class")),
                         "workflows.admin");
}
END_TEST

START_TEST(test_gw_openapi_render_matches_docs)
{
        const char *root = getenv("TESTS_ROOT");
        char path[512], *file;
        size_t n;
        FILE *fp;

        snprintf(path, sizeof(path), "%s/docs/openapi.json", root && root[0] ? root : ".");
        fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "cannot open %s", path);
        file = malloc(text_len + 2);
        n = fread(file, 1, text_len + 1, fp);
        fclose(fp);
        ck_assert_msg(n == text_len && memcmp(file, text, n) == 0,
                      "docs/openapi.json is stale: run make docs");
        free(file);
}
END_TEST

static Suite *openapi_suite(void)
{
        Suite *s = suite_create("gateway_openapi");
        TCase *tc = tcase_create("gw_openapi_render");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_openapi_render_documents_every_route);
        tcase_add_test(tc, test_gw_openapi_render_nothing_extra);
        tcase_add_test(tc, test_gw_openapi_render_version);
        tcase_add_test(tc, test_gw_openapi_render_native_route);
        tcase_add_test(tc, test_gw_openapi_render_dimensions_bounds);
        tcase_add_test(tc, test_gw_openapi_render_message_limit_413);
        tcase_add_test(tc, test_gw_openapi_render_memory_routes);
        tcase_add_test(tc, test_gw_openapi_render_workflow_routes);
        tcase_add_test(tc, test_gw_openapi_render_matches_docs);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(openapi_suite());
}

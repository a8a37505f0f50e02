/* Unit tests for the proto3 JSON adapter's request side (transcode.c) over a
 * message of the test's own that has a tenant field: the tenant comes from
 * the credentials and is refused from the body or the query, path captures
 * are bound and may not be repeated in the body, and a body that is not a
 * JSON object, or is nested too deep, is refused naming no field. Then the
 * memory and workflow routes of the gateway's table: what path, query and
 * body bind to (a body that is one field, of any JSON value), and the Kafka
 * key that follows. */
#include <check.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/workflow/v1/workflow.pb-c.h"

#include "gateway/adapter.h"
#include "gateway/route.h"
#include "../unit.h"

/* message test.Scoped { string tenant = 1; string item_id = 2; string name = 3; } */
typedef struct {
        ProtobufCMessage base;
        char *tenant;
        char *item_id;
        char *name;
} Scoped;

static void scoped_init(Scoped *m);

static const ProtobufCFieldDescriptor scoped_fields[3] = {
        { "tenant", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(Scoped, tenant),
          NULL, &protobuf_c_empty_string, 0, 0, NULL, NULL },
        { "item_id", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(Scoped, item_id),
          NULL, &protobuf_c_empty_string, 0, 0, NULL, NULL },
        { "name", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(Scoped, name), NULL,
          &protobuf_c_empty_string, 0, 0, NULL, NULL },
};
static const unsigned scoped_by_name[] = { 1, 2, 0 }; /* item_id, name, tenant */
static const ProtobufCIntRange scoped_ranges[2] = { { 1, 0 }, { 0, 3 } };
static const ProtobufCMessageDescriptor scoped_descriptor = {
        PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
        "test.Scoped",
        "Scoped",
        "Scoped",
        "test",
        sizeof(Scoped),
        3,
        scoped_fields,
        scoped_by_name,
        1,
        scoped_ranges,
        (ProtobufCMessageInit)scoped_init,
        NULL,
        NULL,
        NULL,
};

static void scoped_init(Scoped *m)
{
        static const Scoped init_value = { PROTOBUF_C_MESSAGE_INIT(&scoped_descriptor),
                                           (char *)protobuf_c_empty_string,
                                           (char *)protobuf_c_empty_string,
                                           (char *)protobuf_c_empty_string };
        *m = init_value;
}

static const struct gw_route route = { .method = "POST",
                                       .path = "/v1/items/{item_id}",
                                       .service = "items",
                                       .request = &scoped_descriptor,
                                       .reply = &scoped_descriptor };

/* The query of the request under test, as key, value pairs. */
static const char *const *query;

static int query_each(void *conn, int (*fn)(void *opaque, const char *key, const char *value),
                      void *opaque)
{
        (void)conn;
        for (const char *const *q = query; q && q[0]; q += 2) {
                int rc = fn(opaque, q[0], q[1]);

                if (rc)
                        return rc;
        }
        return 0;
}

/* Parses @p body (may be NULL) for POST /v1/items/it%2D1 as tenant "acme". */
static Scoped *parse(const char *body, const char *const *q, struct gw_error *e)
{
        struct gw_captures caps;
        struct gw_adapter_ctx ctx = { 0 };
        ProtobufCMessage *msg;

        memset(&caps, 0, sizeof(caps));
        memset(e, 0, sizeof(*e));
        ck_assert(gw_path_match(route.path, "/v1/items/it%2D1", &caps));
        query = q;
        ctx.route = &route;
        ctx.body = body;
        ctx.body_len = body ? strlen(body) : 0;
        ctx.max_json_depth = 4;
        ctx.caps = &caps;
        ctx.query_each = query_each;
        ctx.tenant = "acme";
        msg = gw_proto_json.parse(&ctx, e);
        /* cppcheck-suppress returnDanglingLifetime ; parse() returns a new message, not ctx */
        return (Scoped *)msg;
}

static void expect_400(const char *body, const char *const *q, const char *field,
                       const char *msg_part)
{
        struct gw_error e;

        ck_assert_ptr_null(parse(body, q, &e));
        ck_assert_int_eq(e.status, 400);
        ck_assert_int_eq(e.err, CAIRN_ERR_INVALID);
        ck_assert_str_eq(e.param, field);
        ck_assert_msg(strstr(e.message, msg_part) != NULL, "%s", e.message);
}

START_TEST(test_proto_json_parse_tenant_from_credentials)
{
        struct gw_error e;
        Scoped *m = parse("{\"name\":\"n\"}", (const char *[]){ NULL }, &e);

        ck_assert_msg(m != NULL, "%s", e.message);
        ck_assert_str_eq(m->tenant, "acme");
        ck_assert_str_eq(m->item_id, "it-1");
        ck_assert_str_eq(m->name, "n");
        gw_proto_json.release(NULL, &m->base);
}
END_TEST

START_TEST(test_proto_json_parse_refuses_tenant_in_body)
{
        expect_400("{\"tenant\":\"other\"}", NULL, "tenant", "comes from the credentials");
}
END_TEST

START_TEST(test_proto_json_parse_refuses_tenant_in_query)
{
        expect_400(NULL, (const char *[]){ "name", "n", "tenant", "other", NULL }, "tenant",
                   "comes from the credentials");
}
END_TEST

START_TEST(test_proto_json_parse_query_binds_fields)
{
        struct gw_error e;
        Scoped *m = parse(NULL, (const char *[]){ "name", "from-query", NULL }, &e);

        ck_assert_msg(m != NULL, "%s", e.message);
        ck_assert_str_eq(m->name, "from-query");
        ck_assert_str_eq(m->tenant, "acme");
        gw_proto_json.release(NULL, &m->base);
        expect_400(NULL, (const char *[]){ "no_such_field", "1", NULL }, "no_such_field", "");
}
END_TEST

START_TEST(test_proto_json_parse_refuses_capture_in_body)
{
        /* under its proto name and its lowerCamelCase name alike */
        expect_400("{\"item_id\":\"x\"}", NULL, "item_id", "given by the path");
        expect_400("{\"itemId\":\"x\"}", NULL, "item_id", "given by the path");
}
END_TEST

START_TEST(test_proto_json_parse_refuses_bad_bodies)
{
        expect_400("{\"name\":", NULL, "", "not valid JSON");
        expect_400("[1]", NULL, "", "must be a JSON object");
        expect_400("{\"name\":[[[[[1]]]]]}", NULL, "", "nested deeper");
        expect_400("{\"name\":1}", NULL, "name", "");
}
END_TEST

/* Parses @p method @p path (its query in @p q) on the gateway's own table
 * as tenant "acme"; NULL with @p e filled when refused. The request's Kafka
 * key in *@p key (freed by the caller) when @p key is not NULL. */
static ProtobufCMessage *parse_on_table(const char *method, const char *path, const char *body,
                                        const char *const *q, struct gw_error *e, char **key)
{
        struct gw_captures caps;
        struct gw_adapter_ctx ctx = { 0 };
        ProtobufCMessage *msg;
        bool known;
        const struct gw_route *rt = gw_route_find(gw_routes, method, path, &known, &caps);

        ck_assert_msg(rt != NULL, "%s %s: no route", method, path);
        query = q;
        ctx.route = rt;
        ctx.body = body;
        ctx.body_len = body ? strlen(body) : 0;
        ctx.max_json_depth = 8;
        ctx.caps = &caps;
        ctx.query_each = query_each;
        ctx.tenant = "acme";
        memset(e, 0, sizeof(*e));
        msg = gw_proto_json.parse(&ctx, e);
        if (msg && key)
                *key = gw_route_key(rt, "acme", msg);
        /* cppcheck-suppress returnDanglingLifetime ; parse() returns a new message, not ctx */
        return msg;
}

static ProtobufCMessage *parse_routed(const char *method, const char *path, const char *body,
                                      const char *const *q, char **key)
{
        struct gw_error e;
        ProtobufCMessage *msg = parse_on_table(method, path, body, q, &e, key);

        ck_assert_msg(msg != NULL, "%s %s: %s", method, path, e.message);
        return msg;
}

START_TEST(test_memory_routes_user_id_from_query)
{
        const char *const user[] = { "user_id", "u1", NULL };
        ProtobufCMessage *msg;
        char *key;

        msg = parse_routed("GET", "/v1/memories/m-1", NULL, user, &key);
        ck_assert_str_eq(((Cairn__Memory__V1__GetRequest *)msg)->id, "m-1");
        ck_assert_str_eq(((Cairn__Memory__V1__GetRequest *)msg)->user_id, "u1");
        ck_assert_str_eq(key, "acme/u1");
        free(key);
        gw_proto_json.release(NULL, msg);

        msg = parse_routed("DELETE", "/v1/memories/m-1", NULL, user, &key);
        ck_assert_str_eq(((Cairn__Memory__V1__DeleteRequest *)msg)->user_id, "u1");
        ck_assert_str_eq(key, "acme/u1");
        free(key);
        gw_proto_json.release(NULL, msg);

        msg = parse_routed("GET", "/v1/memories/m-1/history", NULL, user, &key);
        ck_assert_str_eq(((Cairn__Memory__V1__HistoryRequest *)msg)->id, "m-1");
        ck_assert_str_eq(key, "acme/u1");
        free(key);
        gw_proto_json.release(NULL, msg);

        /* a memory by id alone: the tenant's key */
        msg = parse_routed("GET", "/v1/memories/m-1", NULL, NULL, &key);
        ck_assert_str_eq(key, "acme");
        free(key);
        gw_proto_json.release(NULL, msg);
}
END_TEST

START_TEST(test_memory_routes_list_query)
{
        Cairn__Memory__V1__ListRequest *lr;
        char *key;

        lr = (Cairn__Memory__V1__ListRequest *)
                parse_routed("GET", "/v1/memories", NULL,
                             (const char *[]){ "user_id", "u1", "agent_id", "a1", "run_id", "r1",
                                               "page_size", "20", "page_token", "t-2", NULL },
                             &key);
        ck_assert_str_eq(lr->user_id, "u1");
        ck_assert_str_eq(lr->agent_id, "a1");
        ck_assert_str_eq(lr->run_id, "r1");
        ck_assert_uint_eq(lr->page_size, 20);
        ck_assert_str_eq(lr->page_token, "t-2");
        ck_assert_str_eq(key, "acme/u1");
        free(key);
        gw_proto_json.release(NULL, &lr->base);
}
END_TEST

START_TEST(test_memory_routes_refuse)
{
        struct gw_error e;

        /* a Struct has no text form: no metadata filter in a query */
        ck_assert_ptr_null(
                parse_on_table("GET", "/v1/memories", NULL,
                               (const char *[]){ "user_id", "u1", "metadata", "{}", NULL }, &e,
                               NULL));
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.param, "metadata");
        /* the id is the path's */
        ck_assert_ptr_null(
                parse_on_table("PATCH", "/v1/memories/m-1", "{\"id\":\"m-2\"}", NULL, &e, NULL));
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.param, "id");
}
END_TEST

START_TEST(test_memory_routes_user_id_from_body)
{
        Cairn__Memory__V1__StoreRequest *sr;
        Cairn__Memory__V1__UpdateRequest *ur;
        ProtobufCMessage *msg;
        char *key;

        sr = (Cairn__Memory__V1__StoreRequest *)
                parse_routed("POST", "/v1/memories",
                             "{\"userId\":\"u1\",\"content\":\"likes tea\"}", NULL, &key);
        ck_assert_str_eq(sr->user_id, "u1");
        ck_assert_str_eq(sr->content, "likes tea");
        ck_assert_str_eq(key, "acme/u1");
        free(key);
        gw_proto_json.release(NULL, &sr->base);

        msg = parse_routed("POST", "/v1/memories/search", "{\"user_id\":\"u2\",\"query\":\"tea\"}",
                           NULL, &key);
        ck_assert_str_eq(key, "acme/u2");
        free(key);
        gw_proto_json.release(NULL, msg);

        ur = (Cairn__Memory__V1__UpdateRequest *)
                parse_routed("PATCH", "/v1/memories/m-1", "{\"content\":\"likes coffee\"}",
                             (const char *[]){ "user_id", "u1", NULL }, &key);
        ck_assert_str_eq(ur->id, "m-1");
        ck_assert_ptr_nonnull(ur->content);
        ck_assert_str_eq(ur->content->value, "likes coffee");
        ck_assert_str_eq(key, "acme/u1");
        free(key);
        gw_proto_json.release(NULL, &ur->base);

        /* in the body and the query: the query's, and the key follows */
        sr = (Cairn__Memory__V1__StoreRequest *)
                parse_routed("POST", "/v1/memories", "{\"user_id\":\"u1\",\"content\":\"x\"}",
                             (const char *[]){ "user_id", "u2", NULL }, &key);
        ck_assert_str_eq(sr->user_id, "u2");
        ck_assert_str_eq(key, "acme/u2");
        free(key);
        gw_proto_json.release(NULL, &sr->base);

        /* no user_id: the tenant's key, the service's to refuse */
        msg = parse_routed("POST", "/v1/memories", "{\"content\":\"x\"}", NULL, &key);
        ck_assert_str_eq(key, "acme");
        free(key);
        gw_proto_json.release(NULL, msg);
}
END_TEST

/* ---- the workflow routes: keyed by the tenant ---- */

#define WF(type) Cairn__Workflow__V1__##type

/* parse_routed() of a workflow route, its key checked: the tenant's. */
static ProtobufCMessage *parse_workflow(const char *method, const char *path, const char *body,
                                        const char *const *q)
{
        char *key;
        ProtobufCMessage *msg = parse_routed(method, path, body, q, &key);

        ck_assert_str_eq(key, "acme");
        free(key);
        return msg;
}

START_TEST(test_workflow_routes_definitions)
{
        WF(RegisterDefinitionRequest) * reg;
        WF(ListDefinitionsRequest) * list;
        WF(GetDefinitionRequest) * get;

        /* the body is the definition */
        reg = (WF(RegisterDefinitionRequest) *)
                parse_workflow("POST", "/v1/workflows",
                               "{\"type\":\"etl\",\"description\":\"d\",\"steps\":[{\"id\":\"s1\","
                               "\"sleep\":{\"duration\":\"5s\"}}],\"runTimeout\":\"60s\"}",
                               NULL);
        ck_assert_ptr_nonnull(reg->definition);
        ck_assert_str_eq(reg->definition->type, "etl");
        ck_assert_uint_eq(reg->definition->n_steps, 1);
        ck_assert_str_eq(reg->definition->steps[0]->id, "s1");
        ck_assert_int_eq(reg->definition->steps[0]->kind_case,
                         CAIRN__WORKFLOW__V1__STEP__KIND_SLEEP);
        ck_assert_int_eq(reg->definition->run_timeout->seconds, 60);
        gw_proto_json.release(NULL, &reg->base);

        list = (WF(ListDefinitionsRequest) *)
                parse_workflow("GET", "/v1/workflows", NULL,
                               (const char *[]){ "page_size", "10", "page_token", "t-1", NULL });
        ck_assert_uint_eq(list->page_size, 10);
        ck_assert_str_eq(list->page_token, "t-1");
        gw_proto_json.release(NULL, &list->base);

        get = (WF(GetDefinitionRequest) *)parse_workflow("GET", "/v1/workflows/etl", NULL,
                                                         (const char *[]){ "version", "3", NULL });
        ck_assert_str_eq(get->type, "etl");
        ck_assert_uint_eq(get->version, 3);
        gw_proto_json.release(NULL, &get->base);
}
END_TEST

START_TEST(test_workflow_routes_runs)
{
        WF(StartRunRequest) * start;
        WF(ListRunsRequest) * list;
        WF(GetRunRequest) * get;
        WF(GetHistoryRequest) * hist;
        WF(CancelRunRequest) * cancel;
        WF(TerminateRunRequest) * term;

        start = (WF(StartRunRequest) *)parse_workflow(
                "POST", "/v1/workflows/etl/runs",
                "{\"workflowId\":\"orders/42\",\"input\":{\"text\":\"hi\"},"
                "\"idReusePolicy\":\"ID_REUSE_REJECT_DUPLICATE\","
                "\"idConflictPolicy\":\"ID_CONFLICT_USE_EXISTING\",\"runTimeout\":\"90s\","
                "\"version\":2}",
                NULL);
        ck_assert_str_eq(start->type, "etl");
        ck_assert_str_eq(start->workflow_id, "orders/42");
        ck_assert_ptr_nonnull(start->input);
        ck_assert_uint_eq(start->input->n_fields, 1);
        ck_assert_int_eq(start->id_reuse_policy,
                         CAIRN__WORKFLOW__V1__ID_REUSE_POLICY__ID_REUSE_REJECT_DUPLICATE);
        ck_assert_int_eq(start->id_conflict_policy,
                         CAIRN__WORKFLOW__V1__ID_CONFLICT_POLICY__ID_CONFLICT_USE_EXISTING);
        ck_assert_int_eq(start->run_timeout->seconds, 90);
        ck_assert_uint_eq(start->version, 2);
        gw_proto_json.release(NULL, &start->base);

        list = (WF(ListRunsRequest) *)
                parse_workflow("GET", "/v1/workflows/-/runs", NULL,
                               (const char *[]){ "status", "RUN_STATUS_RUNNING", "started_after",
                                                 "2026-01-02T03:04:05Z", "started_before",
                                                 "2026-02-01T00:00:00Z", "page_size", "20",
                                                 "page_token", "p2", NULL });
        ck_assert_str_eq(list->type, "-");
        ck_assert_int_eq(list->status, CAIRN__WORKFLOW__V1__RUN_STATUS__RUN_STATUS_RUNNING);
        ck_assert_int_eq(list->started_after->seconds, 1767323045);
        ck_assert_int_eq(list->started_before->seconds, 1769904000);
        ck_assert_uint_eq(list->page_size, 20);
        ck_assert_str_eq(list->page_token, "p2");
        gw_proto_json.release(NULL, &list->base);

        /* the workflow id's '/' sent as %2F */
        get = (WF(GetRunRequest) *)parse_workflow("GET", "/v1/workflows/etl/runs/orders%2F42", NULL,
                                                  (const char *[]){ "run_id", "r-1", NULL });
        ck_assert_str_eq(get->type, "etl");
        ck_assert_str_eq(get->workflow_id, "orders/42");
        ck_assert_str_eq(get->run_id, "r-1");
        gw_proto_json.release(NULL, &get->base);

        hist = (WF(GetHistoryRequest) *)
                parse_workflow("GET", "/v1/workflows/-/runs/a%2Fb%2Fc/history", NULL,
                               (const char *[]){ "page_size", "100", NULL });
        ck_assert_str_eq(hist->type, "-");
        ck_assert_str_eq(hist->workflow_id, "a/b/c");
        ck_assert_uint_eq(hist->page_size, 100);
        gw_proto_json.release(NULL, &hist->base);

        cancel = (WF(
                CancelRunRequest) *)parse_workflow("POST", "/v1/workflows/etl/runs/o-1/cancel",
                                                   "{\"reason\":\"not needed\",\"runId\":\"r-2\"}",
                                                   NULL);
        ck_assert_str_eq(cancel->workflow_id, "o-1");
        ck_assert_str_eq(cancel->run_id, "r-2");
        ck_assert_str_eq(cancel->reason, "not needed");
        gw_proto_json.release(NULL, &cancel->base);

        /* no body: an empty request but for the path */
        term = (WF(TerminateRunRequest) *)parse_workflow("POST",
                                                         "/v1/workflows/etl/runs/o-1/terminate",
                                                         NULL, NULL);
        ck_assert_str_eq(term->workflow_id, "o-1");
        ck_assert_str_eq(term->reason, "");
        gw_proto_json.release(NULL, &term->base);
}
END_TEST

/* A signal's body is its payload: any JSON value, or none. */
START_TEST(test_workflow_routes_signal_payload)
{
        static const char *const path = "/v1/workflows/etl/runs/orders%2F42/signals/approve";
        WF(SignalRunRequest) * sig;

        sig = (WF(SignalRunRequest) *)parse_workflow("POST", path, "\"yes\"",
                                                     (const char *[]){ "run_id", "r-1", NULL });
        ck_assert_str_eq(sig->type, "etl");
        ck_assert_str_eq(sig->workflow_id, "orders/42");
        ck_assert_str_eq(sig->name, "approve");
        ck_assert_str_eq(sig->run_id, "r-1");
        ck_assert_int_eq(sig->payload->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
        ck_assert_str_eq(sig->payload->string_value, "yes");
        gw_proto_json.release(NULL, &sig->base);

        sig = (WF(SignalRunRequest) *)parse_workflow("POST", path, "42", NULL);
        ck_assert_int_eq(sig->payload->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
        ck_assert(sig->payload->number_value == 42);
        gw_proto_json.release(NULL, &sig->base);

        sig = (WF(SignalRunRequest) *)parse_workflow("POST", path,
                                                     "{\"approved\":true,\"by\":[\"ann\"]}", NULL);
        ck_assert_int_eq(sig->payload->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
        ck_assert_uint_eq(sig->payload->struct_value->n_fields, 2);
        gw_proto_json.release(NULL, &sig->base);

        sig = (WF(SignalRunRequest) *)parse_workflow("POST", path, "[1,2]", NULL);
        ck_assert_int_eq(sig->payload->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
        gw_proto_json.release(NULL, &sig->base);

        sig = (WF(SignalRunRequest) *)parse_workflow("POST", path, "null", NULL);
        ck_assert_int_eq(sig->payload->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
        gw_proto_json.release(NULL, &sig->base);

        sig = (WF(SignalRunRequest) *)parse_workflow("POST", path, NULL, NULL);
        ck_assert_ptr_null(sig->payload);
        gw_proto_json.release(NULL, &sig->base);
}
END_TEST

START_TEST(test_workflow_routes_refuse)
{
        static const char *const sig = "/v1/workflows/etl/runs/o-1/signals/go";
        struct gw_error e;

        /* path fields stay out of the body */
        ck_assert_ptr_null(parse_on_table("POST", "/v1/workflows/etl/runs", "{\"type\":\"other\"}",
                                          NULL, &e, NULL));
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.param, "type");
        ck_assert_ptr_null(parse_on_table("POST", "/v1/workflows/etl/runs/o-1/cancel",
                                          "{\"workflowId\":\"o-2\"}", NULL, &e, NULL));
        ck_assert_str_eq(e.param, "workflow_id");
        /* a definition is an object */
        ck_assert_ptr_null(parse_on_table("POST", "/v1/workflows", "[1]", NULL, &e, NULL));
        ck_assert_int_eq(e.status, 400);
        ck_assert_msg(strstr(e.param, "definition") == e.param, "%s: %s", e.param, e.message);
        /* a body that is not JSON, or too deep, names no field */
        ck_assert_ptr_null(parse_on_table("POST", sig, "{\"a\":", NULL, &e, NULL));
        ck_assert_str_eq(e.param, "");
        ck_assert_msg(strstr(e.message, "not valid JSON"), "%s", e.message);
        ck_assert_ptr_null(parse_on_table("POST", sig, "[[[[[[[[[1]]]]]]]]]", NULL, &e, NULL));
        ck_assert_msg(strstr(e.message, "nested deeper"), "%s", e.message);
        /* the rest of the request from the query only: the payload is the body */
        ck_assert_ptr_null(parse_on_table("POST", sig, "1",
                                          (const char *[]){ "payload", "2", NULL }, &e, NULL));
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.param, "payload");
        /* an unknown status, a time that is not RFC 3339 */
        ck_assert_ptr_null(parse_on_table("GET", "/v1/workflows/-/runs", NULL,
                                          (const char *[]){ "status", "DONE", NULL }, &e, NULL));
        ck_assert_str_eq(e.param, "status");
        ck_assert_ptr_null(parse_on_table("GET", "/v1/workflows/-/runs", NULL,
                                          (const char *[]){ "started_after", "yesterday", NULL },
                                          &e, NULL));
        ck_assert_str_eq(e.param, "started_after");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_transcode");
        TCase *tc = tcase_create("proto_json_parse");

        tcase_add_test(tc, test_proto_json_parse_tenant_from_credentials);
        tcase_add_test(tc, test_proto_json_parse_refuses_tenant_in_body);
        tcase_add_test(tc, test_proto_json_parse_refuses_tenant_in_query);
        tcase_add_test(tc, test_proto_json_parse_query_binds_fields);
        tcase_add_test(tc, test_proto_json_parse_refuses_capture_in_body);
        tcase_add_test(tc, test_proto_json_parse_refuses_bad_bodies);
        suite_add_tcase(s, tc);
        tc = tcase_create("memory_routes");
        tcase_add_test(tc, test_memory_routes_user_id_from_query);
        tcase_add_test(tc, test_memory_routes_list_query);
        tcase_add_test(tc, test_memory_routes_refuse);
        tcase_add_test(tc, test_memory_routes_user_id_from_body);
        suite_add_tcase(s, tc);
        tc = tcase_create("workflow_routes");
        tcase_add_test(tc, test_workflow_routes_definitions);
        tcase_add_test(tc, test_workflow_routes_runs);
        tcase_add_test(tc, test_workflow_routes_signal_payload);
        tcase_add_test(tc, test_workflow_routes_refuse);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

/* Unit tests for the proto3 JSON adapter's request side (transcode.c) over a
 * message of the test's own that has a tenant field: the tenant comes from
 * the credentials and is refused from the body or the query, path captures
 * are bound and may not be repeated in the body, and a body that is not a
 * JSON object, or is nested too deep, is refused naming no field. */
#include <check.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <string.h>

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
        return unit_run(s);
}

/* Unit tests for reading the route table: path templates and captures,
 * finding a request's row, the methods of a path, who may call a class, the
 * plan the configuration is generated from, and that docs/api.md carries the
 * permission table exactly as the code renders it. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        gw_capture_value(&caps, 0, value);
        ck_assert_str_eq(value, "abc");
        ck_assert(gw_path_match("/v1/things/{id}/parts/{part}", "/v1/things/a%20b/parts/7", &caps));
        ck_assert_int_eq(caps.n, 2);
        gw_capture_value(&caps, 0, value);
        ck_assert_str_eq(value, "a b");
        gw_capture_value(&caps, 1, value);
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

START_TEST(test_gw_route_find_methods)
{
        struct gw_captures caps;
        char value[GW_CAPTURE_MAX];
        bool known;
        const struct gw_route *rt;

        rt = gw_route_find(table, "GET", "/v1/things/x", &known, &caps);
        ck_assert_ptr_eq(rt, &table[0]);
        gw_capture_value(&caps, 0, value);
        ck_assert_str_eq(value, "x");
        ck_assert_ptr_eq(gw_route_find(table, "HEAD", "/v1/things/x", &known, NULL), &table[0]);
        ck_assert_ptr_eq(gw_route_find(table, "DELETE", "/v1/things/x", &known, NULL), &table[1]);
        ck_assert_ptr_null(gw_route_find(table, "PUT", "/v1/things/x", &known, NULL));
        ck_assert(known);
        ck_assert_ptr_null(gw_route_find(table, "GET", "/v1/nothing", &known, NULL));
        ck_assert(!known);
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
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_route_find");
        tcase_add_test(tc, test_gw_route_find_methods);
        tcase_add_test(tc, test_gw_route_allow_lists_methods);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_class_allows");
        tcase_add_test(tc, test_gw_class_allows_roles);
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

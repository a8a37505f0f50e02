/* Unit tests for the route table against openapi.json: every route is
 * documented with its operationId and permission class, and the document
 * names no route the gateway does not serve. */
#include <check.h>
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "../unit.h"

static json_t *doc;

static void setup(void)
{
        json_error_t err;

        doc = json_loadb(gw_openapi_json, gw_openapi_json_len, JSON_REJECT_DUPLICATES, &err);
        ck_assert_msg(doc != NULL, "openapi.json: %s (line %d)", err.text, err.line);
}

static void teardown(void)
{
        json_decref(doc);
}

static void lower(const char *in, char *out, size_t size)
{
        size_t i;

        for (i = 0; in[i] && i + 1 < size; i++)
                out[i] = (char)tolower((unsigned char)in[i]);
        out[i] = '\0';
}

START_TEST(test_gw_routes_documented)
{
        json_t *paths = json_object_get(doc, "paths");

        for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                char m[16];
                json_t *op;

                lower(rt->method, m, sizeof(m));
                op = json_object_get(json_object_get(paths, rt->path), m);
                ck_assert_msg(op != NULL, "openapi.json lacks %s %s", rt->method, rt->path);
                ck_assert_str_eq(json_string_value(json_object_get(op, "operationId")),
                                 rt->operation);
                ck_assert_msg(json_string_value(json_object_get(op, "x-cairn-route-class")) &&
                                      strcmp(json_string_value(json_object_get(
                                                     op, "x-cairn-route-class")),
                                             gw_class_str(rt->cls)) == 0,
                              "%s %s: x-cairn-route-class differs from the code's %s", rt->method,
                              rt->path, gw_class_str(rt->cls));
                /* Public routes need no credentials; the others do. */
                json_t *sec = json_object_get(op, "security");
                if (rt->cls == GW_CLASS_PUBLIC)
                        ck_assert(json_is_array(sec) && json_array_size(sec) == 0);
                else
                        ck_assert(sec == NULL);
        }
}
END_TEST

START_TEST(test_gw_routes_no_undocumented_extra)
{
        json_t *paths = json_object_get(doc, "paths"), *item, *op;
        const char *path, *method;

        json_object_foreach(paths, path, item) {
                json_object_foreach(item, method, op) {
                        bool found = false;

                        for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                                char m[16];

                                lower(rt->method, m, sizeof(m));
                                if (strcmp(rt->path, path) == 0 && strcmp(m, method) == 0)
                                        found = true;
                        }
                        ck_assert_msg(found, "openapi.json documents %s %s, which no route serves",
                                      method, path);
                }
        }
}
END_TEST

START_TEST(test_gw_openapi_version)
{
        ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "info"), "version")),
                         CAIRN_VERSION);
}
END_TEST

static Suite *routes_suite(void)
{
        Suite *s = suite_create("gateway_routes");
        TCase *tc = tcase_create("gw_routes");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_gw_routes_documented);
        tcase_add_test(tc, test_gw_routes_no_undocumented_extra);
        tcase_add_test(tc, test_gw_openapi_version);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(routes_suite());
}

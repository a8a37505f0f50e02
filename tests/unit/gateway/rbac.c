/* Unit tests for the permission table: who may call what, and that
 * docs/api.md carries the table exactly as the code renders it. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "../unit.h"

START_TEST(test_gw_allowed_matrix)
{
        for (int r = 0; r < GW_ROLE__COUNT; r++) {
                ck_assert(gw_allowed(GW_CLASS_PUBLIC, (enum gw_role)r));
                ck_assert(gw_allowed(GW_CLASS_MODELS_READ, (enum gw_role)r));
        }
        ck_assert(gw_allowed(GW_CLASS_EMBEDDINGS_CREATE, GW_ROLE_OWNER));
        ck_assert(gw_allowed(GW_CLASS_EMBEDDINGS_CREATE, GW_ROLE_ADMIN));
        ck_assert(gw_allowed(GW_CLASS_EMBEDDINGS_CREATE, GW_ROLE_MEMBER));
        ck_assert(!gw_allowed(GW_CLASS_EMBEDDINGS_CREATE, GW_ROLE_VIEWER));
        ck_assert(!gw_allowed((enum gw_class)99, GW_ROLE_OWNER));
        ck_assert(!gw_allowed(GW_CLASS_PUBLIC, (enum gw_role)99));
}
END_TEST

START_TEST(test_gw_role_parse)
{
        ck_assert_int_eq(gw_role_parse("owner"), GW_ROLE_OWNER);
        ck_assert_int_eq(gw_role_parse("viewer"), GW_ROLE_VIEWER);
        ck_assert_int_eq(gw_role_parse("Owner"), -1);
        ck_assert_int_eq(gw_role_parse(""), -1);
        ck_assert_str_eq(gw_role_str(GW_ROLE_ADMIN), "admin");
}
END_TEST

START_TEST(test_gw_rbac_doc_matches_docs_api_md)
{
        const char *root = getenv("TESTS_ROOT");
        char path[512], *table = NULL, *doc;
        size_t tlen = 0, dlen;
        FILE *fp;

        fp = open_memstream(&table, &tlen);
        gw_rbac_doc(fp);
        fclose(fp);
        snprintf(path, sizeof(path), "%s/docs/api.md", root && root[0] ? root : ".");
        fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "cannot open %s", path);
        doc = malloc(1 << 20);
        dlen = fread(doc, 1, (1 << 20) - 1, fp);
        doc[dlen] = '\0';
        fclose(fp);
        ck_assert_msg(strstr(doc, table) != NULL,
                      "docs/api.md does not carry the permission table; paste this:\n%s", table);
        free(doc);
        free(table);
}
END_TEST

static Suite *rbac_suite(void)
{
        Suite *s = suite_create("gateway_rbac");
        TCase *tc = tcase_create("gw_allowed");

        tcase_add_test(tc, test_gw_allowed_matrix);
        tcase_add_test(tc, test_gw_role_parse);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_rbac_doc");
        tcase_add_test(tc, test_gw_rbac_doc_matches_docs_api_md);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(rbac_suite());
}

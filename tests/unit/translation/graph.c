/* Unit tests for routes between languages: direct pairs, pivots, the
 * preferred pivot, the hop limit. */
#include <check.h>
#include <string.h>

#include "../unit.h"
#include "translation/graph.h"

static struct tr_mode modes[8];
static size_t nmodes;

static void add(const char *name)
{
        struct tr_mode *m = &modes[nmodes++];
        const char *dash = strchr(name, '-');

        memset(m, 0, sizeof(*m));
        strcpy(m->name, name);
        memcpy(m->source, name, (size_t)(dash - name));
        strcpy(m->target, dash + 1);
}

static void setup(void)
{
        nmodes = 0;
        /* sorted by name, as tr_modes_load gives them */
        add("ca-es");
        add("en-ca");
        add("en-es");
        add("es-fr");
        add("fr-es");
        add("ca-fr");
        add("ro-es");
}

START_TEST(test_routes)
{
        struct tr_graph g;
        char err[128];
        const struct tr_route *r;

        ck_assert_int_eq(tr_graph_init(&g, modes, nmodes, 2, "es,en", err, sizeof(err)), 0);
        ck_assert_uint_eq(g.nlangs, 5);
        ck_assert_str_eq(g.langs[0], "ca");
        ck_assert_str_eq(g.langs[4], "ro");
        /* direct */
        r = tr_graph_route(&g, "en", "es");
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(r->nhops, 1);
        ck_assert_str_eq(modes[r->mode[0]].name, "en-es");
        /* en→fr: through es (preferred) rather than ca */
        r = tr_graph_route(&g, "en", "fr");
        ck_assert_uint_eq(r->nhops, 2);
        ck_assert_str_eq(modes[r->mode[0]].name, "en-es");
        ck_assert_str_eq(modes[r->mode[1]].name, "es-fr");
        /* no way back to ro, none into en */
        ck_assert_ptr_null(tr_graph_route(&g, "es", "ro"));
        ck_assert_ptr_null(tr_graph_route(&g, "fr", "en"));
        ck_assert_ptr_null(tr_graph_route(&g, "en", "en"));
        ck_assert_ptr_null(tr_graph_route(&g, "en", "de"));
        ck_assert(tr_graph_is_source(&g, "ro"));
        ck_assert(!tr_graph_is_source(&g, "zz"));
        tr_graph_cleanup(&g);
}
END_TEST

START_TEST(test_preferred_pivot_changes_route)
{
        struct tr_graph g;
        char err[128];
        const struct tr_route *r;

        ck_assert_int_eq(tr_graph_init(&g, modes, nmodes, 2, "ca", err, sizeof(err)), 0);
        r = tr_graph_route(&g, "en", "fr");
        ck_assert_uint_eq(r->nhops, 2);
        ck_assert_str_eq(modes[r->mode[0]].name, "en-ca");
        tr_graph_cleanup(&g);
}
END_TEST

START_TEST(test_hop_limit)
{
        struct tr_graph g;
        char err[128];
        const struct tr_route *r;

        ck_assert_int_eq(tr_graph_init(&g, modes, nmodes, 1, "", err, sizeof(err)), 0);
        ck_assert_ptr_null(tr_graph_route(&g, "en", "fr"));
        tr_graph_cleanup(&g);
        /* ro→ca needs ro→es→? : es has no mode into ca, so none even with 3 */
        ck_assert_int_eq(tr_graph_init(&g, modes, nmodes, 3, "es", err, sizeof(err)), 0);
        ck_assert_ptr_null(tr_graph_route(&g, "ro", "ca"));
        r = tr_graph_route(&g, "ro", "fr");
        ck_assert_uint_eq(r->nhops, 2);
        tr_graph_cleanup(&g);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("graph");
        TCase *tc = tcase_create("graph");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_routes);
        tcase_add_test(tc, test_preferred_pivot_changes_route);
        tcase_add_test(tc, test_hop_limit);
        suite_add_tcase(s, tc);
        return unit_run(s);
}

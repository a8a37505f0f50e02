/* Unit tests for the memory service's in-process index and the helpers
 * beside it: exact ranking against a sort of every score, scopes, removal,
 * the nearest entry of one scope; the content hash's normalisation; vectors
 * to bytea hex and back; ids. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memory/db.h"
#include "memory/handlers.h"
#include "memory/vindex.h"
#include "../unit.h"

#define DIM 19 /* not a multiple of 8: the dot product's tail runs too */

static void random_vec(float *v, unsigned *seed)
{
        for (int i = 0; i < DIM; i++)
                v[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
}

/* An index searched exactly, whatever its size. */
static struct memory_vindex *exact_index(void)
{
        struct memory_vindex_conf conf = { .dim = DIM };

        return memory_vindex_new(&conf);
}

static void id_of(int i, char id[37])
{
        snprintf(id, 37, "018bcfe5-687b-7000-8000-%012d", i);
}

static int by_score_desc(const void *a, const void *b)
{
        const struct memory_hit *x = a, *y = b;

        return x->score < y->score ? 1 : x->score > y->score ? -1 : strcmp(x->id, y->id);
}

START_TEST(test_rank_is_exact_and_scoped)
{
        struct memory_vindex *ix = exact_index();
        struct memory_vuser *u = memory_vindex_user(ix, "t", "u");
        struct memory_hit got[10], all[300];
        float vecs[300][DIM], q[DIM];
        unsigned seed = 5;
        size_t n = 0, k;
        char id[37];

        memory_vuser_wrlock(u);
        for (int i = 0; i < 300; i++) {
                random_vec(vecs[i], &seed);
                id_of(i, id);
                ck_assert_int_eq(memory_vuser_put(u, id, 1, i % 3 ? "a" : "b", "", vecs[i]), 0);
        }
        memory_vuser_unlock(u);
        random_vec(q, &seed);
        ck_assert(memory_normalize(q, DIM));
        /* every entry of agent "a", scored by hand */
        for (int i = 0; i < 300; i++) {
                float v[DIM];

                if (i % 3 == 0)
                        continue;
                memcpy(v, vecs[i], sizeof(v));
                memory_normalize(v, DIM);
                id_of(i, all[n].id);
                all[n].score = 0;
                for (int d = 0; d < DIM; d++)
                        all[n].score += q[d] * v[d];
                n++;
        }
        qsort(all, n, sizeof(all[0]), by_score_desc);
        memory_vuser_rdlock(u);
        k = memory_vuser_rank(u, q, "a", "", got, 10);
        memory_vuser_unlock(u);
        ck_assert_uint_eq(k, 10);
        for (size_t i = 0; i < k; i++) {
                ck_assert_str_eq(got[i].id, all[i].id);
                ck_assert_float_eq_tol(got[i].score, all[i].score, 1e-5);
        }
        /* "" matches every agent; a scope nobody has, none */
        ck_assert_uint_eq(memory_vuser_rank(u, q, "", "", all, 300), 300);
        ck_assert_uint_eq(memory_vuser_rank(u, q, "zz", "", all, 300), 0);
        memory_vindex_free(ix);
}
END_TEST

START_TEST(test_put_replaces_remove_and_nearest)
{
        struct memory_vindex *ix = exact_index();
        struct memory_vuser *u = memory_vindex_user(ix, "t", "u"), *same;
        struct memory_hit hit, got[4];
        float a[DIM] = { 1 }, b[DIM] = { 0, 1 }, q[DIM] = { 0.9f, 0.1f };
        char ida[37], idb[37];
        struct memory_vindex_stats stats;
        float s;

        id_of(1, ida);
        id_of(2, idb);
        memory_normalize(q, DIM);
        memory_vuser_wrlock(u);
        memory_vuser_put(u, ida, 1, "", "", a);
        memory_vuser_put(u, idb, 1, "", "r1", b);
        memory_vuser_put(u, ida, 2, "", "", a); /* the same id: replaced, not added */
        memory_vuser_set_loaded(u, true);
        memory_vuser_unlock(u);
        same = memory_vindex_user(ix, "t", "u");
        ck_assert_ptr_eq(same, u);
        ck_assert_ptr_ne(memory_vindex_user(ix, "t", "v"), u);
        memory_vindex_stats(ix, &stats);
        ck_assert_uint_eq(stats.users, 1);
        ck_assert_uint_eq(stats.vectors, 2);
        ck_assert_uint_eq(stats.graphs, 0);
        /* nearest is of exactly the scope: run "" is not run "r1" */
        ck_assert(memory_vuser_nearest(u, q, "", "", &hit));
        ck_assert_str_eq(hit.id, ida);
        ck_assert_uint_eq(hit.version, 2);
        ck_assert(memory_vuser_nearest(u, q, "", "r1", &hit));
        ck_assert_str_eq(hit.id, idb);
        ck_assert(!memory_vuser_nearest(u, q, "x", "", &hit));
        ck_assert(memory_vuser_score(u, idb, q, &s));
        ck_assert_float_eq_tol(s, 0.1f / sqrtf(0.82f), 1e-5);
        memory_vuser_wrlock(u);
        memory_vuser_remove(u, ida);
        memory_vuser_remove(u, ida); /* twice: nothing */
        memory_vuser_unlock(u);
        ck_assert_uint_eq(memory_vuser_rank(u, q, "", "", got, 4), 1);
        ck_assert_str_eq(got[0].id, idb);
        ck_assert(!memory_vuser_score(u, ida, q, &s));
        memory_vindex_forget(ix, "t", "u");
        ck_assert(!memory_vuser_loaded(u));
        ck_assert_uint_eq(memory_vuser_rank(u, q, "", "", got, 4), 0);
        memory_vindex_free(ix);
}
END_TEST

START_TEST(test_zero_and_non_finite_vectors)
{
        float zero[DIM] = { 0 }, inf[DIM] = { INFINITY };

        ck_assert(!memory_normalize(zero, DIM));
        ck_assert(!memory_normalize(inf, DIM));
}
END_TEST

START_TEST(test_content_hash_normalises)
{
        char a[65], b[65], c[65], d[65];

        ck_assert_int_eq(memory_content_hash("Caf\xc3\xa9 au lait", a), 0);
        /* e + combining acute, other case, other spacing */
        ck_assert_int_eq(memory_content_hash("  CAFE\xcc\x81   au\tLAIT ", b), 0);
        ck_assert_str_eq(a, b);
        ck_assert_int_eq(memory_content_hash("Cafe au lait", c), 0);
        ck_assert_str_ne(a, c);
        ck_assert_int_eq(memory_content_hash("Caf\xc3\xa9"
                                             "au lait",
                                             d),
                         0);
        ck_assert_str_ne(a, d);
        ck_assert_uint_eq(strlen(a), 64);
}
END_TEST

START_TEST(test_same_codes)
{
        ck_assert(!memory_same_codes("Invoice INV-20931 was paid", "Invoice INV-20913 was paid"));
        ck_assert(memory_same_codes("Bob lives in Lisbon", "Bob lives in Porto now"));
        ck_assert(memory_same_codes("meeting at 3pm, room B12", "Meeting in room b12 at 3PM!"));
        ck_assert(!memory_same_codes("room 12", "room 12 and 13"));
        ck_assert(!memory_same_codes("flight on 2026-03-03", "flight on 2026-03-04"));
        ck_assert(memory_same_codes("", "no digits at all"));
}
END_TEST

START_TEST(test_vectors_as_hex)
{
        float v[3] = { 1.0f, -2.5f, 1e-30f }, back[3];
        char hex[25];

        memory_vec_hex(v, 3, hex);
        ck_assert_str_eq(hex, "0000803f000020c06042a20d");
        ck_assert(strlen(hex) == 24);
        ck_assert(memory_vec_unhex(hex, back, 3));
        ck_assert_mem_eq(back, v, sizeof(v));
        /* PostgreSQL's bytea text form */
        ck_assert(memory_vec_unhex("\\x0000803f000020c06042a20d", back, 3));
        ck_assert_mem_eq(back, v, sizeof(v));
        ck_assert(!memory_vec_unhex("0000803f", back, 3)); /* too short */
        ck_assert(!memory_vec_unhex("0000803f000020c06042a20g", back, 3));
        ck_assert(!memory_vec_unhex("0000803f000020c06042a20", back, 3));
}
END_TEST

START_TEST(test_ids_and_times)
{
        Google__Protobuf__Timestamp *ts;
        struct cairn_arena a;

        ck_assert(memory_id_valid("018bcfe5-687b-7000-8000-000000000000"));
        ck_assert(memory_id_valid("018BCFE5-687B-7000-8000-00000000000A"));
        ck_assert(!memory_id_valid("018bcfe5-687b-7000-8000-00000000000"));
        ck_assert(!memory_id_valid("018bcfe5_687b-7000-8000-000000000000"));
        ck_assert(!memory_id_valid("018bcfe5-687b-7000-8000-00000000000g"));
        ck_assert(!memory_id_valid(NULL));
        cairn_arena_init(&a, 4096);
        ts = memory_ts(&a, -1);
        ck_assert_int_eq(ts->seconds, -1);
        ck_assert_int_eq(ts->nanos, 999000000);
        ck_assert_int_eq(memory_ts_ms(ts), -1);
        ts = memory_ts(&a, 1700000000123LL);
        ck_assert_int_eq(memory_ts_ms(ts), 1700000000123LL);
        cairn_arena_cleanup(&a);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("memory_vindex");
        TCase *tc = tcase_create("vindex");

        tcase_add_test(tc, test_rank_is_exact_and_scoped);
        tcase_add_test(tc, test_put_replaces_remove_and_nearest);
        tcase_add_test(tc, test_zero_and_non_finite_vectors);
        tcase_add_test(tc, test_content_hash_normalises);
        tcase_add_test(tc, test_same_codes);
        tcase_add_test(tc, test_vectors_as_hex);
        tcase_add_test(tc, test_ids_and_times);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

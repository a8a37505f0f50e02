/* Unit tests for the memory index's large users: the HNSW graph built in
 * the background (recall against exact search, removals as tombstones that
 * puts reuse, writes made while it builds), snapshots (a round trip, a
 * corrupted file ignored, erasure) and the drop of revoked partitions. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memory/vindex.h"
#include "../unit.h"

#define DIM     48
#define CENTERS 100
#define N       12000
#define ANN_MIN 1000
#define QUERIES 200
#define K       10

/* Clustered vectors, as embeddings are: a center and some noise. */
static float centers[CENTERS][DIM];

static float frand(unsigned *seed)
{
        return (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
}

static void make_centers(void)
{
        unsigned seed = 7;

        for (int c = 0; c < CENTERS; c++)
                for (int d = 0; d < DIM; d++)
                        centers[c][d] = frand(&seed);
}

static void sample(float *v, unsigned *seed)
{
        int c = rand_r(seed) % CENTERS;

        for (int d = 0; d < DIM; d++)
                v[d] = centers[c][d] + 1.5f * frand(seed);
}

static void id_of(int i, char id[37])
{
        snprintf(id, 37, "018bcfe5-687b-7000-8000-%012d", i);
}

static struct memory_vindex *index_of(size_t ann_min, const char *dir)
{
        struct memory_vindex_conf conf = {
                .dim = DIM, .ann_min = ann_min, .hnsw = { 16, 100, 64 }, .snapshot_dir = dir
        };
        struct memory_vindex *ix = memory_vindex_new(&conf);

        ck_assert_ptr_nonnull(ix);
        return ix;
}

/* Puts vector i (of seed i) into both users. */
static void put_both(struct memory_vuser *a, struct memory_vuser *b, int i, uint32_t version)
{
        unsigned seed = (unsigned)i * 7919u + version;
        float v[DIM];
        char id[37];

        sample(v, &seed);
        id_of(i, id);
        ck_assert_int_eq(memory_vuser_put(a, id, version, "", "", v), 0);
        if (b)
                ck_assert_int_eq(memory_vuser_put(b, id, version, "", "", v), 0);
}

/* Recall@K of @p g (with a graph) against @p e (exact), over QUERIES. */
static double recall(struct memory_vuser *g, struct memory_vuser *e, unsigned seed)
{
        struct memory_hit got[K], want[K];
        size_t found = 0, total = 0;

        for (int q = 0; q < QUERIES; q++) {
                float v[DIM];
                size_t ng, ne;

                sample(v, &seed);
                memory_normalize(v, DIM);
                memory_vuser_rdlock(g);
                ng = memory_vuser_rank(g, v, "", "", got, K);
                memory_vuser_unlock(g);
                ne = memory_vuser_rank(e, v, "", "", want, K);
                total += ne;
                for (size_t i = 0; i < ne; i++)
                        for (size_t j = 0; j < ng; j++)
                                found += strcmp(want[i].id, got[j].id) == 0;
        }
        return (double)found / (double)total;
}

/* No search (50 queries from @p seed) returns a removed entry: those whose
 * number is a multiple of @p every; each returns K. */
static void assert_never_returned(struct memory_vuser *u, int every, unsigned seed)
{
        struct memory_hit got[K];

        for (int q = 0; q < 50; q++) {
                unsigned s = seed + (unsigned)q;
                float v[DIM];
                size_t n;

                sample(v, &s);
                memory_normalize(v, DIM);
                n = memory_vuser_rank(u, v, "", "", got, K);
                ck_assert_uint_eq(n, K);
                for (size_t i = 0; i < n; i++)
                        ck_assert_int_ne(atoi(got[i].id + 24) % every, 0);
        }
}

START_TEST(test_graph_recall_and_tombstones)
{
        struct memory_vindex *gix = index_of(ANN_MIN, NULL), *eix = index_of(0, NULL);
        struct memory_vuser *g = memory_vindex_user(gix, "t", "big");
        struct memory_vuser *e = memory_vindex_user(eix, "t", "big");
        struct memory_vindex_stats st;
        double r;

        make_centers();
        /* in batches: the graph is built while puts go on */
        for (int i = 0; i < N; i += 500) {
                memory_vuser_wrlock(g);
                for (int j = i; j < i + 500; j++)
                        put_both(g, e, j, 1);
                memory_vuser_unlock(g);
        }
        memory_vindex_settle(gix);
        memory_vindex_stats(gix, &st);
        ck_assert_uint_eq(st.graphs, 1);
        ck_assert_uint_eq(st.vectors, N);
        r = recall(g, e, 11);
        printf("recall@%d of the graph, %d vectors: %.3f\n", K, N, r);
        ck_assert(r >= 0.95);

        /* a third removed: tombstones, never returned */
        memory_vuser_wrlock(g);
        for (int i = 0; i < N; i += 3) {
                char id[37];

                id_of(i, id);
                memory_vuser_remove(g, id);
                memory_vuser_remove(e, id);
        }
        memory_vuser_unlock(g);
        memory_vindex_stats(gix, &st);
        ck_assert_uint_eq(st.tombstones, N / 3);
        assert_never_returned(g, 3, 100);
        r = recall(g, e, 12);
        printf("recall@%d after removing a third: %.3f\n", K, r);
        ck_assert(r >= 0.95);

        /* new memories take the tombstones' places; updates move vectors */
        memory_vuser_wrlock(g);
        for (int i = N; i < N + 1000; i++)
                put_both(g, e, i, 1);
        for (int i = 1; i < N; i += 60)
                put_both(g, e, i, 2);
        memory_vuser_unlock(g);
        memory_vindex_stats(gix, &st);
        ck_assert_uint_eq(st.tombstones, N / 3 - 1000);
        ck_assert_uint_eq(st.vectors, N - N / 3 + 1000);
        ck_assert(memory_vuser_graph_check(g));
        r = recall(g, e, 13);
        printf("recall@%d after reusing them: %.3f\n", K, r);
        ck_assert(r >= 0.95);
        memory_vindex_free(gix);
        memory_vindex_free(eix);
}
END_TEST

/* Live entries are found by their own vector through the graph: nearly
 * all as their own nearest (the search is approximate). */
static void assert_findable(struct memory_vuser *u, int from, int to, int step, uint32_t version)
{
        int n = 0, found = 0;

        for (int i = from; i < to; i += step, n++) {
                unsigned seed = (unsigned)i * 7919u + version;
                struct memory_hit hit;
                float v[DIM];
                char id[37];

                sample(v, &seed);
                memory_normalize(v, DIM);
                id_of(i, id);
                ck_assert_uint_eq(memory_vuser_rank(u, v, "", "", &hit, 1), 1);
                found += strcmp(hit.id, id) == 0;
        }
        ck_assert_msg(found >= n * 95 / 100, "%d of %d found", found, n);
}

START_TEST(test_writes_while_building)
{
        struct memory_vindex *ix = index_of(ANN_MIN, NULL);
        struct memory_vuser *u = memory_vindex_user(ix, "t", "u");
        struct memory_vindex_stats st;

        make_centers();
        /* the build starts at ANN_MIN; removals and updates follow at once */
        for (int i = 0; i < 6000; i += 100) {
                memory_vuser_wrlock(u);
                for (int j = i; j < i + 100; j++)
                        put_both(u, NULL, j, 1);
                for (int j = i; j < i + 100; j += 10) {
                        char id[37];

                        id_of(j, id);
                        memory_vuser_remove(u, id);
                }
                for (int j = i + 1; j < i + 100; j += 10)
                        put_both(u, NULL, j, 2);
                memory_vuser_unlock(u);
        }
        memory_vindex_settle(ix);
        memory_vindex_stats(ix, &st);
        ck_assert_uint_eq(st.graphs, 1);
        ck_assert_uint_eq(st.vectors, 5400);
        /* the graph holds what the entries hold, whatever the interleaving */
        ck_assert(memory_vuser_graph_check(u));
        assert_findable(u, 1, 6000, 10, 2);
        assert_findable(u, 2, 6000, 10, 1);
        assert_never_returned(u, 10, 500);
        memory_vindex_free(ix);
}
END_TEST

static size_t files_in(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

static char *snap_file(const char *dir)
{
        static char path[4096];
        DIR *d = opendir(dir);
        struct dirent *e;

        path[0] = '\0';
        while ((e = readdir(d)))
                if (strstr(e->d_name, ".snap"))
                        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        closedir(d);
        return path;
}

struct versions {
        struct memory_vuser *other;
        size_t same;
};

static void same_version(const char *id, uint32_t version, void *arg)
{
        struct versions *v = arg;
        uint32_t theirs;

        v->same += memory_vuser_version(v->other, id, &theirs) && theirs == version;
}

START_TEST(test_snapshot_round_trip)
{
        char dir[] = "/tmp/cairn-vsnap-XXXXXX";
        struct memory_vindex *a, *b;
        struct memory_vuser *ua, *ub;
        struct memory_vindex_stats st;
        struct versions v = { 0 };
        FILE *f;
        int c;

        make_centers();
        ck_assert_ptr_nonnull(mkdtemp(dir));
        a = index_of(ANN_MIN, dir);
        ua = memory_vindex_user(a, "t", "u");
        memory_vuser_wrlock(ua);
        for (int i = 0; i < 3000; i++)
                put_both(ua, NULL, i, 1);
        memory_vuser_unlock(ua);
        memory_vindex_settle(a); /* the build writes the first snapshot */
        ck_assert_uint_eq(files_in(dir), 2);
        memory_vuser_wrlock(ua);
        for (int i = 0; i < 100; i++) {
                char id[37];

                id_of(i * 7, id);
                memory_vuser_remove(ua, id);
        }
        for (int i = 3000; i < 3050; i++)
                put_both(ua, NULL, i, 1);
        memory_vuser_set_loaded(ua, true);
        memory_vuser_unlock(ua);
        ck_assert_int_eq(memory_vindex_snapshot_all(a), 1);
        ck_assert_int_eq(memory_vindex_snapshot_all(a), 0); /* nothing changed since */
        ck_assert_uint_eq(files_in(dir), 2);                /* the old graph file is gone */

        b = index_of(ANN_MIN, dir);
        ub = memory_vindex_user(b, "t", "u");
        memory_vuser_wrlock(ub);
        ck_assert(memory_vuser_snapshot_load(ub));
        memory_vuser_unlock(ub);
        memory_vindex_stats(b, &st);
        ck_assert_uint_eq(st.graphs, 1);
        ck_assert_uint_eq(st.tombstones, 50);
        ck_assert_uint_eq(memory_vuser_count(ub), memory_vuser_count(ua));
        v.other = ua;
        memory_vuser_each(ub, same_version, &v);
        ck_assert_uint_eq(v.same, memory_vuser_count(ua));
        for (int q = 0; q < 50; q++) {
                unsigned seed = 900u + (unsigned)q;
                struct memory_hit x[K], y[K];
                float qv[DIM];
                size_t n;

                sample(qv, &seed);
                memory_normalize(qv, DIM);
                n = memory_vuser_rank(ua, qv, "", "", x, K);
                ck_assert_uint_eq(memory_vuser_rank(ub, qv, "", "", y, K), n);
                for (size_t i = 0; i < n; i++)
                        ck_assert_str_eq(x[i].id, y[i].id);
        }
        memory_vindex_free(b);

        /* one byte changed: ignored whole */
        f = fopen(snap_file(dir), "r+b");
        ck_assert_ptr_nonnull(f);
        fseek(f, 5000, SEEK_SET);
        c = fgetc(f);
        fseek(f, 5000, SEEK_SET);
        fputc(c ^ 0x40, f);
        fclose(f);
        b = index_of(ANN_MIN, dir);
        ub = memory_vindex_user(b, "t", "u");
        memory_vuser_wrlock(ub);
        ck_assert(!memory_vuser_snapshot_load(ub));
        ck_assert_uint_eq(memory_vuser_count(ub), 0);
        memory_vuser_unlock(ub);
        memory_vindex_free(b);

        /* erasure takes both files */
        memory_vindex_snapshot_delete(a, "t", "u");
        ck_assert_uint_eq(files_in(dir), 0);
        memory_vindex_free(a);
        rmdir(dir);
}
END_TEST

START_TEST(test_drop_partitions)
{
        struct memory_vindex *ix = index_of(0, NULL);
        struct memory_vuser *u1 = memory_vindex_user(ix, "t", "u1");
        struct memory_vuser *u2 = memory_vindex_user(ix, "t", "u2");
        const int32_t gone[] = { 3 };

        make_centers();
        memory_vuser_wrlock(u1);
        put_both(u1, NULL, 1, 1);
        memory_vuser_set_loaded(u1, true);
        memory_vuser_set_partition(u1, 0);
        memory_vuser_unlock(u1);
        memory_vuser_wrlock(u2);
        put_both(u2, NULL, 2, 1);
        memory_vuser_set_loaded(u2, true);
        memory_vuser_set_partition(u2, 3);
        memory_vuser_unlock(u2);
        memory_vindex_drop_partitions(ix, gone, 1);
        ck_assert(memory_vuser_loaded(u1));
        ck_assert_uint_eq(memory_vuser_count(u1), 1);
        ck_assert(!memory_vuser_loaded(u2));
        ck_assert_uint_eq(memory_vuser_count(u2), 0);
        memory_vindex_free(ix);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("memory_graph");
        TCase *tc = tcase_create("graph");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_graph_recall_and_tombstones);
        tcase_add_test(tc, test_writes_while_building);
        tcase_add_test(tc, test_snapshot_round_trip);
        tcase_add_test(tc, test_drop_partitions);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}

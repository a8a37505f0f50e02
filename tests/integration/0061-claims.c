/* The claim check against a real PostgreSQL: bytes stored and read back
 * whole (one byte, 30 MB), a claim never stored or expired is NOT_FOUND, a
 * row whose bytes changed or a claim whose size or hash differs is INVALID,
 * a malformed id is INVALID without reaching SQL, the sweeper deletes
 * expired rows only and at most as many as asked, the counters count, and
 * processes opening the store at once apply its migration exactly once. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/claims.h"
#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "cairn/random.h"
#include "harness.h"

struct db {
        char url[512];
        struct cairn_pg_conf pconf;
        struct cairn_pg *pg;
        struct cairn_metrics *metrics;
        struct cairn_claims *claims;
};

static void db_open(struct db *db, long long ttl_ms)
{
        char errstr[512];

        harness_pg_database(db->url, sizeof(db->url));
        db->pconf = (struct cairn_pg_conf){ .url = db->url,
                                            .pool_size = 2,
                                            .connect_timeout_ms = 10000,
                                            .statement_timeout_ms = 30000,
                                            .retry_interval_ms = 100 };
        db->pg = cairn_pg_new(&db->pconf, NULL, errstr, sizeof(errstr));
        ck_assert_msg(db->pg != NULL, "%s", errstr);
        db->metrics = cairn_metrics_new();
        db->claims = cairn_claims_new(db->pg, ttl_ms, db->metrics, errstr, sizeof(errstr));
        ck_assert_msg(db->claims != NULL, "%s", errstr);
}

static void db_close(struct db *db)
{
        cairn_claims_free(db->claims);
        cairn_pg_free(db->pg);
        cairn_metrics_free(db->metrics);
}

static const char *scalar(const struct db *db, const char *sql)
{
        static char out[512];

        ck_assert_msg(harness_pg_scalar(db->url, sql, out, sizeof(out)) == 0, "%s: %s", sql, out);
        return out;
}

static int64_t deadline(void)
{
        return cairn_mono_us() + 60 * 1000000LL;
}

static void put_ok(struct db *db, const void *data, size_t len, struct cairn_claim *claim)
{
        char errstr[512];
        cairn_err_t err;

        err = cairn_claims_put(db->claims, deadline(), data, len, claim, errstr, sizeof(errstr));
        ck_assert_msg(err == CAIRN_OK, "%s: %s", cairn_err_str(err), errstr);
}

static cairn_err_t get(struct db *db, const struct cairn_claim *claim, struct cairn_buf *out,
                       char *errstr, size_t size)
{
        return cairn_claims_get(db->claims, deadline(), claim, out, errstr, size);
}

/* The value of @p name in the metrics' text, or -1. */
static double metric(struct db *db, const char *name)
{
        char *text = cairn_metrics_render(db->metrics, NULL), *p, key[128];
        double v = -1;

        snprintf(key, sizeof(key), "\n%s ", name);
        p = strstr(text, key);
        if (p)
                v = strtod(p + strlen(key), NULL);
        free(text);
        return v;
}

START_TEST(test_cairn_claims_put_get_one_byte)
{
        struct cairn_buf out = { 0 };
        struct cairn_claim claim;
        char errstr[512];
        struct db db;

        db_open(&db, 60000);
        put_ok(&db, "x", 1, &claim);
        ck_assert_uint_eq(claim.size, 1);
        ck_assert_uint_eq(strlen(claim.id), 36);
        ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_OK);
        ck_assert_uint_eq(out.len, 1);
        ck_assert_int_eq(out.p[0], 'x');
        ck_assert_str_eq(scalar(&db, "SELECT encode(sha256('x'::bytea), 'hex') = "
                                     "encode(sha256, 'hex') FROM cairn_claims"),
                         "t");
        ck_assert_double_eq(metric(&db, "cairn_claims_stored_total"), 1);
        ck_assert_double_eq(metric(&db, "cairn_claims_fetched_bytes_total"), 1);
        cairn_buf_cleanup(&out);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_claims_put_get_30mb)
{
        const size_t len = 30u << 20;
        struct cairn_buf out = { 0 };
        struct cairn_claim claim;
        uint8_t *data = malloc(len);
        char errstr[512];
        int64_t t0, t1, t2;
        struct db db;

        ck_assert_ptr_nonnull(data);
        cairn_random(data, len);
        db_open(&db, 60000);
        t0 = cairn_mono_us();
        put_ok(&db, data, len, &claim);
        t1 = cairn_mono_us();
        ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_OK);
        t2 = cairn_mono_us();
        ck_assert_uint_eq(out.len, len);
        ck_assert(memcmp(out.p, data, len) == 0);
        ck_assert_double_eq(metric(&db, "cairn_claims_stored_bytes_total"), (double)len);
        printf("claims: 30 MiB put %.0f ms, get %.0f ms\n", (t1 - t0) / 1e3, (t2 - t1) / 1e3);
        free(data);
        cairn_buf_cleanup(&out);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_claims_get_missing_is_not_found)
{
        struct cairn_buf out = { 0 };
        struct cairn_claim claim = { .id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", .size = 1 };
        char errstr[512];
        struct db db;

        db_open(&db, 60000);
        ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_ERR_NOT_FOUND);
        ck_assert_msg(strstr(errstr, claim.id) != NULL, "%s", errstr);
        ck_assert_uint_eq(out.len, 0);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_claims_get_tampered_is_invalid)
{
        struct cairn_buf out = { 0 };
        struct cairn_claim claim, other;
        char errstr[512], sql[256];
        struct db db;

        db_open(&db, 60000);
        put_ok(&db, "hello", 5, &claim);
        /* the row's bytes changed, the size kept */
        snprintf(sql, sizeof(sql),
                 "UPDATE cairn_claims SET data = 'jello'::bytea WHERE id = '%s' RETURNING 1",
                 claim.id);
        ck_assert_str_eq(scalar(&db, sql), "1");
        ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(errstr, "SHA-256") != NULL, "%s", errstr);
        /* a claim that says another size, or another hash, for good bytes */
        put_ok(&db, "hello", 5, &other);
        other.size = 4;
        ck_assert_int_eq(get(&db, &other, &out, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        other.size = 5;
        other.sha256[0] ^= 1;
        ck_assert_int_eq(get(&db, &other, &out, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        other.sha256[0] ^= 1;
        ck_assert_int_eq(get(&db, &other, &out, errstr, sizeof(errstr)), CAIRN_OK);
        ck_assert_uint_eq(out.len, 5);
        ck_assert_double_eq(metric(&db, "cairn_claims_fetched_total"), 1);
        cairn_buf_cleanup(&out);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_claims_get_malformed_id_is_invalid)
{
        static const char *const ids[] = { "",
                                           "not-a-uuid",
                                           "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", /* 35 */
                                           "0190a1b2xc3d4-7e5f-8a9b-0c1d2e3f4a5b",
                                           "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g",
                                           "'; DROP TABLE cairn_claims; --" };
        struct cairn_buf out = { 0 };
        char errstr[512];
        struct db db;

        db_open(&db, 60000);
        for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
                struct cairn_claim claim = { .size = 1 };

                snprintf(claim.id, sizeof(claim.id), "%s", ids[i]);
                ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
                ck_assert_msg(strstr(errstr, "not a claim id") != NULL, "%s", errstr);
        }
        /* no terminating NUL in the whole field */
        {
                struct cairn_claim claim;

                memset(&claim, 'a', sizeof(claim));
                ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        }
        ck_assert_str_eq(scalar(&db, "SELECT count(*) FROM cairn_claims"), "0");
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_claims_sweep_deletes_expired)
{
        struct cairn_buf out = { 0 };
        struct cairn_claim old[3], fresh;
        char errstr[512], sql[256];
        struct db db;

        db_open(&db, 60000);
        for (int i = 0; i < 3; i++)
                put_ok(&db, "old", 3, &old[i]);
        put_ok(&db, "fresh", 5, &fresh);
        ck_assert_int_eq(cairn_claims_sweep(db.claims, 100, errstr, sizeof(errstr)), 0);
        ck_assert_str_eq(scalar(&db, "UPDATE cairn_claims SET expires_at = now() - interval '1 s' "
                                     "WHERE data = 'old'::bytea"),
                         "");
        /* expired, not swept yet: gone all the same */
        ck_assert_int_eq(get(&db, &old[0], &out, errstr, sizeof(errstr)), CAIRN_ERR_NOT_FOUND);
        ck_assert_int_eq(cairn_claims_sweep(db.claims, 2, errstr, sizeof(errstr)), 2);
        ck_assert_int_eq(cairn_claims_sweep(db.claims, 2, errstr, sizeof(errstr)), 1);
        ck_assert_int_eq(cairn_claims_sweep(db.claims, 2, errstr, sizeof(errstr)), 0);
        ck_assert_int_eq(cairn_claims_sweep(db.claims, 0, errstr, sizeof(errstr)), 0);
        ck_assert_str_eq(scalar(&db, "SELECT count(*) FROM cairn_claims"), "1");
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM cairn_claims WHERE id = '%s'", fresh.id);
        ck_assert_str_eq(scalar(&db, sql), "1");
        ck_assert_int_eq(get(&db, &fresh, &out, errstr, sizeof(errstr)), CAIRN_OK);
        ck_assert_double_eq(metric(&db, "cairn_claims_swept_total"), 3);
        cairn_buf_cleanup(&out);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_claims_ttl_expires)
{
        struct cairn_buf out = { 0 };
        struct cairn_claim claim;
        char errstr[512];
        struct db db;

        db_open(&db, 200);
        put_ok(&db, "brief", 5, &claim);
        ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_OK);
        usleep(400 * 1000);
        ck_assert_int_eq(get(&db, &claim, &out, errstr, sizeof(errstr)), CAIRN_ERR_NOT_FOUND);
        ck_assert_int_eq(cairn_claims_sweep(db.claims, 10, errstr, sizeof(errstr)), 1);
        cairn_buf_cleanup(&out);
        db_close(&db);
}
END_TEST

START_TEST(test_cairn_claims_new_refuses_bad_ttl)
{
        struct cairn_pg_conf pconf = { .url = "postgresql://127.0.0.1:1/none",
                                       .pool_size = 1,
                                       .connect_timeout_ms = 1000,
                                       .statement_timeout_ms = 1000,
                                       .retry_interval_ms = 100 };
        struct cairn_pg *pg;
        char errstr[512];

        pg = cairn_pg_new(&pconf, NULL, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(pg);
        ck_assert_ptr_null(cairn_claims_new(pg, 0, NULL, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "TTL") != NULL, "%s", errstr);
        /* no server: an error naming the store, not a crash */
        ck_assert_ptr_null(cairn_claims_new(pg, 1000, NULL, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "claim store") != NULL, "%s", errstr);
        cairn_pg_free(pg);
}
END_TEST

START_TEST(test_cairn_claims_new_concurrent_processes_migrate_once)
{
        enum { N = 4 };
        pid_t pids[N];
        int go[2];
        char url[512], out[64];

        harness_pg_database(url, sizeof(url));
        ck_assert_int_eq(pipe(go), 0);
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                ck_assert_int_ge(pids[i], 0);
                if (pids[i] == 0) {
                        struct cairn_pg_conf pconf = { .url = url,
                                                       .pool_size = 1,
                                                       .connect_timeout_ms = 10000,
                                                       .statement_timeout_ms = 10000,
                                                       .retry_interval_ms = 100 };
                        struct cairn_claims *claims;
                        struct cairn_claim claim;
                        char errstr[512], c;
                        struct cairn_pg *pg;
                        cairn_err_t err;

                        close(go[1]);
                        if (read(go[0], &c, 1) < 0)
                                _exit(100);
                        pg = cairn_pg_new(&pconf, NULL, errstr, sizeof(errstr));
                        if (!pg)
                                _exit(101);
                        claims = cairn_claims_new(pg, 60000, NULL, errstr, sizeof(errstr));
                        if (!claims) {
                                fprintf(stderr, "child %d: %s\n", i, errstr);
                                _exit(102);
                        }
                        err = cairn_claims_put(claims, 0, "z", 1, &claim, errstr, sizeof(errstr));
                        if (err)
                                fprintf(stderr, "child %d: %s\n", i, errstr);
                        cairn_claims_free(claims);
                        cairn_pg_free(pg);
                        /* not exit(): the parent's atexit handlers are not ours */
                        _exit(err);
                }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < N; i++) {
                int status;

                ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "process %d ended with status %#x", i, status);
        }
        ck_assert_int_eq(harness_pg_scalar(url,
                                           "SELECT count(*) FROM cairn_schema_migrations "
                                           "WHERE service = 'claims'",
                                           out, sizeof(out)),
                         0);
        ck_assert_str_eq(out, "1");
        ck_assert_int_eq(harness_pg_scalar(url, "SELECT count(*) FROM cairn_claims", out,
                                           sizeof(out)),
                         0);
        ck_assert_str_eq(out, "4");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("claims");
        TCase *tc = tcase_create("cairn_claims");

        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_cairn_claims_put_get_one_byte);
        tcase_add_test(tc, test_cairn_claims_put_get_30mb);
        tcase_add_test(tc, test_cairn_claims_get_missing_is_not_found);
        tcase_add_test(tc, test_cairn_claims_get_tampered_is_invalid);
        tcase_add_test(tc, test_cairn_claims_get_malformed_id_is_invalid);
        tcase_add_test(tc, test_cairn_claims_sweep_deletes_expired);
        tcase_add_test(tc, test_cairn_claims_ttl_expires);
        tcase_add_test(tc, test_cairn_claims_new_refuses_bad_ttl);
        tcase_add_test(tc, test_cairn_claims_new_concurrent_processes_migrate_once);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

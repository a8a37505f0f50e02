/* Key rotation of cairn-secrets, on a real PostgreSQL:
 *   - a rotation makes a new KEK version current at once; every data key is
 *     rewrapped to it in the background while reads and writes go on, and
 *     not one read fails;
 *   - once the rewrap is done, min_decryption_version is the new version:
 *     the old KEK is destroyed, a data key wrapped with it no longer opens,
 *     and a value sealed to the old service key is refused;
 *   - a replica killed (SIGKILL) while a rewrap is unfinished: after a
 *     restart the rewrap finishes. */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secrets_fixture.h"

#define PATHS 60

static struct harness_broker broker;
static struct sfx f;
static const char *const env[] = { "CAIRN_SECRETS_REWRAP_BATCH=7",
                                   "CAIRN_SECRETS_KEYRING_REFRESH_MS=200", NULL };

static void setup(void)
{
        harness_broker_start(&broker, 1);
        sfx_start(&f, &broker, env);
}

static void teardown(void)
{
        sfx_stop(&f);
        harness_broker_stop(&broker);
}

static Cairn__Secrets__V1__KeyStatusReply *key_call(bool rotate)
{
        Cairn__Secrets__V1__RotateKeyRequest rot = CAIRN__SECRETS__V1__ROTATE_KEY_REQUEST__INIT;
        Cairn__Secrets__V1__KeyStatusRequest status = CAIRN__SECRETS__V1__KEY_STATUS_REQUEST__INIT;
        Cairn__Secrets__V1__KeyStatusReply *out;
        struct cairn_status st;

        ck_assert_msg(sfx_call(&f, "t1", "alice", "owner", rotate ? &rot.base : &status.base,
                               &cairn__secrets__v1__key_status_reply__descriptor, NULL,
                               (ProtobufCMessage **)&out, &st) == CAIRN_OK,
                      "%s", st.message);
        return out;
}

/* Waits until the rewrap to @p version finished; its status. */
static Cairn__Secrets__V1__KeyStatusReply *rewrap_wait(uint32_t version)
{
        for (int i = 0; i < 600; i++) {
                Cairn__Secrets__V1__KeyStatusReply *ks = key_call(false);

                if (ks->rewrap && ks->rewrap->target_version == version && ks->rewrap->finished)
                        return ks;
                protobuf_c_message_free_unpacked(&ks->base, NULL);
                usleep(100000);
        }
        ck_abort_msg("the rewrap to KEK version %u did not finish in 60 s", version);
        return NULL;
}

static atomic_bool stop;
static atomic_int reads, read_failures, writes, write_failures;

static void *reader(void *arg)
{
        char json[128], path[32], want[64];
        struct cairn_status st;

        (void)arg;
        for (int i = 0; !atomic_load(&stop); i++) {
                snprintf(path, sizeof(path), "rot/p%d", i % PATHS);
                snprintf(want, sizeof(want), "{\"n\":%d,\"v\":2}", i % PATHS);
                if (sfx_read(&f, "t1", "owner", path, 0, json, sizeof(json), NULL, &st) !=
                            CAIRN_OK ||
                    strcmp(json, want) != 0) {
                        fprintf(stderr, "read %s: %s (%s)\n", path, st.message, json);
                        atomic_fetch_add(&read_failures, 1);
                }
                atomic_fetch_add(&reads, 1);
        }
        return NULL;
}

static void *writer(void *arg)
{
        struct cairn_status st;

        (void)arg;
        while (!atomic_load(&stop)) {
                if (sfx_write(&f, "t1", "owner", "rot/live", "{\"w\":1}", -1, NULL, NULL, &st) !=
                    CAIRN_OK) {
                        fprintf(stderr, "write: %s\n", st.message);
                        atomic_fetch_add(&write_failures, 1);
                }
                atomic_fetch_add(&writes, 1);
        }
        return NULL;
}

START_TEST(test_rotation_rewrap_under_load)
{
        Cairn__Secrets__V1__KeyStatusReply *ks;
        struct cairn_status st;
        char json[128], path[32], val[64], out[256], old_wrap[256];
        uint8_t old_pk[CAIRN_SEAL_KEY_BYTES];
        uint32_t old_version;
        pthread_t tr, tw;

        for (int i = 0; i < PATHS; i++)
                for (int v = 1; v <= 2; v++) {
                        snprintf(path, sizeof(path), "rot/p%d", i);
                        snprintf(val, sizeof(val), "{\"n\":%d,\"v\":%d}", i, v);
                        ck_assert_int_eq(sfx_write(&f, "t1", "owner", path, val, -1, NULL, NULL,
                                                   &st),
                                         CAIRN_OK);
                }
        sfx_service_key(&f, &old_version, old_pk);
        ck_assert_uint_eq(old_version, 1);
        sfx_sql(&f,
                "SELECT encode(wrapped_key, 'hex') FROM secrets_versions WHERE path = "
                "'rot/p0' AND version = 1",
                old_wrap, sizeof(old_wrap));

        pthread_create(&tr, NULL, reader, NULL);
        pthread_create(&tw, NULL, writer, NULL);
        usleep(300000);
        ks = key_call(true);
        ck_assert_uint_eq(ks->current_version, 2);
        ck_assert_uint_eq(ks->min_decryption_version, 1);
        ck_assert_ptr_nonnull(ks->rewrap);
        ck_assert_uint_eq(ks->rewrap->target_version, 2);
        ck_assert_uint_ge(ks->rewrap->total, 2 * PATHS);
        protobuf_c_message_free_unpacked(&ks->base, NULL);
        ks = rewrap_wait(2);
        usleep(300000); /* reads and writes after the retirement too */
        atomic_store(&stop, true);
        pthread_join(tr, NULL);
        pthread_join(tw, NULL);
        ck_assert_int_gt(atomic_load(&reads), 10);
        ck_assert_int_gt(atomic_load(&writes), 2);
        ck_assert_int_eq(atomic_load(&read_failures), 0);
        ck_assert_int_eq(atomic_load(&write_failures), 0);

        ck_assert_uint_eq(ks->min_decryption_version, 2);
        ck_assert_uint_eq(ks->rewrap->done, ks->rewrap->total);
        ck_assert_uint_eq(ks->n_versions, 1); /* version 1 destroyed */
        protobuf_c_message_free_unpacked(&ks->base, NULL);
        sfx_sql(&f, "SELECT count(*) FROM secrets_versions WHERE kek_version < 2 AND NOT destroyed",
                out, sizeof(out));
        ck_assert_str_eq(out, "0");
        sfx_sql(&f, "SELECT wrapped IS NULL FROM secrets_keks WHERE version = 1", out, sizeof(out));
        ck_assert_str_eq(out, "t");

        /* a value sealed to the retired service key is refused */
        Cairn__Secrets__V1__WriteRequest in = CAIRN__SECRETS__V1__WRITE_REQUEST__INIT;
        Cairn__Secrets__V1__SealedValue sv = CAIRN__SECRETS__V1__SEALED_VALUE__INIT;
        uint8_t box[7 + CAIRN_SEAL_OVERHEAD];
        ProtobufCMessage *reply;
        ck_assert_int_eq(cairn_seal(old_pk, "{\"a\":1}", 7, box), 0);
        sv.key_version = old_version;
        sv.box.data = box;
        sv.box.len = sizeof(box);
        in.path = "rot/old";
        in.data = &sv;
        ck_assert_int_eq(sfx_call(&f, "t1", "alice", "owner", &in.base,
                                  &cairn__secrets__v1__write_reply__descriptor, NULL, &reply, &st),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_str_eq(st.reason, "SEAL_KEY_UNKNOWN");

        /* a data key still wrapped with the retired KEK does not open */
        char q[600];
        snprintf(q, sizeof(q),
                 "UPDATE secrets_versions SET kek_version = 1, wrapped_key = decode('%s', 'hex') "
                 "WHERE path = 'rot/p0' AND version = 1 RETURNING 1",
                 old_wrap);
        sfx_sql(&f, q, out, sizeof(out));
        ck_assert_int_ne(sfx_read(&f, "t1", "owner", "rot/p0", 1, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        ck_assert_str_eq(st.reason, "KEY_RETIRED");
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "rot/p0", 2, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        ck_assert_str_eq(json, "{\"n\":0,\"v\":2}");
        /* put it back as the rewrap left it is impossible: remove the row */
        sfx_sql(&f,
                "DELETE FROM secrets_versions WHERE path = 'rot/p0' AND version = 1 "
                "RETURNING 1",
                out, sizeof(out));
}
END_TEST

START_TEST(test_kill_mid_rewrap_then_restart_finishes)
{
        Cairn__Secrets__V1__KeyStatusReply *ks;
        struct cairn_status st;
        char json[128], out[64];
        PGconn *hold = PQconnectdb(f.pg_url);
        PGresult *res;

        ck_assert_int_eq(PQstatus(hold), CONNECTION_OK);
        for (int i = 0; i < 20; i++) {
                char path[32];

                snprintf(path, sizeof(path), "kill/p%d", i);
                ck_assert_int_eq(sfx_write(&f, "t1", "owner", path, "{\"k\":\"v\"}", -1, NULL, NULL,
                                           &st),
                                 CAIRN_OK);
        }
        /* rows locked elsewhere: the rewrap passes them over and cannot finish */
        res = PQexec(hold, "BEGIN");
        PQclear(res);
        res = PQexec(hold, "SELECT 1 FROM secrets_versions WHERE path LIKE 'kill/p1%' FOR UPDATE");
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        ck_assert_int_gt(PQntuples(res), 0);
        PQclear(res);
        ks = key_call(true);
        uint32_t target = ks->current_version;
        protobuf_c_message_free_unpacked(&ks->base, NULL);
        for (int i = 0; i < 100; i++) { /* until every other row is rewrapped */
                sfx_sql(&f,
                        "SELECT count(*) FROM secrets_versions WHERE path NOT LIKE 'kill/p1%' "
                        "AND kek_version < (SELECT current_version FROM secrets_keyring) AND "
                        "NOT destroyed",
                        out, sizeof(out));
                if (strcmp(out, "0") == 0)
                        break;
                usleep(100000);
        }
        ck_assert_str_eq(out, "0");
        ks = key_call(false);
        ck_assert(!ks->rewrap->finished);
        ck_assert_uint_lt(ks->min_decryption_version, target);
        protobuf_c_message_free_unpacked(&ks->base, NULL);

        harness_proc_kill(&f.proc);
        res = PQexec(hold, "COMMIT");
        PQclear(res);
        PQfinish(hold);
        sfx_restart(&f, env);
        ks = rewrap_wait(target);
        ck_assert_uint_eq(ks->min_decryption_version, target);
        protobuf_c_message_free_unpacked(&ks->base, NULL);
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "kill/p11", 0, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        ck_assert_str_eq(json, "{\"k\":\"v\"}");
        sfx_sql(&f,
                "SELECT count(*) FROM secrets_versions WHERE kek_version < (SELECT "
                "current_version FROM secrets_keyring) AND NOT destroyed",
                out, sizeof(out));
        ck_assert_str_eq(out, "0");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secrets_rotation");
        TCase *tc = tcase_create("rotation");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_rotation_rewrap_under_load);
        tcase_add_test(tc, test_kill_mid_rewrap_then_restart_finishes);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

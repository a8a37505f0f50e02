/* cairn-secrets over the bus, on a real PostgreSQL:
 *   - values travel sealed both ways: a write sealed to the service key, a
 *     read sealed to the caller's key; no plaintext in any table;
 *   - versions, check-and-set (cas 0 creates only; a mismatch is refused
 *     with Vault's message), two writers racing on one cas: one wins;
 *   - soft delete, undelete, destroy; metadata; max_versions trims;
 *   - list by folder and recursively;
 *   - policies: deny by default, the role defaults, a stored policy,
 *     tenants disjoint;
 *   - a ciphertext moved to another row does not decrypt;
 *   - the audit chain verifies, and names an edited and a deleted row;
 *   - a redelivered write changes nothing;
 *   - bad paths, values and keys are named;
 *   - a secret past its rotate_after is counted and announced once. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secrets_fixture.h"

static struct harness_broker broker;
static struct sfx f;

static void setup(void)
{
        harness_broker_start(&broker, 1);
        sfx_start(&f, &broker,
                  (const char *const[]){ "CAIRN_SECRETS_REMINDER_INTERVAL_MS=200", NULL });
}

static void teardown(void)
{
        sfx_stop(&f);
        harness_broker_stop(&broker);
}

static cairn_err_t call(const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *rd,
                        ProtobufCMessage **reply, struct cairn_status *st)
{
        return sfx_call(&f, "t1", "alice", "owner", msg, rd, NULL, reply, st);
}

static cairn_err_t write_as(const char *tenant, const char *role, const char *path,
                            const char *json, long long cas, const char *ce_id, uint64_t *version,
                            struct cairn_status *st)
{
        return sfx_write(&f, tenant, role, path, json, cas, ce_id, version, st);
}

static cairn_err_t write_secret(const char *path, const char *json, long long cas,
                                uint64_t *version, struct cairn_status *st)
{
        return sfx_write(&f, "t1", "owner", path, json, cas, NULL, version, st);
}

static cairn_err_t read_as(const char *tenant, const char *role, const char *path, uint64_t version,
                           char *json, size_t size, Cairn__Secrets__V1__VersionMetadata *meta,
                           struct cairn_status *st)
{
        return sfx_read(&f, tenant, role, path, version, json, size, meta, st);
}

static cairn_err_t read_secret(const char *path, uint64_t version, char *json, size_t size,
                               Cairn__Secrets__V1__VersionMetadata *meta, struct cairn_status *st)
{
        return sfx_read(&f, "t1", "owner", path, version, json, size, meta, st);
}

static void sql(const char *q, char *out, size_t size)
{
        sfx_sql(&f, q, out, size);
}

START_TEST(test_write_read_versions_cas)
{
        struct cairn_status st;
        Cairn__Secrets__V1__VersionMetadata meta;
        char json[256], out[64];
        uint64_t v = 0;

        ck_assert_int_eq(write_secret("app/db", "{\"password\":\"hunter2-one\"}", 0, &v, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(v, 1);
        /* cas 0 creates only */
        ck_assert_int_eq(write_secret("app/db", "{\"password\":\"x\"}", 0, &v, &st),
                         CAIRN_ERR_PRECONDITION);
        ck_assert_str_eq(st.message, "check-and-set parameter did not match the current version");
        ck_assert_int_eq(write_secret("app/db", "{\"password\":\"hunter2-two\",\"n\":2}", 1, &v,
                                      &st),
                         CAIRN_OK);
        ck_assert_uint_eq(v, 2);
        ck_assert_int_eq(write_secret("app/db", "{\"password\":\"hunter2-three\"}", -1, &v, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(v, 3);
        ck_assert_int_eq(read_secret("app/db", 0, json, sizeof(json), &meta, &st), CAIRN_OK);
        ck_assert_str_eq(json, "{\"password\":\"hunter2-three\"}");
        ck_assert_uint_eq(meta.version, 3);
        ck_assert_int_eq(read_secret("app/db", 2, json, sizeof(json), &meta, &st), CAIRN_OK);
        ck_assert_str_eq(json, "{\"password\":\"hunter2-two\",\"n\":2}");
        ck_assert_int_eq(read_secret("app/db", 9, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_NOT_FOUND);
        ck_assert_int_eq(read_secret("app/none", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_NOT_FOUND);
        /* no plaintext rests in the database */
        sql("SELECT count(*) FROM secrets_versions WHERE position('hunter2'::bytea in "
            "ciphertext) > 0 OR position('hunter2'::bytea in wrapped_key) > 0",
            out, sizeof(out));
        ck_assert_str_eq(out, "0");
        sql("SELECT count(*) FROM secrets_requests WHERE position('hunter2'::bytea in reply) > 0",
            out, sizeof(out));
        ck_assert_str_eq(out, "0");
}
END_TEST

struct racer {
        uint64_t version;
        cairn_err_t err;
        const char *value;
};

static void *race(void *arg)
{
        struct racer *r = arg;
        struct cairn_status st;

        r->err = write_secret("race/one", r->value, 1, &r->version, &st);
        return NULL;
}

START_TEST(test_cas_race_one_wins)
{
        struct cairn_status st;
        struct racer a = { 0, 0, "{\"who\":\"a\"}" }, b = { 0, 0, "{\"who\":\"b\"}" };
        pthread_t ta, tb;

        ck_assert_int_eq(write_secret("race/one", "{\"who\":\"first\"}", 0, NULL, &st), CAIRN_OK);
        pthread_create(&ta, NULL, race, &a);
        pthread_create(&tb, NULL, race, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        ck_assert_msg((a.err == CAIRN_OK) != (b.err == CAIRN_OK), "a: %d, b: %d", a.err, b.err);
        ck_assert_int_eq(a.err == CAIRN_OK ? b.err : a.err, CAIRN_ERR_PRECONDITION);
}
END_TEST

static cairn_err_t versions_op(const ProtobufCMessageDescriptor *req,
                               const ProtobufCMessageDescriptor *rd, const char *path,
                               uint64_t *versions, size_t n, struct cairn_status *st)
{
        /* Delete, Undelete and Destroy requests share their layout */
        Cairn__Secrets__V1__DestroyRequest in = CAIRN__SECRETS__V1__DESTROY_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        cairn_err_t err;

        in.base.descriptor = req;
        in.path = (char *)path;
        in.versions = versions;
        in.n_versions = n;
        err = call(&in.base, rd, &out, st);
        if (out)
                protobuf_c_message_free_unpacked(out, NULL);
        return err;
}

START_TEST(test_delete_undelete_destroy)
{
        struct cairn_status st;
        Cairn__Secrets__V1__VersionMetadata meta;
        char json[256], out[64];
        uint64_t one = 1, two = 2;

        ck_assert_int_eq(write_secret("life/s", "{\"v\":\"one\"}", -1, NULL, &st), CAIRN_OK);
        ck_assert_int_eq(write_secret("life/s", "{\"v\":\"two\"}", -1, NULL, &st), CAIRN_OK);
        /* delete the current one */
        ck_assert_int_eq(versions_op(&cairn__secrets__v1__delete_request__descriptor,
                                     &cairn__secrets__v1__delete_reply__descriptor, "life/s", NULL,
                                     0, &st),
                         CAIRN_OK);
        ck_assert_int_eq(read_secret("life/s", 0, json, sizeof(json), &meta, &st), CAIRN_OK);
        ck_assert_str_eq(json, "");
        ck_assert(meta.deleted);
        ck_assert_int_eq(versions_op(&cairn__secrets__v1__undelete_request__descriptor,
                                     &cairn__secrets__v1__undelete_reply__descriptor, "life/s",
                                     &two, 1, &st),
                         CAIRN_OK);
        ck_assert_int_eq(read_secret("life/s", 0, json, sizeof(json), &meta, &st), CAIRN_OK);
        ck_assert_str_eq(json, "{\"v\":\"two\"}");
        ck_assert_int_eq(versions_op(&cairn__secrets__v1__destroy_request__descriptor,
                                     &cairn__secrets__v1__destroy_reply__descriptor, "life/s", &one,
                                     1, &st),
                         CAIRN_OK);
        ck_assert_int_eq(read_secret("life/s", 1, json, sizeof(json), &meta, &st), CAIRN_OK);
        ck_assert_str_eq(json, "");
        ck_assert(meta.destroyed);
        sql("SELECT count(*) FROM secrets_versions WHERE path = 'life/s' AND version = 1 AND "
            "ciphertext IS NULL AND wrapped_key IS NULL",
            out, sizeof(out));
        ck_assert_str_eq(out, "1");
        /* undelete needs versions */
        ck_assert_int_eq(versions_op(&cairn__secrets__v1__undelete_request__descriptor,
                                     &cairn__secrets__v1__undelete_reply__descriptor, "life/s",
                                     NULL, 0, &st),
                         CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "versions");
}
END_TEST

static void list(const char *prefix, bool recursive, char *joined, size_t size)
{
        Cairn__Secrets__V1__ListRequest in = CAIRN__SECRETS__V1__LIST_REQUEST__INIT;
        Cairn__Secrets__V1__ListReply *out;
        struct cairn_status st;
        size_t at = 0;

        in.prefix = (char *)prefix;
        in.recursive = recursive;
        ck_assert_int_eq(call(&in.base, &cairn__secrets__v1__list_reply__descriptor,
                              (ProtobufCMessage **)&out, &st),
                         CAIRN_OK);
        joined[0] = '\0';
        for (size_t i = 0; i < out->n_keys; i++)
                at += (size_t)snprintf(joined + at, size - at, "%s%s", i ? "," : "", out->keys[i]);
        protobuf_c_message_free_unpacked(&out->base, NULL);
}

START_TEST(test_list_and_metadata)
{
        struct cairn_status st;
        char keys[512];
        Cairn__Secrets__V1__WriteMetadataRequest wm =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__INIT;
        Cairn__Secrets__V1__ReadMetadataRequest rm =
                CAIRN__SECRETS__V1__READ_METADATA_REQUEST__INIT;
        Cairn__Secrets__V1__MetadataReply *meta;
        Google__Protobuf__UInt32Value maxv = GOOGLE__PROTOBUF__UINT32_VALUE__INIT;
        Cairn__Secrets__V1__WriteMetadataRequest__CustomMetadataEntry e =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__CUSTOM_METADATA_ENTRY__INIT;
        Cairn__Secrets__V1__WriteMetadataRequest__CustomMetadataEntry *ep[1] = { &e };
        ProtobufCMessage *out;

        const char *paths[] = { "l/a", "l/b/c", "l/b/d/e", "l/z", "l.x", "lx/y" };
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                ck_assert_int_eq(write_secret(paths[i], "{\"k\":1}", -1, NULL, &st), CAIRN_OK);
        list("l", false, keys, sizeof(keys));
        ck_assert_str_eq(keys, "a,b/,z");
        list("l/", true, keys, sizeof(keys));
        ck_assert_str_eq(keys, "a,b/c,b/d/e,z");
        list("l/b", false, keys, sizeof(keys));
        ck_assert_str_eq(keys, "c,d/");

        maxv.value = 2;
        wm.path = "l/a";
        wm.max_versions = &maxv;
        e.key = "owner";
        e.value = "team-db";
        wm.custom_metadata = ep;
        wm.n_custom_metadata = 1;
        ck_assert_int_eq(call(&wm.base, &cairn__secrets__v1__write_metadata_reply__descriptor, &out,
                              &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(write_secret("l/a", "{\"k\":2}", -1, NULL, &st), CAIRN_OK);
        rm.path = "l/a";
        ck_assert_int_eq(call(&rm.base, &cairn__secrets__v1__metadata_reply__descriptor,
                              (ProtobufCMessage **)&meta, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(meta->metadata->current_version, 4);
        ck_assert_uint_eq(meta->metadata->oldest_version, 3);
        ck_assert_uint_eq(meta->metadata->n_versions, 2);
        ck_assert_uint_eq(meta->metadata->max_versions, 2);
        ck_assert_uint_eq(meta->metadata->n_custom_metadata, 1);
        ck_assert_str_eq(meta->metadata->custom_metadata[0]->value, "team-db");
        protobuf_c_message_free_unpacked(&meta->base, NULL);
}
END_TEST

START_TEST(test_policies_and_tenants)
{
        struct cairn_status st;
        char json[256];

        ck_assert_int_eq(write_secret("pol/x", "{\"k\":\"v\"}", -1, NULL, &st), CAIRN_OK);
        /* viewers list, never read or write */
        ck_assert_int_eq(read_as("t1", "viewer", "pol/x", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_PERMISSION);
        ck_assert_int_eq(write_as("t1", "viewer", "pol/x", "{}", -1, NULL, NULL, &st),
                         CAIRN_ERR_PERMISSION);
        /* members read and write */
        ck_assert_int_eq(read_as("t1", "member", "pol/x", 0, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        /* another tenant's owner sees nothing of t1 */
        ck_assert_int_eq(read_as("t2", "owner", "pol/x", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_NOT_FOUND);
        /* a service reads only services/<itself>/ */
        ck_assert_int_eq(read_as("t1", "service", "pol/x", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_PERMISSION);
        /* an unknown role is refused */
        ck_assert_int_eq(read_as("t1", "root", "pol/x", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_PERMISSION);
}
END_TEST

START_TEST(test_moved_ciphertext_does_not_decrypt)
{
        struct cairn_status st;
        char json[256], out[64];

        ck_assert_int_eq(write_secret("move/a", "{\"k\":\"aaa\"}", -1, NULL, &st), CAIRN_OK);
        ck_assert_int_eq(write_secret("move/b", "{\"k\":\"bbb\"}", -1, NULL, &st), CAIRN_OK);
        sql("UPDATE secrets_versions SET (ciphertext, wrapped_key, kek_version) = (SELECT "
            "ciphertext, wrapped_key, kek_version FROM secrets_versions WHERE path = 'move/a') "
            "WHERE path = 'move/b' RETURNING 1",
            out, sizeof(out));
        ck_assert_int_eq(read_secret("move/b", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_DATA_LOSS);
        ck_assert_int_eq(read_secret("move/a", 0, json, sizeof(json), NULL, &st), CAIRN_OK);
        ck_assert_str_eq(json, "{\"k\":\"aaa\"}");
}
END_TEST

static void verify(bool *ok, uint64_t *broken)
{
        Cairn__Secrets__V1__VerifyAuditRequest in = CAIRN__SECRETS__V1__VERIFY_AUDIT_REQUEST__INIT;
        Cairn__Secrets__V1__VerifyAuditReply *out;
        struct cairn_status st;

        ck_assert_int_eq(call(&in.base, &cairn__secrets__v1__verify_audit_reply__descriptor,
                              (ProtobufCMessage **)&out, &st),
                         CAIRN_OK);
        *ok = out->ok;
        *broken = out->first_broken_seq;
        protobuf_c_message_free_unpacked(&out->base, NULL);
}

START_TEST(test_audit_chain)
{
        struct cairn_status st;
        char json[64], out[64];
        bool ok;
        uint64_t broken;

        ck_assert_int_eq(write_secret("audit/a", "{\"k\":\"v\"}", -1, NULL, &st), CAIRN_OK);
        ck_assert_int_eq(read_as("t1", "viewer", "audit/a", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_PERMISSION);
        /* quotes, backslashes and braces in what is audited */
        ck_assert_int_eq(write_secret("audit/q\"{x},\\y", "{\"k\":\"v\"}", -1, NULL, &st),
                         CAIRN_OK);
        sql("SELECT count(*) FROM secrets_audit WHERE path = 'audit/q\"{x},\\y'", out, sizeof(out));
        ck_assert_str_eq(out, "1");
        verify(&ok, &broken);
        ck_assert(ok);
        sql("SELECT count(*) FROM secrets_audit WHERE outcome = 'denied' AND path = 'audit/a'", out,
            sizeof(out));
        ck_assert_str_eq(out, "1");
        sql("SELECT count(*) FROM secrets_audit WHERE operation = 'write' AND path = 'audit/a' "
            "AND version = 1",
            out, sizeof(out));
        ck_assert_str_eq(out, "1");
        /* an edited row */
        sql("UPDATE secrets_audit SET principal = 'mallory' WHERE seq = 3 RETURNING seq", out,
            sizeof(out));
        verify(&ok, &broken);
        ck_assert(!ok);
        ck_assert_uint_eq(broken, 3);
        sql("UPDATE secrets_audit SET principal = 'alice' WHERE seq = 3 RETURNING seq", out,
            sizeof(out));
        verify(&ok, &broken);
        ck_assert(ok);
        /* a deleted row */
        sql("DELETE FROM secrets_audit WHERE seq = 2 RETURNING seq", out, sizeof(out));
        verify(&ok, &broken);
        ck_assert(!ok);
        ck_assert_uint_eq(broken, 2);
}
END_TEST

START_TEST(test_redelivery_changes_nothing)
{
        struct cairn_status st;
        uint64_t v1 = 0, v2 = 0;
        char out[64];

        ck_assert_int_eq(write_as("t1", "owner", "redo/x", "{\"k\":1}", -1,
                                  "11111111-2222-4333-8444-555555555555", &v1, &st),
                         CAIRN_OK);
        ck_assert_int_eq(write_as("t1", "owner", "redo/x", "{\"k\":2}", -1,
                                  "11111111-2222-4333-8444-555555555555", &v2, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(v1, 1);
        ck_assert_uint_eq(v2, 1);
        sql("SELECT count(*) FROM secrets_versions WHERE path = 'redo/x'", out, sizeof(out));
        ck_assert_str_eq(out, "1");
}
END_TEST

START_TEST(test_bad_input_named)
{
        struct cairn_status st;
        char json[64];
        const char *bad[] = { "a/../b", "a//b", "/a", "a/", "a/./b", "a\tb", "" };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_int_eq(write_secret(bad[i], "{}", -1, NULL, &st), CAIRN_ERR_INVALID);
                ck_assert_str_eq(st.field, "path");
        }
        ck_assert_int_eq(write_secret("ok/x", "[1,2]", -1, NULL, &st), CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "data");
        ck_assert_int_eq(write_secret("ok/x", "{\"a\":", -1, NULL, &st), CAIRN_ERR_INVALID);
        ck_assert_int_eq(read_secret("a/../b", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "path");
}
END_TEST

START_TEST(test_rotation_reminder)
{
        Cairn__Secrets__V1__WriteMetadataRequest wm =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__INIT;
        Google__Protobuf__Duration one = GOOGLE__PROTOBUF__DURATION__INIT;
        struct cairn_status st;
        ProtobufCMessage *out;
        char cmd[1024], n[32] = "";

        ck_assert_int_eq(write_secret("remind/key", "{\"k\":\"v\"}", -1, NULL, &st), CAIRN_OK);
        one.seconds = 1;
        wm.path = "remind/key";
        wm.rotate_after = &one;
        ck_assert_int_eq(call(&wm.base, &cairn__secrets__v1__write_metadata_reply__descriptor, &out,
                              &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);
        snprintf(cmd, sizeof(cmd),
                 "kcat -C -b '%s' -t '%s' -e -q -f '%%k %%s\\n' 2>/dev/null | grep -a -c "
                 "remind/key",
                 broker.bootstrap, harness_topic("cairn.secrets.v1.events"));
        for (int i = 0; i < 100 && atoi(n) == 0; i++) {
                usleep(100000);
                harness_sh(n, sizeof(n), cmd);
        }
        ck_assert_int_eq(atoi(n), 1);
        ck_assert(harness_metric(f.proc.admin_port, "cairn_secrets_rotation_overdue") >= 1);
        usleep(600000); /* more sweeps: announced once per version */
        harness_sh(n, sizeof(n), cmd);
        ck_assert_int_eq(atoi(n), 1);
        /* a new version ends it (under a rotate_after it is not past yet) */
        ck_assert_int_eq(write_secret("remind/key", "{\"k\":\"w\"}", -1, NULL, &st), CAIRN_OK);
        one.seconds = 3600;
        ck_assert_int_eq(call(&wm.base, &cairn__secrets__v1__write_metadata_reply__descriptor, &out,
                              &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);
        double overdue = 1;
        for (int i = 0; i < 50 && overdue > 0; i++) {
                usleep(100000);
                overdue = harness_metric(f.proc.admin_port, "cairn_secrets_rotation_overdue");
        }
        ck_assert(overdue == 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secrets_service");
        TCase *tc = tcase_create("bus");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_write_read_versions_cas);
        tcase_add_test(tc, test_cas_race_one_wins);
        tcase_add_test(tc, test_delete_undelete_destroy);
        tcase_add_test(tc, test_list_and_metadata);
        tcase_add_test(tc, test_policies_and_tenants);
        tcase_add_test(tc, test_moved_ciphertext_does_not_decrypt);
        tcase_add_test(tc, test_redelivery_changes_nothing);
        tcase_add_test(tc, test_bad_input_named);
        tcase_add_test(tc, test_rotation_reminder);
        tcase_add_test(tc, test_audit_chain);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

/* cairn-secrets when its audit log fails, and where plaintext never goes:
 *   - secrets.audit_failure closed (the default): an audit table that
 *     refuses rows refuses reads and writes (UNAVAILABLE), and a refused
 *     write leaves no version behind; an audit table locked by someone else
 *     (a blocked sink) fails requests after secrets.audit_timeout_ms, never
 *     hangs them; once it is back, requests are served and the chain still
 *     verifies;
 *   - open: the same requests are served and counted as an alarm
 *     (cairn_secrets_audit_failures_total);
 *   - a value's plaintext is nowhere: not in any Kafka topic the requests,
 *     replies and audit rows went through (their raw bytes), not in the
 *     service's log, not in any table of its database (a dump). */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secrets_fixture.h"

#define MARKER "plaintext-marker-7c1e9a"

static struct harness_broker broker;
static struct sfx f;

static void setup(void)
{
        harness_broker_start(&broker, 1);
        sfx_start(&f, &broker,
                  (const char *const[]){ "CAIRN_SECRETS_AUDIT_TIMEOUT_MS=500",
                                         "CAIRN_SECRETS_AUDIT_PUBLISH_INTERVAL_MS=100", NULL });
}

static void teardown(void)
{
        sfx_stop(&f);
        harness_broker_stop(&broker);
}

static void refuse_audit_rows(bool on)
{
        char out[64];

        if (on) {
                sfx_sql(&f,
                        "CREATE FUNCTION it_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$ BEGIN RAISE EXCEPTION 'audit rows refused by the test'; END $$",
                        out, sizeof(out));
                sfx_sql(&f,
                        "CREATE TRIGGER it_refuse BEFORE INSERT ON secrets_audit "
                        "FOR EACH ROW EXECUTE FUNCTION it_refuse()",
                        out, sizeof(out));
        } else {
                sfx_sql(&f, "DROP TRIGGER it_refuse ON secrets_audit", out, sizeof(out));
                sfx_sql(&f, "DROP FUNCTION it_refuse()", out, sizeof(out));
        }
}

static void verify_ok(void)
{
        Cairn__Secrets__V1__VerifyAuditRequest in = CAIRN__SECRETS__V1__VERIFY_AUDIT_REQUEST__INIT;
        Cairn__Secrets__V1__VerifyAuditReply *out;
        struct cairn_status st;

        ck_assert_int_eq(sfx_call(&f, "t1", "alice", "owner", &in.base,
                                  &cairn__secrets__v1__verify_audit_reply__descriptor, NULL,
                                  (ProtobufCMessage **)&out, &st),
                         CAIRN_OK);
        ck_assert_msg(out->ok, "audit chain broken at %llu: %s",
                      (unsigned long long)out->first_broken_seq, out->reason);
        ck_assert_uint_gt(out->rows, 0);
        protobuf_c_message_free_unpacked(&out->base, NULL);
}

START_TEST(test_closed_refuses_when_audit_fails)
{
        struct cairn_status st;
        char json[128], out[64];

        ck_assert_int_eq(sfx_write(&f, "t1", "owner", "af/a", "{\"k\":\"" MARKER "\"}", -1, NULL,
                                   NULL, &st),
                         CAIRN_OK);
        refuse_audit_rows(true);
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "af/a", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "AUDIT_UNAVAILABLE");
        ck_assert_str_eq(json, "");
        ck_assert_int_eq(sfx_write(&f, "t1", "owner", "af/b", "{\"k\":\"v\"}", -1, NULL, NULL, &st),
                         CAIRN_ERR_UNAVAILABLE);
        sfx_sql(&f, "SELECT count(*) FROM secrets_versions WHERE path = 'af/b'", out, sizeof(out));
        ck_assert_str_eq(out, "0"); /* nothing half-written */
        refuse_audit_rows(false);
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "af/a", 0, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        ck_assert_int_eq(sfx_write(&f, "t1", "owner", "af/b", "{\"k\":\"v\"}", -1, NULL, NULL, &st),
                         CAIRN_OK);
        verify_ok();
}
END_TEST

START_TEST(test_blocked_audit_never_hangs)
{
        struct cairn_status st;
        char json[128];
        PGconn *hold = PQconnectdb(f.pg_url);
        PGresult *res;

        ck_assert_int_eq(PQstatus(hold), CONNECTION_OK);
        res = PQexec(hold, "BEGIN; LOCK TABLE secrets_audit_head IN ACCESS EXCLUSIVE MODE");
        ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        /* the call's own timeout (20 s) is far above audit_timeout_ms (0.5 s):
         * UNAVAILABLE, not DEADLINE_EXCEEDED, says the service answered */
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "af/a", 0, json, sizeof(json), NULL, &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "AUDIT_UNAVAILABLE");
        ck_assert_int_eq(sfx_write(&f, "t1", "owner", "af/c", "{\"k\":\"v\"}", -1, NULL, NULL, &st),
                         CAIRN_ERR_UNAVAILABLE);
        res = PQexec(hold, "COMMIT");
        PQclear(res);
        PQfinish(hold);
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "af/a", 0, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        verify_ok();
}
END_TEST

START_TEST(test_open_serves_and_counts)
{
        struct cairn_status st;
        char json[128];
        double before;

        ck_assert_int_eq(harness_service_stop(&f.proc, 10000), 0);
        sfx_restart(&f, (const char *const[]){ "CAIRN_SECRETS_AUDIT_FAILURE=open",
                                               "CAIRN_SECRETS_AUDIT_TIMEOUT_MS=500", NULL });
        before = harness_metric(f.proc.admin_port, "cairn_secrets_audit_failures_total");
        refuse_audit_rows(true);
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "af/a", 0, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        ck_assert_str_eq(json, "{\"k\":\"" MARKER "\"}");
        ck_assert_int_eq(sfx_write(&f, "t1", "owner", "af/d", "{\"k\":\"v\"}", -1, NULL, NULL, &st),
                         CAIRN_OK);
        refuse_audit_rows(false);
        ck_assert(harness_metric(f.proc.admin_port, "cairn_secrets_audit_failures_total") >=
                  before + 2);
        verify_ok(); /* the rows that were not written leave no gap */
}
END_TEST

/* How many times @p needle is in the raw messages of @p topic. */
static int in_topic(const char *topic, const char *needle)
{
        char cmd[1024], out[64];

        snprintf(cmd, sizeof(cmd),
                 "kcat -C -b '%s' -t '%s' -e -q -f '%%k %%h %%s\\n' 2>/dev/null | grep -a -c '%s'",
                 broker.bootstrap, topic, needle);
        harness_sh(out, sizeof(out), cmd);
        return atoi(out);
}

START_TEST(test_no_plaintext_anywhere)
{
        char cmd[1024], out[64];
        struct cairn_status st;
        char json[128];
        int audited = 0;

        /* the marker went in by a write and out by reads, above and here */
        ck_assert_int_eq(sfx_read(&f, "t1", "owner", "af/a", 0, json, sizeof(json), NULL, &st),
                         CAIRN_OK);
        ck_assert_str_eq(json, "{\"k\":\"" MARKER "\"}");
        /* the audit rows reach their topic */
        for (int i = 0; i < 100 && audited == 0; i++) {
                audited = in_topic(harness_topic("cairn.audit.v1"), "af/a");
                if (!audited)
                        usleep(100000);
        }
        ck_assert_int_gt(audited, 0);
        ck_assert_int_gt(in_topic(harness_topic("cairn.secrets.v1.requests"), "af/a"), 0);
        ck_assert_int_eq(in_topic(harness_topic("cairn.secrets.v1.requests"), MARKER), 0);
        ck_assert_int_eq(in_topic(f.client.reply_topic, MARKER), 0);
        ck_assert_int_eq(in_topic(harness_topic("cairn.audit.v1"), MARKER), 0);
        ck_assert_int_eq(harness_count_in_file(f.proc.log_path, MARKER), 0);
        /* a dump of the whole database, as text and as hex */
        snprintf(cmd, sizeof(cmd), "pg_dump --data-only '%s' | grep -a -c -e '%s' -e '%s' -e '%s'",
                 f.pg_url, MARKER, "706c61696e746578742d6d61726b6572", "plaintext");
        harness_sh(out, sizeof(out), cmd);
        ck_assert_str_eq(out, "0\n");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secrets_audit_failure");
        TCase *tc = tcase_create("audit");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_closed_refuses_when_audit_fails);
        tcase_add_test(tc, test_blocked_audit_never_hangs);
        tcase_add_test(tc, test_no_plaintext_anywhere);
        tcase_add_test(tc, test_open_serves_and_counts);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

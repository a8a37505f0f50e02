/* The embedding service takes a provider's API key from the real secrets
 * service (embedding.models.N.api_key_secret), against a fake
 * OpenAI-compatible provider that reports the Authorization header it got:
 *   - the service starts and is ready while the secrets service is not up;
 *     a request needing the key then fails UNAVAILABLE naming the reference;
 *   - once the key is written (sealed, as an owner), requests send it;
 *   - a second version is sent once the TTL has passed, without a restart;
 *   - a reference to a secret that does not exist fails UNAVAILABLE naming
 *     it;
 *   - neither key ever appears in the embedding service's log. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "fake_openai.h"
#include "harness.h"
#include "secrets_fixture.h"

#define TOPIC     harness_topic("cairn.embedding.v1.requests")
#define DIM       32
#define SEED      7
#define TTL_MS    500
#define REF       "services/embedding/openai#api_key"
#define MISSING   "services/embedding/nowhere#api_key"
#define KEY_V1    "sk-rotation-test-v1-6b1f0c2e"
#define KEY_V2    "sk-rotation-test-v2-93d4a7b5"
#define TENANT    "cairn"
#define SECRET_AT "services/embedding/openai"

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;
static struct fake_openai *fa;
static struct sfx secrets;
static bool secrets_up;
static char dir[256];

static void msleep(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

static void setup(void)
{
        char cfg[512], yaml[2048], e_cfg[600], e_reply[300], e_topic[300];
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/emb-secret-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        harness_broker_start(&broker, 1);
        fa = fake_openai_start(DIM, SEED);
        snprintf(cfg, sizeof(cfg), "%s/embedding.yaml", dir);
        snprintf(yaml, sizeof(yaml),
                 "admin: {address: 127.0.0.1}\n"
                 "log: {level: debug}\n"
                 "bus: {workers: 4}\n"
                 "secrets_client: {ttl_ms: %d, expire_ms: 60000, retry_ms: 100,\n"
                 "                 timeout_ms: 2000}\n"
                 "embedding:\n"
                 "  cache: {enabled: false}\n"
                 "  models:\n"
                 "    1: {name: remote, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        batch_wait_us: 0, api_key_secret: \"" REF "\"}\n"
                 "    2: {name: orphan, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        batch_wait_us: 0, api_key_secret: \"" MISSING "\"}\n",
                 TTL_MS, fake_openai_port(fa), DIM, fake_openai_port(fa), DIM);
        harness_write_file(cfg, yaml);
        snprintf(e_cfg, sizeof(e_cfg), "CAIRN_CONFIG=%s", cfg);
        snprintf(e_reply, sizeof(e_reply), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.embedding.replies"));
        snprintf(e_topic, sizeof(e_topic), "CAIRN_SECRETS_CLIENT_TOPIC=%s",
                 harness_topic("cairn.secrets.v1.requests"));
        /* the secrets service is not up yet: the embedding service starts anyway */
        harness_service_start(&svc, &broker, "embedding",
                              (const char *const[]){ e_cfg, e_reply, e_topic, NULL });
        ck_assert_msg(harness_wait_ready(&svc, 30000), "embedding not ready (see %s)",
                      svc.log_path);
        harness_client_start(&client, &broker, "itest-emb");
        harness_client_direct(&client, TOPIC, 0);
}

static void teardown(void)
{
        harness_client_stop(&client);
        harness_service_stop(&svc, 15000);
        if (secrets_up)
                sfx_stop(&secrets);
        harness_broker_stop(&broker);
        fake_openai_stop(fa);
}

static cairn_err_t embed(const char *model, struct cairn_status *st)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        struct cairn_call_opts opts = { .timeout_ms = 10000 };
        char *inputs[] = { "a text to embed" };
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        req.inputs = inputs;
        req.n_inputs = 1;
        req.model = (char *)model;
        err = cairn_bus_call(client.cli, TOPIC, "tenant", &req.base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, st);
        if (reply) {
                const Cairn__Embedding__V1__EmbedReply *r =
                        (const Cairn__Embedding__V1__EmbedReply *)reply;

                ck_assert_uint_eq(r->n_embeddings, 1);
                protobuf_c_message_free_unpacked(reply, NULL);
        }
        return err;
}

static void write_key(const char *json, uint64_t want_version)
{
        struct cairn_status st;
        uint64_t v = 0;

        ck_assert_msg(sfx_write(&secrets, TENANT, "owner", SECRET_AT, json, -1, NULL, &v, &st) ==
                              CAIRN_OK,
                      "write: %s", st.message);
        ck_assert_uint_eq(v, want_version);
}

static void last_auth(char *buf, size_t size)
{
        fake_openai_last_auth(fa, buf, size);
}

START_TEST(test_unavailable_before_the_secrets_service_is_up)
{
        struct cairn_status st;
        unsigned before = fake_openai_requests(fa);

        ck_assert_int_eq(embed("remote", &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(strstr(st.message, REF), "%s", st.message);
        ck_assert_str_eq(st.reason, "SECRET_UNAVAILABLE");
        /* nothing went upstream without a key */
        ck_assert_uint_eq(fake_openai_requests(fa), before);
        /* still ready: readiness does not wait for the secrets service */
        ck_assert(harness_wait_ready(&svc, 2000));
}
END_TEST

START_TEST(test_key_from_the_secrets_service_is_sent)
{
        struct cairn_status st;
        char auth[512];
        int64_t until;
        cairn_err_t err;

        sfx_start(&secrets, &broker, NULL);
        secrets_up = true;
        write_key("{\"api_key\":\"" KEY_V1 "\",\"note\":\"embedding's OpenAI key\"}", 1);
        /* the service picks it up without a restart: at its next fetch */
        until = cairn_mono_us() + 15000000;
        do {
                err = embed("remote", &st);
                if (err != CAIRN_OK)
                        msleep(100);
        } while (err != CAIRN_OK && cairn_mono_us() < until);
        ck_assert_msg(err == CAIRN_OK, "%s: %s", cairn_err_str(err), st.message);
        last_auth(auth, sizeof(auth));
        ck_assert_str_eq(auth, "Bearer " KEY_V1);
}
END_TEST

START_TEST(test_new_version_is_sent_after_the_ttl)
{
        struct cairn_status st;
        char auth[512];

        ck_assert_int_eq(embed("remote", &st), CAIRN_OK);
        last_auth(auth, sizeof(auth));
        ck_assert_str_eq(auth, "Bearer " KEY_V1);
        write_key("{\"api_key\":\"" KEY_V2 "\"}", 2);
        /* a value is fetched again when TTL_MS old: past twice that, the
         * next request carries version 2 */
        msleep(2 * TTL_MS + 200);
        ck_assert_int_eq(embed("remote", &st), CAIRN_OK);
        last_auth(auth, sizeof(auth));
        ck_assert_str_eq(auth, "Bearer " KEY_V2);
        ck_assert_int_eq(embed("remote", &st), CAIRN_OK);
        last_auth(auth, sizeof(auth));
        ck_assert_str_eq(auth, "Bearer " KEY_V2);
}
END_TEST

START_TEST(test_missing_secret_is_unavailable_naming_it)
{
        struct cairn_status st;

        ck_assert_int_eq(embed("orphan", &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "SECRET_UNAVAILABLE");
        ck_assert_msg(strstr(st.message, MISSING) && strstr(st.message, "orphan"), "%s",
                      st.message);
        ck_assert_msg(!strstr(st.message, KEY_V1) && !strstr(st.message, KEY_V2), "%s", st.message);
        /* the other model is unaffected */
        ck_assert_int_eq(embed("remote", &st), CAIRN_OK);
}
END_TEST

START_TEST(test_fetches_are_counted)
{
        char name[256];

        snprintf(name, sizeof(name),
                 "cairn_secret_fetches_total{secret=\"" REF "\",outcome=\"ok\"}");
        ck_assert_double_ge(harness_metric(svc.admin_port, name), 2);
        snprintf(name, sizeof(name),
                 "cairn_secret_fetches_total{secret=\"" MISSING "\",outcome=\"error\"}");
        ck_assert_double_ge(harness_metric(svc.admin_port, name), 1);
        snprintf(name, sizeof(name), "cairn_secret_version{secret=\"" REF "\"}");
        ck_assert_double_eq(harness_metric(svc.admin_port, name), 2);
}
END_TEST

START_TEST(test_keys_never_in_the_log)
{
        /* the log has the story, at debug level, but never a key */
        ck_assert_int_ge(harness_count_in_file(svc.log_path, "version 2 in use"), 1);
        ck_assert_int_ge(harness_count_in_file(svc.log_path, MISSING), 1);
        ck_assert_int_eq(harness_count_in_file(svc.log_path, KEY_V1), 0);
        ck_assert_int_eq(harness_count_in_file(svc.log_path, KEY_V2), 0);
        ck_assert_int_eq(harness_count_in_file(svc.log_path, "sk-rotation-test"), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0039-embedding_secret_key");
        TCase *tc = tcase_create("embedding_secret_key");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, test_unavailable_before_the_secrets_service_is_up);
        tcase_add_test(tc, test_key_from_the_secrets_service_is_sent);
        tcase_add_test(tc, test_new_version_is_sent_after_the_ttl);
        tcase_add_test(tc, test_missing_secret_is_unavailable_naming_it);
        tcase_add_test(tc, test_fetches_are_counted);
        tcase_add_test(tc, test_keys_never_in_the_log);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

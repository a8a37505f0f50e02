/* The embedding service against fake OpenAI-compatible providers (real
 * HTTP on 127.0.0.1) and a Redis of its own: vectors and order, API keys,
 * splitting by max_batch, the cache, provider errors (4xx, 429 with
 * Retry-After, malformed JSON, wrong dimensions), deadlines that abort the
 * upstream request, fallback, the breaker opening and recovering, and
 * answers while Redis is down. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/resilience.h"
#include "fake_openai.h"
#include "harness.h"

#define TOPIC   harness_topic("cairn.embedding.v1.requests")
#define DIM     64
#define SEED_A  11
#define SEED_B  22
#define API_KEY "sk-test-0123456789abcdef"

static struct harness_broker broker;
static struct harness_proc svc;
static struct harness_client client;
static struct fake_openai *fa, *fb;
static struct harness_proc redis;
static int redis_port;
static char dir[256];

static void msleep(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
        FILE *fp = fopen(path, "w");

        ck_assert_ptr_nonnull(fp);
        fputs(text, fp);
        fclose(fp);
        chmod(path, mode);
}

static void setup(void)
{
        char cfg[512], key[512], yaml[4096], env_cfg[600];
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/emb-providers-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        harness_broker_start(&broker, 1);
        redis_port = harness_free_port();
        harness_redis_start(&redis, dir, redis_port);
        fa = fake_openai_start(DIM, SEED_A);
        fb = fake_openai_start(DIM, SEED_B);
        fake_openai_set(fa, &(struct fake_openai_mode){ .api_key = API_KEY });

        snprintf(key, sizeof(key), "%s/openai.key", dir);
        write_file(key, API_KEY "\n", 0600);
        snprintf(cfg, sizeof(cfg), "%s/embedding.yaml", dir);
        snprintf(yaml, sizeof(yaml),
                 "admin: {address: 127.0.0.1}\n"
                 "bus: {workers: 16}\n"
                 "redis: {port: %d, retry_interval_ms: 200}\n"
                 "resilience:\n"
                 "  embedding_provider: {max_attempts: 3, base_ms: 5, cap_ms: 20,\n"
                 "                       breaker_failures: 3, breaker_failure_rate: 0,\n"
                 "                       breaker_open_ms: 1000}\n"
                 "embedding:\n"
                 "  models:\n"
                 "    1: {name: remote, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        upstream_model: fake-embed-small, max_batch: 4, fallbacks: backup,\n"
                 "        api_key_file: \"%s\"}\n"
                 "    2: {name: backup, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        cache: \"off\", encoding: float}\n"
                 "    3: {name: direct, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        cache: \"off\", api_key_file: \"%s\", max_input_bytes: 8,\n"
                 "        truncate: end}\n"
                 "    4: {name: pooled, base_url: \"http://127.0.0.1:%d/v1\", dimensions: %d,\n"
                 "        cache: \"off\", api_key_file: \"%s\", batch_wait_us: 100000}\n",
                 redis_port, fake_openai_port(fa), DIM, key, fake_openai_port(fb), DIM,
                 fake_openai_port(fa), DIM, key, fake_openai_port(fa), DIM, key);
        write_file(cfg, yaml, 0644);
        snprintf(env_cfg, sizeof(env_cfg), "CAIRN_CONFIG=%s", cfg);
        const char *env[] = { env_cfg, NULL };
        harness_service_start(&svc, &broker, "embedding", env);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "embedding not ready (see %s)",
                      svc.log_path);
        harness_client_start(&client, &broker, "itest");
        /* This test looks at each answer of the service as it is: the
         * client neither retries nor trips its own breaker on them. */
        harness_client_direct(&client, TOPIC, 0);
}

static void teardown(void)
{
        harness_client_stop(&client);
        harness_service_stop(&svc, 15000);
        harness_broker_stop(&broker);
        fake_openai_stop(fa);
        fake_openai_stop(fb);
        harness_proc_kill(&redis);
}

static void healthy(void)
{
        fake_openai_set(fa, &(struct fake_openai_mode){ .api_key = API_KEY });
        fake_openai_set(fb, &(struct fake_openai_mode){ 0 });
}

static cairn_err_t embed_opts(const char *model, char **inputs, size_t n, int64_t timeout_ms,
                              Cairn__Embedding__V1__EmbedReply **out, struct cairn_status *st)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        struct cairn_call_opts opts = { 0 };
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        req.inputs = inputs;
        req.n_inputs = n;
        req.model = (char *)model;
        opts.timeout_ms = timeout_ms;
        err = cairn_bus_call(client.cli, TOPIC, "tenant", &req.base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, st);
        *out = (Cairn__Embedding__V1__EmbedReply *)reply;
        return err;
}

static Cairn__Embedding__V1__EmbedReply *embed_ok(const char *model, char **inputs, size_t n)
{
        Cairn__Embedding__V1__EmbedReply *r = NULL;
        struct cairn_status st;
        cairn_err_t err = embed_opts(model, inputs, n, 20000, &r, &st);

        ck_assert_msg(err == CAIRN_OK, "embed %s: %s: %s", model, cairn_err_str(err), st.message);
        ck_assert_uint_eq(r->n_embeddings, n);
        return r;
}

/* Vector i of @p r is what the fake seeded @p seed gives inputs[i]. */
static void assert_vectors(const Cairn__Embedding__V1__EmbedReply *r, char **inputs, size_t n,
                           uint64_t seed)
{
        float want[DIM];

        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(r->embeddings[i]->index, i);
                ck_assert_uint_eq(r->embeddings[i]->n_vector, DIM);
                fake_openai_vector(seed, inputs[i], strlen(inputs[i]), want, DIM);
                for (size_t j = 0; j < DIM; j++)
                        ck_assert_msg(fabsf(r->embeddings[i]->vector[j] - want[j]) < 1e-6,
                                      "input %zu dimension %zu: %f, want %f", i, j,
                                      r->embeddings[i]->vector[j], want[j]);
        }
}

static double metric(const char *series)
{
        return harness_metric(svc.admin_port, series);
}

START_TEST(test_remote_vectors_in_order_with_api_key)
{
        char *inputs[] = { "the first text", "a second one", "third" };
        unsigned before = fake_openai_requests(fa);
        char model[128];
        Cairn__Embedding__V1__EmbedReply *r = embed_ok("remote", inputs, 3);

        ck_assert_str_eq(r->model, "remote");
        ck_assert_uint_eq(r->dimensions, DIM);
        assert_vectors(r, inputs, 3, SEED_A);
        ck_assert_uint_eq(fake_openai_requests(fa), before + 1);
        fake_openai_last_model(fa, model, sizeof(model));
        ck_assert_str_eq(model, "fake-embed-small");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* the key went upstream, never into the log */
        ck_assert_int_eq(harness_count_in_file(svc.log_path, API_KEY), 0);
}
END_TEST

START_TEST(test_cache_hits_skip_upstream)
{
        char *inputs[] = { "cache me please", "and me too" };
        char *mixed[] = { "and me too", "a text not seen before", "cache me please" };
        unsigned before, inputs_before;
        Cairn__Embedding__V1__EmbedReply *r;

        r = embed_ok("remote", inputs, 2);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        before = fake_openai_requests(fa);
        r = embed_ok("remote", inputs, 2);
        assert_vectors(r, inputs, 2, SEED_A);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_openai_requests(fa), before);
        ck_assert_double_ge(metric("cairn_embedding_cache_hits_total{model=\"remote\"}"), 2);

        /* hits and misses in one batch: only the miss goes upstream, order kept */
        inputs_before = fake_openai_inputs(fa);
        r = embed_ok("remote", mixed, 3);
        assert_vectors(r, mixed, 3, SEED_A);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_openai_requests(fa), before + 1);
        ck_assert_uint_eq(fake_openai_inputs(fa), inputs_before + 1);
}
END_TEST

START_TEST(test_batch_split_by_max_batch)
{
        char *inputs[10];
        char text[10][32];
        unsigned before = fake_openai_requests(fa);
        Cairn__Embedding__V1__EmbedReply *r;

        for (int i = 0; i < 10; i++) {
                snprintf(text[i], sizeof(text[i]), "split text %d", i);
                inputs[i] = text[i];
        }
        r = embed_ok("remote", inputs, 10);
        assert_vectors(r, inputs, 10, SEED_A);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* max_batch 4: 4 + 4 + 2 */
        ck_assert_uint_eq(fake_openai_requests(fa), before + 3);
}
END_TEST

START_TEST(test_connections_are_reused)
{
        unsigned conns = fake_openai_connections(fa), reqs = fake_openai_requests(fa);

        for (int i = 0; i < 10; i++) {
                char text[32];
                char *inputs[] = { text };

                snprintf(text, sizeof(text), "reuse %d", i);
                Cairn__Embedding__V1__EmbedReply *r = embed_ok("direct", inputs, 1);
                protobuf_c_message_free_unpacked(&r->base, NULL);
        }
        ck_assert_uint_eq(fake_openai_requests(fa), reqs + 10);
        ck_assert_msg(fake_openai_connections(fa) - conns <= 1,
                      "%u new connections for 10 sequential requests",
                      fake_openai_connections(fa) - conns);
}
END_TEST

START_TEST(test_truncate_end)
{
        /* direct: max_input_bytes 8, truncate end: the fake sees "abcdefgh" */
        char *inputs[] = { "abcdefghijkl" };
        char *cut[] = { "abcdefgh" };
        Cairn__Embedding__V1__EmbedReply *r = embed_ok("direct", inputs, 1);

        assert_vectors(r, cut, 1, SEED_A);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

static void expect_error(const char *model, cairn_err_t code, const char *needle)
{
        char *inputs[] = { "will this work" };
        Cairn__Embedding__V1__EmbedReply *r = NULL;
        struct cairn_status st;
        cairn_err_t err = embed_opts(model, inputs, 1, 20000, &r, &st);

        ck_assert_ptr_null(r);
        ck_assert_msg(err == code, "got %s (%s), want %s", cairn_err_str(err), st.message,
                      cairn_err_str(code));
        ck_assert_msg(strstr(st.message, needle) != NULL, "message \"%s\" lacks \"%s\"", st.message,
                      needle);
}

START_TEST(test_provider_4xx_surfaces)
{
        fake_openai_set(fa, &(struct fake_openai_mode){ .fail_status = 400,
                                                        .fail_count = -1,
                                                        .fail_message = "input is not allowed",
                                                        .api_key = API_KEY });
        expect_error("direct", CAIRN_ERR_INVALID, "input is not allowed");
        fake_openai_set(fa, &(struct fake_openai_mode){ .fail_status = 403,
                                                        .fail_count = -1,
                                                        .fail_message = "model access denied",
                                                        .api_key = API_KEY });
        expect_error("direct", CAIRN_ERR_PERMISSION, "model access denied");
        /* a wrong key: 401 from the provider */
        fake_openai_set(fa, &(struct fake_openai_mode){ .api_key = "another-key" });
        expect_error("direct", CAIRN_ERR_PERMISSION, "Incorrect API key");
        healthy();
}
END_TEST

START_TEST(test_malformed_and_wrong_dimensions)
{
        fake_openai_set(fa, &(struct fake_openai_mode){ .malformed = true, .api_key = API_KEY });
        expect_error("direct", CAIRN_ERR_UNAVAILABLE, "not JSON");
        fake_openai_set(fa, &(struct fake_openai_mode){ .wrong_dim = 32, .api_key = API_KEY });
        expect_error("direct", CAIRN_ERR_UNAVAILABLE, "32 dimensions");
        healthy();
        /* and the service goes on answering */
        char *inputs[] = { "fine again" };
        Cairn__Embedding__V1__EmbedReply *r = embed_ok("direct", inputs, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(test_429_retry_after_is_honoured)
{
        char *inputs[] = { "ratelim" };
        unsigned before = fake_openai_requests(fa);
        int64_t prev, last;
        Cairn__Embedding__V1__EmbedReply *r;

        fake_openai_set(fa, &(struct fake_openai_mode){ .fail_status = 429,
                                                        .fail_count = 1,
                                                        .retry_after = "1",
                                                        .api_key = API_KEY });
        r = embed_ok("direct", inputs, 1);
        assert_vectors(r, inputs, 1, SEED_A);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_openai_requests(fa), before + 2);
        fake_openai_last_times(fa, &prev, &last);
        ck_assert_msg(last - prev >= 950, "retried after %lld ms, Retry-After said 1 s",
                      (long long)(last - prev));

        /* a Retry-After past the deadline: no second attempt, a clear error */
        before = fake_openai_requests(fa);
        fake_openai_set(fa, &(struct fake_openai_mode){ .fail_status = 429,
                                                        .fail_count = 1,
                                                        .retry_after = "30",
                                                        .api_key = API_KEY });
        Cairn__Embedding__V1__EmbedReply *none = NULL;
        struct cairn_status st;
        cairn_err_t err = embed_opts("direct", inputs, 1, 5000, &none, &st);
        ck_assert_int_eq(err, CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(strstr(st.message, "Retry-After") != NULL, "%s", st.message);
        ck_assert_uint_eq(fake_openai_requests(fa), before + 1);
        healthy();
}
END_TEST

START_TEST(test_deadline_aborts_upstream_request)
{
        char *inputs[] = { "this one is slow" };
        Cairn__Embedding__V1__EmbedReply *r = NULL;
        struct cairn_status st;
        unsigned aborted = fake_openai_aborted(fa);
        cairn_err_t err;

        fake_openai_set(fa, &(struct fake_openai_mode){ .delay_ms = 4000, .api_key = API_KEY });
        err = embed_opts("direct", inputs, 1, 700, &r, &st);
        ck_assert_int_eq(err, CAIRN_ERR_DEADLINE);
        /* the service gave up at the deadline and closed the connection */
        for (int i = 0; i < 300 && fake_openai_aborted(fa) == aborted; i++)
                msleep(10);
        ck_assert_uint_eq(fake_openai_aborted(fa), aborted + 1);
        healthy();
        ck_assert_double_ge(metric("cairn_embedding_upstream_requests_total{model=\"direct\","
                                   "code=\"timeout\"}"),
                            1);
}
END_TEST

START_TEST(test_fallback_then_breaker_opens_and_recovers)
{
        char *inputs[] = { "primary is down" };
        char *later[] = { "primary is down still" };
        char *again[] = { "primary is back" };
        Cairn__Embedding__V1__EmbedReply *r;
        unsigned a;

        fake_openai_set(fa, &(struct fake_openai_mode){
                                    .fail_status = 503, .fail_count = -1, .api_key = API_KEY });
        r = embed_ok("remote", inputs, 1);
        /* answered by the fallback, and the reply says so */
        ck_assert_str_eq(r->model, "backup");
        assert_vectors(r, inputs, 1, SEED_B);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* 3 attempts failed: the breaker of "remote" is open now */
        a = fake_openai_requests(fa);
        r = embed_ok("remote", later, 1);
        ck_assert_str_eq(r->model, "backup");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_openai_requests(fa), a);
        ck_assert_double_ge(metric("cairn_embedding_fallbacks_total{model=\"remote\","
                                   "answered_by=\"backup\"}"),
                            2);

        /* the primary recovers; after breaker_open_ms a probe goes through */
        healthy();
        msleep(1200);
        r = embed_ok("remote", again, 1);
        ck_assert_str_eq(r->model, "remote");
        assert_vectors(r, again, 1, SEED_A);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_uint_eq(fake_openai_requests(fa), a + 1);
}
END_TEST

START_TEST(test_redis_down_still_answers)
{
        char *inputs[] = { "redis is gone", "but answers come" };
        double errors = metric("cairn_embedding_cache_errors_total{model=\"remote\"}");
        Cairn__Embedding__V1__EmbedReply *r;

        harness_proc_kill(&redis);
        r = embed_ok("remote", inputs, 2);
        assert_vectors(r, inputs, 2, SEED_A);
        ck_assert_str_eq(r->model, "remote");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_double_gt(metric("cairn_embedding_cache_errors_total{model=\"remote\"}"),
                            errors < 0 ? 0 : errors);
}
END_TEST

struct pooled_call {
        char text[32];
        cairn_err_t err;
        char model[32];
        float first;
};

static atomic_int pooled_left;

static void pooled_cb(const struct cairn_reply *reply, void *opaque)
{
        struct pooled_call *pc = opaque;
        Cairn__Embedding__V1__EmbedReply *r = NULL;

        pc->err = reply->err;
        if (reply->err == CAIRN_OK)
                r = cairn__embedding__v1__embed_reply__unpack(NULL, reply->len, reply->payload);
        if (r && r->n_embeddings == 1 && r->embeddings[0]->n_vector == DIM) {
                snprintf(pc->model, sizeof(pc->model), "%s", r->model);
                pc->first = r->embeddings[0]->vector[0];
        } else if (pc->err == CAIRN_OK) {
                pc->err = CAIRN_ERR_INTERNAL;
        }
        if (r)
                cairn__embedding__v1__embed_reply__free_unpacked(r, NULL);
        atomic_fetch_sub(&pooled_left, 1);
}

START_TEST(test_concurrent_requests_share_upstream_calls)
{
        enum { N = 12 };
        struct pooled_call calls[N] = { 0 };
        unsigned before = fake_openai_requests(fa);
        struct cairn_status st;

        atomic_store(&pooled_left, N);
        for (int i = 0; i < N; i++) {
                Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
                char *inputs[] = { calls[i].text };
                char key[16];

                snprintf(calls[i].text, sizeof(calls[i].text), "pooled %d", i);
                snprintf(key, sizeof(key), "key-%d", i);
                req.inputs = inputs;
                req.n_inputs = 1;
                req.model = "pooled";
                ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, key, &req.base, NULL,
                                                      pooled_cb, &calls[i], &st),
                                 CAIRN_OK);
        }
        for (int i = 0; i < 3000 && atomic_load(&pooled_left) > 0; i++)
                msleep(10);
        ck_assert_int_eq(atomic_load(&pooled_left), 0);
        for (int i = 0; i < N; i++) {
                float want[DIM];

                ck_assert_msg(calls[i].err == CAIRN_OK, "call %d: %s", i,
                              cairn_err_str(calls[i].err));
                ck_assert_str_eq(calls[i].model, "pooled");
                fake_openai_vector(SEED_A, calls[i].text, strlen(calls[i].text), want, DIM);
                ck_assert(fabsf(calls[i].first - want[0]) < 1e-6);
        }
        /* a 100 ms window: twelve requests arriving together need far fewer calls */
        ck_assert_msg(fake_openai_requests(fa) - before <= N / 2,
                      "%u upstream requests for %d concurrent texts",
                      fake_openai_requests(fa) - before, N);
}
END_TEST

START_TEST(test_list_models)
{
        Cairn__Embedding__V1__ListModelsRequest req =
                CAIRN__EMBEDDING__V1__LIST_MODELS_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;
        struct cairn_status st;
        cairn_err_t err = cairn_bus_call(client.cli, TOPIC, "tenant", &req.base, NULL,
                                         &cairn__embedding__v1__list_models_reply__descriptor, NULL,
                                         &reply, &st);
        Cairn__Embedding__V1__ListModelsReply *r = (Cairn__Embedding__V1__ListModelsReply *)reply;

        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_uint_eq(r->n_models, 5);
        ck_assert_str_eq(r->models[1]->name, "remote");
        ck_assert_str_eq(r->models[1]->provider, "openai");
        ck_assert_uint_eq(r->models[1]->dimensions, DIM);
        protobuf_c_message_free_unpacked(reply, NULL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0012-embedding_providers");
        TCase *tc = tcase_create("providers");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_remote_vectors_in_order_with_api_key);
        tcase_add_test(tc, test_cache_hits_skip_upstream);
        tcase_add_test(tc, test_batch_split_by_max_batch);
        tcase_add_test(tc, test_connections_are_reused);
        tcase_add_test(tc, test_truncate_end);
        tcase_add_test(tc, test_provider_4xx_surfaces);
        tcase_add_test(tc, test_malformed_and_wrong_dimensions);
        tcase_add_test(tc, test_429_retry_after_is_honoured);
        tcase_add_test(tc, test_deadline_aborts_upstream_request);
        tcase_add_test(tc, test_fallback_then_breaker_opens_and_recovers);
        tcase_add_test(tc, test_concurrent_requests_share_upstream_calls);
        tcase_add_test(tc, test_list_models);
        tcase_add_test(tc, test_redis_down_still_answers);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

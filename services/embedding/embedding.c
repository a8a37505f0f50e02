/* The embedding service's requests are checked and answered here: one
 * handler per ce_type, over the decoded protobuf-c messages.
 *
 * protobuf-c hands string fields over as NUL-terminated C strings without
 * their length, so a text with an embedded NUL (which the wire format
 * allows) is read up to that NUL and the rest of it is ignored. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/utf8.h"
#include "cairn/v1/common.pb-c.h"
#include "embedding.h"

#define MODEL_PROVIDER "lexical"
#define MODEL_DESCRIPTION                                                                   \
        "hashed word unigrams, bigrams and character 3- to 5-grams: lexical overlap, not "  \
        "meaning; also answers to \"" EMBEDDING_MODEL_ALIAS "\"; fewer dimensions (down to " \
        "16) hash into fewer buckets and are not comparable with other sizes"

/* Longest model name we repeat back in an error message. */
#define ECHO_MAX 64

/* Lexical scratch space, reused from request to request: once every worker
 * has one big enough, embedding allocates nothing but the reply. */
struct embedding_scratch {
        struct embedding_scratch *next;
        struct lexical_scratch *lex;
};

static const double input_bytes_buckets[] = { 16, 64, 256, 1024, 4096, 16384, 65536 };

const struct cairn_handler embedding_handlers[] = {
        { &cairn__embedding__v1__embed_request__descriptor, embedding_embed_handle },
        { &cairn__embedding__v1__list_models_request__descriptor, embedding_list_models_handle },
        { NULL, NULL },
};

cairn_err_t embedding_service_init(struct embedding_service *svc, const struct embedding_conf *conf,
                                   struct cairn_metrics *metrics, char *errstr, size_t errstr_size)
{
        if (embedding_conf_check(conf, errstr, errstr_size) != 0)
                return CAIRN_ERR_INVALID;
        memset(svc, 0, sizeof(*svc));
        svc->conf = *conf;
        lexical_model_init(&svc->model, (size_t)conf->dimensions);
        snprintf(svc->model_name, sizeof(svc->model_name), "%s-%lld", EMBEDDING_MODEL_ALIAS,
                 conf->dimensions);
        if (metrics) {
                struct cairn_metric *m;

                m = cairn_metrics_counter(metrics, "cairn_embedding_inputs_total",
                                          "Texts embedded, by model",
                                          (const char *const[]){ "model", NULL });
                svc->inputs_total =
                        cairn_metric_series(m, (const char *const[]){ svc->model_name });
                m = cairn_metrics_histogram(metrics, "cairn_embedding_input_bytes",
                                            "Size of each embedded text in bytes", NULL,
                                            input_bytes_buckets,
                                            sizeof(input_bytes_buckets) /
                                                    sizeof(input_bytes_buckets[0]));
                svc->input_bytes = cairn_metric_series(m, NULL);
        }
        pthread_mutex_init(&svc->lock, NULL);
        return CAIRN_OK;
}

void embedding_service_cleanup(struct embedding_service *svc)
{
        struct embedding_scratch *s = svc->idle;

        while (s) {
                struct embedding_scratch *next = s->next;

                lexical_scratch_free(s->lex);
                free(s);
                s = next;
        }
        svc->idle = NULL;
        pthread_mutex_destroy(&svc->lock);
}

/* Takes idle scratch space, or makes new; NULL when out of memory. */
static struct embedding_scratch *scratch_get(struct embedding_service *svc)
{
        struct embedding_scratch *s;

        pthread_mutex_lock(&svc->lock);
        s = svc->idle;
        if (s)
                svc->idle = s->next;
        pthread_mutex_unlock(&svc->lock);
        if (s)
                return s;
        s = malloc(sizeof(*s));
        if (!s)
                return NULL;
        s->lex = lexical_scratch_new();
        if (!s->lex) {
                free(s);
                return NULL;
        }
        return s;
}

static void scratch_put(struct embedding_service *svc, struct embedding_scratch *s)
{
        pthread_mutex_lock(&svc->lock);
        s->next = svc->idle;
        svc->idle = s;
        pthread_mutex_unlock(&svc->lock);
}

static bool model_known(const struct embedding_service *svc, const char *name)
{
        return name[0] == '\0' || strcmp(name, svc->model_name) == 0 ||
               strcmp(name, EMBEDDING_MODEL_ALIAS) == 0;
}

/* Whether @p s is short, plain ASCII that can be repeated in a message. */
static bool printable(const char *s)
{
        size_t i;

        for (i = 0; s[i] && i <= ECHO_MAX; i++)
                if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
                        return false;
        return i <= ECHO_MAX;
}

/* The request as a whole: batch size, model, dimensions. Sets *@p dim. */
static cairn_err_t check_request(const struct embedding_service *svc,
                                 const Cairn__Embedding__V1__EmbedRequest *in, size_t *dim,
                                 struct cairn_status *st)
{
        const char *model = in->model ? in->model : "";
        size_t native = svc->model.dim;

        if (in->n_inputs == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "inputs", "EMPTY_BATCH",
                                        "inputs: empty; send at least one text");
        if (in->n_inputs > (size_t)svc->conf.max_inputs)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "inputs", "TOO_MANY_INPUTS",
                                        "inputs: %zu texts, more than the limit of %lld a request",
                                        in->n_inputs, svc->conf.max_inputs);
        if (!model_known(svc, model)) {
                bool echo = printable(model);

                return cairn_status_set(st, CAIRN_ERR_INVALID, "model", "UNKNOWN_MODEL",
                                        "model: %s%s%s is not served here; the known model is "
                                        "%s (alias %s)",
                                        echo ? "\"" : "", echo ? model : "the requested model",
                                        echo ? "\"" : "", svc->model_name, EMBEDDING_MODEL_ALIAS);
        }
        if (in->dimensions != 0 &&
            (in->dimensions < EMBEDDING_DIMENSIONS_MIN || in->dimensions > native))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "dimensions", "INVALID_DIMENSIONS",
                                        "dimensions: %u is outside %d..%zu (0 means the "
                                        "model's %zu)",
                                        (unsigned)in->dimensions, EMBEDDING_DIMENSIONS_MIN, native,
                                        native);
        *dim = in->dimensions ? in->dimensions : native;
        return CAIRN_OK;
}

static cairn_err_t check_input(const struct embedding_service *svc, const char *text, size_t i,
                               struct cairn_status *st)
{
        char field[32];
        size_t len = strlen(text);

        snprintf(field, sizeof(field), "inputs[%zu]", i);
        if (len == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "EMPTY_INPUT",
                                        "%s: empty; every text needs at least one character",
                                        field);
        if (len > (size_t)svc->conf.max_input_bytes)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "INPUT_TOO_LARGE",
                                        "%s: %zu bytes, more than the limit of %lld", field, len,
                                        svc->conf.max_input_bytes);
        if (!cairn_utf8_valid(text, len))
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "INVALID_UTF8",
                                        "%s: not valid UTF-8", field);
        return CAIRN_OK;
}

/* An empty reply for @p n vectors of @p dim floats, from @p arena; NULL
 * when the arena's limit does not allow it. */
static Cairn__Embedding__V1__EmbedReply *reply_new(struct cairn_arena *arena, size_t n, size_t dim)
{
        Cairn__Embedding__V1__EmbedReply *out = cairn_arena_alloc(arena, sizeof(*out));
        Cairn__V1__Usage *usage = cairn_arena_alloc(arena, sizeof(*usage));
        Cairn__Embedding__V1__Embedding **ptrs = cairn_arena_calloc(arena, n, sizeof(*ptrs));
        Cairn__Embedding__V1__Embedding *embs = cairn_arena_calloc(arena, n, sizeof(*embs));
        float *vectors = cairn_arena_calloc(arena, n * dim, sizeof(*vectors));

        if (!out || !usage || !ptrs || !embs || !vectors)
                return NULL;
        cairn__embedding__v1__embed_reply__init(out);
        cairn__v1__usage__init(usage);
        for (size_t i = 0; i < n; i++) {
                cairn__embedding__v1__embedding__init(&embs[i]);
                embs[i].index = (uint32_t)i;
                embs[i].n_vector = dim;
                embs[i].vector = vectors + i * dim;
                ptrs[i] = &embs[i];
        }
        out->dimensions = (uint32_t)dim;
        out->n_embeddings = n;
        out->embeddings = ptrs;
        out->usage = usage;
        return out;
}

cairn_err_t embedding_embed_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                   ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Embedding__V1__EmbedRequest *in =
                (const Cairn__Embedding__V1__EmbedRequest *)msg;
        struct embedding_service *svc = req->opaque;
        Cairn__Embedding__V1__EmbedReply *out;
        struct embedding_scratch *scr;
        uint64_t tokens = 0;
        size_t dim = 0;
        cairn_err_t err;

        err = check_request(svc, in, &dim, st);
        if (err)
                return err;
        for (size_t i = 0; i < in->n_inputs; i++) {
                err = check_input(svc, in->inputs[i] ? in->inputs[i] : "", i, st);
                if (err)
                        return err;
        }

        out = reply_new(req->arena, in->n_inputs, dim);
        if (!out)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                        "a reply of %zu vectors of %zu dimensions does not fit "
                                        "in this request's memory (bus.max_request_bytes)",
                                        in->n_inputs, dim);
        scr = scratch_get(svc);
        if (!scr)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory for embedding");
        for (size_t i = 0; i < in->n_inputs; i++) {
                const char *text = in->inputs[i];
                size_t len = strlen(text);
                size_t ntokens = 0;

                if (lexical_embed(&svc->model, scr->lex, text, len, out->embeddings[i]->vector,
                                  dim, &ntokens) != 0) {
                        scratch_put(svc, scr);
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of memory embedding inputs[%zu]", i);
                }
                tokens += ntokens;
                if (svc->input_bytes)
                        cairn_series_observe(svc->input_bytes, (double)len);
        }
        scratch_put(svc, scr);
        if (svc->inputs_total)
                cairn_series_add(svc->inputs_total, (double)in->n_inputs);

        out->model = svc->model_name;
        out->usage->input_tokens = tokens > UINT32_MAX ? UINT32_MAX : (uint32_t)tokens;
        out->usage->total_tokens = out->usage->input_tokens;
        *reply = &out->base;
        return CAIRN_OK;
}

cairn_err_t embedding_list_models_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st)
{
        struct embedding_service *svc = req->opaque;
        Cairn__Embedding__V1__ListModelsReply *out = cairn_arena_alloc(req->arena, sizeof(*out));
        Cairn__Embedding__V1__ModelInfo *info = cairn_arena_alloc(req->arena, sizeof(*info));
        Cairn__Embedding__V1__ModelInfo **models = cairn_arena_alloc(req->arena, sizeof(*models));

        (void)msg;
        if (!out || !info || !models)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory for the model list");
        cairn__embedding__v1__list_models_reply__init(out);
        cairn__embedding__v1__model_info__init(info);
        info->name = svc->model_name;
        info->dimensions = (uint32_t)svc->model.dim;
        info->provider = MODEL_PROVIDER;
        info->description = MODEL_DESCRIPTION;
        models[0] = info;
        out->n_models = 1;
        out->models = models;
        *reply = &out->base;
        return CAIRN_OK;
}

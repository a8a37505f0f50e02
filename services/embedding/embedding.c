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

#include "batcher.h"
#include "cairn/arena.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/file.h"
#include "cairn/log.h"
#include "cairn/redis.h"
#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "cairn/strlist.h"
#include "cairn/utf8.h"
#include "cairn/v1/common.pb-c.h"
#include "embedding.h"
#include "provider.h"

#define MODEL_DESCRIPTION                                                                    \
        "hashed word unigrams, bigrams and character 3- to 5-grams: lexical overlap, not "   \
        "meaning; also answers to \"" EMBEDDING_MODEL_ALIAS "\"; fewer dimensions (down to " \
        "16) hash into fewer buckets and are not comparable with other sizes"

/* Longest model name we repeat back in an error message. */
#define ECHO_MAX 64

#define REMOTE_DESCRIPTION "served by an OpenAI-compatible provider"
#define BERT_DESCRIPTION                                                                   \
        "a BERT sentence-transformers model run in the service: meaning, not just shared " \
        "words; longer texts are cut to its token limit"

static const double input_bytes_buckets[] = { 16, 64, 256, 1024, 4096, 16384, 65536 };

const struct cairn_handler embedding_handlers[] = {
        { &cairn__embedding__v1__embed_request__descriptor, embedding_embed_handle },
        { &cairn__embedding__v1__list_models_request__descriptor, embedding_list_models_handle },
        { NULL, NULL },
};

static const char *str(const char *s)
{
        return s ? s : "";
}

static void model_metrics(struct embedding_model *m, struct cairn_metrics *metrics)
{
        struct cairn_metric *f;

        if (!metrics)
                return;
        f = cairn_metrics_counter(metrics, "cairn_embedding_inputs_total",
                                  "Texts embedded, by model",
                                  (const char *const[]){ "model", NULL });
        m->inputs_total = cairn_metric_series(f, (const char *const[]){ m->name });
}

/* Sets up model slot @p n (1-based) of @p conf as @p m. */
static cairn_err_t slot_init(struct embedding_service *svc, struct embedding_model *m, int n,
                             const struct embedding_deps *deps, struct cairn_metrics *metrics,
                             char *errstr, size_t errstr_size)
{
        const struct embedding_model_conf *mc = &svc->conf.models[n - 1];
        const char *cache = str(mc->cache);
        bool remote = strcmp(str(mc->provider), "openai") == 0;
        bool bert = strcmp(str(mc->provider), "bert") == 0;

        snprintf(m->name, sizeof(m->name), "%s", mc->name);
        snprintf(m->kind, sizeof(m->kind), "%s", remote ? "openai" : bert ? "bert" : "lexical");
        m->aliases = str(mc->aliases);
        /* A bert model's cache key holds its name (or upstream_model), not its
         * directory: a new directory under the same name needs a new name or
         * a flushed cache (docs/embedding.md). */
        snprintf(m->upstream, sizeof(m->upstream), "%s",
                 str(mc->upstream_model)[0] ? mc->upstream_model : mc->name);
        m->dim = remote ? (size_t)mc->dimensions : svc->model.dim;
        m->max_input_bytes = mc->max_input_bytes ? (size_t)mc->max_input_bytes
                                                 : (size_t)svc->conf.max_input_bytes;
        m->truncate = strcmp(str(mc->truncate), "start") == 0 ? EMBEDDING_TRUNCATE_START
                      : strcmp(str(mc->truncate), "end") == 0 ? EMBEDDING_TRUNCATE_END
                                                              : EMBEDDING_TRUNCATE_ERROR;
        /* auto: a BERT forward pass costs more than a Redis round trip too */
        m->cache = strcmp(cache, "on") == 0 || (strcmp(cache, "auto") == 0 && (remote || bert));
        model_metrics(m, metrics);
        if (bert) {
                struct provider_bert_conf bc;
                char key[64];

                snprintf(key, sizeof(key), "embedding.models.%d.dir", n);
                bc.name = m->name;
                bc.dir = mc->dir;
                bc.key = key;
                bc.threads = (size_t)mc->threads;
                m->provider = provider_bert_new(&bc, &m->dim, errstr, errstr_size);
                if (!m->provider)
                        return CAIRN_ERR_INVALID;
                if (mc->dimensions != 0 && (size_t)mc->dimensions != m->dim) {
                        snprintf(errstr, errstr_size,
                                 "config: embedding.models.%d.dimensions: %lld, but the model in "
                                 "%s has %zu (leave it out, or set %zu)",
                                 n, mc->dimensions, mc->dir, m->dim, m->dim);
                        return CAIRN_ERR_INVALID;
                }
                if (mc->batch_wait_us > 0) {
                        m->batcher = batcher_new(m->provider, m->name, m->dim,
                                                 (size_t)mc->max_batch, mc->batch_wait_us, metrics);
                        if (!m->batcher) {
                                snprintf(errstr, errstr_size, "out of memory");
                                return CAIRN_ERR_EXHAUSTED;
                        }
                }
        } else if (!remote) {
                m->provider = provider_lexical_new(&svc->model);
        } else {
                struct provider_openai_conf pc;
                struct cairn_resilience_conf rc;
                char key[64];
                char *api_key = NULL;

                struct cairn_secret_ref *key_ref = NULL;

                if (str(mc->api_key_file)[0]) {
                        snprintf(key, sizeof(key), "embedding.models.%d.api_key_file", n);
                        api_key = cairn_secret_file_token(key, mc->api_key_file, errstr,
                                                          errstr_size);
                        if (!api_key)
                                return CAIRN_ERR_INVALID;
                } else if (str(mc->api_key_secret)[0]) {
                        snprintf(key, sizeof(key), "embedding.models.%d.api_key_secret", n);
                        if (!deps || !deps->secrets) {
                                snprintf(errstr, errstr_size,
                                         "config: %s: no client of the secrets service to "
                                         "fetch it with",
                                         key);
                                return CAIRN_ERR_INVALID;
                        }
                        /* Fetched in the background: the service starts
                         * whether or not the secrets service is up. */
                        key_ref = cairn_secret_ref_add(deps->secrets, key, mc->api_key_secret,
                                                       CAIRN_SECRET_TOKEN, errstr, errstr_size);
                        if (!key_ref)
                                return CAIRN_ERR_INVALID;
                }
                if (deps && deps->resilience)
                        rc = *deps->resilience;
                else
                        cairn_resilience_conf_init(&rc, "embedding_provider");
                /* Each model is a dependency of its own: its own breaker and bulkhead. */
                snprintf(rc.dependency, sizeof(rc.dependency), "embedding:%.50s", m->name);
                memset(&pc, 0, sizeof(pc));
                pc.name = m->name;
                pc.base_url = mc->base_url;
                pc.upstream_model = m->upstream;
                pc.dimensions = m->dim;
                pc.send_dimensions = mc->send_dimensions;
                pc.base64 = strcmp(str(mc->encoding), "float") != 0;
                pc.max_batch = (size_t)mc->max_batch;
                pc.api_key = api_key;
                pc.api_key_ref = key_ref;
                pc.connect_timeout_ms = svc->conf.connect_timeout_ms;
                pc.max_response_bytes = (size_t)svc->conf.max_response_bytes;
                m->provider = provider_openai_new(&pc, &rc, metrics, errstr, errstr_size);
                if (api_key) {
                        explicit_bzero(api_key, strlen(api_key));
                        free(api_key);
                }
                if (!m->provider)
                        return CAIRN_ERR_INTERNAL;
                if (mc->batch_wait_us > 0) {
                        m->batcher = batcher_new(m->provider, m->name, m->dim,
                                                 (size_t)mc->max_batch, mc->batch_wait_us, metrics);
                        if (!m->batcher) {
                                snprintf(errstr, errstr_size, "out of memory");
                                return CAIRN_ERR_EXHAUSTED;
                        }
                }
        }
        if (!m->provider) {
                snprintf(errstr, errstr_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        if (m->aliases[0])
                snprintf(m->description, sizeof(m->description), "%s; also answers to %s",
                         bert     ? BERT_DESCRIPTION
                         : remote ? REMOTE_DESCRIPTION
                                  : MODEL_DESCRIPTION,
                         m->aliases);
        else
                snprintf(m->description, sizeof(m->description), "%s",
                         bert     ? BERT_DESCRIPTION
                         : remote ? REMOTE_DESCRIPTION
                                  : MODEL_DESCRIPTION);
        return CAIRN_OK;
}

/* Whether @p m answers to @p name through one of its aliases. */
static bool alias_of(const struct embedding_model *m, const char *name)
{
        const char *alias;
        struct cairn_strlist it;
        size_t len, nlen = strlen(name);

        if (!m->aliases || !m->aliases[0])
                return false;
        cairn_strlist_init(&it, m->aliases, strlen(m->aliases));
        while (cairn_strlist_next(&it, &alias, &len))
                if (len == nlen && memcmp(alias, name, len) == 0)
                        return true;
        return false;
}

struct embedding_model *embedding_model_find(struct embedding_service *svc, const char *name)
{
        if (!name || !name[0])
                return svc->default_model;
        if (strcmp(name, EMBEDDING_MODEL_ALIAS) == 0)
                return &svc->models[0];
        for (size_t i = 0; i < svc->nmodels; i++)
                if (strcmp(svc->models[i].name, name) == 0)
                        return &svc->models[i];
        for (size_t i = 1; i < svc->nmodels; i++)
                if (alias_of(&svc->models[i], name))
                        return &svc->models[i];
        return NULL;
}

/* Resolves slot @p n's fallback names (checked by the configuration, but
 * for the sizes of bert models, known only now). Returns 0, or -1 with
 * @p errstr. */
static int fallbacks_resolve(struct embedding_service *svc, struct embedding_model *m, int n,
                             char *errstr, size_t errstr_size)
{
        const char *list = str(svc->conf.models[n - 1].fallbacks), *name;
        struct cairn_strlist it;
        size_t len;

        cairn_strlist_init(&it, list, strlen(list));
        while (cairn_strlist_next(&it, &name, &len)) {
                char fb[128];
                struct embedding_model *f;

                if (len == 0 || len >= sizeof(fb))
                        continue;
                memcpy(fb, name, len);
                fb[len] = '\0';
                f = embedding_model_find(svc, fb);
                if (f && f->dim != m->dim) {
                        snprintf(errstr, errstr_size,
                                 "config: embedding.models.%d.fallbacks: \"%s\" has %zu "
                                 "dimensions but %s has %zu: a fallback must give vectors of the "
                                 "same size",
                                 n, fb, f->dim, m->name, m->dim);
                        return -1;
                }
                if (f && f != m && m->nfallbacks < EMBEDDING_MODEL_SLOTS)
                        m->fallbacks[m->nfallbacks++] = f;
        }
        return 0;
}

cairn_err_t embedding_service_init_with(struct embedding_service *svc,
                                        const struct embedding_conf *conf,
                                        const struct embedding_deps *deps,
                                        struct cairn_metrics *metrics, char *errstr,
                                        size_t errstr_size)
{
        struct embedding_model *lex;
        size_t maxdim = 0;
        cairn_err_t err;

        if (embedding_conf_check(conf, errstr, errstr_size) != 0)
                return CAIRN_ERR_INVALID;
        memset(svc, 0, sizeof(*svc));
        svc->conf = *conf;
        lexical_model_init(&svc->model, (size_t)conf->dimensions);
        snprintf(svc->model_name, sizeof(svc->model_name), "%s-%lld", EMBEDDING_MODEL_ALIAS,
                 conf->dimensions);
        lex = &svc->models[0];
        snprintf(lex->name, sizeof(lex->name), "%s", svc->model_name);
        snprintf(lex->kind, sizeof(lex->kind), "lexical");
        snprintf(lex->upstream, sizeof(lex->upstream), "%s", svc->model_name);
        lex->dim = svc->model.dim;
        lex->native_lexical = true;
        lex->max_input_bytes = (size_t)conf->max_input_bytes;
        lex->provider = provider_lexical_new(&svc->model);
        if (!lex->provider) {
                snprintf(errstr, errstr_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        model_metrics(lex, metrics);
        svc->nmodels = 1;
        embed_cache_init(&svc->cache, conf->cache_enabled && deps ? deps->redis : NULL,
                         conf->cache_ttl_s, (size_t)conf->cache_max_entry_bytes, metrics);
        for (int n = 1; n <= EMBEDDING_MODEL_SLOTS; n++) {
                if (!str(conf->models[n - 1].name)[0])
                        continue;
                err = slot_init(svc, &svc->models[svc->nmodels], n, deps, metrics, errstr,
                                errstr_size);
                svc->nmodels++;
                if (err) {
                        embedding_service_cleanup(svc);
                        return err;
                }
        }
        for (int n = 1, i = 1; n <= EMBEDDING_MODEL_SLOTS; n++) {
                if (!str(conf->models[n - 1].name)[0])
                        continue;
                if (fallbacks_resolve(svc, &svc->models[i++], n, errstr, errstr_size) != 0) {
                        embedding_service_cleanup(svc);
                        return CAIRN_ERR_INVALID;
                }
        }
        /* The largest reply again, with the loaded models' sizes. */
        for (size_t i = 0; i < svc->nmodels; i++)
                if (svc->models[i].dim > maxdim)
                        maxdim = svc->models[i].dim;
        if (embedding_conf_check_reply(&svc->conf, (long long)maxdim, errstr, errstr_size) != 0) {
                embedding_service_cleanup(svc);
                return CAIRN_ERR_INVALID;
        }
        svc->default_model = &svc->models[0];
        if (str(conf->default_model)[0])
                svc->default_model = embedding_model_find(svc, conf->default_model);
        if (metrics) {
                struct cairn_metric *m;

                m = cairn_metrics_histogram(metrics, "cairn_embedding_input_bytes",
                                            "Size of each embedded text in bytes", NULL,
                                            input_bytes_buckets,
                                            sizeof(input_bytes_buckets) /
                                                    sizeof(input_bytes_buckets[0]));
                svc->input_bytes = cairn_metric_series(m, NULL);
                svc->m_fallbacks = cairn_metrics_counter(
                        metrics, "cairn_embedding_fallbacks_total",
                        "Requests answered by a fallback model because the model asked for was "
                        "unavailable",
                        (const char *const[]){ "model", "answered_by", NULL });
        }
        return CAIRN_OK;
}

void embedding_service_cleanup(struct embedding_service *svc)
{
        for (size_t i = 0; i < svc->nmodels; i++) {
                batcher_free(svc->models[i].batcher);
                provider_free(svc->models[i].provider);
                svc->models[i].batcher = NULL;
                svc->models[i].provider = NULL;
        }
        svc->nmodels = 0;
}

/* Whether @p s is short, plain ASCII that can be repeated in a message. */
static bool printable(const char *s)
{
        size_t i;

        for (i = 0; i <= ECHO_MAX && s[i]; i++)
                if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
                        return false;
        return i <= ECHO_MAX;
}

/* The names of the served models, for an error message. */
static void models_list(const struct embedding_service *svc, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < svc->nmodels && len + 1 < size; i++) {
                int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", svc->models[i].name);

                if (w < 0)
                        break;
                len += (size_t)w;
        }
}

/* The request as a whole: batch size, model, dimensions. Sets *@p model
 * and *@p dim. */
static cairn_err_t check_request(struct embedding_service *svc,
                                 const Cairn__Embedding__V1__EmbedRequest *in,
                                 struct embedding_model **model, size_t *dim,
                                 struct cairn_status *st)
{
        const char *name = in->model ? in->model : "";
        struct embedding_model *m;

        if (in->n_inputs == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "inputs", "EMPTY_BATCH",
                                        "inputs: empty; send at least one text");
        if (in->n_inputs > (size_t)svc->conf.max_inputs)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "inputs", "TOO_MANY_INPUTS",
                                        "inputs: %zu texts, more than the limit of %lld a request",
                                        in->n_inputs, svc->conf.max_inputs);
        m = embedding_model_find(svc, name);
        if (!m) {
                bool echo = printable(name);
                char known[256];

                models_list(svc, known, sizeof(known));
                return cairn_status_set(st, CAIRN_ERR_INVALID, "model", "UNKNOWN_MODEL",
                                        "model: %s%s%s is not served here; the known models are "
                                        "%s (alias %s)",
                                        echo ? "\"" : "", echo ? name : "the requested model",
                                        echo ? "\"" : "", known, EMBEDDING_MODEL_ALIAS);
        }
        if (m->native_lexical) {
                if (in->dimensions != 0 &&
                    (in->dimensions < EMBEDDING_DIMENSIONS_MIN || in->dimensions > m->dim))
                        return cairn_status_set(st, CAIRN_ERR_INVALID, "dimensions",
                                                "INVALID_DIMENSIONS",
                                                "dimensions: %u is outside %d..%zu, the range of "
                                                "model %s (leave it out for all %zu)",
                                                (unsigned)in->dimensions, EMBEDDING_DIMENSIONS_MIN,
                                                m->dim, m->name, m->dim);
        } else if (in->dimensions != 0 && in->dimensions != m->dim) {
                return cairn_status_set(st, CAIRN_ERR_INVALID, "dimensions", "INVALID_DIMENSIONS",
                                        "dimensions: %u is not %zu, the only size of model %s "
                                        "(leave it out, or send %zu)",
                                        (unsigned)in->dimensions, m->dim, m->name, m->dim);
        }
        *model = m;
        *dim = in->dimensions ? in->dimensions : m->dim;
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

/* Cuts the texts that are too long for @p m as its policy says. Fills
 * @p texts / @p lens with what goes to the provider. */
static cairn_err_t apply_limits(const struct embedding_model *m, char **inputs, size_t n,
                                const char **texts, size_t *lens, struct cairn_status *st)
{
        for (size_t i = 0; i < n; i++) {
                const char *t = inputs[i];
                size_t len = strlen(t), max = m->max_input_bytes;

                texts[i] = t;
                lens[i] = len;
                if (len <= max)
                        continue;
                if (m->truncate == EMBEDDING_TRUNCATE_ERROR) {
                        char field[32];

                        snprintf(field, sizeof(field), "inputs[%zu]", i);
                        return cairn_status_set(st, CAIRN_ERR_INVALID, field, "INPUT_TOO_LARGE",
                                                "%s: %zu bytes, more than model %s takes (%zu; "
                                                "its truncate setting is error)",
                                                field, len, m->name, max);
                }
                if (m->truncate == EMBEDDING_TRUNCATE_END) {
                        /* Keep the start; do not split a UTF-8 sequence. */
                        size_t cut = max;

                        while (cut > 0 && ((unsigned char)t[cut] & 0xc0) == 0x80)
                                cut--;
                        lens[i] = cut;
                } else {
                        size_t from = len - max;

                        while (from < len && ((unsigned char)t[from] & 0xc0) == 0x80)
                                from++;
                        texts[i] = t + from;
                        lens[i] = len - from;
                }
                if (lens[i] == 0) {
                        char field[32];

                        snprintf(field, sizeof(field), "inputs[%zu]", i);
                        return cairn_status_set(st, CAIRN_ERR_INVALID, field, "INPUT_TOO_LARGE",
                                                "%s: nothing is left after truncating to %zu "
                                                "bytes for model %s",
                                                field, max, m->name);
                }
        }
        return CAIRN_OK;
}

/* Texts to vectors through @p m's provider (batched when it has a batcher). */
static cairn_err_t run_provider(struct embedding_model *m, const char *const *texts,
                                const size_t *lens, size_t n, size_t dim, int64_t deadline_ms,
                                const char *traceparent, float *out, uint64_t *tokens,
                                struct cairn_status *st)
{
        struct provider_batch pb = {
                .texts = texts,
                .lens = lens,
                .n = n,
                .dim = dim,
                .deadline_ms = deadline_ms,
                .traceparent = traceparent,
                .out = out,
        };
        cairn_err_t err;

        if (m->batcher && dim == m->dim)
                return batcher_embed(m->batcher, texts, lens, n, deadline_ms, out, tokens, st);
        err = provider_embed(m->provider, &pb, st);
        *tokens = pb.tokens;
        return err;
}

/* One model's answer for the whole request: cache hits, the misses from
 * its provider (then cached), in input order. */
static cairn_err_t model_embed(struct embedding_service *svc, struct embedding_model *m,
                               char **inputs, size_t n, size_t dim, int64_t deadline_ms,
                               const char *traceparent, float *out, uint64_t *tokens,
                               struct cairn_status *st)
{
        const char **texts = calloc(n, sizeof(*texts));
        size_t *lens = calloc(n, sizeof(*lens));
        char(*keys)[EMBED_CACHE_KEY_LEN] = NULL;
        bool *found = NULL;
        const char **mtexts = NULL;
        size_t *mlens = NULL, nm = 0;
        char(*mkeys)[EMBED_CACHE_KEY_LEN] = NULL;
        float *mout = NULL;
        bool *store = NULL;
        size_t hits;
        uint64_t miss_tokens = 0;
        cairn_err_t err;

        *tokens = 0;
        if (!texts || !lens) {
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
                goto out;
        }
        err = apply_limits(m, inputs, n, texts, lens, st);
        if (err)
                goto out;
        if (!m->cache || !svc->cache.rc.redis) {
                err = run_provider(m, texts, lens, n, dim, deadline_ms, traceparent, out, tokens,
                                   st);
                goto out;
        }
        keys = malloc(n * sizeof(*keys));
        found = calloc(n, sizeof(*found));
        mtexts = calloc(n, sizeof(*mtexts));
        mlens = calloc(n, sizeof(*mlens));
        mkeys = malloc(n * sizeof(*mkeys));
        store = calloc(n, sizeof(*store));
        if (!keys || !found || !mtexts || !mlens || !mkeys || !store) {
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                embed_cache_key(m->kind, m->upstream, dim, texts[i], lens[i], keys[i]);
        hits = embed_cache_get(&svc->cache, m->name, keys, n, dim, out, found);

        /* Texts from the cache count their tokens too, when the provider can
         * count them without embedding (a model run in the service can). */
        if (hits > 0 && m->provider->ops->count_tokens) {
                size_t nh = 0;

                for (size_t i = 0; i < n; i++) {
                        if (!found[i])
                                continue;
                        mtexts[nh] = texts[i];
                        mlens[nh++] = lens[i];
                }
                *tokens = m->provider->ops->count_tokens(m->provider, mtexts, mlens, nh);
        }
        if (hits == n)
                goto out;
        for (size_t i = 0; i < n; i++) {
                if (found[i])
                        continue;
                mtexts[nm] = texts[i];
                mlens[nm] = lens[i];
                memcpy(mkeys[nm], keys[i], sizeof(keys[i]));
                store[nm] = true;
                nm++;
        }
        mout = malloc(nm * dim * sizeof(float));
        if (!mout) {
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
                goto out;
        }
        err = run_provider(m, mtexts, mlens, nm, dim, deadline_ms, traceparent, mout, &miss_tokens,
                           st);
        if (err)
                goto out;
        *tokens += miss_tokens;
        for (size_t i = 0, j = 0; i < n; i++)
                if (!found[i])
                        memcpy(out + i * dim, mout + (j++) * dim, dim * sizeof(float));
        embed_cache_put(&svc->cache, m->name, mkeys, nm, dim, mout, store);
out:
        free(texts);
        free(lens);
        free(keys);
        free(found);
        free(mtexts);
        free(mlens);
        free(mkeys);
        free(mout);
        free(store);
        return err;
}

cairn_err_t embedding_embed_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                   ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Embedding__V1__EmbedRequest *in =
                (const Cairn__Embedding__V1__EmbedRequest *)msg;
        struct embedding_service *svc = req->opaque;
        Cairn__Embedding__V1__EmbedReply *out;
        struct embedding_model *m = NULL, *asked;
        int64_t deadline_ms = req->hdrs ? req->hdrs->deadline_ms : 0;
        const char *traceparent = req->hdrs && req->hdrs->traceparent[0] ? req->hdrs->traceparent
                                                                         : NULL;
        uint64_t tokens = 0;
        size_t dim = 0, next = 0;
        cairn_err_t err;

        err = check_request(svc, in, &m, &dim, st);
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
        /* The model asked for, then its fallbacks in order while the one
         * before is unavailable. Every vector of a reply comes from one model. */
        asked = m;
        for (;;) {
                err = model_embed(svc, m, in->inputs, in->n_inputs, dim, deadline_ms, traceparent,
                                  out->embeddings[0]->vector, &tokens, st);
                if (err != CAIRN_ERR_UNAVAILABLE || next >= asked->nfallbacks)
                        break;
                cairn_log(WARN, "EMBED", "model %s unavailable (%s); trying fallback %s", m->name,
                          st->message, asked->fallbacks[next]->name);
                m = asked->fallbacks[next++];
                cairn_status_clear(st);
        }
        if (err)
                return err;
        if (m != asked && svc->m_fallbacks)
                cairn_metric_inc_l(svc->m_fallbacks, (const char *const[]){ asked->name, m->name });
        for (size_t i = 0; i < in->n_inputs && svc->input_bytes; i++)
                cairn_series_observe(svc->input_bytes, (double)strlen(in->inputs[i]));
        if (m->inputs_total)
                cairn_series_add(m->inputs_total, (double)in->n_inputs);

        out->model = m->name;
        out->usage->input_tokens = tokens > UINT32_MAX ? UINT32_MAX : (uint32_t)tokens;
        out->usage->total_tokens = out->usage->input_tokens;
        *reply = &out->base;
        return CAIRN_OK;
}

cairn_err_t embedding_list_models_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st)
{
        struct embedding_service *svc = req->opaque;
        size_t n = svc->nmodels;
        Cairn__Embedding__V1__ListModelsReply *out = cairn_arena_alloc(req->arena, sizeof(*out));
        Cairn__Embedding__V1__ModelInfo *info = cairn_arena_calloc(req->arena, n, sizeof(*info));
        Cairn__Embedding__V1__ModelInfo **models = cairn_arena_calloc(req->arena, n,
                                                                      sizeof(*models));

        (void)msg;
        if (!out || !info || !models)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of request memory for the model list");
        cairn__embedding__v1__list_models_reply__init(out);
        for (size_t i = 0; i < n; i++) {
                const struct embedding_model *m = &svc->models[i];

                cairn__embedding__v1__model_info__init(&info[i]);
                info[i].name = (char *)m->name;
                info[i].dimensions = (uint32_t)m->dim;
                info[i].provider = (char *)m->kind;
                info[i].description = m->native_lexical ? MODEL_DESCRIPTION
                                                        : (char *)m->description;
                models[i] = &info[i];
        }
        out->n_models = n;
        out->models = models;
        *reply = &out->base;
        return CAIRN_OK;
}

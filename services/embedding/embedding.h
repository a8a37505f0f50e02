/* The embedding service: texts in, vectors out, as plain functions over
 * protobuf-c structs that the bus runtime (or a unit test) calls directly.
 * No sockets, no globals: everything lives in struct embedding_service. */
#ifndef EMBEDDING_EMBEDDING_H
#define EMBEDDING_EMBEDDING_H

#include <pthread.h>
#include <stddef.h>

#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/err.h"
#include "cairn/metrics.h"
#include "cairn/status.h"
#include "cache.h"
#include "lexical.h"

/* ---- configuration (conf.c) ---- */

/* Model slots in the configuration: embedding.models.1.* .. .8.*. */
#define EMBEDDING_MODEL_SLOTS 8

/* One configured model (embedding.models.N.*); a slot whose name is ""
 * is unused. Strings live as long as the loaded configuration. */
struct embedding_model_conf {
        const char *name;           /* what requests ask for */
        const char *provider;       /* "openai", "lexical" or "bert" */
        const char *aliases;        /* comma-separated other names; "" : none */
        const char *upstream_model; /* "" : the name */
        const char *base_url;       /* openai: up to and with /v1 */
        long long dimensions;
        long long max_batch;       /* texts per upstream request */
        long long max_input_bytes; /* 0: embedding.max_input_bytes */
        const char *truncate;      /* "error", "start" or "end" */
        const char *api_key_file;
        const char *api_key_secret; /* "<path>#<field>" in the secrets service; "" : none */
        const char *fallbacks;      /* comma-separated model names */
        const char *cache;          /* "auto", "on", "off" */
        const char *encoding;       /* "base64" or "float" */
        bool send_dimensions;
        long long batch_wait_us; /* micro-batching window; 0: off */
        const char *dir;         /* bert: the sentence-transformers directory */
        long long threads;       /* bert: batches computed at once */
};

/* Values of the "embedding." keys. */
struct embedding_conf {
        long long dimensions;      /* native dimension of the lexical model */
        long long max_inputs;      /* texts per request */
        long long max_input_bytes; /* bytes per text */
        const char *default_model; /* "" : the lexical model */
        bool cache_enabled;
        long long cache_ttl_s;
        long long cache_max_entry_bytes;
        long long connect_timeout_ms;
        long long max_response_bytes;
        struct embedding_model_conf models[EMBEDDING_MODEL_SLOTS];
};

/* The largest reply the service may produce: Kafka's default
 * message.max.bytes, which replies must fit under. */
#define EMBEDDING_REPLY_MAX 1000000

/* The table of the "embedding." keys, for cairn_conf_load() and the docs. */
extern const struct cairn_conf_item embedding_conf_items[];

/* The configuration section ("Embedding") that loads into @p conf
 * (borrowed: it must outlive the loaded configuration). */
struct cairn_conf_section embedding_conf_section(struct embedding_conf *conf);

/* The section's cross-key check (bounds of single keys are the table's):
 * the largest reply, max_inputs x (dimensions x 4 + 16) + 1024 bytes, must
 * fit EMBEDDING_REPLY_MAX. @p conf is a struct embedding_conf. Returns 0, or
 * -1 with a message naming the key to change in @p errstr. */
int embedding_conf_check(const void *conf, char *errstr, size_t errstr_size);

/* The reply-size part of that check for vectors of @p maxdim floats, which
 * the service repeats once its bert models are loaded and their sizes
 * known. Returns 0, or -1 with a message naming embedding.max_inputs. */
int embedding_conf_check_reply(const struct embedding_conf *conf, long long maxdim, char *errstr,
                               size_t errstr_size);

/* ---- the service ---- */

/* Every model name "cairn-lexical-<dim>" also answers to this alias. */
#define EMBEDDING_MODEL_ALIAS "cairn-lexical"

/* Requests may ask for fewer dimensions than the native ones, down to this. */
#define EMBEDDING_DIMENSIONS_MIN 16

enum embedding_truncate {
        EMBEDDING_TRUNCATE_ERROR = 0, /* too long is INVALID_ARGUMENT */
        EMBEDDING_TRUNCATE_START,     /* cut the start, keep the end */
        EMBEDDING_TRUNCATE_END,       /* cut the end, keep the start */
};

struct provider;
struct batcher;
struct cairn_redis;
struct cairn_resilience_conf;
struct cairn_secret_refs;

/* A model the service answers for: a provider, its limits, whether its
 * vectors are cached, and the models that answer when it cannot. */
struct embedding_model {
        char name[128];
        char kind[16];       /* provider kind: "lexical", "openai", "bert" */
        const char *aliases; /* comma-separated other names (the configuration's) */
        char description[512];
        char upstream[128]; /* upstream model name (cache key, requests) */
        size_t dim;
        bool native_lexical; /* the built-in model: fewer dimensions allowed */
        size_t max_input_bytes;
        enum embedding_truncate truncate;
        bool cache;
        struct provider *provider; /* owned */
        struct batcher *batcher;   /* owned; NULL: calls go straight to the provider */
        struct embedding_model *fallbacks[EMBEDDING_MODEL_SLOTS];
        size_t nfallbacks;
        struct cairn_series *inputs_total;
        struct cairn_series *fallback_total; /* answered for another model */
};

/* What the service reaches besides its own configuration. */
struct embedding_deps {
        struct cairn_redis *redis; /* borrowed; NULL: no cache */
        /* Settings shared by every provider's dependency (retries, breaker,
         * bulkhead); NULL: the documented defaults. Borrowed. */
        const struct cairn_resilience_conf *resilience;
        /* Where api_key_secret references are fetched and kept fresh
         * (borrowed); NULL: a model with api_key_secret is refused. */
        struct cairn_secret_refs *secrets;
};

struct embedding_service {
        struct embedding_conf conf;
        struct lexical_model model;
        char model_name[48];                                      /* "cairn-lexical-<dim>" */
        struct embedding_model models[1 + EMBEDDING_MODEL_SLOTS]; /* [0] is the lexical one */
        size_t nmodels;
        struct embedding_model *default_model;
        struct embed_cache cache;
        struct cairn_series *input_bytes; /* NULL without a metrics registry */
        struct cairn_metric *m_fallbacks;
};

/* Sets up @p svc from @p conf (copied), which cairn_conf_load() validated,
 * with @p deps (borrowed; must outlive @p svc; NULL: no cache and the
 * providers' default resilience): the configured models' providers are
 * created (API key files read, api_key_secret references added to
 * deps->secrets, fallbacks resolved), and cached models use
 * deps->redis. Registers the service's metrics in @p metrics (borrowed, must
 * outlive @p svc; NULL for none): cairn_embedding_inputs_total{model} and
 * the histogram cairn_embedding_input_bytes. Returns CAIRN_OK, or an error
 * with a message naming the key at fault in @p errstr (then @p svc needs no
 * cleanup). */
cairn_err_t embedding_service_init_with(struct embedding_service *svc,
                                        const struct embedding_conf *conf,
                                        const struct embedding_deps *deps,
                                        struct cairn_metrics *metrics, char *errstr,
                                        size_t errstr_size);

/* The model answering to @p name or to one of its aliases ("" : the
 * default), or NULL. */
struct embedding_model *embedding_model_find(struct embedding_service *svc, const char *name);

/* Frees what @p svc holds. No handler may be running on it. */
void embedding_service_cleanup(struct embedding_service *svc);

/* cairn.embedding.v1.EmbedRequest -> EmbedReply: one unit vector per input,
 * in input order. req->opaque is the struct embedding_service. Bad input is
 * CAIRN_ERR_INVALID with the field ("inputs", "inputs[i]", "model",
 * "dimensions") and a reason token in @p st. The reply lives in req->arena
 * and borrows the model name from the service.
 * @locality any worker thread; handlers run concurrently on one service. */
cairn_err_t embedding_embed_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                   ProtobufCMessage **reply, struct cairn_status *st);

/* cairn.embedding.v1.ListModelsRequest -> ListModelsReply: the built-in
 * lexical model and every configured one, by name. Same ownership and
 * locality as embedding_embed_handle(). */
cairn_err_t embedding_list_models_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st);

/* The service's handler table, by ce_type; ends with a NULL row. */
extern const struct cairn_handler embedding_handlers[];

#endif

/* The one small interface every embedding provider implements: texts in,
 * vectors out, within a deadline. The built-in lexical model
 * (provider_lexical.c), any OpenAI-compatible HTTP server
 * (provider_openai.c) and BERT sentence-transformers models run in the
 * service (provider_bert.c) sit behind it; the service chooses one per
 * model name from the configuration. */
#ifndef EMBEDDING_PROVIDER_H
#define EMBEDDING_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/status.h"

struct cairn_metrics;
struct cairn_resilience_conf;
struct cairn_secret_ref;

/* One call: @p n texts (borrowed; texts[i] has lens[i] bytes of valid
 * UTF-8, already checked and truncated) into @p out, n x dim floats laid
 * out row after row (owned by the caller). */
struct provider_batch {
        const char *const *texts;
        const size_t *lens;
        size_t n;
        size_t dim;              /* floats per vector the caller expects */
        int64_t deadline_ms;     /* unix ms; 0: none */
        const char *traceparent; /* W3C value to send upstream, or NULL */
        float *out;
        uint64_t tokens; /* set by the provider: input tokens, if known */
        /* NULL, or room for n counts (owned by the caller): a provider that
         * knows each text's tokens stores them there and sets
         * text_tokens_set, so a batch shared by several requests can give
         * each its own count. */
        uint32_t *text_tokens;
        bool text_tokens_set;
};

struct provider;

struct provider_ops {
        const char *kind; /* "lexical", "openai", "bert" */
        /* Fills b->out. Returns CAIRN_OK, or an error with @p st filled:
         * CAIRN_ERR_UNAVAILABLE for transient trouble of the provider (worth
         * a fallback), CAIRN_ERR_DEADLINE when the deadline ran out,
         * CAIRN_ERR_INVALID / CAIRN_ERR_PERMISSION for what the provider
         * refused. @locality any thread; calls run concurrently. */
        cairn_err_t (*embed)(struct provider *p, struct provider_batch *b, struct cairn_status *st);
        void (*free)(struct provider *p);
        /* Optional (NULL: not known here): the input tokens @p n texts
         * (borrowed, as in struct provider_batch) would count, without
         * embedding them, for the texts a request gets from the cache.
         * @locality any thread. */
        uint64_t (*count_tokens)(struct provider *p, const char *const *texts, const size_t *lens,
                                 size_t n);
};

struct provider {
        const struct provider_ops *ops;
        char kind[16];
        size_t max_batch; /* texts per upstream call; 0: no limit */
};

static inline cairn_err_t provider_embed(struct provider *p, struct provider_batch *b,
                                         struct cairn_status *st)
{
        return p->ops->embed(p, b, st);
}

static inline void provider_free(struct provider *p)
{
        if (p)
                p->ops->free(p);
}

/* ---- the lexical provider (provider_lexical.c) ---- */

struct lexical_model;

/* A provider over @p model (borrowed; must outlive it). b->dim may be any
 * size from 16 to the model's native one. NULL when out of memory. */
struct provider *provider_lexical_new(const struct lexical_model *model);

/* ---- the OpenAI-compatible provider (provider_openai.c) ---- */

struct provider_openai_conf {
        const char *name;     /* the Cairn model name, for logs and metrics */
        const char *base_url; /* e.g. "https://api.openai.com/v1"; "/embeddings" is appended */
        const char *upstream_model; /* "model" sent upstream */
        size_t dimensions;          /* expected vector size */
        bool send_dimensions;       /* send "dimensions" in the request body */
        bool base64;                /* ask for encoding_format=base64 */
        size_t max_batch;
        const char *api_key; /* borrowed; NULL or "" for none; never logged */
        /* Or the key in the secrets service (borrowed; must outlive the
         * provider): its cached value is read on every call, so a new
         * version is sent once fetched, without a restart. A call whose
         * key cannot be had fails UNAVAILABLE (SECRET_UNAVAILABLE) naming
         * the reference, before anything is sent upstream. */
        struct cairn_secret_ref *api_key_ref;
        int64_t connect_timeout_ms; /* cap on connecting; the deadline caps it too */
        size_t max_response_bytes;
};

/* Creates the provider and its I/O thread. Every upstream call goes
 * through the resilience of @p rconf (retries with full jitter and
 * Retry-After, a breaker, a bulkhead), registered as dependency
 * rconf->dependency. @p conf's strings are copied; @p metrics may be NULL.
 * NULL with @p errstr on failure. */
struct provider *provider_openai_new(const struct provider_openai_conf *conf,
                                     const struct cairn_resilience_conf *rconf,
                                     struct cairn_metrics *metrics, char *errstr,
                                     size_t errstr_size);

/* ---- BERT sentence-transformers models in the service (provider_bert.c) ---- */

struct provider_bert_conf {
        const char *name; /* the Cairn model name, for messages */
        const char *dir;  /* the sentence-transformers directory (bert_model.h) */
        const char *key;  /* the configuration key of dir, for messages */
        size_t threads;   /* texts embedded at once at most: one forward pass each */
};

/* Loads the model in conf->dir (memory-mapped; @p conf's strings are
 * copied) and sets up conf->threads working memories. Sets *@p dim to the
 * model's vector size. Sets OpenBLAS to one thread for the whole process
 * (see provider_bert.c). NULL with a message naming conf->key, the file and
 * what is wrong in @p errstr on failure. */
struct provider *provider_bert_new(const struct provider_bert_conf *conf, size_t *dim, char *errstr,
                                   size_t errstr_size);

#endif

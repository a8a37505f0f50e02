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
#include "lexical.h"

/* ---- configuration (conf.c) ---- */

/* Values of the "embedding." keys. */
struct embedding_conf {
        long long dimensions;        /* native dimension of the lexical model */
        long long max_inputs;        /* texts per request */
        long long max_input_bytes;   /* bytes per text */
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

/* ---- the service ---- */

/* Every model name "cairn-lexical-<dim>" also answers to this alias. */
#define EMBEDDING_MODEL_ALIAS "cairn-lexical"

/* Requests may ask for fewer dimensions than the native ones, down to this. */
#define EMBEDDING_DIMENSIONS_MIN 16

struct embedding_scratch;

struct embedding_service {
        struct embedding_conf conf;
        struct lexical_model model;
        char model_name[48];                 /* "cairn-lexical-<dim>" */
        struct cairn_series *inputs_total;   /* NULL without a metrics registry */
        struct cairn_series *input_bytes;
        pthread_mutex_t lock;                /* guards idle */
        struct embedding_scratch *idle;      /* lexical scratch not in use by a handler */
};

/* Sets up @p svc from @p conf (copied), which cairn_conf_load() validated.
 * Registers the service's metrics in @p metrics (borrowed, must outlive
 * @p svc; NULL for none): cairn_embedding_inputs_total{model} and the
 * histogram cairn_embedding_input_bytes. Returns CAIRN_OK, or an error
 * with a message in @p errstr (then @p svc needs no cleanup). */
cairn_err_t embedding_service_init(struct embedding_service *svc, const struct embedding_conf *conf,
                                   struct cairn_metrics *metrics, char *errstr,
                                   size_t errstr_size);

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

/* cairn.embedding.v1.ListModelsRequest -> ListModelsReply: the one lexical
 * model. Same ownership and locality as embedding_embed_handle(). */
cairn_err_t embedding_list_models_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st);

/* The service's handler table, by ce_type; ends with a NULL row. */
extern const struct cairn_handler embedding_handlers[];

#endif

/* The translation service: its configuration, its state, and its handler
 * table (translate, detect, list languages). */
#ifndef TRANSLATION_TRANSLATION_H
#define TRANSLATION_TRANSLATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/rcache.h"
#include "graph.h"
#include "modes.h"
#include "pool.h"

struct cairn_metrics;
struct cairn_periodic;
struct cairn_redis;
struct tr_detector;
struct tr_remote;

struct translation_conf {
        const char *modes_dir;
        const char *pairs;   /* modes to serve: "" every one, or a list of names */
        const char *preload; /* pipelines started at start: "", "all" or a list */
        const char *pivots;
        const char *detect_method;
        double detect_min_confidence;
        long long pipelines; /* per pair */
        long long depth;
        long long stall_ms;
        long long timeout_ms;
        long long max_text_bytes;
        long long max_batch;
        long long max_hops;
        long long health_ms;
        bool cache_enabled;
        long long cache_ttl_s;
        long long cache_max_bytes;
};

extern const struct cairn_conf_item translation_conf_items[];
struct cairn_conf_section translation_conf_section(struct translation_conf *conf);

/* What the service uses besides its configuration; any may be NULL. */
struct translation_deps {
        struct cairn_redis *redis; /* the cache */
        struct tr_remote *remote;  /* a LibreTranslate-compatible provider */
        struct cairn_metrics *metrics;
};

struct translation_service {
        struct translation_conf conf;
        struct tr_mode *modes;
        size_t nmodes;
        struct tr_pool *pools; /* pools[i] runs modes[i] */
        struct tr_graph graph;
        struct tr_detector *detector;
        struct tr_remote *remote; /* borrowed */
        struct cairn_rcache cache;
        struct cairn_periodic *health;
        struct cairn_metric *m_texts, *m_errors, *m_seconds;
};

/* Loads the modes, finds the routes, sets up the pools (starting those to
 * preload) and the detector. Returns 0, or -1 with @p errstr. */
int translation_service_init(struct translation_service *svc, const struct translation_conf *conf,
                             const struct translation_deps *deps, char *errstr, size_t errstr_size);

void translation_service_cleanup(struct translation_service *svc);

extern const struct cairn_handler translation_handlers[];

cairn_err_t translation_translate_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t translation_detect_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                      ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t translation_languages_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st);

/* The request's deadline (realtime ms): its header's, or translation.timeout_ms from now. */
int64_t translation_deadline(const struct translation_service *svc,
                             const struct cairn_request *req);

/* The checks every request's texts pass: 1..translation.max_batch of them
 * (CAIRN_OK or INVALID_ARGUMENT in @p st) ... */
cairn_err_t translation_check_batch(const struct translation_service *svc, size_t n,
                                    struct cairn_status *st);

/* ... and each one non-empty, within translation.max_text_bytes, UTF-8
 * (the error names "texts[@p i]"). */
cairn_err_t translation_check_text(const struct translation_service *svc, const char *text,
                                   size_t len, size_t i, struct cairn_status *st);

/* Whether some mode translates into @p lang. */
bool translation_reachable_target(const struct translation_service *svc, const char *lang);

/* The pool of mode @p m of the graph. */
static inline struct tr_pool *translation_pool(struct translation_service *svc, size_t m)
{
        return &svc->pools[m];
}

#endif

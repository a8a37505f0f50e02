/* The memory service: long-term memories of users, stored in PostgreSQL
 * (the system of record: every version, the history of every change, the
 * reply of every write by its ce_id), embedded through the embedding
 * service, and searched by meaning (an in-process index of each user's
 * vectors, vindex.h), by keywords (PostgreSQL full-text search) or both,
 * fused by Reciprocal Rank Fusion before the cut. */
#ifndef MEMORY_MEMORY_H
#define MEMORY_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"

struct memory_vindex;
struct cairn_events;

struct memory_conf {
        const char *embedding_topic;
        const char *embedding_model;
        long long dimensions;
        double dedupe_threshold;
        const char *fts_language;
        long long max_content_bytes;
        long long max_batch;
        long long max_top_k;
        long long candidates;
        long long rrf_k;
        long long expiry_interval_ms;
        long long expiry_batch;
        long long link_top_k;
        double link_threshold;
        const char *events_topic;
        long long events_interval_ms;
        long long ann_min;
        long long hnsw_m;
        long long hnsw_ef_construction;
        long long hnsw_ef_search;
        const char *snapshot_dir;
        long long snapshot_interval_ms;
};

extern const struct cairn_conf_item memory_conf_items[];
struct cairn_conf_section memory_conf_section(struct memory_conf *conf);

struct memory_service {
        const struct memory_conf *conf;
        struct cairn_pg *pg;
        struct cairn_bus_client *embedder; /* NULL: only caller vectors are accepted */
        struct memory_vindex *index;
        struct cairn_metric *stores;   /* cairn_memory_stores_total{outcome} */
        struct cairn_metric *searches; /* cairn_memory_searches_total{mode} */
        struct cairn_metric *changes;  /* cairn_memory_changes_total{event} */
        struct cairn_metric *expired;  /* cairn_memory_expired_total */
        struct memory_outbox *outbox;  /* NULL: events are not recorded */
};

/* The publisher of the outbox's events on memory.events_topic, every
 * memory.events_interval_ms and when woken, on a thread of its own
 * (outbox.c). */
struct memory_outbox;
struct memory_outbox *memory_outbox_start(struct memory_service *svc, struct cairn_events *events);
/* Asks for a publish now (after a commit that wrote events). */
void memory_outbox_wake(struct memory_outbox *o);
void memory_outbox_stop(struct memory_outbox *o);

/* The sweeper that closes memories past their expires_at, every
 * memory.expiry_interval_ms, on a thread of its own (expiry.c). */
struct cairn_periodic;
/* NULL when memory.expiry_interval_ms is 0; stop it with
 * cairn_periodic_stop(). */
struct cairn_periodic *memory_expiry_start(struct memory_service *svc);
/* One sweep: closes every memory due now, in batches; returns how many,
 * or -1 when the database failed (logged). */
long memory_expiry_sweep(struct memory_service *svc);

/* The handler table (NULL-terminated); the handlers' opaque is a struct
 * memory_service. */
extern const struct cairn_handler memory_handlers[];

#endif

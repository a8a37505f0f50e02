/* The memory service's configuration: its one table of "memory." keys. */
#include <stdio.h>
#include <string.h>

#include "memory.h"

#define CAIRN_CONF_STRUCT struct memory_conf

const struct cairn_conf_item memory_conf_items[] = {
        CAIRN_CONF_ROW("memory.embedding_topic", CAIRN_CONF_STRING, "cairn.embedding.v1.requests",
                       0, -1, 0, embedding_topic,
                       "topic of the embedding service that embeds contents and queries"),
        CAIRN_CONF_ROW("memory.embedding_model", CAIRN_CONF_STRING, "all-MiniLM-L6-v2", 0, -1, 0,
                       embedding_model,
                       "model the embedding service embeds with; empty: that service's default"),
        CAIRN_CONF_ROW("memory.dimensions", CAIRN_CONF_INT, "384", 1, 4096, 0, dimensions,
                       "length of every vector: the model's, and what caller vectors must have"),
        CAIRN_CONF_ROW("memory.dedupe_threshold", CAIRN_CONF_DOUBLE, "0.95", 0.5, 1.0, 0,
                       dedupe_threshold,
                       "cosine at or above which a new memory updates the closest one of its "
                       "scope instead of being stored beside it"),
        CAIRN_CONF_ROW("memory.fts_language", CAIRN_CONF_STRING, "english", 0, -1, 0, fts_language,
                       "PostgreSQL text search configuration of keyword search (english, simple, "
                       "german, ...); memories keep the one they were stored with"),
        CAIRN_CONF_ROW("memory.max_content_bytes", CAIRN_CONF_INT, "16384", 1, 1048576, 0,
                       max_content_bytes, "longest content, in bytes of UTF-8"),
        CAIRN_CONF_ROW("memory.max_batch", CAIRN_CONF_INT, "100", 1, 1000, 0, max_batch,
                       "most memories one store request may carry"),
        CAIRN_CONF_ROW("memory.max_top_k", CAIRN_CONF_INT, "100", 1, 1000, 0, max_top_k,
                       "most results one search may ask for"),
        CAIRN_CONF_ROW("memory.candidates", CAIRN_CONF_INT, "100", 1, 10000, 0, candidates,
                       "candidates each ranking (vector, keyword) brings to the fusion, at "
                       "least top_k"),
        CAIRN_CONF_ROW("memory.rrf_k", CAIRN_CONF_INT, "60", 1, 1000, 0, rrf_k,
                       "k of Reciprocal Rank Fusion: a candidate scores 1 / (k + rank) in each "
                       "ranking it is in"),
        CAIRN_CONF_ROW("memory.expiry_interval_ms", CAIRN_CONF_INT, "10000", 0, 86400000, 0,
                       expiry_interval_ms,
                       "how often the sweeper closes memories past their expires_at (they are "
                       "gone from reads at once either way); 0: no sweeper"),
        CAIRN_CONF_ROW("memory.expiry_batch", CAIRN_CONF_INT, "500", 1, 100000, 0, expiry_batch,
                       "memories one sweeper statement closes at most"),
        CAIRN_CONF_ROW("memory.link_top_k", CAIRN_CONF_INT, "3", 0, 100, 0, link_top_k,
                       "a stored memory is linked (kind similar) to at most this many of its "
                       "closest memories in the user's scope; 0: no links are made"),
        CAIRN_CONF_ROW("memory.link_threshold", CAIRN_CONF_DOUBLE, "0.7", 0.0, 1.0, 0,
                       link_threshold, "cosine from which a close memory gets a similar link"),
        CAIRN_CONF_ROW("memory.events_topic", CAIRN_CONF_STRING, "cairn.memory.v1.events", 0, -1, 0,
                       events_topic,
                       "topic the change events (stored, updated, deleted, erased, expired) are "
                       "published on"),
        CAIRN_CONF_ROW("memory.events_interval_ms", CAIRN_CONF_INT, "1000", 0, 3600000, 0,
                       events_interval_ms,
                       "how often waiting events are published at the latest (a change wakes "
                       "the publisher at once); 0: no events are recorded"),
        CAIRN_CONF_ROW("memory.ann_min", CAIRN_CONF_INT, "20000", 0, 100000000, 0, ann_min,
                       "memories from which a user is searched through an HNSW graph (built in "
                       "the background) rather than exactly; 0: always exactly"),
        CAIRN_CONF_ROW("memory.hnsw_m", CAIRN_CONF_INT, "16", 4, 64, 0, hnsw_m,
                       "links per node of the graph (twice that on its bottom layer): more is "
                       "better recall, more memory and slower inserts"),
        CAIRN_CONF_ROW("memory.hnsw_ef_construction", CAIRN_CONF_INT, "100", 10, 2000, 0,
                       hnsw_ef_construction,
                       "candidates considered per insert into the graph: more is a better graph "
                       "built more slowly"),
        CAIRN_CONF_ROW("memory.hnsw_ef_search", CAIRN_CONF_INT, "128", 10, 10000, 0, hnsw_ef_search,
                       "candidates a graph search considers (at least memory.candidates): more "
                       "is better recall, slower"),
        CAIRN_CONF_ROW("memory.snapshot_dir", CAIRN_CONF_STRING, "", 0, -1, 0, snapshot_dir,
                       "directory where graphs are kept with their entries so that a restart "
                       "loads rather than rebuilds them (created if missing); empty: none kept"),
        CAIRN_CONF_ROW("memory.snapshot_interval_ms", CAIRN_CONF_INT, "60000", 1000, 86400000, 0,
                       snapshot_interval_ms,
                       "how often the snapshots of changed graphs are written (and at a stop, "
                       "and when a partition leaves)"),
        CAIRN_CONF_END,
};

/* A text search configuration name is an identifier: it goes into SQL as a
 * parameter cast to regconfig, and PostgreSQL names what it does not know. */
static int check(const void *target, char *errstr, size_t errstr_size)
{
        const struct memory_conf *c = target;

        if (!c->fts_language || !c->fts_language[0] ||
            strspn(c->fts_language, "abcdefghijklmnopqrstuvwxyz_") != strlen(c->fts_language)) {
                snprintf(errstr, errstr_size,
                         "memory.fts_language: a text search configuration name (a-z, _), "
                         "e.g. english");
                return -1;
        }
        if (!c->embedding_topic || !c->embedding_topic[0]) {
                snprintf(errstr, errstr_size, "memory.embedding_topic: required");
                return -1;
        }
        return 0;
}

struct cairn_conf_section memory_conf_section(struct memory_conf *conf)
{
        return (struct cairn_conf_section){ "Memory", memory_conf_items, conf, check };
}

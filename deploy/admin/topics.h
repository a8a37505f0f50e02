/* The topics file of cairn-admin (deploy/kafka/topics.yaml): what every
 * Cairn topic should look like, and the comparison of that with what a
 * cluster has. No I/O to Kafka here: main.c fetches the cluster's state and
 * carries out the plan. */
#ifndef CAIRN_ADMIN_TOPICS_H
#define CAIRN_ADMIN_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct topic_config {
        char *name;  /* e.g. "retention.ms" */
        char *value; /* as Kafka spells it: "86400000", "delete" */
};

struct topic_spec {
        char *name;
        int line; /* where it is declared, for messages */
        int partitions;
        int replication_factor;
        struct topic_config *configs;
        size_t nconfigs;
};

struct topics_file {
        struct topic_spec *topics;
        size_t ntopics;
};

/* Parses a topics file held in @p buf (@p len bytes; @p fname only names it
 * in messages). On error returns -1 with @p errstr naming the file, the line
 * and the key ("topics.yaml:12: topics.cairn.x.partitions: must be an
 * integer from 1 to 100000") and leaves @p tf empty. On success the caller
 * owns @p tf and releases it with topics_file_cleanup(). */
int topics_file_parse(const char *buf, size_t len, const char *fname, struct topics_file *tf,
                      char *errstr, size_t errstr_size);

/* topics_file_parse() on the contents of @p path. */
int topics_file_load(const char *path, struct topics_file *tf, char *errstr, size_t errstr_size);

/* Every topic of @p tf with @p replicas replicas, and min.insync.replicas
 * capped at that: the one file on a smaller cluster (a single broker in
 * compose.yaml) without a second copy of it. */
void topics_file_set_replicas(struct topics_file *tf, int replicas);

void topics_file_cleanup(struct topics_file *tf);

/* What a cluster has for one topic (filled by the caller). */
struct topic_state {
        bool exists;
        int partitions;
        int replication_factor;
        struct topic_config *configs; /* current values of (at least) the declared keys */
        size_t nconfigs;
};

/* What reconciling one topic takes. */
struct topic_plan {
        bool create;        /* missing: create it as declared */
        int partitions_to;  /* > 0: add partitions up to this count */
        bool configs_drift; /* one or more declared configs differ */
        /* Reported, never acted on: */
        bool fewer_partitions; /* the file asks for fewer than the cluster has */
        bool rf_differs;       /* replication factor differs (needs a reassignment) */
};

/* Compares @p spec with @p st, fills @p plan and writes one line per
 * difference to @p out (NULL: nothing written). Returns the number of
 * differences, the reported-only ones included. */
int topic_plan_make(const struct topic_spec *spec, const struct topic_state *st,
                    struct topic_plan *plan, FILE *out);

/* Current value of config @p name in @p st, or NULL. */
const char *topic_state_config(const struct topic_state *st, const char *name);

#endif

/* Configuration is a table: each module declares its keys (name, type,
 * default, bounds, flags, description, where the value goes) and this module
 * does the rest: reads one YAML file, applies CAIRN_* environment overrides,
 * validates, and renders the reference documentation.
 *
 * Keys are dotted paths ("embedding.max_inputs"); in YAML they are nested
 * mappings (embedding: {max_inputs: 16}); the environment name is CAIRN_ plus
 * the upper-cased path with dots as underscores (CAIRN_EMBEDDING_MAX_INPUTS).
 * Keys under "kafka." are not declared: they pass straight through to
 * rd_kafka_conf_set() (YAML kafka: {bootstrap.servers: ...}; environment
 * CAIRN_KAFKA_BOOTSTRAP_SERVERS, underscores read as dots). */
#ifndef CAIRN_CONF_H
#define CAIRN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cairn_conf_type {
        CAIRN_CONF_STRING, /* target: const char *, lives until cairn_conf_free() */
        CAIRN_CONF_INT,    /* target: long long, checked against [min, max] */
        CAIRN_CONF_BOOL,   /* target: bool; true/false/yes/no/on/off/1/0 */
        CAIRN_CONF_DOUBLE, /* target: double, checked against [min, max] */
};

#define CAIRN_CONF_REQUIRED 0x1 /* no default: missing stops the service */
#define CAIRN_CONF_SECRET   0x2 /* value never printed or logged */
#define CAIRN_CONF_RELOAD   0x4 /* may change at runtime (documented as such) */

struct cairn_conf_item {
        const char *name; /* dotted path, e.g. "bus.workers" */
        enum cairn_conf_type type;
        const char *def; /* default in YAML spelling; NULL if none */
        double min, max; /* inclusive bounds for INT/DOUBLE; ignored when min > max */
        int flags;
        size_t offset;    /* offsetof() of the value in the section's struct */
        const char *desc; /* one line for docs/config.md */
};

/* One row of a table, in the one shape every table uses: name, type,
 * default, bounds, flags, the field of the struct CAIRN_CONF_STRUCT names
 * (defined by the file before its table), description:
 *
 *   #define CAIRN_CONF_STRUCT struct cairn_redis_conf
 *   static const struct cairn_conf_item items[] = {
 *           CAIRN_CONF_ROW("redis.port", CAIRN_CONF_INT, "6379", 1, 65535, 0, port,
 *                          "Redis server port"),
 *           CAIRN_CONF_END,
 *   };
 */
#define CAIRN_CONF_ROW(name, type, def, min, max, flags, field, desc)                             \
        {                                                                                         \
                (name), (type), (def), (min), (max), (flags), offsetof(CAIRN_CONF_STRUCT, field), \
                        (desc)                                                                    \
        }
#define CAIRN_CONF_END                          \
        {                                       \
                NULL, 0, NULL, 0, 0, 0, 0, NULL \
        }

/* A table and the struct its values are written into. Tables end with an
 * item whose name is NULL. */
struct cairn_conf_section {
        const char *title; /* heading in docs/config.md, e.g. "Runtime" */
        const struct cairn_conf_item *items;
        void *target;
        /* Optional: checks that span several keys, run once every value is
         * stored. Returns 0, or -1 with a message naming a key in @p errstr. */
        int (*check)(const void *target, char *errstr, size_t errstr_size);
};

struct cairn_conf;

/* Loads @p path (NULL: defaults and environment only), then the CAIRN_*
 * variables of @p envp (NULL: the process environment), into the targets of
 * @p sections. An unknown key, a wrong type, a value out of bounds or a
 * missing required value fails with a message naming the key in @p errstr.
 * Unknown CAIRN_* variables fail too, except CAIRN_CONFIG.
 * Returns the loaded configuration (owner of every string written into the
 * targets) or NULL on error. */
struct cairn_conf *cairn_conf_load(const char *path, const struct cairn_conf_section *sections,
                                   size_t nsections, char *const *envp, char *errstr,
                                   size_t errstr_size);

void cairn_conf_free(struct cairn_conf *conf);

/* Calls @p cb for every "kafka." key (name without the prefix) in file order,
 * environment overrides last. Stops and returns the first non-zero result. */
int cairn_conf_foreach_kafka(const struct cairn_conf *conf,
                             int (*cb)(const char *name, const char *value, void *opaque),
                             void *opaque);

/* Value of a "kafka." key (name without the prefix) or NULL. */
const char *cairn_conf_kafka_get(const struct cairn_conf *conf, const char *name);

/* The environment variable name of a key, e.g. "CAIRN_BUS_WORKERS". */
void cairn_conf_env_name(const char *name, char *buf, size_t size);

/* Writes the markdown reference for @p sections (tables of key, type,
 * default, bounds, env name, reload, description) to @p fp. */
void cairn_conf_doc(const struct cairn_conf_section *sections, size_t nsections, FILE *fp);

#endif

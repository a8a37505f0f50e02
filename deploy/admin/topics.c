/* Reading the topics file and comparing it with a cluster's topics happens
 * here. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/file.h"
#include "cairn/yaml.h"
#include "topics.h"

#define MAX_TOPICS  10000
#define MAX_CONFIGS 256
#define MAX_VALUE   1024
#define MAX_FILE    (16 * 1024 * 1024)

struct parse {
        const char *fname;
        char *errstr;
        size_t errstr_size;
};

static int perr(struct parse *p, const struct cairn_yaml_node *node, const char *key,
                const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(p->errstr, p->errstr_size, "%s:%lu: %s: %s", p->fname,
                 node ? (unsigned long)node->line : 1UL, key, msg);
        return -1;
}

static int int_value(struct parse *p, const struct cairn_yaml_node *node, const char *key, long min,
                     long max, int *out)
{
        const char *s = cairn_yaml_str(node);
        char *end;
        long v;

        if (!s || !s[0])
                return perr(p, node, key, "must be an integer from %ld to %ld", min, max);
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return perr(p, node, key, "must be an integer from %ld to %ld, not \"%.64s\"", min,
                            max, s);
        *out = (int)v;
        return 0;
}

static bool topic_name_valid(const char *name)
{
        size_t len = strlen(name);

        if (len == 0 || len > 249 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
                        return false;
        return true;
}

static bool config_name_valid(const char *name)
{
        if (!name[0] || strlen(name) > 128)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' ||
                      *c == '_' || *c == '-'))
                        return false;
        return true;
}

static char *xstrdup(const char *s)
{
        char *d = strdup(s);

        if (!d)
                abort();
        return d;
}

/* Sets @p name to @p value in @p spec, replacing an earlier value. */
static void config_set(struct topic_spec *spec, const char *name, const char *value)
{
        for (size_t i = 0; i < spec->nconfigs; i++) {
                if (strcmp(spec->configs[i].name, name) == 0) {
                        free(spec->configs[i].value);
                        spec->configs[i].value = xstrdup(value);
                        return;
                }
        }
        spec->configs = realloc(spec->configs, (spec->nconfigs + 1) * sizeof(*spec->configs));
        if (!spec->configs)
                abort();
        spec->configs[spec->nconfigs].name = xstrdup(name);
        spec->configs[spec->nconfigs].value = xstrdup(value);
        spec->nconfigs++;
}

static int parse_configs(struct parse *p, const struct cairn_yaml_node *node, const char *path,
                         struct topic_spec *spec)
{
        char key[512];

        if (cairn_yaml_is_null(node))
                return 0;
        if (node->type != CAIRN_YAML_MAPPING)
                return perr(p, node, path, "must be a mapping of config name to value");
        for (size_t i = 0; i < node->n; i++) {
                const struct cairn_yaml_node *k = node->pairs[i].key;
                const struct cairn_yaml_node *v = node->pairs[i].value;
                const char *name = cairn_yaml_str(k), *value = cairn_yaml_str(v);

                if (!name || !config_name_valid(name))
                        return perr(p, k, path, "\"%.64s\" is not a topic config name",
                                    name ? name : "(not a scalar)");
                snprintf(key, sizeof(key), "%.300s.%.128s", path, name);
                if (!value || !value[0] || cairn_yaml_is_null(v))
                        return perr(p, v, key, "must be a value (a string or a number)");
                if (strlen(value) > MAX_VALUE)
                        return perr(p, v, key, "value longer than %d bytes", MAX_VALUE);
                if (spec->nconfigs >= MAX_CONFIGS)
                        return perr(p, k, key, "more than %d configs", MAX_CONFIGS);
                config_set(spec, name, value);
        }
        return 0;
}

/* Reads the keys of a topic (or of "defaults") from mapping @p node. */
static int parse_topic_body(struct parse *p, const struct cairn_yaml_node *node, const char *path,
                            struct topic_spec *spec)
{
        char key[512];

        if (cairn_yaml_is_null(node))
                return 0;
        if (node->type != CAIRN_YAML_MAPPING)
                return perr(p, node, path,
                            "must be a mapping (partitions, replication_factor, configs)");
        for (size_t i = 0; i < node->n; i++) {
                const struct cairn_yaml_node *k = node->pairs[i].key;
                const struct cairn_yaml_node *v = node->pairs[i].value;
                const char *name = cairn_yaml_str(k);

                snprintf(key, sizeof(key), "%.300s.%.128s", path, name ? name : "?");
                if (!name)
                        return perr(p, k, path, "keys must be scalars");
                if (strcmp(name, "partitions") == 0) {
                        if (int_value(p, v, key, 1, 100000, &spec->partitions) != 0)
                                return -1;
                } else if (strcmp(name, "replication_factor") == 0) {
                        if (int_value(p, v, key, 1, 32767, &spec->replication_factor) != 0)
                                return -1;
                } else if (strcmp(name, "configs") == 0) {
                        if (parse_configs(p, v, key, spec) != 0)
                                return -1;
                } else {
                        return perr(
                                p, k, key,
                                "unknown key (expected partitions, replication_factor, configs)");
                }
        }
        return 0;
}

static void spec_cleanup(struct topic_spec *spec)
{
        for (size_t i = 0; i < spec->nconfigs; i++) {
                free(spec->configs[i].name);
                free(spec->configs[i].value);
        }
        free(spec->configs);
        free(spec->name);
        memset(spec, 0, sizeof(*spec));
}

static int parse_topics(struct parse *p, const struct cairn_yaml_node *node,
                        const struct topic_spec *defs, struct topics_file *tf)
{
        if (node->type != CAIRN_YAML_MAPPING)
                return perr(p, node, "topics", "must be a mapping of topic name to settings");
        for (size_t t = 0; t < node->n; t++) {
                const struct cairn_yaml_node *k = node->pairs[t].key;
                const struct cairn_yaml_node *v = node->pairs[t].value;
                const char *name = cairn_yaml_str(k);
                char path[512];

                if (!name || !topic_name_valid(name))
                        return perr(
                                p, k, "topics",
                                "\"%.64s\" is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)",
                                name ? name : "(not a scalar)");
                for (size_t i = 0; i < tf->ntopics; i++)
                        if (strcmp(tf->topics[i].name, name) == 0)
                                return perr(p, k, "topics",
                                            "%s is declared twice (first on line %d)", name,
                                            tf->topics[i].line);
                if (tf->ntopics >= MAX_TOPICS)
                        return perr(p, k, "topics", "more than %d topics", MAX_TOPICS);

                tf->topics = realloc(tf->topics, (tf->ntopics + 1) * sizeof(*tf->topics));
                if (!tf->topics)
                        abort();
                struct topic_spec *spec = &tf->topics[tf->ntopics++];
                memset(spec, 0, sizeof(*spec));
                spec->name = xstrdup(name);
                spec->line = k->line;
                spec->partitions = defs->partitions;
                spec->replication_factor = defs->replication_factor;
                for (size_t i = 0; i < defs->nconfigs; i++)
                        config_set(spec, defs->configs[i].name, defs->configs[i].value);
                snprintf(path, sizeof(path), "topics.%.250s", name);
                if (parse_topic_body(p, v, path, spec) != 0)
                        return -1;
                if (spec->partitions == 0)
                        return perr(p, k, path, "partitions missing (here or in defaults)");
                if (spec->replication_factor == 0)
                        return perr(p, k, path, "replication_factor missing (here or in defaults)");
        }
        return 0;
}

int topics_file_parse(const char *buf, size_t len, const char *fname, struct topics_file *tf,
                      char *errstr, size_t errstr_size)
{
        struct parse p = { .fname = fname, .errstr = errstr, .errstr_size = errstr_size };
        struct topic_spec defs;
        struct cairn_yaml *yaml;
        const struct cairn_yaml_node *root, *topics = NULL;
        int rc = -1;

        memset(tf, 0, sizeof(*tf));
        memset(&defs, 0, sizeof(defs));
        yaml = cairn_yaml_parse(buf, len, fname, errstr, errstr_size);
        if (!yaml)
                return -1;
        root = cairn_yaml_root(yaml);
        if (!root) {
                snprintf(errstr, errstr_size, "%s: empty file: expected a \"topics\" mapping",
                         fname);
                goto out;
        }
        if (root->type != CAIRN_YAML_MAPPING) {
                perr(&p, root, "(top level)",
                     "must be a mapping with \"topics\" (and \"defaults\")");
                goto out;
        }
        /* defaults first, wherever they stand in the file */
        for (size_t i = 0; i < root->n; i++) {
                const struct cairn_yaml_node *k = root->pairs[i].key;
                const struct cairn_yaml_node *v = root->pairs[i].value;
                const char *name = cairn_yaml_str(k);

                if (name && strcmp(name, "defaults") == 0) {
                        if (parse_topic_body(&p, v, "defaults", &defs) != 0)
                                goto out;
                } else if (name && strcmp(name, "topics") == 0) {
                        topics = v;
                } else {
                        perr(&p, k, name ? name : "(top level)",
                             "unknown key (expected defaults, topics)");
                        goto out;
                }
        }
        if (!topics) {
                perr(&p, root, "topics", "missing");
                goto out;
        }
        rc = parse_topics(&p, topics, &defs, tf);
out:
        spec_cleanup(&defs);
        cairn_yaml_free(yaml);
        if (rc != 0)
                topics_file_cleanup(tf);
        return rc;
}

void topics_file_set_replicas(struct topics_file *tf, int replicas)
{
        for (size_t i = 0; i < tf->ntopics; i++) {
                struct topic_spec *spec = &tf->topics[i];

                spec->replication_factor = replicas;
                for (size_t j = 0; j < spec->nconfigs; j++) {
                        struct topic_config *c = &spec->configs[j];
                        char value[16];

                        if (strcmp(c->name, "min.insync.replicas") != 0 ||
                            atoi(c->value) <= replicas)
                                continue;
                        snprintf(value, sizeof(value), "%d", replicas);
                        free(c->value);
                        c->value = strdup(value);
                        if (!c->value)
                                abort();
                }
        }
}

int topics_file_load(const char *path, struct topics_file *tf, char *errstr, size_t errstr_size)
{
        size_t len;
        char *buf;
        int rc;

        memset(tf, 0, sizeof(*tf));
        buf = cairn_file_read(path, MAX_FILE, &len, errstr, errstr_size);
        if (!buf)
                return -1;
        rc = topics_file_parse(buf, len, path, tf, errstr, errstr_size);
        free(buf);
        return rc;
}

void topics_file_cleanup(struct topics_file *tf)
{
        for (size_t i = 0; i < tf->ntopics; i++)
                spec_cleanup(&tf->topics[i]);
        free(tf->topics);
        memset(tf, 0, sizeof(*tf));
}

const char *topic_state_config(const struct topic_state *st, const char *name)
{
        for (size_t i = 0; i < st->nconfigs; i++)
                if (strcmp(st->configs[i].name, name) == 0)
                        return st->configs[i].value;
        return NULL;
}

int topic_plan_make(const struct topic_spec *spec, const struct topic_state *st,
                    struct topic_plan *plan, FILE *out)
{
        int n = 0;

        memset(plan, 0, sizeof(*plan));
        if (!st->exists) {
                plan->create = true;
                if (out)
                        fprintf(out,
                                "missing   %s: %d partitions, replication factor %d, %zu configs\n",
                                spec->name, spec->partitions, spec->replication_factor,
                                spec->nconfigs);
                return 1;
        }
        if (st->partitions < spec->partitions) {
                plan->partitions_to = spec->partitions;
                n++;
                if (out)
                        fprintf(out, "partitions %s: %d, file asks %d\n", spec->name,
                                st->partitions, spec->partitions);
        } else if (st->partitions > spec->partitions) {
                plan->fewer_partitions = true;
                n++;
                if (out)
                        fprintf(out,
                                "partitions %s: %d, file asks %d: partitions are never lowered "
                                "(keys would move); change the file or recreate the topic by hand\n",
                                spec->name, st->partitions, spec->partitions);
        }
        if (st->replication_factor != spec->replication_factor) {
                plan->rf_differs = true;
                n++;
                if (out)
                        fprintf(out,
                                "replicas  %s: replication factor %d, file asks %d: not changed "
                                "here (use a partition reassignment)\n",
                                spec->name, st->replication_factor, spec->replication_factor);
        }
        for (size_t i = 0; i < spec->nconfigs; i++) {
                const char *cur = topic_state_config(st, spec->configs[i].name);

                if (cur && strcmp(cur, spec->configs[i].value) == 0)
                        continue;
                plan->configs_drift = true;
                n++;
                if (out)
                        fprintf(out, "config    %s: %s is %s, file asks %s\n", spec->name,
                                spec->configs[i].name, cur ? cur : "(unset)",
                                spec->configs[i].value);
        }
        return n;
}

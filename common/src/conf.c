/* Configuration loading: one YAML file flattened into dotted keys, CAIRN_*
 * environment overrides on top, every value checked against the tables
 * before anything is written into the targets, and the tables rendered as
 * markdown for docs/config.md. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/conf.h"
#include "cairn/yaml.h"

extern char **environ;

#define KAFKA_PREFIX     "kafka."
#define KAFKA_PREFIX_LEN (sizeof(KAFKA_PREFIX) - 1)
#define ENV_PREFIX       "CAIRN_"
#define ENV_PREFIX_LEN   (sizeof(ENV_PREFIX) - 1)
#define ENV_KAFKA        "CAIRN_KAFKA_"
#define ENV_KAFKA_LEN    (sizeof(ENV_KAFKA) - 1)
#define FILE_MAX         (1024 * 1024) /* a configuration file, not a data set */
#define PATH_MAX_LEN     512           /* longest dotted key */
#define DEPTH_MAX        32            /* nesting of mappings */
#define ENV_NAME_MAX     160

struct kafka_prop {
        char *name; /* without the "kafka." prefix */
        char *value;
        int line; /* line in the file; 0 when it came from the environment */
};

struct cairn_conf {
        struct kafka_prop *kafka;
        size_t nkafka;
        size_t kafka_cap;
        char **strings; /* copies written into STRING targets */
        size_t nstrings;
};

enum origin {
        FROM_NONE = 0,
        FROM_DEFAULT,
        FROM_FILE,
        FROM_ENV,
};

/* One declared item while loading: where its value came from and, once
 * checked, the parsed value waiting to be written into the target. */
struct slot {
        const struct cairn_conf_item *item;
        void *target;
        const char *value; /* borrowed from the document, envp or the table */
        enum origin origin;
        int line;
        char env[ENV_NAME_MAX];
        union {
                long long i;
                double d;
                bool b;
        } parsed;
};

enum key_class {
        KEY_UNKNOWN,
        KEY_DECLARED,
        KEY_KAFKA,
        KEY_PREFIX, /* a mapping on the way to declared keys: "bus", "kafka" */
};

struct loader {
        struct cairn_conf *conf;
        struct slot *slots;
        size_t nslots;
        struct cairn_yaml *yaml; /* the file, while it is read */
        unsigned char *seen;     /* per node id: visited once already */
        char *errstr;
        size_t errstr_size;
};

static int fail(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct loader *ld, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!ld->errstr || ld->errstr_size == 0)
                return -1;
        n = snprintf(ld->errstr, ld->errstr_size, "config: ");
        if (n < 0 || (size_t)n >= ld->errstr_size)
                return -1;
        va_start(ap, fmt);
        vsnprintf(ld->errstr + n, ld->errstr_size - (size_t)n, fmt, ap);
        va_end(ap);
        return -1;
}

void cairn_conf_env_name(const char *name, char *buf, size_t size)
{
        size_t n = 0;

        if (size == 0)
                return;
        for (const char *p = ENV_PREFIX; *p && n + 1 < size; p++)
                buf[n++] = *p;
        for (const char *p = name; *p && n + 1 < size; p++) {
                unsigned char c = (unsigned char)*p;

                /* ASCII only, whatever the locale: the names are documented. */
                if (c == '.' || c == '-')
                        buf[n++] = '_';
                else if (c >= 'a' && c <= 'z')
                        buf[n++] = (char)(c - 'a' + 'A');
                else
                        buf[n++] = (char)c;
        }
        buf[n] = '\0';
}

static struct slot *slot_find(struct loader *ld, const char *name)
{
        for (size_t i = 0; i < ld->nslots; i++) {
                if (strcmp(ld->slots[i].item->name, name) == 0)
                        return &ld->slots[i];
        }
        return NULL;
}

static struct slot *slot_find_env(struct loader *ld, const char *env, size_t len)
{
        for (size_t i = 0; i < ld->nslots; i++) {
                const char *e = ld->slots[i].env;

                if (strlen(e) == len && memcmp(e, env, len) == 0)
                        return &ld->slots[i];
        }
        return NULL;
}

static enum key_class classify(struct loader *ld, const char *path)
{
        size_t len = strlen(path);

        if (len > KAFKA_PREFIX_LEN && strncmp(path, KAFKA_PREFIX, KAFKA_PREFIX_LEN) == 0)
                return KEY_KAFKA;
        if (slot_find(ld, path))
                return KEY_DECLARED;
        if (strcmp(path, "kafka") == 0)
                return KEY_PREFIX;
        for (size_t i = 0; i < ld->nslots; i++) {
                const char *name = ld->slots[i].item->name;

                if (strncmp(name, path, len) == 0 && name[len] == '.')
                        return KEY_PREFIX;
        }
        return KEY_UNKNOWN;
}

static struct kafka_prop *kafka_find(const struct cairn_conf *conf, const char *name)
{
        for (size_t i = 0; i < conf->nkafka; i++) {
                if (strcmp(conf->kafka[i].name, name) == 0)
                        return &conf->kafka[i];
        }
        return NULL;
}

/* Sets a kafka property: a new name goes to the end, a known one keeps its
 * place and takes the new value. Returns -1 when out of memory. */
static int kafka_put(struct cairn_conf *conf, const char *name, const char *value, int line)
{
        struct kafka_prop *kp = kafka_find(conf, name);
        char *copy = strdup(value);

        if (!copy)
                return -1;
        if (kp) {
                free(kp->value);
                kp->value = copy;
                kp->line = line;
                return 0;
        }
        if (conf->nkafka == conf->kafka_cap) {
                size_t cap = conf->kafka_cap ? conf->kafka_cap * 2 : 16;
                struct kafka_prop *grown = realloc(conf->kafka, cap * sizeof(*grown));

                if (!grown) {
                        free(copy);
                        return -1;
                }
                conf->kafka = grown;
                conf->kafka_cap = cap;
        }
        kp = &conf->kafka[conf->nkafka];
        kp->name = strdup(name);
        if (!kp->name) {
                free(copy);
                return -1;
        }
        kp->value = copy;
        kp->line = line;
        conf->nkafka++;
        return 0;
}

/* A value with a NUL byte inside would be cut short where it is stored. */
static bool scalar_has_nul(const struct cairn_yaml_node *node)
{
        return memchr(node->value, '\0', node->len) != NULL;
}

static int walk(struct loader *ld, const struct cairn_yaml_node *node, char *path, size_t len,
                int line, int depth);

static int walk_scalar(struct loader *ld, const struct cairn_yaml_node *node, const char *path,
                       int line)
{
        struct slot *slot;
        struct kafka_prop *kp;

        switch (classify(ld, path)) {
        case KEY_DECLARED:
                slot = slot_find(ld, path);
                if (slot->origin == FROM_FILE)
                        return fail(ld, "duplicate key \"%s\" (line %d, first on line %d)", path,
                                    line, slot->line);
                if (scalar_has_nul(node))
                        return fail(ld, "%s: value contains a NUL byte (line %d)", path, line);
                slot->value = node->value;
                slot->origin = FROM_FILE;
                slot->line = line;
                return 0;
        case KEY_KAFKA:
                kp = kafka_find(ld->conf, path + KAFKA_PREFIX_LEN);
                if (kp)
                        return fail(ld, "duplicate key \"%s\" (line %d, first on line %d)", path,
                                    line, kp->line);
                if (scalar_has_nul(node))
                        return fail(ld, "%s: value contains a NUL byte (line %d)", path, line);
                if (kafka_put(ld->conf, path + KAFKA_PREFIX_LEN, node->value, line) != 0)
                        return fail(ld, "out of memory");
                return 0;
        case KEY_PREFIX:
                /* "bus:" with everything below it commented out */
                if (cairn_yaml_is_null(node))
                        return 0;
                return fail(ld, "%s: expected a mapping (line %d)", path, line);
        case KEY_UNKNOWN:
        default:
                return fail(ld, "unknown key \"%s\" (line %d)", path, line);
        }
}

static int walk_mapping(struct loader *ld, const struct cairn_yaml_node *node, char *path,
                        size_t len, int depth)
{
        if (depth >= DEPTH_MAX)
                return fail(ld, "%s: nested too deeply (line %d)", path, node->line);
        for (size_t i = 0; i < node->n; i++) {
                const struct cairn_yaml_node *key = node->pairs[i].key;
                int line = key->line;
                size_t klen, n;
                int rc;

                if (key->type != CAIRN_YAML_SCALAR)
                        return fail(ld, "%s%skeys must be scalars (line %d)", path, len ? ": " : "",
                                    line);
                if (ld->seen[key->id]++)
                        return fail(ld, "YAML aliases are not supported (line %d)", line);
                klen = key->len;
                if (klen == 0 || scalar_has_nul(key))
                        return fail(ld, "%s%sempty or invalid key (line %d)", path, len ? ": " : "",
                                    line);
                if (len + 1 + klen >= PATH_MAX_LEN)
                        return fail(ld, "key too long (line %d)", line);

                /* Same key twice in this mapping, whatever lies below it. */
                for (size_t j = 0; j < i; j++) {
                        const struct cairn_yaml_node *pk = node->pairs[j].key;

                        if (pk->len == klen && memcmp(pk->value, key->value, klen) == 0)
                                return fail(ld,
                                            "duplicate key \"%s%s%s\" (line %d, first on "
                                            "line %d)",
                                            path, len ? "." : "", key->value, line, pk->line);
                }

                n = len;
                if (n)
                        path[n++] = '.';
                memcpy(path + n, key->value, klen);
                path[n + klen] = '\0';
                rc = walk(ld, node->pairs[i].value, path, n + klen, line, depth + 1);
                path[len] = '\0';
                if (rc != 0)
                        return rc;
        }
        return 0;
}

/* Visits @p node found at @p path (empty for the root), which the file names
 * on @p line. */
static int walk(struct loader *ld, const struct cairn_yaml_node *node, char *path, size_t len,
                int line, int depth)
{
        enum key_class kc;

        /* Aliases share nodes; a node met twice was reached through one. */
        if (ld->seen[node->id]++)
                return fail(ld, "%s%sYAML aliases are not supported (line %d)", path,
                            len ? ": " : "", line);

        if (len == 0) {
                if (node->type == CAIRN_YAML_MAPPING)
                        return walk_mapping(ld, node, path, len, depth);
                if (cairn_yaml_is_null(node))
                        return 0;
                return fail(ld, "expected a mapping at the top level (line %d)", line);
        }

        if (node->type == CAIRN_YAML_SCALAR)
                return walk_scalar(ld, node, path, line);

        kc = classify(ld, path);
        if (kc == KEY_UNKNOWN)
                return fail(ld, "unknown key \"%s\" (line %d)", path, line);
        if (node->type == CAIRN_YAML_MAPPING) {
                if (kc == KEY_DECLARED)
                        return fail(ld, "%s: expected a scalar, got a mapping (line %d)", path,
                                    line);
                /* Nested kafka mappings flatten like the rest: kafka: {sasl: {...}}. */
                return walk_mapping(ld, node, path, len, depth);
        }
        if (kc == KEY_PREFIX)
                return fail(ld, "%s: expected a mapping, got a sequence (line %d)", path, line);
        return fail(ld, "%s: expected a scalar, got a sequence (line %d)", path, line);
}

/* Reads @p path into ld->yaml and records every key it sets. */
static int file_load(struct loader *ld, const char *path)
{
        const struct cairn_yaml_node *root;
        char keypath[PATH_MAX_LEN];
        char why[512];

        ld->yaml = cairn_yaml_load(path, FILE_MAX, why, sizeof(why));
        if (!ld->yaml)
                return fail(ld, "%s", why);
        root = cairn_yaml_root(ld->yaml);
        if (!root)
                return 0; /* an empty file */
        ld->seen = calloc(cairn_yaml_count(ld->yaml), 1);
        if (!ld->seen)
                return fail(ld, "out of memory");
        keypath[0] = '\0';
        return walk(ld, root, keypath, 0, root->line, 0);
}

static int env_load(struct loader *ld, char *const *envp)
{
        for (char *const *e = envp; *e; e++) {
                const char *var = *e;
                const char *eq = strchr(var, '=');
                size_t nlen;

                if (strncmp(var, ENV_PREFIX, ENV_PREFIX_LEN) != 0 || !eq)
                        continue;
                nlen = (size_t)(eq - var);
                if (nlen == strlen("CAIRN_CONFIG") && memcmp(var, "CAIRN_CONFIG", nlen) == 0)
                        continue;

                if (nlen > ENV_KAFKA_LEN && memcmp(var, ENV_KAFKA, ENV_KAFKA_LEN) == 0) {
                        char name[PATH_MAX_LEN];
                        size_t n = nlen - ENV_KAFKA_LEN;

                        if (n >= sizeof(name))
                                return fail(ld, "%.*s: name too long", (int)nlen, var);
                        for (size_t i = 0; i < n; i++) {
                                unsigned char c = (unsigned char)var[ENV_KAFKA_LEN + i];

                                if (c == '_')
                                        name[i] = '.';
                                else if (c >= 'A' && c <= 'Z')
                                        name[i] = (char)(c - 'A' + 'a');
                                else
                                        name[i] = (char)c;
                        }
                        name[n] = '\0';
                        if (kafka_put(ld->conf, name, eq + 1, 0) != 0)
                                return fail(ld, "out of memory");
                        continue;
                }

                struct slot *slot = slot_find_env(ld, var, nlen);

                if (!slot)
                        return fail(ld, "%.*s: unknown setting", (int)nlen, var);
                slot->value = eq + 1;
                slot->origin = FROM_ENV;
        }
        return 0;
}

/* " (line 3)", " (from CAIRN_BUS_WORKERS)": where a bad value came from. */
static void origin_describe(const struct slot *slot, char *buf, size_t size)
{
        switch (slot->origin) {
        case FROM_FILE:
                snprintf(buf, size, " (line %d)", slot->line);
                break;
        case FROM_ENV:
                snprintf(buf, size, " (from %s)", slot->env);
                break;
        case FROM_DEFAULT:
                snprintf(buf, size, " (the default)");
                break;
        case FROM_NONE:
        default:
                buf[0] = '\0';
                break;
        }
}

static bool parse_int(const char *s, long long *out, bool *range)
{
        const char *p = s;
        char *end;

        *range = false;
        if (*p == '-' || *p == '+')
                p++;
        if (!isdigit((unsigned char)*p))
                return false;
        errno = 0;
        *out = strtoll(s, &end, 10);
        if (*end != '\0')
                return false;
        if (errno == ERANGE) {
                *range = true;
                return false;
        }
        return true;
}

static bool parse_double(const char *s, double *out)
{
        char *end;

        if (*s == '\0' || isspace((unsigned char)*s))
                return false;
        errno = 0;
        *out = strtod(s, &end);
        if (*end != '\0' || errno == ERANGE || !isfinite(*out))
                return false;
        return true;
}

static bool parse_bool(const char *s, bool *out)
{
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *out = true;
                        return true;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *out = false;
                        return true;
                }
        }
        return false;
}

/* Formats a bound the way the table's type reads. */
static void bound_format(enum cairn_conf_type type, double v, char *buf, size_t size)
{
        if (type == CAIRN_CONF_INT)
                snprintf(buf, size, "%lld", (long long)v);
        else
                snprintf(buf, size, "%g", v);
}

static int slot_check_bounds(struct loader *ld, struct slot *slot, double v, const char *shown,
                             const char *where)
{
        const struct cairn_conf_item *item = slot->item;
        char bound[64];

        if (item->min > item->max)
                return 0;
        if (v < item->min) {
                bound_format(item->type, item->min, bound, sizeof(bound));
                return fail(ld, "%s: %s is below the minimum %s%s", item->name, shown, bound,
                            where);
        }
        if (v > item->max) {
                bound_format(item->type, item->max, bound, sizeof(bound));
                return fail(ld, "%s: %s is above the maximum %s%s", item->name, shown, bound,
                            where);
        }
        return 0;
}

/* Settles the value of one item (environment, file, default) and parses it. */
static int slot_check(struct loader *ld, struct slot *slot)
{
        const struct cairn_conf_item *item = slot->item;
        bool secret = (item->flags & CAIRN_CONF_SECRET) != 0;
        char where[ENV_NAME_MAX + 16];
        const char *shown;
        bool range;

        if (item->flags & CAIRN_CONF_REQUIRED) {
                /* An empty value is how a deployment leaves a variable unset. */
                if (slot->origin == FROM_NONE || slot->value[0] == '\0')
                        return fail(ld, "%s is required (set it in the file or %s)", item->name,
                                    slot->env);
        } else if (slot->origin == FROM_NONE && item->def) {
                slot->value = item->def;
                slot->origin = FROM_DEFAULT;
        }
        if (slot->origin == FROM_NONE)
                return 0;

        origin_describe(slot, where, sizeof(where));
        shown = secret ? "<redacted>" : slot->value;

        switch (item->type) {
        case CAIRN_CONF_STRING:
                return 0;
        case CAIRN_CONF_INT:
                if (!parse_int(slot->value, &slot->parsed.i, &range)) {
                        if (range)
                                return fail(ld, "%s: %s is out of range%s", item->name, shown,
                                            where);
                        if (secret)
                                return fail(ld, "%s: expected an integer, got %s%s", item->name,
                                            shown, where);
                        return fail(ld, "%s: expected an integer, got \"%s\"%s", item->name, shown,
                                    where);
                }
                return slot_check_bounds(ld, slot, (double)slot->parsed.i, shown, where);
        case CAIRN_CONF_DOUBLE:
                if (!parse_double(slot->value, &slot->parsed.d)) {
                        if (secret)
                                return fail(ld, "%s: expected a number, got %s%s", item->name,
                                            shown, where);
                        return fail(ld, "%s: expected a number, got \"%s\"%s", item->name, shown,
                                    where);
                }
                return slot_check_bounds(ld, slot, slot->parsed.d, shown, where);
        case CAIRN_CONF_BOOL:
                if (!parse_bool(slot->value, &slot->parsed.b)) {
                        if (secret)
                                return fail(ld, "%s: expected true or false, got %s%s", item->name,
                                            shown, where);
                        return fail(ld,
                                    "%s: expected true or false (or yes/no, on/off, 1/0), "
                                    "got \"%s\"%s",
                                    item->name, shown, where);
                }
                return 0;
        }
        return fail(ld, "%s: unknown type %d", item->name, (int)item->type);
}

/* Gives a STRING item a copy of its value owned by the configuration. */
static int slot_copy(struct loader *ld, struct slot *slot)
{
        char *copy;

        if (slot->item->type != CAIRN_CONF_STRING || slot->origin == FROM_NONE)
                return 0;
        copy = strdup(slot->value);
        if (!copy)
                return fail(ld, "out of memory");
        ld->conf->strings[ld->conf->nstrings++] = copy;
        slot->value = copy;
        return 0;
}

/* Writes a checked value into its target; nothing here can fail, so the
 * targets are written all or not at all. */
static void slot_store(struct slot *slot)
{
        char *dst = (char *)slot->target + slot->item->offset;
        bool set = slot->origin != FROM_NONE;

        switch (slot->item->type) {
        case CAIRN_CONF_STRING:
                *(const char **)(void *)dst = set ? slot->value : NULL;
                break;
        case CAIRN_CONF_INT:
                *(long long *)(void *)dst = set ? slot->parsed.i : 0;
                break;
        case CAIRN_CONF_DOUBLE:
                *(double *)(void *)dst = set ? slot->parsed.d : 0.0;
                break;
        case CAIRN_CONF_BOOL:
                *(bool *)(void *)dst = set ? slot->parsed.b : false;
                break;
        }
}

struct cairn_conf *cairn_conf_load(const char *path, const struct cairn_conf_section *sections,
                                   size_t nsections, char *const *envp, char *errstr,
                                   size_t errstr_size)
{
        struct loader ld;
        size_t n = 0;
        int rc = -1;

        memset(&ld, 0, sizeof(ld));
        ld.errstr = errstr;
        ld.errstr_size = errstr_size;
        if (errstr && errstr_size)
                errstr[0] = '\0';

        for (size_t s = 0; s < nsections; s++) {
                for (const struct cairn_conf_item *it = sections[s].items; it && it->name; it++)
                        n++;
        }
        ld.conf = calloc(1, sizeof(*ld.conf));
        ld.slots = calloc(n ? n : 1, sizeof(*ld.slots));
        if (!ld.conf || !ld.slots) {
                fail(&ld, "out of memory");
                goto out;
        }
        ld.conf->strings = calloc(n ? n : 1, sizeof(*ld.conf->strings));
        if (!ld.conf->strings) {
                fail(&ld, "out of memory");
                goto out;
        }
        for (size_t s = 0; s < nsections; s++) {
                for (const struct cairn_conf_item *it = sections[s].items; it && it->name; it++) {
                        struct slot *slot;

                        /* Two tables declaring one key is a bug; say so rather
                         * than feed only one of them. */
                        if (slot_find(&ld, it->name)) {
                                fail(&ld, "%s is declared twice", it->name);
                                goto out;
                        }
                        slot = &ld.slots[ld.nslots++];
                        slot->item = it;
                        slot->target = sections[s].target;
                        cairn_conf_env_name(it->name, slot->env, sizeof(slot->env));
                }
        }

        if (path && file_load(&ld, path) != 0)
                goto out;
        if (env_load(&ld, envp ? envp : environ) != 0)
                goto out;
        for (size_t i = 0; i < ld.nslots; i++) {
                if (slot_check(&ld, &ld.slots[i]) != 0)
                        goto out;
        }
        for (size_t i = 0; i < ld.nslots; i++) {
                if (slot_copy(&ld, &ld.slots[i]) != 0)
                        goto out;
        }
        for (size_t i = 0; i < ld.nslots; i++)
                slot_store(&ld.slots[i]);
        for (size_t s = 0; s < nsections; s++) {
                if (sections[s].check &&
                    sections[s].check(sections[s].target, ld.errstr, ld.errstr_size) != 0)
                        goto out;
        }
        rc = 0;
out:
        cairn_yaml_free(ld.yaml);
        free(ld.seen);
        free(ld.slots);
        if (rc != 0) {
                cairn_conf_free(ld.conf);
                return NULL;
        }
        return ld.conf;
}

void cairn_conf_free(struct cairn_conf *conf)
{
        if (!conf)
                return;
        for (size_t i = 0; i < conf->nkafka; i++) {
                free(conf->kafka[i].name);
                free(conf->kafka[i].value);
        }
        free(conf->kafka);
        for (size_t i = 0; i < conf->nstrings; i++)
                free(conf->strings[i]);
        free(conf->strings);
        free(conf);
}

int cairn_conf_foreach_kafka(const struct cairn_conf *conf,
                             int (*cb)(const char *name, const char *value, void *opaque),
                             void *opaque)
{
        for (size_t i = 0; i < conf->nkafka; i++) {
                int rc = cb(conf->kafka[i].name, conf->kafka[i].value, opaque);

                if (rc != 0)
                        return rc;
        }
        return 0;
}

const char *cairn_conf_kafka_get(const struct cairn_conf *conf, const char *name)
{
        const struct kafka_prop *kp = kafka_find(conf, name);

        return kp ? kp->value : NULL;
}

/* Table cells: a pipe would end the cell and a newline the row. */
static void cell_write(FILE *fp, const char *s)
{
        for (; *s; s++) {
                if (*s == '|')
                        fputs("\\|", fp);
                else if (*s == '\n' || *s == '\r')
                        fputc(' ', fp);
                else
                        fputc(*s, fp);
        }
}

static const char *type_name(enum cairn_conf_type type)
{
        switch (type) {
        case CAIRN_CONF_STRING:
                return "string";
        case CAIRN_CONF_INT:
                return "integer";
        case CAIRN_CONF_BOOL:
                return "boolean";
        case CAIRN_CONF_DOUBLE:
                return "number";
        }
        return "?";
}

static void item_doc(const struct cairn_conf_item *item, FILE *fp)
{
        char env[ENV_NAME_MAX];

        fputs("| `", fp);
        cell_write(fp, item->name);
        fprintf(fp, "` | %s | ", type_name(item->type));

        if (item->flags & CAIRN_CONF_REQUIRED) {
                fputs("required", fp);
        } else if (!item->def) {
                fputs("—", fp);
        } else if (item->flags & CAIRN_CONF_SECRET) {
                fputs("(secret)", fp);
        } else if (item->def[0] == '\0') {
                fputs("`\"\"`", fp);
        } else {
                fputc('`', fp);
                cell_write(fp, item->def);
                fputc('`', fp);
        }
        fputs(" | ", fp);

        if ((item->type == CAIRN_CONF_INT || item->type == CAIRN_CONF_DOUBLE) &&
            item->min <= item->max) {
                char lo[64], hi[64];

                bound_format(item->type, item->min, lo, sizeof(lo));
                bound_format(item->type, item->max, hi, sizeof(hi));
                fprintf(fp, "%s to %s", lo, hi);
        } else {
                fputs("—", fp);
        }

        cairn_conf_env_name(item->name, env, sizeof(env));
        fprintf(fp, " | `%s` | %s | ", env,
                (item->flags & CAIRN_CONF_RELOAD) ? "runtime" : "restart");
        cell_write(fp, item->desc ? item->desc : "");
        fputs(" |\n", fp);
}

void cairn_conf_doc(const struct cairn_conf_section *sections, size_t nsections, FILE *fp)
{
        for (size_t s = 0; s < nsections; s++) {
                if (s > 0)
                        fputc('\n', fp);
                fputs("## ", fp);
                cell_write(fp, sections[s].title ? sections[s].title : "");
                fputs("\n\n"
                      "| Key | Type | Default | Range | Environment | Reload | Description |\n"
                      "|-----|------|---------|-------|-------------|--------|-------------|\n",
                      fp);
                for (const struct cairn_conf_item *it = sections[s].items; it && it->name; it++)
                        item_doc(it, fp);
        }
}

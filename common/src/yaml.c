/* Reading a small YAML file into a tree: libyaml parses it into a document,
 * and the document's nodes become cairn_yaml_node, one each, linked by
 * pointer. The tree also converts to JSON, by YAML 1.2's core schema. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <yaml.h>

#include "cairn/file.h"
#include "cairn/yaml.h"

struct cairn_yaml {
        yaml_document_t doc; /* owns the scalars' text */
        bool have_doc;
        struct cairn_yaml_node *nodes;
        size_t nnodes;
        const struct cairn_yaml_node **items; /* every sequence's items, one after another */
        struct cairn_yaml_pair *pairs;        /* every mapping's pairs, one after another */
};

static void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size);

        if (!p)
                abort();
        return p;
}

static void syntax_error(const yaml_parser_t *parser, const char *name, char *errstr,
                         size_t errstr_size)
{
        const char *problem = parser->problem ? parser->problem : "parse error";
        int line = (int)parser->problem_mark.line + 1;

        if (parser->context)
                snprintf(errstr, errstr_size, "%s: not valid YAML: %s %s (line %d)", name, problem,
                         parser->context, line);
        else
                snprintf(errstr, errstr_size, "%s: not valid YAML: %s (line %d)", name, problem,
                         line);
}

/* The node libyaml numbers @p index (from 1), or NULL when out of range. */
static const struct cairn_yaml_node *node_at(const struct cairn_yaml *y, int index)
{
        if (index < 1 || (size_t)index > y->nnodes)
                return NULL;
        return &y->nodes[index - 1];
}

/* Turns y->doc into y->nodes. Returns false when a child index is out of
 * range, which libyaml never produces. */
static bool tree_build(struct cairn_yaml *y)
{
        yaml_node_t *start = y->doc.nodes.start;
        size_t nitems = 0, npairs = 0, item = 0, pair = 0;

        y->nnodes = (size_t)(y->doc.nodes.top - start);
        for (size_t i = 0; i < y->nnodes; i++) {
                if (start[i].type == YAML_SEQUENCE_NODE)
                        nitems += (size_t)(start[i].data.sequence.items.top -
                                           start[i].data.sequence.items.start);
                else if (start[i].type == YAML_MAPPING_NODE)
                        npairs += (size_t)(start[i].data.mapping.pairs.top -
                                           start[i].data.mapping.pairs.start);
        }
        y->nodes = xcalloc(y->nnodes, sizeof(*y->nodes));
        y->items = xcalloc(nitems, sizeof(*y->items));
        y->pairs = xcalloc(npairs, sizeof(*y->pairs));
        for (size_t i = 0; i < y->nnodes; i++) {
                const yaml_node_t *src = &start[i];
                struct cairn_yaml_node *n = &y->nodes[i];

                n->id = i;
                n->line = (int)src->start_mark.line + 1;
                switch (src->type) {
                case YAML_SCALAR_NODE:
                        n->type = CAIRN_YAML_SCALAR;
                        n->value = (const char *)src->data.scalar.value;
                        n->len = src->data.scalar.length;
                        n->plain = src->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                        break;
                case YAML_SEQUENCE_NODE:
                        n->type = CAIRN_YAML_SEQUENCE;
                        n->items = &y->items[item];
                        for (yaml_node_item_t *it = src->data.sequence.items.start;
                             it < src->data.sequence.items.top; it++) {
                                y->items[item] = node_at(y, *it);
                                if (!y->items[item++])
                                        return false;
                                n->n++;
                        }
                        break;
                case YAML_MAPPING_NODE:
                        n->type = CAIRN_YAML_MAPPING;
                        n->pairs = &y->pairs[pair];
                        for (yaml_node_pair_t *p = src->data.mapping.pairs.start;
                             p < src->data.mapping.pairs.top; p++) {
                                y->pairs[pair].key = node_at(y, p->key);
                                y->pairs[pair].value = node_at(y, p->value);
                                if (!y->pairs[pair].key || !y->pairs[pair].value)
                                        return false;
                                pair++;
                                n->n++;
                        }
                        break;
                case YAML_NO_NODE:
                default:
                        return false;
                }
        }
        return true;
}

struct cairn_yaml *cairn_yaml_parse(const char *text, size_t len, const char *name, char *errstr,
                                    size_t errstr_size)
{
        struct cairn_yaml *y = xcalloc(1, sizeof(*y));
        yaml_parser_t parser;
        yaml_document_t extra;
        bool more;

        if (!yaml_parser_initialize(&parser))
                abort();
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        if (!yaml_parser_load(&parser, &y->doc)) {
                syntax_error(&parser, name, errstr, errstr_size);
                goto fail;
        }
        y->have_doc = true;
        if (yaml_document_get_root_node(&y->doc)) {
                /* Whatever follows the first document must be nothing. */
                if (!yaml_parser_load(&parser, &extra)) {
                        syntax_error(&parser, name, errstr, errstr_size);
                        goto fail;
                }
                more = yaml_document_get_root_node(&extra) != NULL;
                yaml_document_delete(&extra);
                if (more) {
                        snprintf(errstr, errstr_size, "%s: more than one YAML document", name);
                        goto fail;
                }
        }
        if (!tree_build(y)) {
                snprintf(errstr, errstr_size, "%s: not valid YAML: broken document", name);
                goto fail;
        }
        yaml_parser_delete(&parser);
        return y;
fail:
        yaml_parser_delete(&parser);
        cairn_yaml_free(y);
        return NULL;
}

struct cairn_yaml *cairn_yaml_load(const char *path, size_t max, char *errstr, size_t errstr_size)
{
        struct cairn_yaml *y;
        size_t len;
        char *text = cairn_file_read(path, max, &len, errstr, errstr_size);

        if (!text)
                return NULL;
        y = cairn_yaml_parse(text, len, path, errstr, errstr_size);
        free(text);
        return y;
}

void cairn_yaml_free(struct cairn_yaml *yaml)
{
        if (!yaml)
                return;
        if (yaml->have_doc)
                yaml_document_delete(&yaml->doc);
        free(yaml->nodes);
        free(yaml->items);
        free(yaml->pairs);
        free(yaml);
}

const struct cairn_yaml_node *cairn_yaml_root(const struct cairn_yaml *yaml)
{
        return yaml->nnodes ? &yaml->nodes[0] : NULL;
}

size_t cairn_yaml_count(const struct cairn_yaml *yaml)
{
        return yaml->nnodes;
}

const char *cairn_yaml_str(const struct cairn_yaml_node *node)
{
        return node && node->type == CAIRN_YAML_SCALAR ? node->value : NULL;
}

bool cairn_yaml_is_null(const struct cairn_yaml_node *node)
{
        const char *v = cairn_yaml_str(node);

        if (!v || !node->plain)
                return false;
        return v[0] == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

const struct cairn_yaml_node *cairn_yaml_get(const struct cairn_yaml_node *map, const char *key)
{
        if (!map || map->type != CAIRN_YAML_MAPPING)
                return NULL;
        for (size_t i = 0; i < map->n; i++) {
                const char *k = cairn_yaml_str(map->pairs[i].key);

                if (k && strcmp(k, key) == 0)
                        return map->pairs[i].value;
        }
        return NULL;
}

const struct cairn_yaml_node *cairn_yaml_key_unknown(const struct cairn_yaml_node *map,
                                                     const char *const *known)
{
        if (!map || map->type != CAIRN_YAML_MAPPING)
                return NULL;
        for (size_t i = 0; i < map->n; i++) {
                const char *k = cairn_yaml_str(map->pairs[i].key);
                bool ok = false;

                for (size_t j = 0; k && known[j] && !ok; j++)
                        ok = strcmp(k, known[j]) == 0;
                if (!ok)
                        return map->pairs[i].key;
        }
        return NULL;
}

/* ---- JSON ---- */

/* Nesting the conversion follows (the JSON mapping's own limit). */
#define JSON_DEPTH_MAX 100

struct to_json {
        const char *name;
        bool *open; /* node ids being converted: an alias to one is recursive */
        size_t nodes, max_nodes;
        char *errstr;
        size_t errstr_size;
};

static json_t *to_json_fail(struct to_json *t, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static json_t *to_json_fail(struct to_json *t, int line, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(t->errstr, t->errstr_size, "%s: line %d: %s", t->name, line, msg);
        return NULL;
}

static bool all_of(const char *s, size_t len, const char *set)
{
        for (size_t i = 0; i < len; i++)
                if (!strchr(set, s[i]) || s[i] == '\0')
                        return false;
        return len > 0;
}

/* YAML 1.2 core schema's float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool core_float(const char *s, size_t len)
{
        size_t i = 0, digits = 0;

        if (i < len && (s[i] == '-' || s[i] == '+'))
                i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
                i++, digits++;
        if (i < len && s[i] == '.') {
                i++;
                while (i < len && s[i] >= '0' && s[i] <= '9')
                        i++, digits++;
        }
        if (digits == 0)
                return false;
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                size_t exp = 0;

                i++;
                if (i < len && (s[i] == '-' || s[i] == '+'))
                        i++;
                while (i < len && s[i] >= '0' && s[i] <= '9')
                        i++, exp++;
                if (exp == 0)
                        return false;
        }
        return i == len;
}

/* An integer in @p base of the digits @p s[0..len) (an optional sign
 * first in base 10); false when it does not fit int64. */
static bool core_int(const char *s, size_t len, int base, long long *out)
{
        char buf[96], *end;

        if (len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        if (base == 10) {
                *out = strtoll(buf, &end, 10);
                return errno == 0 && *end == '\0';
        }
        unsigned long long u = strtoull(buf, &end, base);

        if (errno || *end || u > (unsigned long long)INT64_MAX)
                return false;
        *out = (long long)u;
        return true;
}

static json_t *scalar_json(struct to_json *t, const struct cairn_yaml_node *n)
{
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
        static const char *const trues[] = { "true", "True", "TRUE" };
        static const char *const falses[] = { "false", "False", "FALSE" };
        static const char *const nans[] = { ".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                            "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN" };
        const char *s = n->value;
        size_t len = n->len;
        long long i;
        json_t *v;

        if (n->plain && strlen(s) == len) {
                for (size_t k = 0; k < sizeof(nulls) / sizeof(nulls[0]); k++)
                        if (strcmp(s, nulls[k]) == 0)
                                return json_null();
                for (size_t k = 0; k < sizeof(trues) / sizeof(trues[0]); k++)
                        if (strcmp(s, trues[k]) == 0)
                                return json_true();
                for (size_t k = 0; k < sizeof(falses) / sizeof(falses[0]); k++)
                        if (strcmp(s, falses[k]) == 0)
                                return json_false();
                for (size_t k = 0; k < sizeof(nans) / sizeof(nans[0]); k++)
                        if (strcmp(s, nans[k]) == 0)
                                return to_json_fail(t, n->line,
                                                    "%s has no JSON form (quote it for a string)",
                                                    s);
                if (all_of(s + (s[0] == '-' || s[0] == '+'), len - (s[0] == '-' || s[0] == '+'),
                           "0123456789") ||
                    (len > 2 && strncmp(s, "0o", 2) == 0 && all_of(s + 2, len - 2, "01234567")) ||
                    (len > 2 && strncmp(s, "0x", 2) == 0 &&
                     all_of(s + 2, len - 2, "0123456789abcdefABCDEF"))) {
                        int base = s[1] == 'o' ? 8 : s[1] == 'x' ? 16 : 10;

                        if (!core_int(base == 10 ? s : s + 2, base == 10 ? len : len - 2, base, &i))
                                return to_json_fail(t, n->line,
                                                    "integer %.40s is out of range (quote it for "
                                                    "a string)",
                                                    s);
                        return json_integer(i);
                }
                if (core_float(s, len)) {
                        double d = strtod(s, NULL);

                        if (!isfinite(d))
                                return to_json_fail(t, n->line,
                                                    "number %.40s is out of range (quote it for a "
                                                    "string)",
                                                    s);
                        return json_real(d);
                }
        }
        v = json_stringn(s, len);
        if (!v)
                return to_json_fail(t, n->line, "a string that is not valid UTF-8");
        return v;
}

static json_t *node_json(struct to_json *t, const struct cairn_yaml_node *n, int depth);

static json_t *mapping_json(struct to_json *t, const struct cairn_yaml_node *n, int depth)
{
        json_t *obj = json_object();

        if (!obj)
                return to_json_fail(t, n->line, "out of memory");
        for (size_t i = 0; i < n->n; i++) {
                const struct cairn_yaml_node *k = n->pairs[i].key;
                json_t *v;

                if (k->type != CAIRN_YAML_SCALAR) {
                        json_decref(obj);
                        return to_json_fail(t, k->line, "a key must be a scalar, not a %s",
                                            k->type == CAIRN_YAML_MAPPING ? "mapping" : "sequence");
                }
                if (k->plain && strcmp(k->value, "<<") == 0) {
                        json_decref(obj);
                        return to_json_fail(t, k->line, "merge keys (<<) are not supported");
                }
                if (json_object_getn(obj, k->value, k->len)) {
                        json_decref(obj);
                        return to_json_fail(t, k->line, "key \"%.*s\" given twice",
                                            k->len > 64 ? 64 : (int)k->len, k->value);
                }
                v = node_json(t, n->pairs[i].value, depth + 1);
                if (!v || json_object_setn_new(obj, k->value, k->len, v) != 0) {
                        json_decref(obj);
                        return v ? to_json_fail(t, k->line, "key \"%.*s\" is not valid UTF-8",
                                                k->len > 64 ? 64 : (int)k->len, k->value)
                                 : NULL;
                }
        }
        return obj;
}

static json_t *sequence_json(struct to_json *t, const struct cairn_yaml_node *n, int depth)
{
        json_t *arr = json_array();

        if (!arr)
                return to_json_fail(t, n->line, "out of memory");
        for (size_t i = 0; i < n->n; i++) {
                json_t *v = node_json(t, n->items[i], depth + 1);

                if (!v || json_array_append_new(arr, v) != 0) {
                        json_decref(arr);
                        return v ? to_json_fail(t, n->line, "out of memory") : NULL;
                }
        }
        return arr;
}

static json_t *node_json(struct to_json *t, const struct cairn_yaml_node *n, int depth)
{
        json_t *v;

        if (++t->nodes > t->max_nodes)
                return to_json_fail(t, n->line, "aliases expand the document by more than %d nodes",
                                    CAIRN_YAML_JSON_EXTRA_NODES);
        if (n->type == CAIRN_YAML_SCALAR)
                return scalar_json(t, n);
        if (depth > JSON_DEPTH_MAX)
                return to_json_fail(t, n->line, "nested deeper than %d levels", JSON_DEPTH_MAX);
        if (t->open[n->id])
                return to_json_fail(t, n->line, "an alias refers to a node that holds it");
        t->open[n->id] = true;
        v = n->type == CAIRN_YAML_MAPPING ? mapping_json(t, n, depth) : sequence_json(t, n, depth);
        t->open[n->id] = false;
        return v;
}

json_t *cairn_yaml_to_json(const struct cairn_yaml *yaml, const char *name, char *errstr,
                           size_t errstr_size)
{
        struct to_json t = {
                .name = name,
                .max_nodes = yaml->nnodes + CAIRN_YAML_JSON_EXTRA_NODES,
                .errstr = errstr,
                .errstr_size = errstr_size,
        };
        json_t *v;

        if (!yaml->nnodes)
                return json_null();
        t.open = xcalloc(yaml->nnodes, sizeof(*t.open));
        v = node_json(&t, &yaml->nodes[0], 1);
        free(t.open);
        return v;
}

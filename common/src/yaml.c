/* Reading a small YAML file into a tree: libyaml parses it into a document,
 * and the document's nodes become cairn_yaml_node, one each, linked by
 * pointer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

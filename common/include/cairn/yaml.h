/* Small YAML files (the configuration, a keys file, cairn-admin's topics
 * file) read whole into a tree of nodes, with what every reader checks done
 * once here: the size, the syntax, one document at most. Readers walk the
 * tree and name the key and line of whatever they refuse. */
#ifndef CAIRN_YAML_H
#define CAIRN_YAML_H

#include <stdbool.h>
#include <stddef.h>

enum cairn_yaml_type {
        CAIRN_YAML_SCALAR,
        CAIRN_YAML_SEQUENCE,
        CAIRN_YAML_MAPPING,
};

struct cairn_yaml_pair;

/* One node. Everything lives until cairn_yaml_free(). An alias (*name) is
 * the node its anchor names: the same node, with the same id, met twice. */
struct cairn_yaml_node {
        enum cairn_yaml_type type;
        int line;          /* 1-based line where the node starts */
        size_t id;         /* 0 .. cairn_yaml_count() - 1, one per node */
        const char *value; /* SCALAR: the text, NUL-terminated (it may hold a NUL
                            * before len); NULL for the others */
        size_t len;        /* SCALAR: bytes in value */
        bool plain;        /* SCALAR: written without quotes, so "" and ~ are null */
        size_t n;          /* SEQUENCE: items; MAPPING: pairs */
        const struct cairn_yaml_node *const *items; /* SEQUENCE */
        const struct cairn_yaml_pair *pairs;        /* MAPPING, in file order */
};

struct cairn_yaml_pair {
        const struct cairn_yaml_node *key;
        const struct cairn_yaml_node *value;
};

struct cairn_yaml;

/* Parses the @p len bytes at @p text (@p name names them in messages). A
 * syntax error or a second document fails with @p errstr
 * ("keys.yaml: not valid YAML: did not find expected key (line 3)").
 * Returns the tree (free with cairn_yaml_free()), or NULL. */
struct cairn_yaml *cairn_yaml_parse(const char *text, size_t len, const char *name, char *errstr,
                                    size_t errstr_size);

/* cairn_yaml_parse() of the file @p path, which may hold at most @p max
 * bytes (cairn_file_read()); messages name @p path. */
struct cairn_yaml *cairn_yaml_load(const char *path, size_t max, char *errstr, size_t errstr_size);

void cairn_yaml_free(struct cairn_yaml *yaml);

/* The top node, or NULL for a document without one (an empty file, only
 * comments, "---"). */
const struct cairn_yaml_node *cairn_yaml_root(const struct cairn_yaml *yaml);

/* Nodes in the document: ids are below this. */
size_t cairn_yaml_count(const struct cairn_yaml *yaml);

/* The text of a scalar; NULL when @p node is NULL or not a scalar. */
const char *cairn_yaml_str(const struct cairn_yaml_node *node);

/* True for a plain scalar that means null: empty, ~, or null in any case
 * ("key:" with nothing after it). False for NULL. */
bool cairn_yaml_is_null(const struct cairn_yaml_node *node);

/* The value of the first key @p key of mapping @p map; NULL when @p map is
 * NULL, not a mapping, or has no such key. */
const struct cairn_yaml_node *cairn_yaml_get(const struct cairn_yaml_node *map, const char *key);

/* The first key of mapping @p map that is not a scalar or not one of
 * @p known (NULL-terminated), for an "unknown key" message; NULL when every
 * key is known (or @p map is not a mapping). */
const struct cairn_yaml_node *cairn_yaml_key_unknown(const struct cairn_yaml_node *map,
                                                     const char *const *known);

struct json_t;

/* Nodes aliases may add to a document converted to JSON, beyond its own:
 * anchors can share blocks, but a few lines cannot expand into millions
 * ("billion laughs"). */
#define CAIRN_YAML_JSON_EXTRA_NODES 100000

/* The document of @p yaml as JSON (a jansson value), for files that are
 * JSON in YAML's clothes (a workflow definition for cairn-admin). Mappings
 * become objects, sequences arrays. A plain scalar is read by YAML 1.2's
 * core schema: empty, ~ and null (also Null, NULL) are null; true and false
 * (also True, TRUE, False, FALSE) booleans; decimal integers, 0o octal and
 * 0x hex ones integers (within int64); decimal reals (1.5, .5, 1e3) reals.
 * Every other scalar, and every quoted one, is a string: yes, on, 1.0.2 and
 * "12" stay strings. Tags are not looked at. An alias is resolved to a copy
 * of the node its anchor names. Refused, with @p errstr naming @p name and
 * the line ("defs.yaml: line 4: key \"id\" given twice"): a key that is
 * not a scalar or is given twice, a plain << (merge keys), .inf and .nan
 * (no JSON form), integers beyond int64, an alias inside the node it names,
 * aliases adding more than CAIRN_YAML_JSON_EXTRA_NODES nodes, nesting
 * deeper than 100 levels. A document without a root is null. Returns a new
 * reference the caller json_decref()s, or NULL. */
struct json_t *cairn_yaml_to_json(const struct cairn_yaml *yaml, const char *name, char *errstr,
                                  size_t errstr_size);

#endif

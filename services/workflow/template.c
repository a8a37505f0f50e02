/* References and templates over jansson (template.h): a reference's path is
 * parsed into segments and walked through the run's data; a template is
 * copied with every reference in its strings replaced. Every limit (path
 * length, nesting, the size of a string built) is checked before memory is
 * spent on it, and nothing in a template or the data can make this fail
 * other than with a message. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/json.h"
#include "cairn/pbjson.h"
#include "template.h"

/* Index digits beyond this count saturate: no array is that long. */
#define INDEX_DIGITS_MAX 18
/* A path of WF_REF_MAX bytes has at most this many segments ("a.b.c..."). */
#define SEG_MAX (WF_REF_MAX / 2 + 1)
/* How much of a template string a message quotes. */
#define EXCERPT_MAX 60

struct seg {
        const char *text; /* the name, or the digits of an index */
        size_t len;
        bool bracket; /* written [N]: an array index, nothing else */
        bool numeric; /* only digits: an index when the value is an array */
        size_t index; /* the digits' value, SIZE_MAX when too many */
        size_t end;   /* offset just past the segment: the path so far, for messages */
};

struct path {
        const char *text;
        size_t len;
        size_t n;
        struct seg segs[SEG_MAX];
};

/* Cuts @p s after its last whole UTF-8 character, so that a message
 * truncated by snprintf stays valid UTF-8. */
static void utf8_trim(char *s)
{
        size_t len = strlen(s), i, want;
        unsigned char lead;

        if (len == 0)
                return;
        i = len - 1;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
                i--;
        lead = (unsigned char)s[i];
        want = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (i + want > len)
                s[i] = '\0';
}

static void fail(char *err, size_t err_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t err_size, const char *fmt, ...)
{
        va_list ap;

        if (!err || err_size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        utf8_trim(err);
}

/* The first bytes of @p s, at most EXCERPT_MAX, cut at a character: their
 * count, with *@p more set when something was left out. */
static int excerpt(const char *s, size_t len, const char **more)
{
        size_t n = len;

        *more = "";
        if (len > EXCERPT_MAX) {
                n = EXCERPT_MAX;
                while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                        n--;
                *more = "...";
        }
        return (int)n;
}

static bool name_char(char c)
{
        return c != '.' && c != '[' && c != ']' && c != '{' && c != '}' && c != '$' && c != '\0';
}

static size_t digits_value(const char *s, size_t len)
{
        size_t v = 0;

        if (len > INDEX_DIGITS_MAX)
                return SIZE_MAX;
        for (size_t i = 0; i < len; i++)
                v = v * 10 + (size_t)(s[i] - '0');
        return v;
}

static bool all_digits(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return len > 0;
}

/* Where a path goes wrong: the character at @p i. */
static int bad_char(const struct path *p, size_t i, char *err, size_t err_size)
{
        char c = p->text[i];

        if (c == '\0')
                fail(err, err_size, "${%.*s}: a NUL byte at byte %zu is not allowed in a name",
                     (int)p->len, p->text, i);
        else
                fail(err, err_size, "${%.*s}: \"%c\" at byte %zu is not allowed in a name",
                     (int)p->len, p->text, c, i);
        return -1;
}

/* Parses @p text[0..len) into @p p. Syntax: names separated by dots, each
 * followed by any number of [N]; names are any bytes but .[]{}$ and NUL. */
static int path_parse(const char *text, size_t len, struct path *p, char *err, size_t err_size)
{
        size_t i = 0;

        p->text = text;
        p->len = len;
        p->n = 0;
        if (len == 0) {
                fail(err, err_size, "${}: empty reference");
                return -1;
        }
        if (len > WF_REF_MAX) {
                const char *more;
                int n = excerpt(text, len, &more);

                fail(err, err_size, "${%.*s%s}: reference longer than %d bytes", n, text, more,
                     WF_REF_MAX);
                return -1;
        }
        for (;;) {
                size_t start = i;
                struct seg *s;

                while (i < len && name_char(text[i]))
                        i++;
                if (i == start) {
                        if (i < len && text[i] != '.' && text[i] != '[')
                                return bad_char(p, i, err, err_size);
                        fail(err, err_size, "${%.*s}: empty name at byte %zu", (int)len, text, i);
                        return -1;
                }
                s = &p->segs[p->n++];
                s->text = text + start;
                s->len = i - start;
                s->bracket = false;
                s->numeric = all_digits(s->text, s->len);
                s->index = s->numeric ? digits_value(s->text, s->len) : 0;
                s->end = i;
                while (i < len && text[i] == '[') {
                        size_t j = i + 1;

                        while (j < len && text[j] >= '0' && text[j] <= '9')
                                j++;
                        if (j == i + 1 || j >= len || text[j] != ']') {
                                fail(err, err_size,
                                     "${%.*s}: \"[\" at byte %zu is not followed by digits and "
                                     "\"]\"",
                                     (int)len, text, i);
                                return -1;
                        }
                        s = &p->segs[p->n++];
                        s->text = text + i + 1;
                        s->len = j - i - 1;
                        s->bracket = true;
                        s->numeric = true;
                        s->index = digits_value(s->text, s->len);
                        s->end = j + 1;
                        i = j + 1;
                }
                if (i == len)
                        return 0;
                if (text[i] == '.') {
                        i++;
                        continue;
                }
                if (!name_char(text[i]))
                        return bad_char(p, i, err, err_size);
                fail(err, err_size, "${%.*s}: \".\" or \"[\" expected at byte %zu", (int)len, text,
                     i);
                return -1;
        }
}

/* The value @p p names in @p data, or NULL with @p err ("${a.b}: a has no
 * field \"b\""). */
static const json_t *path_walk(const json_t *data, const struct path *p, char *err, size_t err_size)
{
        const json_t *v = data;
        int plen = (int)p->len;

        for (size_t k = 0; k < p->n; k++) {
                const struct seg *s = &p->segs[k];
                int pre = k ? (int)p->segs[k - 1].end : 0;
                const json_t *next;

                if (!v) {
                        fail(err, err_size, "${%.*s}: no data to look in", plen, p->text);
                        return NULL;
                }
                if (s->bracket || (s->numeric && json_is_array(v))) {
                        if (!json_is_array(v)) {
                                fail(err, err_size, "${%.*s}: %.*s is %s, not an array", plen,
                                     p->text, pre, p->text, cairn_json_kind(v));
                                return NULL;
                        }
                        if (s->index >= json_array_size(v)) {
                                fail(err, err_size,
                                     "${%.*s}: %.*s has no element %.*s (it has %zu)", plen,
                                     p->text, pre, p->text, (int)s->len, s->text,
                                     json_array_size(v));
                                return NULL;
                        }
                        v = json_array_get(v, s->index);
                        continue;
                }
                if (!json_is_object(v)) {
                        if (k == 0)
                                fail(err, err_size, "${%.*s}: the run's data is %s, not an object",
                                     plen, p->text, cairn_json_kind(v));
                        else
                                fail(err, err_size, "${%.*s}: %.*s is %s, not an object", plen,
                                     p->text, pre, p->text, cairn_json_kind(v));
                        return NULL;
                }
                next = json_object_getn(v, s->text, s->len);
                if (!next) {
                        if (k == 0)
                                fail(err, err_size, "${%.*s}: the run's data has no field \"%.*s\"",
                                     plen, p->text, (int)s->len, s->text);
                        else
                                fail(err, err_size, "${%.*s}: %.*s has no field \"%.*s\"", plen,
                                     p->text, pre, p->text, (int)s->len, s->text);
                        return NULL;
                }
                v = next;
        }
        return v;
}

int wf_ref_check(const char *path, char *err, size_t err_size)
{
        struct path p;

        if (!path) {
                fail(err, err_size, "${}: empty reference");
                return -1;
        }
        return path_parse(path, strlen(path), &p, err, err_size);
}

const json_t *wf_ref_get(const json_t *data, const char *path, char *err, size_t err_size)
{
        struct path p;

        if (!path) {
                fail(err, err_size, "${}: empty reference");
                return NULL;
        }
        if (path_parse(path, strlen(path), &p, err, err_size) != 0)
                return NULL;
        return path_walk(data, &p, err, err_size);
}

/* ---- strings: text and references ---- */

/* What scanning a template string reports: literal text, and references
 * (parsed). Each returns 0, or -1 to stop (with the error set). */
struct scan_ops {
        int (*text)(void *opaque, const char *s, size_t len);
        int (*ref)(void *opaque, const struct path *p);
        void *opaque;
};

/* Splits @p s[0..len) into literal runs and references: "${path}" is a
 * reference, "$${" the literal text "${". */
static int scan(const char *s, size_t len, const struct scan_ops *ops, char *err, size_t err_size)
{
        size_t i = 0, run = 0;
        struct path p;

        while (i < len) {
                const char *close;

                if (s[i] != '$') {
                        i++;
                        continue;
                }
                if (i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
                        if (ops->text(ops->opaque, s + run, i - run) != 0 ||
                            ops->text(ops->opaque, "${", 2) != 0)
                                return -1;
                        i += 3;
                        run = i;
                        continue;
                }
                if (i + 1 >= len || s[i + 1] != '{') {
                        i++;
                        continue;
                }
                close = memchr(s + i + 2, '}', len - i - 2);
                if (!close) {
                        const char *more;
                        int n = excerpt(s, len, &more);

                        fail(err, err_size, "unterminated ${ in \"%.*s%s\"", n, s, more);
                        return -1;
                }
                if (ops->text(ops->opaque, s + run, i - run) != 0)
                        return -1;
                if (path_parse(s + i + 2, (size_t)(close - s - i - 2), &p, err, err_size) != 0 ||
                    ops->ref(ops->opaque, &p) != 0)
                        return -1;
                i = (size_t)(close - s) + 1;
                run = i;
        }
        return ops->text(ops->opaque, s + run, len - run);
}

/* Whether the whole of @p s is one reference, "${path}": its value then
 * replaces the string, keeping its JSON type. */
static bool whole_ref(const char *s, size_t len)
{
        return len >= 3 && s[0] == '$' && s[1] == '{' && memchr(s + 2, '}', len - 2) == s + len - 1;
}

/* ---- evaluation ---- */

struct eval {
        const json_t *data;
        char *err;
        size_t err_size;
        struct cairn_buf buf; /* the string being built */
        const char *str;      /* the template string, for messages */
        size_t str_len;
        size_t spent; /* the result's size so far (value_cost's measure) */
};

/* What @p v adds to a result: its strings' bytes and 16 a value, counted
 * no further than past @p limit. */
static size_t value_cost(const json_t *v, size_t limit)
{
        size_t cost = 16, i;
        const char *key;
        json_t *item;

        switch (json_typeof(v)) {
        case JSON_STRING:
                return cost + json_string_length(v);
        case JSON_OBJECT:
                json_object_foreach((json_t *)v, key, item) {
                        if (cost > limit)
                                break;
                        cost += strlen(key) + value_cost(item, limit - cost);
                }
                return cost;
        case JSON_ARRAY:
                json_array_foreach(v, i, item) {
                        if (cost > limit)
                                break;
                        cost += value_cost(item, limit - cost);
                }
                return cost;
        default:
                return cost;
        }
}

/* Counts @p cost against the result's budget; -1 with the error past it. */
static int spend(struct eval *ev, size_t cost)
{
        if (cost > WF_TEMPLATE_RESULT_MAX - ev->spent) {
                fail(ev->err, ev->err_size,
                     "the template's result would exceed %d bytes (a large value referred to "
                     "too many times?)",
                     WF_TEMPLATE_RESULT_MAX);
                return -1;
        }
        ev->spent += cost;
        return 0;
}

static int add_text(struct eval *ev, const char *s, size_t len)
{
        if (len > WF_TEMPLATE_STRING_MAX - ev->buf.len) {
                const char *more;
                int n = excerpt(ev->str, ev->str_len, &more);

                fail(ev->err, ev->err_size, "\"%.*s%s\": the result is longer than %d bytes", n,
                     ev->str, more, WF_TEMPLATE_STRING_MAX);
                return -1;
        }
        cairn_buf_add(&ev->buf, s, len);
        if (ev->buf.oom) {
                fail(ev->err, ev->err_size, "out of memory building a string");
                return -1;
        }
        return 0;
}

static int text_cb(void *opaque, const char *s, size_t len)
{
        return add_text(opaque, s, len);
}

/* A real holding a whole number small enough to be exact prints as an
 * integer: numbers from a google.protobuf.Struct (the run's input, a
 * template) are doubles, and "page 2.0" is not what anyone means. */
static bool integral(double d)
{
        return isfinite(d) && d == floor(d) && fabs(d) <= 9007199254740992.0;
}

/* @p v with integral reals turned into integers, for its text: a new
 * reference, or NULL when memory runs out. */
static json_t *plain_numbers(const json_t *v)
{
        json_t *out, *item;
        const char *key;
        size_t i;

        switch (json_typeof(v)) {
        case JSON_REAL:
                if (integral(json_real_value(v)))
                        return json_integer((json_int_t)json_real_value(v));
                return json_incref((json_t *)v);
        case JSON_OBJECT:
                out = json_object();
                json_object_foreach((json_t *)v, key, item) {
                        if (!out || json_object_set_new(out, key, plain_numbers(item)) != 0) {
                                json_decref(out);
                                return NULL;
                        }
                }
                return out;
        case JSON_ARRAY:
                out = json_array();
                json_array_foreach(v, i, item) {
                        if (!out || json_array_append_new(out, plain_numbers(item)) != 0) {
                                json_decref(out);
                                return NULL;
                        }
                }
                return out;
        default:
                return json_incref((json_t *)v);
        }
}

/* Appends the text of @p v: a string as it is, anything else as compact
 * JSON. */
static int add_value_text(struct eval *ev, const json_t *v)
{
        char num[48];
        json_t *plain;
        char *text;
        size_t len = 0;
        int rc;

        switch (json_typeof(v)) {
        case JSON_STRING:
                return add_text(ev, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return add_text(ev, num, strlen(num));
        case JSON_REAL:
                if (integral(json_real_value(v))) {
                        snprintf(num, sizeof(num), "%.0f", json_real_value(v) + 0.0);
                        return add_text(ev, num, strlen(num));
                }
                break;
        case JSON_TRUE:
                return add_text(ev, "true", 4);
        case JSON_FALSE:
                return add_text(ev, "false", 5);
        case JSON_NULL:
                return add_text(ev, "null", 4);
        default:
                break;
        }
        plain = plain_numbers(v);
        text = plain ? cairn_pbjson_dump(plain, &len) : NULL;
        json_decref(plain);
        if (!text) {
                fail(ev->err, ev->err_size, "out of memory building a string");
                return -1;
        }
        rc = add_text(ev, text, len);
        free(text);
        return rc;
}

static int ref_cb(void *opaque, const struct path *p)
{
        struct eval *ev = opaque;
        const json_t *v = path_walk(ev->data, p, ev->err, ev->err_size);

        return v ? add_value_text(ev, v) : -1;
}

static json_t *eval_string(struct eval *ev, const json_t *t)
{
        const char *s = json_string_value(t);
        size_t len = json_string_length(t);
        const struct scan_ops ops = { text_cb, ref_cb, ev };
        json_t *out;

        if (!memchr(s, '$', len))
                return spend(ev, 16 + len) == 0 ? json_stringn(s, len) : NULL;
        if (whole_ref(s, len)) {
                struct path p;
                const json_t *v;

                if (path_parse(s + 2, len - 3, &p, ev->err, ev->err_size) != 0)
                        return NULL;
                v = path_walk(ev->data, &p, ev->err, ev->err_size);
                if (v && spend(ev, value_cost(v, WF_TEMPLATE_RESULT_MAX - ev->spent + 1)) != 0)
                        return NULL;
                out = v ? json_deep_copy(v) : NULL;
                if (v && !out)
                        fail(ev->err, ev->err_size, "out of memory copying ${%.*s}", (int)p.len,
                             p.text);
                return out;
        }
        ev->buf = (struct cairn_buf){ 0 };
        ev->str = s;
        ev->str_len = len;
        cairn_buf_reserve(&ev->buf, len);
        out = NULL;
        if (scan(s, len, &ops, ev->err, ev->err_size) == 0 && spend(ev, 16 + ev->buf.len) == 0) {
                out = json_stringn(ev->buf.p ? ev->buf.p : "", ev->buf.len);
                if (!out)
                        fail(ev->err, ev->err_size, "out of memory building a string");
        }
        cairn_buf_cleanup(&ev->buf);
        return out;
}

static void depth_fail(char *err, size_t err_size)
{
        fail(err, err_size, "template nested deeper than %d levels", WF_TEMPLATE_DEPTH_MAX);
}

static json_t *eval_value(struct eval *ev, const json_t *t, int depth)
{
        json_t *out, *item, *v;
        const char *key;
        size_t i;

        switch (json_typeof(t)) {
        case JSON_STRING:
                return eval_string(ev, t);
        case JSON_OBJECT:
                if (depth >= WF_TEMPLATE_DEPTH_MAX) {
                        depth_fail(ev->err, ev->err_size);
                        return NULL;
                }
                out = json_object();
                json_object_foreach((json_t *)t, key, item) {
                        v = out ? eval_value(ev, item, depth + 1) : NULL;
                        if (!v || json_object_set_new(out, key, v) != 0) {
                                if (!out || v)
                                        fail(ev->err, ev->err_size, "out of memory");
                                json_decref(out);
                                return NULL;
                        }
                }
                return out;
        case JSON_ARRAY:
                if (depth >= WF_TEMPLATE_DEPTH_MAX) {
                        depth_fail(ev->err, ev->err_size);
                        return NULL;
                }
                out = json_array();
                json_array_foreach(t, i, item) {
                        v = out ? eval_value(ev, item, depth + 1) : NULL;
                        if (!v || json_array_append_new(out, v) != 0) {
                                if (!out || v)
                                        fail(ev->err, ev->err_size, "out of memory");
                                json_decref(out);
                                return NULL;
                        }
                }
                return out;
        default:
                if (spend(ev, 16) != 0)
                        return NULL;
                out = json_deep_copy(t);
                if (!out)
                        fail(ev->err, ev->err_size, "out of memory");
                return out;
        }
}

json_t *wf_template_eval(const json_t *tmpl, const json_t *data, char *err, size_t err_size)
{
        struct eval ev = { .data = data, .err = err, .err_size = err_size };

        if (!tmpl) {
                fail(err, err_size, "no template");
                return NULL;
        }
        return eval_value(&ev, tmpl, 0);
}

/* ---- the references of a template ---- */

struct refs {
        void (*fn)(const char *path, void *opaque);
        void *opaque;
};

static int refs_text_cb(void *opaque, const char *s, size_t len)
{
        (void)opaque;
        (void)s;
        (void)len;
        return 0;
}

static int refs_ref_cb(void *opaque, const struct path *p)
{
        const struct refs *r = opaque;
        char path[WF_REF_MAX + 1];

        memcpy(path, p->text, p->len);
        path[p->len] = '\0';
        r->fn(path, r->opaque);
        return 0;
}

static int refs_walk(const struct refs *r, const json_t *t, int depth, char *err, size_t err_size)
{
        const struct scan_ops ops = { refs_text_cb, refs_ref_cb, (void *)r };
        const char *key;
        json_t *item;
        size_t i;

        switch (json_typeof(t)) {
        case JSON_STRING:
                return scan(json_string_value(t), json_string_length(t), &ops, err, err_size);
        case JSON_OBJECT:
                if (depth >= WF_TEMPLATE_DEPTH_MAX) {
                        depth_fail(err, err_size);
                        return -1;
                }
                json_object_foreach((json_t *)t, key, item) {
                        if (refs_walk(r, item, depth + 1, err, err_size) != 0)
                                return -1;
                }
                return 0;
        case JSON_ARRAY:
                if (depth >= WF_TEMPLATE_DEPTH_MAX) {
                        depth_fail(err, err_size);
                        return -1;
                }
                json_array_foreach(t, i, item) {
                        if (refs_walk(r, item, depth + 1, err, err_size) != 0)
                                return -1;
                }
                return 0;
        default:
                return 0;
        }
}

int wf_template_refs(const json_t *tmpl, void (*fn)(const char *path, void *opaque), void *opaque,
                     char *err, size_t err_size)
{
        const struct refs r = { fn, opaque };

        if (!tmpl) {
                fail(err, err_size, "no template");
                return -1;
        }
        return refs_walk(&r, tmpl, 0, err, err_size);
}

/* ---- conditions ---- */

static bool numbers_equal(const json_t *a, const json_t *b)
{
        if (json_is_integer(a) && json_is_integer(b))
                return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
}

/* JSON equality, except that 1 and 1.0 are equal: a condition's value is
 * a google.protobuf.Value, whose numbers are all doubles. */
static bool same(const json_t *a, const json_t *b)
{
        const char *key;
        json_t *item;
        size_t i;

        if (json_is_number(a) && json_is_number(b))
                return numbers_equal(a, b);
        if (json_typeof(a) != json_typeof(b))
                return false;
        switch (json_typeof(a)) {
        case JSON_STRING:
                return json_string_length(a) == json_string_length(b) &&
                       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) ==
                               0;
        case JSON_ARRAY:
                if (json_array_size(a) != json_array_size(b))
                        return false;
                json_array_foreach(a, i, item) {
                        if (!same(item, json_array_get(b, i)))
                                return false;
                }
                return true;
        case JSON_OBJECT:
                if (json_object_size(a) != json_object_size(b))
                        return false;
                json_object_foreach((json_t *)a, key, item) {
                        const json_t *other = json_object_get(b, key);

                        if (!other || !same(item, other))
                                return false;
                }
                return true;
        default:
                return true; /* true, false, null: the type says it all */
        }
}

static bool truthy(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_STRING:
                return json_string_length(v) > 0;
        case JSON_INTEGER:
                return json_integer_value(v) != 0;
        case JSON_REAL:
                return json_real_value(v) != 0.0;
        case JSON_ARRAY:
                return json_array_size(v) > 0;
        case JSON_OBJECT:
                return json_object_size(v) > 0;
        case JSON_TRUE:
                return true;
        default:
                return false;
        }
}

static const char *op_name(int op)
{
        static const char *const names[] = { "OP_EQUALS",     "OP_NOT_EQUALS", "OP_EXISTS",
                                             "OP_NOT_EXISTS", "OP_IN",         "OP_GREATER",
                                             "OP_LESS",       "OP_TRUTHY" };

        return op >= 0 && op < (int)(sizeof(names) / sizeof(names[0])) ? names[op]
                                                                       : "an unknown op";
}

/* -1, 0 or 1 as @p a is below, equal to or above @p b; 2 when they are not
 * two numbers or two strings. */
static int order(const json_t *a, const json_t *b)
{
        if (json_is_number(a) && json_is_number(b)) {
                if (json_is_integer(a) && json_is_integer(b))
                        return (json_integer_value(a) > json_integer_value(b)) -
                               (json_integer_value(a) < json_integer_value(b));
                return (json_number_value(a) > json_number_value(b)) -
                       (json_number_value(a) < json_number_value(b));
        }
        if (json_is_string(a) && json_is_string(b)) {
                size_t la = json_string_length(a), lb = json_string_length(b);
                int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);

                if (c)
                        return c < 0 ? -1 : 1;
                return (la > lb) - (la < lb);
        }
        return 2;
}

/* Compares @p v (what the ref names) with @p want under @p op. */
static int compare(int op, const char *ref, const json_t *v, const json_t *want, char *err,
                   size_t err_size)
{
        size_t i;
        json_t *item;
        int o;

        switch (op) {
        case CAIRN__WORKFLOW__V1__CONDITION__OP__OP_EQUALS:
                return same(v, want);
        case CAIRN__WORKFLOW__V1__CONDITION__OP__OP_NOT_EQUALS:
                return !same(v, want);
        case CAIRN__WORKFLOW__V1__CONDITION__OP__OP_IN:
                if (!json_is_array(want)) {
                        fail(err, err_size, "${%s}: OP_IN needs a list as its value, not %s", ref,
                             cairn_json_kind(want));
                        return -1;
                }
                json_array_foreach(want, i, item) {
                        if (same(v, item))
                                return 1;
                }
                return 0;
        default: /* OP_GREATER, OP_LESS */
                o = order(v, want);
                if (o == 2) {
                        fail(err, err_size,
                             "${%s}: %s compares two numbers or two strings, not %s with %s", ref,
                             op_name(op), cairn_json_kind(v), cairn_json_kind(want));
                        return -1;
                }
                return op == CAIRN__WORKFLOW__V1__CONDITION__OP__OP_GREATER ? o > 0 : o < 0;
        }
}

int wf_condition_eval(const Cairn__Workflow__V1__Condition *c, const json_t *data, char *err,
                      size_t err_size)
{
        const char *ref;
        const json_t *v;
        json_t *want;
        struct path p;
        int op, rc;

        if (!c)
                return 1;
        ref = c->ref ? c->ref : "";
        op = (int)c->op;
        if (op < CAIRN__WORKFLOW__V1__CONDITION__OP__OP_EQUALS ||
            op > CAIRN__WORKFLOW__V1__CONDITION__OP__OP_TRUTHY) {
                fail(err, err_size, "${%s}: unknown op %d", ref, op);
                return -1;
        }
        if (path_parse(ref, strlen(ref), &p, err, err_size) != 0)
                return -1;
        v = path_walk(data, &p, err, err_size);
        switch (op) {
        case CAIRN__WORKFLOW__V1__CONDITION__OP__OP_EXISTS:
                return v != NULL;
        case CAIRN__WORKFLOW__V1__CONDITION__OP__OP_NOT_EXISTS:
                return v == NULL;
        default:
                break;
        }
        if (!v)
                return -1;
        if (op == CAIRN__WORKFLOW__V1__CONDITION__OP__OP_TRUTHY)
                return truthy(v);
        want = c->value ? cairn_pbjson_to_json(&c->value->base, 0) : json_null();
        if (!want) {
                fail(err, err_size, "${%s}: the condition's value has no JSON form", ref);
                return -1;
        }
        rc = compare(op, ref, v, want, err, err_size);
        json_decref(want);
        return rc;
}

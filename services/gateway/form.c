/* Form bodies decoded into fields: the urlencoded kind split and unescaped,
 * the multipart kind cut at its boundary lines with each part's name read
 * from its Content-Disposition header. Nothing is read past a body's end,
 * and every copy goes to the caller's arena. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cairn/hex.h"
#include "form.h"

/* Appends a field (its strings already in the arena). The array grows by
 * doubling; the old one stays in the arena, so the arena holds at most
 * twice what the last one needs. */
static bool push(struct gw_form *form, const char *name, const char *value, size_t value_len,
                 size_t max_fields, struct cairn_arena *arena, char *why, size_t why_size)
{
        if (form->n >= max_fields) {
                snprintf(why, why_size, "the form has more than %zu fields", max_fields);
                return false;
        }
        /* a power of two: the array is full */
        if (form->n == 0 || (form->n & (form->n - 1)) == 0) {
                size_t cap = form->n ? form->n * 2 : 8;
                struct gw_form_field *f = cairn_arena_alloc(arena, cap * sizeof(*f));

                if (!f) {
                        snprintf(why, why_size, "the form is too large");
                        return false;
                }
                if (form->n)
                        memcpy(f, form->fields, form->n * sizeof(*f));
                form->fields = f;
        }
        form->fields[form->n++] = (struct gw_form_field){ name, value, value_len };
        return true;
}

/* Unescapes @p len bytes of @p s ('+' and %XX) into a NUL-terminated copy
 * in @p arena; NULL with @p why set when an escape is malformed or the
 * arena is full. */
static char *unescape(const char *s, size_t len, struct cairn_arena *arena, size_t *outlen,
                      char *why, size_t why_size)
{
        char *out = cairn_arena_alloc(arena, len + 1);
        size_t o = 0;

        if (!out) {
                snprintf(why, why_size, "the form is too large");
                return NULL;
        }
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '+') {
                        out[o++] = ' ';
                } else if (s[i] == '%') {
                        if (len - i < 3 || cairn_hex_digit(s[i + 1], 0) < 0 ||
                            cairn_hex_digit(s[i + 2], 0) < 0) {
                                snprintf(why, why_size,
                                         "a %% in the form is not followed by two hex digits");
                                return NULL;
                        }
                        out[o++] = (char)(cairn_hex_digit(s[i + 1], 0) * 16 +
                                          cairn_hex_digit(s[i + 2], 0));
                        i += 2;
                } else {
                        out[o++] = s[i];
                }
        }
        out[o] = '\0';
        *outlen = o;
        return out;
}

/* One name=value piece [p, end) of an urlencoded body, not empty. */
static bool urlencoded_field(const char *p, const char *end, size_t max_fields,
                             struct cairn_arena *arena, struct gw_form *form, char *why,
                             size_t why_size)
{
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *name_end = eq ? eq : end;
        size_t name_len, value_len;
        char *name, *value;

        name = unescape(p, (size_t)(name_end - p), arena, &name_len, why, why_size);
        if (!name)
                return false;
        if (strlen(name) != name_len) {
                snprintf(why, why_size, "a field name in the form holds a NUL byte");
                return false;
        }
        value = eq ? unescape(eq + 1, (size_t)(end - eq - 1), arena, &value_len, why, why_size)
                   : unescape("", 0, arena, &value_len, why, why_size);
        return value && push(form, name, value, value_len, max_fields, arena, why, why_size);
}

bool gw_form_urlencoded(const char *body, size_t len, size_t max_fields, struct cairn_arena *arena,
                        struct gw_form *form, char *why, size_t why_size)
{
        const char *end = body + len;

        for (const char *p = body; p < end;) {
                const char *amp = memchr(p, '&', (size_t)(end - p));
                const char *piece_end = amp ? amp : end;

                /* "a=1&&b=2": empty pieces are skipped */
                if (piece_end > p &&
                    !urlencoded_field(p, piece_end, max_fields, arena, form, why, why_size))
                        return false;
                p = piece_end + 1;
        }
        return true;
}

bool gw_form_add(struct gw_form *form, const char *name, const char *value, size_t value_len,
                 size_t max_fields, struct cairn_arena *arena, char *why, size_t why_size)
{
        char *n = cairn_arena_strdup(arena, name);
        char *v = cairn_arena_alloc(arena, value_len + 1);

        if (!n || !v) {
                snprintf(why, why_size, "the form is too large");
                return false;
        }
        memcpy(v, value, value_len);
        v[value_len] = '\0';
        return push(form, n, v, value_len, max_fields, arena, why, why_size);
}

/* ---- multipart/form-data ---- */

/* Reads a parameter value at @p p (up to @p end): a quoted string (with
 * backslash escapes) or a token ending at ';', a blank or @p end. Copies at
 * most @p size - 1 bytes into @p out; returns where it stopped, or NULL
 * when a quoted string does not end, the value does not fit or holds a
 * NUL. */
static const char *param_value(const char *p, const char *end, char *out, size_t size)
{
        size_t o = 0;

        if (p < end && *p == '"') {
                for (p++; p < end && *p != '"'; p++) {
                        if (*p == '\\' && p + 1 < end)
                                p++;
                        if (o + 1 >= size || *p == '\0')
                                return NULL;
                        out[o++] = *p;
                }
                if (p >= end)
                        return NULL;
                p++;
        } else {
                for (; p < end && *p != ';' && *p != ' ' && *p != '\t'; p++) {
                        if (o + 1 >= size || *p == '\0')
                                return NULL;
                        out[o++] = *p;
                }
        }
        out[o] = '\0';
        return p;
}

/* Finds parameter @p want ("name", "boundary") among the ";"-separated
 * parameters of a header value [p, end) and reads its value into @p out.
 * "filename" is not "name": names must match whole. */
static bool find_param(const char *p, const char *end, const char *want, char *out, size_t size)
{
        size_t wlen = strlen(want);

        while (p < end) {
                const char *semi;
                bool quoted = false;

                /* the next ';' outside a quoted string */
                for (semi = p; semi < end && (quoted || *semi != ';'); semi++) {
                        if (*semi == '\\' && quoted && semi + 1 < end)
                                semi++;
                        else if (*semi == '"')
                                quoted = !quoted;
                }
                if (semi >= end)
                        return false;
                p = semi + 1;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (p + wlen < end && strncasecmp(p, want, wlen) == 0 && p[wlen] == '=')
                        return param_value(p + wlen + 1, end, out, size) != NULL;
        }
        return false;
}

bool gw_form_boundary(const char *content_type, char out[GW_FORM_BOUNDARY_MAX + 1])
{
        const char *end = content_type + strlen(content_type);

        if (!find_param(content_type, end, "boundary", out, GW_FORM_BOUNDARY_MAX + 1))
                return false;
        return out[0] != '\0';
}

/* The name of a part from its headers [p, end): CRLF-separated lines, one
 * of them Content-Disposition: form-data; name="...". */
static bool part_name(const char *p, const char *end, char *out, size_t size)
{
        static const char cd[] = "content-disposition:";

        while (p < end) {
                const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
                const char *line_end = eol ? eol : end;

                if ((size_t)(line_end - p) > sizeof(cd) - 1 &&
                    strncasecmp(p, cd, sizeof(cd) - 1) == 0) {
                        const char *v = p + sizeof(cd) - 1;

                        while (v < line_end && (*v == ' ' || *v == '\t'))
                                v++;
                        if (v + 9 > line_end || strncasecmp(v, "form-data", 9) != 0)
                                return false;
                        return find_param(v + 9, line_end, "name", out, size);
                }
                p = eol ? eol + 2 : end;
        }
        return false;
}

bool gw_form_multipart(const char *boundary, const char *body, size_t len, size_t max_fields,
                       struct cairn_arena *arena, struct gw_form *form, char *why, size_t why_size)
{
        char delim[GW_FORM_BOUNDARY_MAX + 5]; /* CRLF "--" boundary */
        size_t blen = strlen(boundary), dlen = blen + 4;
        const char *end = body + len, *p;

        if (blen == 0 || blen > GW_FORM_BOUNDARY_MAX) {
                snprintf(why, why_size, "the multipart boundary is not 1 to %d characters",
                         GW_FORM_BOUNDARY_MAX);
                return false;
        }
        snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
        /* the first delimiter: at the very start, or after a preamble */
        if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
                p = body + dlen - 2;
        } else {
                p = memmem(body, len, delim, dlen);
                if (!p) {
                        snprintf(why, why_size,
                                 "the multipart body has no part: its boundary "
                                 "is not in it");
                        return false;
                }
                p += dlen;
        }
        for (;;) {
                const char *headers, *hend, *content, *next;
                char name[256];
                char *n, *v;

                /* p is just past a delimiter: "--" closes, CRLF opens a part */
                if (end - p >= 2 && p[0] == '-' && p[1] == '-')
                        return true;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
                        snprintf(why, why_size, "%s",
                                 p >= end ? "the multipart body ends before its closing boundary"
                                          : "a multipart boundary line does not end with CRLF");
                        return false;
                }
                headers = p + 2;
                if (end - headers >= 2 && headers[0] == '\r' && headers[1] == '\n') {
                        hend = headers; /* no headers at all */
                        content = headers + 2;
                } else {
                        hend = memmem(headers, (size_t)(end - headers), "\r\n\r\n", 4);
                        if (!hend) {
                                snprintf(why, why_size,
                                         "a multipart part's headers do not end with a blank line");
                                return false;
                        }
                        content = hend + 4;
                }
                if (!part_name(headers, hend, name, sizeof(name)) || !name[0]) {
                        snprintf(why, why_size,
                                 "a multipart part has no Content-Disposition: form-data; "
                                 "name=\"...\" (or a name longer than %zu bytes, or with a "
                                 "NUL byte)",
                                 sizeof(name) - 1);
                        return false;
                }
                next = memmem(content, (size_t)(end - content), delim, dlen);
                if (!next) {
                        snprintf(why, why_size,
                                 "the multipart body ends before its closing boundary");
                        return false;
                }
                n = cairn_arena_strdup(arena, name);
                v = cairn_arena_alloc(arena, (size_t)(next - content) + 1);
                if (!n || !v) {
                        snprintf(why, why_size, "the form is too large");
                        return false;
                }
                memcpy(v, content, (size_t)(next - content));
                v[next - content] = '\0';
                if (!push(form, n, v, (size_t)(next - content), max_fields, arena, why, why_size))
                        return false;
                p = next + dlen;
        }
}

const struct gw_form_field *gw_form_get(const struct gw_form *form, const char *name, size_t *count)
{
        const struct gw_form_field *first = NULL;
        size_t n = 0;

        for (size_t i = 0; i < form->n; i++)
                if (strcmp(form->fields[i].name, name) == 0) {
                        if (!first)
                                first = &form->fields[i];
                        n++;
                }
        if (count)
                *count = n;
        return first;
}

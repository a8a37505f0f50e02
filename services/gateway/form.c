/* Form bodies decoded into fields: the urlencoded kind split and unescaped,
 * the multipart kind read by the multipart reader (multipart.c) with each
 * part copied. Nothing is read past a body's end, and every copy goes to
 * the caller's arena. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cairn/hex.h"
#include "form.h"
#include "multipart.h"

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

bool gw_form_boundary(const char *content_type, char out[GW_FORM_BOUNDARY_MAX + 1])
{
        return gw_multipart_boundary(content_type, out);
}

bool gw_form_multipart(const char *boundary, const char *body, size_t len, size_t max_fields,
                       struct cairn_arena *arena, struct gw_form *form, char *why, size_t why_size)
{
        /* the form's own field limit counts fields already in it */
        const struct gw_multipart_limits limits = { 0, 0 };
        struct gw_multipart mp;
        struct gw_multipart_part part;
        int rc;

        if (!gw_multipart_begin(&mp, boundary, body, len, &limits, why, why_size))
                return false;
        while ((rc = gw_multipart_next(&mp, &part, why, why_size)) == 1) {
                char *n = cairn_arena_strdup(arena, part.name);
                char *v = cairn_arena_alloc(arena, part.len + 1);

                if (!n || !v) {
                        snprintf(why, why_size, "the form is too large");
                        return false;
                }
                memcpy(v, part.data, part.len);
                v[part.len] = '\0';
                if (!push(form, n, v, part.len, max_fields, arena, why, why_size))
                        return false;
        }
        return rc == 0;
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

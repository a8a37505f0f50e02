/* JSON written with ' for " in the workflow tests, so definitions and
 * states stay readable in C strings. */
#ifndef CAIRN_TESTS_WORKFLOW_QUOTED_JSON_H
#define CAIRN_TESTS_WORKFLOW_QUOTED_JSON_H

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* @p text with every ' turned into ", malloc'ed. */
static inline char *dq(const char *text)
{
        char *copy = strdup(text);

        ck_assert_ptr_nonnull(copy);
        for (char *p = copy; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return copy;
}

/* The JSON value @p text spells with ' for "; fails the test when it is
 * not JSON. */
static inline json_t *J(const char *text)
{
        char *copy = dq(text);
        json_error_t jerr;
        json_t *v = json_loads(copy, JSON_DECODE_ANY, &jerr);

        ck_assert_msg(v != NULL, "%s: %s", copy, jerr.text);
        free(copy);
        return v;
}

/* Compact text with sorted keys, in one of a few rotating buffers, so a
 * failed comparison shows both sides. */
static inline const char *text_of(const json_t *v)
{
        static char bufs[6][8192];
        static int next;
        char *b = bufs[next++ % 6];
        char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

        snprintf(b, sizeof(bufs[0]), "%s", s ? s : "(none)");
        free(s);
        return b;
}

/* @p text (with ' for ") as text_of() renders it. */
static inline const char *norm(const char *text)
{
        json_t *v = J(text);
        const char *s = text_of(v);

        json_decref(v);
        return s;
}

#define ck_json_eq(value, expected) ck_assert_str_eq(text_of(value), norm(expected))

#endif

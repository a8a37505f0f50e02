/* JSON written with ' for " in the workflow tests, so definitions and
 * states stay readable in C strings. */
#ifndef CAIRN_TESTS_WORKFLOW_QUOTED_JSON_H
#define CAIRN_TESTS_WORKFLOW_QUOTED_JSON_H

#include <check.h>
#include <jansson.h>
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

#endif

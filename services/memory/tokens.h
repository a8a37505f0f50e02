/* Page tokens: the opaque text a page of a list or an export ends with and
 * the next request sends back. They come from callers, so they are parsed
 * as untrusted input (tests/fuzz/memory_tokens.c). */
#ifndef MEMORY_TOKENS_H
#define MEMORY_TOKENS_H

#include <stdbool.h>

/* A list page token, "<unix ms>_<id>": the created_at (RFC 3339) and id of
 * the last memory of the previous page into @p when and @p id. */
bool memory_list_token_parse(const char *token, char when[32], char id[37]);

/* Where an export resumes: "m<id>.<version>" (memories after that one),
 * "h<seq>" (history after that entry), "l<n>" (links after the first n);
 * empty: from the start. Every field is SQL-ready text. */
struct memory_export_pos {
        bool history, links;
        char id[37], version[12], seq[24], offset[24];
};

bool memory_export_token_parse(const char *token, struct memory_export_pos *pos);

#endif

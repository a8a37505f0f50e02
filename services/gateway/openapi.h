/* The OpenAPI 3.1 document, generated from the route table: the shared parts
 * (security schemes, headers, error shapes, the OpenAI schemas) come from
 * openapi_base.json, each route's operation from its row, and the schemas of
 * Cairn's own routes from the message descriptors (openapi.c). */
#ifndef CAIRN_GATEWAY_OPENAPI_H
#define CAIRN_GATEWAY_OPENAPI_H

#include <stddef.h>

#include "route.h"

/* The document for @p routes, pretty-printed, malloc'ed (the caller frees);
 * NULL with a message in @p errstr. */
char *gw_openapi_render(const struct gw_route *routes, size_t *lenp, char *errstr,
                        size_t errstr_size);

/* openapi_base.json, compiled in. */
extern const char gw_openapi_base_json[];
extern const size_t gw_openapi_base_json_len;

/* Where the document puts @p rt: its path as OpenAPI writes it ({name*} is
 * {name}; a LIST's is the folder's, ending in '/') and its method in lower
 * case ("get" for LIST: OpenAPI has none). */
void gw_openapi_operation_of(const struct gw_route *rt, char *path, size_t path_size, char *method,
                             size_t method_size);

#endif

/* OpenAI's GET /v1/models over two services (openai_models.c): the
 * embedding service's models, then the speech service's with their
 * aliases (whisper-1, tts-1, ...) listed as models of their own. When one
 * service does not answer, the other's are listed and the failure logged. */
#ifndef CAIRN_GATEWAY_OPENAI_MODELS_H
#define CAIRN_GATEWAY_OPENAI_MODELS_H

#include <stddef.h>

#include "adapter.h"

/* OpenAI's model list of @p n ids, each once, in order. Malloc'ed; the
 * caller frees it. */
char *gw_models_list_json(const char *const *ids, size_t n, size_t *lenp);

/* The adapter of GET /v1/models: its route asks the embedding service,
 * the adapter's next call the speech service. */
extern const struct gw_adapter gw_openai_models;

#endif

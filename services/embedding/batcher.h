/* Micro-batching: concurrent requests for the same model (remote, or a
 * BERT model in the service) are coalesced into one provider call of up to
 * max_batch texts, or whatever arrived within a short window, and the
 * vectors are split back to their callers in order.
 *
 * The first caller of a batch leads it: it waits for the window (or until
 * the batch is full), then makes the upstream call on its own thread while
 * the others wait for their slice. Callers are the bus workers, so the
 * batch size is bounded by how many requests the runtime hands over at
 * once: bus.workers must be raised for remote models (docs/embedding.md). */
#ifndef EMBEDDING_BATCHER_H
#define EMBEDDING_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/status.h"
#include "provider.h"

struct cairn_metrics;
struct batcher;

/* A batcher over @p p (borrowed) for vectors of @p dim floats: batches of
 * at most @p max_batch texts, gathered for at most @p wait_us. The
 * histogram cairn_embedding_batch_size{model} records every batch sent.
 * NULL when out of memory. */
struct batcher *batcher_new(struct provider *p, const char *model, size_t dim, size_t max_batch,
                            int64_t wait_us, struct cairn_metrics *metrics);
void batcher_free(struct batcher *bt);

/* Embeds @p n texts (borrowed; copied into the batch) into @p out
 * (n x dim), sharing an upstream call with concurrent callers. A caller
 * whose deadline passes before its batch is answered gets
 * CAIRN_ERR_DEADLINE at its deadline. A call of max_batch texts or more,
 * or with batching off, goes straight to the provider. Sets *@p tokens to
 * this caller's input tokens: its texts' own when the provider counts them
 * per text (provider_batch.text_tokens), else its share of the batch's.
 * @locality any thread; blocks the calling thread. */
cairn_err_t batcher_embed(struct batcher *bt, const char *const *texts, const size_t *lens,
                          size_t n, int64_t deadline_ms, float *out, uint64_t *tokens,
                          struct cairn_status *st);

#endif

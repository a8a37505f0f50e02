/* Tracks the in-flight offsets of each assigned partition so the runtime
 * stores for commit only the offset below which every message is done,
 * although workers finish messages out of order. Thread-safe. */
#ifndef CAIRN_OFFSETS_H
#define CAIRN_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

struct cairn_offsets;

struct cairn_offsets *cairn_offsets_new(void);
void cairn_offsets_free(struct cairn_offsets *tr);

/* Records that @p offset of @p partition was handed out; offsets of one
 * partition arrive in increasing order. Returns the partition's generation,
 * to be given back to cairn_offsets_done(). */
uint32_t cairn_offsets_add(struct cairn_offsets *tr, int32_t partition, int64_t offset);

/* Marks @p offset done. Returns the offset to commit (the next one to read)
 * when the partition's low-water mark advanced, else -1. A stale generation
 * (the partition was reset since) is ignored and returns -1. */
int64_t cairn_offsets_done(struct cairn_offsets *tr, int32_t partition, int64_t offset,
                           uint32_t gen);

/* Forgets the partition's in-flight offsets and starts a new generation
 * (on assignment and after revocation). */
void cairn_offsets_reset(struct cairn_offsets *tr, int32_t partition);

/* Messages handed out and not yet done: of one partition, or of all (-1). */
size_t cairn_offsets_pending(struct cairn_offsets *tr, int32_t partition);

#endif

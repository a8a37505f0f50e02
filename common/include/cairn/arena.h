/* A bump allocator with a size limit: one per Kafka message or HTTP request,
 * reset when it ends. protobuf-c unpacks into it through cairn_arena_pbc(). */
#ifndef CAIRN_ARENA_H
#define CAIRN_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct cairn_arena_block;

struct cairn_arena {
        struct cairn_arena_block *head;
        size_t used; /* bytes handed out since the last reset */
        size_t max;  /* allocation beyond this fails (returns NULL) */
        ProtobufCAllocator pbc;
};

/* @p max bounds what one request may allocate (0: unbounded). */
void cairn_arena_init(struct cairn_arena *arena, size_t max);
/* Frees everything but the first block, so a reused arena allocates nothing. */
void cairn_arena_reset(struct cairn_arena *arena);
void cairn_arena_cleanup(struct cairn_arena *arena);

/* 16-byte aligned memory that lives until the next reset; NULL over the limit. */
void *cairn_arena_alloc(struct cairn_arena *arena, size_t size);
void *cairn_arena_calloc(struct cairn_arena *arena, size_t n, size_t size);
char *cairn_arena_strdup(struct cairn_arena *arena, const char *s);
char *cairn_arena_sprintf(struct cairn_arena *arena, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* A protobuf-c allocator drawing from @p arena (free is a no-op). */
ProtobufCAllocator *cairn_arena_pbc(struct cairn_arena *arena);

#endif

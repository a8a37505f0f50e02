/* Per-request memory: a chain of blocks handed out by bumping a pointer and
 * given back all at once. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"

#define BLOCK_MIN 8192

struct cairn_arena_block {
        struct cairn_arena_block *next;
        size_t size; /* usable bytes in data */
        size_t pos;
        _Alignas(16) unsigned char data[];
};

static void *pbc_alloc(void *opaque, size_t size)
{
        return cairn_arena_alloc(opaque, size);
}

static void pbc_free(void *opaque, void *ptr)
{
        (void)opaque;
        (void)ptr;
}

void cairn_arena_init(struct cairn_arena *arena, size_t max)
{
        memset(arena, 0, sizeof(*arena));
        arena->max = max;
        arena->pbc.alloc = pbc_alloc;
        arena->pbc.free = pbc_free;
        arena->pbc.allocator_data = arena;
}

void cairn_arena_reset(struct cairn_arena *arena)
{
        struct cairn_arena_block *b = arena->head;

        if (b) {
                /* Keep the oldest block (the tail): it has the base size. */
                while (b->next) {
                        struct cairn_arena_block *next = b->next;

                        free(b);
                        b = next;
                }
                b->pos = 0;
        }
        arena->head = b;
        arena->used = 0;
}

void cairn_arena_cleanup(struct cairn_arena *arena)
{
        struct cairn_arena_block *b = arena->head;

        while (b) {
                struct cairn_arena_block *next = b->next;

                free(b);
                b = next;
        }
        arena->head = NULL;
        arena->used = 0;
}

void *cairn_arena_alloc(struct cairn_arena *arena, size_t size)
{
        size_t need = (size + 15) & ~(size_t)15;
        struct cairn_arena_block *b = arena->head;

        if (need < size)
                return NULL; /* overflow */
        if (arena->max && (need > arena->max || arena->used > arena->max - need))
                return NULL;
        if (!b || b->size - b->pos < need) {
                size_t bsize = need > BLOCK_MIN ? need : BLOCK_MIN;

                b = malloc(sizeof(*b) + bsize);
                if (!b)
                        return NULL;
                b->size = bsize;
                b->pos = 0;
                b->next = arena->head;
                arena->head = b;
        }
        void *p = b->data + b->pos;
        b->pos += need;
        arena->used += need;
        return p;
}

void *cairn_arena_calloc(struct cairn_arena *arena, size_t n, size_t size)
{
        if (size && n > SIZE_MAX / size)
                return NULL;
        void *p = cairn_arena_alloc(arena, n * size);
        if (p)
                memset(p, 0, n * size);
        return p;
}

char *cairn_arena_strdup(struct cairn_arena *arena, const char *s)
{
        size_t len = strlen(s) + 1;
        char *p = cairn_arena_alloc(arena, len);

        if (p)
                memcpy(p, s, len);
        return p;
}

char *cairn_arena_sprintf(struct cairn_arena *arena, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return NULL;
        char *p = cairn_arena_alloc(arena, (size_t)n + 1);
        if (!p)
                return NULL;
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
        return p;
}

ProtobufCAllocator *cairn_arena_pbc(struct cairn_arena *arena)
{
        return &arena->pbc;
}

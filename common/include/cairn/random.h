/* Random bytes for ids (UUIDs, trace and span ids): getrandom(2) output
 * buffered per thread, so an id costs a copy rather than system calls. */
#ifndef CAIRN_RANDOM_H
#define CAIRN_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills @p buf with @p n random bytes. */
void cairn_random(uint8_t *buf, size_t n);

#endif

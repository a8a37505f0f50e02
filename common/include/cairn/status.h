/* Errors that cross the bus: a cairn_err_t with a message for people and an
 * optional field detail, packed as cairn.v1.Status. */
#ifndef CAIRN_STATUS_H
#define CAIRN_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"

#define CAIRN_STATUS_MSG_MAX 512

struct cairn_status {
        cairn_err_t code;
        char message[CAIRN_STATUS_MSG_MAX];
        char field[128]; /* e.g. "inputs[3]"; empty when not about one field */
        char reason[64]; /* short upper-case token, e.g. "INVALID_UTF8" */
};

/* Fills @p st and returns @p code, so handlers can `return cairn_status_set(...)`.
 * @p field and @p reason may be NULL. */
cairn_err_t cairn_status_set(struct cairn_status *st, cairn_err_t code, const char *field,
                             const char *reason, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

void cairn_status_clear(struct cairn_status *st);

/* Packs @p st as cairn.v1.Status into a malloc'ed buffer the caller frees. */
uint8_t *cairn_status_pack(const struct cairn_status *st, size_t *lenp);

/* Unpacks a cairn.v1.Status; returns false when the bytes are not one (then
 * @p st says CAIRN_ERR_INTERNAL with a message saying so). */
int cairn_status_unpack(const uint8_t *buf, size_t len, struct cairn_status *st);

struct cairn_arena;
struct Cairn__V1__Status;

/* @p st as a cairn.v1.Status message allocated from @p arena, for replies
 * that carry an error per item (a batch's bad text). NULL when the arena
 * is full. */
struct Cairn__V1__Status *cairn_status_to_pb(struct cairn_arena *arena,
                                             const struct cairn_status *st);

#endif

/* cairn.v1.Status: the error reply every service sends the same way. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/status.h"
#include "cairn/v1/common.pb-c.h"

cairn_err_t cairn_status_set(struct cairn_status *st, cairn_err_t code, const char *field,
                             const char *reason, const char *fmt, ...)
{
        va_list ap;

        st->code = code;
        snprintf(st->field, sizeof(st->field), "%s", field ? field : "");
        snprintf(st->reason, sizeof(st->reason), "%s", reason ? reason : "");
        va_start(ap, fmt);
        vsnprintf(st->message, sizeof(st->message), fmt, ap);
        va_end(ap);
        return code;
}

void cairn_status_clear(struct cairn_status *st)
{
        memset(st, 0, sizeof(*st));
}

uint8_t *cairn_status_pack(const struct cairn_status *st, size_t *lenp)
{
        Cairn__V1__Status msg = CAIRN__V1__STATUS__INIT;
        Cairn__V1__StatusDetail detail = CAIRN__V1__STATUS_DETAIL__INIT;
        Cairn__V1__StatusDetail *details[1] = { &detail };
        uint8_t *buf;

        msg.code = (int32_t)st->code;
        msg.message = (char *)st->message;
        if (st->field[0] || st->reason[0]) {
                detail.field = (char *)st->field;
                detail.reason = (char *)st->reason;
                msg.n_details = 1;
                msg.details = details;
        }
        *lenp = cairn__v1__status__get_packed_size(&msg);
        buf = malloc(*lenp ? *lenp : 1);
        if (!buf)
                abort();
        cairn__v1__status__pack(&msg, buf);
        return buf;
}

int cairn_status_unpack(const uint8_t *buf, size_t len, struct cairn_status *st)
{
        Cairn__V1__Status *msg = cairn__v1__status__unpack(NULL, len, buf);

        cairn_status_clear(st);
        if (!msg) {
                cairn_status_set(st, CAIRN_ERR_INTERNAL, NULL, NULL,
                                 "reply claimed to be a cairn.v1.Status but did not decode");
                return 0;
        }
        st->code = cairn_err_from_code(msg->code);
        if (st->code == CAIRN_OK)
                st->code = CAIRN_ERR_UNKNOWN; /* a Status reply is never a success */
        snprintf(st->message, sizeof(st->message), "%s", msg->message ? msg->message : "");
        if (msg->n_details > 0) {
                snprintf(st->field, sizeof(st->field), "%s", msg->details[0]->field);
                snprintf(st->reason, sizeof(st->reason), "%s", msg->details[0]->reason);
        }
        cairn__v1__status__free_unpacked(msg, NULL);
        return 1;
}

Cairn__V1__Status *cairn_status_to_pb(struct cairn_arena *arena, const struct cairn_status *st)
{
        Cairn__V1__Status *msg = cairn_arena_alloc(arena, sizeof(*msg));
        Cairn__V1__StatusDetail *detail, **details;

        if (!msg)
                return NULL;
        cairn__v1__status__init(msg);
        msg->code = (int32_t)st->code;
        msg->message = cairn_arena_strdup(arena, st->message);
        if (!msg->message)
                return NULL;
        if (st->field[0] || st->reason[0]) {
                detail = cairn_arena_alloc(arena, sizeof(*detail));
                details = cairn_arena_alloc(arena, sizeof(*details));
                if (!detail || !details)
                        return NULL;
                cairn__v1__status_detail__init(detail);
                detail->field = cairn_arena_strdup(arena, st->field);
                detail->reason = cairn_arena_strdup(arena, st->reason);
                if (!detail->field || !detail->reason)
                        return NULL;
                details[0] = detail;
                msg->n_details = 1;
                msg->details = details;
        }
        return msg;
}

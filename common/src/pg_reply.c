/* Replies kept for redeliveries (cairn/pg_reply.h). */
#include "cairn/pg_reply.h"

#include <stdio.h>
#include <stdlib.h>

#define PARAMS_MAX 8

cairn_err_t cairn_pg_reply_find(struct cairn_pg *pg, int64_t deadline_us,
                                const struct cairn_pg_stmt *get, const char *const *params,
                                int nparams, const ProtobufCMessageDescriptor *desc,
                                struct cairn_arena *arena, ProtobufCMessage **reply, char *errstr,
                                size_t errstr_size)
{
        PGresult *res = NULL;
        uint8_t *bytes = NULL;
        size_t len = 0;
        cairn_err_t err;

        err = cairn_pg_exec(pg, deadline_us, get, params, nparams, &res, errstr, errstr_size);
        if (err != CAIRN_OK)
                return err;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return CAIRN_ERR_NOT_FOUND;
        }
        if (!cairn_pg_bytea_decode(PQgetvalue(res, 0, 0), &bytes, &len)) {
                PQclear(res);
                snprintf(errstr, errstr_size, "a kept reply is not bytea");
                return CAIRN_ERR_INTERNAL;
        }
        PQclear(res);
        *reply = protobuf_c_message_unpack(desc, cairn_arena_pbc(arena), len, bytes);
        free(bytes);
        if (!*reply) {
                snprintf(errstr, errstr_size, "a kept reply does not unpack as %s", desc->name);
                return CAIRN_ERR_INTERNAL;
        }
        return CAIRN_OK;
}

cairn_err_t cairn_pg_reply_keep(struct cairn_pg_conn *conn, const struct cairn_pg_stmt *put,
                                const char *const *params, int nparams,
                                const ProtobufCMessage *reply, char *errstr, size_t errstr_size)
{
        size_t len = protobuf_c_message_get_packed_size(reply);
        const char *p[PARAMS_MAX];
        PGresult *res = NULL;
        uint8_t *buf;
        char *text;
        cairn_err_t err;

        if (nparams >= PARAMS_MAX || !(buf = malloc(len ? len : 1))) {
                snprintf(errstr, errstr_size, "cannot keep the reply");
                return CAIRN_ERR_INTERNAL;
        }
        protobuf_c_message_pack(reply, buf);
        text = cairn_pg_bytea_encode(buf, len);
        free(buf);
        if (!text) {
                snprintf(errstr, errstr_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        for (int i = 0; i < nparams; i++)
                p[i] = params[i];
        p[nparams] = text;
        err = cairn_pg_conn_exec(conn, put, p, nparams + 1, &res, errstr, errstr_size);
        PQclear(res);
        free(text);
        return err;
}

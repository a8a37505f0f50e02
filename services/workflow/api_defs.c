/* Requests about definitions: register, get, list; and what every handler
 * shares (api.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cairn/clock.h"
#include "cairn/pbjson.h"
#include "db.h"

const char *wf_api_tenant(const struct cairn_request *req, struct cairn_status *st)
{
        if (!req->key || !req->key[0]) {
                cairn_status_set(st, CAIRN_ERR_INVALID, NULL, "MISSING_KEY",
                                 "the message key must be the tenant; it is empty");
                return NULL;
        }
        return req->key;
}

cairn_err_t wf_api_admin(const struct cairn_request *req, const char *what, struct cairn_status *st)
{
        const char *role = req->hdrs ? req->hdrs->role : "";

        /* no role: a trusted producer on the bus; else owners and admins */
        if (!role[0] || strcmp(role, "owner") == 0 || strcmp(role, "admin") == 0)
                return CAIRN_OK;
        return cairn_status_set(st, CAIRN_ERR_PERMISSION, NULL, "ROLE",
                                "%s needs role owner or admin; the caller is %s", what, role);
}

void *wf_api_from_json(const ProtobufCMessageDescriptor *desc, const json_t *json,
                       struct cairn_arena *arena)
{
        char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
        ProtobufCMessage *m =
                text ? cairn_pbjson_parse_arena(desc, text, CAIRN_PBJSON_DEPTH_MAX, arena) : NULL;

        free(text);
        return m;
}

void *wf_api_timestamp(struct cairn_arena *arena, int64_t ms)
{
        Google__Protobuf__Timestamp *ts = cairn_arena_calloc(arena, 1, sizeof(*ts));

        if (!ts)
                return NULL;
        google__protobuf__timestamp__init(ts);
        cairn_timestamp_set_us(ts, ms * 1000);
        return ts;
}

static Cairn__Workflow__V1__DefinitionInfo *info_of(const struct wf_def *d, bool with_def,
                                                    struct cairn_arena *arena)
{
        Cairn__Workflow__V1__DefinitionInfo *i = cairn_arena_calloc(arena, 1, sizeof(*i));

        if (!i)
                return NULL;
        cairn__workflow__v1__definition_info__init(i);
        i->type = d->type;
        i->version = d->version;
        i->description = d->def->description;
        i->created_at = wf_api_timestamp(arena, d->created_ms);
        i->builtin = d->builtin;
        if (with_def)
                i->definition = d->def;
        return i;
}

static cairn_err_t h_register(struct cairn_request *req, const ProtobufCMessage *msg,
                              ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__RegisterDefinitionRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        Cairn__Workflow__V1__RegisterDefinitionReply *out;
        const struct wf_def *d;
        bool created;
        cairn_err_t err;

        if ((err = wf_api_admin(req, "registering a workflow type", st)))
                return err;
        if (!in->definition)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "definition", NULL,
                                        "definition is required");
        if ((err = wf_def_register(svc, in->definition, false, &d, &created, st)))
                return err;
        out = cairn_arena_calloc(req->arena, 1, sizeof(*out));
        if (!out)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        cairn__workflow__v1__register_definition_reply__init(out);
        out->definition = info_of(d, false, req->arena);
        out->created = created;
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t h_get(struct cairn_request *req, const ProtobufCMessage *msg,
                         ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__GetDefinitionRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        Cairn__Workflow__V1__GetDefinitionReply *out;
        const struct wf_def *d;
        cairn_err_t err;

        if (!in->type[0])
                return cairn_status_set(st, CAIRN_ERR_INVALID, "type", NULL, "type is required");
        if ((err = wf_def_get(svc, NULL, in->type, in->version, &d, st)))
                return err;
        out = cairn_arena_calloc(req->arena, 1, sizeof(*out));
        if (!out)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        cairn__workflow__v1__get_definition_reply__init(out);
        out->definition = info_of(d, true, req->arena);
        *reply = &out->base;
        return CAIRN_OK;
}

static cairn_err_t h_list(struct cairn_request *req, const ProtobufCMessage *msg,
                          ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Workflow__V1__ListDefinitionsRequest *in = (const void *)msg;
        struct wf_service *svc = req->opaque;
        Cairn__Workflow__V1__ListDefinitionsReply *out;
        unsigned size = in->page_size ? in->page_size : 50;
        char limit[16], errstr[256];
        const char *p[2] = { in->page_token, limit };
        PGresult *res = NULL;
        cairn_err_t err;

        if (size > 500)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "page_size", NULL,
                                        "page_size is at most 500");
        snprintf(limit, sizeof(limit), "%u", size + 1);
        err = cairn_pg_exec(svc->pg, WF_PG_DEADLINE, &wf_sql[WQ_DEF_LIST], p, 2, &res, errstr,
                            sizeof(errstr));
        if (err)
                return cairn_status_set(st, err, NULL, NULL, "definitions: %s", errstr);
        int n = PQntuples(res), shown = n > (int)size ? (int)size : n;

        out = cairn_arena_calloc(req->arena, 1, sizeof(*out));
        Cairn__Workflow__V1__DefinitionInfo **items =
                cairn_arena_calloc(req->arena, (size_t)shown + 1, sizeof(*items));
        if (!out || !items) {
                PQclear(res);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        cairn__workflow__v1__list_definitions_reply__init(out);
        for (int i = 0; i < shown; i++) {
                Cairn__Workflow__V1__DefinitionInfo *d = cairn_arena_calloc(req->arena, 1,
                                                                            sizeof(*d));
                if (!d)
                        break;
                cairn__workflow__v1__definition_info__init(d);
                d->type = cairn_arena_strdup(req->arena, PQgetvalue(res, i, 0));
                d->version = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
                d->description = cairn_arena_strdup(req->arena, PQgetvalue(res, i, 2));
                d->builtin = PQgetvalue(res, i, 3)[0] == 't';
                d->created_at = wf_api_timestamp(req->arena,
                                                 strtoll(PQgetvalue(res, i, 4), NULL, 10));
                items[out->n_definitions++] = d;
        }
        out->definitions = items;
        if (n > (int)size && shown > 0)
                out->next_page_token = items[shown - 1]->type;
        PQclear(res);
        *reply = &out->base;
        return CAIRN_OK;
}

const struct cairn_handler wf_handlers[] = {
        { &cairn__workflow__v1__register_definition_request__descriptor, h_register },
        { &cairn__workflow__v1__get_definition_request__descriptor, h_get },
        { &cairn__workflow__v1__list_definitions_request__descriptor, h_list },
        { &cairn__workflow__v1__start_run_request__descriptor, wf_api_start },
        { &cairn__workflow__v1__get_run_request__descriptor, wf_api_get_run },
        { &cairn__workflow__v1__list_runs_request__descriptor, wf_api_list_runs },
        { &cairn__workflow__v1__get_history_request__descriptor, wf_api_history },
        { &cairn__workflow__v1__signal_run_request__descriptor, wf_api_signal },
        { &cairn__workflow__v1__cancel_run_request__descriptor, wf_api_cancel },
        { &cairn__workflow__v1__terminate_run_request__descriptor, wf_api_terminate },
        { NULL, NULL },
};

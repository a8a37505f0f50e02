/* The adapters of Vault's KV v2 routes. One request's state lives in an
 * arena from parse to release; the conversations of more than one call are
 * here too (next()): a write whose key must be fetched first or again, a
 * list that gathers every page of the service's into Vault's one answer.
 * Plaintext is held in buffers of its own and wiped when done with. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealing.h"
#include "vault.h"
#include "vault_parse.h"
#include "vault_render.h"

/* ctx->flags is unused: every note is in the state. */
enum vault_op {
        OP_READ,
        OP_WRITE,
        OP_PATCH,
        OP_DELETE_LATEST,
        OP_DELETE,
        OP_UNDELETE,
        OP_DESTROY,
        OP_META_READ,
        OP_META_WRITE,
        OP_META_PATCH,
        OP_META_DELETE,
        OP_LIST,
        OP_SUBKEYS,
        OP_CONFIG_READ,
        OP_CONFIG_WRITE,
};

/* The reason the secrets service gives a value sealed to a retired key. */
#define SEAL_KEY_UNKNOWN "SEAL_KEY_UNKNOWN"

struct vault_state {
        enum vault_op op;
        struct cairn_arena arena;
        char path[GW_CAPTURE_REST_MAX];
        ProtobufCMessage *req; /* the operation's request, in the arena */

        /* writes and patches: the value and where it is sealed to */
        struct cairn_buf plain;
        Cairn__Secrets__V1__SealedValue sealed;
        Cairn__Secrets__V1__GetServiceKeyRequest key_req;
        bool key_step; /* the call in flight asks for the key */
        bool retried;  /* the key was fetched again after SEAL_KEY_UNKNOWN */

        /* lists: the keys of every page so far */
        char **keys;
        size_t nkeys, cap;
};

static void *alloc(struct vault_state *st, size_t size)
{
        void *p = cairn_arena_calloc(&st->arena, 1, size);

        if (!p)
                abort();
        return p;
}

static char *dup(struct vault_state *st, const char *s)
{
        char *p = cairn_arena_strdup(&st->arena, s ? s : "");

        if (!p)
                abort();
        return p;
}

static void unavailable(struct gw_error *e, const char *msg)
{
        gw_error_set(e, 503, "unavailable", NULL, "%s", msg);
        e->err = CAIRN_ERR_UNAVAILABLE;
}

/* ---- query parameters ---- */

struct query {
        enum vault_op op;
        uint64_t version, depth;
        bool recursive;
        struct gw_error *e;
        bool failed;
};

static int query_visit(void *opaque, const char *key, const char *value)
{
        struct query *q = opaque;
        bool ok = true;

        if (strcmp(key, "version") == 0 && (q->op == OP_READ || q->op == OP_SUBKEYS))
                ok = gw_vault_parse_uint("version", value, UINT64_MAX, &q->version, q->e);
        else if (strcmp(key, "depth") == 0 && q->op == OP_SUBKEYS)
                ok = gw_vault_parse_uint("depth", value, UINT32_MAX, &q->depth, q->e);
        else if (strcmp(key, "recursive") == 0 && q->op == OP_LIST) {
                /* Cairn's: every secret below the folder */
                q->recursive = value && (strcmp(value, "true") == 0 || strcmp(value, "1") == 0);
                if (!q->recursive &&
                    !(value && (strcmp(value, "false") == 0 || strcmp(value, "0") == 0))) {
                        gw_error_set(q->e, 400, "invalid_argument", "recursive",
                                     "recursive must be true or false");
                        ok = false;
                }
        }
        q->failed = !ok;
        return ok ? 0 : 1;
}

static bool read_query(struct gw_adapter_ctx *ctx, struct query *q, struct gw_error *e)
{
        q->e = e;
        if (ctx->query_each)
                ctx->query_each(ctx->conn, query_visit, q);
        return !q->failed;
}

/* ---- writes: sealing, and the key to seal to ---- */

/* The request asking the service for its key, noting the step. */
static const ProtobufCMessage *ask_key(struct gw_adapter_ctx *ctx, struct vault_state *st)
{
        cairn__secrets__v1__get_service_key_request__init(&st->key_req);
        st->key_step = true;
        ctx->reply_type = &cairn__secrets__v1__service_key_reply__descriptor;
        return &st->key_req.base;
}

/* Seals the value to @p pk of @p version: the request is ready to send. */
static bool seal(struct vault_state *st, uint32_t version, const uint8_t *pk)
{
        uint8_t *box = alloc(st, st->plain.len + CAIRN_SEAL_OVERHEAD);

        if (cairn_seal(pk, st->plain.p, st->plain.len, box) != 0)
                return false;
        st->sealed.key_version = version;
        st->sealed.box.data = box;
        st->sealed.box.len = st->plain.len + CAIRN_SEAL_OVERHEAD;
        return true;
}

/* The first call of a write: the write itself, sealed to the key known,
 * or a request for the key. */
static const ProtobufCMessage *write_first(struct gw_adapter_ctx *ctx, struct vault_state *st)
{
        uint8_t pk[CAIRN_SEAL_KEY_BYTES];
        uint32_t version;

        if (gw_sealing_service_key(ctx->sealing, ctx->tenant, &version, pk) &&
            seal(st, version, pk))
                return st->req;
        return ask_key(ctx, st);
}

/* The service's answer to a request for its key: kept, and the value
 * sealed to it. */
static const ProtobufCMessage *key_received(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                            const ProtobufCMessage *reply,
                                            const struct cairn_status *status, struct gw_error *e)
{
        const Cairn__Secrets__V1__ServiceKeyReply *key =
                (const Cairn__Secrets__V1__ServiceKeyReply *)reply;

        st->key_step = false;
        ctx->reply_type = NULL;
        if (!key) {
                char msg[256];

                snprintf(msg, sizeof(msg),
                         "the secrets service's key to seal the value to cannot be fetched (%s); "
                         "try again later",
                         cairn_err_str(status->code));
                unavailable(e, msg);
                return NULL;
        }
        if (key->public_key.len != CAIRN_SEAL_KEY_BYTES ||
            !seal(st, key->key_version, key->public_key.data)) {
                gw_error_set(e, 502, "bad_gateway", NULL,
                             "the secrets service answered with a key that cannot seal");
                return NULL;
        }
        gw_sealing_service_key_set(ctx->sealing, key->key_version, key->public_key.data);
        return st->req;
}

static const ProtobufCMessage *write_next(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                          const ProtobufCMessage *reply,
                                          const struct cairn_status *status, struct gw_error *e)
{
        if (st->key_step)
                return key_received(ctx, st, reply, status, e);
        /* a rotation retired the key: fetch the current one, and try once more */
        if (!reply && !st->retried && status->code == CAIRN_ERR_PRECONDITION &&
            strcmp(status->reason, SEAL_KEY_UNKNOWN) == 0) {
                st->retried = true;
                gw_sealing_service_key_forget(ctx->sealing, st->sealed.key_version);
                return ask_key(ctx, st);
        }
        return NULL;
}

/* ---- lists: every page ---- */

static const ProtobufCMessage *list_next(struct vault_state *st, const ProtobufCMessage *reply,
                                         struct gw_error *e)
{
        const Cairn__Secrets__V1__ListReply *page = (const Cairn__Secrets__V1__ListReply *)reply;
        Cairn__Secrets__V1__ListRequest *req = (Cairn__Secrets__V1__ListRequest *)st->req;

        if (!page)
                return NULL;
        if (st->nkeys + page->n_keys > GW_VAULT_LIST_MAX_KEYS) {
                gw_error_set(e, 400, "invalid_argument", NULL,
                             "the folder holds more than %d keys, more than one answer "
                             "carries: list its folders one at a time",
                             GW_VAULT_LIST_MAX_KEYS);
                e->err = CAIRN_ERR_INVALID;
                return NULL;
        }
        if (st->nkeys + page->n_keys > st->cap) {
                size_t cap = st->cap ? st->cap : 64;
                char **keys;

                while (cap < st->nkeys + page->n_keys)
                        cap *= 2;
                keys = realloc(st->keys, cap * sizeof(*keys));
                if (!keys)
                        abort();
                st->keys = keys;
                st->cap = cap;
        }
        for (size_t i = 0; i < page->n_keys; i++)
                st->keys[st->nkeys++] = dup(st, page->keys[i]);
        if (!page->next_page_token || !page->next_page_token[0])
                return NULL;
        req->page_token = dup(st, page->next_page_token);
        return st->req;
}

static const ProtobufCMessage *vault_next(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply,
                                          const struct cairn_status *status, struct gw_error *e)
{
        struct vault_state *st = ctx->state;

        switch (st->op) {
        case OP_WRITE:
        case OP_PATCH:
                return write_next(ctx, st, reply, status, e);
        case OP_LIST:
                return list_next(st, reply, e);
        default:
                return NULL;
        }
}

/* ---- requests ---- */

static const ProtobufCMessage *build_value(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                           struct gw_error *e)
{
        Google__Protobuf__UInt64Value *cas;

        if (!ctx->sealing) {
                unavailable(e, "sealed values are not available on this gateway");
                return NULL;
        }
        if (!gw_vault_parse_value(ctx->body, ctx->body_len, ctx->max_json_depth, &st->plain,
                                  &st->arena, &cas, e))
                return NULL;
        cairn__secrets__v1__sealed_value__init(&st->sealed);
        if (st->op == OP_WRITE) {
                Cairn__Secrets__V1__WriteRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__write_request__init(req);
                req->path = st->path;
                req->data = &st->sealed;
                req->cas = cas;
                st->req = &req->base;
        } else {
                Cairn__Secrets__V1__PatchRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__patch_request__init(req);
                req->path = st->path;
                req->patch = &st->sealed;
                req->cas = cas;
                st->req = &req->base;
        }
        return write_first(ctx, st);
}

static const ProtobufCMessage *build_read(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                          struct gw_error *e)
{
        Cairn__Secrets__V1__ReadRequest *req = alloc(st, sizeof(*req));
        struct query q = { .op = st->op };

        if (!ctx->sealing) {
                unavailable(e, "sealed values are not available on this gateway");
                return NULL;
        }
        if (!read_query(ctx, &q, e))
                return NULL;
        cairn__secrets__v1__read_request__init(req);
        req->path = st->path;
        req->version = q.version;
        req->reply_key.data = (uint8_t *)gw_sealing_reply_key(ctx->sealing);
        req->reply_key.len = CAIRN_SEAL_KEY_BYTES;
        return st->req = &req->base;
}

static const ProtobufCMessage *build_versions(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                              struct gw_error *e)
{
        uint64_t *versions = NULL;
        size_t n = 0;

        if (st->op != OP_DELETE_LATEST &&
            !gw_vault_parse_versions(ctx->body, ctx->body_len, ctx->max_json_depth, true,
                                     &st->arena, &versions, &n, e))
                return NULL;
        if (st->op == OP_UNDELETE) {
                Cairn__Secrets__V1__UndeleteRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__undelete_request__init(req);
                req->path = st->path;
                req->versions = versions;
                req->n_versions = n;
                return st->req = &req->base;
        }
        if (st->op == OP_DESTROY) {
                Cairn__Secrets__V1__DestroyRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__destroy_request__init(req);
                req->path = st->path;
                req->versions = versions;
                req->n_versions = n;
                return st->req = &req->base;
        }
        Cairn__Secrets__V1__DeleteRequest *req = alloc(st, sizeof(*req));

        cairn__secrets__v1__delete_request__init(req);
        req->path = st->path;
        req->versions = versions; /* none: the current version */
        req->n_versions = n;
        return st->req = &req->base;
}

static const ProtobufCMessage *build_metadata(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                              struct gw_error *e)
{
        switch (st->op) {
        case OP_META_READ: {
                Cairn__Secrets__V1__ReadMetadataRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__read_metadata_request__init(req);
                req->path = st->path;
                return st->req = &req->base;
        }
        case OP_META_DELETE: {
                Cairn__Secrets__V1__DeleteMetadataRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__delete_metadata_request__init(req);
                req->path = st->path;
                return st->req = &req->base;
        }
        default: {
                Cairn__Secrets__V1__WriteMetadataRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__write_metadata_request__init(req);
                req->path = st->path;
                req->patch = st->op == OP_META_PATCH;
                if (!gw_vault_parse_metadata(ctx->body, ctx->body_len, ctx->max_json_depth,
                                             req->patch, &st->arena, req, e))
                        return NULL;
                return st->req = &req->base;
        }
        }
}

static const ProtobufCMessage *build_list(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                          struct gw_error *e)
{
        Cairn__Secrets__V1__ListRequest *req = alloc(st, sizeof(*req));
        struct query q = { .op = st->op };

        if (!read_query(ctx, &q, e))
                return NULL;
        cairn__secrets__v1__list_request__init(req);
        req->prefix = st->path;
        req->recursive = q.recursive;
        return st->req = &req->base;
}

static const ProtobufCMessage *build_subkeys(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                             struct gw_error *e)
{
        Cairn__Secrets__V1__SubkeysRequest *req = alloc(st, sizeof(*req));
        struct query q = { .op = st->op };

        if (!read_query(ctx, &q, e))
                return NULL;
        cairn__secrets__v1__subkeys_request__init(req);
        req->path = st->path;
        req->version = q.version;
        req->depth = (uint32_t)q.depth;
        return st->req = &req->base;
}

static const ProtobufCMessage *build_config(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                            struct gw_error *e)
{
        if (st->op == OP_CONFIG_READ) {
                Cairn__Secrets__V1__GetConfigRequest *req = alloc(st, sizeof(*req));

                cairn__secrets__v1__get_config_request__init(req);
                return st->req = &req->base;
        }
        Cairn__Secrets__V1__SetConfigRequest *req = alloc(st, sizeof(*req));

        cairn__secrets__v1__set_config_request__init(req);
        if (!gw_vault_parse_config(ctx->body, ctx->body_len, ctx->max_json_depth, &st->arena, req,
                                   e))
                return NULL;
        return st->req = &req->base;
}

static const ProtobufCMessage *build(struct gw_adapter_ctx *ctx, struct vault_state *st,
                                     struct gw_error *e)
{
        switch (st->op) {
        case OP_READ:
                return build_read(ctx, st, e);
        case OP_WRITE:
        case OP_PATCH:
                return build_value(ctx, st, e);
        case OP_DELETE_LATEST:
        case OP_DELETE:
        case OP_UNDELETE:
        case OP_DESTROY:
                return build_versions(ctx, st, e);
        case OP_LIST:
                return build_list(ctx, st, e);
        case OP_SUBKEYS:
                return build_subkeys(ctx, st, e);
        case OP_CONFIG_READ:
        case OP_CONFIG_WRITE:
                return build_config(ctx, st, e);
        default:
                return build_metadata(ctx, st, e);
        }
}

static void vault_release(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg)
{
        struct vault_state *st = ctx->state;

        (void)msg;
        if (!st)
                return;
        if (st->plain.p) {
                sodium_memzero(st->plain.p, st->plain.cap);
                /* the request's own copy of the value too */
                if (ctx->body)
                        sodium_memzero((char *)ctx->body, ctx->body_len);
        }
        cairn_buf_cleanup(&st->plain);
        cairn_arena_cleanup(&st->arena);
        free(st->keys);
        free(st);
        ctx->state = NULL;
}

static ProtobufCMessage *parse(struct gw_adapter_ctx *ctx, struct gw_error *e, enum vault_op op)
{
        struct vault_state *st = calloc(1, sizeof(*st));
        const ProtobufCMessage *first;

        if (!st)
                abort();
        st->op = op;
        cairn_arena_init(&st->arena, 0);
        ctx->state = st;
        ctx->reply_type = NULL;
        /* {path*}; the config and the list of the mount's top have none */
        for (size_t i = 0; i < ctx->caps->n; i++)
                if (!gw_capture_value(ctx->caps, i, st->path, sizeof(st->path)))
                        st->path[0] = '\0';
        first = build(ctx, st, e);
        if (!first) {
                vault_release(ctx, NULL);
                return NULL;
        }
        /* sent as it is, never modified by the gateway's pipeline */
        return (ProtobufCMessage *)first;
}

/* ---- answers ---- */

static char *render_read(struct gw_adapter_ctx *ctx, const Cairn__Secrets__V1__ReadReply *reply,
                         size_t *lenp)
{
        size_t plain_len = 0;
        char *plain = NULL, *body;

        if (reply->data.len) {
                plain = gw_sealing_open(ctx->sealing, reply->data.data, reply->data.len,
                                        &plain_len);
                if (!plain)
                        return NULL; /* not sealed to this gateway, or altered */
        }
        body = gw_vault_read_json(ctx->request_id, reply, plain, plain_len, &ctx->status, lenp);
        gw_sealing_wipe(plain, plain_len);
        ctx->secret = true;
        return body;
}

static char *vault_render(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply, size_t *lenp)
{
        struct vault_state *st = ctx->state;
        char *none;

        switch (st->op) {
        case OP_READ:
                return render_read(ctx, (const Cairn__Secrets__V1__ReadReply *)reply, lenp);
        case OP_WRITE:
        case OP_PATCH:
                return gw_vault_write_json(ctx->request_id,
                                           (const Cairn__Secrets__V1__WriteReply *)reply, lenp);
        case OP_META_READ:
                return gw_vault_metadata_json(ctx->request_id,
                                              (const Cairn__Secrets__V1__MetadataReply *)reply,
                                              lenp);
        case OP_LIST:
                return gw_vault_list_json(ctx->request_id, st->keys, st->nkeys, &ctx->status, lenp);
        case OP_SUBKEYS:
                return gw_vault_subkeys_json(ctx->request_id,
                                             (const Cairn__Secrets__V1__SubkeysReply *)reply, lenp);
        case OP_CONFIG_READ:
                return gw_vault_config_json(ctx->request_id,
                                            (const Cairn__Secrets__V1__ConfigReply *)reply, lenp);
        default:
                /* deletes, undelete, destroy, metadata and config writes */
                none = calloc(1, 1);
                if (!none)
                        abort();
                ctx->status = 204;
                *lenp = 0;
                return none;
        }
}

/* ---- the adapters ---- */

#define VERSION_PARAM                                                                       \
        "{\"name\":\"version\",\"in\":\"query\",\"description\":\"the version (0 or none: " \
        "the current one)\",\"schema\":{\"type\":\"integer\",\"minimum\":0}}"

#define VAULT_ADAPTER(var, opname, op, request, reply, status, params)                       \
        static ProtobufCMessage *var##_parse(struct gw_adapter_ctx *ctx, struct gw_error *e) \
        {                                                                                    \
                return parse(ctx, e, op);                                                    \
        }                                                                                    \
        const struct gw_adapter var = {                                                      \
                .name = opname,                                                              \
                .errors = GW_ERRORS_VAULT,                                                   \
                .parse = var##_parse,                                                        \
                .release = vault_release,                                                    \
                .next = vault_next,                                                          \
                .render = vault_render,                                                      \
                .openapi_request = request,                                                  \
                .openapi_reply = reply,                                                      \
                .openapi_parameters = params,                                                \
                .openapi_status = status,                                                    \
                .untyped_body_ok = true,                                                     \
        }

#define REF(name) "{\"$ref\":\"#/components/schemas/" name "\"}"

VAULT_ADAPTER(gw_vault_read, "vault.read", OP_READ, NULL, REF("VaultSecretResponse"), 0,
              "[" VERSION_PARAM "]");
VAULT_ADAPTER(gw_vault_write, "vault.write", OP_WRITE, REF("VaultSecretWrite"),
              REF("VaultVersionResponse"), 0, NULL);
VAULT_ADAPTER(gw_vault_patch, "vault.patch", OP_PATCH, REF("VaultSecretWrite"),
              REF("VaultVersionResponse"), 0, NULL);
VAULT_ADAPTER(gw_vault_delete_latest, "vault.delete_latest", OP_DELETE_LATEST, NULL, NULL, 204,
              NULL);
VAULT_ADAPTER(gw_vault_delete, "vault.delete", OP_DELETE, REF("VaultVersions"), NULL, 204, NULL);
VAULT_ADAPTER(gw_vault_undelete, "vault.undelete", OP_UNDELETE, REF("VaultVersions"), NULL, 204,
              NULL);
VAULT_ADAPTER(gw_vault_destroy, "vault.destroy", OP_DESTROY, REF("VaultVersions"), NULL, 204, NULL);
VAULT_ADAPTER(gw_vault_metadata_read, "vault.metadata_read", OP_META_READ, NULL,
              REF("VaultMetadataResponse"), 0, NULL);
VAULT_ADAPTER(gw_vault_metadata_write, "vault.metadata_write", OP_META_WRITE,
              REF("VaultMetadataWrite"), NULL, 204, NULL);
VAULT_ADAPTER(gw_vault_metadata_patch, "vault.metadata_patch", OP_META_PATCH,
              REF("VaultMetadataWrite"), NULL, 204, NULL);
VAULT_ADAPTER(gw_vault_metadata_delete, "vault.metadata_delete", OP_META_DELETE, NULL, NULL, 204,
              NULL);
VAULT_ADAPTER(gw_vault_list, "vault.list", OP_LIST, NULL, REF("VaultListResponse"), 0,
              "[{\"name\":\"list\",\"in\":\"query\",\"required\":true,\"description\":\"true: "
              "list (or send the method LIST without it)\",\"schema\":{\"type\":\"string\","
              "\"enum\":[\"true\"]}},{\"name\":\"recursive\",\"in\":\"query\",\"description\":"
              "\"Cairn's extension: every secret below the folder, by its path relative to "
              "it\",\"schema\":{\"type\":\"boolean\"}}]");
VAULT_ADAPTER(gw_vault_subkeys, "vault.subkeys", OP_SUBKEYS, NULL, REF("VaultSubkeysResponse"), 0,
              "[" VERSION_PARAM ",{\"name\":\"depth\",\"in\":\"query\",\"description\":\"the "
              "deepest level given (0: all)\",\"schema\":{\"type\":\"integer\",\"minimum\":0}}]");
VAULT_ADAPTER(gw_vault_config_read, "vault.config_read", OP_CONFIG_READ, NULL,
              REF("VaultConfigResponse"), 0, NULL);
VAULT_ADAPTER(gw_vault_config_write, "vault.config_write", OP_CONFIG_WRITE, REF("VaultConfig"),
              NULL, 204, NULL);

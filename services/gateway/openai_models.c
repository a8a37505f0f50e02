/* GET /v1/models as a conversation of two calls: the route's own to the
 * embedding service, then one to the speech service. What each answers is
 * kept; the answer lists both, or the one that answered when the other did
 * not (logged, unless it is not deployed: its upstream topic set empty),
 * and fails only when neither did. */
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/log.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "openai_models.h"

char *gw_models_list_json(const char *const *ids, size_t n, size_t *lenp)
{
        struct cairn_buf b = { 0 };
        bool first = true;

        cairn_buf_adds(&b, "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < n; i++) {
                bool dup = false;

                for (size_t j = 0; j < i && !dup; j++)
                        dup = strcmp(ids[i], ids[j]) == 0;
                if (dup)
                        continue;
                cairn_buf_adds(&b, first ? "{\"id\":" : ",{\"id\":");
                cairn_buf_add_json_string(&b, ids[i]);
                cairn_buf_adds(&b, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"cairn\"}");
                first = false;
        }
        cairn_buf_adds(&b, "]}");
        if (b.oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b.len;
        return b.p;
}

/* One listing: the two requests, and the embedding service's model names
 * (copied: its reply is freed once seen). */
struct models_state {
        Cairn__Embedding__V1__ListModelsRequest embedding;
        Cairn__Speech__V1__ListModelsRequest speech;
        char **names;
        size_t n;
        int calls; /* outcomes seen */
};

static ProtobufCMessage *models_parse(struct gw_adapter_ctx *ctx, struct gw_error *e)
{
        struct models_state *st = calloc(1, sizeof(*st));

        (void)e;
        if (!st)
                abort();
        cairn__embedding__v1__list_models_request__init(&st->embedding);
        cairn__speech__v1__list_models_request__init(&st->speech);
        ctx->state = st;
        return &st->embedding.base;
}

static void models_release(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg)
{
        struct models_state *st = ctx->state;

        (void)msg;
        if (!st)
                return;
        for (size_t i = 0; i < st->n; i++)
                free(st->names[i]);
        free(st->names);
        free(st);
        ctx->state = NULL;
}

static const ProtobufCMessage *models_next(struct gw_adapter_ctx *ctx,
                                           const ProtobufCMessage *reply,
                                           const struct cairn_status *status, struct gw_error *e)
{
        struct models_state *st = ctx->state;

        (void)e;
        if (st->calls++ > 0) {
                if (!reply && status->code != CAIRN_ERR_UNIMPLEMENTED)
                        cairn_log(WARN, "HTTP",
                                  "GET /v1/models: the speech service did not list its models "
                                  "(%s: %s)%s",
                                  cairn_err_str(status->code), status->message,
                                  ctx->render_failure ? "; listing the embedding service's" : "");
                return NULL; /* the answer: render(), or the error when neither answered */
        }
        if (reply) {
                const Cairn__Embedding__V1__ListModelsReply *r =
                        (const Cairn__Embedding__V1__ListModelsReply *)reply;

                st->names = calloc(r->n_models ? r->n_models : 1, sizeof(*st->names));
                if (!st->names)
                        abort();
                for (size_t i = 0; i < r->n_models; i++) {
                        st->names[i] = strdup(r->models[i]->name ? r->models[i]->name : "");
                        if (!st->names[i])
                                abort();
                }
                st->n = r->n_models;
                ctx->render_failure = true;
        } else if (status->code != CAIRN_ERR_UNIMPLEMENTED) {
                cairn_log(WARN, "HTTP",
                          "GET /v1/models: the embedding service did not list its models (%s: "
                          "%s); listing the speech service's",
                          cairn_err_str(status->code), status->message);
        }
        ctx->service = "speech";
        ctx->reply_type = &cairn__speech__v1__list_models_reply__descriptor;
        return &st->speech.base;
}

static char *models_render(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply, size_t *lenp)
{
        const struct models_state *st = ctx->state;
        const Cairn__Speech__V1__ListModelsReply *sr =
                (const Cairn__Speech__V1__ListModelsReply *)reply;
        size_t n = 0, cap = st->n;
        const char **ids;
        char *out;

        if (sr)
                for (size_t i = 0; i < sr->n_models; i++)
                        cap += 1 + sr->models[i]->n_aliases;
        ids = calloc(cap ? cap : 1, sizeof(*ids));
        if (!ids)
                abort();
        for (size_t i = 0; i < st->n; i++)
                ids[n++] = st->names[i];
        if (sr)
                for (size_t i = 0; i < sr->n_models; i++) {
                        const Cairn__Speech__V1__Model *m = sr->models[i];

                        ids[n++] = m->id ? m->id : "";
                        for (size_t j = 0; j < m->n_aliases; j++)
                                ids[n++] = m->aliases[j] ? m->aliases[j] : "";
                }
        out = gw_models_list_json(ids, n, lenp);
        free(ids);
        return out;
}

const struct gw_adapter gw_openai_models = {
        .name = "openai.models",
        .errors = GW_ERRORS_OPENAI,
        .parse = models_parse,
        .release = models_release,
        .next = models_next,
        .render = models_render,
        .openapi_reply = "{\"$ref\":\"#/components/schemas/ListModelsResponse\"}",
};

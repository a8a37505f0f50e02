/* The adapters of LibreTranslate's routes. A request's state (what was read
 * and the message built from it) lives in an arena from parse to release.
 * The credential hook reads the request on its own, into an arena of its
 * own, so that a request refused for its key leaves nothing behind; the
 * body of a request that passes is read a second time by parse(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "libretranslate.h"
#include "libretranslate_parse.h"
#include "libretranslate_render.h"

struct lt_state {
        enum gw_lt_op op;
        struct cairn_arena arena;
        struct gw_lt_request req;
        union {
                Cairn__Translation__V1__TranslateRequest translate;
                Cairn__Translation__V1__DetectRequest detect;
                Cairn__Translation__V1__ListLanguagesRequest languages;
        } msg;
};

static const char *const media_types[] = {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        NULL,
};

/* ---- reading ---- */

struct query {
        struct gw_form *form;
        struct cairn_arena *arena;
        char why[160];
        bool failed;
};

static int query_visit(void *opaque, const char *key, const char *value)
{
        struct query *q = opaque;

        if (!gw_form_add(q->form, key, value ? value : "", value ? strlen(value) : 0,
                         GW_LT_MAX_FIELDS, q->arena, q->why, sizeof(q->why))) {
                q->failed = true;
                return 1;
        }
        return 0;
}

/* The request of @p op into @p req (its strings in @p arena). */
static bool read_request(struct gw_adapter_ctx *ctx, enum gw_lt_op op, struct cairn_arena *arena,
                         struct gw_lt_request *req, struct gw_error *e)
{
        struct gw_form query = { 0 };
        struct query q = { .form = &query, .arena = arena };

        if (ctx->query_each)
                ctx->query_each(ctx->conn, query_visit, &q);
        if (q.failed) {
                gw_error_set(e, 400, "invalid_form", NULL, "the query string cannot be read: %s",
                             q.why);
                e->err = CAIRN_ERR_INVALID;
                return false;
        }
        return gw_lt_parse(op, ctx->content_type, ctx->body ? ctx->body : "",
                           ctx->body ? ctx->body_len : 0, &query, ctx->max_json_depth, arena, req,
                           e);
}

static bool credential(struct gw_adapter_ctx *ctx, enum gw_lt_op op, char **key, struct gw_error *e)
{
        struct cairn_arena arena;
        struct gw_lt_request req;
        bool ok;

        cairn_arena_init(&arena, 0);
        *key = NULL;
        ok = read_request(ctx, op, &arena, &req, e);
        if (ok && req.api_key) {
                *key = strdup(req.api_key);
                if (!*key)
                        abort();
        }
        cairn_arena_cleanup(&arena);
        return ok;
}

static ProtobufCMessage *build(struct lt_state *st)
{
        const struct gw_lt_request *req = &st->req;

        switch (st->op) {
        case GW_LT_TRANSLATE:
                cairn__translation__v1__translate_request__init(&st->msg.translate);
                st->msg.translate.texts = (char **)req->q;
                st->msg.translate.n_texts = req->nq;
                st->msg.translate.source = (char *)req->source;
                st->msg.translate.target = (char *)req->target;
                st->msg.translate.format = req->html ? CAIRN__TRANSLATION__V1__FORMAT__FORMAT_HTML
                                                     : CAIRN__TRANSLATION__V1__FORMAT__FORMAT_TEXT;
                return &st->msg.translate.base;
        case GW_LT_DETECT:
                cairn__translation__v1__detect_request__init(&st->msg.detect);
                st->msg.detect.texts = (char **)req->q;
                st->msg.detect.n_texts = req->nq;
                return &st->msg.detect.base;
        default:
                cairn__translation__v1__list_languages_request__init(&st->msg.languages);
                return &st->msg.languages.base;
        }
}

static void lt_release(struct gw_adapter_ctx *ctx, ProtobufCMessage *msg)
{
        struct lt_state *st = ctx->state;

        (void)msg;
        if (!st)
                return;
        cairn_arena_cleanup(&st->arena);
        free(st);
        ctx->state = NULL;
}

static ProtobufCMessage *parse(struct gw_adapter_ctx *ctx, enum gw_lt_op op, struct gw_error *e)
{
        struct lt_state *st = calloc(1, sizeof(*st));

        if (!st)
                abort();
        st->op = op;
        cairn_arena_init(&st->arena, 0);
        ctx->state = st;
        if (!read_request(ctx, op, &st->arena, &st->req, e)) {
                lt_release(ctx, NULL);
                return NULL;
        }
        return build(st);
}

/* ---- answers ---- */

/* The answer when a text failed or the reply did not fit: LibreTranslate's
 * error. A server-side failure's text names what the client cannot act
 * on: the log keeps it, the client gets the code. */
static char *render_error(struct gw_adapter_ctx *ctx, struct gw_error *e, size_t *lenp)
{
        const char *path = ctx->route ? ctx->route->path : "translation";

        if (e->status == 502) {
                cairn_log(ERROR, "HTTP", "%s: %s", path, e->message);
        } else if (e->status >= 500) {
                cairn_log(WARN, "HTTP", "%s: %s", path, e->message);
                snprintf(e->message, sizeof(e->message),
                         "%s%sthe translation service failed to answer (%s); see the request id "
                         "in its logs",
                         e->param[0] ? e->param : "", e->param[0] ? ": " : "",
                         cairn_err_str(e->err));
        }
        return gw_error_lt_json(e, &ctx->status, lenp);
}

static char *lt_render(struct gw_adapter_ctx *ctx, const ProtobufCMessage *reply, size_t *lenp)
{
        struct lt_state *st = ctx->state;
        struct gw_error e;
        char *body;

        memset(&e, 0, sizeof(e));
        switch (st->op) {
        case GW_LT_TRANSLATE:
                body = gw_lt_translate_json(&st->req,
                                            (const Cairn__Translation__V1__TranslateReply *)reply,
                                            lenp, &e);
                break;
        case GW_LT_DETECT:
                body = gw_lt_detect_json(&st->req,
                                         (const Cairn__Translation__V1__DetectReply *)reply, lenp,
                                         &e);
                break;
        default:
                body = gw_lt_languages_json((const Cairn__Translation__V1__ListLanguagesReply *)
                                                    reply,
                                            lenp, &e);
                break;
        }
        return body ? body : render_error(ctx, &e, lenp);
}

/* The service names its repeated field "texts"; LibreTranslate calls it "q". */
static void lt_field_name(char *out, size_t size, const char *field)
{
        if (strncmp(field, "texts", 5) == 0)
                snprintf(out, size, "q%s", field + 5);
        else
                snprintf(out, size, "%s", field);
}

/* ---- the adapters ---- */

#define API_KEY_PARAM                                                                   \
        "{\"name\":\"api_key\",\"in\":\"query\",\"description\":\"the credential, as "  \
        "LibreTranslate's clients send it (a Cairn API key or JWT; or in the body, or " \
        "Authorization: Bearer)\",\"schema\":{\"type\":\"string\"}}"

#define REF(name) "{\"$ref\":\"#/components/schemas/" name "\"}"

#define LT_ADAPTER(var, opname, op, request, reply)                                              \
        static ProtobufCMessage *var##_parse(struct gw_adapter_ctx *ctx, struct gw_error *e)     \
        {                                                                                        \
                return parse(ctx, op, e);                                                        \
        }                                                                                        \
        static bool var##_credential(struct gw_adapter_ctx *ctx, char **key, struct gw_error *e) \
        {                                                                                        \
                return credential(ctx, op, key, e);                                              \
        }                                                                                        \
        const struct gw_adapter var = {                                                          \
                .name = opname,                                                                  \
                .errors = GW_ERRORS_LIBRETRANSLATE,                                              \
                .parse = var##_parse,                                                            \
                .release = lt_release,                                                           \
                .render = lt_render,                                                             \
                .field_name = lt_field_name,                                                     \
                .openapi_request = request,                                                      \
                .openapi_reply = reply,                                                          \
                .openapi_parameters = "[" API_KEY_PARAM "]",                                     \
                .media_types = media_types,                                                      \
                .credential = var##_credential,                                                  \
        }

LT_ADAPTER(gw_lt_translate, "libretranslate.translate", GW_LT_TRANSLATE,
           REF("LibreTranslateRequest"), REF("LibreTranslateResponse"));
LT_ADAPTER(gw_lt_detect, "libretranslate.detect", GW_LT_DETECT, REF("LibreTranslateDetectRequest"),
           REF("LibreTranslateDetections"));
LT_ADAPTER(gw_lt_languages, "libretranslate.languages", GW_LT_LANGUAGES,
           "{\"type\":\"object\",\"description\":\"POST's body: the credential only, as "
           "the query's\",\"properties\":{\"api_key\":{\"type\":\"string\"}}}",
           REF("LibreTranslateLanguages"));

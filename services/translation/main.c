/* cairn-translation: the description of the translation service — its
 * configuration, its state (Apertium's modes and pipelines, the detector,
 * the Redis cache, and a LibreTranslate-compatible provider with its
 * resilience settings and, when its API key lives there, a client of the
 * secrets service) and its handler table — handed to libcairn's one entry
 * point. */
#include <stdio.h>
#include <stdlib.h>

#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "cairn/service.h"
#include "remote.h"
#include "translation.h"

static struct translation_conf conf;
static struct tr_remote_conf remote_conf;
static struct cairn_resilience_conf provider_conf;
static struct cairn_conf_item *provider_items;
static struct cairn_secret_ref_conf secrets_conf;

/* The service's state: the logic, and the provider with what it needs. */
struct translation_state {
        struct translation_service svc;
        struct tr_remote *remote;
        struct cairn_service_secrets secrets;
};

static size_t sections(struct cairn_conf_section *out)
{
        cairn_resilience_conf_init(&provider_conf, TR_REMOTE_DEPENDENCY);
        provider_items = cairn_resilience_conf_items(TR_REMOTE_DEPENDENCY);
        out[0] = translation_conf_section(&conf);
        out[1] = tr_remote_conf_section(&remote_conf);
        out[2] = cairn_resilience_conf_section(provider_items, &provider_conf);
        out[3] = cairn_secret_ref_conf_section(&secrets_conf);
        return 4;
}

static void state_free(struct translation_state *st)
{
        /* the provider reads the references: it goes first */
        tr_remote_free(st->remote);
        cairn_service_secrets_close(&st->secrets);
        free(st);
}

/* The provider, with a client of the secrets service when its key is there
 * (fetched in the background: readiness does not wait for it). */
static int remote_init(struct translation_state *st, struct cairn_service_ctx *ctx, char *errstr,
                       size_t errstr_size)
{
        if (!tr_remote_conf_enabled(&remote_conf))
                return 0;
        if (tr_remote_conf_wants_secrets(&remote_conf) &&
            cairn_service_secrets_open(&st->secrets, ctx, &secrets_conf, errstr, errstr_size) < 0)
                return -1;
        st->remote = tr_remote_new(&remote_conf, &provider_conf, st->secrets.refs,
                                   ctx->app->metrics, errstr, errstr_size);
        return st->remote ? 0 : -1;
}

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct translation_state *st = calloc(1, sizeof(*st));
        struct translation_deps deps;

        if (!st)
                abort();
        if (remote_init(st, ctx, errstr, errstr_size) < 0) {
                state_free(st);
                return NULL;
        }
        deps = (struct translation_deps){ ctx->redis, st->remote, ctx->app->metrics };
        if (translation_service_init(&st->svc, &conf, &deps, errstr, errstr_size) < 0) {
                state_free(st);
                return NULL;
        }
        return st;
}

/* The handlers' opaque is the struct translation_service, the state's
 * first member. */
static void cleanup(void *state)
{
        struct translation_state *st = state;

        translation_service_cleanup(&st->svc);
        state_free(st);
}

static const struct cairn_service translation_service = {
        .name = "translation",
        /* the cache is optional: without Redis texts are translated again */
        .needs = CAIRN_NEEDS_REDIS_CACHE,
        /* a translation depends on its request alone */
        .any_order = true,
        .sections = sections,
        .init = init,
        .handlers = translation_handlers,
        .cleanup = cleanup,
};

int main(int argc, char **argv)
{
        int rc = cairn_service_main(&translation_service, argc, argv);

        cairn_resilience_conf_items_free(provider_items);
        return rc;
}

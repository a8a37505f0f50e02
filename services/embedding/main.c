/* cairn-embedding: the description of the embedding service — its
 * configuration, its state built from it (the providers with their
 * resilience settings, BERT models loaded from their directories, the
 * Redis cache when a model uses it, and a client of the secrets service
 * when a model's API key lives there) and its handler table — handed to
 * libcairn's one entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/blas.h"
#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "cairn/service.h"
#include "embedding.h"

/* The dependency whose resilience.<name>.* keys every provider uses. */
#define PROVIDER_DEPENDENCY "embedding_provider"

static struct embedding_conf conf;
static struct cairn_redis_conf cache_conf;
static struct cairn_resilience_conf provider_conf;
static struct cairn_conf_item *provider_items;
static struct cairn_secret_ref_conf secrets_conf;

/* The service's state: the logic, the cache it may own, and the bus
 * client and secret references its API keys may come through. */
struct embedding_state {
        struct embedding_service svc;
        struct cairn_redis *cache;
        struct cairn_service_secrets secrets;
};

/* Whether any configured model takes its API key from the secrets service. */
static bool secrets_wanted(const struct embedding_conf *c)
{
        for (int i = 0; i < EMBEDDING_MODEL_SLOTS; i++)
                if (c->models[i].name && c->models[i].name[0] && c->models[i].api_key_secret &&
                    c->models[i].api_key_secret[0])
                        return true;
        return false;
}

/* Whether any configured model would use the cache. */
static bool cache_wanted(const struct embedding_conf *c)
{
        if (!c->cache_enabled)
                return false;
        for (int i = 0; i < EMBEDDING_MODEL_SLOTS; i++) {
                const struct embedding_model_conf *m = &c->models[i];
                const char *cache = m->cache ? m->cache : "auto";

                if (!m->name || !m->name[0])
                        continue;
                /* auto: the models that cost more than a Redis round trip */
                if (strcmp(cache, "on") == 0 ||
                    (strcmp(cache, "auto") == 0 && m->provider &&
                     (strcmp(m->provider, "openai") == 0 || strcmp(m->provider, "bert") == 0)))
                        return true;
        }
        return false;
}

static size_t sections(struct cairn_conf_section *out)
{
        cairn_resilience_conf_init(&provider_conf, PROVIDER_DEPENDENCY);
        provider_items = cairn_resilience_conf_items(PROVIDER_DEPENDENCY);
        out[0] = embedding_conf_section(&conf);
        out[1] = (struct cairn_conf_section){ "Redis (embedding cache)", cairn_redis_conf_items,
                                              &cache_conf, NULL };
        out[2] = cairn_resilience_conf_section(provider_items, &provider_conf);
        out[3] = cairn_secret_ref_conf_section(&secrets_conf);
        return 4;
}

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct embedding_state *st = calloc(1, sizeof(*st));
        struct embedding_deps deps = { NULL, &provider_conf, NULL };

        if (!st)
                abort();
        /* Keys in the secrets service: fetched in the background through a
         * client of the service's own. Readiness does not wait for them: a
         * request whose key cannot be fetched fails UNAVAILABLE instead. */
        if (secrets_wanted(&conf) &&
            cairn_service_secrets_open(&st->secrets, ctx, &secrets_conf, errstr, errstr_size) < 0) {
                cairn_service_secrets_close(&st->secrets);
                free(st);
                return NULL;
        }
        deps.secrets = st->secrets.refs;
        /* Readiness does not wait for the cache: without Redis, requests
         * are still answered, uncached. */
        if (cache_wanted(&conf))
                st->cache = cairn_redis_new(&cache_conf, ctx->app->metrics);
        deps.redis = st->cache;
        if (embedding_service_init_with(&st->svc, &conf, &deps, ctx->app->metrics, errstr,
                                        errstr_size) != CAIRN_OK) {
                cairn_redis_free(st->cache);
                cairn_service_secrets_close(&st->secrets);
                free(st);
                return NULL;
        }
        return st;
}

/* The handlers' opaque is the struct embedding_service, the state's first member. */
static void cleanup(void *state)
{
        struct embedding_state *st = state;

        embedding_service_cleanup(&st->svc);
        cairn_redis_free(st->cache);
        /* after the providers, which read the references */
        cairn_service_secrets_close(&st->secrets);
        free(st);
}

static const struct cairn_service embedding_service = {
        .name = "embedding",
        /* an embedding depends on its request alone: one tenant's requests
         * run on every worker at once, and the micro-batcher can batch them */
        .any_order = true,
        .sections = sections,
        .init = init,
        .handlers = embedding_handlers,
        .cleanup = cleanup,
};

int main(int argc, char **argv)
{
        int rc;

        cairn_blas_kernels(argv);
        rc = cairn_service_main(&embedding_service, argc, argv);

        cairn_resilience_conf_items_free(provider_items);
        return rc;
}

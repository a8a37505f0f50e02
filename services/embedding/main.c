/* cairn-embedding: wires the configuration, Redis, the providers' resilience
 * settings, the runtime and the embedding handlers together, then serves
 * until SIGTERM. */
#include <stdio.h>
#include <string.h>

#include "cairn/app.h"
#include "cairn/redis.h"
#include "cairn/resilience.h"
#include "embedding.h"

/* The dependency whose resilience.<name>.* keys every provider uses. */
#define PROVIDER_DEPENDENCY "embedding_provider"

/* Whether any configured model would use the cache. */
static bool cache_wanted(const struct embedding_conf *conf)
{
        if (!conf->cache_enabled)
                return false;
        for (int i = 0; i < EMBEDDING_MODEL_SLOTS; i++) {
                const struct embedding_model_conf *m = &conf->models[i];
                const char *cache = m->cache ? m->cache : "auto";

                if (!m->name || !m->name[0])
                        continue;
                if (strcmp(cache, "on") == 0 ||
                    (strcmp(cache, "auto") == 0 && m->provider &&
                     strcmp(m->provider, "openai") == 0))
                        return true;
        }
        return false;
}

int main(int argc, char **argv)
{
        struct cairn_app app;
        struct embedding_conf conf;
        struct cairn_redis_conf rconf;
        struct cairn_resilience_conf pconf;
        struct cairn_conf_item *pitems = cairn_resilience_conf_items(PROVIDER_DEPENDENCY);
        struct embedding_service svc;
        struct embedding_deps deps = { NULL, &pconf };
        struct cairn_conf_section sections[3];
        char errstr[512];
        int rc;

        cairn_resilience_conf_init(&pconf, PROVIDER_DEPENDENCY);
        sections[0] = embedding_conf_section(&conf);
        sections[1] = (struct cairn_conf_section){ "Redis (embedding cache)", cairn_redis_conf_items,
                                                   &rconf, NULL };
        sections[2] = cairn_resilience_conf_section(pitems, &pconf);
        rc = cairn_app_init(&app, "embedding", argc, argv, sections, 3);
        if (rc != 0) {
                cairn_app_cleanup(&app);
                cairn_resilience_conf_items_free(pitems);
                return rc == 1 ? 0 : 1;
        }
        if (cache_wanted(&conf)) {
                deps.redis = cairn_redis_new(&rconf, app.metrics);
                /* Readiness does not wait for Redis: without it the cache is
                 * skipped and requests still get answers. */
        }
        if (embedding_service_init_with(&svc, &conf, &deps, app.metrics, errstr,
                                        sizeof(errstr)) != CAIRN_OK) {
                fprintf(stderr, "cairn-embedding: %s\n", errstr);
                cairn_app_cleanup(&app);
                cairn_redis_free(deps.redis);
                cairn_resilience_conf_items_free(pitems);
                return 1;
        }
        rc = cairn_app_serve(&app, embedding_handlers, &svc);
        /* The bus has drained: no handler runs any more. */
        embedding_service_cleanup(&svc);
        cairn_app_cleanup(&app);
        cairn_redis_free(deps.redis);
        cairn_resilience_conf_items_free(pitems);
        return rc;
}

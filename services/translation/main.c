/* cairn-translation: the description of the translation service — its
 * configuration, its state (Apertium's modes and pipelines, the detector,
 * the Redis cache) and its handler table — handed to libcairn's one entry
 * point. */
#include <stdio.h>
#include <stdlib.h>

#include "cairn/service.h"
#include "translation.h"

static struct translation_conf conf;

static size_t sections(struct cairn_conf_section *out)
{
        out[0] = translation_conf_section(&conf);
        return 1;
}

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct translation_service *svc = calloc(1, sizeof(*svc));
        struct translation_deps deps = { ctx->redis, NULL, ctx->app->metrics };

        if (!svc)
                abort();
        if (translation_service_init(svc, &conf, &deps, errstr, errstr_size) < 0) {
                free(svc);
                return NULL;
        }
        return svc;
}

static void cleanup(void *state)
{
        translation_service_cleanup(state);
        free(state);
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
        return cairn_service_main(&translation_service, argc, argv);
}

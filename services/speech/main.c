/* cairn-speech: the description of the speech service — its configuration,
 * its state (the Whisper model, the text-to-speech engines, the claim store
 * in PostgreSQL) and its handler table — handed to libcairn's one entry
 * point. */
#include <stdlib.h>

#include "cairn/service.h"
#include "speech.h"

static struct speech_conf conf;

static size_t sections(struct cairn_conf_section *out)
{
        out[0] = speech_conf_section(&conf);
        return 1;
}

static void *init(struct cairn_service_ctx *ctx, char *errstr, size_t errstr_size)
{
        struct speech_service *svc = calloc(1, sizeof(*svc));
        struct speech_deps deps = { ctx->pg, ctx->app->metrics };

        if (!svc)
                abort();
        if (speech_service_init(svc, &conf, &deps, errstr, errstr_size) < 0) {
                speech_service_cleanup(svc);
                free(svc);
                return NULL;
        }
        return svc;
}

static void cleanup(void *state)
{
        speech_service_cleanup(state);
        free(state);
}

static const struct cairn_service speech_service = {
        .name = "speech",
        /* audio too large for a message is stored there by claim check */
        .needs = CAIRN_NEEDS_PG,
        /* a transcription depends on its request alone */
        .any_order = true,
        .sections = sections,
        .init = init,
        .handlers = speech_handlers,
        .cleanup = cleanup,
};

int main(int argc, char **argv)
{
        return cairn_service_main(&speech_service, argc, argv);
}

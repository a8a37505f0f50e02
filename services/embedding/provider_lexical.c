/* The built-in lexical model as a provider: a pool of per-thread scratch
 * spaces around lexical_embed(), so once warm it allocates nothing. */
#include <pthread.h>
#include <stdlib.h>

#include "lexical.h"
#include "provider.h"

struct scratch {
        struct scratch *next;
        struct lexical_scratch *lex;
};

struct provider_lexical {
        struct provider base;
        const struct lexical_model *model;
        pthread_mutex_t lock; /* guards idle */
        struct scratch *idle; /* scratch not in use by a call */
};

static struct scratch *scratch_get(struct provider_lexical *pl)
{
        struct scratch *s;

        pthread_mutex_lock(&pl->lock);
        s = pl->idle;
        if (s)
                pl->idle = s->next;
        pthread_mutex_unlock(&pl->lock);
        if (s)
                return s;
        s = malloc(sizeof(*s));
        if (!s)
                return NULL;
        s->lex = lexical_scratch_new();
        if (!s->lex) {
                free(s);
                return NULL;
        }
        return s;
}

static void scratch_put(struct provider_lexical *pl, struct scratch *s)
{
        pthread_mutex_lock(&pl->lock);
        s->next = pl->idle;
        pl->idle = s;
        pthread_mutex_unlock(&pl->lock);
}

static cairn_err_t lexical_provider_embed(struct provider *p, struct provider_batch *b,
                                          struct cairn_status *st)
{
        struct provider_lexical *pl = (struct provider_lexical *)p;
        struct scratch *s = scratch_get(pl);

        if (!s)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory for embedding");
        b->tokens = 0;
        for (size_t i = 0; i < b->n; i++) {
                size_t ntokens = 0;

                if (lexical_embed(pl->model, s->lex, b->texts[i], b->lens[i], b->out + i * b->dim,
                                  b->dim, &ntokens) != 0) {
                        scratch_put(pl, s);
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                                "out of memory embedding inputs[%zu]", i);
                }
                b->tokens += ntokens;
        }
        scratch_put(pl, s);
        return CAIRN_OK;
}

static void lexical_provider_free(struct provider *p)
{
        struct provider_lexical *pl = (struct provider_lexical *)p;
        struct scratch *s = pl->idle;

        while (s) {
                struct scratch *next = s->next;

                lexical_scratch_free(s->lex);
                free(s);
                s = next;
        }
        pthread_mutex_destroy(&pl->lock);
        free(pl);
}

static const struct provider_ops lexical_ops = {
        .kind = "lexical",
        .embed = lexical_provider_embed,
        .free = lexical_provider_free,
};

struct provider *provider_lexical_new(const struct lexical_model *model)
{
        struct provider_lexical *pl = calloc(1, sizeof(*pl));

        if (!pl)
                return NULL;
        pl->base.ops = &lexical_ops;
        pl->base.max_batch = 0;
        pl->model = model;
        pthread_mutex_init(&pl->lock, NULL);
        return &pl->base;
}

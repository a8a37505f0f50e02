/* Routes between languages over Apertium's modes (graph.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/strlist.h"
#include "graph.h"

static long lang_index(const struct tr_graph *g, const char *code)
{
        for (size_t i = 0; i < g->nlangs; i++)
                if (strcmp(g->langs[i], code) == 0)
                        return (long)i;
        return -1;
}

static int add_lang(struct tr_graph *g, const char *code)
{
        size_t i;

        if (lang_index(g, code) >= 0)
                return 0;
        if (g->nlangs == TR_LANGS_MAX)
                return -1;
        /* sorted insert */
        for (i = g->nlangs; i > 0 && strcmp(g->langs[i - 1], code) > 0; i--)
                memcpy(g->langs[i], g->langs[i - 1], TR_LANG_MAX);
        snprintf(g->langs[i], TR_LANG_MAX, "%s", code);
        g->nlangs++;
        return 0;
}

/* The cost of going through @p lang: its place among the preferred pivots,
 * or after all of them. */
static size_t pivot_cost(const char *pivots, const char *lang)
{
        struct cairn_strlist it;
        const char *item;
        size_t rank = 0, len;

        pivots = pivots ? pivots : "";
        cairn_strlist_init(&it, pivots, strlen(pivots));
        while (cairn_strlist_next(&it, &item, &len)) {
                if (len == strlen(lang) && memcmp(item, lang, len) == 0)
                        return rank;
                rank++;
        }
        return rank + 1;
}

/* Depth-first search from @p at for routes to @p to; keeps the cheapest in
 * @p best (with its cost in @p best_cost). */
struct search {
        const struct tr_graph *g;
        const char *pivots;
        size_t max_hops, to;
        bool seen[TR_LANGS_MAX];
        struct tr_route path, best;
        size_t cost, best_cost;
};

static void search(struct search *s, size_t at)
{
        if (at == s->to) {
                if (!s->best.nhops || s->path.nhops < s->best.nhops ||
                    (s->path.nhops == s->best.nhops && s->cost < s->best_cost)) {
                        s->best = s->path;
                        s->best_cost = s->cost;
                }
                return;
        }
        if (s->path.nhops == s->max_hops)
                return;
        for (size_t m = 0; m < s->g->nmodes; m++) {
                const struct tr_mode *mode = &s->g->modes[m];
                long next;
                size_t extra;

                if (strcmp(mode->source, s->g->langs[at]) != 0)
                        continue;
                next = lang_index(s->g, mode->target);
                if (next < 0 || s->seen[next])
                        continue;
                extra = (size_t)next == s->to ? 0 : pivot_cost(s->pivots, mode->target);
                s->seen[next] = true;
                s->path.mode[s->path.nhops++] = m;
                s->cost += extra;
                search(s, (size_t)next);
                s->cost -= extra;
                s->path.nhops--;
                s->seen[next] = false;
        }
}

int tr_graph_init(struct tr_graph *g, const struct tr_mode *modes, size_t nmodes, size_t max_hops,
                  const char *pivots, char *errstr, size_t errstr_size)
{
        memset(g, 0, sizeof(*g));
        g->modes = modes;
        g->nmodes = nmodes;
        if (max_hops > TR_HOPS_MAX)
                max_hops = TR_HOPS_MAX;
        for (size_t m = 0; m < nmodes; m++) {
                if (add_lang(g, modes[m].source) < 0 || add_lang(g, modes[m].target) < 0) {
                        snprintf(errstr, errstr_size, "more than %d languages", TR_LANGS_MAX);
                        return -1;
                }
        }
        g->routes = calloc(g->nlangs * g->nlangs + 1, sizeof(*g->routes));
        if (!g->routes) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (size_t a = 0; a < g->nlangs; a++) {
                for (size_t b = 0; b < g->nlangs; b++) {
                        struct search s;

                        if (a == b)
                                continue;
                        memset(&s, 0, sizeof(s));
                        s.g = g;
                        s.pivots = pivots;
                        s.max_hops = max_hops;
                        s.to = b;
                        s.seen[a] = true;
                        search(&s, a);
                        g->routes[a * g->nlangs + b] = s.best;
                }
        }
        return 0;
}

void tr_graph_cleanup(struct tr_graph *g)
{
        free(g->routes);
        g->routes = NULL;
}

const struct tr_route *tr_graph_route(const struct tr_graph *g, const char *source,
                                      const char *target)
{
        long a = lang_index(g, source), b = lang_index(g, target);
        const struct tr_route *r;

        if (a < 0 || b < 0 || a == b)
                return NULL;
        r = &g->routes[(size_t)a * g->nlangs + (size_t)b];
        return r->nhops ? r : NULL;
}

bool tr_graph_is_source(const struct tr_graph *g, const char *lang)
{
        for (size_t m = 0; m < g->nmodes; m++)
                if (strcmp(g->modes[m].source, lang) == 0)
                        return true;
        return false;
}

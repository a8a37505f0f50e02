/* What can be translated into what with the installed Apertium modes:
 * directly, or through pivot languages when no mode joins two languages
 * (English → Spanish → French). Routes are found once, at start: the
 * fewest modes, then the preferred pivots, then mode names in order. */
#ifndef TRANSLATION_GRAPH_H
#define TRANSLATION_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "langs.h"
#include "modes.h"

/* Most modes one route may chain. */
#define TR_HOPS_MAX 4
/* Most languages the graph knows. */
#define TR_LANGS_MAX 64

struct tr_route {
        size_t nhops;             /* 0: no route */
        size_t mode[TR_HOPS_MAX]; /* indices into the graph's modes, in order */
};

struct tr_graph {
        const struct tr_mode *modes; /* borrowed, sorted by name */
        size_t nmodes;
        char langs[TR_LANGS_MAX][TR_LANG_MAX]; /* every language of a mode, sorted */
        size_t nlangs;
        struct tr_route *routes; /* nlangs × nlangs: routes[from * nlangs + to] */
};

/* Finds every route of at most @p max_hops modes (1 = direct pairs only)
 * through @p modes; @p pivots (comma-separated codes, may be empty) are
 * preferred in that order where several routes are as short. Returns 0, or
 * -1 out of memory or with more than TR_LANGS_MAX languages (@p errstr). */
int tr_graph_init(struct tr_graph *g, const struct tr_mode *modes, size_t nmodes, size_t max_hops,
                  const char *pivots, char *errstr, size_t errstr_size);

void tr_graph_cleanup(struct tr_graph *g);

/* The route from @p source to @p target, or NULL when there is none (or a
 * language is unknown). */
const struct tr_route *tr_graph_route(const struct tr_graph *g, const char *source,
                                      const char *target);

/* Whether @p lang is a language of some mode, as a source. */
bool tr_graph_is_source(const struct tr_graph *g, const char *lang);

#endif

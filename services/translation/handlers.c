/* The service's handler table, and its two small requests: Detect and
 * ListLanguages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/translation/v1/translation.pb-c.h"
#include "cairn/utf8.h"
#include "detect.h"
#include "remote.h"
#include "translation.h"

/* Candidates per text when the request names no number. */
#define DEFAULT_CANDIDATES 3
#define MAX_CANDIDATES     16

const struct cairn_handler translation_handlers[] = {
        { &cairn__translation__v1__translate_request__descriptor, translation_translate_handle },
        { &cairn__translation__v1__detect_request__descriptor, translation_detect_handle },
        { &cairn__translation__v1__list_languages_request__descriptor,
          translation_languages_handle },
        { NULL, NULL },
};

static Cairn__Translation__V1__DetectResult *detect_one(struct cairn_arena *arena,
                                                        const struct translation_service *svc,
                                                        const char *text, size_t i, size_t max)
{
        Cairn__Translation__V1__DetectResult *r = cairn_arena_alloc(arena, sizeof(*r));
        struct tr_detection found[MAX_CANDIDATES];
        struct cairn_status st = { 0 };
        size_t len = strlen(text), n;
        if (!r)
                return NULL;
        cairn__translation__v1__detect_result__init(r);
        r->index = (uint32_t)i;
        if (translation_check_text(svc, text, len, i, &st) != CAIRN_OK) {
                r->error = cairn_status_to_pb(arena, &st);
                return r->error ? r : NULL;
        }
        n = tr_detect(svc->detector, text, len, found, max);
        r->candidates = cairn_arena_calloc(arena, n ? n : 1, sizeof(*r->candidates));
        if (!r->candidates)
                return NULL;
        for (size_t k = 0; k < n; k++) {
                Cairn__Translation__V1__Detection *d = cairn_arena_alloc(arena, sizeof(*d));

                if (!d)
                        return NULL;
                cairn__translation__v1__detection__init(d);
                d->language = cairn_arena_strdup(arena, found[k].language);
                d->confidence = found[k].confidence;
                if (!d->language)
                        return NULL;
                r->candidates[k] = d;
        }
        r->n_candidates = n;
        return r;
}

cairn_err_t translation_detect_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                      ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Translation__V1__DetectRequest *in =
                (const Cairn__Translation__V1__DetectRequest *)msg;
        struct translation_service *svc = req->opaque;
        Cairn__Translation__V1__DetectReply *out;
        size_t max = in->max_candidates ? in->max_candidates : DEFAULT_CANDIDATES;

        if (translation_check_batch(svc, in->n_texts, st) != CAIRN_OK)
                return st->code;
        if (max > MAX_CANDIDATES)
                max = MAX_CANDIDATES;
        out = cairn_arena_alloc(req->arena, sizeof(*out));
        if (!out)
                goto full;
        cairn__translation__v1__detect_reply__init(out);
        out->results = cairn_arena_calloc(req->arena, in->n_texts, sizeof(*out->results));
        if (!out->results)
                goto full;
        out->n_results = in->n_texts;
        for (size_t i = 0; i < in->n_texts; i++) {
                out->results[i] = detect_one(req->arena, svc, in->texts[i] ? in->texts[i] : "", i,
                                             max);
                if (!out->results[i])
                        goto full;
        }
        *reply = &out->base;
        return CAIRN_OK;
full:
        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                "the reply does not fit in this request's memory "
                                "(bus.max_request_bytes)");
}

/* ListLanguages: every language Apertium's modes or the remote provider
 * translate from, with each language reachable from it and how. */

#define REMOTE_PAIRS_MAX 1024

/* What is known for the reply: the provider's pairs, copied once. */
struct catalogue {
        const struct translation_service *svc;
        struct tr_remote_pair *pairs;
        size_t npairs;
        bool prefer_remote;
};

static bool remote_pair(const struct catalogue *c, const char *source, const char *target)
{
        for (size_t i = 0; i < c->npairs; i++)
                if (strcmp(c->pairs[i].source, source) == 0 &&
                    strcmp(c->pairs[i].target, target) == 0)
                        return true;
        return false;
}

/* Adds @p code to the sorted set @p codes (of @p n, at most @p max). */
static void add_code(const char **codes, size_t *n, size_t max, const char *code)
{
        size_t i;

        for (i = 0; i < *n; i++) {
                int c = strcmp(codes[i], code);

                if (c == 0)
                        return;
                if (c > 0)
                        break;
        }
        if (*n == max)
                return;
        memmove(codes + i + 1, codes + i, (*n - i) * sizeof(*codes));
        codes[i] = code;
        (*n)++;
}

static Cairn__Translation__V1__Target *
target_of(struct cairn_arena *arena, const struct catalogue *c, const char *from, const char *to)
{
        const struct translation_service *svc = c->svc;
        const struct tr_route *r = tr_graph_route(&svc->graph, from, to);
        bool remote = remote_pair(c, from, to) && (!r || c->prefer_remote);
        Cairn__Translation__V1__Target *t;

        if (!r && !remote)
                return NULL;
        t = cairn_arena_alloc(arena, sizeof(*t));
        if (!t)
                return NULL;
        cairn__translation__v1__target__init(t);
        t->code = (char *)to;
        t->engine = remote ? "remote" : "apertium";
        t->n_route = remote ? 2 : r->nhops + 1;
        t->pivoted = t->n_route > 2;
        t->route = cairn_arena_calloc(arena, t->n_route, sizeof(*t->route));
        if (!t->route)
                return NULL;
        t->route[0] = (char *)from;
        t->route[t->n_route - 1] = (char *)to;
        for (size_t h = 0; !remote && h + 1 < r->nhops; h++)
                t->route[h + 1] = (char *)svc->modes[r->mode[h]].target;
        return t;
}

static Cairn__Translation__V1__Language *language_of(struct cairn_arena *arena,
                                                     const struct catalogue *c, const char *code,
                                                     const char **all, size_t nall)
{
        Cairn__Translation__V1__Language *l = cairn_arena_alloc(arena, sizeof(*l));

        if (!l)
                return NULL;
        cairn__translation__v1__language__init(l);
        l->code = (char *)code;
        l->name = (char *)tr_lang_name(code);
        l->targets = cairn_arena_calloc(arena, nall ? nall : 1, sizeof(*l->targets));
        if (!l->targets)
                return NULL;
        for (size_t b = 0; b < nall; b++) {
                if (strcmp(all[b], code) == 0)
                        continue;
                l->targets[l->n_targets] = target_of(arena, c, code, all[b]);
                if (l->targets[l->n_targets])
                        l->n_targets++;
        }
        return l;
}

cairn_err_t translation_languages_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                         ProtobufCMessage **reply, struct cairn_status *st)
{
        const struct translation_service *svc = req->opaque;
        const struct tr_graph *g = &svc->graph;
        Cairn__Translation__V1__ListLanguagesReply *out = cairn_arena_alloc(req->arena,
                                                                            sizeof(*out));
        struct catalogue c = { svc, NULL, 0, false };
        const char *sources[TR_LANGS_MAX + REMOTE_PAIRS_MAX], *all[TR_LANGS_MAX + REMOTE_PAIRS_MAX];
        size_t nsources = 0, nall = 0, max = TR_LANGS_MAX + REMOTE_PAIRS_MAX;
        cairn_err_t err = CAIRN_OK;

        (void)msg;
        if (svc->remote) {
                c.pairs = cairn_arena_calloc(req->arena, REMOTE_PAIRS_MAX, sizeof(*c.pairs));
                if (!c.pairs)
                        goto full;
                c.npairs = tr_remote_pairs(svc->remote, c.pairs, REMOTE_PAIRS_MAX);
                if (c.npairs > REMOTE_PAIRS_MAX)
                        c.npairs = REMOTE_PAIRS_MAX;
                c.prefer_remote = tr_remote_mode(svc->remote) == TR_REMOTE_PREFER;
        }
        for (size_t a = 0; a < g->nlangs; a++) {
                add_code(all, &nall, max, g->langs[a]);
                if (tr_graph_is_source(g, g->langs[a]))
                        add_code(sources, &nsources, max, g->langs[a]);
        }
        for (size_t i = 0; i < c.npairs; i++) {
                add_code(all, &nall, max, c.pairs[i].source);
                add_code(all, &nall, max, c.pairs[i].target);
                add_code(sources, &nsources, max, c.pairs[i].source);
        }
        if (!out)
                goto full;
        cairn__translation__v1__list_languages_reply__init(out);
        out->languages = cairn_arena_calloc(req->arena, nsources ? nsources : 1,
                                            sizeof(*out->languages));
        if (!out->languages)
                goto full;
        for (size_t a = 0; a < nsources; a++) {
                out->languages[a] = language_of(req->arena, &c, sources[a], all, nall);
                if (!out->languages[a])
                        goto full;
        }
        out->n_languages = nsources;
        *reply = &out->base;
        return err;
full:
        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                                "the reply does not fit in this request's memory "
                                "(bus.max_request_bytes)");
}

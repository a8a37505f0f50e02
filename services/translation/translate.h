/* What the Translate handler keeps per text, shared by its two halves:
 * translate.c (checks and the reply) and translate_run.c (the cache, the
 * choice of engine, the runs). */
#ifndef TRANSLATION_TRANSLATE_H
#define TRANSLATION_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/rcache.h"
#include "cairn/status.h"
#include "detect.h"
#include "engine.h"
#include "graph.h"

struct translation_service;

/* Longest route kept as text: "en,es,fr". */
#define TR_ROUTE_TEXT_MAX 64

struct text {
        struct tr_job job;
        char source[TR_LANG_MAX + 8];
        struct tr_detection detected; /* language[0] when detected */
        const struct tr_route *route; /* Apertium's, NULL when none */
        bool remote_ok;               /* the remote provider offers the pair */
        bool remote;                  /* the provider answers (or is to) */
        char key[CAIRN_RCACHE_KEY_MAX];
        bool cached, done, stored;
        char route_text[TR_ROUTE_TEXT_MAX]; /* once done: the languages it went through */
        struct cairn_status st;             /* code set: this text failed */
};

/* What the request asks of every text. */
struct tr_ask {
        const char *target;
        bool html, show_unknown;
        int64_t deadline_ms;
        const char *traceparent;
};

/* Whether the remote provider (if any) knows @p source (NULL: any) to
 * @p target (NULL: any). */
bool tr_remote_knows(const struct translation_service *svc, const char *source, const char *target);

/* Decides each checked text's engine, answers what the cache has,
 * translates the rest (with the configured fallback between engines) and
 * caches what was translated. */
void tr_translate_texts(struct translation_service *svc, struct text **ts, size_t n,
                        const struct tr_ask *ask);

#endif

/* Texts through Apertium: the deformatter for HTML, each mode of a route
 * in turn over the pools' pipelines, and back to text or HTML. */
#ifndef TRANSLATION_ENGINE_H
#define TRANSLATION_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/err.h"
#include "graph.h"

struct translation_service;

/* One text on its way: what was asked, its stream form between modes, and
 * its translation or why it has none. */
struct tr_job {
        const char *text;
        size_t len;
        struct cairn_buf stream;
        struct cairn_buf result;
        cairn_err_t err;
        char why[200];
};

/* Translates @p jobs (those with err CAIRN_OK) along @p route: each gets
 * its result or its err and why. @p deadline_ms: realtime. */
void tr_engine_run(struct translation_service *svc, const struct tr_route *route, bool html,
                   bool show_unknown, struct tr_job *const *jobs, size_t n, int64_t deadline_ms);

void tr_job_cleanup(struct tr_job *job);

#endif

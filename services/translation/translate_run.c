/* The texts of a TranslateRequest, once checked: which engine answers each
 * (Apertium along its route, or the remote provider, as
 * translation.remote.mode says), the cache, and the fallback from one
 * engine to the other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/utf8.h"
#include "remote.h"
#include "translate.h"
#include "translation.h"

#define CACHE_PREFIX   "cairn:tr:v1:"
#define TEXT_GROUP_MAX 4096

bool tr_remote_knows(const struct translation_service *svc, const char *source, const char *target)
{
        struct tr_remote_pair pairs[512];
        size_t n;

        if (!svc->remote)
                return false;
        if (source && target)
                return tr_remote_has_pair(svc->remote, source, target);
        n = tr_remote_pairs(svc->remote, pairs, sizeof(pairs) / sizeof(pairs[0]));
        if (n > sizeof(pairs) / sizeof(pairs[0]))
                n = sizeof(pairs) / sizeof(pairs[0]);
        for (size_t i = 0; i < n; i++)
                if ((!source || strcmp(pairs[i].source, source) == 0) &&
                    (!target || strcmp(pairs[i].target, target) == 0))
                        return true;
        return false;
}

/* Which engine answers @p t first. */
static void choose(const struct translation_service *svc, struct text *t, const char *target)
{
        t->remote_ok = tr_remote_knows(svc, t->source, target);
        t->remote = t->remote_ok && (!t->route || tr_remote_mode(svc->remote) == TR_REMOTE_PREFER);
}

static bool pending(const struct text *t)
{
        return !t->st.code && !t->done;
}

/* ---- the cache: "<route>\n<translation>" under a key of engine, pair,
 * format, marks and text ---- */

static void cache_key(const struct translation_service *svc, struct text *t,
                      const struct tr_ask *ask)
{
        const char *engine = t->remote ? tr_remote_name(svc->remote) : "apertium";
        const char *fields[6] = { engine,
                                  t->source,
                                  ask->target,
                                  ask->html ? "html" : "text",
                                  ask->show_unknown ? "1" : "0",
                                  t->job.text };
        size_t lens[6];

        for (int i = 0; i < 5; i++)
                lens[i] = strlen(fields[i]);
        lens[5] = t->job.len;
        cairn_rcache_key(CACHE_PREFIX, fields, lens, 6, t->key);
}

static bool cache_take(void *opaque, size_t i, const char *value, size_t len)
{
        struct text *t = ((struct text **)opaque)[i];
        const char *nl = memchr(value, '\n', len);
        size_t rl = nl ? (size_t)(nl - value) : 0;

        if (!nl || rl == 0 || rl >= sizeof(t->route_text))
                return false;
        cairn_buf_add(&t->job.result, nl + 1, len - rl - 1);
        if (t->job.result.oom || !cairn_utf8_valid(t->job.result.p, t->job.result.len)) {
                cairn_buf_cleanup(&t->job.result);
                return false;
        }
        memcpy(t->route_text, value, rl);
        t->route_text[rl] = '\0';
        t->cached = t->done = true;
        return true;
}

/* Looks up the pending texts answered by @p remote engines or not. */
static void cache_lookup(struct translation_service *svc, struct text **ts, size_t n,
                         const struct tr_ask *ask, bool remote)
{
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        struct text **want = calloc(n ? n : 1, sizeof(*want));
        size_t m = 0;

        if (keys && want) {
                for (size_t i = 0; i < n; i++) {
                        if (!pending(ts[i]) || ts[i]->remote != remote)
                                continue;
                        cache_key(svc, ts[i], ask);
                        keys[m] = ts[i]->key;
                        want[m++] = ts[i];
                }
                cairn_rcache_get(&svc->cache, remote ? "remote" : "apertium", keys, m, cache_take,
                                 want);
        }
        free(keys);
        free(want);
}

static void cache_store(struct translation_service *svc, struct text **ts, size_t n,
                        const struct tr_ask *ask, bool remote)
{
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        const char **vals = calloc(n ? n : 1, sizeof(*vals));
        size_t *lens = calloc(n ? n : 1, sizeof(*lens));
        struct cairn_buf *bufs = calloc(n ? n : 1, sizeof(*bufs));
        size_t m = 0;

        if (keys && vals && lens && bufs) {
                for (size_t i = 0; i < n; i++) {
                        struct text *t = ts[i];

                        if (t->st.code || t->cached || t->stored || !t->done ||
                            t->remote != remote || !strchr(t->route_text, ','))
                                continue;
                        t->stored = true;
                        /* the key of the engine that answered */
                        cache_key(svc, t, ask);
                        cairn_buf_printf(&bufs[m], "%s\n", t->route_text);
                        cairn_buf_add(&bufs[m], t->job.result.p, t->job.result.len);
                        if (bufs[m].oom) {
                                cairn_buf_cleanup(&bufs[m]);
                                continue;
                        }
                        keys[m] = t->key;
                        vals[m] = bufs[m].p;
                        lens[m] = bufs[m].len;
                        m++;
                }
                cairn_rcache_put(&svc->cache, remote ? "remote" : "apertium", keys, vals, lens, m);
        }
        for (size_t i = 0; bufs && i < m; i++)
                cairn_buf_cleanup(&bufs[i]);
        free(keys);
        free(vals);
        free(lens);
        free(bufs);
}

/* ---- the engines ---- */

static void route_text(const struct translation_service *svc, struct text *t, const char *target)
{
        size_t off = (size_t)snprintf(t->route_text, sizeof(t->route_text), "%s", t->source);

        if (t->remote) {
                snprintf(t->route_text + off, sizeof(t->route_text) - off, ",%s", target);
                return;
        }
        for (size_t h = 0; t->route && h < t->route->nhops && off < sizeof(t->route_text); h++)
                off += (size_t)snprintf(t->route_text + off, sizeof(t->route_text) - off, ",%s",
                                        svc->modes[t->route->mode[h]].target);
}

/* Pending texts for Apertium, grouped by route. */
static void run_apertium(struct translation_service *svc, struct text **ts, size_t n,
                         const struct tr_ask *ask)
{
        struct tr_job **jobs = calloc(n ? n : 1, sizeof(*jobs));
        struct text **group = calloc(n ? n : 1, sizeof(*group));
        bool *taken = calloc(n ? n : 1, sizeof(*taken));

        for (size_t i = 0; jobs && group && taken && i < n; i++) {
                size_t m = 0;

                if (taken[i] || !pending(ts[i]) || ts[i]->remote || !ts[i]->route)
                        continue;
                for (size_t j = i; j < n; j++) {
                        if (taken[j] || !pending(ts[j]) || ts[j]->remote ||
                            ts[j]->route != ts[i]->route)
                                continue;
                        taken[j] = true;
                        /* a second pass starts afresh */
                        ts[j]->job.err = CAIRN_OK;
                        cairn_buf_cleanup(&ts[j]->job.stream);
                        cairn_buf_cleanup(&ts[j]->job.result);
                        group[m] = ts[j];
                        jobs[m++] = &ts[j]->job;
                }
                tr_engine_run(svc, ts[i]->route, ask->html, ask->show_unknown, jobs, m,
                              ask->deadline_ms);
                for (size_t k = 0; k < m; k++) {
                        if (group[k]->job.err) {
                                cairn_status_set(&group[k]->st, group[k]->job.err, NULL,
                                                 "TRANSLATION_FAILED", "%s", group[k]->job.why);
                                continue;
                        }
                        route_text(svc, group[k], ask->target);
                        group[k]->done = true;
                }
        }
        free(jobs);
        free(group);
        free(taken);
}

/* Pending texts for the provider, one call per source language. */
static void run_remote(struct translation_service *svc, struct text **ts, size_t n,
                       const struct tr_ask *ask)
{
        const char **texts = calloc(n ? n : 1, sizeof(*texts));
        struct text **group = calloc(n ? n : 1, sizeof(*group));
        char **out = calloc(n ? n : 1, sizeof(*out));
        bool *taken = calloc(n ? n : 1, sizeof(*taken));

        for (size_t i = 0; texts && group && out && taken && i < n; i++) {
                struct cairn_status st = { 0 };
                size_t m = 0;

                if (taken[i] || !pending(ts[i]) || !ts[i]->remote)
                        continue;
                for (size_t j = i; j < n; j++) {
                        if (taken[j] || !pending(ts[j]) || !ts[j]->remote ||
                            strcmp(ts[j]->source, ts[i]->source) != 0)
                                continue;
                        taken[j] = true;
                        group[m] = ts[j];
                        texts[m++] = ts[j]->job.text;
                }
                if (tr_remote_translate(svc->remote, ts[i]->source, ask->target, ask->html, texts,
                                        m, ask->deadline_ms, ask->traceparent, out,
                                        &st) != CAIRN_OK) {
                        for (size_t k = 0; k < m; k++)
                                group[k]->st = st;
                        continue;
                }
                for (size_t k = 0; k < m; k++) {
                        cairn_buf_cleanup(&group[k]->job.result);
                        cairn_buf_adds(&group[k]->job.result, out[k]);
                        free(out[k]);
                        route_text(svc, group[k], ask->target);
                        group[k]->done = true;
                }
        }
        free(texts);
        free(group);
        free(out);
        free(taken);
}

/* Texts the first engine failed for its own reasons go to the other one
 * when the mode allows: returns how many. */
static size_t switch_engine(struct translation_service *svc, struct text **ts, size_t n)
{
        enum tr_remote_mode mode;
        size_t moved = 0;

        if (!svc->remote)
                return 0;
        mode = tr_remote_mode(svc->remote);
        for (size_t i = 0; i < n; i++) {
                struct text *t = ts[i];
                bool to_remote;

                if (!t->st.code || t->st.code == CAIRN_ERR_INVALID || t->done)
                        continue;
                to_remote = !t->remote && t->remote_ok && mode != TR_REMOTE_MISSING;
                if (!to_remote && !(t->remote && t->route && mode == TR_REMOTE_PREFER))
                        continue;
                t->remote = to_remote;
                cairn_status_clear(&t->st);
                moved++;
        }
        return moved;
}

void tr_translate_texts(struct translation_service *svc, struct text **ts, size_t n,
                        const struct tr_ask *ask)
{
        for (size_t i = 0; i < n; i++) {
                if (!pending(ts[i]))
                        continue;
                if (!ts[i]->route && strcmp(ts[i]->source, ask->target) == 0) {
                        /* already in the target language: its own translation */
                        snprintf(ts[i]->route_text, sizeof(ts[i]->route_text), "%s", ts[i]->source);
                        ts[i]->done = true;
                        continue;
                }
                choose(svc, ts[i], ask->target);
        }
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1 && switch_engine(svc, ts, n) == 0)
                        break;
                cache_lookup(svc, ts, n, ask, false);
                cache_lookup(svc, ts, n, ask, true);
                run_apertium(svc, ts, n, ask);
                run_remote(svc, ts, n, ask);
                cache_store(svc, ts, n, ask, false);
                cache_store(svc, ts, n, ask, true);
        }
}

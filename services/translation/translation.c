/* The translation service's state: modes, routes, pools, detector, cache
 * and the health check of idle pipelines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/periodic.h"
#include "cairn/strlist.h"
#include "cairn/utf8.h"
#include "detect.h"
#include "translation.h"

cairn_err_t translation_check_batch(const struct translation_service *svc, size_t n,
                                    struct cairn_status *st)
{
        if (n == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "texts", "REQUIRED",
                                        "texts: at least one text is needed");
        if (n > (size_t)svc->conf.max_batch)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "texts", "TOO_MANY",
                                        "texts: %zu texts, more than the %lld one request may "
                                        "carry (translation.max_batch)",
                                        n, svc->conf.max_batch);
        return CAIRN_OK;
}

cairn_err_t translation_check_text(const struct translation_service *svc, const char *text,
                                   size_t len, size_t i, struct cairn_status *st)
{
        char field[32];

        snprintf(field, sizeof(field), "texts[%zu]", i);
        if (len == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "EMPTY", "%s is empty",
                                        field);
        if (len > (size_t)svc->conf.max_text_bytes)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "TOO_LONG",
                                        "%s is %zu bytes, more than %lld "
                                        "(translation.max_text_bytes)",
                                        field, len, svc->conf.max_text_bytes);
        if (!cairn_utf8_valid(text, len))
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "INVALID_UTF8",
                                        "%s is not valid UTF-8", field);
        return CAIRN_OK;
}

static const double seconds_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,   0.25,   0.5,   1,    2.5,   10 };

/* Whether @p list (comma-separated; "all" for everything) names mode @p m,
 * by its file name ("eng-spa") or its pair ("en-es"). */
static bool names_mode(const char *list, const struct tr_mode *m)
{
        struct cairn_strlist it;
        const char *item;
        size_t len;
        char pair[2 * TR_LANG_MAX + 2];

        snprintf(pair, sizeof(pair), "%s-%s", m->source, m->target);
        list = list ? list : "";
        cairn_strlist_init(&it, list, strlen(list));
        while (cairn_strlist_next(&it, &item, &len)) {
                if ((len == 3 && memcmp(item, "all", 3) == 0) ||
                    (len == strlen(m->name) && memcmp(item, m->name, len) == 0) ||
                    (len == strlen(pair) && memcmp(item, pair, len) == 0))
                        return true;
        }
        return false;
}

/* Keeps the modes translation.pairs names (every one when empty); says
 * which of its names matched nothing. */
static int select_modes(struct translation_service *svc, char *errstr, size_t errstr_size)
{
        const char *list = svc->conf.pairs ? svc->conf.pairs : "";
        struct cairn_strlist it;
        const char *item;
        size_t len, kept = 0;

        if (!list[0])
                return 0;
        cairn_strlist_init(&it, list, strlen(list));
        while (cairn_strlist_next(&it, &item, &len)) {
                bool found = false;
                char one[64];

                if (len == 0)
                        continue;
                snprintf(one, sizeof(one), "%.*s", (int)len, item);
                for (size_t m = 0; m < svc->nmodes && !found; m++)
                        found = names_mode(one, &svc->modes[m]);
                if (!found) {
                        snprintf(errstr, errstr_size,
                                 "translation.pairs: no mode in %s translates %s (apertium -l "
                                 "lists the installed ones)",
                                 svc->conf.modes_dir, one);
                        return -1;
                }
        }
        for (size_t m = 0; m < svc->nmodes; m++) {
                if (!names_mode(list, &svc->modes[m])) {
                        tr_mode_cleanup(&svc->modes[m]);
                        continue;
                }
                if (kept != m)
                        svc->modes[kept] = svc->modes[m];
                kept++;
        }
        svc->nmodes = kept;
        return 0;
}

/* The detector over every source language it knows; the others need an
 * explicit source. */
static int detector_init(struct translation_service *svc, char *errstr, size_t errstr_size)
{
        enum tr_detect_method method;
        const char *langs[TR_LANGS_MAX];
        size_t n = 0;

        if (tr_detect_method_parse(svc->conf.detect_method, &method) < 0) {
                snprintf(errstr, errstr_size, "translation.detect_method: unknown method");
                return -1;
        }
        for (size_t a = 0; a < svc->graph.nlangs; a++) {
                const char *code = svc->graph.langs[a];
                struct tr_detector *probe;
                char why[256];

                if (!tr_graph_is_source(&svc->graph, code))
                        continue;
                probe = tr_detector_new(method, &code, 1, why, sizeof(why));
                if (!probe) {
                        cairn_log(WARN, "DETECT",
                                  "%s is not detected (%s): its texts need an explicit source",
                                  code, why);
                        continue;
                }
                tr_detector_free(probe);
                langs[n++] = code;
        }
        if (n == 0) {
                snprintf(errstr, errstr_size, "no source language can be detected");
                return -1;
        }
        svc->detector = tr_detector_new(method, langs, n, errstr, errstr_size);
        return svc->detector ? 0 : -1;
}

static void health_check(void *arg)
{
        struct translation_service *svc = arg;
        struct tr_run_limits lim = { .stall_ms = svc->conf.stall_ms,
                                     .start_grace_ms = TR_START_GRACE_MS,
                                     .max_out = 4096,
                                     .depth = 1 };

        for (size_t m = 0; m < svc->nmodes; m++) {
                lim.deadline_ms = cairn_now_ms() + svc->conf.stall_ms + TR_START_GRACE_MS;
                tr_pool_check(&svc->pools[m], &lim);
        }
}

static void metrics_init(struct translation_service *svc, struct cairn_metrics *metrics)
{
        if (!metrics)
                return;
        svc->m_texts = cairn_metrics_counter(metrics, "cairn_translation_texts_total",
                                             "Texts asked to be translated, by outcome "
                                             "(translated, cached, invalid: refused as the "
                                             "caller sent it, failed: the service's fault)",
                                             (const char *const[]){ "outcome", NULL });
        svc->m_seconds =
                cairn_metrics_histogram(metrics, "cairn_translation_request_seconds",
                                        "Time to answer a request in the service, by operation",
                                        (const char *const[]){ "operation", NULL }, seconds_buckets,
                                        sizeof(seconds_buckets) / sizeof(seconds_buckets[0]));
}

int translation_service_init(struct translation_service *svc, const struct translation_conf *conf,
                             const struct translation_deps *deps, char *errstr, size_t errstr_size)
{
        static const struct cairn_rcache_names names = { "cairn_translation_cache", "engine",
                                                         "Texts", "translation" };
        long n;

        memset(svc, 0, sizeof(*svc));
        svc->conf = *conf;
        svc->remote = deps->remote;
        metrics_init(svc, deps->metrics);
        n = tr_modes_load(conf->modes_dir, &svc->modes, errstr, errstr_size);
        if (n < 0)
                return -1;
        svc->nmodes = (size_t)n;
        if (select_modes(svc, errstr, errstr_size) < 0)
                goto fail;
        if (svc->nmodes == 0) {
                snprintf(errstr, errstr_size,
                         "translation.modes_dir: %s holds no language pair (install apertium-* "
                         "packages; apertium -l lists them)",
                         conf->modes_dir);
                goto fail;
        }
        if (tr_graph_init(&svc->graph, svc->modes, svc->nmodes, (size_t)conf->max_hops,
                          conf->pivots, errstr, errstr_size) < 0)
                goto fail;
        svc->pools = calloc(svc->nmodes, sizeof(*svc->pools));
        if (!svc->pools) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        for (size_t m = 0; m < svc->nmodes; m++) {
                if (tr_pool_init(&svc->pools[m], &svc->modes[m], (size_t)conf->pipelines,
                                 deps->metrics) < 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto fail;
                }
        }
        for (size_t m = 0; m < svc->nmodes; m++)
                if (names_mode(conf->preload, &svc->modes[m]) &&
                    tr_pool_warm(&svc->pools[m], errstr, errstr_size) < 0)
                        goto fail;
        if (detector_init(svc, errstr, errstr_size) < 0)
                goto fail;
        cairn_rcache_init(&svc->cache, conf->cache_enabled ? deps->redis : NULL, conf->cache_ttl_s,
                          (size_t)conf->cache_max_bytes, deps->metrics, &names);
        svc->health = cairn_periodic_start(conf->health_ms, health_check, svc, false);
        cairn_log(INFO, "TRANSLATION", "%zu language pairs, %zu languages", svc->nmodes,
                  svc->graph.nlangs);
        return 0;
fail:
        translation_service_cleanup(svc);
        return -1;
}

void translation_service_cleanup(struct translation_service *svc)
{
        cairn_periodic_stop(svc->health);
        svc->health = NULL;
        for (size_t m = 0; svc->pools && m < svc->nmodes; m++)
                tr_pool_cleanup(&svc->pools[m]);
        free(svc->pools);
        svc->pools = NULL;
        if (svc->detector)
                tr_detector_free(svc->detector);
        svc->detector = NULL;
        tr_graph_cleanup(&svc->graph);
        tr_modes_free(svc->modes, svc->nmodes);
        svc->modes = NULL;
        svc->nmodes = 0;
}

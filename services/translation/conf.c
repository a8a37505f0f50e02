/* The translation service's configuration: its one table of
 * "translation." keys. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "translation.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct translation_conf

const struct cairn_conf_item translation_conf_items[] = {
        CAIRN_CONF_ROW("translation.modes_dir", CAIRN_CONF_STRING, "/usr/share/apertium/modes", 0,
                       -1, 0, modes_dir,
                       "Apertium's modes: every <source>-<target>.mode file there is a language "
                       "pair the service can run"),
        CAIRN_CONF_ROW("translation.pairs", CAIRN_CONF_STRING, "", 0, -1, 0, pairs,
                       "comma-separated pairs to serve (\"en-es,es-en\"); empty: every mode of "
                       "modes_dir"),
        CAIRN_CONF_ROW("translation.pipelines", CAIRN_CONF_INT, "2", 1, 64, 0, pipelines,
                       "pipelines per pair: texts of one pair translated at once by separate "
                       "processes"),
        CAIRN_CONF_ROW("translation.preload", CAIRN_CONF_STRING, "", 0, -1, 0, preload,
                       "pairs whose pipelines start with the service (\"all\", or a comma-"
                       "separated list); the others start on first use"),
        CAIRN_CONF_ROW("translation.depth", CAIRN_CONF_INT, "8", 1, 1024, 0, depth,
                       "texts in flight in one pipeline at once (its stages work on different "
                       "texts)"),
        CAIRN_CONF_ROW("translation.stall_timeout_ms", CAIRN_CONF_INT, "10000", 100, 600000, 0,
                       stall_ms,
                       "a pipeline with texts in flight and no output for this long is hung: "
                       "killed and replaced, its texts fail"),
        CAIRN_CONF_ROW("translation.timeout_ms", CAIRN_CONF_INT, "30000", 100, 3600000, 0,
                       timeout_ms, "time budget of a request whose deadline header names none"),
        CAIRN_CONF_ROW("translation.max_text_bytes", CAIRN_CONF_INT, "32768", 1, 1048576, 0,
                       max_text_bytes, "longest text, in bytes of UTF-8"),
        CAIRN_CONF_ROW("translation.max_batch", CAIRN_CONF_INT, "1024", 1, 10000, 0, max_batch,
                       "most texts in one request"),
        CAIRN_CONF_ROW("translation.max_hops", CAIRN_CONF_INT, "2", 1, 4, 0, max_hops,
                       "most Apertium pairs chained to join two languages (1: direct pairs "
                       "only; 2: through one pivot language)"),
        CAIRN_CONF_ROW("translation.pivots", CAIRN_CONF_STRING, "es,en,ca", 0, -1, 0, pivots,
                       "pivot languages preferred, in order, where several routes are as short"),
        CAIRN_CONF_ROW("translation.detect_method", CAIRN_CONF_STRING, "combined", 0, -1, 0,
                       detect_method,
                       "language detection: cld2, textcat or combined (docs/translation.md "
                       "compares them)"),
        CAIRN_CONF_ROW("translation.detect_min_confidence", CAIRN_CONF_DOUBLE, "0.1", 0, 1, 0,
                       detect_min_confidence,
                       "source auto: a text whose most likely language is less likely than "
                       "this is not translated (UNDETECTED) rather than translated from a "
                       "guess"),
        CAIRN_CONF_ROW("translation.health_interval_ms", CAIRN_CONF_INT, "5000", 100, 3600000, 0,
                       health_ms,
                       "how often each idle pipeline translates a probe: one that ended or does "
                       "not answer in stall_timeout_ms is stopped (and restarted when its pair "
                       "is preloaded)"),
        CAIRN_CONF_ROW("translation.cache.enabled", CAIRN_CONF_BOOL, "true", 0, -1, 0,
                       cache_enabled, "keep translations in the Redis cache (redis.*)"),
        CAIRN_CONF_ROW("translation.cache.ttl_s", CAIRN_CONF_INT, "86400", 1, 31536000, 0,
                       cache_ttl_s, "how long a cached translation lives in Redis, in seconds"),
        CAIRN_CONF_ROW("translation.cache.max_entry_bytes", CAIRN_CONF_INT, "65536", 64,
                       16777216, 0, cache_max_bytes, "longer translations are not cached"),
        CAIRN_CONF_END,
};
/* clang-format on */

static int check(const void *target, char *errstr, size_t errstr_size)
{
        const struct translation_conf *c = target;
        const char *m = c->detect_method ? c->detect_method : "";

        if (strcmp(m, "cld2") != 0 && strcmp(m, "textcat") != 0 && strcmp(m, "combined") != 0) {
                snprintf(errstr, errstr_size,
                         "translation.detect_method: \"%.32s\" is none of cld2, textcat, "
                         "combined",
                         m);
                return -1;
        }
        return 0;
}

struct cairn_conf_section translation_conf_section(struct translation_conf *conf)
{
        return (struct cairn_conf_section){ "Translation", translation_conf_items, conf, check };
}

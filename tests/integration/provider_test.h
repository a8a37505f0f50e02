/* What the tests of a remote provider (the speech service's, the
 * translation service's) share around their fake server: a directory of
 * their own, a resilience that retries at once and never opens the breaker
 * by itself, an API key file, and a secrets service as a fetch function
 * holding one secret. Header-only: the tests link no object for it. */
#ifndef CAIRN_TEST_PROVIDER_TEST_H
#define CAIRN_TEST_PROVIDER_TEST_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cairn/resilience.h"
#include "cairn/status.h"

static inline void provider_test_msleep(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

/* Makes a fresh directory $TMPDIR/<prefix>-XXXXXX into @p dir. */
static inline void provider_test_dir(char *dir, size_t size, const char *prefix)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, size, "%s/%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", prefix);
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static inline void provider_test_dir_remove(const char *dir)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

/* Dependency @p dep's defaults with backoffs of milliseconds and no
 * breaker thresholds (the breaker tests set their own). */
static inline void provider_test_resilience(struct cairn_resilience_conf *res, const char *dep)
{
        cairn_resilience_conf_init(res, dep);
        res->base_ms = 5;
        res->cap_ms = 20;
        res->breaker_failures = 0;
        res->breaker_failure_rate = 0;
}

/* Writes @p key to @p dir/@p name, readable by its owner alone; the path
 * lives until the next call. */
static inline const char *provider_test_key_file(const char *dir, const char *name, const char *key)
{
        static char path[400];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        fprintf(fp, "%s\n", key);
        fclose(fp);
        chmod(path, 0600);
        return path;
}

/* The secret a provider_test_fetch_secret() serves: @p json at @p path
 * ("" in json: none there yet). */
struct provider_test_secret {
        const char *path;
        char json[128];
};

/* A cairn_secret_fetch_fn over the struct provider_test_secret @p opaque. */
static inline cairn_err_t provider_test_fetch_secret(void *opaque, const char *path, char **json,
                                                     size_t *len, uint64_t *version,
                                                     struct cairn_status *st)
{
        const struct provider_test_secret *s = opaque;

        if (strcmp(path, s->path) != 0 || !s->json[0])
                return cairn_status_set(st, CAIRN_ERR_NOT_FOUND, NULL, NULL, "no secret at %s",
                                        path);
        *json = strdup(s->json);
        *len = strlen(s->json);
        *version = 1;
        return CAIRN_OK;
}

#endif

/* Reading Apertium's mode files into argument vectors. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/file.h"
#include "cairn/log.h"
#include "modes.h"

/* Longest mode file read (Debian's are under 2 KiB). */
#define MODE_FILE_MAX 65536

/* "eng-spa" → eng, spa; false for variants ("spa-cat_valencia") and other
 * shapes ("eco-es-fr"). */
static bool pair_of(const char *name, struct tr_mode *m)
{
        const char *dash = strchr(name, '-');

        if (!dash || strchr(dash + 1, '-') || strchr(name, '_'))
                return false;
        return tr_lang_normalise(name, (size_t)(dash - name), m->source) &&
               tr_lang_normalise(dash + 1, strlen(dash + 1), m->target);
}

static int add_word(struct tr_mode *m, size_t *nargs, const char *w, size_t len, char *errstr,
                    size_t errstr_size)
{
        char **argv = m->stages[m->nstages];

        if (*nargs >= TR_ARGS_MAX) {
                snprintf(errstr, errstr_size, "stage %zu has more than %d words", m->nstages + 1,
                         TR_ARGS_MAX);
                return -1;
        }
        if (*nargs == 0 && len == 2 && (memcmp(w, "$1", 2) == 0 || memcmp(w, "$2", 2) == 0)) {
                snprintf(errstr, errstr_size, "stage %zu starts with %.2s", m->nstages + 1, w);
                return -1;
        }
        if (len == 2 && memcmp(w, "$2", 2) == 0)
                return 0; /* the tagger's optional switch: none */
        if (len == 2 && memcmp(w, "$1", 2) == 0) {
                w = "-g";
                len = 2;
        }
        argv[*nargs] = strndup(w, len);
        if (!argv[*nargs]) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        (*nargs)++;
        /* every stage flushes on NUL: the program's first switch */
        if (*nargs == 1)
                return add_word(m, nargs, "-z", 2, errstr, errstr_size);
        return 0;
}

static int end_stage(struct tr_mode *m, size_t *nargs, char *errstr, size_t errstr_size)
{
        if (*nargs == 0) {
                snprintf(errstr, errstr_size, "stage %zu is empty", m->nstages + 1);
                return -1;
        }
        m->stages[m->nstages][*nargs] = NULL;
        m->nstages++;
        *nargs = 0;
        return 0;
}

int tr_mode_parse(const char *name, const char *text, struct tr_mode *m, char *errstr,
                  size_t errstr_size)
{
        size_t nargs = 0;
        const char *p = text;

        memset(m, 0, sizeof(*m));
        if (strlen(name) >= sizeof(m->name) || !pair_of(name, m)) {
                snprintf(errstr, errstr_size, "%.64s is not a plain language pair", name);
                return -1;
        }
        strcpy(m->name, name);
        for (;;) {
                char word[4096];
                size_t wl = 0;
                bool quoted = false;

                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                if (*p == '\0' || *p == '|') {
                        if (end_stage(m, &nargs, errstr, errstr_size) < 0)
                                goto fail;
                        if (*p == '\0')
                                break;
                        if (m->nstages >= TR_STAGES_MAX) {
                                snprintf(errstr, errstr_size, "more than %d stages", TR_STAGES_MAX);
                                goto fail;
                        }
                        p++;
                        continue;
                }
                /* one word: plain characters and single-quoted runs */
                while (*p && (quoted || !strchr(" \t\r\n|", *p))) {
                        if (*p == '\'') {
                                quoted = !quoted;
                                p++;
                                continue;
                        }
                        if (!quoted && strchr("\"`\\<>;&()*?[]{}~", *p)) {
                                snprintf(errstr, errstr_size,
                                         "stage %zu uses '%c', which the service does not run",
                                         m->nstages + 1, *p);
                                goto fail;
                        }
                        if (!quoted && *p == '$' && !(p[1] == '1' || p[1] == '2')) {
                                snprintf(errstr, errstr_size,
                                         "stage %zu uses a shell variable, which the service "
                                         "does not run",
                                         m->nstages + 1);
                                goto fail;
                        }
                        if (wl + 1 >= sizeof(word)) {
                                snprintf(errstr, errstr_size, "stage %zu has a word over %zu bytes",
                                         m->nstages + 1, sizeof(word) - 1);
                                goto fail;
                        }
                        word[wl++] = *p++;
                }
                if (quoted) {
                        snprintf(errstr, errstr_size, "stage %zu has an unmatched quote",
                                 m->nstages + 1);
                        goto fail;
                }
                if (add_word(m, &nargs, word, wl, errstr, errstr_size) < 0)
                        goto fail;
        }
        return 0;
fail:
        /* the stage being built is not counted yet: count it to free it */
        if (nargs > 0) {
                m->stages[m->nstages][nargs] = NULL;
                m->nstages++;
        }
        tr_mode_cleanup(m);
        return -1;
}

void tr_mode_cleanup(struct tr_mode *m)
{
        for (size_t i = 0; i < m->nstages; i++)
                for (size_t j = 0; m->stages[i][j]; j++)
                        free(m->stages[i][j]);
        m->nstages = 0;
}

static int by_name(const void *a, const void *b)
{
        return strcmp(((const struct tr_mode *)a)->name, ((const struct tr_mode *)b)->name);
}

static bool same_pair(const struct tr_mode *a, const struct tr_mode *b)
{
        return strcmp(a->source, b->source) == 0 && strcmp(a->target, b->target) == 0;
}

long tr_modes_load(const char *dir, struct tr_mode **out, char *errstr, size_t errstr_size)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        struct tr_mode *modes = NULL;
        size_t n = 0, cap = 0, kept = 0;

        *out = NULL;
        if (!d) {
                snprintf(errstr, errstr_size, "cannot read the Apertium modes directory %s: %m",
                         dir);
                return -1;
        }
        while ((e = readdir(d))) {
                size_t len = strlen(e->d_name);
                char path[4096], name[64], why[256], *text;
                size_t got;

                if (len <= 5 || strcmp(e->d_name + len - 5, ".mode") != 0 ||
                    len - 5 >= sizeof(name))
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(len - 5), e->d_name);
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                text = cairn_file_read(path, MODE_FILE_MAX, &got, why, sizeof(why));
                if (!text) {
                        cairn_log(WARN, "MODES", "skipping %s: %s", path, why);
                        continue;
                }
                if (n == cap) {
                        struct tr_mode *grown = realloc(modes,
                                                        (cap ? cap * 2 : 16) * sizeof(*modes));

                        if (!grown) {
                                free(text);
                                break;
                        }
                        modes = grown;
                        cap = cap ? cap * 2 : 16;
                }
                if (tr_mode_parse(name, text, &modes[n], why, sizeof(why)) < 0)
                        cairn_log(DEBUG, "MODES", "skipping mode %s: %s", name, why);
                else
                        n++;
                free(text);
        }
        closedir(d);
        qsort(modes, n, sizeof(*modes), by_name);
        for (size_t i = 0; i < n; i++) {
                bool dup = false;

                for (size_t j = 0; j < kept && !dup; j++)
                        dup = same_pair(&modes[j], &modes[i]);
                if (dup) {
                        cairn_log(INFO, "MODES", "mode %s: its pair %s-%s has a mode already",
                                  modes[i].name, modes[i].source, modes[i].target);
                        tr_mode_cleanup(&modes[i]);
                        continue;
                }
                if (kept != i)
                        modes[kept] = modes[i];
                kept++;
        }
        *out = modes;
        return (long)kept;
}

void tr_modes_free(struct tr_mode *modes, size_t n)
{
        for (size_t i = 0; i < n; i++)
                tr_mode_cleanup(&modes[i]);
        free(modes);
}

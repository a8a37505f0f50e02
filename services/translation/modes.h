/* Apertium's modes: a mode file (/usr/share/apertium/modes/eng-spa.mode)
 * is one shell pipeline of the stages that translate one language pair. The
 * service runs the stages itself, each told to flush on a NUL byte (-z), so
 * one set of processes translates request after request (`apertium -z`
 * itself hangs). */
#ifndef TRANSLATION_MODES_H
#define TRANSLATION_MODES_H

#include <stddef.h>

#include "langs.h"

/* Most stages in one mode, most arguments in one stage (Debian's have at
 * most 13 stages of at most 5 words). */
#define TR_STAGES_MAX 24
#define TR_ARGS_MAX   16

struct tr_mode {
        char name[64]; /* "eng-spa": the mode file's name */
        char source[TR_LANG_MAX], target[TR_LANG_MAX];
        size_t nstages;
        /* stages[i]: NULL-terminated argument vector of stage i, its
         * program first; every string owned by the mode */
        char *stages[TR_STAGES_MAX][TR_ARGS_MAX + 1];
};

/* Parses the mode @p name (a file name without ".mode": "<src>-<tgt>")
 * from @p text: stages separated by '|', words by blanks, single quotes
 * around words that hold blanks. "-z" is added after each program, "$1"
 * (the generator's option) becomes "-g" (unknown words marked, so that the
 * service decides what to show) and "$2" goes. Returns 0, or -1 with a
 * message in @p errstr (a name that is not two language codes, a variant
 * such as "spa-cat_valencia", anything but plain words and quotes: no
 * redirection, variables or sub-shells). */
int tr_mode_parse(const char *name, const char *text, struct tr_mode *m, char *errstr,
                  size_t errstr_size);

void tr_mode_cleanup(struct tr_mode *m);

/* Every mode of @p dir whose name is a plain language pair, sorted by name;
 * where two modes give the same pair (a 639-1 and a 639-3 name) the first
 * wins. Files that do not parse are skipped (logged). Sets *@p out (free
 * with tr_modes_free) and returns how many, or -1 when @p dir cannot be
 * read (@p errstr says why). */
long tr_modes_load(const char *dir, struct tr_mode **out, char *errstr, size_t errstr_size);

void tr_modes_free(struct tr_mode *modes, size_t n);

#endif

/* A pipeline: the processes of one Apertium mode, started once and kept
 * running, fed one text after another. Each text goes in followed by a
 * newline and a NUL; every stage flushes on the NUL, so the translation
 * comes out followed by a NUL. Several texts may be in flight at once: the
 * stages work on different texts at the same time. A pipeline that stops
 * answering, dies or floods its output is killed (by PID, every stage) and
 * must be started again. Writes to a stage that ended fail with EPIPE only
 * where SIGPIPE is ignored, as cairn_service_main() has it. */
#ifndef TRANSLATION_PIPELINE_H
#define TRANSLATION_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cairn/buf.h"
#include "cairn/err.h"
#include "modes.h"

struct tr_pipeline {
        pid_t pids[TR_STAGES_MAX];
        size_t npids;
        int in_fd;  /* the first stage's standard input (ours to write) */
        int out_fd; /* the last stage's standard output (ours to read) */
        bool running;
        bool answered; /* has written output since it started */
        char why[160]; /* why it stopped, once it has */
};

/* How much longer than its stall time a pipeline that has not answered
 * since it started may take: it loads its dictionaries first. */
#define TR_START_GRACE_MS 20000

/* One text through a pipeline: @p in is in stream format (stream.h),
 * without the newline and NUL that frame it. */
struct tr_item {
        const char *in;
        size_t in_len;
        struct cairn_buf out; /* the translation, stream format, without the frame */
        cairn_err_t err;      /* CAIRN_OK once out is complete */
        char why[200];        /* with err: for people */
};

/* Starts the stages of @p mode. Returns 0, or -1 with @p errstr set (and
 * nothing left running). */
int tr_pipeline_start(struct tr_pipeline *p, const struct tr_mode *mode, char *errstr,
                      size_t errstr_size);

/* Kills every stage still running (SIGKILL, by PID) and reaps them. */
void tr_pipeline_stop(struct tr_pipeline *p);

/* Whether every stage still runs; when one has ended, says which and how in
 * p->why, stops the rest and returns false. */
bool tr_pipeline_alive(struct tr_pipeline *p);

/* Limits of one run. */
struct tr_run_limits {
        int64_t deadline_ms; /* absolute (cairn_now_ms clock); 0: none */
        int64_t stall_ms;    /* a pipeline with texts in flight and no output for this long hangs */
        int64_t start_grace_ms; /* added to stall_ms until a new pipeline first answers */
        size_t max_out;         /* most bytes one translation may have */
        size_t depth;           /* most texts in flight in one pipeline */
};

/* Translates @p items (each err set) over the @p np pipelines in @p ps,
 * which share the work: each takes the next text once it has fewer than
 * depth in flight. A pipeline that hangs, dies or floods is stopped (the
 * caller starts a new one); the texts it held fail UNAVAILABLE, and the
 * others go on in the remaining pipelines. Texts left when the deadline
 * passes fail DEADLINE_EXCEEDED (and the pipelines that held them are
 * stopped: their output would belong to the wrong text). */
void tr_pipelines_run(struct tr_pipeline *const *ps, size_t np, struct tr_item *items, size_t n,
                      const struct tr_run_limits *lim);

/* Runs @p argv (a filter such as apertium-deshtml) once on @p in: its
 * standard output into @p out. Returns CAIRN_OK or an error with @p why
 * (the program failed, flooded or outlived the deadline: it is killed). */
cairn_err_t tr_filter_run(char *const *argv, const char *in, size_t len,
                          const struct tr_run_limits *lim, struct cairn_buf *out, char *why,
                          size_t why_size);

#endif

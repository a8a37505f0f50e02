/* Texts through an Apertium route (engine.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "pipeline.h"
#include "pool.h"
#include "stream.h"
#include "translation.h"

static char *deshtml_argv[] = { "apertium-deshtml", NULL };
static char *rehtml_argv[] = { "apertium-rehtml", NULL };

/* A translation may be this much longer than its text, plus a margin: more
 * is a pipeline gone wrong. */
#define MAX_GROWTH 16
#define MAX_MARGIN 65536

static void fail(struct tr_job *job, cairn_err_t err, const char *why)
{
        job->err = err;
        snprintf(job->why, sizeof(job->why), "%.199s", why);
}

static struct tr_run_limits limits(const struct translation_service *svc, size_t len,
                                   int64_t deadline_ms)
{
        return (struct tr_run_limits){ .deadline_ms = deadline_ms,
                                       .stall_ms = svc->conf.stall_ms,
                                       .start_grace_ms = TR_START_GRACE_MS,
                                       .max_out = len * MAX_GROWTH + MAX_MARGIN,
                                       .depth = (size_t)svc->conf.depth };
}

/* The text of @p job → its stream form. */
static void to_stream(struct translation_service *svc, struct tr_job *job, bool html,
                      int64_t deadline_ms)
{
        struct tr_run_limits lim = limits(svc, job->len, deadline_ms);
        struct cairn_buf raw = { 0 };
        char why[200];
        cairn_err_t err;

        if (!html) {
                tr_stream_escape(job->text, job->len, &job->stream);
                return;
        }
        err = tr_filter_run(deshtml_argv, job->text, job->len, &lim, &raw, why, sizeof(why));
        if (err) {
                char msg[240];

                snprintf(msg, sizeof(msg), "the HTML deformatter failed: %.160s", why);
                fail(job, err, msg);
        } else {
                tr_stream_protect(raw.p, raw.len, &job->stream);
        }
        cairn_buf_cleanup(&raw);
}

static bool blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* @p out gets @p tr between the blanks @p text starts and ends with: a
 * pipeline leaves blanks of words it drops ("I have" → " Tengo") and the
 * newline that framed the text. */
static void keep_blanks(const char *text, size_t len, const char *tr, size_t tlen,
                        struct cairn_buf *out)
{
        size_t lead = 0, trail = 0, b = 0, e = tlen;

        while (lead < len && blank(text[lead]))
                lead++;
        while (len - trail > lead && blank(text[len - 1 - trail]))
                trail++;
        while (b < e && blank(tr[b]))
                b++;
        while (e > b && blank(tr[e - 1]))
                e--;
        cairn_buf_add(out, text, lead);
        cairn_buf_add(out, tr + b, e - b);
        cairn_buf_add(out, text + len - trail, trail);
}

/* The stream form of @p job after the last mode → its result. */
static void from_stream(struct translation_service *svc, struct tr_job *job, bool html, bool show,
                        int64_t deadline_ms)
{
        struct tr_run_limits lim = limits(svc, job->stream.len, deadline_ms);
        struct cairn_buf marked = { 0 };
        char why[200];
        cairn_err_t err;

        if (!html) {
                struct cairn_buf text = { 0 };

                tr_stream_unescape(job->stream.p, job->stream.len, show, &text);
                keep_blanks(job->text, job->len, text.p ? text.p : "", text.len, &job->result);
                cairn_buf_cleanup(&text);
                return;
        }
        tr_stream_marks(job->stream.p, job->stream.len, show ? TR_MARKS_KEEP : TR_MARKS_DROP,
                        &marked);
        err = tr_filter_run(rehtml_argv, marked.p ? marked.p : "", marked.len, &lim, &job->result,
                            why, sizeof(why));
        if (err) {
                char msg[240];

                snprintf(msg, sizeof(msg), "the HTML reformatter failed: %.160s", why);
                fail(job, err, msg);
        }
        cairn_buf_cleanup(&marked);
}

/* One mode of the route over the live jobs; @p last: its output is final. */
static void run_hop(struct translation_service *svc, size_t mode, bool last, bool show,
                    struct tr_job *const *jobs, size_t n, int64_t deadline_ms)
{
        struct tr_pool *pool = translation_pool(svc, mode);
        struct tr_pipeline *ps[64];
        struct tr_item *items = calloc(n ? n : 1, sizeof(*items));
        size_t *of = calloc(n ? n : 1, sizeof(*of));
        size_t live = 0, got, longest = 0;
        cairn_err_t err = CAIRN_OK;
        char why[200];

        if (!items || !of) {
                for (size_t i = 0; i < n; i++)
                        if (!jobs[i]->err)
                                fail(jobs[i], CAIRN_ERR_EXHAUSTED, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                if (jobs[i]->err)
                        continue;
                items[live].in = jobs[i]->stream.p ? jobs[i]->stream.p : "";
                items[live].in_len = jobs[i]->stream.len;
                if (items[live].in_len > longest)
                        longest = items[live].in_len;
                of[live++] = i;
        }
        if (live == 0)
                goto out;
        got = tr_pool_acquire(pool, live, deadline_ms, ps, &err, why, sizeof(why));
        if (got == 0) {
                for (size_t k = 0; k < live; k++)
                        fail(jobs[of[k]], err, why);
                goto out;
        }
        {
                struct tr_run_limits lim = limits(svc, longest, deadline_ms);

                tr_pipelines_run(ps, got, items, live, &lim);
        }
        tr_pool_release(pool, ps, got);
        for (size_t k = 0; k < live; k++) {
                struct tr_job *job = jobs[of[k]];

                cairn_buf_cleanup(&job->stream);
                if (items[k].err) {
                        fail(job, items[k].err, items[k].why);
                } else if (last) {
                        job->stream = items[k].out;
                        memset(&items[k].out, 0, sizeof(items[k].out));
                } else {
                        /* marks of this mode must not read as the next one's input */
                        tr_stream_marks(items[k].out.p, items[k].out.len,
                                        show ? TR_MARKS_PROTECT : TR_MARKS_DROP, &job->stream);
                }
                cairn_buf_cleanup(&items[k].out);
        }
out:
        free(items);
        free(of);
}

void tr_engine_run(struct translation_service *svc, const struct tr_route *route, bool html,
                   bool show_unknown, struct tr_job *const *jobs, size_t n, int64_t deadline_ms)
{
        for (size_t i = 0; i < n; i++)
                if (!jobs[i]->err)
                        to_stream(svc, jobs[i], html, deadline_ms);
        for (size_t h = 0; h < route->nhops; h++)
                run_hop(svc, route->mode[h], h + 1 == route->nhops, show_unknown, jobs, n,
                        deadline_ms);
        for (size_t i = 0; i < n; i++)
                if (!jobs[i]->err)
                        from_stream(svc, jobs[i], html, show_unknown, deadline_ms);
}

void tr_job_cleanup(struct tr_job *job)
{
        cairn_buf_cleanup(&job->stream);
        cairn_buf_cleanup(&job->result);
}

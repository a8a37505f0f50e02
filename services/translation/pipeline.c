/* Apertium pipelines: their processes, and texts driven through them with
 * poll(2), several pipelines and several texts at once from one thread. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "pipeline.h"

extern char **environ;

#define READ_CHUNK 65536

/* Starts @p argv with @p in and @p out as its standard input and output
 * and /dev/null as its standard error; signals as a new process has them. */
static pid_t spawn(char *const *argv, int in, int out, int devnull)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, dflt;
        pid_t pid = -1;
        int rc;

        sigemptyset(&none);
        sigemptyset(&dflt);
        sigaddset(&dflt, SIGPIPE);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_adddup2(&fa, in, 0);
        posix_spawn_file_actions_adddup2(&fa, out, 1);
        posix_spawn_file_actions_adddup2(&fa, devnull, 2);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &dflt);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (rc != 0) {
                errno = rc;
                return -1;
        }
        return pid;
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

/* Starts the stages argvs[0..n) connected stage to stage. */
static int start_stages(struct tr_pipeline *p, char *const *const *argvs, size_t n, char *errstr,
                        size_t errstr_size)
{
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int prev_read = -1, fds[2];

        memset(p, 0, sizeof(*p));
        p->in_fd = p->out_fd = -1;
        if (devnull < 0) {
                snprintf(errstr, errstr_size, "cannot open /dev/null: %m");
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                int in, out;

                if (i == 0) {
                        if (pipe2(fds, O_CLOEXEC) < 0)
                                goto fail_errno;
                        p->in_fd = fds[1];
                        prev_read = fds[0];
                }
                if (pipe2(fds, O_CLOEXEC) < 0)
                        goto fail_errno;
                in = prev_read;
                out = fds[1];
                prev_read = fds[0];
                p->pids[i] = spawn(argvs[i], in, out, devnull);
                close(in);
                close(out);
                if (p->pids[i] < 0) {
                        snprintf(errstr, errstr_size, "cannot start %s: %m", argvs[i][0]);
                        goto fail;
                }
                p->npids = i + 1;
        }
        p->out_fd = prev_read;
        close(devnull);
        /* neither side may block the driver: poll says when to go on */
        fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
        fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
        p->running = true;
        return 0;
fail_errno:
        snprintf(errstr, errstr_size, "cannot make a pipe: %m");
fail:
        close_fd(&prev_read);
        close(devnull);
        p->running = true; /* so that stop reaps what was started */
        tr_pipeline_stop(p);
        return -1;
}

int tr_pipeline_start(struct tr_pipeline *p, const struct tr_mode *mode, char *errstr,
                      size_t errstr_size)
{
        char *const *argvs[TR_STAGES_MAX];

        for (size_t i = 0; i < mode->nstages; i++)
                argvs[i] = mode->stages[i];
        return start_stages(p, argvs, mode->nstages, errstr, errstr_size);
}

void tr_pipeline_stop(struct tr_pipeline *p)
{
        if (!p->running)
                return;
        close_fd(&p->in_fd);
        close_fd(&p->out_fd);
        for (size_t i = 0; i < p->npids; i++)
                if (p->pids[i] > 0)
                        kill(p->pids[i], SIGKILL);
        for (size_t i = 0; i < p->npids; i++)
                if (p->pids[i] > 0)
                        while (waitpid(p->pids[i], NULL, 0) < 0 && errno == EINTR)
                                ;
        p->npids = 0;
        p->running = false;
}

static void describe_exit(char *why, size_t size, size_t stage, int status)
{
        if (WIFSIGNALED(status))
                snprintf(why, size, "stage %zu was killed by signal %d", stage + 1,
                         WTERMSIG(status));
        else
                snprintf(why, size, "stage %zu exited with status %d", stage + 1,
                         WEXITSTATUS(status));
}

bool tr_pipeline_alive(struct tr_pipeline *p)
{
        if (!p->running)
                return false;
        for (size_t i = 0; i < p->npids; i++) {
                int status;

                if (p->pids[i] > 0 && waitpid(p->pids[i], &status, WNOHANG) == p->pids[i]) {
                        describe_exit(p->why, sizeof(p->why), i, status);
                        p->pids[i] = 0;
                        tr_pipeline_stop(p);
                        return false;
                }
        }
        return true;
}

/* ---- driving texts through pipelines ---- */

/* What the driver keeps per pipeline: the texts in flight, in order, and
 * the framed bytes not yet written. */
struct lane {
        struct tr_pipeline *p;
        size_t *fifo; /* item indices in flight, oldest first */
        size_t head, count;
        struct cairn_buf wbuf;
        size_t woff;
        int64_t last_us; /* last output (or first input) */
        bool failed;
};

static int64_t remaining_ms(const struct tr_run_limits *lim)
{
        return lim->deadline_ms ? lim->deadline_ms - cairn_now_ms() : INT64_MAX;
}

static void item_fail(struct tr_item *it, cairn_err_t err, const char *why)
{
        it->err = err;
        snprintf(it->why, sizeof(it->why), "%s", why);
        cairn_buf_cleanup(&it->out);
}

/* Stops lane @p l's pipeline and fails what it held. */
static void lane_fail(struct lane *l, struct tr_item *items, size_t cap, cairn_err_t err,
                      const char *why)
{
        if (!l->p->why[0] || err == CAIRN_ERR_DEADLINE)
                snprintf(l->p->why, sizeof(l->p->why), "%s", why);
        for (size_t k = 0; k < l->count; k++)
                item_fail(&items[l->fifo[(l->head + k) % cap]], err, why);
        l->count = 0;
        l->failed = true;
        tr_pipeline_stop(l->p);
}

static void lane_take(struct lane *l, struct tr_item *items, size_t cap, size_t i)
{
        static const char frame[2] = { '\n', '\0' };

        l->fifo[(l->head + l->count) % cap] = i;
        if (l->count == 0)
                l->last_us = cairn_mono_us();
        l->count++;
        cairn_buf_add(&l->wbuf, items[i].in, items[i].in_len);
        cairn_buf_add(&l->wbuf, frame, sizeof(frame));
}

/* Bytes read from lane @p l: appended to the oldest text in flight; a NUL
 * completes it. */
static void lane_output(struct lane *l, struct tr_item *items, size_t cap, const char *b, size_t n,
                        const struct tr_run_limits *lim)
{
        while (n > 0 && l->count > 0) {
                struct tr_item *it = &items[l->fifo[l->head]];
                const char *nul = memchr(b, '\0', n);
                size_t take = nul ? (size_t)(nul - b) : n;

                cairn_buf_add(&it->out, b, take);
                if (it->out.len > lim->max_out || it->out.oom) {
                        lane_fail(l, items, cap, CAIRN_ERR_UNAVAILABLE,
                                  "the translation pipeline wrote more than the limit for one "
                                  "text: it was replaced");
                        return;
                }
                if (!nul)
                        return;
                /* the newline of the frame comes back at the end */
                if (it->out.len > 0 && it->out.p[it->out.len - 1] == '\n')
                        it->out.p[--it->out.len] = '\0';
                if (!it->out.p)
                        cairn_buf_add(&it->out, "", 0);
                it->err = CAIRN_OK;
                it->why[0] = '\0';
                l->head = (l->head + 1) % cap;
                l->count--;
                b += take + 1;
                n -= take + 1;
        }
        /* bytes with no text in flight: stray output, the framing is lost */
        if (n > 0)
                lane_fail(l, items, cap, CAIRN_ERR_UNAVAILABLE,
                          "the translation pipeline wrote output nobody asked for: it was "
                          "replaced");
}

static void lane_write(struct lane *l, struct tr_item *items, size_t cap)
{
        while (l->woff < l->wbuf.len) {
                ssize_t w = write(l->p->in_fd, l->wbuf.p + l->woff, l->wbuf.len - l->woff);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (w < 0) {
                        char why[200];

                        tr_pipeline_alive(l->p);
                        snprintf(why, sizeof(why), "the translation pipeline ended (%.150s)",
                                 l->p->why[0] ? l->p->why : "its input was closed");
                        lane_fail(l, items, cap, CAIRN_ERR_UNAVAILABLE, why);
                        return;
                }
                l->woff += (size_t)w;
        }
        cairn_buf_cleanup(&l->wbuf);
        l->woff = 0;
}

static void lane_read(struct lane *l, struct tr_item *items, size_t cap,
                      const struct tr_run_limits *lim, char *chunk)
{
        for (;;) {
                ssize_t r = read(l->p->out_fd, chunk, READ_CHUNK);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (r <= 0) {
                        char why[200];

                        l->p->why[0] = '\0';
                        /* give the stage that died a moment to be reapable */
                        for (int t = 0; t < 20 && tr_pipeline_alive(l->p); t++)
                                usleep(1000);
                        snprintf(why, sizeof(why), "the translation pipeline ended (%.150s)",
                                 l->p->why[0] ? l->p->why : "its output was closed");
                        lane_fail(l, items, cap, CAIRN_ERR_UNAVAILABLE, why);
                        return;
                }
                l->last_us = cairn_mono_us();
                l->p->answered = true;
                lane_output(l, items, cap, chunk, (size_t)r, lim);
                if (l->failed || r < READ_CHUNK)
                        return;
        }
}

void tr_pipelines_run(struct tr_pipeline *const *ps, size_t np, struct tr_item *items, size_t n,
                      const struct tr_run_limits *lim)
{
        struct lane *lanes = calloc(np, sizeof(*lanes));
        struct pollfd *pfd = calloc(2 * np, sizeof(*pfd));
        size_t next = 0, depth = lim->depth ? lim->depth : 1;
        char *chunk = malloc(READ_CHUNK);
        size_t *owner = malloc((n ? n : 1) * sizeof(*owner));
        bool oom = !lanes || !pfd || !chunk || !owner;

        for (size_t i = 0; i < n; i++) {
                memset(&items[i].out, 0, sizeof(items[i].out));
                items[i].err = CAIRN_ERR_UNAVAILABLE;
                snprintf(items[i].why, sizeof(items[i].why), "no translation pipeline answered");
        }
        for (size_t k = 0; !oom && k < np; k++) {
                lanes[k].p = ps[k];
                lanes[k].fifo = malloc((n ? n : 1) * sizeof(size_t));
                oom = !lanes[k].fifo;
                lanes[k].failed = !ps[k]->running;
        }
        if (oom) {
                for (size_t i = 0; i < n; i++)
                        item_fail(&items[i], CAIRN_ERR_EXHAUSTED, "out of memory");
                goto out;
        }
        for (;;) {
                size_t nfd = 0, busy = 0, live = 0;
                int64_t wait_ms = lim->stall_ms > 0 ? lim->stall_ms : 60000, left;

                /* hand out texts to lanes with room */
                for (size_t k = 0; k < np; k++) {
                        struct lane *l = &lanes[k];

                        while (!l->failed && next < n && l->count < depth) {
                                owner[next] = k;
                                lane_take(l, items, n, next++);
                        }
                        live += !l->failed;
                        busy += !l->failed && l->count > 0;
                }
                if (busy == 0 || live == 0)
                        break;
                left = remaining_ms(lim);
                if (left <= 0) {
                        for (size_t k = 0; k < np; k++)
                                if (!lanes[k].failed && lanes[k].count)
                                        lane_fail(&lanes[k], items, n, CAIRN_ERR_DEADLINE,
                                                  "the request's deadline passed during "
                                                  "translation");
                        break;
                }
                if (left < wait_ms)
                        wait_ms = left;
                for (size_t k = 0; k < np; k++) {
                        struct lane *l = &lanes[k];
                        int64_t idle_ms, stall_ms;

                        if (l->failed || l->count == 0)
                                continue;
                        idle_ms = (cairn_mono_us() - l->last_us) / 1000;
                        /* a pipeline that never answered is still loading its
                         * dictionaries, slowly on a busy machine */
                        stall_ms = lim->stall_ms + (l->p->answered ? 0 : lim->start_grace_ms);
                        if (lim->stall_ms > 0 && idle_ms >= stall_ms) {
                                char why[200];

                                snprintf(why, sizeof(why),
                                         "the translation pipeline stopped answering (no "
                                         "output in %lld ms): it was replaced",
                                         (long long)stall_ms);
                                lane_fail(l, items, n, CAIRN_ERR_UNAVAILABLE, why);
                                continue;
                        }
                        if (lim->stall_ms > 0 && stall_ms - idle_ms < wait_ms)
                                wait_ms = stall_ms - idle_ms;
                        pfd[nfd++] = (struct pollfd){ .fd = l->p->out_fd, .events = POLLIN };
                        if (l->woff < l->wbuf.len)
                                pfd[nfd++] = (struct pollfd){ .fd = l->p->in_fd,
                                                              .events = POLLOUT };
                }
                if (nfd == 0)
                        continue;
                if (poll(pfd, nfd, (int)(wait_ms > 0 ? wait_ms : 1)) < 0 && errno != EINTR)
                        break;
                for (size_t f = 0; f < nfd; f++) {
                        if (!pfd[f].revents)
                                continue;
                        for (size_t k = 0; k < np; k++) {
                                struct lane *l = &lanes[k];

                                if (l->failed)
                                        continue;
                                if (pfd[f].fd == l->p->in_fd)
                                        lane_write(l, items, n);
                                else if (pfd[f].fd == l->p->out_fd)
                                        lane_read(l, items, n, lim, chunk);
                        }
                }
                /* new texts may be written at once, without waiting for POLLOUT */
                for (size_t k = 0; k < np; k++)
                        if (!lanes[k].failed && lanes[k].woff < lanes[k].wbuf.len)
                                lane_write(&lanes[k], items, n);
        }
        /* A stage that dies makes the stages after it flush at end of input:
         * texts completed by a pipeline found dead now may be cut short. */
        for (size_t k = 0; k < np; k++) {
                struct lane *l = &lanes[k];
                char why[200];

                if (l->failed || tr_pipeline_alive(l->p))
                        continue;
                snprintf(why, sizeof(why),
                         "the translation pipeline ended during translation (%.120s): it was "
                         "replaced",
                         l->p->why);
                for (size_t i = 0; i < next; i++)
                        if (owner[i] == k)
                                item_fail(&items[i], CAIRN_ERR_UNAVAILABLE, why);
        }
        /* texts no pipeline could take */
        for (size_t i = next; i < n; i++)
                if (items[i].err == CAIRN_ERR_UNAVAILABLE && !items[i].out.p &&
                    remaining_ms(lim) <= 0)
                        item_fail(&items[i], CAIRN_ERR_DEADLINE,
                                  "the request's deadline passed before translation");
out:
        for (size_t k = 0; lanes && k < np; k++) {
                free(lanes[k].fifo);
                cairn_buf_cleanup(&lanes[k].wbuf);
        }
        free(lanes);
        free(pfd);
        free(chunk);
        free(owner);
}

/* ---- one-shot filters ---- */

cairn_err_t tr_filter_run(char *const *argv, const char *in, size_t len,
                          const struct tr_run_limits *lim, struct cairn_buf *out, char *why,
                          size_t why_size)
{
        char *const *argvs[1] = { argv };
        struct tr_pipeline p;
        size_t off = 0;
        char *chunk;
        cairn_err_t err = CAIRN_OK;

        if (start_stages(&p, argvs, 1, why, why_size) < 0)
                return CAIRN_ERR_UNAVAILABLE;
        chunk = malloc(READ_CHUNK);
        if (!chunk) {
                tr_pipeline_stop(&p);
                snprintf(why, why_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        if (len == 0)
                close_fd(&p.in_fd);
        for (;;) {
                struct pollfd pfd[2] = { { .fd = p.out_fd, .events = POLLIN },
                                         { .fd = p.in_fd, .events = POLLOUT } };
                int64_t left = remaining_ms(lim);
                int64_t wait = lim->stall_ms > 0 ? lim->stall_ms : 60000;
                int rc;

                if (left <= 0) {
                        snprintf(why, why_size, "%s outlived the request's deadline", argv[0]);
                        err = CAIRN_ERR_DEADLINE;
                        break;
                }
                rc = poll(pfd, p.in_fd >= 0 ? 2 : 1, (int)(left < wait ? left : wait));
                if (rc == 0) {
                        snprintf(why, why_size, "%s stopped answering", argv[0]);
                        err = left < wait ? CAIRN_ERR_DEADLINE : CAIRN_ERR_UNAVAILABLE;
                        break;
                }
                if (rc < 0 && errno == EINTR)
                        continue;
                if (p.in_fd >= 0 && pfd[1].revents) {
                        ssize_t w = write(p.in_fd, in + off, len - off);

                        if (w > 0)
                                off += (size_t)w;
                        if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == len)
                                close_fd(&p.in_fd);
                }
                if (pfd[0].revents) {
                        ssize_t r = read(p.out_fd, chunk, READ_CHUNK);

                        if (r == 0)
                                break;
                        if (r < 0 && errno != EAGAIN && errno != EINTR) {
                                snprintf(why, why_size, "reading from %s: %m", argv[0]);
                                err = CAIRN_ERR_UNAVAILABLE;
                                break;
                        }
                        if (r > 0)
                                cairn_buf_add(out, chunk, (size_t)r);
                        if (out->len > lim->max_out || out->oom) {
                                snprintf(why, why_size, "%s wrote more than the limit", argv[0]);
                                err = CAIRN_ERR_UNAVAILABLE;
                                break;
                        }
                }
        }
        free(chunk);
        if (err == CAIRN_OK) {
                int status = 0;

                close_fd(&p.in_fd);
                close_fd(&p.out_fd);
                while (waitpid(p.pids[0], &status, 0) < 0 && errno == EINTR)
                        ;
                p.running = false;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        describe_exit(why, why_size, 0, status);
                        err = CAIRN_ERR_UNAVAILABLE;
                }
                if (!out->p)
                        cairn_buf_add(out, "", 0);
                return err;
        }
        tr_pipeline_stop(&p);
        return err;
}

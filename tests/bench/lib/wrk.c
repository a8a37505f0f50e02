/* Running wrk and reading its report (wrk.h). */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wrk.h"

bool bench_find_bin(const char *name, char *path, size_t size)
{
        const char *env = getenv("PATH");
        char *dirs, *save = NULL;
        bool found = false;

        if (asprintf(&dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin",
                     env && env[0] ? env : "/usr/bin:/bin") < 0)
                abort();
        for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
                snprintf(path, size, "%s/%s", d, name);
                found = access(path, X_OK) == 0;
        }
        free(dirs);
        return found;
}

pid_t bench_spawn(char *const argv[], char *const env[], int out_fd)
{
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* Never outlive the benchmark, even when it crashes. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(out_fd, 1);
                dup2(out_fd, 2);
                /* Nothing else of the benchmark's: wrk sizes its event loop
                 * by its connections, so with one connection a socket
                 * numbered past a dozen inherited descriptors cannot join
                 * the loop and fails as a connect error. */
                close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
                for (size_t i = 0; env && env[i]; i++)
                        putenv(env[i]);
                execv(argv[0], argv);
                fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        return pid;
}

void wrk_spawn(struct wrk_run *w, char *const argv[], char *const env[], const char *shown)
{
        int pipefd[2];

        snprintf(w->cmd, sizeof(w->cmd), "%s", shown);
        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        w->pid = bench_spawn(argv, env, pipefd[1]);
        close(pipefd[1]);
        w->fd = pipefd[0];
}

static double time_ms(double v, const char *unit)
{
        if (strcmp(unit, "us") == 0)
                return v / 1000.0;
        if (strcmp(unit, "ms") == 0)
                return v;
        if (strcmp(unit, "s") == 0)
                return v * 1000.0;
        if (strcmp(unit, "m") == 0)
                return v * 60000.0;
        return NAN;
}

/* Reads wrk's report in @p out; true when it had a requests/s line. */
static bool parse(char *out, size_t len, struct wrk_result *res)
{
        char line[512];
        bool in_dist = false, have_rps = false;
        FILE *fp = fmemopen(out, len ? len : 1, "r");

        ck_assert_ptr_nonnull(fp);
        memset(res, 0, sizeof(*res));
        res->p50_ms = res->p99_ms = NAN;
        while (fgets(line, sizeof(line), fp)) {
                long c, r, wr, t, v;
                double x;
                char unit[8];
                int p;

                if (strstr(line, "Latency Distribution")) {
                        in_dist = true;
                } else if (in_dist && sscanf(line, " %d%% %lf%7[a-z]", &p, &x, unit) == 3) {
                        if (p == 50)
                                res->p50_ms = time_ms(x, unit);
                        else if (p == 99)
                                res->p99_ms = time_ms(x, unit);
                } else if (sscanf(line, " %ld requests in %lf%7[a-z]", &v, &x, unit) == 3) {
                        in_dist = false;
                        res->requests = v;
                        res->secs = time_ms(x, unit) / 1000.0;
                } else if (sscanf(line, " Non-2xx or 3xx responses: %ld", &v) == 1) {
                        res->non2xx = v;
                } else if (sscanf(line,
                                  " Socket errors: connect %ld, read %ld, write %ld, timeout %ld",
                                  &c, &r, &wr, &t) == 4) {
                        res->socket_errors = c + r + wr + t;
                } else if (sscanf(line, "Requests/sec: %lf", &x) == 1) {
                        res->rps = x;
                        have_rps = true;
                }
        }
        fclose(fp);
        return have_rps;
}

void wrk_wait(struct wrk_run *w, struct wrk_result *res)
{
        char *out = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&out, &len);
        int status;
        bool have_rps;

        ck_assert_ptr_nonnull(mem);
        for (;;) {
                char buf[4096];
                ssize_t n = read(w->fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                fwrite(buf, 1, (size_t)n, mem);
        }
        close(w->fd);
        fclose(mem);
        ck_assert_int_eq(waitpid(w->pid, &status, 0), w->pid);
        w->pid = 0;
        fprintf(stderr, "%s\n%s", w->cmd, out);
        have_rps = parse(out, len, res);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && have_rps, "%s failed:\n%s",
                      w->cmd, out);
        free(out);
}

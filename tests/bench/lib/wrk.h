/* wrk, the HTTP load generator, as the benchmarks run it (wrk.c): finding
 * programs, starting them tied to the benchmark's life, and reading wrk's
 * report. */
#ifndef CAIRN_BENCH_WRK_H
#define CAIRN_BENCH_WRK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Finds @p name on PATH, then in the sbin directories a non-root PATH may
 * lack (Debian installs nginx as /usr/sbin/nginx); false when absent. */
bool bench_find_bin(const char *name, char *path, size_t size);

/* Forks @p argv[0] with stdout and stderr on @p out_fd and @p env added to
 * the environment (NULL-terminated "NAME=value", or NULL), and no other
 * descriptor of the benchmark's. The child dies with the benchmark. */
pid_t bench_spawn(char *const argv[], char *const env[], int out_fd);

/* What wrk reported. */
struct wrk_result {
        double rps;
        double p50_ms, p99_ms; /* NAN without --latency */
        long requests;
        double secs;        /* the time those took */
        long non2xx;        /* statuses >= 400: the gateway sends no 3xx */
        long socket_errors; /* connect + read + write + timeout */
};

/* A wrk run in progress: its report arrives on fd. */
struct wrk_run {
        pid_t pid;
        int fd;
        char cmd[1024]; /* the command line, as run.sh shows it */
};

/* Starts wrk: @p argv (argv[0] the binary) with @p env added; @p shown is
 * the command line as the docs show it. */
void wrk_spawn(struct wrk_run *w, char *const argv[], char *const env[], const char *shown);
/* Waits for @p w to end, echoes its report to stderr and parses it into
 * @p res; fails the benchmark when wrk failed or printed no figures. */
void wrk_wait(struct wrk_run *w, struct wrk_result *res);

#endif

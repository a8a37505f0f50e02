/* What the benchmarks read of a process they started (proc.c). */
#ifndef CAIRN_BENCH_PROC_H
#define CAIRN_BENCH_PROC_H

#include <sys/types.h>

#include "harness.h"

/* /proc/@p pid/status's @p key ("VmRSS", "VmHWM", "RssAnon", "RssFile") in
 * KiB, -1 when absent. */
long bench_status_kib(pid_t pid, const char *key);

/* CPU time of @p pid and of its children, reaped or alive, in
 * microseconds (a PostgreSQL server: the postmaster and its backends);
 * -1 when @p pid is gone. */
double bench_tree_cpu_us(pid_t pid);

/* The postmaster of the PostgreSQL listening on @p port (started with
 * "-p PORT"), or -1. */
pid_t bench_pg_postmaster(int port);

/* The broker's process: the dev broker the harness started, or the Apache
 * Kafka broker whose pid deploy/kafka/apache.sh wrote beside its data
 * (TESTS_KAFKA_DIR). Fails the benchmark when it cannot be found. */
pid_t bench_broker_pid(const struct harness_broker *b);

/* The whole machine's busy CPU time in microseconds (/proc/stat: every
 * state but idle and iowait), to tell the benchmark's load from other work. */
double bench_machine_busy_us(void);

#endif

/* What the benchmarks read of a process they started (proc.h). */
#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

long bench_status_kib(pid_t pid, const char *key)
{
        char path[64], line[256];
        size_t klen = strlen(key);
        long kib = -1;
        FILE *fp;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        fp = fopen(path, "r");
        while (fp && fgets(line, sizeof(line), fp))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
                        kib = atol(line + klen + 1);
                        break;
                }
        if (fp)
                fclose(fp);
        return kib;
}

/* Fields of /proc/@p pid/stat: ppid, utime, stime, cutime, cstime (ticks);
 * false when it is gone. */
static bool stat_of(pid_t pid, long *ppid, unsigned long long t[4])
{
        char path[64], buf[1024], *p;
        FILE *fp;
        size_t n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (!(fp = fopen(path, "r")))
                return false;
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        /* the command name may hold spaces: fields after its last ')' */
        p = strrchr(buf, ')');
        return p && sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                           ppid, &t[0], &t[1], &t[2], &t[3]) == 5;
}

double bench_tree_cpu_us(pid_t pid)
{
        unsigned long long t[4], total;
        long ppid;
        struct dirent *e;
        DIR *d;

        if (!stat_of(pid, &ppid, t))
                return -1;
        total = t[0] + t[1] + t[2] + t[3];
        d = opendir("/proc");
        while (d && (e = readdir(d))) {
                pid_t child = (pid_t)atol(e->d_name);

                if (child > 0 && stat_of(child, &ppid, t) && ppid == pid)
                        total += t[0] + t[1];
        }
        if (d)
                closedir(d);
        return (double)total * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

pid_t bench_pg_postmaster(int port)
{
        char want[32], path[64], cmd[4096];
        struct dirent *e;
        pid_t found = -1;
        DIR *d = opendir("/proc");

        snprintf(want, sizeof(want), "%d", port);
        while (d && found < 0 && (e = readdir(d))) {
                pid_t pid = (pid_t)atol(e->d_name);
                size_t n;
                FILE *fp;

                if (pid <= 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
                if (!(fp = fopen(path, "r")))
                        continue;
                n = fread(cmd, 1, sizeof(cmd) - 1, fp);
                fclose(fp);
                cmd[n] = '\0';
                if (!strstr(cmd, "postgres"))
                        continue;
                /* NUL-separated arguments: "-p" then the port */
                for (size_t i = 0; i + 3 < n; i += strlen(cmd + i) + 1)
                        if (strcmp(cmd + i, "-p") == 0 && strcmp(cmd + i + 3, want) == 0)
                                found = pid;
        }
        if (d)
                closedir(d);
        return found;
}

pid_t bench_broker_pid(const struct harness_broker *b)
{
        const char *dir = getenv("TESTS_KAFKA_DIR");
        char path[512];
        long pid = 0;
        FILE *fp;

        if (!b->apache)
                return b->proc.pid;
        snprintf(path, sizeof(path), "%s/pid", dir ? dir : "");
        fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "no %s", path);
        ck_assert_int_eq(fscanf(fp, "%ld", &pid), 1);
        fclose(fp);
        return (pid_t)pid;
}

double bench_machine_busy_us(void)
{
        unsigned long long v[8] = { 0 };
        FILE *fp = fopen("/proc/stat", "r");
        int n = fp ? fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7])
                   : 0;

        if (fp)
                fclose(fp);
        ck_assert_int_eq(n, 8);
        /* user nice system idle iowait irq softirq steal: all but idle and iowait */
        return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1e6 /
               (double)sysconf(_SC_CLK_TCK);
}

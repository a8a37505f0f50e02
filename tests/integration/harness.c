/* Process and client plumbing for the integration tests. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "cairn/clock.h"
#include "cairn/resilience.h"
#include "harness.h"

const char *harness_root(void)
{
        const char *r = getenv("TESTS_ROOT");
        return r && r[0] ? r : ".";
}

const char *harness_build_dir(void)
{
        const char *b = getenv("TESTS_BUILD");
        return b && b[0] ? b : "build";
}

static void msleep(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

bool harness_apache(void)
{
        const char *k = getenv("TESTS_KAFKA");
        return k && strcmp(k, "apache") == 0;
}

bool harness_coverage(void)
{
        const char *c = getenv("TESTS_COVERAGE");
        return c && strcmp(c, "1") == 0;
}

const char *harness_topic(const char *name)
{
        static struct {
                char *name, *topic;
        } seen[64];
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        const char *t = NULL;
        size_t i;

        if (!harness_apache())
                return name;
        /* Tests name few topics: each distinct name is allocated once. */
        pthread_mutex_lock(&lock);
        for (i = 0; i < 64 && seen[i].name; i++)
                if (strcmp(seen[i].name, name) == 0)
                        break;
        ck_assert_msg(i < 64, "too many distinct topic names");
        if (!seen[i].name) {
                seen[i].name = strdup(name);
                if (!seen[i].name ||
                    asprintf(&seen[i].topic, "it-%ld.%s", (long)getpid(), name) < 0)
                        abort();
        }
        t = seen[i].topic;
        pthread_mutex_unlock(&lock);
        return t;
}

/* Reads the client settings for the broker of this pass
 * (deploy/dev/devbroker.env, or deploy/kafka/apache.env in the Apache pass),
 * then those of TESTS_KAFKA_SETTINGS, which win, into "NAME=value" strings
 * appended to @p env (at most @p max, NULL-terminated); returns the count. */
static size_t dev_env(char **env, size_t max)
{
        const char *extra = getenv("TESTS_KAFKA_SETTINGS");
        char path[512], line[512];
        size_t n = 0;
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", harness_root(),
                 harness_apache() ? "deploy/kafka/apache.env" : "deploy/dev/devbroker.env");
        fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "cannot open %s", path);
        while (fgets(line, sizeof(line), fp) && n + 1 < max) {
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] == '#' || !strchr(line, '='))
                        continue;
                env[n++] = strdup(line);
        }
        fclose(fp);
        for (const char *p = extra ? extra : ""; *p && n + 1 < max;) {
                size_t len = strcspn(p, " \t\n");

                if (len > 0) {
                        env[n] = strndup(p, len);
                        ck_assert_msg(strchr(env[n], '=') != NULL,
                                      "TESTS_KAFKA_SETTINGS: \"%s\" is not NAME=value", env[n]);
                        n++;
                }
                p += len;
                p += strspn(p, " \t\n");
        }
        env[n] = NULL;
        return n;
}

/* The lowest port the kernel hands out for outgoing connections and
 * bind(0); 0 if unknown. */
static int ephemeral_low(void)
{
        FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
        int low = 0, high = 0;

        if (fp) {
                if (fscanf(fp, "%d %d", &low, &high) != 2)
                        low = 0;
                fclose(fp);
        }
        return low;
}

static bool port_bindable(int port)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        bool ok;

        ck_assert_int_ge(fd, 0);
        ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        return ok;
}

/* A port below the ephemeral range: one from bind(0) could be taken, before
 * the service listens on it, as the local port of any outgoing connection
 * (tests opening hundreds of sockets beside it made that happen). Random,
 * so that tests running at once rarely try the same one. */
int harness_free_port(void)
{
        return harness_free_ports(1);
}

int harness_free_ports(int n)
{
        static __thread unsigned seed;
        int low = ephemeral_low();
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        int fd;

        if (!seed)
                seed = (unsigned)getpid() ^ (unsigned)cairn_mono_us();
        if (low > 12000 + n)
                for (int i = 0; i < 200; i++) {
                        int port = 10000 + (int)(rand_r(&seed) % (unsigned)(low - 10000 - n));
                        int k = 0;

                        while (k < n && port_bindable(port + k))
                                k++;
                        if (k == n)
                                return port;
                }
        ck_assert_msg(n == 1, "no %d free ports in a row below %d", n, low);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        close(fd);
        return ntohs(sa.sin_port);
}

static pid_t spawn(const char *bin, char *const argv[], char *const env[], const char *log_path)
{
        sigset_t all, old;
        pid_t pid;

        /* Until exec the child runs the test's signal handlers, Check's
         * among them, whose SIGTERM ends the whole process group: the child
         * takes no signal before it has put back the default actions. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid = fork();
        if (pid != 0)
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                for (int sig = 1; sig < NSIG; sig++) {
                        struct sigaction sa;

                        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN &&
                            sa.sa_handler != SIG_DFL)
                                signal(sig, SIG_DFL);
                }
                sigprocmask(SIG_SETMASK, &old, NULL);
                /* Never outlive the test, even when it crashes. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                        close(fd);
                }
                for (size_t i = 0; env && env[i]; i++)
                        putenv(env[i]);
                execv(bin, argv);
                fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
                _exit(127);
        }
        return pid;
}

/* Creates @p n topics (taking ownership of @p nt) unless they exist. */
static void apache_create(const char *bootstrap, rd_kafka_NewTopic_t **nt, size_t n)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, nt, n, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
        ck_assert_msg(ev != NULL, "CreateTopics: no answer from %s", bootstrap);
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        ck_assert_msg(res != NULL, "CreateTopics: %s", rd_kafka_event_error_string(ev));
        size_t cnt;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
                ck_assert_msg(!err || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
                              "create topic %s: %s", rd_kafka_topic_result_name(tr[i]),
                              rd_kafka_topic_result_error_string(tr[i]));
        }
        rd_kafka_event_destroy(ev);
        rd_kafka_NewTopic_destroy_array(nt, n);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
}

void harness_topic_create(const struct harness_broker *b, const char *name, int partitions)
{
        char errstr[512];
        rd_kafka_NewTopic_t *nt;

        if (!b->apache)
                return;
        nt = rd_kafka_NewTopic_new(name, partitions, 1, errstr, sizeof(errstr));
        ck_assert_msg(nt != NULL, "%s: %s", name, errstr);
        apache_create(b->bootstrap, &nt, 1);
}

#define DEV_TOPICS_MAX 64

/* The topics the dev broker starts with: those of deploy/kafka/topics.yaml
 * (cairn-admin topics list, at most 4 partitions each) that belong to a
 * service this build has, "cairn.<service>.*". Returns how many. */
static size_t dev_topics(char (*names)[256], int *parts, size_t max)
{
        char cmd[1200], line[512];
        size_t n = 0;
        FILE *fp;

        snprintf(cmd, sizeof(cmd),
                 "'%s/bin/cairn-admin' topics list '%s/deploy/kafka/topics.yaml' 4",
                 harness_build_dir(), harness_root());
        fp = popen(cmd, "r");
        ck_assert_msg(fp != NULL, "%s", cmd);
        while (fgets(line, sizeof(line), fp) && n < max) {
                char svc[128], bin[700];

                if (sscanf(line, "%255s %d", names[n], &parts[n]) != 2 ||
                    sscanf(names[n], "cairn.%127[^.]", svc) != 1)
                        continue;
                snprintf(bin, sizeof(bin), "%s/bin/cairn-%s", harness_build_dir(), svc);
                if (access(bin, X_OK) == 0)
                        n++;
        }
        ck_assert_msg(pclose(fp) == 0 && n > 0, "%s listed no topic", cmd);
        return n;
}

/* Creates this test's copies of the dev topics on the shared Apache
 * broker, with the same partition counts. */
static void apache_topics_create(struct harness_broker *b)
{
        char names[DEV_TOPICS_MAX][256], errstr[512];
        int parts[DEV_TOPICS_MAX];
        rd_kafka_NewTopic_t *nt[DEV_TOPICS_MAX];
        size_t n = dev_topics(names, parts, DEV_TOPICS_MAX);

        for (size_t i = 0; i < n; i++) {
                nt[i] = rd_kafka_NewTopic_new(harness_topic(names[i]), parts[i], 1, errstr,
                                              sizeof(errstr));
                ck_assert_msg(nt[i] != NULL, "%s", errstr);
        }
        apache_create(b->bootstrap, nt, n);
}

static void apache_broker_attach(struct harness_broker *b)
{
        const char *dir = getenv("TESTS_KAFKA_DIR");
        char file[512];
        FILE *fp;

        ck_assert_msg(dir && dir[0], "TESTS_KAFKA=apache needs TESTS_KAFKA_DIR");
        b->apache = true;
        snprintf(file, sizeof(file), "%s/bootstrap", dir);
        fp = fopen(file, "r");
        ck_assert_msg(fp != NULL, "no Apache Kafka broker runs from %s (no %s)", dir, file);
        ck_assert(fgets(b->bootstrap, sizeof(b->bootstrap), fp) != NULL);
        fclose(fp);
        b->bootstrap[strcspn(b->bootstrap, "\r\n")] = '\0';
        snprintf(b->proc.name, sizeof(b->proc.name), "apache-kafka");
        snprintf(b->proc.log_path, sizeof(b->proc.log_path), "%s/server.log", dir);
        apache_topics_create(b);
}

/* Runs deploy/kafka/apache.sh @p verb on the pass's broker. */
static void apache_broker_run(const char *verb)
{
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "'%s/deploy/kafka/apache.sh' %s '%s'", harness_root(), verb,
                 getenv("TESTS_KAFKA_DIR"));
        ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

void harness_broker_down(struct harness_broker *b)
{
        if (b->apache)
                apache_broker_run("stop");
        else
                harness_proc_signal(&b->proc, SIGUSR1);
        b->down = true;
}

void harness_broker_up(struct harness_broker *b)
{
        if (b->apache)
                apache_broker_run("restart");
        else
                harness_proc_signal(&b->proc, SIGUSR2);
        b->down = false;
}

void harness_broker_start(struct harness_broker *b, int brokers)
{
        char bin[512], file[512], nb[8];
        char names[DEV_TOPICS_MAX][256], topics[DEV_TOPICS_MAX][300];
        int parts[DEV_TOPICS_MAX];
        char *argv[8 + 2 * DEV_TOPICS_MAX];
        size_t argc = 0, ntopics;
        FILE *fp;

        memset(b, 0, sizeof(*b));
        const char *tmp = getenv("TMPDIR");
        snprintf(b->dir, sizeof(b->dir), "%s/cairn-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(b->dir));
        if (harness_apache()) {
                apache_broker_attach(b);
                return;
        }
        snprintf(bin, sizeof(bin), "%s/bin/cairn-devbroker", harness_build_dir());
        snprintf(file, sizeof(file), "%s/bootstrap", b->dir);
        snprintf(nb, sizeof(nb), "%d", brokers);
        snprintf(b->proc.log_path, sizeof(b->proc.log_path), "%s/devbroker.log", b->dir);
        snprintf(b->proc.name, sizeof(b->proc.name), "devbroker");
        argv[argc++] = bin;
        argv[argc++] = "-b";
        argv[argc++] = nb;
        argv[argc++] = "-f";
        argv[argc++] = file;
        ntopics = dev_topics(names, parts, DEV_TOPICS_MAX);
        for (size_t i = 0; i < ntopics; i++) {
                snprintf(topics[i], sizeof(topics[i]), "%s:%d", names[i], parts[i]);
                argv[argc++] = "-t";
                argv[argc++] = topics[i];
        }
        argv[argc] = NULL;
        b->proc.pid = spawn(bin, argv, NULL, b->proc.log_path);

        /* 30 s, as for a service's readiness: a loaded machine is slow */
        for (int i = 0; i < 600; i++) {
                fp = fopen(file, "r");
                if (fp) {
                        bool ok = fgets(b->bootstrap, sizeof(b->bootstrap), fp) != NULL;
                        fclose(fp);
                        if (ok) {
                                b->bootstrap[strcspn(b->bootstrap, "\r\n")] = '\0';
                                return;
                        }
                }
                ck_assert_msg(waitpid(b->proc.pid, NULL, WNOHANG) == 0,
                              "dev broker exited at start (see %s)", b->proc.log_path);
                msleep(50);
        }
        ck_abort_msg("dev broker not started after 30 s (see %s)", b->proc.log_path);
}

void harness_broker_stop(struct harness_broker *b)
{
        /* The shared broker outlives the test, but never down. */
        if (b->apache && b->down)
                harness_broker_up(b);
        if (b->proc.pid > 0) {
                harness_proc_signal(&b->proc, SIGTERM);
                if (harness_proc_wait(&b->proc, 5000) == -1)
                        harness_proc_kill(&b->proc);
        }
}

void harness_service_start(struct harness_proc *p, const struct harness_broker *b,
                           const char *service, const char *const *extra_env)
{
        char bin[512];

        snprintf(bin, sizeof(bin), "%s/bin/cairn-%s", harness_build_dir(), service);
        harness_service_start_bin(p, b, service, service, bin, extra_env);
}

void harness_memory_start(struct harness_proc *p, const struct harness_broker *b,
                          const char *pg_url, const char *const *extra_env)
{
        char pgv[600], emb[300], reply[300], events[300];
        const char *env[48] = { pgv, emb, reply, events };
        size_t n = 4;

        snprintf(pgv, sizeof(pgv), "CAIRN_PG_URL=%s", pg_url);
        snprintf(emb, sizeof(emb), "CAIRN_MEMORY_EMBEDDING_TOPIC=%s",
                 harness_topic("cairn.embedding.v1.requests"));
        snprintf(reply, sizeof(reply), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.memory.replies"));
        snprintf(events, sizeof(events), "CAIRN_MEMORY_EVENTS_TOPIC=%s",
                 harness_topic("cairn.memory.v1.events"));
        for (size_t i = 0; extra_env && extra_env[i] && n < 47; i++)
                env[n++] = extra_env[i];
        env[n] = NULL;
        harness_service_start(p, b, "memory", env);
}

void harness_workflow_start(struct harness_proc *p, const struct harness_broker *b,
                            const char *pg_url, const char *const *extra_env)
{
        harness_workflow_start_as(p, b, "workflow", pg_url, extra_env);
}

void harness_workflow_start_as(struct harness_proc *p, const struct harness_broker *b,
                               const char *name, const char *pg_url, const char *const *extra_env)
{
        static const char *const targets[] = { "embedding", "memory", "speech", "translation" };
        char v[8][600], topic[128], bin[512];
        const char *env[48];
        size_t n = 0;

        snprintf(v[n], sizeof(v[n]), "CAIRN_PG_URL=%s", pg_url);
        n++;
        snprintf(v[n], sizeof(v[n]), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.workflow.replies"));
        n++;
        snprintf(v[n], sizeof(v[n]), "CAIRN_WORKFLOW_EVENTS_TOPIC=%s",
                 harness_topic("cairn.workflow.v1.events"));
        n++;
        for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++, n++) {
                snprintf(topic, sizeof(topic), "cairn.%s.v1.requests", targets[i]);
                snprintf(v[n], sizeof(v[n]), "CAIRN_WORKFLOW_%c%s_TOPIC=%s",
                         targets[i][0] - 'a' + 'A', targets[i] + 1, harness_topic(topic));
                for (char *c = v[n]; *c && *c != '='; c++)
                        *c = (char)toupper((unsigned char)*c);
        }
        for (size_t i = 0; i < n; i++)
                env[i] = v[i];
        for (size_t i = 0; extra_env && extra_env[i] && n < 47; i++)
                env[n++] = extra_env[i];
        env[n] = NULL;
        snprintf(bin, sizeof(bin), "%s/bin/cairn-workflow", harness_build_dir());
        harness_service_start_bin(p, b, "workflow", name, bin, env);
}

void harness_service_start_bin(struct harness_proc *p, const struct harness_broker *b,
                               const char *service, const char *name, const char *bin,
                               const char *const *extra_env)
{
        char *env[64];
        char *argv[] = { (char *)bin, NULL };
        size_t n;

        memset(p, 0, sizeof(*p));
        snprintf(p->name, sizeof(p->name), "%s", name);
        snprintf(p->log_path, sizeof(p->log_path), "%s/%s.log", b->dir, name);
        p->admin_port = harness_free_port();

        n = dev_env(env, 40);
        if (asprintf(&env[n++], "CAIRN_CONFIG=%s/deploy/dev/%s.yaml", harness_root(), service) <
                    0 ||
            asprintf(&env[n++], "CAIRN_KAFKA_BOOTSTRAP_SERVERS=%s", b->bootstrap) < 0 ||
            asprintf(&env[n++], "CAIRN_ADMIN_PORT=%d", p->admin_port) < 0)
                abort();
        if (b->apache) {
                char topic[128];

                snprintf(topic, sizeof(topic), "cairn.%s.v1.requests", service);
                if (asprintf(&env[n++], "CAIRN_BUS_REQUEST_TOPIC=%s", harness_topic(topic)) < 0)
                        abort();
                snprintf(topic, sizeof(topic), "cairn.%s", service);
                if (asprintf(&env[n++], "CAIRN_BUS_GROUP=%s", harness_topic(topic)) < 0)
                        abort();
        }
        for (size_t i = 0; extra_env && extra_env[i] && n < 62; i++)
                env[n++] = strdup(extra_env[i]);
        env[n] = NULL;
        p->pid = spawn(bin, argv, env, p->log_path);
        for (size_t i = 0; i < n; i++)
                free(env[i]);
}

bool harness_wait_ready(const struct harness_proc *p, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;

        while (cairn_mono_us() < until) {
                char *body = NULL;
                int status = harness_http_get(p->admin_port, "/readyz", &body, 2000);

                free(body);
                if (status == 200)
                        return true;
                if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == p->pid)
                        return false; /* it died */
                msleep(50);
        }
        return false;
}

void harness_proc_signal(const struct harness_proc *p, int sig)
{
        if (p->pid > 0)
                kill(p->pid, sig);
}

int harness_proc_wait(struct harness_proc *p, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;
        int status;

        if (p->pid <= 0)
                return -1;
        do {
                pid_t r = waitpid(p->pid, &status, WNOHANG);

                if (r == p->pid) {
                        p->pid = 0;
                        return status;
                }
                msleep(10);
        } while (cairn_mono_us() < until);
        return -1;
}

double harness_proc_cpu_us(pid_t pid)
{
        char path[64], buf[1024], *p;
        unsigned long long utime = 0, stime = 0;
        FILE *fp;
        size_t n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fp = fopen(path, "r");
        ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        /* The command name may hold spaces and parentheses: the fields
         * after its last ')' are state (3) on, utime and stime are 14, 15. */
        p = strrchr(buf, ')');
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                &utime, &stime),
                         2);
        return (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

int harness_service_stop(struct harness_proc *p, int timeout_ms)
{
        int status;

        harness_proc_signal(p, SIGTERM);
        status = harness_proc_wait(p, timeout_ms);
        if (status == -1)
                harness_proc_kill(p);
        return status;
}

void harness_proc_kill(struct harness_proc *p)
{
        if (p->pid > 0) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
                p->pid = 0;
        }
}

int harness_raw_connect(int port, const char *source)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1;
        if (source) {
                struct sockaddr_in src = { .sin_family = AF_INET };

                if (inet_pton(AF_INET, source, &src.sin_addr) != 1 ||
                    bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
                        close(fd);
                        return -1;
                }
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                close(fd);
                return -1;
        }
        return fd;
}

char *harness_raw_read(int fd, int timeout_ms, size_t *lenp, bool *closed)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;
        size_t len = 0, cap = 8192;
        char *buf = malloc(cap);

        if (!buf)
                abort();
        *closed = false;
        for (;;) {
                int64_t left_ms = (until - cairn_mono_us()) / 1000;
                struct pollfd pfd = { .fd = fd, .events = POLLIN };

                if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) <= 0)
                        break;
                if (len + 4096 + 1 > cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        if (!buf)
                                abort();
                }
                ssize_t r = read(fd, buf + len, cap - len - 1);
                if (r <= 0) {
                        *closed = true; /* EOF or reset */
                        break;
                }
                len += (size_t)r;
        }
        buf[len] = '\0';
        if (lenp)
                *lenp = len;
        return buf;
}

char *harness_raw_exchange(int port, const void *req, size_t len, int timeout_ms, bool *closed)
{
        int fd = harness_raw_connect(port, NULL);
        char *out;

        *closed = false;
        if (fd < 0)
                return NULL;
        if (write(fd, req, len) != (ssize_t)len) {
                close(fd);
                return NULL;
        }
        out = harness_raw_read(fd, timeout_ms, NULL, closed);
        close(fd);
        return out;
}

int harness_http_get(int port, const char *path, char **body, int timeout_ms)
{
        char req[512];
        bool closed;
        int status = -1;
        int n = snprintf(req, sizeof(req),
                         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
        char *buf = harness_raw_exchange(port, req, (size_t)n, timeout_ms, &closed);

        if (body)
                *body = NULL;
        if (!buf)
                return -1;
        if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
                status = -1;
        char *sep = strstr(buf, "\r\n\r\n");
        if (body && sep)
                *body = strdup(sep + 4);
        free(buf);
        return status;
}

struct cairn_conf *harness_kafka_conf(const struct harness_broker *b, struct cairn_bus_conf *bconf)
{
        char *env[48];
        char errstr[512];
        size_t n = dev_env(env, 40);
        struct cairn_conf_section sec = { "Bus", cairn_bus_conf_items, bconf, NULL };
        struct cairn_conf *conf;

        if (asprintf(&env[n++], "CAIRN_KAFKA_BOOTSTRAP_SERVERS=%s", b->bootstrap) < 0)
                abort();
        env[n] = NULL;
        conf = cairn_conf_load(NULL, &sec, 1, env, errstr, sizeof(errstr));
        ck_assert_msg(conf != NULL, "client config: %s", errstr);
        for (size_t i = 0; i < n; i++)
                free(env[i]);
        return conf;
}

void harness_client_start(struct harness_client *h, const struct harness_broker *b,
                          const char *service)
{
        char errstr[512];

        memset(h, 0, sizeof(*h));
        h->conf = harness_kafka_conf(b, &h->bconf);
        if (b->apache) {
                char name[128];

                snprintf(name, sizeof(name), "cairn.%s.replies", service);
                snprintf(h->reply_topic, sizeof(h->reply_topic), "%s", harness_topic(name));
                h->bconf.reply_topic = h->reply_topic;
                /* Consumers never create topics: reply topics are provisioned. */
                rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(h->reply_topic, 4, 1, NULL, 0);
                apache_create(b->bootstrap, &nt, 1);
        }
        h->metrics = cairn_metrics_new();
        h->cli = cairn_bus_client_new(service, &h->bconf, h->conf, h->metrics, errstr,
                                      sizeof(errstr));
        ck_assert_msg(h->cli != NULL, "bus client: %s", errstr);
}

void harness_client_stop(struct harness_client *h)
{
        cairn_bus_client_free(h->cli);
        cairn_metrics_free(h->metrics);
        cairn_conf_free(h->conf);
        memset(h, 0, sizeof(*h));
}

void harness_write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "w");

        ck_assert_msg(fp != NULL, "cannot write %s: %s", path, strerror(errno));
        fputs(text, fp);
        ck_assert_int_eq(fclose(fp), 0);
}

int harness_count_in_file(const char *path, const char *needle)
{
        FILE *fp = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0;
        int n = 0;

        if (!fp)
                return -1;
        while (getline(&line, &cap, fp) > 0)
                if (strstr(line, needle))
                        n++;
        free(line);
        fclose(fp);
        return n;
}

double harness_metric(int port, const char *name)
{
        char *body = NULL;
        double v = -1;
        size_t nlen = strlen(name);

        if (harness_http_get(port, "/metrics", &body, 3000) != 200 || !body) {
                free(body);
                return -1;
        }
        for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, name, nlen) == 0 && line[nlen] == ' ') {
                        v = strtod(line + nlen + 1, NULL);
                        break;
                }
        }
        free(body);
        return v;
}

void harness_wait_metric(int port, const char *name, double want, int timeout_ms)
{
        int64_t until = cairn_mono_us() + timeout_ms * 1000LL;
        double v;

        while ((v = harness_metric(port, name)) < want && cairn_mono_us() < until)
                usleep(20 * 1000);
        ck_assert_msg(v >= want, "%s is %g after %d ms, never %g", name, v, timeout_ms, want);
}

void harness_redis_start(struct harness_proc *p, const char *dir, int port)
{
        char bin[] = "redis-server", sport[16], log[512], cmd[128];
        char *argv[] = { bin,         "--bind", "127.0.0.1", "--port",       sport, "--dir",
                         (char *)dir, "--save", "",          "--appendonly", "no",  NULL };

        memset(p, 0, sizeof(*p));
        snprintf(p->name, sizeof(p->name), "redis");
        p->port = port;
        snprintf(sport, sizeof(sport), "%d", port);
        snprintf(log, sizeof(log), "%s/redis.log", dir);
        snprintf(p->log_path, sizeof(p->log_path), "%s", log);
        p->pid = spawn("/usr/bin/redis-server", argv, NULL, log);
        snprintf(cmd, sizeof(cmd), "redis-cli -p %d ping >/dev/null 2>&1", port);
        for (int i = 0; i < 200; i++) {
                if (system(cmd) == 0)
                        return;
                msleep(25);
        }
        ck_abort_msg("redis-server did not start on port %d (see %s)", port, log);
}

int harness_sh(char *out, size_t size, const char *cmd)
{
        char full[4096], sink[512];
        FILE *fp;
        size_t len = 0;
        int rc;

        snprintf(full, sizeof(full), "( %s ) 2>&1", cmd);
        fp = popen(full, "r");
        ck_assert_msg(fp != NULL, "popen %s", cmd);
        if (!out || size == 0) {
                out = sink;
                size = sizeof(sink);
        }
        for (;;) {
                size_t room = len + 1 < size ? size - 1 - len : 0;
                size_t n = fread(room ? out + len : sink, 1, room ? room : sizeof(sink), fp);

                if (n == 0)
                        break;
                if (room)
                        len += n;
        }
        out[len] = '\0';
        rc = pclose(fp);
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void harness_client_direct(struct harness_client *h, const char *topic, int timeout_ms)
{
        struct cairn_resilience_conf rc;
        char dep[64];

        cairn_bus_dependency_name(topic, dep, sizeof(dep));
        cairn_resilience_conf_init(&rc, dep);
        rc.max_attempts = 1;
        rc.breaker_failures = 0;
        rc.breaker_failure_rate = 0;
        if (timeout_ms > 0)
                rc.timeout_ms = timeout_ms;
        cairn_bus_client_resilience(h->cli, dep, &rc);
}

bool harness_bert_model_dir(const char *test, char *out, size_t size)
{
        return harness_model_dir(test, "all-MiniLM-L6-v2", out, size);
}

bool harness_model_dir(const char *test, const char *model, char *out, size_t size)
{
        const char *ci = getenv("CI");
        char cmd[1024], buf[4096];
        char *last;
        size_t len;
        int rc;

        snprintf(cmd, sizeof(cmd), "'%s/deploy/models.sh' path '%s'", harness_root(), model);
        rc = harness_sh(buf, sizeof(buf), cmd);
        if (rc == 75 && !(ci && strcmp(ci, "true") == 0)) {
                printf("######################################################################\n"
                       "## SKIPPED: %s: the model cannot be fetched "
                       "(deploy/models.sh: no PyPI, no cache)\n"
                       "######################################################################\n",
                       test);
                return false;
        }
        ck_assert_msg(rc == 0, "deploy/models.sh path failed (%d):\n%s", rc, buf);
        len = strlen(buf);
        while (len && buf[len - 1] == '\n')
                buf[--len] = '\0';
        last = strrchr(buf, '\n');
        last = last ? last + 1 : buf;
        ck_assert_msg(strlen(last) < size, "model directory path too long: %s", last);
        memcpy(out, last, strlen(last) + 1);
        return true;
}

void harness_pg_restart(struct harness_pg *pg, const char *state)
{
        char cmd[1400], out[1024];

        snprintf(pg->state, sizeof(pg->state), "%s", state);
        snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' start '%s' %d fast", harness_root(),
                 state, pg->port);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s: %s", cmd, out);
}

void harness_pg_start(struct harness_pg *pg, const char *state)
{
        memset(pg, 0, sizeof(*pg));
        pg->port = harness_free_port();
        harness_pg_restart(pg, state);
        snprintf(pg->url, sizeof(pg->url), "postgresql://postgres@127.0.0.1:%d/postgres", pg->port);
}

void harness_pg_stop(struct harness_pg *pg)
{
        char cmd[1200], out[1024];

        if (!pg->state[0])
                return;
        snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' stop '%s'", harness_root(), pg->state);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s: %s", cmd, out);
        pg->state[0] = '\0';
}

/* The server of a test binary run alone, and the process that started it
 * (children forked by the test inherit the atexit handler). */
static struct harness_pg own_pg;
static pid_t own_pg_pid;

static void own_pg_stop(void)
{
        char cmd[1200];

        if (getpid() != own_pg_pid || !own_pg.state[0])
                return;
        snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' stop '%s' >/dev/null 2>&1",
                 harness_root(), own_pg.state);
        if (system(cmd) != 0)
                fprintf(stderr, "harness: stopping the PostgreSQL in %s failed\n", own_pg.state);
        own_pg.state[0] = '\0';
}

static void pg_quiet(void *opaque, const char *message)
{
        (void)opaque;
        (void)message;
}

int harness_pg_scalar(const char *url, const char *sql, char *out, size_t size)
{
        char sink[1];
        PGconn *pq = PQconnectdb(url);
        PGresult *r;
        int rc = -1;

        if (!out || size == 0) {
                out = sink;
                size = sizeof(sink);
        }
        out[0] = '\0';
        if (PQstatus(pq) != CONNECTION_OK) {
                snprintf(out, size, "%s", PQerrorMessage(pq));
                PQfinish(pq);
                return -1;
        }
        PQsetNoticeProcessor(pq, pg_quiet, NULL);
        r = PQexec(pq, sql);
        switch (PQresultStatus(r)) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
                rc = 0;
                if (PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0))
                        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
                break;
        default:
                snprintf(out, size, "%s", PQresultErrorMessage(r));
                break;
        }
        PQclear(r);
        PQfinish(pq);
        return rc;
}

void harness_pg_database(char *url, size_t size)
{
        static int n;
        const char *shared = getenv("TESTS_PG_URL");
        const char *server = shared;
        char sql[256], name[64], out[512];
        const char *slash;

        if (!shared || !shared[0]) {
                if (!own_pg.state[0]) {
                        const char *tmp = getenv("TMPDIR");
                        char state[512];

                        snprintf(state, sizeof(state), "%s/pg-%d", tmp && tmp[0] ? tmp : "/tmp",
                                 (int)getpid());
                        own_pg_pid = getpid();
                        atexit(own_pg_stop);
                        harness_pg_start(&own_pg, state);
                }
                server = own_pg.url;
        }
        snprintf(name, sizeof(name), "it_%d_%d", (int)getpid(), ++n);
        /* A database left by an earlier run of a process with this pid goes first. */
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
        ck_assert_msg(harness_pg_scalar(server, sql, out, sizeof(out)) == 0, "%s: %s", sql, out);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0", name);
        ck_assert_msg(harness_pg_scalar(server, sql, out, sizeof(out)) == 0, "%s: %s", sql, out);
        /* The server's URL names its maintenance database last: swap it. */
        slash = strrchr(server, '/');
        ck_assert_msg(slash != NULL, "TESTS_PG_URL %s names no database", server);
        snprintf(url, size, "%.*s/%s", (int)(slash - server), server, name);
}

void harness_samples_init(struct harness_samples *s, size_t cap)
{
        s->v = malloc(sizeof(double) * cap);
        if (!s->v)
                abort();
        s->cap = cap;
        atomic_init(&s->n, 0);
}

void harness_samples_add(struct harness_samples *s, double v)
{
        size_t i = atomic_fetch_add(&s->n, 1);

        if (i < s->cap)
                s->v[i] = v;
}

size_t harness_samples_count(struct harness_samples *s)
{
        return atomic_load(&s->n);
}

void harness_samples_reset(struct harness_samples *s)
{
        atomic_store(&s->n, 0);
}

int harness_cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

double harness_samples_pct(struct harness_samples *s, double p)
{
        size_t n = atomic_load(&s->n);

        if (n > s->cap)
                n = s->cap;
        if (!n)
                return NAN;
        qsort(s->v, n, sizeof(double), harness_cmp_double);
        return s->v[(size_t)(p * (double)(n - 1))];
}

void harness_samples_free(struct harness_samples *s)
{
        free(s->v);
        s->v = NULL;
}

int harness_bench_run(const char *name, const TTest *test, double timeout_s, SFun teardown)
{
        Suite *s = suite_create("bench");
        TCase *tc = tcase_create(name);
        SRunner *sr;
        int failed;

        tcase_set_timeout(tc, timeout_s);
        if (teardown)
                tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_SILENT);
        failed = srunner_ntests_failed(sr);
        if (failed)
                srunner_print(sr, CK_NORMAL);
        srunner_free(sr);
        return failed ? 1 : 0;
}

int harness_run(Suite *s)
{
        SRunner *sr = srunner_create(s);
        int failed;

        /* A peer that closes a socket the test still writes to (the
         * gateway cutting a slow body) is an EPIPE the test checks, not a
         * signal that ends the whole suite without a word. */
        signal(SIGPIPE, SIG_IGN);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}

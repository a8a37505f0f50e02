/* The stack, calls, events and CPU accounting of the workflow benchmarks
 * (workflow.h). */
#define _GNU_SOURCE
#include "workflow.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus_kafka.h"
#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/pbjson.h"
#include "proc.h"

#define CALL_TIMEOUT_MS 120000

/* A call step "id" after the steps in @p after (a JSON fragment ending in
 * ", " or empty) embedding @p text, with the request's extra fields @p more
 * (a JSON fragment starting with ", " or empty). */
/* clang-format off */
#define EMBED_STEP(id, after, text, more)                                              \
        "{\"id\": \"" id "\", " after "\"call\": {\"service\": \"embedding\", "        \
        "\"type\": \"cairn.embedding.v1.EmbedRequest\", \"request\": {\"model\": \""   \
        BENCH_WF_MODEL "\", \"inputs\": [\"" text "\"]" more "}}}"

#define THREE_STEPS(type, more)                                                        \
        "{\"type\": \"" type "\", \"steps\": ["                                        \
        EMBED_STEP("a", "", "${input.text}", more) ", "                                \
        EMBED_STEP("b", "\"after\": [\"a\"], ", "${steps.a.output.model}", more) ", "  \
        EMBED_STEP("c", "\"after\": [\"b\"], ", "${steps.b.output.model}", more) "], " \
        "\"output\": {\"model\": \"${steps.c.output.model}\", "                        \
        "\"dimensions\": \"${steps.c.output.dimensions}\"}}"
/* clang-format on */

const char bench_wf_three_steps[] = THREE_STEPS("bench-three", "");
const char bench_wf_three_steps_16[] = THREE_STEPS("bench-three-16", ", \"dimensions\": 16");

/* ---- PostgreSQL with pg_stat_statements ---- */

/* Loads pg_stat_statements into the server just started: the library is
 * read only at server start, so the server restarts (pg_ctl restart keeps
 * the options it was started with). Says why not in w->statements_why. */
static void statements_enable(struct bench_wf *w)
{
        char out[1024], dir[512] = "", cmd[2400];

        if (harness_pg_scalar(w->pg.url,
                              "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
                              out, sizeof(out)) != 0) {
                snprintf(w->statements_why, sizeof(w->statements_why), "ALTER SYSTEM: %.200s", out);
                return;
        }
        snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' status '%s'", harness_root(), w->state);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s: %s", cmd, out);
        ck_assert_int_eq(sscanf(out, "%*d %511s", dir), 1);
        /* the server's output goes to its log, not to the pipe harness_sh reads */
        snprintf(cmd, sizeof(cmd),
                 "cd / && PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1) && "
                 "%s \"$PG_BIN/pg_ctl\" -D '%s/data' -l '%s/server.log' -w -t 30 -m fast restart",
                 geteuid() == 0 ? "runuser -u postgres --" : "", dir, dir);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "%s: %s", cmd, out);
        if (harness_pg_scalar(w->pg.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", out,
                              sizeof(out)) != 0) {
                snprintf(w->statements_why, sizeof(w->statements_why),
                         "CREATE EXTENSION pg_stat_statements: %.200s", out);
                return;
        }
        w->statements = true;
}

void bench_wf_pg_xacts(struct bench_wf *w, double *commits, double *rollbacks)
{
        char out[256];

        ck_assert_msg(harness_pg_scalar(w->pg.url,
                                        "SELECT sum(xact_commit) || ' ' || sum(xact_rollback) "
                                        "FROM pg_stat_database",
                                        out, sizeof(out)) == 0,
                      "pg_stat_database: %s", out);
        ck_assert_int_eq(sscanf(out, "%lf %lf", commits, rollbacks), 2);
}

void bench_wf_analyze(struct bench_wf *w)
{
        char out[512];

        ck_assert_msg(harness_pg_scalar(w->pg.url, "ANALYZE", out, sizeof(out)) == 0, "ANALYZE: %s",
                      out);
}

double bench_wf_statement_ms(struct bench_wf *w, const char *pattern, double *calls)
{
        char sql[1024], out[256];
        double ms = 0;

        *calls = 0;
        if (!w->statements)
                return -1;
        /* the pattern is the benchmark's own text */
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(total_exec_time), 0) FROM "
                 "pg_stat_statements WHERE query LIKE '%s'",
                 pattern);
        ck_assert_msg(harness_pg_scalar(w->pg.url, sql, out, sizeof(out)) == 0,
                      "pg_stat_statements: %s", out);
        ck_assert_int_eq(sscanf(out, "%lf %lf", calls, &ms), 2);
        return *calls > 0 ? ms / *calls : -1;
}

void bench_wf_statements_reset(struct bench_wf *w)
{
        char out[512];

        if (w->statements)
                ck_assert_msg(harness_pg_scalar(w->pg.url, "SELECT pg_stat_statements_reset()", out,
                                                sizeof(out)) == 0,
                              "pg_stat_statements_reset: %s", out);
}

void bench_wf_statements_print(struct bench_wf *w, const char *name, double units, int top)
{
        char sql[1024], out[16384], *line, *save = NULL;
        double total = 0;
        int i = 0;

        if (!w->statements) {
                printf("%s_stmt_skipped %s\n", name, w->statements_why);
                return;
        }
        ck_assert_msg(harness_pg_scalar(w->pg.url,
                                        "SELECT coalesce(sum(total_exec_time), 0) FROM "
                                        "pg_stat_statements WHERE query NOT LIKE "
                                        "'%pg_stat_statements%'",
                                        out, sizeof(out)) == 0,
                      "pg_stat_statements: %s", out);
        total = atof(out);
        /* one row of text: calls, total ms, the statement on one line */
        snprintf(sql, sizeof(sql),
                 "SELECT string_agg(calls || E'\\t' || round(total_exec_time::numeric, 3) || "
                 "E'\\t' || left(regexp_replace(query, '\\s+', ' ', 'g'), 100), E'\\n' ORDER BY "
                 "total_exec_time DESC) FROM (SELECT * FROM pg_stat_statements WHERE query NOT "
                 "LIKE '%%pg_stat_statements%%' ORDER BY total_exec_time DESC LIMIT %d) s",
                 top);
        ck_assert_msg(harness_pg_scalar(w->pg.url, sql, out, sizeof(out)) == 0,
                      "pg_stat_statements: %s", out);
        printf("%s_stmt_total_ms_per_unit %.4f\n", name, units > 0 ? total / units : 0);
        ck_assert(harness_pg_scalar(w->pg.url,
                                    "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                                    "WHERE query NOT LIKE '%pg_stat_statements%'",
                                    sql, sizeof(sql)) == 0);
        printf("%s_stmt_calls_per_unit %.2f\n", name, units > 0 ? atof(sql) / units : 0);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
                double calls, ms;
                char *q = strchr(line, '\t');

                q = q ? strchr(q + 1, '\t') : NULL;
                if (!q || sscanf(line, "%lf\t%lf", &calls, &ms) != 2)
                        continue;
                printf("%s_stmt_%d_calls_per_unit %.2f\n%s_stmt_%d_ms_per_call %.4f\n"
                       "%s_stmt_%d_ms_per_unit %.4f\n%s_stmt_%d_share %.3f\n%s_stmt_%d_query %s\n",
                       name, i, units > 0 ? calls / units : 0, name, i, calls > 0 ? ms / calls : 0,
                       name, i, units > 0 ? ms / units : 0, name, i, total > 0 ? ms / total : 0,
                       name, i, q + 1);
        }
        printf("%s_stmt_count %d\n", name, i);
}

/* ---- the events consumer ---- */

static void *events_main(void *arg)
{
        struct bench_wf *w = arg;

        while (!atomic_load(&w->ev_stop)) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(w->ev_rk, 100);
                int64_t at = cairn_mono_us();
                bench_wf_event *ev;

                if (!m)
                        continue;
                if (!m->err &&
                    (ev = cairn__workflow__v1__workflow_event__unpack(NULL, m->len, m->payload))) {
                        w->on_event(w->opaque, ev, at);
                        cairn__workflow__v1__workflow_event__free_unpacked(ev, NULL);
                }
                rd_kafka_message_destroy(m);
        }
        return NULL;
}

/* A consumer of every partition of the events topic from its present end
 * (the high watermarks, so nothing published afterwards is missed), with
 * the pass's client settings. */
static void events_start(struct bench_wf *w)
{
        struct cairn_bus_conf bconf;
        struct cairn_conf *conf = harness_kafka_conf(&w->broker, &bconf);
        const char *over[] = { "group.id", harness_topic("bench-wf-events"), "enable.auto.commit",
                               "false", NULL };
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_topic_t *rkt;
        rd_kafka_conf_t *kconf;
        char errstr[512];

        kconf = cairn_kafka_conf_new(conf, NULL, over, errstr, sizeof(errstr));
        ck_assert_msg(kconf != NULL, "%s", errstr);
        w->ev_rk = cairn_kafka_new(RD_KAFKA_CONSUMER, kconf, errstr, sizeof(errstr));
        ck_assert_msg(w->ev_rk != NULL, "%s", errstr);
        cairn_conf_free(conf);
        rd_kafka_poll_set_consumer(w->ev_rk);
        rkt = rd_kafka_topic_new(w->ev_rk, w->events, NULL);
        ck_assert(rd_kafka_metadata(w->ev_rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
        ck_assert_msg(md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0,
                      "no partitions of %s", w->events);
        parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int p = 0; p < md->topics[0].partition_cnt; p++) {
                int64_t lo = 0, hi = 0;

                ck_assert(rd_kafka_query_watermark_offsets(w->ev_rk, w->events, p, &lo, &hi,
                                                           10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
                rd_kafka_topic_partition_list_add(parts, w->events, p)->offset = hi;
        }
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        ck_assert(rd_kafka_assign(w->ev_rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_destroy(parts);
        atomic_store(&w->ev_stop, false);
        ck_assert_int_eq(pthread_create(&w->ev_thread, NULL, events_main, w), 0);
}

static void events_stop(struct bench_wf *w)
{
        if (!w->ev_rk)
                return;
        atomic_store(&w->ev_stop, true);
        pthread_join(w->ev_thread, NULL);
        rd_kafka_consumer_close(w->ev_rk);
        rd_kafka_destroy(w->ev_rk);
        w->ev_rk = NULL;
}

/* ---- the stack ---- */

void bench_wf_start(struct bench_wf *w, const char *name, const char *const *workflow_env,
                    bench_wf_event_fn on_event, void *opaque)
{
        const char *tmp = getenv("TMPDIR");

        memset(w, 0, sizeof(*w));
        w->workflow_env = workflow_env;
        w->on_event = on_event;
        w->opaque = opaque;
        snprintf(w->state, sizeof(w->state), "%s/bench-%s-%d", tmp && tmp[0] ? tmp : "/tmp", name,
                 (int)getpid());
        harness_broker_start(&w->broker, 1);
        harness_pg_start(&w->pg, w->state);
        statements_enable(w);
        w->requests = harness_topic("cairn.workflow.v1.requests");
        w->embed = harness_topic("cairn.embedding.v1.requests");
        w->events = harness_topic("cairn.workflow.v1.events");
        harness_service_start(&w->embedding, &w->broker, "embedding", NULL);
        harness_workflow_start(&w->workflow, &w->broker, w->pg.url, workflow_env);
        ck_assert_msg(harness_wait_ready(&w->embedding, 60000), "embedding not ready (%s)",
                      w->embedding.log_path);
        ck_assert_msg(harness_wait_ready(&w->workflow, 60000), "workflow not ready (%s)",
                      w->workflow.log_path);
        harness_client_start(&w->client, &w->broker, "bench-wf");
        harness_client_direct(&w->client, w->requests, CALL_TIMEOUT_MS);
        harness_client_direct(&w->client, w->embed, CALL_TIMEOUT_MS);
        events_start(w);
}

void bench_wf_stop(struct bench_wf *w)
{
        events_stop(w);
        if (w->client.cli)
                harness_client_stop(&w->client);
        if (w->workflow.pid > 0)
                harness_service_stop(&w->workflow, 30000);
        if (w->embedding.pid > 0)
                harness_service_stop(&w->embedding, 10000);
        harness_pg_stop(&w->pg);
        harness_broker_stop(&w->broker);
}

void bench_wf_workflow_restart(struct bench_wf *w)
{
        harness_workflow_start(&w->workflow, &w->broker, w->pg.url, w->workflow_env);
}

double bench_wf_wait_ready_ms(struct bench_wf *w, int timeout_ms)
{
        int64_t t0 = cairn_mono_us(), until = t0 + (int64_t)timeout_ms * 1000;

        while (cairn_mono_us() < until) {
                char *body = NULL;
                int status = harness_http_get(w->workflow.admin_port, "/readyz", &body, 1000);

                free(body);
                if (status == 200)
                        return (double)(cairn_mono_us() - t0) / 1000.0;
                if (waitpid(w->workflow.pid, NULL, WNOHANG) == w->workflow.pid)
                        return -1;
                usleep(10 * 1000);
        }
        return -1;
}

/* ---- calls ---- */

void bench_wf_register(struct bench_wf *w, const char *json)
{
        struct cairn_call_opts opts = { .timeout_ms = 20000, .role = "admin" };
        struct cairn_pbjson_error jerr = { 0 };
        ProtobufCMessage *in = NULL, *out = NULL;
        struct cairn_status st;
        char *req;

        ck_assert_int_ge(asprintf(&req, "{\"definition\": %s}", json), 0);
        ck_assert_msg(
                cairn_pbjson_parse(&cairn__workflow__v1__register_definition_request__descriptor,
                                   req, strlen(req), 64, &in, &jerr) == CAIRN_OK,
                "%s: %s", jerr.field, jerr.message);
        ck_assert_msg(cairn_bus_call(w->client.cli, w->requests, BENCH_WF_TENANT, in, &opts,
                                     &cairn__workflow__v1__register_definition_reply__descriptor,
                                     NULL, &out, &st) == CAIRN_OK,
                      "register: %s", st.message);
        protobuf_c_message_free_unpacked(out, NULL);
        protobuf_c_message_free_unpacked(in, NULL);
        free(req);
}

bool bench_wf_start_run(struct bench_wf *w, const char *type, const char *id, const char *input,
                        cairn_call_cb cb, void *opaque)
{
        struct cairn_call_opts opts = { .timeout_ms = CALL_TIMEOUT_MS, .role = "member" };
        struct cairn_pbjson_error jerr = { 0 };
        ProtobufCMessage *in = NULL;
        struct cairn_status st;
        char *req;
        bool ok;

        ck_assert_int_ge(asprintf(&req, "{\"type\": \"%s\", \"workflowId\": \"%s\", \"input\": %s}",
                                  type, id, input),
                         0);
        ck_assert_msg(cairn_pbjson_parse(&cairn__workflow__v1__start_run_request__descriptor, req,
                                         strlen(req), 64, &in, &jerr) == CAIRN_OK,
                      "%s: %s", jerr.field, jerr.message);
        ok = cairn_bus_call_async(w->client.cli, w->requests, BENCH_WF_TENANT, in, &opts, cb,
                                  opaque, &st) == CAIRN_OK;
        if (!ok)
                fprintf(stderr, "start %s: %s\n", id, st.message);
        protobuf_c_message_free_unpacked(in, NULL);
        free(req);
        return ok;
}

bool bench_wf_embed(struct bench_wf *w, const char *text, cairn_call_cb cb, void *opaque)
{
        Cairn__Embedding__V1__EmbedRequest in = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        struct cairn_call_opts opts = { .timeout_ms = CALL_TIMEOUT_MS };
        char *inputs[1] = { (char *)text };
        struct cairn_status st;
        bool ok;

        in.model = BENCH_WF_MODEL;
        in.inputs = inputs;
        in.n_inputs = 1;
        ok = cairn_bus_call_async(w->client.cli, w->embed, BENCH_WF_TENANT, &in.base, &opts, cb,
                                  opaque, &st) == CAIRN_OK;
        if (!ok)
                fprintf(stderr, "embed: %s\n", st.message);
        return ok;
}

struct chain {
        struct bench_wf *w;
        int64_t t0;
        int64_t answered[BENCH_WF_STEPS];
        int n;
        bench_wf_chain_fn done;
        void *opaque;
};

static void chain_cb(const struct cairn_reply *reply, void *opaque)
{
        struct chain *c = opaque;
        Cairn__Embedding__V1__EmbedReply *r = NULL;
        bool ok = reply->err == CAIRN_OK;

        c->answered[c->n++] = cairn_mono_us();
        if (ok && c->n < BENCH_WF_STEPS) {
                r = cairn__embedding__v1__embed_reply__unpack(NULL, reply->len, reply->payload);
                ok = r && r->model && bench_wf_embed(c->w, r->model, chain_cb, c);
                if (r)
                        cairn__embedding__v1__embed_reply__free_unpacked(r, NULL);
                if (ok)
                        return;
        } else if (!ok) {
                fprintf(stderr, "chain call %d: %s\n", c->n, reply->st.message);
        }
        c->done(c->opaque, c->t0, c->answered, ok);
        free(c);
}

bool bench_wf_chain_start(struct bench_wf *w, int64_t t0, bench_wf_chain_fn done, void *opaque)
{
        struct chain *c = calloc(1, sizeof(*c));

        ck_assert_ptr_nonnull(c);
        c->w = w;
        c->t0 = t0;
        c->done = done;
        c->opaque = opaque;
        if (bench_wf_embed(w, BENCH_WF_TEXT, chain_cb, c))
                return true;
        free(c);
        return false;
}

/* ---- CPU ---- */

void bench_wf_cpu_now(struct bench_wf *w, struct bench_wf_cpu *c)
{
        c->all = bench_machine_busy_us();
        c->at = cairn_mono_us();
        c->workflow = harness_proc_cpu_us(w->workflow.pid);
        c->pg = bench_tree_cpu_us(bench_pg_postmaster(w->pg.port));
        c->broker = harness_proc_cpu_us(bench_broker_pid(&w->broker));
        c->embedding = harness_proc_cpu_us(w->embedding.pid);
        c->client = harness_proc_cpu_us(getpid());
}

void bench_wf_cpu_add(struct bench_wf_cpu *sum, const struct bench_wf_cpu *a,
                      const struct bench_wf_cpu *b)
{
        sum->workflow += b->workflow - a->workflow;
        sum->pg += b->pg - a->pg;
        sum->broker += b->broker - a->broker;
        sum->embedding += b->embedding - a->embedding;
        sum->client += b->client - a->client;
        sum->all += b->all - a->all;
        sum->at += b->at - a->at;
}

void bench_wf_cpu_print(const char *name, const struct bench_wf_cpu *c, double units)
{
        double ours = c->workflow + c->pg + c->broker + c->embedding + c->client;

        if (units <= 0 || c->at <= 0)
                return;
        printf("%s_cpu_us_workflow %.0f\n%s_cpu_us_pg %.0f\n%s_cpu_us_broker %.0f\n"
               "%s_cpu_us_embedding %.0f\n%s_cpu_us_client %.0f\n",
               name, c->workflow / units, name, c->pg / units, name, c->broker / units, name,
               c->embedding / units, name, c->client / units);
        printf("%s_cores_ours %.2f\n%s_cores_others %.2f\n", name, ours / (double)c->at, name,
               c->all > ours ? (c->all - ours) / (double)c->at : 0.0);
}

/* ---- perf ---- */

/* "PID,PID,..." of the postmaster on @p port and its children. */
static void pg_pids(const struct bench_wf *w, char *out, size_t size)
{
        pid_t pm = bench_pg_postmaster(w->pg.port);
        size_t len = (size_t)snprintf(out, size, "%d", (int)pm);
        struct dirent *e;
        DIR *d = opendir("/proc");

        while (d && (e = readdir(d)) && len + 16 < size) {
                char path[64], buf[512], *p;
                long pid = atol(e->d_name), ppid = 0;
                FILE *fp;
                size_t n;

                if (pid <= 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
                if (!(fp = fopen(path, "r")))
                        continue;
                n = fread(buf, 1, sizeof(buf) - 1, fp);
                fclose(fp);
                buf[n] = '\0';
                p = strrchr(buf, ')');
                if (p && sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == pm)
                        len += (size_t)snprintf(out + len, size - len, ",%ld", pid);
        }
        if (d)
                closedir(d);
}

bool bench_wf_perf_record(struct bench_wf *w, const char *dir, int seconds, char *why,
                          size_t why_size)
{
        char pids[4096], cmd[6000], out[2048];

        if (harness_sh(out, sizeof(out), "perf --version") != 0) {
                snprintf(why, why_size, "perf is not installed");
                return false;
        }
        pg_pids(w, pids, sizeof(pids));
        snprintf(cmd, sizeof(cmd),
                 "perf record -q -F 499 -o '%s/workflow.data' -p %d -- sleep %d & "
                 "perf record -q -F 499 -o '%s/pg.data' -p %s -- sleep %d & wait",
                 dir, (int)w->workflow.pid, seconds, dir, pids, seconds);
        if (harness_sh(out, sizeof(out), cmd) != 0) {
                snprintf(why, why_size, "perf record failed: %.200s", out);
                return false;
        }
        return true;
}

void bench_wf_perf_print(const char *file, const char *name, int n)
{
        static const char *const keys[] = { "comm", "dso", "sym" };

        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                char cmd[1200], line[1024];
                long samples = 0;
                int i = 0;
                FILE *fp;

                snprintf(cmd, sizeof(cmd),
                         "perf report -i '%s' --stdio -n --sort %s 2>/dev/null | grep -v '^#'",
                         file, keys[k]);
                fp = popen(cmd, "r");
                ck_assert_msg(fp != NULL, "%s", cmd);
                while (fgets(line, sizeof(line), fp)) {
                        double pct;
                        long count;
                        int off = 0;
                        char *what;

                        if (sscanf(line, " %lf%% %ld %n", &pct, &count, &off) != 2 || !off)
                                continue;
                        samples += count;
                        if (i >= n)
                                continue;
                        what = line + off;
                        what[strcspn(what, "\n")] = '\0';
                        for (size_t e = strlen(what); e > 0 && what[e - 1] == ' '; e--)
                                what[e - 1] = '\0';
                        /* "[.] symbol", "[k] symbol": the kernel's is worth saying */
                        if (strncmp(what, "[.] ", 4) == 0)
                                what += 4;
                        printf("%s_%s_%d_pct %.1f\n%s_%s_%d_name %s\n", name, keys[k], i, pct, name,
                               keys[k], i, what);
                        i++;
                }
                pclose(fp);
                if (k == 0)
                        printf("%s_samples %ld\n", name, samples);
        }
}

/* ---- reporting ---- */

void bench_wf_print_load(const char *name)
{
        char load[64] = "";
        FILE *fp = fopen("/proc/loadavg", "r");
        double a = 0, b = 0, c = 0;

        if (fp && fscanf(fp, "%lf %lf %lf", &a, &b, &c) == 3)
                snprintf(load, sizeof(load), "%.2f %.2f %.2f", a, b, c);
        if (fp)
                fclose(fp);
        printf("%s %s\n", name, load);
}

double bench_wf_pct_ms(struct harness_samples *s, double p)
{
        return harness_samples_pct(s, p) / 1000.0;
}

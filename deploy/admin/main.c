/* cairn-admin: the operator's tool for a Kafka cluster and the databases
 * running Cairn.
 *   cairn-admin [-c FILE] topics apply TOPICS.yaml   create what is missing, add partitions,
 *                                                    set configs that drifted
 *   cairn-admin [-c FILE] topics diff TOPICS.yaml    report drift; exit 1 when there is any
 *   cairn-admin [-c FILE] migrate status SERVICE     list a service's migrations, applied or
 *                                                    pending; exit 1 when some are pending
 *   cairn-admin [-c FILE] migrate up SERVICE         apply the pending ones (migrate.c)
 *   cairn-admin [-c FILE] audit verify               walk the secrets service's audit chain;
 *                                                    exit 1 when it is broken (audit.c)
 *   cairn-admin workflow validate FILE               check a workflow definition (YAML or
 *                                                    JSON) as the service would (workflow.c)
 *   cairn-admin [-c FILE] workflow register FILE     check it, then register it over Kafka
 *   cairn-admin [-c FILE] workflow list              the registered workflow types
 * Connection settings are the usual kafka.* keys (file or CAIRN_KAFKA_*) and
 * pg.url (file or CAIRN_PG_URL).
 * It never deletes a topic, never lowers partitions and never touches a
 * topic the file does not name. Exit codes: 0 as declared (or made so),
 * 1 drift found (diff) or left behind (apply), migrations pending
 * (status), an audit chain broken (verify), or a workflow definition
 * refused (validate, register), 2 an error. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/conf.h"
#include "cairn/kafka_conf.h"
#include "cairn/log.h"
#include "audit.h"
#include "cairn/pg.h"
#include "migrate.h"
#include "topics.h"
#include "workflow.h"

struct tool_conf {
        long long timeout_ms;
        long long replicas;
};

static struct tool_conf tconf;
static struct cairn_pg_conf pconf;
static struct workflow_conf wconf;

#define CAIRN_CONF_STRUCT struct tool_conf
static const struct cairn_conf_item tool_conf_items[] = {
        CAIRN_CONF_ROW("topics.timeout_ms", CAIRN_CONF_INT, "30000", 100, 600000, 0, timeout_ms,
                       "how long cairn-admin waits for each answer of the cluster"),
        CAIRN_CONF_ROW("topics.replication_factor", CAIRN_CONF_INT, "0", 0, 32767, 0, replicas,
                       "0: as the topics file says; N: every topic with N replicas and "
                       "min.insync.replicas at most N (a cluster smaller than the file's)"),
        CAIRN_CONF_END,
};

struct admin {
        rd_kafka_t *rk;
        rd_kafka_queue_t *q;
        int timeout_ms;
};

static void usage(FILE *fp)
{
        fprintf(fp,
                "usage: cairn-admin [-c FILE] topics apply|diff TOPICS.yaml\n"
                "       cairn-admin topics list TOPICS.yaml [MAX_PARTITIONS]\n"
                "       cairn-admin [-c FILE] migrate status|up SERVICE\n"
                "       cairn-admin [-c FILE] audit verify\n"
                "       cairn-admin workflow validate FILE\n"
                "       cairn-admin [-c FILE] workflow register|list [FILE]\n"
                "       cairn-admin [-c FILE] --check-config\n"
                "  topics apply   create missing topics, add partitions, set configs that drifted\n"
                "                 (never deletes, never lowers partitions); a second run changes\n"
                "                 nothing\n"
                "  topics diff    report drift between the file and the cluster; exit 1 when there\n"
                "                 is any\n"
                "  topics list    print each topic of the file as \"name partitions\", with at most\n"
                "                 MAX_PARTITIONS partitions (the dev broker's list); no cluster\n"
                "  migrate status list SERVICE's migrations compiled into this binary, applied or\n"
                "                 pending, against the database of pg.url; exit 1 when some are\n"
                "                 pending\n"
                "  migrate up     apply the pending ones, each in its own transaction\n"
                "  audit verify   walk the secrets service's audit hash chain in the database of\n"
                "                 pg.url from its first row to its head; print the rows checked\n"
                "                 and ok, or the first broken row's seq and why; exit 1 when\n"
                "                 broken\n"
                "  workflow validate  check the workflow definition in FILE (.yaml, .yml or\n"
                "                 .json) as the workflow service would; exit 1 when refused;\n"
                "                 no cluster\n"
                "  workflow register  check FILE, then register it with the workflow service\n"
                "                 (workflow.topic) as cairn-admin, role admin; print the type\n"
                "                 and version; exit 1 when refused\n"
                "  workflow list  the latest version of every registered workflow type\n"
                "  -c FILE  configuration (kafka.* keys, topics.*, pg.*, workflow.*); default\n"
                "           $CAIRN_CONFIG; CAIRN_KAFKA_BOOTSTRAP_SERVERS, CAIRN_PG_URL etc.\n"
                "           override it\n"
                "  --check-config  load the configuration, say whether it is valid and exit\n"
                "                  (0 valid, 2 not)\n"
                "  --config-doc  print the configuration reference\n"
                "  -V, --version print the version\n");
}

static int admin_open(struct admin *a, const struct cairn_conf *conf, char *errstr,
                      size_t errstr_size)
{
        /* Only admin requests: no auto-creation through metadata requests. */
        static const char *const overrides[] = { "allow.auto.create.topics", "false", NULL };
        rd_kafka_conf_t *kconf = rd_kafka_conf_new();

        memset(a, 0, sizeof(*a));
        a->timeout_ms = (int)tconf.timeout_ms;
        if (!cairn_conf_kafka_get(conf, "bootstrap.servers")) {
                snprintf(errstr, errstr_size,
                         "config: kafka.bootstrap.servers is required (set it in the file or "
                         "CAIRN_KAFKA_BOOTSTRAP_SERVERS)");
                rd_kafka_conf_destroy(kconf);
                return -1;
        }
        if (cairn_kafka_conf_apply(kconf, conf, NULL, overrides, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(kconf);
                return -1;
        }
        a->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, errstr_size);
        if (!a->rk) {
                rd_kafka_conf_destroy(kconf);
                return -1;
        }
        a->q = rd_kafka_queue_new(a->rk);
        return 0;
}

static void admin_close(struct admin *a)
{
        if (a->q)
                rd_kafka_queue_destroy(a->q);
        if (a->rk)
                rd_kafka_destroy(a->rk);
}

static rd_kafka_AdminOptions_t *admin_options(struct admin *a, rd_kafka_admin_op_t op)
{
        rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(a->rk, op);

        rd_kafka_AdminOptions_set_request_timeout(opts, a->timeout_ms, NULL, 0);
        if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
                rd_kafka_AdminOptions_set_operation_timeout(opts, a->timeout_ms, NULL, 0);
        return opts;
}

/* Waits for the result of one admin request; NULL (with a message) when the
 * request failed as a whole. */
static rd_kafka_event_t *admin_wait(struct admin *a, const char *what)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(a->q, a->timeout_ms + 5000);

        if (!ev) {
                fprintf(stderr, "cairn-admin: %s: no answer from the cluster within %d ms\n", what,
                        a->timeout_ms + 5000);
                return NULL;
        }
        if (rd_kafka_event_error(ev)) {
                fprintf(stderr, "cairn-admin: %s failed: %s\n", what,
                        rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                return NULL;
        }
        return ev;
}

static void state_cleanup(struct topic_state *st)
{
        for (size_t i = 0; i < st->nconfigs; i++) {
                free(st->configs[i].name);
                free(st->configs[i].value);
        }
        free(st->configs);
        memset(st, 0, sizeof(*st));
}

/* Dynamic (per-topic) configs, kept so AlterConfigs, which replaces the
 * whole set, does not drop what was set outside the file. */
struct dyn {
        struct topic_config *configs;
        size_t nconfigs;
};

static void config_push(struct topic_config **arr, size_t *n, const char *name, const char *value)
{
        *arr = realloc(*arr, (*n + 1) * sizeof(**arr));
        if (!*arr)
                abort();
        (*arr)[*n].name = strdup(name);
        (*arr)[*n].value = strdup(value ? value : "");
        if (!(*arr)[*n].name || !(*arr)[*n].value)
                abort();
        (*n)++;
}

/* Fills @p st (and @p dyn) for every topic of @p tf from the cluster.
 * Returns 0, or -1 after printing why. */
static int fetch_state(struct admin *a, const struct topics_file *tf, struct topic_state *st,
                       struct dyn *dyn)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        rd_kafka_ConfigResource_t **res;
        size_t nres = 0;

        err = rd_kafka_metadata(a->rk, 1, NULL, &md, a->timeout_ms);
        if (err) {
                fprintf(stderr, "cairn-admin: metadata request failed: %s\n",
                        rd_kafka_err2str(err));
                return -1;
        }
        res = calloc(tf->ntopics ? tf->ntopics : 1, sizeof(*res));
        if (!res)
                abort();
        for (size_t i = 0; i < tf->ntopics; i++) {
                for (int t = 0; t < md->topic_cnt; t++) {
                        const struct rd_kafka_metadata_topic *mt = &md->topics[t];

                        if (strcmp(mt->topic, tf->topics[i].name) != 0 || mt->err)
                                continue;
                        st[i].exists = true;
                        st[i].partitions = mt->partition_cnt;
                        st[i].replication_factor = mt->partition_cnt > 0
                                                           ? mt->partitions[0].replica_cnt
                                                           : 0;
                        res[nres++] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                                  mt->topic);
                }
        }
        rd_kafka_metadata_destroy(md);
        if (nres == 0) {
                free(res);
                return 0;
        }

        rd_kafka_AdminOptions_t *opts = admin_options(a, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
        rd_kafka_DescribeConfigs(a->rk, res, nres, opts, a->q);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_ConfigResource_destroy_array(res, nres);
        free(res);
        rd_kafka_event_t *ev = admin_wait(a, "DescribeConfigs");
        if (!ev)
                return -1;
        const rd_kafka_DescribeConfigs_result_t *r = rd_kafka_event_DescribeConfigs_result(ev);
        size_t cnt;
        const rd_kafka_ConfigResource_t **rr = rd_kafka_DescribeConfigs_result_resources(r, &cnt);
        int rc = 0;

        for (size_t j = 0; j < cnt; j++) {
                const char *name = rd_kafka_ConfigResource_name(rr[j]);
                size_t i, nent;

                for (i = 0; i < tf->ntopics; i++)
                        if (strcmp(tf->topics[i].name, name) == 0)
                                break;
                if (i == tf->ntopics)
                        continue;
                if (rd_kafka_ConfigResource_error(rr[j])) {
                        fprintf(stderr, "cairn-admin: configs of %s: %s\n", name,
                                rd_kafka_ConfigResource_error_string(rr[j]));
                        rc = -1;
                        continue;
                }
                const rd_kafka_ConfigEntry_t **ent = rd_kafka_ConfigResource_configs(rr[j], &nent);
                for (size_t e = 0; e < nent; e++) {
                        const char *en = rd_kafka_ConfigEntry_name(ent[e]);
                        const char *ev_ = rd_kafka_ConfigEntry_value(ent[e]);

                        config_push(&st[i].configs, &st[i].nconfigs, en, ev_);
                        if (rd_kafka_ConfigEntry_source(ent[e]) ==
                                    RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG &&
                            !rd_kafka_ConfigEntry_is_sensitive(ent[e]) && ev_)
                                config_push(&dyn[i].configs, &dyn[i].nconfigs, en, ev_);
                }
        }
        rd_kafka_event_destroy(ev);
        return rc;
}

/* Checks the per-topic results of CreateTopics/CreatePartitions. */
static int topic_results(const rd_kafka_topic_result_t **tr, size_t cnt, const char *done)
{
        int rc = 0;

        for (size_t i = 0; i < cnt; i++) {
                if (rd_kafka_topic_result_error(tr[i])) {
                        fprintf(stderr, "cairn-admin: %s: %s\n", rd_kafka_topic_result_name(tr[i]),
                                rd_kafka_topic_result_error_string(tr[i]));
                        rc = -1;
                } else {
                        printf("%-10s%s\n", done, rd_kafka_topic_result_name(tr[i]));
                }
        }
        return rc;
}

static int create_topics(struct admin *a, const struct topics_file *tf,
                         const struct topic_plan *plan)
{
        rd_kafka_NewTopic_t **nt = calloc(tf->ntopics, sizeof(*nt));
        char errstr[512];
        size_t n = 0;
        int rc;

        if (!nt)
                abort();
        for (size_t i = 0; i < tf->ntopics; i++) {
                const struct topic_spec *spec = &tf->topics[i];

                if (!plan[i].create)
                        continue;
                nt[n] = rd_kafka_NewTopic_new(spec->name, spec->partitions,
                                              spec->replication_factor, errstr, sizeof(errstr));
                if (!nt[n]) {
                        fprintf(stderr, "cairn-admin: %s: %s\n", spec->name, errstr);
                        rd_kafka_NewTopic_destroy_array(nt, n);
                        free(nt);
                        return -1;
                }
                for (size_t c = 0; c < spec->nconfigs; c++)
                        rd_kafka_NewTopic_set_config(nt[n], spec->configs[c].name,
                                                     spec->configs[c].value);
                n++;
        }
        rd_kafka_AdminOptions_t *opts = admin_options(a, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_CreateTopics(a->rk, nt, n, opts, a->q);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_NewTopic_destroy_array(nt, n);
        free(nt);
        rd_kafka_event_t *ev = admin_wait(a, "CreateTopics");
        if (!ev)
                return -1;
        size_t cnt;
        const rd_kafka_topic_result_t **tr =
                rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        rc = topic_results(tr, cnt, "created");
        rd_kafka_event_destroy(ev);
        return rc;
}

static int grow_partitions(struct admin *a, const struct topics_file *tf,
                           const struct topic_plan *plan)
{
        rd_kafka_NewPartitions_t **np = calloc(tf->ntopics, sizeof(*np));
        char errstr[512];
        size_t n = 0;
        int rc;

        if (!np)
                abort();
        for (size_t i = 0; i < tf->ntopics; i++) {
                if (plan[i].partitions_to <= 0)
                        continue;
                np[n] = rd_kafka_NewPartitions_new(tf->topics[i].name,
                                                   (size_t)plan[i].partitions_to, errstr,
                                                   sizeof(errstr));
                if (!np[n])
                        abort(); /* only fails on a NULL name */
                n++;
        }
        rd_kafka_AdminOptions_t *opts = admin_options(a, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
        rd_kafka_CreatePartitions(a->rk, np, n, opts, a->q);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_NewPartitions_destroy_array(np, n);
        free(np);
        rd_kafka_event_t *ev = admin_wait(a, "CreatePartitions");
        if (!ev)
                return -1;
        size_t cnt;
        const rd_kafka_topic_result_t **tr =
                rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev),
                                                        &cnt);
        rc = topic_results(tr, cnt, "grown");
        rd_kafka_event_destroy(ev);
        return rc;
}

/* AlterConfigs replaces a topic's whole set of dynamic configs, so each
 * request carries every dynamic config the topic has now, with the file's
 * values laid over them: nothing set outside the file is reverted. */
static int alter_configs(struct admin *a, const struct topics_file *tf,
                         const struct topic_plan *plan, const struct dyn *dyn)
{
        rd_kafka_ConfigResource_t **res = calloc(tf->ntopics, sizeof(*res));
        size_t n = 0;
        int rc = 0;

        if (!res)
                abort();
        for (size_t i = 0; i < tf->ntopics; i++) {
                const struct topic_spec *spec = &tf->topics[i];

                if (!plan[i].configs_drift)
                        continue;
                res[n] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, spec->name);
                for (size_t d = 0; d < dyn[i].nconfigs; d++) {
                        bool declared = false;

                        for (size_t c = 0; c < spec->nconfigs; c++)
                                if (strcmp(spec->configs[c].name, dyn[i].configs[d].name) == 0)
                                        declared = true;
                        if (!declared)
                                rd_kafka_ConfigResource_set_config(res[n], dyn[i].configs[d].name,
                                                                   dyn[i].configs[d].value);
                }
                for (size_t c = 0; c < spec->nconfigs; c++)
                        rd_kafka_ConfigResource_set_config(res[n], spec->configs[c].name,
                                                           spec->configs[c].value);
                n++;
        }
        rd_kafka_AdminOptions_t *opts = admin_options(a, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
        rd_kafka_AlterConfigs(a->rk, res, n, opts, a->q);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_ConfigResource_destroy_array(res, n);
        free(res);
        rd_kafka_event_t *ev = admin_wait(a, "AlterConfigs");
        if (!ev)
                return -1;
        size_t cnt;
        const rd_kafka_ConfigResource_t **rr =
                rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev),
                                                       &cnt);
        for (size_t j = 0; j < cnt; j++) {
                if (rd_kafka_ConfigResource_error(rr[j])) {
                        fprintf(stderr, "cairn-admin: configs of %s: %s\n",
                                rd_kafka_ConfigResource_name(rr[j]),
                                rd_kafka_ConfigResource_error_string(rr[j]));
                        rc = -1;
                } else {
                        printf("%-10s%s\n", "altered", rd_kafka_ConfigResource_name(rr[j]));
                }
        }
        rd_kafka_event_destroy(ev);
        return rc;
}

static void states_free(struct topic_state *st, struct dyn *dyn, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                state_cleanup(&st[i]);
                struct topic_state tmp = { .configs = dyn[i].configs, .nconfigs = dyn[i].nconfigs };
                state_cleanup(&tmp);
        }
        free(st);
        free(dyn);
}

/* Changes this tool would still make, as the cluster answers now; -1 when
 * it cannot tell. */
static int pending(struct admin *a, const struct topics_file *tf)
{
        struct topic_state *st = calloc(tf->ntopics + 1, sizeof(*st));
        struct dyn *dyn = calloc(tf->ntopics + 1, sizeof(*dyn));
        int n = 0;

        if (!st || !dyn)
                abort();
        if (fetch_state(a, tf, st, dyn) != 0) {
                n = -1;
        } else {
                for (size_t i = 0; i < tf->ntopics; i++) {
                        struct topic_plan plan;

                        topic_plan_make(&tf->topics[i], &st[i], &plan, NULL);
                        n += plan.create + (plan.partitions_to > 0) + plan.configs_drift;
                }
        }
        states_free(st, dyn, tf->ntopics);
        return n;
}

/* A change is acknowledged once the controller has it; brokers apply it
 * to what they answer a moment later. Waits (boundedly) until the
 * cluster's answers show every change, so a diff right after an apply
 * finds nothing. Returns the changes still not visible. */
static int verify(struct admin *a, const struct topics_file *tf)
{
        int64_t until = cairn_mono_us() + (int64_t)a->timeout_ms * 1000;
        int left;

        for (;;) {
                left = pending(a, tf);
                if (left == 0 || cairn_mono_us() >= until)
                        return left;
                usleep(200000);
        }
}

static int topics_cmd(const struct cairn_conf *conf, bool apply, const char *path)
{
        struct topics_file tf;
        struct admin a;
        char errstr[1024];
        int rc = 2;

        if (topics_file_load(path, &tf, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                return 2;
        }
        if (tconf.replicas > 0)
                topics_file_set_replicas(&tf, (int)tconf.replicas);
        if (admin_open(&a, conf, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                topics_file_cleanup(&tf);
                return 2;
        }
        struct topic_state *st = calloc(tf.ntopics + 1, sizeof(*st));
        struct topic_plan *plan = calloc(tf.ntopics + 1, sizeof(*plan));
        struct dyn *dyn = calloc(tf.ntopics + 1, sizeof(*dyn));
        if (!st || !plan || !dyn)
                abort();
        if (fetch_state(&a, &tf, st, dyn) != 0)
                goto out;

        int drift = 0, ncreate = 0, ngrow = 0, nalter = 0, kept = 0;
        for (size_t i = 0; i < tf.ntopics; i++) {
                int d = topic_plan_make(&tf.topics[i], &st[i], &plan[i], stdout);

                drift += d;
                ncreate += plan[i].create;
                ngrow += plan[i].partitions_to > 0;
                nalter += plan[i].configs_drift;
                kept += plan[i].fewer_partitions || plan[i].rf_differs;
        }
        if (!apply) {
                if (drift)
                        printf("diff: %d difference%s in %zu topics declared in %s\n", drift,
                               drift == 1 ? "" : "s", tf.ntopics, path);
                else
                        printf("diff: no drift: the %zu topics of %s are as declared\n", tf.ntopics,
                               path);
                rc = drift ? 1 : 0;
                goto out;
        }
        if (ncreate + ngrow + nalter == 0) {
                if (kept)
                        printf("apply: nothing this tool changes; %d topic%s differ%s in ways it "
                               "never changes (see above)\n",
                               kept, kept == 1 ? "" : "s", kept == 1 ? "s" : "");
                else
                        printf("apply: nothing to change: the %zu topics of %s are as declared\n",
                               tf.ntopics, path);
                rc = kept ? 1 : 0;
                goto out;
        }
        rc = 0;
        if (ncreate && create_topics(&a, &tf, plan) != 0)
                rc = 2;
        if (ngrow && grow_partitions(&a, &tf, plan) != 0)
                rc = 2;
        if (nalter && alter_configs(&a, &tf, plan, dyn) != 0)
                rc = 2;
        if (rc == 0) {
                int left = verify(&a, &tf);

                if (left != 0) {
                        printf("apply: the cluster does not show %s change%s yet after %d ms\n",
                               left < 0 ? "every" : "each", left == 1 ? "" : "s", a.timeout_ms);
                        rc = 2;
                        goto out;
                }
                printf("apply: %d created, %d grown, %d with configs set", ncreate, ngrow, nalter);
                if (kept)
                        printf("; %d left as they are (see above)", kept);
                printf("\n");
                if (kept)
                        rc = 1;
        }
out:
        states_free(st, dyn, tf.ntopics);
        free(plan);
        admin_close(&a);
        topics_file_cleanup(&tf);
        return rc;
}

/* "name partitions" per topic of @p path, partitions capped at @p max (0:
 * as declared): the dev broker's topic list comes from the production file. */
static int topics_list_cmd(const char *path, const char *max_text)
{
        struct topics_file tf;
        char errstr[512], *end;
        long max = 0;

        if (max_text) {
                max = strtol(max_text, &end, 10);
                if (*end || max < 1 || max > 10000) {
                        fprintf(stderr, "cairn-admin: MAX_PARTITIONS: \"%s\" is not 1..10000\n",
                                max_text);
                        return 2;
                }
        }
        if (topics_file_load(path, &tf, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                return 2;
        }
        for (size_t i = 0; i < tf.ntopics; i++) {
                int n = tf.topics[i].partitions;

                printf("%s %d\n", tf.topics[i].name, max && n > max ? (int)max : n);
        }
        topics_file_cleanup(&tf);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "config-doc", no_argument, NULL, 'D' },
                { "check-config", no_argument, NULL, 'K' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        const struct cairn_conf_section secs[] = {
                { "Topics", tool_conf_items, &tconf, NULL },
                { "PostgreSQL", cairn_pg_conf_items, &pconf, NULL },
                { "Workflow", workflow_conf_items, &wconf, NULL },
        };
        const size_t nsecs = sizeof(secs) / sizeof(secs[0]);
        const char *path = getenv("CAIRN_CONFIG");
        struct cairn_conf *conf;
        char errstr[1024];
        bool check_only = false;
        int c, rc;

        while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        path = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'D': /* the reference for docs/config.md (tests/docs.sh) */
                        cairn_conf_doc(secs, nsecs, stdout);
                        return 0;
                case 'K':
                        check_only = true;
                        break;
                case 'V':
                        printf("cairn-admin %s\n", CAIRN_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        bool topics = argc - optind == 3 && strcmp(argv[optind], "topics") == 0 &&
                      (strcmp(argv[optind + 1], "apply") == 0 ||
                       strcmp(argv[optind + 1], "diff") == 0);
        bool migrate = argc - optind == 3 && strcmp(argv[optind], "migrate") == 0 &&
                       (strcmp(argv[optind + 1], "status") == 0 ||
                        strcmp(argv[optind + 1], "up") == 0);
        bool audit = argc - optind == 2 && strcmp(argv[optind], "audit") == 0 &&
                     strcmp(argv[optind + 1], "verify") == 0;
        bool workflow = (argc - optind == 3 && strcmp(argv[optind], "workflow") == 0 &&
                         strcmp(argv[optind + 1], "register") == 0) ||
                        (argc - optind == 2 && strcmp(argv[optind], "workflow") == 0 &&
                         strcmp(argv[optind + 1], "list") == 0);
        if (argc - optind >= 3 && argc - optind <= 4 && strcmp(argv[optind], "topics") == 0 &&
            strcmp(argv[optind + 1], "list") == 0)
                return topics_list_cmd(argv[optind + 2],
                                       argc - optind == 4 ? argv[optind + 3] : NULL);
        if (argc - optind == 3 && strcmp(argv[optind], "workflow") == 0 &&
            strcmp(argv[optind + 1], "validate") == 0)
                return workflow_validate_cmd(argv[optind + 2]);
        if (!topics && !migrate && !audit && !workflow && !check_only) {
                usage(stderr);
                return 2;
        }
        conf = cairn_conf_load(path && path[0] ? path : NULL, secs, nsecs, NULL, errstr,
                               sizeof(errstr));
        if (!conf) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                return 2;
        }
        if (check_only) {
                printf("cairn-admin: configuration %s is valid\n",
                       path && path[0] ? path : "(environment only)");
                cairn_conf_free(conf);
                return 0;
        }
        if (topics) {
                rc = topics_cmd(conf, strcmp(argv[optind + 1], "apply") == 0, argv[optind + 2]);
        } else if (workflow) {
                rc = strcmp(argv[optind + 1], "list") == 0
                             ? workflow_list_cmd(conf, &wconf)
                             : workflow_register_cmd(conf, &wconf, argv[optind + 2]);
        } else {
                /* Progress goes to stdout as plain lines; the library's own
                 * log lines would only repeat them. */
                cairn_log_set_stream(stderr);
                cairn_log_set_level(CAIRN_LOG_ERROR);
                rc = audit ? audit_verify_cmd(&pconf)
                           : migrate_cmd(&pconf, strcmp(argv[optind + 1], "up") == 0,
                                         argv[optind + 2]);
        }
        cairn_conf_free(conf);
        return rc;
}

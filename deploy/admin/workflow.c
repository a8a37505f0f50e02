/* cairn-admin workflow (workflow.h): definitions read from YAML or JSON,
 * checked with the service's own wf_definition_check(), and registered or
 * listed through a bus client, as the operator's role. */
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cairn/bus.h"
#include "cairn/file.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/pbjson.h"
#include "cairn/yaml.h"

/* A definition file is small; this is generous. */
#define FILE_MAX (1024 * 1024)
/* The definition JSON's nesting, as the gateway allows a request body. */
#define JSON_DEPTH 64

#define PRINCIPAL "cairn-admin"
#define ROLE      "admin"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct workflow_conf
/* clang-format on */
const struct cairn_conf_item workflow_conf_items[] = {
        CAIRN_CONF_ROW("workflow.topic", CAIRN_CONF_STRING, "cairn.workflow.v1.requests", 0, -1, 0,
                       topic, "where cairn-admin workflow register and list send their requests"),
        CAIRN_CONF_ROW("workflow.reply_topic", CAIRN_CONF_STRING, "cairn.admin.replies", 0, -1, 0,
                       reply_topic, "where the workflow service answers cairn-admin"),
        CAIRN_CONF_ROW("workflow.timeout_ms", CAIRN_CONF_INT, "30000", 100, 600000, 0, timeout_ms,
                       "how long cairn-admin waits for the workflow service's answer"),
        CAIRN_CONF_END,
};

/* Every service a step may call, as the workflow service's configuration
 * names them; the topics only matter to the engine. */
static const struct wf_target targets[] = {
        { "embedding", "cairn.embedding.v1.requests" },
        { "memory", "cairn.memory.v1.requests" },
        { "speech", "cairn.speech.v1.requests" },
        { "translation", "cairn.translation.v1.requests" },
        { "secrets", "cairn.secrets.v1.requests" },
};

/* The largest limits the service takes (workflow.max_steps,
 * workflow.max_timer_ms): the service applies its own on registration. */
static const struct wf_def_env env = {
        .targets = targets,
        .ntargets = sizeof(targets) / sizeof(targets[0]),
        .max_steps = 1000,
        .max_duration_ms = 315360000000LL,
};

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The file as JSON: YAML converted, or JSON read as it is. Returns 0, 1
 * (not valid), 2 (unreadable). */
static int file_json(const char *path, json_t **out, char *errstr, size_t errstr_size)
{
        char *text;
        size_t len;

        *out = NULL;
        if (ends_with(path, ".yaml") || ends_with(path, ".yml")) {
                struct cairn_yaml *y;

                text = cairn_file_read(path, FILE_MAX, &len, errstr, errstr_size);
                if (!text)
                        return 2;
                y = cairn_yaml_parse(text, len, path, errstr, errstr_size);
                free(text);
                if (!y)
                        return 1;
                *out = cairn_yaml_to_json(y, path, errstr, errstr_size);
                cairn_yaml_free(y);
                return *out ? 0 : 1;
        }
        if (ends_with(path, ".json")) {
                json_error_t jerr;

                text = cairn_file_read(path, FILE_MAX, &len, errstr, errstr_size);
                if (!text)
                        return 2;
                *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
                free(text);
                if (!*out) {
                        snprintf(errstr, errstr_size, "%s: not valid JSON: %s (line %d)", path,
                                 jerr.text, jerr.line);
                        return 1;
                }
                return 0;
        }
        snprintf(errstr, errstr_size, "%s: a definition file ends in .yaml, .yml or .json", path);
        return 2;
}

int workflow_file_load(const char *path, wf_definition **out, char *errstr, size_t errstr_size)
{
        struct cairn_pbjson_error perr;
        struct cairn_status st;
        ProtobufCMessage *m = NULL;
        json_t *json;
        int rc;

        *out = NULL;
        rc = file_json(path, &json, errstr, errstr_size);
        if (rc)
                return rc;
        if (!json_is_object(json)) {
                snprintf(errstr, errstr_size, "%s: a definition is a mapping (type, steps, ...)",
                         path);
                json_decref(json);
                return 1;
        }
        if (cairn_pbjson_from_json(&cairn__workflow__v1__workflow_definition__descriptor, json, &m,
                                   &perr) != CAIRN_OK) {
                json_decref(json);
                if (perr.field[0])
                        snprintf(errstr, errstr_size, "%s: %s: %s", path, perr.field, perr.message);
                else
                        snprintf(errstr, errstr_size, "%s: %s", path, perr.message);
                return 1;
        }
        json_decref(json);
        if (wf_definition_check((wf_definition *)m, &env, &st) != CAIRN_OK) {
                snprintf(errstr, errstr_size, "%s: %s", path, st.message);
                protobuf_c_message_free_unpacked(m, NULL);
                return 1;
        }
        *out = (wf_definition *)m;
        return 0;
}

int workflow_validate_cmd(const char *path)
{
        wf_definition *def;
        char errstr[1024];
        int rc = workflow_file_load(path, &def, errstr, sizeof(errstr));

        if (rc) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                return rc;
        }
        printf("%s: workflow %s, %zu step%s: valid\n", path, def->type, def->n_steps,
               def->n_steps == 1 ? "" : "s");
        protobuf_c_message_free_unpacked(&def->base, NULL);
        return 0;
}

/* A bus client calling as cairn-admin, with its own metrics (never
 * exposed). */
struct caller {
        struct cairn_bus_conf bconf;
        struct cairn_metrics *metrics;
        struct cairn_bus_client *cli;
        const struct workflow_conf *wconf;
};

static int caller_open(struct caller *c, const struct cairn_conf *conf,
                       const struct workflow_conf *wconf)
{
        char errstr[1024];

        memset(c, 0, sizeof(*c));
        c->wconf = wconf;
        c->bconf.reply_topic = wconf->reply_topic;
        c->bconf.call_timeout_ms = wconf->timeout_ms;
        c->bconf.ready_timeout_ms = 1000;
        if (!cairn_conf_kafka_get(conf, "bootstrap.servers")) {
                fprintf(stderr, "cairn-admin: config: kafka.bootstrap.servers is required (set it "
                                "in the file or CAIRN_KAFKA_BOOTSTRAP_SERVERS)\n");
                return -1;
        }
        /* the client's own log lines would only repeat what is printed */
        cairn_log_set_stream(stderr);
        cairn_log_set_level(CAIRN_LOG_ERROR);
        c->metrics = cairn_metrics_new();
        c->cli = cairn_bus_client_new("admin", &c->bconf, conf, c->metrics, errstr, sizeof(errstr));
        if (!c->cli) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                cairn_metrics_free(c->metrics);
                return -1;
        }
        return 0;
}

static void caller_close(struct caller *c)
{
        cairn_bus_client_free(c->cli);
        cairn_metrics_free(c->metrics);
}

/* One call: 0 with *@p reply, 1 when the service refused the request
 * (INVALID_ARGUMENT), 2 otherwise; the failure printed. */
static int call(struct caller *c, const char *what, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
        struct cairn_call_opts opts = {
                .timeout_ms = c->wconf->timeout_ms,
                .principal = PRINCIPAL,
                .role = ROLE,
        };
        struct cairn_status st;
        cairn_err_t err;

        cairn_status_clear(&st);
        err = cairn_bus_call(c->cli, c->wconf->topic, PRINCIPAL, req, &opts, reply_desc, NULL,
                             reply, &st);
        if (err == CAIRN_OK)
                return 0;
        fprintf(stderr, "cairn-admin: %s: %s%s%s: %s\n", what, cairn_err_str(err),
                st.field[0] ? " " : "", st.field, st.message);
        return err == CAIRN_ERR_INVALID ? 1 : 2;
}

int workflow_register_cmd(const struct cairn_conf *conf, const struct workflow_conf *wconf,
                          const char *path)
{
        Cairn__Workflow__V1__RegisterDefinitionRequest req =
                CAIRN__WORKFLOW__V1__REGISTER_DEFINITION_REQUEST__INIT;
        Cairn__Workflow__V1__RegisterDefinitionReply *out = NULL;
        struct caller c;
        char errstr[1024];
        int rc = workflow_file_load(path, &req.definition, errstr, sizeof(errstr));

        if (rc) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                return rc;
        }
        if (caller_open(&c, conf, wconf) != 0) {
                protobuf_c_message_free_unpacked(&req.definition->base, NULL);
                return 2;
        }
        rc = call(&c, "workflow register", &req.base,
                  &cairn__workflow__v1__register_definition_reply__descriptor,
                  (ProtobufCMessage **)&out);
        if (rc == 0 && (!out->definition || !out->definition->type)) {
                fprintf(stderr, "cairn-admin: workflow register: the reply names no definition\n");
                rc = 2;
        }
        if (rc == 0 && out->created)
                printf("registered %s version %u\n", out->definition->type,
                       out->definition->version);
        else if (rc == 0)
                printf("%s version %u is the same definition: nothing registered\n",
                       out->definition->type, out->definition->version);
        if (out)
                protobuf_c_message_free_unpacked(&out->base, NULL);
        caller_close(&c);
        protobuf_c_message_free_unpacked(&req.definition->base, NULL);
        return rc;
}

static void print_info(const Cairn__Workflow__V1__DefinitionInfo *d)
{
        char when[32] = "-";

        if (d->created_at) {
                time_t t = (time_t)d->created_at->seconds;
                struct tm tm;

                if (gmtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        printf("%-40s %7u  %-20s %-7s %s\n", d->type, d->version, when,
               d->builtin ? "builtin" : "-", d->description ? d->description : "");
}

int workflow_list_cmd(const struct cairn_conf *conf, const struct workflow_conf *wconf)
{
        Cairn__Workflow__V1__ListDefinitionsRequest req =
                CAIRN__WORKFLOW__V1__LIST_DEFINITIONS_REQUEST__INIT;
        char *token = NULL;
        struct caller c;
        size_t n = 0;
        int rc = 0;

        if (caller_open(&c, conf, wconf) != 0)
                return 2;
        /* cppcheck-suppress unreadVariable ; sent through &req.base */
        req.page_size = 500;
        do {
                Cairn__Workflow__V1__ListDefinitionsReply *out = NULL;

                /* cppcheck-suppress unreadVariable ; sent through &req.base */
                req.page_token = token ? token : "";
                rc = call(&c, "workflow list", &req.base,
                          &cairn__workflow__v1__list_definitions_reply__descriptor,
                          (ProtobufCMessage **)&out);
                free(token);
                token = NULL;
                if (rc)
                        break;
                if (n == 0 && out->n_definitions)
                        printf("%-40s %7s  %-20s %-7s %s\n", "TYPE", "VERSION", "CREATED",
                               "BUILTIN", "DESCRIPTION");
                for (size_t i = 0; i < out->n_definitions; i++)
                        print_info(out->definitions[i]);
                n += out->n_definitions;
                if (out->next_page_token && out->next_page_token[0]) {
                        token = strdup(out->next_page_token);
                        if (!token)
                                abort();
                }
                protobuf_c_message_free_unpacked(&out->base, NULL);
        } while (token);
        if (rc == 0 && n == 0)
                printf("no workflow types registered\n");
        caller_close(&c);
        return rc;
}

/* libFuzzer target for workflow definitions (services/workflow/definition.h):
 * the bytes are a WorkflowDefinition in the proto3 JSON form, as
 * RegisterDefinitionRequest and cairn-admin carry it, and also read as YAML
 * converted to JSON (cairn_yaml_to_json(), as cairn-admin reads a .yaml
 * file); each is checked against the translation, memory, speech and
 * embedding services. A conversion that fails must say why. A refusal must be
 * INVALID_ARGUMENT with a field and a UTF-8 message; an accepted definition
 * must build a graph whose order runs every step once, after its
 * predecessors, whose retry policies give sane delays, and whose request
 * templates evaluate (or fail with a message) over a run's data. Anything
 * else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pbjson.h"
#include "cairn/utf8.h"
#include "cairn/yaml.h"
#include "workflow/definition.h"
#include "workflow/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct wf_target targets[] = {
        { "translation", "cairn.translation.v1.requests" },
        { "memory", "cairn.memory.v1.requests" },
        { "speech", "cairn.speech.v1.requests" },
        { "embedding", "cairn.embedding.v1.requests" },
};

static const struct wf_def_env env = {
        .targets = targets,
        .ntargets = sizeof(targets) / sizeof(targets[0]),
        .max_steps = 16,
        .max_duration_ms = 7LL * 24 * 3600 * 1000,
};

static const char run_data[] =
        "{\"input\": {\"text\": \"hello\", \"documents\": [{\"text\": \"a\"}]},"
        " \"steps\": {}, \"item\": {\"text\": \"a\"}, \"index\": 0,"
        " \"run\": {\"workflow_id\": \"w\", \"run_id\": \"r\", \"tenant\": \"t\", \"type\": \"x\"}}";

static void check_graph(const wf_definition *def)
{
        struct wf_graph g;
        size_t *pos;

        if (wf_graph_build(&g, def) != 0 || g.n != def->n_steps)
                abort();
        pos = calloc(g.n + 1, sizeof(*pos));
        if (!pos)
                abort();
        for (size_t k = 0; k < g.n; k++) {
                if (g.order[k] >= g.n || pos[g.order[k]])
                        abort();
                pos[g.order[k]] = k + 1;
        }
        for (size_t i = 0; i < g.n; i++) {
                if (wf_graph_find(&g, def->steps[i]->id) != (long)i)
                        abort();
                for (size_t q = 0; q < g.npreds[i]; q++)
                        if (pos[g.preds[i][q]] >= pos[i])
                                abort();
        }
        free(pos);
        wf_graph_free(&g);
}

static void check_call(const wf_call *call, const json_t *data)
{
        struct wf_retry_rules r;
        char err[512];
        int64_t delay;
        json_t *tmpl, *out;

        wf_retry_rules(call->retry, &r);
        for (uint32_t attempt = 1; attempt < 40; attempt += 7) {
                if (wf_retry_next(&r, attempt, CAIRN_ERR_UNAVAILABLE, &delay) &&
                    (delay < r.initial_ms || delay > r.maximum_ms))
                        abort();
        }
        if (!call->request)
                return;
        tmpl = cairn_pbjson_to_json(&call->request->base, 0);
        if (!tmpl)
                abort(); /* the check converted it */
        err[0] = '\0';
        out = wf_template_eval(tmpl, data, err, sizeof(err));
        if (!out && (!err[0] || !cairn_utf8_valid(err, strlen(err))))
                abort();
        json_decref(out);
        json_decref(tmpl);
        if (call->compensation)
                check_call(call->compensation, data);
}

static void check_definition(ProtobufCMessage *m)
{
        wf_definition *def = (wf_definition *)m;
        struct cairn_status st;
        cairn_err_t err;
        json_t *run;

        err = wf_definition_check(def, &env, &st);
        if (err != CAIRN_OK) {
                if (err != CAIRN_ERR_INVALID || !st.field[0] || !st.reason[0] || !st.message[0] ||
                    !cairn_utf8_valid(st.message, strlen(st.message)))
                        abort();
                return;
        }
        check_graph(def);
        run = json_loads(run_data, 0, NULL);
        for (size_t i = 0; i < def->n_steps; i++) {
                const wf_step *s = def->steps[i];
                char cerr[512];

                if (s->kind_case == CAIRN__WORKFLOW__V1__STEP__KIND_CALL)
                        check_call(s->call, run);
                else if (s->kind_case == CAIRN__WORKFLOW__V1__STEP__KIND_FAN_OUT)
                        check_call(s->fan_out->call, run);
                if (s->when && wf_condition_eval(s->when, run, cerr, sizeof(cerr)) < -1)
                        abort();
        }
        json_decref(run);
}

static void from_yaml(const uint8_t *data, size_t size)
{
        struct cairn_pbjson_error perr;
        ProtobufCMessage *m = NULL;
        struct cairn_yaml *y;
        char errstr[512];
        json_t *json;

        errstr[0] = '\0';
        y = cairn_yaml_parse((const char *)data, size, "f.yaml", errstr, sizeof(errstr));
        if (!y)
                return;
        errstr[0] = '\0';
        json = cairn_yaml_to_json(y, "f.yaml", errstr, sizeof(errstr));
        cairn_yaml_free(y);
        if (!json) {
                if (!errstr[0])
                        abort();
                return;
        }
        if (cairn_pbjson_from_json(&cairn__workflow__v1__workflow_definition__descriptor, json, &m,
                                   &perr) == CAIRN_OK) {
                check_definition(m);
                protobuf_c_message_free_unpacked(m, NULL);
        }
        json_decref(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cairn_pbjson_error perr;
        ProtobufCMessage *m = NULL;

        if (cairn_pbjson_parse(&cairn__workflow__v1__workflow_definition__descriptor,
                               (const char *)data, size, 64, &m, &perr) == CAIRN_OK) {
                check_definition(m);
                protobuf_c_message_free_unpacked(m, NULL);
        }
        from_yaml(data, size);
        return 0;
}

/* libFuzzer target for the workflow service's references and templates
 * (services/workflow/template.h): the bytes up to the first NUL are a
 * template (JSON, or taken as one string when they are not JSON), the rest
 * the run's data (JSON; a fixed document when absent or not JSON). Every
 * reference wf_template_refs() reports must be well formed and is looked up
 * with wf_ref_get(); wf_template_eval() runs over the same data, and each
 * reference is tried as a condition's ref under one of the ops. Errors must
 * be non-empty UTF-8; a template that evaluates must also list its
 * references without error; anything else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/utf8.h"
#include "workflow/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char default_data[] =
        "{\"input\": {\"text\": \"hello\", \"n\": 3, \"r\": 2.5, \"list\": [1, \"two\", {\"k\": []}],"
        " \"obj\": {\"0\": null, \"a b\": true}},"
        " \"steps\": {\"tr\": {\"output\": {\"translations\": [{\"text\": \"hola\"}]}}},"
        " \"run\": {\"workflow_id\": \"w\", \"run_id\": \"r\", \"tenant\": \"t\", \"type\": \"x\"},"
        " \"item\": {\"id\": 7}, \"index\": 0}";

static void check_err(const char *err)
{
        size_t len = strnlen(err, 512);

        if (len == 0 || len == 512 || !cairn_utf8_valid(err, len))
                abort();
}

struct seen {
        const json_t *data;
        int op;
        size_t n;
};

static void on_ref(const char *path, void *opaque)
{
        struct seen *s = opaque;
        Cairn__Workflow__V1__Condition c = CAIRN__WORKFLOW__V1__CONDITION__INIT;
        char err[512];
        int rc;

        s->n++;
        if (strlen(path) == 0 || strlen(path) > WF_REF_MAX ||
            wf_ref_check(path, err, sizeof(err)) != 0)
                abort();
        err[0] = '\0';
        if (!wf_ref_get(s->data, path, err, sizeof(err)))
                check_err(err);
        c.ref = (char *)path;
        c.op = (Cairn__Workflow__V1__Condition__Op)s->op;
        err[0] = '\0';
        rc = wf_condition_eval(&c, s->data, err, sizeof(err));
        if (rc < -1 || rc > 1)
                abort();
        if (rc == -1)
                check_err(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
        const uint8_t *nul = memchr(bytes, 0, size);
        size_t tlen = nul ? (size_t)(nul - bytes) : size;
        json_t *tmpl, *data = NULL, *out;
        struct seen s = { 0 };
        char err[512];
        int refs;

        tmpl = json_loadb((const char *)bytes, tlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!tmpl)
                tmpl = json_stringn((const char *)bytes, tlen); /* NULL unless UTF-8 */
        if (!tmpl)
                return 0;
        if (nul)
                data = json_loadb((const char *)nul + 1, size - tlen - 1,
                                  JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!data)
                data = json_loads(default_data, 0, NULL);
        s.data = data;
        s.op = (int)(size % 8);

        err[0] = '\0';
        refs = wf_template_refs(tmpl, on_ref, &s, err, sizeof(err));
        if (refs != 0 && refs != -1)
                abort();
        if (refs == -1)
                check_err(err);

        err[0] = '\0';
        out = wf_template_eval(tmpl, data, err, sizeof(err));
        if (!out) {
                check_err(err);
        } else {
                if (refs != 0)
                        abort(); /* evaluation saw every string the listing did */
                /* nothing to replace: the same value back */
                char *text = s.n == 0 ? json_dumps(tmpl, JSON_ENCODE_ANY) : NULL;

                if (text && !strchr(text, '$') && !json_equal(out, tmpl))
                        abort();
                free(text);
                json_decref(out);
        }
        json_decref(tmpl);
        json_decref(data);
        return 0;
}

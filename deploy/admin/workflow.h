/* cairn-admin workflow: a workflow definition (YAML or JSON) checked here
 * with the workflow service's own code (services/workflow/definition.c),
 * then registered over Kafka; and the registered types listed. */
#ifndef CAIRN_ADMIN_WORKFLOW_H
#define CAIRN_ADMIN_WORKFLOW_H

#include <stddef.h>

#include "cairn/conf.h"
#include "workflow/definition.h"

struct workflow_conf {
        const char *topic;       /* the workflow service's requests */
        const char *reply_topic; /* this tool's replies */
        long long timeout_ms;
};

/* The "workflow" section of cairn-admin's configuration. */
extern const struct cairn_conf_item workflow_conf_items[];

/* Reads @p path (.yaml, .yml or .json) as a WorkflowDefinition into *@p out
 * (free with protobuf_c_message_free_unpacked) and checks it as the
 * workflow service would, against the services it may call (embedding,
 * memory, speech, translation, secrets) and the largest limits the service
 * can be configured to. Returns 0; 1 when the file is refused (not YAML or
 * JSON, not a definition, or a definition the check refuses); 2 when it
 * cannot be read; on failure *@p out is NULL and @p errstr names the file
 * and what is wrong. */
int workflow_file_load(const char *path, wf_definition **out, char *errstr, size_t errstr_size);

/* `workflow validate FILE`: no cluster needed. Returns the exit code: 0
 * valid, 1 refused (the message printed), 2 the file unreadable. */
int workflow_validate_cmd(const char *path);

/* `workflow register FILE`: checked as above, then sent as a
 * RegisterDefinitionRequest; prints the type and version registered.
 * Returns 0, 1 refused (here or by the service), 2 an error (no cluster,
 * no answer). @p conf and @p wconf are borrowed. */
int workflow_register_cmd(const struct cairn_conf *conf, const struct workflow_conf *wconf,
                          const char *path);

/* `workflow list`: the latest version of every registered type, one line
 * each. Returns 0, or 2 on an error. */
int workflow_list_cmd(const struct cairn_conf *conf, const struct workflow_conf *wconf);

#endif

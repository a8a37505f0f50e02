/* The workflow service's configuration: its one table of "workflow." keys. */
#include <stddef.h>
#include <stdio.h>

#include "workflow.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct wf_conf

const struct cairn_conf_item wf_conf_items[] = {
        CAIRN_CONF_ROW("workflow.events_topic", CAIRN_CONF_STRING, "cairn.workflow.v1.events", 0,
                       -1, 0, events_topic, "where each run's history events are published"),
        CAIRN_CONF_ROW("workflow.embedding_topic", CAIRN_CONF_STRING,
                       "cairn.embedding.v1.requests", 0, -1, 0, embedding_topic,
                       "requests of steps calling service embedding; empty: steps may not call it"),
        CAIRN_CONF_ROW("workflow.memory_topic", CAIRN_CONF_STRING, "cairn.memory.v1.requests", 0,
                       -1, 0, memory_topic,
                       "requests of steps calling service memory; empty: steps may not call it"),
        CAIRN_CONF_ROW("workflow.speech_topic", CAIRN_CONF_STRING, "cairn.speech.v1.requests", 0,
                       -1, 0, speech_topic,
                       "requests of steps calling service speech; empty: steps may not call it"),
        CAIRN_CONF_ROW("workflow.translation_topic", CAIRN_CONF_STRING,
                       "cairn.translation.v1.requests", 0, -1, 0, translation_topic,
                       "requests of steps calling service translation; empty: steps may not call "
                       "it"),
        CAIRN_CONF_ROW("workflow.secrets_topic", CAIRN_CONF_STRING, "", 0, -1, 0, secrets_topic,
                       "requests of steps calling service secrets; empty (the default): steps "
                       "may not call it"),
        CAIRN_CONF_ROW("workflow.default_start_to_close_ms", CAIRN_CONF_INT, "60000", 100,
                       86400000, 0, default_start_to_close_ms,
                       "a call step's attempt timeout when its definition sets none"),
        CAIRN_CONF_ROW("workflow.default_run_timeout_ms", CAIRN_CONF_INT, "0", 0, 31536000000,
                       0, default_run_timeout_ms,
                       "a run's timeout when neither the start request nor the definition sets "
                       "one; 0: none"),
        CAIRN_CONF_ROW("workflow.max_history_events", CAIRN_CONF_INT, "10000", 10, 1000000, 0,
                       max_history_events,
                       "events in one run's history; a run reaching it fails "
                       "(RESOURCE_EXHAUSTED) rather than grow without bound"),
        CAIRN_CONF_ROW("workflow.max_payload_bytes", CAIRN_CONF_INT, "262144", 1024, 4194304, 0,
                       max_payload_bytes,
                       "largest input, signal payload or step output, in bytes of JSON; larger "
                       "data goes by reference (docs/workflow.md)"),
        CAIRN_CONF_ROW("workflow.max_steps", CAIRN_CONF_INT, "100", 1, 1000, 0, max_steps,
                       "most steps in one definition"),
        CAIRN_CONF_ROW("workflow.max_fan_out", CAIRN_CONF_INT, "1000", 1, 100000, 0, max_fan_out,
                       "most elements one fan-out step runs"),
        CAIRN_CONF_ROW("workflow.fan_out_parallel", CAIRN_CONF_INT, "16", 1, 10000, 0,
                       fan_out_parallel,
                       "a fan-out's elements in flight at once when its max_parallel is 0"),
        CAIRN_CONF_ROW("workflow.max_timer_ms", CAIRN_CONF_INT, "31536000000", 1000,
                       315360000000, 0, max_timer_ms,
                       "longest timeout, timer or retry interval a definition may set"),
        CAIRN_CONF_ROW("workflow.poll_ms", CAIRN_CONF_INT, "100", 5, 60000, 0, poll_ms,
                       "how often the scheduler looks for runs whose timer, retry or timeout is "
                       "due: timers fire at most this late on an idle service"),
        CAIRN_CONF_ROW("workflow.scheduler_threads", CAIRN_CONF_INT, "2", 1, 64, 0,
                       scheduler_threads, "threads moving runs that are due"),
        CAIRN_CONF_ROW("workflow.builtin", CAIRN_CONF_BOOL, "true", 0, -1, 0, builtin,
                       "register the built-in workflows at start (docs/workflow.md)"),
        CAIRN_CONF_END,
};
/* clang-format on */

struct cairn_conf_section wf_conf_section(struct wf_conf *conf)
{
        return (struct cairn_conf_section){ "Workflow", wf_conf_items, conf, NULL };
}
